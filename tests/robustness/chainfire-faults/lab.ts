/**
 * A chainfire cluster in network namespaces, for fault tests. Everything it creates is its own and
 * is listed so `destroy()` removes it, even after a failure:
 *
 *   <tag>-sw   the "switch": one bridge, br0, with one veth end per member and for the client;
 *   <tag>-mN   member N: eth0 = 10.213.0.(10+N)/24, running `photon chainfire` (ip netns exec);
 *   <tag>-cl   the client: eth0 = 10.213.0.2/24, running agent.ts (the clients, watches, probes).
 *
 * Veths are created inside the switch namespace and their member end moved straight into the
 * member's: the root namespace's network is never touched. The test process talks to the agent
 * over its stdin/stdout pipes, which cross namespaces.
 *
 * Faults: partitions are nftables drop rules in a member's own namespace (table inet `cff`,
 * dropping to/from the peers it must not reach; clients still reach every member), leader
 * isolation is the same around one member, kill -9 is by PID (ip netns exec execs, so the
 * PID is the member's), a slow disk is an LD_PRELOAD library that sleeps in fsync/fdatasync.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

const repo = join(import.meta.dir, "..", "..", "..");
const photon = join(repo, "cli", "photon.ts");
const agentScript = join(import.meta.dir, "agent.ts");
const SUBNET = "10.213.0";
const CLIENT_IP = `${SUBNET}.2`;

/** Runs a command; throws with its stderr when it fails. */
export function sh(args: string[], input?: string): string {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: "utf8", ...(input !== undefined ? { input } : {}) });
  if (r.status !== 0) throw new Error(`${args.join(" ")}: exit ${r.status}: ${(r.stderr || r.stdout || "").trim()}`);
  return r.stdout;
}

/** Why the lab cannot run here (not root, no `ip netns`), or undefined when it can. */
export function labUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "not root: network namespaces need root";
  if (!Bun.which("ip") || !Bun.which("nft")) return "ip or nft not installed";
  const probe = `cffprobe${process.pid}`;
  const r = spawnSync("ip", ["netns", "add", probe], { encoding: "utf8" });
  if (r.status !== 0) return `ip netns add failed: ${(r.stderr || "").trim()}`;
  spawnSync("ip", ["netns", "del", probe]);
  return undefined;
}

/** One member: its namespace, address, process and command line. */
export interface LabMember {
  name: string;
  index: number;
  ns: string;
  ip: string;
  endpoint: string;
  dataDir: string;
  proc?: ChildProcess;
  /** Last id it reported (hex). */
  memberId?: string;
  /** The --join it was first started with (kept: the same command line restarts it). */
  join?: string;
  /** Set by a partition: the peer IPs it drops. */
  blocked: string[];
  slowFsyncMs?: number;
}

/** Options of a Lab. */
export interface LabOptions {
  /** Raft tick of the members (ms). */
  tickMs?: number;
  /** Keep the data and logs directory (for a failed run). */
  keepDir?: boolean;
}

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };

/** Labs not yet destroyed: afterAll hooks and the exit handler clean them up. */
export const liveLabs = new Set<Lab>();

process.once("exit", () => {
  for (const lab of liveLabs) lab.destroySync();
});
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    for (const lab of liveLabs) lab.destroySync();
    process.exit(130);
  });
}

/** A cluster of namespaced members plus a client agent. */
export class Lab {
  /** `cff-<pid>-<random>`: the pid lets sweepStaleLabs find labs whose test process died. */
  readonly tag = `cff-${process.pid.toString(36)}-${Math.floor(Math.random() * 36 ** 3).toString(36)}`;
  readonly dir = mkdtempSync(join(tmpdir(), "chainfire-faults-"));
  readonly members: LabMember[] = [];
  private readonly namespaces: string[] = [];
  private readonly procs = new Set<ChildProcess>();
  private agent?: ChildProcess;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private slowLib?: string;

  constructor(private readonly o: LabOptions = {}) {
    liveLabs.add(this);
  }

  get switchNs(): string {
    return `${this.tag}-sw`;
  }

  get clientNs(): string {
    return `${this.tag}-cl`;
  }

