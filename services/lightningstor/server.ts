/**
 * `startLightningstor`: the S3 endpoint. It serves with `Bun.serve` directly rather than through
 * lib/http-server's Hono app (ADR 0013): S3 needs request bodies up to 5 GiB (Bun's default cap
 * is 128 MiB and lib/http-server does not expose it), its own error model (XML documents, not
 * PhotonError JSON), and routing by sub-resource rather than by path. `/healthz`, `/readyz` and
 * `/metrics` are served here too (bucket names `healthz`, `readyz`, `metrics` are reserved).
 */
import { join } from "node:path";
import type { Server } from "bun";
import { CommonErrors } from "../../lib/errors.ts";
import type { Logger } from "../../lib/log.ts";
import type { Metrics } from "../../lib/metrics.ts";
import { IamClient } from "../iam/client.ts";
import { IamGuard } from "../iam/guard.ts";
import { s3Handler } from "./api/router.ts";
import { BlobStore } from "./blobs.ts";
import { BucketRegistryEtcd } from "./bucket-registry-etcd.ts";
import { S3Credentials, type ServiceIdentity } from "./credentials.ts";
import { sweepLifecycle, type SweepResult } from "./lifecycle.ts";
import { LightningstorService } from "./service.ts";
import { RocksObjectStore } from "./store-rocks.ts";

/** Options of startLightningstor. */
export interface LightningstorOptions {
  etcdEndpoints: string[];
  iamUrl: string;
  /** lightningstor's own iam identity (its service secret, ADR 0012). */
  identity: ServiceIdentity;
  /** `<data_dir>/lightningstor`: `meta/` (engine), `blobs/`, `tmp/`. */
  dataDir: string;
  host: string;
  port: number;
  region?: string;
  /** Base domain for virtual-hosted-style requests. */
  domain?: string;
  /** Largest single PUT in bytes (default 5 GiB). */
  maxObjectSize?: number;
  /** How long a verified access key is reused (ms, default 10 000). */
  keyCacheMs?: number;
  /** IamGuard's decision cache (ms, default 1000). */
  guardCacheMs?: number;
  /** Smallest multipart part but the last (default 5 MiB; tests lower it). */
  minPartSize?: number;
  tls?: { cert: string; key: string };
  /** The clock for object times and lifecycle (ms since the epoch; tests move it). */
  clock?: () => number;
  /** How often the lifecycle sweeper runs (ms, default one hour; 0 turns it off). */
  lifecycleIntervalMs?: number;
  logger: Logger;
  metrics: Metrics;
}

/** A running endpoint. */
export interface LightningstorServer {
  readonly url: string;
  readonly port: number;
  readonly service: LightningstorService;
  readonly credentials: S3Credentials;
  readonly blobs: BlobStore;
  /** Runs the lifecycle sweeper once now (it also runs every `lifecycleIntervalMs`). */
  sweepLifecycle(): Promise<SweepResult>;
  stop(): Promise<void>;
}

/**
 * Opens the stores and listens.
 * @throws PHOTON:Unavailable when the port is taken; engine errors when the data is locked.
 */
export async function startLightningstor(o: LightningstorOptions): Promise<LightningstorServer> {
  const maxObjectSize = o.maxObjectSize ?? 5 * 1024 ** 3;
  const store = RocksObjectStore.open(join(o.dataDir, "meta"));
  const blobs = new BlobStore(o.dataDir);
  const scrubbed = blobs.scrub(store.referencedFiles());
  if (scrubbed) o.logger.info("removed blobs no record names (left by a crash)", { files: scrubbed });
  const registry = new BucketRegistryEtcd(o.etcdEndpoints);
  const iam = new IamClient(o.iamUrl);
  // Decisions in process from iam's policy feed, opened with the service secret (ADR 0014).
  const guard = new IamGuard(iam, { cacheMs: o.guardCacheMs ?? 1000, feed: { token: () => o.identity.secret }, logger: o.logger });
  const credentials = new S3Credentials(iam, o.identity, o.keyCacheMs ?? 10_000);
  const service = new LightningstorService({ guard, registry, store, blobs, region: o.region ?? "us-east-1", logger: o.logger, ...(o.minPartSize ? { minPartSize: o.minPartSize } : {}), ...(o.clock ? { now: o.clock } : {}) });
  // Multipart objects whose join a restart interrupted are joined again (ADR 0018).
  for (const { bucket, meta } of store.multiFileObjects()) service.scheduleJoin(bucket, meta);
  const handler = s3Handler({ svc: service, credentials, guard, logger: o.logger, maxObjectSize, ...(o.domain ? { domain: o.domain } : {}) });
  const requests = o.metrics.counter("s3_requests_total", "S3 requests by method and status", ["method", "status"]);
  const latency = o.metrics.histogram("s3_request_seconds", "S3 request latency until the response starts", { labelNames: ["method"] });
  let draining = false;
  let server: Server<undefined>;
  try {
    server = Bun.serve({
      hostname: o.host,
      port: o.port,
      maxRequestBodySize: maxObjectSize + 64 * 1024 * 1024,
      idleTimeout: 120,
      ...(o.tls ? { tls: o.tls } : {}),
      async fetch(req) {
        const path = req.url.slice(req.url.indexOf("/", req.url.indexOf("//") + 2));
        if (req.method === "GET" && path === "/healthz") return new Response("ok");
        if (req.method === "GET" && path === "/readyz") return draining ? new Response("shutting down", { status: 503 }) : new Response("ready");
        if (req.method === "GET" && path === "/metrics") return new Response(await o.metrics.render(), { headers: { "content-type": o.metrics.contentType } });
        const t = performance.now();
        const res = await handler(req, server.requestIP(req)?.address);
        requests.inc({ method: req.method, status: String(res.status) });
        latency.observe({ method: req.method }, (performance.now() - t) / 1000);
        return res;
      },
      error(e) {
        o.logger.error("unhandled", { error: e });
        return new Response(null, { status: 500 });
      },
    });
  } catch (e) {
    store.close();
    registry.close();
    throw CommonErrors.Unavailable(`lightningstor: cannot listen on ${o.host}:${o.port}: ${(e as Error).message}`, { cause: e });
  }
  const port = server.port ?? o.port;
  const h = o.host === "0.0.0.0" || o.host === "" ? "127.0.0.1" : o.host === "::" ? "[::1]" : o.host;
  const url = `${o.tls ? "https" : "http"}://${h}:${port}`;
  o.logger.info("listening", { component: "lightningstor", url });
  let sweeping: Promise<SweepResult> | undefined;
  const sweep = () => (sweeping ??= sweepLifecycle(service, o.logger).finally(() => (sweeping = undefined)));
  const interval = o.lifecycleIntervalMs ?? 3_600_000;
  const timer = interval > 0 ? setInterval(() => void sweep().catch((e) => o.logger.error("lifecycle sweep failed", { error: e })), interval) : undefined;
  timer?.unref();
  let stopping: Promise<void> | undefined;
  return {
    url,
    port,
    service,
    credentials,
    blobs,
    sweepLifecycle: sweep,
    stop: () =>
      (stopping ??= (async () => {
        draining = true;
        if (timer) clearInterval(timer);
        await sweeping?.catch(() => {});
        await service.stopJoins();
        await Promise.race([server.stop(false), Bun.sleep(5000)]);
        await server.stop(true);
        guard.close();
        store.close();
        registry.close();
      })()),
  };
}
