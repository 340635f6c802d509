import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EtcdClient } from "../../../lib/etcd/index.ts";
import { createLogger } from "../../../lib/log.ts";
import type { ChainfireServer } from "../../chainfire/server.ts";
import { startTestChainfire } from "../../../tests/support/chainfire.ts";
import { WRITER_KEY, WriterElection } from "./writer-election.ts";

const logger = createLogger("election", { level: "error" });

async function until(cond: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await Bun.sleep(20);
  }
}

describe("WriterElection (the OVN northbound writer's key, on chainfire)", () => {
  const dir = mkdtempSync(join(tmpdir(), "novanet-election-"));
  let cf: ChainfireServer;
  let etcd: EtcdClient;
  const holder = async () => {
    const kv = await etcd.get(WRITER_KEY);
    return kv ? (JSON.parse(kv.value.toString()) as { host: string }).host : undefined;
  };

  beforeAll(async () => {
    cf = await startTestChainfire(dir);
    etcd = new EtcdClient({ endpoints: [cf.endpoint] });
  });
  afterAll(async () => {
    etcd.close();
    await cf.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("lets one writer hold the key; a standby takes over when it stops, and a restarted host takes its key back", async () => {
    const a = new WriterElection({ etcd, host: "h1", logger, ttlSeconds: 3, retryMs: 100 });
    const b = new WriterElection({ etcd, host: "h2", logger, ttlSeconds: 3, retryMs: 100 });
    await a.start();
    await b.start();
    expect([a.held, b.held]).toEqual([true, false]);
    expect(await holder()).toBe("h1");
    await Bun.sleep(300); // b keeps trying and keeps failing
    expect(b.held).toBe(false);
    const changed: boolean[] = [];
    b.onChange(() => changed.push(b.held));
    await a.stop(); // revokes: b takes over within a retry
    await until(() => b.held, 2000);
    expect(changed).toEqual([true]);
    expect(await holder()).toBe("h2");
    // b "crashes" without revoking (its lease still runs); its restart on the same host takes the key back at once
    const b2 = new WriterElection({ etcd, host: "h2", logger, ttlSeconds: 3, retryMs: 100 });
    await b2.start();
    expect(b2.held).toBe(true);
    await b2.stop();
    await b.stop();
    expect(await holder()).toBeUndefined();
  }, 20_000);

  it("hands the key on when the holder's lease expires (a dead writer)", async () => {
    const a = new WriterElection({ etcd, host: "h1", logger, ttlSeconds: 2, retryMs: 100 });
    await a.start();
    expect(a.held).toBe(true);
    // the writer dies: nobody renews or revokes its lease
    const lease = (await etcd.get(WRITER_KEY))!.lease;
    (a as unknown as { keep: { stop(): void } }).keep.stop(); // test hook: silence it without revoking
    const b = new WriterElection({ etcd, host: "h2", logger, ttlSeconds: 2, retryMs: 100 });
    await b.start();
    expect(b.held).toBe(false);
    await until(() => b.held, 6000);
    expect(await holder()).toBe("h2");
    expect((await etcd.get(WRITER_KEY))!.lease).not.toBe(lease);
    await b.stop();
  }, 20_000);
});
