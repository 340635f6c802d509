#!/usr/bin/env bun
/**
 * `photon`: the one command of PhotonCloud — `photon <command> [args] [--flags]`.
 * Each command lives in cli/commands/<name>.ts and resolves to its exit code.
 */
import { processIo, reportError, usageError } from "./io.ts";

const commands: Record<string, { summary: string; load: () => Promise<{ run: (argv: string[]) => Promise<number> }> }> = {
  up: { summary: "run the all-in-one cloud in the foreground", load: () => import("./commands/up.ts") },
  status: { summary: "show every running component, its endpoints and health", load: () => import("./commands/status.ts") },
  version: { summary: "print versions", load: () => import("./commands/version.ts") },
  config: { summary: "config check FILE: validate a configuration file", load: () => import("./commands/config.ts") },
  chainfire: { summary: "run one chainfire member (a cluster node) in the foreground", load: () => import("./commands/chainfire.ts") },
  "plasmavmc-metadata-proxy": { summary: "(started by plasmavmc-agent) the metadata proxy inside a VPC's router namespace", load: () => import("./commands/plasmavmc-metadata-proxy.ts") },
  "plasmavmc-agent": { summary: "run the plasmavmc host agent (keeps this host's VMs) in the foreground", load: () => import("./commands/plasmavmc-agent.ts") },
  certs: { summary: "create a development CA and per-service certificates", load: () => import("./commands/certs.ts") },
  login: { summary: "log in to iam; keeps the token under your config directory", load: () => import("./commands/login.ts") },
  bucket: { summary: "manage lightningstor buckets (photon bucket help)", load: () => import("./commands/bucket.ts") },
  "novanet-agent": { summary: "run novanet's host agent (this host's VPC data plane) in the foreground", load: () => import("./commands/novanet-agent.ts") },
  ...Object.fromEntries(
    (["vpc", "subnet", "port", "secgroup", "router", "fip"] as const).map((r) => [
      r,
      { summary: `manage novanet ${r}s (photon ${r} help)`, load: async () => ({ run: (argv: string[]) => import("./commands/novanet.ts").then((m) => m.runNovanetResource(r, argv)) }) },
    ]),
  ),
  ...Object.fromEntries(
    (["vm", "flavor", "image", "volume"] as const).map((r) => [
      r,
      { summary: `manage plasmavmc ${r}s (photon ${r} help)`, load: async () => ({ run: (argv: string[]) => import("./commands/vm.ts").then((m) => m.runPlasmavmcResource(r, argv)) }) },
    ]),
  ),
  ...Object.fromEntries(
    (["org", "project", "user", "group", "role", "binding", "credential", "accesskey"] as const).map((r) => [
      r,
      { summary: `manage iam ${r}s (photon ${r} help)`, load: async () => ({ run: (argv: string[]) => import("./commands/iam.ts").then((m) => m.runResource(r, argv)) }) },
    ]),
  ),
};

function help(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return `usage: photon <command> [args] [--flags]\n\ncommands:\n${lines.join("\n")}\n\nEvery command takes -o json for scripts.\n`;
}

/** Dispatches argv (without the executable) to its command; resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    processIo.stdout(help());
    return name === undefined ? 2 : 0;
  }
  if (name === "--version") return (await commands.version!.load()).run([]);
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!command) return reportError(processIo, usageError(`unknown command "${name}"; see \`photon help\``));
  return (await command.load()).run(rest);
}

/** Commands that keep the process running after `run` resolves. */
const KEEP_RUNNING = new Set(["up", "chainfire", "plasmavmc-agent", "novanet-agent", "plasmavmc-metadata-proxy"]);

if (import.meta.main) {
  const code = await main(process.argv.slice(2));
  // Servers and agents keep running (their servers or loops hold the event loop); every other command ends here.
  if (code !== 0 || !KEEP_RUNNING.has(process.argv[2] ?? "")) process.exit(code);
}
