/**
 * `photon plasmavmc-agent`: the plasmavmc host agent in the foreground. It keeps the VMs described
 * in a desired-state directory (one `<id>.json` per VM, see services/plasmavmc/agent/desired-state.ts)
 * running on this host with QEMU, and re-adopts the VMs of an earlier agent on start:
 *
 *   photon plasmavmc-agent [--data-dir ./data] [--desired DIR] [--run-dir DIR] [--socket-dir DIR]
 *     [--accel auto|kvm|tcg] [--probe-test-image] [--interval-ms 2000] [-o json]
 *
 * Defaults: desired state in `<data-dir>/plasmavmc/desired`, VM runtime directories in
 * `<data-dir>/plasmavmc/run`, VM sockets in `${XDG_RUNTIME_DIR:-/run}/photon/vms` (short: socket
 * paths are limited to 107 bytes). `--probe-test-image` boots the
 * test image (scripts/build-test-image.sh) to decide whether KVM works; without it the probe only
 * creates a KVM vCPU. Prints one line once running (accelerator and why); logs JSON lines on stderr.
 * SIGTERM/SIGINT detach from the VMs (they keep running) and exit 0. Bad flags: exit 2.
 * Later sessions replace the directory with the agent's keys in chainfire.
 */
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { PhotonError } from "../../lib/errors.ts";
import { createLogger } from "../../lib/log.ts";
import { installSignalHandlers, onShutdown } from "../../lib/shutdown.ts";
import { PlasmavmcErrors } from "../../services/plasmavmc/errors.ts";
import { HostAgent } from "../../services/plasmavmc/agent/host-agent.ts";
import type { AcceleratorChoice } from "../../services/plasmavmc/hypervisor/hypervisor.ts";
import { QemuHypervisor } from "../../services/plasmavmc/hypervisor/qemu-hypervisor.ts";
import { vmPaths } from "../../services/plasmavmc/hypervisor/run-dir.ts";
import { ensureTestImage } from "../../services/plasmavmc/hypervisor/test-image.ts";
import { processIo, reportError, usageError, type CommandIo } from "../io.ts";

const options = {
  "data-dir": { type: "string" },
  desired: { type: "string" },
  "run-dir": { type: "string" },
  "socket-dir": { type: "string" },
  accel: { type: "string" },
  "probe-test-image": { type: "boolean" },
  "interval-ms": { type: "string" },
  output: { type: "string", short: "o" },
} as const;

/** Runs `photon plasmavmc-agent`; resolves to the exit code once running (the process then stays up). */
export async function run(argv: string[], io: CommandIo = processIo): Promise<number> {
  let flags;
  let accel: AcceleratorChoice;
  let desiredDir: string;
  let runDir: string;
  let socketDir: string;
  let intervalMs: number;
  try {
    flags = parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
    if (flags.output !== undefined && flags.output !== "json" && flags.output !== "text") throw usageError(`-o must be json or text, got ${JSON.stringify(flags.output)}`);
    const a = flags.accel ?? "auto";
    if (a !== "auto" && a !== "kvm" && a !== "tcg") throw usageError(`--accel must be auto, kvm or tcg, got ${JSON.stringify(a)}`);
    accel = a;
    if (flags["interval-ms"] !== undefined && !/^[1-9]\d{1,5}$/.test(flags["interval-ms"])) throw usageError(`--interval-ms must be an integer from 10 to 999999, got ${JSON.stringify(flags["interval-ms"])}`);
    intervalMs = Number(flags["interval-ms"] ?? 2000);
    const dataDir = resolve(flags["data-dir"] ?? "data");
    desiredDir = resolve(flags.desired ?? join(dataDir, "plasmavmc", "desired"));
    runDir = resolve(flags["run-dir"] ?? join(dataDir, "plasmavmc", "run"));
    socketDir = resolve(flags["socket-dir"] ?? join(process.env.XDG_RUNTIME_DIR || "/run", "photon", "vms"));
    try {
      vmPaths(runDir, "x".repeat(63), socketDir); // the longest id must fit unix socket paths
    } catch (e) {
      throw usageError(`--socket-dir ${socketDir} is too long for VM sockets (${(e as Error).message})`);
    }
  } catch (e) {
    return reportError(io, e instanceof PhotonError ? e : usageError((e as Error).message));
  }
  const logger = createLogger("plasmavmc-agent");
  try {
    mkdirSync(desiredDir, { recursive: true, mode: 0o700 });
    mkdirSync(runDir, { recursive: true, mode: 0o700 });
    const probe = flags["probe-test-image"] ? await ensureTestImage() : undefined;
    const hypervisor = new QemuHypervisor({
      runDir,
      socketDir,
      accelerator: accel,
      ...(probe ? { probeImage: { kernel: probe.kernel, initrd: probe.initrd, marker: probe.probeMarker } } : {}),
    });
    const info = await hypervisor.info();
    if (!info.available) throw PlasmavmcErrors.HypervisorUnavailable(info.reason);
    const agent = new HostAgent({ hypervisor, desiredDir, logger, intervalMs });
    installSignalHandlers({ logger, drainMs: 1000 });
    onShutdown(() => agent.stop(), "plasmavmc-agent");
    await agent.start();
    const line = { desiredDir, runDir, socketDir, qemu: info.version, accelerator: info.accelerator, reason: info.reason, vms: agent.snapshot() };
    if (flags.output === "json") io.stdout(`${JSON.stringify(line)}\n`);
    else io.stdout(`plasmavmc-agent running: qemu ${info.version}, ${info.accelerator} (${info.reason}); desired ${desiredDir}; run ${runDir}; sockets ${socketDir}\n`);
    return 0;
  } catch (e) {
    return reportError(io, e);
  }
}
