/**
 * The Echo test service of lib/grpc (testdata/echo.proto): its TypeScript shape, its definition
 * and handlers that tests and the benchmark share. Not part of the library's API.
 */
import { join } from "node:path";
import type Long from "long";
import { CommonErrors } from "../../errors.ts";
import { loadService, type BidiStreaming, type ClientStreaming, type ServerStreaming, type Unary } from "../service.ts";
import type { ServiceHandlers } from "../types.ts";

export interface EchoRequest {
  message?: string;
  payload?: Uint8Array;
  bigNumber?: number | string | Long;
  count?: number;
  delayMs?: number;
  fail?: string;
  responseBytes?: number;
}

export interface EchoResponse {
  message?: string;
  payload?: Uint8Array;
  bigNumber?: number | string | Long;
  index?: number;
  metadata?: Record<string, string>;
}

export interface Echo {
  Unary: Unary<EchoRequest, EchoResponse>;
  ServerStream: ServerStreaming<EchoRequest, EchoResponse>;
  ClientStream: ClientStreaming<EchoRequest, EchoResponse>;
  Bidi: BidiStreaming<EchoRequest, EchoResponse>;
  NotImplemented: Unary<object, object>;
}

export const ECHO_PROTO = join(import.meta.dir, "echo.proto");

export const echoService = loadService<Echo>(ECHO_PROTO, "photon.test.Echo");

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    });
  });

function maybeFail(req: EchoRequest): void {
  if (req.fail === "photon") {
    throw CommonErrors.NotFound(`no such thing: ${req.message ?? ""}`, { details: { name: req.message ?? "" } });
  }
  if (req.fail === "plain") throw new Error("secret internal detail /etc/passwd");
}

/** Counters the handlers keep, so tests can see what ran and what got aborted. */
export const echoStats = { aborted: 0, started: 0, finished: 0 };

/** Handlers of every Echo method except NotImplemented. */
export const echoHandlers: ServiceHandlers<Echo> = {
  Unary: async (req, ctx) => {
    if (req.delayMs) {
      echoStats.started++;
      ctx.signal.addEventListener("abort", () => echoStats.aborted++);
      await sleep(req.delayMs, ctx.signal);
      echoStats.finished++;
    }
    maybeFail(req);
    const metadata: Record<string, string> = {};
    for (const [k, v] of Object.entries(ctx.metadata)) if (k.startsWith("x-")) metadata[k] = String(v);
    if (ctx.metadata["x-set-header"]) ctx.setHeader("x-answer", String(ctx.metadata["x-set-header"]));
    if (ctx.metadata["x-set-trailer"]) ctx.setTrailer("x-trailer", String(ctx.metadata["x-set-trailer"]));
    return {
      message: req.message,
      payload: req.responseBytes ? new Uint8Array(req.responseBytes) : req.payload,
      bigNumber: req.bigNumber,
      metadata,
    };
  },
  ServerStream: async (req, stream, ctx) => {
    maybeFail(req);
    echoStats.started++;
    ctx.signal.addEventListener("abort", () => echoStats.aborted++);
    for (let i = 0; i < (req.count ?? 0); i++) {
      if (req.delayMs) await sleep(req.delayMs, ctx.signal);
      if (stream.closed) return;
      await stream.write({ message: req.message, index: i, payload: req.responseBytes ? new Uint8Array(req.responseBytes) : undefined });
      if (req.fail === "after-first") throw CommonErrors.Unavailable("failed after the first message");
    }
    echoStats.finished++;
  },
  ClientStream: async (requests, ctx) => {
    echoStats.started++;
    ctx.signal.addEventListener("abort", () => echoStats.aborted++);
    const parts: string[] = [];
    let bytes = 0;
    for await (const r of requests) {
      maybeFail(r);
      parts.push(r.message ?? "");
      bytes += r.payload?.length ?? 0;
      if (r.delayMs) await sleep(r.delayMs, ctx.signal);
    }
    echoStats.finished++;
    return { message: parts.join(","), index: bytes };
  },
  Bidi: async (stream, ctx) => {
    echoStats.started++;
    ctx.signal.addEventListener("abort", () => echoStats.aborted++);
    let i = 0;
    for await (const r of stream) {
      maybeFail(r);
      if (r.delayMs) await sleep(r.delayMs, ctx.signal);
      await stream.write({ message: r.message, payload: r.payload, index: i++ });
    }
    echoStats.finished++;
  },
};
