/**
 * Attaching volumes to VMs and detaching them. One transaction changes both documents (the
 * volume's `vm`, the VM's `volumes`), so neither can be attached twice; the host agent then
 * hot-plugs the volume into the running QEMU (q35: blockdev-add + device_add virtio-blk-pci on a
 * spare PCIe root port), or puts it on the command line of a stopped VM's next launch. microvm has
 * no PCI hotplug: a VM on it takes or gives volumes only while stopped (PLASMAVMC:HotplugUnsupported).
 * Volumes are local files: the VM must run on the volume's host.
 */
import type { GuardCaller } from "../iam/guard.ts";
import { PlasmavmcErrors } from "./errors.ts";
import { volumeViewOf } from "./service-volume.ts";
import type { PlasmavmcService } from "./service.ts";
import { keys, type StoreTx } from "./store.ts";
import type { Volume, VolumeRecord, VolumeStatusRecord, VmRecord, VmStatusRecord } from "./types.ts";

/** Most volumes attached to one VM (spare PCIe root ports on q35). */
export const MAX_VOLUMES_PER_VM = 8;

/** The machine a VM runs (or will run) on. */
export function machineOf(r: VmRecord, st?: VmStatusRecord): "microvm" | "q35" {
  if (st?.machine === "microvm" || st?.machine === "q35") return st.machine;
  return r.machine ?? (r.boot.kind === "kernel" ? "microvm" : "q35");
}

/** Refuses a change of a microvm VM's disks unless it is stopped (desired and observed). */
function checkHotplug(r: VmRecord, st: VmStatusRecord | undefined, verb: string): void {
  if (machineOf(r, st) !== "microvm") return;
  if (r.desired === "stopped" && (!st || st.state === "stopped" || st.state === "removed")) return;
  throw PlasmavmcErrors.HotplugUnsupported(`vm ${r.id} runs on microvm, which has no PCI hotplug: stop it to ${verb} a volume (it is ${st?.state ?? r.desired})`, { details: { id: r.id, machine: "microvm" } });
}

/**
 * Attaches volume `id` to VM `vm` (same project, same host).
 * @throws PLASMAVMC:InUse (attached elsewhere, still detaching), PLASMAVMC:InvalidState (volume not
 *   ready, VM deleting or in ERROR, other host), PLASMAVMC:HotplugUnsupported (running microvm),
 *   PLASMAVMC:InvalidArgument (too many volumes), PLASMAVMC:NotFound (vm: field named).
 */
export async function attachVolume(s: PlasmavmcService, caller: GuardCaller, i: { id: string; vm: string }): Promise<Volume> {
  const vol = await s.load<VolumeRecord>(caller, "volumes", i.id, "attach");
  const vm = await s.load<VmRecord>(caller, "vms", i.vm, "get").catch((e) => {
    throw (e as { code?: string }).code === "PLASMAVMC:NotFound" ? PlasmavmcErrors.NotFound(`vm: ${JSON.stringify(i.vm)} not found`, { details: { field: "vm" } }) : e;
  });
  if (vm.project !== vol.project) throw PlasmavmcErrors.NotFound(`vm: ${vm.id} is not in project ${vol.project}`, { details: { field: "vm" } });
  const next = await s.store.transact(async (tx) => {
    const r = await tx.get<VolumeRecord>(keys.doc("volumes", vol.id));
    const v = await tx.get<VmRecord>(keys.doc("vms", vm.id));
    if (!r) throw PlasmavmcErrors.NotFound(`volume ${vol.id} not found`, { details: { id: vol.id } });
    if (!v) throw PlasmavmcErrors.NotFound(`vm: ${vm.id} not found`, { details: { field: "vm" } });
    if (r.vm) throw PlasmavmcErrors.InUse(`volume ${r.id} is attached to vm ${r.vm}`, { details: { id: r.id, vm: r.vm } });
    const st = await tx.get<VolumeStatusRecord>(keys.volumeStatus(r.id));
    if (st?.state !== "ready") throw PlasmavmcErrors.InvalidState(`volume ${r.id} is ${st ? `in ERROR: ${st.reason ?? ""}` : "CREATING"}`, { details: { id: r.id } });
    if (st.attachedTo) throw PlasmavmcErrors.InUse(`volume ${r.id} is still detaching from vm ${st.attachedTo}`, { details: { id: r.id, vm: st.attachedTo } });
    if (v.deleting || v.error) throw PlasmavmcErrors.InvalidState(`vm ${v.id} is ${v.deleting ? "being deleted" : "in ERROR"}`, { details: { field: "vm" } });
    if (v.host !== r.host) throw PlasmavmcErrors.InvalidState(`volume ${r.id} is stored on host ${r.host} and vm ${v.id} runs on ${v.host ?? "no host"}; volumes are local to their host`, { details: { field: "vm" } });
    if ((v.volumes?.length ?? 0) >= MAX_VOLUMES_PER_VM) throw PlasmavmcErrors.InvalidArgument(`vm ${v.id} already has ${MAX_VOLUMES_PER_VM} volumes`, { details: { field: "vm" } });
    checkHotplug(v, await tx.get<VmStatusRecord>(keys.status(v.id)), "attach");
    const n: VolumeRecord = { ...r, vm: v.id, attachedAt: new Date().toISOString() };
    tx.put(keys.doc("volumes", r.id), n);
    tx.put(keys.doc("vms", v.id), { ...v, volumes: [...(v.volumes ?? []), r.id] });
    return n;
  });
  return volumeViewOf(s, next);
}

/**
 * Detaches volume `id` from its VM; the view is DETACHING until the host's agent has unplugged
 * it (device_del, the guest's DEVICE_DELETED, blockdev-del), then AVAILABLE.
 * @throws PLASMAVMC:InvalidState (not attached), PLASMAVMC:HotplugUnsupported (running microvm).
 */
export async function detachVolume(s: PlasmavmcService, caller: GuardCaller, i: { id: string }): Promise<Volume> {
  const vol = await s.load<VolumeRecord>(caller, "volumes", i.id, "detach");
  const next = await s.store.transact(async (tx) => {
    const r = await tx.get<VolumeRecord>(keys.doc("volumes", vol.id));
    if (!r) throw PlasmavmcErrors.NotFound(`volume ${vol.id} not found`, { details: { id: vol.id } });
    if (!r.vm) throw PlasmavmcErrors.InvalidState(`volume ${r.id} is not attached`, { details: { id: r.id } });
    const v = await tx.get<VmRecord>(keys.doc("vms", r.vm));
    if (v && !v.deleting) checkHotplug(v, await tx.get<VmStatusRecord>(keys.status(v.id)), "detach");
    const { vm: _vm, attachedAt: _at, ...rest } = r;
    tx.put(keys.doc("volumes", r.id), rest);
    if (v) tx.put(keys.doc("vms", v.id), { ...v, volumes: (v.volumes ?? []).filter((x) => x !== r.id) });
    return rest as VolumeRecord;
  });
  return volumeViewOf(s, next);
}

/** Detaches every volume of a VM being deleted, in `tx` (the volumes stay, AVAILABLE). */
export async function detachAll(tx: StoreTx, vm: VmRecord): Promise<void> {
  for (const id of vm.volumes ?? []) {
    const r = await tx.get<VolumeRecord>(keys.doc("volumes", id));
    if (r?.vm !== vm.id) continue;
    const { vm: _vm, attachedAt: _at, ...rest } = r;
    tx.put(keys.doc("volumes", id), rest);
  }
}
