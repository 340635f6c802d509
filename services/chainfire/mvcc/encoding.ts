/**
 * Byte encodings of the MVCC store's keys. Revisions are (main, sub): `main` numbers committed
 * write transactions, `sub` the changes inside one. Both are stored big-endian so byte order is
 * revision order: main as 8 bytes, sub as 4.
 *
 * - `kv`     userKey                      → KeyValue (protobuf, mvccpb.KeyValue): the latest value
 * - `hist`   escape(userKey) ‖ main ‖ sub → 1 byte: 0 put, 1 tombstone (the key's history)
 * - `events` main ‖ sub                   → mvccpb.Event (without prev_kv): the change log
 * - `meta`   name                         → store-wide counters
 */

/** Bytes of a revision suffix (main 8 + sub 4). */
export const REV_BYTES = 12;

/** Highest safe integer revision: revisions are JS numbers (2^53 writes is beyond any lifetime). */
export const MAX_REVISION = Number.MAX_SAFE_INTEGER;

/** Writes `n` (0 ≤ n < 2^53) big-endian into 8 bytes at `offset`. */
export function putU64(out: Uint8Array, offset: number, n: number): void {
  const hi = Math.floor(n / 0x1_0000_0000);
  const lo = n >>> 0;
  out[offset] = hi >>> 24;
  out[offset + 1] = (hi >>> 16) & 0xff;
  out[offset + 2] = (hi >>> 8) & 0xff;
  out[offset + 3] = hi & 0xff;
  out[offset + 4] = lo >>> 24;
  out[offset + 5] = (lo >>> 16) & 0xff;
  out[offset + 6] = (lo >>> 8) & 0xff;
  out[offset + 7] = lo & 0xff;
}

/** Reads a big-endian u64 written by putU64. */
export function getU64(b: Uint8Array, offset: number): number {
  const hi = ((b[offset]! << 24) | (b[offset + 1]! << 16) | (b[offset + 2]! << 8) | b[offset + 3]!) >>> 0;
  const lo = ((b[offset + 4]! << 24) | (b[offset + 5]! << 16) | (b[offset + 6]! << 8) | b[offset + 7]!) >>> 0;
  return hi * 0x1_0000_0000 + lo;
}

/** Writes a big-endian u32. */
function putU32(out: Uint8Array, offset: number, n: number): void {
  out[offset] = n >>> 24;
  out[offset + 1] = (n >>> 16) & 0xff;
  out[offset + 2] = (n >>> 8) & 0xff;
  out[offset + 3] = n & 0xff;
}

/** Reads a big-endian u32. */
function getU32(b: Uint8Array, offset: number): number {
  return ((b[offset]! << 24) | (b[offset + 1]! << 16) | (b[offset + 2]! << 8) | b[offset + 3]!) >>> 0;
}

/** The 12-byte key of revision (main, sub) in the `events` family. */
export function revKey(main: number, sub: number): Uint8Array {
  const out = new Uint8Array(REV_BYTES);
  putU64(out, 0, main);
  putU32(out, 8, sub);
  return out;
}

/** Decodes a revision key (or the revision suffix of a history key ending at `end`). */
export function decodeRev(b: Uint8Array, end = b.length): { main: number; sub: number } {
  return { main: getU64(b, end - REV_BYTES), sub: getU32(b, end - 4) };
}

/**
 * Order-preserving, prefix-free encoding of a user key for the `hist` family: 0x00 becomes
 * 0x00 0xff and the key ends with 0x00 0x01. Without it, the history of "a" and of "a\0..."
 * would interleave.
 */
export function escapeKey(userKey: Uint8Array, extra = 0): { out: Uint8Array; len: number } {
  let zeros = 0;
  for (let i = 0; i < userKey.length; i++) if (userKey[i] === 0) zeros++;
  const len = userKey.length + zeros + 2;
  const out = new Uint8Array(len + extra);
  let p = 0;
  for (let i = 0; i < userKey.length; i++) {
    const b = userKey[i]!;
    out[p++] = b;
    if (b === 0) out[p++] = 0xff;
  }
  out[p++] = 0;
  out[p++] = 1;
  return { out, len };
}

/** Decodes the escaped user key at the start of `b` (ending at its 0x00 0x01 terminator). */
export function unescapeKey(b: Uint8Array, end = b.length): Uint8Array {
  const out = new Uint8Array(end);
  let n = 0;
  for (let i = 0; i < end; i++) {
    const c = b[i]!;
    if (c === 0) {
      if (b[i + 1] === 1) break;
      i++; // skip the 0xff escape
    }
    out[n++] = c;
  }
  return out.subarray(0, n);
}

/** The `hist` key of `userKey` at revision (main, sub). */
export function histKey(userKey: Uint8Array, main: number, sub: number): Uint8Array {
  const { out, len } = escapeKey(userKey, REV_BYTES);
  putU64(out, len, main);
  putU32(out, len + 8, sub);
  return out;
}

/** The lower bound of every `hist` entry of keys ≥ userKey. */
export function histLowerBound(userKey: Uint8Array): Uint8Array {
  return escapeKey(userKey).out;
}

/** The user key of a `hist` key. */
export function histUserKey(hk: Uint8Array): Uint8Array {
  return unescapeKey(hk, hk.length - REV_BYTES);
}

/** Byte-wise comparison (-1, 0, 1). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/** True when a and b hold the same bytes. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A Map key for bytes (latin1 string: one char per byte, order-preserving). */
export function bytesId(b: Uint8Array): string {
  // Buffer's latin1 decoding maps each byte to the char of the same code (natively, ~3x faster
  // than String.fromCharCode for short keys).
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("latin1");
}

/** Inverse of bytesId. */
export function idBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
