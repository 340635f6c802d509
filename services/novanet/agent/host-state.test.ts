import { describe, expect, it } from "bun:test";
import type { AgentHost, FloatingIp, Port, Router, SecurityGroup, Subnet, Vpc } from "../types.ts";
import { planDeploymentState } from "./deployment-state.ts";
import { parseSnapshot, planHostState } from "./host-state.ts";

const owned = { org: "org_1", project: "prj_1", name: "", createdAt: "2026-01-01T00:00:00Z" };
const vpc: Vpc = { ...owned, id: "vpc_1", cidr: "10.0.0.0/16", vni: 5000 };
const sn: Subnet = { ...owned, id: "sn_1", vpc: "vpc_1", cidr: "10.0.0.0/24", ipVersion: 4, gatewayIp: "10.0.0.1", dhcp: true, dhcpServerIp: "10.0.0.2", dnsServers: ["192.0.2.53", "fd00::53"], allocationPools: [] };
const port = (id: string, host: string, ip: string, groups: string[], netns?: string): Port => ({ ...owned, id, vpc: "vpc_1", subnet: "sn_1", mac: `fa:16:00:00:00:${id.slice(-2)}`, fixedIps: [ip], securityGroups: groups, portSecurity: true, host, ...(netns ? { netns } : {}) });
const sg: SecurityGroup = {
  ...owned, id: "sg_web", description: "", isDefault: false,
  rules: [
    { id: "r1", direction: "ingress", ethertype: "ipv4", protocol: "tcp", portMin: 80, portMax: 80, remoteGroup: "sg_web" },
    { id: "r2", direction: "egress", ethertype: "ipv4" },
    { id: "r3", direction: "ingress", ethertype: "ipv6", protocol: "icmpv6" },
    { id: "r4", direction: "ingress", ethertype: "ipv4", protocol: "47", remoteCidr: "10.9.0.0/16" },
  ],
};
const router: Router = { ...owned, id: "rtr_1", vpc: "vpc_1", subnets: ["sn_1"], externalGateway: { ip: "203.0.113.10", prefix: 24, gatewayIp: "203.0.113.1", snat: true } };
const fip: FloatingIp = { ...owned, id: "fip_1", ip: "203.0.113.20", port: "port_01", fixedIp: "10.0.0.11", router: "rtr_1" };
const host = (name: string, underlayIp: string): AgentHost => ({ name, underlayIp, startedAt: "" });

function docs(extra: Record<string, unknown> = {}): Map<string, unknown> {
  const m = new Map<string, unknown>(Object.entries({
    "/photon/novanet/vpcs/vpc_1": vpc,
    "/photon/novanet/subnets/sn_1": sn,
    "/photon/novanet/ports/port_01": port("port_01", "hv1", "10.0.0.11", ["sg_web"], "vm1"),
    "/photon/novanet/ports/port_02": port("port_02", "hv2", "10.0.0.12", ["sg_web"], "vm2"),
    "/photon/novanet/ports/port_03": port("port_03", "hv1", "10.0.0.13", ["sg_gone"]),
    "/photon/novanet/secgroups/sg_web": sg,
    "/photon/novanet/routers/rtr_1": router,
    "/photon/novanet/fips/fip_1": fip,
    "/photon/novanet/hosts/hv1": host("hv1", "192.0.2.1"),
    "/photon/novanet/hosts/hv2": host("hv2", "192.0.2.2"),
    "/photon/novanet/ipam/sn_1/10.0.0.11": "port_01",
    ...extra,
  }));
  return m;
}

