/**
 * RocksMvccStore: the MVCC store on the native engine (see encoding.ts for the layout).
 * Writes are grouped: `write` transactions accumulate in one engine batch, invisible to readers
 * until `flush` applies them in one engine write (group commit), so readers only ever see
 * flushed state and every transaction is atomic on disk.
 */
import type { KvEngine, WriteBatch } from "../../../lib/engine/index.ts";
import { RocksEngine } from "../../../lib/engine/index.ts";
import { etcdError } from "../errors.ts";
import {
  bytesEqual,
  bytesId,
  compareBytes,
  decodeRev,
  histKey,
  histLowerBound,
  histUserKey,
  revKey,
} from "./encoding.ts";
import { decodeEvent, decodeKeyValue, encodeEvent, encodeKeyValue, type KeyValue } from "./key-value.ts";
import type { LoggedEvent, MvccStore, RangeQuery, RangeResult, WriteTxn } from "./mvcc-store.ts";
import { bounds, finishRange, needsFullScan, type Bounds } from "./range.ts";
import { defragment, hashHistory, restoreSnapshot, snapshotChunks } from "./rocks-mvcc-maintenance.ts";

const te = new TextEncoder();
const td = new TextDecoder();
const PUT = Uint8Array.of(0);
const TOMBSTONE = Uint8Array.of(1);
const metaPrefix = "m/";

/** Options of RocksMvccStore.open. */
export interface MvccStoreOptions {
  blockCacheMb?: number;
  writeBufferMb?: number;
  compression?: boolean;
}

/** One change staged by a transaction. */
type Staged = { cf: number; key: Uint8Array; value: Uint8Array | null };

/** A transaction's own changes, seen by its reads: latest value by key id (null = deleted). */
type OwnChanges = Map<string, KeyValue | null>;

/** The RocksDB-backed MVCC store. */
export class RocksMvccStore implements MvccStore {
  private readonly kvCf: number;
  private readonly histCf: number;
  private readonly eventsCf: number;
  private readonly metaCf: number;
  private rev: number;
  private compactRev: number;
  private compactedThrough: number;
  private compactCursor: Uint8Array | undefined;
  /** Revision of the last pending (unflushed) transaction. */
  private pendingRev: number;
  private batch: WriteBatch;
  /** Pending latest values by key id (null = deleted). */
  private readonly overlay = new Map<string, KeyValue | null>();
  private readonly pendingMeta = new Map<string, string>();

  private constructor(private readonly engine: KvEngine) {
    this.kvCf = engine.cf("kv");
    this.histCf = engine.cf("hist");
    this.eventsCf = engine.cf("events");
    this.metaCf = engine.cf("meta");
    this.rev = Number(this.readMeta("rev") ?? "0");
    this.compactRev = Number(this.readMeta("compact_rev") ?? "0");
    this.compactedThrough = Number(this.readMeta("compacted_through") ?? "0");
    this.pendingRev = this.rev;
    this.batch = engine.batch();
  }

  /** Opens (or creates) the store in `dir`. */
  static open(dir: string, options: MvccStoreOptions = {}): RocksMvccStore {
    const engine = RocksEngine.open(dir, { columnFamilies: ["kv", "hist", "events", "meta"], ...options });
    return new RocksMvccStore(engine);
  }

  get currentRevision(): number {
    return this.rev;
  }

  get pendingRevision(): number {
    return this.pendingRev;
  }

  get compactRevision(): number {
    return this.compactRev;
  }

  // ---- reads -------------------------------------------------------------------------------

  range(q: RangeQuery): RangeResult {
    const at = q.revision ?? 0;
    if (at > 0 && at < this.compactRev) throw etcdError("Compacted");
    if (at > this.rev) throw etcdError("FutureRev");
    if (at > 0 && at < this.rev) return this.rangeAt(q, at);
    return this.rangeLatest(q, undefined);
  }

