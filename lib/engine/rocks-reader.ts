/**
 * Reads shared by RocksEngine (latest state) and RocksSnapshot (a fixed point): both call the
 * addon with an optional snapshot id.
 */
import type { Database as NativeDatabase } from "../../native/photon-native.d.ts";
import { EngineErrors, fromNative } from "./errors.ts";
import { copyBytes, decodePairs, lastKey, splitScanHeader, decodeValues, keyAfter, packKeys, prefixEnd } from "./codec.ts";
import type { KvPair, KvReader, ScanOptions, ScanPage } from "./kv-engine.ts";
import type { FfiReads } from "./rocks-ffi.ts";

const defaultLimit = 1000;
/** Scratch for point reads (values up to 64 KiB are read in one call). */
const getScratch = new Uint8Array(64 * 1024);

/**
 * Implements KvReader over the native database, at `snapshotId` when set. Point reads (get,
 * multiGet) go through `ffi` when given (rocks-ffi.ts), else through N-API.
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
    if (!Number.isInteger(limit) || limit < 0) throw EngineErrors.InvalidArgument(`scan limit ${limit}`);
    let batch;
    try {
      batch = this.db.scan(cf, {
        start,
        end,
        limit,
        maxBytes: options.maxBytes,
        reverse: options.reverse,
        keysOnly: options.keysOnly,
        snapshot: this.snapshotId,
      });
    } catch (e) {
      throw fromNative(e);
    }
    const { count, more, pairs: packed } = splitScanHeader(batch);
    let next: ScanOptions | undefined;
    if (more && count > 0) {
      // Continue past the last key seen: forward from key+0x00, reverse up to (exclusive) key.
      const last = lastKey(packed, count);
      const { prefix: _prefix, ...rest } = options;
      next = options.reverse ? { ...rest, start, end: copyBytes(last) } : { ...rest, start: keyAfter(last), end };
    }
    let decoded: KvPair[] | undefined;
    return {
      count,
      more,
      next,
      get pairs() {
        return (decoded ??= decodePairs(packed, count));
      },
    };
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

/** Checks that `cf` is a u32 (N-API and bun:ffi would silently wrap or truncate other numbers). */
function checkCf(cf: number): number {
  if (cf >>> 0 !== cf) throw EngineErrors.InvalidArgument(`column family index ${cf}`);
  return cf;
}
