/**
 * The engine benchmark: RocksEngine from Bun beside the same workload as a pure Rust loop (the
 * limit on this machine) and bun:sqlite (a reference), in one run, three rounds each, medians.
 * Also the per-call cost of the bare N-API call, of a point get and a small scan through bun:ffi and N-API,
 * and of a put.
 *
 * Writes are measured in full rounds (each contender builds its own database); reads are measured
 * again, alternating Rust and Bun `--read-rounds` times on the very same files, so both read the
 * same data layout within seconds of each other (the machine is shared and noisy).
 *
 * Usage: bun bench/engine/run.ts [--n 200000] [--rounds 3] [--read-rounds 9] [--write docs/benchmarks/engine.md]
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { RocksEngine } from "../../lib/engine/index.ts";
import { native } from "../../lib/native.ts";
import { key, runEngine, runEngineReads, runSqlite, type ReadResult, type WorkloadResult } from "./workload.ts";

const root = join(import.meta.dir, "..", "..");
const { values: args } = parseArgs({
  options: {
    n: { type: "string", default: "200000" },
    rounds: { type: "string", default: "3" },
    "read-rounds": { type: "string", default: "9" },
    "reads-only": { type: "boolean", default: false },
    write: { type: "string" },
  },
});
const n = Number(args.n);
const rounds = args["reads-only"] ? 0 : Number(args.rounds);
const readRounds = Number(args["read-rounds"]);
const loadStart = loadavg()[0]!.toFixed(1);
const readCases = ["random_get", "multi_get", "scan_count", "scan_keys", "scan_pairs"] as const;
const cases: (keyof WorkloadResult)[] = ["single_put", "batch_put", "sync_batch", "random_get", "multi_get", "scan_count", "scan_keys", "scan_pairs"];

function cargo(...argv: string[]): string {
  const res = spawnSync("node", [join(root, "scripts", "cargo.mjs"), ...argv], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  if (res.status !== 0) throw new Error(`cargo ${argv.join(" ")} failed`);
  return res.stdout;
}

function targetDir(): string {
  const res = spawnSync("node", ["-e", `import(${JSON.stringify(join(root, "scripts", "native-env.mjs"))}).then(m => console.log(m.nativeEnv().targetDir))`], { encoding: "utf8" });
  return res.stdout.trim();
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

cargo("build", "--release", "--quiet", "--bin", "engine-bench");
const rustBin = join(targetDir(), "release", "engine-bench");

const results: Record<"rust" | "bun" | "sqlite", WorkloadResult[]> = { rust: [], bun: [], sqlite: [] };
for (let r = 0; r < rounds; r++) {
  for (const which of ["rust", "bun", "sqlite"] as const) {
    const dir = mkdtempSync(join(tmpdir(), `photon-bench-${which}-`));
    try {
      if (which === "rust") {
        const out = spawnSync(rustBin, [join(dir, "db"), String(n)], { encoding: "utf8" });
        if (out.status !== 0) throw new Error(`engine-bench failed: ${out.stderr}`);
        const rust = JSON.parse(out.stdout) as WorkloadResult;
        results.rust.push({ ...rust, scan_count: rust.scan_keys, scan_pairs: rust.scan_keys });
      } else if (which === "bun") {
        results.bun.push(runEngine(join(dir, "db"), n));
      } else {
        results.sqlite.push(runSqlite(join(dir, "db.sqlite"), n));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    Bun.gc(true);
  }
}

// Reads on the same files: one database written by the Rust loop, then Rust and Bun alternately
// (order swapped every round) open it and run only the read cases, timed in wall-clock and in
// process CPU time.
type Timed = { wall: ReadResult; cpu: ReadResult };
const paired: Record<"rust" | "bun", Timed[]> = { rust: [], bun: [] };
if (readRounds > 0) {
  const dir = mkdtempSync(join(tmpdir(), "photon-bench-reads-"));
  try {
    const db = join(dir, "db");
    const full = spawnSync(rustBin, [db, String(n)], { encoding: "utf8" });
    if (full.status !== 0) throw new Error(`engine-bench failed: ${full.stderr}`);
    for (let r = 0; r < readRounds; r++) {
      for (const which of r % 2 === 0 ? (["rust", "bun"] as const) : (["bun", "rust"] as const)) {
        if (which === "rust") {
          const out = spawnSync(rustBin, [db, String(n), "--reads"], { encoding: "utf8" });
          if (out.status !== 0) throw new Error(`engine-bench --reads failed: ${out.stderr}`);
          const x = JSON.parse(out.stdout) as Record<string, number>;
          const pick = (sfx: string): ReadResult => ({
            random_get: x[`random_get${sfx}`]!,
            multi_get: x[`multi_get${sfx}`]!,
            scan_keys: x[`scan_keys${sfx}`]!,
            scan_count: x[`scan_keys${sfx}`]!,
            scan_pairs: x[`scan_keys${sfx}`]!,
          });
          paired.rust.push({ wall: pick(""), cpu: pick("_cpu") });
        } else {
          paired.bun.push(runEngineReads(db, n));
        }
        Bun.gc(true);
      }
      const i = paired.bun.length - 1;
      console.error(
        `reads round ${r + 1} (Bun/Rust, cpu | wall): ` +
          readCases.map((c) => `${c} ${pct(pairRatio(c, "cpu", i))} | ${pct(pairRatio(c, "wall", i))}`).join(", "),
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function pairRatio(c: (typeof readCases)[number], clock: "wall" | "cpu", i: number): number {
  return paired.bun[i]![clock][c] / paired.rust[i]![clock][c];
}
function pct(x: number): string {
  return `${(x * 100).toFixed(0)}%`;
}

const med = (which: keyof typeof results, c: keyof WorkloadResult) => median(results[which].map((x) => x[c]));
const fmt = (x: number) => Math.round(x).toLocaleString("en-US");
const rows = rounds === 0 ? [] : cases.map((c) => {
  const rust = med("rust", c);
  const bun = med("bun", c);
  const sqlite = med("sqlite", c);
  return `| ${c} | ${fmt(rust)} | ${fmt(bun)} | ${pct(bun / rust)} | ${fmt(sqlite)} |`;
});
/** Reads on the same files: medians of the per-round ratios (the two contenders of a round ran
 * seconds apart on the same files). */
