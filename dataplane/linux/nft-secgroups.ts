/**
 * Renders the host's security-group tables, replaced atomically as a whole by one `nft -f -`:
 *
 * - `table inet photon_novanet`: sets each VPC bridge's conntrack zone in prerouting (priority raw,
 *   before conntrack) so overlapping tenant CIDRs never share a conntrack entry; in forward, each
 *   VPC bridge jumps to its chain: established/related accepted, invalid dropped, then the source
 *   port's egress chain (keyed by source IP — a port is (bridge, IP)), then the destination port's
 *   ingress chain (keyed by destination IP). Egress rules `goto` the VPC's ingress dispatcher on a
 *   match, ingress rules `accept`; both chains end in a counted drop (default deny).
 * - `table bridge photon_novanet`: anti-spoofing per port on the bridge port itself (the inet hooks
 *   only see the bridge), so the IP that identifies a port in the inet table is really its own.
 * - The VXLAN packets themselves (UDP 4789 to and from this host's underlay address) are not
 *   tracked (`notrack` in prerouting and output at priority raw): the tenant flow inside is already
 *   tracked in its VPC's zone, and tracking the outer one too cost a second lookup per packet and
 *   one more entry per inner flow (the VXLAN source port is a hash of it) — measured in
 *   docs/benchmarks/novanet-overlay-throughput.md.
 *
 * Everything that grows with the ports is a named map or set updated by element: the address →
 * port-chain dispatch maps of each VPC (`eg4_`/`eg6_`/`in4_`/`in6_<vni>`), the bridge port → anti-
 * spoofing chain map (`ports`), and the members of each remote group (`gm4_`/`gm6_<vni>_<group>`).
 * So a port create patches a constant amount: its own chains and a few elements.
 *
 * The rendered text's hash is stored in a rule comment (chain `state`), so an unchanged state is
 * detected without reloading. Both families are filtered: IPv4 and IPv6 addresses each have their
 * dispatch map; ICMPv6 neighbour discovery (which conntrack sees as invalid) is always allowed, as
 * are DHCP and DHCPv6 between a port and the VPC's DHCP server.
 *
 * A change is loaded either as the whole tables (first apply, full resync) or as a patch against
 * the tables last loaded ({@link patchTables}): only the chains that differ are flushed and
 * refilled, new chains added, stale ones deleted — one `nft -f -` transaction either way.
 */
import { isIPv6 } from "node:net";
import type { SecurityGroupRule } from "../vpc-dataplane.ts";
import { bridgeName, portDeviceName, specHash } from "./names.ts";
import type { NPort, NState, NVpc } from "./validate.ts";

/** The VXLAN devices' UDP port (plan-host.ts creates them with `dstport 4789`). */
export const VXLAN_PORT = 4789;

/** Name of the tables (inet and bridge families). */
export const NFT_TABLE = "photon_novanet";

/** One chain of the tables: `family` is `inet` or `bridge`; `head` holds a base chain's hook. */
export interface NftChain {
  family: "inet" | "bridge";
  name: string;
  head?: string;
  rules: string[];
}

/** A named set or map: its declaration and its elements (key → element text). */
export interface NftSet {
  family: "inet" | "bridge";
  kind: "set" | "map";
  name: string;
  /** `type ipv4_addr : verdict;` */
  decl: string;
  elements: Map<string, string>;
}

/** The rendered tables. */
export interface RenderedTables {
  /** The nft script: replaces both tables atomically (or deletes them when nothing is needed). */
  script: string;
  /** Hash of the desired content (stored in the inet table's `state` chain). */
  hash: string;
  /** Chains, rules and set/map elements the loaded tables will hold (for drift detection). */
  chains: number;
  rules: number;
  elements: number;
  /** False when no table is needed (no VPC on the host). */
  present: boolean;
  /** The chains, keyed `family name` (what {@link patchTables} diffs). */
  chainMap: Map<string, NftChain>;
  /** The named sets and maps, keyed `family name`. */
  setMap: Map<string, NftSet>;
}

const hex = (n: number) => n.toString(16);
const portKey = (p: NPort) => portDeviceName(p.id, p.device.kind).slice(4);
const groupKey = (id: string) => specHash(id).slice(0, 10);
const v4Of = (ips: readonly string[]) => ips.filter((ip) => !isIPv6(ip));
const v6Of = (ips: readonly string[]) => ips.filter((ip) => isIPv6(ip));
/** ICMPv6 neighbour discovery: untracked by conntrack (`ct state invalid`), always allowed. */
const ND = "icmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert } accept";
const addrType = (fam: "ipv4" | "ipv6") => (fam === "ipv4" ? "ipv4_addr" : "ipv6_addr");

