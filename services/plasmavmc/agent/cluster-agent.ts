/**
 * `ClusterAgent`: the plasmavmc host agent driven by chainfire. It registers the host (capacity,
 * heartbeat lease: host-registration.ts), reads the VMs placed on it (`vms/` where `host` is this
 * host and the ports are bound), turns each into a VmSpec — the image files from the image
 * directory (a disk image gets a qcow2 overlay per VM, `<stateDir>/disks/<id>.qcow2`), one tap
 * per novanet port (`portDeviceName(port, "tap")`, created by novanet's agent: the launch waits
 * until it exists), inside `netns` when the host's data plane lives in one — and hands them to
 * the HostAgent loop (host-agent.ts), which launches, adopts after a restart, stops, pauses,
 * reboots and removes. What the loop observes is written to `status/<vm>` (only while the VM's
 * document exists, in one transaction, so a deleted VM gets no stale status) and the console
 * tail to `console/<vm>`. A watch on `vms/` triggers a round at once; rounds also run every
 * `intervalMs`. Metadata is served by one server per host and a proxy per VPC (metadata-proxies.ts).
 * Volumes placed on this host live under `<stateDir>/volumes` (host-volumes.ts, volume-files.ts):
 * made, snapshotted and removed at the start of each round, given to their VM on its command line
 * or hot-plugged by the loop, and reported in `volstatus/<id>` at the end of each round.
 */
import { existsSync, mkdirSync, openSync, readSync, closeSync, fstatSync, rmSync } from "node:fs";
import { join } from "node:path";
import { namespaceNames, portDeviceName } from "../../../dataplane/linux/names.ts";
import type { Logger } from "../../../lib/log.ts";
import type { Hypervisor, VmSpec } from "../hypervisor/hypervisor.ts";
import { vmPaths } from "../hypervisor/run-dir.ts";
import { startMetadataServer, type MetadataServer } from "../metadata/metadata-server.ts";
import type { InstanceMetadata } from "../metadata/instance-metadata.ts";
import type { EtcdPlasmavmcStore } from "../store-etcd.ts";
import { keys } from "../store.ts";
import type { VmRecord, VmStatusRecord } from "../types.ts";
import type { DesiredState, DesiredVm } from "./desired-state.ts";
import { HostAgent, type ObservedVm } from "./host-agent.ts";
import { registerHost, type HostRegistration } from "./host-registration.ts";
import type { IamGuard } from "../../iam/guard.ts";
import { startConsoleServer, type ConsoleServer } from "./console-server.ts";
import { MetadataProxies } from "./metadata-proxies.ts";
import { HostVolumes } from "./host-volumes.ts";
import { VolumeFiles } from "./volume-files.ts";

/** Options of {@link ClusterAgent}. */
export interface ClusterAgentOptions {
  store: EtcdPlasmavmcStore;
  hypervisor: Hypervisor;
  /** The hypervisor's runtime directory and socket directory (to find console logs). */
  runDir: string;
  socketDir?: string;
  host: { name: string; vcpus: number; memoryMiB: number; underlayIp: string };
  /** The image store (shared with the API server: same machine, or a shared file system). */
  imageDir: string;
  /** The agent's own files: disk overlays, metadata socket, proxy pids. */
  stateDir: string;
  /** Network namespace holding novanet's bridges and taps on this host (tests, labs). */
  netns?: string;
  /** novanet's namespace prefix on this host (router namespaces serve metadata); default `photon-`. */
  nsPrefix?: string;
  heartbeatSeconds?: number;
  intervalMs?: number;
  /** Serve metadata (default true). */
  metadata?: boolean;
  /** Serve the VMs' serial consoles over WebSocket (console-server.ts), authorising callers through iam. */
  console?: { host: string; port: number; guard: IamGuard; advertiseHost?: string };
  logger: Logger;
}

const CONSOLE_TAIL = 16 * 1024;

function tail(file: string): string {
  if (!existsSync(file)) return "";
  const fd = openSync(file, "r");
  try {
    const size = fstatSync(fd).size;
    const n = Math.min(size, CONSOLE_TAIL);
    const buf = Buffer.alloc(n);
    readSync(fd, buf, 0, n, size - n);
    return buf.toString("utf8");
  } finally {
    closeSync(fd);
  }
}

/** The chainfire-driven host agent (see the file comment). */
export class ClusterAgent {
  private readonly o: ClusterAgentOptions;
  private loop: HostAgent | undefined;
  private reg: HostRegistration | undefined;
  private stopWatch: (() => void) | undefined;
  private metadata: MetadataServer | undefined;
  private proxies: MetadataProxies | undefined;
  private consoleServer: ConsoleServer | undefined;
  private volumes: HostVolumes | undefined;
  private mine = new Map<string, VmRecord>();
  private readonly reported = new Map<string, string>();
  private readonly consoles = new Map<string, string>();
  private readonly waiting = new Map<string, string>();
  private stopped = false;

