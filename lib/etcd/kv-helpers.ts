/**
 * The conditional writes services need most, each one transaction: create-if-absent,
 * compare-and-swap / compare-and-delete on a key's mod revision, and an optimistic
 * read-modify-write loop.
 */
import { keyBytes, toBytes, type Bytes } from "./bytes.ts";
import type { CallControl, Connection } from "./connection.ts";
import { EtcdErrors } from "./errors.ts";
import type { KeyValue } from "./key-value.ts";
import { single } from "./kv-ops.ts";
import { getOne } from "./kv.ts";
import { Compare, Op, Txn, type OpResult } from "./txn.ts";

/** Options of the conditional writes. */
export interface ConditionalPutOptions extends CallControl {
  /** Attach the written key to this lease. */
  lease?: bigint;
}

/** Writes `key` only if it does not exist; true if written, false if it already existed. */
export async function create(conn: Connection, key: Bytes, value: Bytes, options: ConditionalPutOptions = {}): Promise<boolean> {
  const r = await new Txn(conn)
    .if(Compare.createRevision(key, "=", 0))
    .then(Op.put(key, value, options.lease ? { lease: options.lease } : {}))
    .commit(options);
  return r.succeeded;
}

/**
 * Writes `key` only if its mod revision is still `expectedModRevision` (0: only if absent);
 * true if written.
 */
export async function compareAndSwap(conn: Connection, key: Bytes, expectedModRevision: number, value: Bytes, options: ConditionalPutOptions = {}): Promise<boolean> {
  const r = await new Txn(conn)
    .if(Compare.modRevision(key, "=", expectedModRevision))
    .then(Op.put(key, value, options.lease ? { lease: options.lease } : {}))
    .commit(options);
  return r.succeeded;
}

/** Deletes `key` only if its mod revision is still `expectedModRevision`; true if deleted. */
export async function compareAndDelete(conn: Connection, key: Bytes, expectedModRevision: number, options: CallControl = {}): Promise<boolean> {
  if (expectedModRevision <= 0) throw EtcdErrors.InvalidArgument("compareAndDelete needs the mod revision of an existing key");
  const r = await new Txn(conn).if(Compare.modRevision(key, "=", expectedModRevision)).then(Op.delete(key)).commit(options);
  return r.succeeded;
}

/**
 * What an update function returns: the new value, `null` to delete the key, or `undefined` to
 * leave it as it is (ending the loop without a write).
 */
export type UpdateDecision = Bytes | null | undefined;

/** Options of `updateWithRetry`. */
export interface UpdateOptions extends ConditionalPutOptions {
  /** Attempts before giving up with `ETCD:Conflict`. Default 10. */
  maxAttempts?: number;
}

/** The outcome of `updateWithRetry`. */
export interface UpdateResult {
  /** True when something was written (or deleted). */
  changed: boolean;
  /** The key after the update (undefined when absent or deleted); as read when unchanged. */
  kv: KeyValue | undefined;
  /** Revision of the write, or of the last read when unchanged. */
  revision: number;
  /** How many times `fn` ran. */
  attempts: number;
}

/**
 * Optimistic read-modify-write: reads `key`, calls `fn` with it (undefined when absent), and
 * writes the result only if the key's mod revision has not changed since the read; on a
 * conflict `fn` runs again with the newer value (the failed transaction returns it, so no
 * extra read). `fn` may run several times: keep it free of side effects. Throws
 * `ETCD:Conflict` after `maxAttempts` conflicts; errors thrown by `fn` propagate unchanged.
 * @example
 * await client.updateWithRetry("/photon/iam/counter", (kv) => String(Number(kv?.valueString ?? "0") + 1));
 */
export async function updateWithRetry(
  conn: Connection,
  key: Bytes,
  fn: (current: KeyValue | undefined) => UpdateDecision | Promise<UpdateDecision>,
  options: UpdateOptions = {},
): Promise<UpdateResult> {
  const k = keyBytes(key);
  const max = options.maxAttempts ?? 10;
  const control: CallControl = {
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  };
  let current = await getOne(conn, single(k), control);
  for (let attempt = 1; attempt <= max; attempt++) {
    const next = await fn(current);
    if (next === undefined) return { changed: false, kv: current, revision: current?.modRevision ?? 0, attempts: attempt };
    const write = next === null ? Op.delete(k) : Op.put(k, toBytes(next), options.lease ? { lease: options.lease } : {});
    const r = await new Txn(conn)
      .if(Compare.modRevision(k, "=", current?.modRevision ?? 0))
      .then(write, Op.get(k))
      .else(Op.get(k))
      .commit(control);
    const read = r.responses[r.succeeded ? 1 : 0] as Extract<OpResult, { type: "range" }>;
    if (r.succeeded) return { changed: true, kv: read.kvs[0], revision: r.revision, attempts: attempt };
    current = read.kvs[0];
    if (attempt < max) await Bun.sleep(Math.random() * Math.min(100, 5 * 2 ** attempt));
  }
  throw EtcdErrors.Conflict(`${JSON.stringify(new TextDecoder().decode(k))} changed concurrently ${max} times in a row`, { details: { attempts: max } });
}
