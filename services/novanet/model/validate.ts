/**
 * Validation of what callers ask for, pure: CIDRs (well-formed, no host bits, not too small),
 * subnets inside their VPC and apart from each other, gateways, pools and DNS servers, fixed IPs,
 * MACs and security-group rules. Each check throws a `NOVANET:*` error naming the field, before
 * anything is written.
 */
import { isIP } from "node:net";
import { NovanetErrors } from "../errors.ts";
import type { AllocationPool, SecurityGroupRule, Subnet } from "../types.ts";
import { bigToIp, canonicalIp, ipToBig, netOverlap, netText, netWithin, parseNet, type Net } from "./cidr.ts";
import { assignable, defaultPools } from "./ipam.ts";

/** The smallest networks accepted (longest prefixes): a /29 holds 5 ports beside gateway and DHCP. */
export const MAX_PREFIX = { subnet: { 4: 29, 6: 124 }, vpc: { 4: 29, 6: 124 } } as const;
/** The largest VPC accepted (shortest prefix). */
export const MIN_VPC_PREFIX = { 4: 8, 6: 48 } as const;

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** A resource name: 1-63 of letters, digits, `.`, `_`, `-`, starting with a letter or digit. */
export function checkName(name: string | undefined, field = "name"): string {
  if (name === undefined || name === "") return "";
  if (!NAME.test(name)) throw NovanetErrors.InvalidArgument(`${field} ${JSON.stringify(name)} must be 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit`, { details: { field } });
  return name;
}

/** Parses a network for `field`, refusing malformed CIDRs, host bits and networks outside [min, max] prefix. */
export function checkNet(cidr: unknown, field: string, kind: "vpc" | "subnet"): Net {
  if (typeof cidr !== "string" || cidr === "") throw NovanetErrors.InvalidCidr(`${field} is required (a network such as 10.0.0.0/24)`, { details: { field } });
  const loose = parseNet(cidr, false);
  if (!loose) throw NovanetErrors.InvalidCidr(`${field} ${JSON.stringify(cidr)} is not a network in CIDR form (10.0.0.0/24)`, { details: { field } });
  if (!parseNet(cidr)) throw NovanetErrors.InvalidCidr(`${field} ${JSON.stringify(cidr)} has host bits set; did you mean ${netText(loose)}?`, { details: { field } });
  const v = loose.version;
  if (loose.prefix > MAX_PREFIX[kind][v]) throw NovanetErrors.InvalidCidr(`${field} ${cidr} is too small: the longest prefix accepted for a ${kind} is /${MAX_PREFIX[kind][v]}`, { details: { field } });
  if (kind === "vpc" && loose.prefix < MIN_VPC_PREFIX[v]) throw NovanetErrors.InvalidCidr(`${field} ${cidr} is too large: the shortest prefix accepted for a VPC is /${MIN_VPC_PREFIX[v]}`, { details: { field } });
  return loose;
}

/** An address for `field` in canonical form. */
export function checkIp(ip: unknown, field: string, version?: 4 | 6): string {
  const c = typeof ip === "string" ? canonicalIp(ip) : undefined;
  if (!c || (version !== undefined && isIP(c) !== version)) throw NovanetErrors.InvalidArgument(`${field} ${JSON.stringify(ip)} is not an IPv${version ?? "4/6"} address`, { details: { field } });
  return c;
}

/** What a subnet create asks for. */
export interface SubnetSpec {
  cidr: string;
  gatewayIp?: string;
  dhcp?: boolean;
  dnsServers?: string[];
  allocationPools?: AllocationPool[];
}

/** A subnet's validated settings (everything but ids and the DHCP server address). */
export type CheckedSubnet = Pick<Subnet, "cidr" | "ipVersion" | "gatewayIp" | "dhcp" | "dnsServers" | "allocationPools">;

/**
 * Validates a subnet against its VPC's CIDR and the VPC's other subnets; fills the defaults
 * (gateway: the first host address; pools: every address after the gateway; DHCP on for IPv4,
 * off unless asked for IPv6 — where it is stateful DHCPv6 handing each port its fixed address).
 * @throws NOVANET:InvalidCidr, NOVANET:Overlap, NOVANET:OutOfRange, NOVANET:InvalidArgument.
 */
