import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import http2 from "node:http2";
import zlib from "node:zlib";
import Long from "long";
import { CommonErrors, GrpcStatus, PhotonError } from "../errors.ts";
import { createLogger } from "../log.ts";
import { GrpcClient } from "./client.ts";
import { encodeFrame } from "./frame.ts";
import { GrpcServer } from "./server.ts";
import { echoHandlers, echoService, echoStats, type EchoRequest } from "./testdata/echo-service.ts";
import { rawCall, rawMeta, rawStatus } from "./testdata/raw-client.ts";
import { GRPC_TRANSPORTS } from "./testdata/transports.ts";

describe.each(GRPC_TRANSPORTS)("%s transport", (transport) => {
  const U = echoService.methods.Unary;
  const frame = (req: EchoRequest) => encodeFrame(U.encodeRequest(req));
  const logLines: string[] = [];

  let server: GrpcServer;
  let port: number;
  let client: GrpcClient;
  let raw: http2.ClientHttp2Session;
  const echo = () => client.stub(echoService);

  async function expectError(p: Promise<unknown>, status: number, code?: string): Promise<PhotonError> {
    try {
      await p;
    } catch (e) {
      expect(e).toBeInstanceOf(PhotonError);
      const err = e as PhotonError;
      expect(err.grpcStatus).toBe(status as PhotonError["grpcStatus"]);
      if (code) expect(err.code).toBe(code);
      return err;
    }
    throw new Error("expected the call to fail");
  }

  beforeAll(async () => {
    server = new GrpcServer({ transport, logger: createLogger("grpc-test", { sink: { write: (l) => logLines.push(l) } }) });
    server.addService(echoService, echoHandlers);
    port = await server.listen(0, "127.0.0.1");
    client = new GrpcClient(`127.0.0.1:${port}`);
    raw = http2.connect(`http://127.0.0.1:${port}`);
    raw.on("error", () => {});
  });

  afterAll(async () => {
    client.close();
    raw.close();
    await server.stop(200);
  });

  describe("unary calls", () => {
    it("echoes the request, 64-bit integers and bytes exactly", async () => {
      const big = Long.fromString("9007199254740993"); // 2^53 + 1: not representable as a double
      const res = await echo().Unary({ message: "héllo", payload: Buffer.from([0, 1, 255]), bigNumber: big });
      expect(res.message).toBe("héllo");
      expect(Buffer.from(res.payload as Uint8Array)).toEqual(Buffer.from([0, 1, 255]));
      expect(String(res.bigNumber)).toBe("9007199254740993");
    });

    it("passes request metadata to the handler and returns headers and trailers it sets", async () => {
      let headers: http2.IncomingHttpHeaders = {};
      let trailers: http2.IncomingHttpHeaders = {};
      const res = await echo().Unary(
        { message: "m" },
        {
          metadata: { "x-tenant": "acme", "x-set-header": "h1", "x-set-trailer": "t1", "x-blob-bin": Buffer.from([1, 2, 3]) },
          onResponseMetadata: (h, t) => {
            headers = h;
            trailers = t;
          },
        },
      );
      expect(res.metadata?.["x-tenant"]).toBe("acme");
      expect(res.metadata?.["x-blob-bin"]).toBe("AQID");
      expect(headers["x-answer"]).toBe("h1");
      expect(headers["content-type"]).toBe("application/grpc");
      expect(trailers["grpc-status"]).toBe("0");
      expect(trailers["x-trailer"]).toBe("t1");
    });

    it("serves many concurrent calls on one connection", async () => {
      const results = await Promise.all(Array.from({ length: 200 }, (_, i) => echo().Unary({ message: `m${i}` })));
      expect(results.map((r) => r.message)).toEqual(Array.from({ length: 200 }, (_, i) => `m${i}`));
    });

    it("gives the handler the peer address", async () => {
      let peer = "";
      const s = new GrpcServer({ transport }).addService(echoService, { Unary: (_req, ctx) => ((peer = ctx.peer), {}) });
      const p = await s.listen(0);
      const c = new GrpcClient(`127.0.0.1:${p}`);
      await c.unary(U, {});
      c.close();
      await s.stop(100);
      expect(peer).toMatch(/^127\.0\.0\.1:\d+$/);
    });
  });

  describe("streaming calls", () => {
    it("streams server responses in order", async () => {
      const got: number[] = [];
      for await (const m of echo().ServerStream({ message: "s", count: 50 })) got.push(m.index ?? 0);
      expect(got).toEqual(Array.from({ length: 50 }, (_, i) => i));
    });

    it("answers a stream with no messages with status OK (trailers-only)", async () => {
      const r = await rawCall(raw, "/photon.test.Echo/ServerStream", frame({ count: 0 }));
      expect(rawStatus(r)).toBe(0);
      expect(r.messages.length).toBe(0);
      expect(r.headers["grpc-status"]).toBe("0");
    });

    it("collects a client stream", async () => {
      const call = echo().ClientStream();
      for (const m of ["a", "b", "c"]) await call.write({ message: m, payload: Buffer.alloc(10) });
      const res = await call.end();
      expect(res.message).toBe("a,b,c");
      expect(res.index).toBe(30);
    });

    it("interleaves bidirectional messages (ping-pong)", async () => {
      const call = echo().Bidi();
      const it = call[Symbol.asyncIterator]();
      for (let i = 0; i < 20; i++) {
        await call.write({ message: `ping${i}` });
        const r = await it.next();
        expect(r.value?.message).toBe(`ping${i}`);
      }
      call.end();
      expect((await it.next()).done).toBe(true);
    });

    it("moves many large messages both ways under flow control, bytes intact", async () => {
      const call = echo().Bidi();
      const n = 40;
      const sent: Buffer[] = [];
      const writer = (async () => {
        for (let i = 0; i < n; i++) {
          const payload = Buffer.alloc(256 * 1024, i);
          sent.push(payload);
          await call.write({ message: String(i), payload });
        }
        call.end();
      })();
      const received: Uint8Array[] = [];
      for await (const m of call) received.push(m.payload as Uint8Array);
      await writer;
      expect(received.length).toBe(n);
      // Payloads are views into received chunks: check none was overwritten by later data.
      received.forEach((p, i) => expect(Buffer.compare(Buffer.from(p), sent[i] as Buffer)).toBe(0));
    });

    it("fails a server stream after messages were sent, with trailers", async () => {
      const got: number[] = [];
      const err = await expectError(
        (async () => {
          for await (const m of echo().ServerStream({ count: 5, fail: "after-first" })) got.push(m.index ?? 0);
        })(),
        GrpcStatus.UNAVAILABLE,
        "PHOTON:Unavailable",
      );
      expect(err.message).toBe("failed after the first message");
      expect(got).toEqual([0]);
    });

    it("ends a call whose handler finished while the client was still streaming", async () => {
      const s = new GrpcServer({ transport }).addService(echoService, {
        ClientStream: async (requests) => {
          for await (const r of requests) if (r.message === "enough") return { message: "early" };
          return { message: "late" };
        },
        Bidi: async (stream) => {
          for await (const r of stream) {
            if (r.fail) throw CommonErrors.NotFound("stop");
            await stream.write({ message: r.message });
          }
        },
      });
      const p = await s.listen(0);
      const c = new GrpcClient(`127.0.0.1:${p}`).stub(echoService);
      // The client never half-closes: the status alone must end both calls on both sides.
      const cs = c.ClientStream();
      await cs.write({ message: "enough" });
      await Bun.sleep(20);
      await cs.write({ message: "ignored" });
      expect((await cs.end()).message).toBe("early");
      const bidi = c.Bidi();
      await bidi.write({ message: "a" });
      await bidi.write({ fail: "x" });
      const got: string[] = [];
      const err = await expectError(
        (async () => {
          for await (const m of bidi) got.push(m.message ?? "");
        })(),
        GrpcStatus.NOT_FOUND,
      );
      expect(err.message).toBe("stop");
      expect(got).toEqual(["a"]);
      await bidi.write({ message: "after the end is dropped" });
      for (let i = 0; i < 100 && s.activeCalls > 0; i++) await Bun.sleep(5);
      expect(s.activeCalls).toBe(0);
      await s.stop(100);
    });

    it("fails a client stream when a request makes the handler throw", async () => {
      const call = echo().ClientStream();
      await call.write({ message: "ok" });
      await call.write({ message: "bad", fail: "photon" });
      await expectError(call.end(), GrpcStatus.NOT_FOUND, "PHOTON:NotFound");
    });
  });

  describe("errors and status codes", () => {
    it("sends a PhotonError's status, message, code and details", async () => {
      const err = await expectError(echo().Unary({ message: "thing ✓ 100%", fail: "photon" }), GrpcStatus.NOT_FOUND, "PHOTON:NotFound");
      expect(err.message).toBe("no such thing: thing ✓ 100%");
      expect(err.details).toEqual({ name: "thing ✓ 100%" });
    });

    it("turns other errors into INTERNAL without leaking their message, and logs them", async () => {
      const err = await expectError(echo().Unary({ fail: "plain" }), GrpcStatus.INTERNAL, "PHOTON:Internal");
      expect(err.message).toBe("internal error");
      const r = await rawCall(raw, U.path, frame({ fail: "plain" }));
      expect(rawMeta(r, "grpc-message")).toBe("internal error");
      expect(JSON.stringify(r)).not.toContain("passwd");
      expect(logLines.some((l) => l.includes("secret internal detail") && l.includes(U.path))).toBe(true);
    });

    it("sends errors before any message as trailers-only", async () => {
      const r = await rawCall(raw, U.path, frame({ fail: "photon" }));
      expect(r.headers["grpc-status"]).toBe("5");
      expect(r.headers["photon-error-code"]).toBe("PHOTON:NotFound");
      expect(Number(r.headers[":status"])).toBe(200);
      expect(r.messages.length).toBe(0);
    });

    it("answers UNIMPLEMENTED for methods without a handler and unknown paths", async () => {
      await expectError(echo().NotImplemented({}), GrpcStatus.UNIMPLEMENTED, "PHOTON:Unimplemented");
      const r = await rawCall(raw, "/no.Such/Method", frame({}));
      expect(rawStatus(r)).toBe(GrpcStatus.UNIMPLEMENTED);
    });

    it("answers 415 to non-gRPC content types and 405 to non-POST", async () => {
      const r = await rawCall(raw, U.path, frame({}), { "content-type": "application/json" });
      expect(Number(r.headers[":status"])).toBe(415);
      const g = await new Promise<number>((resolve) => {
        const s = raw.request({ ":method": "GET", ":path": U.path, "content-type": "application/grpc" });
        s.on("response", (h) => resolve(Number(h[":status"])));
        s.on("error", () => {});
        s.end();
      });
      expect(g).toBe(405);
    });

    it("accepts application/grpc+proto", async () => {
      const r = await rawCall(raw, U.path, frame({ message: "p" }), { "content-type": "application/grpc+proto" });
      expect(rawStatus(r)).toBe(0);
      expect(U.decodeResponse(r.messages[0] as Buffer).message).toBe("p");
    });

    it("answers INTERNAL to malformed protobuf, truncated frames, extra and missing messages", async () => {
      const garbage = encodeFrame(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]));
      expect(rawStatus(await rawCall(raw, U.path, garbage))).toBe(GrpcStatus.INTERNAL);
      expect(rawStatus(await rawCall(raw, U.path, frame({ message: "x" }).subarray(0, 6)))).toBe(GrpcStatus.INTERNAL);
      expect(rawStatus(await rawCall(raw, U.path, [frame({}), frame({})]))).toBe(GrpcStatus.INTERNAL);
      expect(rawStatus(await rawCall(raw, U.path, []))).toBe(GrpcStatus.INTERNAL);
    });

    it("refuses handlers for methods the service lacks", () => {
      expect(() => new GrpcServer({ transport }).addService(echoService, { Nope: () => ({}) } as never)).toThrow(/has no method Nope/);
    });
  });

  describe("deadlines", () => {
    it("ends a call past its grpc-timeout with DEADLINE_EXCEEDED and aborts the handler", async () => {
      const abortedBefore = echoStats.aborted;
      const started = Date.now();
      const r = await rawCall(raw, U.path, frame({ delayMs: 3000 }), { "grpc-timeout": "100m" });
      expect(rawStatus(r)).toBe(GrpcStatus.DEADLINE_EXCEEDED);
      expect(rawMeta(r, "photon-error-code")).toBe("GRPC:DeadlineExceeded");
      expect(Date.now() - started).toBeLessThan(1500);
      expect(echoStats.aborted).toBeGreaterThan(abortedBefore);
    });

    it("exposes the deadline to the handler", async () => {
      const deadlines: (number | undefined)[] = [];
      const s = new GrpcServer({ transport }).addService(echoService, { Unary: (_r, ctx) => (deadlines.push(ctx.deadline), {}) });
      const p = await s.listen(0);
      const c = new GrpcClient(`127.0.0.1:${p}`);
      const before = Date.now();
      await c.unary(U, {}, { timeoutMs: 5000 });
      await c.unary(U, {});
      c.close();
      await s.stop(100);
      expect(deadlines[0]).toBeGreaterThan(before + 4000);
      expect(deadlines[0]).toBeLessThanOrEqual(Date.now() + 5000);
      expect(deadlines[1]).toBeUndefined();
    });

    it("rejects a malformed grpc-timeout", async () => {
      const r = await rawCall(raw, U.path, frame({}), { "grpc-timeout": "soon" });
      expect(rawStatus(r)).toBe(GrpcStatus.INTERNAL);
    });
  });

  describe("message size limits", () => {
    it("answers RESOURCE_EXHAUSTED to a request over the default 16 MiB from its header", async () => {
      const header = Buffer.from([0, 0, 0, 0, 0]);
      header.writeUInt32BE(16 * 1024 * 1024 + 1, 1);
      const r = await rawCall(raw, U.path, [header, Buffer.alloc(1000)]);
      expect(rawStatus(r)).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
      expect(rawMeta(r, "photon-error-code")).toBe("GRPC:MessageTooLarge");
    });

    it("enforces configured receive and send limits", async () => {
      const s = new GrpcServer({ transport, maxReceiveMessageBytes: 1024, maxSendMessageBytes: 2048 }).addService(echoService, echoHandlers);
      const p = await s.listen(0);
      const c = new GrpcClient(`127.0.0.1:${p}`).stub(echoService);
      await c.Unary({ payload: Buffer.alloc(1000) });
      await expectError(c.Unary({ payload: Buffer.alloc(1025) }), GrpcStatus.RESOURCE_EXHAUSTED, "GRPC:MessageTooLarge");
      await c.Unary({ responseBytes: 2000 });
      const err = await expectError(c.Unary({ responseBytes: 3000 }), GrpcStatus.RESOURCE_EXHAUSTED, "GRPC:MessageTooLarge");
      expect(err.message).toContain("send limit");
      await s.stop(100);
    });

    it("round-trips a 4 MiB message", async () => {
      const payload = Buffer.alloc(4 * 1024 * 1024, 7);
      const res = await echo().Unary({ payload });
      expect(Buffer.compare(Buffer.from(res.payload as Uint8Array), payload)).toBe(0);
    });
  });

  describe("compressed requests", () => {
    const compressed = (enc: "gzip" | "deflate", req: EchoRequest) => {
      const body = enc === "gzip" ? zlib.gzipSync(U.encodeRequest(req)) : zlib.deflateSync(U.encodeRequest(req));
      const f = encodeFrame(body);
      f[0] = 1;
      return f;
    };

    it("decompresses gzip and deflate messages", async () => {
      for (const enc of ["gzip", "deflate"] as const) {
        const r = await rawCall(raw, U.path, compressed(enc, { message: enc }), { "grpc-encoding": enc });
        expect(rawStatus(r)).toBe(0);
        expect(U.decodeResponse(r.messages[0] as Buffer).message).toBe(enc);
      }
    });

    it("rejects unsupported encodings with UNIMPLEMENTED and a compressed flag without encoding with INTERNAL", async () => {
      const r = await rawCall(raw, U.path, frame({}), { "grpc-encoding": "snappy" });
      expect(rawStatus(r)).toBe(GrpcStatus.UNIMPLEMENTED);
      expect(rawMeta(r, "grpc-accept-encoding")).toContain("gzip");
      expect(rawStatus(await rawCall(raw, U.path, compressed("gzip", {})))).toBe(GrpcStatus.INTERNAL);
    });

    it("applies the size limit after decompression", async () => {
      const r = await rawCall(raw, U.path, compressed("gzip", { payload: Buffer.alloc(17 * 1024 * 1024) }), { "grpc-encoding": "gzip" });
      expect(rawStatus(r)).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
    });
  });

  describe("interceptors", () => {
    it("run before handlers and can refuse calls", async () => {
      const s = new GrpcServer({ transport }).addService(echoService, echoHandlers);
      s.use(async (ctx) => {
        await Promise.resolve();
        if (ctx.metadata.authorization !== "Bearer good") throw CommonErrors.Unauthenticated("no valid token");
      });
      const p = await s.listen(0);
      const c = new GrpcClient(`127.0.0.1:${p}`).stub(echoService);
      await expectError(c.Unary({}), GrpcStatus.UNAUTHENTICATED, "PHOTON:Unauthenticated");
      expect((await c.Unary({ message: "in" }, { metadata: { authorization: "Bearer good" } })).message).toBe("in");
      await s.stop(100);
    });

    it("refuse reserved response metadata names", async () => {
      const s = new GrpcServer({ transport }).addService(echoService, { Unary: (_r, ctx) => (ctx.setHeader("grpc-status", "0"), {}) });
      const p = await s.listen(0);
      await expectError(new GrpcClient(`127.0.0.1:${p}`).unary(U, {}), GrpcStatus.INVALID_ARGUMENT, "PHOTON:InvalidArgument");
      await s.stop(100);
    });
  });

  describe("graceful stop", () => {
    it("lets in-flight calls finish, then refuses new connections", async () => {
      const s = new GrpcServer({ transport }).addService(echoService, echoHandlers);
      const p = await s.listen(0);
      const c = new GrpcClient(`127.0.0.1:${p}`).stub(echoService);
      await c.Unary({});
      const inflight = c.Unary({ message: "late", delayMs: 300 });
      await Bun.sleep(50);
      const stopped = s.stop(3000);
      expect((await inflight).message).toBe("late");
      await stopped;
      await expectError(new GrpcClient(`127.0.0.1:${p}`).unary(U, {}), GrpcStatus.UNAVAILABLE);
    });

    it("ends calls still running after the drain period with UNAVAILABLE and aborts them", async () => {
      const s = new GrpcServer({ transport }).addService(echoService, echoHandlers);
      const p = await s.listen(0);
      const c = new GrpcClient(`127.0.0.1:${p}`).stub(echoService);
      const abortedBefore = echoStats.aborted;
      const inflight = expectError(c.Unary({ delayMs: 5000 }), GrpcStatus.UNAVAILABLE, "PHOTON:ShuttingDown");
      await Bun.sleep(50);
      const started = Date.now();
      await s.stop(100);
      expect(Date.now() - started).toBeLessThan(1500);
      await inflight;
      expect(echoStats.aborted).toBeGreaterThan(abortedBefore);
      expect(s.activeCalls).toBe(0);
    });
  });
});
