/**
 * `photon up [--config FILE] [--data-dir DIR] [--port N]`: runs the all-in-one cloud in the
 * foreground. Ctrl-C or SIGTERM drains and stops everything, then exits 0.
 * Bad configuration or data directory: one line on stderr, exit 2, nothing written.
 */
import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { loadConfig } from "../../lib/config.ts";
import { createLogger } from "../../lib/log.ts";
import { installSignalHandlers, onShutdown } from "../../lib/shutdown.ts";
import { processIo, reportError, usageError, type CommandIo } from "../io.ts";
import { components } from "../up/components.ts";
import { startSupervisor } from "../up/supervisor.ts";

/** Runs `photon up`; resolves to the exit code once started (the process then stays up). */
export async function run(argv: string[], io: CommandIo = processIo): Promise<number> {
  let flags;
  try {
    flags = parseArgs({
      args: argv,
      options: { config: { type: "string", short: "c" }, "data-dir": { type: "string" }, port: { type: "string" } },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (e) {
    return reportError(io, usageError((e as Error).message));
  }
  const logger = createLogger("photon");
  try {
    const file = flags.config ?? (existsSync("photon.toml") ? "photon.toml" : undefined);
    const overrides: Record<string, string> = Object.create(null);
    if (flags["data-dir"] !== undefined) overrides["node.data_dir"] = flags["data-dir"];
    if (flags.port !== undefined) overrides["admin.http_port"] = flags.port;
    const config = loadConfig({ ...(file ? { file } : {}), flags: overrides });
    installSignalHandlers({ logger, drainMs: 10_000 });
    const supervisor = await startSupervisor({ config, components, logger });
    onShutdown(() => supervisor.stop(), "supervisor");
    const status = supervisor.status();
    io.stdout(`PhotonCloud ${status.version} is up on node ${status.node} (data: ${status.dataDir})\n`);
    for (const c of status.components) {
      const endpoints = Object.entries(c.endpoints).map(([k, v]) => `${k}=${v}`).join(" ");
      io.stdout(`  ${c.name.padEnd(14)} ${endpoints}\n`);
    }
    io.stdout("Press Ctrl-C to stop. `photon status` shows health.\n");
    return 0;
  } catch (e) {
    return reportError(io, e);
  }
}
