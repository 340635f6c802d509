/**
 * `startApiServers`: the two listeners of a service's API — REST (lib/http-server, with
 * `/healthz`, `/readyz`, `/metrics`) and gRPC (lib/grpc) — started together with the same TLS
 * files, stopped together, and nothing left listening when either fails to start.
 */
import { readFileSync } from "node:fs";
import type { Hono } from "hono";
import { GrpcServer, type GrpcTlsOptions } from "../grpc/index.ts";
import { startHttpServer, type HttpEnv, type HttpServer, type HttpTlsOptions } from "../http-server.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";

/** Options of startApiServers. */
export interface ApiServersOptions {
  /** Component name, for logs. */
  component: string;
  host: string;
  httpPort: number;
  grpcPort: number;
  /** The REST app (lib/api's restApp). */
  app: Hono<HttpEnv>;
  /** Registers the gRPC service(s) on the server (lib/api's addGrpcOperations). */
  addGrpc: (server: GrpcServer) => void;
  tls?: HttpTlsOptions;
  /** Whether the service can take traffic (`/readyz`). */
  readiness?: () => boolean | Promise<boolean>;
  /** Largest REST request body (uploads); Bun's default otherwise. */
  maxRequestBodySize?: number;
  metrics: Metrics;
  logger: Logger;
}

/** The running listeners. */
export interface ApiServers {
  readonly http: HttpServer;
  readonly grpc: GrpcServer;
  /** gRPC `host:port` (loopback when bound to a wildcard address). */
  readonly grpcEndpoint: string;
  /** Stops both, draining in-flight calls up to `drainMs`. */
  stop(drainMs?: number): Promise<void>;
}

/** gRPC's TLS options from the `[tls]` files (mTLS when client certificates are required). */
export function grpcTlsOf(tls: HttpTlsOptions): GrpcTlsOptions {
  return {
    cert: readFileSync(tls.certFile),
    key: readFileSync(tls.keyFile),
    ...(tls.caFile ? { ca: readFileSync(tls.caFile) } : {}),
    ...(tls.requireClientCert ? { requestCert: true, rejectUnauthorized: true } : {}),
  };
}

/**
 * Starts both listeners; resolves once both listen.
 * @throws PHOTON:Unavailable when a port is taken (whatever started is stopped first).
 */
export async function startApiServers(o: ApiServersOptions): Promise<ApiServers> {
  let http: HttpServer | undefined;
  let grpc: GrpcServer | undefined;
  try {
    http = startHttpServer({
      component: o.component,
      host: o.host,
      port: o.httpPort,
      app: o.app,
      metrics: o.metrics,
      logger: o.logger,
      shutdown: null,
      ...(o.readiness ? { readiness: o.readiness } : {}),
      ...(o.maxRequestBodySize !== undefined ? { maxRequestBodySize: o.maxRequestBodySize } : {}),
      ...(o.tls ? { tls: o.tls } : {}),
    });
    grpc = new GrpcServer({ logger: o.logger, ...(o.tls ? { tls: grpcTlsOf(o.tls) } : {}) });
    o.addGrpc(grpc);
    const grpcPort = await grpc.listen(o.grpcPort, o.host);
    const grpcHost = o.host === "0.0.0.0" ? "127.0.0.1" : o.host === "::" ? "[::1]" : o.host;
    const [h, g] = [http, grpc];
    return {
      http: h,
      grpc: g,
      grpcEndpoint: `${grpcHost}:${grpcPort}`,
      stop: async (drainMs = 5_000) => {
        await Promise.all([h.stop(drainMs), g.stop(drainMs)]);
      },
    };
  } catch (e) {
    await http?.stop(1_000);
    await grpc?.stop(1_000);
    throw e;
  }
}
