/**
 * HPACK (RFC 7541) for the gRPC HTTP/2 server transport: a full decoder (static and dynamic
 * tables, table size updates, Huffman-coded strings) for request header blocks, and a
 * stateless encoder for response headers and trailers.
 *
 * The encoder never adds to the peer's dynamic table (every field is a literal "without
 * indexing", names from the static table where they are in it, values raw): it keeps no state,
 * so any header block can be built once and reused (the OK response headers and trailers of
 * every call are constant buffers), and it never has to track what the peer evicted.
 *
 * npm's HPACK packages were considered: hpack.js is built on readable-stream (the per-object
 * stream cost this transport exists to avoid), `hpack` is unmaintained; this file is small and
 * tested against the RFC's Appendix C examples (hpack.test.ts).
 */
import { HUFFMAN_CODES, STATIC_TABLE } from "./hpack-tables.ts";

/** A malformed header block: the connection must end with COMPRESSION_ERROR (RFC 9113 4.3). */
export class HpackError extends Error {
  override readonly name = "HpackError";
}

// ---- Huffman decoding: a binary trie in one Int32Array ----
// Node i has children at 2i (bit 0) and 2i+1 (bit 1); a child value > 0 is a node index, < 0 a
// leaf holding -(symbol + 1), 0 no code.
const trie = buildTrie();

function buildTrie(): Int32Array {
  const t = new Int32Array(2 * 512);
  let next = 1;
  for (let sym = 0; sym <= 256; sym++) {
    const code = HUFFMAN_CODES[2 * sym]!;
    const len = HUFFMAN_CODES[2 * sym + 1]!;
    let node = 0;
    for (let i = len - 1; i >= 0; i--) {
      const slot = 2 * node + ((code >>> i) & 1);
      if (i === 0) {
        t[slot] = -(sym + 1);
      } else {
        if (t[slot] === 0) t[slot] = next++;
        node = t[slot]!;
      }
    }
  }
  return t;
}

/**
 * Decodes a Huffman-coded string (RFC 7541 5.2). Throws HpackError for an EOS symbol, padding
 * longer than 7 bits or padding that is not the EOS prefix (all ones).
 */
export function huffmanDecode(buf: Uint8Array, start: number, end: number): string {
  const out: number[] = [];
  let node = 0;
  let depth = 0; // bits consumed since the last symbol
  let allOnes = true;
  for (let p = start; p < end; p++) {
    const byte = buf[p]!;
    for (let b = 7; b >= 0; b--) {
      const bit = (byte >> b) & 1;
      const v = trie[2 * node + bit]!;
      depth++;
      if (bit === 0) allOnes = false;
      if (v < 0) {
        const sym = -v - 1;
        if (sym === 256) throw new HpackError("Huffman string contains EOS");
        out.push(sym);
        node = 0;
        depth = 0;
        allOnes = true;
      } else if (v === 0) {
        throw new HpackError("invalid Huffman code");
      } else {
        node = v;
      }
    }
  }
  if (depth > 7 || !allOnes) throw new HpackError("invalid Huffman padding");
  return latin1(out);
}

function latin1(codes: number[]): string {
  let s = "";
  for (let i = 0; i < codes.length; i += 4096) s += String.fromCharCode(...codes.slice(i, i + 4096));
  return s;
}

/** A decoded header field: name, value. Shared between lists and the table: never mutate. */
export type HeaderField = readonly [name: string, value: string];

/** The static table as fields (shared by every decoded list). */
const STATIC_FIELDS: HeaderField[] = STATIC_TABLE.map(([name, value]) => [name, value] as const);

/**
 * The decoding context of one connection (RFC 7541 2.2, 4). `maxTableSize` is the
 * SETTINGS_HEADER_TABLE_SIZE we advertise: the peer's size updates may not exceed it.
 */
export class HpackDecoder {
  // Dynamic table, newest first (index 62 is entries[0]).
  private entries: HeaderField[] = [];
  private size = 0;
  private capacity: number;

  constructor(private readonly maxTableSize = 4096) {
    this.capacity = maxTableSize;
  }

  /**
   * Decodes one complete header block. Throws HpackError on any malformed input (the caller
   * then ends the connection: the shared table is out of sync), and when the decoded list is
   * larger than `maxListSize` (RFC 9113 6.5.2 size: name + value + 32 per field), which bounds
   * what a small block of indexed references can expand to.
   */
  decode(buf: Uint8Array, maxListSize = Infinity): HeaderField[] {
    const fields: HeaderField[] = [];
    let listSize = 0;
    let p = 0;
    let sawField = false;
    const n = buf.length;
    while (p < n) {
      const b = buf[p]!;
      let f: HeaderField;
      if (b & 0x80) {
        // 6.1 indexed field
        const index = readInt(buf, p, 7);
        p = cursor;
        if (index === 0) throw new HpackError("index 0");
        f = this.field(index);
      } else if (b & 0x40) {
        // 6.2.1 literal with incremental indexing
        f = this.literal(buf, p, 6);
        p = cursor;
        this.add(f);
      } else if (b & 0x20) {
        // 6.3 dynamic table size update: only at the start of a block
        if (sawField) throw new HpackError("table size update after a header field");
        const size = readInt(buf, p, 5);
        p = cursor;
        if (size > this.maxTableSize) throw new HpackError(`table size ${size} above the limit ${this.maxTableSize}`);
        this.capacity = size;
        this.evict(0);
        continue;
      } else {
        // 6.2.2 without indexing (0000), 6.2.3 never indexed (0001)
        f = this.literal(buf, p, 4);
        p = cursor;
      }
      fields.push(f);
      sawField = true;
      listSize += f[0].length + f[1].length + 32;
    }
    if (listSize > maxListSize) throw new HpackError(`header list of ${listSize} octets is over the limit of ${maxListSize}`);
    return fields;
  }

