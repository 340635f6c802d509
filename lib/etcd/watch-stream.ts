/**
 * The client's one Watch stream, shared by all its watches (etcd multiplexes watches over a
 * stream by watch id). The client picks the ids (etcd ≥ 3.4's `watch_id`), so creates need not
 * wait for each other. When the stream breaks — connection lost, server restarted, endpoint
 * down — it is re-opened (on the next endpoint, with backoff) and every watch is re-created
 * from the revision after the last event it delivered, so nothing is lost or repeated. The
 * stream is opened with the first watch and ended when the last one is cancelled.
 *
 * Progress: a progress request is answered with watch id -1 and applies to every watch of the
 * stream. Progress notifications never move a watch's resume revision (etcd 3.4 may send a
 * broadcast progress ahead of events still queued for an unsynced watch); only events do.
 */
import type { PhotonError } from "../errors.ts";
import type { ClientDuplex } from "../grpc/index.ts";
import { int64ToNumber, type WireInt64 } from "./bytes.ts";
import type { Connection } from "./connection.ts";
import { EtcdErrors, toEtcdError } from "./errors.ts";
import { KeyValue, optionalKv, type WireHeader, type WireKeyValue } from "./key-value.ts";
import { watchService } from "./rpc.ts";
import type { Watch, WatchEvent, WatchHost } from "./watch.ts";

interface WireWatchResponse {
  header?: WireHeader | null;
  watchId?: WireInt64;
  created?: boolean;
  canceled?: boolean;
  compactRevision?: WireInt64;
  cancelReason?: string;
  events?: { type?: number; kv?: WireKeyValue | null; prevKv?: WireKeyValue | null }[];
}

type Call = ClientDuplex<Record<string, unknown>, WireWatchResponse>;

/** Errors after which re-opening the stream cannot help. */
const permanent = new Set(["ETCD:PermissionDenied", "ETCD:Unauthenticated", "ETCD:Unimplemented", "ETCD:InvalidArgument", "ETCD:Closed"]);

const MAX_BACKOFF_MS = 2000;

/** See the module comment. */
export class WatchStream implements WatchHost {
  private readonly watches = new Set<Watch>();
  /** Watch → its id on the current stream. */
  private readonly wireIds = new Map<Watch, number>();
  private readonly byWireId = new Map<number, Watch>();
  private call: Call | null = null;
  private nextWireId = 1;
  private running = false;
  private closed = false;
  private wake: (() => void) | null = null;

  constructor(private readonly conn: Connection) {}

  /** Number of live watches. */
  get size(): number {
    return this.watches.size;
  }

  /** Registers a watch and creates it on the stream (opening the stream if needed). */
  add(w: Watch): void {
    if (this.closed) {
      w.finish(EtcdErrors.Closed("the etcd client is closed"));
      return;
    }
    this.watches.add(w);
    if (this.call) this.create(this.call, w);
    if (!this.running) void this.run();
  }

  /** WatchHost: the owner cancelled `w`. */
  cancel(w: Watch): void {
    if (!this.watches.delete(w)) return;
    const id = this.wireIds.get(w);
    this.forget(w);
    const call = this.call;
    if (!call) return;
    if (this.watches.size === 0) {
      // Last one: end the stream instead (the server cancels everything on it).
      this.call = null;
      call.cancel();
    } else if (id !== undefined) {
      void call.write({ cancelRequest: { watchId: id } });
    }
  }

  /**
   * Asks the server for a progress notification on every watch of the stream; each watch then
   * gets a batch with `progress: true` and the server's current revision. No-op with no watch
   * or while the stream is being re-opened.
   */
  requestProgress(): void {
    void this.call?.write({ progressRequest: {} });
  }

  /** Ends every watch with `ETCD:Closed` and the stream. */
  close(): void {
    this.closed = true;
    const err = EtcdErrors.Closed("the etcd client is closed");
    for (const w of this.watches) w.finish(err);
    this.watches.clear();
    this.call?.cancel();
    this.call = null;
    this.wake?.();
  }

  private create(call: Call, w: Watch): void {
    const id = this.nextWireId++;
    this.wireIds.set(w, id);
    this.byWireId.set(id, w);
    void call.write({ createRequest: { ...w.request, startRevision: w.nextRevision, watchId: id } });
  }

  private forget(w: Watch): void {
    const id = this.wireIds.get(w);
    if (id === undefined) return;
    this.wireIds.delete(w);
    this.byWireId.delete(id);
  }

  private fail(w: Watch, error: PhotonError): void {
    this.watches.delete(w);
    this.forget(w);
    w.finish(error);
  }

  private async run(): Promise<void> {
    this.running = true;
    let backoff = 50;
    try {
      while (!this.closed && this.watches.size > 0) {
        let index = -1;
        let error: PhotonError | undefined;
        try {
          const opened = this.conn.bidi<Record<string, unknown>, WireWatchResponse>(watchService.methods.Watch);
          index = opened.index;
          const call = opened.call;
          this.call = call;
          this.wireIds.clear();
          this.byWireId.clear();
          this.nextWireId = 1;
          for (const w of this.watches) this.create(call, w);
          for await (const res of call) {
            this.onResponse(res);
            backoff = 50;
          }
        } catch (e) {
          error = toEtcdError(e);
        }
        this.call = null;
        if (this.closed || this.watches.size === 0) break;
        if (error && permanent.has(error.code)) {
          for (const w of [...this.watches]) this.fail(w, error);
          break;
        }
        if (index >= 0 && (!error || error.code === "ETCD:Unavailable")) this.conn.failed(index);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, backoff);
          this.wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        this.wake = null;
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      }
    } finally {
      this.running = false;
      // A watch added while the loop was ending needs a new loop.
      if (!this.closed && this.watches.size > 0) void this.run();
    }
  }

  private onResponse(res: WireWatchResponse): void {
    const id = int64ToNumber(res.watchId);
    const revision = int64ToNumber(res.header?.revision);
    if (id === -1) {
      for (const w of this.watches) if (this.wireIds.has(w)) w.progress(revision);
      return;
    }
    const w = this.byWireId.get(id);
    if (!w) return;
    if (res.canceled) {
      const compactRevision = int64ToNumber(res.compactRevision);
      this.fail(
        w,
        compactRevision > 0
          ? EtcdErrors.Compacted(`the watch must resume at revision ${w.nextRevision}, which was compacted (compact revision ${compactRevision})`, {
              details: { compactRevision, revision: w.nextRevision },
            })
          : EtcdErrors.WatchCanceled(`the server cancelled the watch: ${res.cancelReason || "no reason given"}`, { details: { reason: res.cancelReason ?? "" } }),
      );
      return;
    }
    if (res.created) {
      w.created(revision);
      return;
    }
    const events = res.events ?? [];
    if (events.length === 0) {
      w.progress(revision);
      return;
    }
    w.deliver(events.map(toEvent), revision);
  }
}

function toEvent(e: { type?: number; kv?: WireKeyValue | null; prevKv?: WireKeyValue | null }): WatchEvent {
  const prevKv = optionalKv(e.prevKv);
  return { type: e.type === 1 ? "delete" : "put", kv: new KeyValue(e.kv ?? {}), ...(prevKv ? { prevKv } : {}) };
}
