import { expect, it } from "bun:test";
import { Compare, Op, type OpResult } from "./txn.ts";
import { failure, forEachBackend } from "./testdata/suite.ts";

type RangeOp = Extract<OpResult, { type: "range" }>;

forEachBackend("txn", (ctx) => {
  it("runs then or else depending on value, version, create, mod and lease compares", async () => {
    const p = ctx.prefix();
    const put = await ctx.client.put(`${p}k`, "v1");
    const { id } = await ctx.client.grant(60);
    await ctx.client.put(`${p}leased`, "x", { lease: id });
    const ok = await ctx.client
      .txn()
      .if(
        Compare.value(`${p}k`, "=", "v1"),
        Compare.value(`${p}k`, "!=", "zz"),
        Compare.version(`${p}k`, "=", 1),
        Compare.createRevision(`${p}k`, "=", put.revision),
        Compare.modRevision(`${p}k`, "<", put.revision + 100),
        Compare.modRevision(`${p}k`, ">", 0),
        Compare.version(`${p}absent`, "=", 0),
        Compare.lease(`${p}leased`, "=", id),
        Compare.lease(`${p}k`, "=", 0n),
      )
      .then(Op.put(`${p}k`, "v2", { prevKv: true }), Op.get(`${p}k`), Op.deletePrefix(`${p}nothing/`), Op.getPrefix(p, { countOnly: true }))
      .else(Op.get(`${p}k`))
      .commit();
    expect(ok.succeeded).toBe(true);
    expect(ok.revision).toBe((await ctx.client.get(`${p}k`))!.modRevision);
    expect(ok.responses.map((r) => r.type)).toEqual(["put", "range", "delete", "range"]);
    const [putRes, getRes, delRes, countRes] = ok.responses as [Extract<OpResult, { type: "put" }>, RangeOp, Extract<OpResult, { type: "delete" }>, RangeOp];
    expect(putRes.prevKv?.valueString).toBe("v1");
    expect(getRes.kvs[0]?.valueString).toBe("v2");
    expect(delRes.deleted).toBe(0);
    expect(countRes.count).toBe(2);

    const failed = await ctx.client.txn().if(Compare.value(`${p}k`, "=", "v1")).then(Op.put(`${p}k`, "never")).else(Op.get(`${p}k`)).commit();
    expect(failed.succeeded).toBe(false);
    expect((failed.responses[0] as RangeOp).kvs[0]?.valueString).toBe("v2");
    // A value compare on a missing key is false whatever the operator.
    const missing = await ctx.client.txn().if(Compare.value(`${p}absent`, "!=", "x")).commit();
    expect(missing.succeeded).toBe(false);
    await ctx.client.revoke(id);
  });

  it("runs nested transactions", async () => {
    const p = ctx.prefix();
    const r = await ctx.client
      .txn()
      .then(Op.txn([Compare.version(`${p}n`, "=", 0)], [Op.put(`${p}n`, "inner")], [Op.get(`${p}n`)]))
      .commit();
    expect(r.succeeded).toBe(true);
    const inner = r.responses[0] as Extract<OpResult, { type: "txn" }>;
    expect(inner.type).toBe("txn");
    expect(inner.succeeded).toBe(true);
    expect((await ctx.client.get(`${p}n`))?.valueString).toBe("inner");
  });

  it("refuses two writes of one key in a transaction", async () => {
    const p = ctx.prefix();
    const err = await failure(ctx.client.txn().then(Op.put(`${p}d`, "1"), Op.put(`${p}d`, "2")).commit());
    expect(err.code).toBe("ETCD:InvalidArgument");
    expect(err.message).toBe("etcdserver: duplicate key given in txn request");
  });

  it("refuses more than 128 operations per branch", async () => {
    const p = ctx.prefix();
    const ops = Array.from({ length: 129 }, (_, i) => Op.put(`${p}${i}`, "v"));
    const err = await failure(ctx.client.txn().then(...ops).commit());
    expect(err.code).toBe("ETCD:InvalidArgument");
    expect(err.message).toBe("etcdserver: too many operations in txn request");
    expect((await ctx.client.txn().then(...ops.slice(1)).commit()).succeeded).toBe(true);
  });

  it("creates a key only once", async () => {
    const k = `${ctx.prefix()}once`;
    expect(await ctx.client.create(k, "first")).toBe(true);
    expect(await ctx.client.create(k, "second")).toBe(false);
    expect((await ctx.client.get(k))?.valueString).toBe("first");
    await ctx.client.delete(k);
    expect(await ctx.client.create(k, "again")).toBe(true);
  });

  it("compare-and-swaps on the mod revision and loses to a concurrent writer", async () => {
    const k = `${ctx.prefix()}cas`;
    expect(await ctx.client.compareAndSwap(k, 0, "created")).toBe(true);
    expect(await ctx.client.compareAndSwap(k, 0, "again")).toBe(false);
    const kv = (await ctx.client.get(k))!;
    await ctx.client.put(k, "someone else");
    expect(await ctx.client.compareAndSwap(k, kv.modRevision, "mine")).toBe(false);
    expect((await ctx.client.get(k))?.valueString).toBe("someone else");
    const fresh = (await ctx.client.get(k))!;
    expect(await ctx.client.compareAndSwap(k, fresh.modRevision, "mine")).toBe(true);
    expect((await ctx.client.get(k))?.valueString).toBe("mine");
    // Racing swaps from the same revision: exactly one wins.
    const base = (await ctx.client.get(k))!.modRevision;
    const wins = await Promise.all(Array.from({ length: 8 }, (_, i) => ctx.client.compareAndSwap(k, base, `racer ${i}`)));
    expect(wins.filter(Boolean).length).toBe(1);
    const current = (await ctx.client.get(k))!;
    expect(await ctx.client.compareAndDelete(k, base)).toBe(false);
    expect(await ctx.client.compareAndDelete(k, current.modRevision)).toBe(true);
    expect(await ctx.client.get(k)).toBeUndefined();
  });

  it("updates with retry under contention without losing an increment", async () => {
    const k = `${ctx.prefix()}counter`;
    const writers = [ctx.client, ctx.newClient(), ctx.newClient()];
    const results = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        (writers[i % writers.length] ?? ctx.client).updateWithRetry(k, (kv) => String(Number(kv?.valueString ?? "0") + 1), { maxAttempts: 100 }),
      ),
    );
    expect((await ctx.client.get(k))?.valueString).toBe("24");
    expect(results.every((r) => r.changed)).toBe(true);
    expect(results.some((r) => r.attempts > 1)).toBe(true);
    expect(new Set(results.map((r) => r.revision)).size).toBe(24);
    // undefined leaves the key alone, null deletes it.
    const same = await ctx.client.updateWithRetry(k, () => undefined);
    expect(same.changed).toBe(false);
    expect(same.kv?.valueString).toBe("24");
    const gone = await ctx.client.updateWithRetry(k, () => null);
    expect(gone.changed).toBe(true);
    expect(gone.kv).toBeUndefined();
    expect(await ctx.client.get(k)).toBeUndefined();
  });

  it("gives up with ETCD:Conflict when the key changes on every attempt", async () => {
    const k = `${ctx.prefix()}hot`;
    const other = ctx.newClient();
    let calls = 0;
    const err = await failure(
      ctx.client.updateWithRetry(
        k,
        async (kv) => {
          calls++;
          await other.put(k, `interference ${calls}`);
          return `${kv?.valueString ?? ""}+`;
        },
        { maxAttempts: 3 },
      ),
    );
    expect(err.code).toBe("ETCD:Conflict");
    expect(calls).toBe(3);
  });
});