/** Collects what one render produces. */
class Out {
  readonly chains: NftChain[] = [];
  readonly sets = new Map<string, NftSet>();
  chain(family: NftChain["family"], name: string, rules: string[], head?: string): void {
    this.chains.push({ family, name, rules, ...(head ? { head } : {}) });
  }
  /** Declares (once) a named set or map and returns it. */
  set(family: NftSet["family"], kind: NftSet["kind"], name: string, decl: string): NftSet {
    const key = `${family} ${name}`;
    let s = this.sets.get(key);
    if (!s) {
      s = { family, kind, name, decl, elements: new Map() };
      this.sets.set(key, s);
    }
    return s;
  }
}

function ruleMatch(r: SecurityGroupRule, dir: "ingress" | "egress", x: string, out: Out): string {
  const fam = r.ethertype ?? "ipv4";
  const kw = fam === "ipv4" ? "ip" : "ip6";
  const field = dir === "ingress" ? "saddr" : "daddr";
  const parts = [`meta nfproto ${fam}`];
  if (r.remote) {
    if ("cidr" in r.remote) {
      if (!/\/0$/.test(r.remote.cidr)) parts.push(`${kw} ${field} ${r.remote.cidr}`);
    } else {
      // The group's members as a named set: a member joining or leaving is one element, and an
      // empty set matches nothing (a group without members allows nothing).
      const set = out.set("inet", "set", `gm${fam === "ipv4" ? 4 : 6}_${x}_${groupKey(r.remote.groupId)}`, `type ${addrType(fam)};`);
      for (const ip of r.remote.memberIps) if (ip.includes(":") === (fam === "ipv6")) set.elements.set(ip, ip);
      parts.push(`${kw} ${field} @${set.name}`);
    }
  }
  const proto = r.protocol;
  if (proto === "tcp" || proto === "udp") {
    const lo = r.portMin ?? 0;
    const hi = r.portMax ?? 65535;
    if (lo === 0 && hi === 65535) parts.push(`meta l4proto ${proto}`);
    else parts.push(`${proto} dport ${lo === hi ? lo : `${lo}-${hi}`}`);
  } else if (proto === "icmp" || proto === "icmpv6") {
    if (r.icmpType === undefined) parts.push(`meta l4proto ${proto === "icmp" ? "icmp" : "ipv6-icmp"}`);
    else {
      parts.push(`${proto} type ${r.icmpType}`);
      if (r.icmpCode !== undefined) parts.push(`${proto} code ${r.icmpCode}`);
    }
  } else if (typeof proto === "number") {
    parts.push(`meta l4proto ${proto}`);
  }
  return parts.join(" ");
}

const DELETE_BOTH = `table inet ${NFT_TABLE}\ndelete table inet ${NFT_TABLE}\ntable bridge ${NFT_TABLE}\ndelete table bridge ${NFT_TABLE}\n`;

function chainText(c: NftChain): string {
  return `  chain ${c.name} {\n${c.head ? `    ${c.head}\n` : ""}${c.rules.map((l) => `    ${l}\n`).join("")}  }\n`;
}
const setText = (s: NftSet) => `  ${s.kind} ${s.name} { ${s.decl} }\n`;
const sortedElements = (s: NftSet) => [...s.elements.keys()].sort().map((k) => s.elements.get(k)!);
const addElements = (s: NftSet, els: string[]) => `add element ${s.family} ${NFT_TABLE} ${s.name} { ${els.join(", ")} }`;

