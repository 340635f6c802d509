/**
 * The Raft transport with mutual TLS: nodes holding certificates of the cluster's CA elect and
 * replicate; a node whose certificate comes from another CA is refused both ways (its messages
 * are never decoded, and it does not accept the members' connections), so it never joins.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateCerts } from "../lib/certs.ts";
import type { PhotonError } from "../lib/errors.ts";
import { RaftNode } from "./raft-node.ts";
import type { AppliedEntry, RaftApplication, RaftNodeOptions } from "./types.ts";

class ListApp implements RaftApplication {
  readonly list: string[] = [];
  apply(_groupId: number, entries: AppliedEntry[]): unknown[] {
    return entries.map((e) => {
      this.list.push(new TextDecoder().decode(e.data));
      return e.index;
    });
  }
  snapshot(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify(this.list));
  }
  installSnapshot(_groupId: number, data: Uint8Array): void {
    this.list.splice(0, this.list.length, ...(JSON.parse(new TextDecoder().decode(data)) as string[]));
  }
}

interface Member {
  id: number;
  app: ListApp;
  node: RaftNode;
}

const enc = (s: string) => new TextEncoder().encode(s);
let root = "";
let run = "";
let members: Member[] = [];

const tlsOf = (ca: "good" | "other"): NonNullable<RaftNodeOptions["tls"]> => ({
  certFile: join(root, ca, "chainfire.crt"),
  keyFile: join(root, ca, "chainfire.key"),
  caFile: join(root, ca, "ca.crt"),
});

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "raft-tls-"));
  await generateCerts({ dir: join(root, "good"), services: ["chainfire"] });
  await generateCerts({ dir: join(root, "other"), services: ["chainfire"] });
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

afterEach(async () => {
  for (const m of members) await m.node.close();
  members = [];
  if (run) rmSync(run, { recursive: true, force: true });
});

async function start(id: number, ca: "good" | "other", peers: Member[]): Promise<Member> {
  const app = new ListApp();
  const node = await RaftNode.open({
    nodeId: id,
    dataDir: join(run, `n${id}`),
    app,
    tickMs: 20,
    electionTicks: 10,
    requestTimeoutMs: 4000,
    tls: tlsOf(ca),
    peers: Object.fromEntries(peers.map((p) => [p.id, p.node.address])),
  });
  for (const p of peers) p.node.setPeer(id, node.address);
  const m = { id, app, node };
  members.push(m);
  return m;
}

async function waitFor(what: string, pred: () => boolean, ms = 8000): Promise<void> {
  const until = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(10);
  }
}

async function put(among: Member[], value: string): Promise<unknown> {
  for (let attempt = 0; attempt < 50; attempt++) {
    let l: Member | undefined;
    await waitFor("a leader", () => (l = among.find((m) => m.node.isLeader(1))) !== undefined);
    try {
      return await l!.node.propose(1, enc(value));
    } catch (e) {
      if ((e as PhotonError).code !== "RAFT:NotLeader" && (e as PhotonError).code !== "RAFT:ProposalDropped") throw e;
      await Bun.sleep(20);
    }
  }
  throw new Error("no leader accepted the proposal");
}

describe("RaftNode over mutual TLS", () => {
  it("elects a leader and replicates between nodes of the same CA", async () => {
    run = mkdtempSync(join(tmpdir(), "raft-tls-run-"));
    const ms: Member[] = [];
    for (const id of [1, 2, 3]) ms.push(await start(id, "good", [...ms]));
    for (const m of ms) m.node.createGroup(1, { voters: [1, 2, 3] });
    const values = Array.from({ length: 20 }, (_, i) => `v${i}`);
    for (const v of values) await put(ms, v);
    await waitFor("replication", () => ms.every((m) => m.app.list.length === values.length));
    for (const m of ms) expect(m.app.list).toEqual(values);
    expect(ms.filter((m) => m.node.isLeader(1))).toHaveLength(1);
  }, 30_000);

  it("refuses a node whose certificate comes from another CA", async () => {
    run = mkdtempSync(join(tmpdir(), "raft-tls-run-"));
    const a = await start(1, "good", []);
    const b = await start(2, "good", [a]);
    a.node.createGroup(1, { voters: [1, 2] });
    b.node.createGroup(1, { voters: [1, 2] });
    await put([a, b], "before");
    // The intruder claims to be a voter of the group, and the members know its address.
    const x = await start(3, "other", [a, b]);
    x.node.createGroup(1, { voters: [1, 2, 3] });
    x.node.campaign(1);
    await put([a, b], "after");
    await Bun.sleep(1_000);
    // Nothing crossed either way: the intruder learnt no entry and won no election.
    expect(x.app.list).toEqual([]);
    expect(x.node.isLeader(1)).toBe(false);
    expect(a.app.list).toEqual(["before", "after"]);
    expect(b.app.list).toEqual(["before", "after"]);
    const leader = [a, b].find((m) => m.node.isLeader(1))!;
    expect(leader).toBeDefined();
    // Even once the members add it as a learner, nothing reaches it.
    await leader.node.addLearner(1, 3, x.node.address);
    await put([a, b], "later");
    await Bun.sleep(1_000);
    expect(x.app.list).toEqual([]);
    expect(leader.node.status(1).progress[3] ?? 0).toBe(0);
  }, 30_000);
});
