/**
 * The long run of the chainfire fault scenarios: `bun tests/robustness/chainfire-faults/soak.ts
 * --minutes N [--out FILE]` cycles through every scenario of faults.test.ts with longer loads
 * until N minutes have passed, and writes the results (after each run, so a crash keeps what ran)
 * to docs/robustness/chainfire-faults.md. Exit 0 when every run passed every check, 1 otherwise.
 * Needs root (network namespaces).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { dirname, join, relative } from "node:path";
import { parseArgs } from "node:util";
import * as faults from "./faults.ts";
import { labUnavailable, sweepStaleLabs } from "./lab.ts";
import { runScenario, type ScenarioOptions, type ScenarioResult } from "./scenario.ts";

const repo = join(import.meta.dir, "..", "..", "..");
const { values } = parseArgs({ options: { minutes: { type: "string", default: "5" }, out: { type: "string" }, note: { type: "string" } }, strict: true });
const minutes = Number(values.minutes);
if (!(minutes > 0)) throw new Error("--minutes must be a positive number");
const out = values.out ?? join(repo, "docs", "robustness", "chainfire-faults.md");

const why = labUnavailable();
if (why) {
  console.error(`cannot run: ${why}`);
  process.exit(2);
}
sweepStaleLabs();

const scenarios: ScenarioOptions[] = [
  { name: "3 members, random partitions", members: 3, loadMs: 30_000, faults: faults.randomPartitions, keys: 6 },
  { name: "3 members, leader isolation", members: 3, loadMs: 30_000, faults: faults.leaderIsolation, keys: 6 },
  { name: "3 members, kill -9 and restart", members: 3, loadMs: 30_000, faults: faults.killRestart, keys: 6 },
  { name: "3 members, add a member and remove the leader", members: 3, loadMs: 20_000, faults: faults.membershipChange, spareMembers: 1, keys: 6 },
  { name: "3 members, slow disks (20 ms per fsync on two) and leader kills", members: 3, loadMs: 30_000, faults: faults.slowDiskKills, slowFsync: { 1: 20, 2: 20 }, keys: 6 },
  { name: "5 members, partitions and kill -9", members: 5, loadMs: 40_000, faults: faults.mixed, clients: 8, keys: 6 },
];

const git = (...args: string[]) => spawnSync("git", ["-C", repo, ...args], { encoding: "utf8" }).stdout.trim();
const commit = git("rev-parse", "--short", "HEAD") || "unknown";
const dirty = git("status", "--porcelain").length > 0;
const startedAt = new Date();
/** Hand-written notes (findings, history) below this line survive a new run. */
const NOTES_MARKER = "<!-- notes: kept by soak.ts across runs -->";
const previous = existsSync(out) ? readFileSync(out, "utf8") : "";
const notes = previous.includes(NOTES_MARKER) ? previous.slice(previous.indexOf(NOTES_MARKER)) : `${NOTES_MARKER}\n`;
const results: (ScenarioResult | { name: string; error: string })[] = [];

