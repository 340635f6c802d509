/**
 * A desired state for the OVN driver's tests: two tenants' VPCs with the SAME CIDR (isolation),
 * tenant 1 with two subnets, DHCP, a router with SNAT and a floating IP, and security groups
 * (a "web" group, and a default group allowing ingress from its members and all egress).
 */
import type { HostNetworkState, PortState, SecurityGroupState } from "../../vpc-dataplane.ts";

/** Options to vary the state between applies. */
export interface NbStateOptions {
  /** Port ids to leave out. */
  without?: string[];
  /** Drop the floating IP. */
  noFip?: boolean;
  /** Port allowed by the web group (default 80). */
  webPort?: number;
}

const vm = (id: string, mac: string, ips: string[], securityGroups: string[]): PortState => ({
  id, mac, ips, securityGroups, device: { kind: "tap" },
});

/** The state (deterministic). */
export function nbState(o: NbStateOptions = {}): HostNetworkState {
  const without = new Set(o.without ?? []);
  const t1Ports = [
    vm("pa1", "02:00:00:00:01:01", ["10.0.0.5"], ["web", "default1"]),
    vm("pa2", "02:00:00:00:01:02", ["10.0.0.6"], ["default1"]),
    vm("pa3", "02:00:00:00:01:03", ["10.0.1.5"], []),
  ].filter((p) => !without.has(p.id));
  const t2Ports = [vm("pb1", "02:00:00:00:02:01", ["10.0.0.5"], ["default2"])].filter((p) => !without.has(p.id));
  const members = (g: string) => [...t1Ports, ...t2Ports].filter((p) => p.securityGroups.includes(g)).flatMap((p) => p.ips);
  const defaultGroup = (id: string): SecurityGroupState => ({
    id,
    rules: [
      { direction: "ingress", remote: { groupId: id, memberIps: members(id) } },
      { direction: "egress" },
    ],
  });
  return {
    underlayIp: "192.0.2.1",
    vpcs: [
      {
        id: "vpc-t1",
        vni: 100,
        mtu: 1442,
        subnets: [
          { id: "sn-t1a", cidr: "10.0.0.0/24", gatewayIp: "10.0.0.1", dhcp: { serverIp: "10.0.0.2", dnsServers: ["192.0.2.53", "192.0.2.54"] } },
          { id: "sn-t1b", cidr: "10.0.1.0/24", gatewayIp: "10.0.1.1" },
        ],
        ports: t1Ports,
        remoteEndpoints: [],
        router: {
          external: { bridge: "physnet1", ip: "203.0.113.10/24", gatewayIp: "203.0.113.1" },
          floatingIps: o.noFip || without.has("pa1") ? [] : [{ ip: "203.0.113.20", fixedIp: "10.0.0.5" }],
        },
      },
      {
        id: "vpc-t2",
        vni: 200,
        subnets: [{ id: "sn-t2", cidr: "10.0.0.0/24", gatewayIp: "10.0.0.1", dhcp: { serverIp: "10.0.0.2", dnsServers: [] } }],
        ports: t2Ports,
        remoteEndpoints: [],
      },
    ],
    securityGroups: [
      { id: "web", rules: [{ direction: "ingress", protocol: "tcp", portMin: o.webPort ?? 80, portMax: o.webPort ?? 80 }, { direction: "ingress", protocol: "icmp", icmpType: 8, remote: { cidr: "0.0.0.0/0" } }] },
      defaultGroup("default1"),
      defaultGroup("default2"),
    ],
  };
}
