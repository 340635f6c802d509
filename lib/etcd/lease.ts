/**
 * Lease calls: grant, revoke, time-to-live and listing. Keys attached to a lease are deleted
 * when it is revoked or expires; keep it alive with `KeepAlive` (lease-keep-alive.ts).
 */
import { bigintToWire, int64ToBigint, int64ToNumber, type WireInt64 } from "./bytes.ts";
import type { CallControl, Connection } from "./connection.ts";
import { EtcdErrors } from "./errors.ts";
import { asBytes, toHeader, type ResponseHeader, type WireHeader } from "./key-value.ts";
import { leaseService } from "./rpc.ts";

/** A granted lease. */
export interface LeaseGrant {
  header: ResponseHeader;
  id: bigint;
  /** TTL granted in seconds (the server may raise a small TTL to its minimum, 2 s on etcd). */
  ttl: number;
}

/** Options of `grant`. */
export interface LeaseGrantOptions extends CallControl {
  /** Ask for this id (`ETCD:LeaseExists` if taken); default: the server picks one. */
  id?: bigint;
}

/** The state of a live lease. */
export interface LeaseStatus {
  header: ResponseHeader;
  id: bigint;
  /** Seconds left. */
  ttl: number;
  /** TTL it was granted with. */
  grantedTtl: number;
  /** Attached keys (only when asked for). */
  keys: Uint8Array[];
}

const checkId = (id: bigint) => {
  if (typeof id !== "bigint" || id <= 0n) throw EtcdErrors.InvalidArgument(`a lease id must be a positive bigint, got ${String(id)}`);
};

/** Grants a lease of `ttlSeconds`. Rejects with `ETCD:LeaseTtlTooLarge`, `ETCD:LeaseExists`. */
export async function grant(conn: Connection, ttlSeconds: number, options: LeaseGrantOptions = {}): Promise<LeaseGrant> {
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds <= 0) throw EtcdErrors.InvalidArgument(`ttl must be a positive number of seconds, got ${ttlSeconds}`);
  if (options.id !== undefined) checkId(options.id);
  const w = await conn.unary<unknown, { header?: WireHeader | null; ID?: WireInt64; TTL?: WireInt64; error?: string }>(
    leaseService.methods.LeaseGrant,
    { TTL: ttlSeconds, ...(options.id ? { ID: bigintToWire(options.id) } : {}) },
    "write",
    options,
  );
  if (w.error) throw EtcdErrors.Internal(`lease grant failed: ${w.error}`);
  return { header: toHeader(w.header), id: int64ToBigint(w.ID), ttl: int64ToNumber(w.TTL) };
}

/** Revokes a lease, deleting its keys. Rejects with `ETCD:LeaseNotFound` when it does not exist. */
export async function revoke(conn: Connection, id: bigint, control: CallControl = {}): Promise<{ header: ResponseHeader }> {
  checkId(id);
  const w = await conn.unary<unknown, { header?: WireHeader | null }>(leaseService.methods.LeaseRevoke, { ID: bigintToWire(id) }, "write", control);
  return { header: toHeader(w.header) };
}

/** Options of `timeToLive`. */
export interface TimeToLiveOptions extends CallControl {
  /** Also list the attached keys. */
  keys?: boolean;
}

/** A lease's remaining TTL, or undefined when it does not exist (expired or revoked). */
export async function timeToLive(conn: Connection, id: bigint, options: TimeToLiveOptions = {}): Promise<LeaseStatus | undefined> {
  checkId(id);
  const w = await conn.unary<unknown, { header?: WireHeader | null; ID?: WireInt64; TTL?: WireInt64; grantedTTL?: WireInt64; keys?: Uint8Array[] }>(
    leaseService.methods.LeaseTimeToLive,
    { ID: bigintToWire(id), keys: !!options.keys },
    "read",
    options,
  );
  const ttl = int64ToNumber(w.TTL);
  if (ttl < 0) return undefined;
  return { header: toHeader(w.header), id: int64ToBigint(w.ID), ttl, grantedTtl: int64ToNumber(w.grantedTTL), keys: (w.keys ?? []).map(asBytes) };
}

/** The ids of every live lease. */
export async function leases(conn: Connection, control: CallControl = {}): Promise<bigint[]> {
  const w = await conn.unary<unknown, { leases?: { ID?: WireInt64 }[] }>(leaseService.methods.LeaseLeases, {}, "read", control);
  return (w.leases ?? []).map((l) => int64ToBigint(l.ID));
}
