/**
 * The watch hub: delivers every change to every watcher exactly once and in revision order.
 *
 * After each durable group the log calls `onCommit(from, to)`; the hub reads those events from
 * the store once and pushes the matching ones to every synced watcher. A watcher whose stream is
 * backed up (its sink says so) is paused instead of buffered without bound: it keeps its next
 * revision and, once its sink drains, catches up from the store's change log — so one slow
 * watcher never stalls the others or the writers. A watcher that falls behind the compact
 * revision is cancelled with `compactRevision`, as etcd does.
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

/** Where a watcher's notices go: returns false when its buffer is full (pause me). */
export interface WatchSink {
  send(notice: WatchNotice): boolean;
}

interface Watcher {
  id: number;
  opts: WatchOptions;
  sink: WatchSink;
  /** Next revision this watcher must receive. */
  next: number;
  paused: boolean;
  /** Delivered something since the last progress tick. */
  active: boolean;
}

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
  private progressTimer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly store: MvccStore,
    options: { progressIntervalMs?: number } = {},
  ) {
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
    const w: Watcher = { id, opts, sink, next: start, paused: false, active: false };
    this.watchers.set(id, w);
    if (start <= current) this.catchUp(w);
  }

  /** Removes a watcher; returns whether it existed. */
  cancel(id: number): boolean {
    return this.watchers.delete(id);
  }

  /** Called by the log after revisions [from, to] became durable. */
  onCommit(from: number, to: number): void {
    let events: LoggedEvent[] | undefined;
    for (const w of this.watchers.values()) {
      if (w.paused || w.next > to) continue;
      if (w.next < from) {
        // Behind (it was catching up): the catch-up path brings it forward.
        this.catchUp(w);
        continue;
      }
      events ??= this.readEvents(from, to);
      this.deliver(w, events, to);
    }
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
    for (const w of this.watchers.values()) if (!w.paused) this.catchUp(w);
  }

  /** Stops timers and drops every watcher. */
  close(): void {
    if (this.progressTimer) clearInterval(this.progressTimer);
    this.progressTimer = undefined;
    this.watchers.clear();
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
    const mine: KvEvent[] = [];
    for (const e of events) {
      if (e.main < w.next || e.main > upTo) continue;
      if (!matches(w.opts, e)) continue;
      mine.push(this.withPrev(w, e));
    }
    w.next = upTo + 1;
    if (mine.length === 0) return;
    w.active = true;
    if (!w.sink.send({ watchId: w.id, revision: upTo, events: mine })) w.paused = true;
  }

  private withPrev(w: Watcher, e: LoggedEvent): KvEvent {
    const ev: KvEvent = { type: e.type, kv: e.kv };
    if (w.opts.prevKv) {
      const prev: KeyValue | undefined = this.store.valueBefore(e.kv.key, e.main);
      if (prev) ev.prevKv = prev;
    }
    return ev;
  }

  /** Replays from the store until caught up with the current revision or backpressured. */
  private catchUp(w: Watcher): void {
    while (!w.paused && this.watchers.has(w.id)) {
      const current = this.store.currentRevision;
      if (w.next > current) return;
      if (w.next < this.store.compactRevision) {
        w.sink.send({ watchId: w.id, revision: current, events: [], canceled: true, compactRevision: this.store.compactRevision });
        this.watchers.delete(w.id);
        return;
      }
      const { events, through } = this.readRevisions(w.next, current, CATCH_UP_PAGE);
      this.deliver(w, events, through);
    }
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
