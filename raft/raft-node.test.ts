import { afterEach, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PhotonError } from "../lib/errors.ts";
import { RaftNode } from "./raft-node.ts";
import type { AppliedEntry, RaftApplication, SnapshotMeta } from "./types.ts";

/** The test state machine: per group, the list of applied values. */
class ListApp implements RaftApplication {
  readonly lists = new Map<number, string[]>();
  installs = 0;

  apply(groupId: number, entries: AppliedEntry[]): unknown[] {
    const list = this.list(groupId);
    return entries.map((e) => {
      list.push(new TextDecoder().decode(e.data));
      return e.index;
    });
  }
  snapshot(groupId: number, _meta: SnapshotMeta): Uint8Array {
    return new TextEncoder().encode(JSON.stringify(this.list(groupId)));
  }
  installSnapshot(groupId: number, data: Uint8Array): void {
    this.installs++;
    this.lists.set(groupId, JSON.parse(new TextDecoder().decode(data)) as string[]);
  }
  list(groupId: number): string[] {
    let l = this.lists.get(groupId);
    if (!l) this.lists.set(groupId, (l = []));
    return l;
  }
}

interface Member {
  id: number;
  dir: string;
  app: ListApp;
  node: RaftNode;
}

const enc = (s: string) => new TextEncoder().encode(s);
let root = "";
let members: Member[] = [];

async function start(id: number, peers: Member[]): Promise<Member> {
  const dir = join(root, `n${id}`);
  const app = new ListApp();
  const node = await RaftNode.open({
    nodeId: id,
    dataDir: dir,
    app,
    tickMs: 20,
    electionTicks: 10,
    requestTimeoutMs: 4000,
    snapshotChunkBytes: 64,
    peers: Object.fromEntries(peers.filter((p) => p.id !== id).map((p) => [p.id, p.node.address])),
  });
  for (const p of peers) if (p.id !== id) p.node.setPeer(id, node.address);
  const m = { id, dir, app, node };
  members = members.filter((x) => x.id !== id).concat(m);
  return m;
}

async function cluster(ids: number[], groups: number[]): Promise<Member[]> {
  root = mkdtempSync(join(tmpdir(), "raft-node-"));
  members = [];
  for (const id of ids) await start(id, members);
  for (const m of members) for (const g of groups) m.node.createGroup(g, { voters: ids });
  return members;
}

async function waitFor(what: string, pred: () => boolean, ms = 8000): Promise<void> {
  const until = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(10);
  }
}

async function leaderOf(g: number, among = members): Promise<Member> {
  let found: Member | undefined;
  await waitFor(`a leader of group ${g}`, () => {
    found = among.find((m) => m.node.isLeader(g));
    return found !== undefined;
  });
  return found!;
}

/** Proposes on whoever leads, following NotLeader hints. */
async function put(g: number, value: string, among = members): Promise<unknown> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const l = await leaderOf(g, among);
    try {
      return await l.node.propose(g, enc(value));
    } catch (e) {
      if ((e as PhotonError).code !== "RAFT:NotLeader" && (e as PhotonError).code !== "RAFT:ProposalDropped") throw e;
      await Bun.sleep(20);
    }
  }
  throw new Error("no leader accepted the proposal");
}

afterEach(async () => {
  for (const m of members) await m.node.close();
  members = [];
  if (root) rmSync(root, { recursive: true, force: true });
});

