/**
 * Where the CLI finds a component: the URL given by flag, else the endpoint the running node's
 * supervisor reports for it (`photon status`), else the configured port on loopback.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { SupervisorStatus } from "../lib/component.ts";
import { loadConfig, type PhotonConfig } from "../lib/config.ts";
import { runFile, type RunInfo } from "./up/supervisor.ts";

/** What to look for. */
export interface ComponentUrlQuery {
  /** Component name in the supervisor's status (`iam`, `novanet`...). */
  component: string;
  /** Which of its endpoints (`http`, `s3`). */
  endpoint: string;
  /** The URL given by flag, if any: used as is. */
  flag?: string;
  /** `--data-dir`, where the running node's run file is. */
  dataDir?: string;
  /** The configured port, when no node runs here. */
  configuredPort: (config: PhotonConfig) => number;
}

/** The component's base URL (no trailing slash). */
export async function findComponentUrl(q: ComponentUrlQuery): Promise<string> {
  if (q.flag) return q.flag.replace(/\/$/, "");
  const overrides: Record<string, string> = Object.create(null);
  if (q.dataDir) overrides["node.data_dir"] = q.dataDir;
  const config = loadConfig({ flags: overrides });
  try {
    const info = JSON.parse(readFileSync(join(config.node.data_dir, runFile), "utf8")) as RunInfo;
    const res = await fetch(`${info.adminUrl}/v1/status`, { signal: AbortSignal.timeout(3_000) });
    const url = ((await res.json()) as SupervisorStatus).components.find((c) => c.name === q.component)?.endpoints[q.endpoint];
    if (url) return url;
  } catch {
    // no running node here: fall back to the configured port
  }
  const host = config.node.bind_host === "0.0.0.0" ? "127.0.0.1" : config.node.bind_host;
  return `http://${host}:${q.configuredPort(config)}`;
}
