/**
 * A 3-member chainfire cluster in one process, grown through MemberAdd (as an operator grows the
 * all-in-one): writes through any member, linearizable reads on followers, watches, leader loss
 * and restart, member removal — checked with our gRPC client and with etcdctl.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../../../lib/log.ts";
import { createMetrics } from "../../../lib/metrics.ts";
import { startChainfire, type ChainfireServer } from "../../../services/chainfire/server.ts";
import { freePort } from "../../support/free-port.ts";

const dir = mkdtempSync(join(tmpdir(), "chainfire-cluster-"));
const b = (s: string) => new TextEncoder().encode(s);
const s = (u: Uint8Array) => new TextDecoder().decode(u);
const nodes: Record<string, ChainfireServer> = {};
/** Each member keeps its peer port across restarts (the others know it by that address). */
const peerPorts: Record<string, number> = {};

async function start(name: string, joinVia?: string): Promise<ChainfireServer> {
  const server = await startChainfire({
    dataDir: join(dir, name),
    name,
    host: "127.0.0.1",
    port: 0,
    httpPort: 0,
    peerPort: (peerPorts[name] ??= await freePort()),
    tickMs: 50,
    ...(joinVia ? { join: joinVia } : {}),
    logger: createLogger(`chainfire-${name}`, { level: (process.env.CF_LOG as "info") ?? "error" }),
    metrics: createMetrics("chainfire"),
  });
  await server.published;
  nodes[name] = server;
  return server;
}

async function until<T>(what: string, f: () => Promise<T | undefined> | T | undefined, ms = 10_000): Promise<T> {
  const deadline = performance.now() + ms;
  for (;;) {
    try {
      const v = await f();
      if (v !== undefined && v !== false) return v;
    } catch {
      // retry
    }
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}

const voters = (n: ChainfireServer) => n.service.members().filter((m) => !m.isLearner).length;
const leaderOf = () => Object.values(nodes).find((n) => n.service.commandLog.isLeader);

beforeAll(async () => {
  await start("n1");
  await start("n2", nodes.n1!.endpoint);
  await until("n2 promoted", () => voters(nodes.n1!) === 2);
  await start("n3", nodes.n2!.endpoint); // via a follower: MemberAdd is forwarded to the leader
  await until("three voters", () => voters(nodes.n1!) === 3);
}, 60_000);

afterAll(async () => {
  for (const n of Object.values(nodes)) await n.stop().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe("a 3-member chainfire cluster", () => {
  it("lists every member with its name and URLs on every member", async () => {
    for (const n of Object.values(nodes)) {
      await until("attributes everywhere", () => n.service.members().every((m) => m.name && m.clientUrls.length) || undefined);
      expect(n.service.members().map((m) => m.name).sort()).toEqual(["n1", "n2", "n3"]);
    }
  });

  it("accepts writes on followers and serves linearizable reads everywhere", async () => {
    const follower = Object.values(nodes).find((n) => !n.service.commandLog.isLeader)!;
    const put = await follower.service.put({ key: b("k"), value: b("from-follower") });
    for (const n of Object.values(nodes)) {
      const r = await n.service.range({ key: b("k") });
      expect(s(r.kvs[0]!.value)).toBe("from-follower");
      expect(r.header.revision).toBeGreaterThanOrEqual(put.header.revision);
    }
  });

  it("agrees on one cluster id and the same history hash", async () => {
    const ids = new Set(Object.values(nodes).map((n) => n.service.clusterId));
    expect(ids.size).toBe(1);
    const rev = Math.min(...Object.values(nodes).map((n) => n.service.store.currentRevision));
    const hashes = new Set(Object.values(nodes).map((n) => n.service.store.hashKv(rev)));
    expect(hashes.size).toBe(1);
  });

  it("keeps leases alive through a follower and expires them on the leader", async () => {
    const follower = Object.values(nodes).find((n) => !n.service.commandLog.isLeader)!;
    const lease = await follower.service.leaseGrant(60);
    const ka = await follower.service.leaseKeepAlive(lease.id);
    expect(ka.ttl).toBe(60);
    await follower.service.leaseRevoke(lease.id);
    expect((await follower.service.leaseTimeToLive(lease.id, false)).ttl).toBe(-1);
  });

  it("lets a follower revoke at once the lease it just granted (it has applied its own forwarded write)", async () => {
    const follower = Object.values(nodes).find((n) => !n.service.commandLog.isLeader)!;
    for (let i = 0; i < 20; i++) {
      const lease = await follower.service.leaseGrant(60);
      await follower.service.leaseRevoke(lease.id);
    }
  });

  it("survives the loss of the leader and catches it up when it returns", async () => {
    const old = leaderOf()!;
    const name = Object.entries(nodes).find(([, n]) => n === old)![0];
    await old.stop();
    delete nodes[name];
    const next = await until("a new leader", () => leaderOf());
    await next.service.put({ key: b("after"), value: b("failover") });
    const back = await start(name);
    await until("restarted member caught up", async () => {
      const r = await back.service.range({ key: b("after"), serializable: true });
      return r.kvs.length === 1 || undefined;
    });
    expect(s((await back.service.range({ key: b("after") })).kvs[0]!.value)).toBe("failover");
  }, 30_000);

  it("serves etcdctl on a follower: member list and a put", async () => {
    const etcdctl = Bun.which("etcdctl");
    if (!etcdctl) return console.log("skip: etcdctl not installed");
    const follower = Object.values(nodes).find((n) => !n.service.commandLog.isLeader)!;
    const run = async (...args: string[]) => {
      const p = Bun.spawn([etcdctl, `--endpoints=${follower.endpoint.replace("http://", "")}`, ...args], { env: { ...process.env, ETCDCTL_API: "3" }, stdout: "pipe" });
      return new Response(p.stdout).text();
    };
    const list = await run("member", "list");
    expect(list.trim().split("\n")).toHaveLength(3);
    expect((await run("put", "via", "etcdctl")).trim()).toBe("OK");
    expect((await run("endpoint", "status", "-w", "json")).includes('"leader"')).toBe(true);
  });

  it("removes a member", async () => {
    const victim = Object.entries(nodes).find(([, n]) => !n.service.commandLog.isLeader)!;
    const leader = leaderOf()!;
    await leader.service.admin({ op: "memberRemove", id: victim[1].service.memberId });
    await victim[1].stop();
    delete nodes[victim[0]];
    expect(leader.service.members()).toHaveLength(2);
    await leader.service.put({ key: b("two"), value: b("members") });
  });
});
