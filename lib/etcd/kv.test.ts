import { expect, it } from "bun:test";
import { Op } from "./txn.ts";
import { failure, forEachBackend } from "./testdata/suite.ts";

const enc = (s: string) => new TextEncoder().encode(s);

forEachBackend("kv", (ctx) => {
  it("puts, gets, overwrites and deletes a key, with revisions and versions", async () => {
    const k = `${ctx.prefix()}a`;
    expect(await ctx.client.get(k)).toBeUndefined();
    const p1 = await ctx.client.put(k, "one");
    const kv1 = await ctx.client.get(k);
    expect(kv1?.valueString).toBe("one");
    expect(kv1?.keyString).toBe(k);
    expect(kv1?.version).toBe(1);
    expect(kv1?.createRevision).toBe(p1.revision);
    expect(kv1?.modRevision).toBe(p1.revision);
    expect(kv1?.lease).toBe(0n);
    const p2 = await ctx.client.put(enc(k), enc("two"), { prevKv: true });
    expect(p2.revision).toBe(p1.revision + 1);
    expect(p2.prevKv?.valueString).toBe("one");
    const kv2 = await ctx.client.get(k);
    expect(kv2?.version).toBe(2);
    expect(kv2?.createRevision).toBe(p1.revision);
    expect(kv2?.value).toEqual(enc("two"));
    // Reading the past.
    expect((await ctx.client.get(k, { revision: p1.revision }))?.valueString).toBe("one");
    const del = await ctx.client.delete(k, { prevKv: true });
    expect(del.deleted).toBe(1);
    expect(del.prevKvs[0]?.valueString).toBe("two");
    expect(await ctx.client.get(k)).toBeUndefined();
    // Deleting nothing makes no revision.
    const none = await ctx.client.delete(k);
    expect(none.deleted).toBe(0);
    expect(none.revision).toBe(del.revision);
    // A put of an absent key has no previous value.
    expect((await ctx.client.put(`${k}2`, "x", { prevKv: true })).prevKv).toBeUndefined();
  });

  it("stores binary keys and values unchanged", async () => {
    const key = new Uint8Array([...enc(ctx.prefix()), 0, 0xff, 0x80]);
    const value = new Uint8Array([0, 1, 2, 0xfe, 0xff]);
    await ctx.client.put(key, value);
    const kv = await ctx.client.get(key);
    expect(kv?.key).toEqual(key);
    expect(kv?.value).toEqual(value);
  });

  it("reads prefixes and ranges with limit, sort, keysOnly and countOnly", async () => {
    const p = ctx.prefix();
    for (const [k, v] of [["b", "2"], ["a", "3"], ["c", "1"]]) await ctx.client.put(`${p}${k}`, v!);
    await ctx.client.put(`${p.slice(0, -1)}0`, "outside the prefix");
    const all = await ctx.client.getPrefix(p);
    expect(all.kvs.map((kv) => kv.keyString)).toEqual([`${p}a`, `${p}b`, `${p}c`]);
    expect(all.count).toBe(3);
    expect(all.more).toBe(false);
    const limited = await ctx.client.getPrefix(p, { limit: 2 });
    expect(limited.kvs.length).toBe(2);
    expect(limited.more).toBe(true);
    expect(limited.count).toBe(3);
    const byValue = await ctx.client.getPrefix(p, { sort: { target: "VALUE", order: "DESCEND" } });
    expect(byValue.kvs.map((kv) => kv.valueString)).toEqual(["3", "2", "1"]);
    const keysOnly = await ctx.client.getPrefix(p, { keysOnly: true });
    expect(keysOnly.kvs.map((kv) => kv.value.length)).toEqual([0, 0, 0]);
    const countOnly = await ctx.client.getPrefix(p, { countOnly: true });
    expect(countOnly.kvs).toEqual([]);
    expect(countOnly.count).toBe(3);
    const byMod = await ctx.client.getPrefix(p, { sort: { target: "MOD", order: "DESCEND" }, limit: 1 });
    expect(byMod.kvs.map((kv) => kv.keyString)).toEqual([`${p}c`]);
    const bRev = (await ctx.client.get(`${p}b`))!.modRevision;
    const newer = await ctx.client.getPrefix(p, { minModRevision: bRev + 1 });
    expect(newer.kvs.map((kv) => kv.keyString)).toEqual([`${p}a`, `${p}c`]);
    const older = await ctx.client.getPrefix(p, { maxCreateRevision: bRev });
    expect(older.kvs.map((kv) => kv.keyString)).toEqual([`${p}b`]);
    const range = await ctx.client.getRange(`${p}a`, `${p}c`);
    expect(range.kvs.map((kv) => kv.keyString)).toEqual([`${p}a`, `${p}b`]);
    const rest = await ctx.client.getRange(`${p}b`, "\0");
    expect(rest.kvs.map((kv) => kv.keyString).slice(0, 2)).toEqual([`${p}b`, `${p}c`]);
    const deleted = await ctx.client.deletePrefix(p);
    expect(deleted.deleted).toBe(3);
    expect((await ctx.client.get(`${p.slice(0, -1)}0`))?.valueString).toBe("outside the prefix");
  });

  it("iterates a prefix of a few thousand keys page by page at one revision", async () => {
    const p = ctx.prefix();
    const n = 3000;
    for (let i = 0; i < n; i += 100) {
      const ops = Array.from({ length: 100 }, (_, j) => Op.put(`${p}${String(i + j).padStart(5, "0")}`, `v${i + j}`));
      await ctx.client.txn().then(...ops).commit();
    }
    const seen: string[] = [];
    let pages = 0;
    let revision = 0;
    for await (const page of ctx.client.pagesPrefix(p, { pageSize: 250 })) {
      pages++;
      expect(page.kvs.length).toBeLessThanOrEqual(250);
      if (revision === 0) {
        revision = page.revision;
        // Written after the first page: an iteration is a snapshot, so it must not show up.
        await ctx.client.put(`${p}99999`, "late");
      }
      expect(page.revision).toBe(revision);
      for (const kv of page.kvs) seen.push(kv.keyString);
    }
    expect(pages).toBe(12);
    expect(seen.length).toBe(n);
    expect(seen).toEqual(Array.from({ length: n }, (_, i) => `${p}${String(i).padStart(5, "0")}`));
    let count = 0;
    let last = "";
    for await (const kv of ctx.client.iteratePrefix(p, { pageSize: 999, keysOnly: true })) {
      expect(kv.keyString > last).toBe(true);
      last = kv.keyString;
      count++;
    }
    expect(count).toBe(n + 1);
    expect((await ctx.client.deletePrefix(p)).deleted).toBe(n + 1);
  });

  it("fails with typed errors: compacted, future revision, missing key for ignoreValue, empty key", async () => {
    const k = `${ctx.prefix()}x`;
    const first = await ctx.client.put(k, "1");
    const second = await ctx.client.put(k, "2");
    await ctx.client.compact(second.revision);
    const compacted = await failure(ctx.client.get(k, { revision: first.revision }));
    expect(compacted.code).toBe("ETCD:Compacted");
    expect(compacted.message).toBe("etcdserver: mvcc: required revision has been compacted");
    expect((await ctx.client.get(k, { revision: second.revision }))?.valueString).toBe("2");
    expect((await failure(ctx.client.compact(first.revision))).code).toBe("ETCD:Compacted");
    expect((await failure(ctx.client.get(k, { revision: second.revision + 1000 }))).code).toBe("ETCD:FutureRevision");
    expect((await failure(ctx.client.put(`${k}-missing`, "", { ignoreValue: true }))).code).toBe("ETCD:KeyNotFound");
    expect((await failure(() => ctx.client.put("", "v"))).code).toBe("ETCD:InvalidArgument");
    expect((await failure(ctx.client.deletePrefix(""))).code).toBe("ETCD:InvalidArgument");
  });

  it("refuses a request above etcd's 1.5 MiB limit with ETCD:RequestTooLarge", async () => {
    const err = await failure(ctx.client.put(`${ctx.prefix()}big`, new Uint8Array(1_800_000)));
    expect(err.code).toBe("ETCD:RequestTooLarge");
    expect(err.message).toBe("etcdserver: request is too large");
    // Just under the limit is fine.
    await ctx.client.put(`${ctx.prefix()}fits`, new Uint8Array(1_400_000));
  });

  it("keeps the value with ignoreValue and the lease with ignoreLease", async () => {
    const k = `${ctx.prefix()}keep`;
    const { id } = await ctx.client.grant(60);
    await ctx.client.put(k, "v", { lease: id });
    await ctx.client.put(k, "", { ignoreValue: true });
    let kv = await ctx.client.get(k);
    expect(kv?.valueString).toBe("v");
    expect(kv?.lease).toBe(0n);
    await ctx.client.put(k, "w", { lease: id });
    await ctx.client.put(k, "x", { ignoreLease: true });
    kv = await ctx.client.get(k);
    expect(kv?.valueString).toBe("x");
    expect(kv?.lease).toBe(id);
    await ctx.client.revoke(id);
  });
});
