/**
 * Watch fan-out, chainfire beside etcd 3.4 (Debian's), same machine, same period, same client:
 * W watchers on one prefix (S Watch streams, each on its own HTTP/2 connection, W/S watches per
 * stream), one writer doing N puts under that prefix (I in flight). Reported per server:
 * events delivered per second (all W×N events, from the first put to the last delivery), the
 * delay from a put's acknowledgement (the writer's response) to each watcher receiving its event
 * (p50/p99; negative when the event arrives before the acknowledgement), and the CPU each side
 * spent per delivered event (server and client processes: /proc/PID/stat), and how many events
 * each WatchResponse carried.
 *
 * The client is the same for every server: the writer (lib/grpc's client) in this process, the
 * watchers in P child processes, so neither the watchers' CPU nor their event loop holds the
 * writer back. The watchers are lib/grpc's client parsing only what the benchmark needs
 * (watch-fanout-watchers.ts), or with `--client go` etcd's own clientv3 (watch-fanout-go/, built
 * at start from Debian's golang-etcd-server-dev), which costs more per event here (see
 * docs/benchmarks/chainfire-watch.md).
 * Rounds alternate the servers' order; the table holds each metric's median.
 * `--baseline DIR` adds a third server: the chainfire of another checkout (an older version of
 * the code), run in the same rounds, so a change is measured against its predecessor in the same
 * period on this shared machine.
 *
 * Usage: bun bench/chainfire/watch-fanout.ts [--n 2000] [--streams 10] [--watches 100] [--inflight 4]
 *   [--procs 2] [--client go|bun] [--rounds 3] [--baseline /tmp/old-checkout] [--write docs/benchmarks/chainfire-watch.md]
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { GrpcClient } from "../../lib/grpc/index.ts";
import { freePort } from "../../tests/support/free-port.ts";
import { kvService } from "../../services/chainfire/api/definitions.ts";
import { num, type Int64 } from "../../services/chainfire/api/wire.ts";
import { startChainfire, startEtcd, type BenchServer } from "./servers.ts";

const { values: args } = parseArgs({
  options: {
    n: { type: "string", default: "2000" },
    streams: { type: "string", default: "10" },
    watches: { type: "string", default: "100" },
    inflight: { type: "string", default: "4" },
    rounds: { type: "string", default: "1" },
    procs: { type: "string", default: "2" },
    client: { type: "string", default: "bun" },
    baseline: { type: "string" },
    write: { type: "string" },
  },
});
const N = Number(args.n);
const STREAMS = Number(args.streams);
const PER_STREAM = Number(args.watches);
const INFLIGHT = Number(args.inflight);
const ROUNDS = Number(args.rounds);
const PROCS = Number(args.procs);
const WATCHERS = STREAMS * PER_STREAM;
const DEADLINE_MS = 90_000;
/** Linux clock ticks per second (USER_HZ) in /proc/PID/stat. */
const CLOCK_TICKS = 100;

if (!Bun.which("etcd")) {
  console.error("skip: etcd not installed (apt-get install -y etcd-server)");
  process.exit(0);
}

const work = mkdtempSync(join(tmpdir(), "chainfire-watch-bench-"));
const te = new TextEncoder();
const PREFIX = te.encode("wf/");
const RANGE_END = te.encode("wf0");
const VALUE = new Uint8Array(100).fill(120);
const { Put, Range } = kvService.methods as Record<"Put" | "Range", NonNullable<(typeof kvService.methods)[string]>>;

async function waitReady(port: number): Promise<void> {
  const c = new GrpcClient(`http://127.0.0.1:${port}`, { defaultTimeoutMs: 1_000 });
  try {
    for (let i = 0; i < 150; i++) {
      try {
        await c.unary(Range, { key: PREFIX });
        return;
      } catch {
        await Bun.sleep(100);
      }
    }
  } finally {
    c.close();
  }
  throw new Error(`server on ${port} did not become ready`);
}

/** Starts the chainfire of another checkout (`root`), as servers.ts starts this one's. */
async function startChainfireFrom(root: string, dir: string): Promise<BenchServer> {
  const port = await freePort();
  const proc = spawn(process.execPath, [join(root, "bench/chainfire/serve.ts"), join(dir, "chainfire-base"), String(port)], { stdio: "ignore", cwd: root });
  await waitReady(port);
  return { port, proc };
}

/** CPU time (ms, user + system) process `pid` has used so far. */
function procCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}

