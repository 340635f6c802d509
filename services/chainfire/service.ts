/**
 * chainfire's domain logic, with no transport in it: the etcd v3 KV, Lease, Watch, Cluster and
 * Maintenance semantics on top of the command log, the state machine and the watch hub. The gRPC
 * handlers in api/ only convert messages.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "../../lib/log.ts";
import { StateMachine } from "./apply/state-machine.ts";
import { checkDeleteRange, checkKey, checkPut, checkTxn } from "./apply/validate.ts";
import { etcdError } from "./errors.ts";
import { Lessor } from "./lease/lessor.ts";
import type { CommandLog } from "./log/command-log.ts";
import { LocalLog } from "./log/local-log.ts";
import { RocksMvccStore, type MvccStoreOptions } from "./mvcc/rocks-mvcc-store.ts";
import type {
  Command,
  DeleteRangeRequest,
  DeleteRangeResult,
  PutRequest,
  PutResult,
  RangeRequest,
  RangeResult,
  ResponseHeader,
  TxnRequest,
  TxnResult,
} from "./types.ts";
import { WatchHub } from "./watch/watch-hub.ts";

/** The etcd version chainfire reports (its API level: etcd v3.4). */
export const ETCD_API_VERSION = "3.4.23";

/** One member of the cluster. */
export interface Member {
  id: number;
  name: string;
  peerUrls: string[];
  clientUrls: string[];
  isLearner: boolean;
}

/** Options of ChainfireService.open. */
export interface ChainfireOptions {
  dataDir: string;
  name: string;
  /** Client URLs advertised in member lists (filled in once the server listens). */
  clientUrls?: string[];
  peerUrls?: string[];
  /** NOSPACE alarm threshold (default 2 GiB, like etcd). */
  quotaBytes?: number;
  /**
   * Values gathered per unsorted Range response before it stops with `more` (default 8 MiB, under
   * the gRPC layer's 16 MiB message limit): a huge range is paged, never buffered whole.
   */
  maxResponseBytes?: number;
  store?: MvccStoreOptions;
  logger: Logger;
  /** How often expired leases are looked for (ms). */
  leaseCheckMs?: number;
  /** Watch progress notification interval (ms, etcd's default is 10 minutes). */
  progressIntervalMs?: number;
}

/** A response header plus a body. */
export type WithHeader<T> = T & { header: ResponseHeader };

function randomId(): number {
  // 52 random bits: a positive int64 that survives the trip through JS numbers.
  return Math.floor(Math.random() * 2 ** 20) * 2 ** 32 + Math.floor(Math.random() * 2 ** 32) || 1;
}

/** A chainfire node's service. */
export class ChainfireService {
  readonly hub: WatchHub;
  readonly clusterId: number;
  readonly memberId: number;
  private readonly leaseTimer: ReturnType<typeof setInterval>;
  private readonly revoking = new Set<number>();
  private alarms: { memberId: number; alarm: "NOSPACE" | "CORRUPT" }[] = [];
  private nextWatchId = 1;
  private readonly quotaBytes: number;
  private closed = false;
  private sizeCheckedAt = -Infinity;
  private lastSize = 0;

  private constructor(
    readonly store: RocksMvccStore,
    readonly machine: StateMachine,
    readonly log: CommandLog,
    private readonly options: ChainfireOptions,
  ) {
    this.quotaBytes = options.quotaBytes ?? 2 * 1024 ** 3;
    this.hub = new WatchHub(store, { progressIntervalMs: options.progressIntervalMs });
    log.onCommit((from, to) => this.hub.onCommit(from, to));
    this.clusterId = Number(store.getMeta("cluster_id"));
    this.memberId = Number(store.getMeta("member_id"));
    this.leaseTimer = setInterval(() => this.expireLeases(), options.leaseCheckMs ?? 500);
    this.leaseTimer.unref?.();
  }

