import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChainfireServer } from "../../services/chainfire/server.ts";
import { startTestChainfire } from "../../tests/support/chainfire.ts";
import { PhotonError } from "../errors.ts";
import { EtcdDocStore } from "./etcd-doc-store.ts";

const work = mkdtempSync(join(tmpdir(), "docstore-"));
let chainfire: ChainfireServer;
let store: EtcdDocStore;
const conflict = (n: number) => new PhotonError("TEST:Conflict", `conflicted ${n} times`);

beforeAll(async () => {
  chainfire = await startTestChainfire(join(work, "cf"));
  store = new EtcdDocStore({ endpoints: [chainfire.endpoint], conflict });
});

afterAll(async () => {
  store?.close();
  await chainfire?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe("EtcdDocStore", () => {
  it("gives a claimed key to exactly one of many concurrent writers", async () => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.transact(async (tx) => {
      if (await tx.get("/t/ip/10.0.0.5")) return "taken";
      tx.claim("/t/ip/10.0.0.5", { owner: i });
      return `won ${i}`;
    })));
    expect(results.filter((r) => r.startsWith("won"))).toHaveLength(1);
    expect(results.filter((r) => r === "taken")).toHaveLength(19);
  });

  it("loses no increment of a read-modify-write under contention", async () => {
    await Promise.all(Array.from({ length: 25 }, () => store.transact(async (tx) => {
      const cur = (await tx.get<{ n: number }>("/t/counter")) ?? { n: 0 };
      tx.put("/t/counter", { n: cur.n + 1 });
    })));
    expect(await store.get("/t/counter")).toEqual({ n: 25 });
  });

  it("writes nothing when the transaction throws, and gives up with the service's error", async () => {
    await expect(store.transact(async (tx) => {
      tx.put("/t/half", 1);
      throw new Error("boom");
    })).rejects.toThrow("boom");
    expect(await store.get("/t/half")).toBeUndefined();
    const tight = new EtcdDocStore({ endpoints: [chainfire.endpoint], conflict, maxAttempts: 2 });
    try {
      const err = await tight.transact(async (tx) => {
        await tx.get("/t/moving");
        await store.etcd.put("/t/moving", String(tx.attempt));
        tx.put("/t/other", tx.attempt);
      }).catch((e: PhotonError) => e);
      expect((err as PhotonError).code).toBe("TEST:Conflict");
      expect(await tight.get("/t/other")).toBeUndefined();
    } finally {
      tight.close();
    }
  });

  it("lists, snapshots at one revision and watches a prefix", async () => {
    const snap = await store.snapshot("/t/");
    expect(snap.docs.get("/t/counter")).toEqual({ n: 25 });
    const seen: number[] = [];
    const stop = store.watch("/t/", snap.revision + 1, (c) => seen.push(c.revision), () => {});
    await store.transact(async (tx) => tx.put("/t/w", 1));
    for (let i = 0; i < 100 && seen.length === 0; i++) await Bun.sleep(10);
    stop();
    expect(seen[0]).toBeGreaterThan(snap.revision);
    expect((await store.list("/t/ip/")).map((d) => d.key)).toEqual(["/t/ip/10.0.0.5"]);
  });
});
