/**
 * Packed formats crossing the JS/native boundary, mirrored by native/engine/src/codec.rs:
 * little-endian u32 lengths; batch ops `op:u8 cf:u8 klen key [vlen value]`; keys `len bytes`;
 * pairs `klen key vlen value` with vlen = 0xFFFFFFFF for a missing multi-get value; a scan result
 * starts with `count:u32 more:u32`.
 */

/** Batch op tags (must match codec.rs). */
export const OP_PUT = 1;
export const OP_DELETE = 2;
export const OP_DELETE_RANGE = 3;
const MISSING = 0xffffffff;

/** A growable byte buffer with little-endian u32 writes. */
export class PackedWriter {
  private buf: Uint8Array;
  /** Bytes written so far. */
  length = 0;

  constructor(initial = 4096) {
    this.buf = new Uint8Array(initial);
  }

  private reserve(n: number): void {
    const need = this.length + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  /** Appends a length-prefixed byte string. */
  bytes(b: Uint8Array): void {
    const n = b.length;
    this.reserve(4 + n);
    const buf = this.buf;
    let p = this.length;
    buf[p] = n;
    buf[p + 1] = n >>> 8;
    buf[p + 2] = n >>> 16;
    buf[p + 3] = n >>> 24;
    p += 4;
    // A plain loop beats TypedArray#set for the short keys that dominate batches.
    if (n <= 32) for (let i = 0; i < n; i++) buf[p + i] = b[i]!;
    else buf.set(b, p);
    this.length = p + n;
  }

  /** Appends an op tag and column family index. */
  header(op: number, cf: number): void {
    this.reserve(2);
    this.buf[this.length] = op;
    this.buf[this.length + 1] = cf;
    this.length += 2;
  }

  /** A view of the written bytes (valid until the next write). */
  written(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  /** Forgets the content, keeping the allocation. */
  reset(): void {
    this.length = 0;
  }
}

/** Packs keys for multi-get. */
export function packKeys(keys: Uint8Array[]): Uint8Array {
  let size = 0;
  for (const k of keys) size += 4 + k.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let pos = 0;
  for (const k of keys) {
    view.setUint32(pos, k.length, true);
    out.set(k, pos + 4);
    pos += 4 + k.length;
  }
  return out;
}

/** Decodes packed multi-get results (each value its own copy; undefined where missing). */
export function decodeValues(data: Uint8Array, count: number): (Uint8Array | undefined)[] {
  const out = new Array<Uint8Array | undefined>(count);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let pos = 0;
  for (let i = 0; i < count; i++) {
    const len = view.getUint32(pos, true);
    pos += 4;
    if (len === MISSING) {
      out[i] = undefined;
    } else {
      out[i] = data.slice(pos, pos + len);
      pos += len;
    }
  }
  return out;
}

/** The smallest key greater than every key with `prefix` (undefined if none: all 0xff). */
export function prefixEnd(prefix: Uint8Array): Uint8Array | undefined {
  const end = copyBytes(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  return undefined;
}

/** The key immediately after `key` in byte order (key + 0x00). */
export function keyAfter(key: Uint8Array): Uint8Array {
  const out = new Uint8Array(key.length + 1);
  out.set(key);
  return out;
}

/** A copy of `b` that shares no memory with it (Buffer#slice would return a view). */
export function copyBytes(b: Uint8Array): Uint8Array {
  return new Uint8Array(b);
}