  /** Latest state, optionally merged with a transaction's view of pending changes. */
  private rangeLatest(q: RangeQuery, own: OwnChanges | undefined): RangeResult {
    const b = bounds(q);
    if (b.single) {
      const kv = own ? this.txnGet(b.key, own) : this.getLatest(b.key);
      return finishRange(kv ? [kv] : [], kv ? 1 : 0, q);
    }
    if (b.empty) return finishRange([], 0, q);
    if (own) return this.rangeMerged(q, b, own);
    const sorted = needsFullScan(q);
    const full = sorted || (q.limit ?? 0) === 0;
    const want = full ? Infinity : q.limit! + 1;
    const reverse = !full && q.sortOrder === "DESCEND" && (q.sortTarget ?? "KEY") === "KEY";
    // A byte budget bounds what one response holds (unsorted ranges stop early, `more` set).
    const budget = !sorted && q.maxBytes ? q.maxBytes : Infinity;
    const kvs: KeyValue[] = [];
    let count = 0;
    let bytes = 0;
    let truncated = false;
    if (!q.countOnly) {
      let opts: { start: Uint8Array; end?: Uint8Array; limit: number; reverse: boolean } | undefined = {
        start: b.start,
        ...(b.end ? { end: b.end } : {}),
        limit: Math.min(want, 4096),
        reverse,
      };
      outer: while (opts && kvs.length < want) {
        const page = this.engine.scan(this.kvCf, opts);
        for (const p of page.pairs) {
          if (kvs.length >= want) break;
          if (bytes >= budget) {
            truncated = true;
            break outer;
          }
          kvs.push(decodeKeyValue(p.value));
          bytes += p.value.length;
        }
        opts = page.next as typeof opts;
        if (opts) opts.limit = Math.min(want - kvs.length, 4096);
      }
      if (kvs.length < want && !truncated) count = kvs.length;
    }
    if (count === 0 && (q.countOnly || truncated || kvs.length >= want)) count = this.countKeys(b.start, b.end);
    if (reverse) {
      // Descending by key: finishRange expects key order for its stable sort; it re-sorts.
      kvs.reverse();
    }
    if (truncated) return { ...finishRange(kvs, count, q), more: true };
    return finishRange(kvs, count, q);
  }

  private countKeys(start: Uint8Array, end: Uint8Array | undefined): number {
    let n = 0;
    let opts: { start: Uint8Array; end?: Uint8Array; limit: number; keysOnly: boolean } | undefined = {
      start,
      ...(end ? { end } : {}),
      limit: 65536,
      keysOnly: true,
    };
    while (opts) {
      const page = this.engine.scan(this.kvCf, opts);
      n += page.count;
      opts = page.next as typeof opts;
    }
    return n;
  }

  private getLatest(key: Uint8Array): KeyValue | undefined {
    const v = this.engine.get(this.kvCf, key);
    return v ? decodeKeyValue(v) : undefined;
  }

  private txnGet(key: Uint8Array, own: OwnChanges): KeyValue | undefined {
    const id = bytesId(key);
    const p = own.get(id);
    if (p !== undefined) return p ?? undefined;
    const o = this.overlay.get(id);
    if (o !== undefined) return o ?? undefined;
    return this.getLatest(key);
  }

  /** A range inside a write transaction: flushed state + group overlay + the txn's own changes. */
  private rangeMerged(q: RangeQuery, b: Extract<Bounds, { single: false }>, own: OwnChanges): RangeResult {
    const byId = new Map<string, KeyValue | null>();
    for (const p of this.engine.scanAll(this.kvCf, { start: b.start, ...(b.end ? { end: b.end } : {}), limit: 4096 })) {
      byId.set(bytesId(p.key), decodeKeyValue(p.value));
    }
    const inRange = (k: Uint8Array) => compareBytes(k, b.start) >= 0 && (!b.end || compareBytes(k, b.end) < 0);
    for (const [id, kv] of this.overlay) byId.set(id, kv);
    for (const [id, kv] of own) byId.set(id, kv);
    const kvs = [...byId.values()].filter((kv): kv is KeyValue => kv !== null && inRange(kv.key));
    kvs.sort((x, y) => compareBytes(x.key, y.key));
    return finishRange(kvs, kvs.length, q);
  }

