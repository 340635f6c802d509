/**
 * Keys, values and 64-bit integers as the client takes and gives them. Keys and values are
 * accepted as strings (encoded UTF-8) or bytes; int64 ids (leases, members) are exact bigints,
 * revisions and counts plain numbers (they stay far below 2^53).
 */
import Long from "long";
import { EtcdErrors } from "./errors.ts";

/** A key or value: a string (UTF-8) or raw bytes. */
export type Bytes = string | Uint8Array;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const EMPTY = new Uint8Array(0);

/** The bytes of a key or value (strings are encoded UTF-8; bytes are passed through, not copied). */
export function toBytes(v: Bytes): Uint8Array {
  if (typeof v === "string") return encoder.encode(v);
  if (v instanceof Uint8Array) return v;
  throw EtcdErrors.InvalidArgument(`expected a string or Uint8Array, got ${typeof v}`);
}

/** A non-empty key's bytes; throws `ETCD:InvalidArgument` for an empty key (etcd refuses them). */
export function keyBytes(key: Bytes): Uint8Array {
  const b = toBytes(key);
  if (b.length === 0) throw EtcdErrors.InvalidArgument("the key must not be empty");
  return b;
}

/** UTF-8 text of bytes (invalid sequences decode to U+FFFD). */
export function toText(b: Uint8Array): string {
  return decoder.decode(b);
}

/**
 * The range end that selects every key starting with `prefix`: the prefix with its last byte
 * below 0xff incremented and the rest dropped; `\0` (every key) when the prefix is empty or all 0xff.
 */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const b = prefix[i] as number;
    if (b < 0xff) {
      const end = prefix.slice(0, i + 1);
      end[i] = b + 1;
      return end;
    }
  }
  return Uint8Array.of(0);
}

/** The smallest key after `key` (`key` + `\0`). */
export function keyAfter(key: Uint8Array): Uint8Array {
  const out = new Uint8Array(key.length + 1);
  out.set(key);
  return out;
}

/** An int64 as protobufjs decodes it. */
export type WireInt64 = Long | number | string | null | undefined;

/** An int64 field as a number (revisions, versions, counts, TTLs). */
export function int64ToNumber(v: WireInt64): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === "number") return v;
  if (typeof v === "string") return Number(v);
  return v.toNumber();
}

/** An int64/uint64 field as an exact bigint (lease and member ids use all 64 bits). */
export function int64ToBigint(v: WireInt64): bigint {
  if (v === undefined || v === null) return 0n;
  if (typeof v === "number") return BigInt(v);
  if (typeof v === "string") return BigInt(v);
  return BigInt(v.toString());
}

/**
 * A bigint id for an int64 field. protobufjs silently encodes a bigint as 0, so it goes as a
 * `Long`; throws `ETCD:InvalidArgument` outside the int64 range.
 */
export function bigintToWire(v: bigint): Long {
  if (v < -(2n ** 63n) || v >= 2n ** 64n) throw EtcdErrors.InvalidArgument(`id ${v} does not fit in 64 bits`);
  return Long.fromString(v.toString(), v >= 2n ** 63n, 10);
}

/** An empty byte string. */
export { EMPTY };
