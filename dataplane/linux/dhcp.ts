/**
 * DHCP for a VPC on one host: dnsmasq in the VPC's own namespace (tenant CIDRs overlap), on the
 * `dhcp0` leg only, static leases only (each local port's MAC gets its fixed IP; unknown MACs get
 * nothing), `--no-ping`, no DNS service (`port=0`), no resolv.conf, no hosts file: it looks nothing
 * up anywhere. Host and option files are re-read on SIGHUP, so adding a port does not restart it;
 * a change of subnets rewrites the main file and restarts it.
 *
 * IPv6 subnets get stateful DHCPv6 from the same dnsmasq (the port's MAC → its fixed IPv6
 * address, found through the neighbour table) and router advertisements with the Managed flag and
 * a router lifetime of 0: they tell clients to ask DHCPv6 but never make the DHCP namespace a
 * router. The VPC router's namespace advertises itself as the default router (router.ts). See
 * docs/adr/0016-novanet-linux-ipv6-and-incremental-apply.md.
 *
 * Metadata on router-less subnets: an IPv4 subnet without a gateway has no router namespace (where
 * the metadata proxy listens), so its clients are handed a classless static route (option 121)
 * for {@link METADATA_IP}/32 via the DHCP server's address, and the DHCP namespace holds that
 * address on `lo`: cloud-init reaches 169.254.169.254 through the DHCP port, as with Neutron's
 * isolated metadata. Subnets with a gateway route it through the router as before.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import type { CommandRunner } from "./exec.ts";
import { cidrContains, linkLocalOf } from "./ip.ts";
import { INNER, dhcpMac, doneAlias } from "./names.ts";
import type { NSubnet, NVpc } from "./validate.ts";

/** The instance metadata address (cloud-init's data source). */
export const METADATA_IP = "169.254.169.254";

/** Everything the DHCP namespace and its dnsmasq must hold. */
export interface DhcpPlan {
  ns: string;
  dir: string;
  addrs: string[];
  /** Whether the namespace answers {@link METADATA_IP} (some IPv4 DHCP subnet has no gateway). */
  metadata: boolean;
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
  const has6 = subnets.some((s) => s.net.version === 6);
  const lease = (s: NSubnet) => `${s.dhcp!.leaseSeconds ?? 86400}s`;
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
    ...subnets.map((s, i) =>
      s.net.version === 4
        ? `dhcp-range=set:sn${i},${s.network.split("/")[0]},static,${maskOf(s.net.prefix)},${lease(s)}`
        : `dhcp-range=set:sn${i},${s.network.split("/")[0]},static,${s.net.prefix},${lease(s)}`,
    ),
    // Managed-flag advertisements, never a default router (lifetime 0): the router namespace is.
    ...(has6 ? ["enable-ra", `ra-param=${INNER.dhcp},mtu:${v.mtu},60,0`] : []),
  ].join("\n") + "\n";
  const opts = subnets
    .flatMap((s, i) =>
      s.net.version === 4
        ? [
            `tag:sn${i},option:router${s.gatewayIp ? `,${s.gatewayIp}` : ""}`,
            `tag:sn${i},option:dns-server${s.dhcp!.dnsServers.map((d) => `,${d}`).join("")}`,
            `tag:sn${i},option:mtu,${v.mtu}`,
            // Router-less: the metadata address through the DHCP port (option 121).
            ...(s.gatewayIp ? [] : [`tag:sn${i},option:classless-static-route,${METADATA_IP}/32,${s.dhcp!.serverIp}`]),
          ]
        : [`tag:sn${i},option6:dns-server${s.dhcp!.dnsServers.filter((d) => d.includes(":")).map((d) => `,[${d}]`).join("")}`],
    )
    .join("\n") + "\n";
  const inDhcp = (ip: string) => subnets.some((s) => cidrContains(s.net, ip));
  const hosts = v.ports
    .flatMap((p) => {
      const v4 = p.ips.filter((ip) => !ip.includes(":") && inDhcp(ip)).slice(0, 1);
      const v6 = p.ips.filter((ip) => ip.includes(":") && inDhcp(ip)).slice(0, 1).map((ip) => `[${ip}]`);
      return v4.length + v6.length ? [[p.mac, ...v4, ...v6].join(",")] : [];
    })
    .sort()
    .join("\n") + "\n";
  const addrs = [
    ...subnets.map((s) => `${s.dhcp!.serverIp}/${s.net.prefix}`),
    ...(has6 ? [`${linkLocalOf(dhcpMac(v.vni))}/64`] : []),
  ].sort();
  const metadata = subnets.some((s) => s.net.version === 4 && !s.gatewayIp);
  return { ns, dir, addrs, metadata, conf, hosts, opts, alias: doneAlias({ addrs, mtu: v.mtu, ...(metadata ? { metadata } : {}) }) };
}

