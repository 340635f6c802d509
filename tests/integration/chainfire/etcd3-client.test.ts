/** chainfire against the npm `etcd3` client (grpc-js underneath): one node for the file. */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Etcd3 } from "etcd3";
import type { ChainfireServer } from "../../../services/chainfire/server.ts";
import { startTestChainfire } from "../../support/chainfire.ts";

const dir = mkdtempSync(join(tmpdir(), "chainfire-etcd3-"));
let server: ChainfireServer;
let client: Etcd3;

beforeAll(async () => {
  server = await startTestChainfire(join(dir, "n1"));
  client = new Etcd3({ hosts: server.endpoint });
});

afterAll(async () => {
  client.close();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("etcd3 (npm) against chainfire", () => {
  it("puts, gets, lists by prefix and deletes", async () => {
    await client.put("app/a").value("1");
    await client.put("app/b").value("2");
    expect(await client.get("app/a").string()).toBe("1");
    expect(await client.getAll().prefix("app/").strings()).toEqual({ "app/a": "1", "app/b": "2" });
    expect(await client.getAll().prefix("app/").count()).toBe(2);
    await client.delete().key("app/a");
    expect(await client.get("app/a").string()).toBeNull();
  });

  it("runs if/then/else transactions", async () => {
    await client.put("cas").value("old");
    const won = await client.if("cas", "Value", "==", "old").then(client.put("cas").value("new")).else(client.get("cas")).commit();
    expect(won.succeeded).toBe(true);
    const lost = await client.if("cas", "Value", "==", "old").then(client.put("cas").value("newer")).commit();
    expect(lost.succeeded).toBe(false);
    expect(await client.get("cas").string()).toBe("new");
  });

  it("keeps a lease alive and deletes its keys when revoked", async () => {
    const lease = client.lease(5);
    await lease.put("leased").value("v");
    expect(await client.get("leased").string()).toBe("v");
    const ttl = await lease.keepaliveOnce();
    expect(Number(ttl.TTL)).toBe(5);
    await lease.revoke();
    expect(await client.get("leased").string()).toBeNull();
  });

  it("watches a prefix", async () => {
    const watcher = await client.watch().prefix("wp/").create();
    const seen: string[] = [];
    const done = new Promise<void>((resolve) => {
      watcher.on("put", (kv) => {
        seen.push(`put ${kv.key.toString()}=${kv.value.toString()}`);
      });
      watcher.on("delete", (kv) => {
        seen.push(`delete ${kv.key.toString()}`);
        resolve();
      });
    });
    await client.put("wp/1").value("x");
    await client.put("wp/2").value("y");
    await client.delete().key("wp/1");
    await done;
    await watcher.cancel();
    expect(seen).toEqual(["put wp/1=x", "put wp/2=y", "delete wp/1"]);
  });

  it("takes a lock exclusively (lease + create-revision txn)", async () => {
    const lock = client.lock("resource");
    await lock.acquire();
    let error: unknown;
    try {
      await client.lock("resource").acquire();
    } catch (e) {
      error = e;
    }
    expect((error as Error).message).toBe("Failed to acquire a lock on resource");
    await lock.release();
    const again = client.lock("resource");
    await again.acquire();
    await again.release();
  });

  it("campaigns in an election and sees the leader", async () => {
    const election = client.election("singleton");
    const campaign = election.campaign("candidate-1");
    await new Promise<void>((resolve, reject) => {
      campaign.on("elected", () => resolve());
      campaign.on("error", reject);
    });
    expect(await election.leader()).toBe("candidate-1");
    await campaign.resign();
  });
});
