/**
 * Hot-pluggable disks (volumes) of a running QEMU, over its QMP connection only.
 *
 * - A disk is a block node named by its id plus a virtio-blk device of the same id (`-blockdev`
 *   and `-device` at launch, `blockdev-add` + `device_add` when hot-plugged). On q35 the device
 *   sits on a free PCIe root port (`hp0`…, qemu-args.ts): q35's root bus has no hotplug, its
 *   root ports do (ACPI hotplug in QEMU ≥ 6.1; the guest sees the disk at once). microvm has
 *   no PCI bus at all: its disks change only across a stop.
 * - Unplugging is a request to the guest: `device_del`, then QEMU's `DEVICE_DELETED` once the
 *   guest let go (a guest that ignores it keeps the disk; the caller retries later), then
 *   `blockdev-del` of the node added by name. Overlays QEMU made for snapshots are not the
 *   monitor's and go with the device.
 * - Which disks a VM has is read back from QEMU (`qom-list /machine/peripheral`: devices with an
 *   id), never remembered: an adopted VM is the truth.
 * - Snapshots (`blockdev-snapshot-sync`) and merging a backing file away (`block-stream`) find
 *   their nodes by file name (`query-named-block-nodes`), since QEMU names overlays itself.
 */
import { PlasmavmcErrors } from "../errors.ts";
import type { QmpClient, QmpEvent } from "../qmp/qmp-client.ts";
import type { DiskSpec, DiskSyncResult, MachineType } from "./hypervisor.ts";
import { HOTPLUG_PORTS } from "./qemu-args.ts";

/** How long the guest gets to release an unplugged disk before the caller is told it is pending. */
const UNPLUG_WAIT_MS = 10_000;
/** How long a round waits again for an unplug requested earlier (the guest may never answer). */
const UNPLUG_REWAIT_MS = 1_000;
/** How long a block-stream job may take. */
const STREAM_WAIT_MS = 120_000;

interface PciDevice {
  qdev_id?: string;
  pci_bridge?: { devices?: PciDevice[] };
}

interface BlockNode {
  "node-name": string;
  drv: string;
  file: string;
}

/** Ids of the named virtio-blk devices of the VM (its hot-pluggable disks). */
export async function attachedDisks(qmp: QmpClient): Promise<string[]> {
  const children = await qmp.execute<{ name: string; type: string }[]>("qom-list", { path: "/machine/peripheral" });
  return children.filter((c) => /^child<virtio-blk-/.test(c.type)).map((c) => c.name).sort();
}

/** The first root port with nothing behind it. */
async function freePort(qmp: QmpClient): Promise<string> {
  const buses = await qmp.execute<{ devices: PciDevice[] }[]>("query-pci");
  const used = new Set<string>();
  const ports = new Set<string>();
  for (const b of buses) {
    for (const d of b.devices) {
      if (!d.qdev_id || !/^hp\d+$/.test(d.qdev_id)) continue;
      ports.add(d.qdev_id);
      if (d.pci_bridge?.devices?.length) used.add(d.qdev_id);
    }
  }
  for (let i = 0; i < HOTPLUG_PORTS; i++) if (ports.has(`hp${i}`) && !used.has(`hp${i}`)) return `hp${i}`;
  throw PlasmavmcErrors.InvalidSpec(`no free PCIe root port left for another disk (${ports.size} ports; VMs launched before volumes existed have none)`, { details: { field: "disks" } });
}

async function blockdevDel(qmp: QmpClient, node: string): Promise<void> {
  try {
    await qmp.execute("blockdev-del", { "node-name": node });
  } catch (e) {
    if ((e as { code?: string }).code !== "PLASMAVMC:QmpCommandFailed") throw e; // absent, or not the monitor's
  }
}

/** Plugs disk `d` (with an id) into the running VM. */
export async function plugDisk(qmp: QmpClient, machine: MachineType, d: DiskSpec): Promise<void> {
  const id = d.id!;
  const bus = machine === "q35" ? await freePort(qmp) : undefined;
  await blockdevDel(qmp, id); // a node left by an earlier attempt whose device_add failed
  await qmp.execute("blockdev-add", { driver: d.format, "node-name": id, "read-only": d.readOnly === true, file: { driver: "file", filename: d.path } });
  try {
    await qmp.execute("device_add", { driver: machine === "q35" ? "virtio-blk-pci" : "virtio-blk-device", id, drive: id, ...(bus ? { bus } : {}) });
  } catch (e) {
    await blockdevDel(qmp, id);
    throw e;
  }
}

/**
 * Asks the guest to release disk `id` and waits for it; then deletes its block node.
 * @returns false when the guest has not released it within the wait (try again later).
 */
export async function unplugDisk(qmp: QmpClient, id: string): Promise<boolean> {
  let released = false;
  const on = (e: QmpEvent) => {
    if (e.event === "DEVICE_DELETED" && e.data?.device === id) released = true;
  };
  qmp.on("event", on);
  try {
    let wait = UNPLUG_WAIT_MS;
    try {
      await qmp.execute("device_del", { id });
    } catch (e) {
      // "already in the process of unplug": an earlier request is pending; look again shortly
      if ((e as { code?: string }).code !== "PLASMAVMC:QmpCommandFailed" || !/unplug/i.test((e as Error).message)) throw e;
      wait = UNPLUG_REWAIT_MS;
    }
    const end = Date.now() + wait;
    while (!released && Date.now() < end) await Bun.sleep(50);
  } finally {
    qmp.off("event", on);
  }
  if (!released && (await attachedDisks(qmp)).includes(id)) return false;
  await blockdevDel(qmp, id);
  return true;
}

