/**
 * Packet steering (ADR 0023) on real devices: with `packetCpus` the driver writes the RPS
 * bitmap of every port's host end and VXLAN device it creates, on full and incremental applies;
 * without, the kernel's default stays. Needs root and `ip netns` (skipped with the reason
 * otherwise); everything lives in namespaces this test creates and removes.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import type { HostNetworkState, PortState } from "../vpc-dataplane.ts";
import { portDeviceName, vxlanName } from "./names.ts";
import { must, netnsUnavailable, Testbed } from "./testbed.ts";

const reason = await netnsUnavailable();
if (reason) console.log(`skipping the packet steering namespace tests: ${reason}`);

describe.skipIf(reason !== undefined)("packet steering", () => {
  const tb = new Testbed(`pst${process.pid % 100000}`);
  const vms: string[] = [];
  const port = (i: number): PortState => ({
    id: `port-${i}`, mac: `02:00:00:00:0a:0${i}`, ips: [`10.0.0.${10 + i}`], securityGroups: [], device: { kind: "veth", netns: vms[i]! },
  });
  const state = (ports: PortState[]): HostNetworkState => ({
    underlayIp: tb.underlayA,
    vpcs: [{ id: "vpc-1", vni: 4300, subnets: [{ id: "sn-1", cidr: "10.0.0.0/24" }], ports, remoteEndpoints: [] }],
    securityGroups: [],
  });
  const rps = async (dev: string) => (await must(["ip", "netns", "exec", tb.hostA, "cat", `/sys/class/net/${dev}/queues/rx-0/rps_cpus`])).trim();

  beforeAll(async () => {
    await tb.destroy();
    await tb.create();
    for (let i = 0; i < 3; i++) vms.push(await tb.vm(`s${i}`));
  }, 30_000);

  afterAll(async () => {
    await tb.destroy();
  });

  it("steers ports' host ends and the VXLAN device to the configured CPUs, new ports too", async () => {
    const dp = tb.driver("a", { packetCpus: "0" });
    const r = await dp.apply(state([port(0)]));
    expect(r.actions.some((a) => a.startsWith("steer 2 device(s)"))).toBe(true);
    expect(Number.parseInt(await rps(portDeviceName("port-0", "veth")), 16)).toBe(1);
    expect(Number.parseInt(await rps(vxlanName(4300)), 16)).toBe(1);
    // An incremental apply adding a port steers only the new device.
    const r2 = await dp.apply(state([port(0), port(1)]));
    expect(r2.actions).toContain("steer 1 device(s) to CPUs 1");
    expect(Number.parseInt(await rps(portDeviceName("port-1", "veth")), 16)).toBe(1);
    await dp.teardown();
  }, 30_000);

  it("leaves the kernel's default without packetCpus", async () => {
    const dp = tb.driver("a");
    const r = await dp.apply(state([port(2)]));
    expect(r.actions.some((a) => a.startsWith("steer"))).toBe(false);
    expect(Number.parseInt(await rps(portDeviceName("port-2", "veth")), 16)).toBe(0);
    expect(Number.parseInt(await rps(vxlanName(4300)), 16)).toBe(0);
    await dp.teardown();
  }, 30_000);

  it("refuses a malformed CPU list when the driver is made", () => {
    expect(() => tb.driver("a", { packetCpus: "x" })).toThrow(/not a CPU/);
  });
});
