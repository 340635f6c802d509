/**
 * `EtcdClient`: the one etcd v3 client of PhotonCloud (see index.ts for the design).
 */
import { toBytes, type Bytes } from "./bytes.ts";
import { memberList, status, type Member, type MemberStatus } from "./cluster.ts";
import { Connection, type CallControl, type ConnectionOptions } from "./connection.ts";
import { EtcdErrors } from "./errors.ts";
import type { KeyValue, ResponseHeader } from "./key-value.ts";
import { compareAndDelete, compareAndSwap, create, updateWithRetry, type ConditionalPutOptions, type UpdateDecision, type UpdateOptions, type UpdateResult } from "./kv-helpers.ts";
import { items, pages, type IterateOptions, type RangePage } from "./kv-iterate.ts";
import { between, prefixRange, single, type DeleteOptions, type DeleteResult, type PutOptions, type PutResult, type RangeOptions, type RangeResult } from "./kv-ops.ts";
import { compact, deleteRange, getOne, put, range, type CompactOptions } from "./kv.ts";
import { grant, leases, revoke, timeToLive, type LeaseGrant, type LeaseGrantOptions, type LeaseStatus, type TimeToLiveOptions } from "./lease.ts";
import { KeepAlive, type KeepAliveOptions } from "./lease-keep-alive.ts";
import { Txn } from "./txn.ts";
import { Watch, type WatchOptions } from "./watch.ts";
import { WatchStream } from "./watch-stream.ts";

/** Options of an EtcdClient. */
export interface EtcdClientOptions extends ConnectionOptions {
  /**
   * Client URLs of the cluster's members: `http://host:port`, `https://host:port` or
   * `host:port`. Calls go to the first one until it fails, then to the next.
   */
  endpoints: string[];
}

/** Options of a single-key read. */
export type GetOptions = Pick<RangeOptions, "revision" | "serializable" | "keysOnly"> & CallControl;

/**
 * A client of an etcd v3 cluster (chainfire or etcd itself). Safe to share: one per process is
 * the norm. All methods reject with `ETCD:*` PhotonErrors (see errors.ts).
 * @example
 * const etcd = new EtcdClient({ endpoints: ["http://127.0.0.1:2379"] });
 * await etcd.put("/photon/iam/users/ann", JSON.stringify({ name: "ann" }));
 * const kv = await etcd.get("/photon/iam/users/ann"); // kv?.json()
 * for await (const batch of etcd.watch("/photon/iam/", { prefix: true })) { ... }
 * etcd.close();
 */
export class EtcdClient {
  private readonly conn: Connection;
  private readonly watchStream: WatchStream;
  private readonly keepAlives = new Set<KeepAlive>();

  /** Connects lazily: nothing is dialled before the first call. Throws on bad options. */
  constructor(options: EtcdClientOptions) {
    this.conn = new Connection(options.endpoints, options);
    this.watchStream = new WatchStream(this.conn);
  }

  /** The endpoints, as given. */
  get endpoints(): readonly string[] {
    return this.conn.endpoints;
  }

  /** The endpoint calls go to now. */
  get activeEndpoint(): string {
    return this.conn.activeEndpoint;
  }

  // ---- KV reads ---------------------------------------------------------------------------

  /** One key, or undefined when absent. */
  get(key: Bytes, options: GetOptions = {}): Promise<KeyValue | undefined> {
    return getOne(this.conn, single(key), options);
  }

  /** The keys in `[key, end)` (`end` = "\0": every key ≥ key). */
  getRange(key: Bytes, end: Bytes, options: RangeOptions & CallControl = {}): Promise<RangeResult> {
    return range(this.conn, between(key, end), options);
  }

  /** The keys starting with `prefix` (every key for ""). Mind `limit` on large prefixes. */
  getPrefix(prefix: Bytes, options: RangeOptions & CallControl = {}): Promise<RangeResult> {
    return range(this.conn, prefixRange(prefix), options);
  }

