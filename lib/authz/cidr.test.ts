import { describe, expect, it } from "bun:test";
import { parseCidr, parseIp } from "./cidr.ts";

describe("cidr", () => {
  it("matches IPv4 blocks, including the IPv4-mapped IPv6 form", () => {
    const c = parseCidr("10.1.0.0/16");
    expect(c.contains(parseIp("10.1.200.3")!)).toBe(true);
    expect(c.contains(parseIp("10.2.0.1")!)).toBe(false);
    expect(c.contains(parseIp("::ffff:10.1.2.3")!)).toBe(true);
  });

  it("matches IPv6 blocks and single hosts", () => {
    const c = parseCidr("2001:db8::/32");
    expect(c.contains(parseIp("2001:db8:1::5")!)).toBe(true);
    expect(c.contains(parseIp("2001:db9::1")!)).toBe(false);
    expect(parseCidr("::1").contains(parseIp("::1")!)).toBe(true);
    expect(parseCidr("0.0.0.0/0").contains(parseIp("203.0.113.9")!)).toBe(true);
    expect(parseCidr("0.0.0.0/0").contains(parseIp("2001:db8::1")!)).toBe(false);
  });

  it("rejects malformed addresses and blocks with clear errors", () => {
    for (const bad of ["10.0.0.0/33", "10.0.0.1/8", "300.0.0.0/8", "01.2.3.4", "1.2.3", "fe80::1%eth0", "1:2:3:4:5:6:7:8:9", "::/129", "10.0.0.0/", " 10.0.0.0/8"]) {
      expect(() => parseCidr(bad)).toThrow(/invalid CIDR/);
    }
    expect(parseIp("1::2::3")).toBeUndefined();
    expect(parseIp("hello")).toBeUndefined();
  });
});
