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
 *
 * The rendered text's hash is stored in a rule comment (chain `state`), so an unchanged state is
 * detected without reloading.
 */
import type { SecurityGroupRule } from "../vpc-dataplane.ts";
import { bridgeName, portDeviceName, specHash } from "./names.ts";
import type { NPort, NState, NVpc } from "./validate.ts";

/** Name of the tables (inet and bridge families). */
export const NFT_TABLE = "photon_novanet";

/** The rendered tables. */
export interface RenderedTables {
  /** The nft script: replaces both tables atomically (or deletes them when nothing is needed). */
  script: string;
  /** Hash of the desired content (stored in the inet table's `state` chain). */
  hash: string;
  /** Chains and rules the loaded tables will hold (for drift detection). */
  chains: number;
  rules: number;
  /** False when no table is needed (no VPC on the host). */
  present: boolean;
}

const hex = (n: number) => n.toString(16);
const portKey = (p: NPort) => portDeviceName(p.id, p.device.kind).slice(4);
const groupKey = (id: string) => specHash(id).slice(0, 10);

function ruleMatch(r: SecurityGroupRule, dir: "ingress" | "egress"): string | undefined {
  const fam = r.ethertype ?? "ipv4";
  const kw = fam === "ipv4" ? "ip" : "ip6";
  const field = dir === "ingress" ? "saddr" : "daddr";
  const parts = [`meta nfproto ${fam}`];
  if (r.remote) {
    if ("cidr" in r.remote) {
      if (!/\/0$/.test(r.remote.cidr)) parts.push(`${kw} ${field} ${r.remote.cidr}`);
    } else {
      const members = [...new Set(r.remote.memberIps.filter((ip) => ip.includes(":") === (fam === "ipv6")))].sort();
      if (members.length === 0) return undefined; // a group with no members matches nothing
      parts.push(`${kw} ${field} { ${members.join(", ")} }`);
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

/** Renders both tables for `state`. Pure; deterministic for equal input. */
export function renderHostTables(state: NState): RenderedTables {
  const del = `table inet ${NFT_TABLE}\ndelete table inet ${NFT_TABLE}\ntable bridge ${NFT_TABLE}\ndelete table bridge ${NFT_TABLE}\n`;
  if (state.vpcs.length === 0) return { script: del, hash: "", chains: 0, rules: 0, present: false };
  let chains = 0;
  let rules = 0;
  const chain = (name: string, body: string[], head?: string) => {
    chains++;
    rules += body.length;
    return `  chain ${name} {\n${head ? `    ${head}\n` : ""}${body.map((l) => `    ${l}\n`).join("")}  }\n`;
  };

  const out: string[] = [];
  const zoneMap = state.vpcs.map((v) => `"${bridgeName(v.vni)}" : ${v.ctZone}`).join(", ");
  out.push(chain("prerouting", [`ct zone set iifname map { ${zoneMap} }`], "type filter hook prerouting priority raw; policy accept;"));

  const filtered = state.vpcs.filter((v) => v.ports.some((p) => p.securityGroups.length > 0));
  const fwd = filtered.map((v) => `"${bridgeName(v.vni)}" : goto vpc_${hex(v.vni)}`);
  out.push(chain("forward", fwd.length ? [`iifname vmap { ${fwd.join(", ")} }`] : [], "type filter hook forward priority filter; policy accept;"));
  for (const v of filtered) out.push(...renderVpc(v, state, chain));

  const inetBody = out.join("");
  const bridgeBody = renderPortSecurity(state, chain);
  const hash = specHash([inetBody, bridgeBody]);
  const stateChain = chain("state", [`accept comment "photon:${hash}"`]);
  const script =
    del +
    `table inet ${NFT_TABLE} {\n${stateChain}${inetBody}}\n` +
    `table bridge ${NFT_TABLE} {\n${bridgeBody}}\n`;
  return { script, hash, chains, rules, present: true };
}

function renderVpc(v: NVpc, state: NState, chain: (n: string, b: string[], h?: string) => string): string[] {
  const x = hex(v.vni);
  const ing = `ing_${x}`;
  const guarded = v.ports.filter((p) => p.securityGroups.length > 0 && p.ips.length > 0);
  const out: string[] = [];
  const egMap = guarded.flatMap((p) => p.ips.map((ip) => `${ip} : goto eg_${portKey(p)}`));
  const inMap = guarded.flatMap((p) => p.ips.map((ip) => `${ip} : goto in_${portKey(p)}`));
  out.push(
    chain(`vpc_${x}`, [
      "ct state established,related accept",
      "ct state invalid counter drop",
      ...(egMap.length ? [`ip saddr vmap { ${egMap.join(", ")} }`] : []),
      `goto ${ing}`,
    ]),
  );
  out.push(chain(ing, [...(inMap.length ? [`ip daddr vmap { ${inMap.join(", ")} }`] : []), "accept"]));
  const groups = new Set<string>();
  for (const p of guarded) {
    const k = portKey(p);
    // Implicit: DHCP to the server and its replies, so a filtered port can still get its address.
    out.push(
      chain(`eg_${k}`, [
        `udp sport 68 udp dport 67 goto ${ing}`,
        ...p.securityGroups.map((g) => `jump sge_${x}_${groupKey(g)}`),
        "counter drop",
      ]),
    );
    out.push(
      chain(`in_${k}`, [
        "udp sport 67 udp dport 68 accept",
        ...p.securityGroups.map((g) => `jump sgi_${x}_${groupKey(g)}`),
        "counter drop",
      ]),
    );
    p.securityGroups.forEach((g) => groups.add(g));
  }
  for (const g of [...groups].sort()) {
    const sg = state.securityGroups.get(g)!;
    const eg: string[] = [];
    const inn: string[] = [];
    for (const r of sg.rules) {
      const m = ruleMatch(r, r.direction);
      if (m === undefined) continue;
      if (r.direction === "egress") eg.push(`${m} goto ${ing}`);
      else inn.push(`${m} accept`);
    }
    out.push(chain(`sge_${x}_${groupKey(g)}`, eg));
    out.push(chain(`sgi_${x}_${groupKey(g)}`, inn));
  }
  return out;
}

function renderPortSecurity(state: NState, chain: (n: string, b: string[], h?: string) => string): string {
  const out: string[] = [];
  const map: string[] = [];
  for (const v of state.vpcs) {
    for (const p of v.ports) {
      if (p.portSecurity === false) continue;
      const dev = portDeviceName(p.id, p.device.kind);
      const k = portKey(p);
      map.push(`"${dev}" : goto ps_${k}`);
      const ips = [...new Set(p.ips)].sort();
      out.push(
        chain(`ps_${k}`, [
          `ether saddr != ${p.mac} counter drop`,
          `ether type arp arp saddr ether ${p.mac} arp saddr ip { ${["0.0.0.0", ...ips].join(", ")} } accept`,
          ...(ips.length ? [`ether type ip ip saddr { ${ips.join(", ")} } accept`] : []),
          "ether type ip ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 accept",
          "ether type ip6 ip6 saddr { ::, fe80::/10 } icmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert } accept",
          "ether type ip6 ip6 saddr :: ip6 daddr ff02::/16 icmpv6 type 143 accept",
          "counter drop",
        ]),
      );
    }
  }
  const head = "type filter hook prerouting priority -200; policy accept;";
  return chain("prerouting", map.length ? [`iifname vmap { ${map.join(", ")} }`] : [], head) + out.join("");
}