  constructor(options: ClusterAgentOptions) {
    this.o = options;
  }

  /** Registers the host, adopts what runs, converges, and follows changes. */
  async start(): Promise<void> {
    const { o } = this;
    mkdirSync(join(o.stateDir, "disks"), { recursive: true, mode: 0o700 });
    if (o.metadata !== false) {
      this.metadata = startMetadataServer({ socketPath: join(o.stateDir, "metadata.sock"), lookup: (network, ip) => this.lookup(network, ip) });
      this.proxies = new MetadataProxies(join(o.stateDir, "proxies"), this.metadata.socketPath, o.logger);
    }
    if (o.console) {
      this.consoleServer = startConsoleServer({ host: o.console.host, port: o.console.port, guard: o.console.guard, store: o.store, hostName: o.host.name, runDir: o.runDir, ...(o.socketDir ? { socketDir: o.socketDir } : {}), logger: o.logger });
    }
    await this.register();
    const volumes = (this.volumes = new HostVolumes({ store: o.store, host: o.host.name, files: new VolumeFiles(join(o.stateDir, "volumes")), imageDir: o.imageDir, instance: (vm) => this.loop?.instance(vm), logger: o.logger }));
    this.loop = new HostAgent({
      hypervisor: o.hypervisor,
      logger: o.logger,
      intervalMs: o.intervalMs ?? 2000,
      source: () => this.desired(),
      prepare: (want) => this.prepare(want),
      onObserved: (vm, want) => this.report(vm, want),
      afterRound: () => volumes.report(this.loop?.snapshot() ?? []),
    });
    const { revision } = await o.store.snapshot(keys.kind("vms"));
    await this.loop.start();
    this.stopWatch = o.store.watch(keys.kind("vms"), revision + 1, () => void this.loop?.reconcile(), (e) => o.logger.warn("watch ended; relying on periodic rounds", { error: (e as Error).message }));
  }

  private async register(): Promise<void> {
    const { o } = this;
    const consoleUrl = this.consoleServer && o.console ? (o.console.advertiseHost ? this.consoleServer.url.replace(/\/\/[^:]+:/, `//${o.console.advertiseHost}:`) : this.consoleServer.url) : undefined;
    this.reg = await registerHost(o.store.etcd, { ...o.host, ...(consoleUrl ? { consoleUrl } : {}) }, o.heartbeatSeconds ?? 10);
    void this.reg.lost.then(async (e) => {
      if (this.stopped) return;
      o.logger.warn("heartbeat lease lost; registering again", { error: (e as Error).message });
      for (;;) {
        try {
          await this.register();
          return;
        } catch {
          if (this.stopped) return;
          await Bun.sleep(1000);
        }
      }
    });
  }

  /** Runs one round now (tests). */
  reconcile(): Promise<void> {
    return this.loop?.reconcile() ?? Promise.resolve();
  }

  /**
   * Stops following chainfire and drops the VMs' control connections (they keep running).
   * `heartbeat: "keep"` leaves the lease to expire on its own (like a crash); default revokes it.
   */
  async stop(o: { heartbeat?: "revoke" | "keep" } = {}): Promise<void> {
    this.stopped = true;
    this.stopWatch?.();
    await this.loop?.stop();
    await this.reg?.stop({ keepAlive: o.heartbeat === "keep" });
    await this.proxies?.stop();
    this.metadata?.stop();
    this.consoleServer?.stop();
  }

  private lookup(network: string, ip: string): InstanceMetadata | undefined {
    for (const r of this.mine.values()) {
      if (!r.nics.some((n) => n.vpc === network && n.ips.includes(ip))) continue;
      return {
        uuid: r.id, name: r.name, hostname: r.name, projectId: r.project,
        publicKeys: Object.fromEntries(r.sshKeys.map((k, n) => [`key-${n}`, k])),
        ...(r.userData !== undefined ? { userData: r.userData } : {}),
      };
    }
    return undefined;
  }

  private specOf(r: VmRecord): VmSpec {
    const { o } = this;
    const nics = r.nics.map((n) => ({ type: "tap" as const, ifname: portDeviceName(n.port, "tap"), mac: n.mac }));
    const base = { id: r.id, vcpus: r.vcpus, memoryMiB: r.memoryMiB, nics, ...(o.netns ? { netns: o.netns } : {}), ...(r.machine ? { machine: r.machine } : {}) };
    const volumes = this.volumes?.disksOf(r) ?? [];
    if (r.boot.kind === "kernel") {
      return { ...base, disks: volumes, boot: { kernel: join(o.imageDir, r.boot.file), ...(r.boot.initrdFile ? { initrd: join(o.imageDir, r.boot.initrdFile) } : {}), ...(r.boot.cmdline ? { cmdline: r.boot.cmdline } : {}) } };
    }
    return { ...base, machine: "q35", disks: [{ path: join(o.stateDir, "disks", `${r.id}.qcow2`), format: "qcow2" }, ...volumes] };
  }

