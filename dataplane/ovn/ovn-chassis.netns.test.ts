/**
 * The OVN driver end to end on real chassis: an OVN central plus two "hypervisor hosts" as
 * network namespaces, each with ovs-vswitchd on the userspace datapath (`datapath_type=netdev`)
 * and ovn-controller, Geneve between them over an underlay veth, an external network behind the
 * gateway chassis, and "VMs" as namespaces. The same connectivity and isolation checks as the
 * Linux driver's: same-VPC reachability across hosts, overlapping tenants kept apart, security
 * groups (ICMP, TCP, UDP replies), DHCP, SNAT, floating IPs, and a deleted port gone; plus the
 * chassis half (OvnChassisDataplane) plugging and unplugging a VM over OVSDB. Needs root;
 * skipped with the reason printed otherwise. Everything is removed in afterAll.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { must } from "../linux/testbed.ts";
import { portDeviceName } from "../linux/names.ts";
import type { HostNetworkState, PortState } from "../vpc-dataplane.ts";
import { OvnLab, ovnLabUnavailable } from "./chassis-testbed.ts";
import { lspName } from "./names.ts";
import { OvnChassisDataplane } from "./ovn-chassis.ts";
import { OvnVpcDataplane } from "./ovn-dataplane.ts";
import { nbState } from "./testdata/nb-state.ts";

const reason = await ovnLabUnavailable();
if (reason) console.log(`skipping the OVN chassis tests: ${reason}`);
const SLOW = 30_000;
const quiet = { debug() {}, info() {}, warn() {}, error() {}, child() { return quiet; } };

/** The test state plus a DHCP-configured port `pd1` (10.0.0.9, no security groups). */
function state(without: string[] = []): HostNetworkState {
  const s = nbState({ without });
  if (!without.includes("pd1")) {
    s.vpcs[0]!.ports.push({ id: "pd1", mac: "02:00:00:00:01:09", ips: ["10.0.0.9"], securityGroups: [], device: { kind: "tap" } });
  }
  return s;
}

async function run(argv: string[]): Promise<{ code: number; out: string }> {
  const p = Bun.spawn(argv, { stdout: "pipe", stderr: "ignore" });
  const [out, code] = await Promise.all([new Response(p.stdout).text(), p.exited]);
  return { code, out: out.trim() };
}

