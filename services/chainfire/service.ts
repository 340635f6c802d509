/**
 * chainfire's domain logic, with no transport in it: the etcd v3 KV, Lease, Watch, Cluster and
 * Maintenance semantics on top of the command log, the state machine and the watch hub. The gRPC
 * handlers in api/ only convert messages.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../../lib/data-dir.ts";
import { CommonErrors } from "../../lib/errors.ts";
import type { Logger } from "../../lib/log.ts";
import { StateMachine } from "./apply/state-machine.ts";
import { checkDeleteRange, checkKey, checkPut, checkTxn } from "./apply/validate.ts";
import { etcdError } from "./errors.ts";
import { Lessor } from "./lease/lessor.ts";
import type { CommandLog } from "./log/command-log.ts";
import { LocalLog } from "./log/local-log.ts";
import { Forwarding, type ForwardTls } from "./log/forwarding.ts";
import { RaftLog } from "./log/raft-log.ts";
import { ClusterManager, type AdminOp } from "./cluster/cluster-manager.ts";
import { memberAttrs, peerAddress, type Member } from "./cluster/members.ts";
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
  /** Replication. Without it the node runs a one-member LocalLog (unit tests). */
  raft?: RaftOptions;
}

/** Where this member's Raft transport listens and how it enters the cluster. */
export interface RaftOptions {
  host: string;
  port: number;
  /** The URL other members reach this one's Raft transport at (default http://host:port, https with TLS). */
  peerUrl?: string;
  /** Joining an existing cluster: the id MemberAdd gave this member and the members' addresses. */
  join?: { memberId: number; peers: Record<number, string> };
  /**
   * TLS to other members' client endpoints (forwarding), with this member's own certificate.
   * With `certFile` and `keyFile` the same files secure the Raft transport (mutual TLS).
   */
  tls?: ForwardTls;
  tickMs?: number;
}

/** The Raft transport's mutual TLS files: the forwarding ones when they include a certificate. */
export function raftTransportTls(raft: RaftOptions): { certFile: string; keyFile: string; caFile: string } | undefined {
  const t = raft.tls;
  return t?.caFile && t.certFile && t.keyFile ? { certFile: t.certFile, keyFile: t.keyFile, caFile: t.caFile } : undefined;
}

/** This member's identity, kept in `<dataDir>/member.json` (not replicated). */
interface Identity {
  memberId: number;
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
  readonly memberId: number;
  /** Membership operations (Raft mode only). */
  cluster: ClusterManager | undefined;
  forwarding: Forwarding | undefined;
  private readonly leaseTimer: ReturnType<typeof setInterval>;
  private readonly revoking = new Set<number>();
  private alarms: { memberId: number; alarm: "NOSPACE" | "CORRUPT" }[] = [];
  private nextWatchId = 1;
  private readonly quotaBytes: number;
  private closed = false;
  private sizeCheckedAt = -Infinity;
  private lastSize = 0;

  private log!: CommandLog;

  private constructor(
    readonly store: RocksMvccStore,
    readonly machine: StateMachine,
    memberId: number,
    private readonly options: ChainfireOptions,
  ) {
    this.memberId = memberId;
    this.quotaBytes = options.quotaBytes ?? 2 * 1024 ** 3;
    this.hub = new WatchHub(store, { progressIntervalMs: options.progressIntervalMs });
    this.leaseTimer = setInterval(() => this.expireLeases(), options.leaseCheckMs ?? 500);
    this.leaseTimer.unref?.();
  }

  /**
   * Opens the member's store in `dataDir` and its log: Raft when `options.raft` is given (a new
   * one-member cluster, a restart, or a join), a LocalLog otherwise.
   */
  static async open(options: ChainfireOptions): Promise<ChainfireService> {
    mkdirSync(options.dataDir, { recursive: true });
    const identityFile = join(options.dataDir, "member.json");
    const known = existsSync(identityFile) ? (JSON.parse(readFileSync(identityFile, "utf8")) as Identity) : undefined;
    const memberId = known?.memberId ?? options.raft?.join?.memberId ?? randomId();
    const store = RocksMvccStore.open(join(options.dataDir, "mvcc"), options.store);
    const lessor = new Lessor(store);
    lessor.load();
    const machine = new StateMachine(store, lessor);
    const svc = new ChainfireService(store, machine, memberId, options);
    try {
      if (!options.raft) {
        if (!store.getMeta("cluster_id")) {
          store.putMeta("cluster_id", String(randomId()));
          store.flush(true);
        }
        svc.log = new LocalLog(machine);
      } else {
        await svc.openRaft(options.raft, known === undefined);
      }
    } catch (e) {
      store.close();
      throw e;
    }
    if (!known) writeFileAtomic(identityFile, JSON.stringify({ memberId } satisfies Identity) + "\n");
    svc.log.onCommit((from, to) => svc.notifyWatchers(from, to));
    return svc;
  }

