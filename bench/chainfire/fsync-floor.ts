/**
 * The disk's floor under a single-client durable put: one small append made durable with
 * fdatasync, in three kinds of file — a growing file (every sync also commits the new size to the
 * journal), a file preallocated with FALLOC_FL_KEEP_SIZE (RocksDB's WAL: the size still grows), and
 * a file whose blocks and size are set before (etcd's preallocated WAL segments: data only).
 * Rounds alternate the three; medians of per-sync p50/p99 across rounds.
 *
 * Usage: bun bench/chainfire/fsync-floor.ts [--n 2000] [--rounds 3] [--dir /work]
 */
import { closeSync, fdatasyncSync, fsyncSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { dlopen, FFIType } from "bun:ffi";

const { values: args } = parseArgs({
  options: { n: { type: "string", default: "2000" }, rounds: { type: "string", default: "3" }, dir: { type: "string", default: process.cwd() } },
});
const N = Number(args.n);
const ROUNDS = Number(args.rounds);
const SIZE = 64 << 20;
const RECORD = new Uint8Array(200).fill(120);

const libc = dlopen("libc.so.6", { fallocate: { args: [FFIType.i32, FFIType.i32, FFIType.i64, FFIType.i64], returns: FFIType.i32 } });
const FALLOC_FL_KEEP_SIZE = 1;

type Kind = "growing" | "keep-size" | "preallocated";

/** Per-sync latencies (µs) of N appends + fdatasync in a new file of kind `kind`. */
function run(dir: string, kind: Kind): number[] {
  const path = join(dir, `floor-${kind}`);
  const fd = openSync(path, "w+", 0o600);
  try {
    if (kind !== "growing" && libc.symbols.fallocate(fd, kind === "keep-size" ? FALLOC_FL_KEEP_SIZE : 0, 0, SIZE) !== 0) {
      throw new Error("fallocate failed (filesystem without it?)");
    }
    fsyncSync(fd);
    const out: number[] = [];
    for (let i = 0; i < N; i++) {
      const t = Bun.nanoseconds();
      writeSync(fd, RECORD);
      fdatasyncSync(fd);
      out.push((Bun.nanoseconds() - t) / 1000);
    }
    return out;
  } finally {
    closeSync(fd);
    rmSync(path, { force: true });
  }
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
const median = (xs: number[]) => pct(xs, 0.5);

const dir = mkdtempSync(join(args.dir!, "fsync-floor-"));
const kinds: Kind[] = ["growing", "keep-size", "preallocated"];
const p50: Record<Kind, number[]> = { growing: [], "keep-size": [], preallocated: [] };
const p99: Record<Kind, number[]> = { growing: [], "keep-size": [], preallocated: [] };
try {
  for (let r = 0; r < ROUNDS; r++) {
    for (const k of kinds) {
      const xs = run(dir, k);
      p50[k].push(pct(xs, 0.5));
      p99[k].push(pct(xs, 0.99));
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`| file | write + fdatasync p50 (µs) | p99 (µs) |\n|---|---|---|`);
for (const k of kinds) console.log(`| ${k} | ${median(p50[k]).toFixed(1)} | ${median(p99[k]).toFixed(1)} |`);
