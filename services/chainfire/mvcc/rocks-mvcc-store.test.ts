import { afterAll, beforeEach, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PhotonError } from "../../../lib/errors.ts";
import { decodeEvent, decodeKeyValue, encodeEvent, encodeKeyValue } from "./key-value.ts";
import { RocksMvccStore } from "./rocks-mvcc-store.ts";

const dir = mkdtempSync(join(tmpdir(), "chainfire-mvcc-"));
let n = 0;
let store: RocksMvccStore;
const b = (s: string) => new TextEncoder().encode(s);
const s = (u: Uint8Array) => new TextDecoder().decode(u);

function put(k: string, v: string, lease = 0) {
  const r = store.write((t) => t.put(b(k), b(v), lease));
  store.flush(false);
  return r;
}
function del(k: string, end?: string) {
  const r = store.write((t) => t.deleteRange(b(k), end === undefined ? undefined : b(end)));
  store.flush(false);
  return r;
}
function keys(r: { kvs: { key: Uint8Array }[] }) {
  return r.kvs.map((kv) => s(kv.key));
}
function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return (e as PhotonError).code;
  }
  return "no error";
}

beforeEach(() => {
  store?.close();
  store = RocksMvccStore.open(join(dir, `s${n++}`));
});
afterAll(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("KeyValue codec", () => {
  it("round-trips the protobuf form, events included", () => {
    const kv = { key: b("k"), createRevision: 3, modRevision: 2 ** 40, version: 7, value: b("v".repeat(300)), lease: 12345678901 };
    expect(decodeKeyValue(encodeKeyValue(kv))).toEqual(kv);
    const ev = decodeEvent(encodeEvent("DELETE", kv));
    expect(ev.type).toBe("DELETE");
    expect(ev.kv).toEqual(kv);
  });
});

describe("RocksMvccStore", () => {
  it("numbers revisions and versions like etcd", () => {
    expect(store.currentRevision).toBe(0);
    const a = put("a", "1");
    expect(a.kv).toMatchObject({ createRevision: 1, modRevision: 1, version: 1 });
    expect(a.prev).toBeUndefined();
    const a2 = put("a", "2");
    expect(a2.kv).toMatchObject({ createRevision: 1, modRevision: 2, version: 2 });
    expect(s(a2.prev!.value)).toBe("1");
    del("a");
    const a3 = put("a", "3");
    expect(a3.kv).toMatchObject({ createRevision: 4, modRevision: 4, version: 1 });
    expect(store.currentRevision).toBe(4);
  });

  it("keeps pending writes invisible until flushed", () => {
    store.write((t) => t.put(b("x"), b("1"), 0));
    expect(store.range({ key: b("x") }).kvs).toHaveLength(0);
    expect(store.currentRevision).toBe(0);
    store.flush(true);
    expect(store.range({ key: b("x") }).kvs).toHaveLength(1);
  });

  it("gives every change of one transaction the same revision and lets it read its own writes", () => {
    put("pre", "0");
    store.write((t) => {
      t.put(b("k1"), b("a"), 0);
      t.put(b("k2"), b("b"), 0);
      expect(keys(t.range({ key: b("k"), rangeEnd: b("l") }))).toEqual(["k1", "k2"]);
      expect(t.deleteRange(b("pre")).length).toBe(1);
      expect(t.get(b("pre"))).toBeUndefined();
    });
    store.flush(false);
    const r = store.range({ key: b("\0"), rangeEnd: b("\0") });
    expect(keys(r)).toEqual(["k1", "k2"]);
    expect(r.kvs.every((kv) => kv.modRevision === 2)).toBe(true);
    const evs = store.events(2, 10);
    expect(evs.map((e) => [e.type, s(e.kv.key), e.main, e.sub])).toEqual([
      ["PUT", "k1", 2, 0],
      ["PUT", "k2", 2, 1],
      ["DELETE", "pre", 2, 2],
    ]);
  });

  it("sees earlier transactions of the same group before the flush", () => {
    store.write((t) => t.put(b("g"), b("1"), 0));
    store.write((t) => {
      expect(s(t.get(b("g"))!.value)).toBe("1");
      t.put(b("g"), b("2"), 0);
    });
    store.flush(false);
    expect(store.range({ key: b("g") }).kvs[0]).toMatchObject({ version: 2, modRevision: 2 });
  });

  it("discards a transaction that throws, and only that one", () => {
    store.write((t) => t.put(b("ok"), b("1"), 0));
    expect(() =>
      store.write((t) => {
        t.put(b("bad"), b("1"), 0);
        throw new Error("abort");
      }),
    ).toThrow("abort");
    store.flush(false);
    expect(keys(store.range({ key: b("\0"), rangeEnd: b("\0") }))).toEqual(["ok"]);
    expect(store.currentRevision).toBe(1);
  });

  it("ranges with limit, count, more, sort and filters", () => {
    for (const [k, v] of [["b", "2"], ["a", "3"], ["c", "1"], ["d", "0"]]) put(k!, v!);
    put("a", "33");
    const all = { key: b("a"), rangeEnd: b("z") };
    expect(store.range({ ...all, limit: 2 })).toMatchObject({ count: 4, more: true });
    expect(keys(store.range({ ...all, limit: 2 }))).toEqual(["a", "b"]);
    expect(store.range({ ...all, limit: 4 }).more).toBe(false);
    expect(keys(store.range({ ...all, sortOrder: "DESCEND", limit: 3 }))).toEqual(["d", "c", "b"]);
    expect(keys(store.range({ ...all, sortOrder: "ASCEND", sortTarget: "VALUE" }))).toEqual(["d", "c", "b", "a"]);
    expect(keys(store.range({ ...all, sortOrder: "DESCEND", sortTarget: "MOD", limit: 1 }))).toEqual(["a"]);
    expect(keys(store.range({ ...all, minModRevision: 4 }))).toEqual(["a", "d"]);
    expect(keys(store.range({ ...all, maxCreateRevision: 2 }))).toEqual(["a", "b"]);
    expect(store.range({ ...all, countOnly: true })).toEqual({ kvs: [], count: 4, more: false });
    expect(store.range({ ...all, keysOnly: true }).kvs.every((kv) => kv.value.length === 0)).toBe(true);
    expect(store.range({ key: b("z"), rangeEnd: b("a") }).count).toBe(0);
    expect(keys(store.range({ key: b("c"), rangeEnd: b("\0") }))).toEqual(["c", "d"]);
  });

  it("bounds an unsorted range by bytes and reports more", () => {
    for (let i = 0; i < 50; i++) store.write((t) => t.put(b(`big/${String(i).padStart(2, "0")}`), new Uint8Array(1000), 0));
    store.flush(false);
    const r = store.range({ key: b("big/"), rangeEnd: b("big0"), maxBytes: 10_000 });
    expect(r.kvs.length).toBe(10);
    expect(r).toMatchObject({ count: 50, more: true });
    const rest = store.range({ key: new Uint8Array([...r.kvs[9]!.key, 0]), rangeEnd: b("big0"), maxBytes: 100_000 });
    expect(rest.kvs.length).toBe(40);
    expect(rest.more).toBe(false);
  });

  it("reads any revision between the compact revision and now", () => {
    put("k", "v1"); // 1
    put("j", "x"); // 2
    put("k", "v2"); // 3
    del("j"); // 4
    const at = (rev: number) => store.range({ key: b("a"), rangeEnd: b("z"), revision: rev });
    expect(at(1).kvs.map((kv) => s(kv.value))).toEqual(["v1"]);
    expect(at(2).kvs.map((kv) => s(kv.value))).toEqual(["x", "v1"]);
    expect(at(3).kvs.map((kv) => s(kv.value))).toEqual(["x", "v2"]);
    expect(at(4).kvs.map((kv) => s(kv.value))).toEqual(["v2"]);
    expect(store.range({ key: b("k"), revision: 1 }).kvs[0]).toMatchObject({ version: 1, modRevision: 1 });
    expect(code(() => at(5))).toBe("CHAINFIRE:FutureRev");
  });

  it("compacts history but keeps every revision at or after the compact point readable", () => {
    put("k", "v1"); // 1
    put("k", "v2"); // 2
    put("gone", "x"); // 3
    del("gone"); // 4
    put("k", "v3"); // 5
    store.compact(3);
    store.flush(false);
    while (!store.compactHistory(1));
    expect(code(() => store.range({ key: b("k"), revision: 2 }))).toBe("CHAINFIRE:Compacted");
    expect(s(store.range({ key: b("k"), revision: 3 }).kvs[0]!.value)).toBe("v2");
    expect(store.range({ key: b("gone"), revision: 3 }).kvs).toHaveLength(1);
    expect(store.range({ key: b("gone"), revision: 4 }).kvs).toHaveLength(0);
    expect(s(store.range({ key: b("k") }).kvs[0]!.value)).toBe("v3");
    expect(store.events(0, 100).map((e) => e.main)).toEqual([2, 3, 4, 5]);
    expect(code(() => store.compact(3))).toBe("CHAINFIRE:Compacted");
  });

  it("keeps the histories of keys that prefix each other apart", () => {
    put("a", "1"); // 1
    put("a\0\0\0\0\0\0\0\0", "2"); // 2
    put("a", "3"); // 3
    put("a\0", "4"); // 4
    expect(store.range({ key: b("a"), revision: 2 }).kvs.map((kv) => s(kv.value))).toEqual(["1"]);
    expect(store.range({ key: b("a"), rangeEnd: b("b"), revision: 4 }).kvs.map((kv) => s(kv.value))).toEqual(["3", "4", "2"]);
    expect(s(store.valueBefore(b("a"), 3)!.value)).toBe("1");
    expect(store.valueBefore(b("a\0"), 4)).toBeUndefined();
  });

  it("survives a reopen with its revisions", () => {
    const path = join(dir, "reopen");
    const st = RocksMvccStore.open(path);
    st.write((t) => t.put(b("k"), b("v"), 7));
    st.flush(true);
    st.compact(1);
    st.flush(true);
    st.close();
    const again = RocksMvccStore.open(path);
    expect(again.currentRevision).toBe(1);
    expect(again.compactRevision).toBe(1);
    expect(again.range({ key: b("k") }).kvs[0]).toMatchObject({ lease: 7, version: 1 });
    again.close();
  });

  it("rejects empty keys", () => {
    expect(code(() => store.write((t) => t.put(new Uint8Array(0), b("v"), 0)))).toBe("CHAINFIRE:EmptyKey");
  });
});
