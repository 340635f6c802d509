/**
 * 3-member chainfire beside a 3-member etcd 3.4 cluster, each member in its own network namespace
 * (a bridge between them, like three hosts on one switch), same client (h2load in a client
 * namespace), same durability (fsync on every member), same run: the cases of h2load-etcd.ts
 * against each cluster's leader, rounds interleaved, medians and ratios.
 *
 *   sudo npx bun bench/chainfire/cluster-compare.ts [--n 20000] [--rounds 3] [--only REGEX] [--cpu] [--write docs/benchmarks/chainfire-cluster-vs-etcd.md]
 *
 * `--cpu` also prints each chainfire member's CPU time per request in each round (/proc/<pid>/stat);
 * with BENCH_PERF=prefix, `perf record -g` samples the chainfire leader during each case's first round.
 *
 * Both clusters run at once on the same three namespaces (etcd on 2379/2380, chainfire on
 * 12379/12380/12381), so the idle one costs the measured one only its heartbeats. Everything it
 * creates (namespaces `cfb-<pid>-*`, processes, a temp directory) is removed at the end, also on
 * Ctrl-C. Skips with the reason when not root or when etcd, etcdctl or h2load is missing.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { benchCases, h2load, REPORT_HEADER, reportRow, warmUpRequests, writeRequestBodies, type Run } from "./h2load-etcd.ts";

const { values: args } = parseArgs({
  options: { n: { type: "string", default: "20000" }, rounds: { type: "string", default: "3" }, only: { type: "string" }, cpu: { type: "boolean" }, write: { type: "string" } },
});
const N = Number(args.n);
const ROUNDS = Number(args.rounds);

if (process.getuid?.() !== 0) {
  console.log("skipped: network namespaces need root");
  process.exit(0);
}
for (const tool of ["h2load", "etcd", "etcdctl", "ip"]) {
  if (!Bun.which(tool)) {
    console.log(`skipped: ${tool} is not installed (apt-get install -y nghttp2-client etcd-server etcd-client iproute2)`);
    process.exit(0);
  }
}

const repo = join(import.meta.dir, "..", "..");
const work = mkdtempSync(join(tmpdir(), "chainfire-cluster-bench-"));
const tag = `cfb-${process.pid.toString(36)}`;
const SUBNET = "10.214.0";
const switchNs = `${tag}-sw`;
const clientNs = `${tag}-cl`;
const namespaces: string[] = [];
const procs: ChildProcess[] = [];

function sh(cmd: string[]): string {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd.join(" ")}: ${(r.stderr || r.stdout).trim()}`);
  return r.stdout;
}

function cleanup(): void {
  for (const p of procs) if (p.exitCode === null && p.pid) try { process.kill(p.pid, "SIGKILL"); } catch { /* gone */ }
  for (const ns of namespaces.splice(0).reverse()) spawnSync("ip", ["netns", "del", ns]);
  rmSync(work, { recursive: true, force: true });
}
process.once("exit", cleanup);
for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => process.exit(130));

function addNs(ns: string, ip?: string): void {
  sh(["ip", "netns", "add", ns]);
  namespaces.push(ns);
  sh(["ip", "-n", ns, "link", "set", "lo", "up"]);
  if (!ip) return;
  const port = `p${namespaces.length}`;
  sh(["ip", "-n", switchNs, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns]);
  sh(["ip", "-n", switchNs, "link", "set", port, "master", "br0", "up"]);
  sh(["ip", "-n", ns, "addr", "add", `${ip}/24`, "dev", "eth0"]);
  sh(["ip", "-n", ns, "link", "set", "eth0", "up"]);
}

const members = [1, 2, 3].map((i) => ({ name: `m${i}`, ns: `${tag}-m${i}`, ip: `${SUBNET}.${10 + i}` }));
addNs(switchNs);
sh(["ip", "-n", switchNs, "link", "add", "br0", "type", "bridge"]);
sh(["ip", "-n", switchNs, "link", "set", "br0", "up"]);
addNs(clientNs, `${SUBNET}.2`);
for (const m of members) addNs(m.ns, m.ip);
writeRequestBodies(work);
const inClient = ["ip", "netns", "exec", clientNs];

/** Starts `cmd` in namespace `ns`, its stderr into `log`. */
function start(ns: string, cmd: string[], log: string): ChildProcess {
  const p = spawn("ip", ["netns", "exec", ns, ...cmd], { stdio: ["ignore", "ignore", openSync(log, "a")], env: { ...process.env, PHOTON_LOG_LEVEL: "warn" } });
  procs.push(p);
  return p;
}

