/**
 * chainfire's requests and results in plain TypeScript (numbers for int64, Uint8Array for bytes),
 * shared by the API handlers, the state machine and the client. Field names follow the etcd v3
 * protos in lowerCamelCase; the API layer converts protobufjs messages to and from these.
 */
import type { KeyValue } from "./mvcc/key-value.ts";
import type { RangeQuery } from "./mvcc/mvcc-store.ts";

export type { KeyValue } from "./mvcc/key-value.ts";

/** etcd ResponseHeader. */
export interface ResponseHeader {
  clusterId: number;
  memberId: number;
  revision: number;
  raftTerm: number;
}

/** RangeRequest (plus serializable, which only the read path looks at). */
export interface RangeRequest extends RangeQuery {
  serializable?: boolean;
}

/** RangeResponse without its header. */
export interface RangeResult {
  kvs: KeyValue[];
  count: number;
  more: boolean;
}

/** PutRequest. */
export interface PutRequest {
  key: Uint8Array;
  value: Uint8Array;
  lease?: number;
  prevKv?: boolean;
  ignoreValue?: boolean;
  ignoreLease?: boolean;
}

/** PutResponse without its header. */
export interface PutResult {
  prevKv?: KeyValue;
}

/** DeleteRangeRequest. */
export interface DeleteRangeRequest {
  key: Uint8Array;
  rangeEnd?: Uint8Array;
  prevKv?: boolean;
}

/** DeleteRangeResponse without its header. */
export interface DeleteRangeResult {
  deleted: number;
  prevKvs: KeyValue[];
}

/** Compare.CompareResult. */
export type CompareResult = "EQUAL" | "GREATER" | "LESS" | "NOT_EQUAL";
/** Compare.CompareTarget. */
export type CompareTarget = "VERSION" | "CREATE" | "MOD" | "VALUE" | "LEASE";

/** Compare: one condition of a transaction. */
export interface Compare {
  result: CompareResult;
  target: CompareTarget;
  key: Uint8Array;
  rangeEnd?: Uint8Array;
  /** The operand for `target` (a number, or bytes for VALUE). */
  version?: number;
  createRevision?: number;
  modRevision?: number;
  value?: Uint8Array;
  lease?: number;
}

/** RequestOp: one operation of a transaction branch. */
export type RequestOp =
  | { requestRange: RangeRequest }
  | { requestPut: PutRequest }
  | { requestDeleteRange: DeleteRangeRequest }
  | { requestTxn: TxnRequest };

/** TxnRequest. */
export interface TxnRequest {
  compare: Compare[];
  success: RequestOp[];
  failure: RequestOp[];
}

/** ResponseOp: the result of one RequestOp. */
export type ResponseOp =
  | { responseRange: RangeResult }
  | { responsePut: PutResult }
  | { responseDeleteRange: DeleteRangeResult }
  | { responseTxn: TxnResult };

/** TxnResponse without its header. */
export interface TxnResult {
  succeeded: boolean;
  responses: ResponseOp[];
}

/**
 * A replicated command: what the log carries and the state machine applies. Leases are granted
 * with their id chosen before proposing so every replica applies the same thing.
 */
export type Command =
  | { put: PutRequest }
  | { deleteRange: DeleteRangeRequest }
  | { txn: TxnRequest }
  | { compaction: { revision: number } }
  | { leaseGrant: { id: number; ttl: number } }
  | { leaseRevoke: { id: number } }
  | { alarm: { action: "ACTIVATE" | "DEACTIVATE"; alarm: "NOSPACE" | "CORRUPT" | "NONE"; memberId: number } }
  | { init: { clusterId: number } }
  | { memberAttrs: MemberAttrs }
  | { memberRemove: { id: number } };

/** What the cluster knows of a member beyond its Raft id (kept in the replicated state). */
export interface MemberAttrs {
  id: number;
  name: string;
  peerUrls: string[];
  clientUrls: string[];
  /** Added as a voter: stays a learner only until it has caught up (then promoted). */
  wantsVote?: boolean;
}

/** The result of applying a Command (the response body; the header is added by the API). */
export type CommandResult =
  | PutResult
  | DeleteRangeResult
  | TxnResult
  | { compacted: true }
  | { leaseId: number; ttl: number }
  | { revoked: true }
  | { alarms: { memberId: number; alarm: string }[] }
  | { done: true };
