/**
 * The etcd v3 requests the chainfire benchmarks replay with h2load (Debian's nghttp2-client), the
 * case matrix of issue 3 (puts at 1/16/256 clients, linearizable and serializable ranges) and one
 * h2load run with requests/s and per-request latency percentiles. Shared by the single-node
 * (etcd-compare.ts) and the 3-node (cluster-compare.ts) benchmarks, so both measure the same.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { kvService } from "../../services/chainfire/api/definitions.ts";

function frame(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + body.length);
  new DataView(out.buffer).setUint32(1, body.length);
  out.set(body, 5);
  return out;
}

const key = new TextEncoder().encode("bench/key-000001");
const { Put, Range } = kvService.methods as Record<"Put" | "Range", NonNullable<(typeof kvService.methods)[string]>>;

/** The replayed requests: a 100-byte put and a range of one key (16-byte keys). */
export const requests = {
  put: { path: Put.path, body: frame(Put.encodeRequest({ key, value: new Uint8Array(100).fill(120) })) },
  get: { path: Range.path, body: frame(Range.encodeRequest({ key })) },
  "get-serializable": { path: Range.path, body: frame(Range.encodeRequest({ key, serializable: true })) },
};
export type RequestName = keyof typeof requests;

/** Writes each request's body into `dir` (h2load reads it with -d). */
export function writeRequestBodies(dir: string): void {
  for (const [name, r] of Object.entries(requests)) writeFileSync(join(dir, `${name}.bin`), r.body);
}

/** One h2load run: requests/s and per-request latency percentiles (ms) from its --log-file. */
export interface Run { rps: number; p50: number; p99: number }

/** A benchmark case. */
export interface BenchCase { name: string; req: RequestName; conc: string[]; n: number }

/** `clients` concurrent clients: one HTTP/2 connection each, one request in flight per client. */
export const clientsOf = (clients: number) => ["-c", String(clients), "-m", "1"];

/**
 * Requests of an untimed pass of a case before its rounds: each server runs the case's own
 * code paths warm (a JIT-compiled server otherwise pays its compilation inside the first
 * round's tail latency, which a Go server does not have).
 */
export const warmUpRequests = (c: BenchCase) => Math.max(500, Math.floor(c.n / 2));

/** Issue 3's matrix for `n` requests per large case. */
export function benchCases(n: number): BenchCase[] {
  return [
    { name: "put, 1 client", req: "put", conc: clientsOf(1), n: Math.max(2000, n / 5) },
    { name: "put, 16 clients", req: "put", conc: clientsOf(16), n: Math.max(2000, n / 4) },
    { name: "put, 256 clients", req: "put", conc: clientsOf(256), n },
    { name: "put, 128 in flight (16 connections × 8 streams)", req: "put", conc: ["-c", "16", "-m", "8"], n },
    { name: "range (linearizable), 1 client", req: "get", conc: clientsOf(1), n: Math.max(1000, n / 10) },
    { name: "range (linearizable), 16 clients", req: "get", conc: clientsOf(16), n },
    { name: "range (linearizable), 256 clients", req: "get", conc: clientsOf(256), n },
    { name: "range (serializable), 16 clients", req: "get-serializable", conc: clientsOf(16), n },
    { name: "range (serializable), 256 clients", req: "get-serializable", conc: clientsOf(256), n },
  ];
}

let runs = 0;

/**
 * Runs h2load against `url` (`http://host:port`) in `dir`, optionally through `prefix` (e.g.
 * `ip netns exec NS`). @throws when not every request succeeded.
 */
export function h2load(dir: string, url: string, req: RequestName, conc: string[], n: number, prefix: string[] = []): Run {
  const log = join(dir, `h2load-${process.pid}-${++runs}.log`); // h2load appends to an existing file
  const cmd = [...prefix, "h2load", "-n", String(n), ...conc, "--log-file", log, "-d", join(dir, `${req}.bin`), "-H", "content-type: application/grpc", "-H", "te: trailers", `${url}${requests[req].path}`];
  const out = spawnSync(cmd[0]!, cmd.slice(1), { encoding: "utf8" }).stdout ?? "";
  const ok = Number(/status codes: (\d+) 2xx/.exec(out)?.[1] ?? NaN);
  if (ok !== n) throw new Error(`h2load: ${ok} of ${n} succeeded\n${out}`);
  const us = readFileSync(log, "utf8").trim().split("\n").map((l) => Number(l.split("\t")[2])).filter(Number.isFinite).sort((a, b) => a - b);
  rmSync(log, { force: true });
  const pct = (p: number) => us[Math.min(us.length - 1, Math.floor(us.length * p))]! / 1000;
  return { rps: Number(/finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(out)?.[1] ?? NaN), p50: pct(0.5), p99: pct(0.99) };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The report row of one case: medians over rounds of both servers, and the ratio. */
export function reportRow(name: string, etcd: Run[], chainfire: Run[]): string {
  const m = (runs: Run[], k: keyof Run) => median(runs.map((x) => x[k]));
  const [e, f] = [m(etcd, "rps"), m(chainfire, "rps")];
  const ms = (v: number) => v.toFixed(v < 10 ? 2 : 1);
  return `| ${name} | ${Math.round(e).toLocaleString("en-US")} | ${Math.round(f).toLocaleString("en-US")} | ${(f / e).toFixed(2)}× | ${ms(m(etcd, "p50"))} / ${ms(m(etcd, "p99"))} | ${ms(m(chainfire, "p50"))} / ${ms(m(chainfire, "p99"))} |`;
}

/** The table header matching `reportRow`. */
export const REPORT_HEADER = "| case | etcd req/s | chainfire req/s | chainfire / etcd | etcd p50 / p99 (ms) | chainfire p50 / p99 (ms) |\n|---|---|---|---|---|---|";

/**
 * A `ready(port)` for servers.ts: resolves once one Range through h2load (request bodies in
 * `dir`, from writeRequestBodies) succeeds on 127.0.0.1:`port`. @throws after ~10 s.
 */
export function h2loadReady(dir: string): (port: number) => Promise<void> {
  return async (port) => {
    for (let i = 0; i < 100; i++) {
      const r = spawnSync("h2load", ["-n", "1", "-d", join(dir, "get.bin"), "-H", "content-type: application/grpc", "-H", "te: trailers", `http://127.0.0.1:${port}${requests.get.path}`], { encoding: "utf8" });
      if (/1 2xx/.test(r.stdout ?? "")) return;
      await Bun.sleep(100);
    }
    throw new Error(`server on ${port} did not become ready`);
  };
}
