/**
 * The storage engine's interface: an ordered key-value store with column families, atomic
 * batches, bounded scans and snapshots. Services depend on this interface; the RocksDB-backed
 * implementation is `RocksEngine` (rocks-engine.ts).
 *
 * Keys and values are bytes (Uint8Array). Scans return views into one buffer per page, which
 * the page owns: a view stays valid, but keeps the whole page alive (`.slice()` what you keep).
 */

/** One key-value pair. `value` is empty in keys-only scans. */
export interface KvPair {
  key: Uint8Array;
  value: Uint8Array;
}

/** Bounds and limits of a scan. */
export interface ScanOptions {
  /** Inclusive lower bound (default: the first key). */
  start?: Uint8Array;
  /** Exclusive upper bound (default: past the last key). */
  end?: Uint8Array;
  /** Scan exactly the keys with this prefix (overrides start/end). */
  prefix?: Uint8Array;
  /** At most this many pairs per call (default 1000). */
  limit?: number;
  /** Stop once about this many bytes were gathered (at least one pair is returned). */
  maxBytes?: number;
  /** From the end towards the start. */
  reverse?: boolean;
  /** Return keys with empty values. */
  keysOnly?: boolean;
}

/** One page of a scan, held in one buffer the page owns (later scans never change it). `pairs`
 * is decoded on first access; the indexed accessors read pair `i` (0 ≤ i < count, else
 * ENGINE:InvalidArgument) in place, so callers that count, walk or compare keys pay for no
 * per-pair objects. */
export interface ScanPage {
  /** Number of pairs in this page. */
  readonly count: number;
  /** The pairs, as views into the page's one buffer (decoded once, on first access). */
  readonly pairs: KvPair[];
  /** The page's buffer: pair `i`'s key is `bytes[keyOffset(i) .. keyOffset(i) + keyLength(i))`. */
  readonly bytes: Uint8Array;
  /** Where pair `i`'s key starts in `bytes`. */
  keyOffset(i: number): number;
  /** Length of pair `i`'s key. */
  keyLength(i: number): number;
  /** Where pair `i`'s value starts in `bytes`. */
  valueOffset(i: number): number;
  /** Length of pair `i`'s value (0 in keys-only scans). */
  valueLength(i: number): number;
  /** Pair `i`'s key as a view (one allocation). */
  key(i: number): Uint8Array;
  /** Pair `i`'s value as a view (one allocation; empty values share one empty array). */
  value(i: number): Uint8Array;
  /** True when the range holds more pairs past this page; continue with `next`. */
  more: boolean;
  /** Options for the following page (undefined when `more` is false). */
  next: ScanOptions | undefined;
}

/** A set of writes applied atomically by `KvEngine.write`. */
export interface WriteBatch {
  /** Sets `key` to `value` in column family `cf`. */
  put(cf: number, key: Uint8Array, value: Uint8Array): this;
  /** Deletes `key` (absent keys are fine). */
  delete(cf: number, key: Uint8Array): this;
  /** Deletes every key in [start, end). */
  deleteRange(cf: number, start: Uint8Array, end: Uint8Array): this;
  /** Number of operations added. */
  readonly length: number;
  /** Approximate size in bytes. */
  readonly byteLength: number;
  /** Empties the batch for reuse. */
  clear(): void;
}

/** Read operations, shared by the engine (latest state) and its snapshots (a fixed point). */
export interface KvReader {
  /** The value of `key` (an array the caller owns), or undefined. */
  get(cf: number, key: Uint8Array): Uint8Array | undefined;
  /** Values of many keys in order (each an array the caller owns; undefined where missing), in
   * one crossing. */
  multiGet(cf: number, keys: Uint8Array[]): (Uint8Array | undefined)[];
  /** One page of pairs in [start, end) (or the prefix), in key order or reversed. */
  scan(cf: number, options?: ScanOptions): ScanPage;
  /** Every pair of the range, fetched page by page (bounded memory). */
  scanAll(cf: number, options?: ScanOptions): Generator<KvPair>;
}

/** A consistent point-in-time view. Release it when done; it dies with its database. */
export interface Snapshot extends KvReader, Disposable {
  /** Releases the snapshot; later reads fail with ENGINE:NoSuchSnapshot. Idempotent. */
  release(): void;
}

/** The engine: an ordered key-value store. Column families are addressed by index. */
export interface KvEngine extends KvReader {
  /** Column family names in index order. */
  readonly columnFamilies: readonly string[];
  /** Index of a column family by name; throws ENGINE:InvalidArgument if unknown. */
  cf(name: string): number;
  /** Writes one key; with `sync` the write is on disk when this returns. */
  put(cf: number, key: Uint8Array, value: Uint8Array, sync?: boolean): void;
  /** Deletes one key. */
  delete(cf: number, key: Uint8Array, sync?: boolean): void;
  /** Deletes [start, end). */
  deleteRange(cf: number, start: Uint8Array, end: Uint8Array, sync?: boolean): void;
  /** A new, empty batch. */
  batch(): WriteBatch;
  /** Applies a batch atomically (all or nothing); with `sync` it is fsynced before returning. */
  write(batch: WriteBatch, sync?: boolean): void;
  /** Takes a consistent snapshot. */
  snapshot(): Snapshot;
  /** Flushes memtables to disk and syncs the log. */
  flush(): void;
  /** Compacts [start, end) of a column family (whole family by default). */
  compact(cf: number, start?: Uint8Array, end?: Uint8Array): void;
  /** A RocksDB-style property (e.g. "rocksdb.estimate-num-keys"), or undefined. */
  property(cf: number, name: string): string | undefined;
  /** Closes the database; every handle (snapshots included) becomes unusable. Idempotent. */
  close(): void;
  /** True until closed. */
  readonly isOpen: boolean;
}

/** Options to open an engine. */
export interface EngineOpenOptions {
  /** Column families in index order (default: ["default"]). */
  columnFamilies?: string[];
  createIfMissing?: boolean;
  blockCacheMb?: number;
  writeBufferMb?: number;
  bloomBitsPerKey?: number;
  backgroundJobs?: number;
  compression?: boolean;
  /**
   * How reads (get, multiGet, scan) reach the native engine: "auto" (default) through bun:ffi
   * when available, else N-API; "napi" always through N-API (a comparison baseline and an
   * escape hatch; PHOTON_ENGINE_FFI=0 does the same process-wide).
   */
  pointReads?: "auto" | "napi";
}
