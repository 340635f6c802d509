import { describe, expect, it } from "bun:test";
import type { HostNetworkState } from "../vpc-dataplane.ts";
import { OWNED_DEVICE, portDeviceName } from "./names.ts";
import { bigToIp, cidrContains, ipToBig, linkLocalOf, parseCidr } from "./ip.ts";
import { patchTables, renderHostTables } from "./nft-secgroups.ts";
import { validateState } from "./validate.ts";

const base = (): HostNetworkState => ({
  underlayIp: "192.0.2.1",
  securityGroups: [{ id: "sg", rules: [{ direction: "ingress", protocol: "tcp", portMin: 22, portMax: 22 }] }],
  vpcs: [
    {
      id: "v1", vni: 100, subnets: [{ id: "s1", cidr: "10.0.0.0/24", gatewayIp: "10.0.0.1" }],
      ports: [{ id: "p1", mac: "02:00:00:00:00:01", ips: ["10.0.0.5"], securityGroups: ["sg"], device: { kind: "veth", netns: "vm1" } }],
      remoteEndpoints: [],
    },
  ],
});

const code = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return `${(e as { code: string }).code} ${(e as Error).message}`;
  }
  return "ok";
};

describe("validateState", () => {
  it("fills defaults: MTU 1450, conntrack zone from the VNI, prefix and gateway of each port", () => {
    const s = validateState(base());
    expect(s.vpcs[0]!.mtu).toBe(1450);
    expect(s.vpcs[0]!.ctZone).toBe(100);
    expect(s.vpcs[0]!.ports[0]!.addrs).toEqual(["10.0.0.5/24"]);
    expect(s.vpcs[0]!.ports[0]!.gateway).toBe("10.0.0.1");
  });

  it("rejects unknown fields, bad CIDRs, IPs outside every subnet, unknown groups and bad rules", () => {
    const cases: [string, (s: HostNetworkState) => void][] = [
      ["vpcs.0: Unrecognized key(s) in object: 'extra'", (s) => Object.assign(s.vpcs[0]!, { extra: 1 })],
      ["vpcs.0.subnets.0.cidr", (s) => (s.vpcs[0]!.subnets[0]!.cidr = "10.0.0.0/33")],
      ["vpcs.0.ports.0.ips.0", (s) => (s.vpcs[0]!.ports[0]!.ips = ["10.0.1.5"])],
      ["vpcs.0.ports.0.securityGroups.0", (s) => (s.vpcs[0]!.ports[0]!.securityGroups = ["nope"])],
      ["securityGroups.0.rules.0", (s) => (s.securityGroups[0]!.rules[0]!.protocol = "icmp")],
      ["vpcs.0.ports.0.mac", (s) => (s.vpcs[0]!.ports[0]!.mac = "01:00:00:00:00:01")],
      ["vpcs.1.ctZone", (s) => s.vpcs.push({ ...s.vpcs[0]!, id: "v2", vni: 100 + 65536, ports: [] })],
      ["vpcs.0.subnets.1.cidr", (s) => s.vpcs[0]!.subnets.push({ id: "s2", cidr: "10.0.0.128/25" })],
    ];
    for (const [field, mutate] of cases) {
      const s = base();
      mutate(s);
      expect(code(() => validateState(s))).toStartWith(`DATAPLANE:InvalidState ${field}`);
    }
  });

  it("names devices within 15 characters, all recognised as owned", () => {
    for (const id of ["p", "a-very-long-port-identifier-0123456789"]) {
      for (const kind of ["veth", "tap"] as const) {
        const n = portDeviceName(id, kind);
        expect(n.length).toBeLessThanOrEqual(15);
        expect(OWNED_DEVICE.test(n)).toBe(true);
      }
    }
    expect(OWNED_DEVICE.test("pcb-other")).toBe(false);
  });
});

