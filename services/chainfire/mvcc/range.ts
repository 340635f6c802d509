/**
 * etcd's range semantics shared by every read path: bounds from (key, range_end), then
 * filters, sort and limit applied in etcd 3.4's order (etcdserver/apply.go Range).
 */
import type { KeyValue } from "./key-value.ts";
import type { RangeQuery, RangeResult } from "./mvcc-store.ts";
import { compareBytes } from "./encoding.ts";

/** Resolved bounds: a single key, or [start, end) with end undefined meaning "to the last key". */
export type Bounds = { single: true; key: Uint8Array } | { single: false; start: Uint8Array; end: Uint8Array | undefined; empty: boolean };

/** Interprets key/range_end like etcd: empty end = single key, "\0" = to the end. */
export function bounds(q: RangeQuery): Bounds {
  const end = q.rangeEnd;
  if (!end || end.length === 0) return { single: true, key: q.key };
  if (end.length === 1 && end[0] === 0) return { single: false, start: q.key, end: undefined, empty: false };
  return { single: false, start: q.key, end, empty: compareBytes(q.key, end) >= 0 };
}

/** True when the query needs every key of the range before limiting (sort or filters). */
export function needsFullScan(q: RangeQuery): boolean {
  const sorted = (q.sortOrder ?? "NONE") !== "NONE" && !((q.sortTarget ?? "KEY") === "KEY" && q.sortOrder === "ASCEND");
  return sorted || !!q.minModRevision || !!q.maxModRevision || !!q.minCreateRevision || !!q.maxCreateRevision;
}

const targets: Record<string, (a: KeyValue, b: KeyValue) => number> = {
  KEY: (a, b) => compareBytes(a.key, b.key),
  VERSION: (a, b) => a.version - b.version,
  CREATE: (a, b) => a.createRevision - b.createRevision,
  MOD: (a, b) => a.modRevision - b.modRevision,
  VALUE: (a, b) => compareBytes(a.value, b.value),
};

/**
 * Applies filters, sort, limit, keys_only and count_only to `kvs` (in key order) whose range held
 * `count` keys in all. Without sort or filters, `kvs` needs only the first limit+1 keys.
 */
export function finishRange(kvs: KeyValue[], count: number, q: RangeQuery): RangeResult {
  if (q.countOnly) return { kvs: [], count, more: false };
  let out = kvs;
  if (q.minModRevision) out = out.filter((kv) => kv.modRevision >= q.minModRevision!);
  if (q.maxModRevision) out = out.filter((kv) => kv.modRevision <= q.maxModRevision!);
  if (q.minCreateRevision) out = out.filter((kv) => kv.createRevision >= q.minCreateRevision!);
  if (q.maxCreateRevision) out = out.filter((kv) => kv.createRevision <= q.maxCreateRevision!);
  const order = q.sortOrder ?? "NONE";
  const target = q.sortTarget ?? "KEY";
  if (order !== "NONE" && !(target === "KEY" && order === "ASCEND")) {
    const cmp = targets[target]!;
    // Stable sort keeps key order among equal targets, as etcd's sort.Stable does.
    out = [...out].sort(order === "DESCEND" ? (a, b) => cmp(b, a) : cmp);
  }
  let more = false;
  const limit = q.limit ?? 0;
  if (limit > 0 && out.length > limit) {
    out = out.slice(0, limit);
    more = true;
  }
  if (q.keysOnly) out = out.map((kv) => ({ ...kv, value: new Uint8Array(0) }));
  return { kvs: out, count, more };
}
