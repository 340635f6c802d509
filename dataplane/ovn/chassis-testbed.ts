/**
 * Test support: a throw-away OVN deployment in network namespaces — an OVN central
 * ({@link startOvnCentral}), "hypervisor hosts" as namespaces each running its own ovsdb-server,
 * ovs-vswitchd (userspace datapath, `datapath_type=netdev`: this kernel has no openvswitch
 * module) and ovn-controller, joined by an underlay veth carrying Geneve, an "external" network
 * on the gateway host, and "VMs" as namespaces plugged into br-int with `iface-id` = the port's
 * logical switch port. Every namespace starts with the lab's tag and every daemon is stopped by
 * PID, so `destroy()` leaves nothing behind. Nothing is created in the root namespace.
 */
import { mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findBinary } from "../../lib/ovsdb/test-server.ts";
import { must, netnsUnavailable } from "../linux/testbed.ts";
import { ovnUnavailable, startOvnCentral, type OvnCentral } from "./testbed.ts";

/** The probe program the Linux testbed uses (tcp-listen[6] / udp-echo / tcp-connect / udp-ask). */
const PROBE = join(import.meta.dir, "..", "linux", "testdata", "probe.ts");

async function run(argv: string[]): Promise<{ code: number; out: string }> {
  const p = Bun.spawn(argv, { stdout: "pipe", stderr: "ignore" });
  const [out, code] = await Promise.all([new Response(p.stdout).text(), p.exited]);
  return { code, out: out.trim() };
}

/** Open vSwitch's schema (Debian's openvswitch-common). */
export const VSWITCH_SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema";

/** Why the chassis lab cannot run here, or undefined. */
export async function ovnLabUnavailable(): Promise<string | undefined> {
  const o = ovnUnavailable() ?? (await netnsUnavailable());
  if (o) return o;
  for (const b of ["ovs-vswitchd", "ovs-vsctl", "ovn-controller", "ethtool"]) if (!findBinary(b)) return `${b} not installed`;
  if (!(await Bun.file(VSWITCH_SCHEMA).exists())) return `${VSWITCH_SCHEMA} missing (apt-get install openvswitch-switch)`;
  return undefined;
}

/** One hypervisor host. */
export interface LabHost {
  name: string;
  ns: string;
  dir: string;
  underlayIp: string;
  /** ovs-vsctl against this host's database. */
  vsctl(...args: string[]): Promise<string>;
}

/** The lab. */
export class OvnLab {
  central!: OvnCentral;
  readonly hosts: LabHost[] = [];
  readonly ext: string;
  readonly dir: string;
  private readonly procs: ReturnType<typeof Bun.spawn>[] = [];
  private readonly servers: ReturnType<typeof Bun.spawn>[] = [];

  constructor(readonly tag: string) {
    this.ext = `${tag}-ext`;
    this.dir = join(tmpdir(), `${tag}-ovnlab`);
  }

  private spawn(ns: string, argv: string[], dir: string): void {
    const env = { ...process.env, OVS_RUNDIR: dir, OVN_RUNDIR: dir, OVS_LOGDIR: dir, OVN_LOGDIR: dir, OVS_DBDIR: dir };
    this.procs.push(Bun.spawn(["ip", "netns", "exec", ns, ...argv], { env, stdout: "ignore", stderr: "ignore" }));
  }

  /**
   * Starts the central and two hosts (`h1` 192.0.2.1 is the gateway chassis with the external
   * network 203.0.113.0/24 behind `physnet1`; `h2` 192.0.2.2), joined by an underlay veth.
   */
  async create(): Promise<void> {
    rmSync(this.dir, { recursive: true, force: true });
    mkdirSync(this.dir, { recursive: true });
    this.central = await startOvnCentral();
    const [h1, h2] = [`${this.tag}-h1`, `${this.tag}-h2`];
    for (const n of [h1, h2, this.ext]) await must(["ip", "netns", "add", n]);
    await must(["ip", "-n", h1, "-batch", "-"], [
      `link add ul0 type veth peer name ul0 netns ${h2}`,
      "link set ul0 up",
      "link set lo up",
      `link add extp type veth peer name eth0 netns ${this.ext}`,
      "link set extp up",
    ].join("\n") + "\n");
    await must(["ip", "-n", h2, "-batch", "-"], "link set ul0 up\nlink set lo up\n");
    await must(["ip", "-n", this.ext, "-batch", "-"], "addr add 203.0.113.1/24 dev eth0\nlink set eth0 up\nlink set lo up\nroute add default via 203.0.113.10\n");
    await must(["ip", "netns", "exec", this.ext, "ethtool", "-K", "eth0", "tx", "off"]);
    await Promise.all([this.host("h1", h1, "192.0.2.1", true), this.host("h2", h2, "192.0.2.2", false)]);
  }

