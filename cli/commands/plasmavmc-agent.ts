/**
 * `photon plasmavmc-agent`: the plasmavmc host agent in the foreground, one per hypervisor host.
 *
 * Cluster mode (default): registers this host in chainfire (capacity, heartbeat lease), runs the
 * VMs the scheduler placed here with QEMU on the taps novanet's agent creates, reports their
 * state, serves metadata (services/plasmavmc/agent/cluster-agent.ts):
 *
 *   photon plasmavmc-agent [--host NAME] [--underlay-ip IP] [--vcpus N] [--memory-mib N]
 *     [--etcd URL ...] [--image-dir DIR] [--netns NS] [--ns-prefix P] [--config photon.toml]
 *     [--data-dir ./data] [--run-dir DIR] [--socket-dir DIR] [--accel auto|kvm|tcg]
 *     [--probe-test-image] [--interval-ms 2000] [--console-port 7102] [--iam-url URL] [-o json]
 *
 * It also serves the VMs' interactive serial consoles over WebSocket on `--console-port`
 * (`photon vm console NAME`), authorising each viewer through iam (`--iam-url`).
 *
 * Directory mode (`--desired DIR`): keeps the VMs described in a desired-state directory (one
 * `<id>.json` per VM, services/plasmavmc/agent/desired-state.ts), without chainfire.
 *
 * Flags override `[plasmavmc] agent_*` (defaults < photon.toml < PHOTON_* < flags); the host name
 * defaults to `node.name`, vCPUs and memory to the machine's (less 1 GiB), chainfire to the
 * configured client port on loopback, images to `<data-dir>/plasmavmc/images` (the all-in-one API
 * server's store). Runtime directories in `<data-dir>/plasmavmc/run`, VM sockets in
 * `${XDG_RUNTIME_DIR:-/run}/photon/vms` (short: socket paths are limited to 107 bytes).
 * `--probe-test-image` boots the test image to decide whether KVM works. Prints one line once
 * running (accelerator and why); logs JSON lines on stderr. SIGTERM/SIGINT detach from the VMs
 * (they keep running) and exit 0. Bad flags: exit 2.
 */