  private async openRaft(raft: RaftOptions, fresh: boolean): Promise<void> {
    const forwarding = new Forwarding(this.store, raft.tls);
    this.forwarding = forwarding;
    const transportTls = raftTransportTls(raft);
    const log = await RaftLog.open({
      dataDir: join(this.options.dataDir, "raft"),
      memberId: this.memberId,
      machine: this.machine,
      host: raft.host,
      port: raft.port,
      ...(transportTls ? { tls: transportTls } : {}),
      // A restart replays only the entries after the store's applied index, so the conf changes
      // that carried the peers' addresses are behind it: take them from the replicated member
      // attributes (without them a member reaches only the peers that connect to it, and after
      // a restart of every member nobody reaches anybody).
      peers: raft.join?.peers ?? this.knownPeers(),
      ...(fresh && !raft.join ? { bootstrap: [this.memberId] } : {}),
      forward: (leader, cmd) => forwarding.propose(leader, cmd),
      logger: this.options.logger,
      ...(raft.tickMs ? { tickMs: raft.tickMs } : {}),
      onLeaderChange: (_leader, isLeader) => {
        if (isLeader) this.becameLeader();
      },
      onSnapshotInstalled: () => {
        this.hub.resync();
        // The snapshot carries the members' attributes, and with them addresses of peers whose
        // conf changes this member never saw.
        if (this.log instanceof RaftLog) for (const [id, address] of Object.entries(this.knownPeers())) this.log.node.setPeer(Number(id), address);
      },
    });
    this.log = log;
    this.cluster = new ClusterManager(log, this.store, forwarding, randomId, this.options.logger);
  }

  /** Raft addresses of the other members, from the replicated member attributes. */
  private knownPeers(): Record<number, string> {
    const peers: Record<number, string> = {};
    for (const [id, attrs] of memberAttrs(this.store)) {
      const url = attrs.peerUrls[0];
      if (id === this.memberId || !url) continue;
      try {
        peers[id] = peerAddress(url);
      } catch {
        // a malformed URL: the conf change or the peer's hello will tell
      }
    }
    return peers;
  }

  private notifyFrom = 0;
  private notifyTo = 0;
  private notifyScheduled = false;

  /**
   * Hands committed revisions to the watch hub on the next turn of the event loop, coalescing
   * the groups committed meanwhile: proposals are acknowledged first, and a fan-out to many
   * watchers reads the change log once per turn instead of once per group.
   */
  private notifyWatchers(from: number, to: number): void {
    if (!this.notifyScheduled) {
      this.notifyScheduled = true;
      this.notifyFrom = from;
      setImmediate(() => {
        this.notifyScheduled = false;
        if (!this.closed) this.hub.onCommit(this.notifyFrom, this.notifyTo);
      });
    }
    this.notifyTo = to;
  }

  /** A new leader gives leases a full TTL, resumes promotions and names a new cluster. */
  private becameLeader(): void {
    this.machine.lessor.refreshAll();
    this.cluster?.resumePromotions();
    if (!this.store.getMeta("cluster_id")) {
      this.propose({ init: { clusterId: randomId() } }).catch((e) => this.options.logger.warn("cluster init failed", { error: e }));
    }
  }

  /** The cluster id (0 until the first leader has named the cluster). */
  get clusterId(): number {
    // Set once by the first leader and never changed: cached so that a response header does
    // not read the store.
    if (this.knownClusterId === 0) this.knownClusterId = Number(this.store.getMeta("cluster_id") ?? "0");
    return this.knownClusterId;
  }

  private knownClusterId = 0;

  /** `host:port` of this member's Raft transport (Raft mode). */
  get raftAddress(): string | undefined {
    return this.log instanceof RaftLog ? this.log.node.address : undefined;
  }

  /** The command log (tests and the forwarding API use it). */
  get commandLog(): CommandLog {
    return this.log;
  }

