/**
 * Volume snapshots. A snapshot is a read-only qcow2 file of its volume's backing chain: taking
 * one turns the volume's current file into the snapshot and continues the volume on a new overlay
 * backed by it (QMP blockdev-snapshot-sync while the volume is in a running VM, `qemu-img create
 * -b` otherwise), so it costs no copy and the snapshot keeps the content of that moment. Deleting
 * one merges it into the file above it (block-stream online, `qemu-img rebase` offline) and
 * removes it. The API records the wish (`snapshots/<id>`, the volume's `snapshots` list, in one
 * transaction); the volume's host agent makes it true and lists the snapshots it made in
 * `volstatus/<volume>`. Creating needs `plasmavmc:volume:snapshot` on the volume; reading and
 * deleting `plasmavmc:snapshot:get|list|delete`. docs/adr/0019-plasmavmc-volumes.md.
 */
import type { GuardCaller } from "../iam/guard.ts";
import { PlasmavmcErrors } from "./errors.ts";
import { checkName, newId, type PlasmavmcService } from "./service.ts";
import { keys } from "./store.ts";
import type { Snapshot, SnapshotRecord, VolumeRecord, VolumeStatusRecord } from "./types.ts";

/** Most snapshots of one volume (each is a link of its backing chain). */
export const MAX_SNAPSHOTS_PER_VOLUME = 32;

/** The API's view of a snapshot given its volume's host report. */
export function snapshotView(r: SnapshotRecord, st: VolumeStatusRecord | undefined): Snapshot {
  const made = st?.snapshots.includes(r.id) === true;
  const failed = !made && st?.state === "error";
  return {
    id: r.id, org: r.org, project: r.project, name: r.name, volume: r.volume, sizeGiB: r.sizeGiB,
    state: made ? "AVAILABLE" : failed ? "ERROR" : "CREATING", ...(failed && st?.reason ? { reason: st.reason } : {}), createdAt: r.createdAt,
  };
}

/**
 * Snapshots volume `id` (attached or not, running or not).
 * @throws PLASMAVMC:InvalidArgument (name taken, too many), PLASMAVMC:InvalidState (volume in ERROR).
 */
export async function createSnapshot(s: PlasmavmcService, caller: GuardCaller, i: { id: string; name: string }): Promise<Snapshot> {
  const name = checkName(i.name);
  const vol = await s.load<VolumeRecord>(caller, "volumes", i.id, "snapshot");
  const id = newId("snapshots");
  const rec = await s.store.transact(async (tx) => {
    const r = await tx.get<VolumeRecord>(keys.doc("volumes", vol.id));
    if (!r) throw PlasmavmcErrors.NotFound(`volume ${vol.id} not found`, { details: { id: vol.id } });
    const st = await tx.get<VolumeStatusRecord>(keys.volumeStatus(r.id));
    if (st?.state === "error") throw PlasmavmcErrors.InvalidState(`volume ${r.id} is in ERROR: ${st.reason ?? ""}`, { details: { id: r.id } });
    if ((r.snapshots?.length ?? 0) >= MAX_SNAPSHOTS_PER_VOLUME) throw PlasmavmcErrors.InvalidArgument(`volume ${r.id} already has ${MAX_SNAPSHOTS_PER_VOLUME} snapshots`, { details: { field: "id" } });
    if ((await tx.get<string>(keys.snapshotName(r.project, name))) !== undefined) throw PlasmavmcErrors.InvalidArgument(`a snapshot named ${name} exists in project ${r.project}`, { details: { field: "name" } });
    tx.claim(keys.snapshotName(r.project, name), id);
    const snap: SnapshotRecord = { id, org: r.org, project: r.project, name, volume: r.id, host: r.host, sizeGiB: r.sizeGiB, createdAt: new Date().toISOString() };
    tx.put(keys.doc("snapshots", id), snap);
    tx.put(keys.doc("volumes", r.id), { ...r, snapshots: [...(r.snapshots ?? []), id] });
    return snap;
  });
  return snapshotView(rec, await s.store.get<VolumeStatusRecord>(keys.volumeStatus(rec.volume)));
}

/** One snapshot. */
export async function getSnapshot(s: PlasmavmcService, caller: GuardCaller, i: { id: string }): Promise<Snapshot> {
  const r = await s.load<SnapshotRecord>(caller, "snapshots", i.id, "get");
  return snapshotView(r, await s.store.get<VolumeStatusRecord>(keys.volumeStatus(r.volume)));
}

/** The project's snapshots (of one volume when `volume` is given), oldest first. */
export async function listSnapshots(s: PlasmavmcService, caller: GuardCaller, i: { project?: string; volume?: string }): Promise<{ items: Snapshot[] }> {
  const scope = await s.authorizeProject(caller, "snapshot", "list", i.project);
  const recs = (await s.store.list<SnapshotRecord>(keys.kind("snapshots"))).map((d) => d.value).filter((d) => d.project === scope.project && (!i.volume || d.volume === i.volume));
  const items: Snapshot[] = [];
  for (const r of recs.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id))) items.push(snapshotView(r, await s.store.get<VolumeStatusRecord>(keys.volumeStatus(r.volume))));
  return { items };
}

/**
 * Deletes a snapshot: its document goes at once; the host's agent merges its file into the next
 * one of the chain and removes it. Refused while a volume is still being made from it.
 * @throws PLASMAVMC:InUse naming that volume.
 */
export async function deleteSnapshot(s: PlasmavmcService, caller: GuardCaller, i: { id: string }): Promise<Record<string, never>> {
  const cur = await s.load<SnapshotRecord>(caller, "snapshots", i.id, "delete");
  for (const { value: v } of await s.store.list<VolumeRecord>(keys.kind("volumes"))) {
    if (v.source?.snapshot !== cur.id) continue;
    if ((await s.store.get(keys.volumeStatus(v.id))) === undefined) throw PlasmavmcErrors.InUse(`volume ${v.id} is being created from snapshot ${cur.id}; retry when it is AVAILABLE`, { details: { id: cur.id, volume: v.id } });
  }
  await s.store.transact(async (tx) => {
    const r = await tx.get<SnapshotRecord>(keys.doc("snapshots", cur.id));
    if (!r) return;
    const vol = await tx.get<VolumeRecord>(keys.doc("volumes", r.volume));
    if (vol) tx.put(keys.doc("volumes", vol.id), { ...vol, snapshots: (vol.snapshots ?? []).filter((x) => x !== r.id) });
    tx.delete(keys.doc("snapshots", r.id));
    tx.delete(keys.snapshotName(r.project, r.name));
  });
  return {};
}