  /** A range at an older revision, from the history. */
  private rangeAt(q: RangeQuery, at: number): RangeResult {
    const b = bounds(q);
    const start = b.single ? b.key : b.start;
    if (!b.single && b.empty) return finishRange([], 0, q);
    const endKey = b.single ? undefined : b.end;
    const lower = histLowerBound(start);
    const upper = b.single ? histLowerBound(new Uint8Array([...b.key, 0])) : endKey ? histLowerBound(endKey) : undefined;
    const alive: { main: number; sub: number }[] = [];
    let current: Uint8Array | undefined;
    let best: { main: number; sub: number; tomb: boolean } | undefined;
    const settle = () => {
      if (best && !best.tomb) alive.push({ main: best.main, sub: best.sub });
    };
    for (const p of this.engine.scanAll(this.histCf, { start: lower, ...(upper ? { end: upper } : {}), limit: 4096 })) {
      const uk = histUserKey(p.key);
      if (b.single && !bytesEqual(uk, b.key)) continue;
      if (!current || !bytesEqual(uk, current)) {
        settle();
        current = uk;
        best = undefined;
      }
      const r = decodeRev(p.key);
      if (r.main <= at) best = { main: r.main, sub: r.sub, tomb: p.value[0] === 1 };
    }
    settle();
    const count = alive.length;
    if (q.countOnly) return finishRange([], count, q);
    const values = this.engine.multiGet(this.eventsCf, alive.map((r) => revKey(r.main, r.sub)));
    const kvs = values.map((v) => decodeEvent(v!).kv);
    return finishRange(kvs, count, q);
  }

  events(from: number, limit: number): LoggedEvent[] {
    const page = this.engine.scan(this.eventsCf, { start: revKey(Math.max(from, 0), 0), limit });
    return page.pairs.map((p) => ({ ...decodeEvent(p.value), ...decodeRev(p.key) }));
  }

  valueBefore(key: Uint8Array, main: number): KeyValue | undefined {
    const page = this.engine.scan(this.histCf, { start: histKey(key, 0, 0), end: histKey(key, main, 0), reverse: true, limit: 1 });
    const last = page.pairs[0];
    if (!last || last.value[0] === 1) return undefined;
    const r = decodeRev(last.key);
    const ev = this.engine.get(this.eventsCf, revKey(r.main, r.sub));
    return ev ? decodeEvent(ev).kv : undefined;
  }

  // ---- writes ------------------------------------------------------------------------------

  write<R>(fn: (txn: WriteTxn) => R): R {
    const txn = new PendingTxn(this, this.pendingRev + 1);
    const result = fn(txn);
    if (txn.changes > 0) {
      for (const s of txn.staged) {
        if (s.value === null) this.batch.delete(s.cf, s.key);
        else this.batch.put(s.cf, s.key, s.value);
      }
      for (const [id, kv] of txn.latest) this.overlay.set(id, kv);
      this.pendingRev = txn.revision;
    }
    return result;
  }

  flush(sync: boolean): void {
    if (this.pendingRev === this.rev && this.pendingMeta.size === 0 && this.batch.length === 0) return;
    this.batch.put(this.metaCf, te.encode(metaPrefix + "rev"), te.encode(String(this.pendingRev)));
    this.engine.write(this.batch, sync);
    this.batch.clear();
    this.rev = this.pendingRev;
    this.overlay.clear();
    this.pendingMeta.clear();
  }

  compact(revision: number): void {
    if (revision <= this.compactRev) throw etcdError("Compacted");
    if (revision > this.pendingRev) throw etcdError("FutureRev");
    this.compactRev = revision;
    this.compactCursor = undefined;
    this.putMeta("compact_rev", String(revision));
  }