const readRows = readRounds === 0 ? [] : readCases.map((c) => {
  const idx = paired.bun.map((_, i) => i);
  const cpu = (w: "rust" | "bun") => fmt(median(paired[w].map((x) => x.cpu[c])));
  /** Median ratio with the range over rounds. */
  const spread = (clock: "cpu" | "wall") => {
    const rs = idx.map((i) => pairRatio(c, clock, i));
    const p = (x: number) => (x * 100).toFixed(0);
    return `${pct(median(rs))} (${p(Math.min(...rs))}–${p(Math.max(...rs))})`;
  };
  return `| ${c} | ${cpu("rust")} | ${cpu("bun")} | ${spread("cpu")} | ${spread("wall")} |`;
});

// Per-call costs: each call repeated in turn (7 rounds of 100k calls, interleaved), timed in
// process CPU time like the alternated reads, so a loaded machine moves them little.
const dir = mkdtempSync(join(tmpdir(), "photon-bench-micro-"));
const db = RocksEngine.open(join(dir, "db"));
const dbNapi = RocksEngine.open(join(dir, "db-napi"), { pointReads: "napi" });
// Puts go to their own database: overwriting the read key would flush it out of the memtable.
const dbPut = RocksEngine.open(join(dir, "db-put"));
for (let i = 0; i < 1000; i++) db.put(0, key(i), new Uint8Array(100));
for (let i = 0; i < 1000; i++) dbNapi.put(0, key(i), new Uint8Array(100));
const addon = native();
const hit = key(500);
const calls: [string, () => unknown][] = [
  ["napi noop call", () => addon.noop(1)],
  [`engine get (hit, ${db.pointReads})`, () => db.get(0, hit)],
  ["engine get (hit, napi)", () => dbNapi.get(0, hit)],
  [`engine scan, 10 pairs (${db.pointReads})`, () => db.scan(0, { start: hit, limit: 10 }).count],
  ["engine scan, 10 pairs (napi)", () => dbNapi.scan(0, { start: hit, limit: 10 }).count],
  ["engine put", () => dbPut.put(0, hit, hit)],
];
const perCall: number[][] = calls.map(() => []);
for (let r = 0; r < 8; r++) {
  calls.forEach(([, f], i) => {
    const reps = 100_000;
    const c0 = process.cpuUsage();
    for (let j = 0; j < reps; j++) f();
    const c = process.cpuUsage(c0);
    if (r > 0) perCall[i]!.push(((c.user + c.system) * 1000) / reps); // round 0 warms up the JIT
  });
}
const microRows = calls.map(([name], i) => {
  const xs = perCall[i]!;
  return `| ${name} | ${median(xs).toFixed(0)} ns | ${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)} ns |`;
});
db.close();
dbNapi.close();
dbPut.close();
rmSync(dir, { recursive: true, force: true });

