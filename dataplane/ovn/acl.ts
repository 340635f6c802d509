/**
 * Security groups as OVN ACLs. Each group is a Port_Group; each allow rule one `allow-related`
 * ACL on it (stateful: replies pass through conntrack), at priority {@link RULE_PRIORITY}. Every
 * port with at least one group is also in {@link DROP_PG}, whose ACLs drop all IP traffic from and
 * to it at {@link DROP_PRIORITY} and let its DHCP requests through. ARP is not IP and passes
 * (port security checks it); IPv6 neighbour discovery is allowed by northd itself.
 *
 * Directions: an ingress rule (traffic TO the port) is a `to-lport` ACL matching `outport`, an
 * egress rule a `from-lport` ACL matching `inport`; the rule's remote is the packet's source for
 * ingress and its destination for egress.
 */
import type { SecurityGroupRule } from "../vpc-dataplane.ts";

/** Priority of security-group allow ACLs (above the default drop). */
export const RULE_PRIORITY = 1002;
/** Priority of the default-drop ACLs. */
export const DROP_PRIORITY = 1001;

/** An ACL row's content. */
export interface AclSpec {
  direction: "from-lport" | "to-lport";
  priority: number;
  match: string;
  action: "allow" | "allow-related" | "drop";
}

/**
 * The ACL for one rule of port group `pg`, or undefined when the rule can match nothing (a remote
 * group without members of the rule's address family).
 */
export function ruleAcl(pg: string, r: SecurityGroupRule): AclSpec | undefined {
  const v6 = (r.ethertype ?? "ipv4") === "ipv6";
  const ip = v6 ? "ip6" : "ip4";
  const ingress = r.direction === "ingress";
  const parts = [ingress ? `outport == @${pg}` : `inport == @${pg}`, ip];
  const p = r.protocol;
  if (p === "tcp" || p === "udp") {
    parts.push(p);
    const lo = r.portMin ?? 1;
    const hi = r.portMax ?? 65535;
    if (r.portMin !== undefined || r.portMax !== undefined) {
      parts.push(lo === hi ? `${p}.dst == ${lo}` : `${p}.dst >= ${lo} && ${p}.dst <= ${hi}`);
    }
  } else if (p === "icmp" || p === "icmpv6") {
    const f = p === "icmp" ? "icmp4" : "icmp6";
    parts.push(f);
    if (r.icmpType !== undefined) parts.push(`${f}.type == ${r.icmpType}`);
    if (r.icmpCode !== undefined) parts.push(`${f}.code == ${r.icmpCode}`);
  } else if (typeof p === "number") {
    parts.push(v6 ? `ip6.nxt == ${p}` : `ip.proto == ${p}`);
  }
  const field = `${ip}.${ingress ? "src" : "dst"}`;
  if (r.remote && "cidr" in r.remote) {
    parts.push(`${field} == ${r.remote.cidr}`);
  } else if (r.remote) {
    const members = r.remote.memberIps.filter((a) => a.includes(":") === v6);
    if (members.length === 0) return undefined;
    parts.push(`${field} == {${[...new Set(members)].sort().join(", ")}}`);
  }
  return { direction: ingress ? "to-lport" : "from-lport", priority: RULE_PRIORITY, match: parts.join(" && "), action: "allow-related" };
}

/** The ACLs of the drop group `pg`: DHCP and DHCPv6 requests allowed, all other IP dropped both ways. */
export function dropAcls(pg: string): { key: string; acl: AclSpec }[] {
  return [
    { key: "dhcp-request", acl: { direction: "from-lport", priority: RULE_PRIORITY, match: `inport == @${pg} && ip4 && udp.src == 68 && udp.dst == 67`, action: "allow" } },
    { key: "dhcpv6-request", acl: { direction: "from-lport", priority: RULE_PRIORITY, match: `inport == @${pg} && ip6 && udp.src == 546 && udp.dst == 547`, action: "allow" } },
    { key: "drop-egress", acl: { direction: "from-lport", priority: DROP_PRIORITY, match: `inport == @${pg} && ip`, action: "drop" } },
    { key: "drop-ingress", acl: { direction: "to-lport", priority: DROP_PRIORITY, match: `outport == @${pg} && ip`, action: "drop" } },
  ];
}
