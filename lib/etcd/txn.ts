/**
 * Transactions: `if` compares, `then` operations when all hold, `else` operations otherwise,
 * applied atomically at one revision.
 * @example
 * const r = await client.txn()
 *   .if(Compare.modRevision("/a", "=", 7))
 *   .then(Op.put("/a", "new"))
 *   .else(Op.get("/a"))
 *   .commit();
 * if (!r.succeeded) console.log(r.responses[0]);
 */
import { bigintToWire, keyBytes, toBytes, type Bytes } from "./bytes.ts";
import type { CallControl, Connection } from "./connection.ts";
import { EtcdErrors } from "./errors.ts";
import { toHeader, type ResponseHeader, type WireHeader } from "./key-value.ts";
import {
  between,
  deleteRequest,
  deleteResult,
  prefixRange,
  putRequest,
  putResult,
  rangeRequest,
  rangeResult,
  single,
  type DeleteOptions,
  type DeleteResult,
  type PutOptions,
  type PutResult,
  type RangeOptions,
  type RangeResult,
  type WireDeleteResponse,
  type WirePutResponse,
  type WireRangeResponse,
} from "./kv-ops.ts";
import { kvService } from "./rpc.ts";

/** How a compare relates the key's field to the given operand. */
export type CompareOp = "=" | "!=" | ">" | "<";

const results: Record<CompareOp, number> = { "=": 0, ">": 1, "<": 2, "!=": 3 };

/** One condition of a transaction (an etcdserverpb.Compare). */
export interface Comparison {
  /** The wire message; build it with `Compare`. */
  readonly wire: Record<string, unknown>;
}

const revisionOperand = (name: string, v: number): number => {
  if (!Number.isSafeInteger(v) || v < 0) throw EtcdErrors.InvalidArgument(`${name} must be a non-negative integer, got ${v}`);
  return v;
};

/**
 * Builders of transaction conditions. A missing key compares as version, create and mod
 * revision 0 and lease 0; a `value` compare on a missing key is false whatever the operator.
 */
export const Compare = {
  /** The key's value against `value` (byte-wise). */
  value(key: Bytes, op: CompareOp, value: Bytes): Comparison {
    return { wire: { key: keyBytes(key), result: results[op], target: 3, value: toBytes(value) } };
  },
  /** The key's version (0 = absent). */
  version(key: Bytes, op: CompareOp, version: number): Comparison {
    return { wire: { key: keyBytes(key), result: results[op], target: 0, version: revisionOperand("version", version) } };
  },
  /** The key's create revision (0 = absent). */
  createRevision(key: Bytes, op: CompareOp, revision: number): Comparison {
    return { wire: { key: keyBytes(key), result: results[op], target: 1, createRevision: revisionOperand("createRevision", revision) } };
  },
  /** The key's mod revision (0 = absent). */
  modRevision(key: Bytes, op: CompareOp, revision: number): Comparison {
    return { wire: { key: keyBytes(key), result: results[op], target: 2, modRevision: revisionOperand("modRevision", revision) } };
  },
  /** The key's lease (0n = none or absent). */
  lease(key: Bytes, op: CompareOp, lease: bigint): Comparison {
    return { wire: { key: keyBytes(key), result: results[op], target: 4, lease: bigintToWire(lease) } };
  },
};

/** One operation of a transaction (an etcdserverpb.RequestOp). */
export interface Operation {
  /** The wire message; build it with `Op`. */
  readonly wire: Record<string, unknown>;
}

/** Builders of transaction operations. */
export const Op = {
  /** Reads one key. */
  get(key: Bytes, options?: RangeOptions): Operation {
    return { wire: { requestRange: rangeRequest(single(key), options) } };
  },
  /** Reads every key starting with `prefix`. */
  getPrefix(prefix: Bytes, options?: RangeOptions): Operation {
    return { wire: { requestRange: rangeRequest(prefixRange(prefix), options) } };
  },
  /** Reads `[key, end)`. */
  getRange(key: Bytes, end: Bytes, options?: RangeOptions): Operation {
    return { wire: { requestRange: rangeRequest(between(key, end), options) } };
  },
  /** Writes a key. */
  put(key: Bytes, value: Bytes, options?: PutOptions): Operation {
    return { wire: { requestPut: putRequest(key, value, options) } };
  },
  /** Deletes one key. */
  delete(key: Bytes, options?: DeleteOptions): Operation {
    return { wire: { requestDeleteRange: deleteRequest(single(key), options) } };
  },
  /** Deletes every key starting with `prefix`. */
  deletePrefix(prefix: Bytes, options?: DeleteOptions): Operation {
    return { wire: { requestDeleteRange: deleteRequest(prefixRange(prefix), options) } };
  },
  /** Deletes `[key, end)`. */
  deleteRange(key: Bytes, end: Bytes, options?: DeleteOptions): Operation {
    return { wire: { requestDeleteRange: deleteRequest(between(key, end), options) } };
  },
  /** A nested transaction (etcd ≥ 3.3). */
  txn(compares: Comparison[], then: Operation[], otherwise: Operation[] = []): Operation {
    return { wire: { requestTxn: txnRequest(compares, then, otherwise) } };
  },
};