describe("planHostState", () => {
  it("puts the host's ports, the VPC's remote endpoints, routers and resolved groups in the state", () => {
    const { state, skipped } = planHostState(parseSnapshot(docs()), { name: "hv1", underlayIp: "192.0.2.1", externalBridge: "brext" });
    expect(skipped).toEqual([]);
    expect(state.underlayIp).toBe("192.0.2.1");
    const v = state.vpcs[0]!;
    expect(v).toMatchObject({ id: "vpc_1", vni: 5000, subnets: [{ id: "sn_1", cidr: "10.0.0.0/24", gatewayIp: "10.0.0.1", dhcp: { serverIp: "10.0.0.2", dnsServers: ["192.0.2.53"] } }] });
    expect(v.ports.map((p) => [p.id, p.device])).toEqual([["port_01", { kind: "veth", netns: "vm1", configure: true }], ["port_03", { kind: "tap" }]]);
    expect(v.remoteEndpoints).toEqual([{ mac: "fa:16:00:00:00:02", ips: ["10.0.0.12"], hostIp: "192.0.2.2" }]);
    expect(v.router).toEqual({ external: { bridge: "brext", ip: "203.0.113.10/24", gatewayIp: "203.0.113.1", snat: true }, floatingIps: [{ ip: "203.0.113.20", fixedIp: "10.0.0.11" }] });
    const groups = Object.fromEntries(state.securityGroups.map((g) => [g.id, g.rules]));
    expect(groups.sg_web).toEqual([
      { direction: "ingress", ethertype: "ipv4", protocol: "tcp", portMin: 80, portMax: 80, remote: { groupId: "sg_web", memberIps: ["10.0.0.11", "10.0.0.12"] } },
      { direction: "egress", ethertype: "ipv4" },
      { direction: "ingress", ethertype: "ipv6", protocol: "icmpv6" }, // IPv6 rules are carried too
      { direction: "ingress", ethertype: "ipv4", protocol: 47, remote: { cidr: "10.9.0.0/16" } },
    ]);
    expect(groups.sg_gone).toEqual([]); // a vanished group allows nothing
  });

  it("gives a router with an external IPv6 address its IPv6 leg and default route (both host and OVN views)", () => {
    const r6: Router = { ...router, externalGateway: { ...router.externalGateway!, ip6: "2001:db8:100::2", prefix6: 64, gatewayIp6: "2001:db8:100::1" } };
    const d = docs({ "/photon/novanet/routers/rtr_1": r6 });
    const want = { bridge: "brext", ip: "203.0.113.10/24", gatewayIp: "203.0.113.1", snat: true, ip6: "2001:db8:100::2/64", gatewayIp6: "2001:db8:100::1" };
    expect(planHostState(parseSnapshot(d), { name: "hv1", underlayIp: "192.0.2.1", externalBridge: "brext" }).state.vpcs[0]!.router!.external).toEqual(want);
    expect(planDeploymentState(parseSnapshot(d), { underlayIp: "192.0.2.9", externalNetwork: "physnet1", mtu: 1442 }).state.vpcs[0]!.router!.external).toEqual({ ...want, bridge: "physnet1" });
  });

  it("gives the other host its own view, without an external leg when it has no external bridge", () => {
    const { state } = planHostState(parseSnapshot(docs()), { name: "hv2", underlayIp: "192.0.2.2" });
    const v = state.vpcs[0]!;
    expect(v.ports.map((p) => p.id)).toEqual(["port_02"]);
    expect(v.remoteEndpoints.map((r) => r.hostIp)).toEqual(["192.0.2.1", "192.0.2.1"]);
    expect(v.router).toEqual({ floatingIps: [] });
  });

  it("leaves out ports it cannot plug and says why, and holds nothing for a host without ports", () => {
    const d = docs({ "/photon/novanet/ports/port_04": port("port_04", "hv1", "10.0.0.14", [], "vm1"), "/photon/novanet/ports/port_05": port("port_05", "hv1", "fd00::5", [], "vm5") });
    const { state, skipped } = planHostState(parseSnapshot(d), { name: "hv1", underlayIp: "192.0.2.1", netnsExists: (n) => n !== "vm5" });
    expect(skipped.map((s) => s.port)).toEqual(["port_04", "port_05"]);
    expect(state.vpcs[0]!.ports.map((p) => p.id)).toEqual(["port_01", "port_03"]);
    expect(planHostState(parseSnapshot(d), { name: "hv9", underlayIp: "192.0.2.9" }).state).toEqual({ underlayIp: "192.0.2.9", vpcs: [], securityGroups: [] });
  });

  it("carries IPv6 subnets, addresses (ports, remote endpoints, group members) and DHCPv6 with IPv6 DNS servers only", () => {
    const v6: Vpc = { ...vpc, id: "vpc_6", cidr: "fd00:6::/48", vni: 6000 };
    const s6: Subnet = { ...sn, id: "sn_6", vpc: "vpc_6", cidr: "fd00:6:0:1::/64", ipVersion: 6, gatewayIp: "fd00:6:0:1::1", dhcpServerIp: "fd00:6:0:1::2" };
    const p6 = (id: string, h: string, ip: string): Port => ({ ...port(id, h, ip, ["sg_web"], `ns${id}`), vpc: "vpc_6", subnet: "sn_6" });
    const d = docs({
      "/photon/novanet/vpcs/vpc_6": v6,
      "/photon/novanet/subnets/sn_6": s6,
      "/photon/novanet/ports/port_61": p6("port_61", "hv1", "fd00:6:0:1::61"),
      "/photon/novanet/ports/port_62": p6("port_62", "hv2", "fd00:6:0:1::62"),
    });
    const { state, skipped } = planHostState(parseSnapshot(d), { name: "hv1", underlayIp: "192.0.2.1" });
    expect(skipped).toEqual([]);
    const v = state.vpcs.find((x) => x.id === "vpc_6")!;
    expect(v.subnets).toEqual([{ id: "sn_6", cidr: "fd00:6:0:1::/64", dhcp: { serverIp: "fd00:6:0:1::2", dnsServers: ["fd00::53"] } }]);
    expect(v.ports.map((p) => p.ips)).toEqual([["fd00:6:0:1::61"]]);
    expect(v.remoteEndpoints).toEqual([{ mac: "fa:16:00:00:00:62", ips: ["fd00:6:0:1::62"], hostIp: "192.0.2.2" }]);
    const web = state.securityGroups.find((g) => g.id === "sg_web")!;
    expect(web.rules[0]!.remote).toEqual({ groupId: "sg_web", memberIps: ["10.0.0.11", "10.0.0.12", "fd00:6:0:1::61", "fd00:6:0:1::62"] });
    expect(state.vpcs.find((x) => x.id === "vpc_1")!.subnets[0]!.dhcp!.dnsServers).toEqual(["192.0.2.53"]);
  });
});