  /** Opens the node's store in `dataDir` and starts a single-node log. */
  static open(options: ChainfireOptions): ChainfireService {
    mkdirSync(options.dataDir, { recursive: true });
    const store = RocksMvccStore.open(join(options.dataDir, "mvcc"), options.store);
    if (!store.getMeta("cluster_id")) {
      store.putMeta("cluster_id", String(randomId()));
      store.putMeta("member_id", String(randomId()));
      store.flush(true);
    }
    const lessor = new Lessor(store);
    lessor.load();
    const machine = new StateMachine(store, lessor);
    return new ChainfireService(store, machine, new LocalLog(machine), options);
  }

  /** A response header at `revision` (default: the current one). */
  header(revision = this.store.currentRevision): ResponseHeader {
    return { clusterId: this.clusterId, memberId: this.memberId, revision, raftTerm: this.log.term };
  }

  // ---- KV -----------------------------------------------------------------------------------

  /** Range; linearizable unless `serializable`. */
  async range(req: RangeRequest): Promise<WithHeader<RangeResult>> {
    checkKey(req.key);
    if (!req.serializable) await this.log.readBarrier();
    const result = this.store.range({ ...req, maxBytes: this.options.maxResponseBytes ?? 8 * 1024 * 1024 });
    return { header: this.header(), ...result };
  }

  /** Put. */
  async put(req: PutRequest): Promise<WithHeader<PutResult>> {
    checkPut(req);
    this.checkSpace();
    const { result, revision } = await this.propose({ put: req });
    return { header: this.header(revision), ...(result as PutResult) };
  }

  /** DeleteRange. */
  async deleteRange(req: DeleteRangeRequest): Promise<WithHeader<DeleteRangeResult>> {
    checkDeleteRange(req);
    const { result, revision } = await this.propose({ deleteRange: req });
    return { header: this.header(revision), ...(result as DeleteRangeResult) };
  }

  /** Txn. */
  async txn(req: TxnRequest): Promise<WithHeader<TxnResult>> {
    checkTxn(req);
    if (hasWrites(req)) this.checkSpace();
    const { result, revision } = await this.propose({ txn: req });
    return { header: this.header(revision), ...(result as TxnResult) };
  }

  /** Compact; with `physical` it resolves once the history is removed. */
  async compact(revision: number, physical = false): Promise<{ header: ResponseHeader }> {
    const { revision: rev } = await this.propose({ compaction: { revision } });
    const done = new Promise<void>((resolve) => {
      const step = () => {
        if (this.closed || this.store.compactHistory(10_000)) resolve();
        else setImmediate(step);
      };
      setImmediate(step);
    });
    if (physical) await done;
    return { header: this.header(rev) };
  }

  // ---- Lease --------------------------------------------------------------------------------

  /** LeaseGrant: a zero id asks the server to choose one. */
  async leaseGrant(ttl: number, id = 0): Promise<{ header: ResponseHeader; id: number; ttl: number; error: string }> {
    const granted = Lessor.checkTtl(ttl);
    let leaseId = id;
    if (leaseId === 0) do leaseId = randomId(); while (this.machine.lessor.get(leaseId));
    const { result, revision } = await this.propose({ leaseGrant: { id: leaseId, ttl: granted } });
    const r = result as { leaseId: number; ttl: number };
    return { header: this.header(revision), id: r.leaseId, ttl: r.ttl, error: "" };
  }

  /** LeaseRevoke: deletes the lease and its keys. */
  async leaseRevoke(id: number): Promise<{ header: ResponseHeader }> {
    if (!this.machine.lessor.get(id)) throw etcdError("LeaseNotFound");
    const { revision } = await this.propose({ leaseRevoke: { id } });
    return { header: this.header(revision) };
  }

  /** One keep-alive: renews the lease; ttl 0 when it does not exist (etcd's answer). */
  leaseKeepAlive(id: number): { header: ResponseHeader; id: number; ttl: number } {
    if (!this.log.isLeader) throw etcdError("NotLeader");
    let ttl = 0;
    try {
      ttl = this.machine.lessor.renew(id);
    } catch {
      ttl = 0;
    }
    return { header: this.header(), id, ttl };
  }

