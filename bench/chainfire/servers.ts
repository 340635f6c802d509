/**
 * The two servers of the chainfire benchmarks, started the same way in every suite: etcd 3.4 from
 * Debian on loopback ports with its own data dir, and one chainfire member (serve.ts) in its own
 * process. Each returns once `ready(port)` succeeds; stop them by killing `proc` (SIGTERM).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { freePort } from "../../tests/support/free-port.ts";

/** A started server. */
export interface BenchServer {
  port: number;
  proc: ChildProcess;
}

/** Starts etcd with its data in `dir`/etcd. */
export async function startEtcd(dir: string, ready: (port: number) => Promise<void>): Promise<BenchServer> {
  const [port, peer] = [await freePort(), await freePort()];
  const proc = spawn("etcd", [
    "--name", "bench", "--data-dir", join(dir, "etcd"),
    "--listen-client-urls", `http://127.0.0.1:${port}`, "--advertise-client-urls", `http://127.0.0.1:${port}`,
    "--listen-peer-urls", `http://127.0.0.1:${peer}`, "--initial-advertise-peer-urls", `http://127.0.0.1:${peer}`,
    "--initial-cluster", `bench=http://127.0.0.1:${peer}`, "--log-level", "error", "--logger", "zap",
  ], { stdio: "ignore" });
  await ready(port);
  return { port, proc };
}

/** Starts one chainfire member (Raft, as photon up runs it) with its data in `dir`/chainfire. */
export async function startChainfire(dir: string, ready: (port: number) => Promise<void>): Promise<BenchServer> {
  const port = await freePort();
  const prof = process.env.BENCH_CPU_PROF ? (process.env.BENCH_HEAP_PROF ? ["--heap-prof-md", "--heap-prof-interval=8192", `--heap-prof-dir=${process.env.BENCH_CPU_PROF}`] : ["--cpu-prof-md", "--cpu-prof-interval=100", `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`]) : [];
  const proc = spawn(process.execPath, [...prof, join(import.meta.dir, "serve.ts"), join(dir, "chainfire"), String(port)], { stdio: process.env.BENCH_SERVER_STDERR ? ["ignore", "ignore", "inherit"] : "ignore" });
  await ready(port);
  return { port, proc };
}