import { existsSync, mkdirSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { loadConfig } from "../../lib/config.ts";
import { PhotonError } from "../../lib/errors.ts";
import { createLogger } from "../../lib/log.ts";
import { installSignalHandlers, onShutdown } from "../../lib/shutdown.ts";
import { IamGuard } from "../../services/iam/guard.ts";
import { ClusterAgent } from "../../services/plasmavmc/agent/cluster-agent.ts";
import { HostAgent } from "../../services/plasmavmc/agent/host-agent.ts";
import { PlasmavmcErrors } from "../../services/plasmavmc/errors.ts";
import type { AcceleratorChoice } from "../../services/plasmavmc/hypervisor/hypervisor.ts";
import { QemuHypervisor } from "../../services/plasmavmc/hypervisor/qemu-hypervisor.ts";
import { vmPaths } from "../../services/plasmavmc/hypervisor/run-dir.ts";
import { ensureTestImage } from "../../services/plasmavmc/hypervisor/test-image.ts";
import { EtcdPlasmavmcStore } from "../../services/plasmavmc/store-etcd.ts";
import { processIo, reportError, usageError, type CommandIo } from "../io.ts";

const options = {
  config: { type: "string", short: "c" },
  "data-dir": { type: "string" },
  desired: { type: "string" },
  "run-dir": { type: "string" },
  "socket-dir": { type: "string" },
  accel: { type: "string" },
  "probe-test-image": { type: "boolean" },
  "interval-ms": { type: "string" },
  host: { type: "string" },
  "underlay-ip": { type: "string" },
  vcpus: { type: "string" },
  "memory-mib": { type: "string" },
  etcd: { type: "string", multiple: true },
  "image-dir": { type: "string" },
  netns: { type: "string" },
  "ns-prefix": { type: "string" },
  "heartbeat-seconds": { type: "string" },
  "console-port": { type: "string" },
  "iam-url": { type: "string" },
  output: { type: "string", short: "o" },
} as const;

/** Runs `photon plasmavmc-agent`; resolves to the exit code once running (the process then stays up). */
export async function run(argv: string[], io: CommandIo = processIo): Promise<number> {
  let flags;
  let accel: AcceleratorChoice;
  let runDir: string;
  let socketDir: string;
  let intervalMs: number;
  let dataDir: string;
  try {
    flags = parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
    if (flags.output !== undefined && flags.output !== "json" && flags.output !== "text") throw usageError(`-o must be json or text, got ${JSON.stringify(flags.output)}`);
    const a = flags.accel ?? "auto";
    if (a !== "auto" && a !== "kvm" && a !== "tcg") throw usageError(`--accel must be auto, kvm or tcg, got ${JSON.stringify(a)}`);
    accel = a;
    if (flags["interval-ms"] !== undefined && !/^[1-9]\d{1,5}$/.test(flags["interval-ms"])) throw usageError(`--interval-ms must be an integer from 10 to 999999, got ${JSON.stringify(flags["interval-ms"])}`);
    intervalMs = Number(flags["interval-ms"] ?? 2000);
    dataDir = resolve(flags["data-dir"] ?? "data");
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
    installSignalHandlers({ logger, drainMs: 1000 });
    if (flags.desired !== undefined) {
      const desiredDir = resolve(flags.desired);
      mkdirSync(desiredDir, { recursive: true, mode: 0o700 });
      const agent = new HostAgent({ hypervisor, desiredDir, logger, intervalMs });
      onShutdown(() => agent.stop(), "plasmavmc-agent");
      await agent.start();
      const line = { mode: "directory", desiredDir, runDir, socketDir, qemu: info.version, accelerator: info.accelerator, reason: info.reason, vms: agent.snapshot() };
      if (flags.output === "json") io.stdout(`${JSON.stringify(line)}\n`);
      else io.stdout(`plasmavmc-agent running: qemu ${info.version}, ${info.accelerator} (${info.reason}); desired ${desiredDir}; run ${runDir}; sockets ${socketDir}\n`);
      return 0;
    }
    const o: Record<string, string> = Object.create(null);
    const map: [keyof typeof flags, string][] = [["host", "agent_host"], ["vcpus", "agent_vcpus"], ["memory-mib", "agent_memory_mib"], ["netns", "agent_netns"], ["ns-prefix", "agent_ns_prefix"], ["heartbeat-seconds", "agent_heartbeat_seconds"], ["console-port", "agent_console_port"], ["iam-url", "agent_iam_url"]];
    for (const [f, k] of map) if (typeof flags[f] === "string") o[`plasmavmc.${k}`] = flags[f] as string;
    if (flags.accel !== undefined) o["plasmavmc.agent_accel"] = flags.accel;
    const file = flags.config ?? (existsSync("photon.toml") ? "photon.toml" : undefined);
    const config = loadConfig({ ...(file ? { file } : {}), flags: o });
    const p = config.plasmavmc;
    const host = p.agent_host || config.node.name;
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(host)) throw usageError(`the host name ${JSON.stringify(host)} is not valid (--host)`);
    const etcd = flags.etcd ?? [`http://127.0.0.1:${config.chainfire.client_port}`];
    const store = new EtcdPlasmavmcStore({ endpoints: etcd });
    const agent = new ClusterAgent({
      store, hypervisor, runDir, socketDir, logger, intervalMs,
      host: {
        name: host,
        vcpus: p.agent_vcpus || cpus().length,
        memoryMiB: p.agent_memory_mib || Math.max(256, Math.floor(totalmem() / 1048576) - 1024),
        underlayIp: flags["underlay-ip"] ?? config.novanet.agent_underlay_ip ?? "",
      },
      imageDir: resolve(flags["image-dir"] ?? join(dataDir, "plasmavmc", "images")),
      stateDir: join(dataDir, "plasmavmc", "agent"),
      ...(p.agent_netns ? { netns: p.agent_netns } : {}),
      nsPrefix: p.agent_ns_prefix,
      heartbeatSeconds: p.agent_heartbeat_seconds,
      console: {
        host: config.node.bind_host,
        port: p.agent_console_port,
        guard: new IamGuard(p.agent_iam_url || `http://127.0.0.1:${config.iam.http_port}`),
        ...(config.node.advertise_host ? { advertiseHost: config.node.advertise_host } : {}),
      },
    });
    onShutdown(async () => {
      await agent.stop();
      store.close();
    }, "plasmavmc-agent");
    await agent.start();
    const line = { mode: "cluster", host, etcd, runDir, socketDir, qemu: info.version, accelerator: info.accelerator, reason: info.reason };
    if (flags.output === "json") io.stdout(`${JSON.stringify(line)}\n`);
    else io.stdout(`plasmavmc-agent running on host ${host}: qemu ${info.version}, ${info.accelerator} (${info.reason}); chainfire ${etcd.join(",")}; run ${runDir}; sockets ${socketDir}\n`);
    return 0;
  } catch (e) {
    return reportError(io, e);
  }
}
