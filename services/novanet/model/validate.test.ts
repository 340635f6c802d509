import { describe, expect, it } from "bun:test";
import type { PhotonError } from "../../../lib/errors.ts";
import { checkMac, checkNet, checkRule, checkSubnet, type RuleSpec, type SubnetSpec } from "./validate.ts";

const code = (f: () => unknown): string => {
  try {
    f();
    return "ok";
  } catch (e) {
    return (e as PhotonError).code;
  }
};

describe("checkNet", () => {
  it("refuses malformed, host-bit, too small and too large networks", () => {
    expect(code(() => checkNet("10.0.0.0/16", "cidr", "vpc"))).toBe("ok");
    expect(code(() => checkNet("10.0.0.1/16", "cidr", "vpc"))).toBe("NOVANET:InvalidCidr");
    expect(code(() => checkNet("10.0.0.0/30", "cidr", "vpc"))).toBe("NOVANET:InvalidCidr");
    expect(code(() => checkNet("10.0.0.0/7", "cidr", "vpc"))).toBe("NOVANET:InvalidCidr");
    expect(code(() => checkNet(42, "cidr", "vpc"))).toBe("NOVANET:InvalidCidr");
    expect(code(() => checkNet("fd00::/64", "cidr", "subnet"))).toBe("ok");
  });
});

describe("checkSubnet", () => {
  const sub = (spec: Partial<SubnetSpec>, siblings = [{ id: "sn_a", cidr: "10.0.1.0/24" }]) => checkSubnet({ cidr: "10.0.2.0/24", ...spec }, "10.0.0.0/16", siblings);

  it("fills the defaults", () => {
    expect(sub({})).toEqual({ cidr: "10.0.2.0/24", ipVersion: 4, gatewayIp: "10.0.2.1", dhcp: true, dnsServers: [], allocationPools: [{ start: "10.0.2.2", end: "10.0.2.254" }] });
    expect(sub({ gatewayIp: "10.0.2.254" }).allocationPools).toEqual([{ start: "10.0.2.1", end: "10.0.2.253" }]);
    expect(sub({ gatewayIp: "10.0.2.100" }).allocationPools).toEqual([{ start: "10.0.2.1", end: "10.0.2.99" }, { start: "10.0.2.101", end: "10.0.2.254" }]);
  });

  it("refuses overlaps, networks outside the VPC, bad gateways, pools and DNS servers", () => {
    expect(code(() => sub({ cidr: "10.0.1.128/25" }))).toBe("NOVANET:Overlap");
    expect(code(() => sub({ cidr: "10.0.0.0/15" }))).toBe("NOVANET:OutOfRange");
    expect(code(() => sub({ gatewayIp: "10.0.2.0" }))).toBe("NOVANET:OutOfRange");
    expect(code(() => sub({ gatewayIp: "10.0.2.255" }))).toBe("NOVANET:OutOfRange");
    expect(code(() => sub({ gatewayIp: "nope" }))).toBe("NOVANET:InvalidArgument");
    expect(code(() => sub({ allocationPools: [{ start: "10.0.2.1", end: "10.0.2.9" }] }))).toBe("NOVANET:OutOfRange");
    expect(code(() => sub({ allocationPools: [{ start: "10.0.3.10", end: "10.0.3.20" }] }))).toBe("NOVANET:OutOfRange");
    expect(code(() => sub({ allocationPools: [{ start: "10.0.2.10", end: "10.0.2.20" }, { start: "10.0.2.20", end: "10.0.2.30" }] }))).toBe("NOVANET:Overlap");
    expect(code(() => sub({ allocationPools: [{ start: "10.0.2.10", end: "10.0.2.10" }] }))).toBe("NOVANET:InvalidCidr"); // DHCP needs one more
    expect(code(() => sub({ dhcp: false, allocationPools: [{ start: "10.0.2.10", end: "10.0.2.10" }] }))).toBe("ok");
    expect(code(() => sub({ dnsServers: ["1.1.1.1", "x"] }))).toBe("NOVANET:InvalidArgument");
  });

  it("handles IPv6 subnets in an IPv6 VPC without DHCP", () => {
    const s = checkSubnet({ cidr: "fd00:0:0:1::/64" }, "fd00::/48", []);
    expect(s).toMatchObject({ ipVersion: 6, gatewayIp: "fd00:0:0:1::1", dhcp: false });
    expect(checkSubnet({ cidr: "fd00:0:0:1::/64", dhcp: true }, "fd00::/48", []).dhcp).toBe(true); // stateful DHCPv6
    expect(code(() => checkSubnet({ cidr: "10.0.0.0/24" }, "fd00::/48", []))).toBe("NOVANET:OutOfRange");
  });
});

describe("checkRule", () => {
  const rule = (r: Partial<RuleSpec>) => checkRule({ direction: "ingress", ...r });
  it("normalises protocols, single ports and remote CIDRs", () => {
    expect(rule({ protocol: "6", portMin: 22 })).toEqual({ direction: "ingress", ethertype: "ipv4", protocol: "tcp", portMin: 22, portMax: 22 });
    expect(rule({ protocol: "any" })).toEqual({ direction: "ingress", ethertype: "ipv4" });
    expect(rule({ protocol: "47" }).protocol).toBe("47");
    expect(rule({ remoteCidr: "10.1.2.3/8" }).remoteCidr).toBe("10.0.0.0/8");
    expect(rule({ remoteCidr: "10.1.2.3" }).remoteCidr).toBe("10.1.2.3/32");
    expect(rule({ protocol: "icmp", icmpType: 8, icmpCode: 0 })).toMatchObject({ icmpType: 8, icmpCode: 0 });
    expect(rule({ ethertype: "ipv6", protocol: "icmpv6", icmpType: 128 })).toMatchObject({ protocol: "icmpv6", icmpType: 128 });
  });

  it("refuses invalid ports, protocols and ICMP fields", () => {
    for (const bad of [
      { direction: "both" }, { ethertype: "ipx" }, { protocol: "sctp" }, { protocol: "300" }, { protocol: "tcp", portMin: 0 },
      { protocol: "tcp", portMax: 65536 }, { protocol: "udp", portMin: 10, portMax: 9 }, { portMin: 80 }, { protocol: "icmp", portMin: 1 },
      { protocol: "udp", icmpType: 3 }, { protocol: "icmp", icmpCode: 1 }, { protocol: "icmp", icmpType: 256 }, { protocol: "icmp", ethertype: "ipv6" },
      { protocol: "icmpv6" }, { remoteCidr: "10.0.0.0/33" }, { remoteCidr: "fd00::/8" }, { remoteCidr: "10.0.0.0/8", remoteGroup: "sg_x" },
      { protocol: "tcp", portMin: 1.5 },
    ] as Partial<RuleSpec>[]) {
      expect([bad, code(() => rule(bad))]).toEqual([bad, "NOVANET:InvalidRule"]);
    }
  });
});

describe("checkMac", () => {
  it("accepts unicast MACs in lower case and refuses the rest", () => {
    expect(checkMac("FA:16:3E:00:00:01")).toBe("fa:16:3e:00:00:01");
    expect(code(() => checkMac("01:00:5e:00:00:01"))).toBe("NOVANET:InvalidArgument");
    expect(code(() => checkMac("00:00:00:00:00:00"))).toBe("NOVANET:InvalidArgument");
    expect(code(() => checkMac("fa:16:3e:00:00"))).toBe("NOVANET:InvalidArgument");
  });
});
