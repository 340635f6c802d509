import { describe, expect, it } from "bun:test";
import { bigToIp, canonicalIp, ipToBig, netContains, netOverlap, netText, netWithin, parseNet } from "./cidr.ts";

describe("cidr", () => {
  it("parses IPv4 and IPv6 addresses and prints them canonically", () => {
    expect(ipToBig("10.0.0.1")).toEqual({ version: 4, value: 0x0a000001n });
    expect(bigToIp(0x0a000001n, 4)).toBe("10.0.0.1");
    expect(canonicalIp("FD00:0:0:0::1")).toBe("fd00::1");
    expect(canonicalIp("2001:db8:0:0:1:0:0:1")).toBe("2001:db8::1:0:0:1");
    expect(canonicalIp("::ffff:10.0.0.1")).toBe("::ffff:a00:1");
    expect(canonicalIp("::")).toBe("::");
    expect(canonicalIp("1:2:3:4:5:6:7:8")).toBe("1:2:3:4:5:6:7:8");
    for (const bad of ["10.0.0", "10.0.0.256", "fe80::1%eth0", "", "abc", "1:2:3:4:5:6:7:8:9"]) expect(canonicalIp(bad)).toBeUndefined();
  });

  it("parses networks strictly: no host bits, prefix within the family", () => {
    expect(netText(parseNet("10.0.0.0/24")!)).toBe("10.0.0.0/24");
    expect(parseNet("10.0.0.1/24")).toBeUndefined();
    expect(netText(parseNet("10.0.0.1/24", false)!)).toBe("10.0.0.0/24");
    expect(parseNet("10.0.0.0/33")).toBeUndefined();
    expect(parseNet("10.0.0.0")).toBeUndefined();
    expect(parseNet("fd00::/129")).toBeUndefined();
    expect(netText(parseNet("FD00:1::/48")!)).toBe("fd00:1::/48");
    expect(parseNet("0.0.0.0/0")!.prefix).toBe(0);
  });

  it("answers containment and overlap, never across families", () => {
    const vpc = parseNet("10.0.0.0/16")!;
    expect(netWithin(parseNet("10.0.5.0/24")!, vpc)).toBe(true);
    expect(netWithin(parseNet("10.1.0.0/24")!, vpc)).toBe(false);
    expect(netWithin(vpc, parseNet("10.0.5.0/24")!)).toBe(false);
    expect(netOverlap(parseNet("10.0.0.0/25")!, parseNet("10.0.0.64/26")!)).toBe(true);
    expect(netOverlap(parseNet("10.0.0.0/25")!, parseNet("10.0.0.128/25")!)).toBe(false);
    expect(netOverlap(parseNet("0.0.0.0/0")!, parseNet("::/0")!)).toBe(false);
    expect(netContains(vpc, "10.0.255.255")).toBe(true);
    expect(netContains(vpc, "10.1.0.0")).toBe(false);
    expect(netContains(vpc, "::1")).toBe(false);
  });
});
