/**
 * The KV requests and results shared by single calls and transactions: building etcd's
 * RangeRequest/PutRequest/DeleteRangeRequest from friendly options, and turning the responses
 * into typed results.
 */
import { bigintToWire, EMPTY, int64ToNumber, keyBytes, prefixEnd, toBytes, type Bytes, type WireInt64 } from "./bytes.ts";
import { EtcdErrors } from "./errors.ts";
import { KeyValue, optionalKv, toHeader, type ResponseHeader, type WireHeader, type WireKeyValue } from "./key-value.ts";

/** What a range is ordered by. */
export type SortTarget = "KEY" | "VERSION" | "CREATE" | "MOD" | "VALUE";
/** Order of a range; NONE is key order (etcd's default). */
export type SortOrder = "NONE" | "ASCEND" | "DESCEND";

const sortTargets: Record<SortTarget, number> = { KEY: 0, VERSION: 1, CREATE: 2, MOD: 3, VALUE: 4 };
const sortOrders: Record<SortOrder, number> = { NONE: 0, ASCEND: 1, DESCEND: 2 };

/** Options of a read (`get`, `getRange`, `getPrefix`, `Op.get`). */
export interface RangeOptions {
  /** At most this many keys (0 = no limit); `more` says whether keys were left out. */
  limit?: number;
  /** Read at this past revision (0 = the current one); `ETCD:Compacted` below the compact revision. */
  revision?: number;
  /** Ordering of the result. Default: by key, ascending. */
  sort?: { target?: SortTarget; order?: SortOrder };
  /** Only keys and metadata, no values. */
  keysOnly?: boolean;
  /** Only the count: `kvs` is empty. */
  countOnly?: boolean;
  /** Served by the answering member without consensus: faster, possibly stale. */
  serializable?: boolean;
  /** Only keys whose mod revision is ≥ this (0 = no bound). */
  minModRevision?: number;
  /** Only keys whose mod revision is ≤ this. */
  maxModRevision?: number;
  /** Only keys whose create revision is ≥ this. */
  minCreateRevision?: number;
  /** Only keys whose create revision is ≤ this. */
  maxCreateRevision?: number;
}

/** The answer to a read. */
export interface RangeResult {
  header: ResponseHeader;
  /** The revision the read saw (the header's). */
  revision: number;
  kvs: KeyValue[];
  /** True when `limit` left keys out. */
  more: boolean;
  /** Number of keys in the range (ignoring `limit`). */
  count: number;
}

/** Options of a put. */
export interface PutOptions {
  /** Attach the key to this lease (it is deleted when the lease ends). */
  lease?: bigint;
  /** Return the previous key-value, if any. */
  prevKv?: boolean;
  /** Keep the current value (then `value` must be empty); `ETCD:KeyNotFound` when absent. */
  ignoreValue?: boolean;
  /** Keep the current lease; `ETCD:KeyNotFound` when the key is absent. */
  ignoreLease?: boolean;
}

/** The answer to a put. */
export interface PutResult {
  header: ResponseHeader;
  /** The revision of the write. */
  revision: number;
  /** The previous key-value, with `prevKv` and when it existed. */
  prevKv?: KeyValue;
}

/** Options of a delete. */
export interface DeleteOptions {
  /** Return the deleted key-values. */
  prevKv?: boolean;
}

/** The answer to a delete. */
export interface DeleteResult {
  header: ResponseHeader;
  /** The revision after the delete (unchanged when nothing was deleted). */
  revision: number;
  /** Number of keys deleted. */
  deleted: number;
  /** The deleted key-values, with `prevKv`. */
  prevKvs: KeyValue[];
}

/** A key range: one key (`end` undefined), `[key, end)`, or `end` = `\0` for every key ≥ key. */
export interface KeyRange {
  key: Uint8Array;
  end: Uint8Array;
}

/** One key. */
export function single(key: Bytes): KeyRange {
  return { key: keyBytes(key), end: EMPTY };
}

