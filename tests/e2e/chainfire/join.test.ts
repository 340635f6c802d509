/**
 * `photon chainfire` as a cluster node runs it: members as separate processes on loopback,
 * joined through MemberAdd (`--join`), restarted with the same command line, stopped by SIGTERM,
 * and a member removed while it leads.
 */
import { afterAll, describe, expect, it } from "bun:test";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { GrpcClient } from "../../../lib/grpc/index.ts";
import { clusterService, kvService, maintenanceService } from "../../../services/chainfire/api/definitions.ts";
import { num, type Int64 } from "../../../services/chainfire/api/wire.ts";
import { freePort } from "../../support/free-port.ts";

const photon = join(import.meta.dir, "..", "..", "..", "cli", "photon.ts");
const work = mkdtempSync(join(tmpdir(), "chainfire-join-"));
const te = new TextEncoder();
const td = new TextDecoder();

interface Member {
  name: string;
  args: string[];
  proc: ChildProcess;
  info: { name: string; memberId: string; endpoint: string; peerUrl: string; http: string };
  stderr: string[];
}
const members: Record<string, Member> = {};
const clients: GrpcClient[] = [];

/** Starts `photon chainfire` and resolves with the line it prints once serving. */
async function start(name: string, extra: string[] = [], given?: string[]): Promise<Member> {
  const args = given ?? [
    "--name", name, "--data-dir", join(work, name),
    "--listen-client", `127.0.0.1:${await freePort()}`, "--listen-peer", `127.0.0.1:${await freePort()}`, "--http-port", "0",
    ...extra,
  ];
  const proc = spawn(process.execPath, [photon, "chainfire", ...args, "-o", "json"], { cwd: work, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, PHOTON_LOG_LEVEL: "warn" } });
  const stderr: string[] = [];
  proc.stderr!.on("data", (d: Buffer) => stderr.push(d.toString()));
  const info = await new Promise<Member["info"]>((resolve, reject) => {
    proc.once("exit", (code) => reject(new Error(`${name} exited ${code}: ${stderr.join("")}`)));
    createInterface({ input: proc.stdout! }).once("line", (line) => resolve(JSON.parse(line)));
  });
  const m = { name, args, proc, info, stderr };
  members[name] = m;
  return m;
}

function client(m: Member): GrpcClient {
  const c = new GrpcClient(m.info.endpoint, { defaultTimeoutMs: 5_000 });
  clients.push(c);
  return c;
}

async function memberList(m: Member): Promise<{ ID: Int64; name: string; isLearner?: boolean }[]> {
  return ((await client(m).unary(clusterService.methods.MemberList!, {})) as { members: { ID: Int64; name: string; isLearner?: boolean }[] }).members;
}

async function until<T>(what: string, f: () => Promise<T | undefined | false>, ms = 15_000): Promise<T> {
  const deadline = performance.now() + ms;
  for (;;) {
    try {
      const v = await f();
      if (v !== undefined && v !== false) return v;
    } catch {
      // not yet
    }
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(100);
  }
}

const voters = async (m: Member) => (await memberList(m)).filter((x) => !x.isLearner && x.name).map((x) => x.name).sort();

function stop(m: Member, signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
  if (m.proc.exitCode !== null || m.proc.signalCode !== null) return Promise.resolve(m.proc.exitCode);
  const exited = new Promise<number | null>((r) => m.proc.once("exit", (code) => r(code)));
  m.proc.kill(signal);
  return exited;
}

afterAll(async () => {
  for (const c of clients) c.close();
  for (const m of Object.values(members)) if (m.proc.exitCode === null && m.proc.signalCode === null) m.proc.kill("SIGKILL");
  await Promise.all(Object.values(members).map((m) => (m.proc.exitCode === null && m.proc.signalCode === null ? new Promise((r) => m.proc.once("exit", r)) : undefined)));
  rmSync(work, { recursive: true, force: true });
});

