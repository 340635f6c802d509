/**
 * RaftNode: one process's Raft host — many groups over one log database (native RaftHost),
 * a tick loop, the ready loop, the TCP transport to the other nodes, proposals resolved when
 * applied, linearizable reads through ReadIndex, snapshots, and membership changes.
 *
 * One cycle (scheduled with setImmediate whenever there is work, after every tick, and when a
 * WAL sync completes):
 *   1. step every message received since the last cycle in ONE native call;
 *   2. propose every queued proposal in ONE native call; ask one ReadIndex per group;
 *   3. `ready()`: the host writes every group's new entries and hard state in one batch (no
 *      fsync) and returns one buffer with what may leave before that write is durable: a
 *      leader's appends, entries already committed (and persisted), read states; the write
 *      starts syncing on a worker thread at once (step 5) unless that sync would be inline;
 *      snapshot data is taken from the application, committed entries are applied, proposals
 *      and reads are settled, messages go out (one frame per peer);
 *   4. `advance()`;
 *   5. if a write waits for its fsync and none runs, `persist()` syncs the WAL on a worker
 *      thread while this thread goes on serving (inline instead for a lone client, after the
 *      messages left); its completion (`persisted`) releases the
 *      messages that had to wait (votes, append responses) and commits a leader's entries, and
 *      the next cycle hands them out. One sync at a time: whatever is written meanwhile rides on
 *      the next one (group commit), so the disk and the JS thread work in parallel.
 * Nothing that depends on an unsynced write leaves the node or is acknowledged.
 * Everything in a cycle is synchronous, so the application is always exactly at the applied
 * index between cycles (which is what makes `app.snapshot` consistent).
 */
import { readFileSync } from "node:fs";
import type { RaftHost, RaftLogSyncer } from "../native/photon-native.d.ts";
import { native } from "../lib/native.ts";
import type { PhotonError } from "../lib/errors.ts";
import { ChangeType, decodeDests, decodeProposeResults, decodeReady, encodeChanges, PackWriter } from "./codec.ts";
import type { MemberChange, Membership, RaftRole, Ready } from "./codec.ts";
import { fromNative, notLeader, RaftErrors } from "./errors.ts";
import { applyGroupReady, type GroupState } from "./group-state.ts";
import { GroupRequests } from "./proposals.ts";
import { SnapshotSender } from "./snapshot.ts";
import { toRaftStatus } from "./status.ts";
import { Transport, type TransportTls } from "./transport.ts";
import type { GroupOpenOptions, RaftNodeOptions, RaftStatus } from "./types.ts";

interface QueuedProposal {
  groupId: number;
  data: Uint8Array;
  context: Uint8Array;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

const empty = new Uint8Array(0);

/** One node of a Raft cluster hosting any number of groups. Create with `RaftNode.open`. */
export class RaftNode {
  readonly nodeId: number;
  private readonly host: RaftHost;
  private readonly syncer: RaftLogSyncer;
  private readonly transport: Transport;
  private readonly snapshots: SnapshotSender;
  private readonly groups = new Map<number, GroupState>();
  private inbound: Uint8Array[] = [];
  private inboundSnapshots: { groupId: number; message: Uint8Array; data: Uint8Array }[] = [];
  private proposals: QueuedProposal[] = [];
  private unreachable = new Set<number>();
  private snapshotReports: { groupId: number; to: number; ok: boolean }[] = [];
  private scheduled = false;
  /** A WAL sync runs on a worker thread (async persistence). */
  private syncing = false;
  private closed = false;
  private failure: PhotonError | undefined;
  private readonly ticker: ReturnType<typeof setInterval>;
  private readSeq = 0;

  private constructor(
    private readonly options: RaftNodeOptions,
    host: RaftHost,
    transport: Transport,
  ) {
    this.nodeId = options.nodeId;
    this.host = host;
    this.syncer = host.syncer();
    this.transport = transport;
    this.snapshots = new SnapshotSender(transport, (groupId, to, ok) => {
      this.snapshotReports.push({ groupId, to, ok });
      this.schedule();
    });
    this.ticker = setInterval(() => this.tick(), options.tickMs ?? 100);
  }

