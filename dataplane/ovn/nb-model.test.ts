import { describe, expect, it } from "bun:test";
import { validateState } from "../linux/validate.ts";
import { buildNbRows } from "./nb-model.ts";
import { nbState } from "./testdata/nb-state.ts";

describe("buildNbRows", () => {
  it("gives IPv6 subnets DHCPv6 options and router advertisements but no SNAT (no NAT66)", () => {
    const s = nbState();
    const v = s.vpcs[0]!;
    v.subnets.push({ id: "sn-t1v6", cidr: "fd00:1::/64", gatewayIp: "fd00:1::1", dhcp: { serverIp: "fd00:1::2", dnsServers: [] } });
    v.ports.push({ id: "pa6", mac: "02:00:00:00:01:06", ips: ["fd00:1::5"], securityGroups: [], device: { kind: "tap" } });
    const rows = buildNbRows(validateState(s), { gatewayChassis: ["hv1"] });
    const ids = (table: string, kind: string) => rows.filter((r) => r.table === table && r.kind === kind).map((r) => r.id);
    expect(ids("DHCP_Options", "dhcp").sort()).toEqual(["sn-t1a", "sn-t1v6", "sn-t2"]);
    const v6opts = rows.find((r) => r.table === "DHCP_Options" && r.id === "sn-t1v6")!;
    expect(v6opts.columns).toEqual({ cidr: "fd00:1::/64", options: { server_id: expect.stringMatching(/^[0-9a-f:]{17}$/) } });
    expect(ids("NAT", "snat").sort()).toEqual(["vpc-t1/sn-t1a", "vpc-t1/sn-t1b"]);
    const port = rows.find((r) => r.table === "Logical_Switch_Port" && r.id === "pa6")!;
    expect(port.columns.addresses).toEqual(["02:00:00:00:01:06 fd00:1::5"]);
    expect(port.columns.dhcpv4_options).toEqual([]);
    expect(port.columns.dhcpv6_options).toEqual([{ ref: "DHCP_Options|dhcp|sn-t1v6" }]);
    const v4port = rows.find((r) => r.table === "Logical_Switch_Port" && r.id === "pa1")!;
    expect(v4port.columns.dhcpv6_options).toEqual([]);
    const lrp = rows.find((r) => r.table === "Logical_Router_Port" && r.kind === "router-port")!;
    expect(lrp.columns.networks).toContain("fd00:1::1/64");
    expect(lrp.columns.ipv6_ra_configs).toEqual({ address_mode: "dhcpv6_stateful", send_periodic: "true", mtu: "1442" });
  });

  it("sends no router advertisements from an IPv4-only router, and hands each family only its DNS servers", () => {
    const s = nbState();
    s.vpcs[0]!.subnets[0]!.dhcp!.dnsServers.push("fd00::53");
    const rows = buildNbRows(validateState(s), { gatewayChassis: ["hv1"] });
    expect(rows.find((r) => r.table === "Logical_Router_Port" && r.kind === "router-port")!.columns.ipv6_ra_configs).toEqual({});
    const opts = rows.find((r) => r.table === "DHCP_Options" && r.id === "sn-t1a")!.columns.options as Record<string, string>;
    expect(opts.dns_server).toBe("{192.0.2.53, 192.0.2.54}");
  });

  it("gives a router's external leg its IPv6 address and an IPv6 default route, without NAT66", () => {
    const s = nbState();
    s.vpcs[0]!.router!.external = { ...s.vpcs[0]!.router!.external!, ip6: "2001:db8:100::10/64", gatewayIp6: "2001:db8:100::1" };
    const rows = buildNbRows(validateState(s), { gatewayChassis: ["hv1"] });
    const gw = rows.find((r) => r.table === "Logical_Router_Port" && r.kind === "router-gateway")!;
    expect(gw.columns.networks).toEqual(["203.0.113.10/24", "2001:db8:100::10/64"]);
    const routes = rows.filter((r) => r.table === "Logical_Router_Static_Route").map((r) => [r.columns.ip_prefix, r.columns.nexthop]);
    expect(routes).toEqual([["0.0.0.0/0", "203.0.113.1"], ["::/0", "2001:db8:100::1"]]);
    expect(rows.filter((r) => r.table === "NAT").every((r) => !String(r.columns.logical_ip).includes(":"))).toBe(true);
  });
});
