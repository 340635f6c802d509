import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../../../lib/log.ts";
import { ChainfireService } from "../service.ts";
import { WatchHub, type WatchNotice, type WatchOptions } from "./watch-hub.ts";

// The hub groups watchers with identical options and hands each group's members one shared events
// array per commit. These tests put watchers that differ in one option each (or in where they
// are in the log) on the same prefix and check every one against a model of the writes, so that
// an event shared with the wrong watcher shows up.

const dir = mkdtempSync(join(tmpdir(), "chainfire-hub-"));
const te = new TextEncoder();
const td = new TextDecoder();
const b = (s: string) => te.encode(s);
let svc: ChainfireService;

beforeAll(async () => {
  svc = await ChainfireService.open({ dataDir: join(dir, "n1"), name: "n1", logger: createLogger("test", { level: "error" }) });
});
afterAll(async () => {
  await svc.close();
  rmSync(dir, { recursive: true, force: true });
});

/** One write as the model sees it. */
interface Op {
  type: "PUT" | "DELETE";
  key: string;
  value: string;
  rev: number;
  /** The key's value before this write, if it existed. */
  prev?: string;
}

/** A test's writes, with what each watcher should have seen. */
class Model {
  readonly ops: Op[] = [];
  private readonly values = new Map<string, string>();

  /** Puts keys concurrently (so that one commit carries several revisions). */
  async put(...kvs: [string, string][]): Promise<void> {
    const revs = await Promise.all(kvs.map(([k, v]) => svc.put({ key: b(k), value: b(v) }).then((r) => r.header.revision)));
    const done = kvs.map(([key, value], i) => ({ key, value, rev: revs[i]! })).sort((x, y) => x.rev - y.rev);
    for (const { key, value, rev } of done) {
      this.ops.push({ type: "PUT", key, value, rev, prev: this.values.get(key) });
      this.values.set(key, value);
    }
  }

  async del(key: string): Promise<void> {
    const r = await svc.deleteRange({ key: b(key) });
    this.ops.push({ type: "DELETE", key, value: "", rev: r.header.revision, prev: this.values.get(key) });
    this.values.delete(key);
  }

  /** What a watcher with `o` must receive, from revision `from` on. */
  expected(o: WatchOptions, from: number): string[] {
    const [lo, hi] = [td.decode(o.key), o.rangeEnd ? td.decode(o.rangeEnd) : undefined];
    return this.ops
      .filter((op) => op.rev >= from && (hi ? op.key >= lo && op.key < hi : op.key === lo))
      .filter((op) => !(op.type === "PUT" && o.noPut) && !(op.type === "DELETE" && o.noDelete))
      .map((op) => show(op.type, op.key, op.rev, op.value, o.prevKv ? op.prev : undefined));
  }
}

const show = (type: string, key: string, rev: number, value: string, prev?: string) => `${type} ${key}@${rev}=${value}${prev !== undefined ? ` prev=${prev}` : ""}`;

/** A watcher that records what it receives; `open` false makes its sink report a full buffer. */
interface Recorder {
  id: number;
  opts: WatchOptions;
  open: boolean;
  seen: string[];
  notices: WatchNotice[];
  /** Adds it to the hub. */
  add(): Recorder;
}

function watcher(opts: WatchOptions): Recorder {
  const w: Recorder = {
    id: svc.newWatchId(),
    opts,
    open: true,
    seen: [],
    notices: [],
    add() {
      svc.hub.add(w.id, opts, {
        send: (n) => {
          w.notices.push(n);
          for (const e of n.events) {
            const value = e.type === "PUT" ? td.decode(e.kv.value) : "";
            w.seen.push(show(e.type, td.decode(e.kv.key), e.kv.modRevision, value, e.prevKv ? td.decode(e.prevKv.value) : undefined));
          }
          return w.open;
        },
      });
      return w;
    },
  };
  return w;
}

/** Lets the hub deliver what was committed (it is notified on the next turn). */
const settle = () => new Promise((r) => setImmediate(r));