  /**
   * Opens the node: its log database in `options.dataDir` and its transport listener.
   * @throws RAFT:InvalidArgument for a bad node id; RAFT:StorageError when the database cannot
   *   be opened (e.g. another process holds it).
   * @example
   * const node = await RaftNode.open({ nodeId: 1, dataDir: "./data/raft", app, peers: { 2: "10.0.0.2:7400" } });
   * node.createGroup(1, { voters: [1, 2, 3] });
   * const result = await node.propose(1, new TextEncoder().encode("put a 1"));
   */
  static async open(options: RaftNodeOptions): Promise<RaftNode> {
    if (!Number.isSafeInteger(options.nodeId) || options.nodeId <= 0) {
      throw RaftErrors.InvalidArgument(`nodeId must be a positive safe integer, got ${options.nodeId}`);
    }
    let tls: TransportTls | undefined;
    if (options.tls) {
      const { certFile, keyFile, caFile } = options.tls;
      try {
        tls = { cert: readFileSync(certFile, "utf8"), key: readFileSync(keyFile, "utf8"), ca: readFileSync(caFile, "utf8") };
      } catch (e) {
        throw RaftErrors.InvalidArgument(`cannot read the transport's TLS files: ${(e as Error).message}`);
      }
    }
    let host: RaftHost;
    try {
      host = native().RaftHost.open(options.dataDir, options.nodeId, { asyncPersist: true });
    } catch (e) {
      throw fromNative(e);
    }
    let node: RaftNode | undefined;
    const transport = await Transport.listen(
      {
        nodeId: options.nodeId,
        hostname: options.hostname,
        port: options.port,
        snapshotChunkBytes: options.snapshotChunkBytes,
        ...(tls ? { tls } : {}),
      },
      {
        onMessages: (_from, packed) => node?.received(packed),
        onSnapshot: (_from, groupId, message, data) => node?.receivedSnapshot(groupId, message, data),
        onPeerAddress: (id, address) => node?.transport.setPeer(id, address),
        onUnreachable: (to) => node?.peerUnreachable(to),
      },
    ).catch((e) => {
      host.close();
      throw e;
    });
    node = new RaftNode(options, host, transport);
    for (const [id, address] of Object.entries(options.peers ?? {})) transport.setPeer(Number(id), address);
    return node;
  }

  /** The transport's listen address (`host:port`). */
  get address(): string {
    return this.transport.address;
  }

  /** Sets (or changes) the address of peer `nodeId`. */
  setPeer(nodeId: number, address: string): void {
    this.transport.setPeer(nodeId, address);
  }

  /** Ids of the groups stored in this node's log database (to reopen them after a restart). */
  storedGroups(): number[] {
    return this.native(() => this.host.storedGroups());
  }

  /**
   * Opens a group on this node (bootstrapping it with `voters` if it is new). If the
   * application is behind the log's start, the stored snapshot is installed first.
   * @throws RAFT:GroupExists, RAFT:SnapshotMissing (application behind and nothing stored).
   */
  createGroup(groupId: number, options: GroupOpenOptions = {}): void {
    this.usable();
    const opened = this.native(() =>
      this.host.createGroup(groupId, {
        voters: options.voters,
        learners: options.learners,
        applied: options.applied,
        electionTick: this.options.electionTicks ?? 10,
        heartbeatTick: this.options.heartbeatTicks ?? 1,
        keepSnapshotData: options.keepSnapshotData ?? true,
      }),
    );
    const state: GroupState = {
      role: "follower",
      leader: 0,
      term: 0,
      applied: opened.applied,
      appliedTerm: 0,
      keepSnapshotData: options.keepSnapshotData ?? true,
      requests: new GroupRequests(),
      leaderWaiters: [],
    };
    if (opened.needsSnapshot) {
      const stored = this.native(() => this.host.storedSnapshot(groupId));
      if (!stored) {
        this.native(() => this.host.removeGroup(groupId, false));
        throw RaftErrors.SnapshotMissing(
          `group ${groupId}: application applied ${options.applied ?? 0} but the log starts after ${opened.snapshotIndex}`,
        );
      }
      this.options.app.installSnapshot(groupId, stored.data, { index: stored.index, term: stored.term });
      state.appliedTerm = stored.term;
    }
    this.groups.set(groupId, state);
    this.schedule();
  }

  /** Closes a group on this node; with `destroy` its log is deleted. Pending requests fail. */
  removeGroup(groupId: number, destroy = false): void {
    const g = this.group(groupId);
    this.native(() => this.host.removeGroup(groupId, destroy));
    this.groups.delete(groupId);
    g.requests.failAll(RaftErrors.NoSuchGroup(`group ${groupId} was removed`));
  }

