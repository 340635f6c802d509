/**
 * The sweeper of creates interrupted by an API crash (services/plasmavmc/sweeper.ts). The crash
 * is simulated by writing what a create leaves when its server dies after making the VM's ports:
 * the VM record placed on a host (room and quota reserved) without `netReady`, its pending-create
 * entry, and ports in novanet owned by `vm:<id>` — made through novanet's API with the tenant's
 * token, as the create does. Another replica's sweep then puts the VM in ERROR with the reason,
 * deletes the port plasmavmc made and unbinds the tenant's own, releases the host room; the VM's
 * delete frees its quota. When the creator's token no longer works, the ports are left to the
 * VM's delete, which finds them by owner. A late create finds itself swept; a normal create
 * leaves no pending entry.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../../../lib/log.ts";
import { createMetrics } from "../../../lib/metrics.ts";
import type { HostRegistration } from "../../../services/plasmavmc/agent/host-registration.ts";
import { place } from "../../../services/plasmavmc/scheduler/placement.ts";
import { startPlasmavmc, type PlasmavmcServer } from "../../../services/plasmavmc/server.ts";
import { newId } from "../../../services/plasmavmc/service.ts";
import { keys } from "../../../services/plasmavmc/store.ts";
import { finishCreate, pendingKey, sweepInterruptedCreates, type PendingCreate } from "../../../services/plasmavmc/sweeper.ts";
import type { Flavor, HostAlloc, Image, VmRecord } from "../../../services/plasmavmc/types.ts";
import type { Subnet } from "../../../services/novanet/types.ts";
import { codeOf, makeTenant, registerTestHost, startStack, uploadImage, type Stack, type Tenant } from "./support.ts";

const hasQemuImg = Bun.which("qemu-img") !== null;
if (!hasQemuImg) console.log("skipping plasmavmc's create sweeper test: qemu-img is not installed");

describe.skipIf(!hasQemuImg)("plasmavmc sweeper of interrupted creates", () => {
  const work = mkdtempSync(join(tmpdir(), "plasmavmc-sweep-"));
  let stack: Stack;
  let replicaB: PlasmavmcServer | undefined;
  let t: Tenant;
  let flavor: Flavor;
  let image: Image;
  let subnet: Subnet;
  let hv: HostRegistration;

  beforeAll(async () => {
    stack = await startStack(work);
    t = await makeTenant(stack, "sweep");
    flavor = await stack.admin.createFlavor({ name: "s1", vcpus: 1, memoryMiB: 128 });
    image = await uploadImage(t, "blank", new Uint8Array(4096).fill(1));
    const vpc = await t.nn.createVpc({ cidr: "10.3.0.0/16" });
    subnet = await t.nn.createSubnet({ vpc: vpc.id, cidr: "10.3.0.0/24" });
    hv = await registerTestHost(stack, "hv-s", 4, 2048, 5);
  }, 60_000);

  afterAll(async () => {
    await replicaB?.stop();
    await hv?.stop().catch(() => {});
    await stack?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  const svc = () => stack.plasmavmc.service;
  const alloc = async () => (await svc().store.get<HostAlloc>(keys.alloc("hv-s"))) ?? { vcpus: 0, memoryMiB: 0 };

  /** What createVm leaves when its server dies after making the ports (step 1 and step 3, not the last write). */
  async function crashedCreate(name: string, o: { token?: string; expiresAt?: number; givenPort?: boolean; ports?: boolean } = {}): Promise<{ id: string; owned?: string; given?: string }> {
    const id = newId("vms");
    const given = o.givenPort ? (await t.nn.createPort({ subnet: subnet.id, name: `${name}-own` })).id : undefined;
    const rec: VmRecord = {
      id, org: t.org, project: t.project, name, flavor: flavor.id, vcpus: flavor.vcpus, memoryMiB: flavor.memoryMiB, diskGiB: 0,
      boot: { image: image.id, kind: "disk", file: image.id, format: "raw" }, subnet: subnet.id, ...(given ? { givenPorts: [given] } : {}), nics: [],
      sshKeys: [], desired: "running", stopDeadlineMs: 1000, rebootSeq: 0, createdAt: new Date().toISOString(),
    };
    await svc().store.transact(async (tx) => {
      tx.claim(keys.name(t.project, name), id);
      await svc().charge(tx, t.project, { vms: 1, vcpus: rec.vcpus, memoryMiB: rec.memoryMiB });
      const p = await place(tx, rec);
      if (!p.host) throw new Error(p.reason);
      tx.put(keys.doc("vms", id), { ...rec, host: p.host, allocated: true });
      tx.put(pendingKey(id), { vm: id, project: t.project, token: o.token ?? t.token, expiresAt: o.expiresAt ?? Date.now() + 3_600_000, since: rec.createdAt } satisfies PendingCreate);
    });
    if (o.ports === false) return { id };
    if (given) await t.nn.updatePort({ id: given, host: "hv-s", deviceOwner: `vm:${id}` });
    const owned = (await t.nn.createPort({ subnet: subnet.id, name, host: "hv-s", deviceOwner: `vm:${id}` })).id;
    return { id, owned, ...(given ? { given } : {}) };
  }

  it("leaves a create within its grace period alone, then another replica puts it in ERROR and releases its ports and room", async () => {
    const before = await alloc();
    const { id, owned, given } = await crashedCreate("c1", { givenPort: true });
    expect((await alloc()).memoryMiB).toBe(before.memoryMiB + 128);
    expect((await sweepInterruptedCreates(svc(), { graceMs: 60_000 })).failed).toEqual([]);
    expect((await t.pv.getVm(id)).state).toBe("BUILDING");
    // a second API replica, sweeping often with a short grace
    mkdirSync(join(work, "images-b"), { recursive: true });
    replicaB = await startPlasmavmc({
      etcdEndpoints: [stack.chainfire.endpoint], iamUrl: stack.iam.http.url, novanetUrl: stack.novanet.http.url, imageDir: join(work, "images-b"),
      host: "127.0.0.1", httpPort: 0, grpcPort: 0, createSweepGraceMs: 300, createSweepIntervalMs: 100,
      logger: createLogger("plasmavmc", { level: "error" }), metrics: createMetrics("plasmavmc"),
    });
    const vm = await t.pv.waitForVm(id, (v) => v.state === "ERROR", 10_000, 100);
    expect(vm?.reason).toContain("create was interrupted");
    for (let i = 0; i < 50 && (await svc().store.get(pendingKey(id))) !== undefined; i++) await Bun.sleep(100);
    expect(await svc().store.get(pendingKey(id))).toBeUndefined();
    expect((await t.pv.getVm(id)).reason).toContain("2 ports released");
    expect(await codeOf(t.nn.getPort(owned!))).toBe("NOVANET:NotFound");
    const mine = await t.nn.getPort(given!);
    expect(mine.host ?? "").toBe("");
    expect(mine.deviceOwner ?? "").toBe("");
    expect(await alloc()).toEqual(before);
    expect((await t.pv.getQuota()).usage.vms).toBe(1); // held until the VM is deleted, like any VM in ERROR
    await t.pv.deleteVm(id);
    expect((await t.pv.getQuota()).usage).toMatchObject({ vms: 0, vcpus: 0, memoryMiB: 0 });
    expect((await t.nn.getPort(given!)).id).toBe(given!); // the tenant's own port is never deleted
    await t.nn.deletePort(given!);
    await replicaB.stop();
    replicaB = undefined;
  }, 30_000);

  it("leaves the ports to the VM's delete when the creator's token no longer works", async () => {
    const { id, owned } = await crashedCreate("c2", { token: "expired-token", expiresAt: Date.now() + 3_600_000 });
    const r = await sweepInterruptedCreates(svc(), { graceMs: 0 });
    expect(r).toEqual({ failed: [id], ports: 0, leftForDelete: [id] });
    expect((await t.pv.getVm(id)).state).toBe("ERROR");
    expect((await t.nn.getPort(owned!)).deviceOwner).toBe(`vm:${id}`);
    expect((await sweepInterruptedCreates(svc(), { graceMs: 0 })).failed).toEqual([]); // claimed once
    await t.pv.deleteVm(id);
    expect(await codeOf(t.nn.getPort(owned!))).toBe("NOVANET:NotFound");
    expect(await svc().store.get(pendingKey(id))).toBeUndefined();
    expect((await t.nn.listPorts({ project: t.project })).items).toEqual([]);
  });

  it("makes a create that finishes after being swept give up, and a normal create leaves no pending entry", async () => {
    const { id } = await crashedCreate("c3", { ports: false });
    expect((await sweepInterruptedCreates(svc(), { graceMs: 0 })).failed).toEqual([id]);
    expect(await finishCreate(svc(), id, [])).toBe(false);
    expect((await t.pv.getVm(id)).state).toBe("ERROR");
    await t.pv.deleteVm(id);
    const vm = await t.pv.createVm({ name: "ok", flavor: "s1", image: image.id, subnet: subnet.id });
    expect(vm.state).toBe("BUILDING");
    expect(await svc().store.list(pendingKey(""))).toEqual([]);
    expect((await sweepInterruptedCreates(svc(), { graceMs: 0 })).failed).toEqual([]);
    expect((await t.pv.getVm(vm.id)).state).toBe("BUILDING");
  });
});
