/**
 * A running chainfire node: the etcd v3 gRPC API (KV, Watch, Lease, Cluster, Maintenance) on
 * one port and /healthz, /readyz, /metrics on another.
 */
import { readFileSync } from "node:fs";
import { GrpcServer } from "../../lib/grpc/index.ts";
import { startHttpServer, type HttpServer } from "../../lib/http-server.ts";
import type { Logger } from "../../lib/log.ts";
import type { Metrics } from "../../lib/metrics.ts";
import { clusterHandlers } from "./api/cluster.ts";
import { clusterService, kvService, leaseService, maintenanceService, watchService } from "./api/definitions.ts";
import { kvHandlers } from "./api/kv.ts";
import { leaseHandlers } from "./api/lease.ts";
import { maintenanceHandlers } from "./api/maintenance.ts";
import { watchHandlers } from "./api/watch.ts";
import { forwardHandlers } from "./api/forward.ts";
import { forwardService } from "./api/definitions.ts";
import { joinCluster } from "./cluster/join.ts";
import { ChainfireService, raftTransportTls } from "./service.ts";

/** TLS files of the client listener; `caFile` + `requireClientCert` for mTLS. */
export interface ChainfireTls {
  certFile: string;
  keyFile: string;
  caFile?: string;
  requireClientCert?: boolean;
}

/** Options of startChainfire. */
export interface ChainfireServerOptions {
  dataDir: string;
  name: string;
  /** Address the client, peer and HTTP listeners bind to. */
  host: string;
  /**
   * Host other members and clients reach this one at: used in the advertised client endpoint
   * and the peer URL (binding stays on `host`). Default: `host`, or 127.0.0.1 when `host` is a
   * wildcard address (0.0.0.0, ::).
   */
  advertiseHost?: string;
  /** gRPC port (0 picks one). */
  port: number;
  /** HTTP port of health and metrics (0 picks one). */
  httpPort: number;
  quotaBytes?: number;
  tls?: ChainfireTls;
  /**
   * Raft peer port (0 picks one; a joining member needs a fixed one, since MemberAdd names it).
   * Undefined runs without Raft (a local log; unit tests only).
   */
  peerPort?: number;
  /** Join the cluster that answers at this client endpoint (MemberAdd), unless already a member. */
  join?: string;
  /** Raft tick (ms); tests shorten it. */
  tickMs?: number;
  logger: Logger;
  metrics: Metrics;
}

/** A started node. */
export interface ChainfireServer {
  readonly service: ChainfireService;
  /** The advertised client endpoint, e.g. `http://127.0.0.1:2379` (https with TLS). */
  readonly endpoint: string;
  /** The advertised Raft peer URL (undefined without Raft). */
  readonly peerUrl: string | undefined;
  readonly http: HttpServer;
  /** Resolves once this member's name and URLs are in the replicated state. */
  readonly published: Promise<void>;
  stop(): Promise<void>;
}

/** A wildcard bind address, which no peer or client can dial. */
function isWildcard(host: string): boolean {
  return host === "0.0.0.0" || host === "::" || host === "[::]";
}

/** `host` as a URL authority part (IPv6 literals bracketed). */
function urlHost(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

/**
 * The host a member advertises, from `node.bind_host` and `node.advertise_host`: the advertise
 * host when set to anything but its default (127.0.0.1) or when the bind host is a wildcard,
 * else the bind host (a member bound to 10.0.0.2 keeps advertising 10.0.0.2).
 */
export function advertisedHost(bindHost: string, advertiseHost: string | undefined): string {
  if (advertiseHost && (advertiseHost !== "127.0.0.1" || isWildcard(bindHost))) return advertiseHost;
  return isWildcard(bindHost) ? "127.0.0.1" : bindHost;
}

/** Starts chainfire: opens the store, serves gRPC and HTTP. */
export async function startChainfire(o: ChainfireServerOptions): Promise<ChainfireServer> {
  const advertise = urlHost(o.advertiseHost ?? (isWildcard(o.host) ? "127.0.0.1" : o.host));
  const forwardTls = o.tls?.caFile ? { caFile: o.tls.caFile, certFile: o.tls.certFile, keyFile: o.tls.keyFile } : undefined;
  let raft: Parameters<typeof ChainfireService.open>[0]["raft"];
  if (o.peerPort !== undefined) {
    // With TLS (and so a CA) the Raft transport speaks mutual TLS: advertise https.
    const peerUrl = `${forwardTls ? "https" : "http"}://${advertise}:${o.peerPort}`;
    const join = o.join ? await joinCluster({ endpoint: o.join, dataDir: o.dataDir, peerUrl, tls: forwardTls }) : undefined;
    raft = {
      host: o.host,
      port: o.peerPort,
      ...(o.peerPort ? { peerUrl } : {}),
      ...(join ? { join } : {}),
      ...(forwardTls ? { tls: forwardTls } : {}),
      ...(o.tickMs ? { tickMs: o.tickMs } : {}),
    };
  }
  const service = await ChainfireService.open({
    dataDir: o.dataDir,
    name: o.name,
    logger: o.logger,
    ...(o.quotaBytes ? { quotaBytes: o.quotaBytes } : {}),
    ...(raft ? { raft } : {}),
  });
  const grpc = new GrpcServer({
    logger: o.logger,
    ...(o.tls
      ? {
          tls: {
            cert: readFileSync(o.tls.certFile),
            key: readFileSync(o.tls.keyFile),
            ...(o.tls.caFile ? { ca: readFileSync(o.tls.caFile) } : {}),
            ...(o.tls.requireClientCert ? { requestCert: true, rejectUnauthorized: true } : {}),
          },
        }
      : {}),
  });
  grpc
    .addService(kvService, kvHandlers(service))
    .addService(watchService, watchHandlers(service))
    .addService(leaseService, leaseHandlers(service))
    .addService(clusterService, clusterHandlers(service))
    .addService(maintenanceService, maintenanceHandlers(service))
    .addService(forwardService, forwardHandlers(service));
  let port: number;
  try {
    port = await grpc.listen(o.port, o.host);
  } catch (e) {
    await service.close();
    throw e;
  }
  const endpoint = `${o.tls ? "https" : "http"}://${advertise}:${port}`;
  service.setClientUrls([endpoint]);
  // A peer port of 0 is known only now: advertise the port the transport bound.
  const raftPort = service.raftAddress ? /:(\d+)$/.exec(service.raftAddress)?.[1] : undefined;
  const peerUrl = raft?.peerUrl ?? (raftPort ? `${raft && raftTransportTls(raft) ? "https" : "http"}://${advertise}:${raftPort}` : undefined);
  // Make this member findable (name, URLs) once a leader exists; in the background.
  const published = service.publish([endpoint], peerUrl ? [peerUrl] : []).catch((e) => o.logger.warn("publish failed", { error: e }));
  const revision = o.metrics.gauge("chainfire_revision", "Current MVCC revision");
  const http = startHttpServer({
    component: "chainfire",
    host: o.host,
    port: o.httpPort,
    metrics: o.metrics,
    logger: o.logger,
    readiness: () => {
      revision.set(service.store.currentRevision);
      return true;
    },
  });
  o.logger.info("chainfire serving", { endpoint, http: http.url, revision: service.store.currentRevision });
  let stopping: Promise<void> | undefined;
  return {
    service,
    endpoint,
    peerUrl,
    published,
    http,
    stop: () =>
      (stopping ??= (async () => {
        await http.stop(2_000);
        await grpc.stop(2_000);
        await service.close();
      })()),
  };
}
