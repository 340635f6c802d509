/**
 * The watch hub: delivers every change to every watcher exactly once and in revision order.
 *
 * After each durable group the log calls `onCommit(from, to)`; the hub reads those events from
 * the store once and pushes the matching ones to every synced watcher. A watcher whose stream is
 * backed up (its sink says so) is paused instead of buffered without bound: it keeps its next
 * revision and, once its sink drains, catches up from the store's change log — so one slow
 * watcher never stalls the others or the writers. A watcher that falls behind the compact
 * revision is cancelled with `compactRevision`, as etcd does.
 *
 * Watchers with the same key range, filters and prev_kv form a group: on each commit the
 * group's matching events (prev_kv included) are computed once and the same read-only array goes
 * to every member that is in step (its next revision is the commit's first). Members behind (a
 * new watcher replaying history, a resumed one) catch up from the store, sharing the pages read
 * in the same turn. Right after a fan-out to many watchers, the next commits are merged for a
 * few ms (see PACE_FROM_NOTICES) so that each notice carries more events.
 */
import { compareBytes } from "../mvcc/encoding.ts";
import type { KeyValue, KvEvent } from "../mvcc/key-value.ts";
import type { LoggedEvent, MvccStore } from "../mvcc/mvcc-store.ts";

/** What a watcher is interested in (etcd WatchCreateRequest). */
export interface WatchOptions {
  key: Uint8Array;
  rangeEnd?: Uint8Array;
  /** First revision to deliver; 0 = the next one. */
  startRevision?: number;
  prevKv?: boolean;
  noPut?: boolean;
  noDelete?: boolean;
  progressNotify?: boolean;
}

/** One message to a watcher's stream (etcd WatchResponse without the header's other fields). */
export interface WatchNotice {
  watchId: number;
  /** Header revision. */
  revision: number;
  events: KvEvent[];
  canceled?: boolean;
  compactRevision?: number;
  cancelReason?: string;
}

/**
 * Where a watcher's notices go: returns false when its buffer is full (pause me). A notice's
 * `events` array and its events may be shared with other watchers: read them, never change them.
 */
export interface WatchSink {
  send(notice: WatchNotice): boolean;
}

interface Watcher {
  id: number;
  opts: WatchOptions;
  group: WatchGroup;
  sink: WatchSink;
  /** Next revision this watcher must receive. */
  next: number;
  paused: boolean;
  /** Delivered something since the last progress tick. */
  active: boolean;
}

/** Watchers whose options select the same events with the same content. */
interface WatchGroup {
  key: string;
  opts: WatchOptions;
  members: Set<Watcher>;
}

/** The grouping key of `o`: everything that decides which events a watcher gets, and their content. */
function groupKey(o: WatchOptions): string {
  // A copy, once per watcher: decoded requests may hold a bytes field as a plain empty array.
  const hex = (b: Uint8Array | undefined) => (b && b.length > 0 ? Buffer.from(b).toString("hex") : "");
  return `${hex(o.key)}:${hex(o.rangeEnd)}:${o.prevKv ? 1 : 0}${o.noPut ? 1 : 0}${o.noDelete ? 1 : 0}`;
}

/** Events of whole revisions [from, through] read for catching up, and each group's share. */
interface CatchUpPage {
  events: LoggedEvent[];
  through: number;
  matching: Map<WatchGroup, KvEvent[]>;
}

/**
 * A fan-out sending at least this many notices is large: the next one waits `paceMs` (or as long
 * as this one took, if longer), merging the commits of that while. Under a stream of commits to
 * many watchers each notice then carries several commits' revisions instead of one's: fewer,
 * larger responses, cheaper for the server and much cheaper for clients (etcd's clientv3 spends
 * microseconds per response), for a few ms of delivery delay (etcd's own is ~100 ms under such
 * load). A commit after a quiet period, or to fewer watchers, is fanned out at once.
 */
const PACE_FROM_NOTICES = 256;

/** Max events per notice when catching up (a revision is never split). */
const CATCH_UP_PAGE = 1000;

function matches(w: WatchOptions, ev: KvEvent): boolean {
  if (ev.type === "PUT" && w.noPut) return false;
  if (ev.type === "DELETE" && w.noDelete) return false;
  const key = ev.kv.key;
  const end = w.rangeEnd;
  if (!end || end.length === 0) return compareBytes(key, w.key) === 0;
  if (compareBytes(key, w.key) < 0) return false;
  if (end.length === 1 && end[0] === 0) return true;
  return compareBytes(key, end) < 0;
}