  compactHistory(budget: number): boolean {
    const target = this.compactRev;
    if (this.compactedThrough >= target) return true;
    const batch = this.engine.batch();
    let seen = 0;
    let opts: { start?: Uint8Array; limit: number } | undefined = { ...(this.compactCursor ? { start: this.compactCursor } : {}), limit: 4096 };
    let group: { key: Uint8Array; main: number; tomb: boolean }[] = [];
    let groupKey: Uint8Array | undefined;
    const settle = () => {
      // Keep every entry above the target and the newest at or below it unless it is a tombstone.
      const old = group.filter((e) => e.main <= target);
      const keep = old[old.length - 1];
      for (const e of old) {
        if (e === keep && !e.tomb) continue;
        batch.delete(this.histCf, e.key);
        const r = decodeRev(e.key);
        batch.delete(this.eventsCf, revKey(r.main, r.sub));
      }
      group = [];
    };
    let done = true;
    outer: while (opts) {
      const page = this.engine.scan(this.histCf, opts);
      for (const p of page.pairs) {
        const uk = histUserKey(p.key);
        if (!groupKey || !bytesEqual(uk, groupKey)) {
          settle();
          if (seen >= budget) {
            this.compactCursor = histLowerBound(uk);
            done = false;
            break outer;
          }
          groupKey = uk;
        }
        group.push({ key: p.key, main: decodeRev(p.key).main, tomb: p.value[0] === 1 });
        seen++;
      }
      opts = page.next as typeof opts;
    }
    if (done) settle();
    // Events of deleted keys' tombstones below the target are gone with their history; events
    // below the target are otherwise only kept when still referenced by a kept history entry.
    this.engine.write(batch, false);
    if (done) {
      this.compactedThrough = target;
      this.compactCursor = undefined;
      this.engine.put(this.metaCf, te.encode(metaPrefix + "compacted_through"), te.encode(String(target)));
    }
    return done;
  }

  getMeta(name: string): string | undefined {
    return this.pendingMeta.get(name) ?? this.readMeta(name);
  }

  private readMeta(name: string): string | undefined {
    const v = this.engine.get(this.metaCf, te.encode(metaPrefix + name));
    return v ? td.decode(v) : undefined;
  }

  putMeta(name: string, value: string): void {
    this.pendingMeta.set(name, value);
    this.batch.put(this.metaCf, te.encode(metaPrefix + name), te.encode(value));
  }

  deleteMeta(name: string): void {
    this.pendingMeta.delete(name);
    this.batch.delete(this.metaCf, te.encode(metaPrefix + name));
  }

  scanMeta(prefix: string): [string, string][] {
    const out: [string, string][] = [];
    for (const p of this.engine.scanAll(this.metaCf, { prefix: te.encode(metaPrefix + prefix), limit: 4096 })) {
      out.push([td.decode(p.key).slice(metaPrefix.length), td.decode(p.value)]);
    }
    return out;
  }

  leasedKeys(): { key: Uint8Array; lease: number }[] {
    const out: { key: Uint8Array; lease: number }[] = [];
    for (const p of this.engine.scanAll(this.kvCf, { limit: 4096 })) {
      const kv = decodeKeyValue(p.value);
      if (kv.lease !== 0) out.push({ key: kv.key, lease: kv.lease });
    }
    return out;
  }

  /** A consistent snapshot of the whole store, in chunks (see rocks-mvcc-maintenance.ts). */
  snapshot(chunkBytes?: number): Generator<Uint8Array> {
    return snapshotChunks(this.engine, [this.kvCf, this.histCf, this.eventsCf, this.metaCf], chunkBytes);
  }

  /**
   * Replaces the whole store by a snapshot (a Raft snapshot from the leader). Pending writes must
   * have been flushed. Throws RangeError, changing nothing, on a corrupt snapshot.
   */
  restore(data: Uint8Array): void {
    restoreSnapshot(this.engine, [this.kvCf, this.histCf, this.eventsCf, this.metaCf], data);
    this.rev = Number(this.readMeta("rev") ?? "0");
    this.pendingRev = this.rev;
    this.compactRev = Number(this.readMeta("compact_rev") ?? "0");
    this.compactedThrough = Number(this.readMeta("compacted_through") ?? "0");
    this.compactCursor = undefined;
    this.overlay.clear();
    this.pendingMeta.clear();
    this.batch.clear();
  }

