/**
 * `WatchResponseEncoder`: etcdserverpb.WatchResponse gRPC frames for watch notices, built from
 * parts encoded once. A put that a thousand watchers see is one event going to a thousand
 * streams: its mvccpb.Event encoding is cached on its KeyValue (the hub hands every watcher the
 * same one) and the ResponseHeader's per revision, so each watcher costs a few bytes of framing
 * written into one buffer instead of a whole protobuf encode. Events carrying prev_kv (which
 * differs per watcher) get their prev_kv appended on their own.
 */
import { encodeEvent, encodeKeyValue, type KeyValue, type KvEvent } from "../mvcc/key-value.ts";
import type { ResponseHeader } from "../types.ts";
import { responseHeaderType } from "./definitions.ts";

/** Field tags (field number << 3 | wire type) of WatchResponse and Event. */
const HEADER_TAG = (1 << 3) | 2;
const WATCH_ID_TAG = 2 << 3;
const EVENTS_TAG = (11 << 3) | 2;
const PREV_KV_TAG = (3 << 3) | 2;
/** gRPC's length prefix: 1 flag byte + 4 bytes of length. */
const FRAME_PREFIX = 5;

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    size++;
  }
  return size;
}

function writeVarint(out: Uint8Array, pos: number, n: number): number {
  while (n >= 0x80) {
    out[pos++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  out[pos++] = n;
  return pos;
}

/** See the module comment. One per server: the caches are shared by every stream. */
export class WatchResponseEncoder {
  private readonly events = new WeakMap<KeyValue, Uint8Array>();
  private headerRevision = -1;
  private headerTerm = -1;
  private headerBytes: Uint8Array = new Uint8Array(0);

  /**
   * One gRPC frame holding the WatchResponse `{ header, watchId, events }` (no created or
   * canceled flags). `watchId` is a stream's watch id (≥ 0).
   */
  frame(header: ResponseHeader, watchId: number, events: readonly KvEvent[]): Uint8Array {
    const h = this.header(header);
    const parts = events.map((e) => this.event(e));
    let size = 1 + varintSize(h.length) + h.length;
    if (watchId !== 0) size += 1 + varintSize(watchId);
    for (const p of parts) size += 1 + varintSize(p.length) + p.length;
    const out = new Uint8Array(FRAME_PREFIX + size);
    new DataView(out.buffer).setUint32(1, size);
    let pos = FRAME_PREFIX;
    out[pos++] = HEADER_TAG;
    pos = writeVarint(out, pos, h.length);
    out.set(h, pos);
    pos += h.length;
    if (watchId !== 0) {
      out[pos++] = WATCH_ID_TAG;
      pos = writeVarint(out, pos, watchId);
    }
    for (const p of parts) {
      out[pos++] = EVENTS_TAG;
      pos = writeVarint(out, pos, p.length);
      out.set(p, pos);
      pos += p.length;
    }
    return out;
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
    const out = new Uint8Array(base.length + 1 + varintSize(prev.length) + prev.length);
    out.set(base, 0);
    let pos = base.length;
    out[pos++] = PREV_KV_TAG;
    pos = writeVarint(out, pos, prev.length);
    out.set(prev, pos);
    return out;
  }
}
