/**
 * The desired states of the two-host lab used by the namespace tests: two tenants whose VPCs both
 * use 10.0.0.0/24, security groups, DHCP, a router with SNAT and a floating IP on host A.
 */
import type { HostNetworkState, PortState, SecurityGroupState, VpcState } from "../../vpc-dataplane.ts";

/** VM namespaces by role. */
export interface LabVms {
  a1: string; // host A, VPC 1, 10.0.0.5, group web, floating IP 203.0.113.20
  a3: string; // host A, VPC 1, 10.0.0.7, group udp-out (egress UDP 5353 only)
  d1: string; // host A, VPC 1, 10.0.0.9 by DHCP, no groups
  b1: string; // host B, VPC 1, 10.0.0.6, group web
  a2: string; // host A, VPC 2, 10.0.0.5 (same address as a1), no groups
  b2: string; // host B, VPC 2, 10.0.0.8, no groups
}

export const VNI1 = 0x101;
export const VNI2 = 0x202;

const mac = (vpc: number, last: number) => `02:00:00:0${vpc}:00:${last.toString(16).padStart(2, "0")}`;

/** Security groups of the lab. */
export function labGroups(without: string[] = []): SecurityGroupState[] {
  const web = ["10.0.0.5", ...(without.includes("p-b1") ? [] : ["10.0.0.6"])];
  return [
    {
      id: "sg-web",
      rules: [
        { direction: "ingress", protocol: "icmp", icmpType: 8, remote: { groupId: "sg-web", memberIps: web } },
        { direction: "ingress", protocol: "tcp", portMin: 8080, portMax: 8080, remote: { cidr: "0.0.0.0/0" } },
        { direction: "ingress", protocol: "udp", portMin: 5353, portMax: 5353 },
        { direction: "egress" },
      ],
    },
    { id: "sg-udp-out", rules: [{ direction: "egress", protocol: "udp", portMin: 5353, portMax: 5353 }] },
  ];
}

function port(id: string, netns: string, m: string, ips: string[], groups: string[], configure = true): PortState {
  return { id, mac: m, ips, securityGroups: groups, device: { kind: "veth", netns, configure } };
}

const subnet1 = { id: "sn-1", cidr: "10.0.0.0/24", gatewayIp: "10.0.0.1", dhcp: { serverIp: "10.0.0.2", dnsServers: ["192.0.2.53"] } };
const subnet2 = { id: "sn-2", cidr: "10.0.0.0/24", gatewayIp: "10.0.0.1" };

/** Which ports live where; `without` drops ports by id (to test removal). */
export function labStates(vms: LabVms, underlayA: string, underlayB: string, without: string[] = []): { a: HostNetworkState; b: HostNetworkState } {
  const keep = (p: PortState) => !without.includes(p.id);
  const ports = {
    a1: port("p-a1", vms.a1, mac(1, 5), ["10.0.0.5"], ["sg-web"]),
    a3: port("p-a3", vms.a3, mac(1, 7), ["10.0.0.7"], ["sg-udp-out"]),
    d1: port("p-d1", vms.d1, mac(1, 9), ["10.0.0.9"], [], false),
    b1: port("p-b1", vms.b1, mac(1, 6), ["10.0.0.6"], ["sg-web"]),
    a2: port("p-a2", vms.a2, mac(2, 5), ["10.0.0.5"], []),
    b2: port("p-b2", vms.b2, mac(2, 8), ["10.0.0.8"], []),
  };
  const remote = (ps: PortState[], host: string) => ps.filter(keep).map((p) => ({ mac: p.mac, ips: p.ips, hostIp: host }));
  const vpc1A: VpcState = {
    id: "vpc-1", vni: VNI1, subnets: [subnet1],
    ports: [ports.a1, ports.a3, ports.d1].filter(keep),
    remoteEndpoints: remote([ports.b1], underlayB),
    router: {
      external: { bridge: "brext", ip: "203.0.113.10/24", gatewayIp: "203.0.113.1" },
      floatingIps: without.includes("p-a1") ? [] : [{ ip: "203.0.113.20", fixedIp: "10.0.0.5" }],
    },
  };
  const vpc1B: VpcState = {
    id: "vpc-1", vni: VNI1, subnets: [subnet1],
    ports: [ports.b1].filter(keep),
    remoteEndpoints: remote([ports.a1, ports.a3, ports.d1], underlayA),
    router: { floatingIps: [] },
  };
  const vpc2A: VpcState = { id: "vpc-2", vni: VNI2, subnets: [subnet2], ports: [ports.a2].filter(keep), remoteEndpoints: remote([ports.b2], underlayB) };
  const vpc2B: VpcState = { id: "vpc-2", vni: VNI2, subnets: [subnet2], ports: [ports.b2].filter(keep), remoteEndpoints: remote([ports.a2], underlayA) };
  return {
    a: { underlayIp: underlayA, vpcs: [vpc1A, vpc2A], securityGroups: labGroups(without) },
    b: { underlayIp: underlayB, vpcs: [vpc1B, vpc2B], securityGroups: labGroups(without) },
  };
}
