/**
 * chainfire on each of lib/grpc's HTTP/2 transports (node:http2 and the raw-socket h2/) beside
 * etcd 3.4, same machine, same run, same client (h2load replaying one pre-encoded etcd v3
 * request, as bench/chainfire/etcd-compare.ts does). Rounds interleave the three servers;
 * medians of requests/s are reported with the ratios.
 *
 * Usage: bun bench/grpc/chainfire-transports.ts [--n 20000] [--rounds 3] [--only "put, 128"]
 * (`--only`: run just the cases whose name contains the text).
 */
import type { ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { benchCases, h2load, h2loadReady, writeRequestBodies, type Run } from "../chainfire/h2load-etcd.ts";
import { startChainfire, startEtcd } from "../chainfire/servers.ts";

const { values: args } = parseArgs({
  options: { n: { type: "string", default: "20000" }, rounds: { type: "string", default: "3" }, only: { type: "string" } },
});
const N = Number(args.n);
const ROUNDS = Number(args.rounds);

for (const tool of ["h2load", "etcd"]) {
  if (!Bun.which(tool)) {
    console.error(`skip: ${tool} not installed (apt-get install -y nghttp2-client etcd-server)`);
    process.exit(0);
  }
}

const work = mkdtempSync(join(tmpdir(), "chainfire-transports-"));
writeRequestBodies(work);

const waitReady = h2loadReady(work);

/** Starts chainfire with GrpcServer's transport picked through PHOTON_GRPC_TRANSPORT. */
async function chainfireOn(transport: "node" | "h2"): Promise<{ port: number; proc: ChildProcess }> {
  const dir = join(work, transport);
  mkdirSync(dir);
  const saved = process.env.PHOTON_GRPC_TRANSPORT;
  process.env.PHOTON_GRPC_TRANSPORT = transport; // read by the child at spawn
  try {
    return await startChainfire(dir, waitReady);
  } finally {
    if (saved === undefined) delete process.env.PHOTON_GRPC_TRANSPORT;
    else process.env.PHOTON_GRPC_TRANSPORT = saved;
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (v: number) => Math.round(v).toLocaleString("en-US");
const cases = benchCases(N).filter((c) => args.only === undefined || c.name.includes(args.only));
const names = ["etcd", "chainfire-node", "chainfire-h2"] as const;
const servers: { name: (typeof names)[number]; port: number; proc: ChildProcess }[] = [];
const rows: string[] = [];
try {
  servers.push({ name: "etcd", ...(await startEtcd(work, waitReady)) });
  servers.push({ name: "chainfire-node", ...(await chainfireOn("node")) });
  servers.push({ name: "chainfire-h2", ...(await chainfireOn("h2")) });
  const url = (port: number) => `http://127.0.0.1:${port}`;
  for (const s of servers) h2load(work, url(s.port), "put", ["-c", "4", "-m", "8"], 2000); // warm-up
  for (const c of cases) {
    const samples: Record<string, Run[]> = { etcd: [], "chainfire-node": [], "chainfire-h2": [] };
    for (let r = 0; r < ROUNDS; r++) for (const s of servers) samples[s.name]!.push(h2load(work, url(s.port), c.req, c.conc, c.n));
    const [e, n, h] = names.map((k) => median(samples[k]!.map((x) => x.rps))) as [number, number, number];
    rows.push(`| ${c.name} | ${fmt(e)} | ${fmt(n)} | ${fmt(h)} | ${(n / e).toFixed(2)}× | ${(h / e).toFixed(2)}× | ${(h / n).toFixed(2)}× |`);
    console.log(rows[rows.length - 1], "  runs:", names.map((k) => `${k} ${samples[k]!.map((x) => Math.round(x.rps)).join("/")}`).join(", "));
  }
} finally {
  for (const s of servers) s.proc.kill("SIGTERM");
  await Bun.sleep(300);
  rmSync(work, { recursive: true, force: true });
}

console.log(`
Command: \`bun bench/grpc/chainfire-transports.ts --n ${N} --rounds ${ROUNDS}${args.only ? ` --only "${args.only}"` : ""}\`, ${new Date().toISOString().slice(0, 10)}

| case | etcd req/s | chainfire (node:http2) req/s | chainfire (h2) req/s | node:http2 / etcd | h2 / etcd | h2 / node:http2 |
|---|---|---|---|---|---|---|
${rows.join("\n")}`);
