/**
 * Volumes (Cinder's block volumes on local storage): qcow2 files a host agent creates on the host
 * chosen at create (empty, or filled from an image or a snapshot), attached to VMs of that host as
 * virtio-blk (service-volume-attach.ts), snapshotted as read-only qcow2 backing files
 * (service-snapshot.ts). The API writes what the owner asks for (`volumes/<id>`); the agent makes
 * the files and reports `volstatus/<id>`; the state shown is computed from both, like a VM's.
 * Quotas: `volumes` (count) and `gigabytes` (sizes), charged in the create transaction, so
 * concurrent creates cannot pass a limit together. docs/adr/0019-plasmavmc-volumes.md.
 */
import type { PhotonError } from "../../lib/errors.ts";
import type { GuardCaller } from "../iam/guard.ts";
import { PlasmavmcErrors } from "./errors.ts";
import { liveHosts } from "./scheduler/placement.ts";
import { checkInt, checkName, newId, type PlasmavmcService } from "./service.ts";
import { keys } from "./store.ts";
import type { Image, SnapshotRecord, Volume, VolumeRecord, VolumeStateName, VolumeStatusRecord } from "./types.ts";

/** `CreateVolume`'s input. */
export interface CreateVolumeInput {
  project?: string;
  name: string;
  /** Size in GiB (1-16384); from a snapshot it defaults to the snapshot's and may only grow. */
  sizeGiB?: number;
  /** A disk image of the project to copy in. */
  image?: string;
  /** A snapshot of the project to copy in (the volume is made on the snapshot's host). */
  snapshot?: string;
}

/** Largest volume (GiB). */
export const MAX_VOLUME_GIB = 16384;

const codeOf = (e: unknown) => (e as PhotonError).code;

/** The API's view of a stored volume and its host's report. */
export function volumeView(r: VolumeRecord, st: VolumeStatusRecord | undefined): Volume {
  let state: VolumeStateName;
  let reason: string | undefined;
  if (!st) state = "CREATING";
  else if (st.state === "error") [state, reason] = ["ERROR", st.reason];
  else if (r.vm && st.attachedTo === r.vm) state = "IN-USE";
  else if (r.vm) [state, reason] = ["ATTACHING", st.reason];
  else if (st.attachedTo) [state, reason] = ["DETACHING", st.reason];
  else state = "AVAILABLE";
  return {
    id: r.id, org: r.org, project: r.project, name: r.name, sizeGiB: r.sizeGiB, state, host: r.host,
    ...(r.vm ? { vm: r.vm } : {}), ...(r.source?.image ? { sourceImage: r.source.image } : {}), ...(r.source?.snapshot ? { sourceSnapshot: r.source.snapshot } : {}),
    ...(reason ? { reason } : {}), createdAt: r.createdAt,
  };
}

/** A volume's view read fresh from the store. */
export async function volumeViewOf(s: PlasmavmcService, r: VolumeRecord): Promise<Volume> {
  return volumeView(r, await s.store.get<VolumeStatusRecord>(keys.volumeStatus(r.id)));
}

/** Loads a resource named in a field, reporting NotFound with that field (and refusing other projects). */
async function loadField<T extends { org: string; project: string; id: string }>(s: PlasmavmcService, caller: GuardCaller, kind: "images" | "snapshots" | "vms", id: unknown, field: string, project: string): Promise<T> {
  const doc = await s.load<T>(caller, kind, id, "get").catch((e) => {
    throw codeOf(e) === "PLASMAVMC:NotFound" ? PlasmavmcErrors.NotFound(`${field}: ${JSON.stringify(id)} not found`, { details: { field } }) : e;
  });
  if (doc.project !== project) throw PlasmavmcErrors.NotFound(`${field}: ${doc.id} is not in project ${project}`, { details: { field } });
  return doc;
}

/**
 * Creates a volume on a live host (the one holding the fewest volumes; a snapshot's host when
 * made from one). Answers CREATING; the host's agent makes the qcow2 file.
 * @throws PLASMAVMC:InvalidArgument (name taken, size, both sources), PLASMAVMC:NotFound (image,
 *   snapshot: field named), PLASMAVMC:InvalidState (image not ACTIVE, snapshot not made yet),
 *   PLASMAVMC:QuotaExceeded (`volumes`, `gigabytes`), PLASMAVMC:Unavailable (no live host).
 */
