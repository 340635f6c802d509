/**
 * plasmavmc's state: JSON documents under `/photon/plasmavmc/` in a lib/docstore `DocStore`
 * (optimistic transactions; claims for everything unique — the same model as novanet's).
 *
 * Key layout (docs/adr/0015-plasmavmc-control-plane.md):
 * - `flavors/<id>`, `images/<id>`, `vms/<id>`: the resources (desired state of a VM included);
 * - `status/<vm>`: what the VM's host agent observed (written by the agent only);
 * - `console/<vm>`: the tail of its serial console log (the agent, when it changes);
 * - `names/<project>/<name>`: VM name claims (unique per project);
 * - `usage/<project>`, `quotas/<project>`: quota usage (read and rewritten in every transaction
 *   that changes it, so concurrent creates cannot both pass) and per-project limits;
 * - `hosts/<name>`: a host's capacity; `alive/<name>`: its heartbeat, attached to a lease;
 * - `alloc/<host>`: vCPUs and memory placed on a host (rewritten by every placement on it);
 * - `volumes/<id>`, `snapshots/<id>`: volumes and their snapshots (desired: size, source, the VM
 *   a volume is attached to); `volnames/<project>/<name>`, `snapnames/<project>/<name>`: name claims;
 * - `volstatus/<volume>`: what the volume's host agent observed (files ready, attached to, snapshots made).
 */
import type { DocChange, DocStore, DocTx } from "../../lib/docstore/index.ts";

/** The common prefix of every key. */
export const PLASMAVMC_PREFIX = "/photon/plasmavmc/";

/** Key builders. */
export const keys = {
  doc: (kind: "flavors" | "images" | "vms" | "volumes" | "snapshots", id: string) => `${PLASMAVMC_PREFIX}${kind}/${id}`,
  kind: (kind: "flavors" | "images" | "vms" | "status" | "hosts" | "alive" | "alloc" | "volumes" | "snapshots" | "volstatus") => `${PLASMAVMC_PREFIX}${kind}/`,
  volumeName: (project: string, name: string) => `${PLASMAVMC_PREFIX}volnames/${project}/${name}`,
  snapshotName: (project: string, name: string) => `${PLASMAVMC_PREFIX}snapnames/${project}/${name}`,
  volumeStatus: (volume: string) => `${PLASMAVMC_PREFIX}volstatus/${volume}`,
  status: (vm: string) => `${PLASMAVMC_PREFIX}status/${vm}`,
  console: (vm: string) => `${PLASMAVMC_PREFIX}console/${vm}`,
  name: (project: string, name: string) => `${PLASMAVMC_PREFIX}names/${project}/${name}`,
  usage: (project: string) => `${PLASMAVMC_PREFIX}usage/${project}`,
  quota: (project: string) => `${PLASMAVMC_PREFIX}quotas/${project}`,
  host: (name: string) => `${PLASMAVMC_PREFIX}hosts/${name}`,
  alive: (name: string) => `${PLASMAVMC_PREFIX}alive/${name}`,
  alloc: (host: string) => `${PLASMAVMC_PREFIX}alloc/${host}`,
};

/** One optimistic transaction (lib/docstore). */
export type StoreTx = DocTx;
/** A change seen by a watch: the store's revision after it. */
export type StoreChange = DocChange;
/** plasmavmc's state: a lib/docstore document store under `PLASMAVMC_PREFIX`. */
export type PlasmavmcStore = DocStore;
