/**
 * The audit log: append-only and hash-chained. Each record carries who (principal), what
 * (action, resource), where (scope), the result and its reason, when, the caller's source
 * address, and the previous record's hash; its own hash is SHA-256 over all of that in a
 * canonical form. The head (last sequence number and hash) is stored apart and moved in the same
 * transaction as each append, compared on its revision, so replicas appending concurrently
 * serialise into one chain. `verify` recomputes the chain: a modified record breaks its hash, a
 * removed one leaves a gap in the sequence (or, for the last, a head that points past the end).
 */
import { createHash } from "node:crypto";
import type { Logger } from "../../lib/log.ts";
import { IamErrors } from "./errors.ts";
import { AUDIT_GENESIS } from "./store-etcd.ts";
import type { AuditEntry, AuditHead, AuditRecord, IamStore, Versioned } from "./store.ts";

export type { AuditEntry, AuditRecord } from "./store.ts";

/** A query: every field narrows. */
export interface AuditQuery {
  /** ISO 8601 or epoch ms, inclusive. */
  from?: string | number;
  /** ISO 8601 or epoch ms, exclusive. */
  to?: string | number;
  principal?: string;
  /** Only records whose scope is in this organisation. */
  org?: string;
  /** At most this many (the newest are kept). Default 1000. */
  limit?: number;
}

/** The outcome of `verify`. */
export interface AuditVerification {
  ok: boolean;
  /** Records checked. */
  records: number;
  /** Each broken link, by sequence number. */
  problems: { seq: number; problem: string }[];
}

const FIELDS = ["seq", "time", "principal", "action", "scope", "resource", "result", "reason", "source", "prev"] as const;

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(",")}}`;
  }
  return JSON.stringify(v);
}

/** The hash of a record (over every field but `hash`). */
export function auditHash(r: Omit<AuditRecord, "hash">): string {
  const body: Record<string, unknown> = {};
  for (const f of FIELDS) body[f] = r[f];
  return createHash("sha256").update(canonical(body)).digest("hex");
}

const toMs = (v: string | number) => (typeof v === "number" ? v : Date.parse(v));

/** The audit log of one replica (appends are serialised within the process, and across replicas by the store). */
export class AuditLog {
  private head: Versioned<AuditHead> | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly store: IamStore, private readonly logger: Logger) {}

  /**
   * Appends an entry; resolves with the record once it is stored.
   * @throws what the store throws, after retrying conflicts with other replicas.
   */
  append(entry: AuditEntry): Promise<AuditRecord> {
    const next = this.queue.then(() => this.appendNow(entry));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async appendNow(entry: AuditEntry): Promise<AuditRecord> {
    for (let attempt = 0; attempt < 50; attempt++) {
      this.head ??= await this.store.auditHead();
      const base: Omit<AuditRecord, "hash"> = { ...clean(entry), seq: this.head.value.seq + 1, time: new Date().toISOString(), prev: this.head.value.hash };
      const record: AuditRecord = { ...base, hash: auditHash(base) };
      if (await this.store.appendAudit(record, this.head.modRevision)) {
        this.head = undefined; // re-read next time: the head's new revision is the txn's, cheaper to fetch than to guess
        return record;
      }
      this.head = undefined; // another replica appended: re-read the head and chain after it
    }
    this.logger.error("audit append kept conflicting", { action: entry.action });
    throw IamErrors.Conflict("audit log: too many concurrent appends; retry");
  }

  /** Records matching `q`, oldest first. */
  async query(q: AuditQuery = {}): Promise<AuditRecord[]> {
    const from = q.from === undefined ? -Infinity : toMs(q.from);
    const to = q.to === undefined ? Infinity : toMs(q.to);
    const limit = q.limit ?? 1000;
    const out: AuditRecord[] = [];
    for await (const rec of this.store.iterateAudit()) {
      const t = Date.parse(rec.time);
      if (t < from || t >= to) continue;
      if (q.principal !== undefined && rec.principal !== q.principal) continue;
      if (q.org !== undefined && rec.scope?.org !== q.org) continue;
      out.push(rec);
      if (out.length > limit) out.shift();
    }
    return out;
  }

  /** Recomputes the whole chain and compares it with the head. */
  async verify(): Promise<AuditVerification> {
    const problems: { seq: number; problem: string }[] = [];
    let expected = 1;
    let prev = AUDIT_GENESIS;
    let records = 0;
    for await (const r of this.store.iterateAudit()) {
      records++;
      if (r.seq !== expected) problems.push({ seq: expected, problem: r.seq > expected ? `records ${expected}..${r.seq - 1} are missing` : `record ${r.seq} is out of order` });
      if (r.prev !== prev) problems.push({ seq: r.seq, problem: "does not chain to the previous record's hash" });
      if (auditHash(r) !== r.hash) problems.push({ seq: r.seq, problem: "was modified (its hash does not match its content)" });
      prev = r.hash;
      expected = r.seq + 1;
    }
    const head = await this.store.auditHead();
    if (head.value.seq !== expected - 1 || head.value.hash !== prev) {
      problems.push({ seq: head.value.seq, problem: `the head names record ${head.value.seq} but the log ends at ${expected - 1} (records removed from the end?)` });
    }
    return { ok: problems.length === 0, records, problems };
  }
}

function clean(e: AuditEntry): AuditEntry {
  const out: AuditEntry = { principal: e.principal, action: e.action, result: e.result };
  if (e.scope && (e.scope.org !== undefined || e.scope.project !== undefined)) {
    out.scope = {};
    if (e.scope.org !== undefined) out.scope.org = e.scope.org;
    if (e.scope.project !== undefined) out.scope.project = e.scope.project;
  }
  if (e.resource !== undefined) out.resource = e.resource;
  if (e.reason !== undefined) out.reason = e.reason;
  if (e.source !== undefined) out.source = e.source;
  return out;
}
