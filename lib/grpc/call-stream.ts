/**
 * The one HTTP/2 stream a server call talks to, whatever transport carries it: node:http2
 * (node-call-stream.ts) or the gRPC-specialised transport on raw sockets (h2/). ServerCall
 * holds every gRPC rule; an implementation only moves headers and bytes.
 *
 * Contract for implementations:
 * - the sink's `onData`/`onEnd` report the request body and its END_STREAM; `onClose` fires
 *   exactly once when the stream is gone for good (both sides done, reset, or connection lost);
 * - every sending method may throw if the stream died meanwhile (the caller catches);
 * - after `end` or `respond(..., true)` nothing more is sent on the stream.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http2";
import type { PeerCertificate } from "node:tls";

/** What a stream reports to its call. */
export interface CallStreamSink {
  /** A chunk of the request body (gRPC length-prefixed frames, cut anywhere). */
  onData(chunk: Buffer): void;
  /** The client ended its request side (END_STREAM). See `CallStream.confirmEnd`. */
  onEnd(): void;
  /** The stream is closed (normally, by a reset, or with its connection). Fires once. */
  onClose(): void;
}

/** See the module comment. */
export interface CallStream {
  /** True once nothing can be sent any more (reset, closed, connection gone). */
  readonly destroyed: boolean;
  /** "host:port" of the client ("[v6]:port" for IPv6). */
  readonly peer: string;
  /** The client's TLS certificate, when it sent one. */
  peerCertificate(): PeerCertificate | undefined;
  /** Starts delivering events to `sink`. Called once. */
  attach(sink: CallStreamSink): void;
  /** Stops (and `resume` restarts) reading the request: HTTP/2 flow control pushes back. */
  pause(): void;
  resume(): void;
  /**
   * Runs `then` once it is sure an `onEnd` was a real END_STREAM and not a reset in disguise
   * (Bun's node:http2 reports a reset as 'end' first); if it was a reset, `onClose` fires instead.
   */
  confirmEnd(then: () => void): void;
  /** Sends response headers; with `endStream` they are the whole response (trailers-only). */
  respond(headers: OutgoingHttpHeaders, endStream: boolean): void;
  /** Sends response body bytes; false means "wait for `onceDrain` before sending more". */
  write(data: Buffer): boolean;
  /** Calls `cb` once the stream can take more data (or is gone). */
  onceDrain(cb: () => void): void;
  /**
   * Sends `data` (if any) and then `trailers`, ending the response; afterwards a request side
   * the client has not ended is reset with NO_ERROR (RFC 9113 8.1).
   */
  end(data: Buffer | undefined, trailers: OutgoingHttpHeaders): void;
  /** Resets a request side the client has not ended yet with NO_ERROR (after a full response). */
  closeRequest(): void;
}

/** The request headers of a new stream and the stream; what a transport hands the server. */
export type StreamHandler = (stream: CallStream, headers: IncomingHttpHeaders) => void;
