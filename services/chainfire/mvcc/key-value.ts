/**
 * mvccpb.KeyValue and mvccpb.Event in their protobuf wire form. The store keeps records in the
 * exact encoding etcd clients receive, so a range response can embed stored bytes without
 * re-encoding them. Hand-written because it is the hot path and the messages are tiny.
 */

/** An etcd key-value at some revision (mvccpb.KeyValue). */
export interface KeyValue {
  key: Uint8Array;
  createRevision: number;
  modRevision: number;
  version: number;
  value: Uint8Array;
  lease: number;
}

/** A change (mvccpb.Event). */
export interface KvEvent {
  type: "PUT" | "DELETE";
  kv: KeyValue;
  prevKv?: KeyValue;
}

function varintSize(n: number): number {
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/** Writes an unsigned varint (n < 2^53) at pos; returns the new position. */
function writeVarint(out: Uint8Array, pos: number, n: number): number {
  while (n >= 128) {
    out[pos++] = (n % 128) | 128;
    n = Math.floor(n / 128);
  }
  out[pos++] = n;
  return pos;
}

/** Reads an unsigned varint; negative int64s (10 bytes) are rejected as corrupt. */
function readVarint(b: Uint8Array, pos: number): [number, number] {
  let n = 0;
  let mul = 1;
  for (let i = 0; i < 8; i++) {
    const byte = b[pos++];
    if (byte === undefined) throw new RangeError("truncated varint");
    n += (byte & 127) * mul;
    if (byte < 128) return [n, pos];
    mul *= 128;
  }
  throw new RangeError("varint too long");
}

function intField(n: number): number {
  return n === 0 ? 0 : 1 + varintSize(n);
}

function bytesField(len: number): number {
  return len === 0 ? 0 : 1 + varintSize(len) + len;
}

/** Size of a KeyValue's encoding. */
export function keyValueSize(kv: KeyValue): number {
  return (
    bytesField(kv.key.length) +
    intField(kv.createRevision) +
    intField(kv.modRevision) +
    intField(kv.version) +
    bytesField(kv.value.length) +
    intField(kv.lease)
  );
}

function putInt(out: Uint8Array, pos: number, field: number, n: number): number {
  if (n === 0) return pos;
  out[pos++] = field << 3;
  return writeVarint(out, pos, n);
}

function putBytes(out: Uint8Array, pos: number, field: number, b: Uint8Array): number {
  if (b.length === 0) return pos;
  out[pos++] = (field << 3) | 2;
  pos = writeVarint(out, pos, b.length);
  out.set(b, pos);
  return pos + b.length;
}

/** Writes a KeyValue's encoding at pos; returns the new position. */
function writeKeyValue(out: Uint8Array, pos: number, kv: KeyValue): number {
  pos = putBytes(out, pos, 1, kv.key);
  pos = putInt(out, pos, 2, kv.createRevision);
  pos = putInt(out, pos, 3, kv.modRevision);
  pos = putInt(out, pos, 4, kv.version);
  pos = putBytes(out, pos, 5, kv.value);
  return putInt(out, pos, 6, kv.lease);
}

/** Encodes a KeyValue (mvccpb.KeyValue wire format). */
export function encodeKeyValue(kv: KeyValue): Uint8Array {
  const out = new Uint8Array(keyValueSize(kv));
  writeKeyValue(out, 0, kv);
  return out;
}

/** Decodes a KeyValue; key and value are views into `b`. Unknown fields are skipped. */
export function decodeKeyValue(b: Uint8Array): KeyValue {
  const kv: KeyValue = { key: empty, createRevision: 0, modRevision: 0, version: 0, value: empty, lease: 0 };
  let pos = 0;
  while (pos < b.length) {
    let tag: number;
    [tag, pos] = readVarint(b, pos);
    const field = tag >>> 3;
    const wire = tag & 7;
    if (wire === 0) {
      let n: number;
      [n, pos] = readVarint(b, pos);
      if (field === 2) kv.createRevision = n;
      else if (field === 3) kv.modRevision = n;
      else if (field === 4) kv.version = n;
      else if (field === 6) kv.lease = n;
    } else if (wire === 2) {
      let len: number;
      [len, pos] = readVarint(b, pos);
      if (pos + len > b.length) throw new RangeError("truncated bytes field");
      const v = b.subarray(pos, pos + len);
      pos += len;
      if (field === 1) kv.key = v;
      else if (field === 5) kv.value = v;
    } else {
      throw new RangeError(`unexpected wire type ${wire}`);
    }
  }
  return kv;
}

const empty = new Uint8Array(0);

/** Encodes an Event without prev_kv (the form kept in the change log). */
export function encodeEvent(type: "PUT" | "DELETE", kv: KeyValue): Uint8Array {
  const kvSize = keyValueSize(kv);
  const typeSize = type === "DELETE" ? 2 : 0;
  const out = new Uint8Array(typeSize + 1 + varintSize(kvSize) + kvSize);
  let pos = 0;
  if (type === "DELETE") {
    out[pos++] = 1 << 3;
    out[pos++] = 1;
  }
  out[pos++] = (2 << 3) | 2;
  pos = writeVarint(out, pos, kvSize);
  writeKeyValue(out, pos, kv);
  return out;
}

/** Decodes an Event written by encodeEvent. */
export function decodeEvent(b: Uint8Array): KvEvent {
  let pos = 0;
  let type: "PUT" | "DELETE" = "PUT";
  let kv: KeyValue | undefined;
  while (pos < b.length) {
    let tag: number;
    [tag, pos] = readVarint(b, pos);
    if (tag === 1 << 3) {
      let n: number;
      [n, pos] = readVarint(b, pos);
      type = n === 1 ? "DELETE" : "PUT";
    } else if (tag === ((2 << 3) | 2)) {
      let len: number;
      [len, pos] = readVarint(b, pos);
      kv = decodeKeyValue(b.subarray(pos, pos + len));
      pos += len;
    } else {
      throw new RangeError(`unexpected event tag ${tag}`);
    }
  }
  if (!kv) throw new RangeError("event without kv");
  return { type, kv };
}