  /**
   * Proposes `data` to a group; resolves with the application's result for the entry once it
   * is applied on this node.
   * @throws RAFT:NotLeader (details.leader = leader hint) when this node is not the leader;
   *   RAFT:ProposalDropped when raft refused it or another leader's entry took its place.
   */
  propose(groupId: number, data: Uint8Array, context: Uint8Array = empty): Promise<unknown> {
    try {
      this.usable();
      const g = this.group(groupId);
      if (data.byteLength === 0) throw RaftErrors.InvalidArgument("proposal data must not be empty");
      if (g.role !== "leader") throw notLeader(groupId, g.leader);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise((resolve, reject) => {
      this.proposals.push({ groupId, data, context, resolve, reject });
      // A lone node whose WAL sync runs gathers proposals until the sync ends: they could not
      // be committed before it anyway, and the cycle it triggers writes them all at once.
      if (this.syncing && this.transport.peerCount === 0) return;
      this.schedule();
    });
  }

  /**
   * Resolves once this node has applied everything committed before the call (ReadIndex):
   * a read of the local state after it is linearizable. Works on followers too.
   * @throws RAFT:Timeout when no leader answers within `requestTimeoutMs`.
   */
  readIndex(groupId: number): Promise<void> {
    try {
      this.usable();
      const g = this.group(groupId);
      return new Promise((resolve, reject) => {
        g.requests.queuedReads.push({ resolve, reject, deadline: Date.now() + this.timeoutMs });
        this.schedule();
      });
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Adds `nodeId` as a learner (its address travels in the entry to every member). */
  addLearner(groupId: number, nodeId: number, address?: string): Promise<void> {
    return this.changeMembership(groupId, [{ type: ChangeType.AddLearner, nodeId }], address ? { [nodeId]: address } : {});
  }

  /** Promotes learner `nodeId` to voter. */
  promote(groupId: number, nodeId: number): Promise<void> {
    return this.changeMembership(groupId, [{ type: ChangeType.AddVoter, nodeId }]);
  }

  /** Removes `nodeId` from the group. */
  remove(groupId: number, nodeId: number): Promise<void> {
    return this.changeMembership(groupId, [{ type: ChangeType.Remove, nodeId }]);
  }

  /**
   * Proposes a membership change on the leader; several changes go through joint consensus
   * (left automatically). Resolves when the change is applied on this node.
   * @throws RAFT:NotLeader, RAFT:ProposalDropped (another change pending), RAFT:ConfChangeRefused.
   */
  changeMembership(groupId: number, changes: MemberChange[], addresses: Record<number, string> = {}): Promise<void> {
    try {
      this.usable();
      const g = this.group(groupId);
      if (g.role !== "leader") throw notLeader(groupId, g.leader);
      const context = new TextEncoder().encode(JSON.stringify({ addresses }));
      const [index, term] = this.native(() => this.host.proposeConfChange(groupId, encodeChanges(changes), 0, context));
      this.schedule();
      return new Promise((resolve, reject) => g.requests.addProposal(index!, term!, () => resolve(), reject));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Transfers leadership of a group to `to`; resolves when this node sees `to` lead.
   * @throws RAFT:Timeout when the transfer does not happen within `requestTimeoutMs`.
   */
  transferLeader(groupId: number, to: number): Promise<void> {
    try {
      this.usable();
      const g = this.group(groupId);
      if (g.leader === to) return Promise.resolve();
      this.native(() => this.host.transferLeader(groupId, to));
      this.schedule();
      return new Promise((resolve, reject) => g.leaderWaiters.push({ to, resolve, reject, deadline: Date.now() + this.timeoutMs }));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Starts an election for a group on this node now. */
  campaign(groupId: number): void {
    this.group(groupId);
    this.native(() => this.host.campaign(groupId));
    this.schedule();
  }

  /**
   * Compacts a group's log up to its applied index. With `keepSnapshotData` the application's
   * current state is stored as the group's snapshot (restores a non-durable application).
   */
  compact(groupId: number): void {
    const g = this.group(groupId);
    const data = g.keepSnapshotData
      ? this.options.app.snapshot(groupId, { index: g.applied, term: g.appliedTerm })
      : undefined;
    this.native(() => this.host.compact(groupId, g.applied, data));
  }

  /** The group's state as this node sees it. */
  status(groupId: number): RaftStatus {
    this.group(groupId);
    return toRaftStatus(groupId, this.native(() => this.host.status(groupId)));
  }

  /**
   * This node's role, the known leader (0: none) and the term of a group as of the last cycle:
   * a cheap read of the driver's state (`status` asks the native core and builds more).
   * @throws RAFT:NoSuchGroup.
   */
  role(groupId: number): { role: RaftRole; leader: number; term: number } {
    const g = this.group(groupId);
    return { role: g.role, leader: g.leader, term: g.term };
  }

  /** True when this node leads the group (as of the last cycle). */
  isLeader(groupId: number): boolean {
    return this.groups.get(groupId)?.role === "leader";
  }

  /** Work counters of the host (ready cycles, fsyncs, persisted entries). */
  stats(): { readyCycles: number; syncedWrites: number; unsyncedWrites: number; entriesPersisted: number } {
    return this.host.stats();
  }

  /** Stops ticking, closes the transport and the log database; pending requests fail with
   * RAFT:Closed. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.shutdown(RaftErrors.Closed("the raft node was closed"));
  }

  // ---- the loop ------------------------------------------------------------------------

  private get timeoutMs(): number {
    return this.options.requestTimeoutMs ?? 5000;
  }

  private tick(): void {
    if (this.closed) return;
    try {
      this.host.tick();
    } catch (e) {
      this.fail(fromNative(e));
      return;
    }
    const now = Date.now();
    const resendAfter = (this.options.tickMs ?? 100) * (this.options.electionTicks ?? 10);
    for (const g of this.groups.values()) {
      g.requests.expire(now, resendAfter);
      g.leaderWaiters = g.leaderWaiters.filter((w) => {
        if (w.deadline > now) return true;
        w.reject(RaftErrors.Timeout(`leadership did not move to ${w.to} in time`));
        return false;
      });
    }
    this.schedule();
  }

  private received(packed: Uint8Array): void {
    this.inbound.push(packed);
    this.schedule();
  }

  private receivedSnapshot(groupId: number, message: Uint8Array, data: Uint8Array): void {
    this.inboundSnapshots.push({ groupId, message, data });
    this.schedule();
  }

  private peerUnreachable(to: number): void {
    this.unreachable.add(to);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    setImmediate(() => this.cycle());
  }

  private cycle(): void {
    this.scheduled = false;
    if (this.closed) return;
    try {
      this.feedInputs();
      for (let round = 0; round < 4; round++) {
        const buf = this.host.ready(this.nothingToOverlap());
        if (!buf) break;
        // The write this ready issued starts syncing before its committed entries are applied
        // and answered, so the disk works while the JS thread does (an inline sync waits for
        // the end of the cycle: a leader's appends must leave first).
        this.persist(false);
        this.handleReady(decodeReady(buf));
        this.host.advance();
      }
      if (this.host.hasReady()) this.schedule();
      this.persist(true);
    } catch (e) {
      this.fail(fromNative(e));
    }
  }

  /**
   * True when a lone node (no peers) may write this cycle with its fsync inside `ready`: it
   * leads, no sync runs, and at most one proposal waits (a lone client), so the thread hop of
   * an async sync (tens of µs) is saved. A node with peers never does: its appends must leave
   * before its own fsync, which then overlaps the followers' (`persist` may still sync inline).
   */
  private nothingToOverlap(): boolean {
    return this.transport.peerCount === 0 && this.syncInline();
  }

  /**
   * True when the next WAL sync would overlap with nothing: none runs, and this node leads
   * with at most one proposal waiting (a lone client). Under load proposals pile up and the
   * sync goes to a worker thread. A follower always syncs there: inline made no measurable
   * difference (docs/benchmarks/chainfire-cluster-vs-etcd.md).
   */
  private syncInline(): boolean {
    if (this.syncing) return false;
    let leads = false;
    let waiting = 0;
    for (const g of this.groups.values()) {
      if (g.role === "leader") leads = true;
      waiting += g.requests.pendingProposals;
    }
    return leads && waiting <= 1;
  }

  /**
   * Syncs the WAL through everything written so far, one sync at a time (what is written
   * meanwhile rides on the next one, which is the group commit): inline when nothing would
   * overlap it (only if `allowInline`; else it waits for a later call), else on a worker
   * thread. When it is done, the messages that waited for it leave and a cycle hands out what
   * became committed.
   */
  private persist(allowInline: boolean): void {
    if (this.syncing || this.closed || !this.host.needsPersist()) return;
    if (this.syncInline()) {
      if (!allowInline) return;
      this.sendPersisted(this.syncer.syncNow(this.host.writtenSeq()));
      this.schedule();
      return;
    }
    this.syncing = true;
    this.syncer.sync(this.host.writtenSeq()).then(
      (seq) => {
        this.syncing = false;
        if (this.closed) return;
        try {
          this.sendPersisted(seq);
        } catch (e) {
          this.fail(fromNative(e));
          return;
        }
        this.cycle();
      },
      (e) => {
        this.syncing = false;
        this.fail(fromNative(e));
      },
    );
  }

  /** Reports the WAL durable through `seq` and sends the messages that waited for it. */
  private sendPersisted(seq: number): void {
    for (const [to, packed] of decodeDests(this.host.persisted(seq))) {
      if (!this.transport.send(to, packed)) this.unreachable.add(to);
    }
  }

  /** Steps received messages, reports, proposals and read requests into the host. */
  private feedInputs(): void {
    if (this.inbound.length > 0) {
      const parts = this.inbound;
      this.inbound = [];
      this.host.step(parts.length === 1 ? parts[0]! : concat(parts));
    }
    for (const s of this.inboundSnapshots.splice(0)) {
      if (this.groups.has(s.groupId)) this.host.stepSnapshot(s.groupId, s.message, s.data);
    }
    for (const r of this.snapshotReports.splice(0)) {
      if (this.groups.has(r.groupId)) this.host.reportSnapshot(r.groupId, r.to, r.ok);
    }
    if (this.unreachable.size > 0) {
      for (const to of this.unreachable) {
        for (const [id, g] of this.groups) if (g.role === "leader") this.host.reportUnreachable(id, to);
      }
      this.unreachable.clear();
    }
    if (this.proposals.length > 0) this.flushProposals();
    for (const [id, g] of this.groups) {
      if (g.requests.queuedReads.length === 0 || g.requests.inflight) continue;
      const ctx = `${this.nodeId}:${++this.readSeq}`;
      g.requests.inflight = { ctx, sentAt: Date.now(), waiters: g.requests.queuedReads };
      g.requests.queuedReads = [];
      this.host.readIndex(id, new TextEncoder().encode(ctx));
    }
  }

  private flushProposals(): void {
    const batch = this.proposals;
    this.proposals = [];
    const w = new PackWriter();
    for (const p of batch) w.u64(p.groupId).bytes(p.context).bytes(p.data);
    const results = decodeProposeResults(this.host.propose(w.finish()));
    batch.forEach((p, i) => {
      const r = results[i];
      const g = this.groups.get(p.groupId);
      if (!r || !g || r.status === "noSuchGroup") p.reject(RaftErrors.NoSuchGroup(`group ${p.groupId} is not open`));
      else if (r.status === "ok") g.requests.addProposal(r.index, r.term, p.resolve, p.reject);
      else if (r.status === "notLeader") p.reject(notLeader(p.groupId, r.leader));
      else p.reject(RaftErrors.ProposalDropped(`group ${p.groupId} dropped the proposal`));
    });
  }

  private handleReady(rd: Ready): void {
    // Snapshot data first: the application is still at the snapshot's index.
    for (const s of rd.snapshots) {
      if (this.snapshots.busy(s.groupId, s.to)) continue;
      const data = this.options.app.snapshot(s.groupId, { index: s.index, term: s.term });
      this.snapshots.start(s, data);
    }
    // Applied before the messages leave: a leader answers its clients without first paying
    // for the sends (each a syscall that runs the receiver's network path on loopback or a
    // veth), and a commit broadcast waits a little. Nothing here needs a message out first.
    for (const g of rd.groups) {
      const state = this.groups.get(g.groupId);
      if (state) applyGroupReady(this.options.app, state, g, (id, address) => this.transport.setPeer(id, address));
    }
    for (const [to, packed] of rd.messages) {
      if (!this.transport.send(to, packed)) this.unreachable.add(to);
    }
  }

  // ---- helpers -------------------------------------------------------------------------

  private group(groupId: number): GroupState {
    const g = this.groups.get(groupId);
    if (!g) throw RaftErrors.NoSuchGroup(`group ${groupId} is not open on node ${this.nodeId}`);
    return g;
  }

  private usable(): void {
    if (this.failure) throw this.failure;
    if (this.closed) throw RaftErrors.Closed("the raft node was closed");
  }

  private native<T>(f: () => T): T {
    try {
      return f();
    } catch (e) {
      throw fromNative(e);
    }
  }

  private fail(e: PhotonError): void {
    if (this.closed) return;
    this.failure = e;
    this.shutdown(e);
    if (this.options.onFatal) this.options.onFatal(e);
    else console.error(JSON.stringify({ level: "error", msg: "raft node stopped", node: this.nodeId, code: e.code, error: e.message }));
  }

  private shutdown(e: PhotonError): void {
    this.closed = true;
    clearInterval(this.ticker);
    this.transport.close();
    for (const p of this.proposals.splice(0)) p.reject(e);
    for (const g of this.groups.values()) {
      g.requests.failAll(e);
      for (const w of g.leaderWaiters) w.reject(e);
    }
    try {
      this.host.close();
    } catch {
      // Already failed: nothing more to release.
    }
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.byteLength;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

export type { Membership };