  private async host(name: string, ns: string, ip: string, gateway: boolean): Promise<void> {
    const dir = join(this.dir, name);
    mkdirSync(dir);
    const db = join(dir, "conf.db");
    await must([findBinary("ovsdb-tool")!, "create", db, VSWITCH_SCHEMA]);
    const sock = join(dir, "db.sock");
    this.spawn(ns, [findBinary("ovsdb-server")!, `--remote=punix:${sock}`, `--unixctl=${join(dir, "db.ctl")}`, `--log-file=${join(dir, "db.log")}`, "-vconsole:off", db], dir);
    const vsctl = (...args: string[]) => must([findBinary("ovs-vsctl")!, `--db=unix:${sock}`, "--timeout=10", ...args]);
    const h: LabHost = { name, ns, dir, underlayIp: ip, vsctl };
    for (let i = 0; i < 200; i++) {
      if (await Bun.file(sock).exists()) break;
      await Bun.sleep(10);
    }
    await vsctl("--no-wait", "init");
    this.spawn(ns, [findBinary("ovs-vswitchd")!, `unix:${sock}`, `--unixctl=${join(dir, "vs.ctl")}`, `--log-file=${join(dir, "vs.log")}`, "-vconsole:off"], dir);
    // br-phy carries the underlay: userspace tunnels leave through an OVS bridge holding the tunnel IP.
    await vsctl(
      "add-br", "br-int", "--", "set", "bridge", "br-int", "datapath_type=netdev", "fail-mode=secure", "other-config:disable-in-band=true",
      "--", "add-br", "br-phy", "--", "set", "bridge", "br-phy", "datapath_type=netdev",
      "--", "add-port", "br-phy", "ul0",
      ...(gateway ? ["--", "add-br", "br-ext", "--", "set", "bridge", "br-ext", "datapath_type=netdev", "--", "add-port", "br-ext", "extp"] : []),
    );
    await must(["ip", "-n", ns, "-batch", "-"], `addr add ${ip}/24 dev br-phy\nlink set br-phy up\n`);
    await vsctl(
      "set", "open_vswitch", ".",
      `external_ids:system-id=${name}`,
      `external_ids:ovn-remote=${this.central.sb.remote}`,
      "external_ids:ovn-encap-type=geneve",
      `external_ids:ovn-encap-ip=${ip}`,
      "external_ids:ovn-bridge-datapath-type=netdev",
      ...(gateway ? ["external_ids:ovn-bridge-mappings=physnet1:br-ext"] : []),
    );
    this.spawn(ns, [findBinary("ovn-controller")!, `unix:${sock}`, `--log-file=${join(dir, "controller.log")}`, "-vconsole:off"], dir);
    this.hosts.push(h);
  }

  /** Host by name. */
  hostOf(name: string): LabHost {
    return this.hosts.find((h) => h.name === name)!;
  }