export async function createVolume(s: PlasmavmcService, caller: GuardCaller, i: CreateVolumeInput): Promise<Volume> {
  const name = checkName(i.name);
  if (i.image !== undefined && i.snapshot !== undefined) throw PlasmavmcErrors.InvalidArgument("give image or snapshot, not both", { details: { field: "snapshot" } });
  if (i.sizeGiB !== undefined) checkInt(i.sizeGiB, "sizeGiB", 1, MAX_VOLUME_GIB);
  const scope = await s.authorizeProject(caller, "volume", "create", i.project);
  let source: VolumeRecord["source"];
  let host: string | undefined;
  let sizeGiB = i.sizeGiB;
  if (i.snapshot !== undefined) {
    const snap = await loadField<SnapshotRecord>(s, caller, "snapshots", i.snapshot, "snapshot", scope.project);
    const st = await s.store.get<VolumeStatusRecord>(keys.volumeStatus(snap.volume));
    if (!st?.snapshots.includes(snap.id)) throw PlasmavmcErrors.InvalidState(`snapshot ${snap.id} is not made yet (CREATING)`, { details: { field: "snapshot" } });
    sizeGiB ??= snap.sizeGiB;
    if (sizeGiB < snap.sizeGiB) throw PlasmavmcErrors.InvalidArgument(`sizeGiB ${sizeGiB} is smaller than snapshot ${snap.id} (${snap.sizeGiB} GiB)`, { details: { field: "sizeGiB" } });
    source = { snapshot: snap.id };
    host = snap.host;
  } else if (i.image !== undefined) {
    const img = await loadField<Image>(s, caller, "images", i.image, "image", scope.project);
    if (img.state !== "ACTIVE") throw PlasmavmcErrors.InvalidState(`image ${img.id} is ${img.state}`, { details: { field: "image" } });
    if (img.kind !== "disk") throw PlasmavmcErrors.InvalidArgument(`image ${img.id} is a ${img.kind} image; a volume is filled from a disk image`, { details: { field: "image" } });
    source = { image: img.id, imageFile: img.id, imageFormat: img.format ?? "raw" };
  }
  if (sizeGiB === undefined) throw PlasmavmcErrors.InvalidArgument("sizeGiB is required (unless created from a snapshot)", { details: { field: "sizeGiB" } });
  const size = sizeGiB;
  const id = newId("volumes");
  const rec = await s.store.transact(async (tx) => {
    if ((await tx.get<string>(keys.volumeName(scope.project, name))) !== undefined) throw PlasmavmcErrors.InvalidArgument(`a volume named ${name} exists in project ${scope.project}`, { details: { field: "name" } });
    let on = host;
    if (!on) {
      const hosts = await liveHosts(tx);
      if (hosts.length === 0) throw PlasmavmcErrors.Unavailable("no plasmavmc host agent is alive to hold the volume", { details: { field: "host" } });
      const count = new Map(hosts.map((h) => [h.name, 0]));
      for (const d of await tx.list<VolumeRecord>(keys.kind("volumes"))) if (count.has(d.value.host)) count.set(d.value.host, count.get(d.value.host)! + 1);
      on = hosts.reduce((a, b) => (count.get(b.name)! < count.get(a.name)! ? b : a)).name;
    }
    tx.claim(keys.volumeName(scope.project, name), id);
    await s.charge(tx, scope.project, { volumes: 1, gigabytes: size });
    const r: VolumeRecord = { id, org: scope.org, project: scope.project, name, sizeGiB: size, host: on, ...(source ? { source } : {}), createdAt: new Date().toISOString() };
    tx.put(keys.doc("volumes", id), r);
    return r;
  });
  return volumeViewOf(s, rec);
}

/** One volume. */
export async function getVolume(s: PlasmavmcService, caller: GuardCaller, i: { id: string }): Promise<Volume> {
  return volumeViewOf(s, await s.load<VolumeRecord>(caller, "volumes", i.id, "get"));
}

/** The project's volumes, oldest first. */
export async function listVolumes(s: PlasmavmcService, caller: GuardCaller, i: { project?: string }): Promise<{ items: Volume[] }> {
  const scope = await s.authorizeProject(caller, "volume", "list", i.project);
  const recs = (await s.store.list<VolumeRecord>(keys.kind("volumes"))).map((d) => d.value).filter((d) => d.project === scope.project);
  const items: Volume[] = [];
  for (const r of recs.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id))) items.push(await volumeViewOf(s, r));
  return { items };
}

/**
 * Deletes a volume: refused while it is attached or still detaching, and while it has snapshots
 * (Cinder's rule: delete them first). Its documents, name and quota go at once; its host's agent
 * removes the files on its next round (everything in the host's volume directory that no volume
 * document names is removed).
 * @throws PLASMAVMC:InUse naming the VM or the snapshots.
 */
export async function deleteVolume(s: PlasmavmcService, caller: GuardCaller, i: { id: string }): Promise<Record<string, never>> {
  const cur = await s.load<VolumeRecord>(caller, "volumes", i.id, "delete");
  await s.store.transact(async (tx) => {
    const r = await tx.get<VolumeRecord>(keys.doc("volumes", cur.id));
    if (!r) return;
    const st = await tx.get<VolumeStatusRecord>(keys.volumeStatus(r.id));
    if (r.snapshots?.length) throw PlasmavmcErrors.InUse(`volume ${r.id} has snapshots (${r.snapshots.join(", ")}); delete them first`, { details: { id: r.id } });
    if (r.vm) throw PlasmavmcErrors.InUse(`volume ${r.id} is attached to vm ${r.vm}; detach it first`, { details: { id: r.id, vm: r.vm } });
    if (st?.attachedTo && (await tx.get(keys.alive(r.host))) !== undefined) throw PlasmavmcErrors.InUse(`volume ${r.id} is still detaching from vm ${st.attachedTo}; retry when it is AVAILABLE`, { details: { id: r.id, vm: st.attachedTo } });
    await s.charge(tx, r.project, { volumes: -1, gigabytes: -r.sizeGiB });
    tx.delete(keys.doc("volumes", r.id));
    tx.delete(keys.volumeStatus(r.id));
    tx.delete(keys.volumeName(r.project, r.name));
  });
  return {};
}
