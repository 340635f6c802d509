/**
 * The engine workload of bench/engine, as run from Bun against RocksEngine and bun:sqlite.
 * Mirrors native/engine/src/bin/engine-bench.rs (the pure Rust limit): 16-byte keys, 100-byte
 * values, single puts, batches of 1000, sync batches of 100, random gets, 100k-key scans.
 */
import { Database as Sqlite } from "bun:sqlite";
import { RocksEngine } from "../../lib/engine/index.ts";

/** Throughput of each case, in operations (or scanned keys) per second. */
export interface WorkloadResult {
  single_put: number;
  batch_put: number;
  sync_batch: number;
  random_get: number;
  multi_get: number;
  /** Keys scanned per second, each touched in place (offset table, no allocation per pair). */
  scan_keys: number;
  /** Keys scanned per second, the page fetched but not read. */
  scan_count: number;
  /** Keys scanned per second, each pair decoded into a {key, value} of views. */
  scan_pairs: number;
}

/** 16-byte key: "benchkey" + big-endian u64, like the Rust loop. */
export function key(i: number): Uint8Array {
  const k = new Uint8Array(16);
  k.set(prefix);
  const v = new DataView(k.buffer);
  v.setUint32(8, Math.floor(i / 2 ** 32));
  v.setUint32(12, i >>> 0);
  return k;
}

/** One reusable key buffer rewritten per operation, as the Rust loop builds keys on its stack. */
class KeyCursor {
  readonly bytes = key(0);
  private readonly view = new DataView(this.bytes.buffer);
  /** Points the buffer at key `i` and returns it. */
  at(i: number): Uint8Array {
    this.view.setUint32(8, Math.floor(i / 2 ** 32));
    this.view.setUint32(12, i >>> 0);
    return this.bytes;
  }
}
const prefix = new TextEncoder().encode("benchkey");
const value = new Uint8Array(100).fill(118);

/** xorshift64, the same sequence as the Rust loop. */
function* xorshift(): Generator<bigint> {
  let s = 0x9e3779b97f4a7c15n;
  const mask = (1n << 64n) - 1n;
  for (;;) {
    s ^= (s << 13n) & mask;
    s ^= s >> 7n;
    s ^= (s << 17n) & mask;
    yield s;
  }
}

function rate(n: number, started: number): number {
  return n / ((performance.now() - started) / 1000);
}

/** Random key indices in [0, 2n) from the xorshift sequence, precomputed as numbers. */
function randomIndices(n: number): Float64Array {
  const out = new Float64Array(n);
  const g = xorshift();
  for (let i = 0; i < n; i++) out[i] = Number(g.next().value! % BigInt(2 * n));
  return out;
}

/** Runs the workload against RocksEngine in `dir`. */
export function runEngine(dir: string, n: number): WorkloadResult {
  const db = RocksEngine.open(dir);
  const k = new KeyCursor();

  let t = performance.now();
  for (let i = 0; i < n; i++) db.put(0, k.at(i), value);
  const single_put = rate(n, t);

  t = performance.now();
  const batch = db.batch();
  const chunks = Math.floor(n / 1000);
  for (let c = 0; c < chunks; c++) {
    batch.clear();
    for (let i = c * 1000; i < (c + 1) * 1000; i++) batch.put(0, k.at(n + i), value);
    db.write(batch);
  }
  const batch_put = rate(chunks * 1000, t);

  t = performance.now();
  const syncs = 200;
  for (let c = 0; c < syncs; c++) {
    batch.clear();
    for (let i = 0; i < 100; i++) batch.put(0, k.at(3 * n + c * 100 + i), value);
    db.write(batch, true);
  }
  const sync_batch = rate(syncs * 100, t);

  // Reads run on a settled database (memtables flushed, fully compacted), as in the Rust loop.
  db.flush();
  db.compact(0);
  const reads = readCases(db, n).wall;
  db.close();
  return { single_put, batch_put, sync_batch, ...reads };
}

/** The read cases of the workload. */
export type ReadResult = Pick<WorkloadResult, "random_get" | "multi_get" | "scan_keys" | "scan_count" | "scan_pairs">;

/**
 * Only the read cases, on the database a full run (of either contender) left in `dir`: the
 * benchmark alternates this with `engine-bench DIR N --reads` on the very same files.
 */
export function runEngineReads(dir: string, n: number): { wall: ReadResult; cpu: ReadResult } {
  const db = RocksEngine.open(dir, { createIfMissing: false });
  try {
    return readCases(db, n);
  } finally {
    db.close();
  }
}

/** A starting point in wall-clock and process CPU time (all threads: GC and JIT included). */
class Mark {
  private readonly wall = performance.now();
  private readonly cpu = process.cpuUsage();
  /** Milliseconds of wall-clock time since the mark. */
  elapsed(): number {
    return performance.now() - this.wall;
  }
  /** `n` operations since the mark, per wall-clock second and per CPU second. */
  rates(n: number): [wall: number, cpu: number] {
    const c = process.cpuUsage(this.cpu);
    return [rate(n, this.wall), n / ((c.user + c.system) / 1e6)];
  }
}