function report(): string {
  const ok = (r: ScenarioResult) => r.problems.length === 0;
  const runs = results.filter((r): r is ScenarioResult => "ops" in r);
  const sum = (f: (r: ScenarioResult) => number) => runs.reduce((a, r) => a + f(r), 0);
  const failed = results.filter((r) => !("ops" in r) || !ok(r));
  const lines = [
    "# chainfire under faults: soak results",
    "",
    "Produced by `tests/robustness/chainfire-faults/soak.ts` (the long form of the CI scenarios in",
    "`tests/robustness/chainfire-faults/faults.test.ts`); regenerate with:",
    "",
    "```",
    `sudo npx bun ${relative(repo, import.meta.path)} --minutes ${minutes}`,
    "```",
    "",
    `Run ${startedAt.toISOString()} on commit ${commit}${dirty ? " (with uncommitted changes)" : ""}, ${cpus().length} cores.`,
    ...(values.note ? [`${values.note}`, ""] : []),
    `${runs.length} scenario runs in ${((Date.now() - startedAt.getTime()) / 60_000).toFixed(1)} minutes.`,
    "",
    "Each member is a `photon chainfire` process in its own network namespace; the members and a",
    "client namespace hang off one bridge in a switch namespace. Clients (6, or 8 for 5 members; each",
    "with its own connection, spread over the members, moving on when one fails) put, read",
    "(linearizable) and CAS on a few keys while faults run: partitions are nftables drop rules",
    "inside member namespaces, kill -9 is by PID with a restart on the same data, the slow disk",
    "is an LD_PRELOAD library sleeping in fsync/fdatasync. Every run then checks that the history",
    "is linearizable (unknown outcomes return at Infinity), that every acknowledged write is in the",
    "watch history at its revision, and that a watch from revision 1 on every member delivers",
    "every revision once, in order, the same on all members.",
    "",
    `**Verdict: ${failed.length === 0 ? "every run passed every check" : `${failed.length} run(s) FAILED`}.**`,
    `Totals: ${sum((r) => r.ops)} operations, ${sum((r) => r.acked)} acknowledged writes, ${sum((r) => r.reads)} reads, ${sum((r) => r.unknown)} with unknown outcome, ${sum((r) => r.lostWrites.length)} writes lost.`,
    "",
    "Latencies are of completed client operations, in ms (p50 / p99), faults included.",
    "",
    "| # | scenario | s | ops | acked writes | reads | CAS won | unknown | revisions | read ms | write ms | linearizable | watches | faults injected |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ...results.map((r, i) =>
      "ops" in r
        ? `| ${i + 1} | ${r.name} | ${(r.durationMs / 1000).toFixed(0)} | ${r.ops} | ${r.acked} | ${r.reads} | ${r.casSucceeded} | ${r.unknown} | ${r.revisions} | ${r.latency.read.p50} / ${r.latency.read.p99} | ${r.latency.write.p50} / ${r.latency.write.p99} | ${r.linearizable ? "yes" : r.checkerTimedOut ? "checker timed out" : "**NO**"} | ${r.watchProblems.length === 0 ? "ok" : "**problems**"} | ${r.faults.filter((f) => !/up$|stopped$|healed/.test(f)).length} |`
        : `| ${i + 1} | ${r.name} | | | | | | | | | | **run failed** | | |`,
    ),
    "",
  ];
  if (failed.length) {
    lines.push("## Failures", "");
    for (const r of failed) lines.push(`### ${r.name}`, "", "```", "ops" in r ? [...r.problems, ...r.faults].join("\n") : r.error, "```", "");
  }
  const sample = runs.find((r) => r.members === 5) ?? runs[0];
  if (sample) lines.push(`## Fault log of one run (${sample.name})`, "", "```", ...sample.faults, "```", "");
  lines.push(notes);
  return lines.join("\n");
}

const deadline = Date.now() + minutes * 60_000;
for (let i = 0; Date.now() < deadline; i++) {
  const o = scenarios[i % scenarios.length]!;
  const left = deadline - Date.now();
  // The last runs shrink to fit the time asked for (startup and checks take ~10 s more).
  const loadMs = Math.max(5_000, Math.min(o.loadMs, left - 10_000));
  try {
    const r = await runScenario({ ...o, loadMs });
    results.push(r);
    console.log(`${r.name}: ${r.ops} ops, ${r.acked} acked, ${r.unknown} unknown, ${r.problems.length ? `FAILED: ${r.problems.join("; ")}` : "ok"}`);
  } catch (e) {
    results.push({ name: o.name, error: String((e as Error).stack ?? e) });
    console.log(`${o.name}: run failed: ${(e as Error).message.split("\n")[0]}`);
  }
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, report());
}
console.log(`report: ${out}`);
process.exit(results.every((r) => "ops" in r && r.problems.length === 0) ? 0 : 1);
