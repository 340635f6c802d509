/**
 * `photon status [--url URL] [--data-dir DIR] [-o json]`: every running component, its endpoints
 * and its health, read from the supervisor's `/v1/status` and each component's health URL.
 * Exit 0 when everything is healthy, 1 when something is not or nothing runs.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { SupervisorStatus } from "../../lib/component.ts";
import { loadConfig } from "../../lib/config.ts";
import { processIo, reportError, usageError, type CommandIo } from "../io.ts";
import { runFile, type RunInfo } from "../up/supervisor.ts";

/** A component's status with its probed health. */
export interface ComponentHealth {
  name: string;
  state: string;
  health: "ok" | "unhealthy" | "unknown";
  endpoints: Record<string, string>;
  error?: string;
}

/** Finds the admin URL: --url, else the data directory's run file, else the configured port. */
function adminUrl(flags: { url?: string; "data-dir"?: string }): string {
  if (flags.url) return flags.url.replace(/\/$/, "");
  const overrides: Record<string, string> = Object.create(null);
  if (flags["data-dir"]) overrides["node.data_dir"] = flags["data-dir"];
  const config = loadConfig({ flags: overrides });
  try {
    const info = JSON.parse(readFileSync(join(config.node.data_dir, runFile), "utf8")) as RunInfo;
    return info.adminUrl;
  } catch {
    const host = config.node.bind_host === "0.0.0.0" ? "127.0.0.1" : config.node.bind_host;
    return `http://${host}:${config.admin.http_port}`;
  }
}

async function probe(url: string): Promise<"ok" | "unhealthy" | "unknown"> {
  if (!url) return "unknown";
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return res.ok ? "ok" : "unhealthy";
  } catch {
    return "unhealthy";
  }
}

/** Runs `photon status`; resolves to the exit code. */
export async function run(argv: string[], io: CommandIo = processIo): Promise<number> {
  let flags;
  try {
    flags = parseArgs({
      args: argv,
      options: { url: { type: "string" }, "data-dir": { type: "string" }, output: { type: "string", short: "o" } },
      strict: true,
    }).values;
  } catch (e) {
    return reportError(io, usageError((e as Error).message));
  }
  const json = flags.output === "json";
  let url: string;
  try {
    url = adminUrl(flags);
  } catch (e) {
    return reportError(io, e);
  }
  let status: SupervisorStatus;
  try {
    const res = await fetch(`${url}/v1/status`, { signal: AbortSignal.timeout(3_000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    status = (await res.json()) as SupervisorStatus;
  } catch (e) {
    if (json) io.stdout(JSON.stringify({ running: false, url, error: (e as Error).message }) + "\n");
    else io.stderr(`photon: nothing answers at ${url} (${(e as Error).message}); start the cloud with \`npm start\` or \`photon up\`\n`);
    return 1;
  }
  const components: ComponentHealth[] = await Promise.all(
    status.components.map(async (c) => ({
      name: c.name,
      state: c.state,
      health: c.state === "running" ? await probe(c.healthUrl) : "unhealthy",
      endpoints: c.endpoints,
      ...(c.error ? { error: c.error } : {}),
    })),
  );
  const healthy = components.every((c) => c.health === "ok");
  if (json) {
    io.stdout(JSON.stringify({ running: true, healthy, url, node: status.node, version: status.version, pid: status.pid, startedAt: status.startedAt, dataDir: status.dataDir, components }, null, 2) + "\n");
  } else {
    io.stdout(`node ${status.node} · photon ${status.version} · pid ${status.pid} · up since ${status.startedAt}\n`);
    io.stdout(`${"COMPONENT".padEnd(14)} ${"STATE".padEnd(8)} ${"HEALTH".padEnd(9)} ENDPOINTS\n`);
    for (const c of components) {
      const endpoints = Object.entries(c.endpoints).map(([k, v]) => `${k}=${v}`).join(" ");
      io.stdout(`${c.name.padEnd(14)} ${c.state.padEnd(8)} ${c.health.padEnd(9)} ${endpoints}${c.error ? `  (${c.error})` : ""}\n`);
    }
  }
  return healthy ? 0 : 1;
}
