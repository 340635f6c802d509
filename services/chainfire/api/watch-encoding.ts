/**
 * `WatchResponseEncoder`: etcdserverpb.WatchResponse gRPC frames for watch notices, built from
 * parts encoded once. A put that a thousand watchers see is one event going to a thousand
 * streams: its mvccpb.Event encoding is cached on its KeyValue (the hub hands every watcher the
 * same one), the ResponseHeader's per revision and the events section per events array (the hub
 * hands one array to every watcher of a group), so each watcher costs a few bytes of framing and
 * one copy, written straight into its stream's batch instead of a whole protobuf encode.
 * Events carrying prev_kv get their prev_kv appended on their own (once per group and commit).
 */
import { encodeEvent, encodeKeyValue, type KeyValue, type KvEvent } from "../mvcc/key-value.ts";
import type { ResponseHeader } from "../types.ts";
import { responseHeaderType } from "./definitions.ts";

/** Field tags (field number << 3 | wire type) of WatchResponse and Event. */
const HEADER_TAG = (1 << 3) | 2;
const WATCH_ID_TAG = 2 << 3;
const EVENTS_TAG = (11 << 3) | 2;
const PREV_KV_TAG = (3 << 3) | 2;
/** The smallest buffer a FrameBatch allocates. */
const MIN_BATCH_BYTES = 4096;
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

/**
 * A stream's batch of gRPC frames: appended in place, handed over whole with `take`. Its buffer
 * is sized from the previous batch, so a steady stream allocates one buffer per batch.
 */
export class FrameBatch {
  private buf: Uint8Array | undefined;
  private size = MIN_BATCH_BYTES;
  /** Bytes appended since the last take. */
  length = 0;

  /** The buffer to write `n` more bytes into, at `length`. */
  reserve(n: number): Uint8Array {
    const need = this.length + n;
    if (!this.buf || need > this.buf.length) {
      while (this.size < need) this.size *= 2;
      const grown: Uint8Array = Buffer.allocUnsafe(this.size);
      if (this.buf) grown.set(this.buf.subarray(0, this.length));
      this.buf = grown;
    }
    return this.buf;
  }

  /** The frames appended so far (the caller owns them); the batch starts empty. */
  take(): Uint8Array {
    const out = this.buf ? this.buf.subarray(0, this.length) : new Uint8Array(0);
    this.buf = undefined;
    this.size = Math.max(MIN_BATCH_BYTES, this.length); // the next buffer: as large as this batch
    this.length = 0;
    return out;
  }
}

/** See the module comment. One per server: the caches are shared by every stream. */
export class WatchResponseEncoder {
  private readonly events = new WeakMap<KeyValue, Uint8Array>();
  private headerRevision = -1;
  private headerTerm = -1;
  private headerBytes: Uint8Array = new Uint8Array(0);
  /** The events section (field 11, repeated) of the last events array encoded. */
  private sectionOf: readonly KvEvent[] | undefined;
  private section: Uint8Array = new Uint8Array(0);

  /**
   * One gRPC frame holding the WatchResponse `{ header, watchId, events }` (no created or
   * canceled flags). `watchId` is a stream's watch id (≥ 0).
   */
  frame(header: ResponseHeader, watchId: number, events: readonly KvEvent[]): Uint8Array {
    const batch = new FrameBatch();
    this.append(batch, header, watchId, events);
    return batch.take();
  }

  /**
   * Appends that frame to `batch`. The encoded events are kept for the next call with the same
   * array (the hub hands one array to a whole group of watchers), so each further watcher costs
   * its header, its watch id and one copy. The array must not change after it was passed here.
   */
  append(batch: FrameBatch, header: ResponseHeader, watchId: number, events: readonly KvEvent[]): void {
    const h = this.header(header);
    const section = this.eventsSection(events);
    let size = 1 + varintSize(h.length) + h.length + section.length;
    if (watchId !== 0) size += 1 + varintSize(watchId);
    const out = batch.reserve(FRAME_PREFIX + size);
    let pos = batch.length;
    out[pos++] = 0; // uncompressed
    out[pos++] = size >>> 24;
    out[pos++] = (size >>> 16) & 0xff;
    out[pos++] = (size >>> 8) & 0xff;
    out[pos++] = size & 0xff;
    out[pos++] = HEADER_TAG;
    pos = writeVarint(out, pos, h.length);
    out.set(h, pos);
    pos += h.length;
    if (watchId !== 0) {
      out[pos++] = WATCH_ID_TAG;
      pos = writeVarint(out, pos, watchId);
    }
    out.set(section, pos);
    batch.length = pos + section.length;
  }

  private eventsSection(events: readonly KvEvent[]): Uint8Array {
    if (events === this.sectionOf) return this.section;
    const parts = events.map((e) => this.event(e));
    let size = 0;
    for (const p of parts) size += 1 + varintSize(p.length) + p.length;
    const out = new Uint8Array(size);
    let pos = 0;
    for (const p of parts) {
      out[pos++] = EVENTS_TAG;
      pos = writeVarint(out, pos, p.length);
      out.set(p, pos);
      pos += p.length;
    }
    this.sectionOf = events;
    this.section = out;
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