  /** CRC-32 of the history up to `revision` (0 = all): equal on replicas with equal history. */
  hashKv(revision: number): number {
    return hashHistory(this.engine, this.histCf, revision);
  }

  /** Compacts the engine's files (etcd's defragment). */
  defragment(): void {
    defragment(this.engine, [this.kvCf, this.histCf, this.eventsCf, this.metaCf]);
  }

  sizeBytes(): number {
    let total = 0;
    for (const cf of [this.kvCf, this.histCf, this.eventsCf, this.metaCf]) {
      total += Number(this.engine.property(cf, "rocksdb.total-sst-files-size") ?? 0);
      total += Number(this.engine.property(cf, "rocksdb.cur-size-all-mem-tables") ?? 0);
    }
    return total;
  }

  close(): void {
    this.engine.close();
  }

  // ---- used by PendingTxn ------------------------------------------------------------------

  /** @internal */
  latestFor(key: Uint8Array, own: OwnChanges): KeyValue | undefined {
    return this.txnGet(key, own);
  }

  /** @internal */
  rangeFor(q: RangeQuery, own: OwnChanges): RangeResult {
    const at = q.revision ?? 0;
    if (at > 0 && at <= this.rev) return this.range(q);
    return this.rangeLatest(q, this.overlay.size === 0 && own.size === 0 ? undefined : own);
  }

  /** @internal */
  get cfs() {
    return { kv: this.kvCf, hist: this.histCf, events: this.eventsCf };
  }
}

/** A write transaction: stages changes; the store applies them on success. */
class PendingTxn implements WriteTxn {
  readonly staged: Staged[] = [];
  /** This txn's latest values by key id (null = deleted). */
  readonly latest: OwnChanges = new Map();
  private sub = 0;

  constructor(
    private readonly store: RocksMvccStore,
    readonly revision: number,
  ) {}

  get changes(): number {
    return this.sub;
  }

  get(key: Uint8Array): KeyValue | undefined {
    return this.store.latestFor(key, this.latest);
  }

  range(q: RangeQuery): RangeResult {
    return this.store.rangeFor(q, this.latest);
  }

  put(key: Uint8Array, value: Uint8Array, lease: number): { prev: KeyValue | undefined; kv: KeyValue } {
    if (key.length === 0) throw etcdError("EmptyKey");
    const prev = this.get(key);
    const main = this.revision;
    const kv: KeyValue = {
      key: new Uint8Array(key),
      createRevision: prev ? prev.createRevision : main,
      modRevision: main,
      version: prev ? prev.version + 1 : 1,
      value: new Uint8Array(value),
      lease,
    };
    const { kv: kvCf, hist, events } = this.store.cfs;
    this.staged.push(
      { cf: kvCf, key: kv.key, value: encodeKeyValue(kv) },
      { cf: hist, key: histKey(kv.key, main, this.sub), value: PUT },
      { cf: events, key: revKey(main, this.sub), value: encodeEvent("PUT", kv) },
    );
    this.latest.set(bytesId(kv.key), kv);
    this.sub++;
    return { prev, kv };
  }

  deleteRange(key: Uint8Array, rangeEnd?: Uint8Array): KeyValue[] {
    const victims = this.range({ key, ...(rangeEnd ? { rangeEnd } : {}) }).kvs;
    const main = this.revision;
    const { kv: kvCf, hist, events } = this.store.cfs;
    for (const prev of victims) {
      const tomb: KeyValue = { key: prev.key, createRevision: 0, modRevision: main, version: 0, value: new Uint8Array(0), lease: 0 };
      this.staged.push(
        { cf: kvCf, key: prev.key, value: null },
        { cf: hist, key: histKey(prev.key, main, this.sub), value: TOMBSTONE },
        { cf: events, key: revKey(main, this.sub), value: encodeEvent("DELETE", tomb) },
      );
      this.latest.set(bytesId(prev.key), null);
      this.sub++;
    }
    return victims;
  }
}