/** Renders both tables for `state`. Pure; deterministic for equal input. */
export function renderHostTables(state: NState): RenderedTables {
  if (state.vpcs.length === 0) {
    return { script: DELETE_BOTH, hash: "", chains: 0, rules: 0, elements: 0, present: false, chainMap: new Map(), setMap: new Map() };
  }
  const out = new Out();
  const zoneMap = state.vpcs.map((v) => `"${bridgeName(v.vni)}" : ${v.ctZone}`).join(", ");
  out.chain("inet", "prerouting", [`ip daddr ${state.underlayIp} udp dport ${VXLAN_PORT} notrack`, `ct zone set iifname map { ${zoneMap} }`], "type filter hook prerouting priority raw; policy accept;");
  out.chain("inet", "output", [`ip saddr ${state.underlayIp} udp dport ${VXLAN_PORT} notrack`], "type filter hook output priority raw; policy accept;");

  const filtered = state.vpcs.filter((v) => v.ports.some((p) => p.securityGroups.length > 0));
  const fwd = filtered.map((v) => `"${bridgeName(v.vni)}" : goto vpc_${hex(v.vni)}`);
  out.chain("inet", "forward", fwd.length ? [`iifname vmap { ${fwd.join(", ")} }`] : [], "type filter hook forward priority filter; policy accept;");
  for (const v of filtered) renderVpc(v, state, out);
  renderPortSecurity(state, out);

  const sets = [...out.sets.values()].sort((a, b) => `${a.family} ${a.name}`.localeCompare(`${b.family} ${b.name}`));
  const body = (fam: NftChain["family"]) =>
    sets.filter((s) => s.family === fam).map(setText).join("") + out.chains.filter((c) => c.family === fam).map(chainText).join("");
  const inetBody = body("inet");
  const bridgeBody = body("bridge");
  const elementLines = sets.filter((s) => s.elements.size > 0).map((s) => addElements(s, sortedElements(s)));
  const hash = specHash([inetBody, bridgeBody, elementLines]);
  const stateChain: NftChain = { family: "inet", name: "state", rules: [`accept comment "photon:${hash}"`] };
  const all = [stateChain, ...out.chains];
  const script =
    DELETE_BOTH +
    `table inet ${NFT_TABLE} {\n${chainText(stateChain)}${inetBody}}\n` +
    `table bridge ${NFT_TABLE} {\n${bridgeBody}}\n` +
    elementLines.map((l) => `${l}\n`).join("");
  return {
    script,
    hash,
    chains: all.length,
    rules: all.reduce((n, c) => n + c.rules.length, 0),
    elements: sets.reduce((n, s) => n + s.elements.size, 0),
    present: true,
    chainMap: new Map(all.map((c) => [`${c.family} ${c.name}`, c])),
    setMap: new Map(sets.map((s) => [`${s.family} ${s.name}`, s])),
  };
}

/**
 * The script that turns the loaded tables `from` into `to` in one transaction: new sets and
 * chains are added, stale elements deleted, changed chains flushed and refilled, new elements
 * added, then removed chains and sets flushed and deleted (nothing refers to them any more by
 * then). Undefined when a table appears or disappears or a base chain changes (load `to.script`
 * then); an empty string when nothing differs.
 */
export function patchTables(from: RenderedTables, to: RenderedTables): string | undefined {
  if (!from.present || !to.present) return from.present === to.present ? "" : undefined;
  const T = NFT_TABLE;
  const out: string[] = [];
  const refill: NftChain[] = [];
  for (const [key, s] of to.setMap) {
    const old = from.setMap.get(key);
    if (old && (old.decl !== s.decl || old.kind !== s.kind)) return undefined;
    if (!old) out.push(`add ${s.kind} ${s.family} ${T} ${s.name} { ${s.decl} }`);
  }
  for (const [key, c] of to.chainMap) {
    const old = from.chainMap.get(key);
    if (old && old.head !== c.head) return undefined;
    if (!old) {
      if (c.head) return undefined;
      out.push(`add chain ${c.family} ${T} ${c.name}`);
    }
    if (!old || old.rules.length !== c.rules.length || old.rules.some((r, i) => r !== c.rules[i])) refill.push(c);
  }
  const adds: string[] = [];
  for (const [key, s] of to.setMap) {
    const old = from.setMap.get(key);
    const gone = old ? [...old.elements.keys()].filter((k) => old.elements.get(k) !== s.elements.get(k)) : [];
    if (gone.length) out.push(`delete element ${s.family} ${T} ${s.name} { ${gone.sort().join(", ")} }`);
    const fresh = [...s.elements.keys()].filter((k) => old?.elements.get(k) !== s.elements.get(k)).sort();
    if (fresh.length) adds.push(addElements(s, fresh.map((k) => s.elements.get(k)!)));
  }
  for (const [key, s] of from.setMap) {
    if (!to.setMap.has(key) && s.elements.size) out.push(`flush ${s.kind} ${s.family} ${T} ${s.name}`);
  }
  for (const c of refill) {
    if (from.chainMap.has(`${c.family} ${c.name}`)) out.push(`flush chain ${c.family} ${T} ${c.name}`);
    for (const r of c.rules) out.push(`add rule ${c.family} ${T} ${c.name} ${r}`);
  }
  out.push(...adds);
  for (const [key, c] of from.chainMap) {
    if (to.chainMap.has(key)) continue;
    if (c.head) return undefined;
    out.push(`flush chain ${c.family} ${T} ${c.name}`, `delete chain ${c.family} ${T} ${c.name}`);
  }
  for (const [key, s] of from.setMap) if (!to.setMap.has(key)) out.push(`delete ${s.kind} ${s.family} ${T} ${s.name}`);
  return out.length ? out.join("\n") + "\n" : "";
}

