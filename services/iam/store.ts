/**
 * The interface of iam's state. The model (organisations, projects, principals, groups, roles,
 * bindings, denies) is written as the `ModelChange`s `IamModel` records, in one transaction per
 * request that also compares the model's head revision: two replicas planning against the same
 * state cannot both commit, so no update is ever lost and every planner saw the latest model.
 * Credentials and other records (password hashes, refresh tokens, application credentials,
 * access keys, lockouts, catalog entries) are single keys written with compare-and-swap. Every
 * replica follows the store through `watch`, which feeds its `Authorizer`, its revocation list
 * and its signing keys within a second of a write anywhere.
 *
 * Implementations: `store-etcd.ts` (chainfire, or any etcd v3 cluster).
 */
import type { ModelChange } from "./model/types.ts";

/** Record kinds kept beside the model, one key per record. */
export type RecordKind = "password" | "refresh" | "appcred" | "accesskey" | "lockout" | "catalog" | "revoked" | "meta";

/** A record as read, with the revision to compare on when changing it. */
export interface Versioned<T> {
  value: T;
  /** The record's mod revision (0: absent). */
  modRevision: number;
}

/** A record write riding along a model commit (so a user and its password hash appear together). */
export type RecordWrite = { op: "put"; kind: RecordKind; id: string; value: unknown } | { op: "delete"; kind: RecordKind; id: string };

/** What `load` reads, at one revision. */
export interface LoadedModel {
  /** Every model entity, as puts. */
  changes: ModelChange[];
  /** The revision read at: the model includes every change up to it. */
  revision: number;
  /** The model head's mod revision (compare on it to commit). */
  head: number;
}

/** What a replica learns from the watch. */
export type StoreEvent =
  /** Model changes another writer committed (or this one: skip those at or below your applied revision). */
  | { type: "model"; changes: ModelChange[]; revision: number; head: number }
  | { type: "revoked"; id: string; until: number }
  | { type: "unrevoked"; id: string }
  | { type: "keys"; record: Versioned<SealedKeyRing> };

/** The signing key ring as stored: private parts sealed with the KEK, rotation state in clear. */
export interface SealedKeyRing {
  /** `SecretCipher.seal(JSON(ExportedKeyRing), "iam-signing-keys")`. */
  sealed: string;
  /** When the current key became current (epoch ms). */
  rotatedAt: number;
}

/** What a caller records in the audit log (see audit.ts). */
export interface AuditEntry {
  /** Principal id, or what was presented (`user:acme/alice`) when authentication failed; `-` when anonymous. */
  principal: string;
  /** `iam:project:create`, `iam:token:create` (login)... */
  action: string;
  /** Where it happened. */
  scope?: { org?: string; project?: string };
  /** The resource acted on (id), if any. */
  resource?: string;
  result: "allowed" | "denied" | "success" | "failure";
  /** The decision's reason or the error code. */
  reason?: string;
  /** The caller's address. */
  source?: string;
}

/** One record of the audit log as stored. */
export interface AuditRecord extends AuditEntry {
  seq: number;
  /** ISO 8601. */
  time: string;
  /** The previous record's hash (the genesis hash for the first). */
  prev: string;
  /** SHA-256 over every other field, canonical JSON. */
  hash: string;
}

/** The audit log's head: the last record's sequence number and hash. */
export interface AuditHead {
  seq: number;
  hash: string;
}

/** iam's state. Every method rejects with `ETCD:*` (or the backend's) errors when the store fails. */
export interface IamStore {
  /** The whole model at one revision. */
  loadModel(): Promise<LoadedModel>;
  /**
   * Writes model changes (and records) atomically if the model head is still `expectedHead`.
   * @returns the new head revision, or undefined when another writer moved the head (reload, retry).
   */
  commitModel(changes: readonly ModelChange[], expectedHead: number, records?: readonly RecordWrite[]): Promise<number | undefined>;

  /** One record, or undefined. */
  getRecord<T>(kind: RecordKind, id: string): Promise<Versioned<T> | undefined>;
  /** Every record of a kind (ids starting with `idPrefix`, if given). */
  listRecords<T>(kind: RecordKind, idPrefix?: string): Promise<Versioned<T>[]>;
  /** Writes a record if its mod revision is still `expected` (0: only if absent); undefined: unconditionally. Returns whether it wrote. */
  putRecord(kind: RecordKind, id: string, value: unknown, expected?: number): Promise<boolean>;
  /** Writes several records atomically, each compared on its expected mod revision. Returns whether it wrote. */
  putRecords(writes: readonly (RecordWrite & { expected?: number })[]): Promise<boolean>;
  /** Deletes a record (no-op when absent). */
  deleteRecord(kind: RecordKind, id: string): Promise<void>;

  /** The sealed signing key ring, or undefined before the first start. */
  getKeyRing(): Promise<Versioned<SealedKeyRing> | undefined>;
  /** Replaces the ring if its mod revision is still `expected` (0: only if absent). */
  putKeyRing(ring: SealedKeyRing, expected: number): Promise<boolean>;

  /** The audit log's head (seq 0 and the genesis hash when empty), with its mod revision. */
  auditHead(): Promise<Versioned<AuditHead>>;
  /** Appends `record` and moves the head if it is still at `expectedHeadRevision`. Returns whether it wrote. */
  appendAudit(record: AuditRecord, expectedHeadRevision: number): Promise<boolean>;
  /** Every audit record in sequence order (read page by page). */
  iterateAudit(): AsyncIterable<AuditRecord>;

  /** Delivers changes after `fromRevision` to `listener` until the returned function is called. */
  watch(fromRevision: number, listener: (events: StoreEvent[]) => void, onError: (e: unknown) => void): () => void;
  /** Releases connections. */
  close(): void;
}