  /** The current dynamic table size in RFC 7541 4.1 octets (for tests). */
  get tableSize(): number {
    return this.size;
  }

  /** The dynamic table, newest first (for tests). */
  get table(): readonly HeaderField[] {
    return this.entries;
  }

  // Fields are shared, never copied: the table's entries and the decoded lists hold the same
  // (immutable) pairs, which saves an allocation per indexed field of every request.
  private field(index: number): HeaderField {
    if (index <= STATIC_TABLE.length) return STATIC_FIELDS[index - 1]!;
    const e = this.entries[index - STATIC_TABLE.length - 1];
    if (e === undefined) throw new HpackError(`index ${index} is not in the table`);
    return e;
  }

  /** A literal field at `p`; leaves `cursor` after it. */
  private literal(buf: Uint8Array, p: number, prefix: number): HeaderField {
    const index = readInt(buf, p, prefix);
    const name = index === 0 ? readString(buf, cursor) : this.field(index)[0];
    const value = readString(buf, cursor);
    return [name, value];
  }

  private add(f: HeaderField): void {
    const size = f[0].length + f[1].length + 32;
    if (size > this.capacity) {
      // 4.4: an entry larger than the table empties it and is not added.
      this.entries = [];
      this.size = 0;
      return;
    }
    this.evict(size);
    this.entries.unshift(f);
    this.size += size;
  }

  private evict(room: number): void {
    while (this.size + room > this.capacity && this.entries.length > 0) {
      const e = this.entries.pop()!;
      this.size -= e[0].length + e[1].length + 32;
    }
  }
}

/**
 * Where the last `readInt` or `readString` stopped. A module-level cursor instead of returned
 * [value, position] pairs: decoding is synchronous, and the pairs were most of the garbage a
 * request's header block made.
 */
let cursor = 0;

/** Reads an N-bit-prefix integer (RFC 7541 5.1) at `p`; `cursor` is left after it. */
export function readInt(buf: Uint8Array, p: number, prefix: number): number {
  if (p >= buf.length) throw new HpackError("truncated integer");
  const max = (1 << prefix) - 1;
  let v = buf[p]! & max;
  p++;
  if (v < max) {
    cursor = p;
    return v;
  }
  let shift = 0;
  for (;;) {
    if (p >= buf.length) throw new HpackError("truncated integer");
    const b = buf[p++]!;
    v += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if (v > 0x7fffffff) throw new HpackError("integer too large");
    if ((b & 0x80) === 0) {
      cursor = p;
      return v;
    }
  }
}

/** Reads a string literal (RFC 7541 5.2) at `p`; `cursor` is left after it. */
function readString(buf: Uint8Array, p: number): string {
  if (p >= buf.length) throw new HpackError("truncated string");
  const huffman = (buf[p]! & 0x80) !== 0;
  const len = readInt(buf, p, 7);
  const q = cursor;
  const end = q + len;
  if (end > buf.length) throw new HpackError("truncated string");
  cursor = end;
  if (huffman) return huffmanDecode(buf, q, end);
  return Buffer.from(buf.buffer, buf.byteOffset + q, len).toString("latin1");
}

// ---- encoding ----

const staticNameIndex = new Map<string, number>();
const staticFieldIndex = new Map<string, number>();
STATIC_TABLE.forEach(([name, value], i) => {
  if (!staticNameIndex.has(name)) staticNameIndex.set(name, i + 1);
  staticFieldIndex.set(`${name}\0${value}`, i + 1);
});

function pushInt(out: number[], value: number, prefix: number, first: number): void {
  const max = (1 << prefix) - 1;
  if (value < max) {
    out.push(first | value);
    return;
  }
  out.push(first | max);
  value -= max;
  while (value >= 0x80) {
    out.push((value & 0x7f) | 0x80);
    value = Math.floor(value / 128);
  }
  out.push(value);
}

function pushString(out: number[], s: string): void {
  const bytes = Buffer.from(s, "latin1");
  pushInt(out, bytes.length, 7, 0);
  for (const b of bytes) out.push(b);
}

/**
 * Encodes header fields as one header block without touching the peer's dynamic table
 * (see the module comment). Names must be lowercase; values are sent as latin1 (gRPC's
 * ASCII metadata; binary metadata is base64 by then).
 */
export function encodeHeaders(fields: Iterable<readonly [string, string]>): Buffer {
  const out: number[] = [];
  for (const [name, value] of fields) {
    const full = staticFieldIndex.get(`${name}\0${value}`);
    if (full !== undefined) {
      pushInt(out, full, 7, 0x80);
      continue;
    }
    const nameIndex = staticNameIndex.get(name);
    if (nameIndex !== undefined) {
      pushInt(out, nameIndex, 4, 0x00);
    } else {
      out.push(0x00);
      pushString(out, name);
    }
    pushString(out, value);
  }
  return Buffer.from(out);
}
