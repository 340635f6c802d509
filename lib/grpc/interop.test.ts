/**
 * Interoperability with an independent implementation, @grpc/grpc-js: its client against our
 * server, and our client against its server (in its own process), over every call kind,
 * errors and deadlines.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { GrpcStatus, PhotonError } from "../errors.ts";
import { createLogger } from "../log.ts";
import { GrpcClient } from "./client.ts";
import { GrpcServer } from "./server.ts";
import { echoHandlers, echoService, type EchoRequest, type EchoResponse } from "./testdata/echo-service.ts";
import { grpc, grpcJsClient } from "./testdata/grpc-js-interop.ts";
import { GRPC_TRANSPORTS } from "./testdata/transports.ts";

describe.each(GRPC_TRANSPORTS)("%s transport", (transport) => {
  type Err = grpc.ServiceError | null;

  describe("a @grpc/grpc-js client calling our server", () => {
    let server: GrpcServer;
    let c: ReturnType<typeof grpcJsClient>;

    beforeAll(async () => {
      server = new GrpcServer({ transport, logger: createLogger("grpc-test", { sink: { write: () => {} } }) }).addService(echoService, echoHandlers);
      const port = await server.listen(0);
      c = grpcJsClient(echoService, `127.0.0.1:${port}`);
    });

    afterAll(async () => {
      c.close();
      await server.stop(200);
    });

    const unary = (req: EchoRequest, md = new grpc.Metadata(), opts: grpc.CallOptions = {}) =>
      new Promise<{ err: Err; res: EchoResponse | undefined; trailers?: grpc.Metadata }>((resolve) => {
        let trailers: grpc.Metadata | undefined;
        const call = c.Unary(req, md, opts, (err: Err, res: EchoResponse) => setTimeout(() => resolve({ err, res, trailers }), 0));
        call.on("status", (s: grpc.StatusObject) => (trailers = s.metadata));
      });

    it("makes unary calls with metadata", async () => {
      const md = new grpc.Metadata();
      md.set("x-who", "grpc-js");
      md.set("x-set-trailer", "tt");
      const { err, res, trailers } = await unary({ message: "hi", bigNumber: "-42" }, md);
      expect(err).toBeNull();
      expect(res?.message).toBe("hi");
      expect(String(res?.bigNumber)).toBe("-42");
      expect(res?.metadata?.["x-who"]).toBe("grpc-js");
      expect(trailers?.get("x-trailer")).toEqual(["tt"]);
    });

    it("gets status, message and photon-error-code of errors", async () => {
      const { err } = await unary({ message: "x", fail: "photon" });
      expect(err?.code).toBe(grpc.status.NOT_FOUND);
      expect(err?.details).toBe("no such thing: x");
      expect(err?.metadata.get("photon-error-code")).toEqual(["PHOTON:NotFound"]);
      const internal = await unary({ fail: "plain" });
      expect(internal.err?.code).toBe(grpc.status.INTERNAL);
      expect(internal.err?.details).toBe("internal error");
    });

    it("gets UNIMPLEMENTED and DEADLINE_EXCEEDED", async () => {
      const e = await new Promise<Err>((resolve) => c.NotImplemented({}, (err: Err) => resolve(err)));
      expect(e?.code).toBe(grpc.status.UNIMPLEMENTED);
      const { err } = await unary({ delayMs: 2000 }, new grpc.Metadata(), { deadline: Date.now() + 100 });
      expect(err?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    });

    it("reads a server stream", async () => {
      const got = await new Promise<number[]>((resolve, reject) => {
        const out: number[] = [];
        const s = c.ServerStream({ count: 20 });
        s.on("data", (m: EchoResponse) => out.push(m.index ?? 0));
        s.on("end", () => resolve(out));
        s.on("error", reject);
      });
      expect(got).toEqual(Array.from({ length: 20 }, (_, i) => i));
    });

    it("writes a client stream", async () => {
      const res = await new Promise<EchoResponse>((resolve, reject) => {
        const s = c.ClientStream((err: Err, r: EchoResponse) => (err ? reject(err) : resolve(r)));
        for (const m of ["x", "y", "z"]) s.write({ message: m });
        s.end();
      });
      expect(res.message).toBe("x,y,z");
    });

    it("talks both ways on a bidi stream and cancels one", async () => {
      const got = await new Promise<string[]>((resolve, reject) => {
        const out: string[] = [];
        const s = c.Bidi();
        s.on("data", (m: EchoResponse) => out.push(m.message ?? ""));
        s.on("end", () => resolve(out));
        s.on("error", reject);
        for (const m of ["1", "2", "3"]) s.write({ message: m });
        s.end();
      });
      expect(got).toEqual(["1", "2", "3"]);
      const code = await new Promise<number>((resolve) => {
        const s = c.Bidi();
        s.on("data", () => s.cancel());
        s.on("error", (e: grpc.ServiceError) => resolve(e.code));
        s.write({ message: "a" });
      });
      expect(code).toBe(grpc.status.CANCELLED);
    });

    it("gets RESOURCE_EXHAUSTED for a message over 16 MiB", async () => {
      const { err } = await unary({ payload: Buffer.alloc(16 * 1024 * 1024 + 10) });
      expect(err?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    });
  });

  describe("our client calling a @grpc/grpc-js server (in its own process)", () => {
    let child: ChildProcess;
    let client: GrpcClient;
    const stub = () => client.stub(echoService);

    beforeAll(async () => {
      child = spawn(process.execPath, [join(import.meta.dir, "testdata", "grpc-js-echo-server.ts")], { stdio: ["ignore", "pipe", "inherit"] });
      const port = await new Promise<number>((resolve, reject) => {
        child.stdout?.once("data", (d: Buffer) => resolve((JSON.parse(d.toString()) as { port: number }).port));
        child.once("exit", (code) => reject(new Error(`grpc-js server exited with ${code}`)));
      });
      client = new GrpcClient(`127.0.0.1:${port}`);
    });

    afterAll(() => {
      client.close();
      child.kill("SIGTERM");
    });

    it("makes unary calls with metadata and 64-bit integers", async () => {
      const res = await stub().Unary({ message: "m", bigNumber: "9223372036854775807" }, { metadata: { "x-who": "photon" } });
      expect(res.message).toBe("m");
      expect(String(res.bigNumber)).toBe("9223372036854775807");
      expect(res.metadata?.["x-who"]).toBe("photon");
    });

    it("rebuilds errors from photon-error-code, or from the status alone", async () => {
      const e1 = await failure(stub().Unary({ message: "b", fail: "photon" }));
      expect(e1).toBeInstanceOf(PhotonError);
      expect(e1.code).toBe("S3:NoSuchBucket");
      expect(e1.grpcStatus).toBe(GrpcStatus.NOT_FOUND);
      expect(e1.message).toBe("missing b ✓");
      expect(await failure(stub().Unary({ message: "c", fail: "other" }))).toMatchObject({ code: "GRPC:NotFound", grpcStatus: GrpcStatus.NOT_FOUND });
      expect((await failure(stub().NotImplemented({}))).grpcStatus).toBe(GrpcStatus.UNIMPLEMENTED);
    });

    it("enforces deadlines", async () => {
      expect((await failure(stub().Unary({ delayMs: 2000 }, { timeoutMs: 100 }))).code).toBe("GRPC:DeadlineExceeded");
    });

    it("runs every streaming kind", async () => {
      const idx: number[] = [];
      for await (const m of stub().ServerStream({ count: 5 })) idx.push(m.index ?? 0);
      expect(idx).toEqual([0, 1, 2, 3, 4]);

      const cs = stub().ClientStream();
      for (const m of ["a", "b"]) await cs.write({ message: m });
      expect((await cs.end()).message).toBe("a+b");

      const bidi = stub().Bidi();
      await bidi.write({ message: "x" });
      await bidi.write({ message: "y" });
      bidi.end();
      const out: string[] = [];
      for await (const m of bidi) out.push(m.message ?? "");
      expect(out).toEqual(["X", "Y"]);
    });
  });

  /**
   * The PhotonError a call fails with. (Not `expect(p).rejects`: in bun 1.4 that waits in a way
   * that does not service node:http2 I/O, so a call whose failure arrives over HTTP/2 hangs.)
   */
  async function failure(p: Promise<unknown>): Promise<PhotonError> {
    try {
      await p;
    } catch (e) {
      expect(e).toBeInstanceOf(PhotonError);
      return e as PhotonError;
    }
    throw new Error("expected the call to fail");
  }
});
