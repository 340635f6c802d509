/**
 * `startPlasmavmc`: one plasmavmc API server — state in chainfire (lib/etcd), REST with `/healthz`,
 * `/readyz`, `/metrics` and `/openapi.json` (lib/http-server), gRPC (lib/grpc), every call
 * authorised through iam, ports through novanet's API with the caller's token. Any number of
 * servers may share one chainfire (every write is a transaction compared on what it read) and
 * one image directory.
 */
import { startApiServers } from "../../lib/api/api-servers.ts";
import type { HttpServer, HttpTlsOptions } from "../../lib/http-server.ts";
import type { Logger } from "../../lib/log.ts";
import type { Metrics } from "../../lib/metrics.ts";
import { IamGuard } from "../iam/guard.ts";
import { addPlasmavmcGrpc, plasmavmcRestApp } from "./api/index.ts";
import { PlasmavmcService } from "./service.ts";
import { EtcdPlasmavmcStore } from "./store-etcd.ts";
import { startCreateSweeper } from "./sweeper.ts";
import type { QuotaKind } from "./types.ts";

/** Options of startPlasmavmc. */
export interface PlasmavmcServerOptions {
  etcdEndpoints: string[];
  /** iam's REST URL (the guard authenticates and authorises every call there). */
  iamUrl: string;
  host: string;
  httpPort: number;
  grpcPort: number;
  /** novanet's REST URL. */
  novanetUrl: string;
  /** The local image store directory. */
  imageDir: string;
  imageMaxBytes?: number;
  /** `[plasmavmc] image_import_allow`: where image imports may fetch from besides public addresses. */
  imageImportAllow?: readonly string[];
  defaultQuota?: Partial<Record<QuotaKind, number>>;
  /** How long a delete waits for the host agent (ms). */
  deleteWaitMs?: number;
  /** A create interrupted before its ports were recorded is cleaned up after this long (ms, default 120 000; sweeper.ts). */
  createSweepGraceMs?: number;
  /** How often this server sweeps (ms; default a quarter of the grace, 1–30 s). */
  createSweepIntervalMs?: number;
  /** How long iam's decisions are reused (ms, default 1000). */
  guardCacheMs?: number;
  /**
   * plasmavmc's service secret (its iam identity file): with it, calls are authorised in process
   * from iam's policy feed; without it, by asking iam per call (ADR 0014).
   */
  serviceSecret?: string;
  tls?: HttpTlsOptions;
  logger: Logger;
  metrics: Metrics;
}

/** A running server. */
export interface PlasmavmcServer {
  readonly http: HttpServer;
  /** gRPC `host:port`. */
  readonly grpcEndpoint: string;
  readonly service: PlasmavmcService;
  stop(): Promise<void>;
}

/**
 * Starts a server; resolves once both APIs listen.
 * @throws PHOTON:Unavailable when a port is taken.
 */
export async function startPlasmavmc(options: PlasmavmcServerOptions): Promise<PlasmavmcServer> {
  const { logger } = options;
  const store = new EtcdPlasmavmcStore({ endpoints: options.etcdEndpoints });
  const secret = options.serviceSecret;
  const guard = new IamGuard(options.iamUrl, {
    ...(options.guardCacheMs !== undefined ? { cacheMs: options.guardCacheMs } : {}),
    ...(secret ? { feed: { token: () => secret }, logger } : {}),
  });
  try {
    const service = new PlasmavmcService({
      store,
      guard,
      logger,
      novanetUrl: options.novanetUrl,
      imageDir: options.imageDir,
      ...(options.imageMaxBytes !== undefined ? { imageMaxBytes: options.imageMaxBytes } : {}),
      ...(options.imageImportAllow ? { imageImportAllow: options.imageImportAllow } : {}),
      ...(options.defaultQuota ? { defaultQuota: options.defaultQuota } : {}),
      ...(options.deleteWaitMs !== undefined ? { deleteWaitMs: options.deleteWaitMs } : {}),
    });
    const servers = await startApiServers({
      component: "plasmavmc",
      host: options.host,
      httpPort: options.httpPort,
      grpcPort: options.grpcPort,
      app: plasmavmcRestApp(service),
      addGrpc: (g) => addPlasmavmcGrpc(g, service),
      // Image uploads stream through this server: allow them up to the image size limit.
      maxRequestBodySize: (options.imageMaxBytes ?? 20 * 1024 ** 3) + (1 << 20),
      readiness: async () => {
        await store.etcd.get("/photon/plasmavmc/ready-probe", { timeoutMs: 1000 });
        return true;
      },
      ...(options.tls ? { tls: options.tls } : {}),
      metrics: options.metrics,
      logger,
    });
    const sweeper = startCreateSweeper(service, { graceMs: options.createSweepGraceMs ?? 120_000, ...(options.createSweepIntervalMs ? { intervalMs: options.createSweepIntervalMs } : {}) });
    let stopping: Promise<void> | undefined;
    return {
      http: servers.http,
      grpcEndpoint: servers.grpcEndpoint,
      service,
      stop: () =>
        (stopping ??= (async () => {
          await servers.stop();
          await sweeper.stop();
          await service.drain();
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
