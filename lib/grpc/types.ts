/**
 * The handler-side types of the gRPC server: the per-call context, the stream interfaces and
 * the four handler signatures, mapped from a service shape.
 */
import type { IncomingHttpHeaders } from "node:http2";
import type { PeerCertificate } from "node:tls";
import type { AnyService, KindOf, MethodDefinition, RequestOf, ResponseOf } from "./service.ts";

/** Header values a handler may add to the response (`-bin` names take a Buffer, sent base64). */
export type MetadataValue = string | Buffer;

/**
 * What a handler knows about its call. One object per call; cheap fields are plain, the rest
 * are computed on first access.
 */
export interface CallContext {
  /** The method being called. */
  readonly method: MethodDefinition;
  /**
   * The request headers (gRPC metadata): lowercase names, pseudo-headers (`:path`,
   * `:authority`) included, repeated headers joined with ", ", `-bin` values still base64
   * (decode them with `binaryMetadata`). A null-prototype object: treat as read-only.
   */
  readonly metadata: IncomingHttpHeaders;
  /** The client's address, `host:port` (`[v6]:port` for IPv6). */
  readonly peer: string;
  /** The call's deadline as a `Date.now()` timestamp, or undefined when the client set none. */
  readonly deadline: number | undefined;
  /**
   * Fires when the call ends before the handler answered: the client cancelled or reset the
   * stream (reason `GRPC:Cancelled`), the deadline passed (`GRPC:DeadlineExceeded`) or the
   * server was stopped (`PHOTON:ShuttingDown`). Never fires for a call that completed.
   */
  readonly signal: AbortSignal;
  /** True once the call ended without the handler's answer (see `signal`). */
  readonly cancelled: boolean;
  /** Adds a response header; effective only before the first response message is sent. */
  setHeader(name: string, value: MetadataValue): void;
  /** Adds a trailer sent with the final status (not with errors sent as trailers-only). */
  setTrailer(name: string, value: MetadataValue): void;
  /** The client's TLS certificate (mTLS), or undefined on plaintext or when none was sent. */
  peerCertificate(): PeerCertificate | undefined;
}

/** The response side of a streaming call. */
export interface ServerWriter<Res> {
  /**
   * Sends one message. The promise resolves when HTTP/2 flow control has room again (at once
   * when it has); `await` it to respect back-pressure. It never rejects: after the call ended
   * (client gone, deadline) writes are dropped and `closed` is true. Throws synchronously when
   * the message cannot be encoded or is larger than the send limit (`GRPC:MessageTooLarge`).
   */
  write(message: Res): Promise<void>;
  /** True once the call has ended (status sent or client gone): writes are dropped. */
  readonly closed: boolean;
}

/**
 * The request side of a streaming call: iterate it with `for await`. It ends when the client
 * half-closes, never on a reset: a client reset (or deadline, or bad frame, or message too
 * large) makes it throw the call's error (`GRPC:Cancelled`, ...), so a handler never mistakes
 * a cut-off request stream for a complete one. One consumer only; breaking out of the loop
 * discards the rest of the input (the call goes on).
 */
export type ServerReader<Req> = AsyncIterable<Req>;

/** Both sides of a bidirectional call. */
export interface ServerDuplex<Req, Res> extends ServerReader<Req>, ServerWriter<Res> {}

/** Answers one request with one response (return it or throw a PhotonError). */
export type UnaryHandler<Req, Res> = (request: Req, ctx: CallContext) => Res | Promise<Res>;
/** Answers one request with messages written to `stream`; the call ends when it returns. */
export type ServerStreamHandler<Req, Res> = (request: Req, stream: ServerWriter<Res>, ctx: CallContext) => void | Promise<void>;
/** Reads a stream of requests and returns one response. */
export type ClientStreamHandler<Req, Res> = (requests: ServerReader<Req>, ctx: CallContext) => Res | Promise<Res>;
/** Reads and writes `stream`; the call ends (status OK) when it returns. */
export type BidiHandler<Req, Res> = (stream: ServerDuplex<Req, Res>, ctx: CallContext) => void | Promise<void>;

/** The handler type of one method shape. */
export type HandlerOf<M> = KindOf<M> extends infer K
  ? K extends "unary"
    ? UnaryHandler<RequestOf<M>, ResponseOf<M>>
    : K extends "serverStream"
      ? ServerStreamHandler<RequestOf<M>, ResponseOf<M>>
      : K extends "clientStream"
        ? ClientStreamHandler<RequestOf<M>, ResponseOf<M>>
        : K extends "bidi"
          ? BidiHandler<RequestOf<M>, ResponseOf<M>>
          : never
  : never;

/** Handlers for a service; a method without one answers UNIMPLEMENTED. */
export type ServiceHandlers<S = AnyService> = { [K in keyof S]?: HandlerOf<S[K]> };

/**
 * Runs before every handler; throw (a PhotonError) to refuse the call, e.g. to authenticate.
 * Async interceptors delay the handler; cost is nothing when none is registered.
 */
export type Interceptor = (ctx: CallContext) => void | Promise<void>;

/** Decodes a `-bin` metadata value (base64, padded or not; repeated values joined by ","). */
export function binaryMetadata(metadata: IncomingHttpHeaders, name: string): Buffer[] {
  const v = metadata[name];
  if (v === undefined) return [];
  const parts = (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(","));
  return parts.map((s) => Buffer.from(s.trim(), "base64"));
}