/** Makes the VM's hot-pluggable disks exactly the ones of `disks` with an id (see the file comment). */
export async function syncDisks(qmp: QmpClient, machine: MachineType, disks: DiskSpec[]): Promise<DiskSyncResult> {
  const want = disks.filter((d) => d.id);
  const have = await attachedDisks(qmp);
  await dropOrphanNodes(qmp, [...have, ...want.map((d) => d.id!)]);
  const extra = have.filter((id) => !want.some((d) => d.id === id));
  const missing = want.filter((d) => !have.includes(d.id!));
  if (!extra.length && !missing.length) return { attached: have };
  if (machine === "microvm") return { attached: have, pending: "microvm has no hotplug: the disks change at the next start" };
  const pending: string[] = [];
  for (const id of extra) if (!(await unplugDisk(qmp, id))) pending.push(id);
  for (const d of missing) await plugDisk(qmp, machine, d);
  return { attached: await attachedDisks(qmp), ...(pending.length ? { pending: `waiting for the guest to release ${pending.join(", ")}` } : {}) };
}

/**
 * Deletes nodes the monitor added for disks that no device uses any more (an unplug the guest
 * finished after the round that asked for it stopped waiting). Only named nodes are candidates:
 * `-drive` disks and QEMU's own nodes have `#` names, snapshot overlays `ov…` names.
 */
async function dropOrphanNodes(qmp: QmpClient, keep: string[]): Promise<void> {
  const nodes = await qmp.execute<BlockNode[]>("query-named-block-nodes", { flat: true });
  for (const n of nodes) {
    const name = n["node-name"];
    if (n.drv !== "qcow2" && n.drv !== "raw") continue;
    if (name.startsWith("#") || name.startsWith("ov") || keep.includes(name)) continue;
    await blockdevDel(qmp, name); // refused (kept) while still a backing node of a live chain
  }
}

async function nodeOf(qmp: QmpClient, file: string): Promise<BlockNode | undefined> {
  const nodes = await qmp.execute<BlockNode[]>("query-named-block-nodes", { flat: true });
  return nodes.find((n) => n.drv === "qcow2" && n.file === file);
}

/** `blockdev-snapshot-sync` of the qcow2 node reading `activePath` onto a new `overlayPath`. */
export async function snapshotDisk(qmp: QmpClient, activePath: string, overlayPath: string): Promise<void> {
  const node = await nodeOf(qmp, activePath);
  if (!node) throw PlasmavmcErrors.InvalidSpec(`no block node of the running VM reads ${activePath}`, { details: { field: "disks" } });
  // QEMU wants a name for the new top when the old one is named; `ov…` (not the disk's id: the
  // monitor owns only the node added under that id, which goes with the device on detach)
  const name = `ov${crypto.randomUUID().replaceAll("-", "").slice(0, 20)}`;
  await qmp.execute("blockdev-snapshot-sync", { "node-name": node["node-name"], "snapshot-file": overlayPath, "snapshot-node-name": name, format: "qcow2", mode: "absolute-paths" });
}

/**
 * Streams `mergedPath` (the file between `childPath` and `basePath`; no base: the bottom of the
 * chain) into `childPath` and waits for the job; the node the monitor added for `mergedPath`
 * (at launch or hotplug, named by the disk's id), if any, is deleted so QEMU lets go of the file.
 * @throws PLASMAVMC:QmpCommandFailed with QEMU's error when the job fails.
 */
export async function streamDisk(qmp: QmpClient, childPath: string, basePath: string | undefined, mergedPath: string): Promise<void> {
  const child = await nodeOf(qmp, childPath);
  if (!child) throw PlasmavmcErrors.InvalidSpec(`no block node of the running VM reads ${childPath}`, { details: { field: "disks" } });
  const base = basePath ? await nodeOf(qmp, basePath) : undefined;
  if (basePath && !base) throw PlasmavmcErrors.InvalidSpec(`no block node of the running VM reads ${basePath}`, { details: { field: "disks" } });
  const job = `stream-${crypto.randomUUID().slice(0, 8)}`;
  const done = qmp.waitForEvent("BLOCK_JOB_COMPLETED", STREAM_WAIT_MS, (e) => e.data?.device === job);
  await qmp.execute("block-stream", { "job-id": job, device: child["node-name"], ...(base ? { "base-node": base["node-name"] } : {}) });
  const ev = await done;
  if (ev.data?.error) throw PlasmavmcErrors.QmpCommandFailed(`block-stream into ${childPath} failed: ${String(ev.data.error)}`, { details: { command: "block-stream" } });
  const merged = await nodeOf(qmp, mergedPath);
  if (merged && !merged["node-name"].startsWith("#") && !merged["node-name"].startsWith("ov")) await blockdevDel(qmp, merged["node-name"]);
}