/** Every key starting with `prefix` (every key at all for an empty prefix). */
export function prefixRange(prefix: Bytes): KeyRange {
  const p = toBytes(prefix);
  return p.length === 0 ? { key: Uint8Array.of(0), end: Uint8Array.of(0) } : { key: p, end: prefixEnd(p) };
}

/** `[key, end)`. */
export function between(key: Bytes, end: Bytes): KeyRange {
  const k = keyBytes(key);
  const e = toBytes(end);
  if (e.length === 0) throw EtcdErrors.InvalidArgument("a range end must not be empty (use get for one key)");
  return { key: k, end: e };
}

const int = (name: string, v: number | undefined): number => {
  if (v === undefined) return 0;
  if (!Number.isSafeInteger(v) || v < 0) throw EtcdErrors.InvalidArgument(`${name} must be a non-negative integer, got ${v}`);
  return v;
};

/** etcdserverpb.RangeRequest for `range` and `o`. */
export function rangeRequest(range: KeyRange, o: RangeOptions = {}): Record<string, unknown> {
  return {
    key: range.key,
    rangeEnd: range.end,
    limit: int("limit", o.limit),
    revision: int("revision", o.revision),
    sortOrder: sortOrders[o.sort?.order ?? (o.sort?.target ? "ASCEND" : "NONE")],
    sortTarget: sortTargets[o.sort?.target ?? "KEY"],
    serializable: !!o.serializable,
    keysOnly: !!o.keysOnly,
    countOnly: !!o.countOnly,
    minModRevision: int("minModRevision", o.minModRevision),
    maxModRevision: int("maxModRevision", o.maxModRevision),
    minCreateRevision: int("minCreateRevision", o.minCreateRevision),
    maxCreateRevision: int("maxCreateRevision", o.maxCreateRevision),
  };
}

/** etcdserverpb.PutRequest. */
export function putRequest(key: Bytes, value: Bytes, o: PutOptions = {}): Record<string, unknown> {
  return {
    key: keyBytes(key),
    value: toBytes(value),
    ...(o.lease ? { lease: bigintToWire(o.lease) } : {}),
    prevKv: !!o.prevKv,
    ignoreValue: !!o.ignoreValue,
    ignoreLease: !!o.ignoreLease,
  };
}

/** etcdserverpb.DeleteRangeRequest. */
export function deleteRequest(range: KeyRange, o: DeleteOptions = {}): Record<string, unknown> {
  return { key: range.key, rangeEnd: range.end, prevKv: !!o.prevKv };
}

/** RangeResponse as decoded. */
export interface WireRangeResponse {
  header?: WireHeader | null;
  kvs?: WireKeyValue[];
  more?: boolean;
  count?: WireInt64;
}

/** PutResponse as decoded. */
export interface WirePutResponse {
  header?: WireHeader | null;
  prevKv?: WireKeyValue | null;
}

/** DeleteRangeResponse as decoded. */
export interface WireDeleteResponse {
  header?: WireHeader | null;
  deleted?: WireInt64;
  prevKvs?: WireKeyValue[];
}

/** A typed RangeResult. */
export function rangeResult(w: WireRangeResponse): RangeResult {
  const header = toHeader(w.header);
  return { header, revision: header.revision, kvs: (w.kvs ?? []).map((kv) => new KeyValue(kv)), more: !!w.more, count: int64ToNumber(w.count) };
}

/** A typed PutResult. */
export function putResult(w: WirePutResponse): PutResult {
  const header = toHeader(w.header);
  const prevKv = optionalKv(w.prevKv);
  return { header, revision: header.revision, ...(prevKv ? { prevKv } : {}) };
}

/** A typed DeleteResult. */
export function deleteResult(w: WireDeleteResponse): DeleteResult {
  const header = toHeader(w.header);
  return { header, revision: header.revision, deleted: int64ToNumber(w.deleted), prevKvs: (w.prevKvs ?? []).map((kv) => new KeyValue(kv)) };
}
