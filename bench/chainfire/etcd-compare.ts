/**
 * chainfire beside etcd 3.4 (Debian's), same machine, same run, same client: h2load (Debian
 * nghttp2-client) replaying one pre-encoded etcd v3 gRPC request against each server in turn.
 * Rounds interleave the two servers; medians of the rounds are reported with their ratio.
 *
 * Usage: bun bench/chainfire/etcd-compare.ts [--n 20000] [--rounds 3] [--write docs/benchmarks/chainfire-vs-etcd.md]
 */
import { spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { kvService } from "../../services/chainfire/api/definitions.ts";
import { startChainfire, startEtcd } from "./servers.ts";

const { values: args } = parseArgs({
  options: { n: { type: "string", default: "20000" }, rounds: { type: "string", default: "3" }, write: { type: "string" } },
});
const N = Number(args.n);
const ROUNDS = Number(args.rounds);

for (const tool of ["h2load", "etcd"]) {
  if (!Bun.which(tool)) {
    console.error(`skip: ${tool} not installed (apt-get install -y nghttp2-client etcd-server)`);
    process.exit(0);
  }
}


function frame(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + body.length);
  new DataView(out.buffer).setUint32(1, body.length);
  out.set(body, 5);
  return out;
}

const work = mkdtempSync(join(tmpdir(), "chainfire-bench-"));
const key = new TextEncoder().encode("bench/key-000001");
const { Put, Range } = kvService.methods as Record<"Put" | "Range", NonNullable<(typeof kvService.methods)[string]>>;
const requests = {
  put: { path: Put.path, body: frame(Put.encodeRequest({ key, value: new Uint8Array(100).fill(120) })) },
  get: { path: Range.path, body: frame(Range.encodeRequest({ key })) },
  "get-serializable": { path: Range.path, body: frame(Range.encodeRequest({ key, serializable: true })) },
};
for (const [name, r] of Object.entries(requests)) writeFileSync(join(work, `${name}.bin`), r.body);

async function waitReady(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const r = spawnSync("h2load", ["-n", "1", "-d", join(work, "get.bin"), "-H", "content-type: application/grpc", "-H", "te: trailers", `http://127.0.0.1:${port}${requests.get.path}`], { encoding: "utf8" });
    if (/1 2xx/.test(r.stdout ?? "")) return;
    await Bun.sleep(100);
  }
  throw new Error(`server on ${port} did not become ready`);
}


let runs = 0;

/** One h2load run: requests/s and per-request latency percentiles (ms) from its --log-file. */
interface Run { rps: number; p50: number; p99: number }

function h2load(port: number, req: keyof typeof requests, conc: string[], n: number): Run {
  const log = join(work, `h2load-${++runs}.log`); // h2load appends to an existing file
  const cmd = ["-n", String(n), ...conc, "--log-file", log, "-d", join(work, `${req}.bin`), "-H", "content-type: application/grpc", "-H", "te: trailers", `http://127.0.0.1:${port}${requests[req].path}`];
  const out = spawnSync("h2load", cmd, { encoding: "utf8" }).stdout ?? "";
  const ok = Number(/status codes: (\d+) 2xx/.exec(out)?.[1] ?? NaN);
  if (ok !== n) throw new Error(`h2load: ${ok} of ${n} succeeded\n${out}`);
  const us = readFileSync(log, "utf8").trim().split("\n").map((l) => Number(l.split("\t")[2])).filter(Number.isFinite).sort((a, b) => a - b);
  rmSync(log, { force: true });
  const pct = (p: number) => us[Math.min(us.length - 1, Math.floor(us.length * p))]! / 1000;
  return { rps: Number(/finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(out)?.[1] ?? NaN), p50: pct(0.5), p99: pct(0.99) };
}

/** `clients` concurrent clients: one HTTP/2 connection each, one request in flight per client. */
const clientsOf = (clients: number) => ["-c", String(clients), "-m", "1"];

const cases: { name: string; req: keyof typeof requests; conc: string[]; n: number }[] = [
  { name: "put, 1 client", req: "put", conc: clientsOf(1), n: Math.max(500, N / 20) },
  { name: "put, 16 clients", req: "put", conc: clientsOf(16), n: Math.max(2000, N / 4) },
  { name: "put, 256 clients", req: "put", conc: clientsOf(256), n: N },
  { name: "put, 128 in flight (16 connections × 8 streams)", req: "put", conc: ["-c", "16", "-m", "8"], n: N },
  { name: "range (linearizable), 1 client", req: "get", conc: clientsOf(1), n: Math.max(1000, N / 10) },
  { name: "range (linearizable), 16 clients", req: "get", conc: clientsOf(16), n: N },
  { name: "range (linearizable), 256 clients", req: "get", conc: clientsOf(256), n: N },
  { name: "range (serializable), 16 clients", req: "get-serializable", conc: clientsOf(16), n: N },
  { name: "range (serializable), 256 clients", req: "get-serializable", conc: clientsOf(256), n: N },
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const servers: { name: string; port: number; proc: ChildProcess }[] = [];
const rows: string[] = [];
try {
  servers.push({ name: "etcd", ...(await startEtcd(work, waitReady)) }, { name: "chainfire", ...(await startChainfire(work, waitReady)) });
  for (const s of servers) h2load(s.port, "put", ["-c", "4", "-m", "8"], 2000); // warm-up
  for (const c of cases) {
    const samples: Record<string, Run[]> = { etcd: [], chainfire: [] };
    for (let r = 0; r < ROUNDS; r++) for (const s of servers) samples[s.name]!.push(h2load(s.port, c.req, c.conc, c.n));
    const m = (name: string, k: keyof Run) => median(samples[name]!.map((x) => x[k]));
    const [e, f] = [m("etcd", "rps"), m("chainfire", "rps")];
    const ms = (v: number) => v.toFixed(v < 10 ? 2 : 1);
    rows.push(`| ${c.name} | ${Math.round(e).toLocaleString("en-US")} | ${Math.round(f).toLocaleString("en-US")} | ${(f / e).toFixed(2)}× | ${ms(m("etcd", "p50"))} / ${ms(m("etcd", "p99"))} | ${ms(m("chainfire", "p50"))} / ${ms(m("chainfire", "p99"))} |`);
    console.log(rows[rows.length - 1]);
  }
} finally {
  for (const s of servers) s.proc.kill("SIGTERM");
  await Bun.sleep(300);
  rmSync(work, { recursive: true, force: true });
}

const report = `# chainfire vs etcd 3.4 (single node)

Command: \`bun bench/chainfire/etcd-compare.ts --n ${N} --rounds ${ROUNDS}\`, ${new Date().toISOString().slice(0, 10)}, this 2-core
shared machine (noisy: read the ratios). etcd 3.4.23 from Debian with default flags; chainfire as one Raft member (group
commit, one fsync per group). Both durable: every acknowledged put is fsynced. Client: h2load replaying one
pre-encoded etcd v3 gRPC request (16-byte key, 100-byte value); "N clients" = N HTTP/2 connections with one
request in flight each. ${ROUNDS} interleaved rounds; medians of requests/s and of each round's per-request
latency percentiles (h2load --log-file).

| case | etcd req/s | chainfire req/s | chainfire / etcd | etcd p50 / p99 (ms) | chainfire p50 / p99 (ms) |
|---|---|---|---|---|---|
${rows.join("\n")}
`;
console.log(report);
if (args.write) writeFileSync(args.write, report);
