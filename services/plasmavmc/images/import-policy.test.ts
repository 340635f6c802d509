import { describe, expect, it } from "bun:test";
import { ImportPolicy, parseAllowList } from "./import-policy.ts";

const codeOf = async (p: Promise<unknown>) => p.then(() => "ok", (e) => (e as { code?: string }).code ?? String(e));

describe("ImportPolicy", () => {
  const none = new ImportPolicy();

  it("refuses loopback, link-local (metadata), private, reserved and multicast addresses by default", () => {
    for (const a of ["127.0.0.1", "127.9.9.9", "169.254.169.254", "10.1.2.3", "172.16.0.1", "192.168.1.1", "100.64.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255", "192.0.2.7",
      "::1", "::", "fe80::1", "fd00::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:a9fe:a9fe", "2001:db8::1", "64:ff9b::a9fe:a9fe"]) {
      expect({ a, why: none.refusal(a) }).toEqual({ a, why: expect.any(String) });
    }
    expect(none.refusal("169.254.169.254")).toContain("metadata");
    expect(none.refusal("127.0.0.1")).toContain("loopback");
    expect(none.refusal("10.0.0.1")).toContain("private");
  });

  it("lets public addresses through", () => {
    for (const a of ["8.8.8.8", "1.1.1.1", "151.101.1.1", "2a00:1450:4001:80b::200e", "::ffff:8.8.8.8"]) expect({ a, why: none.refusal(a) }).toEqual({ a, why: undefined });
  });

  it("allows what the operator lists: CIDRs, bare addresses and host patterns", () => {
    const p = new ImportPolicy({ allow: ["127.0.0.0/8", "fd00::/8", "10.9.9.9", "mirror.lan", "*.images.example.com"] });
    expect(p.refusal("127.0.0.1")).toBeUndefined();
    expect(p.refusal("::ffff:127.0.0.1")).toBeUndefined();
    expect(p.refusal("fd12::1")).toBeUndefined();
    expect(p.refusal("10.9.9.9")).toBeUndefined();
    expect(p.refusal("10.9.9.8")).toContain("private");
    expect(p.refusal("169.254.169.254")).toContain("link-local");
    expect(p.hostAllowed("MIRROR.lan")).toBe(true);
    expect(p.hostAllowed("a.images.example.com")).toBe(true);
    expect(p.hostAllowed("images.example.com")).toBe(false);
    expect(p.hostAllowed("evilimages.example.com")).toBe(false);
  });

  it("rejects bad allow-list entries naming them", () => {
    for (const bad of ["10.0.0.0/33", "::/129", "not a host", "http://x", "1.2.3.4/8/9", "*"]) {
      expect(() => parseAllowList([bad])).toThrow(JSON.stringify(bad));
    }
  });

  it("checks every resolved address and refuses other schemes", async () => {
    const mixed = new ImportPolicy({ resolve: async () => [{ address: "8.8.8.8", family: 4 }, { address: "127.0.0.1", family: 4 }] });
    expect(await codeOf(mixed.check(new URL("http://two.example/x")))).toBe("PLASMAVMC:ImportForbidden");
    const pub = new ImportPolicy({ resolve: async () => [{ address: "8.8.8.8", family: 4 }] });
    expect((await pub.check(new URL("https://one.example/x"))).addresses).toEqual([{ address: "8.8.8.8", family: 4 }]);
    expect(await codeOf(pub.check(new URL("ftp://one.example/x")))).toBe("PLASMAVMC:InvalidArgument");
    expect(await codeOf(none.check(new URL("http://[::1]:80/")))).toBe("PLASMAVMC:ImportForbidden");
    expect(await codeOf(none.check(new URL("http://localhost:80/")))).toBe("PLASMAVMC:ImportForbidden");
    expect(await codeOf(none.check(new URL("http://2130706433/")))).toBe("PLASMAVMC:ImportForbidden"); // 127.0.0.1 in decimal
  });

  it("treats this host's own interface addresses as not public", async () => {
    const { networkInterfaces } = await import("node:os");
    const mine = Object.values(networkInterfaces()).flatMap((l) => l ?? []).map((a) => a.address);
    for (const a of mine) expect(none.refusal(a.replace(/%.*$/, ""))).toBeDefined();
  });
});
