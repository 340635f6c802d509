/**
 * How commands and their results travel through the Raft log and between members: a compact,
 * deterministic binary encoding of plain values (null, booleans, numbers, strings, byte
 * strings, arrays, objects) that keeps byte strings as raw bytes (no base64) and writes the
 * property names chainfire uses as one-byte dictionary references.
 *
 * Format (version 1): `0xB1 value`, where value is a tag byte and its payload —
 * 0 null, 1 false, 2 true, 3 uint (varint), 4 negative int (varint of -v), 5 float64 (LE),
 * 6 string (varint length, UTF-8), 7 bytes (varint length, raw), 8 array (varint count,
 * values), 9 object (varint count, (key value)*). A key is a varint k: even k names
 * `KEYS[k >> 1]`, odd k is followed by (k >> 1) bytes of UTF-8. `KEYS` is append-only: the log
 * keeps entries written by every earlier version. Bytes that do not start with 0xB1 are the
 * JSON encoding of earlier versions (byte strings as `{"$b": base64}`) and are still decoded.
 *
 * Semantics follow JSON's: object properties whose value is undefined (or a function) are
 * left out, and such array elements become null; Buffers and other Uint8Arrays are byte
 * strings; objects with `toJSON` are encoded as what it returns.
 */

const MAGIC = 0xb1;
const T_NULL = 0;
const T_FALSE = 1;
const T_TRUE = 2;
const T_UINT = 3;
const T_NEG = 4;
const T_FLOAT = 5;
const T_STRING = 6;
const T_BYTES = 7;
const T_ARRAY = 8;
const T_OBJECT = 9;

/** Property names written as one byte. Append only: indexes are part of the log format. */
const KEYS: readonly string[] = [
  "put", "key", "value", "lease", "prevKv", "ignoreValue", "ignoreLease", "deleteRange",
  "rangeEnd", "txn", "compare", "success", "failure", "result", "target", "version",
  "createRevision", "modRevision", "requestRange", "requestPut", "requestDeleteRange", "requestTxn",
  "limit", "revision", "sortOrder", "sortTarget", "serializable", "keysOnly", "countOnly",
  "minModRevision", "maxModRevision", "minCreateRevision", "maxCreateRevision", "compaction",
  "leaseGrant", "leaseRevoke", "id", "ttl", "alarm", "action", "memberId", "init", "clusterId",
  "memberAttrs", "memberRemove", "name", "peerUrls", "clientUrls", "wantsVote", "ok", "applied",
  "code", "message", "grpc", "prevKvs", "deleted", "succeeded", "responses", "responseRange",
  "responsePut", "responseDeleteRange", "responseTxn", "kvs", "count", "more", "compacted",
  "leaseId", "revoked", "alarms", "done", "maxBytes",
];
const keyIndex = new Map<string, number>(KEYS.map((k, i) => [k, i]));

const te = new TextEncoder();
const td = new TextDecoder();

/** A growable output buffer, reused between calls (encodeMessage copies its result out). */
class Out {
  buf = new Uint8Array(1024);
  view = new DataView(this.buf.buffer);
  n = 0;

  room(k: number): void {
    if (this.n + k <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.n + k) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.n));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  byte(b: number): void {
    this.room(1);
    this.buf[this.n++] = b;
  }

  varint(v: number): void {
    this.room(8);
    while (v >= 0x80) {
      this.buf[this.n++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.n++] = v;
  }

  raw(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.n);
    this.n += b.length;
  }

  /** UTF-8 with a length prefix; ASCII without a TextEncoder call. */
  utf8(s: string, shift: number, tagBit: number): void {
    const len = s.length;
    let ascii = true;
    for (let i = 0; i < len; i++) {
      if (s.charCodeAt(i) > 0x7f) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      this.varint(len * shift + tagBit);
      this.room(len);
      for (let i = 0; i < len; i++) this.buf[this.n++] = s.charCodeAt(i);
      return;
    }
    const b = te.encode(s);
    this.varint(b.length * shift + tagBit);
    this.raw(b);
  }
}

const out = new Out();

