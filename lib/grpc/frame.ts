/**
 * gRPC message framing: every message on the wire is a 5-byte header (1 byte compressed flag,
 * 4 bytes big-endian length) followed by the message bytes. `FrameDecoder` reassembles messages
 * from arbitrary HTTP/2 DATA chunks without copying when a message lies inside one chunk, and
 * enforces the receive limit from the header, before buffering anything.
 */
import zlib from "node:zlib";
import { GrpcErrors } from "./errors.ts";

/** Default message size limit of both directions (server and client): 16 MiB. */
export const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/** Bytes of the length-prefix header in front of every gRPC message. */
export const FRAME_HEADER_BYTES = 5;

/** Message encodings this implementation can decompress (`grpc-encoding`). */
export const ACCEPT_ENCODING = "identity,deflate,gzip";

/** Frames one uncompressed message: header + body in one buffer (one DATA frame on the wire). */
export function encodeFrame(body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.length);
  out[0] = 0;
  out.writeUInt32BE(body.length, 1);
  out.set(body, FRAME_HEADER_BYTES);
  return out;
}

/** True when `encoding` (a `grpc-encoding` value) is one `decompress` understands. */
export function isSupportedEncoding(encoding: string): boolean {
  return encoding === "identity" || encoding === "gzip" || encoding === "deflate";
}

/**
 * Decompresses one message body. Throws `GRPC:MessageTooLarge` when the output would pass
 * `maxBytes` (guards against compression bombs), `GRPC:Protocol` for corrupt data or a set
 * compressed flag without a usable `grpc-encoding`.
 */
export function decompress(encoding: string | undefined, body: Uint8Array, maxBytes: number): Buffer {
  if (encoding !== "gzip" && encoding !== "deflate") {
    throw GrpcErrors.Protocol(`compressed message without a supported grpc-encoding (${encoding ?? "none"})`);
  }
  try {
    const opts = { maxOutputLength: Math.min(maxBytes + 1, 0x7fffffff) };
    const out = encoding === "gzip" ? zlib.gunzipSync(body, opts) : zlib.inflateSync(body, opts);
    if (out.length > maxBytes) throw GrpcErrors.MessageTooLarge(tooLarge(out.length, maxBytes));
    return out;
  } catch (e) {
    if ((e as { code?: unknown }).code === "ERR_BUFFER_TOO_LARGE") {
      throw GrpcErrors.MessageTooLarge(`decompressed message larger than the limit of ${maxBytes} bytes`);
    }
    if ((e as { code?: unknown }).code === "GRPC:MessageTooLarge") throw e;
    throw GrpcErrors.Protocol(`cannot decompress ${encoding} message`, { cause: e });
  }
}

function tooLarge(len: number, max: number): string {
  return `message of ${len} bytes is larger than the limit of ${max} bytes`;
}

/**
 * Receives each complete message: `compressed` is the header's flag, `body` the raw bytes (a
 * view into the pushed chunk when the message lay inside it). An object rather than a callback
 * so that a call passes itself and no closure is made per chunk.
 */
export interface FrameSink {
  onFrame(compressed: boolean, body: Buffer): void;
}

/**
 * Incremental decoder of length-prefixed messages. Not reentrant: one per stream direction.
 * `push` throws a PhotonError (`GRPC:MessageTooLarge`, `GRPC:Protocol`) on a bad frame; the
 * decoder is then unusable.
 */
export class FrameDecoder {
  // Allocated only when a header is split across chunks (rare; Buffer creation is not free).
  private header: Buffer | null = null;
  private headerFill = 0;
  private body: Buffer | null = null;
  private bodyFill = 0;
  private flag = 0;

  constructor(private readonly maxBytes: number) {}

  /** True when no partial message is buffered (a stream may end only here). */
  get idle(): boolean {
    return this.body === null && this.headerFill === 0;
  }

  /** Feeds one chunk; calls `sink.onFrame` for every message it completes, in order. */
  push(chunk: Buffer, sink: FrameSink): void {
    let off = 0;
    const n = chunk.length;
    while (off < n) {
      if (this.body === null) {
        let flag: number;
        let len: number;
        if (this.headerFill === 0 && n - off >= FRAME_HEADER_BYTES) {
          flag = chunk[off] as number;
          len = chunk.readUInt32BE(off + 1);
          off += FRAME_HEADER_BYTES;
        } else {
          const header = (this.header ??= Buffer.allocUnsafe(FRAME_HEADER_BYTES));
          const take = Math.min(FRAME_HEADER_BYTES - this.headerFill, n - off);
          chunk.copy(header, this.headerFill, off, off + take);
          this.headerFill += take;
          off += take;
          if (this.headerFill < FRAME_HEADER_BYTES) return;
          this.headerFill = 0;
          flag = header[0] as number;
          len = header.readUInt32BE(1);
        }
        if (flag > 1) throw GrpcErrors.Protocol(`invalid compressed flag ${flag} in message header`);
        if (len > this.maxBytes) throw GrpcErrors.MessageTooLarge(tooLarge(len, this.maxBytes));
        if (n - off >= len) {
          sink.onFrame(flag === 1, chunk.subarray(off, off + len));
          off += len;
          continue;
        }
        this.body = Buffer.allocUnsafe(len);
        this.bodyFill = 0;
        this.flag = flag;
      }
      const body = this.body;
      const take = Math.min(body.length - this.bodyFill, n - off);
      chunk.copy(body, this.bodyFill, off, off + take);
      this.bodyFill += take;
      off += take;
      if (this.bodyFill === body.length) {
        this.body = null;
        sink.onFrame(this.flag === 1, body);
      }
    }
  }
}
