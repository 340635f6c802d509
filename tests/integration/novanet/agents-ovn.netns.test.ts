/**
 * novanet with the OVN data plane end to end: the API (chainfire + iam + novanet) and two host
 * agents whose drivers are chosen by configuration (`[novanet] dataplane = "ovn"`, built by
 * agent-dataplane.ts exactly as `photon novanet-agent` builds them) on the OVN chassis lab of
 * dataplane/ovn/chassis-testbed.ts: an OVN central (NB + SB ovsdb-servers, ovn-northd) and two
 * "hypervisor hosts" as namespaces, each with its own ovsdb-server, ovs-vswitchd on the
 * userspace datapath and ovn-controller, Geneve over an underlay veth. Both agents are configured
 * as northbound writers: h1's, started first, holds the writer's lease and writes; h2's stands by
 * and takes over when h1's agent stops (ADR 0021). "VMs" are namespaces given to ports created
 * through novanet's API with `host` + `netns`.
 *
 * Proves: same-VPC VMs on different hosts reach each other; two tenants with the same CIDR stay
 * isolated (no packet crosses); SNAT and a floating IP through the gateway chassis; a deleted port
 * leaves neither its device nor its northbound row; the standby writer takes over. Needs root and OVN; skipped with the reason
 * otherwise. Everything is removed in afterAll.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { portDeviceName } from "../../../dataplane/linux/names.ts";
import { must } from "../../../dataplane/linux/testbed.ts";
import { OvnLab, ovnLabUnavailable } from "../../../dataplane/ovn/chassis-testbed.ts";
import { lspName } from "../../../dataplane/ovn/names.ts";
import { loadConfig } from "../../../lib/config.ts";
import { createLogger } from "../../../lib/log.ts";
import { createAgentDataplanes, type AgentDataplanes } from "../../../services/novanet/agent/agent-dataplane.ts";
import { NovanetAgent } from "../../../services/novanet/agent/agent.ts";
import { WRITER_KEY, WriterElection, writerValue } from "../../../services/novanet/agent/writer-election.ts";
import { EtcdNovanetStore } from "../../../services/novanet/store-etcd.ts";
import type { Port, Subnet, Vpc } from "../../../services/novanet/types.ts";
import { makeTenant, startStack, type Stack, type Tenant } from "./support.ts";

const reason = await ovnLabUnavailable();
if (reason) console.log(`skipping novanet's OVN agent tests: ${reason}`);
const SLOW = 60_000;


describe.skipIf(reason !== undefined)("novanet API + agents on OVN chassis (dataplane = ovn)", () => {
  const lab = new OvnLab(`pcv${process.pid % 100000}`);
  const work = mkdtempSync(join(tmpdir(), "novanet-ovn-agents-"));
  let stack: Stack;
  let store: EtcdNovanetStore;
  let t1: Tenant;
  let t2: Tenant;
  let vpc1: Vpc;
  let sn1: Subnet;
  const agents: Record<string, NovanetAgent> = {};
  const drivers: Record<string, AgentDataplanes> = {};
  const vm: Record<string, string> = {};
  const port: Record<string, Port> = {};

  const ping = (ns: string, ip: string, tries = 1) => lab.ping(ns, ip, tries);
  const ask = (ns: string, ip: string, p: number) => lab.ask(ns, "tcp-connect", ip, p);
  const serve = (ns: string, p: number) => lab.serve(ns, "tcp-listen", p);
  /** Echo requests from 10.0.0.10 that reached b2's IP stack (the isolation counter). */
  const echoesFrom10 = async () => {
    const out = JSON.parse(await must(["ip", "netns", "exec", vm.b2!, "nft", "-j", "list", "table", "inet", "seen"])) as {
      nftables: { rule?: { expr: { counter?: { packets: number } }[] } }[];
    };
    return out.nftables.find((x) => x.rule)!.rule!.expr.find((e) => e.counter)!.counter!.packets;
  };
  /** Waits until both agents applied everything written so far. */
  const settled = async () => {
    const rev = (await store.etcd.getPrefix("/photon/novanet/", { limit: 1 })).revision;
    await Promise.all(Object.values(agents).map((a) => a.waitFor(rev, 20_000)));
  };
  /** Waits until ovn-controller reports every port of novanet's northbound rows up (its flows are in). */
  const portsUp = (count: number) => lab.waitPortsUp(drivers.h1!.northbound!.dataplane, count);

  /** Starts host `h`'s agent from configuration, as `photon novanet-agent --dataplane ovn` does. */
  const startAgent = async (h: "h1" | "h2") => {
    const host = lab.hostOf(h);
    const flags: Record<string, string> = {
      "novanet.dataplane": "ovn",
      "novanet.ovn_ovs_remote": `unix:${host.dir}/db.sock`,
      "novanet.ovn_disable_tx_offload": "true",
      "novanet.ovn_nb_writer": "true",
      "novanet.ovn_nb_remote": lab.central.nb.remote,
      "novanet.ovn_gateway_chassis": "h1",
      "novanet.ovn_external_network": "physnet1",
    };
    const n = loadConfig({ env: {}, flags }).novanet;
    const logger = createLogger(`agent-${h}`, { level: "error" });
    const d = createAgentDataplanes(n, { logger, netns: host.ns });
    drivers[h] = d;
    const agent = new NovanetAgent({
      store,
      dataplane: d.dataplane,
      ...(d.northbound ? { northbound: { ...d.northbound, election: new WriterElection({ etcd: store.etcd, host: h, logger, ttlSeconds: 3, retryMs: 200 }) } } : {}),
      host: { name: h, underlayIp: host.underlayIp, ...d.host },
      logger,
    });
    await agent.start();
    agents[h] = agent;
  };

  beforeAll(async () => {
    await lab.destroy();
    await lab.create();
    stack = await startStack(work, { external: { cidr: "203.0.113.0/24", gatewayIp: "203.0.113.1", poolStart: "203.0.113.10", poolEnd: "203.0.113.30" } });
    store = new EtcdNovanetStore({ endpoints: [stack.chainfire.endpoint] });
    for (const n of ["a1", "b1", "a2", "b2"]) {
      vm[n] = `${lab.tag}-vm-${n}`;
      await must(["ip", "netns", "add", vm[n]!]);
    }
    await startAgent("h1");
    await startAgent("h2");
    expect(drivers.h1!.kind).toBe("ovn");
    t1 = await makeTenant(stack, "tenant1");
    t2 = await makeTenant(stack, "tenant2");
    // Both tenants use 10.0.0.0/24; a1 and a2 even share 10.0.0.10.
    vpc1 = await t1.nn.createVpc({ cidr: "10.0.0.0/16" });
    sn1 = await t1.nn.createSubnet({ vpc: vpc1.id, cidr: "10.0.0.0/24" });
    const vpc2 = await t2.nn.createVpc({ cidr: "10.0.0.0/16" });
    const sn2 = await t2.nn.createSubnet({ vpc: vpc2.id, cidr: "10.0.0.0/24" });
    port.a1 = await t1.nn.createPort({ subnet: sn1.id, fixedIps: ["10.0.0.10"], host: "h1", netns: vm.a1 });
    port.b1 = await t1.nn.createPort({ subnet: sn1.id, fixedIps: ["10.0.0.11"], host: "h2", netns: vm.b1 });
    port.a2 = await t2.nn.createPort({ subnet: sn2.id, fixedIps: ["10.0.0.10"], host: "h1", netns: vm.a2 });
    port.b2 = await t2.nn.createPort({ subnet: sn2.id, fixedIps: ["10.0.0.12"], host: "h2", netns: vm.b2 });
    await settled();
    await portsUp(4);
    await must(["ip", "netns", "exec", vm.b2!, "nft", "-f", "-"],
      'table inet seen {\n chain in {\n  type filter hook input priority 0; policy accept;\n  ip saddr 10.0.0.10 icmp type echo-request counter\n }\n}\n');
    // The userspace datapath loses the first packet to a new tunnel peer while it resolves the
    // peer's MAC: warm both directions up before asserting.
    await lab.warmUp([[vm.a1!, "10.0.0.11"], [vm.b1!, "10.0.0.10"]]);
  }, SLOW);

  afterAll(async () => {
    for (const a of Object.values(agents)) await a.stop();
    for (const d of Object.values(drivers)) await d.close();
    store?.close();
    await stack?.stop();
    await lab.destroy();
    rmSync(work, { recursive: true, force: true });
  }, SLOW);

  it("plugs each port on its own host with the VPC's MTU (1442 inside Geneve)", async () => {
    expect(await must(["ip", "-n", lab.hostOf("h1").ns, "-br", "link"])).toContain(portDeviceName(port.a1!.id, "veth"));
    expect(await must(["ip", "-n", lab.hostOf("h2").ns, "-br", "link"])).toContain(portDeviceName(port.b1!.id, "veth"));
    expect(await must(["ip", "-n", lab.hostOf("h1").ns, "-br", "link"])).not.toContain(portDeviceName(port.b1!.id, "veth"));
    expect(await must(["ip", "-n", vm.a1!, "link", "show", "eth0"])).toContain("mtu 1442");
    expect(await must(["ip", "-n", vm.a1!, "-br", "addr"])).toContain("10.0.0.10/24");
  });

  it("connects same-VPC VMs on different hosts (default group: members reach each other)", async () => {
    expect(await ping(vm.a1!, "10.0.0.11", 3)).toBe(true);
    expect(await ping(vm.b1!, "10.0.0.10", 3)).toBe(true);
    expect(await ping(vm.a2!, "10.0.0.12", 5)).toBe(true);
  });

  it("keeps two tenants with the same CIDR apart: no packet crosses", async () => {
    const before = await echoesFrom10();
    expect(await ping(vm.a1!, "10.0.0.12")).toBe(false); // tenant 1 -> tenant 2's b2
    expect(await echoesFrom10()).toBe(before);
    expect(await ping(vm.a2!, "10.0.0.11")).toBe(false); // tenant 2 -> tenant 1's b1
    expect(await ping(vm.a2!, "10.0.0.12", 3)).toBe(true); // tenant 2's own 10.0.0.10 does arrive
    expect(await echoesFrom10()).toBeGreaterThan(before);
  });

  it("source-NATs behind the router on the gateway chassis and reaches a VM through its floating IP", async () => {
    await serve(lab.ext, 80);
    await serve(vm.b1!, 8080);
    const router = await t1.nn.createRouter({ vpc: vpc1.id, external: true, subnets: [sn1.id] });
    const fip = await t1.nn.createFip({ port: port.b1!.id });
    await t1.nn.createRule(port.b1!.securityGroups[0]!, { direction: "ingress", protocol: "tcp", portMin: 8080, remoteCidr: "0.0.0.0/0" });
    await settled();
    expect(router.externalGateway!.ip).toBe("203.0.113.10");
    let out: string | undefined;
    for (let i = 0; i < 10 && out === undefined; i++) out = await ask(vm.a1!, "203.0.113.1", 80);
    expect(out).toBe("203.0.113.10"); // a1 (h1) leaves behind the router's address
    out = undefined;
    for (let i = 0; i < 10 && out === undefined; i++) out = await ask(lab.ext, fip.ip, 8080);
    expect(out).toBe("203.0.113.1"); // b1 (h2) reached from outside through its floating IP
  }, SLOW);

  it("removes a deleted port's device on its host and its row in the northbound", async () => {
    const dev = portDeviceName(port.b1!.id, "veth");
    await t1.nn.deleteFip((await t1.nn.listFips()).items[0]!.id);
    await t1.nn.deletePort(port.b1!.id);
    await settled();
    expect(await must(["ip", "-n", lab.hostOf("h2").ns, "-br", "link"])).not.toContain(dev);
    expect(await lab.hostOf("h2").vsctl("list-ports", "br-int")).not.toContain(dev);
    const lsps = (await drivers.h1!.northbound!.dataplane.inspect()).vpcs.flatMap((v) => v.ports.map((p) => p.device));
    expect(lsps).not.toContain(lspName(port.b1!.id));
    expect(lsps).toContain(lspName(port.a1!.id));
    expect(await ping(vm.a1!, "10.0.0.11")).toBe(false);
  }, SLOW);

  it("lets the standby agent take over the northbound when the writer's agent stops", async () => {
    expect((await store.etcd.get(WRITER_KEY))?.value.toString()).toBe(writerValue("h1"));
    await agents.h1!.stop(); // revokes its lease
    delete agents.h1;
    for (let i = 0; i < 100 && (await store.etcd.get(WRITER_KEY))?.value.toString() !== writerValue("h2"); i++) await Bun.sleep(50);
    expect((await store.etcd.get(WRITER_KEY))?.value.toString()).toBe(writerValue("h2"));
    // a change made now reaches the northbound through h2's agent
    const vm3 = `${lab.tag}-vm-b3`;
    await must(["ip", "netns", "add", vm3]);
    const p3 = await t2.nn.createPort({ subnet: port.b2!.subnet, fixedIps: ["10.0.0.13"], host: "h2", netns: vm3 });
    await settled();
    const lsps = (await drivers.h2!.northbound!.dataplane.inspect()).vpcs.flatMap((v) => v.ports.map((p) => p.device));
    expect(lsps).toContain(lspName(p3.id));
    expect(await ping(vm3, "10.0.0.12", 10)).toBe(true);
  }, SLOW);
});