/** Random gets one by one, then 100 per multi-get, then 100k-key scans: rates per wall-clock
 * second, and per CPU second of the process. */
function readCases(db: RocksEngine, n: number): { wall: ReadResult; cpu: ReadResult } {
  const k = new KeyCursor();
  const rnd = randomIndices(n);
  let t = new Mark();
  let found = 0;
  for (let i = 0; i < n; i++) found += db.get(0, k.at(rnd[i]!))?.length ?? 0;
  const random_get = t.rates(n);
  if (found === 0) throw new Error("random gets found nothing");

  // The same random keys, read 100 per multi-get (one crossing per 100 keys). The 100 key
  // arrays are reused, as the Rust loop builds its keys on the stack: allocating them would
  // measure Bun's allocator (~0.4 µs per key with GC), not the engine.
  const cursors = Array.from({ length: 100 }, () => new KeyCursor());
  const group: Uint8Array[] = new Array(100);
  t = new Mark();
  let hits = 0;
  for (let c = 0; c < Math.floor(n / 100); c++) {
    for (let i = 0; i < 100; i++) group[i] = cursors[i]!.at(rnd[c * 100 + i]!);
    hits += db.multiGet(0, group).length;
  }
  const multi_get = t.rates(Math.floor(n / 100) * 100);
  if (hits === 0) throw new Error("multi-gets found nothing");

  const start = key(0);
  const scanLoop = (consume: (page: ReturnType<typeof db.scan>) => number) => {
    const m = new Mark();
    let scanned = 0;
    let rounds = 0;
    while (m.elapsed() < 1000 || rounds < 3) {
      scanned += consume(db.scan(0, { start, limit: 100_000 }));
      rounds++;
    }
    return m.rates(scanned);
  };
  // Every key touched in place through the page's offset table (its length and first byte): no
  // allocation per pair, as the Rust loop could read each pair of its page.
  const scan_keys = scanLoop((page) => {
    let c = 0;
    const bytes = page.bytes;
    for (let i = 0; i < page.count; i++) c += page.keyLength(i) > 0 && bytes[page.keyOffset(i)] === 98 ? 1 : 0;
    return c;
  });
  // Every pair decoded into a {key, value} of views (`page.pairs`) and its key touched.
  const scan_pairs = scanLoop((page) => {
    let c = 0;
    for (const p of page.pairs) c += p.key.length > 0 ? 1 : 0;
    return c;
  });
  // The page fetched, not decoded (what the Rust loop does: it never reads the pairs).
  const scan_count = scanLoop((page) => page.count);
  const at = (i: 0 | 1): ReadResult => ({
    random_get: random_get[i],
    multi_get: multi_get[i],
    scan_count: scan_count[i],
    scan_keys: scan_keys[i],
    scan_pairs: scan_pairs[i],
  });
  return { wall: at(0), cpu: at(1) };
}

/** Runs the same workload against bun:sqlite (WAL, synchronous=NORMAL; FULL for sync batches). */
export function runSqlite(path: string, n: number): WorkloadResult {
  const db = new Sqlite(path);
  db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
  db.exec("CREATE TABLE kv (k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID");
  const put = db.prepare("INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)");
  const get = db.prepare("SELECT v FROM kv WHERE k = ?");
  const scan = db.prepare("SELECT k, v FROM kv WHERE k >= ? ORDER BY k LIMIT 100000");
  const keys = Array.from({ length: 4 * n }, (_, i) => key(i));

  let t = performance.now();
  for (let i = 0; i < n; i++) put.run(keys[i]!, value);
  const single_put = rate(n, t);

  const chunks = Math.floor(n / 1000);
  const insertChunk = db.transaction((from: number, count: number) => {
    for (let i = from; i < from + count; i++) put.run(keys[i]!, value);
  });
  t = performance.now();
  for (let c = 0; c < chunks; c++) insertChunk(n + c * 1000, 1000);
  const batch_put = rate(chunks * 1000, t);

  db.exec("PRAGMA synchronous=FULL");
  t = performance.now();
  const syncs = 200;
  for (let c = 0; c < syncs; c++) insertChunk(3 * n + c * 100, 100);
  const sync_batch = rate(syncs * 100, t);
  db.exec("PRAGMA synchronous=NORMAL");

  const rnd = randomIndices(n);
  t = performance.now();
  let found = 0;
  for (let i = 0; i < n; i++) found += (get.get(keys[rnd[i]!]!) as { v: Uint8Array } | null)?.v.length ?? 0;
  const random_get = rate(n, t);
  if (found === 0) throw new Error("random gets found nothing");

  t = performance.now();
  let scanned = 0;
  let rounds = 0;
  while (performance.now() - t < 1000 || rounds < 3) {
    for (const row of scan.iterate(keys[0]!) as IterableIterator<{ k: Uint8Array }>) scanned += row.k.length > 0 ? 1 : 0;
    rounds++;
  }
  const scan_keys = rate(scanned, t);
  db.close();
  return { single_put, batch_put, sync_batch, random_get, multi_get: random_get, scan_keys, scan_count: scan_keys, scan_pairs: scan_keys };
}
