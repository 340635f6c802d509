/**
 * `DocStore`: a service's state as JSON documents under one key prefix, changed only through
 * optimistic transactions. A transaction records the revision of every document it reads with
 * `get` and of every key it `claim`s; at commit all of them must be unchanged (a claimed key
 * still absent), or the whole transaction runs again on fresh reads. Nothing is ever
 * half-written: every write of a transaction lands at one revision or none does. Unique things
 * (an IP, a name, a quota slot) are claims, so two writers never both get one.
 * The implementation on chainfire (or etcd) is etcd-doc-store.ts.
 */

/** One optimistic transaction (see the file comment). */
export interface DocTx {
  /** 1 on the first run, then 2, 3... on retries after conflicts. */
  readonly attempt: number;
  /** A document, recorded: the commit fails if it changed (or appeared) since. */
  get<T>(key: string): Promise<T | undefined>;
  /** Every document under `prefix` with its key, NOT recorded (use claims or parent docs for safety). */
  list<T>(prefix: string): Promise<{ key: string; value: T }[]>;
  /** Writes `key` at commit. */
  put(key: string, value: unknown): void;
  /** Deletes `key` at commit. */
  delete(key: string): void;
  /** Writes `key` at commit only if it is still absent then (else the transaction retries). */
  claim(key: string, value: unknown): void;
}

/** A change seen by a watch: the store's revision after it. */
export interface DocChange {
  revision: number;
}

/** A document store (see the file comment). */
export interface DocStore {
  /**
   * Runs `fn` in a transaction and commits its writes; on a conflict runs it again (fresh
   * reads), up to a bound. Errors thrown by `fn` abort without writing.
   * @throws the store's conflict error when conflicts persist.
   */
  transact<T>(fn: (tx: DocTx) => Promise<T>): Promise<T>;
  /** One document (a linearizable read). */
  get<T>(key: string): Promise<T | undefined>;
  /** Every document under `prefix`. */
  list<T>(prefix: string): Promise<{ key: string; value: T }[]>;
  /** Every document under `prefix` at one revision (for agents building a whole view). */
  snapshot(prefix: string): Promise<{ revision: number; docs: Map<string, unknown> }>;
  /**
   * Calls `onChange` after every change under `prefix` after `fromRevision`, until the returned
   * function is called; `onError` when the watch ends on an error it cannot repair.
   */
  watch(prefix: string, fromRevision: number, onChange: (c: DocChange) => void, onError: (e: unknown) => void): () => void;
  close(): void;
}
