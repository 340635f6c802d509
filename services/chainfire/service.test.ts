import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../../lib/log.ts";
import type { PhotonError } from "../../lib/errors.ts";
import { ChainfireService } from "./service.ts";
import type { WatchNotice } from "./watch/watch-hub.ts";

const dir = mkdtempSync(join(tmpdir(), "chainfire-svc-"));
const b = (s: string) => new TextEncoder().encode(s);
const s = (u: Uint8Array) => new TextDecoder().decode(u);
let svc: ChainfireService;

beforeAll(async () => {
  svc = await ChainfireService.open({ dataDir: join(dir, "n1"), name: "n1", logger: createLogger("test", { level: "error" }), leaseCheckMs: 50 });
});
afterAll(async () => {
  await svc.close();
  rmSync(dir, { recursive: true, force: true });
});

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as PhotonError).code;
  }
  return "no error";
}

describe("ChainfireService", () => {
  it("acknowledges concurrent puts in one group and numbers them in order", async () => {
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => svc.put({ key: b(`g/${i}`), value: b(String(i)) })));
    const revs = results.map((r) => r.header.revision);
    expect(new Set(revs).size).toBe(50);
    const got = await svc.range({ key: b("g/"), rangeEnd: b("g0"), countOnly: true });
    expect(got.count).toBe(50);
  });

  it("returns prev_kv and honours ignore_value", async () => {
    await svc.put({ key: b("p"), value: b("one") });
    const r = await svc.put({ key: b("p"), value: b("two"), prevKv: true });
    expect(s(r.prevKv!.value)).toBe("one");
    await svc.put({ key: b("p"), value: new Uint8Array(0), ignoreValue: true });
    expect(s((await svc.range({ key: b("p") })).kvs[0]!.value)).toBe("two");
    expect(await code(svc.put({ key: b("nope"), value: new Uint8Array(0), ignoreValue: true }))).toBe("CHAINFIRE:KeyNotFound");
    expect(await code(svc.put({ key: b("p"), value: b("x"), ignoreValue: true }))).toBe("CHAINFIRE:ValueProvided");
  });

  it("runs a compare-and-swap transaction", async () => {
    await svc.put({ key: b("cas"), value: b("v1") });
    const ok = await svc.txn({
      compare: [{ key: b("cas"), target: "VALUE", result: "EQUAL", value: b("v1") }],
      success: [{ requestPut: { key: b("cas"), value: b("v2") } }, { requestRange: { key: b("cas") } }],
      failure: [],
    });
    expect(ok.succeeded).toBe(true);
    const range = ok.responses[1] as { responseRange: { kvs: { value: Uint8Array }[] } };
    expect(s(range.responseRange.kvs[0]!.value)).toBe("v2");
    const no = await svc.txn({
      compare: [{ key: b("cas"), target: "VERSION", result: "EQUAL", version: 1 }],
      success: [{ requestPut: { key: b("cas"), value: b("v3") } }],
      failure: [{ requestRange: { key: b("cas") } }],
    });
    expect(no.succeeded).toBe(false);
    expect(await code(svc.txn({ compare: [], success: [{ requestPut: { key: b("d"), value: b("1") } }, { requestPut: { key: b("d"), value: b("2") } }], failure: [] }))).toBe(
      "CHAINFIRE:DuplicateKey",
    );
    const missing = await svc.txn({ compare: [{ key: b("absent"), target: "CREATE", result: "EQUAL", createRevision: 0 }], success: [], failure: [] });
    expect(missing.succeeded).toBe(true);
  });

  it("deletes a lease's keys when it is revoked or expires", async () => {
    const lease = await svc.leaseGrant(1);
    expect(lease.ttl).toBe(2); // etcd's minimum TTL
    await svc.put({ key: b("l/a"), value: b("1"), lease: lease.id });
    await svc.put({ key: b("l/b"), value: b("1"), lease: lease.id });
    const ttl = await svc.leaseTimeToLive(lease.id, true);
    expect(ttl.grantedTtl).toBe(2);
    expect(ttl.keys.map(s).sort()).toEqual(["l/a", "l/b"]);
    expect(await code(svc.put({ key: b("x"), value: b("1"), lease: 12345 }))).toBe("CHAINFIRE:LeaseNotFound");
    const other = await svc.leaseGrant(60);
    await svc.put({ key: b("l/c"), value: b("1"), lease: other.id });
    await svc.leaseRevoke(other.id);
    expect((await svc.range({ key: b("l/c") })).kvs).toHaveLength(0);
    // Let the first one expire (2 s TTL, checked every 50 ms).
    await Bun.sleep(2300);
    expect((await svc.range({ key: b("l/"), rangeEnd: b("l0") })).kvs).toHaveLength(0);
    expect((await svc.leaseTimeToLive(lease.id, false)).ttl).toBe(-1);
  });

  it("delivers every change to a watcher once and in order, including history", async () => {
    const start = svc.store.currentRevision + 1;
    await svc.put({ key: b("w/1"), value: b("a") });
    await svc.put({ key: b("w/2"), value: b("b") });
    const seen: WatchNotice[] = [];
    const id = svc.newWatchId();
    svc.hub.add(id, { key: b("w/"), rangeEnd: b("w0"), startRevision: start, prevKv: true }, { send: (n) => (seen.push(n), true) });
    await svc.put({ key: b("w/1"), value: b("c") });
    await svc.deleteRange({ key: b("w/2") });
    await svc.put({ key: b("other"), value: b("x") });
    const events = seen.flatMap((n) => n.events);
    expect(events.map((e) => `${e.type}:${s(e.kv.key)}`)).toEqual(["PUT:w/1", "PUT:w/2", "PUT:w/1", "DELETE:w/2"]);
    expect(s(events[2]!.prevKv!.value)).toBe("a");
    expect(s(events[3]!.prevKv!.value)).toBe("b");
    const mods = events.map((e) => e.kv.modRevision);
    expect([...mods].sort((x, y) => x - y)).toEqual(mods);
    svc.hub.cancel(id);
  });

  it("pauses a backed-up watcher without stalling others, then catches it up", async () => {
    const fast: number[] = [];
    const slow: number[] = [];
    let slowOpen = false;
    const f = svc.newWatchId();
    const sl = svc.newWatchId();
    svc.hub.add(f, { key: b("s/"), rangeEnd: b("s0") }, { send: (n) => (fast.push(...n.events.map((e) => e.kv.modRevision)), true) });
    svc.hub.add(sl, { key: b("s/"), rangeEnd: b("s0") }, { send: (n) => (slow.push(...n.events.map((e) => e.kv.modRevision)), slowOpen) });
    for (let i = 0; i < 20; i++) await svc.put({ key: b(`s/${i}`), value: b("v") });
    await new Promise((r) => setImmediate(r)); // watchers are notified on the next turn
    expect(fast).toHaveLength(20);
    expect(slow.length).toBeLessThan(20);
    slowOpen = true;
    svc.hub.resume(sl);
    expect(slow).toEqual(fast);
  });

  it("cancels a watch that starts below the compact revision", async () => {
    await svc.put({ key: b("c"), value: b("1") });
    const rev = svc.store.currentRevision;
    await svc.compact(rev, true);
    const seen: WatchNotice[] = [];
    svc.hub.add(svc.newWatchId(), { key: b("c"), startRevision: 1 }, { send: (n) => (seen.push(n), true) });
    expect(seen[0]).toMatchObject({ canceled: true, compactRevision: rev });
    expect(await code(svc.range({ key: b("c"), revision: 1 }))).toBe("CHAINFIRE:Compacted");
  });
});
