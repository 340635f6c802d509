/**
 * `startNovanet`: one novanet API server — state in chainfire (lib/etcd), REST with `/healthz`,
 * `/readyz`, `/metrics` and `/openapi.json` (lib/http-server), gRPC (lib/grpc), every call
 * authorised through iam. Any number of servers may share one chainfire: every write is a
 * transaction compared on what it read.
 */
import { startApiServers } from "../../lib/api/api-servers.ts";
import type { HttpServer, HttpTlsOptions } from "../../lib/http-server.ts";
import type { Logger } from "../../lib/log.ts";
import type { Metrics } from "../../lib/metrics.ts";
import { IamGuard } from "../iam/guard.ts";
import { addNovanetGrpc, novanetRestApp } from "./api/index.ts";
import { NovanetService, type ExternalNetworkConfig } from "./service.ts";
import { EtcdNovanetStore } from "./store-etcd.ts";
import type { QuotaKind } from "./types.ts";

/** Options of startNovanet. */
export interface NovanetServerOptions {
  etcdEndpoints: string[];
  /** iam's REST URL (the guard authenticates and authorises every call there). */
  iamUrl: string;
  host: string;
  httpPort: number;
  grpcPort: number;
  vniMin?: number;
  vniMax?: number;
  defaultQuota?: Partial<Record<QuotaKind, number>>;
  external?: ExternalNetworkConfig;
  /** How long iam's decisions are reused (ms, default 1000). */
  guardCacheMs?: number;
  /**
   * novanet's service secret (its iam identity file): with it, calls are authorised in process
   * from iam's policy feed; without it, by asking iam per call (ADR 0014).
   */
  serviceSecret?: string;
  tls?: HttpTlsOptions;
  logger: Logger;
  metrics: Metrics;
}

/** A running server. */
export interface NovanetServer {
  readonly http: HttpServer;
  /** gRPC `host:port`. */
  readonly grpcEndpoint: string;
  readonly service: NovanetService;
  stop(): Promise<void>;
}

/**
 * Starts a server; resolves once both APIs listen.
 * @throws PHOTON:Unavailable when a port is taken; NOVANET:InvalidArgument for a bad VNI range.
 */
export async function startNovanet(options: NovanetServerOptions): Promise<NovanetServer> {
  const { logger } = options;
  const store = new EtcdNovanetStore({ endpoints: options.etcdEndpoints });
  const secret = options.serviceSecret;
  const guard = new IamGuard(options.iamUrl, {
    ...(options.guardCacheMs !== undefined ? { cacheMs: options.guardCacheMs } : {}),
    ...(secret ? { feed: { token: () => secret }, logger } : {}),
  });
  try {
    const service = new NovanetService({
      store,
      guard,
      logger,
      ...(options.vniMin !== undefined ? { vniMin: options.vniMin } : {}),
      ...(options.vniMax !== undefined ? { vniMax: options.vniMax } : {}),
      ...(options.defaultQuota ? { defaultQuota: options.defaultQuota } : {}),
      ...(options.external ? { external: options.external } : {}),
    });
    const servers = await startApiServers({
      component: "novanet",
      host: options.host,
      httpPort: options.httpPort,
      grpcPort: options.grpcPort,
      app: novanetRestApp(service),
      addGrpc: (g) => addNovanetGrpc(g, service),
      readiness: async () => {
        await store.etcd.get("/photon/novanet/ready-probe", { timeoutMs: 1000 });
        return true;
      },
      ...(options.tls ? { tls: options.tls } : {}),
      metrics: options.metrics,
      logger,
    });
    let stopping: Promise<void> | undefined;
    return {
      http: servers.http,
      grpcEndpoint: servers.grpcEndpoint,
      service,
      stop: () =>
        (stopping ??= (async () => {
          await servers.stop();
          guard.close();
          store.close();
        })()),
    };
  } catch (e) {
    guard.close();
    store.close();
    throw e;
  }
}
