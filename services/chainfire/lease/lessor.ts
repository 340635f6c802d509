/**
 * Leases: granted and revoked through the replicated log (so every replica agrees which exist
 * and which keys they hold), kept alive and expired by the leader's clock (like etcd, a
 * restarted or new leader gives every lease its full TTL again).
 */
import { etcdError } from "../errors.ts";
import { bytesId, idBytes } from "../mvcc/encoding.ts";
import type { MvccStore } from "../mvcc/mvcc-store.ts";

/** Smallest TTL granted (etcd: 1.5 election timeouts of 1 s, rounded up). */
export const MIN_TTL_SECONDS = 2;
/** Largest TTL accepted (etcd's MaxLeaseTTL). */
export const MAX_TTL_SECONDS = 9_000_000_000;

/** One lease. */
export interface Lease {
  id: number;
  /** TTL granted, in seconds. */
  ttl: number;
  /** When it expires on this node's clock (ms since epoch). */
  expiresAt: number;
  /** Ids (bytesId) of the keys attached to it. */
  keys: Set<string>;
}

const metaKey = (id: number) => `lease/${id}`;

/** The lease table of one replica. */
export class Lessor {
  private readonly leases = new Map<number, Lease>();

  constructor(
    private readonly store: MvccStore,
    private readonly now: () => number = Date.now,
  ) {}

  /** Rebuilds the table from the store: lease records and the keys that name them. */
  load(): void {
    this.leases.clear();
    for (const [name, raw] of this.store.scanMeta("lease/")) {
      const id = Number(name.slice("lease/".length));
      const { ttl } = JSON.parse(raw) as { ttl: number };
      this.leases.set(id, { id, ttl, expiresAt: this.now() + ttl * 1000, keys: new Set() });
    }
    for (const { key, lease } of this.store.leasedKeys()) this.leases.get(lease)?.keys.add(bytesId(key));
  }

  /** The ids of every lease. */
  ids(): number[] {
    return [...this.leases.keys()];
  }

  /** Looks a lease up. */
  get(id: number): Lease | undefined {
    return this.leases.get(id);
  }

  /** Validates a TTL for a grant request (before proposing). */
  static checkTtl(ttl: number): number {
    if (ttl > MAX_TTL_SECONDS) throw etcdError("LeaseTTLTooLarge");
    return Math.max(ttl, MIN_TTL_SECONDS);
  }

  /** Applies a grant (through the log). Throws LeaseExist for a taken id. */
  grant(id: number, ttl: number): Lease {
    if (this.leases.has(id)) throw etcdError("LeaseExist");
    const lease: Lease = { id, ttl, expiresAt: this.now() + ttl * 1000, keys: new Set() };
    this.store.putMeta(metaKey(id), JSON.stringify({ ttl }));
    this.leases.set(id, lease);
    return lease;
  }

  /** Forgets a revoked lease (its keys are deleted by the caller in the same transaction). */
  remove(id: number): void {
    if (!this.leases.delete(id)) return;
    this.store.deleteMeta(metaKey(id));
  }

  /** The keys attached to a lease. */
  keysOf(id: number): Uint8Array[] {
    return [...(this.leases.get(id)?.keys ?? [])].map(idBytes);
  }

  /** Records that `key` moved from lease `from` to lease `to` (0 = none). */
  reattach(key: Uint8Array, from: number, to: number): void {
    if (from === to) return;
    const id = bytesId(key);
    if (from) this.leases.get(from)?.keys.delete(id);
    if (to) this.leases.get(to)?.keys.add(id);
  }

  /** Extends a lease to a full TTL from now; returns the TTL, or throws LeaseNotFound. */
  renew(id: number): number {
    const lease = this.leases.get(id);
    if (!lease) throw etcdError("LeaseNotFound");
    lease.expiresAt = this.now() + lease.ttl * 1000;
    return lease.ttl;
  }

  /** Seconds left (rounded down, at least -1 when expired but not yet revoked). */
  remaining(id: number): number {
    const lease = this.leases.get(id);
    if (!lease) return -1;
    return Math.max(Math.floor((lease.expiresAt - this.now()) / 1000), 0);
  }

  /** Leases whose time is up. */
  expired(): number[] {
    const t = this.now();
    return [...this.leases.values()].filter((l) => l.expiresAt <= t).map((l) => l.id);
  }

  /** Gives every lease a full TTL from now (a new leader does this). */
  refreshAll(): void {
    const t = this.now();
    for (const l of this.leases.values()) l.expiresAt = t + l.ttl * 1000;
  }
}