  /**
   * Records this member's name and URLs in the replicated state (retrying until a leader takes
   * it), so MemberList and forwarding can find it.
   */
  async publish(clientUrls: string[], peerUrls: string[]): Promise<void> {
    this.options.clientUrls = clientUrls;
    this.options.peerUrls = peerUrls;
    if (!this.cluster) return;
    const attrs = { id: this.memberId, name: this.options.name, peerUrls, clientUrls };
    for (let attempt = 0; !this.closed; attempt++) {
      try {
        const current = this.cluster.members().find((m) => m.id === this.memberId);
        if (current && current.name === attrs.name && current.clientUrls.join() === clientUrls.join() && current.peerUrls.join() === peerUrls.join()) return;
        await this.propose({ memberAttrs: { ...attrs, ...(current?.wantsVote ? { wantsVote: true } : {}) } });
        return;
      } catch (e) {
        if (attempt % 10 === 9) this.options.logger.warn("publishing member attributes failed; retrying", { error: e });
        await Bun.sleep(100);
      }
    }
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

  /** One keep-alive: renews the lease on the leader; ttl 0 when it does not exist (etcd's answer). */
  async leaseKeepAlive(id: number): Promise<{ header: ResponseHeader; id: number; ttl: number }> {
    if (this.log.isLeader) return { header: this.header(), id, ttl: this.renewHere(id) };
    const leader = this.log instanceof RaftLog ? this.log.status().leader : 0;
    if (!leader || !this.forwarding) throw etcdError("NotLeader");
    return { header: this.header(), id, ttl: await this.forwarding.keepAlive(leader, id) };
  }

  /** Renews a lease on this member, which must lead; 0 when the lease does not exist. */
  renewHere(id: number): number {
    if (!this.log.isLeader) throw etcdError("NotLeader");
    try {
      return this.machine.lessor.renew(id);
    } catch {
      return 0;
    }
  }

  /** LeaseTimeToLive: remaining and granted TTL (-1 when absent), optionally the keys. Linearizable. */
  async leaseTimeToLive(id: number, keys: boolean): Promise<{ header: ResponseHeader; id: number; ttl: number; grantedTtl: number; keys: Uint8Array[] }> {
    await this.log.readBarrier();
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

  /** LeaseLeases: every lease id. Linearizable. */
  async leaseLeases(): Promise<{ header: ResponseHeader; leases: { id: number }[] }> {
    await this.log.readBarrier();
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

  /** The members (just this one without Raft). */
  members(): Member[] {
    if (this.cluster) return this.cluster.members();
    return [{ id: this.memberId, name: this.options.name, peerUrls: this.options.peerUrls ?? [], clientUrls: this.options.clientUrls ?? [], isLearner: false }];
  }

  /** A membership operation (MemberAdd/Remove/Update/Promote, MoveLeader), run on the leader. */
  async admin<T>(op: AdminOp): Promise<T> {
    if (!this.cluster) throw CommonErrors.Unimplemented("membership changes need Raft; this chainfire runs a local log");
    return this.cluster.run<T>(op);
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
    const raft = this.log instanceof RaftLog ? this.log.status() : undefined;
    return {
      header: this.header(),
      version: ETCD_API_VERSION,
      dbSize: size,
      leader: raft ? raft.leader : this.memberId,
      raftIndex: raft ? raft.commit : this.store.currentRevision,
      raftTerm: this.log.term,
      raftAppliedIndex: raft ? raft.applied : this.store.currentRevision,
      errors: this.alarms.map((a) => `memberID:${a.memberId} alarm:${a.alarm}`),
      dbSizeInUse: size,
      isLearner: raft ? raft.membership.learners.includes(this.memberId) : false,
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

  /** Proposes a command through the log (forwarded to the leader on a follower). */
  propose(cmd: Command) {
    if (this.closed) return Promise.reject(etcdError("Stopped"));
    return this.log.propose(cmd);
  }

  /** Stops timers, the log, the hub, and closes the store. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.leaseTimer);
    await this.log.close();
    this.forwarding?.close();
    this.hub.close();
    this.store.close();
  }
}

function hasWrites(req: TxnRequest): boolean {
  return [...req.success, ...req.failure].some((op) => "requestPut" in op || "requestDeleteRange" in op || ("requestTxn" in op && hasWrites(op.requestTxn)));
}
