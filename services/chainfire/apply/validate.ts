/**
 * Checks run on requests before they are proposed (etcd's v3rpc/key.go checks), so a bad request
 * is refused without touching the log.
 */
import { etcdError } from "../errors.ts";
import { bytesId, compareBytes } from "../mvcc/encoding.ts";
import type { DeleteRangeRequest, PutRequest, RequestOp, TxnRequest } from "../types.ts";
import { MAX_TXN_OPS } from "./state-machine.ts";

/** etcd's default --max-request-bytes (1.5 MiB). */
export const MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;

/** PutRequest checks: a key, a size within the limit, no value/lease with ignore_value/ignore_lease. */
export function checkPut(r: PutRequest): void {
  if (r.key.length === 0) throw etcdError("EmptyKey");
  if (r.key.length + r.value.length > MAX_REQUEST_BYTES) throw etcdError("RequestTooLarge");
  if (r.ignoreValue && r.value.length !== 0) throw etcdError("ValueProvided");
  if (r.ignoreLease && (r.lease ?? 0) !== 0) throw etcdError("LeaseProvided");
}

/** DeleteRangeRequest checks. */
export function checkDeleteRange(r: DeleteRangeRequest): void {
  if (r.key.length === 0) throw etcdError("EmptyKey");
}

/** Range and compare keys must not be empty. */
export function checkKey(key: Uint8Array): void {
  if (key.length === 0) throw etcdError("EmptyKey");
}

/** TxnRequest checks: op counts, every op valid, no key written twice in one branch. */
export function checkTxn(r: TxnRequest): void {
  if (r.compare.length > MAX_TXN_OPS || r.success.length > MAX_TXN_OPS || r.failure.length > MAX_TXN_OPS) {
    throw etcdError("TooManyOps");
  }
  for (const c of r.compare) checkKey(c.key);
  if (txnBytes(r) > MAX_REQUEST_BYTES) throw etcdError("RequestTooLarge");
  for (const branch of [r.success, r.failure]) {
    for (const op of branch) checkOp(op);
    checkIntervals(branch);
  }
}

function checkOp(op: RequestOp): void {
  if ("requestRange" in op) checkKey(op.requestRange.key);
  else if ("requestPut" in op) checkPut(op.requestPut);
  else if ("requestDeleteRange" in op) checkDeleteRange(op.requestDeleteRange);
  else checkTxn(op.requestTxn);
}

/** Puts of one branch (nested txns included) must not repeat a key or fall in a deleted range. */
function checkIntervals(ops: RequestOp[]): void {
  const puts = new Set<string>();
  const putKeys: Uint8Array[] = [];
  const deletes: { start: Uint8Array; end: Uint8Array | undefined; single: boolean }[] = [];
  const walk = (list: RequestOp[]) => {
    for (const op of list) {
      if ("requestPut" in op) {
        const id = bytesId(op.requestPut.key);
        if (puts.has(id)) throw etcdError("DuplicateKey");
        puts.add(id);
        putKeys.push(op.requestPut.key);
      } else if ("requestDeleteRange" in op) {
        const d = op.requestDeleteRange;
        const end = d.rangeEnd && d.rangeEnd.length > 0 ? d.rangeEnd : undefined;
        const toEnd = end?.length === 1 && end[0] === 0;
        deletes.push({ start: d.key, end: toEnd ? undefined : end, single: !end });
      } else if ("requestTxn" in op) {
        // Only one branch of a nested txn runs: check each against this branch, not each other.
        const before = new Set(puts);
        walk(op.requestTxn.success);
        const afterSuccess = new Set(puts);
        puts.clear();
        for (const id of before) puts.add(id);
        walk(op.requestTxn.failure);
        for (const id of afterSuccess) puts.add(id);
      }
    }
  };
  walk(ops);
  for (const key of putKeys) {
    for (const d of deletes) {
      const hit = d.single
        ? compareBytes(key, d.start) === 0
        : compareBytes(key, d.start) >= 0 && (d.end === undefined || compareBytes(key, d.end) < 0);
      if (hit) throw etcdError("DuplicateKey");
    }
  }
}

/** Bytes of keys and values a transaction carries (an approximation of its encoded size). */
function txnBytes(r: TxnRequest): number {
  let n = 0;
  for (const c of r.compare) n += c.key.length + (c.value?.length ?? 0) + (c.rangeEnd?.length ?? 0);
  for (const op of [...r.success, ...r.failure]) {
    if ("requestPut" in op) n += op.requestPut.key.length + op.requestPut.value.length;
    else if ("requestTxn" in op) n += txnBytes(op.requestTxn);
    else if ("requestRange" in op) n += op.requestRange.key.length;
    else n += op.requestDeleteRange.key.length;
  }
  return n;
}
