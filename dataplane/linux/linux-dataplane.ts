/**
 * The Linux VPC data plane: per VPC a bridge and a VXLAN device (static fdb + proxy-ARP neighbour
 * entries, no flood-and-learn), ports as veth pairs or taps, stateful security groups in one nft
 * table with a conntrack zone per VPC, DHCP and routers in network namespaces of their own.
 * See docs/adr/0006-linux-dataplane.md for the layout and the reasons.
 *
 * Convergence: observe (a few `-json` queries) → plan (pure diff) → run batches. Every object
 * is named so the driver recognises it after a restart, and a device is marked complete (its
 * ifalias) only once fully configured, so an apply interrupted anywhere is finished by the next.
 *
 * Incremental applies: after a successful apply the driver remembers what it left on the host
 * (belief.ts). A changed state is planned against that belief — no observation — and the
 * security-group tables are patched chain by chain; a one-port change then costs the few
 * processes that carry it (nft patch ∥ host batch, the VM batch, the marker batch). An unchanged
 * state, the first apply, an apply with `full`, one after `fullEveryMs`, and any incremental apply
 * that meets a surprise (a failed command, a planning problem) observe the host for real.
 */
import { existsSync, readdirSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { createLogger, type Logger } from "../../lib/log.ts";
import { DataplaneErrors } from "../errors.ts";
import type { ApplyOptions, ApplyResult, HostNetworkInspection, HostNetworkState, VpcDataplane, VpcInspection } from "../vpc-dataplane.ts";
import { believedHost } from "./belief.ts";
import { planDhcp, configureDhcpNs, dnsmasqPid, ensureDnsmasq, stopDnsmasq, type DhcpPlan } from "./dhcp.ts";
import { CommandRunner } from "./exec.ts";
import {
  bridgeName, namespaceNames, portDeviceName, vniOfDevice, vxlanName, type NamespaceNames,
} from "./names.ts";
import { cpuListToMask, steerDevices } from "./packet-steering.ts";
import { patchTables, renderHostTables, NFT_TABLE, type RenderedTables } from "./nft-secgroups.ts";
import { observeHost, type Observed } from "./observe.ts";
import { planHost, type Line, type VpcExtras } from "./plan-host.ts";
import { configureRouterNs, planRouter } from "./router.ts";
import { validateState, type NState } from "./validate.ts";

/** Options of {@link LinuxVpcDataplane}. */
export interface LinuxVpcDataplaneOptions {
  /** Network namespace to manage as "the host"; unset = the namespace this process runs in. */
  netns?: string;
  /** Prefix of the namespaces the driver creates (default `photon-`); keeps drivers apart. */
  nsPrefix?: string;
  /** Where dnsmasq files live (default `/run/photon/novanet`). */
  stateDir?: string;
  logger?: Logger;
  /**
   * Test hook called after each phase of an apply (`deletes`, `namespaces`, `nft`, `creates`,
   * `inside`, `fdb`, `markers`, `dhcp`); used to simulate a crash half-way.
   */
  onStep?: (step: string) => void | Promise<void>;
  /** Longest time between two full observations of the host (default 30 000 ms; 0: always observe). */
  fullEveryMs?: number;
  /**
   * CPUs (`1`, `1-3,6`) that receive what ports' host ends and VXLAN devices receive (RPS;
   * ADR 0023); unset: no steering. @throws from the constructor on a malformed list.
   */
  packetCpus?: string;
}

/** What the driver left on the host after its last successful apply. */
interface Belief {
  /** The desired state as given (JSON), to tell an unchanged state (a resync) from a change. */
  key: string;
  state: NState;
  extras: Map<number, VpcExtras>;
  tables: RenderedTables;
  /** Non-owned link names from the last full observation. */
  allLinks: Set<string>;
}

/**
 * The Linux driver.
 * @example
 * const dp = new LinuxVpcDataplane();
 * await dp.apply({ underlayIp: "192.0.2.1", vpcs: [...], securityGroups: [...] });
 */
export class LinuxVpcDataplane implements VpcDataplane {
  readonly run: CommandRunner;
  private readonly ns: NamespaceNames;
  private readonly stateDir: string;
  private readonly log: Logger;
  private readonly onStep: ((step: string) => void | Promise<void>) | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly fullEveryMs: number;
  /** The `rps_cpus` bitmap of `packetCpus`; undefined: no steering. */
  private readonly packetMask: string | undefined;
  private belief: Belief | undefined;
  private lastFull = 0;
  /** Applies planned against the belief (no observation) that completed, and those that fell back. */
  readonly stats = { incremental: 0, full: 0, fallbacks: 0 };

  constructor(options: LinuxVpcDataplaneOptions = {}) {
    this.run = new CommandRunner(options.netns);
    this.ns = namespaceNames(options.nsPrefix ?? "photon-");
    this.stateDir = options.stateDir ?? "/run/photon/novanet";
    this.log = options.logger ?? createLogger("novanet-dataplane");
    this.onStep = options.onStep;
    this.fullEveryMs = options.fullEveryMs ?? 30_000;
    this.packetMask = options.packetCpus ? cpuListToMask(options.packetCpus, cpus().length) : undefined;
  }

  /** Converges the host to `desired` (calls are serialised). See {@link VpcDataplane.apply}. */
  async apply(desired: HostNetworkState, options: ApplyOptions = {}): Promise<ApplyResult> {
    const state = validateState(desired);
    const key = JSON.stringify(desired);
    return this.serialise(async () => {
      const b = this.belief;
      let done: string[] = [];
      if (!options.full && b && b.key !== key && performance.now() - this.lastFull < this.fullEveryMs) {
        try {
          const r = await this.converge(state, key, b);
          this.stats.incremental++;
          return r;
        } catch (e) {
          this.stats.fallbacks++;
          // What the attempt changed is part of this apply's result.
          const details = (e as { details?: { actions?: string[] } }).details;
          done = details?.actions ?? [];
          this.log.warn("incremental apply met a surprise; observing the host", { error: (e as Error).message });
        }
      }
      const r = await this.converge(state, key, undefined);
      this.stats.full++;
      return done.length ? { changes: done.length + r.changes, actions: [...done, ...r.actions] } : r;
    });
  }

  /** Removes everything the driver owns on the host. */
  teardown(): Promise<ApplyResult> {
    return this.serialise(() => this.converge({ underlayIp: "0.0.0.0", vpcs: [], securityGroups: new Map() }, "", undefined));
  }

  private serialise<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async step(name: string): Promise<void> {
    if (this.onStep) await this.onStep(name);
  }

  /** One pass: against the belief `from` (incremental) or a fresh observation (full). */
  private async converge(state: NState, key: string, from: Belief | undefined): Promise<ApplyResult> {
    this.belief = undefined; // until this pass has succeeded
    const obs: Observed = from
      ? believedHost(from.state, from.extras, from.allLinks, { families: [], chains: 0, rules: 0, elements: 0 })
      : await observeHost(this.run);
    if (from) {
      // VMs' namespaces come and go without us: look them up (a stat each, no process).
      for (const v of state.vpcs) {
        for (const p of v.ports) if (p.device.kind === "veth" && existsSync(`/run/netns/${p.device.netns}`)) obs.netns.add(p.device.netns);
      }
    }
    const extras = new Map<number, VpcExtras>();
    const dhcpPlans: DhcpPlan[] = [];
    for (const v of state.vpcs) {
      const router = planRouter(v, this.ns.router(v.vni), this.stateDir);
      const dhcp = planDhcp(v, this.ns.dhcp(v.vni), this.stateDir);
      if (dhcp) dhcpPlans.push(dhcp);
      if (router?.ra) dhcpPlans.push(router.ra);
      extras.set(v.vni, { ...(router ? { router } : {}), ...(dhcp ? { dhcp } : {}) });
    }
    const plan = planHost(state, obs, this.ns, extras);
    if (from && plan.errors.length) throw new Error(plan.errors.map((e) => e.message).join("; "));
    const actions: string[] = [];
    const errors = [...plan.errors];
    const failed = new Set(errors.map((e) => e.owner));

    // 1. Deletions: stale devices, stale namespaces (their dnsmasq first).
    const wantedDhcpDirs = new Set(dhcpPlans.map((d) => d.dir));
    for (const dir of this.ownedDhcpDirs()) {
      if (!wantedDhcpDirs.has(dir) && (await stopDnsmasq(dir))) actions.push(`stop dnsmasq ${dir}`);
    }
    await this.batch(undefined, plan.deletes, actions, errors, failed);
    for (const n of plan.nsDel) {
      await this.tryRun(["ip", "netns", "del", n], `ns:${n}`, actions, errors, failed);
    }
    await this.step("deletes");
    for (const n of plan.nsAdd) {
      await this.tryRun(["ip", "netns", "add", n], `ns:${n}`, actions, errors, failed);
    }
    await this.step("namespaces");

    // 2. Security groups and devices. A new port's VM end comes up only in step 3, so its first
    // packet is filtered even though the tables load while the devices are created.
    const tables = renderHostTables(state);
    let nftScript: string | undefined;
    if (from) nftScript = patchTables(from.tables, tables) ?? tables.script;
    else {
      const nftSame = tables.present
        ? obs.nft.hash === tables.hash && obs.nft.chains === tables.chains && obs.nft.rules === tables.rules &&
          obs.nft.elements === tables.elements &&
          obs.nft.families.length === 2
        : obs.nft.families.length === 0;
      if (!nftSame) nftScript = tables.script;
    }
    const loadNft = async () => {
      if (!nftScript) return;
      try {
        await this.run.nftLoad(undefined, nftScript);
        actions.push(
          nftScript !== tables.script
            ? `nft patch table ${NFT_TABLE} (${nftScript.split("\n").length - 1} commands)`
            : tables.present ? `nft replace table ${NFT_TABLE} (${tables.rules} rules)` : `nft delete table ${NFT_TABLE}`,
        );
      } catch (e) {
        errors.push({ owner: "nft", message: (e as Error).message });
      }
    };
    // Forwarding entries need their VXLAN device: with none being created they go along too.
    const fdbNow = !plan.creates.some((l) => l.line.includes(" type vxlan "));
    await Promise.all([
      loadNft(),
      this.batch(undefined, plan.creates.filter((l) => !failed.has(l.owner)), actions, errors, failed),
      fdbNow ? this.bridgeBatch(plan.fdb, actions, errors, failed) : undefined,
    ]);
    await this.step("nft");
    await this.step("creates");

    // 3. Inside namespaces: VM ends, routers, DHCP addresses; VXLAN forwarding entries if not yet (in parallel).
    await Promise.all([
      ...[...plan.vm].map(([ns, lines]) => this.batch(ns, lines.filter((l) => !failed.has(l.owner)), actions, errors, failed)),
      ...plan.routers.map(async (rp) => {
        const owner = `router:${this.ns.vniOf(rp.ns)?.vni}`;
        if (failed.has(owner)) return;
        try {
          actions.push(...(await configureRouterNs(this.run, rp)));
        } catch (e) {
          errors.push({ owner, message: (e as Error).message });
          failed.add(owner);
        }
      }),
      ...plan.dhcpNs.map(async (dp) => {
        const owner = `dhcp:${this.ns.vniOf(dp.ns)?.vni}`;
        if (failed.has(owner)) return;
        try {
          actions.push(...(await configureDhcpNs(this.run, dp)));
        } catch (e) {
          errors.push({ owner, message: (e as Error).message });
          failed.add(owner);
        }
      }),
      fdbNow ? undefined : this.bridgeBatch(plan.fdb, actions, errors, failed),
      this.steer(state, from, failed, actions, errors),
    ]);
    await this.step("inside");
    await this.step("fdb");

    // 5. Completion markers, last.
    await this.batch(undefined, plan.markers.filter((l) => !failed.has(l.owner)), actions, errors, failed);
    await this.step("markers");

    // 6. dnsmasq: running with the current files.
    for (const dp of dhcpPlans) {
      const o = this.ns.vniOf(dp.ns);
      const owner = `${o?.kind}:${o?.vni}`;
      if (failed.has(owner)) continue;
      try {
        actions.push(...(await ensureDnsmasq(this.run, dp)));
      } catch (e) {
        errors.push({ owner, message: (e as Error).message });
      }
    }
    await this.step("dhcp");

    if (actions.length) this.log.info("applied", { changes: actions.length, netns: this.run.hostNetns, incremental: from !== undefined });
    if (errors.length) {
      throw DataplaneErrors.CommandFailed(`apply incomplete: ${errors.map((e) => e.message).join("; ")}`, {
        details: { errors, actions },
      });
    }
    const allLinks = from ? from.allLinks : new Set([...obs.allLinks].filter((n) => !obs.links.has(n)));
    this.belief = { key, state, extras, tables, allLinks };
    if (!from) this.lastFull = performance.now();
    return { changes: actions.length, actions };
  }

  /**
   * Steers the receive side of ports' host ends and VXLAN devices to `packetCpus` (ADR 0023):
   * every such device on a full pass, the new ones on an incremental pass.
   */
  private async steer(state: NState, from: Belief | undefined, failed: Set<string>, actions: string[], errors: { owner: string; message: string }[]): Promise<void> {
    if (!this.packetMask) return;
    const devices = (s: NState) =>
      s.vpcs.flatMap((v) => [vxlanName(v.vni), ...v.ports.filter((p) => !failed.has(p.id)).map((p) => portDeviceName(p.id, p.device.kind))]);
    const before = new Set(from ? devices(from.state) : []);
    const todo = devices(state).filter((d) => !before.has(d));
    if (todo.length === 0) return;
    try {
      await steerDevices(this.run, todo, this.packetMask);
      actions.push(`steer ${todo.length} device(s) to CPUs ${this.packetMask}`);
    } catch (e) {
      errors.push({ owner: "steer", message: (e as Error).message });
    }
  }

  private ownedDhcpDirs(): string[] {
    try {
      return readdirSync(this.stateDir)
        .filter((n) => this.ns.vniOf(n) !== undefined)
        .map((n) => join(this.stateDir, n));
    } catch {
      return [];
    }
  }

  private async tryRun(argv: string[], owner: string, actions: string[], errors: { owner: string; message: string }[], failed: Set<string>) {
    try {
      await this.run.run(argv);
      actions.push(argv.join(" "));
    } catch (e) {
      errors.push({ owner, message: (e as Error).message });
      failed.add(owner);
    }
  }

  /** Runs an ip batch with -force; a failing line fails only its owner. */
  private async batch(ns: string | undefined, lines: Line[], actions: string[], errors: { owner: string; message: string }[], failed: Set<string>) {
    if (lines.length === 0) return;
    const out = await this.run.raw(this.run.ipArgs(ns, ["-force", "-batch", "-"]), lines.map((l) => l.line).join("\n") + "\n");
    this.collect(out, lines, ns ? `ip -n ${ns}` : "ip", actions, errors, failed);
  }

  private async bridgeBatch(lines: Line[], actions: string[], errors: { owner: string; message: string }[], failed: Set<string>) {
    if (lines.length === 0) return;
    const h = this.run.hostNetns;
    const argv = h === undefined ? ["bridge", "-force", "-batch", "-"] : ["bridge", "-n", h, "-force", "-batch", "-"];
    const out = await this.run.raw(argv, lines.map((l) => l.line).join("\n") + "\n");
    this.collect(out, lines, "bridge", actions, errors, failed);
  }

  private collect(
    out: { code: number; stderr: string },
    lines: Line[],
    tool: string,
    actions: string[],
    errors: { owner: string; message: string }[],
    failed: Set<string>,
  ) {
    const bad = new Set<number>();
    if (out.code !== 0) {
      for (const m of out.stderr.matchAll(/Command failed -:(\d+)/g)) bad.add(Number(m[1]) - 1);
      // A parse error ends the batch without "Command failed": everything is suspect.
      if (bad.size === 0) lines.forEach((_, i) => bad.add(i));
    }
    lines.forEach((l, i) => {
      if (bad.has(i)) {
        failed.add(l.owner);
        errors.push({ owner: l.owner, message: `${tool} ${l.line}: ${out.stderr.trim().split("\n")[0] ?? ""}` });
      } else actions.push(`${tool} ${l.line}`);
    });
  }

  /** Reports the driver's objects on the host. */
  async inspect(): Promise<HostNetworkInspection> {
    const obs = await observeHost(this.run);
    const vpcs = new Map<number, VpcInspection>();
    const vpc = (vni: number): VpcInspection => {
      let v = vpcs.get(vni);
      if (!v) {
        v = { vni, ports: [], fdb: [], neighbours: [] };
        vpcs.set(vni, v);
      }
      return v;
    };
    const bridgeVni = new Map<string, number>();
    for (const l of obs.links.values()) {
      const vni = vniOfDevice(l.name);
      if (vni === undefined) continue;
      if (l.name === bridgeName(vni)) {
        vpc(vni).bridge = l.name;
        bridgeVni.set(l.name, vni);
      }
      if (l.name === vxlanName(vni) && l.vxlan) {
        vpc(vni).vxlan = { name: l.name, vni: l.vxlan.id, learning: l.vxlan.learning, ...(l.vxlan.local ? { local: l.vxlan.local } : {}) };
        for (const [mac, dst] of obs.fdbSelf.get(l.name) ?? []) vpc(vni).fdb.push({ mac, dst });
        for (const [ip, mac] of obs.neigh.get(l.name) ?? []) vpc(vni).neighbours.push({ ip, mac });
      }
    }
    for (const l of obs.links.values()) {
      if (!/^pc[pt]-/.test(l.name)) continue;
      const vni = l.master ? bridgeVni.get(l.master) : undefined;
      vpc(vni ?? 0).ports.push({ device: l.name, kind: l.kind ?? "unknown", up: l.up, complete: l.alias?.startsWith("photon:") ?? false });
    }
    for (const n of obs.netns) {
      const o = this.ns.vniOf(n);
      if (!o) continue;
      if (o.kind === "router") vpc(o.vni).routerNetns = n;
      else {
        const pid = dnsmasqPid(join(this.stateDir, n));
        vpc(o.vni).dhcp = { netns: n, ...(pid !== undefined ? { pid } : {}) };
      }
    }
    return {
      vpcs: [...vpcs.values()].sort((a, b) => a.vni - b.vni),
      nftables: {
        tables: obs.nft.families.map((f) => `${f} ${NFT_TABLE}`),
        chains: obs.nft.chains,
        rules: obs.nft.rules,
        ...(obs.nft.hash ? { stateHash: obs.nft.hash } : {}),
      },
    };
  }
}