  /** LeaseTimeToLive: remaining and granted TTL (-1 when absent), optionally the keys. */
  leaseTimeToLive(id: number, keys: boolean): { header: ResponseHeader; id: number; ttl: number; grantedTtl: number; keys: Uint8Array[] } {
    const lease = this.machine.lessor.get(id);
    if (!lease) return { header: this.header(), id, ttl: -1, grantedTtl: 0, keys: [] };
    return {
      header: this.header(),
      id,
      ttl: this.machine.lessor.remaining(id),
      grantedTtl: lease.ttl,
      keys: keys ? this.machine.lessor.keysOf(id) : [],
    };
  }

  /** LeaseLeases: every lease id. */
  leaseLeases(): { header: ResponseHeader; leases: { id: number }[] } {
    return { header: this.header(), leases: this.machine.lessor.ids().map((id) => ({ id })) };
  }

  private expireLeases(): void {
    if (!this.log.isLeader || this.closed) return;
    for (const id of this.machine.lessor.expired()) {
      if (this.revoking.has(id)) continue;
      this.revoking.add(id);
      this.propose({ leaseRevoke: { id } })
        .catch((e) => this.options.logger.warn("lease expiry failed", { lease: id, error: e }))
        .finally(() => this.revoking.delete(id));
    }
  }

  // ---- Watch --------------------------------------------------------------------------------

  /** A fresh watch id, unique on this node. */
  newWatchId(): number {
    return this.nextWatchId++;
  }

  // ---- Cluster / Maintenance ----------------------------------------------------------------

  /** This single node as a member. */
  members(): Member[] {
    return [
      {
        id: this.memberId,
        name: this.options.name,
        peerUrls: this.options.peerUrls ?? [],
        clientUrls: this.options.clientUrls ?? [],
        isLearner: false,
      },
    ];
  }

  /** Sets the advertised client URLs (known once the server listens). */
  setClientUrls(urls: string[]): void {
    this.options.clientUrls = urls;
  }

  /** Maintenance.Status. */
  status(): {
    header: ResponseHeader;
    version: string;
    dbSize: number;
    leader: number;
    raftIndex: number;
    raftTerm: number;
    raftAppliedIndex: number;
    errors: string[];
    dbSizeInUse: number;
    isLearner: boolean;
  } {
    const size = this.store.sizeBytes();
    return {
      header: this.header(),
      version: ETCD_API_VERSION,
      dbSize: size,
      leader: this.memberId,
      raftIndex: this.store.currentRevision,
      raftTerm: this.log.term,
      raftAppliedIndex: this.store.currentRevision,
      errors: this.alarms.map((a) => `memberID:${a.memberId} alarm:${a.alarm}`),
      dbSizeInUse: size,
      isLearner: false,
    };
  }

  /** Current alarms. */
  alarmList(): { memberId: number; alarm: "NOSPACE" | "CORRUPT" }[] {
    return [...this.alarms];
  }

  /** Disarms an alarm (etcdctl alarm disarm). */
  alarmDeactivate(memberId: number, alarm: string): void {
    this.alarms = this.alarms.filter((a) => !(a.memberId === memberId && a.alarm === alarm));
  }

  private checkSpace(): void {
    if (this.alarms.some((a) => a.alarm === "NOSPACE")) throw etcdError("NoSpace");
    // The size is a handful of engine property reads: sample it at most every 250 ms.
    const now = performance.now();
    if (now - this.sizeCheckedAt > 250) {
      this.sizeCheckedAt = now;
      this.lastSize = this.store.sizeBytes();
    }
    if (this.lastSize > this.quotaBytes) {
      this.alarms.push({ memberId: this.memberId, alarm: "NOSPACE" });
      this.options.logger.warn("space quota exceeded: NOSPACE alarm raised", { quotaBytes: this.quotaBytes });
      throw etcdError("NoSpace");
    }
  }

  private propose(cmd: Command) {
    if (this.closed) return Promise.reject(etcdError("Stopped"));
    return this.log.propose(cmd);
  }

  /** Stops timers, the log, the hub, and closes the store. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.leaseTimer);
    await this.log.close();
    this.hub.close();
    this.store.close();
  }
}

function hasWrites(req: TxnRequest): boolean {
  return [...req.success, ...req.failure].some((op) => "requestPut" in op || "requestDeleteRange" in op || ("requestTxn" in op && hasWrites(op.requestTxn)));
}
