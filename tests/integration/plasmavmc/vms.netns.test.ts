/**
 * plasmavmc end to end on real QEMU guests (TCG) and novanet's Linux data plane: chainfire + iam +
 * novanet + plasmavmc, novanet's agent and plasmavmc's chainfire-driven agent (ClusterAgent) on a
 * "hypervisor host" (a network namespace of dataplane/linux/testbed.ts). Through the API only:
 * a VM created from the test image on a subnet boots, takes its novanet address by DHCP and runs
 * the user-data it reads from the metadata service (via the VPC's router namespace); a second VM
 * of the same VPC reaches it (ping and TCP, probed from inside that guest), another tenant's VM
 * with the same CIDR does not; pause/resume, reboot, stop/start through the API; a restarted
 * agent re-adopts the same QEMU process; a truncated kernel puts the VM in ERROR with QEMU's
 * reason; delete leaves no tap, file, process or address. Needs root, ip netns, QEMU, dnsmasq.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { portDeviceName } from "../../../dataplane/linux/names.ts";
import { netnsUnavailable, Testbed } from "../../../dataplane/linux/testbed.ts";
import { createLogger } from "../../../lib/log.ts";
import { NovanetAgent } from "../../../services/novanet/agent/agent.ts";
import { EtcdNovanetStore } from "../../../services/novanet/store-etcd.ts";
import type { Subnet } from "../../../services/novanet/types.ts";
import { ClusterAgent } from "../../../services/plasmavmc/agent/cluster-agent.ts";
import { isAlive } from "../../../services/plasmavmc/hypervisor/process.ts";
import { IamGuard } from "../../../services/iam/guard.ts";
import { QemuHypervisor } from "../../../services/plasmavmc/hypervisor/qemu-hypervisor.ts";
import { ensureTestImage, type TestImage } from "../../../services/plasmavmc/hypervisor/test-image.ts";
import { EtcdPlasmavmcStore } from "../../../services/plasmavmc/store-etcd.ts";
import type { Image, Vm, VmStatusRecord } from "../../../services/plasmavmc/types.ts";
import { codeOf, makeTenant, startStack, uploadImage, type Stack, type Tenant } from "./support.ts";

const netReason = await netnsUnavailable();
const missing = ["qemu-system-x86_64", "qemu-img", "dnsmasq", "busybox"].filter((b) => !Bun.which(b));
const reason = netReason ?? (missing.length ? `missing ${missing.join(", ")}` : undefined);
if (reason) console.log(`skipping plasmavmc's VM tests: ${reason}`);

const READY = "PHOTON-TEST-IMAGE READY";
const count = (s: string, m: string) => s.split(m).length - 1;

describe.skipIf(reason !== undefined)("plasmavmc: VMs through the API on QEMU and novanet", () => {
  const tb = new Testbed(`pvm${process.pid % 100000}`);
  const work = mkdtempSync("/tmp/pvm-");
  const runDir = join(work, "run");
  const socketDir = join(work, "s");
  let stack: Stack;
  let nnStore: EtcdNovanetStore;
  let pvStore: EtcdPlasmavmcStore;
  let nnAgent: NovanetAgent;
  let agent: ClusterAgent;
  let image: TestImage;
  let t1: Tenant;
  let t2: Tenant;
  let kernel: Image;
  let kernel2: Image;
  let sn1: Subnet;
  let probe: string;
  const vm: Record<string, Vm> = {};

  const newAgent = () =>
    new ClusterAgent({
      store: pvStore,
      hypervisor: new QemuHypervisor({ runDir, socketDir, accelerator: "tcg" }),
      runDir, socketDir,
      host: { name: "hv-a", vcpus: 4, memoryMiB: 2048, underlayIp: tb.underlayA },
      imageDir: join(work, "images"), stateDir: join(work, "agent"),
      netns: tb.hostA, nsPrefix: `${tb.tag}-a`,
      heartbeatSeconds: 5, intervalMs: 400,
      console: { host: "127.0.0.1", port: 0, guard: new IamGuard(stack.iam.http.url) },
      logger: createLogger("plasmavmc-agent", { level: "error" }),
    });
  const consoleOf = async (t: Tenant, id: string) => (await t.pv.consoleLog(id)).log;
  const waitConsole = async (t: Tenant, id: string, re: RegExp, ms = 60_000) => {
    const end = Date.now() + ms;
    for (;;) {
      const log = await consoleOf(t, id);
      const m = re.exec(log);
      if (m) return m;
      if (Date.now() > end) throw new Error(`console of ${id} never matched ${re}; last: ${log.slice(-600)}`);
      await Bun.sleep(250);
    }
  };
  const ping = (ip: string) => tb.ping(probe, ip, 3, 1);

  beforeAll(async () => {
    image = await ensureTestImage();
    await tb.destroy();
    await tb.create();
    stack = await startStack(work);
    nnStore = new EtcdNovanetStore({ endpoints: [stack.chainfire.endpoint] });
    pvStore = new EtcdPlasmavmcStore({ endpoints: [stack.chainfire.endpoint] });
    nnAgent = new NovanetAgent({ store: nnStore, dataplane: tb.driver("a"), host: { name: "hv-a", underlayIp: tb.underlayA }, logger: createLogger("novanet-agent", { level: "error" }), coalesceMs: 5 });
    await nnAgent.start();
    agent = newAgent();
    await agent.start();
    t1 = await makeTenant(stack, "tenant1");
    t2 = await makeTenant(stack, "tenant2");
    await stack.admin.createFlavor({ name: "tiny", vcpus: 1, memoryMiB: 192 });
    for (const [t, name] of [[t1, "k1"], [t2, "k2"]] as const) {
      const rd = await uploadImage(t, `${name}-initrd`, readFileSync(image.initrd), { kind: "initrd" });
      const k = await uploadImage(t, name, readFileSync(image.kernel), { kind: "kernel", initrd: rd.id, cmdline: image.cmdline });
      if (t === t1) kernel = k;
      else kernel2 = k;
    }
    const vpc1 = await t1.nn.createVpc({ cidr: "10.0.0.0/16" });
    sn1 = await t1.nn.createSubnet({ vpc: vpc1.id, cidr: "10.0.0.0/24" });
    await t1.nn.createRouter({ vpc: vpc1.id, subnets: [sn1.id] }); // the gateway, through which guests reach 169.254.169.254
    probe = await tb.vm("probe");
    await t1.nn.createPort({ subnet: sn1.id, fixedIps: ["10.0.0.200"], host: "hv-a", netns: probe });
  }, 90_000);

  afterAll(async () => {
    await agent?.stop();
    for (const id of readdirSync(runDir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name)) {
      await new QemuHypervisor({ runDir, socketDir, accelerator: "tcg" }).remove(id).catch(() => {});
    }
    await nnAgent?.stop();
    nnStore?.close();
    pvStore?.close();
    await stack?.stop();
    await tb.destroy();
    rmSync(work, { recursive: true, force: true });
  }, 60_000);

  it("boots a VM on a subnet: novanet's DHCP address, metadata and user-data", async () => {
    vm.a1 = await t1.pv.createVm({ name: "a1", flavor: "tiny", image: kernel.id, subnet: sn1.id, userData: "#!/bin/sh\necho from-user-data > /var/www/ud.txt\n" });
    expect(vm.a1.state).toBe("BUILDING");
    const m = await waitConsole(t1, vm.a1.id, /PHOTON-TEST-IMAGE READY ip=(\S+) hostname=(\S+) metadata=(\S+)/);
    expect(m[1]).toBe(vm.a1.addresses[0]);
    expect(m[2]).toBe("a1");
    expect(m[3]).toBe("openstack");
    expect(await consoleOf(t1, vm.a1.id)).toContain("USER-DATA exit=0");
    const running = await t1.pv.waitForVm(vm.a1.id, (v) => v.state === "RUNNING", 10_000);
    expect(running).toMatchObject({ host: "hv-a", accelerator: "tcg" });
    expect(await ping(vm.a1.addresses[0]!)).toBe(true);
    const got = Bun.spawnSync(["ip", "netns", "exec", probe, "timeout", "5", "busybox", "wget", "-q", "-O", "-", `http://${vm.a1.addresses[0]}/ud.txt`]);
    expect(got.stdout.toString().trim()).toBe("from-user-data"); // user-data ran, TCP from the VPC reaches the guest
  }, 90_000);

  it("lets a VM of the same VPC reach it (ping, TCP) and not another tenant's VM with the same CIDR", async () => {
    const ip = vm.a1!.addresses[0]!;
    const probeScript = (tag: string) => `#!/bin/sh\n( for i in 1 2 3 4 5 6; do ping -c 1 -W 1 ${ip} >/dev/null 2>&1 && break; done; p=$?; t=$(timeout 3 wget -q -O - http://${ip}/ud.txt 2>/dev/null); echo "${tag} ping=$p tcp=$t" > /dev/console ) &\n`;
    vm.a2 = await t1.pv.createVm({ name: "a2", flavor: "tiny", image: kernel.id, subnet: sn1.id, userData: probeScript("PROBE-A2") });
    const vpc2 = await t2.nn.createVpc({ cidr: "10.0.0.0/16" });
    const sn2 = await t2.nn.createSubnet({ vpc: vpc2.id, cidr: "10.0.0.0/24" });
    await t2.nn.createRouter({ vpc: vpc2.id, subnets: [sn2.id] });
    const port = await t2.nn.createPort({ subnet: sn2.id, fixedIps: ["10.0.0.50"] });
    vm.b1 = await t2.pv.createVm({ name: "b1", flavor: "tiny", image: kernel2.id, ports: [port.id], userData: probeScript("PROBE-B1") });
    const a2 = await waitConsole(t1, vm.a2.id, /PROBE-A2 ping=(\d+) tcp=(\S*)/, 90_000);
    expect(a2[1]).toBe("0");
    expect(a2[2]).toBe("from-user-data");
    const b1 = await waitConsole(t2, vm.b1.id, /PROBE-B1 ping=(\d+) tcp=(\S*)/, 90_000);
    expect(b1[1]).not.toBe("0");
    expect(b1[2]).toBe("");
    expect(await consoleOf(t2, vm.b1.id)).toContain("ip=10.0.0.50 hostname=b1 metadata=openstack");
  }, 120_000);

  it("pauses, resumes, reboots, stops and starts through the API", async () => {
    const id = vm.a1!.id;
    const ip = vm.a1!.addresses[0]!;
    await t1.pv.pauseVm(id);
    await t1.pv.waitForVm(id, (v) => v.state === "PAUSED", 10_000);
    expect(await tb.ping(probe, ip, 1, 1)).toBe(false);
    await t1.pv.resumeVm(id);
    await t1.pv.waitForVm(id, (v) => v.state === "RUNNING", 10_000);
    expect(await ping(ip)).toBe(true);
    const pid = (await pvStore.get<VmStatusRecord>(`/photon/plasmavmc/status/${id}`))!.pid;
    const before = count(await consoleOf(t1, id), READY);
    await t1.pv.rebootVm(id);
    await waitConsole(t1, id, new RegExp(`(${READY}[^]*){${before + 1}}`), 60_000);
    expect((await pvStore.get<VmStatusRecord>(`/photon/plasmavmc/status/${id}`))!.pid).toBe(pid); // same QEMU: a reset
    await t1.pv.stopVm(id, 5_000);
    await t1.pv.waitForVm(id, (v) => v.state === "STOPPED", 20_000);
    expect(isAlive(pid!)).toBe(false);
    const n = count(await consoleOf(t1, id), READY);
    await t1.pv.startVm(id);
    await waitConsole(t1, id, new RegExp(`(${READY}[^]*){${n + 1}}`), 60_000);
    await t1.pv.waitForVm(id, (v) => v.state === "RUNNING", 10_000);
  }, 120_000);

  it("re-adopts running VMs after an agent restart (same QEMU process)", async () => {
    const id = vm.a1!.id;
    const pid = (await pvStore.get<VmStatusRecord>(`/photon/plasmavmc/status/${id}`))!.pid;
    await agent.stop({ heartbeat: "keep" });
    agent = newAgent();
    await agent.start();
    await agent.reconcile();
    expect((await pvStore.get<VmStatusRecord>(`/photon/plasmavmc/status/${id}`))!.pid).toBe(pid);
    expect((await t1.pv.getVm(id)).state).toBe("RUNNING");
    expect(await ping(vm.a1!.addresses[0]!)).toBe(true);
  }, 30_000);

  it("serves the interactive serial console over WebSocket to the owner only", async () => {
    const url = (await t1.pv.getVm(vm.a1!.id)).consoleUrl!;
    expect(url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/v1\/vms\/vm-[0-9a-f]+\/console$/);
    const open = (token: string) => new WebSocket(url, { headers: { authorization: `Bearer ${token}` } } as unknown as string[]);
    const ws = open(t1.token);
    let got = "";
    ws.onmessage = (e) => (got += typeof e.data === "string" ? e.data : new TextDecoder().decode(e.data as ArrayBuffer));
    await new Promise((res, rej) => ((ws.onopen = res), (ws.onerror = rej)));
    ws.send("\necho CONSOLE-$((6*7))\n");
    for (let i = 0; i < 100 && !got.includes("CONSOLE-42"); i++) await Bun.sleep(100);
    expect(got).toContain("CONSOLE-42");
    ws.close();
    const other = open(t2.token);
    const refused = await new Promise<boolean>((res) => ((other.onopen = () => res(false)), (other.onerror = () => res(true))));
    expect(refused).toBe(true);
  }, 30_000);

  it("puts a VM whose kernel is truncated in ERROR with the reason", async () => {
    const bad = await uploadImage(t1, "truncated", readFileSync(image.kernel).subarray(0, 4096), { kind: "kernel" });
    const v = await t1.pv.createVm({ name: "bad", flavor: "tiny", image: bad.id, subnet: sn1.id });
    const e = await t1.pv.waitForVm(v.id, (x) => x.state === "ERROR", 30_000);
    expect(e!.reason).toMatch(/PLASMAVMC|kernel|image|truncat/i);
    vm.bad = v;
  }, 40_000);

  it("deletes VMs leaving no tap, file, process or address", async () => {
    const pids = new Map<string, number | undefined>();
    for (const v of Object.values(vm)) pids.set(v.id, (await pvStore.get<VmStatusRecord>(`/photon/plasmavmc/status/${v.id}`))?.pid);
    for (const [t, v] of [[t1, vm.a1!], [t1, vm.a2!], [t2, vm.b1!], [t1, vm.bad!]] as const) {
      await t.pv.deleteVm(v.id);
      expect(await codeOf(t.pv.getVm(v.id))).toBe("PLASMAVMC:NotFound");
    }
    for (const [id, pid] of pids) {
      if (pid) expect(isAlive(pid!)).toBe(false);
      expect(existsSync(join(runDir, id))).toBe(false);
      expect(existsSync(join(work, "agent", "disks", `${id}.qcow2`))).toBe(false);
    }
    expect((await t1.nn.listPorts()).items.map((p) => p.fixedIps[0])).toEqual(["10.0.0.200"]); // only the probe's
    expect((await t2.nn.listPorts()).items.map((p) => p.deviceOwner ?? "")).toEqual([""]); // b1's own port, unbound again
    const rev = (await nnStore.etcd.getPrefix("/photon/novanet/", { limit: 1 })).revision;
    await nnAgent.waitFor(rev);
    for (const v of [vm.a1!, vm.a2!]) {
      const tap = portDeviceName(v.ports[0]!, "tap");
      expect(Bun.spawnSync(["ip", "-n", tb.hostA, "link", "show", tap], { stderr: "ignore" }).exitCode).not.toBe(0);
    }
    expect((await stack.admin.listHosts()).items[0]).toMatchObject({ usedVcpus: 0, usedMemoryMiB: 0 });
  }, 60_000);
});
