import { describe, expect, it } from "bun:test";
import { assignable, pickFree, randomMac } from "./ipam.ts";

describe("ipam", () => {
  const subnet = { cidr: "10.0.0.0/29", gatewayIp: "10.0.0.1", ipVersion: 4 as const, allocationPools: [{ start: "10.0.0.2", end: "10.0.0.6" }] };

  it("picks the lowest free address, then none when the pools are full", () => {
    expect(pickFree(subnet, new Set())).toBe("10.0.0.2");
    expect(pickFree(subnet, new Set(["10.0.0.2", "10.0.0.3"]))).toBe("10.0.0.4");
    expect(pickFree(subnet, new Set(["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"]))).toBeUndefined();
  });

  it("picks a random free address across several pools, never a used one", () => {
    const s = { ...subnet, cidr: "10.0.0.0/24", allocationPools: [{ start: "10.0.0.10", end: "10.0.0.12" }, { start: "10.0.0.100", end: "10.0.0.101" }] };
    const used = new Set(["10.0.0.10", "10.0.0.12", "10.0.0.100"]);
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) seen.add(pickFree(s, used, true)!);
    expect([...seen].sort()).toEqual(["10.0.0.101", "10.0.0.11"]);
  });

  it("works for IPv6 pools", () => {
    const s = { ipVersion: 6 as const, allocationPools: [{ start: "fd00::2", end: "fd00::ffff:ffff:ffff:ffff" }] };
    expect(pickFree(s, new Set(["fd00::2"]))).toBe("fd00::3");
    expect(pickFree(s, new Set(), true)).toMatch(/^fd00::/);
  });

  it("tells which addresses a port may hold", () => {
    expect(assignable(subnet, "10.0.0.3")).toBe(true);
    expect(assignable(subnet, "10.0.0.0")).toBe(false);
    expect(assignable(subnet, "10.0.0.1")).toBe(false);
    expect(assignable(subnet, "10.0.0.7")).toBe(false);
    expect(assignable(subnet, "10.0.0.8")).toBe(false);
    expect(assignable(subnet, "fd00::1")).toBe(false);
  });

  it("makes unicast, locally administered MACs", () => {
    for (let i = 0; i < 20; i++) {
      const m = randomMac();
      expect(m).toMatch(/^fa:16(:[0-9a-f]{2}){4}$/);
    }
  });
});
