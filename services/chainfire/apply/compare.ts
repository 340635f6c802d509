/** Evaluation of transaction compares, exactly as etcd 3.4 (etcdserver/apply.go applyCompare). */
import { compareBytes } from "../mvcc/encoding.ts";
import type { ReadView } from "../mvcc/mvcc-store.ts";
import type { Compare, KeyValue } from "../types.ts";

const zero: KeyValue = { key: new Uint8Array(0), createRevision: 0, modRevision: 0, version: 0, value: new Uint8Array(0), lease: 0 };

function compareKv(c: Compare, kv: KeyValue): boolean {
  let r: number;
  switch (c.target) {
    case "VALUE":
      r = compareBytes(kv.value, c.value ?? new Uint8Array(0));
      break;
    case "VERSION":
      r = Math.sign(kv.version - (c.version ?? 0));
      break;
    case "CREATE":
      r = Math.sign(kv.createRevision - (c.createRevision ?? 0));
      break;
    case "MOD":
      r = Math.sign(kv.modRevision - (c.modRevision ?? 0));
      break;
    case "LEASE":
      r = Math.sign(kv.lease - (c.lease ?? 0));
      break;
  }
  switch (c.result) {
    case "EQUAL":
      return r === 0;
    case "NOT_EQUAL":
      return r !== 0;
    case "GREATER":
      return r > 0;
    case "LESS":
      return r < 0;
  }
}

/**
 * True when `c` holds in `view`: for a range, every key must satisfy it; a missing key compares
 * as a zero KeyValue, except that a VALUE compare on a missing key is false.
 */
export function evaluateCompare(view: ReadView, c: Compare): boolean {
  const { kvs } = view.range({ key: c.key, ...(c.rangeEnd ? { rangeEnd: c.rangeEnd } : {}) });
  if (kvs.length === 0) return c.target === "VALUE" ? false : compareKv(c, zero);
  return kvs.every((kv) => compareKv(c, kv));
}