  /**
   * A "VM": namespace `<tag>-vm-<name>` whose eth0 (MTU 1442: Geneve inside 1500) is plugged into
   * `host`'s br-int as logical port `lsp`. With `ip` the address and default route are set; without,
   * the VM is left for DHCP.
   */
  async vm(name: string, host: string, lsp: string, mac: string, ip?: string, gateway?: string): Promise<string> {
    const h = this.hostOf(host);
    const ns = `${this.tag}-vm-${name}`;
    const dev = `v-${name}`;
    await must(["ip", "netns", "add", ns]);
    await must(["ip", "-n", h.ns, "-batch", "-"], `link add ${dev} type veth peer name eth0 netns ${ns}\nlink set ${dev} mtu 1442 up\n`);
    const lines = ["link set lo up", `link set eth0 address ${mac} mtu 1442 up`];
    if (ip) lines.push(`addr add ${ip} dev eth0`);
    if (ip && gateway) lines.push(`route add default via ${gateway}`);
    await must(["ip", "-n", ns, "-batch", "-"], lines.join("\n") + "\n");
    // veth leaves TCP/UDP checksums to "hardware" (TX offload); the userspace datapath reads the
    // frame from an AF_PACKET socket and would send it on (and into Geneve) unfinished.
    await must(["ip", "netns", "exec", ns, "ethtool", "-K", "eth0", "tx", "off"]);
    await h.vsctl("add-port", "br-int", dev, "--", "set", "interface", dev, `external_ids:iface-id=${lsp}`);
    return ns;
  }

  /** True when `ns` gets an echo reply from `ip` within `tries` one-second attempts. */
  async ping(ns: string, ip: string, tries = 1): Promise<boolean> {
    for (let i = 0; i < tries; i++) if ((await run(["ip", "netns", "exec", ns, "ping", "-n", "-q", "-c", "1", "-W", "1", ip])).code === 0) return true;
    return false;
  }

  /** A probe client in `ns`: the answer (the address the server saw), or undefined. */
  async ask(ns: string, kind: "tcp-connect" | "udp-ask", ip: string, port: number): Promise<string | undefined> {
    const r = await run(["ip", "netns", "exec", ns, process.execPath, PROBE, kind, ip, String(port), "800"]);
    return r.code === 0 ? r.out : undefined;
  }

  /** Starts a probe server in `ns` (ended by `destroy`) once it listens. */
  async serve(ns: string, kind: "tcp-listen" | "tcp-listen6" | "udp-echo", port: number): Promise<void> {
    const p = Bun.spawn(["ip", "netns", "exec", ns, process.execPath, PROBE, kind, String(port)], { stdout: "pipe", stderr: "inherit" });
    this.servers.push(p);
    const reader = p.stdout.getReader();
    const { value } = await reader.read();
    if (!new TextDecoder().decode(value).includes("ready")) throw new Error(`probe ${kind} did not start in ${ns}`);
    reader.releaseLock();
  }

  /** Waits until `count` ports of `dp` are up (ovn-controller installed their flows). */
  async waitPortsUp(dp: { inspect(): Promise<{ vpcs: { ports: { up?: boolean }[] }[] }> }, count: number, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const ports = (await dp.inspect()).vpcs.flatMap((v) => v.ports);
      if (ports.length === count && ports.every((p) => p.up)) return;
      if (Date.now() > deadline) throw new Error(`ports not up: ${JSON.stringify(ports)}`);
      await Bun.sleep(50);
    }
  }

  /**
   * Pings each (namespace, address) pair until it answers: the userspace datapath resolves a
   * tunnel peer's MAC (ARP on br-phy) on the first packet to it, which that packet does not
   * survive, so both directions are warmed up before a test asserts anything.
   */
  async warmUp(pairs: readonly (readonly [string, string])[]): Promise<void> {
    for (const [ns, ip] of pairs) if (!(await this.ping(ns, ip, 10))) throw new Error(`${ns} never reached ${ip}`);
  }

  /** Stops every daemon (by PID), removes every namespace and file of the lab. Safe to call twice. */
  async destroy(): Promise<void> {
    for (const p of this.servers.splice(0)) p.kill("SIGKILL");
    for (const p of this.procs.reverse()) {
      if (p.exitCode === null) {
        p.kill("SIGTERM");
        const t = setTimeout(() => p.exitCode === null && p.kill("SIGKILL"), 2000);
        await p.exited;
        clearTimeout(t);
      }
    }
    this.procs.length = 0;
    await this.central?.stop();
    const list = Bun.spawnSync(["ip", "-json", "netns", "list"]).stdout.toString().trim();
    const names = list ? (JSON.parse(list) as { name: string }[]).map((n) => n.name) : [];
    for (const n of names) if (n.startsWith(`${this.tag}-`)) Bun.spawnSync(["ip", "netns", "del", n]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
