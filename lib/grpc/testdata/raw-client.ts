/**
 * A raw node:http2 client for tests that must control every byte and frame (bad frames,
 * compressed messages, resets), independent of lib/grpc's own client. Test code only.
 */
import http2 from "node:http2";
import { FrameDecoder } from "../frame.ts";

/** What a raw call saw. */
export interface RawResult {
  headers: http2.IncomingHttpHeaders;
  trailers: http2.IncomingHttpHeaders;
  messages: Buffer[];
  rstCode: number | undefined;
}

/** The gRPC request headers for `path`, plus `extra`. */
export function grpcHeaders(path: string, extra: http2.OutgoingHttpHeaders = {}): http2.OutgoingHttpHeaders {
  return { ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers", ...extra };
}

/** Sends `body` (already framed) on a new stream of `session` and collects the answer. */
export function rawCall(
  session: http2.ClientHttp2Session,
  path: string,
  body: Buffer | Buffer[],
  extraHeaders: http2.OutgoingHttpHeaders = {},
): Promise<RawResult> {
  return new Promise((resolve, reject) => {
    const s = session.request(grpcHeaders(path, extraHeaders));
    const result: RawResult = { headers: {}, trailers: {}, messages: [], rstCode: undefined };
    const decoder = new FrameDecoder(1 << 30);
    s.on("response", (h) => (result.headers = h));
    s.on("trailers", (t) => (result.trailers = t));
    const sink = { onFrame: (_z: boolean, m: Buffer) => result.messages.push(Buffer.from(m)) };
    s.on("data", (c: Buffer) => decoder.push(c, sink));
    s.on("error", () => {});
    s.on("close", () => {
      result.rstCode = s.rstCode;
      resolve(result);
    });
    try {
      for (const b of Array.isArray(body) ? body : [body]) s.write(b);
      s.end();
    } catch (e) {
      reject(e);
    }
  });
}

/** The grpc-status of a raw result, from trailers or (trailers-only) headers. */
export function rawStatus(r: RawResult): number | undefined {
  const v = r.trailers["grpc-status"] ?? r.headers["grpc-status"];
  return v === undefined ? undefined : Number(v);
}

/** Header or trailer value of a raw result. */
export function rawMeta(r: RawResult, name: string): string | undefined {
  const v = r.trailers[name] ?? r.headers[name];
  return v === undefined ? undefined : String(v);
}
