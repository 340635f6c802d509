/**
 * Placement: picks a live host with room for a VM's vCPUs and memory and reserves them, inside
 * the caller's transaction. Every live host's allocation document is read (recorded), so two
 * placements running at once conflict and one re-runs on the other's result: a host is never
 * over-filled. The host with the most free memory wins (spreads VMs; ties by name).
 */
import { keys, type StoreTx } from "../store.ts";
import type { Host, HostAlloc } from "../types.ts";

/** What a VM needs. */
export interface Demand {
  vcpus: number;
  memoryMiB: number;
}

/** The outcome: the host chosen, or why none was. */
export type Placement = { host: string; reason?: undefined } | { host?: undefined; reason: string };

/** Live hosts (their heartbeat key exists) with their capacity. */
export async function liveHosts(tx: StoreTx): Promise<Host[]> {
  const alive = new Set((await tx.list<unknown>(keys.kind("alive"))).map((d) => d.key.slice(keys.kind("alive").length)));
  return (await tx.list<Host>(keys.kind("hosts"))).map((d) => d.value).filter((h) => alive.has(h.name)).sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Chooses and reserves a host for `need` in `tx`.
 * @returns `{host}` (the reservation is written at commit) or `{reason}` ("no host has room ...").
 */
export async function place(tx: StoreTx, need: Demand): Promise<Placement> {
  const hosts = await liveHosts(tx);
  if (hosts.length === 0) return { reason: "no host has room: no plasmavmc host agent is alive" };
  let best: { host: Host; alloc: HostAlloc; free: number } | undefined;
  for (const h of hosts) {
    const alloc = (await tx.get<HostAlloc>(keys.alloc(h.name))) ?? { vcpus: 0, memoryMiB: 0 };
    const freeCpu = h.vcpus - alloc.vcpus;
    const freeMem = h.memoryMiB - alloc.memoryMiB;
    if (freeCpu >= need.vcpus && freeMem >= need.memoryMiB && (!best || freeMem > best.free)) best = { host: h, alloc, free: freeMem };
  }
  if (!best) return { reason: `no host has room for ${need.vcpus} vCPU and ${need.memoryMiB} MiB (${hosts.length} host${hosts.length === 1 ? "" : "s"} alive)` };
  tx.put(keys.alloc(best.host.name), { vcpus: best.alloc.vcpus + need.vcpus, memoryMiB: best.alloc.memoryMiB + need.memoryMiB });
  return { host: best.host.name };
}

/** Gives back what a VM reserved on `host` (in `tx`). */
export async function release(tx: StoreTx, host: string, need: Demand): Promise<void> {
  const alloc = (await tx.get<HostAlloc>(keys.alloc(host))) ?? { vcpus: 0, memoryMiB: 0 };
  tx.put(keys.alloc(host), { vcpus: Math.max(0, alloc.vcpus - need.vcpus), memoryMiB: Math.max(0, alloc.memoryMiB - need.memoryMiB) });
}