describe("RaftNode (3 nodes over TCP on 127.0.0.1)", () => {
  it("elects a leader and applies proposals in the same order on every node", async () => {
    await cluster([1, 2, 3], [1]);
    const l = await leaderOf(1);
    const values = Array.from({ length: 60 }, (_, i) => `v${i}`);
    const indexes = await Promise.all(values.map((v) => l.node.propose(1, enc(v))));
    expect(new Set(indexes).size).toBe(60);
    await waitFor("replication", () => members.every((m) => m.app.list(1).length === 60));
    for (const m of members) expect(m.app.list(1)).toEqual(values);
    const st = l.node.status(1);
    expect(st.role).toBe("leader");
    expect(st.membership.voters.sort()).toEqual([1, 2, 3]);
    expect(st.applied).toBe(st.commit);
  });

  it("rejects a proposal to a follower with the leader hint", async () => {
    await cluster([1, 2, 3], [1]);
    const l = await leaderOf(1);
    const f = members.find((m) => m !== l)!;
    await waitFor("the follower to know the leader", () => f.node.status(1).leader === l.id);
    const err = (await f.node.propose(1, enc("x")).catch((e) => e)) as PhotonError;
    expect(err.code).toBe("RAFT:NotLeader");
    expect(err.details?.leader).toBe(l.id);
  });

  it("serves a linearizable read on a follower after a write (readIndex)", async () => {
    await cluster([1, 2, 3], [1]);
    await put(1, "a");
    await put(1, "b");
    const l = await leaderOf(1);
    const f = members.find((m) => m !== l)!;
    await f.node.readIndex(1);
    expect(f.app.list(1)).toEqual(["a", "b"]);
    await l.node.readIndex(1);
  });

  it("catches up a node that was stopped and reopened from its data directory", async () => {
    await cluster([1, 2, 3], [1]);
    for (let i = 0; i < 10; i++) await put(1, `a${i}`);
    const victim = members.find((m) => !m.node.isLeader(1))!;
    await victim.node.close();
    const alive = members.filter((m) => m !== victim);
    for (let i = 0; i < 10; i++) await put(1, `b${i}`, alive);
    const back = await start(victim.id, alive);
    back.node.createGroup(1);
    await waitFor("catch-up", () => back.app.list(1).length === 20);
    expect(back.app.list(1)).toEqual(alive[0]!.app.list(1));
  });

  it("sends a snapshot to a lagging node after log compaction", async () => {
    await cluster([1, 2, 3], [1]);
    await put(1, "first");
    const lag = members.find((m) => !m.node.isLeader(1))!;
    await waitFor("first entry everywhere", () => lag.app.list(1).length === 1);
    await lag.node.close();
    const alive = members.filter((m) => m !== lag);
    for (let i = 0; i < 30; i++) await put(1, `v${i}`, alive);
    await waitFor("apply on both", () => alive.every((m) => m.app.list(1).length === 31));
    for (const m of alive) {
      m.node.compact(1);
      expect(m.node.status(1).firstIndex).toBeGreaterThan(10);
    }
    const back = await start(lag.id, alive);
    back.node.createGroup(1);
    await waitFor("snapshot install", () => back.app.list(1).length === 31);
    expect(back.app.installs).toBeGreaterThan(0);
    expect(back.app.list(1)).toEqual(alive[0]!.app.list(1));
    await put(1, "after", members);
    await waitFor("replication after snapshot", () => back.app.list(1).length === 32);
  });

  it("adds a learner, promotes it, and removes a voter", async () => {
    await cluster([1, 2, 3], [1]);
    for (let i = 0; i < 5; i++) await put(1, `v${i}`);
    const newcomer = await start(4, members);
    newcomer.node.createGroup(1);
    let l = await leaderOf(1);
    await l.node.addLearner(1, 4, newcomer.node.address);
    await waitFor("learner catch-up", () => newcomer.app.list(1).length === 5);
    expect(l.node.status(1).membership.learners).toEqual([4]);
    l = await leaderOf(1);
    await l.node.promote(1, 4);
    expect(l.node.status(1).membership.voters.sort()).toEqual([1, 2, 3, 4]);
    l = await leaderOf(1);
    const gone = members.find((m) => m !== l && m.id !== 4)!;
    await l.node.remove(1, gone.id);
    await waitFor("removal applied", () => !l.node.status(1).membership.voters.includes(gone.id));
    await gone.node.close();
    const rest = members.filter((m) => m !== gone);
    await put(1, "after-remove", rest);
    await waitFor("progress without the removed node", () => newcomer.app.list(1).length === 6);
  });

  it("transfers leadership", async () => {
    await cluster([1, 2, 3], [1]);
    const l = await leaderOf(1);
    const to = members.find((m) => m !== l)!;
    await put(1, "x");
    await l.node.transferLeader(1, to.id);
    await waitFor("new leader", () => to.node.isLeader(1));
    expect(await to.node.propose(1, enc("y"))).toBeGreaterThan(0);
  });

  it("runs two groups in one host independently", async () => {
    root = mkdtempSync(join(tmpdir(), "raft-node-"));
    members = [];
    for (const id of [1, 2, 3]) await start(id, members);
    for (const m of members) m.node.createGroup(1, { voters: [1, 2, 3] });
    members[0]!.node.createGroup(2, { voters: [1] });
    await put(1, "g1-a");
    const solo = members[0]!;
    await waitFor("group 2 leader", () => solo.node.isLeader(2));
    await solo.node.propose(2, enc("g2-a"));
    // Group 1 loses its quorum; group 2 (a single-voter group on node 1) keeps going.
    await members[1]!.node.close();
    await members[2]!.node.close();
    for (let i = 0; i < 5; i++) await solo.node.propose(2, enc(`g2-${i}`));
    expect(solo.app.list(2)).toEqual(["g2-a", "g2-0", "g2-1", "g2-2", "g2-3", "g2-4"]);
    expect(solo.app.list(1)).toEqual(["g1-a"]);
    const stats = solo.node.stats();
    expect(stats.syncedWrites).toBeLessThanOrEqual(stats.readyCycles + 10);
  });
});
