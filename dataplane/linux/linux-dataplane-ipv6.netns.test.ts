/**
 * IPv6 in the Linux data plane, on real kernel objects inside network namespaces this test
 * creates: two "hypervisor hosts" joined by an underlay veth, "VMs" as namespaces, one IPv6 VPC
 * with two subnets and a router on each host. Proves that VMs on different hosts reach each other
 * over IPv6 (one subnet, and routed between subnets), that security groups filter IPv6 (TCP port
 * allowed/blocked, ICMPv6 only where a rule says — neighbour discovery always works), that a port
 * gets exactly its novanet address from DHCPv6 and its default route from the router's
 * advertisements, that IPv6 leaves through the router's external leg unNATed (and comes back in
 * only where a security group allows), and that a one-port change is applied incrementally.
 * Needs root and `ip netns`; skipped with the reason printed otherwise. afterAll removes every
 * namespace, process and file it made.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { HostNetworkState, PortState, SecurityGroupState, VpcState } from "../vpc-dataplane.ts";
import { linkLocalOf } from "./ip.ts";
import type { LinuxVpcDataplane } from "./linux-dataplane.ts";
import { portDeviceName, routerMac } from "./names.ts";
import { must, netnsUnavailable, Testbed } from "./testbed.ts";

const reason = await netnsUnavailable();
const SLOW = 30_000;
if (reason) console.log(`skipping the Linux data plane IPv6 tests: ${reason}`);

const VNI = 0x606;
const SN1 = { id: "sn6-1", cidr: "fd00:6:0:1::/64", gatewayIp: "fd00:6:0:1::1", dhcp: { serverIp: "fd00:6:0:1::2", dnsServers: ["fd00:53::53"] } };
const SN2 = { id: "sn6-2", cidr: "fd00:6:0:2::/64", gatewayIp: "fd00:6:0:2::1" };
const GROUPS: SecurityGroupState[] = [
  {
    id: "sg-icmp-tcp",
    rules: [
      { direction: "ingress", ethertype: "ipv6", protocol: "icmpv6" },
      { direction: "ingress", ethertype: "ipv6", protocol: "tcp", portMin: 8080, portMax: 8080 },
      { direction: "egress", ethertype: "ipv6" },
    ],
  },
  {
    id: "sg-tcp",
    rules: [
      { direction: "ingress", ethertype: "ipv6", protocol: "tcp", portMin: 8080, portMax: 8080, remote: { cidr: "fd00:6::/48" } },
      { direction: "egress", ethertype: "ipv6" },
    ],
  },
];

describe.skipIf(reason !== undefined)("linux data plane: IPv6", () => {
  const tb = new Testbed(`pc6${process.pid % 100000}`);
  let A: LinuxVpcDataplane;
  let B: LinuxVpcDataplane;
  const vm: Record<"a1" | "d1" | "b1" | "b2" | "x1", string> = { a1: "", d1: "", b1: "", b2: "", x1: "" };
  const port = (id: string, ns: string, last: number, ip: string, groups: string[], configure = true): PortState => ({
    id, mac: `02:00:00:06:00:${last.toString(16).padStart(2, "0")}`, ips: [ip], securityGroups: groups, device: { kind: "veth", netns: ns, configure },
  });
  const states = (extra: PortState[] = []): { a: HostNetworkState; b: HostNetworkState } => {
    const a = [port("p6-a1", vm.a1, 5, "fd00:6:0:1::5", ["sg-icmp-tcp"]), port("p6-d1", vm.d1, 9, "fd00:6:0:1::9", [], false), ...extra];
    const b = [port("p6-b1", vm.b1, 6, "fd00:6:0:1::6", ["sg-icmp-tcp"]), port("p6-b2", vm.b2, 7, "fd00:6:0:2::7", ["sg-tcp"])];
    const vpc = (local: PortState[], remote: PortState[], host: string): VpcState => ({
      id: "vpc-6", vni: VNI, subnets: [SN1, SN2], ports: local,
      remoteEndpoints: remote.map((p) => ({ mac: p.mac, ips: p.ips, hostIp: host })),
      router: { floatingIps: [] },
    });
    return {
      a: { underlayIp: tb.underlayA, vpcs: [vpc(a, b, tb.underlayB)], securityGroups: GROUPS },
      b: { underlayIp: tb.underlayB, vpcs: [vpc(b, a, tb.underlayA)], securityGroups: GROUPS },
    };
  };

  beforeAll(async () => {
    await tb.destroy();
    await tb.create();
    for (const k of Object.keys(vm) as (keyof typeof vm)[]) {
      vm[k] = await tb.vm(k);
      // Interfaces created in the VM get usable link-local addresses at once (no DAD wait).
      await must(["ip", "netns", "exec", vm[k], "sysctl", "-q", "-w", "net.ipv6.conf.default.accept_dad=0"]);
    }
    A = tb.driver("a");
    B = tb.driver("b");
    const s = states();
    await Promise.all([A.apply(s.a), B.apply(s.b)]);
    await tb.serve(vm.b1, "tcp-listen6", 8080);
    await tb.serve(vm.b1, "tcp-listen6", 8081);
    await tb.serve(vm.b2, "tcp-listen6", 8080);
  }, SLOW);

  afterAll(async () => {
    await tb.destroy();
  });

  it("gives configured ports their address and default route", async () => {
    const addr = await must(["ip", "-n", vm.a1, "-6", "addr", "show", "dev", "eth0"]);
    expect(addr).toContain("inet6 fd00:6:0:1::5/64");
    expect(await must(["ip", "-n", vm.b2, "-6", "route", "show", "default"])).toContain("via fd00:6:0:2::1 dev eth0");
  });

  it("connects VMs on different hosts over IPv6, in one subnet and routed between subnets", async () => {
    expect(await tb.ping(vm.a1, "fd00:6:0:1::6", 3)).toBe(true);
    expect(await tb.ping(vm.b1, "fd00:6:0:1::5", 3)).toBe(true);
    // a1 (subnet 1, host A) → router on host A → b2 (subnet 2, host B) across VXLAN.
    expect(await tb.ask(vm.a1, "tcp-connect", "fd00:6:0:2::7", 8080)).toBe("fd00:6:0:1::5");
  });

  it("applies security-group rules to IPv6: TCP allowed and blocked, ICMPv6 only where allowed", async () => {
    expect(await tb.ask(vm.a1, "tcp-connect", "fd00:6:0:1::6", 8080)).toBe("fd00:6:0:1::5");
    expect(await tb.ask(vm.a1, "tcp-connect", "fd00:6:0:1::6", 8081)).toBeUndefined();
    // b2's group has no ICMPv6 rule: echo is dropped, although neighbour discovery to it works (TCP did).
    expect(await tb.ping(vm.a1, "fd00:6:0:2::7")).toBe(false);
  });

  it("hands a DHCP port exactly its novanet address by DHCPv6, and the router's advertisements its default route", async () => {
    if (!Bun.which("dhclient")) {
      console.log("skipping the DHCPv6 client check: dhclient (isc-dhcp-client) is not installed");
      return;
    }
    const dir = tb.stateDir;
    const out = join(dir, "dhclient6.out");
    const script = join(dir, "dhclient6.sh");
    writeFileSync(script, `#!/bin/sh\necho "$reason $new_ip6_address/$new_ip6_prefixlen dns=$new_dhcp6_name_servers" >> ${out}\nexit 0\n`);
    chmodSync(script, 0o755);
    writeFileSync(join(dir, "dhclient6.conf"), "timeout 20;\n");
    const client = Bun.spawn({
      cmd: ["ip", "netns", "exec", vm.d1, "dhclient", "-6", "-d", "-1", "-cf", join(dir, "dhclient6.conf"), "-sf", script,
        "-lf", join(dir, "dhclient6.leases"), "-pf", join(dir, "dhclient6.pid"), "eth0"],
      stdout: "ignore", stderr: "ignore",
    });
    try {
      let got = "";
      for (let i = 0; i < 150 && !got.includes("BOUND6"); i++) {
        await Bun.sleep(100);
        got = existsSync(out) ? readFileSync(out, "utf8") : "";
      }
      expect(got).toContain("BOUND6 fd00:6:0:1::9/128 dns=fd00:53::53");
    } finally {
      client.kill("SIGKILL");
      await client.exited;
    }
    const gw = linkLocalOf(routerMac(VNI));
    let route = "";
    for (let i = 0; i < 100 && !route.includes(gw); i++) {
      route = await must(["ip", "-n", vm.d1, "-6", "route", "show", "default"]);
      if (!route.includes(gw)) await Bun.sleep(100);
    }
    expect(route).toContain(`via ${gw} dev eth0`);
  }, SLOW);

  it("plugs and unplugs an IPv6 port incrementally, with the same result as a full observation", async () => {
    const before = { ...A.stats };
    const x1 = port("p6-x1", vm.x1, 0x21, "fd00:6:0:1::21", ["sg-icmp-tcp"]);
    const s = states([x1]);
    await B.apply(s.b);
    const r = await A.apply(s.a);
    expect(A.stats.incremental).toBe(before.incremental + 1);
    expect(A.stats.fallbacks).toBe(before.fallbacks);
    expect(r.actions.some((l) => l.includes("link del"))).toBe(false); // nothing else was recreated
    expect(await tb.ping(vm.x1, "fd00:6:0:1::6", 3)).toBe(true);
    expect((await A.apply(s.a)).changes).toBe(0); // same state again: a full observation finds nothing to do
    await Promise.all([A.apply(states().a), B.apply(states().b)]);
    expect(A.stats.fallbacks).toBe(before.fallbacks);
    expect(await must(["ip", "-n", tb.hostA, "-br", "link"])).not.toContain(portDeviceName("p6-x1", "veth"));
    expect(await must(["ip", "netns", "exec", tb.hostA, "nft", "list", "ruleset"])).not.toContain("fd00:6:0:1::21");
    expect((await A.apply(states().a)).changes).toBe(0);
  }, SLOW);

  it("routes IPv6 to the external network without NAT, and security groups filter what comes in", async () => {
    const withExternal = states();
    withExternal.a.vpcs[0]!.router = {
      floatingIps: [],
      external: { bridge: "brext", ip: "203.0.113.10/24", gatewayIp: "203.0.113.1", ip6: "2001:db8:100::10/64", gatewayIp6: "2001:db8:100::1" },
    };
    await must(["ip", "-n", tb.ext, "-batch", "-"], "addr add 2001:db8:100::1/64 dev eth0 nodad\nroute add fd00:6::/48 via 2001:db8:100::10\n");
    await A.apply(withExternal.a);
    await tb.serve(tb.ext, "tcp-listen6", 80);
    await tb.serve(vm.a1, "tcp-listen6", 8080);
    await tb.serve(vm.a1, "tcp-listen6", 8081);
    // Out: the external side sees the VM's own address (no NAT66).
    let seen: string | undefined;
    for (let i = 0; i < 3 && !seen; i++) seen = await tb.ask(vm.a1, "tcp-connect", "2001:db8:100::1", 80);
    expect(seen).toBe("fd00:6:0:1::5");
    // In: routed to the VM, through its security group (8080 allowed, 8081 not).
    expect(await tb.ask(tb.ext, "tcp-connect", "fd00:6:0:1::5", 8080)).toBe("2001:db8:100::1");
    expect(await tb.ask(tb.ext, "tcp-connect", "fd00:6:0:1::5", 8081)).toBeUndefined();
    // Without the external leg again, its IPv6 default route goes too.
    await A.apply(states().a);
    expect(await must(["ip", "-n", `${tb.tag}-ar-${VNI.toString(16)}`, "-6", "route", "show", "default"])).toBe("");
  }, SLOW);

  it("tears down to nothing, the router's advertisement daemon included", async () => {
    const daemons = () => Bun.spawnSync(["pgrep", "-f", tb.stateDir]).stdout.toString().trim();
    expect(daemons()).not.toBe(""); // the DHCP and the router's dnsmasq of each host
    await Promise.all([A.teardown(), B.teardown()]);
    expect(daemons()).toBe("");
    for (const h of [tb.hostA, tb.hostB]) {
      expect(await must(["ip", "-n", h, "-br", "link"])).not.toMatch(/^pc[bxptred]-[0-9a-f]+[@ ]/m);
      expect(await must(["ip", "netns", "exec", h, "nft", "list", "ruleset"])).toBe("");
    }
    expect(await must(["ip", "netns", "list"])).not.toMatch(new RegExp(`${tb.tag}-[ab][rd]-`));
  }, SLOW);
});
