/**
 * Watch fan-out, chainfire beside etcd 3.4 (Debian's), same machine, same run, same client:
 * W watchers on one prefix (S Watch streams, each on its own HTTP/2 connection, W/S watches per
 * stream), one writer doing N puts under that prefix (I in flight). Reported per server:
 * events delivered per second (all W×N events, from the first put to the last delivery) and the
 * delay from a put's acknowledgement (the writer's response) to each watcher receiving its event
 * (p50/p99; negative when the event arrives before the acknowledgement).
 * The watchers and the writer share this process (lib/grpc's client) for both servers.
 *
 * Usage: bun bench/chainfire/watch-fanout.ts [--n 2000] [--streams 10] [--watches 100] [--inflight 4] [--write docs/benchmarks/chainfire-watch.md]
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { GrpcClient, type ClientDuplex } from "../../lib/grpc/index.ts";
import { kvService, watchService } from "../../services/chainfire/api/definitions.ts";
import { num, type Int64 } from "../../services/chainfire/api/wire.ts";
import { startChainfire, startEtcd } from "./servers.ts";

const { values: args } = parseArgs({
  options: {
    n: { type: "string", default: "2000" },
    streams: { type: "string", default: "10" },
    watches: { type: "string", default: "100" },
    inflight: { type: "string", default: "4" },
    write: { type: "string" },
  },
});
const N = Number(args.n);
const STREAMS = Number(args.streams);
const PER_STREAM = Number(args.watches);
const INFLIGHT = Number(args.inflight);
const WATCHERS = STREAMS * PER_STREAM;
const DEADLINE_MS = 90_000;

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
const Watch = watchService.methods.Watch!;

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


interface WatchResponse {
  watchId?: Int64;
  created?: boolean;
  canceled?: boolean;
  events?: { kv?: { modRevision?: Int64 } }[];
}

const pct = (xs: Float64Array, p: number) => xs[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!;

interface Result {
  eventsPerSec: number;
  delivered: number;
  p50: number;
  p99: number;
  putsPerSec: number;
  basePutsPerSec: number;
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

async function run(port: number): Promise<Result> {
  const target = `http://127.0.0.1:${port}`;
  const clients = Array.from({ length: STREAMS }, () => new GrpcClient(target));
  const writer = new GrpcClient(target, { defaultTimeoutMs: 10_000 });
  const acked = new Map<number, number>(); // revision → ack time
  // Baseline: the same writer with nobody watching (outside the watched prefix).
  const basePutsPerSec = await putMany(writer, "wb/k", Math.min(N, 500), () => undefined);
  const received: number[] = []; // [revision, time] pairs, flattened
  let delivered = 0;
  let lastDelivery = 0;
  const expected = N * WATCHERS;
  let allDone!: () => void;
  const done = new Promise<void>((r) => (allDone = r));
  const streams: ClientDuplex<unknown, WatchResponse>[] = [];
  const readers: Promise<void>[] = [];
  let created = 0;
  let allCreated!: () => void;
  const createdAll = new Promise<void>((r) => (allCreated = r));
  for (const c of clients) {
    const s = c.bidi(Watch, {}) as ClientDuplex<unknown, WatchResponse>;
    streams.push(s);
    readers.push(
      (async () => {
        try {
          for await (const msg of s) {
            if (msg.created) {
              if (++created === WATCHERS) allCreated();
              continue;
            }
            const events = msg.events;
            if (!events?.length) continue;
            const now = performance.now();
            for (const e of events) received.push(num(e.kv?.modRevision), now);
            delivered += events.length;
            lastDelivery = now;
            if (delivered >= expected) allDone();
          }
        } catch {
          // cancelled at the end
        }
      })(),
    );
    for (let i = 0; i < PER_STREAM; i++) await s.write({ createRequest: { key: PREFIX, rangeEnd: RANGE_END } });
  }
  await createdAll;
  // The writer: N puts, INFLIGHT at a time.
  const t0 = performance.now();
  const putsPerSec = await putMany(writer, "wf/k", N, (rev) => acked.set(rev, performance.now()));
  await Promise.race([done, Bun.sleep(DEADLINE_MS)]);
  for (const s of streams) s.cancel();
  await Promise.all(readers);
  for (const c of clients) c.close();
  writer.close();
  const delays = new Float64Array(received.length / 2);
  let k = 0;
  for (let i = 0; i < received.length; i += 2) {
    const ack = acked.get(received[i]!);
    if (ack !== undefined) delays[k++] = received[i + 1]! - ack;
  }
  const d = delays.subarray(0, k).sort();
  return {
    eventsPerSec: delivered / ((lastDelivery - t0) / 1000),
    delivered,
    p50: pct(d, 50),
    p99: pct(d, 99),
    putsPerSec,
    basePutsPerSec,
  };
}

const servers: { name: string; port: number; proc: ChildProcess }[] = [];
const results: Record<string, Result> = {};
try {
  servers.push({ name: "etcd", ...(await startEtcd(work, waitReady)) }, { name: "chainfire", ...(await startChainfire(work, waitReady)) });
  for (const s of servers) {
    results[s.name] = await run(s.port);
    console.log(s.name, JSON.stringify(results[s.name]));
  }
} finally {
  for (const s of servers) s.proc.kill("SIGTERM");
  await Bun.sleep(300);
  rmSync(work, { recursive: true, force: true });
}

const e = results.etcd!;
const f = results.chainfire!;
const fmt = (x: number) => Math.round(x).toLocaleString("en-US");
const ms = (x: number) => x.toFixed(1);
const ratio = (a: number, b: number) => (a > 0 && b > 0 ? `${(a / b).toFixed(2)}×` : "—");
const cmd = `bun bench/chainfire/watch-fanout.ts --n ${N} --streams ${STREAMS} --watches ${PER_STREAM} --inflight ${INFLIGHT}`;
const report = `# chainfire watch fan-out vs etcd 3.4 (single node)

Command: \`${cmd}\`, ${new Date().toISOString().slice(0, 10)}, this 2-core shared machine (noisy: read the ratios).
etcd 3.4.23 from Debian with default flags; chainfire as one Raft member (bench/chainfire/serve.ts).

${WATCHERS} watchers on the prefix \`wf/\`: ${STREAMS} Watch streams (one HTTP/2 connection each) × ${PER_STREAM} watches.
One writer puts ${N} keys under the prefix (100-byte values, ${INFLIGHT} in flight), so ${fmt(N * WATCHERS)} events are due.
Events/s counts every delivered event from the first put to the last delivery; the delay runs from the
writer receiving a put's response to a watcher receiving that revision's event (negative when the
event comes first: a server may notify watchers before its put response is on the wire). Watchers and
writer share one Bun process (lib/grpc's client) for both servers, so the client's decoding is part of
both numbers. The writer's put rate with nobody watching (up to 500 puts on another prefix) is the baseline
the fan-out slows down.

| | etcd | chainfire | chainfire / etcd |
|---|---|---|---|
| events delivered | ${fmt(e.delivered)} | ${fmt(f.delivered)} | |
| events/s | ${fmt(e.eventsPerSec)} | ${fmt(f.eventsPerSec)} | ${(f.eventsPerSec / e.eventsPerSec).toFixed(2)}× |
| put → delivery p50 (ms) | ${ms(e.p50)} | ${ms(f.p50)} | ${ratio(f.p50, e.p50)} |
| put → delivery p99 (ms) | ${ms(e.p99)} | ${ms(f.p99)} | ${ratio(f.p99, e.p99)} |
| writer puts/s, nobody watching | ${fmt(e.basePutsPerSec)} | ${fmt(f.basePutsPerSec)} | ${(f.basePutsPerSec / e.basePutsPerSec).toFixed(2)}× |
| writer puts/s, while fanning out | ${fmt(e.putsPerSec)} | ${fmt(f.putsPerSec)} | ${(f.putsPerSec / e.putsPerSec).toFixed(2)}× |
`;
console.log(report);
if (args.write) writeFileSync(args.write, report);
