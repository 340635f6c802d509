/**
 * Scans through bun:ffi (rocks-ffi.ts, native/engine/src/ffi.rs) against the N-API path: the
 * same pairs byte for byte for every shape of scan, pages larger than the scratch (handed over
 * without a copy and freed once collected, or copied), pages that own their memory, the
 * in-place accessors, snapshots, and clean ENGINE errors for closed and stale handles and bad
 * arguments.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Database } from "../../native/photon-native.d.ts";
import { PhotonError } from "../errors.ts";
import { native } from "../native.ts";
import { prefixEnd, RocksEngine, type ScanOptions, type ScanPage } from "./index.ts";
import { ffiReads, PAGE_HEADER, SCAN_KEYS_ONLY, SCAN_REVERSE, setDetachedMax } from "./rocks-ffi.ts";

const b = (s: string) => Buffer.from(s);
const pattern = (n: number, seed: number) => new Uint8Array(n).map((_, i) => (i * 31 + seed) % 251);

let dir: string;
let fast: RocksEngine;
let napi: RocksEngine;
/** A bare addon database, to compare the raw bun:ffi page with the raw N-API result. */
let raw: Database;
const entries: [Uint8Array, Uint8Array][] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "photon-engine-ffi-scan-"));
  fast = RocksEngine.open(join(dir, "fast"), { columnFamilies: ["default", "data"] });
  napi = RocksEngine.open(join(dir, "napi"), { columnFamilies: ["default", "data"], pointReads: "napi" });
  raw = native().Database.open(join(dir, "raw"), { columnFamilies: ["default", "data"] });
  for (let i = 0; i < 300; i++) entries.push([b(`k${String(i).padStart(4, "0")}`), pattern(i % 7 === 0 ? 0 : 1 + (i % 50), i)]);
  entries.push([b("p/a"), b("1")], [b("p/b"), new Uint8Array(0)], [b("p0"), b("past the prefix")]);
  entries.push([new Uint8Array([0, 255]), pattern(3, 9)], [new Uint8Array([255, 255]), pattern(5, 8)]);
  entries.push([b("big/1"), pattern(200 * 1024, 1)], [b("big/2"), pattern(70 * 1024, 2)]); // beyond the 64 KiB scratch
  for (const db of [fast, napi]) {
    const batch = db.batch();
    for (const [k, v] of entries) batch.put(db.cf("data"), k, v);
    db.write(batch);
  }
  for (const [k, v] of entries) raw.put(1, k, v);
});

afterAll(() => {
  fast.close();
  napi.close();
  raw.close();
  rmSync(dir, { recursive: true, force: true });
});

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(PhotonError);
    return (e as PhotonError).code;
  }
  throw new Error("expected an error");
}

const hex = (a: Uint8Array | undefined) => (a === undefined ? "-" : Buffer.from(a).toString("hex"));
/** A page in comparable form: every pair, `more` and the continuation. */
function shape(p: ScanPage) {
  const next = p.next && { ...p.next, start: hex(p.next.start), end: hex(p.next.end) };
  return { count: p.count, more: p.more, next, pairs: p.pairs.map((x) => `${hex(x.key)}=${hex(x.value)}`) };
}

/** Every shape of scan the tests compare. */
const scans: ScanOptions[] = [
  {},
  { limit: 0 },
  { limit: 1 },
  { limit: 17 },
  { start: b("k0100"), end: b("k0200"), limit: 30 },
  { start: b("k0100"), end: b("k0200"), limit: 30, reverse: true },
  { reverse: true, limit: 5 },
  { prefix: b("p/") },
  { prefix: b("p/"), reverse: true, limit: 1 },
  { prefix: new Uint8Array([255]) },
  { keysOnly: true, limit: 50 },
  { keysOnly: true, reverse: true, prefix: b("big/") },
  { maxBytes: 1, limit: 10 },
  { maxBytes: 500, start: b("k0010") },
  { prefix: b("big/") },
  { start: b("zzz") },
  { start: b("k0200"), end: b("k0100") },
];

