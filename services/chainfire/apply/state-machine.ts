/**
 * chainfire's state machine: applies replicated Commands to the MVCC store and the lease table.
 * Deterministic: given the same store state and command, every replica computes the same result.
 * Results carry the revision the command was applied at (the response header's revision).
 */
import { etcdError } from "../errors.ts";
import type { Lessor } from "../lease/lessor.ts";
import type { MvccStore, WriteTxn } from "../mvcc/mvcc-store.ts";
import type {
  Command,
  CommandResult,
  DeleteRangeRequest,
  DeleteRangeResult,
  PutRequest,
  PutResult,
  RequestOp,
  ResponseOp,
  TxnRequest,
  TxnResult,
} from "../types.ts";
import { evaluateCompare } from "./compare.ts";

/** A lease attachment change, applied to the lessor only once its transaction succeeded. */
type Reattach = { key: Uint8Array; from: number; to: number };

/** Maximum operations in one transaction (etcd's --max-txn-ops default). */
export const MAX_TXN_OPS = 128;

/** Applies commands; one instance per replica. */
export class StateMachine {
  constructor(
    readonly store: MvccStore,
    readonly lessor: Lessor,
  ) {}

  /** Applies one command; returns its result and the store revision after it. */
  apply(cmd: Command): { result: CommandResult; revision: number } {
    const result = this.dispatch(cmd);
    return { result, revision: this.store.pendingRevision };
  }

  private dispatch(cmd: Command): CommandResult {
    if ("put" in cmd) return this.inTxn((t, re) => applyPut(t, cmd.put, this.lessor, re));
    if ("deleteRange" in cmd) return this.inTxn((t, re) => applyDeleteRange(t, cmd.deleteRange, re));
    if ("txn" in cmd) return this.inTxn((t, re) => applyTxn(t, cmd.txn, this.lessor, re));
    if ("compaction" in cmd) {
      this.store.compact(cmd.compaction.revision);
      return { compacted: true };
    }
    if ("leaseGrant" in cmd) {
      const lease = this.lessor.grant(cmd.leaseGrant.id, cmd.leaseGrant.ttl);
      return { leaseId: lease.id, ttl: lease.ttl };
    }
    if ("leaseRevoke" in cmd) {
      const id = cmd.leaseRevoke.id;
      if (!this.lessor.get(id)) throw etcdError("LeaseNotFound");
      const keys = this.lessor.keysOf(id);
      this.inTxn((t, re) => {
        for (const key of keys) for (const kv of t.deleteRange(key)) re.push({ key: kv.key, from: kv.lease, to: 0 });
        return { deleted: keys.length, prevKvs: [] };
      });
      this.lessor.remove(id);
      return { revoked: true };
    }
    if ("init" in cmd) {
      // The first command of a new cluster names it; later ones (a re-bootstrap) change nothing.
      if (!this.store.getMeta("cluster_id")) this.store.putMeta("cluster_id", String(cmd.init.clusterId));
      return { done: true };
    }
    if ("memberAttrs" in cmd) {
      this.store.putMeta(`member/${cmd.memberAttrs.id}`, JSON.stringify(cmd.memberAttrs));
      return { done: true };
    }
    if ("memberRemove" in cmd) {
      this.store.deleteMeta(`member/${cmd.memberRemove.id}`);
      return { done: true };
    }
    return { alarms: [] };
  }

  /** Runs `fn` as one store transaction, then applies its lease changes. */
  private inTxn<R>(fn: (t: WriteTxn, reattach: Reattach[]) => R): R {
    const reattach: Reattach[] = [];
    const result = this.store.write((t) => fn(t, reattach));
    for (const r of reattach) this.lessor.reattach(r.key, r.from, r.to);
    return result;
  }
}

/** Put with etcd's checks: lease exists, ignore_value / ignore_lease need the key. */
export function applyPut(t: WriteTxn, req: PutRequest, lessor: Lessor, reattach: Reattach[]): PutResult {
  let value = req.value;
  let lease = req.lease ?? 0;
  const needPrev = req.prevKv || req.ignoreValue || req.ignoreLease;
  const prev = needPrev ? t.get(req.key) : undefined;
  if (req.ignoreValue || req.ignoreLease) {
    if (!prev) throw etcdError("KeyNotFound");
    if (req.ignoreValue) value = prev.value;
    if (req.ignoreLease) lease = prev.lease;
  }
  if (lease !== 0 && !lessor.get(lease)) throw etcdError("LeaseNotFound");
  const r = t.put(req.key, value, lease);
  reattach.push({ key: r.kv.key, from: r.prev?.lease ?? 0, to: lease });
  return req.prevKv && r.prev ? { prevKv: r.prev } : {};
}

/** DeleteRange; prev_kv returns the deleted pairs. */
export function applyDeleteRange(t: WriteTxn, req: DeleteRangeRequest, reattach: Reattach[]): DeleteRangeResult {
  const deleted = t.deleteRange(req.key, req.rangeEnd);
  for (const kv of deleted) if (kv.lease) reattach.push({ key: kv.key, from: kv.lease, to: 0 });
  return { deleted: deleted.length, prevKvs: req.prevKv ? deleted : [] };
}

/** Txn: compares against the state before the txn, then the chosen branch in order. */
export function applyTxn(t: WriteTxn, req: TxnRequest, lessor: Lessor, reattach: Reattach[]): TxnResult {
  const succeeded = req.compare.every((c) => evaluateCompare(t, c));
  const ops = succeeded ? req.success : req.failure;
  const responses: ResponseOp[] = ops.map((op) => applyOp(t, op, lessor, reattach));
  return { succeeded, responses };
}

function applyOp(t: WriteTxn, op: RequestOp, lessor: Lessor, reattach: Reattach[]): ResponseOp {
  if ("requestRange" in op) return { responseRange: t.range(op.requestRange) };
  if ("requestPut" in op) return { responsePut: applyPut(t, op.requestPut, lessor, reattach) };
  if ("requestDeleteRange" in op) return { responseDeleteRange: applyDeleteRange(t, op.requestDeleteRange, reattach) };
  return { responseTxn: applyTxn(t, op.requestTxn, lessor, reattach) };
}
