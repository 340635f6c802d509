import { expect, it } from "bun:test";
import type { PhotonError } from "../errors.ts";
import { TcpProxy } from "./testdata/backends.ts";
import { failure, forEachBackend } from "./testdata/suite.ts";
import { Op } from "./txn.ts";
import type { Watch, WatchBatch } from "./watch.ts";

/** Reads batches from `w` until `done(batches)` holds (or `ms` pass). */
async function collect(w: Watch, done: (batches: WatchBatch[]) => boolean, ms = 10_000): Promise<WatchBatch[]> {
  const batches: WatchBatch[] = [];
  const it = w[Symbol.asyncIterator]();
  const end = Date.now() + ms;
  while (!done(batches)) {
    const left = end - Date.now();
    if (left <= 0) throw new Error(`timed out after ${batches.length} batches`);
    const r = await Promise.race([it.next(), Bun.sleep(left).then(() => null)]);
    if (r === null) continue;
    if (r.done) break;
    batches.push(r.value);
  }
  return batches;
}

const eventCount = (bs: WatchBatch[]) => bs.reduce((n, b) => n + b.events.length, 0);

forEachBackend("watch", (ctx) => {
  it("delivers puts and deletes of one key with previous values", async () => {
    const k = `${ctx.prefix()}k`;
    const w = ctx.client.watch(k, { prevKv: true });
    const created = await w.ready;
    const r1 = await ctx.client.put(k, "1");
    expect(r1.revision).toBeGreaterThan(created);
    await ctx.client.put(`${k}-other`, "ignored");
    await ctx.client.put(k, "2");
    await ctx.client.delete(k);
    const batches = await collect(w, (b) => eventCount(b) >= 3);
    const events = batches.flatMap((b) => b.events);
    expect(events.map((e) => e.type)).toEqual(["put", "put", "delete"]);
    expect(events.map((e) => e.kv.valueString)).toEqual(["1", "2", ""]);
    expect(events[0]?.prevKv).toBeUndefined();
    expect(events[1]?.prevKv?.valueString).toBe("1");
    expect(events[2]?.prevKv?.valueString).toBe("2");
    expect(events[0]?.kv.modRevision).toBe(r1.revision);
    // A delete event carries the key at its deletion revision, without value or version.
    expect(events[2]?.kv.keyString).toBe(k);
    expect(events[2]?.kv.version).toBe(0);
    expect(events[2]?.kv.createRevision).toBe(0);
    expect(events[2]!.kv.modRevision).toBeGreaterThan(events[1]!.kv.modRevision);
    expect(w.revision).toBe(events[2]!.kv.modRevision);
    w.cancel();
    expect(w.done).toBe(true);
  });

  it("watches a prefix from a past revision, with filters, many watches on one client", async () => {
    const p = ctx.prefix();
    const first = await ctx.client.put(`${p}a`, "1");
    await ctx.client.put(`${p}b`, "2");
    await ctx.client.delete(`${p}a`);
    const all = ctx.client.watchPrefix(p, { startRevision: first.revision });
    const noDeletes = ctx.client.watch(p, { prefix: true, startRevision: first.revision, filters: ["noDelete"] });
    const noPuts = ctx.client.watchPrefix(p, { startRevision: first.revision, filters: ["noPut"] });
    const ranged = ctx.client.watch(`${p}a`, { end: `${p}b`, startRevision: first.revision });
    const keys = (bs: WatchBatch[]) => bs.flatMap((b) => b.events.map((e) => `${e.type} ${e.kv.keyString.slice(p.length)}`));
    expect(keys(await collect(all, (b) => eventCount(b) >= 3))).toEqual(["put a", "put b", "delete a"]);
    expect(keys(await collect(noDeletes, (b) => eventCount(b) >= 2))).toEqual(["put a", "put b"]);
    expect(keys(await collect(noPuts, (b) => eventCount(b) >= 1))).toEqual(["delete a"]);
    expect(keys(await collect(ranged, (b) => eventCount(b) >= 2))).toEqual(["put a", "delete a"]);
    // Transactions arrive as one batch at one revision.
    const t = await ctx.client.txn().then(Op.put(`${p}x`, "1"), Op.put(`${p}y`, "2")).commit();
    const [batch] = await collect(all, (b) => b.length >= 1);
    expect(batch?.events.map((e) => e.kv.modRevision)).toEqual([t.revision, t.revision]);
    for (const w of [all, noDeletes, noPuts, ranged]) w.cancel();
  });

  it("ends the iteration normally on cancel and on break", async () => {
    const k = `${ctx.prefix()}c`;
    const w = ctx.client.watch(k);
    await w.ready;
    await ctx.client.put(k, "1");
    let n = 0;
    for await (const b of w) {
      n += b.events.length;
      break;
    }
    expect(n).toBe(1);
    expect(w.done).toBe(true);
    const w2 = ctx.client.watch(k);
    await w2.ready;
    setTimeout(() => w2.cancel(), 50);
    const got = await collect(w2, () => false, 5000);
    expect(got).toEqual([]);
  });

  it("delivers every event once and in order across forced stream reconnects", async () => {
    const p = ctx.prefix();
    const proxy = await TcpProxy.start(ctx.backend.endpoint);
    const client = ctx.newClient({ endpoints: [proxy.endpoint] });
    try {
      const a = client.watchPrefix(p);
      const b = client.watchPrefix(`${p}even/`);
      await Promise.all([a.ready, b.ready]);
      const total = 300;
      const written: number[] = [];
      const writer = (async () => {
        for (let i = 0; i < total; i++) {
          const key = i % 2 === 0 ? `${p}even/${i}` : `${p}odd/${i}`;
          written.push((await ctx.client.put(key, String(i))).revision);
          if (i % 60 === 30) proxy.cutAll();
          if (i % 10 === 0) await Bun.sleep(5);
        }
      })();
      const [ba, bb] = await Promise.all([collect(a, (x) => eventCount(x) >= total, 30_000), collect(b, (x) => eventCount(x) >= total / 2, 30_000)]);
      await writer;
      const revsA = ba.flatMap((x) => x.events.map((e) => e.kv.modRevision));
      expect(revsA).toEqual(written);
      const revsB = bb.flatMap((x) => x.events.map((e) => e.kv.modRevision));
      expect(revsB).toEqual(written.filter((_, i) => i % 2 === 0));
      expect(ba.flatMap((x) => x.events.map((e) => e.kv.valueString))).toEqual(Array.from({ length: total }, (_, i) => String(i)));
      expect(proxy.accepted).toBeGreaterThanOrEqual(5);
      // Nothing more arrives: no event was repeated after the last reconnect.
      await ctx.client.put(`${p}odd/last`, "end");
      const tail = await collect(a, (x) => eventCount(x) >= 1);
      expect(tail.flatMap((x) => x.events.map((e) => e.kv.valueString))).toEqual(["end"]);
      a.cancel();
      b.cancel();
    } finally {
      await proxy.close();
    }
  }, 60_000);

  it("moves its watches to the next endpoint when the first one goes away", async () => {
    const p = ctx.prefix();
    const proxy = await TcpProxy.start(ctx.backend.endpoint);
    const client = ctx.newClient({ endpoints: [proxy.endpoint, ctx.backend.endpoint] });
    try {
      const w = client.watchPrefix(p);
      await w.ready;
      const before = await ctx.client.put(`${p}1`, "before");
      await collect(w, (b) => eventCount(b) >= 1);
      await proxy.close();
      const after = await ctx.client.put(`${p}2`, "after");
      const batches = await collect(w, (b) => eventCount(b) >= 1);
      expect(batches.flatMap((b) => b.events.map((e) => e.kv.modRevision))).toEqual([after.revision]);
      expect(client.activeEndpoint).toBe(ctx.backend.endpoint);
      expect(w.revision).toBe(after.revision);
      expect(before.revision).toBeLessThan(after.revision);
      w.cancel();
    } finally {
      await proxy.close().catch(() => {});
    }
  }, 20_000);

  it("fails with ETCD:Compacted when its start revision was compacted", async () => {
    const k = `${ctx.prefix()}old`;
    const first = await ctx.client.put(k, "1");
    const second = await ctx.client.put(k, "2");
    await ctx.client.put(k, "3");
    await ctx.client.compact(second.revision, { physical: true });
    const w = ctx.client.watch(k, { startRevision: first.revision });
    const err = await failure(collect(w, () => false));
    expect(err.code).toBe("ETCD:Compacted");
    expect(err.details?.compactRevision).toBe(second.revision);
    expect(w.done).toBe(true);
    // From the compact revision on, history is still there.
    const ok = ctx.client.watch(k, { startRevision: second.revision });
    const batches = await collect(ok, (b) => eventCount(b) >= 2);
    expect(batches.flatMap((b) => b.events.map((e) => e.kv.valueString))).toEqual(["2", "3"]);
    ok.cancel();
  });

  it("answers a progress request on every watch with the current revision", async () => {
    const p = ctx.prefix();
    const w1 = ctx.client.watch(`${p}1`);
    const w2 = ctx.client.watch(`${p}2`);
    await Promise.all([w1.ready, w2.ready]);
    const { revision } = await ctx.client.put(`${p}unwatched`, "x");
    ctx.client.requestWatchProgress();
    const [b1, b2] = await Promise.all([collect(w1, (b) => b.length >= 1), collect(w2, (b) => b.length >= 1)]);
    for (const b of [b1[0], b2[0]]) {
      expect(b?.progress).toBe(true);
      expect(b?.events).toEqual([]);
      expect(b!.revision).toBeGreaterThanOrEqual(revision);
    }
    w1.cancel();
    w2.cancel();
  });

  it("ends watches with ETCD:Closed when the client closes", async () => {
    const client = ctx.newClient();
    const w = client.watch(`${ctx.prefix()}z`);
    await w.ready;
    client.close();
    const err: PhotonError = await failure(collect(w, () => false));
    expect(err.code).toBe("ETCD:Closed");
    expect((await failure(client.get("x"))).code).toBe("ETCD:Closed");
  });
});