function renderVpc(v: NVpc, state: NState, out: Out): void {
  const x = hex(v.vni);
  const ing = `ing_${x}`;
  const guarded = v.ports.filter((p) => p.securityGroups.length > 0 && p.ips.length > 0);
  const dispatch = (fam: "ip" | "ip6", field: "saddr" | "daddr", target: "eg" | "in") => {
    const m = out.set("inet", "map", `${target}${fam === "ip" ? 4 : 6}_${x}`, `type ${fam === "ip" ? "ipv4_addr" : "ipv6_addr"} : verdict;`);
    for (const p of guarded) for (const ip of (fam === "ip" ? v4Of : v6Of)(p.ips)) m.elements.set(ip, `${ip} : goto ${target}_${portKey(p)}`);
    return `${fam} ${field} vmap @${m.name}`;
  };
  out.chain("inet", `vpc_${x}`, [
    ND,
    "ct state established,related accept",
    "ct state invalid counter drop",
    dispatch("ip", "saddr", "eg"),
    dispatch("ip6", "saddr", "eg"),
    `goto ${ing}`,
  ]);
  out.chain("inet", ing, [dispatch("ip", "daddr", "in"), dispatch("ip6", "daddr", "in"), "accept"]);
  const groups = new Set<string>();
  for (const p of guarded) {
    const k = portKey(p);
    // Implicit: DHCP(v6) to the server and its replies, so a filtered port can still get its address.
    out.chain("inet", `eg_${k}`, [
      `udp sport 68 udp dport 67 goto ${ing}`,
      `udp sport 546 udp dport 547 goto ${ing}`,
      ...p.securityGroups.map((g) => `jump sge_${x}_${groupKey(g)}`),
      "counter drop",
    ]);
    out.chain("inet", `in_${k}`, [
      "udp sport 67 udp dport 68 accept",
      "udp sport 547 udp dport 546 accept",
      ...p.securityGroups.map((g) => `jump sgi_${x}_${groupKey(g)}`),
      "counter drop",
    ]);
    p.securityGroups.forEach((g) => groups.add(g));
  }
  for (const g of [...groups].sort()) {
    const sg = state.securityGroups.get(g)!;
    const eg: string[] = [];
    const inn: string[] = [];
    for (const r of sg.rules) {
      const m = ruleMatch(r, r.direction, x, out);
      if (r.direction === "egress") eg.push(`${m} goto ${ing}`);
      else inn.push(`${m} accept`);
    }
    out.chain("inet", `sge_${x}_${groupKey(g)}`, eg);
    out.chain("inet", `sgi_${x}_${groupKey(g)}`, inn);
  }
}

function renderPortSecurity(state: NState, out: Out): void {
  const ports = out.set("bridge", "map", "ports", "type ifname : verdict;");
  out.chain("bridge", "prerouting", ["iifname vmap @ports"], "type filter hook prerouting priority -200; policy accept;");
  for (const v of state.vpcs) {
    for (const p of v.ports) {
      if (p.portSecurity === false) continue;
      const dev = portDeviceName(p.id, p.device.kind);
      const k = portKey(p);
      ports.elements.set(`"${dev}"`, `"${dev}" : goto ps_${k}`);
      const ips = [...new Set(v4Of(p.ips))].sort();
      const ips6 = [...new Set(v6Of(p.ips))].sort();
      out.chain("bridge", `ps_${k}`, [
        `ether saddr != ${p.mac} counter drop`,
        `ether type arp arp saddr ether ${p.mac} arp saddr ip { ${["0.0.0.0", ...ips].join(", ")} } accept`,
        ...(ips.length ? [`ether type ip ip saddr { ${ips.join(", ")} } accept`] : []),
        "ether type ip ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 accept",
        ...(ips6.length ? [`ether type ip6 ip6 saddr { ${ips6.join(", ")} } accept`] : []),
        "ether type ip6 ip6 saddr { ::, fe80::/10 } icmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert } accept",
        "ether type ip6 ip6 saddr :: ip6 daddr ff02::/16 icmpv6 type 143 accept",
        "ether type ip6 ip6 saddr fe80::/10 ip6 daddr ff02::/16 icmpv6 type 143 accept",
        "ether type ip6 ip6 saddr fe80::/10 ip6 daddr ff02::1:2 udp sport 546 udp dport 547 accept",
        "counter drop",
      ]);
    }
  }
}
