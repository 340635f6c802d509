/**
 * CallStream over a node:http2 server stream (the original transport of GrpcServer). It keeps
 * the workarounds for Bun's node:http2: respond() throws on a reset stream, a reset request is
 * reported as 'end' before 'aborted' (see confirmEnd), and trailers go out on 'wantTrailers'.
 */
import http2, { type OutgoingHttpHeaders, type ServerHttp2Stream } from "node:http2";
import type { PeerCertificate, TLSSocket } from "node:tls";
import type { CallStream, CallStreamSink } from "./call-stream.ts";
import { cancelledTrailers } from "./server-trailers.ts";

const RESPOND_WITH_TRAILERS = { waitForTrailers: true, sendDate: false } as const;
const RESPOND_END_STREAM = { endStream: true, sendDate: false } as const;
const noop = () => {};

/** See the module comment. */
export class NodeCallStream implements CallStream {
  private inputEnded = false;
  private pendingTrailers: OutgoingHttpHeaders | null = null;

  constructor(private readonly stream: ServerHttp2Stream) {
    // Streams reset with an error code emit 'error'; 'close' follows and does the work.
    stream.on("error", noop);
  }

  get destroyed(): boolean {
    return this.stream.destroyed;
  }

  get peer(): string {
    const socket = this.stream.session?.socket;
    const host = socket?.remoteAddress ?? "unknown";
    const port = socket?.remotePort ?? 0;
    return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  }

  peerCertificate(): PeerCertificate | undefined {
    const socket = this.stream.session?.socket as TLSSocket | undefined;
    const cert = typeof socket?.getPeerCertificate === "function" ? socket.getPeerCertificate() : undefined;
    return cert && Object.keys(cert).length > 0 ? cert : undefined;
  }

  attach(sink: CallStreamSink): void {
    const s = this.stream;
    s.on("data", (chunk: Buffer) => sink.onData(chunk));
    s.on("end", () => {
      this.inputEnded = true;
      sink.onEnd();
    });
    s.on("close", () => sink.onClose());
  }

  pause(): void {
    this.stream.pause();
  }

  resume(): void {
    this.stream.resume();
  }

  confirmEnd(then: () => void): void {
    // Bun emits 'end' for a stream the client reset, before 'aborted' and before rstCode is
    // set; both are known one macrotask later ('close' then does the work).
    setImmediate(() => {
      if (!this.stream.rstCode) then();
    });
  }

  respond(headers: OutgoingHttpHeaders, endStream: boolean): void {
    if (endStream) {
      this.stream.respond(headers, RESPOND_END_STREAM);
      return;
    }
    this.stream.respond(headers, RESPOND_WITH_TRAILERS);
    this.stream.on("wantTrailers", () => {
      try {
        this.stream.sendTrailers(this.pendingTrailers ?? cancelledTrailers());
      } catch {
        // The stream was reset between end() and now; nothing is listening.
      }
      this.closeRequest();
    });
  }

  write(data: Buffer): boolean {
    return this.stream.write(data);
  }

  onceDrain(cb: () => void): void {
    this.stream.once("drain", cb);
  }

  end(data: Buffer | undefined, trailers: OutgoingHttpHeaders): void {
    this.pendingTrailers = trailers;
    if (data) this.stream.end(data);
    else this.stream.end();
  }

  closeRequest(): void {
    if (this.inputEnded || this.stream.destroyed) return;
    try {
      this.stream.close(http2.constants.NGHTTP2_NO_ERROR);
    } catch {
      // already closing
    }
  }
}
