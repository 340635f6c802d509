/**
 * iam's chainfire store: model commits compared on the head (a stale writer loses and nothing is
 * half-written), consistent loads, watch events, sealed signing keys, and the KEK file.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EtcdClient } from "../../../lib/etcd/index.ts";
import { createLogger } from "../../../lib/log.ts";
import type { ChainfireServer } from "../../../services/chainfire/server.ts";
import { loadOrCreateKek } from "../../../services/iam/kek.ts";
import { IamReplica } from "../../../services/iam/replica.ts";
import type { StoreEvent } from "../../../services/iam/store.ts";
import { EtcdIamStore } from "../../../services/iam/store-etcd.ts";
import { SecretCipher } from "../../../services/iam/tokens/access-key.ts";
import { startTestChainfire } from "../../support/chainfire.ts";

const work = mkdtempSync(join(tmpdir(), "iam-store-"));
let chainfire: ChainfireServer;
let store: EtcdIamStore;

beforeAll(async () => {
  chainfire = await startTestChainfire(join(work, "chainfire"));
  store = new EtcdIamStore({ endpoints: [chainfire.endpoint] });
});

afterAll(async () => {
  store?.close();
  await chainfire?.stop();
  rmSync(work, { recursive: true, force: true });
});

const org = (id: string, name: string) => ({ op: "put" as const, entity: { kind: "org" as const, id, name } });

describe("EtcdIamStore", () => {
  it("commits model changes only on the head it was planned on", async () => {
    const loaded = await store.loadModel();
    expect(loaded).toMatchObject({ changes: [], head: 0 });
    const events: StoreEvent[] = [];
    const stop = store.watch(loaded.revision, (e) => events.push(...e), () => {});
    const first = await store.commitModel([org("org_a", "a")], loaded.head);
    expect(first).toBeGreaterThan(0);
    // a second writer that planned on the same (now stale) head loses, and writes nothing
    expect(await store.commitModel([org("org_b", "b")], loaded.head, [{ op: "put", kind: "meta", id: "x", value: 1 }])).toBeUndefined();
    expect(await store.getRecord("meta", "x")).toBeUndefined();
    const again = await store.loadModel();
    expect(again.changes.map((c) => (c.op === "put" ? c.entity.id : ""))).toEqual(["org_a"]);
    expect(again.head).toBe(first!);
    for (let i = 0; i < 100 && events.length === 0; i++) await Bun.sleep(10);
    expect(events[0]).toMatchObject({ type: "model", revision: first, head: first, changes: [org("org_a", "a")] });
    stop();
  });

  it("keeps signing keys sealed: no private key material in clear in chainfire", async () => {
    const kek = loadOrCreateKek(join(work, "kek"));
    const replica = await IamReplica.open({ store, cipher: new SecretCipher(kek), issuer: "t", logger: createLogger("iam", { level: "error" }) });
    try {
      const etcd = new EtcdClient({ endpoints: [chainfire.endpoint] });
      const raw = (await etcd.get("/photon/iam/signing-keys"))!.valueString;
      etcd.close();
      expect(raw).not.toContain('"d"');
      expect(JSON.parse(raw).sealed).toMatch(/^v1\.k1\./);
      // another KEK cannot open them
      const wrong = IamReplica.open({ store, cipher: new SecretCipher({ id: "k1", key: new Uint8Array(32).fill(7) }), issuer: "t", logger: createLogger("iam", { level: "error" }) });
      expect((await wrong.catch((e) => e)).code).toBe("IAM:InvalidArgument");
      expect(replica.jwks().keys).toHaveLength(1);
    } finally {
      replica.close();
    }
  });
});

describe("the key-encryption key file", () => {
  it("is created with mode 0600 and 32 bytes, then reused", () => {
    const path = join(work, "kek2");
    const a = loadOrCreateKek(path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(path).size).toBe(32);
    expect(loadOrCreateKek(path).key).toEqual(a.key);
  });

  it("is refused when others can read it or it has the wrong size", () => {
    const loose = join(work, "loose");
    writeFileSync(loose, new Uint8Array(32));
    chmodSync(loose, 0o644);
    expect(() => loadOrCreateKek(loose)).toThrow(/chmod 600/);
    const short = join(work, "short");
    writeFileSync(short, new Uint8Array(5), { mode: 0o600 });
    expect(() => loadOrCreateKek(short)).toThrow(/32 bytes/);
  });
});
