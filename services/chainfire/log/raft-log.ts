/**
 * RaftLog: chainfire's CommandLog on the Raft driver (raft/). Commands are proposed to group 1,
 * applied on every member in log order, and the MVCC store records the applied index in the same
 * engine write as the changes, so a restart replays exactly the entries after it. The Raft log
 * is the durable part (its group commit fsyncs); the store's flush need not sync.
 *
 * A follower cannot propose: it forwards the command to the leader (`forward`), which answers
 * once the command is applied there. Linearizable reads go through ReadIndex on any member.
 */
import { PhotonError, type GrpcStatusCode } from "../../../lib/errors.ts";
import type { Logger } from "../../../lib/log.ts";
import { RaftNode, type AppliedEntry, type Membership, type RaftStatus, type SnapshotMeta } from "../../../raft/index.ts";
import type { StateMachine } from "../apply/state-machine.ts";
import { etcdError } from "../errors.ts";
import type { Command } from "../types.ts";
import type { Applied, CommandLog, CommitListener } from "./command-log.ts";
import { decodeMessage, encodeMessage } from "./command-codec.ts";

/** chainfire's one Raft group. */
export const CHAINFIRE_GROUP = 1;

/** What an entry's application produced: a result, or the error every replica agrees on. */
type Outcome = { ok: true; applied: Applied } | { ok: false; code: string; message: string; grpc: GrpcStatusCode };

/** Sends a command to the current leader and returns its outcome there. */
export type Forwarder = (leaderId: number, cmd: Command) => Promise<Applied>;

/** Options of RaftLog.open. */
export interface RaftLogOptions {
  /** Directory of the Raft log database. */
  dataDir: string;
  memberId: number;
  machine: StateMachine;
  /** Listen address of the Raft transport. */
  host: string;
  port: number;
  /** Known peers: member id → `host:port` of their Raft transport. */
  peers: Record<number, string>;
  /** Mutual TLS of the Raft transport (PEM files); plaintext without it. */
  tls?: { certFile: string; keyFile: string; caFile: string };
  /** Initial voters of a new cluster (the same list on each initial member); none when joining. */
  bootstrap?: number[];
  forward: Forwarder;
  logger: Logger;
  /** Raft timing (tests shorten it). */
  tickMs?: number;
  onLeaderChange?(leader: number, isLeader: boolean): void;
  onMembershipChange?(membership: Membership): void;
  /** The store was replaced by a leader's snapshot. */
  onSnapshotInstalled?(): void;
}

/** The Raft-backed command log. */
export class RaftLog implements CommandLog {
  private readonly listeners: CommitListener[] = [];
  private closed = false;

  private constructor(
    readonly node: RaftNode,
    private readonly o: RaftLogOptions,
  ) {}

  /** Opens the Raft node and chainfire's group, replaying the log after the store's applied index. */
  static async open(o: RaftLogOptions): Promise<RaftLog> {
    const store = o.machine.store;
    let log: RaftLog | undefined;
    const node = await RaftNode.open({
      nodeId: o.memberId,
      dataDir: o.dataDir,
      hostname: o.host,
      port: o.port,
      peers: o.peers,
      ...(o.tls ? { tls: o.tls } : {}),
      ...(o.tickMs ? { tickMs: o.tickMs } : {}),
      app: {
        apply: (_group, entries) => log!.apply(entries),
        snapshot: (_group, meta) => log!.snapshot(meta),
        installSnapshot: (_group, data, meta) => log!.install(data, meta),
        onMembershipChange: (_group, m) => o.onMembershipChange?.(m),
        onLeaderChange: (_group, leader, role) => o.onLeaderChange?.(leader, role === "leader"),
      },
      onFatal: (e) => o.logger.error("raft stopped on a fatal error", { error: e }),
    });
    log = new RaftLog(node, o);
    const applied = Number(store.getMeta("raft_applied") ?? "0");
    node.createGroup(CHAINFIRE_GROUP, { ...(o.bootstrap ? { voters: o.bootstrap } : {}), applied });
    // A lone voter need not wait an election timeout to lead.
    if (o.bootstrap?.length === 1 && o.bootstrap[0] === o.memberId) node.campaign(CHAINFIRE_GROUP);
    return log;
  }