describe("WatchHub groups", () => {
  it("gives watchers that differ in filters, prev_kv, range or start revision only their own events", async () => {
    const m = new Model();
    await m.put(["g1/a", "0"], ["g1/b", "0"]);
    const history = m.ops[0]!.rev;
    const prefix = { key: b("g1/"), rangeEnd: b("g10") };
    const ws = [
      watcher(prefix),
      watcher(prefix), // same group as the first
      watcher({ ...prefix, prevKv: true }),
      watcher({ ...prefix, noPut: true }),
      watcher({ ...prefix, noDelete: true }),
      watcher({ ...prefix, noPut: true, noDelete: true }),
      watcher({ key: b("g1/a") }), // one key
      watcher({ key: b("g1/"), rangeEnd: b("g1/b") }), // a narrower range
      watcher({ ...prefix, startRevision: history }), // replays history, then joins the group
      watcher({ ...prefix, startRevision: history, prevKv: true }),
    ].map((w) => w.add());
    const from = svc.store.currentRevision + 1;
    for (let i = 1; i <= 5; i++) {
      await m.put(["g1/a", `a${i}`], ["g1/b", `b${i}`], ["g1/c", `c${i}`], ["g2/x", `x${i}`]);
      await m.del(i % 2 ? "g1/b" : "g1/c");
    }
    await settle();
    for (const w of ws) expect(w.seen).toEqual(m.expected(w.opts, w.opts.startRevision ?? from));
    for (const w of ws) svc.hub.cancel(w.id);
  });

  it("never gives a watcher events before its start revision when a commit straddles it", async () => {
    const m = new Model();
    const prefix = { key: b("g3/"), rangeEnd: b("g30") };
    const plain = watcher(prefix).add();
    const start = svc.store.currentRevision + 3;
    const late = watcher({ ...prefix, startRevision: start }).add(); // same options but a future start
    // Eight concurrent puts: committed together, so one notification spans the start revision.
    await m.put(...Array.from({ length: 8 }, (_, i): [string, string] => [`g3/${i}`, `v${i}`]));
    await settle();
    const straddles = plain.notices.some((n) => n.events[0]!.kv.modRevision < start && n.revision >= start);
    expect(straddles).toBe(true); // else this test proves nothing
    expect(plain.seen).toEqual(m.expected(prefix, 0));
    expect(late.seen).toEqual(m.expected(prefix, start));
    expect(late.seen.length).toBeGreaterThan(0);
    svc.hub.cancel(plain.id);
    svc.hub.cancel(late.id);
  });

  it("pauses one member of a group, keeps the others going and catches it up exactly once", async () => {
    const m = new Model();
    const prefix = { key: b("g4/"), rangeEnd: b("g40"), prevKv: true };
    const [a, slow, c] = [watcher(prefix).add(), watcher(prefix).add(), watcher(prefix).add()];
    const from = svc.store.currentRevision + 1;
    slow.open = false; // its first notice fills its buffer
    for (let i = 0; i < 6; i++) await m.put([`g4/${i % 2}`, `v${i}`], ["g4/z", `z${i}`]);
    await settle();
    expect(a.seen).toEqual(m.expected(prefix, from));
    expect(c.seen).toEqual(a.seen);
    expect(slow.notices).toHaveLength(1);
    slow.open = true;
    svc.hub.resume(slow.id);
    expect(slow.seen).toEqual(a.seen);
    // Back in step: it shares the group's deliveries again.
    for (let i = 0; i < 3; i++) await m.put([`g4/${i}`, `w${i}`]);
    await settle();
    expect(a.seen).toEqual(m.expected(prefix, from));
    expect(slow.seen).toEqual(a.seen);
    expect(c.seen).toEqual(a.seen);
    for (const w of [a, slow, c]) svc.hub.cancel(w.id);
  });

  it("stops a member cancelled mid-stream, even by another member's delivery, and starts one added mid-stream", async () => {
    const m = new Model();
    const prefix = { key: b("g5/"), rangeEnd: b("g50") };
    const first = watcher(prefix);
    const victim = watcher(prefix);
    const joined = watcher(prefix);
    // The first member's sink cancels the victim (next in the group) while the hub walks the group.
    svc.hub.add(first.id, prefix, {
      send: (n: WatchNotice) => {
        first.seen.push(...n.events.map((e) => show(e.type, td.decode(e.kv.key), e.kv.modRevision, td.decode(e.kv.value))));
        svc.hub.cancel(victim.id);
        return true;
      },
    });
    victim.add();
    const from = svc.store.currentRevision + 1;
    await m.put(["g5/a", "1"]);
    await settle();
    expect(first.seen).toEqual(m.expected(prefix, from));
    expect(victim.seen).toEqual([]); // cancelled before its turn in the same commit
    joined.add();
    const joinedFrom = svc.store.currentRevision + 1;
    await m.put(["g5/b", "2"], ["g5/c", "3"]);
    await settle();
    expect(first.seen).toEqual(m.expected(prefix, from));
    expect(joined.seen).toEqual(m.expected(prefix, joinedFrom));
    expect(victim.seen).toEqual([]);
    svc.hub.cancel(first.id);
    svc.hub.cancel(joined.id);
  });

  it("catches up members of a group that resume in one turn from different revisions", async () => {
    const m = new Model();
    const prefix = { key: b("g7/"), rangeEnd: b("g70") };
    const live = watcher(prefix).add();
    const from = svc.store.currentRevision + 1;
    const slow = [watcher(prefix).add(), watcher(prefix).add(), watcher(prefix).add(), watcher({ ...prefix, prevKv: true }).add()];
    slow[0]!.open = false; // paused from the first commit on
    for (let i = 0; i < 6; i++) {
      if (i === 2) slow[1]!.open = slow[3]!.open = false; // paused two commits later
      if (i === 4) slow[2]!.open = false;
      await m.put([`g7/${i % 3}`, `v${i}`]);
      await settle();
    }
    for (const w of slow) w.open = true;
    for (const w of slow) svc.hub.resume(w.id); // one turn: the catch-up pages are shared
    expect(live.seen).toEqual(m.expected(prefix, from));
    for (const w of slow) expect(w.seen).toEqual(m.expected(w.opts, from));
    for (const w of [live, ...slow]) svc.hub.cancel(w.id);
  });

  it("cancels a paused member that fell behind a compaction and leaves its group working", async () => {
    const m = new Model();
    const prefix = { key: b("g6/"), rangeEnd: b("g60") };
    const [a, slow] = [watcher(prefix).add(), watcher(prefix).add()];
    const from = svc.store.currentRevision + 1;
    slow.open = false;
    for (let i = 0; i < 4; i++) await m.put([`g6/${i}`, "v"]);
    await settle();
    await svc.compact(svc.store.currentRevision);
    slow.open = true;
    svc.hub.resume(slow.id);
    const last = slow.notices[slow.notices.length - 1]!;
    expect(last).toMatchObject({ canceled: true, compactRevision: svc.store.compactRevision });
    const size = svc.hub.size;
    await m.put(["g6/after", "v"]);
    await settle();
    expect(a.seen).toEqual(m.expected(prefix, from));
    expect(svc.hub.cancel(slow.id)).toBe(false); // already gone
    expect(svc.hub.size).toBe(size);
    svc.hub.cancel(a.id);
  });

});

