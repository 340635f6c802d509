/**
 * The raw-socket HTTP/2 transport of GrpcServer: Bun.listen (TCP, or TLS with ALPN "h2"), one
 * H2Connection per socket. See h2-connection.ts for the protocol and
 * docs/adr/0017-grpc-h2-transport.md for why it exists.
 */
import type { Settings } from "node:http2";
import type { Socket, TCPSocketListener } from "bun";
import { CommonErrors } from "../../errors.ts";
import type { GrpcTlsOptions } from "../server.ts";
import type { ServerTransport, TransportOptions } from "../server-transport.ts";
import { DEFAULT_FRAME_SIZE, MAX_FRAME_SIZE_LIMIT, MAX_WINDOW } from "./constants.ts";
import { H2Connection, type H2ConnectionOptions } from "./h2-connection.ts";

type ConnSocket = Socket<H2Connection | undefined>;

/** Defaults of the limits a client sees in our SETTINGS. */
export const H2_DEFAULTS = {
  maxConcurrentStreams: 4096,
  initialWindowSize: 1 << 20,
  connectionWindow: 16 << 20,
  maxFrameSize: DEFAULT_FRAME_SIZE,
  maxHeaderListSize: 64 << 10,
} as const;

// ALPN protocol list in wire form (length-prefixed names): only h2.
const ALPN_H2 = Buffer.from([2, 0x68, 0x32]);

/** See the module comment. */
export class H2Transport implements ServerTransport {
  private listener: TCPSocketListener<H2Connection | undefined> | null = null;
  private readonly conns = new Set<H2Connection>();
  private readonly connOptions: H2ConnectionOptions;
  private draining = false;
  private allClosed: (() => void) | null = null;

  constructor(
    private readonly opts: TransportOptions,
    private readonly tls: GrpcTlsOptions | undefined,
    settings: Settings | undefined,
  ) {
    const int = (v: number | undefined, min: number, max: number, dflt: number, name: string): number => {
      if (v === undefined) return dflt;
      if (!Number.isInteger(v) || v < min || v > max) throw CommonErrors.InvalidArgument(`http2Settings.${name} must be an integer in [${min}, ${max}], got ${v}`);
      return v;
    };
    this.connOptions = {
      maxConcurrentStreams: int(settings?.maxConcurrentStreams, 1, 0xffffffff, H2_DEFAULTS.maxConcurrentStreams, "maxConcurrentStreams"),
      initialWindowSize: int(settings?.initialWindowSize, 1, MAX_WINDOW, H2_DEFAULTS.initialWindowSize, "initialWindowSize"),
      connectionWindow: H2_DEFAULTS.connectionWindow,
      maxFrameSize: int(settings?.maxFrameSize, DEFAULT_FRAME_SIZE, MAX_FRAME_SIZE_LIMIT, H2_DEFAULTS.maxFrameSize, "maxFrameSize"),
      maxHeaderListSize: int(settings?.maxHeaderListSize, 1024, 0xffffffff, H2_DEFAULTS.maxHeaderListSize, "maxHeaderListSize"),
      onStream: opts.onStream,
      logger: opts.logger,
    };
  }

  async listen(port: number, host: string): Promise<number> {
    const logger = this.opts.logger;
    const tls = this.tls
      ? {
          cert: this.tls.cert,
          key: this.tls.key,
          ...(this.tls.ca !== undefined ? { ca: this.tls.ca } : {}),
          requestCert: this.tls.requestCert ?? false,
          rejectUnauthorized: this.tls.rejectUnauthorized ?? true,
          ALPNProtocols: ALPN_H2,
        }
      : undefined;
    this.listener = Bun.listen<H2Connection | undefined>({
      hostname: host,
      port,
      data: undefined,
      ...(tls ? { tls } : {}),
      socket: {
        open: (socket: ConnSocket) => {
          socket.setNoDelay(true);
          const conn = new H2Connection(socket, this.connOptions, (c) => this.forget(c));
          socket.data = conn;
          this.conns.add(conn);
          if (this.draining) conn.goaway();
        },
        data: (socket: ConnSocket, chunk: Buffer) => socket.data?.onData(chunk),
        drain: (socket: ConnSocket) => socket.data?.onDrain(),
        close: (socket: ConnSocket) => socket.data?.onSocketClose(),
        error: (socket: ConnSocket, e: Error) => logger.debug("http2 socket error", { peer: socket.data?.peer, error: e.message }),
      },
    });
    return this.listener.port;
  }

  /** Resolves once the listener is stopped and every connection has closed. */
  shutdown(): Promise<void> {
    this.draining = true;
    this.listener?.stop(false);
    for (const c of this.conns) c.goaway();
    if (this.conns.size === 0) return Promise.resolve();
    return new Promise((resolve) => (this.allClosed = resolve));
  }

  private forget(conn: H2Connection): void {
    this.conns.delete(conn);
    if (this.conns.size === 0 && this.allClosed) {
      this.allClosed();
      this.allClosed = null;
    }
  }

  destroy(): void {
    // Each connection closes when its client does, or is cut off after a second.
    for (const c of [...this.conns]) c.destroy();
  }
}
