/**
 * A VM's lifecycle actions. Each changes the VM's desired state in one transaction and returns at
 * once; the host agent converges (stop: ACPI power button, the VM's `stopDeadlineMs` (or the
 * call's `deadlineMs`), then forced off). Reboot bumps a counter the agent compares with the last
 * one it applied. Resize needs the VM stopped and re-reserves room on its host and quota.
 */
import type { GuardCaller } from "../iam/guard.ts";
import { PlasmavmcErrors } from "./errors.ts";
import { findFlavor } from "./service-flavor.ts";
import { viewOf } from "./service-vm.ts";
import { checkInt, type PlasmavmcService } from "./service.ts";
import { keys } from "./store.ts";
import type { Host, HostAlloc, Vm, VmRecord, VmStatusRecord } from "./types.ts";

type Change = (r: VmRecord, st: VmStatusRecord | undefined) => VmRecord;

async function act(s: PlasmavmcService, caller: GuardCaller, id: string, verb: string, change: Change): Promise<Vm> {
  const cur = await s.load<VmRecord>(caller, "vms", id, verb);
  const next = await s.store.transact(async (tx) => {
    const r = await tx.get<VmRecord>(keys.doc("vms", cur.id));
    if (!r) throw PlasmavmcErrors.NotFound(`vm ${id} not found`, { details: { id } });
    if (r.deleting) throw PlasmavmcErrors.InvalidState(`vm ${id} is being deleted`, { details: { id } });
    if (r.error) throw PlasmavmcErrors.InvalidState(`vm ${id} is in ERROR (${r.error}); delete it`, { details: { id } });
    const n = change(r, await s.store.get<VmStatusRecord>(keys.status(r.id)));
    tx.put(keys.doc("vms", r.id), n);
    return n;
  });
  return viewOf(s, next);
}

/** Starts a stopped VM (or keeps a running one running). */
export function startVm(s: PlasmavmcService, c: GuardCaller, i: { id: string }): Promise<Vm> {
  return act(s, c, i.id, "start", (r) => ({ ...r, desired: "running" }));
}

/** Stops a VM: graceful within `deadlineMs` (default the VM's), then forced. */
export function stopVm(s: PlasmavmcService, c: GuardCaller, i: { id: string; deadlineMs?: number }): Promise<Vm> {
  const d = i.deadlineMs === undefined ? undefined : checkInt(i.deadlineMs, "deadlineMs", 0, 600_000);
  return act(s, c, i.id, "stop", (r) => ({ ...r, desired: "stopped", ...(d !== undefined ? { stopDeadlineMs: d } : {}) }));
}

/** Freezes a running VM. @throws PLASMAVMC:InvalidState when it is not meant to run. */
export function pauseVm(s: PlasmavmcService, c: GuardCaller, i: { id: string }): Promise<Vm> {
  return act(s, c, i.id, "pause", (r) => {
    if (r.desired === "stopped") throw PlasmavmcErrors.InvalidState(`vm ${r.id} is stopped; start it first`, { details: { id: r.id } });
    return { ...r, desired: "paused" };
  });
}

/** Unfreezes a paused VM. */
export function resumeVm(s: PlasmavmcService, c: GuardCaller, i: { id: string }): Promise<Vm> {
  return act(s, c, i.id, "resume", (r) => {
    if (r.desired !== "paused") throw PlasmavmcErrors.InvalidState(`vm ${r.id} is not paused`, { details: { id: r.id } });
    return { ...r, desired: "running" };
  });
}

/** Resets a running VM (hard reset, the guest boots again). */
export function rebootVm(s: PlasmavmcService, c: GuardCaller, i: { id: string }): Promise<Vm> {
  return act(s, c, i.id, "reboot", (r) => {
    if (r.desired !== "running") throw PlasmavmcErrors.InvalidState(`vm ${r.id} is ${r.desired}; only a running VM reboots`, { details: { id: r.id } });
    return { ...r, rebootSeq: r.rebootSeq + 1 };
  });
}

/**
 * Gives a stopped VM another flavor: its host and the project's quota must have room for the
 * difference (both checked and changed in the same transaction).
 * @throws PLASMAVMC:InvalidState (not stopped, or its host lacks room), PLASMAVMC:QuotaExceeded.
 */
export async function resizeVm(s: PlasmavmcService, c: GuardCaller, i: { id: string; flavor: string }): Promise<Vm> {
  const cur = await s.load<VmRecord>(c, "vms", i.id, "resize");
  const f = await findFlavor(s, i.flavor);
  const next = await s.store.transact(async (tx) => {
    const r = await tx.get<VmRecord>(keys.doc("vms", cur.id));
    if (!r || r.deleting || r.error) throw PlasmavmcErrors.InvalidState(`vm ${i.id} cannot be resized now`, { details: { id: i.id } });
    const st = await tx.get<VmStatusRecord>(keys.status(r.id));
    if (r.desired !== "stopped" || (st && st.state !== "stopped")) throw PlasmavmcErrors.InvalidState(`vm ${r.id} must be stopped to be resized (it is ${st?.state ?? "building"})`, { details: { id: r.id } });
    const dv = f.vcpus - r.vcpus;
    const dm = f.memoryMiB - r.memoryMiB;
    await s.charge(tx, r.project, { vcpus: dv, memoryMiB: dm });
    if (r.host && r.allocated) {
      const h = await tx.get<Host>(keys.host(r.host));
      const a = (await tx.get<HostAlloc>(keys.alloc(r.host))) ?? { vcpus: 0, memoryMiB: 0 };
      if (h && (a.vcpus + dv > h.vcpus || a.memoryMiB + dm > h.memoryMiB)) throw PlasmavmcErrors.InvalidState(`host ${r.host} has no room for flavor ${f.name}`, { details: { id: r.id } });
      tx.put(keys.alloc(r.host), { vcpus: a.vcpus + dv, memoryMiB: a.memoryMiB + dm });
    }
    const n: VmRecord = { ...r, flavor: f.id, vcpus: f.vcpus, memoryMiB: f.memoryMiB, diskGiB: f.diskGiB };
    tx.put(keys.doc("vms", r.id), n);
    return n;
  });
  return viewOf(s, next);
}

/** The tail of a VM's serial console as its host agent last published it. */
export async function consoleLog(s: PlasmavmcService, c: GuardCaller, i: { id: string }): Promise<{ id: string; log: string }> {
  const r = await s.load<VmRecord>(c, "vms", i.id, "console");
  const log = (await s.store.get<{ log: string }>(keys.console(r.id)))?.log ?? "";
  return { id: r.id, log };
}
