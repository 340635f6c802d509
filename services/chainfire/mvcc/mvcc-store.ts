/**
 * The MVCC store's contract: a multi-version key-value map with etcd's semantics. Every write
 * transaction that changes something gets the next main revision; reads can ask for any revision
 * between the compact revision and the current one. The implementation is RocksMvccStore.
 */
import type { KeyValue, KvEvent } from "./key-value.ts";

/** Sort order of a range (etcd RangeRequest.SortOrder). */
export type SortOrder = "NONE" | "ASCEND" | "DESCEND";
/** Sort target of a range (etcd RangeRequest.SortTarget). */
export type SortTarget = "KEY" | "VERSION" | "CREATE" | "MOD" | "VALUE";

/** A range read with etcd's RangeRequest semantics. */
export interface RangeQuery {
  key: Uint8Array;
  /** Empty/undefined: the single key; "\0": every key ≥ key; otherwise [key, rangeEnd). */
  rangeEnd?: Uint8Array;
  /** At most this many kvs (0: no limit); `more` tells if the range held more. */
  limit?: number;
  /** Read at this revision (0: latest). */
  revision?: number;
  sortOrder?: SortOrder;
  sortTarget?: SortTarget;
  keysOnly?: boolean;
  countOnly?: boolean;
  minModRevision?: number;
  maxModRevision?: number;
  minCreateRevision?: number;
  maxCreateRevision?: number;
  /**
   * Beyond etcd: stop an unsorted range once about this many bytes of values were gathered and
   * report `more` (continue from the last key), so one response never holds an unbounded range.
   */
  maxBytes?: number;
}

/** The result of a range. `count` is the number of keys in the range before limit/filters. */
export interface RangeResult {
  kvs: KeyValue[];
  count: number;
  more: boolean;
}

/** Reads at one revision. */
export interface ReadView {
  /** The revision this view reads at. */
  readonly revision: number;
  /** A range at this view's revision (the query's own revision is honoured too). */
  range(q: RangeQuery): RangeResult;
}

/** Writes of one transaction; they all get the same main revision. Reads see earlier writes. */
export interface WriteTxn extends ReadView {
  /** The current value of `key` as this transaction sees it. */
  get(key: Uint8Array): KeyValue | undefined;
  /** Sets key; returns the previous value. `lease` 0 = none. */
  put(key: Uint8Array, value: Uint8Array, lease: number): { prev: KeyValue | undefined; kv: KeyValue };
  /** Deletes [key, rangeEnd) (or the single key); returns the deleted kvs. */
  deleteRange(key: Uint8Array, rangeEnd?: Uint8Array): KeyValue[];
  /** Number of changes so far. */
  readonly changes: number;
}

/** One change of the log, with its revision. */
export interface LoggedEvent extends KvEvent {
  main: number;
  sub: number;
}

/** The store. */
export interface MvccStore {
  /** Revision of the last write visible to readers (flushed). */
  readonly currentRevision: number;
  /** Revision of the last write including pending (unflushed) ones. */
  readonly pendingRevision: number;
  /** Revisions below this were compacted away. */
  readonly compactRevision: number;
  /** A range at the query's revision (default: current). Throws Compacted / FutureRev. */
  range(q: RangeQuery): RangeResult;
  /**
   * Runs `fn` as one atomic write transaction. Changes stay pending (invisible to `range`)
   * until `flush`. Throwing from `fn` discards that transaction's changes only.
   */
  write<R>(fn: (txn: WriteTxn) => R): R;
  /** Makes pending transactions visible (and with `sync`, durable) in one engine write. */
  flush(sync: boolean): void;
  /** Records a compaction at `revision`; history below it is removed by `compactHistory`. */
  compact(revision: number): void;
  /** Physically removes history below the compact revision, `budget` entries per call; returns true when done. */
  compactHistory(budget: number): boolean;
  /** Up to `limit` logged changes from revision `from` (inclusive), in revision order. */
  events(from: number, limit: number): LoggedEvent[];
  /** The key's latest version strictly before revision `main` (for watch prev_kv). */
  valueBefore(key: Uint8Array, main: number): KeyValue | undefined;
  /** Store-wide metadata value (small JSON documents of other chainfire modules). */
  getMeta(name: string): string | undefined;
  /** Sets metadata as part of the pending writes (visible after flush). */
  putMeta(name: string, value: string): void;
  /** Deletes metadata as part of the pending writes. */
  deleteMeta(name: string): void;
  /** Every flushed metadata entry whose name starts with `prefix`. */
  scanMeta(prefix: string): [string, string][];
  /** Every current key with its lease, for rebuilding lease attachments at start. */
  leasedKeys(): { key: Uint8Array; lease: number }[];
  /** A consistent snapshot of the whole store, in chunks (format: rocks-mvcc-maintenance.ts). */
  snapshot(chunkBytes?: number): Generator<Uint8Array>;
  /** Replaces the whole store by a snapshot; throws RangeError, changing nothing, if corrupt. */
  restore(data: Uint8Array): void;
  /** CRC-32 of the history up to `revision` (0 = all): equal on replicas with equal history. */
  hashKv(revision: number): number;
  /** Compacts the engine's files (etcd's defragment). */
  defragment(): void;
  /** Approximate bytes on disk. */
  sizeBytes(): number;
  /** Closes the engine. */
  close(): void;
}