/** One interface's addresses as `ip -json addr show` reports them. */
export interface AddrInfo {
  ifname: string;
  addr_info?: { family: string; local: string; prefixlen: number; scope?: string }[];
}

/**
 * Batch lines that make `dev`'s addresses (both families; the interface generates none itself,
 * addrgenmode none) exactly `want`. IPv6 addresses skip duplicate-address detection: the
 * addresses are novanet's to give and must be usable at once.
 */
export function addrLines(dev: string, cur: AddrInfo | undefined, want: readonly string[]): string[] {
  const have = new Set((cur?.addr_info ?? []).filter((a) => a.family === "inet" || a.family === "inet6").map((a) => `${a.local}/${a.prefixlen}`));
  const lines: string[] = [];
  for (const a of have) if (!want.includes(a)) lines.push(`addr del ${a} dev ${dev}`);
  for (const a of want) if (!have.has(a)) lines.push(a.includes(":") ? `addr add ${a} dev ${dev} nodad` : `addr add ${a} dev ${dev}`);
  return lines;
}

/** Converges the DHCP leg's addresses (and the metadata address on `lo`) inside the namespace. Returns the changes. */
export async function configureDhcpNs(run: CommandRunner, plan: DhcpPlan): Promise<string[]> {
  const addrs = await run.ipJson<AddrInfo>(plan.ns, ["addr", "show"]);
  const lo = addrs.find((a) => a.ifname === "lo");
  const hasMetadata = (lo?.addr_info ?? []).some((a) => a.local === METADATA_IP && a.prefixlen === 32);
  const lines = [
    "link set lo up",
    `link set ${INNER.dhcp} addrgenmode none`,
    `link set ${INNER.dhcp} up`,
    ...addrLines(INNER.dhcp, addrs.find((a) => a.ifname === INNER.dhcp), plan.addrs),
    ...(plan.metadata && !hasMetadata ? [`addr add ${METADATA_IP}/32 dev lo`] : []),
    ...(!plan.metadata && hasMetadata ? [`addr del ${METADATA_IP}/32 dev lo`] : []),
  ];
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

/**
 * Whether a hosts file change takes a binding away (an address no longer bound, or bound to
 * another MAC): lines are `MAC,addr[,addr]`.
 */
export function releasedBindings(before: string, after: string): boolean {
  const bound = (text: string) => {
    const m = new Map<string, string>();
    for (const line of text.split("\n")) {
      const [mac, ...addrs] = line.trim().split(",");
      if (mac) for (const a of addrs) m.set(a, mac);
    }
    return m;
  };
  const now = bound(after);
  for (const [addr, mac] of bound(before)) if (now.get(addr) !== mac) return true;
  return false;
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
  // dnsmasq keeps leases in memory (leasefile-ro) and will not give an address leased to one MAC
  // to another until the lease expires: when a binding goes away or moves to another MAC (a
  // port deleted, its address handed to the next port), restart it to drop its leases (clients
  // of the remaining bindings just renew). New bindings only need a reread (SIGHUP).
  const released = releasedBindings(readOr(join(plan.dir, "hosts")) ?? "", plan.hosts);
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
  if (pid !== undefined && (confChanged || pid < 0 || released)) {
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
