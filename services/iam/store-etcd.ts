/**
 * `EtcdIamStore`: iam's state in chainfire (or etcd) through lib/etcd, under `/photon/iam/`:
 *
 * | key | value |
 * |---|---|
 * | `model/<kind>/<id>` | one model entity (JSON) |
 * | `model-head` | touched by every model commit; its mod revision is what commits compare on |
 * | `<record kind>/<id>` | password hashes, refresh tokens, app credentials, access keys, lockouts, catalog, revocations |
 * | `signing-keys` | the token signing key ring, private parts sealed with the KEK |
 * | `audit/log/<seq, 16 digits>`, `audit/head` | the hash-chained audit log and its head |
 *
 * One watch on the prefix turns writes into `StoreEvent`s; audit and most record writes are not
 * replayed (replicas read them on demand).
 */
import { Compare, EtcdClient, Op, type KeyValue, type Operation, type Watch, type WatchEvent } from "../../lib/etcd/index.ts";
import type { EntityKind } from "./model/ids.ts";
import type { Entity, ModelChange } from "./model/types.ts";
import type { AuditHead, IamStore, LoadedModel, RecordKind, RecordWrite, SealedKeyRing, StoreEvent, AuditRecord, Versioned } from "./store.ts";

/** Where iam's keys live. */
export const IAM_PREFIX = "/photon/iam/";
const MODEL = `${IAM_PREFIX}model/`;
const MODEL_HEAD = `${IAM_PREFIX}model-head`;
const KEYS = `${IAM_PREFIX}signing-keys`;
const AUDIT_LOG = `${IAM_PREFIX}audit/log/`;
const AUDIT_HEAD = `${IAM_PREFIX}audit/head`;
const KINDS = new Set<EntityKind>(["org", "project", "user", "serviceaccount", "group", "role", "binding", "deny"]);

/** The hash the first audit record chains to. */
export const AUDIT_GENESIS = "0".repeat(64);

/** The key of audit record `seq` (tests tamper with it to prove `verify` notices). */
export function auditKey(seq: number): string {
  return `${AUDIT_LOG}${String(seq).padStart(16, "0")}`;
}

/** The key of a record. */
export function recordKey(kind: RecordKind, id: string): string {
  return `${IAM_PREFIX}${kind}/${id}`;
}

const modelKey = (kind: EntityKind, id: string) => `${MODEL}${kind}/${id}`;

function changeOp(c: ModelChange): Operation {
  return c.op === "put" ? Op.put(modelKey(c.entity.kind, c.entity.id), JSON.stringify(c.entity)) : Op.delete(modelKey(c.kind, c.id));
}

function recordOp(w: RecordWrite): Operation {
  return w.op === "put" ? Op.put(recordKey(w.kind, w.id), JSON.stringify(w.value)) : Op.delete(recordKey(w.kind, w.id));
}

/** Options of EtcdIamStore. */
export interface EtcdIamStoreOptions {
  /** The client (shared with the rest of the process); `close` leaves it open when given. */
  client?: EtcdClient;
  /** Endpoints to connect to when no client is given. */
  endpoints?: string[];
}

/** iam's store on etcd v3. */
export class EtcdIamStore implements IamStore {
  private readonly etcd: EtcdClient;
  private readonly ownsClient: boolean;

  constructor(options: EtcdIamStoreOptions) {
    if (options.client) {
      this.etcd = options.client;
      this.ownsClient = false;
    } else {
      this.etcd = new EtcdClient({ endpoints: options.endpoints ?? [], timeoutMs: 5_000 });
      this.ownsClient = true;
    }
  }

  async loadModel(): Promise<LoadedModel> {
    // The head first: its read fixes the revision every model page is then read at.
    const head = await this.etcd.getPrefix(MODEL_HEAD, { limit: 1 });
    const revision = head.revision;
    const changes: ModelChange[] = [];
    for await (const page of this.etcd.pagesPrefix(MODEL, { pageSize: 1000, revision })) {
      for (const kv of page.kvs) changes.push({ op: "put", entity: kv.json<Entity>() });
    }
    return { changes, revision, head: head.kvs.find((kv) => kv.keyString === MODEL_HEAD)?.modRevision ?? 0 };
  }

  async commitModel(changes: readonly ModelChange[], expectedHead: number, records: readonly RecordWrite[] = []): Promise<number | undefined> {
    const r = await this.etcd
      .txn()
      .if(Compare.modRevision(MODEL_HEAD, "=", expectedHead))
      .then(...changes.map(changeOp), ...records.map(recordOp), Op.put(MODEL_HEAD, String(Date.now())))
      .commit();
    return r.succeeded ? r.revision : undefined;
  }

  async getRecord<T>(kind: RecordKind, id: string): Promise<Versioned<T> | undefined> {
    const kv = await this.etcd.get(recordKey(kind, id));
    return kv ? { value: kv.json<T>(), modRevision: kv.modRevision } : undefined;
  }