const pct = (xs: Float64Array, p: number) => xs[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

interface Result {
  eventsPerSec: number;
  delivered: number;
  p50: number;
  p99: number;
  putsPerSec: number;
  basePutsPerSec: number;
  /** Server CPU per delivered event (µs). */
  serverUs: number;
  /** The client's CPU per delivered event (µs): the watcher processes and the writer's. */
  clientUs: number;
  /** Events per WatchResponse (responses carrying events). */
  eventsPerResponse: number;
  /** 1-minute load average when the round ended. */
  load: number;
}

/** Puts `n` keys (INFLIGHT at a time); calls `onAck` with each response's revision. Resolves to puts/s. */
async function putMany(writer: GrpcClient, prefix: string, n: number, onAck: (rev: number) => void): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: INFLIGHT }, async () => {
      while (next < n) {
        const i = next++;
        const r = (await writer.unary(Put, { key: te.encode(`${prefix}${String(i).padStart(6, "0")}`), value: VALUE })) as { header?: { revision?: Int64 } };
        onAck(num(r.header?.revision));
      }
    }),
  );
  return n / ((performance.now() - t0) / 1000);
}

/**
 * The watcher program: with `--client go`, etcd's clientv3 (watch-fanout-go, built here from
 * Debian's golang-etcd-server-dev) when Go and that package are there; else lib/grpc's client
 * (watch-fanout-watchers.ts). Both take ENDPOINT STREAMS WATCHES_PER_STREAM EXPECTED OUT_FILE.
 */
function watcherCommand(): { cmd: string; args: string[]; name: string } {
  const gocode = "/usr/share/gocode/src/go.etcd.io/etcd/clientv3";
  if (args.client === "go" && Bun.which("go") && existsSync(gocode)) {
    const bin = join(work, "watch-fanout-go");
    const build = spawnSync("go", ["build", "-o", bin, "main.go"], { cwd: join(import.meta.dir, "watch-fanout-go"), env: { ...process.env, GO111MODULE: "off", GOPATH: "/usr/share/gocode", GOFLAGS: "" }, stdio: "inherit" });
    if (build.status === 0) return { cmd: bin, args: [], name: "etcd clientv3 (Go)" };
    console.error("watch-fanout-go did not build: falling back to lib/grpc's client");
  } else if (args.client === "go") console.error("go or golang-etcd-server-dev missing: using lib/grpc's client");
  return { cmd: process.execPath, args: [join(import.meta.dir, "watch-fanout-watchers.ts")], name: "lib/grpc (Bun)" };
}

/** Starts one watcher process for `streams` streams; resolves once its watches exist. */
async function startWatchers(port: number, streams: number, outFile: string): Promise<{ proc: ChildProcess; done: Promise<number> }> {
  const endpoint = WATCHER.name.startsWith("etcd") ? `127.0.0.1:${port}` : String(port);
  const proc = spawn(WATCHER.cmd, [...WATCHER.args, endpoint, String(streams), String(PER_STREAM), String(N * streams * PER_STREAM), outFile], { stdio: ["pipe", "pipe", "inherit"] });
  let out = "";
  let created!: () => void;
  let done!: (responses: number) => void;
  const isCreated = new Promise<void>((r) => (created = r));
  const isDone = new Promise<number>((r) => (done = r));
  proc.stdout!.on("data", (d) => {
    out += String(d);
    if (out.includes("created")) created();
    const responses = /done (\d+)\n/.exec(out);
    if (responses) done(Number(responses[1]));
  });
  proc.on("exit", () => {
    created();
    done(0);
  });
  await isCreated;
  return { proc, done: isDone };
}

async function run(server: BenchServer): Promise<Result> {
  const writer = new GrpcClient(`http://127.0.0.1:${server.port}`, { defaultTimeoutMs: 10_000 });
  const acked = new Map<number, number>(); // revision → ack time (wall-clock ms)
  // Baseline: the same writer with nobody watching (outside the watched prefix).
  const basePutsPerSec = await putMany(writer, "wb/k", Math.min(N, 500), () => undefined);
  // The watchers: STREAMS streams spread over PROCS processes.
  const shares = Array.from({ length: PROCS }, (_, i) => Math.floor(STREAMS / PROCS) + (i < STREAMS % PROCS ? 1 : 0)).filter((n) => n > 0);
  const files = shares.map((_, i) => join(work, `received-${i}.f64`));
  const watchers = await Promise.all(shares.map((n, i) => startWatchers(server.port, n, files[i]!)));
  const cpu = () => procCpuMs(server.proc.pid!);
  const clientCpu = () => watchers.reduce((sum, w) => sum + procCpuMs(w.proc.pid!), procCpuMs(process.pid));
  // The writer: N puts, INFLIGHT at a time.
  const t0 = performance.timeOrigin + performance.now();
  const [serverCpu0, clientCpu0] = [cpu(), clientCpu()];
  const putsPerSec = await putMany(writer, "wf/k", N, (rev) => acked.set(rev, performance.timeOrigin + performance.now()));
  const deadline = setTimeout(() => watchers.forEach((w) => w.proc.stdin!.write("stop\n")), DEADLINE_MS);
  const responses = (await Promise.all(watchers.map((w) => w.done))).reduce((a, b) => a + b, 0);
  clearTimeout(deadline);
  const [serverCpuMs, clientCpuMs] = [cpu() - serverCpu0, clientCpu() - clientCpu0];
  for (const w of watchers) w.proc.stdin!.write("exit\n");
  writer.close();
  const delays: number[] = [];
  let delivered = 0;
  let lastDelivery = t0;
  for (const f of files) {
    const raw = readFileSync(f);
    const pairs = new Float64Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
    delivered += pairs.length / 2;
    for (let i = 0; i < pairs.length; i += 2) {
      lastDelivery = Math.max(lastDelivery, pairs[i + 1]!);
      const ack = acked.get(pairs[i]!);
      if (ack !== undefined) delays.push(pairs[i + 1]! - ack);
    }
  }
  const d = Float64Array.from(delays).sort();
  return {
    eventsPerSec: delivered / ((lastDelivery - t0) / 1000),
    delivered,
    p50: pct(d, 50),
    p99: pct(d, 99),
    putsPerSec,
    basePutsPerSec,
    serverUs: (serverCpuMs * 1000) / Math.max(1, delivered),
    clientUs: (clientCpuMs * 1000) / Math.max(1, delivered),
    eventsPerResponse: delivered / Math.max(1, responses),
    load: loadavg()[0]!,
  };
}

