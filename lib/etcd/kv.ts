/**
 * The KV calls: reads, writes, deletes and compaction, each one unary call. Reads fail over to
 * the next endpoint on `ETCD:Unavailable`; writes only when the request provably never left.
 */
import type { Bytes } from "./bytes.ts";
import type { CallControl, Connection } from "./connection.ts";
import { EtcdErrors } from "./errors.ts";
import { toHeader, type KeyValue, type ResponseHeader, type WireHeader } from "./key-value.ts";
import {
  deleteRequest,
  deleteResult,
  putRequest,
  putResult,
  rangeRequest,
  rangeResult,
  type DeleteOptions,
  type DeleteResult,
  type KeyRange,
  type PutOptions,
  type PutResult,
  type RangeOptions,
  type RangeResult,
  type WireDeleteResponse,
  type WirePutResponse,
  type WireRangeResponse,
} from "./kv-ops.ts";
import { kvService } from "./rpc.ts";

/** Reads a range. */
export async function range(conn: Connection, r: KeyRange, options: RangeOptions & CallControl = {}): Promise<RangeResult> {
  const w = await conn.unary<unknown, WireRangeResponse>(kvService.methods.Range, rangeRequest(r, options), "read", options);
  return rangeResult(w);
}

/** Reads one key: its KeyValue, or undefined when absent. */
export async function getOne(conn: Connection, r: KeyRange, options: Omit<RangeOptions, "limit" | "countOnly" | "sort"> & CallControl = {}): Promise<KeyValue | undefined> {
  return (await range(conn, r, options)).kvs[0];
}

/** Writes a key. */
export async function put(conn: Connection, key: Bytes, value: Bytes, options: PutOptions & CallControl = {}): Promise<PutResult> {
  const w = await conn.unary<unknown, WirePutResponse>(kvService.methods.Put, putRequest(key, value, options), "write", options);
  return putResult(w);
}

/** Deletes a range. */
export async function deleteRange(conn: Connection, r: KeyRange, options: DeleteOptions & CallControl = {}): Promise<DeleteResult> {
  const w = await conn.unary<unknown, WireDeleteResponse>(kvService.methods.DeleteRange, deleteRequest(r, options), "write", options);
  return deleteResult(w);
}

/** Options of `compact`. */
export interface CompactOptions extends CallControl {
  /** Wait until the old revisions are physically removed. */
  physical?: boolean;
}

/**
 * Discards the history before `revision`: later reads and watches below it fail with
 * `ETCD:Compacted`. Rejects with `ETCD:Compacted` if it was already compacted past it and
 * `ETCD:FutureRevision` if it does not exist yet.
 */
export async function compact(conn: Connection, revision: number, options: CompactOptions = {}): Promise<{ header: ResponseHeader }> {
  if (!Number.isSafeInteger(revision) || revision <= 0) throw EtcdErrors.InvalidArgument(`revision must be a positive integer, got ${revision}`);
  const w = await conn.unary<unknown, { header?: WireHeader | null }>(kvService.methods.Compact, { revision, physical: !!options.physical }, "write", options);
  return { header: toHeader(w.header) };
}
