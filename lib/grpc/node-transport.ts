/**
 * The node:http2 transport of GrpcServer (Bun's node:http2 compatibility layer): one Node
 * Duplex per stream, which costs most of the CPU of a small unary call on Bun (see
 * docs/adr/0017-grpc-h2-transport.md). Kept as the reference implementation and fallback.
 */
import http2, { type Http2Session, type IncomingHttpHeaders, type ServerHttp2Stream } from "node:http2";
import type { GrpcTlsOptions } from "./server.ts";
import { NodeCallStream } from "./node-call-stream.ts";
import type { ServerTransport, TransportOptions } from "./server-transport.ts";

/** See the module comment. */
export class NodeTransport implements ServerTransport {
  private readonly http: http2.Http2Server | http2.Http2SecureServer;
  private readonly sessions = new Set<Http2Session>();
  private draining = false;

  constructor(opts: TransportOptions, tls: GrpcTlsOptions | undefined, settings: http2.Settings | undefined) {
    const { logger } = opts;
    if (tls) {
      const { cert, key, ca, requestCert = false, rejectUnauthorized = true } = tls;
      this.http = http2.createSecureServer({
        cert,
        key,
        ...(ca !== undefined ? { ca } : {}),
        requestCert,
        rejectUnauthorized,
        allowHTTP1: false,
        ALPNProtocols: ["h2"],
        ...(settings ? { settings } : {}),
      });
      this.http.on("tlsClientError", (e: Error) => logger.debug("tls handshake failed", { error: e.message }));
    } else {
      this.http = http2.createServer(settings ? { settings } : {});
    }
    this.http.on("stream", (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => opts.onStream(new NodeCallStream(stream), headers));
    this.http.on("session", (session: Http2Session) => {
      this.sessions.add(session);
      session.on("close", () => this.sessions.delete(session));
      session.on("error", (e: Error) => logger.debug("http2 session error", { error: e.message }));
      if (this.draining) closeSession(session);
    });
    this.http.on("sessionError", (e: Error) => logger.debug("http2 session error", { error: e.message }));
    this.http.on("error", (e: Error) => logger.error("grpc server error", { error: e.message }));
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      this.http.once("error", onError);
      this.http.listen(port, host, () => {
        this.http.off("error", onError);
        const addr = this.http.address();
        resolve(addr && typeof addr === "object" ? addr.port : port);
      });
    });
  }

  shutdown(): Promise<void> {
    this.draining = true;
    const closed = new Promise<void>((resolve) => {
      try {
        this.http.close(() => resolve());
      } catch {
        resolve(); // never listened
      }
    });
    for (const session of this.sessions) closeSession(session);
    return closed;
  }

  destroy(): void {
    for (const session of this.sessions) {
      if (!session.destroyed) session.destroy();
    }
    this.sessions.clear();
  }
}

function closeSession(session: Http2Session): void {
  try {
    if (!session.closed && !session.destroyed) session.close();
  } catch {
    // already closing
  }
}
