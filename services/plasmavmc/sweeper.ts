/**
 * The sweeper of interrupted creates. A VM create writes its record (placed on a host, room and
 * quota reserved) in one transaction, then creates or binds its ports in novanet, then records
 * them (`netReady`). An API server that dies between the first and the last step leaves a VM
 * that stays BUILDING forever, holding host room, with ports in novanet that nothing records.
 *
 * So the first transaction also writes a *pending create* (`pending/<vm>`: the project, the
 * caller's token and its expiry — the ports were made on the caller's behalf and only the
 * caller's token may delete them in novanet), and the last one deletes it. Every API replica
 * sweeps every `intervalMs`: a pending create older than the grace period is claimed in one
 * transaction (the VM goes to ERROR with the reason, its host room is released, the pending
 * entry is marked swept — a replica racing for the same one conflicts and then sees it swept),
 * then its ports are found in novanet by their owner (`vm:<id>`) and deleted (the ones it
 * created) or unbound (the caller's own), and the pending entry is removed. When that fails
 * (the token expired, novanet down), the swept entry stays and deleting the VM finds and
 * releases the ports with the deleting caller's token. A create that finishes late, after being
 * swept, finds its pending entry gone or swept and releases its ports itself (`finishCreate`).
 * The VM keeps its quota until it is deleted, like any VM in ERROR.
 */
import type { PhotonError } from "../../lib/errors.ts";
import { NovanetClient } from "../novanet/client.ts";
import { release } from "./scheduler/placement.ts";
import type { PlasmavmcService } from "./service.ts";
import { keys, PLASMAVMC_PREFIX } from "./store.ts";
import type { VmNic, VmRecord } from "./types.ts";

/** A create in progress (`/photon/plasmavmc/pending/<vm>`). */
export interface PendingCreate {
  vm: string;
  project: string;
  /** The caller's bearer token (its ports are deleted on its behalf) and when it expires (ms). */
  token: string;
  expiresAt: number;
  since: string;
  /** Set when a sweep claimed it: the VM is in ERROR; only its ports are left to release. */
  swept?: string;
}

/** The key of VM `vm`'s pending create. */
export const pendingKey = (vm: string): string => `${PLASMAVMC_PREFIX}pending/${vm}`;
const PENDING_PREFIX = `${PLASMAVMC_PREFIX}pending/`;

/**
 * The last step of a create: records `nics` and clears the pending entry, in one transaction.
 * @returns false when a sweep got there first (the VM is in ERROR; the caller releases `nics`).
 */
export async function finishCreate(s: PlasmavmcService, id: string, nics: VmNic[]): Promise<boolean> {
  return s.store.transact(async (tx) => {
    const p = await tx.get<PendingCreate>(pendingKey(id));
    const r = await tx.get<VmRecord>(keys.doc("vms", id));
    if (!p || p.swept || !r || r.error) return false;
    tx.delete(pendingKey(id));
    tx.put(keys.doc("vms", id), { ...r, nics, netReady: true });
    return true;
  });
}

/** What one sweep did. */
export interface SweepResult {
  /** VMs put in ERROR by this sweep. */
  failed: string[];
  /** Ports deleted or unbound. */
  ports: number;
  /** VMs whose ports could not be released (left for their delete). */
  leftForDelete: string[];
}

const reasonOf = (n: number) => `its create was interrupted (the API server handling it stopped before its ports were recorded); ${n} port${n === 1 ? "" : "s"} released; delete the VM`;

/**
 * Sweeps pending creates older than `graceMs` (see the file comment). Safe to run on every
 * replica at once.
 */
export async function sweepInterruptedCreates(s: PlasmavmcService, o: { graceMs: number; now?: number }): Promise<SweepResult> {
  const now = o.now ?? Date.now();
  const out: SweepResult = { failed: [], ports: 0, leftForDelete: [] };
  for (const { value: p } of await s.store.list<PendingCreate>(PENDING_PREFIX)) {
    if (p.swept || now - Date.parse(p.since) < o.graceMs) continue;
    const claimed = await s.store.transact(async (tx) => {
      const cur = await tx.get<PendingCreate>(pendingKey(p.vm));
      if (!cur || cur.swept) return undefined;
      const r = await tx.get<VmRecord>(keys.doc("vms", p.vm));
      if (r?.deleting) return undefined; // its delete releases the ports (it sees the pending entry)
      if (!r || r.netReady || r.error) {
        tx.delete(pendingKey(p.vm)); // finished or failed after all: nothing to do
        return undefined;
      }
      if (r.allocated && r.host) await release(tx, r.host, r);
      const { allocated: _a, ...rest } = r;
      tx.put(keys.doc("vms", r.id), { ...rest, error: reasonOf(0) });
      tx.put(pendingKey(p.vm), { ...cur, swept: new Date(now).toISOString() });
      return r;
    });
    if (!claimed) continue;
    out.failed.push(p.vm);
    s.log.warn("interrupted create swept", { vm: p.vm, project: p.project, since: p.since });
    try {
      if (p.expiresAt <= Date.now()) throw new Error("the creating caller's token has expired");
      const n = await releaseOwnedPorts(new NovanetClient(s.novanetUrl, p.token), claimed);
      out.ports += n;
      await s.store.transact(async (tx) => {
        tx.delete(pendingKey(p.vm));
        const r = await tx.get<VmRecord>(keys.doc("vms", p.vm));
        if (r?.error === reasonOf(0)) tx.put(keys.doc("vms", p.vm), { ...r, error: reasonOf(n) });
      });
    } catch (e) {
      out.leftForDelete.push(p.vm);
      s.log.warn("ports of an interrupted create left for its delete", { vm: p.vm, error: (e as Error).message, code: (e as PhotonError).code });
    }
  }
  return out;
}

/**
 * Finds the ports novanet has with owner `vm:<id>` in the VM's project and releases them: deletes
 * the ones plasmavmc created, unbinds the caller's own (`givenPorts`).
 * @returns how many were released.
 */
export async function releaseOwnedPorts(nn: NovanetClient, r: Pick<VmRecord, "id" | "project" | "givenPorts">): Promise<number> {
  const mine = (await nn.listPorts({ project: r.project })).items.filter((p) => p.deviceOwner === `vm:${r.id}`);
  for (const p of mine) {
    try {
      if ((r.givenPorts ?? []).includes(p.id)) await nn.updatePort({ id: p.id, host: "", deviceOwner: "" });
      else await nn.deletePort(p.id);
    } catch (e) {
      if ((e as PhotonError).code !== "NOVANET:NotFound") throw e;
    }
  }
  return mine.length;
}

/** A running sweeper. */
export interface CreateSweeper {
  stop(): Promise<void>;
}

/** Runs {@link sweepInterruptedCreates} every `intervalMs` (default: a quarter of the grace, 1–30 s) until stopped. */
export function startCreateSweeper(s: PlasmavmcService, o: { graceMs: number; intervalMs?: number }): CreateSweeper {
  const every = o.intervalMs ?? Math.min(30_000, Math.max(1000, Math.floor(o.graceMs / 4)));
  let busy: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    busy ??= sweepInterruptedCreates(s, { graceMs: o.graceMs })
      .catch((e) => s.log.warn("create sweep failed", { error: (e as Error).message }))
      .finally(() => (busy = undefined));
  }, every);
  return {
    stop: async () => {
      clearInterval(timer);
      await busy;
    },
  };
}
