/**
 * The metadata route on router-less subnets, on real kernel objects: a VPC with a DHCP subnet
 * without a gateway (no router namespace, where the metadata proxy would listen) and one with a
 * gateway behind an internal router. A DHCP client on the router-less subnet gets a classless
 * static route (option 121) for 169.254.169.254/32 via the DHCP server and reaches a server
 * standing in for the metadata proxy on 169.254.169.254:80 in the DHCP namespace, through its
 * security group; a client on the routed subnet gets its router and no such route. Attaching a
 * router to the subnet takes the route and the address away. Needs root, `ip netns` and busybox
 * (udhcpc); skipped with the reason printed otherwise. Everything is removed in afterAll.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { HostNetworkState } from "../vpc-dataplane.ts";
import type { LinuxVpcDataplane } from "./linux-dataplane.ts";
import { must, netnsUnavailable, Testbed } from "./testbed.ts";

const reason = (await netnsUnavailable()) ?? (Bun.which("busybox") ? undefined : "busybox (udhcpc) is not installed");
if (reason) console.log(`skipping the DHCP metadata route tests: ${reason}`);
const SLOW = 30_000;
const VNI = 0x3a1;

describe.skipIf(reason !== undefined)("metadata route for router-less subnets (DHCP option 121)", () => {
  const tb = new Testbed(`pcm${process.pid % 100000}`);
  let dp: LinuxVpcDataplane;
  let vm1: string; // 10.0.0.9 by DHCP, router-less subnet, default-like group
  let vm2: string; // 10.0.1.9 by DHCP, subnet with a gateway
  const dhcpNs = () => `${tb.tag}-ad-${VNI.toString(16)}`;
  let script: string;

  /** The host's state; with `routed`, the first subnet has a gateway too. */
  const state = (routed = false): HostNetworkState => ({
    underlayIp: tb.underlayA,
    vpcs: [{
      id: "vpc-m",
      vni: VNI,
      subnets: [
        { id: "sn-flat", cidr: "10.0.0.0/24", ...(routed ? { gatewayIp: "10.0.0.1" } : {}), dhcp: { serverIp: "10.0.0.2", dnsServers: [] } },
        { id: "sn-routed", cidr: "10.0.1.0/24", gatewayIp: "10.0.1.1", dhcp: { serverIp: "10.0.1.2", dnsServers: [] } },
      ],
      ports: [
        { id: "p-m1", mac: "02:00:00:0a:00:09", ips: ["10.0.0.9"], securityGroups: ["sg"], device: { kind: "veth", netns: vm1, configure: false } },
        { id: "p-m2", mac: "02:00:00:0a:01:09", ips: ["10.0.1.9"], securityGroups: ["sg"], device: { kind: "veth", netns: vm2, configure: false } },
      ],
      remoteEndpoints: [],
      router: { floatingIps: [] },
    }],
    securityGroups: [{ id: "sg", rules: [{ direction: "ingress", remote: { groupId: "sg", memberIps: ["10.0.0.9", "10.0.1.9"] } }, { direction: "egress" }] }],
  });
  const udhcpc = (ns: string) =>
    must(["ip", "netns", "exec", ns, "busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-f", "-t", "4", "-T", "1", "-O", "staticroutes", "-s", script]);

  beforeAll(async () => {
    await tb.destroy();
    await tb.create();
    vm1 = await tb.vm("m1");
    vm2 = await tb.vm("m2");
    dp = tb.driver("a");
    await dp.apply(state());
    script = join(tb.stateDir, "udhcpc-routes.sh");
    writeFileSync(script, '#!/bin/sh\n[ "$1" = bound ] && echo "ip=$ip router=$router staticroutes=$staticroutes"\nexit 0\n');
    chmodSync(script, 0o755);
    await tb.serve(dhcpNs(), "tcp-listen", 80); // stands in for the metadata proxy
  }, SLOW);

  afterAll(async () => {
    await tb.destroy();
  });

  it("hands a client on a router-less subnet the route to 169.254.169.254 via the DHCP server, which answers there", async () => {
    const out = await udhcpc(vm1);
    expect(out).toContain("ip=10.0.0.9 router= staticroutes=169.254.169.254/32 10.0.0.2");
    // what a DHCP client does with it (udhcpc's default script installs it the same way)
    await must(["ip", "-n", vm1, "-batch", "-"], "addr add 10.0.0.9/24 dev eth0\nroute add 169.254.169.254/32 via 10.0.0.2\n");
    let answer: string | undefined;
    for (let i = 0; i < 3 && answer === undefined; i++) answer = await tb.ask(vm1, "tcp-connect", "169.254.169.254", 80);
    expect(answer).toBe("10.0.0.9");
  }, SLOW);

  it("gives a client on a subnet with a gateway its router and no metadata route (the router serves it)", async () => {
    const out = await udhcpc(vm2);
    expect(out).toContain("ip=10.0.1.9 router=10.0.1.1 staticroutes=\n");
  }, SLOW);

  it("takes the route and the address away once the subnet has a gateway", async () => {
    await dp.apply(state(true));
    expect(await must(["ip", "-n", dhcpNs(), "-br", "addr", "show", "dev", "lo"])).not.toContain("169.254.169.254");
    const out = await udhcpc(vm1);
    expect(out).toContain("ip=10.0.0.9 router=10.0.0.1 staticroutes=\n");
    await dp.apply(state());
    expect(await must(["ip", "-n", dhcpNs(), "-br", "addr", "show", "dev", "lo"])).toContain("169.254.169.254/32");
    expect(await dp.apply(state())).toMatchObject({ changes: 0 });
  }, SLOW);
});
