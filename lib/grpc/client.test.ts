import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import http2 from "node:http2";
import net from "node:net";
import { GrpcStatus, PhotonError } from "../errors.ts";
import { GrpcClient } from "./client.ts";
import { GrpcServer } from "./server.ts";
import { echoHandlers, echoService, echoStats } from "./testdata/echo-service.ts";
import { GRPC_TRANSPORTS } from "./testdata/transports.ts";

describe.each(GRPC_TRANSPORTS)("%s transport", (transport) => {
  const U = echoService.methods.Unary;

  /** The PhotonError a call fails with (see interop.test.ts on why not `expect().rejects`). */
  async function failure(p: Promise<unknown> | (() => unknown)): Promise<PhotonError> {
    try {
      await (typeof p === "function" ? p() : p);
    } catch (e) {
      expect(e).toBeInstanceOf(PhotonError);
      return e as PhotonError;
    }
    throw new Error("expected the call to fail");
  }

  async function freePort(): Promise<number> {
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
    const port = (srv.address() as net.AddressInfo).port;
    await new Promise<void>((r) => srv.close(() => r()));
    return port;
  }

  async function settle(server: GrpcServer): Promise<void> {
    for (let i = 0; i < 200 && server.activeCalls > 0; i++) await Bun.sleep(10);
  }

  let server: GrpcServer;
  let port: number;

  beforeAll(async () => {
    server = new GrpcServer({ transport }).addService(echoService, {
      ...echoHandlers,
      NotImplemented: (_req, ctx) => ({ peer: ctx.peer }) as object,
    });
    port = await server.listen(0);
  });

  afterAll(async () => {
    await server.stop(200);
  });

  describe("GrpcClient", () => {
    it("reuses one HTTP/2 session for all calls", async () => {
      const peers = new Set<string>();
      const s = new GrpcServer({ transport }).addService(echoService, { Unary: (_r, ctx) => (peers.add(ctx.peer), {}) });
      const p = await s.listen(0);
      const c = new GrpcClient(`http://127.0.0.1:${p}`);
      await Promise.all(Array.from({ length: 50 }, () => c.unary(U, {})));
      for (let i = 0; i < 10; i++) await c.unary(U, {});
      expect(peers.size).toBe(1);
      c.close();
      await s.stop(100);
    });

    it("fails with GRPC:Unavailable when nothing listens", async () => {
      const c = new GrpcClient(`127.0.0.1:${await freePort()}`);
      const err = await failure(c.unary(U, {}));
      expect(err.code).toBe("GRPC:Unavailable");
      expect(err.grpcStatus).toBe(GrpcStatus.UNAVAILABLE);
      c.close();
    });

    it("reconnects after the server restarts", async () => {
      const p = await freePort();
      const s1 = new GrpcServer({ transport }).addService(echoService, echoHandlers);
      await s1.listen(p);
      const c = new GrpcClient(`127.0.0.1:${p}`);
      expect((await c.unary(U, { message: "one" })).message).toBe("one");
      await s1.stop(100);
      const s2 = new GrpcServer({ transport }).addService(echoService, echoHandlers);
      await s2.listen(p);
      expect((await c.unary(U, { message: "two" })).message).toBe("two");
      c.close();
      await s2.stop(100);
    });

    it("cancels a call when its signal aborts, and the server's handler sees it", async () => {
      const c = new GrpcClient(`127.0.0.1:${port}`);
      await settle(server);
      const before = echoStats.aborted;
      const ac = new AbortController();
      const call = failure(c.unary(U, { delayMs: 3000 }, { signal: ac.signal }));
      await Bun.sleep(50);
      ac.abort();
      expect((await call).code).toBe("GRPC:Cancelled");
      await settle(server);
      expect(echoStats.aborted).toBe(before + 1);
      const pre = new AbortController();
      pre.abort();
      expect((await failure(c.unary(U, {}, { signal: pre.signal }))).code).toBe("GRPC:Cancelled");
      c.close();
    });

    it("enforces relative and absolute deadlines locally", async () => {
      const c = new GrpcClient(`127.0.0.1:${port}`);
      const t0 = Date.now();
      expect((await failure(c.unary(U, { delayMs: 3000 }, { timeoutMs: 80 }))).code).toBe("GRPC:DeadlineExceeded");
      expect((await failure(c.unary(U, { delayMs: 3000 }, { deadline: Date.now() + 80 }))).code).toBe("GRPC:DeadlineExceeded");
      expect(Date.now() - t0).toBeLessThan(2000);
      expect((await failure(c.unary(U, {}, { deadline: Date.now() - 1 }))).code).toBe("GRPC:DeadlineExceeded");
      const withDefault = new GrpcClient(`127.0.0.1:${port}`, { defaultTimeoutMs: 50 });
      expect((await failure(withDefault.unary(U, { delayMs: 3000 }))).code).toBe("GRPC:DeadlineExceeded");
      withDefault.close();
      c.close();
    });

    it("cancels a server stream when the consumer stops iterating", async () => {
      const c = new GrpcClient(`127.0.0.1:${port}`);
      await settle(server);
      const before = echoStats.aborted;
      let n = 0;
      for await (const _ of c.serverStream(echoService.methods.ServerStream, { count: 1000, delayMs: 1 })) {
        if (++n === 3) break;
      }
      await settle(server);
      expect(echoStats.aborted).toBe(before + 1);
      c.close();
    });

    it("cancels streaming calls on request", async () => {
      const c = new GrpcClient(`127.0.0.1:${port}`);
      const bidi = c.bidi(echoService.methods.Bidi);
      await bidi.write({ message: "a" });
      bidi.cancel();
      expect((await failure(async () => {
        for await (const _ of bidi) {
          // drain
        }
      })).code).toBe("GRPC:Cancelled");
      const cs = c.clientStream(echoService.methods.ClientStream);
      await cs.write({ message: "a" });
      cs.cancel();
      expect((await failure(cs.end())).code).toBe("GRPC:Cancelled");
      c.close();
    });

    it("refuses to send a request over its send limit, before sending", async () => {
      const c = new GrpcClient(`127.0.0.1:${port}`, { maxSendMessageBytes: 100 });
      expect((await failure(c.unary(U, { payload: Buffer.alloc(200) }))).code).toBe("GRPC:MessageTooLarge");
      const small = new GrpcClient(`127.0.0.1:${port}`, { maxReceiveMessageBytes: 100 });
      expect((await failure(small.unary(U, { responseBytes: 200 }))).code).toBe("GRPC:MessageTooLarge");
      c.close();
      small.close();
    });

    it("sends default metadata and validates metadata names and targets", async () => {
      const c = new GrpcClient(`127.0.0.1:${port}`, { metadata: { "x-default": "d" } });
      const res = await c.unary(U, {}, { metadata: { "x-call": "c" } });
      expect(res.metadata).toMatchObject({ "x-default": "d", "x-call": "c" });
      expect((await failure(c.unary(U, {}, { metadata: { "grpc-timeout": "1S" } }))).code).toBe("PHOTON:InvalidArgument");
      expect((await failure(c.unary(U, {}, { metadata: { "x-raw": Buffer.from("x") } }))).code).toBe("PHOTON:InvalidArgument");
      expect(() => new GrpcClient("no-port")).toThrow(PhotonError);
      c.close();
    });

    it("fails later calls after close()", async () => {
      const c = new GrpcClient(`127.0.0.1:${port}`);
      await c.unary(U, {});
      c.close();
      expect((await failure(c.unary(U, {}))).code).toBe("GRPC:Unavailable");
    });

    it("maps answers without a gRPC status from the HTTP status, and resets to errors", async () => {
      const h2 = http2.createServer();
      h2.on("stream", (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
        stream.on("error", () => {});
        if (headers[":path"] === U.path) stream.respond({ ":status": 404 }, { endStream: true });
        else stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      });
      await new Promise<void>((r) => h2.listen(0, "127.0.0.1", () => r()));
      const c = new GrpcClient(`127.0.0.1:${(h2.address() as net.AddressInfo).port}`);
      expect((await failure(c.unary(U, {}))).grpcStatus).toBe(GrpcStatus.UNIMPLEMENTED);
      expect((await failure(c.unary(echoService.methods.NotImplemented, {}))).grpcStatus).toBe(GrpcStatus.UNAVAILABLE);
      c.close();
      await new Promise<void>((r) => h2.close(() => r()));
    });
  });
});
