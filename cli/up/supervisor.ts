/**
 * The all-in-one supervisor behind `photon up`: claims the data directory, opens the node's own
 * store, starts every component in this process, and serves the admin endpoint
 * (`/healthz`, `/readyz`, `/metrics`, `/v1/status`) that `photon status` reads.
 */
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Hono } from "hono";
import { listenerTls, type Component, type ComponentStatus, type RunningComponent, type SupervisorStatus } from "../../lib/component.ts";
import type { PhotonConfig } from "../../lib/config.ts";
import { claimDataDir, writeFileAtomic } from "../../lib/data-dir.ts";
import { RocksEngine } from "../../lib/engine/index.ts";
import { PhotonError } from "../../lib/errors.ts";
import { startHttpServer, type HttpEnv, type HttpServer } from "../../lib/http-server.ts";
import type { Logger } from "../../lib/log.ts";
import { createMetrics } from "../../lib/metrics.ts";
import { photonVersion } from "../version.ts";

/** Options of `startSupervisor`. */
export interface SupervisorOptions {
  config: PhotonConfig;
  components: readonly Component[];
  logger: Logger;
}

/** A running all-in-one node. */
export interface Supervisor {
  /** The admin endpoint's base URL. */
  readonly adminUrl: string;
  /** Current status of the node and its components. */
  status(): SupervisorStatus;
  /** Stops every component (reverse start order), the admin server and the node store. */
  stop(): Promise<void>;
}

/** Where `photon up` records how to reach it, relative to the data directory. */
export const runFile = join("run", "supervisor.json");

/** Contents of the run file. */
export interface RunInfo {
  pid: number;
  adminUrl: string;
}

const te = new TextEncoder();
const td = new TextDecoder();

/**
 * Starts the node. Rejects with DATA:* for an unusable data directory, ENGINE:Busy when another
 * `photon up` holds it, PHOTON:Unavailable when the admin port is taken, or the first
 * component's start error (after stopping what had started).
 */
export async function startSupervisor(options: SupervisorOptions): Promise<Supervisor> {
  const { config, logger } = options;
  const startedAt = new Date().toISOString();
  const { path: dataDir } = claimDataDir(config.node.data_dir, config.node.name);

  // The node's own store: identity and boot history; holding it also locks the directory.
  mkdirSync(join(dataDir, "node"), { recursive: true, mode: 0o700 });
  let store: RocksEngine;
  try {
    store = RocksEngine.open(join(dataDir, "node", "engine"), {
      columnFamilies: ["meta"],
      blockCacheMb: config.engine.block_cache_mb,
      writeBufferMb: config.engine.write_buffer_mb,
      compression: config.engine.compression,
    });
  } catch (e) {
    if (e instanceof PhotonError && e.code === "ENGINE:Busy") {
      throw new PhotonError("DATA:InUse", `data directory ${dataDir} is in use by another photon process`, { cause: e });
    }
    throw e;
  }
  const meta = store.cf("meta");
  const boots = Number(td.decode(store.get(meta, te.encode("boot_count")) ?? te.encode("0"))) + 1;
  store.put(meta, te.encode("boot_count"), te.encode(String(boots)), true);

  const metrics = createMetrics("supervisor");
  metrics.gauge("node_boots", "How many times this node's data directory was started").set(boots);
  const running = new Map<string, { component: Component; run: RunningComponent }>();
  const failed = new Map<string, string>();

  const stopComponents = async () => {
    for (const [name, { run }] of [...running].reverse()) {
      try {
        await run.stop();
      } catch (e) {
        logger.error("component failed to stop", { component: name, error: e });
      }
      running.delete(name);
    }
  };

  for (const component of options.components) {
    const dir = join(dataDir, component.name);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    try {
      const run = await component.start({
        config,
        dataDir: dir,
        logger: logger.child({ component: component.name }),
        metrics: createMetrics(component.name),
        endpoints: Object.fromEntries([...running].map(([name, r]) => [name, r.run.endpoints])),
      });
      running.set(component.name, { component, run });
      logger.info("component started", { component: component.name, endpoints: run.endpoints });
    } catch (e) {
      failed.set(component.name, e instanceof Error ? e.message : String(e));
      await stopComponents();
      store.close();
      throw e;
    }
  }

  let admin: HttpServer | undefined;
  const status = (): SupervisorStatus => {
    const self: ComponentStatus = {
      name: "supervisor",
      description: "the all-in-one node: data directory, node store, admin endpoint",
      state: "running",
      endpoints: { admin: admin?.url ?? "" },
      healthUrl: `${admin?.url ?? ""}/healthz`,
    };
    const components: ComponentStatus[] = options.components.map((c) => {
      const r = running.get(c.name);
      const error = failed.get(c.name);
      return {
        name: c.name,
        description: c.description,
        state: r ? "running" : error ? "failed" : "stopped",
        endpoints: { ...(r?.run.endpoints ?? {}) },
        healthUrl: r?.run.healthUrl ?? "",
        ...(error ? { error } : {}),
      };
    });
    return { node: config.node.name, version: photonVersion, pid: process.pid, startedAt, dataDir, components: [self, ...components] };
  };

  const app = new Hono<HttpEnv>().get("/v1/status", (c) => c.json(status()));
  const tls = listenerTls(config);
  try {
    admin = startHttpServer({
      component: "supervisor",
      host: config.node.bind_host,
      port: config.admin.http_port,
      app,
      metrics,
      logger,
      readiness: () => [...running.values()].length === options.components.length,
      ...(tls ? { tls } : {}),
    });
  } catch (e) {
    await stopComponents();
    store.close();
    throw e;
  }

  const runPath = join(dataDir, runFile);
  mkdirSync(join(dataDir, "run"), { recursive: true });
  const info: RunInfo = { pid: process.pid, adminUrl: admin.url };
  writeFileAtomic(runPath, JSON.stringify(info) + "\n");

  let stopping: Promise<void> | undefined;
  return {
    adminUrl: admin.url,
    status,
    stop: () =>
      (stopping ??= (async () => {
        await admin?.stop(5_000);
        await stopComponents();
        store.close();
        rmSync(runPath, { force: true });
      })()),
  };
}
