/**
 * One watch as its owner sees it: an async iterable of event batches, in revision order, each
 * event delivered exactly once, for as long as the watch lives — across broken streams, which
 * the client's WatchStream (watch-stream.ts) repairs by re-creating the watch from the revision
 * after the last one delivered.
 *
 * The iteration ends normally after `cancel()` (or `break`), and throws when the watch cannot
 * go on: `ETCD:Compacted` (details.compactRevision) when the revision it must resume from was
 * compacted — re-list, then watch from the list's revision + 1 — `ETCD:WatchCanceled` when the
 * server cancelled it for another reason, `ETCD:Closed` when the client was closed.
 *
 * Batches wait in memory until they are read (the shared stream is never paused for one slow
 * watch, which would stall the others): read promptly, or cancel a watch you stop reading.
 */
import type { PhotonError } from "../errors.ts";
import type { Bytes } from "./bytes.ts";
import type { KeyValue } from "./key-value.ts";

/** One change. */
export interface WatchEvent {
  type: "put" | "delete";
  /** The key after the change (for a delete: the key with its deletion revision, no value). */
  kv: KeyValue;
  /** The key before the change, when the watch asked for `prevKv` and it existed. */
  prevKv?: KeyValue;
}

/** What one watch response brings. */
export interface WatchBatch {
  /** The changes, in revision order (empty for a progress notification). */
  events: WatchEvent[];
  /** The header revision: the store had at least this revision when it was sent. */
  revision: number;
  /**
   * True for a progress notification (no events): the watch has seen every change up to
   * `revision` — see `EtcdClient.requestWatchProgress` and the `progressNotify` option.
   */
  progress: boolean;
}

/** Event types a watch can leave out. */
export type WatchFilter = "noPut" | "noDelete";

/** Options of `EtcdClient.watch`. */
export interface WatchOptions {
  /** Watch every key starting with the given key. */
  prefix?: boolean;
  /** Watch `[key, end)` instead of one key (exclusive with `prefix`). */
  end?: Bytes;
  /** Deliver changes from this revision on (may be in the past); default: changes after creation. */
  startRevision?: number;
  /** Include each key's previous value. */
  prevKv?: boolean;
  /** Leave out puts or deletes. */
  filters?: WatchFilter[];
  /** Ask the server for periodic progress notifications while the watch is idle. */
  progressNotify?: boolean;
}

/** The interface a Watch needs from its stream. */
export interface WatchHost {
  cancel(w: Watch): void;
}

/** See the module comment. Create one with `EtcdClient.watch`. */
export class Watch implements AsyncIterableIterator<WatchBatch> {
  /**
   * Resolves when the server has created the watch, with the revision it started after (for
   * a watch without `startRevision`: changes after it are delivered). Rejects if the watch
   * fails before that (the same error the iteration throws).
   */
  readonly ready: Promise<number>;
  private resolveReady!: (rev: number) => void;
  private rejectReady!: (e: PhotonError) => void;
  private isReady = false;
  private readonly batches: WatchBatch[] = [];
  private failure: PhotonError | undefined;
  private ended = false;
  private waiter: { resolve: (r: IteratorResult<WatchBatch>) => void; reject: (e: unknown) => void } | null = null;
  /** Next revision to deliver (0 until known: the watch then starts at the current one). */
  nextRevision: number;

  /** Use `EtcdClient.watch`. */
  constructor(
    private readonly host: WatchHost,
    /** The create request of this watch without its start revision (set per stream). */
    readonly request: Record<string, unknown>,
    startRevision: number,
  ) {
    this.nextRevision = startRevision;
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.ready.catch(() => {});
  }

  /** The last revision delivered (or known to be covered), 0 before anything. */
  get revision(): number {
    return this.nextRevision > 0 ? this.nextRevision - 1 : 0;
  }

  /** True once the watch ended (cancelled, failed or closed). */
  get done(): boolean {
    return this.ended;
  }

  /** Stops the watch: buffered batches are still delivered, then the iteration ends. */
  cancel(): void {
    if (this.ended) return;
    this.host.cancel(this);
    this.finish(undefined);
  }

  /** Called by the stream when the server created the watch. */
  created(headerRevision: number): void {
    if (this.nextRevision === 0) this.nextRevision = headerRevision + 1;
    if (!this.isReady) {
      this.isReady = true;
      this.resolveReady(this.nextRevision - 1);
    }
  }

  /** Called by the stream with a response's events (already decoded); drops repeats. */
  deliver(events: WatchEvent[], revision: number): void {
    if (this.ended) return;
    const fresh = events.filter((e) => e.kv.modRevision >= this.nextRevision);
    if (fresh.length === 0) return;
    this.nextRevision = (fresh[fresh.length - 1] as WatchEvent).kv.modRevision + 1;
    this.push({ events: fresh, revision, progress: false });
  }

  /** Called by the stream with a progress notification. */
  progress(revision: number): void {
    if (this.ended || !this.isReady) return;
    this.push({ events: [], revision, progress: true });
  }

  /** Ends the watch: with an error, or normally when `error` is undefined. */
  finish(error: PhotonError | undefined): void {
    if (this.ended) return;
    this.ended = true;
    this.failure = error;
    if (!this.isReady) {
      this.isReady = true;
      if (error) this.rejectReady(error);
      else this.resolveReady(this.revision);
    }
    const w = this.waiter;
    if (w && this.batches.length === 0) {
      this.waiter = null;
      if (error) w.reject(error);
      else w.resolve({ value: undefined, done: true });
    }
  }

  private push(batch: WatchBatch): void {
    const w = this.waiter;
    if (w) {
      this.waiter = null;
      w.resolve({ value: batch, done: false });
    } else {
      this.batches.push(batch);
    }
  }

  /** The next batch; rejects with the watch's error once it failed. One consumer at a time. */
  next(): Promise<IteratorResult<WatchBatch>> {
    const b = this.batches.shift();
    if (b) return Promise.resolve({ value: b, done: false });
    if (this.ended) return this.failure ? Promise.reject(this.failure) : Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** Called by `for await` on `break`: cancels the watch. */
  return(): Promise<IteratorResult<WatchBatch>> {
    this.cancel();
    this.batches.length = 0;
    return Promise.resolve({ value: undefined, done: true });
  }

  /** The watch is its own iterator: iterating again continues where the last loop stopped. */
  [Symbol.asyncIterator](): this {
    return this;
  }
}
