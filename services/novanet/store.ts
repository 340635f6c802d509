/**
 * The interface of novanet's state: JSON documents under `/photon/novanet/`, changed only through
 * optimistic transactions. A transaction records the revision of every document it reads with
 * `get` and of every key it `claim`s; at commit all of them must be unchanged (a claimed key
 * still absent), or the whole transaction runs again on fresh reads. Nothing is ever
 * half-written: every write of a transaction lands at one revision or none does.
 *
 * Key layout (docs/adr/0011-novanet-control-plane.md):
 * - `/photon/novanet/<kind>/<id>`: vpcs, subnets, ports, secgroups, routers, fips;
 * - `/photon/novanet/quotas/<project>`: a project's limits when not the defaults;
 * - claims (created compared-absent, so two writers never both get one):
 *   `ipam/<subnet>/<ip>`, `extip/<ip>`, `vni/<vni>`, `slots/<project>/<kind>/<n>`;
 * - `/photon/novanet/hosts/<name>`: agents' underlay addresses.
 */

/** The common prefix of every key. */
export const NOVANET_PREFIX = "/photon/novanet/";

/** Key builders. */
export const keys = {
  doc: (kind: string, id: string) => `${NOVANET_PREFIX}${kind}/${id}`,
  kind: (kind: string) => `${NOVANET_PREFIX}${kind}/`,
  quota: (project: string) => `${NOVANET_PREFIX}quotas/${project}`,
  ip: (subnet: string, ip: string) => `${NOVANET_PREFIX}ipam/${subnet}/${ip}`,
  ips: (subnet: string) => `${NOVANET_PREFIX}ipam/${subnet}/`,
  extIp: (ip: string) => `${NOVANET_PREFIX}extip/${ip}`,
  extIps: () => `${NOVANET_PREFIX}extip/`,
  vni: (vni: number) => `${NOVANET_PREFIX}vni/${vni}`,
  vnis: () => `${NOVANET_PREFIX}vni/`,
  slot: (project: string, kind: string, n: number) => `${NOVANET_PREFIX}slots/${project}/${kind}/${n}`,
  slots: (project: string, kind: string) => `${NOVANET_PREFIX}slots/${project}/${kind}/`,
  host: (name: string) => `${NOVANET_PREFIX}hosts/${name}`,
};

/** One optimistic transaction (see the file comment). */
export interface StoreTx {
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
export interface StoreChange {
  revision: number;
}

/** novanet's state. */
export interface NovanetStore {
  /**
   * Runs `fn` in a transaction and commits its writes; on a conflict runs it again (fresh
   * reads), up to a bound. Errors thrown by `fn` abort without writing.
   * @throws NOVANET:Conflict when conflicts persist.
   */
  transact<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T>;
  /** One document (a linearizable read). */
  get<T>(key: string): Promise<T | undefined>;
  /** Every document under `prefix`. */
  list<T>(prefix: string): Promise<{ key: string; value: T }[]>;
  /** Every document under `prefix` at one revision (for the agent). */
  snapshot(prefix: string): Promise<{ revision: number; docs: Map<string, unknown> }>;
  /**
   * Calls `onChange` after every change under `prefix` after `fromRevision`, until the returned
   * function is called; `onError` when the watch ends on an error it cannot repair.
   */
  watch(prefix: string, fromRevision: number, onChange: (c: StoreChange) => void, onError: (e: unknown) => void): () => void;
  close(): void;
}
