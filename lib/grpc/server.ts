/**
 * The gRPC server every PhotonCloud service uses (the @grpc/grpc-js server costs ~25% more CPU
 * per call on Bun than lib/grpc on node:http2, and node:http2 ~3x more than our own transport).
 * It runs on an HTTP/2 transport of its own (h2/, on Bun's raw sockets; the default) or on
 * node:http2 (see docs/adr/0017-grpc-h2-transport.md). It speaks the gRPC over HTTP/2 wire
 * protocol exactly, so that standard clients (grpc-go's etcdctl, grpc-js, h2load) work:
 * length-prefixed messages, `grpc-status`/`grpc-message` trailers, trailers-only errors,
 * `grpc-timeout` deadlines, gzip/deflate request decompression, receive/send size limits.
 *
 * A PhotonError thrown by a handler is sent with its gRPC status and message, plus its code in
 * the `photon-error-code` trailer (and its details, as JSON, in `photon-error-details`) so our
 * client rebuilds the same error; anything else is logged and sent as INTERNAL "internal error".
 */
import type http2 from "node:http2";
import type { IncomingHttpHeaders } from "node:http2";
import { CommonErrors, type PhotonError } from "../errors.ts";
import { createLogger, type Logger } from "../log.ts";
import { ACCEPT_ENCODING, DEFAULT_MAX_MESSAGE_BYTES, isSupportedEncoding } from "./frame.ts";
import type { CallStream } from "./call-stream.ts";
import { H2Transport } from "./h2/h2-transport.ts";
import { NodeTransport } from "./node-transport.ts";
import { ServerCall, type CallEnv, type Route } from "./server-call.ts";
import type { ServerTransport } from "./server-transport.ts";
import type { AnyService, ServiceDefinition, ServiceShape } from "./service.ts";
import { GrpcErrors } from "./errors.ts";
import { errorTrailers } from "./server-trailers.ts";
import { parseGrpcTimeout } from "./status.ts";
import type { Interceptor, ServiceHandlers } from "./types.ts";

/** Certificates for TLS; with `ca` + `requestCert` + `rejectUnauthorized` it is mTLS. */
export interface GrpcTlsOptions {
  /** PEM certificate chain of the server. */
  cert: string | Buffer;
  /** PEM private key of the server. */
  key: string | Buffer;
  /** PEM CA certificate(s) that client certificates must chain to. */
  ca?: string | Buffer | (string | Buffer)[];
  /** Ask clients for a certificate. Default false. */
  requestCert?: boolean;
  /** Refuse clients whose certificate does not verify against `ca` (when `requestCert`). Default true. */
  rejectUnauthorized?: boolean;
}

/** Options of a GrpcServer. */
export interface GrpcServerOptions {
  /** Largest request message accepted, after decompression; larger gets RESOURCE_EXHAUSTED. Default 16 MiB. */
  maxReceiveMessageBytes?: number;
  /** Largest response message sent; a larger one fails the call with RESOURCE_EXHAUSTED. Default 16 MiB. */
  maxSendMessageBytes?: number;
  /** Serve TLS (h2 over TLS, ALPN "h2") instead of plaintext h2c. */
  tls?: GrpcTlsOptions;
  /**
   * HTTP/2 settings advertised to clients. The h2 transport honours `maxConcurrentStreams`
   * (default 4096), `initialWindowSize` (default 1 MiB), `maxFrameSize` and
   * `maxHeaderListSize` (default 64 KiB) and ignores the rest.
   */
  http2Settings?: http2.Settings;
  /** Where transport events and handler crashes are logged. Default `createLogger("grpc")`. */
  logger?: Logger;
  /**
   * The HTTP/2 implementation: "h2" (lib/grpc/h2, raw sockets, no per-stream Node streams) or
   * "node" (node:http2). Default: the PHOTON_GRPC_TRANSPORT environment variable, else
   * DEFAULT_TRANSPORT.
   */
  transport?: GrpcTransportName;
}

/** The HTTP/2 implementations GrpcServer can run on (see GrpcServerOptions.transport). */
export type GrpcTransportName = "node" | "h2";

