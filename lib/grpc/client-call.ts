/**
 * One client-side call on an HTTP/2 stream: sends request frames, decodes response frames and
 * works out the final status from trailers, trailers-only headers, the HTTP status or the reset
 * code, in that order (PROTOCOL-HTTP2.md). The public call objects in client.ts wrap it.
 */
import http2, { type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from "node:http2";
import { GrpcStatus, PhotonError } from "../errors.ts";
import { GrpcErrors } from "./errors.ts";
import { decompress, encodeFrame, FrameDecoder, type FrameSink } from "./frame.ts";
import type { MethodDefinition } from "./service.ts";
import {
  decodeGrpcMessage,
  ERROR_CODE_TRAILER,
  ERROR_DETAILS_TRAILER,
  errorFromStatus,
  grpcStatusFromHttp,
  statusName,
} from "./status.ts";

/** Receives the response metadata of a call once it has ended (headers, then trailers). */
export type ResponseMetadataHandler = (headers: IncomingHttpHeaders, trailers: IncomingHttpHeaders) => void;

/** What a ClientCall reports to its owner. */
export interface ClientCallSink {
  /** A decoded response message. */
  message(message: unknown): void;
  /** The call ended: `error` null means status OK. Called exactly once. */
  done(error: PhotonError | null): void;
}

const RESOLVED: Promise<void> = Promise.resolve();
const noop = () => {};
const EMPTY_HEADERS: IncomingHttpHeaders = Object.freeze(Object.create(null) as IncomingHttpHeaders);

/** See the module comment. */
export class ClientCall implements FrameSink {
  private decoder: FrameDecoder;
  private headers: IncomingHttpHeaders | null = null;
  private trailers: IncomingHttpHeaders | null = null;
  private ended = false;
  private localError: PhotonError | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private signal: AbortSignal | undefined;
  private onAbort: (() => void) | undefined;
  private drainWaiters: (() => void)[] | null = null;

  constructor(
    private readonly stream: ClientHttp2Stream,
    private readonly method: MethodDefinition,
    private readonly sink: ClientCallSink,
    private readonly maxReceiveBytes: number,
    private readonly maxSendBytes: number,
    timeoutMs: number | undefined,
    signal: AbortSignal | undefined,
    private readonly onMetadata: ResponseMetadataHandler | undefined,
    /** Why the connection failed, when it did (the stream only says "cancelled"). */
    private readonly connectionError: () => Error | undefined,
    private readonly session: ClientHttp2Session,
  ) {
    this.decoder = new FrameDecoder(maxReceiveBytes);
    stream.on("response", (h: IncomingHttpHeaders) => {
      this.headers = h;
    });
    stream.on("trailers", (t: IncomingHttpHeaders) => {
      this.trailers = t;
    });
    stream.on("data", (chunk: Buffer) => this.onData(chunk));
    // The server ended its side. With a status in hand the call is over even if our side is
    // still open (a server may answer before the request stream ends): finish now and reset
    // the stream with NO_ERROR instead of waiting for a 'close' that needs our END_STREAM.
    stream.on("end", () => {
      if (this.ended || (this.trailers === null && this.headers?.["grpc-status"] === undefined)) return;
      this.onClose();
      if (!stream.closed && !stream.destroyed) {
        try {
          stream.close(http2.constants.NGHTTP2_NO_ERROR);
        } catch {
          // already closing
        }
      }
    });
    stream.on("close", () => this.onClose());
    stream.on("error", noop);
    if (timeoutMs !== undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.cancelWith(GrpcErrors.DeadlineExceeded(`deadline of ${Math.round(timeoutMs)} ms exceeded`));
      }, Math.max(0, timeoutMs));
    }
    if (signal) {
      this.signal = signal;
      this.onAbort = () => this.cancelWith(GrpcErrors.Cancelled("the call was cancelled"));
      signal.addEventListener("abort", this.onAbort, { once: true });
    }
  }

  /** True once the call has ended (or is ending): writes are dropped. */
  get closed(): boolean {
    return this.ended || this.localError !== null || this.stream.destroyed;
  }

  /** Sends the one and only request frame and half-closes (unary and server-streaming). */
  sendLast(frame: Buffer): void {
    if (this.closed) return;
    try {
      this.stream.end(frame);
    } catch {
      // reset already; 'close' reports it
    }
  }

  /** Sends one request message; see ClientWriter.write for the contract. */
  write(message: unknown): Promise<void> {
    if (this.closed) return RESOLVED;
    const body = this.method.encodeRequest(message);
    if (body.length > this.maxSendBytes) {
      throw GrpcErrors.MessageTooLarge(`request of ${body.length} bytes is larger than the send limit of ${this.maxSendBytes} bytes`);
    }
    const frame = encodeFrame(body);
    const s = this.stream;
    try {
      if (s.write(frame)) return RESOLVED;
    } catch {
      return RESOLVED;
    }
    return new Promise<void>((resolve) => {
      if (this.drainWaiters === null) {
        this.drainWaiters = [];
        s.once("drain", () => this.releaseWriters());
      }
      this.drainWaiters.push(resolve);
    });
  }

  /** Half-closes the request side (no more messages). */
  end(): void {
    if (this.closed) return;
    try {
      this.stream.end();
    } catch {
      // already reset
    }
  }

  /** Cancels the call: RST_STREAM(CANCEL) to the server, `GRPC:Cancelled` to the caller. */
  cancel(): void {
    this.cancelWith(GrpcErrors.Cancelled("the call was cancelled"));
  }

  /** Stops reading (HTTP/2 flow control then holds the server back). */
  pause(): void {
    this.stream.pause();
  }

  resume(): void {
    this.stream.resume();
  }

  private cancelWith(error: PhotonError): void {
    if (this.ended || this.localError !== null) return;
    this.localError = error;
    try {
      this.stream.close(http2.constants.NGHTTP2_CANCEL);
    } catch {
      // already closed; 'close' still comes
    }
  }

  private onData(chunk: Buffer): void {
    if (this.localError !== null) return;
    try {
      this.decoder.push(chunk, this);
    } catch (e) {
      this.cancelWith(e instanceof PhotonError ? e : GrpcErrors.Protocol(String(e)));
    }
  }

  /** FrameSink: one response message arrived (internal; public only for FrameDecoder). */
  onFrame(compressed: boolean, body: Buffer): void {
    if (this.localError !== null) return;
    const bytes = compressed ? decompress(this.headers?.["grpc-encoding"] as string | undefined, body, this.maxReceiveBytes) : body;
    let message: unknown;
    try {
      message = this.method.decodeResponse(bytes);
    } catch (e) {
      throw GrpcErrors.Protocol(`cannot decode ${this.method.responseType.fullName.slice(1)}: ${(e as Error).message}`, { cause: e });
    }
    this.sink.message(message);
  }

  private onClose(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.signal && this.onAbort) this.signal.removeEventListener("abort", this.onAbort);
    this.releaseWriters();
    const error = this.localError ?? this.outcome();
    if (this.onMetadata) {
      try {
        this.onMetadata(this.headers ?? EMPTY_HEADERS, this.trailers ?? EMPTY_HEADERS);
      } catch {
        // a throwing observer must not lose the call's result
      }
    }
    this.sink.done(error);
  }

  /** The final status, as null (OK) or the error it stands for. */
  private outcome(): PhotonError | null {
    const h = this.headers;
    const status = this.trailers?.["grpc-status"] ?? h?.["grpc-status"];
    if (status !== undefined) {
      const meta = this.trailers?.["grpc-status"] !== undefined ? (this.trailers as IncomingHttpHeaders) : (h as IncomingHttpHeaders);
      const code = Number(status);
      if (code === GrpcStatus.OK) {
        return this.decoder.idle ? null : GrpcErrors.Protocol("response ended inside a message");
      }
      return errorFromStatus(
        Number.isInteger(code) ? code : GrpcStatus.UNKNOWN,
        decodeGrpcMessage((meta["grpc-message"] as string | undefined) ?? ""),
        meta[ERROR_CODE_TRAILER] as string | undefined,
        meta[ERROR_DETAILS_TRAILER] as string | undefined,
      );
    }
    if (h && Number(h[":status"]) !== 200) {
      const grpc = grpcStatusFromHttp(Number(h[":status"]));
      return errorFromStatus(grpc, `server answered HTTP ${String(h[":status"])} without a gRPC status`, undefined);
    }
    const connErr = this.connectionError();
    if (connErr) return GrpcErrors.Unavailable(`cannot reach the server: ${connErr.message}`, { cause: connErr });
    const rst = this.stream.rstCode ?? 0;
    const session = this.session;
    if (h === null && (session.destroyed || session.closed)) {
      // The connection went away before answering (TLS refusal after the handshake, server
      // crash): Bun cancels the pending streams with CANCEL, which is not the caller's doing.
      return GrpcErrors.Unavailable(`the connection closed before a response (RST_STREAM ${rst})`);
    }
    switch (rst) {
      case http2.constants.NGHTTP2_REFUSED_STREAM:
        return GrpcErrors.Unavailable("the server refused the stream");
      case http2.constants.NGHTTP2_CANCEL:
        return GrpcErrors.Cancelled("the server cancelled the call");
      case http2.constants.NGHTTP2_ENHANCE_YOUR_CALM:
        return errorFromStatus(GrpcStatus.RESOURCE_EXHAUSTED, "the server asked to slow down (ENHANCE_YOUR_CALM)", undefined);
      case http2.constants.NGHTTP2_INADEQUATE_SECURITY:
        return errorFromStatus(GrpcStatus.PERMISSION_DENIED, "inadequate security for HTTP/2", undefined);
      default:
        return h === null && rst === 0
          ? GrpcErrors.Unavailable("the connection closed before a response")
          : errorFromStatus(GrpcStatus.INTERNAL, `stream closed without a gRPC status (${statusName(GrpcStatus.INTERNAL)}, RST_STREAM ${rst})`, undefined);
    }
  }

  private releaseWriters(): void {
    const w = this.drainWaiters;
    if (w === null) return;
    this.drainWaiters = null;
    for (const resolve of w) resolve();
  }
}
