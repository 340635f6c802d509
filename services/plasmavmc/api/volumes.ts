/** Volume and snapshot operations. */
import { createSnapshot, deleteSnapshot, getSnapshot, listSnapshots } from "../service-snapshot.ts";
import { attachVolume, detachVolume } from "../service-volume-attach.ts";
import { createVolume, deleteVolume, getVolume, listVolumes, type CreateVolumeInput } from "../service-volume.ts";
import { op, type PlasmavmcOperation } from "./operation.ts";

const id = { id: "string" } as const;

export const volumeOperations: PlasmavmcOperation[] = [
  op<CreateVolumeInput>({ name: "CreateVolume", method: "POST", path: "/v1/volumes", auth: true, response: "Volume", summary: "Create a qcow2 volume (empty, or from a disk image or a snapshot); answers CREATING", fields: { project: "string", name: "string", sizeGiB: "integer", image: "string", snapshot: "string" }, required: ["name"], run: (s, c, i) => createVolume(s, c, i) }),
  op<{ project?: string }>({ name: "ListVolumes", method: "GET", path: "/v1/volumes", auth: true, response: "VolumeList", summary: "The project's volumes", fields: { project: "string" }, run: (s, c, i) => listVolumes(s, c, i) }),
  op<{ id: string }>({ name: "GetVolume", method: "GET", path: "/v1/volumes/:id", auth: true, response: "Volume", summary: "One volume", fields: id, required: ["id"], run: (s, c, i) => getVolume(s, c, i) }),
  op<{ id: string }>({ name: "DeleteVolume", method: "DELETE", path: "/v1/volumes/:id", auth: true, response: "Empty", summary: "Delete a volume that is not attached and has no snapshots", fields: id, required: ["id"], run: (s, c, i) => deleteVolume(s, c, i) }),
  op<{ id: string; vm: string }>({ name: "AttachVolume", method: "POST", path: "/v1/volumes/:id/attach", auth: true, response: "Volume", summary: "Attach a volume to a VM of its host as virtio-blk (hot-plugged on q35; microvm only while stopped)", fields: { id: "string", vm: "string" }, required: ["id", "vm"], run: (s, c, i) => attachVolume(s, c, i) }),
  op<{ id: string }>({ name: "DetachVolume", method: "POST", path: "/v1/volumes/:id/detach", auth: true, response: "Volume", summary: "Detach a volume from its VM (DETACHING until the guest released it)", fields: id, required: ["id"], run: (s, c, i) => detachVolume(s, c, i) }),
  op<{ id: string; name: string }>({ name: "CreateSnapshot", method: "POST", path: "/v1/volumes/:id/snapshots", auth: true, response: "Snapshot", summary: "Snapshot a volume (its current qcow2 file becomes a read-only backing file)", fields: { id: "string", name: "string" }, required: ["id", "name"], run: (s, c, i) => createSnapshot(s, c, i) }),
  op<{ project?: string; volume?: string }>({ name: "ListSnapshots", method: "GET", path: "/v1/snapshots", auth: true, response: "SnapshotList", summary: "The project's snapshots (of one volume with volume=)", fields: { project: "string", volume: "string" }, run: (s, c, i) => listSnapshots(s, c, i) }),
  op<{ id: string }>({ name: "GetSnapshot", method: "GET", path: "/v1/snapshots/:id", auth: true, response: "Snapshot", summary: "One snapshot", fields: id, required: ["id"], run: (s, c, i) => getSnapshot(s, c, i) }),
  op<{ id: string }>({ name: "DeleteSnapshot", method: "DELETE", path: "/v1/snapshots/:id", auth: true, response: "Empty", summary: "Delete a snapshot (merged into the next file of the chain)", fields: id, required: ["id"], run: (s, c, i) => deleteSnapshot(s, c, i) }),
];
