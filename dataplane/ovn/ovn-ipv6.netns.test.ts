/**
 * IPv6 on the OVN driver, end to end on real netdev chassis (the lab of ovn-chassis.netns.test.ts):
 * a dual-stack VPC across two hosts reaches itself over IPv6, is routed between two IPv6 subnets
 * by the distributed router, filters IPv6 with security groups (TCP port allowed and blocked,
 * ICMPv6 echo only where a rule says), hands a DHCP port exactly its novanet address and DNS server
 * by stateful DHCPv6, and advertises the router (Managed flag) so the port gets its default route.
 * The same checks as the Linux driver's IPv6 test. Needs root; skipped with the reason otherwise.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { must } from "../linux/testbed.ts";
import type { HostNetworkState, PortState } from "../vpc-dataplane.ts";
import { OvnLab, ovnLabUnavailable } from "./chassis-testbed.ts";
import { lspName } from "./names.ts";
import { OvnVpcDataplane } from "./ovn-dataplane.ts";

const reason = await ovnLabUnavailable();
if (reason) console.log(`skipping the OVN IPv6 tests: ${reason}`);
const SLOW = 30_000;
const quiet = { debug() {}, info() {}, warn() {}, error() {}, child() { return quiet; } };

const port = (id: string, mac: string, ips: string[], securityGroups: string[]): PortState => ({ id, mac, ips, securityGroups, device: { kind: "tap" } });

/** One dual-stack VPC: v4 10.0.0.0/24, v6 fd00:6::/64 (DHCPv6) and fd00:7::/64, a router without external leg. */
function state(): HostNetworkState {
  const ports = [
    port("p1", "02:00:00:00:06:01", ["10.0.0.5", "fd00:6::5"], ["web6", "dflt"]),
    port("p2", "02:00:00:00:06:02", ["10.0.0.6", "fd00:6::6"], ["dflt"]),
    port("p3", "02:00:00:00:06:03", ["fd00:7::5"], []),
    port("pd", "02:00:00:00:06:09", ["fd00:6::9"], []),
  ];
  const members = ports.filter((p) => p.securityGroups.includes("dflt")).flatMap((p) => p.ips);
  return {
    underlayIp: "192.0.2.1",
    vpcs: [{
      id: "vpc-v6",
      vni: 600,
      mtu: 1442,
      subnets: [
        { id: "sn-v4", cidr: "10.0.0.0/24", gatewayIp: "10.0.0.1" },
        { id: "sn-v6", cidr: "fd00:6::/64", gatewayIp: "fd00:6::1", dhcp: { serverIp: "fd00:6::2", dnsServers: ["fd00:53::53"] } },
        { id: "sn-v6b", cidr: "fd00:7::/64", gatewayIp: "fd00:7::1" },
      ],
      ports,
      remoteEndpoints: [],
      router: { floatingIps: [] },
    }],
    securityGroups: [
      { id: "web6", rules: [{ direction: "ingress", ethertype: "ipv6", protocol: "tcp", portMin: 80, portMax: 80, remote: { cidr: "::/0" } }] },
      {
        id: "dflt",
        rules: [
          { direction: "ingress", remote: { groupId: "dflt", memberIps: members } },
          { direction: "ingress", ethertype: "ipv6", remote: { groupId: "dflt", memberIps: members } },
          { direction: "egress" },
          { direction: "egress", ethertype: "ipv6" },
        ],
      },
    ],
  };
}

