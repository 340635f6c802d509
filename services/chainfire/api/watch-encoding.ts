/**
 * `WatchResponseEncoder`: etcdserverpb.WatchResponse bytes for watch notices, built from parts
 * encoded once. A put that a thousand watchers see is one event going to a thousand streams: its
 * mvccpb.Event encoding is cached on its KeyValue (the hub hands every watcher the same one) and
 * the ResponseHeader's per revision, so each watcher costs a few bytes of framing instead of a
 * whole protobuf encode. Events carrying prev_kv (per-watcher) are encoded on their own.
 */
import protobuf from "protobufjs";
import { encodeEvent, encodeKeyValue, type KeyValue, type KvEvent } from "../mvcc/key-value.ts";
import type { ResponseHeader } from "../types.ts";
import { responseHeaderType } from "./definitions.ts";

/** Field tags (field number << 3 | wire type) of WatchResponse and Event. */
const HEADER_TAG = (1 << 3) | 2;
const WATCH_ID_TAG = 2 << 3;
const EVENTS_TAG = (11 << 3) | 2;
const PREV_KV_TAG = (3 << 3) | 2;

/** See the module comment. One per server: the caches are shared by every stream. */
export class WatchResponseEncoder {
  private readonly events = new WeakMap<KeyValue, Uint8Array>();
  private headerRevision = -1;
  private headerTerm = -1;
  private headerBytes: Uint8Array = new Uint8Array(0);

  /** The WatchResponse `{ header, watchId, events }` (no created/canceled flags). */
  encode(header: ResponseHeader, watchId: number, events: readonly KvEvent[]): Uint8Array {
    const w = protobuf.Writer.create();
    w.uint32(HEADER_TAG).bytes(this.header(header));
    if (watchId !== 0) w.uint32(WATCH_ID_TAG).int64(watchId);
    for (const e of events) w.uint32(EVENTS_TAG).bytes(this.event(e));
    return w.finish();
  }

  private header(h: ResponseHeader): Uint8Array {
    if (h.revision !== this.headerRevision || h.raftTerm !== this.headerTerm) {
      this.headerBytes = responseHeaderType.encode(h).finish();
      this.headerRevision = h.revision;
      this.headerTerm = h.raftTerm;
    }
    return this.headerBytes;
  }

  private event(e: KvEvent): Uint8Array {
    let base = this.events.get(e.kv);
    if (!base) {
      base = encodeEvent(e.type, e.kv);
      this.events.set(e.kv, base);
    }
    if (!e.prevKv) return base;
    const prev = encodeKeyValue(e.prevKv);
    const w = protobuf.Writer.create();
    w.uint32(PREV_KV_TAG).bytes(prev);
    const tail = w.finish();
    const out = new Uint8Array(base.length + tail.length);
    out.set(base, 0);
    out.set(tail, base.length);
    return out;
  }
}