/** The hub of one replica. */
export class WatchHub {
  private readonly watchers = new Map<number, Watcher>();
  private readonly groups = new Map<string, WatchGroup>();
  /** Catch-up pages read in this turn, by "from:to" (see catchUpPage). */
  private pages: Map<string, CatchUpPage> | undefined;
  private progressTimer: ReturnType<typeof setInterval> | undefined;
  /** Committed revisions not yet fanned out (while a fan-out is paced). */
  private pending: { from: number; to: number } | undefined;
  private paceTimer: ReturnType<typeof setTimeout> | undefined;
  /** performance.now() before which a new commit waits for the paced fan-out. */
  private quietUntil = 0;

  private readonly paceMs: number;

  /** `paceMs` (default 10): how long commits wait after a large fan-out (see PACE_FROM_NOTICES). */
  constructor(
    private readonly store: MvccStore,
    options: { progressIntervalMs?: number; paceMs?: number } = {},
  ) {
    this.paceMs = options.paceMs ?? 10;
    const interval = options.progressIntervalMs ?? 10 * 60_000;
    this.progressTimer = setInterval(() => this.progressTick(), interval);
    this.progressTimer.unref?.();
  }

  /** Number of watchers. */
  get size(): number {
    return this.watchers.size;
  }

  /**
   * Adds watcher `id` (unique across the hub). Past revisions are replayed from the store first.
   * A start revision below the compact revision cancels it at once with `compactRevision`.
   */
  add(id: number, opts: WatchOptions, sink: WatchSink): void {
    const current = this.store.currentRevision;
    const start = opts.startRevision && opts.startRevision > 0 ? opts.startRevision : current + 1;
    const key = groupKey(opts);
    let group = this.groups.get(key);
    if (!group) this.groups.set(key, (group = { key, opts, members: new Set() }));
    const w: Watcher = { id, opts, group, sink, next: start, paused: false, active: false };
    this.watchers.set(id, w);
    group.members.add(w);
    if (start <= current) this.catchUp(w);
  }

  /** Removes a watcher; returns whether it existed. */
  cancel(id: number): boolean {
    const w = this.watchers.get(id);
    if (!w) return false;
    this.drop(w);
    return true;
  }

  /**
   * Called by the log after revisions [from, to] became durable. Fans out at once, except right
   * after a large fan-out (see PACE_FROM_NOTICES): then the commits of the next `paceMs` are
   * merged and fanned out together.
   */
  onCommit(from: number, to: number): void {
    this.pending = this.pending ? { from: this.pending.from, to } : { from, to };
    if (this.paceTimer) return; // the paced fan-out takes these too
    const wait = this.quietUntil - performance.now();
    if (wait > 0) {
      this.paceTimer = setTimeout(() => {
        this.paceTimer = undefined;
        this.fanOut();
      }, wait);
      return;
    }
    this.fanOut();
  }

  /** Delivers the pending revisions to every watcher in step; paces the next fan-out if this one was large. */
  private fanOut(): void {
    const range = this.pending;
    this.pending = undefined;
    if (!range) return;
    const started = performance.now();
    const notices = this.deliverCommitted(range.from, range.to);
    const took = performance.now() - started;
    this.quietUntil = notices >= PACE_FROM_NOTICES ? performance.now() + Math.max(took, this.paceMs) : 0;
  }

  /** Delivers [from, to] to every watcher not past it; returns the number of notices sent. */
  private deliverCommitted(from: number, to: number): number {
    if (from < this.store.compactRevision) {
      // Compacted before it was fanned out: catch-up cancels those who missed it.
      for (const w of this.watchers.values()) if (!w.paused && w.next <= to) this.catchUp(w);
      return 0;
    }
    let notices = 0;
    let events: LoggedEvent[] | undefined;
    for (const group of this.groups.values()) {
      let shared: KvEvent[] | undefined; // the group's events of [from, to], once
      for (const w of group.members) {
        if (w.paused || w.next > to) continue;
        if (w.next < from) {
          // Behind (it was catching up): the catch-up path brings it forward.
          this.catchUp(w);
          continue;
        }
        events ??= this.readEvents(from, to);
        if (w.next > from) {
          this.deliver(w, events, to);
          continue;
        }
        shared ??= this.matching(group.opts, events, from, to);
        this.send(w, shared, to);
        if (shared.length > 0) notices++;
      }
    }
    return notices;
  }

  /** A paused watcher's sink drained: resume it from the store. */
  resume(id: number): void {
    const w = this.watchers.get(id);
    if (!w || !w.paused) return;
    w.paused = false;
    this.catchUp(w);
  }

  /** Sends a progress notice (header only) to watcher `id` when it is caught up. */
  requestProgress(id: number): void {
    const w = this.watchers.get(id);
    if (!w || w.paused) return;
    const current = this.store.currentRevision;
    if (w.next > current) w.sink.send({ watchId: w.id, revision: current, events: [] });
  }

