/**
 * DHCP for a VPC on one host: dnsmasq in the VPC's own namespace (tenant CIDRs overlap), on the
 * `dhcp0` leg only, static leases only (each local port's MAC gets its fixed IP; unknown MACs get
 * nothing), `--no-ping`, no DNS service (`port=0`), no resolv.conf, no hosts file: it looks nothing
 * up anywhere. Host and option files are re-read on SIGHUP, so adding a port does not restart it;
 * a change of subnets rewrites the main file and restarts it.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import type { CommandRunner } from "./exec.ts";
import { cidrContains } from "./ipv4.ts";
import { INNER, doneAlias } from "./names.ts";
import type { NVpc } from "./validate.ts";

/** Everything the DHCP namespace and its dnsmasq must hold. */
export interface DhcpPlan {
  ns: string;
  dir: string;
  addrs: string[];
  conf: string;
  hosts: string;
  opts: string;
  /** Completion marker for the DHCP leg's ifalias (addresses). */
  alias: string;
}

function maskOf(prefix: number): string {
  const m = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return `${m >>> 24}.${(m >>> 16) & 255}.${(m >>> 8) & 255}.${m & 255}`;
}

/** Plans DHCP for `v`; undefined when no subnet has DHCP. */
export function planDhcp(v: NVpc, ns: string, stateDir: string): DhcpPlan | undefined {
  const subnets = v.subnets.filter((s) => s.dhcp).sort((a, b) => a.network.localeCompare(b.network));
  if (subnets.length === 0) return undefined;
  const dir = join(stateDir, ns);
  const conf = [
    `interface=${INNER.dhcp}`,
    "bind-interfaces",
    "except-interface=lo",
    "port=0",
    "no-resolv",
    "no-hosts",
    "no-poll",
    "no-ping",
    "dhcp-authoritative",
    "leasefile-ro",
    `pid-file=${join(dir, "dnsmasq.pid")}`,
    `log-facility=${join(dir, "dnsmasq.log")}`,
    `dhcp-hostsfile=${join(dir, "hosts")}`,
    `dhcp-optsfile=${join(dir, "opts")}`,
    ...subnets.map(
      (s, i) => `dhcp-range=set:sn${i},${s.network.split("/")[0]},static,${maskOf(s.net.prefix)},${s.dhcp!.leaseSeconds ?? 86400}s`,
    ),
  ].join("\n") + "\n";
  const opts = subnets
    .flatMap((s, i) => [
      `tag:sn${i},option:router${s.gatewayIp ? `,${s.gatewayIp}` : ""}`,
      `tag:sn${i},option:dns-server${s.dhcp!.dnsServers.map((d) => `,${d}`).join("")}`,
      `tag:sn${i},option:mtu,${v.mtu}`,
    ])
    .join("\n") + "\n";
  const hosts = v.ports
    .flatMap((p) => p.ips.filter((ip) => subnets.some((s) => cidrContains(s.net, ip))).slice(0, 1).map((ip) => `${p.mac},${ip}`))
    .sort()
    .join("\n") + "\n";
  const addrs = subnets.map((s) => `${s.dhcp!.serverIp}/${s.net.prefix}`).sort();
  return { ns, dir, addrs, conf, hosts, opts, alias: doneAlias({ addrs, mtu: v.mtu }) };
}

interface AddrInfo {
  ifname: string;
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

/** Converges the DHCP leg's addresses inside the namespace. Returns the changes. */
export async function configureDhcpNs(run: CommandRunner, plan: DhcpPlan): Promise<string[]> {
  const addrs = await run.ipJson<AddrInfo>(plan.ns, ["addr", "show", "dev", INNER.dhcp]);
  const have = new Set((addrs[0]?.addr_info ?? []).filter((a) => a.family === "inet").map((a) => `${a.local}/${a.prefixlen}`));
  const lines = ["link set lo up", `link set ${INNER.dhcp} addrgenmode none`, `link set ${INNER.dhcp} up`];
  for (const a of have) if (!plan.addrs.includes(a)) lines.push(`addr del ${a} dev ${INNER.dhcp}`);
  for (const a of plan.addrs) if (!have.has(a)) lines.push(`addr add ${a} dev ${INNER.dhcp}`);
  await run.ipBatch(plan.ns, lines);
  return lines.map((l) => `ip -n ${plan.ns} ${l}`);
}

/**
 * The pid of the dnsmasq serving `dir`, if it runs — and, when `ns` is given, runs inside that
 * namespace (a namespace deleted and re-added under the same name is a different one).
 */
export function dnsmasqPid(dir: string, ns?: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dir, "dnsmasq.pid"), "utf8").trim());
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    if (!cmdline.includes(join(dir, "dnsmasq.conf"))) return undefined;
    if (ns !== undefined && statSync(`/proc/${pid}/ns/net`).ino !== statSync(`/run/netns/${ns}`).ino) return -pid;
    return pid;
  } catch {
    return undefined;
  }
}

function readOr(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

function writeAtomic(path: string, data: string): void {
  writeFileSync(`${path}.tmp`, data, { mode: 0o644 });
  renameSync(`${path}.tmp`, path);
}

/** Stops the dnsmasq of `dir` (if running) and removes its files. */
export async function stopDnsmasq(dir: string): Promise<boolean> {
  const found = dnsmasqPid(dir);
  const pid = found === undefined ? undefined : Math.abs(found);
  if (pid !== undefined) {
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      /* already gone */
    }
    for (let i = 0; i < 100 && existsSync(`/proc/${pid}`); i++) await Bun.sleep(5);
  }
  rmSync(dir, { recursive: true, force: true });
  return pid !== undefined;
}

/**
 * Makes dnsmasq run with the plan's files: writes what differs, SIGHUPs for host/option changes,
 * (re)starts it when the main file changed or it is not running. Returns the changes.
 */
export async function ensureDnsmasq(run: CommandRunner, plan: DhcpPlan): Promise<string[]> {
  mkdirSync(plan.dir, { recursive: true, mode: 0o755 });
  const actions: string[] = [];
  const confPath = join(plan.dir, "dnsmasq.conf");
  const confChanged = readOr(confPath) !== plan.conf;
  let reread = false;
  for (const [name, data] of [["hosts", plan.hosts], ["opts", plan.opts]] as const) {
    const p = join(plan.dir, name);
    if (readOr(p) !== data) {
      writeAtomic(p, data);
      reread = true;
      actions.push(`write ${p}`);
    }
  }
  if (confChanged) {
    writeAtomic(confPath, plan.conf);
    actions.push(`write ${confPath}`);
  }
  let pid = dnsmasqPid(plan.dir, plan.ns);
  if (pid !== undefined && (confChanged || pid < 0)) {
    pid = Math.abs(pid);
    process.kill(pid, "SIGTERM");
    for (let i = 0; i < 100 && existsSync(`/proc/${pid}`); i++) await Bun.sleep(5);
    pid = undefined;
    actions.push(`stop dnsmasq ${plan.ns}`);
  }
  if (pid === undefined) {
    await run.run(["ip", "netns", "exec", plan.ns, "dnsmasq", `--conf-file=${confPath}`]);
    actions.push(`start dnsmasq ${plan.ns}`);
  } else if (reread) {
    process.kill(pid, "SIGHUP");
    actions.push(`reload dnsmasq ${plan.ns}`);
  }
  return actions;
}