describe.skipIf(reason !== undefined)("OVN driver over IPv6 on netdev chassis", () => {
  const lab = new OvnLab(`pc6${process.pid % 100000}`);
  let dp: OvnVpcDataplane;
  let vm1: string; // p1 on h1
  let vm2: string; // p2 on h2
  let vm3: string; // p3 on h2, other IPv6 subnet
  let vmd: string; // pd on h1, DHCPv6

  /** Adds static IPv6 addresses (no DAD: novanet's IPAM owns them) and a route via the gateway. */
  const address6 = (ns: string, addrs: string[], gateway: string) =>
    must(["ip", "-n", ns, "-batch", "-"], [...addrs.map((a) => `addr add ${a} dev eth0 nodad`), `route add default via ${gateway} dev eth0`].join("\n") + "\n");

  beforeAll(async () => {
    await lab.destroy();
    await lab.create();
    dp = new OvnVpcDataplane({ nbRemote: lab.central.nb.remote, logger: quiet });
    await dp.apply(state());
    [vm1, vm2, vm3, vmd] = await Promise.all([
      lab.vm("v1", "h1", lspName("p1"), "02:00:00:00:06:01", "10.0.0.5/24", "10.0.0.1"),
      lab.vm("v2", "h2", lspName("p2"), "02:00:00:00:06:02", "10.0.0.6/24", "10.0.0.1"),
      lab.vm("v3", "h2", lspName("p3"), "02:00:00:00:06:03"),
      lab.vm("vd", "h1", lspName("pd"), "02:00:00:00:06:09"),
    ]);
    await address6(vm1, ["fd00:6::5/64"], "fd00:6::1");
    await address6(vm2, ["fd00:6::6/64"], "fd00:6::1");
    await address6(vm3, ["fd00:7::5/64"], "fd00:7::1");
    await Promise.all([lab.serve(vm1, "tcp-listen6", 80), lab.serve(vm1, "tcp-listen6", 81)]);
    await lab.waitPortsUp(dp, 4);
    await lab.warmUp([[vm2, "fd00:6::5"], [vm1, "fd00:6::6"]]);
  }, SLOW);

  afterAll(async () => {
    await dp?.close();
    await lab.destroy();
  }, SLOW);

  it("connects same-subnet VMs on different hosts over IPv6, and routes between IPv6 subnets", async () => {
    expect(await lab.ping(vm1, "fd00:6::6")).toBe(true);
    let routed = false;
    for (let i = 0; i < 5 && !routed; i++) routed = await lab.ping(vm1, "fd00:7::5"); // egress allowed, replies related
    expect(routed).toBe(true);
  }, SLOW);

  it("applies security-group rules to IPv6: TCP allowed and blocked, ICMPv6 echo only where allowed", async () => {
    expect(await lab.ask(vm3, "tcp-connect", "fd00:6::5", 80)).toBe("fd00:7::5");
    expect(await lab.ask(vm3, "tcp-connect", "fd00:6::5", 81)).toBeUndefined();
    expect(await lab.ask(vm2, "tcp-connect", "fd00:6::5", 81)).toBe("fd00:6::6"); // a member of its default group
    expect(await lab.ping(vm3, "fd00:6::5")).toBe(false); // no ICMPv6 rule admits the outside
  }, SLOW);

  it("hands a DHCP port exactly its novanet address and DNS server by DHCPv6, and its default route by RA", async () => {
    if (!Bun.which("dhclient")) {
      console.log("skipping the DHCPv6 client check: dhclient (isc-dhcp-client) is not installed");
      return;
    }
    const out = join(lab.dir, "dhclient6.out");
    const script = join(lab.dir, "dhclient6.sh");
    writeFileSync(script, `#!/bin/sh\necho "$reason $new_ip6_address/$new_ip6_prefixlen dns=$new_dhcp6_name_servers" >> ${out}\nexit 0\n`);
    chmodSync(script, 0o755);
    writeFileSync(join(lab.dir, "dhclient6.conf"), "timeout 20;\n");
    // dhclient -6 binds to the link-local address: wait until duplicate address detection is over.
    for (let i = 0; i < 100; i++) {
      const ll = await must(["ip", "-n", vmd, "-6", "addr", "show", "dev", "eth0", "scope", "link"]);
      if (ll.includes("fe80::") && !ll.includes("tentative")) break;
      await Bun.sleep(50);
    }
    const client = Bun.spawn({
      cmd: ["ip", "netns", "exec", vmd, "dhclient", "-6", "-d", "-1", "-cf", join(lab.dir, "dhclient6.conf"), "-sf", script,
        "-lf", join(lab.dir, "dhclient6.leases"), "-pf", join(lab.dir, "dhclient6.pid"), "eth0"],
      stdout: "ignore", stderr: "ignore",
    });
    try {
      let got = "";
      for (let i = 0; i < 200 && !got.includes("BOUND6"); i++) {
        await Bun.sleep(100);
        got = existsSync(out) ? readFileSync(out, "utf8") : "";
      }
      expect(got).toContain("BOUND6 fd00:6::9/128 dns=fd00:53::53");
    } finally {
      client.kill("SIGKILL");
      await client.exited;
    }
    let route = "";
    for (let i = 0; i < 100 && !route.includes("via fe80::"); i++) {
      route = await must(["ip", "-n", vmd, "-6", "route", "show", "default"]);
      if (!route.includes("via fe80::")) await Bun.sleep(100);
    }
    expect(route).toContain("via fe80::");
  }, SLOW);
});