describe("scans over bun:ffi", () => {
  it("is the path Bun takes by default", () => {
    expect(fast.pointReads).toBe("ffi");
    // Only the bun:ffi page starts with the 16-byte header that points at its offset table.
    const page = fast.scan(fast.cf("data"), { limit: 3 });
    const header = new DataView(page.bytes.buffer, page.bytes.byteOffset);
    expect(header.getUint32(8, true)).toBe(page.bytes.length - 4 * 3);
    expect(page.keyOffset(0)).toBe(PAGE_HEADER + 4);
  });

  it("builds the same pairs as the N-API scan, byte for byte", () => {
    const reads = ffiReads()!;
    for (const o of scans) {
      const flags = (o.reverse ? SCAN_REVERSE : 0) | (o.keysOnly ? SCAN_KEYS_ONLY : 0);
      const start = o.prefix ?? o.start;
      const end = o.prefix ? prefixEnd(o.prefix) : o.end;
      const limit = o.limit ?? 1000;
      const page = reads.scan(raw.ffiHandle, 1, 0, start, end, flags, limit, o.maxBytes ?? 0);
      const want = raw.scan(1, { start, end, limit, maxBytes: o.maxBytes, reverse: o.reverse, keysOnly: o.keysOnly });
      const view = new DataView(page.buffer, page.byteOffset);
      const label = JSON.stringify({ ...o, start: hex(start), end: hex(end) });
      expect(view.getUint32(0, true), label).toBe(want.readUInt32LE(0)); // count
      expect(view.getUint32(4, true), label).toBe(want.readUInt32LE(4)); // more
      const table = view.getUint32(8, true);
      expect(Buffer.compare(page.subarray(PAGE_HEADER, PAGE_HEADER + want.length - 8), want.subarray(8)), label).toBe(0);
      expect(table - PAGE_HEADER - (want.length - 8), label).toBeLessThan(4); // only padding between
    }
  });

  it("returns the same pages as N-API through the engine, continuations included", () => {
    const data = fast.cf("data");
    for (const o of scans) expect(shape(fast.scan(data, o)), JSON.stringify(o)).toEqual(shape(napi.scan(data, o)));
    for (const o of [{ limit: 7 }, { limit: 7, reverse: true }, { maxBytes: 2000 }, { prefix: b("big/"), limit: 1 }]) {
      const got = [...fast.scanAll(data, o)].map((p) => `${hex(p.key)}=${hex(p.value)}`);
      expect(got, JSON.stringify(o)).toEqual([...napi.scanAll(data, o)].map((p) => `${hex(p.key)}=${hex(p.value)}`));
    }
    const all = [...fast.scanAll(data, { limit: 64 })];
    expect(all.length).toBe(entries.length);
    const sorted = [...entries].sort(([x], [y]) => Buffer.compare(x, y));
    all.forEach((p, i) => expect(hex(p.key) + hex(p.value)).toBe(hex(sorted[i]![0]) + hex(sorted[i]![1])));
  });

  it("reads pairs in place through the offset table, on both paths", () => {
    const data = fast.cf("data");
    for (const db of [fast, napi]) {
      for (const o of [{ limit: 40 }, { keysOnly: true, prefix: b("big/") }, { prefix: b("big/") }, { start: b("zzz") }]) {
        const page = db.scan(data, o);
        for (let i = 0; i < page.count; i++) {
          const { key, value } = page.pairs[i]!;
          expect(hex(page.key(i))).toBe(hex(key));
          expect(hex(page.value(i))).toBe(hex(value));
          expect(hex(page.bytes.subarray(page.keyOffset(i), page.keyOffset(i) + page.keyLength(i)))).toBe(hex(key));
          expect(hex(page.bytes.subarray(page.valueOffset(i), page.valueOffset(i) + page.valueLength(i)))).toBe(hex(value));
        }
        for (const bad of [-1, page.count, 0.5, Number.NaN]) expect(code(() => page.key(bad))).toBe("ENGINE:InvalidArgument");
      }
    }
  });

  it("gives every page its own memory: later scans never change earlier pages", () => {
    const data = fast.cf("data");
    const small = fast.scan(data, { limit: 3 }); // copied out of the scratch
    const large = fast.scan(data, { prefix: b("big/") }); // taken from the native page
    const keys = [hex(small.pairs[0]!.key), hex(large.pairs[0]!.key)];
    const big = large.pairs[0]!.value;
    for (let i = 0; i < 5; i++) fast.scan(data, { start: b("k0150"), limit: 100 + i });
    fast.scan(data, { prefix: b("big/"), reverse: true });
    expect([hex(small.pairs[0]!.key), hex(large.pairs[0]!.key)]).toEqual(keys);
    expect(Buffer.compare(big, pattern(200 * 1024, 1))).toBe(0);
    expect(small.bytes.buffer.byteLength).toBe(small.bytes.length); // not a view of a shared scratch
    expect(large.bytes.buffer.byteLength).toBe(large.bytes.length);
  });

  it("hands large pages over without a copy and frees them once collected", async () => {
    const data = fast.cf("data");
    const reads = ffiReads()!;
    // Other test files' pages (one process runs them all) may still await collection: let the
    // collector take them first, so that what follows counts only this test's pages.
    for (let i = 0; i < 5; i++) {
      Bun.gc(true);
      await Bun.sleep(5);
    }
    const before = reads.detachedBytes();
    let pages: ScanPage[] = Array.from({ length: 20 }, () => fast.scan(data, { prefix: b("big/") }));
    // The 20 pages held here are alive whatever else gets collected meanwhile.
    expect(reads.detachedBytes()).toBeGreaterThanOrEqual(20 * 270 * 1024);
    const first = hex(pages[0]!.value(1));
    expect(pages.every((p) => hex(p.value(1)) === first)).toBe(true);
    pages = [];
    for (let i = 0; i < 20 && reads.detachedBytes() > before; i++) {
      Bun.gc(true);
      await Bun.sleep(10);
    }
    expect(reads.detachedBytes()).toBeLessThanOrEqual(before);
  });

  it("copies pages out instead once too many detached bytes are alive", () => {
    const data = fast.cf("data");
    const want = shape(fast.scan(data, { prefix: b("big/") }));
    const old = setDetachedMax(0);
    try {
      const before = ffiReads()!.detachedBytes();
      const page = fast.scan(data, { prefix: b("big/") });
      expect(ffiReads()!.detachedBytes()).toBe(before); // copied, not detached
      expect(shape(page)).toEqual(want);
      expect(shape(fast.scan(data, { limit: 1000 }))).toEqual(shape(napi.scan(data, { limit: 1000 })));
    } finally {
      setDetachedMax(old);
    }
  });

  it("scans snapshots through the same path", () => {
    const data = fast.cf("data");
    fast.put(data, b("snap/a"), b("before"));
    const snap = fast.snapshot();
    fast.put(data, b("snap/a"), b("after"));
    fast.put(data, b("snap/b"), b("new"));
    expect(snap.scan(data, { prefix: b("snap/") }).pairs.map((p) => Buffer.from(p.value).toString())).toEqual(["before"]);
    expect(fast.scan(data, { prefix: b("snap/") }).count).toBe(2);
    snap.release();
    expect(code(() => snap.scan(data, { prefix: b("snap/") }))).toBe("ENGINE:NoSuchSnapshot");
    fast.delete(data, b("snap/a"));
    fast.delete(data, b("snap/b"));
  });

  it("rejects bad arguments with ENGINE:InvalidArgument instead of touching memory", () => {
    for (const db of [fast, napi]) {
      expect(code(() => db.scan(300))).toBe("ENGINE:InvalidArgument");
      expect(code(() => db.scan(0, { limit: -1 }))).toBe("ENGINE:InvalidArgument");
      expect(code(() => db.scan(0, { limit: 2 ** 32 }))).toBe("ENGINE:InvalidArgument");
      expect(code(() => db.scan(0, { maxBytes: 1.5 }))).toBe("ENGINE:InvalidArgument");
    }
    // A number would be a raw address to bun:ffi.
    expect(code(() => fast.scan(0, { start: 4096 as unknown as Uint8Array }))).toBe("ENGINE:InvalidArgument");
    expect(code(() => fast.scan(0, { end: 4096 as unknown as Uint8Array }))).toBe("ENGINE:InvalidArgument");
  });

  it("turns closed and stale handles into ENGINE:Closed, never a crash", () => {
    const e = RocksEngine.open(join(dir, "closing"));
    e.put(0, b("k"), b("v"));
    const snap = e.snapshot();
    expect(e.scan(0).count).toBe(1);
    e.close();
    expect(code(() => e.scan(0))).toBe("ENGINE:Closed");
    expect(code(() => [...e.scanAll(0)])).toBe("ENGINE:Closed");
    expect(code(() => snap.scan(0))).toBe("ENGINE:Closed");
    const reads = ffiReads()!;
    for (const handle of [0, 0xfffffff0, 123456]) expect(code(() => reads.scan(handle, 0, 0, undefined, undefined, 0, 10, 0))).toBe("ENGINE:Closed");
  });
});
