import { describe, expect, it } from "bun:test";
import { validateState } from "../linux/validate.ts";
import { buildNbRows } from "./nb-model.ts";
import { nbState } from "./testdata/nb-state.ts";

describe("buildNbRows", () => {
  it("gives IPv6 subnets neither DHCPv4 options nor SNAT (no NAT66), and keeps their addresses on ports", () => {
    const s = nbState();
    const v = s.vpcs[0]!;
    v.subnets.push({ id: "sn-t1v6", cidr: "fd00:1::/64", gatewayIp: "fd00:1::1", dhcp: { serverIp: "fd00:1::2", dnsServers: [] } });
    v.ports.push({ id: "pa6", mac: "02:00:00:00:01:06", ips: ["fd00:1::5"], securityGroups: [], device: { kind: "tap" } });
    const rows = buildNbRows(validateState(s), { gatewayChassis: ["hv1"] });
    const ids = (table: string, kind: string) => rows.filter((r) => r.table === table && r.kind === kind).map((r) => r.id);
    expect(ids("DHCP_Options", "dhcp")).toEqual(["sn-t1a", "sn-t2"]);
    expect(ids("NAT", "snat").sort()).toEqual(["vpc-t1/sn-t1a", "vpc-t1/sn-t1b"]);
    const port = rows.find((r) => r.table === "Logical_Switch_Port" && r.id === "pa6")!;
    expect(port.columns.addresses).toEqual(["02:00:00:00:01:06 fd00:1::5"]);
    expect(port.columns.dhcpv4_options).toEqual([]);
  });
});
