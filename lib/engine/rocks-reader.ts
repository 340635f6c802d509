/**
 * Reads shared by RocksEngine (latest state) and RocksSnapshot (a fixed point): both call the
 * addon with an optional snapshot id.
 */
import type { Database as NativeDatabase } from "../../native/photon-native.d.ts";
import { EngineErrors, fromNative } from "./errors.ts";
import { copyBytes, decodeValues, keyAfter, packKeys, prefixEnd } from "./codec.ts";
import type { KvPair, KvReader, ScanOptions, ScanPage } from "./kv-engine.ts";
import { PAGE_HEADER, SCAN_KEYS_ONLY, SCAN_REVERSE, type FfiReads } from "./rocks-ffi.ts";
import { PackedScanPage } from "./scan-page.ts";

const defaultLimit = 1000;
/** Scratch for point reads (values up to 64 KiB are read in one call). */
const getScratch = new Uint8Array(64 * 1024);

/**
 * Implements KvReader over the native database, at `snapshotId` when set. Reads (get,
 * multiGet, scan) go through `ffi` when given (rocks-ffi.ts), else through N-API.
 */
export class RocksReader implements KvReader {
  /** The database's handle for the C-ABI reads. */
  private readonly handle: number;

  constructor(
    protected readonly db: NativeDatabase,
    protected readonly snapshotId: number | undefined,
    protected readonly ffi: FfiReads | undefined,
  ) {
    this.handle = ffi ? db.ffiHandle : 0;
  }

  get(cf: number, key: Uint8Array): Uint8Array | undefined {
    const ffi = this.ffi;
    if (ffi) return ffi.get(this.handle, checkCf(cf), this.snapshotId ?? 0, key);
    checkCf(cf);
    try {
      if (this.snapshotId !== undefined) return this.db.get(cf, key, this.snapshotId) ?? undefined;
      // Fast path: the value is copied into a reused scratch array, then sliced on the JS side
      // (cheaper in Bun than a Buffer created natively); large values take the general path.
      const n = this.db.getInto(cf, key, getScratch);
      if (n < 0) return undefined;
      if (n <= getScratch.length) return getScratch.slice(0, n);
      return this.db.get(cf, key) ?? undefined;
    } catch (e) {
      throw fromNative(e);
    }
  }

  multiGet(cf: number, keys: Uint8Array[]): (Uint8Array | undefined)[] {
    checkCf(cf);
    if (keys.length === 0) return [];
    const ffi = this.ffi;
    if (ffi) return ffi.multiGet(this.handle, cf, this.snapshotId ?? 0, keys);
    let packed: Uint8Array;
    try {
      packed = this.db.multiGet(cf, packKeys(keys), this.snapshotId);
    } catch (e) {
      throw fromNative(e);
    }
    return decodeValues(packed, keys.length);
  }

  scan(cf: number, options: ScanOptions = {}): ScanPage {
    let { start, end } = options;
    if (options.prefix) {
      start = options.prefix;
      end = prefixEnd(options.prefix);
    }
    const limit = options.limit ?? defaultLimit;
    if (!isU32(limit)) throw EngineErrors.InvalidArgument(`scan limit ${limit}`);
    const maxBytes = options.maxBytes ?? 0;
    if (!isU32(maxBytes)) throw EngineErrors.InvalidArgument(`scan maxBytes ${maxBytes}`);
    const page = this.ffi ? this.scanFfi(this.ffi, checkCf(cf), start, end, limit, maxBytes, options) : this.scanNapi(cf, start, end, limit, options);
    if (page.more && page.count > 0) {
      // Continue past the last key seen: forward from key+0x00, reverse up to (exclusive) key.
      const last = page.lastKey()!;
      const { prefix: _prefix, ...rest } = options;
      page.next = options.reverse ? { ...rest, start, end: copyBytes(last) } : { ...rest, start: keyAfter(last), end };
    }
    return page;
  }

  /** One page through bun:ffi: the page comes with its offset table. */
  private scanFfi(ffi: FfiReads, cf: number, start: Uint8Array | undefined, end: Uint8Array | undefined, limit: number, maxBytes: number, o: ScanOptions): PackedScanPage {
    const flags = (o.reverse ? SCAN_REVERSE : 0) | (o.keysOnly ? SCAN_KEYS_ONLY : 0);
    const bytes = ffi.scan(this.handle, cf, this.snapshotId ?? 0, start, end, flags, limit, maxBytes);
    const count = u32(bytes, 0);
    const tableAt = bytes.byteOffset + u32(bytes, 8);
    // The native table is 4-aligned within the page; a page at an odd offset builds its own.
    const table = tableAt % 4 === 0 ? new Uint32Array(bytes.buffer, tableAt, count) : undefined;
    return new PackedScanPage(bytes, count, u32(bytes, 4) !== 0, PAGE_HEADER, table);
  }

  /** One page through N-API (`count:u32 more:u32 pairs`); the offset table is built on demand. */
  private scanNapi(cf: number, start: Uint8Array | undefined, end: Uint8Array | undefined, limit: number, o: ScanOptions): PackedScanPage {
    let batch: Uint8Array;
    try {
      batch = this.db.scan(cf, {
        start,
        end,
        limit,
        maxBytes: o.maxBytes,
        reverse: o.reverse,
        keysOnly: o.keysOnly,
        snapshot: this.snapshotId,
      });
    } catch (e) {
      throw fromNative(e);
    }
    // A plain Uint8Array over the Buffer: its views are plain arrays too (cheaper in Bun).
    const bytes = new Uint8Array(batch.buffer, batch.byteOffset, batch.byteLength);
    return new PackedScanPage(bytes, u32(bytes, 0), u32(bytes, 4) !== 0, 8, undefined);
  }

  *scanAll(cf: number, options: ScanOptions = {}): Generator<KvPair> {
    let opts: ScanOptions | undefined = options;
    while (opts) {
      const page = this.scan(cf, opts);
      yield* page.pairs;
      opts = page.next;
    }
  }
}

function isU32(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
}

/** Little-endian u32 at `pos`. */
function u32(d: Uint8Array, pos: number): number {
  return (d[pos]! | (d[pos + 1]! << 8) | (d[pos + 2]! << 16) | (d[pos + 3]! << 24)) >>> 0;
}

/** Checks that `cf` is a u32 (N-API and bun:ffi would silently wrap or truncate other numbers). */
function checkCf(cf: number): number {
  if (cf >>> 0 !== cf) throw EngineErrors.InvalidArgument(`column family index ${cf}`);
  return cf;
}
