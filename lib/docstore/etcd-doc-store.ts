/**
 * `EtcdDocStore`: a `DocStore` in chainfire (or etcd) through lib/etcd. A transaction is one etcd
 * Txn: `if` every recorded read's mod revision is unchanged (0 = still absent) and every claimed
 * key is absent, `then` every write; on a conflict it runs again after a short random backoff.
 */
import { Compare, EtcdClient, Op, type Comparison, type EtcdClientOptions, type Operation } from "../etcd/index.ts";
import type { PhotonError } from "../errors.ts";
import type { DocChange, DocStore, DocTx } from "./doc-store.ts";

class EtcdStoreTx implements DocTx {
  readonly reads = new Map<string, number>();
  readonly writes = new Map<string, string | null>();
  readonly claims = new Set<string>();

  constructor(private readonly etcd: EtcdClient, readonly attempt: number) {}

  async get<T>(key: string): Promise<T | undefined> {
    if (this.writes.has(key)) {
      const w = this.writes.get(key);
      return w === null || w === undefined ? undefined : (JSON.parse(w) as T);
    }
    const kv = await this.etcd.get(key);
    if (!this.reads.has(key)) this.reads.set(key, kv?.modRevision ?? 0);
    return kv ? kv.json<T>() : undefined;
  }

  async list<T>(prefix: string): Promise<{ key: string; value: T }[]> {
    const out: { key: string; value: T }[] = [];
    for await (const kv of this.etcd.iteratePrefix(prefix)) out.push({ key: kv.keyString, value: kv.json<T>() });
    return out;
  }

  put(key: string, value: unknown): void {
    this.writes.set(key, JSON.stringify(value));
  }

  delete(key: string): void {
    this.writes.set(key, null);
  }

  claim(key: string, value: unknown): void {
    this.claims.add(key);
    this.put(key, value);
  }

  compares(): Comparison[] {
    const out: Comparison[] = [];
    for (const [k, rev] of this.reads) out.push(Compare.modRevision(k, "=", rev));
    for (const k of this.claims) if (!this.reads.has(k)) out.push(Compare.createRevision(k, "=", 0));
    return out;
  }

  ops(): Operation[] {
    return [...this.writes].map(([k, v]) => (v === null ? Op.delete(k) : Op.put(k, v)));
  }
}

/** Options of an `EtcdDocStore`. */
export interface EtcdDocStoreOptions extends EtcdClientOptions {
  /** Transaction attempts before the conflict error (default 60). */
  maxAttempts?: number;
  /** The service's conflict error (`NOVANET:Conflict`...), given the attempts made. */
  conflict: (attempts: number) => PhotonError;
}

/** A document store in chainfire (or etcd). */
export class EtcdDocStore implements DocStore {
  readonly etcd: EtcdClient;
  private readonly maxAttempts: number;

  private readonly conflict: (attempts: number) => PhotonError;

  constructor(options: EtcdDocStoreOptions) {
    this.etcd = new EtcdClient(options);
    this.maxAttempts = options.maxAttempts ?? 60;
    this.conflict = options.conflict;
  }

  async transact<T>(fn: (tx: DocTx) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const tx = new EtcdStoreTx(this.etcd, attempt);
      const result = await fn(tx);
      if (tx.writes.size === 0) return result;
      const r = await this.etcd.txn().if(...tx.compares()).then(...tx.ops()).commit();
      if (r.succeeded) return result;
      if (attempt >= this.maxAttempts) throw this.conflict(attempt);
      await Bun.sleep(Math.random() * Math.min(50, 2 * attempt));
    }
  }

  async get<T>(key: string): Promise<T | undefined> {
    return (await this.etcd.get(key))?.json<T>();
  }

  async list<T>(prefix: string): Promise<{ key: string; value: T }[]> {
    const out: { key: string; value: T }[] = [];
    for await (const kv of this.etcd.iteratePrefix(prefix)) out.push({ key: kv.keyString, value: kv.json<T>() });
    return out;
  }

  async snapshot(prefix: string): Promise<{ revision: number; docs: Map<string, unknown> }> {
    const docs = new Map<string, unknown>();
    let revision = 0;
    for await (const page of this.etcd.pagesPrefix(prefix)) {
      revision = page.revision;
      for (const kv of page.kvs) docs.set(kv.keyString, kv.json());
    }
    if (revision === 0) revision = (await this.etcd.getPrefix(prefix, { limit: 1 })).revision;
    return { revision, docs };
  }

  watch(prefix: string, fromRevision: number, onChange: (c: DocChange) => void, onError: (e: unknown) => void): () => void {
    const w = this.etcd.watchPrefix(prefix, { startRevision: fromRevision });
    let stopped = false;
    (async () => {
      try {
        for await (const batch of w) if (batch.events.length) onChange({ revision: batch.revision });
      } catch (e) {
        if (!stopped) onError(e);
      }
    })();
    return () => {
      stopped = true;
      w.cancel();
    };
  }

  close(): void {
    this.etcd.close();
  }
}