describe("WatchHub pacing", () => {
  // A hub of its own over the service's store, fed commits by hand, so the timing is the test's.
  const watchers = (hub: WatchHub, n: number, prefix: string) =>
    Array.from({ length: n }, () => {
      const notices: number[][] = [];
      hub.add(svc.newWatchId(), { key: b(prefix), rangeEnd: b(prefix.slice(0, -1) + "0") }, { send: (x) => (notices.push(x.events.map((e) => e.kv.modRevision)), true) });
      return notices;
    });
  const put = async (key: string) => (await svc.put({ key: b(key), value: b("v") })).header.revision;

  it("merges the commits that follow a large fan-out into one notice per watcher, each revision once", async () => {
    const hub = new WatchHub(svc.store, { paceMs: 300 });
    const ws = watchers(hub, 300, "p1/");
    const r1 = await put("p1/a");
    hub.onCommit(r1, r1); // 300 notices: large
    expect(ws.every((n) => n.length === 1)).toBe(true);
    const r2 = await put("p1/b");
    hub.onCommit(r2, r2);
    const r3 = await put("p1/c");
    hub.onCommit(r3, r3);
    expect(ws[0]).toEqual([[r1]]); // held back...
    await Bun.sleep(450);
    for (const n of ws) expect(n).toEqual([[r1], [r2, r3]]); // ...and delivered together
    await Bun.sleep(350); // quiet again: the next commit goes at once
    const r4 = await put("p1/d");
    hub.onCommit(r4, r4);
    expect(ws[299]).toEqual([[r1], [r2, r3], [r4]]);
    hub.close();
  });

  it("never holds back commits to fewer watchers", async () => {
    const hub = new WatchHub(svc.store, { paceMs: 300 });
    const ws = watchers(hub, 10, "p2/");
    const revs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await put(`p2/${i}`);
      revs.push(r);
      hub.onCommit(r, r);
    }
    for (const n of ws) expect(n).toEqual(revs.map((r) => [r]));
    hub.close();
  });
});
