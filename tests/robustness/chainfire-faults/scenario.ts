/**
 * One fault scenario from start to verdict: build an N-member cluster in namespaces (lab.ts),
 * run concurrent clients (agent.ts) while a fault schedule (faults.ts) runs, heal and restart
 * everything, then check:
 * - the history is linearizable (Porcupine-style checker, KV model; unknown outcomes return at
 *   Infinity; final linearizable reads of every key are part of it);
 * - no acknowledged write is lost: each acked put/CAS appears, at the revision it was acked with,
 *   in the watch history — and the final reads agree with the history by linearizability;
 * - a watch from revision 1 on every member delivers each revision once, in order, with no gap,
 *   and the same events on every member.
 */
import { checkLinearizable, type Operation } from "../linearizability/checker.ts";
import { kvModel, type KvInput, type KvOutput } from "../linearizability/kv-model.ts";
import type { Acked, WatchEvent } from "./agent.ts";
import { Lab, type LabMember } from "./lab.ts";

/** A fault schedule: runs until `until` (performance.now() time), logging what it does. */
export type FaultSchedule = (lab: Lab, until: number, note: (what: string) => void) => Promise<void>;

/** Options of runScenario. */
export interface ScenarioOptions {
  name: string;
  members: number;
  /** How long the load runs (ms), faults included. */
  loadMs: number;
  faults: FaultSchedule;
  clients?: number;
  keys?: number;
  /** Members started with a slow disk: index (1-based) → ms per fsync. */
  slowFsync?: Record<number, number>;
  /** Members the schedule may add later (their endpoints are given to the clients up front). */
  spareMembers?: number;
  tickMs?: number;
  keepDir?: boolean;
  /** Clients read serializably (stale reads allowed): a control that the checks must reject. */
  serializableReads?: boolean;
}

/** What a run observed and its verdicts. */
export interface ScenarioResult {
  name: string;
  members: number;
  durationMs: number;
  ops: number;
  acked: number;
  unknown: number;
  reads: number;
  casSucceeded: number;
  revisions: number;
  faults: string[];
  /** Latency of completed operations (ms): linearizable reads, and puts + CAS. */
  latency: { read: { p50: number; p99: number }; write: { p50: number; p99: number } };
  linearizable: boolean;
  checkerTimedOut: boolean;
  lostWrites: Acked[];
  watchProblems: string[];
  /** Everything that failed, empty when the run passed. */
  problems: string[];
}

async function until<T>(what: string, f: () => Promise<T | undefined | false>, ms: number): Promise<T> {
  const deadline = performance.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await Bun.sleep(150);
  }
}

function percentiles(ops: Operation<KvInput, KvOutput>[]): { p50: number; p99: number } {
  const d = ops.map((op) => op.return - op.call).sort((a, b) => a - b);
  const at = (q: number) => (d.length ? Math.round(d[Math.min(d.length - 1, Math.floor(q * d.length))]! * 10) / 10 : 0);
  return { p50: at(0.5), p99: at(0.99) };
}

/** Starts members 1..n: the first bootstraps, the others join through a running member. */
export async function buildCluster(lab: Lab, n: number, slow: Record<number, number> = {}): Promise<void> {
  for (let i = 1; i <= n; i++) {
    const m = lab.addMember();
    if (slow[i]) m.slowFsyncMs = slow[i];
    await lab.start(m, i === 1 ? undefined : lab.members[i - 2]!.endpoint);
    await waitVoters(lab, lab.members[0]!, i);
  }
}

/** Waits until `via` lists `count` voters, every one published. */
export async function waitVoters(lab: Lab, via: LabMember, count: number, ms = 20_000): Promise<void> {
  await until(
    `${count} voters`,
    async () => {
      const ms = await lab.call<{ isLearner: boolean; name: string }[]>("members", { endpoint: via.endpoint });
      return ms.filter((m) => !m.isLearner && m.name).length === count;
    },
    ms,
  );
}

/** Checks the watch histories of every member; returns the problems found. */
export function checkWatches(byMember: Record<string, WatchEvent[]>, acked: Acked[]): { problems: string[]; lost: Acked[] } {
  const problems: string[] = [];
  const names = Object.keys(byMember);
  const reference = byMember[names[0]!]!;
  for (const name of names) {
    const events = byMember[name]!;
    let prev = 0;
    const keysAtRev = new Set<string>();
    for (const [rev, , key] of events) {
      if (rev < prev) {
        problems.push(`${name}: revision ${rev} after ${prev}`);
        break;
      }
      if (rev > prev + 1 && prev !== 0) {
        problems.push(`${name}: gap from revision ${prev} to ${rev}`);
        break;
      }
      if (rev !== prev) keysAtRev.clear();
      if (keysAtRev.has(key)) {
        problems.push(`${name}: key ${key} twice at revision ${rev}`);
        break;
      }
      keysAtRev.add(key);
      prev = rev;
    }
    if (JSON.stringify(events) !== JSON.stringify(reference)) {
      const i = events.findIndex((e, j) => JSON.stringify(e) !== JSON.stringify(reference[j]));
      problems.push(`${name}: events differ from ${names[0]}'s at #${i}: ${JSON.stringify(events[i])} vs ${JSON.stringify(reference[i])} (lengths ${events.length}/${reference.length})`);
    }
  }
  const seen = new Map<string, string>();
  for (const [rev, type, key, value] of reference) if (type === "PUT") seen.set(`${rev}\u0000${key}`, value);
  const lost = acked.filter((a) => seen.get(`${a.revision}\u0000${a.key}`) !== a.value);
  if (lost.length) problems.push(`${lost.length} acknowledged writes missing from the watch history, e.g. ${JSON.stringify(lost.slice(0, 3))}`);
  return { problems, lost };
}