export function checkSubnet(spec: SubnetSpec, vpcCidr: string, siblings: readonly Pick<Subnet, "id" | "cidr">[]): CheckedSubnet {
  const net = checkNet(spec.cidr, "cidr", "subnet");
  const vpc = parseNet(vpcCidr)!;
  if (!netWithin(net, vpc)) throw NovanetErrors.OutOfRange(`cidr ${spec.cidr} is not inside the VPC's ${vpcCidr}`, { details: { field: "cidr" } });
  for (const s of siblings) {
    if (netOverlap(net, parseNet(s.cidr)!)) throw NovanetErrors.Overlap(`cidr ${spec.cidr} overlaps subnet ${s.id} (${s.cidr}) of the VPC`, { details: { field: "cidr", subnet: s.id } });
  }
  const cidr = netText(net);
  const gw = spec.gatewayIp !== undefined && spec.gatewayIp !== "" ? checkIp(spec.gatewayIp, "gatewayIp", net.version) : bigToIp(net.network + 1n, net.version);
  const gwBig = ipToBig(gw)!.value;
  if (!assignable({ cidr, gatewayIp: "" }, gw)) throw NovanetErrors.OutOfRange(`gatewayIp ${gw} must be a host address of ${cidr}`, { details: { field: "gatewayIp" } });
  const dhcp = spec.dhcp ?? net.version === 4;
  const dnsServers = (spec.dnsServers ?? []).map((d, i) => checkIp(d, `dnsServers[${i}]`));
  if (dnsServers.length > 5) throw NovanetErrors.InvalidArgument("at most 5 dnsServers", { details: { field: "dnsServers" } });
  let pools = spec.allocationPools;
  if (pools === undefined || pools.length === 0) pools = defaultPools(net, gwBig);
  else {
    if (pools.length > 16) throw NovanetErrors.InvalidArgument("at most 16 allocationPools", { details: { field: "allocationPools" } });
    pools = pools.map((p, i) => {
      const f = `allocationPools[${i}]`;
      if (typeof p !== "object" || p === null) throw NovanetErrors.InvalidArgument(`${f} must be {start, end}`, { details: { field: f } });
      const start = checkIp(p.start, `${f}.start`, net.version);
      const end = checkIp(p.end, `${f}.end`, net.version);
      const s = ipToBig(start)!.value;
      const e = ipToBig(end)!.value;
      if (s > e) throw NovanetErrors.InvalidArgument(`${f}: start ${start} is after end ${end}`, { details: { field: f } });
      if (!assignable({ cidr, gatewayIp: "" }, start) || !assignable({ cidr, gatewayIp: "" }, end)) throw NovanetErrors.OutOfRange(`${f} ${start}-${end} must hold host addresses of ${cidr}`, { details: { field: f } });
      if (gwBig >= s && gwBig <= e) throw NovanetErrors.OutOfRange(`${f} ${start}-${end} contains the gateway ${gw}`, { details: { field: f } });
      return { start, end };
    });
    const sorted = [...pools].sort((a, b) => (ipToBig(a.start)!.value < ipToBig(b.start)!.value ? -1 : 1));
    for (let i = 1; i < sorted.length; i++) {
      if (ipToBig(sorted[i]!.start)!.value <= ipToBig(sorted[i - 1]!.end)!.value) throw NovanetErrors.Overlap(`allocationPools ${sorted[i - 1]!.start}-${sorted[i - 1]!.end} and ${sorted[i]!.start}-${sorted[i]!.end} overlap`, { details: { field: "allocationPools" } });
    }
  }
  const size = pools.reduce((n, p) => n + ipToBig(p.end)!.value - ipToBig(p.start)!.value + 1n, 0n);
  if (size < (dhcp ? 2n : 1n)) throw NovanetErrors.InvalidCidr(`the allocation pools of ${cidr} hold too few addresses`, { details: { field: "allocationPools" } });
  return { cidr, ipVersion: net.version, gatewayIp: gw, dhcp, dnsServers, allocationPools: pools };
}

/** A MAC for a port: lower case, unicast, 6 octets. */
export function checkMac(mac: string): string {
  const m = mac.toLowerCase();
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(m)) throw NovanetErrors.InvalidArgument(`mac ${JSON.stringify(mac)} is not a MAC address (aa:bb:cc:dd:ee:ff)`, { details: { field: "mac" } });
  if (parseInt(m.slice(0, 2), 16) & 1) throw NovanetErrors.InvalidArgument(`mac ${mac} is a multicast address`, { details: { field: "mac" } });
  if (m === "00:00:00:00:00:00") throw NovanetErrors.InvalidArgument("mac must not be all zeros", { details: { field: "mac" } });
  return m;
}

/** What a rule create asks for (the API's fields). */
export interface RuleSpec {
  direction?: string;
  ethertype?: string;
  protocol?: string;
  portMin?: number;
  portMax?: number;
  icmpType?: number;
  icmpCode?: number;
  remoteCidr?: string;
  remoteGroup?: string;
}

const NAMED_PROTOCOLS = new Set(["tcp", "udp", "icmp", "icmpv6"]);

