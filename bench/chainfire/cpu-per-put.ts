/**
 * CPU per put inside one chainfire member, by thread: starts serve.ts, runs h2load puts at the
 * given concurrencies and reads /proc/<pid>/task/<tid>/stat around each run.
 *
 * Usage: bun bench/chainfire/cpu-per-put.ts [--n 40000] [--clients 1,16,256] [--rounds 3]
 */
import { readdirSync, readFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { h2load, h2loadReady, writeRequestBodies } from "./h2load-etcd.ts";
import { startChainfire } from "./servers.ts";

const { values: args } = parseArgs({
  options: { n: { type: "string", default: "40000" }, clients: { type: "string", default: "1,16,256" }, rounds: { type: "string", default: "3" } },
});
const TICK_US = 1e6 / 100; // USER_HZ

/** CPU time (µs) per thread name of process `pid`. */
function threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
    const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const key = tid === String(pid) ? "main" : name.replace(/\d+$/, "");
    const split: [string, number][] = key === "main" ? [["main.user", Number(f[11])], ["main.sys", Number(f[12])]] : [[key, Number(f[11]) + Number(f[12])]];
    for (const [k, ticks] of split) out.set(k, (out.get(k) ?? 0) + ticks * TICK_US);
  }
  return out;
}

const work = mkdtempSync(join(tmpdir(), "chainfire-cpu-"));
writeRequestBodies(work);
const waitReady = h2loadReady(work);
const server = await startChainfire(work, waitReady);
const url = `http://127.0.0.1:${server.port}`;
try {
  h2load(work, url, "put", ["-c", "4", "-m", "8"], 5000);
  for (let r = 0; r < Number(args.rounds); r++) {
    for (const c of args.clients!.split(",").map(Number)) {
      const n = c === 1 ? Number(args.n) / 10 : Number(args.n);
      const before = threadCpu(server.proc.pid!);
      const run = h2load(work, url, "put", ["-c", String(c), "-m", "1"], n);
      const after = threadCpu(server.proc.pid!);
      const parts = [...after].map(([k, v]) => [k, (v - (before.get(k) ?? 0)) / n] as const).filter(([, v]) => v > 0.5).sort((a, b) => b[1] - a[1]);
      const total = parts.reduce((s, [, v]) => s + v, 0);
      console.log(`${c} clients: ${Math.round(run.rps)} req/s p50 ${run.p50.toFixed(2)} p99 ${run.p99.toFixed(2)} ms; CPU µs/put ${total.toFixed(1)} = ${parts.map(([k, v]) => `${k} ${v.toFixed(1)}`).join(", ")}`);
    }
  }
} finally {
  server.proc.kill("SIGTERM");
  await Bun.sleep(300);
  rmSync(work, { recursive: true, force: true });
}
