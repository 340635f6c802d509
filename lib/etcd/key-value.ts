/**
 * What reads return: key-value pairs with their MVCC metadata, and the response header every
 * call carries. Bytes stay bytes; `keyString`/`valueString` decode UTF-8 on demand.
 */
import { EMPTY, int64ToBigint, int64ToNumber, toText, type WireInt64 } from "./bytes.ts";

/** mvccpb.KeyValue as protobufjs decodes it. */
export interface WireKeyValue {
  key?: Uint8Array;
  value?: Uint8Array;
  createRevision?: WireInt64;
  modRevision?: WireInt64;
  version?: WireInt64;
  lease?: WireInt64;
}

/** etcdserverpb.ResponseHeader as protobufjs decodes it. */
export interface WireHeader {
  clusterId?: WireInt64;
  memberId?: WireInt64;
  revision?: WireInt64;
  raftTerm?: WireInt64;
}

/** One key and its value at some revision. */
export class KeyValue {
  /** The key's bytes. */
  readonly key: Uint8Array;
  /** The value's bytes (empty with `keysOnly`). */
  readonly value: Uint8Array;
  /** Revision of the key's creation (since its last deletion). */
  readonly createRevision: number;
  /** Revision of the key's last modification. */
  readonly modRevision: number;
  /** Number of modifications since creation (1 after the first put). */
  readonly version: number;
  /** Lease attached to the key, 0n for none. */
  readonly lease: bigint;

  /** Builds one from a decoded mvccpb.KeyValue. */
  constructor(w: WireKeyValue) {
    this.key = asBytes(w.key);
    this.value = asBytes(w.value);
    this.createRevision = int64ToNumber(w.createRevision);
    this.modRevision = int64ToNumber(w.modRevision);
    this.version = int64ToNumber(w.version);
    this.lease = int64ToBigint(w.lease);
  }

  /** The key as UTF-8 text. */
  get keyString(): string {
    return toText(this.key);
  }

  /** The value as UTF-8 text. */
  get valueString(): string {
    return toText(this.value);
  }

  /** The value parsed as JSON; throws a SyntaxError when it is not JSON. */
  json<T = unknown>(): T {
    return JSON.parse(this.valueString) as T;
  }
}

/**
 * Bytes of a decoded `bytes` field. An unset field reads protobufjs's prototype default, which
 * is not always a Uint8Array (an empty array under Bun), hence the check.
 */
export function asBytes(v: Uint8Array | number[] | null | undefined): Uint8Array {
  if (v instanceof Uint8Array) return v;
  return v && v.length > 0 ? Uint8Array.from(v) : EMPTY;
}

/** The header of a response: which cluster and member answered, at which revision. */
export interface ResponseHeader {
  clusterId: bigint;
  memberId: bigint;
  /** The store's revision when the request was served (for writes: the revision they made). */
  revision: number;
  raftTerm: number;
}

/** Converts a decoded header (absent fields read as zero). */
export function toHeader(w: WireHeader | null | undefined): ResponseHeader {
  return {
    clusterId: int64ToBigint(w?.clusterId),
    memberId: int64ToBigint(w?.memberId),
    revision: int64ToNumber(w?.revision),
    raftTerm: int64ToNumber(w?.raftTerm),
  };
}

/** Converts a possibly absent decoded KeyValue. */
export function optionalKv(w: WireKeyValue | null | undefined): KeyValue | undefined {
  return w ? new KeyValue(w) : undefined;
}