describe("photon chainfire", () => {
  it("joins a second and a third member through MemberAdd", async () => {
    const n1 = await start("n1");
    expect(n1.info.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const n2 = await start("n2", ["--join", n1.info.endpoint]);
    await until("n2 votes", async () => (await voters(n1)).join() === "n1,n2");
    const n3 = await start("n3", ["--join", n2.info.endpoint]); // through a follower: forwarded to the leader
    await until("three voters everywhere", async () => {
      for (const m of [n1, n2, n3]) if ((await voters(m)).join() !== "n1,n2,n3") return false;
      return true;
    });
  }, 60_000);

  it("replicates a write made on one member to the others", async () => {
    await client(members.n3!).unary(kvService.methods.Put!, { key: te.encode("hello"), value: te.encode("cluster") });
    for (const m of Object.values(members)) {
      const r = (await client(m).unary(kvService.methods.Range!, { key: te.encode("hello") })) as { kvs: { value: Uint8Array }[] };
      expect(td.decode(r.kvs[0]!.value)).toBe("cluster");
    }
  });

  it("stops on SIGTERM with exit 0 and rejoins with the same command line", async () => {
    const n3 = members.n3!;
    expect(await stop(n3)).toBe(0);
    await client(members.n1!).unary(kvService.methods.Put!, { key: te.encode("while"), value: te.encode("away") });
    const back = await start("n3", [], n3.args); // still carries --join: ignored, it is a member already
    expect(back.info.memberId).toBe(n3.info.memberId);
    await until("n3 caught up", async () => {
      const r = (await client(back).unary(kvService.methods.Range!, { key: te.encode("while"), serializable: true })) as { kvs?: { value: Uint8Array }[] };
      return r.kvs?.[0] && td.decode(r.kvs[0].value) === "away";
    });
    expect((await voters(back)).join()).toBe("n1,n2,n3");
  }, 30_000);

  // Regression: a restarted member knew only the peers that connected to it (addresses came from
  // the join and from conf-change entries, which a restart does not replay), so after a restart
  // of every member nobody could reach anybody and no leader was ever elected.
  it("elects a leader again after every member was down at once", async () => {
    const before = Object.values(members);
    for (const m of before) expect(await stop(m)).toBe(0);
    for (const m of before) await start(m.name, [], m.args);
    const leader = await until("a leader after the full restart", async () => {
      const s = (await client(members.n1!).unary(maintenanceService.methods.Status!, {})) as { leader: Int64 };
      return num(s.leader) || undefined;
    }, 20_000);
    expect(leader).toBeGreaterThan(0);
    await client(members.n2!).unary(kvService.methods.Put!, { key: te.encode("after"), value: te.encode("full restart") });
    const r = (await client(members.n3!).unary(kvService.methods.Range!, { key: te.encode("after") })) as { kvs: { value: Uint8Array }[] };
    expect(td.decode(r.kvs[0]!.value)).toBe("full restart");
  }, 40_000);

  // Regression: raft-rs panicked (maybe_commit unwraps the leader's own progress) when the
  // leader committed its own removal, killing the member and failing MemberRemove.
  it("removes the member that leads, through a follower", async () => {
    const leaderId = await until("a leader", async () => num(((await client(members.n1!).unary(maintenanceService.methods.Status!, {})) as { leader: Int64 }).leader) || undefined);
    const leader = Object.values(members).find((m) => Number.parseInt(m.info.memberId, 16) === leaderId)!;
    const follower = Object.values(members).find((m) => m !== leader && m.proc.exitCode === null)!;
    await client(follower).unary(clusterService.methods.MemberRemove!, { ID: leaderId });
    const rest = Object.values(members).filter((m) => m !== leader);
    await until("two voters", async () => (await voters(follower)).length === 2);
    await client(follower).unary(kvService.methods.Put!, { key: te.encode("after"), value: te.encode("removal") });
    for (const m of rest) {
      const r = (await client(m).unary(kvService.methods.Range!, { key: te.encode("after") })) as { kvs: { value: Uint8Array }[] };
      expect(td.decode(r.kvs[0]!.value)).toBe("removal");
    }
    expect(await stop(leader)).toBe(0);
  }, 30_000);

  it("refuses bad flags with one line and exit 2", async () => {
    const run = (...args: string[]) => Bun.spawnSync([process.execPath, photon, "chainfire", ...args], { cwd: work, stderr: "pipe" });
    for (const args of [["--listen-client", "nope"], ["--listen-client", "127.0.0.1:1", "--listen-peer", "127.0.0.2:2"], ["--bogus"], ["--tick-ms", "x"]]) {
      const r = run(...args);
      expect(r.exitCode).toBe(2);
      expect(r.stderr.toString().trim().split("\n")).toHaveLength(1);
    }
  });
});