/** The result of one operation, tagged by its kind. */
export type OpResult =
  | ({ type: "range" } & RangeResult)
  | ({ type: "put" } & PutResult)
  | ({ type: "delete" } & DeleteResult)
  | ({ type: "txn" } & TxnResult);

/** The answer to a transaction. */
export interface TxnResult {
  header: ResponseHeader;
  /** The revision after the transaction (a new one only if it wrote). */
  revision: number;
  /** True when every compare held and the `then` branch ran. */
  succeeded: boolean;
  /** One result per operation of the branch that ran, in order. */
  responses: OpResult[];
}

interface WireResponseOp {
  responseRange?: WireRangeResponse | null;
  responsePut?: WirePutResponse | null;
  responseDeleteRange?: WireDeleteResponse | null;
  responseTxn?: WireTxnResponse | null;
}

/** TxnResponse as decoded. */
export interface WireTxnResponse {
  header?: WireHeader | null;
  succeeded?: boolean;
  responses?: WireResponseOp[];
}

function txnRequest(compares: Comparison[], then: Operation[], otherwise: Operation[]): Record<string, unknown> {
  return { compare: compares.map((c) => c.wire), success: then.map((o) => o.wire), failure: otherwise.map((o) => o.wire) };
}

function opResult(w: WireResponseOp): OpResult {
  if (w.responseRange) return { type: "range", ...rangeResult(w.responseRange) };
  if (w.responsePut) return { type: "put", ...putResult(w.responsePut) };
  if (w.responseDeleteRange) return { type: "delete", ...deleteResult(w.responseDeleteRange) };
  if (w.responseTxn) return { type: "txn", ...txnResult(w.responseTxn) };
  throw EtcdErrors.Internal("the server sent an empty ResponseOp");
}

/** A typed TxnResult. */
export function txnResult(w: WireTxnResponse): TxnResult {
  const header = toHeader(w.header);
  return { header, revision: header.revision, succeeded: !!w.succeeded, responses: (w.responses ?? []).map(opResult) };
}

/**
 * A transaction being built: add compares with `if`, operations with `then`/`else`, send it
 * with `commit`. Each method may be called several times (they append). Transactions are sent
 * once: they are never retried after a connection failure mid-call.
 */
export class Txn {
  private readonly compares: Comparison[] = [];
  private readonly success: Operation[] = [];
  private readonly failure: Operation[] = [];

  /** Used by `EtcdClient.txn()`. */
  constructor(private readonly conn: Connection) {}

  /** Adds conditions (all must hold). */
  if(...compares: Comparison[]): this {
    this.compares.push(...compares);
    return this;
  }

  /** Adds operations run when every condition holds. */
  then(...ops: Operation[]): this {
    this.success.push(...ops);
    return this;
  }

  /** Adds operations run when a condition fails. */
  else(...ops: Operation[]): this {
    this.failure.push(...ops);
    return this;
  }

  /**
   * Sends the transaction. Rejects with `ETCD:*` errors, e.g. `ETCD:InvalidArgument` when two
   * operations of a branch write the same key, or `ETCD:Timeout` (outcome unknown).
   */
  async commit(control?: CallControl): Promise<TxnResult> {
    const w = await this.conn.unary<unknown, WireTxnResponse>(
      kvService.methods.Txn,
      txnRequest(this.compares, this.success, this.failure),
      isReadOnly(this.success) && isReadOnly(this.failure) ? "read" : "write",
      control,
    );
    return txnResult(w);
  }
}

function isReadOnly(ops: Operation[]): boolean {
  return ops.every((o) => {
    const w = o.wire as { requestRange?: unknown; requestTxn?: { success: Record<string, unknown>[]; failure: Record<string, unknown>[] } };
    if (w.requestRange) return true;
    if (w.requestTxn) return isReadOnly(w.requestTxn.success.map((x) => ({ wire: x }))) && isReadOnly(w.requestTxn.failure.map((x) => ({ wire: x })));
    return false;
  });
}