describe.skipIf(reason !== undefined)("OVN driver on netdev chassis in network namespaces", () => {
  const lab = new OvnLab(`pco${process.pid % 100000}`);
  let dp: OvnVpcDataplane;
  let vm1: string; // pa1 10.0.0.5 on h1: groups web + default1, floating IP 203.0.113.20
  let vm2: string; // pa2 10.0.0.6 on h2: group default1
  let vm3: string; // pa3 10.0.1.5 on h2 (other subnet): no groups
  let vm4: string; // pb1 10.0.0.5 on h2: tenant 2 (same CIDR as tenant 1), group default2
  let vmd: string; // pd1 on h1: address from DHCP

  const ping = (ns: string, ip: string) => lab.ping(ns, ip);
  const ask = (ns: string, kind: "tcp-connect" | "udp-ask", ip: string, port: number) => lab.ask(ns, kind, ip, port);
  const serve = (ns: string, kind: "tcp-listen" | "udp-echo", port: number) => lab.serve(ns, kind, port);
  /** Echo requests from 10.0.0.5 that reached vm2's IP stack (the isolation counter). */
  const echoesFrom5 = async () => {
    const out = JSON.parse(await must(["ip", "netns", "exec", vm2, "nft", "-j", "list", "table", "inet", "seen"])) as {
      nftables: { rule?: { expr: { counter?: { packets: number } }[] } }[];
    };
    return out.nftables.find((x) => x.rule)!.rule!.expr.find((e) => e.counter)!.counter!.packets;
  };

  beforeAll(async () => {
    await lab.destroy();
    await lab.create();
    dp = new OvnVpcDataplane({
      nbRemote: lab.central.nb.remote,
      gatewayChassis: ["h1"],
      logger: quiet,
    });
    await dp.apply(state());
    [vm1, vm2, vm3, vm4, vmd] = await Promise.all([
      lab.vm("vm1", "h1", lspName("pa1"), "02:00:00:00:01:01", "10.0.0.5/24", "10.0.0.1"),
      lab.vm("vm2", "h2", lspName("pa2"), "02:00:00:00:01:02", "10.0.0.6/24", "10.0.0.1"),
      lab.vm("vm3", "h2", lspName("pa3"), "02:00:00:00:01:03", "10.0.1.5/24", "10.0.1.1"),
      lab.vm("vm4", "h2", lspName("pb1"), "02:00:00:00:02:01", "10.0.0.5/24", "10.0.0.1"),
      lab.vm("vmd", "h1", lspName("pd1"), "02:00:00:00:01:09"),
    ]);
    await must(["ip", "netns", "exec", vm2, "nft", "-f", "-"],
      'table inet seen {\n chain in {\n  type filter hook input priority 0; policy accept;\n  ip saddr 10.0.0.5 icmp type echo-request counter\n }\n}\n');
    await Promise.all([
      serve(vm1, "tcp-listen", 80), serve(vm1, "tcp-listen", 81), serve(vm2, "udp-echo", 5353),
      serve(vm3, "udp-echo", 5353), serve(lab.ext, "tcp-listen", 80), serve(lab.ext, "udp-echo", 5353),
    ]);
    // ovn-controller marks a port up once its flows are installed.
    await lab.waitPortsUp(dp, 5, 15_000);
    await lab.warmUp([[vm2, "10.0.0.5"], [vm1, "10.0.0.6"]]);
  }, SLOW);

  afterAll(async () => {
    await dp?.close();
    await lab.destroy();
  }, SLOW);

  it("connects same-VPC VMs on different hosts over Geneve, and routes between subnets", async () => {
    expect(await ping(vm2, "10.0.0.5")).toBe(true); // h2 -> h1
    expect(await ping(vm1, "10.0.0.6")).toBe(true); // h1 -> h2
    expect(await ping(vm3, "10.0.0.5")).toBe(true); // 10.0.1.0/24 -> 10.0.0.0/24 through the router
  });

  it("keeps tenants with overlapping CIDRs apart: no packet crosses", async () => {
    const before = await echoesFrom5();
    expect(await ping(vm4, "10.0.0.6")).toBe(false); // tenant 2's 10.0.0.5 -> tenant 1's 10.0.0.6
    expect(await echoesFrom5()).toBe(before);
    expect(await ping(vm1, "10.0.0.6")).toBe(true); // tenant 1's 10.0.0.5 does arrive (the counter works)
    expect(await echoesFrom5()).toBe(before + 1);
  });

  it("lets security groups allow and block exactly what they say", async () => {
    const [web, closed, notMember, member] = await Promise.all([
      ask(vm3, "tcp-connect", "10.0.0.5", 80), // web: tcp 80 from anywhere
      ask(vm3, "tcp-connect", "10.0.0.5", 81), // nothing allows 81
      ping(vm3, "10.0.0.6"), // default1 admits only its members
      ask(vm1, "udp-ask", "10.0.0.6", 5353), // a member may send anything
    ]);
    expect(web).toBe("10.0.1.5");
    expect(closed).toBeUndefined();
    expect(notMember).toBe(false);
    expect(member).toBe("10.0.0.5");
  }, SLOW);

  it("lets UDP replies back through conntrack, but no new UDP flow in", async () => {
    const [reply, unsolicited] = await Promise.all([
      ask(vm2, "udp-ask", "10.0.1.5", 5353), // vm2 may send out; the answer returns as established
      ask(vm3, "udp-ask", "10.0.0.6", 5353), // vm3 is no member of default1
    ]);
    expect(reply).toBe("10.0.0.6");
    expect(unsolicited).toBeUndefined();
  });

  it("hands the DHCP port its fixed address, gateway, DNS servers and MTU", async () => {
    const script = join(lab.dir, "udhcpc.sh");
    writeFileSync(script, '#!/bin/sh\n[ "$1" = bound ] && echo "ip=$ip mask=$mask router=$router dns=$dns mtu=$mtu"\nexit 0\n');
    chmodSync(script, 0o755);
    const out = await must(["ip", "netns", "exec", vmd, "busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-f", "-t", "4", "-T", "1", "-O", "mtu", "-s", script]);
    expect(out).toContain("ip=10.0.0.9 mask=24 router=10.0.0.1 dns=192.0.2.53 192.0.2.54 mtu=1442");
  }, SLOW);

  it("source-NATs outbound traffic behind the router (and a floating IP's port behind its FIP)", async () => {
    expect(await ask(vm3, "udp-ask", "203.0.113.1", 5353)).toBe("203.0.113.10"); // from h2 through the gateway chassis
    expect(await ask(vm1, "tcp-connect", "203.0.113.1", 80)).toBe("203.0.113.20");
  });

  it("reaches a VM from outside through its floating IP", async () => {
    expect(await ask(lab.ext, "tcp-connect", "203.0.113.20", 80)).toBe("203.0.113.1");
  });

  it("plugs and unplugs a VM through the chassis driver (OVSDB to the local switch, no ovs-vsctl)", async () => {
    const h1 = lab.hostOf("h1");
    const vmc = `${lab.tag}-vm-c1`;
    await must(["ip", "netns", "add", vmc]);
    const pc1: PortState = { id: "pc1", mac: "02:00:00:00:01:20", ips: ["10.0.0.20"], securityGroups: [], device: { kind: "veth", netns: vmc } };
    const full = state();
    full.vpcs[0]!.ports.push(pc1);
    await dp.apply(full);
    // the host's own state: its ports only (routers, DHCP and the rest are the northbound's)
    const host = (ports: PortState[]): HostNetworkState => ({
      underlayIp: h1.underlayIp,
      vpcs: [{ ...full.vpcs[0]!, mtu: 1442, ports, router: undefined }],
      securityGroups: [],
    });
    const chassis = new OvnChassisDataplane({ ovsRemote: `unix:${h1.dir}/db.sock`, netns: h1.ns, disableTxOffload: true, logger: quiet });
    try {
      const dev = portDeviceName("pc1", "veth");
      const res = await chassis.apply(host([pc1]));
      expect(res.actions).toEqual([`create ${dev} (port pc1)`, `plug ${dev} into br-int as ${lspName("pc1")}`]);
      expect(await chassis.apply(host([pc1]))).toEqual({ changes: 0, actions: [] });
      let ok = false;
      for (let i = 0; i < 10 && !ok; i++) ok = await ping(vmc, "10.0.0.5"); // web admits ICMP echo from anywhere
      expect(ok).toBe(true);
      expect((await chassis.inspect()).vpcs[0]!.ports).toEqual([{ device: dev, kind: "veth", up: true, complete: true }]);
      // a device left half-made (no completion marker, e.g. a crash) is made again and re-plugged
      await must(["ip", "-n", h1.ns, "link", "set", dev, "alias", "stale"]);
      expect((await chassis.apply(host([pc1]))).actions).toEqual([`unplug ${dev} (stale)`, `recreate ${dev} (port pc1)`, `plug ${dev} into br-int as ${lspName("pc1")}`]);
      ok = false;
      for (let i = 0; i < 10 && !ok; i++) ok = await ping(vmc, "10.0.0.5");
      expect(ok).toBe(true);
      // a missing VM namespace is refused before anything changes
      const orphan: PortState = { ...pc1, id: "pc2", mac: "02:00:00:00:01:21", ips: ["10.0.0.21"], device: { kind: "veth", netns: `${lab.tag}-vm-absent` } };
      await expect(chassis.apply(host([orphan, pc1]))).rejects.toMatchObject({ code: "DATAPLANE:MissingNamespace" });
      expect(await run(["ip", "-n", h1.ns, "link", "show", portDeviceName("pc2", "veth")])).toMatchObject({ code: 1 });
      // unplug: the OVS port and both veth ends go; the lab's own (untagged) ports stay
      expect((await chassis.apply(host([]))).actions).toEqual([`unplug ${dev}`, `delete ${dev}`]);
      const listed = await h1.vsctl("list-ports", "br-int");
      expect(listed).not.toContain(dev);
      expect(listed).toContain("v-vm1");
      expect(await run(["ip", "-n", h1.ns, "link", "show", dev])).toMatchObject({ code: 1 });
      expect(await run(["ip", "-n", vmc, "link", "show", "eth0"])).toMatchObject({ code: 1 });
      expect(await chassis.apply(host([]))).toEqual({ changes: 0, actions: [] });
    } finally {
      await chassis.close();
      await dp.apply(state());
    }
  }, SLOW);

  it("leaves nothing of a deleted port: no row, no binding, no traffic", async () => {
    const res = await dp.apply(state(["pa3"]));
    expect(res.actions).toContain("delete Logical_Switch_Port port:pa3");
    // northd removes the binding asynchronously
    const bindings = () => Bun.spawnSync(["ovn-sbctl", `--db=${lab.central.sb.remote}`, "--bare", "--columns=logical_port", "list", "Port_Binding"]).stdout.toString();
    let sb = bindings();
    for (let i = 0; i < 100 && sb.includes(lspName("pa3")); i++) {
      await Bun.sleep(50);
      sb = bindings();
    }
    expect(sb).not.toContain(lspName("pa3"));
    expect(sb).toContain(lspName("pa2"));
    // ovn-controller removes the port's flows right after the binding goes: traffic stops within
    // a few tries (each a 1 s ping), never to come back.
    let through = true;
    for (let i = 0; i < 5 && through; i++) through = await ping(vm3, "10.0.0.5");
    expect(through).toBe(false);
    expect(await ping(vm3, "10.0.0.5")).toBe(false);
    expect(await ping(vm2, "10.0.0.5")).toBe(true);
  });
});
