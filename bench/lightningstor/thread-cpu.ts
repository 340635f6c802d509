/**
 * CPU time of this process's threads, from /proc (Linux): how much of each core a case used,
 * which stays meaningful when other work on a shared machine slows the wall clock down.
 */
import { readdirSync, readFileSync } from "node:fs";

/** Nanoseconds on a CPU so far, by thread: `main`, `hash` (Worker threads), `io` (Bun's pool), `other`. */
export function threadCpu(): Record<string, number> {
  const out: Record<string, number> = { main: 0, hash: 0, io: 0, other: 0 };
  for (const tid of readdirSync("/proc/self/task")) {
    try {
      const comm = readFileSync(`/proc/self/task/${tid}/comm`, "utf8").trim();
      const ns = Number(readFileSync(`/proc/self/task/${tid}/schedstat`, "utf8").split(" ")[0]);
      const kind = tid === String(process.pid) ? "main" : comm === "Worker" ? "hash" : comm.startsWith("Bun Pool") ? "io" : "other";
      out[kind]! += ns;
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

/** Milliseconds per `units` spent by each kind of thread between two `threadCpu()` readings. */
export function cpuPer(before: Record<string, number>, after: Record<string, number>, units: number): Record<string, number> {
  return Object.fromEntries(Object.keys(after).map((k) => [k, (after[k]! - (before[k] ?? 0)) / 1e6 / units]));
}