const goal = (c: (typeof readCases)[number], min: number) => {
  const r = median(paired.bun.map((_, i) => pairRatio(c, "cpu", i)));
  return `${pct(r)} ${r >= min ? "✓" : "✗"}`;
};
const report = `# Storage engine: Bun vs the pure Rust loop

Command: \`bun bench/engine/run.ts --n ${n} --rounds ${rounds} --read-rounds ${readRounds}\` (also \`npm run bench -- engine\`),
${new Date().toISOString().slice(0, 10)}, on this 2-core shared machine (load average ${loadStart} at the start, ${loadavg()[0]!.toFixed(1)} at the end:
read the ratios, not the absolutes). RocksDB
${process.env.PHOTON_ROCKSDB === "bundled" ? "bundled" : "linked from Debian's librocksdb-dev 7.8.3"}. Point reads from Bun go through bun:ffi,
and so do scans (docs/adr/0008-engine-point-reads.md); the \`napi\` lines below are the N-API path kept as fallback.

Workload: 16-byte keys, 100-byte values; ${fmt(n)} single puts, ${fmt(n)} puts in batches of 1000, 20,000 puts in
fsynced batches of 100, ${fmt(n)} random gets of present keys one by one and then 100 per multi-get (bun:sqlite:
the one-by-one figure again), repeated 100k-key scans.

## Whole workload (each contender on its own database)

Medians of ${rounds} rounds, the three contenders interleaved in each round; ops/s of wall-clock time (scan:
keys/s). Reads run after a flush and a full compaction in every contender.

| case | pure Rust loop (limit) | Bun → RocksEngine | Bun / Rust | bun:sqlite (reference) |
|---|---|---|---|---|
${rows.join("\n")}

The read rows of this table come from one pass per round on each contender's own database, in wall-clock
time; the point-read goal is judged on the alternated reads below.

## Reads on the same files, alternated

One database written by the Rust loop; then ${readRounds} rounds in which \`engine-bench DIR N --reads\` and Bun
(\`runEngineReads\`) each open those files and run only the read cases, the order swapped every round. Rates
are per CPU second of the whole process (every thread: Bun's GC and JIT count against Bun), which the other
jobs on this shared machine barely disturb; the wall-clock ratio is shown beside it. Ratios are medians of
the per-round ratios.

| case | Rust (per CPU s) | Bun (per CPU s) | Bun / Rust, CPU (range) | Bun / Rust, wall (range) |
|---|---|---|---|---|
${readRows.join("\n")}

Scans fetch 100k-key pages. \`scan_count\`: the page fetched into JS, not read (the Rust loop, too, never reads
the pairs it gets); \`scan_keys\`: every key then touched in place (its length and first byte, through the
page's offset table: no allocation per pair); \`scan_pairs\`: every pair decoded into a {key, value} of views
(\`page.pairs\`) and touched. All three compare against the same Rust scan.

Goal (issue 2): ≥ 90% of the Rust loop for batched puts and point gets, ≥ 80% for scans. Here (CPU):
random_get ${readRounds > 0 ? goal("random_get", 0.9) : "–"}, multi_get ${readRounds > 0 ? goal("multi_get", 0.9) : "–"},
scan_count ${readRounds > 0 ? goal("scan_count", 0.8) : "–"}, scan_keys ${readRounds > 0 ? goal("scan_keys", 0.8) : "–"}
(scan_pairs ${readRounds > 0 ? goal("scan_pairs", 0.8) : "–"}: an object and two views per pair).

## Per-call cost

CPU time per call, median of 7 rounds of 100,000 calls (the calls interleaved round by round), and the range.

| call | median | range |
|---|---|---|
${microRows.join("\n")}

The N-API overhead per call is the \`napi noop call\` line: a JS → native → JS round trip with one u32 argument.
The two \`engine get\` lines read the same 100-byte value from the memtable, through bun:ffi and through N-API;
the two \`engine scan\` lines fetch the same 10-pair page (memtable) both ways.

## Reading

- Batched puts reach the Rust loop (the batch crosses once, packed); single puts pay one N-API call each.
- Point reads cross through bun:ffi: a few ns per call instead of N-API's ~150 ns plus its typed-array
  argument handling (~400 ns more per get in all). What is left of the gap is the value handed to JS: each get
  returns an array the caller owns (\`slice\` of a native-filled scratch, ~40–170 ns with its share of GC),
  where the Rust loop only looks at a pinned slice. Multi-gets pack the keys into one reused buffer and copy
  each value out of one native-filled page; the benchmark reuses its 100 key arrays, as the Rust loop builds
  keys on its stack.
- Scans cross through bun:ffi too: the page is built in a reused native buffer with a u32 offset per pair;
  a page over 64 KiB is then handed to JS without a copy (an ArrayBuffer over the native buffer, freed natively
  when collected, its buffer pooled for later pages), a smaller one is copied out of a scratch. Measured per
  100k-key page (12.8 MB, CPU ms, sustained loops in one process): native scan alone ~10.5–11; handing it over
  adds ~0.3; copying it into fresh JS memory instead cost ~1 ms for the copy and ~2 ms of kernel page faults
  and zeroing (Bun's allocator returns freed large blocks to the system); the N-API path ~1.5–2 ms more than
  that. \`scan_keys\` then reads ~100k keys scattered over 12.8 MB (0.3 ms per page when cached, up to ~2 ms with cache misses);
  \`scan_pairs\` allocates an object and two views per pair (~10 ms per page, GC included), which no binding
  can remove — read \`bytes\` at the offsets, or ask for \`key(i)\`/\`value(i)\`, instead.
- Wall-clock read figures swing by ±50% and more between rounds when other jobs load the machine;
  CPU-time ratios vary less per round and their medians agree between runs within a few points, which
  is why the read goal is judged on them. The whole-workload table is wall-clock (sync batches wait on
  fsync, which CPU time would not see), so it carries the full noise of the machine.
`;
console.log(report);
if (args.write) writeFileSync(args.write, report);