  private addNs(ns: string): void {
    sh(["ip", "netns", "add", ns]);
    this.namespaces.push(ns);
    sh(["ip", "-n", ns, "link", "set", "lo", "up"]);
  }

  /** Wires namespace `ns` to the switch as `ip`, through veth `port` (the switch's end). */
  private plug(ns: string, port: string, ip: string): void {
    sh(["ip", "-n", this.switchNs, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns]);
    sh(["ip", "-n", this.switchNs, "link", "set", port, "master", "br0", "up"]);
    sh(["ip", "-n", ns, "addr", "add", `${ip}/24`, "dev", "eth0"]);
    sh(["ip", "-n", ns, "link", "set", "eth0", "up"]);
  }

  /** Creates the switch and the client namespace and starts the agent. */
  async setup(): Promise<void> {
    this.addNs(this.switchNs);
    sh(["ip", "-n", this.switchNs, "link", "add", "br0", "type", "bridge"]);
    sh(["ip", "-n", this.switchNs, "link", "set", "br0", "up"]);
    this.addNs(this.clientNs);
    this.plug(this.clientNs, "cl", CLIENT_IP);
    const agent = spawn("ip", ["netns", "exec", this.clientNs, process.execPath, agentScript], { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, PHOTON_LOG_LEVEL: "error" } });
    this.agent = agent;
    this.procs.add(agent);
    agent.stderr!.on("data", (d: Buffer) => appendFileSync(join(this.dir, "agent.log"), d));
    const ready = new Promise<void>((resolve, reject) => {
      agent.once("exit", (code) => reject(new Error(`agent exited ${code}`)));
      createInterface({ input: agent.stdout! }).on("line", (line) => {
        const msg = JSON.parse(line) as { ready?: boolean; id?: number; ok?: boolean; result?: unknown; error?: string };
        if (msg.ready) return resolve();
        const p = this.pending.get(msg.id!);
        if (!p) return;
        this.pending.delete(msg.id!);
        if (msg.ok) p.resolve(msg.result);
        else p.reject(new Error(`agent: ${msg.error}`));
      });
    });
    agent.on("exit", () => {
      for (const p of this.pending.values()) p.reject(new Error("agent exited"));
      this.pending.clear();
    });
    await ready;
  }

  /** Sends a command to the agent. */
  call<T>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.agent!.stdin!.write(JSON.stringify({ id, cmd, ...args }) + "\n");
    });
  }

  /** Adds member N's namespace and wiring (no process yet). */
  addMember(): LabMember {
    const index = this.members.length + 1;
    const name = `m${index}`;
    const ns = `${this.tag}-m${index}`;
    this.addNs(ns);
    const ip = `${SUBNET}.${10 + index}`;
    this.plug(ns, `m${index}`, ip);
    // The partition table: empty chains until a fault adds drop rules.
    sh(["ip", "netns", "exec", ns, "nft", "-f", "-"], "table inet cff {\n chain in { type filter hook input priority 0; policy accept; }\n chain out { type filter hook output priority 0; policy accept; }\n}\n");
    const m: LabMember = { name, index, ns, ip, endpoint: `http://${ip}:2379`, dataDir: join(this.dir, name), blocked: [] };
    this.members.push(m);
    return m;
  }

  /** Starts (or restarts) member `m` as `photon chainfire` in its namespace; resolves when it serves. */
  async start(m: LabMember, joinVia?: string): Promise<void> {
    if (joinVia !== undefined) m.join = joinVia;
    const args = [
      "netns", "exec", m.ns, process.execPath, photon, "chainfire",
      "--name", m.name, "--data-dir", m.dataDir,
      "--listen-client", `${m.ip}:2379`, "--listen-peer", `${m.ip}:2380`, "--http-port", "2381",
      ...(m.join ? ["--join", m.join] : []),
      ...(this.o.tickMs ? ["--tick-ms", String(this.o.tickMs)] : []),
      "-o", "json",
    ];
    const env: Record<string, string | undefined> = { ...process.env, PHOTON_LOG_LEVEL: process.env.CFF_LOG ?? "warn" };
    if (m.slowFsyncMs) {
      env.LD_PRELOAD = this.slowFsyncLibrary();
      env.CFF_SLOW_FSYNC_MS = String(m.slowFsyncMs);
    }
    const log = join(this.dir, `${m.name}.log`);
    appendFileSync(log, `--- start ${new Date().toISOString()} ${args.slice(3).join(" ")}\n`);
    const proc = spawn("ip", args, { stdio: ["ignore", "pipe", "pipe"], env, cwd: this.dir });
    m.proc = proc;
    this.procs.add(proc);
    proc.stderr!.on("data", (d: Buffer) => appendFileSync(log, d));
    proc.once("exit", (code, signal) => {
      this.procs.delete(proc);
      appendFileSync(log, `--- exit ${code ?? signal}\n`);
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${m.name} did not start within 20 s (log: ${log})`)), 20_000);
      proc.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`${m.name} exited ${code} while starting: ${tail(log)}`));
      });
      createInterface({ input: proc.stdout! }).on("line", (line) => {
        try {
          const info = JSON.parse(line) as { memberId?: string };
          if (info.memberId) {
            m.memberId = info.memberId;
            clearTimeout(timer);
            resolve();
          }
        } catch {
          // not our line
        }
      });
    });
  }

  /** kill -9 of member `m`'s process; resolves once it is gone. */
  async kill(m: LabMember): Promise<void> {
    const p = m.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const gone = new Promise((r) => p.once("exit", r));
    process.kill(p.pid!, "SIGKILL");
    await gone;
  }

  /** SIGTERM, then SIGKILL after `ms`. */
  async stop(m: LabMember, ms = 5_000): Promise<number | string | null> {
    const p = m.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return p?.exitCode ?? null;
    const gone = new Promise<number | string | null>((r) => p.once("exit", (code, sig) => r(code ?? sig)));
    process.kill(p.pid!, "SIGTERM");
    const t = setTimeout(() => p.pid && process.kill(p.pid, "SIGKILL"), ms);
    const r = await gone;
    clearTimeout(t);
    return r;
  }

  /** Cuts members `a` from members `b` (both directions; clients unaffected). */
  partition(a: LabMember[], b: LabMember[]): void {
    for (const [side, other] of [[a, b], [b, a]] as const) {
      for (const m of side) {
        const ips = other.map((o) => o.ip).filter((ip) => !m.blocked.includes(ip));
        if (ips.length === 0) continue;
        m.blocked.push(...ips);
        const set = `{ ${ips.join(", ")} }`;
        sh(["ip", "netns", "exec", m.ns, "nft", "-f", "-"], `add rule inet cff in ip saddr ${set} drop\nadd rule inet cff out ip daddr ${set} drop\n`);
      }
    }
  }

  /** Removes every partition rule. */
  heal(): void {
    for (const m of this.members) {
      if (m.blocked.length === 0) continue;
      sh(["ip", "netns", "exec", m.ns, "nft", "flush", "chain", "inet", "cff", "in"]);
      sh(["ip", "netns", "exec", m.ns, "nft", "flush", "chain", "inet", "cff", "out"]);
      m.blocked = [];
    }
  }

  /** The members whose process runs. */
  running(): LabMember[] {
    return this.members.filter((m) => m.proc && m.proc.exitCode === null && m.proc.signalCode === null);
  }

  /** Status of each running member as the agent sees it (null when it does not answer). */
  async statuses(ms = this.running()): Promise<{ m: LabMember; s: { memberId: string; leader: string; raftTerm: number; revision: number; raftIndex: number } | null }[]> {
    const r = await this.call<({ memberId: string; leader: string; raftTerm: number; revision: number; raftIndex: number } | null)[]>("status", { endpoints: ms.map((m) => m.endpoint) });
    return ms.map((m, i) => ({ m, s: r[i] ?? null }));
  }

  /** The member that leads according to a majority of answers, waiting up to `ms`. */
  async leader(ms = 15_000): Promise<LabMember> {
    const deadline = performance.now() + ms;
    for (;;) {
      const st = await this.statuses();
      const leaderIds = st.map((x) => x.s?.leader).filter((x): x is string => !!x && x !== "0");
      const votes = new Map<string, number>();
      for (const id of leaderIds) votes.set(id, (votes.get(id) ?? 0) + 1);
      const best = [...votes.entries()].sort((a, b) => b[1] - a[1])[0];
      const m = best && this.members.find((x) => x.memberId === best[0]);
      if (m && st.find((x) => x.m === m)?.s?.leader === m.memberId) return m;
      if (performance.now() > deadline) throw new Error(`no leader within ${ms} ms: ${JSON.stringify(st.map((x) => [x.m.name, x.s]))}`);
      await Bun.sleep(200);
    }
  }

  /** Builds (once) the LD_PRELOAD library that makes fsync/fdatasync sleep CFF_SLOW_FSYNC_MS. */
  private slowFsyncLibrary(): string {
    if (this.slowLib) return this.slowLib;
    const src = join(this.dir, "slow-fsync.c");
    const lib = join(this.dir, "slow-fsync.so");
    writeFileSync(src, SLOW_FSYNC_C);
    sh(["cc", "-shared", "-fPIC", "-O2", "-o", lib, src, "-ldl"]);
    this.slowLib = lib;
    return lib;
  }

  /** Removes everything: processes (by PID), namespaces (with their veths and bridge), files. */
  async destroy(): Promise<void> {
    const alive = [...this.procs].filter((p) => p.exitCode === null && p.signalCode === null);
    const gone = Promise.all(alive.map((p) => new Promise((r) => p.once("exit", r))));
    this.killAll();
    await gone;
    this.destroySync();
  }

  private killAll(): void {
    for (const p of this.procs) {
      try {
        if (p.pid && p.exitCode === null && p.signalCode === null) process.kill(p.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }

  /** destroy() without waiting for processes to be reaped (for the exit handler). */
  destroySync(): void {
    this.killAll();
    // Deleting a namespace deletes its interfaces and their veth peers (and the bridge with it).
    for (const ns of this.namespaces.reverse()) spawnSync("ip", ["netns", "del", ns]);
    this.namespaces.length = 0;
    if (!this.o.keepDir) rmSync(this.dir, { recursive: true, force: true });
    liveLabs.delete(this);
  }

  /** Member logs, for a failure message. */
  logs(): string {
    return this.members.map((m) => `${m.name}: ${tail(join(this.dir, `${m.name}.log`), 15)}`).join("\n");
  }
}

function tail(path: string, lines = 5): string {
  if (!existsSync(path)) return "";
  return readFileSync(path, "utf8").trim().split("\n").slice(-lines).join("\n");
}

/**
 * Removes the namespaces (and kills the processes in them, by PID) of labs whose test process
 * no longer runs — what a SIGKILLed test run leaves behind. Returns the namespaces removed.
 */
export function sweepStaleLabs(): string[] {
  const removed: string[] = [];
  const names = sh(["ip", "netns", "list"]).split("\n").map((l) => l.split(" ")[0]!).filter((n) => /^cff-[0-9a-z]+-[0-9a-z]+-/.test(n));
  for (const ns of names) {
    const pid = Number.parseInt(ns.split("-")[1]!, 36);
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch {
      alive = false;
    }
    if (alive) continue;
    const pids = spawnSync("ip", ["netns", "pids", ns], { encoding: "utf8" }).stdout.split("\n").filter(Boolean).map(Number);
    for (const p of pids) {
      try {
        process.kill(p, "SIGKILL");
      } catch {
        // gone
      }
    }
    spawnSync("ip", ["netns", "del", ns]);
    removed.push(ns);
  }
  return removed;
}

const SLOW_FSYNC_C = `
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <unistd.h>
static int delay_us = -1;
static void slow(void) {
  if (delay_us < 0) { const char *v = getenv("CFF_SLOW_FSYNC_MS"); delay_us = v ? atoi(v) * 1000 : 0; }
  if (delay_us > 0) usleep(delay_us);
}
int fsync(int fd) { static int (*real)(int); if (!real) real = dlsym(RTLD_NEXT, "fsync"); slow(); return real(fd); }
int fdatasync(int fd) { static int (*real)(int); if (!real) real = dlsym(RTLD_NEXT, "fdatasync"); slow(); return real(fd); }
`;