  /** After the store was replaced (a snapshot): bring every watcher forward from the store. */
  resync(): void {
    this.pages = undefined; // read from the store that was replaced
    for (const w of this.watchers.values()) if (!w.paused) this.catchUp(w);
  }

  /** Stops timers and drops every watcher. */
  close(): void {
    if (this.progressTimer) clearInterval(this.progressTimer);
    if (this.paceTimer) clearTimeout(this.paceTimer);
    this.progressTimer = this.paceTimer = this.pending = undefined;
    this.watchers.clear();
    this.groups.clear();
  }

  /** Removes `w` from the hub and from its group. */
  private drop(w: Watcher): void {
    this.watchers.delete(w.id);
    w.group.members.delete(w);
    if (w.group.members.size === 0 && this.groups.get(w.group.key) === w.group) this.groups.delete(w.group.key);
  }

  /** Every event of revisions [from, to]. */
  private readEvents(from: number, to: number): LoggedEvent[] {
    const out: LoggedEvent[] = [];
    let next = from;
    while (next <= to) {
      const { events, through } = this.readRevisions(next, to, 4096);
      out.push(...events);
      next = through + 1;
    }
    return out;
  }

  /**
   * Events of whole revisions from `from`, at most about `max` of them (one revision is never
   * split, however large), and the last revision they cover (≤ to).
   */
  private readRevisions(from: number, to: number, max: number): { events: LoggedEvent[]; through: number } {
    for (let limit = max; ; limit *= 2) {
      const page = this.store.events(from, limit);
      const upTo = page.filter((e) => e.main <= to);
      const last = page[page.length - 1];
      if (page.length < limit || !last || last.main > to) return { events: upTo, through: to };
      const whole = page.filter((e) => e.main < last.main);
      if (whole.length > 0) return { events: whole, through: last.main - 1 };
      // The whole page is one revision: read it all.
    }
  }

  /** Pushes the events of [w.next, upTo] that match; pauses on backpressure. */
  private deliver(w: Watcher, events: LoggedEvent[], upTo: number): void {
    this.send(w, this.matching(w.opts, events, w.next, upTo), upTo);
  }

  /** Sends `mine` (the watcher's events through `upTo`, possibly none) and moves it past `upTo`. */
  private send(w: Watcher, mine: KvEvent[], upTo: number): void {
    w.next = upTo + 1;
    if (mine.length === 0) return;
    w.active = true;
    if (!w.sink.send({ watchId: w.id, revision: upTo, events: mine })) w.paused = true;
  }

  /** The events of revisions [from, to] that `opts` selects, with prev_kv when it asks. */
  private matching(opts: WatchOptions, events: LoggedEvent[], from: number, to: number): KvEvent[] {
    const mine: KvEvent[] = [];
    for (const e of events) {
      if (e.main < from || e.main > to || !matches(opts, e)) continue;
      const ev: KvEvent = { type: e.type, kv: e.kv };
      if (opts.prevKv) {
        const prev: KeyValue | undefined = this.store.valueBefore(e.kv.key, e.main);
        if (prev) ev.prevKv = prev;
      }
      mine.push(ev);
    }
    return mine;
  }

  /** Replays from the store until caught up with the current revision or backpressured. */
  private catchUp(w: Watcher): void {
    while (!w.paused && this.watchers.has(w.id)) {
      const current = this.store.currentRevision;
      if (w.next > current) return;
      if (w.next < this.store.compactRevision) {
        w.sink.send({ watchId: w.id, revision: current, events: [], canceled: true, compactRevision: this.store.compactRevision });
        this.drop(w);
        return;
      }
      const page = this.catchUpPage(w.next, current);
      let mine = page.matching.get(w.group);
      if (!mine) page.matching.set(w.group, (mine = this.matching(w.group.opts, page.events, w.next, page.through)));
      this.send(w, mine, page.through);
    }
  }

  /**
   * A page of `readRevisions(from, to, CATCH_UP_PAGE)`, shared for the rest of this turn: the
   * watchers of a stream resume together, mostly from the same revision, so the store is read
   * once and each group's matching events are computed once (cached on the page).
   */
  private catchUpPage(from: number, to: number): CatchUpPage {
    if (!this.pages) {
      this.pages = new Map();
      queueMicrotask(() => (this.pages = undefined));
    }
    const key = `${from}:${to}`;
    let page = this.pages.get(key);
    if (!page) this.pages.set(key, (page = { ...this.readRevisions(from, to, CATCH_UP_PAGE), matching: new Map() }));
    return page;
  }

  private progressTick(): void {
    const current = this.store.currentRevision;
    for (const w of this.watchers.values()) {
      if (w.opts.progressNotify && !w.paused && !w.active && w.next > current) {
        w.sink.send({ watchId: w.id, revision: current, events: [] });
      }
      w.active = false;
    }
  }
}
