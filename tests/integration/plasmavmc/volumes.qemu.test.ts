/**
 * plasmavmc volumes on real QEMU guests (TCG, the tiny test image, no network): chainfire + iam +
 * novanet + plasmavmc and the chainfire-driven agent (ClusterAgent) with QemuHypervisor, driven
 * through the API only. A q35 VM takes a volume hot-plugged while it runs (the guest sees
 * /sys/block/vda, writes a marker the host reads back with qemu-io), a snapshot keeps the old
 * content while the volume goes on changing (online blockdev-snapshot-sync; a volume made from
 * the snapshot has the old marker), deleting a snapshot merges it away (online block-stream and
 * offline qemu-img rebase), a detach removes the disk from the guest and QEMU keeps no file of it
 * open, delete is refused while attached. A microvm VM refuses hot-attach, takes the volume while
 * stopped and has it on its next boot, keeps it across an agent restart (same QEMU), and deleting
 * everything leaves no file. A volume filled from a disk image is a flattened copy. One VM per
 * machine type, booted once. Needs root and QEMU.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { createLogger } from "../../../lib/log.ts";
import { ClusterAgent } from "../../../services/plasmavmc/agent/cluster-agent.ts";
import { VolumeFiles } from "../../../services/plasmavmc/agent/volume-files.ts";
import { vmPaths } from "../../../services/plasmavmc/hypervisor/run-dir.ts";
import { QemuHypervisor } from "../../../services/plasmavmc/hypervisor/qemu-hypervisor.ts";
import { ensureTestImage, type TestImage } from "../../../services/plasmavmc/hypervisor/test-image.ts";
import { EtcdPlasmavmcStore } from "../../../services/plasmavmc/store-etcd.ts";
import type { Image, Vm, Volume, VmStatusRecord } from "../../../services/plasmavmc/types.ts";
import { codeOf, makeTenant, startStack, uploadImage, type Stack, type Tenant } from "./support.ts";

const missing = ["qemu-system-x86_64", "qemu-img", "qemu-io", "busybox"].filter((b) => !Bun.which(b));
const reason = process.getuid?.() !== 0 ? "not root" : missing.length ? `missing ${missing.join(", ")}` : undefined;
if (reason) console.log(`skipping plasmavmc's volume tests on QEMU: ${reason}`);

describe.skipIf(reason !== undefined)("plasmavmc: volumes on QEMU guests through the API", () => {
  const work = mkdtempSync("/tmp/pvv-");
  const runDir = join(work, "run");
  const socketDir = join(work, "s");
  const volDir = join(work, "agent", "volumes");
  let stack: Stack;
  let store: EtcdPlasmavmcStore;
  let agent: ClusterAgent;
  let image: TestImage;
  let t: Tenant;
  let kernel: Image;
  let q35: Vm;
  let micro: Vm;
  let v1: Volume;
  let fromSnap: Volume;

  const newAgent = () =>
    new ClusterAgent({
      store, hypervisor: new QemuHypervisor({ runDir, socketDir, accelerator: "tcg" }), runDir, socketDir,
      host: { name: "hv-v", vcpus: 4, memoryMiB: 2048, underlayIp: "127.0.0.1" },
      imageDir: join(work, "images"), stateDir: join(work, "agent"), metadata: false,
      heartbeatSeconds: 5, intervalMs: 300, logger: createLogger("plasmavmc-agent", { level: "error" }),
    });
  const files = () => new VolumeFiles(volDir);

  /** Runs a shell line in the guest's serial console; resolves with the output up to `END`. */
  const guest = (vm: Vm, line: string, timeoutMs = 20_000) =>
    new Promise<string>((resolve, reject) => {
      const sock = connect({ path: vmPaths(runDir, vm.id, socketDir).consoleSocket });
      let got = "";
      const timer = setTimeout(() => (sock.destroy(), reject(new Error(`guest did not answer ${JSON.stringify(line)}; got ${JSON.stringify(got)}`))), timeoutMs);
      sock.on("connect", () => sock.write(`\n${line}; echo EN""D\n`));
      sock.on("data", (d) => {
        got += d.toString();
        const i = got.indexOf("END\r\n") >= 0 ? got.indexOf("END\r\n") : got.indexOf("END\n");
        if (i >= 0) (clearTimeout(timer), sock.destroy(), resolve(got.slice(0, i)));
      });
      sock.on("error", (e) => (clearTimeout(timer), reject(e)));
    });
  const readVolume = (path: string) => {
    const r = Bun.spawnSync(["qemu-io", "-r", "-U", "-f", "qcow2", "-c", "read -v 0 16", path], { stdout: "pipe", stderr: "pipe" });
    return r.stdout.toString() + r.stderr.toString();
  };
  // qemu-io's dump shows '-' as '.'
  const hasMarker = (dump: string, m: string) => dump.includes(m.replace("-", "."));
  const qemuPid = async (vm: Vm) => (await store.get<VmStatusRecord>(`/photon/plasmavmc/status/${vm.id}`))!.pid!;
  const openFiles = (pid: number) => readdirSync(`/proc/${pid}/fd`).map((fd) => { try { return readlinkSync(`/proc/${pid}/fd/${fd}`); } catch { return ""; } });
  const waitVol = (id: string, state: Volume["state"], ms = 30_000) => t.pv.waitForVolume(id, (v) => v.state === state || v.state === "ERROR", ms).then((v) => (expect(v?.state).toBe(state), v!));
  const waitSnap = async (id: string) => {
    for (let i = 0; i < 150; i++, await Bun.sleep(200)) if ((await t.pv.getSnapshot(id)).state !== "CREATING") break;
    return t.pv.getSnapshot(id);
  };
  const boots = async (vm: Vm) => (await t.pv.consoleLog(vm.id)).log.split(image.marker).length - 1;
  /** Waits for boot number `n` of the VM (its console log is appended across boots). */
  const booted = async (vm: Vm, n = 1, ms = 60_000) => {
    await t.pv.waitForVm(vm.id, (v) => v.state === "RUNNING" || v.state === "ERROR", ms);
    const end = Date.now() + ms;
    while ((await boots(vm)) < n) {
      if (Date.now() > end) throw new Error(`vm ${vm.id} did not boot: ${(await t.pv.consoleLog(vm.id)).log.slice(-400)}`);
      await Bun.sleep(250);
    }
  };

  beforeAll(async () => {
    image = await ensureTestImage();
    stack = await startStack(work);
    store = new EtcdPlasmavmcStore({ endpoints: [stack.chainfire.endpoint] });
    agent = newAgent();
    await agent.start();
    t = await makeTenant(stack, "vol");
    await stack.admin.createFlavor({ name: "tiny", vcpus: 1, memoryMiB: 192 });
    const rd = await uploadImage(t, "initrd", readFileSync(image.initrd), { kind: "initrd" });
    kernel = await uploadImage(t, "kernel", readFileSync(image.kernel), { kind: "kernel", initrd: rd.id, cmdline: image.cmdline });
    q35 = await t.pv.createVm({ name: "q", flavor: "tiny", image: kernel.id, machine: "q35" });
    micro = await t.pv.createVm({ name: "m", flavor: "tiny", image: kernel.id });
    v1 = await t.pv.createVolume({ name: "data", sizeGiB: 1 });
    await Promise.all([booted(q35), booted(micro)]);
  }, 120_000);

  afterAll(async () => {
    await agent?.stop();
    for (const vm of [q35, micro]) if (vm) await new QemuHypervisor({ runDir, socketDir }).remove(vm.id).catch(() => {});
    store?.close();
    await stack?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it("creates a qcow2 volume on the host and hot-plugs it into a running q35 guest", async () => {
    v1 = await waitVol(v1.id, "AVAILABLE");
    expect(v1).toMatchObject({ sizeGiB: 1, host: "hv-v" });
    expect(await guest(q35, "ls /sys/block")).not.toContain("vda");
    expect((await t.pv.attachVolume(v1.id, q35.id)).state).toBe("ATTACHING");
    await waitVol(v1.id, "IN-USE");
    expect((await t.pv.getVm(q35.id)).volumes).toEqual([v1.id]);
    expect(await guest(q35, "cat /sys/block/vda/size")).toContain("2097152"); // 1 GiB in 512-byte sectors
    await guest(q35, "echo MARK-ONE | dd of=/dev/vda conv=fsync");
    expect(hasMarker(readVolume(files().topPath(v1.id)!), "MARK-ONE")).toBe(true);
  }, 60_000);

  it("refuses to delete an attached volume", async () => {
    expect(await codeOf(t.pv.deleteVolume(v1.id))).toBe("PLASMAVMC:InUse");
  });

  it("snapshots a volume in use: the snapshot keeps the old content while the volume changes", async () => {
    const s1 = await t.pv.createSnapshot(v1.id, "s1");
    expect((await waitSnap(s1.id)).state).toBe("AVAILABLE");
    await guest(q35, "echo MARK-TWO | dd of=/dev/vda conv=fsync");
    const snapFile = files().snapshotPath(v1.id, s1.id)!;
    expect(hasMarker(readVolume(snapFile), "MARK-ONE")).toBe(true);
    expect(hasMarker(readVolume(files().topPath(v1.id)!), "MARK-TWO")).toBe(true);
    // a volume made from the snapshot has the old content
    fromSnap = await waitVol((await t.pv.createVolume({ name: "restored", snapshot: s1.id })).id, "AVAILABLE");
    expect(fromSnap.sizeGiB).toBe(1);
    expect(hasMarker(readVolume(files().topPath(fromSnap.id)!), "MARK-ONE")).toBe(true);
    expect(await codeOf(t.pv.deleteVolume(v1.id))).toBe("PLASMAVMC:InUse"); // attached, and has a snapshot
    // deleting the snapshot while the guest runs merges it (block-stream) and QEMU lets go of its file
    await t.pv.deleteSnapshot(s1.id);
    for (let i = 0; i < 100 && existsSync(snapFile); i++) await Bun.sleep(200);
    expect(existsSync(snapFile)).toBe(false);
    expect(openFiles(await qemuPid(q35))).not.toContain(snapFile);
    expect(hasMarker(readVolume(files().topPath(v1.id)!), "MARK-TWO")).toBe(true);
    expect(await guest(q35, "head -c 8 /dev/vda")).toContain("MARK-TWO");
  }, 60_000);

  it("detaches from the running guest: the disk disappears and QEMU holds no file of it", async () => {
    expect((await t.pv.detachVolume(v1.id)).vm).toBeUndefined();
    await waitVol(v1.id, "AVAILABLE");
    expect(await guest(q35, "ls /sys/block")).not.toContain("vda");
    expect(openFiles(await qemuPid(q35)).filter((f) => f.startsWith(join(volDir, v1.id)))).toEqual([]);
    // offline snapshot and merge (qemu-img) keep the content
    const s2 = await t.pv.createSnapshot(v1.id, "s2");
    expect((await waitSnap(s2.id)).state).toBe("AVAILABLE");
    await t.pv.deleteSnapshot(s2.id);
    for (let i = 0; i < 100 && files().chain(v1.id)!.files.length > 1; i++) await Bun.sleep(200);
    expect(files().chain(v1.id)!.files).toHaveLength(1);
    expect(hasMarker(readVolume(files().topPath(v1.id)!), "MARK-TWO")).toBe(true);
  }, 60_000);

  it("attaches to microvm only while stopped, boots with it, and keeps it across an agent restart", async () => {
    expect(await codeOf(t.pv.attachVolume(fromSnap.id, micro.id))).toBe("PLASMAVMC:HotplugUnsupported");
    await t.pv.stopVm(micro.id, 0);
    await t.pv.waitForVm(micro.id, (v) => v.state === "STOPPED", 30_000);
    await t.pv.attachVolume(fromSnap.id, micro.id);
    await waitVol(fromSnap.id, "IN-USE"); // cold: on the next command line
    const before = await boots(micro);
    await t.pv.startVm(micro.id);
    await booted(micro, before + 1);
    expect(await guest(micro, "head -c 8 /dev/vda")).toContain("MARK-ONE");
    const pid = await qemuPid(micro);
    await agent.stop({ heartbeat: "keep" });
    agent = newAgent();
    await agent.start();
    await agent.reconcile();
    await agent.reconcile();
    expect(await qemuPid(micro)).toBe(pid);
    expect((await t.pv.getVolume(fromSnap.id)).state).toBe("IN-USE");
    expect(await guest(micro, "ls /sys/block")).toContain("vda");
  }, 90_000);

  it("fills a volume from a disk image (a flattened copy, grown to the size asked)", async () => {
    const bytes = new Uint8Array(1 << 20);
    bytes.set(new TextEncoder().encode("IMAGEMARK"), 0);
    const img = await uploadImage(t, "raw-disk", bytes);
    const v = await waitVol((await t.pv.createVolume({ name: "from-image", sizeGiB: 1, image: img.id })).id, "AVAILABLE");
    expect(v.sourceImage).toBe(img.id);
    expect(hasMarker(readVolume(files().topPath(v.id)!), "IMAGEMARK")).toBe(true);
    const info = JSON.parse(Bun.spawnSync(["qemu-img", "info", "-U", "--output=json", files().topPath(v.id)!]).stdout.toString());
    expect(info).toMatchObject({ format: "qcow2", "virtual-size": 1024 ** 3 });
    expect(info["backing-filename"]).toBeUndefined();
    await t.pv.deleteVolume(v.id);
  }, 30_000);

  it("deleting the VMs leaves the volumes AVAILABLE; deleting the volumes leaves no file", async () => {
    await t.pv.deleteVm(micro.id);
    await t.pv.deleteVm(q35.id);
    await waitVol(fromSnap.id, "AVAILABLE");
    await t.pv.deleteVolume(fromSnap.id);
    await t.pv.deleteVolume(v1.id);
    for (let i = 0; i < 100 && readdirSync(volDir).length; i++) await Bun.sleep(200);
    expect(readdirSync(volDir)).toEqual([]);
    expect((await t.pv.getQuota()).usage).toMatchObject({ volumes: 0, gigabytes: 0, vms: 0 });
  }, 60_000);
});
