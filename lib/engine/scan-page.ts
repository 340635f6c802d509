/**
 * One page of a scan over the page's single buffer: the pairs are read in place through an
 * offset table, so counting, walking or comparing keys allocates nothing per pair; `pairs`,
 * `key(i)` and `value(i)` create views only when asked (docs/adr/0008-engine-point-reads.md).
 */
import { EngineErrors } from "./errors.ts";
import type { KvPair, ScanOptions, ScanPage } from "./kv-engine.ts";

/** Shared by every empty value (keys-only scans): a zero-length array exposes nothing. */
const EMPTY = new Uint8Array(0);

/** Little-endian u32 at `pos` (plain byte reads beat DataView for short runs in Bun). */
function u32(d: Uint8Array, pos: number): number {
  return (d[pos]! | (d[pos + 1]! << 8) | (d[pos + 2]! << 16) | (d[pos + 3]! << 24)) >>> 0;
}

/**
 * A ScanPage over packed pairs (`klen:u32 key vlen:u32 value`, lib/engine/codec.ts) stored in
 * `bytes` from `pairsStart` on. `table` holds each pair's offset in `bytes` when the producer
 * built it (the bun:ffi scan does); otherwise it is built on first use by walking the lengths.
 */
export class PackedScanPage implements ScanPage {
  more: boolean;
  next: ScanOptions | undefined = undefined;
  private decoded: KvPair[] | undefined;

  constructor(
    readonly bytes: Uint8Array,
    readonly count: number,
    more: boolean,
    private readonly pairsStart: number,
    private table: Uint32Array | undefined,
  ) {
    this.more = more;
  }

  get pairs(): KvPair[] {
    return (this.decoded ??= this.decode());
  }

  /** Offset of pair `i` (its key length) in `bytes`. */
  private at(i: number): number {
    // A typed array answers undefined for any index that is not an integer in [0, count).
    const p = this.table?.[i];
    return p === undefined ? this.atSlow(i) : p;
  }

  /** `at` before the table exists, or for a bad index. */
  private atSlow(i: number): number {
    const p = (this.table ??= this.buildTable())[i];
    if (p === undefined) throw EngineErrors.InvalidArgument(`pair index ${i} of ${this.count}`);
    return p;
  }

  keyOffset(i: number): number {
    return this.at(i) + 4;
  }

  keyLength(i: number): number {
    return u32(this.bytes, this.at(i));
  }

  valueOffset(i: number): number {
    const p = this.at(i);
    return p + 8 + u32(this.bytes, p);
  }

  valueLength(i: number): number {
    const p = this.at(i);
    return u32(this.bytes, p + 4 + u32(this.bytes, p));
  }

  key(i: number): Uint8Array {
    const p = this.at(i);
    return this.bytes.subarray(p + 4, p + 4 + u32(this.bytes, p));
  }

  value(i: number): Uint8Array {
    const p = this.at(i);
    const v = p + 4 + u32(this.bytes, p);
    const n = u32(this.bytes, v);
    return n === 0 ? EMPTY : this.bytes.subarray(v + 4, v + 4 + n);
  }

  /** The last pair's key (a view), for the continuation; undefined on an empty page. */
  lastKey(): Uint8Array | undefined {
    return this.count === 0 ? undefined : this.key(this.count - 1);
  }

  private buildTable(): Uint32Array {
    const d = this.bytes;
    const table = new Uint32Array(this.count);
    let pos = this.pairsStart;
    for (let i = 0; i < this.count; i++) {
      table[i] = pos;
      pos += 4 + u32(d, pos);
      pos += 4 + u32(d, pos);
    }
    return table;
  }

  private decode(): KvPair[] {
    const d = this.bytes;
    const count = this.count;
    const out = new Array<KvPair>(count);
    let pos = this.pairsStart;
    for (let i = 0; i < count; i++) {
      const klen = u32(d, pos);
      const key = d.subarray(pos + 4, pos + 4 + klen);
      pos += 4 + klen;
      const vlen = u32(d, pos);
      const value = vlen === 0 ? EMPTY : d.subarray(pos + 4, pos + 4 + vlen);
      pos += 4 + vlen;
      out[i] = { key, value };
    }
    return out;
  }
}