/**
 * Validates and normalises a rule (without its id). Port ranges only with tcp/udp, 1-65535,
 * min ≤ max (one bound alone means that single port); ICMP type/code only with icmp/icmpv6
 * (0-255, a code needs a type); icmp needs ipv4 and icmpv6 ipv6; the remote CIDR matches the
 * ethertype; remote CIDR and remote group exclude each other.
 * @throws NOVANET:InvalidRule naming the field.
 */
export function checkRule(spec: RuleSpec): Omit<SecurityGroupRule, "id"> {
  const bad = (field: string, msg: string) => NovanetErrors.InvalidRule(msg, { details: { field } });
  if (spec.direction !== "ingress" && spec.direction !== "egress") throw bad("direction", `direction must be ingress or egress, not ${JSON.stringify(spec.direction ?? "")}`);
  const ethertype = spec.ethertype ?? "ipv4";
  if (ethertype !== "ipv4" && ethertype !== "ipv6") throw bad("ethertype", `ethertype must be ipv4 or ipv6, not ${JSON.stringify(ethertype)}`);
  let protocol = spec.protocol === undefined || spec.protocol === "" || spec.protocol === "any" ? undefined : spec.protocol.toLowerCase();
  if (protocol !== undefined && !NAMED_PROTOCOLS.has(protocol)) {
    if (!/^\d{1,3}$/.test(protocol) || Number(protocol) > 255) throw bad("protocol", `protocol must be tcp, udp, icmp, icmpv6, any or a number 0-255, not ${JSON.stringify(spec.protocol)}`);
    const n = Number(protocol);
    protocol = n === 6 ? "tcp" : n === 17 ? "udp" : n === 1 ? "icmp" : n === 58 ? "icmpv6" : String(n);
  }
  if (protocol === "icmp" && ethertype !== "ipv4") throw bad("protocol", "protocol icmp needs ethertype ipv4 (use icmpv6 for ipv6)");
  if (protocol === "icmpv6" && ethertype !== "ipv6") throw bad("protocol", "protocol icmpv6 needs ethertype ipv6");
  const out: Omit<SecurityGroupRule, "id"> = { direction: spec.direction, ethertype, ...(protocol ? { protocol } : {}) };
  const hasPorts = spec.portMin !== undefined || spec.portMax !== undefined;
  if (hasPorts) {
    if (protocol !== "tcp" && protocol !== "udp") throw bad("portMin", "a port range needs protocol tcp or udp");
    const min = spec.portMin ?? spec.portMax!;
    const max = spec.portMax ?? spec.portMin!;
    for (const [f, v] of [["portMin", min], ["portMax", max]] as const) {
      if (!Number.isInteger(v) || v < 1 || v > 65535) throw bad(f, `${f} must be a port 1-65535, not ${v}`);
    }
    if (min > max) throw bad("portMin", `portMin ${min} is above portMax ${max}`);
    out.portMin = min;
    out.portMax = max;
  }
  if (spec.icmpType !== undefined || spec.icmpCode !== undefined) {
    if (protocol !== "icmp" && protocol !== "icmpv6") throw bad("icmpType", "icmpType/icmpCode need protocol icmp or icmpv6");
    if (spec.icmpType === undefined) throw bad("icmpType", "icmpCode needs icmpType");
    for (const [f, v] of [["icmpType", spec.icmpType], ["icmpCode", spec.icmpCode]] as const) {
      if (v !== undefined && (!Number.isInteger(v) || v < 0 || v > 255)) throw bad(f, `${f} must be 0-255, not ${v}`);
    }
    out.icmpType = spec.icmpType;
    if (spec.icmpCode !== undefined) out.icmpCode = spec.icmpCode;
  }
  if (spec.remoteCidr && spec.remoteGroup) throw bad("remoteCidr", "give remoteCidr or remoteGroup, not both");
  if (spec.remoteCidr) {
    const n = parseNet(spec.remoteCidr, false) ?? (canonicalIp(spec.remoteCidr) ? parseNet(`${spec.remoteCidr}/${isIP(spec.remoteCidr) === 4 ? 32 : 128}`, false) : undefined);
    if (!n) throw bad("remoteCidr", `remoteCidr ${JSON.stringify(spec.remoteCidr)} is not a CIDR`);
    if ((n.version === 4) !== (ethertype === "ipv4")) throw bad("remoteCidr", `remoteCidr ${spec.remoteCidr} does not match ethertype ${ethertype}`);
    out.remoteCidr = netText({ ...n, network: n.network & ~(((1n << BigInt(n.bits - n.prefix)) - 1n)) });
  }
  if (spec.remoteGroup) out.remoteGroup = spec.remoteGroup;
  return out;
}