const WATCHER = watcherCommand();
const servers: ({ name: string } & BenchServer)[] = [];
const results: Record<string, Result[]> = {};
const loads: number[] = []; // after each run, in order
const loadAtStart = loadavg()[0]!;
try {
  servers.push({ name: "etcd", ...(await startEtcd(work, waitReady)) }, { name: "chainfire", ...(await startChainfire(work, waitReady)) });
  if (args.baseline) servers.push({ name: "chainfire (baseline)", ...(await startChainfireFrom(args.baseline, work)) });
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate the order so that neither server always runs first (or after the other's load).
    const order = servers.map((_, i) => servers[(i + round) % servers.length]!);
    for (const s of order) {
      const r = await run(s);
      (results[s.name] ??= []).push(r);
      loads.push(r.load);
      console.log(`round ${round + 1}`, s.name, JSON.stringify(r));
    }
  }
} finally {
  for (const s of servers) s.proc.kill("SIGTERM");
  await Bun.sleep(300);
  rmSync(work, { recursive: true, force: true });
}

const fmt = (x: number) => Math.round(x).toLocaleString("en-US");
const ms = (x: number) => x.toFixed(1);
const us = (x: number) => x.toFixed(2);
const names = servers.map((s) => s.name);
const med = (name: string, f: (r: Result) => number) => median(results[name]!.map(f));
const row = (label: string, f: (r: Result) => number, show: (x: number) => string) =>
  `| ${label} | ${names.map((n) => show(med(n, f))).join(" | ")} | ${(med("chainfire", f) / med("etcd", f)).toFixed(2)}× |`;
const perRound = (name: string) => results[name]!.map((r, i) => `${(r.eventsPerSec / results.etcd![i]!.eventsPerSec).toFixed(2)}×`).join(", ");
const cmd = `bun bench/chainfire/watch-fanout.ts --n ${N} --streams ${STREAMS} --watches ${PER_STREAM} --inflight ${INFLIGHT} --procs ${PROCS} --client ${args.client} --rounds ${ROUNDS}${args.baseline ? " --baseline DIR" : ""}`;
const table = `| median of ${ROUNDS} round${ROUNDS > 1 ? "s" : ""} | ${names.join(" | ")} | chainfire / etcd |
|---|${names.map(() => "---|").join("")}---|
${row("events delivered", (r) => r.delivered, fmt)}
${row("events/s", (r) => r.eventsPerSec, fmt)}
${row("put → delivery p50 (ms)", (r) => r.p50, ms)}
${row("put → delivery p99 (ms)", (r) => r.p99, ms)}
${row("server CPU per delivered event (µs)", (r) => r.serverUs, us)}
${row("client CPU per delivered event (µs)", (r) => r.clientUs, us)}
${row("events per WatchResponse", (r) => r.eventsPerResponse, (x) => x.toFixed(1))}
${row("writer puts/s, nobody watching", (r) => r.basePutsPerSec, fmt)}
${row("writer puts/s, while fanning out", (r) => r.putsPerSec, fmt)}

events/s relative to etcd's in the same round: ${names.filter((n) => n !== "etcd").map((n) => `${n} ${perRound(n)}`).join("; ")}.
Load average (1 min): ${loadAtStart.toFixed(2)} at the start, ${loads.map((l) => l.toFixed(2)).join(", ")} after each run.`;
const text = `Command: \`${cmd}\` (watchers: ${WATCHER.name})\n\n${table}\n`;
console.log(`\n${text}`);
if (args.write) writeFileSync(args.write, text);