  private async desired(): Promise<DesiredState> {
    const { o } = this;
    await this.volumes?.prepare();
    const all = await o.store.list<VmRecord>(keys.kind("vms"));
    const statuses = new Map((await o.store.list<VmStatusRecord>(keys.kind("status"))).map((d) => [d.key.slice(keys.kind("status").length), d.value]));
    const mine = new Map<string, VmRecord>();
    const vms = new Map<string, DesiredVm>();
    const onHost = new Set(await o.hypervisor.list());
    for (const { value: r } of all) {
      if (r.host !== o.host.name) continue;
      mine.set(r.id, r);
      if (r.deleting || r.error || !r.netReady) {
        if (r.deleting && !onHost.has(r.id)) await this.report({ id: r.id, state: "absent" }, undefined);
        continue;
      }
      vms.set(r.id, { state: r.desired, spec: this.specOf(r), stopDeadlineMs: r.stopDeadlineMs, rebootSeq: r.rebootSeq, appliedRebootSeq: statuses.get(r.id)?.rebootSeq ?? 0 });
    }
    this.mine = mine;
    if (this.proxies) {
      const names = namespaceNames(o.nsPrefix ?? "photon-");
      const vpcs = new Map<number, string>();
      for (const r of mine.values()) if (!r.deleting && !r.error) for (const n of r.nics) vpcs.set(n.vni, n.vpc);
      await this.proxies.sync([...vpcs].map(([vni, vpc]) => ({ vni, vpc, netns: [names.router(vni), names.dhcp(vni)] })));
    }
    return { vms, errors: [] };
  }

  /** Holds a launch back until the taps exist; creates a disk image's overlay. */
  private async prepare(want: DesiredVm): Promise<string | undefined> {
    const { o } = this;
    const id = want.spec.id;
    for (const n of want.spec.nics) {
      if (n.type !== "tap") continue;
      const r = Bun.spawnSync(["ip", ...(o.netns ? ["-n", o.netns] : []), "-o", "link", "show", "dev", n.ifname], { stdout: "ignore", stderr: "ignore" });
      if (r.exitCode !== 0) {
        const reason = `waiting for novanet to create tap ${n.ifname}`;
        this.waiting.set(id, reason);
        return reason;
      }
    }
    const rec = this.mine.get(id);
    if (rec?.boot.kind === "disk") {
      const overlay = join(o.stateDir, "disks", `${id}.qcow2`);
      if (!existsSync(overlay)) {
        const size = rec.diskGiB > 0 ? [`${rec.diskGiB}G`] : [];
        const r = Bun.spawnSync(["qemu-img", "create", "-q", "-f", "qcow2", "-b", join(o.imageDir, rec.boot.file), "-F", rec.boot.format, overlay, ...size], { stderr: "pipe" });
        if (r.exitCode !== 0) {
          this.waiting.delete(id);
          throw new Error(`cannot create the disk overlay: ${r.stderr.toString().trim()}`);
        }
      }
    }
    this.waiting.delete(id);
    return undefined;
  }

  private async report(vm: ObservedVm, want: DesiredVm | undefined): Promise<void> {
    const { o } = this;
    const gone = !want && vm.state === "absent";
    if (gone) rmSync(join(o.stateDir, "disks", `${vm.id}.qcow2`), { force: true });
    const state: VmStatusRecord["state"] = gone ? "removed"
      : vm.state === "absent" ? (vm.reason && this.waiting.get(vm.id) !== vm.reason ? "failed" : "launching")
      : vm.state;
    const st: Omit<VmStatusRecord, "updatedAt"> = {
      host: o.host.name, state, rebootSeq: vm.rebootSeq ?? 0,
      ...(vm.reason ? { reason: vm.reason } : {}), ...(vm.pid ? { pid: vm.pid } : {}), ...(vm.accelerator ? { accelerator: vm.accelerator } : {}), ...(vm.machine ? { machine: vm.machine } : {}),
    };
    const text = JSON.stringify(st);
    const log = state === "running" || state === "paused" || state === "stopped" ? tail(vmPaths(o.runDir, vm.id, o.socketDir).consoleLog) : undefined;
    if (this.reported.get(vm.id) === text && (log === undefined || this.consoles.get(vm.id) === log)) return;
    await o.store.transact(async (tx) => {
      const doc = await tx.get<VmRecord>(keys.doc("vms", vm.id));
      if (!doc || doc.host !== o.host.name) return; // deleted (no stale status), or not this host's to report
      tx.put(keys.status(vm.id), { ...st, updatedAt: new Date().toISOString() });
      if (log !== undefined && this.consoles.get(vm.id) !== log) tx.put(keys.console(vm.id), { log });
    });
    this.reported.set(vm.id, text);
    if (log !== undefined) this.consoles.set(vm.id, log);
    if (gone) {
      this.reported.delete(vm.id);
      this.consoles.delete(vm.id);
    }
  }
}
