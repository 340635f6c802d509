import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PhotonError } from "../errors.ts";
import { RocksEngine } from "./index.ts";

const b = (s: string) => Buffer.from(s);
const s = (u: Uint8Array | undefined) => (u === undefined ? undefined : Buffer.from(u).toString());

let dir: string;
let db: RocksEngine;
let meta: number;
let data: number;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "photon-engine-"));
  db = RocksEngine.open(join(dir, "db"), { columnFamilies: ["meta", "data"] });
  meta = db.cf("meta");
  data = db.cf("data");
  const batch = db.batch();
  for (let i = 0; i < 250; i++) batch.put(data, b(`k${String(i).padStart(4, "0")}`), b(`v${i}`));
  db.write(batch, true);
});

afterAll(() => {
  db.close();
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

describe("RocksEngine", () => {
  it("keeps column families apart", () => {
    db.put(meta, b("same"), b("m"));
    db.put(data, b("same"), b("d"));
    expect(s(db.get(meta, b("same")))).toBe("m");
    expect(s(db.get(data, b("same")))).toBe("d");
    db.delete(data, b("same"));
    expect(db.get(data, b("same"))).toBeUndefined();
    expect(db.columnFamilies).toEqual(["meta", "data"]);
  });

  it("rejects unknown column families with a typed error", () => {
    expect(code(() => db.cf("nope"))).toBe("ENGINE:InvalidArgument");
    expect(code(() => db.put(7, b("k"), b("v")))).toBe("ENGINE:InvalidArgument");
    expect(code(() => db.get(300, b("k")))).toBe("ENGINE:InvalidArgument");
  });

  it("returns values of every size, each a copy the caller owns", () => {
    const big = new Uint8Array(200_000).map((_, i) => i % 251);
    db.put(meta, b("big"), big);
    db.put(meta, b("small"), b("xyz"));
    const got = db.get(meta, b("big"))!;
    expect(got.length).toBe(big.length);
    expect(Buffer.compare(got, big)).toBe(0);
    const small = db.get(meta, b("small"))!;
    db.get(meta, b("big")); // a later read must not change an earlier result
    expect(s(small)).toBe("xyz");
    expect(db.get(meta, b("absent"))).toBeUndefined();
    db.put(meta, b("empty"), new Uint8Array(0));
    expect(db.get(meta, b("empty"))?.length).toBe(0);
  });

  it("reads many keys in one call, marking missing ones", () => {
    const got = db.multiGet(data, [b("k0001"), b("missing"), b("k0249")]);
    expect(got.map(s)).toEqual(["v1", undefined, "v249"]);
    expect(db.multiGet(data, [])).toEqual([]);
  });

  it("applies a batch atomically with puts, deletes and range deletes", () => {
    const batch = db.batch().put(meta, b("a"), b("1")).put(meta, b("b"), b("2")).put(meta, b("c"), b("3"));
    db.write(batch);
    db.write(db.batch().deleteRange(meta, b("a"), b("c")).delete(meta, b("c")).put(meta, b("d"), b("4")));
    expect([...db.scanAll(meta, { start: b("a"), end: b("e") })].map((p) => s(p.key))).toEqual(["d"]);
  });

  it("scans forward, backward, by prefix and with byte limits", () => {
    const fwd = db.scan(data, { start: b("k0010"), end: b("k0013") });
    expect(fwd.pairs.map((p) => s(p.key))).toEqual(["k0010", "k0011", "k0012"]);
    expect(fwd.more).toBe(false);
    const rev = db.scan(data, { prefix: b("k001"), reverse: true, limit: 2 });
    expect(rev.pairs.map((p) => s(p.key))).toEqual(["k0019", "k0018"]);
    expect(rev.more).toBe(true);
    const rest = db.scan(data, rev.next!);
    expect(rest.pairs.map((p) => s(p.key))).toEqual(["k0017", "k0016"]);
    const tiny = db.scan(data, { maxBytes: 1 });
    expect(tiny.pairs.length).toBe(1);
    const keysOnly = db.scan(data, { limit: 3, keysOnly: true });
    expect(keysOnly.pairs.every((p) => p.value.length === 0)).toBe(true);
  });

  it("paginates a whole range in both directions without losing or repeating keys", () => {
    const fwd = [...db.scanAll(data, { prefix: b("k"), limit: 7 })].map((p) => s(p.key));
    expect(fwd.length).toBe(250);
    expect(new Set(fwd).size).toBe(250);
    const rev = [...db.scanAll(data, { prefix: b("k"), limit: 7, reverse: true })].map((p) => s(p.key));
    expect(rev).toEqual([...fwd].reverse());
  });

  it("gives snapshots a fixed view until released", () => {
    db.put(meta, b("snap"), b("before"));
    const snap = db.snapshot();
    db.put(meta, b("snap"), b("after"));
    expect(s(snap.get(meta, b("snap")))).toBe("before");
    expect(s(snap.multiGet(meta, [b("snap")])[0])).toBe("before");
    expect(s(snap.scan(meta, { prefix: b("snap") }).pairs[0]?.value)).toBe("before");
    expect(s(db.get(meta, b("snap")))).toBe("after");
    snap.release();
    expect(code(() => snap.get(meta, b("snap")))).toBe("ENGINE:NoSuchSnapshot");
    snap.release(); // idempotent
  });

  it("reports a second open of the same directory as busy", () => {
    expect(code(() => RocksEngine.open(join(dir, "db"), { columnFamilies: ["meta", "data"] }))).toBe("ENGINE:Busy");
  });

  it("reports an unusable directory as an i/o error", () => {
    expect(code(() => RocksEngine.open("/proc/photon-cannot-create"))).toBe("ENGINE:IoError");
  });

  it("invalidates every handle when closed, and reopens with the data", () => {
    const path = join(dir, "closing");
    const e = RocksEngine.open(path);
    e.put(0, b("k"), b("v"), true);
    const snap = e.snapshot();
    e.close();
    expect(e.isOpen).toBe(false);
    expect(code(() => e.get(0, b("k")))).toBe("ENGINE:Closed");
    expect(code(() => snap.get(0, b("k")))).toBe("ENGINE:Closed");
    snap.release(); // releasing after close is harmless
    e.close(); // idempotent
    const again = RocksEngine.open(path);
    expect(s(again.get(0, b("k")))).toBe("v");
    again.flush();
    again.compact(0);
    expect(again.property(0, "rocksdb.estimate-num-keys")).toBeDefined();
    again.close();
  });
});

describe("durability", () => {
  it("keeps synced writes when the process is killed with SIGKILL", async () => {
    const path = join(dir, "crash");
    const script = join(dir, "writer.ts");
    await Bun.write(
      script,
      `import { RocksEngine } from ${JSON.stringify(join(import.meta.dir, "index.ts"))};
       const db = RocksEngine.open(${JSON.stringify(path)});
       for (let i = 0; i < 100; i++) db.write(db.batch().put(0, Buffer.from("k" + i), Buffer.from("v" + i)), true);
       console.log("written");
       setInterval(() => {}, 1000);`,
    );
    const child = Bun.spawn([process.execPath, script], { stdout: "pipe", stderr: "inherit" });
    const reader = child.stdout.getReader();
    const { value } = await reader.read();
    expect(new TextDecoder().decode(value)).toContain("written");
    child.kill("SIGKILL");
    await child.exited;
    const db2 = RocksEngine.open(path);
    expect(db2.multiGet(0, [b("k0"), b("k99")]).map(s)).toEqual(["v0", "v99"]);
    db2.close();
  });
});
