/**
 * A host's registration in chainfire: `hosts/<name>` (capacity, underlay address; permanent) and
 * `alive/<name>` attached to a lease the agent keeps alive. When the agent stops heartbeating
 * (killed, host down, partitioned) the lease expires, `alive/<name>` disappears, placement skips
 * the host and the API reports its VMs LOST. A restarted agent registers again.
 */
import type { EtcdClient } from "../../../lib/etcd/index.ts";
import { keys } from "../store.ts";
import type { Host } from "../types.ts";

/** A live registration. */
export interface HostRegistration {
  /** Resolves when the lease is lost (e.g. chainfire unreachable longer than the TTL). */
  readonly lost: Promise<unknown>;
  /** Stops heartbeating and deletes the alive key (a clean shutdown: VMs show LOST at once). */
  stop(options?: { keepAlive?: boolean }): Promise<void>;
}

/**
 * Registers `host` with a heartbeat lease of `ttlSeconds`.
 * @throws lib/etcd's errors when chainfire cannot be reached.
 */
export async function registerHost(etcd: EtcdClient, host: Omit<Host, "startedAt">, ttlSeconds = 10): Promise<HostRegistration> {
  const doc: Host = { ...host, startedAt: new Date().toISOString() };
  await etcd.put(keys.host(host.name), JSON.stringify(doc));
  const { id } = await etcd.grant(ttlSeconds);
  await etcd.put(keys.alive(host.name), JSON.stringify({ since: doc.startedAt }), { lease: id });
  const ka = await etcd.keepAlive(id);
  return {
    lost: ka.lost,
    stop: async (o = {}) => {
      ka.stop();
      if (!o.keepAlive) await etcd.revoke(id).catch(() => {});
    },
  };
}
