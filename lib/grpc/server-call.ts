/**
 * One server-side call: reads the request frames of an HTTP/2 stream, runs the handler and
 * answers with messages and a status. It is also the handler's context and, for streaming
 * methods, its stream (one object per call keeps the per-call cost down).
 *
 * Invariants that make it safe against clients resetting streams at any point:
 * - `finished` is set before anything is sent that ends the call, so at most one status is sent;
 * - nothing touches the HTTP/2 stream once it is destroyed, and every call into it that can
 *   still race a reset is wrapped (Bun's node:http2 throws ERR_HTTP2_INVALID_STREAM from
 *   respond() after a reset, and emits 'end' before 'aborted' for a reset request);
 * - the stream is a CallStream (call-stream.ts), so the same logic runs on node:http2 and on
 *   the raw-socket transport of h2/;
 * - 'close' before `finished` means the client went away: the signal fires, the input queue
 *   fails, pending write promises resolve, and the handler's eventual result is dropped.
 * - A unary/server-streaming request that arrived complete but was reset before its END_STREAM
 *   runs its handler (as grpc-go does: it starts on the first message), whose signal then
 *   fires; a reset request stream never ends normally (see onEnd).
 * - Once the status is sent, a request side the client has not ended is reset with NO_ERROR
 *   (CallStream.closeRequest), so neither side waits for the other's END_STREAM.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http2";
import type { PeerCertificate } from "node:tls";
import type { CallStream, CallStreamSink } from "./call-stream.ts";
import type { Logger } from "../log.ts";
import { GrpcErrors } from "./errors.ts";
import { decompress, encodeFrame, FrameDecoder, type FrameSink } from "./frame.ts";
import { PreEncoded } from "./pre-encoded.ts";
import { MessageQueue } from "./message-queue.ts";
import type { MethodDefinition } from "./service.ts";
import { checkMetadataName, errorTrailers, metadataValue } from "./server-trailers.ts";
import type { CallContext, Interceptor, MetadataValue, ServerDuplex } from "./types.ts";

/** What every call of one server shares. */
export interface CallEnv {
  readonly maxReceiveBytes: number;
  readonly maxSendBytes: number;
  readonly logger: Logger;
  readonly interceptors: Interceptor[];
  /** In-flight calls, so `stop()` can end the ones left after the drain period. */
  readonly calls: Set<ServerCall>;
}

/** A registered method: its definition and the user's handler. */
export interface Route {
  readonly method: MethodDefinition;
  // The four handler signatures differ; ServerCall.run calls each with its own arguments.
  readonly handler: (...args: any[]) => unknown;
}

// Frozen: transports may cache their encoded form (see h2/h2-stream.ts headerBlock).
const RESPONSE_HEADERS: OutgoingHttpHeaders = Object.freeze({ ":status": 200, "content-type": "application/grpc" });
const OK_TRAILERS: OutgoingHttpHeaders = Object.freeze({ "grpc-status": "0" });
const RESOLVED: Promise<void> = Promise.resolve();
const NO_REQUEST = Symbol("no request");

/** See the module comment. Created by GrpcServer for each accepted stream. */
export class ServerCall implements CallContext, ServerDuplex<unknown, unknown>, FrameSink, CallStreamSink {
  readonly method: MethodDefinition;
  readonly deadline: number | undefined;

  private finished = false;
  private responded = false;
  private running = false;
  private wasCancelled = false;
  private controller: AbortController | null = null;
  private abortReason: unknown = undefined;
  private timer: ReturnType<typeof setTimeout> | undefined = undefined;
  private readonly decoder: FrameDecoder;
  private request: unknown = NO_REQUEST;
  private readonly queue: MessageQueue<unknown> | null = null;
  private discardInput = false;
  private extraHeaders: OutgoingHttpHeaders | null = null;
  private extraTrailers: OutgoingHttpHeaders | null = null;
  private drainWaiters: (() => void)[] | null = null;

