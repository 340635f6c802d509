/**
 * The Linux data plane on real kernel objects, inside network namespaces this test creates (two
 * "hypervisor hosts" joined by an underlay veth, "VMs" as namespaces, an "external" network).
 * Needs root and `ip netns`; skipped with the reason printed otherwise. Nothing touches the
 * machine's root namespace; afterAll removes every namespace, process and file it made.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { LinuxVpcDataplane } from "./linux-dataplane.ts";
import { bridgeName, portDeviceName, vxlanName } from "./names.ts";
import { must, netnsUnavailable, Testbed } from "./testbed.ts";
import { labStates, VNI1, type LabVms } from "./testdata/lab-state.ts";

const reason = await netnsUnavailable();
const SLOW = 30_000;
if (reason) console.log(`skipping the Linux data plane namespace tests: ${reason}`);

describe.skipIf(reason !== undefined)("linux data plane in network namespaces", () => {
  const tb = new Testbed(`pct${process.pid % 100000}`);
  let vms: LabVms;
  let A: LinuxVpcDataplane;
  let B: LinuxVpcDataplane;
  const states = (without: string[] = []) => labStates(vms, tb.underlayA, tb.underlayB, without);
  const applyBoth = async (without: string[] = []) => {
    const s = states(without);
    return [await A.apply(s.a), await B.apply(s.b)] as const;
  };
  /** Echo requests from `src` seen arriving in `ns` (a counter the test adds inside the VM). */
  const icmpSeen = async (ns: string, src: string) => {
    const out = await must(["ip", "netns", "exec", ns, "nft", "-j", "list", "table", "inet", "seen"]);
    const rule = (JSON.parse(out).nftables as { rule?: { comment?: string; expr: { counter?: { packets: number } }[] } }[])
      .find((x) => x.rule?.comment === src);
    return rule!.rule!.expr.find((e) => e.counter)!.counter!.packets;
  };

  beforeAll(async () => {
    await tb.destroy();
    await tb.create();
    vms = {
      a1: await tb.vm("a1"), a3: await tb.vm("a3"), d1: await tb.vm("d1"),
      b1: await tb.vm("b1"), a2: await tb.vm("a2"), b2: await tb.vm("b2"),
    };
    A = tb.driver("a");
    B = tb.driver("b");
    await applyBoth();
    // Counters of echo requests by source inside b1 and b2 (the isolation proof).
    for (const ns of [vms.b1, vms.b2]) {
      await must(["ip", "netns", "exec", ns, "nft", "-f", "-"],
        "table inet seen {\n chain in {\n  type filter hook input priority 0; policy accept;\n" +
        '  ip saddr 10.0.0.5 icmp type echo-request counter comment "10.0.0.5"\n' +
        '  ip saddr 10.0.0.7 icmp type echo-request counter comment "10.0.0.7"\n }\n}\n');
    }
    await tb.serve(vms.b1, "tcp-listen", 8080);
    await tb.serve(vms.b1, "tcp-listen", 8081);
    await tb.serve(vms.b1, "udp-echo", 5353);
    await tb.serve(vms.a3, "udp-echo", 5353);
    await tb.serve(vms.a1, "tcp-listen", 8080);
    await tb.serve(tb.ext, "udp-echo", 5353);
    await tb.serve(tb.ext, "tcp-listen", 80);
  }, SLOW);

  afterAll(async () => {
    await tb.destroy();
  });

  it("connects same-VPC VMs on different hosts over VXLAN", async () => {
    expect(await tb.ping(vms.a1, "10.0.0.6", 3)).toBe(true);
    expect(await tb.ping(vms.b1, "10.0.0.5", 3)).toBe(true);
    expect(await tb.ping(vms.a2, "10.0.0.8", 3)).toBe(true); // tenant 2, same CIDR
  });

  it("tracks the tenant flow in its VPC's zone but not the VXLAN packets carrying it", async () => {
    expect(await tb.ping(vms.a1, "10.0.0.6", 3)).toBe(true);
    for (const host of [tb.hostA, tb.hostB]) {
      const table = await must(["ip", "netns", "exec", host, "cat", "/proc/net/nf_conntrack"]);
      expect(table).toMatch(new RegExp(`icmp .*src=10\\.0\\.0\\.5 dst=10\\.0\\.0\\.6 .*zone=${VNI1}`));
      expect(table).not.toContain("dport=4789");
    }
  });

  it("keeps tenants with overlapping CIDRs apart: no packet crosses", async () => {
    const b1Before = await icmpSeen(vms.b1, "10.0.0.5");
    const b2Before = await icmpSeen(vms.b2, "10.0.0.5");
    // a1 (tenant 1, 10.0.0.5) pings tenant 2's 10.0.0.8; a2 (tenant 2, also 10.0.0.5) pings tenant 1's b1.
    const [x, y] = await Promise.all([tb.ping(vms.a1, "10.0.0.8"), tb.ping(vms.a2, "10.0.0.6")]);
    expect(x).toBe(false);
    expect(y).toBe(false);
    expect(await icmpSeen(vms.b2, "10.0.0.5")).toBe(b2Before);
    expect(await icmpSeen(vms.b1, "10.0.0.5")).toBe(b1Before);
    // Each tenant's 10.0.0.5 still reaches its own peers.
    expect(await tb.ping(vms.a2, "10.0.0.8")).toBe(true);
    expect(await icmpSeen(vms.b2, "10.0.0.5")).toBe(b2Before + 1);
  });

  it("allows ICMP only as the rules say (remote group members in, nothing for egress-UDP-only ports)", async () => {
    const seen = await icmpSeen(vms.b1, "10.0.0.7");
    const [fromA3, toA3, fromRouter] = await Promise.all([
      tb.ping(vms.a3, "10.0.0.6"), // a3's egress allows only UDP 5353
      tb.ping(vms.b1, "10.0.0.7"), // a3 has no ingress rule
      tb.ping(`${tb.tag}-ar-${VNI1.toString(16)}`, "10.0.0.6"), // the router is not in sg-web
    ]);
    expect([fromA3, toA3, fromRouter]).toEqual([false, false, false]);
    expect(await icmpSeen(vms.b1, "10.0.0.7")).toBe(seen);
  });

  it("allows TCP only on the opened port", async () => {
    expect(await tb.ask(vms.a1, "tcp-connect", "10.0.0.6", 8080)).toBe("10.0.0.5");
    expect(await tb.ask(vms.a1, "tcp-connect", "10.0.0.6", 8081)).toBeUndefined();
  });

  it("lets UDP replies back through conntrack, but no new UDP flow in", async () => {
    // a3 may send UDP 5353 out and has no ingress rule: the reply comes back as established.
    expect(await tb.ask(vms.a3, "udp-ask", "10.0.0.6", 5353)).toBe("10.0.0.7");
    // b1 may send anything out, but a3 accepts nothing new.
    expect(await tb.ask(vms.b1, "udp-ask", "10.0.0.7", 5353)).toBeUndefined();
  });

  it("hands the DHCP port its fixed address, gateway, DNS servers and MTU", async () => {
    if (!Bun.which("busybox")) {
      console.log("skipping the DHCP client check: busybox (udhcpc) is not installed");
      return;
    }
    const script = join(tb.stateDir, "udhcpc.sh");
    writeFileSync(script, '#!/bin/sh\n[ "$1" = bound ] && echo "ip=$ip mask=$mask router=$router dns=$dns mtu=$mtu"\nexit 0\n');
    chmodSync(script, 0o755);
    const out = await must(["ip", "netns", "exec", vms.d1, "busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-f", "-t", "4", "-T", "1", "-O", "mtu", "-s", script]);
    expect(out).toContain("ip=10.0.0.9 mask=24 router=10.0.0.1 dns=192.0.2.53 mtu=1450");
  }, SLOW);

  it("hands a deleted port's address to the next port at once (the old lease is dropped)", async () => {
    if (!Bun.which("busybox")) {
      console.log("skipping the DHCP reuse check: busybox (udhcpc) is not installed");
      return;
    }
    const script = join(tb.stateDir, "udhcpc.sh"); // written by the test above
    await applyBoth(["p-d1"]); // the port that just took 10.0.0.9 by DHCP is deleted...
    const s = states();
    const reused = s.a.vpcs.find((v) => v.vni === VNI1)!.ports.find((p) => p.id === "p-d1")!;
    reused.id = "p-d1b"; // ...and a new port with another MAC gets the same address
    reused.mac = "02:00:00:01:00:19";
    try {
      await A.apply(s.a);
      const out = await must(["ip", "netns", "exec", vms.d1, "busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-f", "-t", "4", "-T", "1", "-s", script]);
      expect(out).toContain("ip=10.0.0.9");
    } finally {
      await applyBoth();
    }
  }, SLOW);

  it("source-NATs outbound traffic behind the router (and a floating IP's port behind its FIP)", async () => {
    expect(await tb.ask(vms.a3, "udp-ask", "203.0.113.1", 5353)).toBe("203.0.113.10");
    expect(await tb.ask(vms.a1, "tcp-connect", "203.0.113.1", 80)).toBe("203.0.113.20");
  });

  it("reaches a VM from outside through its floating IP", async () => {
    expect(await tb.ask(tb.ext, "tcp-connect", "203.0.113.20", 8080)).toBe("203.0.113.1");
  });

  it("changes nothing when the same state is applied again", async () => {
    const before = await A.inspect();
    const idx = await must(["ip", "-n", tb.hostA, "-json", "link", "show"]);
    const [ra, rb] = await applyBoth();
    expect(ra).toEqual({ changes: 0, actions: [] });
    expect(rb).toEqual({ changes: 0, actions: [] });
    expect(await A.inspect()).toEqual(before);
    expect(await must(["ip", "-n", tb.hostA, "-json", "link", "show"])).toBe(idx);
  });

  it("removes every trace of a port that leaves the state, and brings it back", async () => {
    const dev = portDeviceName("p-b1", "veth");
    await applyBoth(["p-b1"]);
    expect(await must(["ip", "-n", tb.hostB, "-br", "link"])).not.toContain(dev);
    expect(await must(["ip", "-n", vms.b1, "-br", "link"])).not.toContain("eth0");
    const nftB = await must(["ip", "netns", "exec", tb.hostB, "nft", "list", "ruleset"]);
    expect(nftB).not.toContain("10.0.0.6");
    expect(nftB).not.toContain(dev.slice(4));
    const nftA = await must(["ip", "netns", "exec", tb.hostA, "nft", "list", "ruleset"]);
    expect(nftA).not.toContain("10.0.0.6");
    expect(await must(["bridge", "-n", tb.hostA, "fdb", "show", "dev", vxlanName(VNI1)])).not.toContain("02:00:00:01:00:06");
    expect(await must(["ip", "-n", tb.hostA, "neigh", "show", "dev", vxlanName(VNI1)])).not.toContain("10.0.0.6");
    expect(await tb.ping(vms.a1, "10.0.0.6")).toBe(false);

    await applyBoth(); // b1's listeners bound 0.0.0.0 and survive the interface coming and going
    expect(await tb.ping(vms.a1, "10.0.0.6", 3)).toBe(true);
  }, SLOW);

  it("plugs a tap port into the VPC bridge and unplugs it", async () => {
    const s = states();
    s.a.vpcs[0]!.ports.push({ id: "p-tap", mac: "02:00:00:01:00:42", ips: ["10.0.0.42"], securityGroups: ["sg-web"], device: { kind: "tap" } });
    const dev = portDeviceName("p-tap", "tap");
    expect((await A.apply(s.a)).changes).toBeGreaterThan(0);
    const link = JSON.parse(await must(["ip", "-n", tb.hostA, "-d", "-json", "link", "show", dev]))[0];
    expect(link.linkinfo.info_kind).toBe("tun");
    expect(link.master).toBe(bridgeName(VNI1));
    expect(link.mtu).toBe(1450);
    expect((await A.apply(s.a)).changes).toBe(0);
    await A.apply(states().a);
    expect(await must(["ip", "-n", tb.hostA, "-br", "link"])).not.toContain(dev);
  });

  it("converges after being killed right after each phase of an apply", async () => {
    const crash = join(import.meta.dir, "testdata", "crash-apply.ts");
    const opts = JSON.stringify({ ...tb.driverOptions("a"), logger: undefined });
    const full = JSON.stringify(states().a);
    for (const step of ["deletes", "namespaces", "nft", "creates", "inside", "fdb", "markers"]) {
      await A.teardown();
      const child = Bun.spawn({ cmd: [process.execPath, crash, opts, full, step], stdout: "ignore", stderr: "inherit" });
      expect(await child.exited).not.toBe(3);
      const r = await A.apply(states().a);
      expect(r.changes).toBeGreaterThan(0);
      expect((await A.apply(states().a)).changes).toBe(0);
      const ins = await A.inspect();
      expect(ins.vpcs.flatMap((v) => v.ports).every((p) => p.complete && p.up)).toBe(true);
      expect(await tb.ping(vms.a1, "10.0.0.6", 3)).toBe(true);
    }
    expect(await tb.ask(tb.ext, "tcp-connect", "203.0.113.20", 8080)).toBe("203.0.113.1");
  }, SLOW);

  it("repairs drift: a deleted VXLAN device, lost fdb entries, a dropped nft table, a dead dnsmasq, a deleted router", async () => {
    const dhcpPid = (await A.inspect()).vpcs.find((v) => v.vni === VNI1)!.dhcp!.pid!;
    await must(["ip", "-n", tb.hostA, "link", "del", vxlanName(VNI1)]);
    await must(["bridge", "-n", tb.hostB, "fdb", "del", "02:00:00:01:00:05", "dev", vxlanName(VNI1), "self"]);
    await must(["ip", "netns", "exec", tb.hostB, "nft", "delete", "table", "inet", "photon_novanet"]);
    process.kill(dhcpPid, "SIGKILL");
    await must(["ip", "netns", "del", `${tb.tag}-ar-${VNI1.toString(16)}`]);
    await Bun.sleep(300); // the kernel tears the namespace's devices down asynchronously
    const [ra, rb] = await applyBoth();
    expect(ra.changes).toBeGreaterThan(0);
    expect(rb.changes).toBeGreaterThan(0);
    const [ra2, rb2] = await applyBoth();
    expect([ra2.changes, rb2.changes]).toEqual([0, 0]);
    const vpc1 = (await A.inspect()).vpcs.find((v) => v.vni === VNI1)!;
    expect(vpc1.dhcp!.pid).toBeGreaterThan(0);
    expect(vpc1.dhcp!.pid).not.toBe(dhcpPid);
    expect(await tb.ping(vms.a1, "10.0.0.6", 3)).toBe(true);
    expect(await tb.ping(vms.a3, "10.0.0.6")).toBe(false); // security groups are back on host B
    expect(await tb.ask(vms.a3, "udp-ask", "203.0.113.1", 5353)).toBe("203.0.113.10");
  }, SLOW);

  it("tears down to nothing and never touches objects it does not own", async () => {
    await must(["ip", "-n", tb.hostA, "link", "add", "pcb-other", "type", "bridge"]); // not an owned name
    await A.teardown();
    await B.teardown();
    for (const h of [tb.hostA, tb.hostB]) {
      const links = await must(["ip", "-n", h, "-br", "link"]);
      expect(links).not.toMatch(/^pc[bxptred]-[0-9a-f]+[@ ]/m);
      expect(await must(["ip", "netns", "exec", h, "nft", "list", "ruleset"])).toBe("");
    }
    expect(await must(["ip", "-n", tb.hostA, "-br", "link"])).toContain("pcb-other");
    expect(await must(["ip", "-n", tb.hostA, "-br", "link"])).toContain("brext");
    const ns = await must(["ip", "netns", "list"]);
    expect(ns).not.toContain(`${tb.tag}-ar-`);
    expect(ns).not.toContain(`${tb.tag}-ad-`);
    const ins = await A.inspect();
    expect(ins.vpcs).toEqual([]);
    expect(ins.nftables.tables).toEqual([]);
  }, SLOW);
});