/** Runs one scenario in a fresh lab, which it always destroys. */
export async function runScenario(o: ScenarioOptions, lab = new Lab({ ...(o.tickMs ? { tickMs: o.tickMs } : {}), ...(o.keepDir ? { keepDir: true } : {}) })): Promise<ScenarioResult> {
  const started = performance.now();
  const faults: string[] = [];
  const note = (what: string) => faults.push(`${((performance.now() - started) / 1000).toFixed(1)}s ${what}`);
  try {
    await lab.setup();
    await buildCluster(lab, o.members, o.slowFsync);
    note(`cluster of ${o.members} up`);
    const keys = Array.from({ length: o.keys ?? 4 }, (_, i) => `k${i}`);
    const endpoints = lab.members.map((m) => m.endpoint);
    for (let i = 1; i <= (o.spareMembers ?? 0); i++) endpoints.push(`http://10.213.0.${10 + o.members + i}:2379`);
    await lab.call("startLoad", { endpoints, clients: o.clients ?? 6, keys, timeoutMs: 1_500, serializableReads: !!o.serializableReads });
    const loadStart = performance.now();
    await o.faults(lab, loadStart + o.loadMs, note);
    const left = loadStart + o.loadMs - performance.now();
    if (left > 0) await Bun.sleep(left);
    await lab.call("stopLoad");
    // Heal: no partition, every member that is still in the cluster running.
    lab.heal();
    const current = await lab.call<{ id: string }[]>("members", { endpoint: (await lab.leader()).endpoint });
    const inCluster = lab.members.filter((m) => current.some((c) => c.id === m.memberId));
    for (const m of inCluster) if (!lab.running().includes(m)) await lab.start(m);
    note("healed; load stopped");
    const finalEndpoints = inCluster.map((m) => m.endpoint);
    // Converged: every member at the same revision and applied index.
    let seen = "";
    const top = await until(
      "members converged",
      async () => {
        const st = await lab.statuses(inCluster);
        seen = JSON.stringify(st.map((x) => [x.m.name, x.s]));
        if (st.some((x) => !x.s)) throw new Error(`not all answer: ${seen}`);
        const revs = new Set(st.map((x) => x.s!.revision));
        const idx = new Set(st.map((x) => x.s!.raftIndex));
        if (revs.size !== 1 || idx.size !== 1) throw new Error(`not converged: ${seen}`);
        return st[0]!.s!.revision;
      },
      20_000,
    );
    const finalValues = await lab.call<Record<string, string | null>>("finalReads", { endpoints: finalEndpoints, keys });
    const { history: raw, acked } = await lab.call<{ history: (Omit<Operation<KvInput, KvOutput>, "return"> & { return: number | null })[]; acked: Acked[] }>("history");
    const history: Operation<KvInput, KvOutput>[] = raw.map((op) => ({ ...op, return: op.return ?? Infinity }));
    const verdict = checkLinearizable(kvModel, history, 30_000);
    const watches: Record<string, WatchEvent[]> = {};
    for (const m of inCluster) watches[m.name] = await lab.call<WatchEvent[]>("watch", { endpoint: m.endpoint, toRevision: top, timeoutMs: 15_000 });
    const w = checkWatches(watches, acked);
    // The values read back at the end are the last ones the watch history shows.
    const lastInWatch = new Map<string, string | null>();
    for (const [, type, key, value] of Object.values(watches)[0] ?? []) lastInWatch.set(key, type === "PUT" ? value : null);
    for (const key of keys) {
      if ((lastInWatch.get(key) ?? null) !== finalValues[key]) w.problems.push(`final read of ${key} is ${JSON.stringify(finalValues[key])}, the watch history ends with ${JSON.stringify(lastInWatch.get(key) ?? null)}`);
    }
    const problems = [...(verdict.ok ? [] : [verdict.timedOut ? "linearizability check ran out of time" : `not linearizable (key ${verdict.failedPartition?.[0]?.input.key})`]), ...w.problems];
    return {
      name: o.name,
      members: o.members,
      durationMs: Math.round(performance.now() - started),
      ops: history.length,
      acked: acked.length,
      unknown: history.filter((op) => op.return === Infinity).length,
      reads: history.filter((op) => op.input.op === "get").length,
      casSucceeded: history.filter((op) => op.output && "succeeded" in op.output && op.output.succeeded).length,
      revisions: top,
      faults,
      latency: {
        read: percentiles(history.filter((op) => op.input.op === "get" && op.clientId !== 10_000)),
        write: percentiles(history.filter((op) => op.input.op !== "get" && op.return !== Infinity)),
      },
      linearizable: verdict.ok,
      checkerTimedOut: !!verdict.timedOut,
      lostWrites: w.lost,
      watchProblems: w.problems,
      problems,
    };
  } catch (e) {
    (e as Error).message += `\nfaults: ${faults.join("; ")}\n${lab.logs()}`;
    // Debugging aid: CFF_PAUSE_ON_FAIL=SECONDS keeps the failed cluster up to be looked at.
    if (process.env.CFF_PAUSE_ON_FAIL) {
      console.error(`${(e as Error).message.split("\n")[0]}\npaused: namespaces ${lab.tag}-*, files in ${lab.dir}`);
      await Bun.sleep(Number(process.env.CFF_PAUSE_ON_FAIL) * 1000);
    }
    throw e;
  } finally {
    await lab.destroy();
  }
}