  /**
   * Every key starting with `prefix`, in key order, fetched `pageSize` at a time at one
   * revision (a consistent snapshot); only one page is held in memory. Throws `ETCD:Compacted`
   * if that revision is compacted before the end.
   * @example
   * for await (const kv of etcd.iteratePrefix("/photon/novanet/ports/")) handle(kv);
   */
  iteratePrefix(prefix: Bytes, options: IterateOptions = {}): AsyncGenerator<KeyValue, void, undefined> {
    return items(this.conn, prefixRange(prefix), options);
  }

  /** Like `iteratePrefix`, over `[key, end)`. */
  iterateRange(key: Bytes, end: Bytes, options: IterateOptions = {}): AsyncGenerator<KeyValue, void, undefined> {
    return items(this.conn, between(key, end), options);
  }

  /** The pages of `iteratePrefix`, with the revision they are read at. */
  pagesPrefix(prefix: Bytes, options: IterateOptions = {}): AsyncGenerator<RangePage, void, undefined> {
    return pages(this.conn, prefixRange(prefix), options);
  }

  // ---- KV writes --------------------------------------------------------------------------

  /** Writes a key. Not retried on another endpoint unless the request provably never left. */
  put(key: Bytes, value: Bytes, options: PutOptions & CallControl = {}): Promise<PutResult> {
    return put(this.conn, key, value, options);
  }

  /** Deletes one key (`deleted` 0 when it was absent). */
  delete(key: Bytes, options: DeleteOptions & CallControl = {}): Promise<DeleteResult> {
    return deleteRange(this.conn, single(key), options);
  }

  /** Deletes every key starting with `prefix`; refuses the empty prefix (that would be everything). */
  deletePrefix(prefix: Bytes, options: DeleteOptions & CallControl = {}): Promise<DeleteResult> {
    if (toBytes(prefix).length === 0) return Promise.reject(EtcdErrors.InvalidArgument("refusing to delete every key: the prefix is empty"));
    return deleteRange(this.conn, prefixRange(prefix), options);
  }

  /** Deletes `[key, end)`. */
  deleteRange(key: Bytes, end: Bytes, options: DeleteOptions & CallControl = {}): Promise<DeleteResult> {
    return deleteRange(this.conn, between(key, end), options);
  }

  /** A transaction builder (see txn.ts): `etcd.txn().if(...).then(...).else(...).commit()`. */
  txn(): Txn {
    return new Txn(this.conn);
  }

  /** Writes `key` only if absent: true if written, false if it already existed. */
  create(key: Bytes, value: Bytes, options: ConditionalPutOptions = {}): Promise<boolean> {
    return create(this.conn, key, value, options);
  }

  /**
   * Writes `key` only if its mod revision is still `expectedModRevision` (0 = only if absent):
   * true if written, false if the key changed (or appeared, or vanished) meanwhile.
   */
  compareAndSwap(key: Bytes, expectedModRevision: number, value: Bytes, options: ConditionalPutOptions = {}): Promise<boolean> {
    return compareAndSwap(this.conn, key, expectedModRevision, value, options);
  }

  /** Deletes `key` only if its mod revision is still `expectedModRevision`: true if deleted. */
  compareAndDelete(key: Bytes, expectedModRevision: number, options: CallControl = {}): Promise<boolean> {
    return compareAndDelete(this.conn, key, expectedModRevision, options);
  }

  /**
   * Optimistic read-modify-write of one key (see kv-helpers.ts): `fn` gets the current value
   * and returns the new one (`null` deletes, `undefined` leaves it); retried on conflicts,
   * `ETCD:Conflict` after `maxAttempts`.
   */
  updateWithRetry(key: Bytes, fn: (current: KeyValue | undefined) => UpdateDecision | Promise<UpdateDecision>, options: UpdateOptions = {}): Promise<UpdateResult> {
    return updateWithRetry(this.conn, key, fn, options);
  }

  /** Discards history before `revision` (see kv.ts). */
  compact(revision: number, options: CompactOptions = {}): Promise<{ header: ResponseHeader }> {
    return compact(this.conn, revision, options);
  }

  // ---- Leases -----------------------------------------------------------------------------

  /** Grants a lease of `ttlSeconds` (the server may raise it to its minimum). */
  grant(ttlSeconds: number, options: LeaseGrantOptions = {}): Promise<LeaseGrant> {
    return grant(this.conn, ttlSeconds, options);
  }