describe("planDeploymentState (the OVN northbound's state)", () => {
  it("holds every host's ports as taps, no endpoints, the routers on OVN's external network with every floating IP", () => {
    const { state, skipped } = planDeploymentState(parseSnapshot(docs()), { underlayIp: "192.0.2.9", externalNetwork: "physnet1", mtu: 1442 });
    expect(skipped).toEqual([]);
    const v = state.vpcs[0]!;
    expect(v).toMatchObject({ id: "vpc_1", vni: 5000, mtu: 1442, remoteEndpoints: [] });
    expect(v.ports.map((p) => [p.id, p.device])).toEqual([["port_01", { kind: "tap" }], ["port_02", { kind: "tap" }], ["port_03", { kind: "tap" }]]);
    expect(v.router).toEqual({ external: { bridge: "physnet1", ip: "203.0.113.10/24", gatewayIp: "203.0.113.1", snat: true }, floatingIps: [{ ip: "203.0.113.20", fixedIp: "10.0.0.11" }] });
    expect(state.securityGroups.map((g) => g.id)).toEqual(["sg_gone", "sg_web"]);
  });

  it("gives routers no external leg without an external network, and leaves out ports that cannot be modelled", () => {
    const orphan = { ...port("port_09", "hv1", "10.0.0.19", []), subnet: "sn_gone" };
    const { state, skipped } = planDeploymentState(parseSnapshot(docs({ "/photon/novanet/ports/port_09": orphan })), { underlayIp: "192.0.2.9" });
    expect(skipped).toEqual([{ port: "port_09", reason: "its VPC or subnet is gone" }]);
    expect(state.vpcs[0]!.router).toEqual({ floatingIps: [] });
    expect(state.vpcs[0]!.mtu).toBeUndefined();
  });
});

describe("planHostState with the driver's MTU", () => {
  it("sets the MTU of every VPC on the host", () => {
    const { state } = planHostState(parseSnapshot(docs()), { name: "hv1", underlayIp: "192.0.2.1", mtu: 1442 });
    expect(state.vpcs.map((v) => v.mtu)).toEqual([1442]);
  });
});
