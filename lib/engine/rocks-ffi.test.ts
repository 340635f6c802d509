/**
 * The bun:ffi point reads (rocks-ffi.ts) against the N-API path: same bytes for every shape of
 * key and value, clean ENGINE errors for stale handles and bad arguments, and the same fast
 * path inside a `bun build --compile` executable.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PhotonError } from "../errors.ts";
import { RocksEngine } from "./index.ts";
import { ffiReads } from "./rocks-ffi.ts";

const b = (s: string) => Buffer.from(s);

let dir: string;
let fast: RocksEngine;
let napi: RocksEngine;
/** Keys of every shape, written with the values below into both databases. */
const entries: [Uint8Array, Uint8Array][] = [];
const absent = [b("absent"), new Uint8Array([0, 0, 0]), new Uint8Array(0)];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "photon-engine-ffi-"));
  fast = RocksEngine.open(join(dir, "fast"), { columnFamilies: ["default", "data"] });
  napi = RocksEngine.open(join(dir, "napi"), { columnFamilies: ["default", "data"], pointReads: "napi" });
  const pattern = (n: number, seed: number) => new Uint8Array(n).map((_, i) => (i * 31 + seed) % 251);
  entries.push([b("small"), b("value")]);
  entries.push([b("empty"), new Uint8Array(0)]);
  entries.push([new Uint8Array([0, 255, 0, 1]), pattern(100, 1)]);
  entries.push([b("scratch-exact"), pattern(64 * 1024, 2)]); // exactly the scratch size
  entries.push([b("beyond-scratch"), pattern(64 * 1024 + 1, 3)]);
  entries.push([b("big"), pattern(3 << 20, 4)]);
  entries.push([pattern(5000, 5), b("long key")]);
  for (const db of [fast, napi]) for (const [k, v] of entries) db.put(db.cf("data"), k, v);
});

