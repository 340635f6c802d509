/**
 * The etcd v3 messages as protobufjs hands them to us (camelCase fields, int64 as Long or number,
 * enums as numbers, bytes as Uint8Array) and conversions to and from chainfire's plain types.
 */
import type Long from "long";
import type { KvEvent } from "../mvcc/key-value.ts";
import type { SortOrder, SortTarget } from "../mvcc/mvcc-store.ts";
import type {
  Compare,
  CompareResult,
  CompareTarget,
  DeleteRangeRequest,
  PutRequest,
  RangeRequest,
  RequestOp,
  ResponseHeader,
  ResponseOp,
  TxnRequest,
} from "../types.ts";

/** An int64 as protobufjs may decode it. */
export type Int64 = Long | number | string | undefined | null;

/** A Long/number/string int64 as a JS number (int64 values chainfire uses fit in 2^53). */
export function num(v: Int64): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === "number") return v;
  if (typeof v === "string") return Number(v);
  return v.toNumber();
}

const empty = new Uint8Array(0);
const bytes = (b: Uint8Array | undefined | null): Uint8Array => b ?? empty;

/** Wire RangeRequest. */
export interface WireRangeRequest {
  key?: Uint8Array;
  rangeEnd?: Uint8Array;
  limit?: Int64;
  revision?: Int64;
  sortOrder?: number;
  sortTarget?: number;
  serializable?: boolean;
  keysOnly?: boolean;
  countOnly?: boolean;
  minModRevision?: Int64;
  maxModRevision?: Int64;
  minCreateRevision?: Int64;
  maxCreateRevision?: Int64;
}

const sortOrders: SortOrder[] = ["NONE", "ASCEND", "DESCEND"];
const sortTargets: SortTarget[] = ["KEY", "VERSION", "CREATE", "MOD", "VALUE"];
const compareResults: CompareResult[] = ["EQUAL", "GREATER", "LESS", "NOT_EQUAL"];
const compareTargets: CompareTarget[] = ["VERSION", "CREATE", "MOD", "VALUE", "LEASE"];

/** RangeRequest from the wire. */
export function rangeRequest(r: WireRangeRequest): RangeRequest {
  return {
    key: bytes(r.key),
    rangeEnd: bytes(r.rangeEnd),
    limit: num(r.limit),
    revision: num(r.revision),
    sortOrder: sortOrders[r.sortOrder ?? 0] ?? "NONE",
    sortTarget: sortTargets[r.sortTarget ?? 0] ?? "KEY",
    serializable: !!r.serializable,
    keysOnly: !!r.keysOnly,
    countOnly: !!r.countOnly,
    minModRevision: num(r.minModRevision),
    maxModRevision: num(r.maxModRevision),
    minCreateRevision: num(r.minCreateRevision),
    maxCreateRevision: num(r.maxCreateRevision),
  };
}

/** Wire PutRequest. */
export interface WirePutRequest {
  key?: Uint8Array;
  value?: Uint8Array;
  lease?: Int64;
  prevKv?: boolean;
  ignoreValue?: boolean;
  ignoreLease?: boolean;
}

/** PutRequest from the wire. */
export function putRequest(r: WirePutRequest): PutRequest {
  return {
    key: bytes(r.key),
    value: bytes(r.value),
    lease: num(r.lease),
    prevKv: !!r.prevKv,
    ignoreValue: !!r.ignoreValue,
    ignoreLease: !!r.ignoreLease,
  };
}

/** Wire DeleteRangeRequest. */
export interface WireDeleteRangeRequest {
  key?: Uint8Array;
  rangeEnd?: Uint8Array;
  prevKv?: boolean;
}

/** DeleteRangeRequest from the wire. */
export function deleteRangeRequest(r: WireDeleteRangeRequest): DeleteRangeRequest {
  return { key: bytes(r.key), rangeEnd: bytes(r.rangeEnd), prevKv: !!r.prevKv };
}

/** Wire Compare. */
export interface WireCompare {
  result?: number;
  target?: number;
  key?: Uint8Array;
  version?: Int64;
  createRevision?: Int64;
  modRevision?: Int64;
  value?: Uint8Array;
  lease?: Int64;
  rangeEnd?: Uint8Array;
}

/** Wire RequestOp. */
export interface WireRequestOp {
  requestRange?: WireRangeRequest | null;
  requestPut?: WirePutRequest | null;
  requestDeleteRange?: WireDeleteRangeRequest | null;
  requestTxn?: WireTxnRequest | null;
}

/** Wire TxnRequest. */
export interface WireTxnRequest {
  compare?: WireCompare[];
  success?: WireRequestOp[];
  failure?: WireRequestOp[];
}

function compare(c: WireCompare): Compare {
  return {
    result: compareResults[c.result ?? 0] ?? "EQUAL",
    target: compareTargets[c.target ?? 0] ?? "VERSION",
    key: bytes(c.key),
    rangeEnd: bytes(c.rangeEnd),
    version: num(c.version),
    createRevision: num(c.createRevision),
    modRevision: num(c.modRevision),
    value: bytes(c.value),
    lease: num(c.lease),
  };
}

function requestOp(op: WireRequestOp): RequestOp {
  if (op.requestRange) return { requestRange: rangeRequest(op.requestRange) };
  if (op.requestPut) return { requestPut: putRequest(op.requestPut) };
  if (op.requestDeleteRange) return { requestDeleteRange: deleteRangeRequest(op.requestDeleteRange) };
  if (op.requestTxn) return { requestTxn: txnRequest(op.requestTxn) };
  // An empty RequestOp: etcd treats it as a range of the empty key, which its checks reject.
  return { requestRange: { key: empty } };
}

/** TxnRequest from the wire. */
export function txnRequest(r: WireTxnRequest): TxnRequest {
  return {
    compare: (r.compare ?? []).map(compare),
    success: (r.success ?? []).map(requestOp),
    failure: (r.failure ?? []).map(requestOp),
  };
}

/** Event for the wire (mvccpb.Event: type PUT=0, DELETE=1). */
export function wireEvent(e: KvEvent) {
  return { type: e.type === "DELETE" ? 1 : 0, kv: e.kv, ...(e.prevKv ? { prevKv: e.prevKv } : {}) };
}

/** ResponseOp for the wire. */
export function wireResponseOp(op: ResponseOp, header: ResponseHeader): Record<string, unknown> {
  if ("responseRange" in op) return { responseRange: { header, ...op.responseRange } };
  if ("responsePut" in op) return { responsePut: { header, ...op.responsePut } };
  if ("responseDeleteRange" in op) return { responseDeleteRange: { header, ...op.responseDeleteRange } };
  return { responseTxn: { header, succeeded: op.responseTxn.succeeded, responses: op.responseTxn.responses.map((r) => wireResponseOp(r, header)) } };
}