  /** Revokes a lease and deletes its keys; `ETCD:LeaseNotFound` when it does not exist. */
  revoke(id: bigint, options: CallControl = {}): Promise<{ header: ResponseHeader }> {
    return revoke(this.conn, id, options);
  }

  /** A lease's remaining TTL (and keys with `keys: true`), undefined when it does not exist. */
  timeToLive(id: bigint, options: TimeToLiveOptions = {}): Promise<LeaseStatus | undefined> {
    return timeToLive(this.conn, id, options);
  }

  /** Every live lease's id. */
  leases(options: CallControl = {}): Promise<bigint[]> {
    return leases(this.conn, options);
  }

  /**
   * Keeps lease `id` alive until `stop()` or until it is lost (see lease-keep-alive.ts).
   * Resolves after the first renewal; rejects with `ETCD:LeaseNotFound` for a lease that does
   * not exist.
   * @example
   * const { id } = await etcd.grant(10);
   * const ka = await etcd.keepAlive(id, { onLost: (e) => stepDown(e) });
   * await etcd.put("/photon/k8shost/nodes/n1", "up", { lease: id });
   */
  async keepAlive(id: bigint, options: KeepAliveOptions = {}): Promise<KeepAlive> {
    if (this.conn.isClosed) throw EtcdErrors.Closed("the etcd client is closed");
    const ka = new KeepAlive(this.conn, id, options, (k) => this.keepAlives.delete(k));
    this.keepAlives.add(ka);
    await ka.start();
    return ka;
  }

  // ---- Watch ------------------------------------------------------------------------------

  /**
   * Watches one key (or a prefix with `prefix: true`, or `[key, end)` with `end`). All watches
   * of a client share one stream; see watch.ts for the delivery guarantees and errors.
   * @example
   * const w = etcd.watch("/photon/fiberlb/", { prefix: true, startRevision: list.revision + 1 });
   * for await (const { events } of w) for (const e of events) apply(e);
   */
  watch(key: Bytes, options: WatchOptions = {}): Watch {
    if (options.prefix && options.end !== undefined) throw EtcdErrors.InvalidArgument("watch: give either prefix or end, not both");
    const r = options.prefix ? prefixRange(key) : options.end !== undefined ? between(key, options.end) : single(key);
    const start = options.startRevision ?? 0;
    if (!Number.isSafeInteger(start) || start < 0) throw EtcdErrors.InvalidArgument(`startRevision must be a non-negative integer, got ${start}`);
    const filters = options.filters ?? [];
    const request = {
      key: r.key,
      rangeEnd: r.end,
      prevKv: !!options.prevKv,
      progressNotify: !!options.progressNotify,
      filters: [...(filters.includes("noPut") ? [0] : []), ...(filters.includes("noDelete") ? [1] : [])],
    };
    const w = new Watch(this.watchStream, request, start);
    this.watchStream.add(w);
    return w;
  }

  /** `watch(prefix, { ...options, prefix: true })`. */
  watchPrefix(prefix: Bytes, options: Omit<WatchOptions, "prefix" | "end"> = {}): Watch {
    return this.watch(prefix, { ...options, prefix: true });
  }

  /**
   * Asks for a progress notification on every watch of this client: each gets a batch with
   * `progress: true` and the server's current revision once it has seen everything before it.
   */
  requestWatchProgress(): void {
    this.watchStream.requestProgress();
  }

  // ---- Cluster / Maintenance --------------------------------------------------------------

  /** The members of the cluster. */
  memberList(options: CallControl = {}): Promise<{ header: ResponseHeader; members: Member[] }> {
    return memberList(this.conn, options);
  }

  /** The status of the member at `endpoint` (one of the client's), or of the active one. */
  status(endpoint?: string, options: CallControl = {}): Promise<MemberStatus> {
    return status(this.conn, endpoint, options);
  }

  /** Stops keep-alives, ends watches with `ETCD:Closed`, closes connections. Idempotent. */
  close(): void {
    for (const ka of [...this.keepAlives]) ka.stop();
    this.watchStream.close();
    this.conn.close();
  }
}
