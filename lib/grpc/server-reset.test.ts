/**
 * Clients that reset streams (RST_STREAM CANCEL) at every point of a call, in loops, with a raw
 * node:http2 client. Bun's node:http2 emits 'end' before 'aborted' on a reset request and
 * throws from respond() on a destroyed stream; the server must survive all of it: no crash, no
 * unhandled rejection, no write-after-close error, handlers' signals fire, and it keeps
 * serving normal calls afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import http2 from "node:http2";
import { createLogger } from "../log.ts";
import { GrpcClient } from "./client.ts";
import { encodeFrame } from "./frame.ts";
import { GrpcServer } from "./server.ts";
import { echoHandlers, echoService, echoStats, type EchoRequest } from "./testdata/echo-service.ts";
import { grpcHeaders, rawCall, rawStatus } from "./testdata/raw-client.ts";
import { GRPC_TRANSPORTS } from "./testdata/transports.ts";

describe.each(GRPC_TRANSPORTS)("%s transport", (transport) => {
  const { Unary, ServerStream, ClientStream, Bidi } = echoService.methods;
  const CANCEL = http2.constants.NGHTTP2_CANCEL;
  const frame = (req: EchoRequest) => encodeFrame(Unary.encodeRequest(req));

  const problems: unknown[] = [];
  const onProblem = (e: unknown) => problems.push(e);
  const logLines: string[] = [];

  let server: GrpcServer;
  let port: number;
  let session: http2.ClientHttp2Session;

  /** Opens a stream on the shared session; every error it may emit is expected here. */
  function open(path: string): http2.ClientHttp2Stream {
    const s = session.request(grpcHeaders(path));
    s.on("error", () => {});
    s.on("data", () => {});
    return s;
  }

  function closed(s: http2.ClientHttp2Stream): Promise<void> {
    return new Promise((resolve) => (s.closed ? resolve() : s.on("close", () => resolve())));
  }

  async function settle(): Promise<void> {
    for (let i = 0; i < 200 && server.activeCalls > 0; i++) await Bun.sleep(10);
  }

  beforeAll(async () => {
    process.on("uncaughtException", onProblem);
    process.on("unhandledRejection", onProblem);
    server = new GrpcServer({ transport, logger: createLogger("grpc-test", { sink: { write: (l) => logLines.push(l) } }) });
    server.addService(echoService, echoHandlers);
    port = await server.listen(0, "127.0.0.1");
    session = http2.connect(`http://127.0.0.1:${port}`);
    session.on("error", () => {});
  });

  afterAll(async () => {
    session.destroy();
    await server.stop(200);
    process.off("uncaughtException", onProblem);
    process.off("unhandledRejection", onProblem);
  });

  describe("clients resetting streams", () => {
    it("survives resets right after the request headers", async () => {
      for (let i = 0; i < 40; i++) {
        const s = open(i % 2 ? Unary.path : Bidi.path);
        s.close(CANCEL);
        await closed(s);
      }
    });

    it("survives resets in the middle of a request message", async () => {
      const f = frame({ message: "partial", payload: Buffer.alloc(100) });
      for (let i = 0; i < 40; i++) {
        const s = open(Unary.path);
        s.write(f.subarray(0, 1 + (i % (f.length - 1))));
        if (i % 3 === 0) await Bun.sleep(1);
        s.close(CANCEL);
        await closed(s);
      }
    });

    it("survives resets of a complete request whose end was never sent", async () => {
      // Bun reports this reset to the server as a normal 'end' first: the handler runs, then aborts.
      const before = { ...echoStats };
      for (let i = 0; i < 20; i++) {
        const s = open(Unary.path);
        s.write(frame({ message: "no-end", delayMs: 200 }));
        await Bun.sleep(i % 4);
        s.close(CANCEL);
        await closed(s);
      }
      await settle();
      // Every handler that started was aborted, however Bun ordered 'end' and 'aborted'.
      expect(echoStats.aborted - before.aborted).toBe(echoStats.started - before.started);
      console.log("no-end resets that started a handler:", echoStats.started - before.started);
    });

    it("aborts the handler's signal when a client resets while it runs", async () => {
      await settle();
      const before = { ...echoStats };
      const streams: http2.ClientHttp2Stream[] = [];
      for (let i = 0; i < 30; i++) {
        const s = open(Unary.path);
        s.end(frame({ message: "slow", delayMs: 2000 }));
        streams.push(s);
      }
      await Bun.sleep(60);
      for (const s of streams) s.close(CANCEL);
      await Promise.all(streams.map(closed));
      await settle();
      expect(echoStats.started - before.started).toBe(30);
      expect(echoStats.aborted - before.aborted).toBe(30);
    });

    it("survives resets in the middle of a streamed response under back-pressure", async () => {
      const before = echoStats.aborted;
      for (let i = 0; i < 20; i++) {
        const s = session.request(grpcHeaders(ServerStream.path));
        s.on("error", () => {});
        let chunks = 0;
        s.on("data", () => {
          if (++chunks === 1 + (i % 5)) s.close(CANCEL);
        });
        s.end(frame({ count: 1000, responseBytes: 64 * 1024 }));
        await closed(s);
      }
      await settle();
      expect(echoStats.aborted - before).toBe(20);
    });

    it("survives resets in the middle of client and bidirectional streams, never ending them normally", async () => {
      await settle();
      const before = { ...echoStats };
      for (let i = 0; i < 30; i++) {
        const s = open(i % 2 ? ClientStream.path : Bidi.path);
        for (let j = 0; j <= i % 6; j++) s.write(frame({ message: `m${j}`, delayMs: j === 3 ? 5 : 0 }));
        if (i % 2 === 0) await Bun.sleep(i % 3);
        s.close(CANCEL);
        await closed(s);
      }
      await settle();
      expect(echoStats.started - before.started).toBe(30);
      expect(echoStats.aborted - before.aborted).toBe(30);
      expect(echoStats.finished - before.finished).toBe(0);
    });

    it("survives many concurrent calls reset at random moments", async () => {
      const all: Promise<void>[] = [];
      for (let i = 0; i < 150; i++) {
        const path = [Unary.path, ServerStream.path, ClientStream.path, Bidi.path][i % 4] as string;
        const s = open(path);
        if (path === Unary.path || path === ServerStream.path) s.end(frame({ count: 50, delayMs: i % 3 }));
        else s.write(frame({ message: "x" }));
        setTimeout(() => s.close(CANCEL), Math.random() * 6);
        all.push(closed(s));
      }
      await Promise.all(all);
    });

    it("survives connections dropped with calls in flight", async () => {
      for (let i = 0; i < 5; i++) {
        const doomed = http2.connect(`http://127.0.0.1:${port}`);
        doomed.on("error", () => {});
        for (let j = 0; j < 10; j++) {
          const s = doomed.request(grpcHeaders(j % 2 ? Bidi.path : Unary.path));
          s.on("error", () => {});
          s.write(frame({ message: "x", delayMs: 100 }));
          if (j % 2 === 0) s.end();
        }
        await Bun.sleep(10 + i * 5);
        doomed.destroy();
      }
    });

    it("has no crash, no unhandled rejection, no logged failure and no call left, and still serves", async () => {
      await settle();
      expect(server.activeCalls).toBe(0);
      expect(problems).toEqual([]);
      expect(logLines.filter((l) => l.includes('"level":"error"'))).toEqual([]);

      const r = await rawCall(session, Unary.path, frame({ message: "still here" }));
      expect(rawStatus(r)).toBe(0);
      const client = new GrpcClient(`127.0.0.1:${port}`);
      const stub = client.stub(echoService);
      expect((await stub.Unary({ message: "ok" })).message).toBe("ok");
      let n = 0;
      for await (const _ of stub.ServerStream({ count: 10 })) n++;
      expect(n).toBe(10);
      const bidi = stub.Bidi();
      await bidi.write({ message: "b" });
      bidi.end();
      const got: string[] = [];
      for await (const m of bidi) got.push(m.message ?? "");
      expect(got).toEqual(["b"]);
      client.close();
    });
  });
});