  private apply(entries: AppliedEntry[]): Outcome[] {
    const { machine } = this.o;
    const store = machine.store;
    const from = store.currentRevision + 1;
    const out: Outcome[] = [];
    let last = 0;
    for (const e of entries) {
      last = e.index;
      if (e.data.length === 0) {
        out.push({ ok: true, applied: { result: { done: true }, revision: store.pendingRevision } });
        continue;
      }
      try {
        out.push({ ok: true, applied: machine.apply(decodeMessage<Command>(e.data)) });
      } catch (err) {
        const pe = err instanceof PhotonError ? err : null;
        out.push({ ok: false, code: pe?.code ?? "PHOTON:Internal", message: (err as Error).message, grpc: pe?.grpcStatus ?? 13 });
      }
    }
    if (last > 0) store.putMeta("raft_applied", String(last));
    store.flush(false);
    const to = store.currentRevision;
    if (to >= from) for (const l of this.listeners) l(from, to);
    return out;
  }

  private snapshot(meta: SnapshotMeta): Uint8Array {
    const store = this.o.machine.store;
    store.flush(false);
    const chunks = [...store.snapshot()];
    const size = chunks.reduce((n, c) => n + c.length, 0);
    const out = new Uint8Array(size);
    let pos = 0;
    for (const c of chunks) {
      out.set(c, pos);
      pos += c.length;
    }
    this.o.logger.info("raft snapshot taken", { index: meta.index, bytes: size });
    return out;
  }

  private install(data: Uint8Array, meta: SnapshotMeta): void {
    const { machine } = this.o;
    machine.store.flush(false);
    machine.store.restore(data);
    machine.store.putMeta("raft_applied", String(meta.index));
    machine.store.flush(true);
    machine.lessor.load();
    this.o.logger.info("raft snapshot installed", { index: meta.index, revision: machine.store.currentRevision });
    this.o.onSnapshotInstalled?.();
  }

  async propose(cmd: Command): Promise<Applied> {
    if (this.closed) throw etcdError("Stopped");
    const status = this.node.role(CHAINFIRE_GROUP);
    if (status.role !== "leader") {
      if (!status.leader) throw etcdError("NotLeader");
      return this.forwarded(status.leader, cmd);
    }
    let outcome: Outcome;
    try {
      outcome = (await this.node.propose(CHAINFIRE_GROUP, encodeMessage(cmd))) as Outcome;
    } catch (e) {
      if (e instanceof PhotonError && e.code === "RAFT:NotLeader") {
        const leader = Number((e.details as { leader?: number } | undefined)?.leader ?? 0);
        if (leader && leader !== this.o.memberId) return this.forwarded(leader, cmd);
        throw etcdError("NotLeader");
      }
      throw e;
    }
    if (!outcome.ok) throw new PhotonError(outcome.code, outcome.message, { grpc: outcome.grpc });
    return outcome.applied;
  }

  /**
   * Forwards to the leader, then waits until this member has applied the command too (a
   * ReadIndex barrier), so what the caller wrote through this member is what it reads here next
   * — a lease granted through a follower can be revoked through it at once. A barrier failing
   * after the write succeeded does not fail the write.
   */
  private async forwarded(leader: number, cmd: Command): Promise<Applied> {
    const applied = await this.o.forward(leader, cmd);
    try {
      await this.readBarrier();
    } catch (e) {
      this.o.logger.debug("read barrier after a forwarded write failed", { error: e });
    }
    return applied;
  }

  async readBarrier(): Promise<void> {
    await this.node.readIndex(CHAINFIRE_GROUP);
  }

  onCommit(listener: CommitListener): void {
    this.listeners.push(listener);
  }

  /** Raft status of chainfire's group. */
  status(): RaftStatus {
    return this.node.status(CHAINFIRE_GROUP);
  }

  get term(): number {
    return this.node.role(CHAINFIRE_GROUP).term;
  }

  get isLeader(): boolean {
    return this.node.isLeader(CHAINFIRE_GROUP);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.node.close();
  }
}