function write(o: Out, v: unknown): void {
  switch (typeof v) {
    case "number":
      if (Number.isSafeInteger(v)) {
        if (v >= 0) {
          o.byte(T_UINT);
          o.varint(v);
        } else {
          o.byte(T_NEG);
          o.varint(-v);
        }
      } else {
        o.byte(T_FLOAT);
        o.room(8);
        o.view.setFloat64(o.n, v, true);
        o.n += 8;
      }
      return;
    case "string":
      o.byte(T_STRING);
      o.utf8(v, 1, 0);
      return;
    case "boolean":
      o.byte(v ? T_TRUE : T_FALSE);
      return;
    case "object":
      break;
    default:
      // undefined, functions, symbols: JSON's null (only reached inside arrays or at the top).
      o.byte(T_NULL);
      return;
  }
  if (v === null) {
    o.byte(T_NULL);
    return;
  }
  if (v instanceof Uint8Array) {
    o.byte(T_BYTES);
    o.varint(v.length);
    o.raw(v);
    return;
  }
  if (Array.isArray(v)) {
    o.byte(T_ARRAY);
    o.varint(v.length);
    for (const x of v) write(o, x);
    return;
  }
  const withToJson = v as { toJSON?: () => unknown };
  if (typeof withToJson.toJSON === "function") {
    write(o, withToJson.toJSON());
    return;
  }
  const obj = v as Record<string, unknown>;
  let count = 0;
  for (const k in obj) {
    const x = obj[k];
    if (x !== undefined && typeof x !== "function" && typeof x !== "symbol") count++;
  }
  o.byte(T_OBJECT);
  o.varint(count);
  for (const k in obj) {
    const x = obj[k];
    if (x === undefined || typeof x === "function" || typeof x === "symbol") continue;
    const i = keyIndex.get(k);
    if (i !== undefined) o.varint(i * 2);
    else o.utf8(k, 2, 1);
    write(o, x);
  }
}

class In {
  pos = 0;
  readonly view: DataView;

  constructor(readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  byte(): number {
    if (this.pos >= this.buf.length) throw new RangeError("command truncated");
    return this.buf[this.pos++]!;
  }

  varint(): number {
    let v = 0;
    let scale = 1;
    for (;;) {
      const b = this.byte();
      v += (b & 0x7f) * scale;
      if (b < 0x80) return v;
      scale *= 0x80;
      if (scale > 2 ** 56) throw new RangeError("varint too long");
    }
  }

  take(n: number): Uint8Array {
    if (this.pos + n > this.buf.length) throw new RangeError("command truncated");
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  utf8(n: number): string {
    const b = this.take(n);
    if (n <= 32) {
      let s = "";
      for (let i = 0; i < n; i++) {
        const c = b[i]!;
        if (c > 0x7f) return td.decode(b);
        s += String.fromCharCode(c);
      }
      return s;
    }
    return td.decode(b);
  }
}

function read(r: In): unknown {
  const tag = r.byte();
  switch (tag) {
    case T_NULL:
      return null;
    case T_FALSE:
      return false;
    case T_TRUE:
      return true;
    case T_UINT:
      return r.varint();
    case T_NEG:
      return -r.varint();
    case T_FLOAT: {
      r.take(8);
      return r.view.getFloat64(r.pos - 8, true);
    }
    case T_STRING:
      return r.utf8(r.varint());
    case T_BYTES:
      return r.take(r.varint());
    case T_ARRAY: {
      const n = r.varint();
      if (n > r.buf.length) throw new RangeError("array longer than the command");
      const a = new Array<unknown>(n);
      for (let i = 0; i < n; i++) a[i] = read(r);
      return a;
    }
    case T_OBJECT: {
      const n = r.varint();
      if (n > r.buf.length) throw new RangeError("object larger than the command");
      const obj: Record<string, unknown> = {};
      for (let i = 0; i < n; i++) {
        const k = r.varint();
        let name: string;
        if (k % 2 === 0) {
          const known = KEYS[k / 2];
          if (known === undefined) throw new RangeError(`unknown key reference ${k / 2}`);
          name = known;
        } else {
          name = r.utf8((k - 1) / 2);
        }
        if (name === "__proto__") {
          // Never let decoded data reach an object's prototype.
          Object.defineProperty(obj, name, { value: read(r), enumerable: true, writable: true, configurable: true });
        } else {
          obj[name] = read(r);
        }
      }
      return obj;
    }
    default:
      throw new RangeError(`unknown tag ${tag} at ${r.pos - 1}`);
  }
}

/** Encodes a command (or a result) to bytes (a fresh buffer the caller owns). */
export function encodeMessage(value: unknown): Uint8Array {
  out.n = 0;
  out.byte(MAGIC);
  write(out, value);
  return out.buf.slice(0, out.n);
}

/**
 * Decodes bytes written by encodeMessage (or by the JSON encoding of earlier versions). Byte
 * strings are views into `bytes`: copy what must outlive a buffer that will be reused.
 * @throws RangeError (or SyntaxError for the JSON form) on malformed input.
 */
export function decodeMessage<T>(bytes: Uint8Array): T {
  if (bytes.length > 0 && bytes[0] === MAGIC) {
    const r = new In(bytes);
    r.pos = 1;
    const v = read(r);
    if (r.pos !== bytes.length) throw new RangeError(`trailing bytes after the command at ${r.pos}`);
    return v as T;
  }
  return JSON.parse(td.decode(bytes), legacyReviver) as T;
}

function legacyReviver(_key: string, value: unknown): unknown {
  if (value !== null && typeof value === "object" && "$b" in value && Object.keys(value).length === 1) {
    const b = Buffer.from((value as { $b: string }).$b, "base64");
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  }
  return value;
}