/** The transport used when neither the option nor PHOTON_GRPC_TRANSPORT picks one. */
export const DEFAULT_TRANSPORT: GrpcTransportName = "h2";

function pickTransport(option: GrpcTransportName | undefined): GrpcTransportName {
  const v = option ?? process.env.PHOTON_GRPC_TRANSPORT ?? DEFAULT_TRANSPORT;
  if (v !== "node" && v !== "h2") throw CommonErrors.InvalidArgument(`unknown gRPC transport ${JSON.stringify(v)} (node or h2)`);
  return v;
}


const noop = () => {};

/**
 * A gRPC server. Register services, `listen`, and `stop` to drain.
 * @example
 * const server = new GrpcServer();
 * server.addService(loadService<Echo>("echo.proto", "test.Echo"), {
 *   Say: async (req, ctx) => ({ message: req.message }),
 *   Chat: async (stream, ctx) => { for await (const m of stream) await stream.write(m); },
 * });
 * const port = await server.listen(0, "127.0.0.1");
 * // ...
 * await server.stop(5000);
 */
export class GrpcServer {
  private readonly routes = new Map<string, Route>();
  private readonly interceptors: Interceptor[] = [];
  private readonly calls = new Set<ServerCall>();
  private readonly env: CallEnv;
  private readonly transport: ServerTransport;
  /** The HTTP/2 implementation this server runs on. */
  readonly transportName: GrpcTransportName;
  private readonly logger: Logger;
  private draining = false;
  private stopped: Promise<void> | null = null;
  private boundPort = 0;

