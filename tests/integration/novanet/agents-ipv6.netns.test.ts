/**
 * novanet's IPv6 end to end on real kernel objects: the API (chainfire + iam + novanet) and two
 * host agents driving the Linux data plane (dataplane/linux/testbed.ts) for an IPv6 VPC — two
 * subnets (one with DHCPv6) behind a router, "VMs" as namespaces plugged in through ports. Proves
 * the agents carry IPv6 subnets, addresses, remote endpoints and rules: VMs on different hosts
 * reach each other over IPv6 in one subnet and routed between subnets, and a security-group rule
 * created through the API opens exactly its IPv6 TCP port. Needs root and `ip netns`; skipped with
 * the reason otherwise. afterAll removes every namespace, process and file it made.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { must, netnsUnavailable, Testbed } from "../../../dataplane/linux/testbed.ts";
import { createLogger } from "../../../lib/log.ts";
import { NovanetAgent } from "../../../services/novanet/agent/agent.ts";
import { EtcdNovanetStore } from "../../../services/novanet/store-etcd.ts";
import type { Port } from "../../../services/novanet/types.ts";
import { makeTenant, startStack, type Stack } from "./support.ts";

const reason = await netnsUnavailable();
if (reason) console.log(`skipping novanet's IPv6 agent namespace tests: ${reason}`);
const SLOW = 30_000;

describe.skipIf(reason !== undefined)("novanet API + agents: IPv6", () => {
  const tb = new Testbed(`pcn6${process.pid % 100000}`);
  const work = mkdtempSync(join(tmpdir(), "novanet-agents6-"));
  let stack: Stack;
  let store: EtcdNovanetStore;
  const agents: NovanetAgent[] = [];
  const port: Record<"a1" | "b1" | "b2", Port | undefined> = { a1: undefined, b1: undefined, b2: undefined };
  const ip = (p: Port | undefined) => p!.fixedIps[0]!;

  beforeAll(async () => {
    await tb.destroy();
    await tb.create();
    stack = await startStack(work);
    store = new EtcdNovanetStore({ endpoints: [stack.chainfire.endpoint] });
    for (const h of ["a", "b"] as const) {
      // Default options: a watch event starts the pass at once, the data plane applies incrementally.
      const agent = new NovanetAgent({ store, dataplane: tb.driver(h), host: { name: `hv-${h}`, underlayIp: h === "a" ? tb.underlayA : tb.underlayB }, logger: createLogger(`agent-${h}`, { level: "error" }) });
      await agent.start();
      agents.push(agent);
    }
    const t = await makeTenant(stack, "v6");
    const vpc = await t.nn.createVpc({ cidr: "fd00:7::/48" });
    const sn1 = await t.nn.createSubnet({ vpc: vpc.id, cidr: "fd00:7:0:1::/64", dhcp: true });
    const sn2 = await t.nn.createSubnet({ vpc: vpc.id, cidr: "fd00:7:0:2::/64" });
    await t.nn.createRouter({ vpc: vpc.id, subnets: [sn1.id, sn2.id] });
    const web = await t.nn.createSecGroup({ name: "web6" });
    await t.nn.createRule(web.id, { direction: "ingress", ethertype: "ipv6", protocol: "tcp", portMin: 8080 });
    await t.nn.createRule(web.id, { direction: "egress", ethertype: "ipv6" });
    port.a1 = await t.nn.createPort({ subnet: sn1.id, host: "hv-a", netns: await tb.vm("a1") });
    port.b1 = await t.nn.createPort({ subnet: sn1.id, host: "hv-b", netns: await tb.vm("b1"), securityGroups: [web.id] });
    port.b2 = await t.nn.createPort({ subnet: sn2.id, host: "hv-b", netns: await tb.vm("b2") });
    const rev = (await store.etcd.getPrefix("/photon/novanet/", { limit: 1 })).revision;
    await Promise.all(agents.map((a) => a.waitFor(rev)));
    await tb.serve(port.b1.netns!, "tcp-listen6", 8080);
    await tb.serve(port.b1.netns!, "tcp-listen6", 8081);
  }, SLOW);

  afterAll(async () => {
    for (const a of agents) await a.stop();
    store?.close();
    await stack?.stop();
    await tb.destroy();
    rmSync(work, { recursive: true, force: true });
  });

  it("plugs IPv6 ports with their novanet addresses", async () => {
    expect(ip(port.a1)).toStartWith("fd00:7:0:1::");
    expect(await must(["ip", "-n", port.a1!.netns!, "-6", "addr", "show", "dev", "eth0"])).toContain(`inet6 ${ip(port.a1)}/64`);
  });

  it("connects VMs on different hosts over IPv6, in one subnet and routed between subnets", async () => {
    // The project's default group admits its members (a1, b2) over IPv6.
    expect(await tb.ping(port.a1!.netns!, ip(port.b2), 3)).toBe(true); // fd00:7:0:1:: → router → fd00:7:0:2::
    expect(await tb.ping(port.b2!.netns!, ip(port.a1), 3)).toBe(true);
  });

  it("opens exactly the IPv6 TCP port of a rule created through the API", async () => {
    expect(await tb.ask(port.a1!.netns!, "tcp-connect", ip(port.b1), 8080)).toBe(ip(port.a1));
    expect(await tb.ask(port.a1!.netns!, "tcp-connect", ip(port.b1), 8081)).toBeUndefined();
    expect(await tb.ping(port.a1!.netns!, ip(port.b1))).toBe(false); // web6 has no ICMPv6 rule
  });
});