/** CPU time (user + system, µs) a process has used so far. */
function cpuUs(p: ChildProcess): number {
  const stat = readFileSync(`/proc/${p.pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) * 1e4; // USER_HZ = 100
}

/** Waits until a range through h2load from the client namespace succeeds. */
async function ready(url: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    try {
      h2load(work, url, "get", ["-c", "1", "-m", "1"], 1, inClient);
      return;
    } catch {
      await Bun.sleep(100);
    }
  }
  throw new Error(`${url} did not serve within 30 s`);
}

/** The client URL of the member that leads, as etcdctl's endpoint status reports it. */
function leaderOf(urls: string[]): string {
  // host:port: etcdctl's Status dials the endpoint string verbatim (`:authority` http://...), which
  // chainfire's node:http2 transport refused (PROTOCOL_ERROR); its own h2 transport accepts both.
  const hostPorts = urls.map((u) => u.replace(/^https?:\/\//, ""));
  const out = sh([...inClient, "etcdctl", "--command-timeout=5s", `--endpoints=${hostPorts.join(",")}`, "endpoint", "status", "-w", "json"]);
  const st = JSON.parse(out) as { Endpoint: string; Status: { header: { member_id: number | string }; leader: number | string } }[];
  const lead = st.find((s) => String(s.Status.header.member_id) === String(s.Status.leader));
  if (!lead) throw new Error(`no leader in ${out}`);
  return lead.Endpoint.startsWith("http") ? lead.Endpoint : `http://${lead.Endpoint}`;
}

// etcd: a static 3-member cluster.
const etcdCluster = members.map((m) => `${m.name}=http://${m.ip}:2380`).join(",");
for (const m of members) {
  start(m.ns, ["etcd", "--name", m.name, "--data-dir", join(work, `etcd-${m.name}`),
    "--listen-client-urls", `http://${m.ip}:2379`, "--advertise-client-urls", `http://${m.ip}:2379`,
    "--listen-peer-urls", `http://${m.ip}:2380`, "--initial-advertise-peer-urls", `http://${m.ip}:2380`,
    "--initial-cluster", etcdCluster, "--initial-cluster-state", "new", "--log-level", "error", "--logger", "zap"], join(work, `etcd-${m.name}.log`));
}
const etcdUrls = members.map((m) => `http://${m.ip}:2379`);
for (const u of etcdUrls) await ready(u);

// chainfire: the first member, then the others join through it (MemberAdd, as an operator grows one).
const cfUrls = members.map((m) => `http://${m.ip}:12379`);
const cfProcs: ChildProcess[] = [];
for (const [i, m] of members.entries()) {
  cfProcs[i] = start(m.ns, [process.execPath, join(repo, "cli", "photon.ts"), "chainfire", "--name", m.name, "--data-dir", join(work, `cf-${m.name}`),
    "--listen-client", `${m.ip}:12379`, "--listen-peer", `${m.ip}:12380`, "--http-port", "12381",
    ...(i > 0 ? ["--join", cfUrls[0]!] : [])], join(work, `cf-${m.name}.log`));
  await ready(cfUrls[i]!);
}

const targets = { etcd: leaderOf(etcdUrls), chainfire: leaderOf(cfUrls) };
console.error(`leaders: etcd ${targets.etcd}, chainfire ${targets.chainfire}`);
const rows: string[] = [];
for (const t of Object.values(targets)) h2load(work, t, "put", ["-c", "4", "-m", "8"], 2000, inClient); // warm-up
for (const c of benchCases(N).filter((c) => !args.only || new RegExp(args.only).test(c.name))) {
  const samples: Record<"etcd" | "chainfire", Run[]> = { etcd: [], chainfire: [] };
  for (const name of ["etcd", "chainfire"] as const) h2load(work, targets[name], c.req, c.conc, warmUpRequests(c), inClient);
  for (let r = 0; r < ROUNDS; r++) {
    for (const name of ["etcd", "chainfire"] as const) {
      const before = args.cpu && name === "chainfire" ? cfProcs.map(cpuUs) : undefined;
      const leaderPid = cfProcs[cfUrls.indexOf(targets.chainfire)]!.pid;
      const perf = process.env.BENCH_PERF && name === "chainfire" && r === 0 ? spawn("perf", ["record", "-g", "-F", "1999", "-p", String(leaderPid), "-o", `${process.env.BENCH_PERF}-${c.req}-${c.conc.join("")}.data`], { stdio: "ignore" }) : undefined;
      samples[name].push(h2load(work, targets[name], c.req, c.conc, c.n, inClient));
      if (perf) {
        perf.kill("SIGINT");
        await new Promise((r) => perf.once("exit", r));
      }
      if (before) console.error(`${c.name} round ${r + 1}: chainfire CPU µs/request by member (${cfUrls.map((u, i) => `${u === targets.chainfire ? "leader" : "follower"} pid ${cfProcs[i]!.pid}`).join(", ")}): ${cfProcs.map((p, i) => ((cpuUs(p) - before[i]!) / c.n).toFixed(1)).join(", ")}`);
    }
  }
  rows.push(reportRow(c.name, samples.etcd, samples.chainfire));
  console.log(rows[rows.length - 1]);
}

const report = `# chainfire vs etcd 3.4: 3 members in network namespaces

Command: \`sudo npx bun bench/chainfire/cluster-compare.ts --n ${N} --rounds ${ROUNDS}\`, ${new Date().toISOString().slice(0, 10)}, this
2-core shared machine (noisy: read the ratios). Three member namespaces and a client namespace on one bridge; etcd 3.4.23
(Debian, default flags, static cluster) and chainfire (\`photon chainfire\`, members 2 and 3 joined through MemberAdd) run
side by side on the same namespaces; every acknowledged put is fsynced on a majority. Client: h2load in the client
namespace, against each cluster's leader; "N clients" = N HTTP/2 connections with one request in flight each.
${ROUNDS} interleaved rounds, after an untimed pass of the case against each server (warm-up); medians of requests/s and of each round's per-request latency percentiles.

${REPORT_HEADER}
${rows.join("\n")}
`;
console.log(report);
if (args.write) writeFileSync(args.write, report);
process.exit(0);
