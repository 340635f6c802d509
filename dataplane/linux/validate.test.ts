import { describe, expect, it } from "bun:test";
import type { HostNetworkState } from "../vpc-dataplane.ts";
import { OWNED_DEVICE, portDeviceName } from "./names.ts";
import { renderHostTables } from "./nft-secgroups.ts";
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