  async listRecords<T>(kind: RecordKind, idPrefix = ""): Promise<Versioned<T>[]> {
    const out: Versioned<T>[] = [];
    for await (const kv of this.etcd.iteratePrefix(recordKey(kind, idPrefix), { pageSize: 1000 })) out.push({ value: kv.json<T>(), modRevision: kv.modRevision });
    return out;
  }

  putRecord(kind: RecordKind, id: string, value: unknown, expected?: number): Promise<boolean> {
    return this.putRecords([{ op: "put", kind, id, value, ...(expected === undefined ? {} : { expected }) }]);
  }

  async putRecords(writes: readonly (RecordWrite & { expected?: number })[]): Promise<boolean> {
    const compares = writes.filter((w) => w.expected !== undefined).map((w) => Compare.modRevision(recordKey(w.kind, w.id), "=", w.expected!));
    const r = await this.etcd.txn().if(...compares).then(...writes.map(recordOp)).commit();
    return r.succeeded;
  }

  async deleteRecord(kind: RecordKind, id: string): Promise<void> {
    await this.etcd.delete(recordKey(kind, id));
  }

  async getKeyRing(): Promise<Versioned<SealedKeyRing> | undefined> {
    const kv = await this.etcd.get(KEYS);
    return kv ? { value: kv.json<SealedKeyRing>(), modRevision: kv.modRevision } : undefined;
  }

  putKeyRing(ring: SealedKeyRing, expected: number): Promise<boolean> {
    return this.etcd.compareAndSwap(KEYS, expected, JSON.stringify(ring));
  }

  async auditHead(): Promise<Versioned<AuditHead>> {
    const kv = await this.etcd.get(AUDIT_HEAD);
    return kv ? { value: kv.json<AuditHead>(), modRevision: kv.modRevision } : { value: { seq: 0, hash: AUDIT_GENESIS }, modRevision: 0 };
  }

  async appendAudit(record: AuditRecord, expectedHeadRevision: number): Promise<boolean> {
    const head: AuditHead = { seq: record.seq, hash: record.hash };
    const r = await this.etcd
      .txn()
      .if(Compare.modRevision(AUDIT_HEAD, "=", expectedHeadRevision), Compare.version(auditKey(record.seq), "=", 0))
      .then(Op.put(auditKey(record.seq), JSON.stringify(record)), Op.put(AUDIT_HEAD, JSON.stringify(head)))
      .commit();
    return r.succeeded;
  }

  async *iterateAudit(): AsyncIterable<AuditRecord> {
    for await (const kv of this.etcd.iteratePrefix(AUDIT_LOG, { pageSize: 1000 })) yield kv.json<AuditRecord>();
  }

  watch(fromRevision: number, listener: (events: StoreEvent[]) => void, onError: (e: unknown) => void): () => void {
    const w: Watch = this.etcd.watchPrefix(IAM_PREFIX, { startRevision: fromRevision + 1 });
    let stopped = false;
    void (async () => {
      try {
        for await (const batch of w) {
          const events = toStoreEvents(batch.events);
          if (events.length > 0) listener(events);
        }
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
    if (this.ownsClient) this.etcd.close();
  }
}

function parseJson<T>(kv: KeyValue): T | undefined {
  try {
    return kv.json<T>();
  } catch {
    return undefined; // a foreign or corrupt value: ignore rather than stop the watch
  }
}

/** Turns a watch batch into store events; model changes of one revision stay together. */
function toStoreEvents(events: WatchEvent[]): StoreEvent[] {
  const out: StoreEvent[] = [];
  let model: Extract<StoreEvent, { type: "model" }> | undefined;
  for (const e of events) {
    const key = e.kv.keyString;
    if (key.startsWith(MODEL)) {
      const [kind, id] = key.slice(MODEL.length).split("/") as [EntityKind, string];
      if (!KINDS.has(kind) || !id) continue;
      const rev = e.kv.modRevision;
      if (!model || model.revision !== rev) {
        model = { type: "model", changes: [], revision: rev, head: 0 };
        out.push(model);
      }
      if (e.type === "put") {
        const entity = parseJson<Entity>(e.kv);
        if (entity) model.changes.push({ op: "put", entity });
      } else model.changes.push({ op: "delete", kind, id });
    } else if (key === MODEL_HEAD && e.type === "put") {
      const rev = e.kv.modRevision;
      if (model && model.revision === rev) model.head = rev;
      else out.push((model = { type: "model", changes: [], revision: rev, head: rev }));
    } else if (key.startsWith(`${IAM_PREFIX}revoked/`)) {
      const id = key.slice(`${IAM_PREFIX}revoked/`.length);
      if (e.type === "delete") out.push({ type: "unrevoked", id });
      else {
        const v = parseJson<{ until: number }>(e.kv);
        if (v && typeof v.until === "number") out.push({ type: "revoked", id, until: v.until });
      }
    } else if (key === KEYS && e.type === "put") {
      const value = parseJson<SealedKeyRing>(e.kv);
      if (value) out.push({ type: "keys", record: { value, modRevision: e.kv.modRevision } });
    }
  }
  return out;
}