afterAll(() => {
  fast.close();
  napi.close();
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

const same = (a: Uint8Array | undefined, e: Uint8Array | undefined) => {
  if (e === undefined) return expect(a).toBeUndefined();
  expect(a).toBeInstanceOf(Uint8Array);
  expect(a!.length).toBe(e.length);
  expect(Buffer.compare(a!, e)).toBe(0);
};

describe("point reads over bun:ffi", () => {
  it("is the path Bun takes by default", () => {
    expect(ffiReads()).toBeDefined();
    expect(fast.pointReads).toBe("ffi");
    expect(napi.pointReads).toBe("napi");
  });

  it("returns the same bytes as N-API for every key and value shape", () => {
    const data = fast.cf("data");
    for (const [k, v] of entries) {
      same(fast.get(data, k), v);
      same(fast.get(data, k), napi.get(data, k));
    }
    for (const k of absent) {
      expect(fast.get(data, k)).toBeUndefined();
      expect(napi.get(data, k)).toBeUndefined();
    }
    // A key that is a view into a larger buffer (non-zero byteOffset).
    const host = new Uint8Array([9, 9, ...b("small"), 9]);
    same(fast.get(data, host.subarray(2, 7)), b("value"));
    expect(fast.get(0, b("small"))).toBeUndefined(); // column families stay apart
  });

  it("hands out values the caller owns: later reads never change them", () => {
    const data = fast.cf("data");
    const first = fast.get(data, b("small"))!;
    const big = fast.get(data, b("beyond-scratch"))!;
    fast.get(data, entries[2]![0]);
    expect(Buffer.from(first).toString()).toBe("value");
    expect(first.buffer.byteLength).toBeLessThan(1024); // a copy, not a view of the scratch
    same(big, entries[4]![1]);
  });

  it("multi-gets in order, with missing keys, empty and large values and many keys", () => {
    const data = fast.cf("data");
    const keys = [...entries.map(([k]) => k), ...absent, entries[0]![0]];
    const got = fast.multiGet(data, keys);
    const want = napi.multiGet(data, keys);
    expect(got.length).toBe(keys.length);
    keys.forEach((_, i) => same(got[i], want[i]));
    same(got[0], b("value"));
    expect(got[entries.length]).toBeUndefined();
    got[0]![0] = 0; // each value is its own copy
    same(got[keys.length - 1], b("value"));
    // 2,000 keys (grows the key scratch), most missing.
    const many = Array.from({ length: 2000 }, (_, i) => (i % 500 === 0 ? b("small") : b(`missing-${i}`)));
    const res = fast.multiGet(data, many);
    expect(res.filter((v) => v !== undefined).length).toBe(4);
    expect(fast.multiGet(data, [])).toEqual([]);
  });

  it("reads snapshots through the same path", () => {
    const data = fast.cf("data");
    fast.put(data, b("snap"), b("before"));
    const snap = fast.snapshot();
    fast.put(data, b("snap"), b("after"));
    expect(Buffer.from(snap.get(data, b("snap"))!).toString()).toBe("before");
    expect(Buffer.from(snap.multiGet(data, [b("snap")])[0]!).toString()).toBe("before");
    snap.release();
    expect(code(() => snap.get(data, b("snap")))).toBe("ENGINE:NoSuchSnapshot");
    expect(code(() => snap.multiGet(data, [b("snap")]))).toBe("ENGINE:NoSuchSnapshot");
  });

  it("rejects bad arguments with ENGINE:InvalidArgument instead of touching memory", () => {
    expect(code(() => fast.get(300, b("k")))).toBe("ENGINE:InvalidArgument");
    expect(code(() => fast.get(-1, b("k")))).toBe("ENGINE:InvalidArgument");
    expect(code(() => fast.get(0.5, b("k")))).toBe("ENGINE:InvalidArgument");
    // A number would be a raw address to bun:ffi.
    expect(code(() => fast.get(0, 4096 as unknown as Uint8Array))).toBe("ENGINE:InvalidArgument");
    expect(code(() => fast.multiGet(0, [b("k"), 4096 as unknown as Uint8Array]))).toBe("ENGINE:InvalidArgument");
    // Lengths come from the engine's own getter, so a subclass cannot make native code overread.
    class Lying extends Uint8Array {
      override get length() {
        return 1 << 30;
      }
    }
    const lying = new Lying(b("small"));
    same(fast.get(fast.cf("data"), lying), b("value"));
    same(fast.multiGet(fast.cf("data"), [lying])[0], b("value"));
    const proxy = new Proxy(b("small"), {});
    expect(code(() => fast.get(0, proxy))).toBe("ENGINE:InvalidArgument");
    expect(code(() => RocksEngine.open(join(dir, "x"), { pointReads: "fast" as "napi" }))).toBe("ENGINE:InvalidArgument");
  });

  it("turns stale and unknown handles into ENGINE:Closed, never a crash", () => {
    const path = join(dir, "closing");
    const e = RocksEngine.open(path);
    e.put(0, b("k"), b("v"));
    const snap = e.snapshot();
    expect(Buffer.from(e.get(0, b("k"))!).toString()).toBe("v");
    e.close();
    expect(code(() => e.get(0, b("k")))).toBe("ENGINE:Closed");
    expect(code(() => e.multiGet(0, [b("k")]))).toBe("ENGINE:Closed");
    expect(code(() => snap.get(0, b("k")))).toBe("ENGINE:Closed");
    const reads = ffiReads()!;
    for (const handle of [0, 0xfffffff0, 123456]) {
      expect(code(() => reads.get(handle, 0, 0, b("k")))).toBe("ENGINE:Closed");
      expect(code(() => reads.multiGet(handle, 0, 0, [b("k")]))).toBe("ENGINE:Closed");
    }
    // Reopening gives a new handle; the old engine object stays closed.
    const again = RocksEngine.open(path);
    expect(Buffer.from(again.get(0, b("k"))!).toString()).toBe("v");
    expect(code(() => e.get(0, b("k")))).toBe("ENGINE:Closed");
    again.close();
  });
});

describe("reads in a compiled executable", () => {
  it("link bun:ffi there too (point reads and scans)", async () => {
    const out = mkdtempSync(join(tmpdir(), "photon-ffi-compile-"));
    try {
      const entry = join(out, "entry.ts");
      await Bun.write(
        entry,
        `import { RocksEngine } from ${JSON.stringify(join(import.meta.dir, "index.ts"))};
         const db = RocksEngine.open(process.argv[2]!);
         db.put(0, Buffer.from("k"), Buffer.from("compiled"));
         const v = db.get(0, Buffer.from("k"));
         const page = db.scan(0, {});
         const scanned = Buffer.from(page.value(0)).toString();
         const table = new DataView(page.bytes.buffer, page.bytes.byteOffset).getUint32(8, true);
         console.log(JSON.stringify({ pointReads: db.pointReads, value: Buffer.from(v!).toString(), scanned, table: table > 0 }));
         db.close();`,
      );
      const exe = join(out, "probe");
      const build = Bun.spawnSync([process.execPath, "build", "--compile", entry, "--outfile", exe], { stderr: "pipe" });
      expect(build.exitCode, build.stderr.toString()).toBe(0);
      const run = Bun.spawnSync([exe, join(out, "db")], { cwd: out, stdout: "pipe", stderr: "pipe" });
      expect(run.exitCode, run.stderr.toString()).toBe(0);
      // table: the page came with its native offset table, i.e. through the bun:ffi scan.
      expect(JSON.parse(run.stdout.toString())).toEqual({ pointReads: "ffi", value: "compiled", scanned: "compiled", table: true });
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 60_000);
});
