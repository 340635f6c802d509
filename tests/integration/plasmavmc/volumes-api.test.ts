/**
 * plasmavmc's volume and snapshot API without guests (chainfire + iam + novanet + plasmavmc, a
 * host registered with a real heartbeat lease, no agent: volumes stay CREATING): validation that
 * writes nothing, placement on a live host, the `volumes` and `gigabytes` quotas under concurrent
 * creates, the rules of delete (snapshots first), snapshots of a volume, gRPC serving the same
 * operations. Guests, files and hotplug: volumes.qemu.test.ts; tenant isolation: api.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GrpcClient } from "../../../lib/grpc/index.ts";
import type { HostRegistration } from "../../../services/plasmavmc/agent/host-registration.ts";
import { plasmavmcGrpcService } from "../../../services/plasmavmc/api/index.ts";
import type { Image, Volume } from "../../../services/plasmavmc/types.ts";
import { codeOf, makeTenant, registerTestHost, startStack, uploadImage, type Stack, type Tenant } from "./support.ts";

const hasQemuImg = Bun.which("qemu-img") !== null;
if (!hasQemuImg) console.log("skipping plasmavmc's volume API tests: qemu-img is not installed");

describe.skipIf(!hasQemuImg)("plasmavmc volume API", () => {
  const work = mkdtempSync(join(tmpdir(), "plasmavmc-vol-"));
  let stack: Stack;
  let t: Tenant;
  let disk: Image;
  let kernel: Image;
  let hv: HostRegistration | undefined;

  beforeAll(async () => {
    stack = await startStack(work);
    t = await makeTenant(stack, "vols");
    disk = await uploadImage(t, "disk", new Uint8Array(1 << 20));
    kernel = await uploadImage(t, "kernel", new Uint8Array(4096), { kind: "kernel" });
  }, 60_000);

  afterAll(async () => {
    await hv?.stop().catch(() => {});
    await stack?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it("refuses bad input naming the field, writing nothing", async () => {
    const field = async (p: Promise<unknown>) => p.then(() => "ok", (e) => `${e.code} ${e.details?.field ?? ""}`.trim());
    expect(await field(t.pv.createVolume({ name: "a b", sizeGiB: 1 }))).toBe("PLASMAVMC:InvalidArgument name");
    expect(await field(t.pv.createVolume({ name: "a", sizeGiB: 0 }))).toBe("PLASMAVMC:InvalidArgument sizeGiB");
    expect(await field(t.pv.createVolume({ name: "a", sizeGiB: 16385 }))).toBe("PLASMAVMC:InvalidArgument sizeGiB");
    expect(await field(t.pv.createVolume({ name: "a" }))).toBe("PLASMAVMC:InvalidArgument sizeGiB");
    expect(await field(t.pv.createVolume({ name: "a", sizeGiB: 1, image: disk.id, snapshot: "snap-0000000000000000" }))).toBe("PLASMAVMC:InvalidArgument snapshot");
    expect(await field(t.pv.createVolume({ name: "a", sizeGiB: 1, image: "img-0000000000000000" }))).toBe("PLASMAVMC:NotFound image");
    expect(await field(t.pv.createVolume({ name: "a", sizeGiB: 1, image: kernel.id }))).toBe("PLASMAVMC:InvalidArgument image");
    expect(await field(t.pv.createVolume({ name: "a", snapshot: "snap-0000000000000000" }))).toBe("PLASMAVMC:NotFound snapshot");
    expect(await field(t.pv.createVolume({ name: "a", sizeGiB: 1, bogus: 1 } as never))).toBe("PLASMAVMC:InvalidArgument bogus");
    expect(await field(t.pv.createVm({ name: "a", flavor: "none", image: kernel.id, machine: "pc" }))).toBe("PLASMAVMC:InvalidArgument machine");
    expect(await codeOf(t.pv.getVolume("vol-0000000000000000"))).toBe("PLASMAVMC:NotFound");
    expect(await codeOf(t.pv.attachVolume("vol-0000000000000000", "vm-0000000000000000"))).toBe("PLASMAVMC:NotFound");
    expect((await t.pv.listVolumes()).items).toEqual([]);
    expect((await t.pv.getQuota()).usage).toMatchObject({ volumes: 0, gigabytes: 0 });
  });

  it("needs a live host to hold a volume", async () => {
    expect(await codeOf(t.pv.createVolume({ name: "a", sizeGiB: 1 }))).toBe("PLASMAVMC:Unavailable");
    expect((await t.pv.getQuota()).usage).toMatchObject({ volumes: 0, gigabytes: 0 });
    hv = await registerTestHost(stack, "hv1", 4, 2048, 5);
  });

  it("creates volumes on a live host, CREATING until its agent made the file, names unique", async () => {
    const v = await t.pv.createVolume({ name: "data", sizeGiB: 2 });
    expect(v).toMatchObject({ name: "data", sizeGiB: 2, state: "CREATING", host: "hv1", project: t.project });
    const img = await t.pv.createVolume({ name: "from-img", sizeGiB: 1, image: disk.id });
    expect(img.sourceImage).toBe(disk.id);
    expect(await codeOf(t.pv.createVolume({ name: "data", sizeGiB: 1 }))).toBe("PLASMAVMC:InvalidArgument");
    expect((await t.pv.listVolumes()).items.map((x) => x.name)).toEqual(["data", "from-img"]);
    expect((await t.pv.getQuota()).usage).toMatchObject({ volumes: 2, gigabytes: 3 });
    // a volume not made yet cannot be attached
    const vm = await t.pv.createVm({ name: "vm", flavor: (await stack.admin.createFlavor({ name: "f", vcpus: 1, memoryMiB: 64 })).id, image: kernel.id });
    expect(await codeOf(t.pv.attachVolume(v.id, vm.id))).toBe("PLASMAVMC:InvalidState");
    expect(await codeOf(t.pv.detachVolume(v.id))).toBe("PLASMAVMC:InvalidState");
    await t.pv.deleteVm(vm.id);
    await t.pv.deleteVolume(img.id);
  });

  it("takes snapshots and refuses to delete a volume that has some", async () => {
    const v = (await t.pv.listVolumes()).items.find((x) => x.name === "data")!;
    const s = await t.pv.createSnapshot(v.id, "before");
    expect(s).toMatchObject({ volume: v.id, sizeGiB: 2, state: "CREATING", name: "before" });
    expect(await codeOf(t.pv.createSnapshot(v.id, "before"))).toBe("PLASMAVMC:InvalidArgument");
    expect(await codeOf(t.pv.createVolume({ name: "restored", snapshot: s.id }))).toBe("PLASMAVMC:InvalidState"); // not made yet
    expect(await codeOf(t.pv.deleteVolume(v.id))).toBe("PLASMAVMC:InUse");
    expect((await t.pv.listSnapshots({ volume: v.id })).items.map((x) => x.id)).toEqual([s.id]);
    await t.pv.deleteSnapshot(s.id);
    expect(await codeOf(t.pv.getSnapshot(s.id))).toBe("PLASMAVMC:NotFound");
    await t.pv.deleteVolume(v.id);
    expect(await codeOf(t.pv.getVolume(v.id))).toBe("PLASMAVMC:NotFound");
    expect((await t.pv.getQuota()).usage).toMatchObject({ volumes: 0, gigabytes: 0 });
  });

  it("never lets concurrent creates exceed the volumes or gigabytes quota", async () => {
    await stack.admin.updateQuota(t.project, { volumes: 3, gigabytes: 100 });
    const results = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => codeOf(t.pv.createVolume({ name: `c-${n}`, sizeGiB: 10 }))));
    expect(results.filter((r) => r === "ok")).toHaveLength(3);
    expect(results.filter((r) => r === "PLASMAVMC:QuotaExceeded")).toHaveLength(3);
    await stack.admin.updateQuota(t.project, { volumes: 20, gigabytes: 50 });
    const big = await t.pv.createVolume({ name: "big", sizeGiB: 21 }).catch((e) => e);
    expect(big).toMatchObject({ code: "PLASMAVMC:QuotaExceeded", details: { kind: "gigabytes" } });
    const parallel = await Promise.all([1, 2, 3].map((n) => codeOf(t.pv.createVolume({ name: `g-${n}`, sizeGiB: 10 }))));
    expect(parallel.filter((r) => r === "ok")).toHaveLength(2); // 30 + 20 of 50
    expect((await t.pv.getQuota()).usage).toMatchObject({ volumes: 5, gigabytes: 50 });
    for (const v of (await t.pv.listVolumes()).items) await t.pv.deleteVolume(v.id);
    expect((await t.pv.getQuota()).usage).toMatchObject({ volumes: 0, gigabytes: 0 });
  }, 30_000);

  it("serves the volume operations over gRPC with the REST API's codes", async () => {
    const client = new GrpcClient(stack.plasmavmc.grpcEndpoint);
    try {
      const rpc = client.stub(plasmavmcGrpcService());
      const metadata = { authorization: `Bearer ${t.token}` };
      const v = (await rpc.CreateVolume!({ name: "grpc", sizeGiB: 1 }, { metadata })) as Volume;
      expect(v).toMatchObject({ name: "grpc", state: "CREATING", sizeGiB: 1 });
      expect(((await rpc.ListVolumes!({}, { metadata })) as { items: Volume[] }).items.map((x) => x.id)).toEqual([v.id]);
      const bad = await rpc.DeleteSnapshot!({ id: "snap-0000000000000000" }, { metadata }).catch((e: unknown) => e);
      expect((bad as { code: string }).code).toBe("PLASMAVMC:NotFound");
      await rpc.DeleteVolume!({ id: v.id }, { metadata });
    } finally {
      client.close();
    }
  });
});