  constructor(
    private readonly stream: CallStream,
    readonly metadata: IncomingHttpHeaders,
    private readonly route: Route,
    private readonly env: CallEnv,
    timeoutMs: number | undefined,
    private readonly encoding: string | undefined,
  ) {
    this.method = route.method;
    this.decoder = new FrameDecoder(env.maxReceiveBytes);
    if (route.method.requestStream) {
      this.queue = new MessageQueue<unknown>({
        pause: () => this.stream.pause(),
        resume: () => this.stream.resume(),
        abandon: () => {
          this.discardInput = true;
        },
      });
    }
    if (timeoutMs !== undefined) {
      this.deadline = Date.now() + timeoutMs;
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.fail(GrpcErrors.DeadlineExceeded(`deadline of ${timeoutMs} ms exceeded`));
      }, timeoutMs);
    }
  }

  /** Attaches the stream listeners and, for request-streaming methods, starts the handler. */
  start(): void {
    this.env.calls.add(this);
    this.stream.attach(this);
    if (this.queue) this.run();
  }

  // ---- CallContext ----

  get peer(): string {
    return this.stream.peer;
  }

  get signal(): AbortSignal {
    if (this.controller === null) {
      this.controller = new AbortController();
      if (this.abortReason !== undefined) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }

  get cancelled(): boolean {
    return this.wasCancelled;
  }

  get closed(): boolean {
    return this.finished || this.stream.destroyed;
  }

  setHeader(name: string, value: MetadataValue): void {
    (this.extraHeaders ??= Object.create(null) as OutgoingHttpHeaders)[checkMetadataName(name, value)] = metadataValue(value);
  }

  setTrailer(name: string, value: MetadataValue): void {
    (this.extraTrailers ??= Object.create(null) as OutgoingHttpHeaders)[checkMetadataName(name, value)] = metadataValue(value);
  }

  peerCertificate(): PeerCertificate | undefined {
    return this.stream.peerCertificate();
  }

  // ---- ServerWriter / ServerReader ----

  write(message: unknown): Promise<void> {
    if (this.finished) return RESOLVED;
    const frame = this.frameResponse(message);
    const s = this.stream;
    if (s.destroyed) return RESOLVED;
    try {
      if (!this.responded) this.sendHeaders();
      if (s.write(frame)) return RESOLVED;
    } catch {
      return RESOLVED; // the stream died under us; 'close' ends the call
    }
    return new Promise<void>((resolve) => {
      if (this.drainWaiters === null) {
        this.drainWaiters = [];
        s.onceDrain(() => this.releaseWriters());
      }
      this.drainWaiters.push(resolve);
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<unknown> {
    if (this.queue === null) throw new TypeError(`${this.method.path} has no request stream`);
    return this.queue;
  }

  // ---- stream events ----

  /** CallStreamSink: request bytes (internal). */
  onData(chunk: Buffer): void {
    if (this.finished || this.discardInput) return;
    try {
      this.decoder.push(chunk, this);
    } catch (e) {
      this.fail(e);
    }
  }

  /** FrameSink: one request message arrived (internal; public only for FrameDecoder). */
  onFrame(compressed: boolean, body: Buffer): void {
    if (this.finished || this.discardInput) return;
    const bytes = compressed ? decompress(this.encoding, body, this.env.maxReceiveBytes) : body;
    let message: unknown;
    try {
      message = this.method.decodeRequest(bytes);
    } catch (e) {
      throw GrpcErrors.Protocol(`cannot decode ${this.method.requestType.fullName.slice(1)}: ${(e as Error).message}`, { cause: e });
    }
    if (this.queue) {
      this.queue.push(message);
    } else if (this.request === NO_REQUEST) {
      this.request = message;
    } else {
      throw GrpcErrors.Protocol(`more than one request message for ${this.method.kind} method ${this.method.path}`);
    }
  }

  /** CallStreamSink: the request side ended (internal). */
  onEnd(): void {
    if (this.finished) return;
    if (!this.decoder.idle) {
      this.fail(GrpcErrors.Protocol("request stream ended inside a message"));
    } else if (this.queue) {
      // A reset must not look like a completed request stream (a handler would commit a
      // cut-off upload), so the transport confirms the end first (see CallStream.confirmEnd).
      const queue = this.queue;
      this.stream.confirmEnd(() => {
        if (!this.finished) queue.end();
      });
    } else if (this.request === NO_REQUEST) {
      this.fail(GrpcErrors.Protocol(`no request message for ${this.method.kind} method ${this.method.path}`));
    } else {
      this.run();
    }
  }

  /** CallStreamSink: the stream is gone (internal). */
  onClose(): void {
    this.env.calls.delete(this);
    if (!this.finished) {
      this.finished = true;
      this.wasCancelled = true;
      this.clearTimer();
      const reason = GrpcErrors.Cancelled("the client cancelled the call");
      this.abort(reason);
      this.queue?.fail(reason);
    }
    this.releaseWriters();
  }

  // ---- running the handler ----

  private run(): void {
    if (this.env.interceptors.length > 0) {
      this.runIntercepted().catch((e: unknown) => {
        this.running = false;
        this.fail(e);
      });
      return;
    }
    this.invoke();
  }

  private async runIntercepted(): Promise<void> {
    this.running = true;
    for (const interceptor of this.env.interceptors) {
      await interceptor(this);
      if (this.finished) return;
    }
    this.invoke();
  }

  private invoke(): void {
    const { handler, method } = this.route;
    this.running = true;
    let result: unknown;
    try {
      switch (method.kind) {
        case "unary":
          result = handler(this.request, this);
          break;
        case "serverStream":
          result = handler(this.request, this, this);
          break;
        default: // clientStream, bidi
          result = handler(this, this);
      }
    } catch (e) {
      this.running = false;
      this.fail(e);
      return;
    }
    this.request = undefined;
    const streamingResponse = method.responseStream;
    if (result instanceof Promise || (result !== null && typeof (result as PromiseLike<unknown>)?.then === "function")) {
      (result as PromiseLike<unknown>).then(
        (value) => {
          this.running = false;
          if (streamingResponse) this.finishOk();
          else this.respondUnary(value);
        },
        (e: unknown) => {
          this.running = false;
          this.fail(e);
        },
      );
      return;
    }
    this.running = false;
    if (streamingResponse) this.finishOk();
    else this.respondUnary(result);
  }

  // ---- answering ----

  private frameResponse(message: unknown): Buffer {
    if (message instanceof PreEncoded && message.framed) return Buffer.from(message.bytes.buffer, message.bytes.byteOffset, message.bytes.byteLength);
    const body = message instanceof PreEncoded ? message.bytes : this.method.encodeResponse(message);
    if (body.length > this.env.maxSendBytes) {
      throw GrpcErrors.MessageTooLarge(
        `response of ${body.length} bytes is larger than the send limit of ${this.env.maxSendBytes} bytes`,
      );
    }
    return encodeFrame(body);
  }

  private sendHeaders(): void {
    const headers = this.extraHeaders ? { ...RESPONSE_HEADERS, ...this.extraHeaders } : RESPONSE_HEADERS;
    this.stream.respond(headers, false);
    this.responded = true;
  }

  private respondUnary(value: unknown): void {
    if (this.finished) return;
    let frame: Buffer;
    try {
      frame = this.frameResponse(value);
    } catch (e) {
      this.fail(e);
      return;
    }
    this.finished = true;
    this.clearTimer();
    const s = this.stream;
    if (s.destroyed) return;
    try {
      if (!this.responded) this.sendHeaders();
      s.end(frame, this.extraTrailers ? { ...OK_TRAILERS, ...this.extraTrailers } : OK_TRAILERS);
    } catch {
      // Reset between the check and the write: the client is gone.
    }
  }

  private finishOk(): void {
    if (this.finished) return;
    this.finished = true;
    this.clearTimer();
    const s = this.stream;
    if (s.destroyed) return;
    try {
      if (this.responded) {
        s.end(undefined, this.extraTrailers ? { ...OK_TRAILERS, ...this.extraTrailers } : OK_TRAILERS);
      } else {
        s.respond({ ...RESPONSE_HEADERS, ...this.extraHeaders, ...OK_TRAILERS, ...this.extraTrailers }, true);
        s.closeRequest();
      }
    } catch {
      // Reset between the check and the write.
    }
  }

  /**
   * Ends the call with an error status (see `errorTrailers`): trailers-only when no response
   * header was sent yet. Ignored once the call has ended.
   */
  fail(error: unknown): void {
    if (this.finished) return;
    this.finished = true;
    this.clearTimer();
    const trailers = errorTrailers(error, (e) =>
      this.env.logger.error("grpc handler failed", { method: this.method.path, error: e.message, stack: e.stack }),
    );
    // The handler is still at work (deadline, bad input frame, shutdown): tell it.
    if (this.running) this.abort(error);
    this.queue?.fail(error);
    const s = this.stream;
    if (s.destroyed) return;
    try {
      if (this.responded) {
        s.end(undefined, this.extraTrailers ? { ...this.extraTrailers, ...trailers } : trailers);
      } else {
        s.respond({ ...RESPONSE_HEADERS, ...this.extraHeaders, ...this.extraTrailers, ...trailers }, true);
        s.closeRequest();
      }
    } catch {
      // Reset between the check and the write.
    }
  }

  private abort(reason: unknown): void {
    if (this.abortReason !== undefined) return;
    this.abortReason = reason;
    try {
      this.controller?.abort(reason);
    } catch (e) {
      this.env.logger.warn("an abort listener threw", { method: this.method.path, error: (e as Error).message });
    }
  }

  private clearTimer(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  private releaseWriters(): void {
    const waiters = this.drainWaiters;
    if (waiters === null) return;
    this.drainWaiters = null;
    for (const w of waiters) w();
  }
}