describe("renderHostTables", () => {
  it("is deterministic and default-denies a port with groups", () => {
    const a = renderHostTables(validateState(base()));
    const b = renderHostTables(validateState(base()));
    expect(a.script).toBe(b.script);
    expect(a.script).toContain('ct zone set iifname map { "pcb-64" : 100 }');
    // the outer VXLAN packets are not tracked (the inner flow is, in its VPC's zone)
    expect(a.script).toContain("ip daddr 192.0.2.1 udp dport 4789 notrack");
    expect(a.script).toContain("type filter hook output priority raw; policy accept;\n    ip saddr 192.0.2.1 udp dport 4789 notrack");
    expect(a.script).toContain("meta nfproto ipv4 tcp dport 22 accept");
    expect(a.script).toMatch(/chain in_[0-9a-f]+ \{\n(.*\n)*?\s+counter drop/);
  });

  it("deletes both tables when the host has no VPC", () => {
    const r = renderHostTables(validateState({ underlayIp: "192.0.2.1", vpcs: [], securityGroups: [] }));
    expect(r.present).toBe(false);
    expect(r.script).toBe("table inet photon_novanet\ndelete table inet photon_novanet\ntable bridge photon_novanet\ndelete table bridge photon_novanet\n");
  });

  it("matches nothing for a remote group without members", () => {
    const s = base();
    s.securityGroups[0]!.rules = [{ direction: "ingress", remote: { groupId: "sg", memberIps: [] } }];
    const r = renderHostTables(validateState(s));
    expect(r.script).not.toContain("saddr { }");
  });
});

describe("IPv6 in the desired state", () => {
  const dual = (): HostNetworkState => {
    const s = base();
    s.vpcs[0]!.subnets.push({ id: "s6", cidr: "fd00:1:0:1::/64", gatewayIp: "fd00:1:0:1::1" });
    s.vpcs[0]!.ports[0]!.ips.push("FD00:1:0:1:0::5");
    return s;
  };

  it("resolves IPv6 addresses to their subnet, canonical, with a gateway per family", () => {
    const p = validateState(dual()).vpcs[0]!.ports[0]!;
    expect(p.ips).toEqual(["10.0.0.5", "fd00:1:0:1::5"]);
    expect(p.addrs).toEqual(["10.0.0.5/24", "fd00:1:0:1::5/64"]);
    expect([p.gateway, p.gateway6]).toEqual(["10.0.0.1", "fd00:1:0:1::1"]);
  });

  it("rejects an IPv6 address outside every subnet and a gateway of the wrong family", () => {
    const s = dual();
    s.vpcs[0]!.ports[0]!.ips = ["fd00:1:0:2::5"];
    expect(code(() => validateState(s))).toStartWith("DATAPLANE:InvalidState vpcs.0.ports.0.ips.0");
    const t = dual();
    t.vpcs[0]!.subnets[1]!.gatewayIp = "10.0.0.1";
    expect(code(() => validateState(t))).toStartWith("DATAPLANE:InvalidState vpcs.0.subnets.1.gatewayIp");
  });

  it("dispatches IPv6 by address and always lets neighbour discovery through, before conntrack's invalid drop", () => {
    const r = renderHostTables(validateState(dual()));
    expect(r.script).toContain("ip6 saddr vmap @eg6_64");
    expect(r.script).toMatch(/add element inet photon_novanet eg6_64 \{ fd00:1:0:1::5 : goto eg_/);
    expect(r.script).toMatch(/add element inet photon_novanet in6_64 \{ fd00:1:0:1::5 : goto in_/);
    expect(r.script.indexOf("nd-neighbor-solicit, nd-neighbor-advert } accept")).toBeLessThan(r.script.indexOf("ct state invalid counter drop"));
    expect(r.script).toContain("ether type ip6 ip6 saddr { fd00:1:0:1::5 } accept");
  });
});

describe("patchTables", () => {
  it("touches only the chains that differ, and adds and deletes chains in one transaction", () => {
    const one = renderHostTables(validateState(base()));
    const s = base();
    s.vpcs[0]!.ports.push({ id: "p2", mac: "02:00:00:00:00:02", ips: ["10.0.0.6"], securityGroups: ["sg"], device: { kind: "tap" } });
    const two = renderHostTables(validateState(s));
    const up = patchTables(one, two)!;
    expect(up).toMatch(/^add chain inet photon_novanet eg_/m);
    expect(up).toMatch(/^add chain bridge photon_novanet ps_/m);
    expect(up).toMatch(/^add element inet photon_novanet eg4_64 \{ 10.0.0.6 : goto eg_/m);
    // Constant work: neither the dispatch chains nor the groups' chains are rewritten.
    expect(up).not.toMatch(/^(add|flush) chain \S+ photon_novanet (vpc_|ing_|sg[ei]_|prerouting)/m);
    const down = patchTables(two, one)!;
    expect(down).toMatch(/^delete chain inet photon_novanet eg_/m);
    expect(down.indexOf("delete element inet photon_novanet eg4_64 { 10.0.0.6 }")).toBeLessThan(down.indexOf("delete chain"));
    expect(patchTables(two, two)).toBe("");
    expect(patchTables(one, renderHostTables(validateState({ underlayIp: "192.0.2.1", vpcs: [], securityGroups: [] })))).toBeUndefined();
  });
});

describe("ip helpers", () => {
  it("parses both families and prints IPv6 canonically", () => {
    expect(bigToIp(ipToBig("2001:DB8:0:0:1:0:0:1")!.value, 6)).toBe("2001:db8::1:0:0:1");
    expect(cidrContains(parseCidr("fd00:1::/48")!, "fd00:1:0:ffff::1")).toBe(true);
    expect(cidrContains(parseCidr("fd00:1::/48")!, "10.0.0.1")).toBe(false);
    expect(linkLocalOf("02:70:63:00:06:06")).toBe("fe80::70:63ff:fe00:606");
  });
});
