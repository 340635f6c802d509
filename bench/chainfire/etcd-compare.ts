/**
 * chainfire beside etcd 3.4 (Debian's), same machine, same run, same client: h2load (Debian
 * nghttp2-client) replaying one pre-encoded etcd v3 gRPC request against each server in turn.
 * Rounds interleave the two servers; medians of the rounds are reported with their ratio.
 *
 * Usage: bun bench/chainfire/etcd-compare.ts [--n 20000] [--rounds 3] [--only REGEX] [--write docs/benchmarks/chainfire-vs-etcd.md]
 * `--only` keeps the cases whose name matches (e.g. `--only "put, (1|16) client"` while iterating).
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { benchCases, h2load, h2loadReady, REPORT_HEADER, reportRow, warmUpRequests, writeRequestBodies, type Run } from "./h2load-etcd.ts";
import { startChainfire, startEtcd } from "./servers.ts";

const { values: args } = parseArgs({
  options: { n: { type: "string", default: "20000" }, rounds: { type: "string", default: "3" }, only: { type: "string" }, write: { type: "string" } },
});
const N = Number(args.n);
const ROUNDS = Number(args.rounds);

for (const tool of ["h2load", "etcd"]) {
  if (!Bun.which(tool)) {
    console.error(`skip: ${tool} not installed (apt-get install -y nghttp2-client etcd-server)`);
    process.exit(0);
  }
}

const work = mkdtempSync(join(tmpdir(), "chainfire-bench-"));
writeRequestBodies(work);

const waitReady = h2loadReady(work);

const cases = benchCases(N).filter((c) => !args.only || new RegExp(args.only).test(c.name));

const servers: { name: string; port: number; proc: ChildProcess }[] = [];
const rows: string[] = [];
try {
  servers.push({ name: "etcd", ...(await startEtcd(work, waitReady)) }, { name: "chainfire", ...(await startChainfire(work, waitReady)) });
  const url = (port: number) => `http://127.0.0.1:${port}`;
  for (const s of servers) h2load(work, url(s.port), "put", ["-c", "4", "-m", "8"], 2000); // warm-up
  for (const c of cases) {
    const samples: Record<string, Run[]> = { etcd: [], chainfire: [] };
    for (const s of servers) h2load(work, url(s.port), c.req, c.conc, warmUpRequests(c));
    for (let r = 0; r < ROUNDS; r++) for (const s of servers) samples[s.name]!.push(h2load(work, url(s.port), c.req, c.conc, c.n));
    rows.push(reportRow(c.name, samples.etcd!, samples.chainfire!));
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
request in flight each. ${ROUNDS} interleaved rounds, after an untimed pass of the case against each server (warm-up); medians of requests/s and of each round's per-request
latency percentiles (h2load --log-file).

${REPORT_HEADER}
${rows.join("\n")}
`;
console.log(report);
if (args.write) writeFileSync(args.write, report);
