/**
 * novanet end to end on real kernel objects: the API (chainfire + iam + novanet) and two host
 * agents driving the Linux data plane on two "hypervisor hosts" (network namespaces joined by an
 * underlay veth, dataplane/linux/testbed.ts), "VMs" as namespaces plugged in through ports
 * created with `host` + `netns`. Proves: same-VPC VMs on different hosts reach each other; two
 * tenants with the same CIDR stay isolated (no packet crosses); a security-group rule added
 * through the API opens exactly its TCP port; SNAT and a floating IP reach/are reached from an
 * "external" namespace; a deleted port leaves nothing on its host; a restarted agent converges to
 * what changed while it was down. Needs root and `ip netns`; skipped with the reason otherwise.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { portDeviceName, vxlanName } from "../../../dataplane/linux/names.ts";
import { must, netnsUnavailable, Testbed } from "../../../dataplane/linux/testbed.ts";
import { createLogger } from "../../../lib/log.ts";
import { NovanetAgent } from "../../../services/novanet/agent/agent.ts";
import { EtcdNovanetStore } from "../../../services/novanet/store-etcd.ts";
import type { Port, SecurityGroup, Subnet, Vpc } from "../../../services/novanet/types.ts";
import { makeTenant, startStack, type Stack, type Tenant } from "./support.ts";

const reason = await netnsUnavailable();
if (reason) console.log(`skipping novanet's agent namespace tests: ${reason}`);
const SLOW = 30_000;

describe.skipIf(reason !== undefined)("novanet API + agents on two hosts", () => {
  const tb = new Testbed(`pcn${process.pid % 100000}`);
  const work = mkdtempSync(join(tmpdir(), "novanet-agents-"));
  let stack: Stack;
  let store: EtcdNovanetStore;
  let t1: Tenant;
  let t2: Tenant;
  const agents: Record<"a" | "b", NovanetAgent | undefined> = { a: undefined, b: undefined };
  const vm: Record<string, string> = {};
  const port: Record<string, Port> = {};
  let sn1: Subnet;
  let web: SecurityGroup;
  let vpc1: Vpc;

  const startAgent = async (h: "a" | "b") => {
    const agent = new NovanetAgent({
      store,
      dataplane: tb.driver(h),
      host: { name: `hv-${h}`, underlayIp: h === "a" ? tb.underlayA : tb.underlayB, ...(h === "a" ? { externalBridge: "brext" } : {}) },
      logger: createLogger(`agent-${h}`, { level: "error" }),
      coalesceMs: 5,
    });
    await agent.start();
    agents[h] = agent;
  };
  /** Waits until both agents applied everything written so far. */
  const settled = async () => {
    const rev = (await store.etcd.getPrefix("/photon/novanet/", { limit: 1 })).revision;
    await Promise.all([agents.a!.waitFor(rev), agents.b!.waitFor(rev)]);
  };
  const echoSeen = async (ns: string, src: string) => {
    const out = await must(["ip", "netns", "exec", ns, "nft", "-j", "list", "table", "inet", "seen"]);
    const rule = (JSON.parse(out).nftables as { rule?: { comment?: string; expr: { counter?: { packets: number } }[] } }[]).find((x) => x.rule?.comment === src);
    return rule!.rule!.expr.find((e) => e.counter)!.counter!.packets;
  };

  beforeAll(async () => {
    await tb.destroy();
    await tb.create();
    stack = await startStack(work, { external: { cidr: "203.0.113.0/24", gatewayIp: "203.0.113.1", poolStart: "203.0.113.10", poolEnd: "203.0.113.30" } });
    store = new EtcdNovanetStore({ endpoints: [stack.chainfire.endpoint] });
    for (const n of ["a1", "b1", "a2", "b2"]) vm[n] = await tb.vm(n);
    await startAgent("a");
    await startAgent("b");
    t1 = await makeTenant(stack, "tenant1");
    t2 = await makeTenant(stack, "tenant2");
    // Both tenants use 10.0.0.0/24; a1 and a2 even share 10.0.0.10.
    vpc1 = await t1.nn.createVpc({ cidr: "10.0.0.0/16" });
    sn1 = await t1.nn.createSubnet({ vpc: vpc1.id, cidr: "10.0.0.0/24", dnsServers: ["192.0.2.53"] });
    const vpc2 = await t2.nn.createVpc({ cidr: "10.0.0.0/16" });
    const sn2 = await t2.nn.createSubnet({ vpc: vpc2.id, cidr: "10.0.0.0/24", dhcp: false });
    port.a1 = await t1.nn.createPort({ subnet: sn1.id, fixedIps: ["10.0.0.10"], host: "hv-a", netns: vm.a1 });
    port.b1 = await t1.nn.createPort({ subnet: sn1.id, fixedIps: ["10.0.0.11"], host: "hv-b", netns: vm.b1 });
    port.a2 = await t2.nn.createPort({ subnet: sn2.id, fixedIps: ["10.0.0.10"], host: "hv-a", netns: vm.a2 });
    port.b2 = await t2.nn.createPort({ subnet: sn2.id, fixedIps: ["10.0.0.12"], host: "hv-b", netns: vm.b2 });
    web = await t1.nn.createSecGroup({ name: "web" });
    await t1.nn.createRule(web.id, { direction: "egress" });
    await settled();
    await must(["ip", "netns", "exec", vm.b2!, "nft", "-f", "-"], 'table inet seen {\n chain in {\n  type filter hook input priority 0; policy accept;\n  ip saddr 10.0.0.10 icmp type echo-request counter comment "10.0.0.10"\n }\n}\n');
    await tb.serve(vm.b1!, "tcp-listen", 8080);
    await tb.serve(vm.b1!, "tcp-listen", 8081);
    await tb.serve(vm.a1!, "tcp-listen", 8080);
    await tb.serve(tb.ext, "tcp-listen", 80);
  }, SLOW);

  afterAll(async () => {
    await agents.a?.stop();
    await agents.b?.stop();
    store?.close();
    await stack?.stop();
    await tb.destroy();
    rmSync(work, { recursive: true, force: true });
  });

  it("connects same-VPC VMs on different hosts (default group: members reach each other)", async () => {
    expect(await tb.ping(vm.a1!, "10.0.0.11", 3)).toBe(true);
    expect(await tb.ping(vm.b1!, "10.0.0.10", 3)).toBe(true);
    expect(await tb.ping(vm.a2!, "10.0.0.12", 3)).toBe(true);
  });

  it("keeps two tenants with the same CIDR apart: no packet crosses", async () => {
    const before = await echoSeen(vm.b2!, "10.0.0.10");
    expect(await tb.ping(vm.a1!, "10.0.0.12")).toBe(false); // tenant 1 → tenant 2's b2
    expect(await echoSeen(vm.b2!, "10.0.0.10")).toBe(before);
    expect(await tb.ping(vm.a2!, "10.0.0.11")).toBe(false); // tenant 2 → tenant 1's b1
    expect(await tb.ping(vm.a2!, "10.0.0.12")).toBe(true); // tenant 2's own 10.0.0.10 does arrive
    expect(await echoSeen(vm.b2!, "10.0.0.10")).toBe(before + 1);
  });

  it("opens exactly the TCP port of a rule added through the API", async () => {
    await t1.nn.updatePort({ id: port.b1!.id, securityGroups: [web.id] });
    await settled();
    expect(await tb.ask(vm.a1!, "tcp-connect", "10.0.0.11", 8080)).toBeUndefined();
    await t1.nn.createRule(web.id, { direction: "ingress", protocol: "tcp", portMin: 8080, remoteCidr: "10.0.0.0/24" });
    await settled();
    expect(await tb.ask(vm.a1!, "tcp-connect", "10.0.0.11", 8080)).toBe("10.0.0.10");
    expect(await tb.ask(vm.a1!, "tcp-connect", "10.0.0.11", 8081)).toBeUndefined();
    expect(await tb.ping(vm.a1!, "10.0.0.11")).toBe(false); // no ICMP rule in web
  });

  it("source-NATs behind the router and reaches a VM through its floating IP", async () => {
    const router = await t1.nn.createRouter({ vpc: vpc1.id, external: true, subnets: [sn1.id] });
    const fip = await t1.nn.createFip({ port: port.a1!.id });
    await settled();
    expect(await tb.ask(vm.a1!, "tcp-connect", "203.0.113.1", 80)).toBe(fip.ip);
    // a1's default group admits only its members: the outside needs a rule.
    expect(await tb.ask(tb.ext, "tcp-connect", fip.ip, 8080)).toBeUndefined();
    await t1.nn.createRule(port.a1!.securityGroups[0]!, { direction: "ingress", protocol: "tcp", portMin: 8080, remoteCidr: "0.0.0.0/0" });
    await settled();
    expect(await tb.ask(tb.ext, "tcp-connect", fip.ip, 8080)).toBe("203.0.113.1");
    expect(router.externalGateway!.ip).toBe("203.0.113.10");
  }, SLOW);

  it("removes every trace of a deleted port from its host and from the peers", async () => {
    const dev = portDeviceName(port.b1!.id, "veth");
    expect(await must(["ip", "-n", tb.hostB, "-br", "link"])).toContain(dev);
    await t1.nn.deletePort(port.b1!.id);
    await settled();
    expect(await must(["ip", "-n", tb.hostB, "-br", "link"])).not.toContain(dev);
    expect(await must(["ip", "-n", vm.b1!, "-br", "link"])).not.toContain("eth0");
    expect(await must(["ip", "netns", "exec", tb.hostB, "nft", "list", "ruleset"])).not.toContain("10.0.0.11");
    expect(await must(["bridge", "-n", tb.hostA, "fdb", "show", "dev", vxlanName(vpc1.vni)])).not.toContain(port.b1!.mac);
    expect(await tb.ping(vm.a1!, "10.0.0.11")).toBe(false);
  }, SLOW);

  it("converges after an agent restart to what changed while it was down", async () => {
    await agents.b!.stop();
    const dev = portDeviceName(port.b2!.id, "veth");
    await t2.nn.deletePort(port.b2!.id);
    const back = await t2.nn.createPort({ subnet: port.b2!.subnet, fixedIps: ["10.0.0.13"], host: "hv-b", netns: vm.b2 });
    expect(await must(["ip", "-n", tb.hostB, "-br", "link"])).toContain(dev); // nobody removed it yet
    await startAgent("b");
    await settled();
    expect(await must(["ip", "-n", tb.hostB, "-br", "link"])).not.toContain(dev);
    expect(await must(["ip", "-n", tb.hostB, "-br", "link"])).toContain(portDeviceName(back.id, "veth"));
    expect(await tb.ping(vm.a2!, "10.0.0.13", 3)).toBe(true);
  }, SLOW);
});