  constructor(options: GrpcServerOptions = {}) {
    const maxReceiveBytes = options.maxReceiveMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    const maxSendBytes = options.maxSendMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    for (const [name, v] of [["maxReceiveMessageBytes", maxReceiveBytes], ["maxSendMessageBytes", maxSendBytes]] as const) {
      if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff) {
        throw CommonErrors.InvalidArgument(`${name} must be an integer between 0 and 2^31-1, got ${v}`);
      }
    }
    this.logger = options.logger ?? createLogger("grpc");
    this.env = { maxReceiveBytes, maxSendBytes, logger: this.logger, interceptors: this.interceptors, calls: this.calls };
    this.transportName = pickTransport(options.transport);
    const onStream = (stream: CallStream, headers: IncomingHttpHeaders) => this.onStream(stream, headers);
    this.transport =
      this.transportName === "h2"
        ? new H2Transport({ onStream, logger: this.logger }, options.tls, options.http2Settings)
        : new NodeTransport({ onStream, logger: this.logger }, options.tls, options.http2Settings);
  }

  /**
   * Registers a service's handlers. Methods without a handler answer UNIMPLEMENTED. Throws
   * PHOTON:InvalidArgument for a handler name the service does not have, a non-function
   * handler, or a service registered twice.
   */
  addService<S extends ServiceShape<S> = AnyService>(service: ServiceDefinition<S>, handlers: ServiceHandlers<S>): this {
    const methods = service.methods as Record<string, ServiceDefinition["methods"][string]>;
    for (const name of Object.keys(handlers)) {
      if (!(name in methods)) {
        throw CommonErrors.InvalidArgument(`${service.name} has no method ${name} (has: ${Object.keys(methods).join(", ")})`);
      }
    }
    for (const [name, method] of Object.entries(methods)) {
      if (this.routes.has(method.path)) throw CommonErrors.InvalidArgument(`${method.path} is already registered`);
      const handler = (handlers as Record<string, unknown>)[name];
      if (handler === undefined) continue;
      if (typeof handler !== "function") throw CommonErrors.InvalidArgument(`the handler of ${method.path} is not a function`);
      this.routes.set(method.path, { method, handler: handler as Route["handler"] });
    }
    return this;
  }

  /** Adds an interceptor run before every handler, in registration order (see `Interceptor`). */
  use(interceptor: Interceptor): this {
    this.interceptors.push(interceptor);
    return this;
  }

  /**
   * Starts listening; resolves with the bound port (useful with port 0). Rejects when the
   * address cannot be bound. The default host is loopback: pass "0.0.0.0" or "::" explicitly.
   */
  async listen(port = 0, host = "127.0.0.1"): Promise<number> {
    this.boundPort = await this.transport.listen(port, host);
    return this.boundPort;
  }

  /** The bound port (0 before `listen` resolved). */
  get port(): number {
    return this.boundPort;
  }

  /** Calls in flight right now. */
  get activeCalls(): number {
    return this.calls.size;
  }

  /**
   * Stops gracefully: stops accepting connections, sends GOAWAY on every session so clients
   * open no new streams (new calls that still arrive get UNAVAILABLE), lets in-flight calls
   * finish for up to `drainMs`, then ends the rest with UNAVAILABLE (`PHOTON:ShuttingDown`,
   * their signals fire) and closes every session. Idempotent: later calls return the same
   * promise.
   */
  stop(drainMs = 5000): Promise<void> {
    this.stopped ??= this.drainAndClose(drainMs);
    return this.stopped;
  }

  private async drainAndClose(drainMs: number): Promise<void> {
    this.draining = true;
    const listenerClosed = this.transport.shutdown();
    const until = Date.now() + Math.max(0, drainMs);
    while (this.calls.size > 0 && Date.now() < until) await sleep(Math.min(10, until - Date.now()));
    if (this.calls.size > 0) {
      for (const call of [...this.calls]) call.fail(CommonErrors.ShuttingDown("the server is shutting down"));
      // Give the status frames a moment to leave before the sockets go.
      await sleep(20);
    }
    this.transport.destroy();
    await Promise.race([listenerClosed, sleep(1000)]);
  }

  private onStream(stream: CallStream, headers: IncomingHttpHeaders): void {
    const contentType = headers["content-type"];
    if (
      typeof contentType !== "string" ||
      !(contentType === "application/grpc" || contentType.startsWith("application/grpc+") || contentType.startsWith("application/grpc;"))
    ) {
      return rejectHttp(stream, 415);
    }
    if (headers[":method"] !== "POST") return rejectHttp(stream, 405);
    if (contentType !== "application/grpc" && !/^application\/grpc(\+proto)?(;|$)/.test(contentType)) {
      return rejectGrpc(stream, GrpcErrors.UnsupportedContentType(`content-type ${contentType} is not supported (only protobuf)`));
    }
    const route = this.routes.get(headers[":path"] as string);
    if (route === undefined) {
      return rejectGrpc(stream, CommonErrors.Unimplemented(`unknown method ${String(headers[":path"])}`));
    }
    if (this.draining) {
      return rejectGrpc(stream, CommonErrors.ShuttingDown("the server is shutting down"));
    }
    const encoding = headers["grpc-encoding"] as string | undefined;
    if (encoding !== undefined && !isSupportedEncoding(encoding)) {
      return rejectGrpc(stream, GrpcErrors.UnsupportedEncoding(`grpc-encoding ${encoding} is not supported`));
    }
    let timeoutMs: number | undefined;
    const timeout = headers["grpc-timeout"];
    if (timeout !== undefined) {
      timeoutMs = parseGrpcTimeout(timeout as string);
      if (timeoutMs === undefined) return rejectGrpc(stream, GrpcErrors.Protocol(`malformed grpc-timeout ${String(timeout)}`));
    }
    new ServerCall(stream, headers, route, this.env, timeoutMs, encoding === "identity" ? undefined : encoding).start();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function rejectHttp(stream: CallStream, status: number): void {
  try {
    stream.respond({ ":status": status }, true);
  } catch {
    // reset meanwhile
  }
  stream.resume();
}

function rejectGrpc(stream: CallStream, error: PhotonError): void {
  try {
    stream.respond(
      {
        ":status": 200,
        "content-type": "application/grpc",
        "grpc-accept-encoding": ACCEPT_ENCODING,
        ...errorTrailers(error, noop),
      },
      true,
    );
  } catch {
    // reset meanwhile
  }
  stream.resume();
}
