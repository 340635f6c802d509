/**
 * Membership of a chainfire cluster: the etcd Cluster API (list, add, remove, update, promote)
 * and MoveLeader on top of Raft conf changes, with each member's name and URLs kept in the
 * replicated state. Operations that only the leader can run are forwarded to it.
 *
 * MemberAdd of a voter adds a learner first and promotes it once it has caught up with the
 * leader's log (so adding a member never costs the cluster its quorum while the newcomer copies
 * the data) — see docs/adr/0007-chainfire-cluster.md.
 */
import type { Logger } from "../../../lib/log.ts";
import { CHAINFIRE_GROUP, type RaftLog } from "../log/raft-log.ts";
import type { Forwarding } from "../log/forwarding.ts";
import { etcdError } from "../errors.ts";
import type { MvccStore } from "../mvcc/mvcc-store.ts";
import type { MemberAttrs } from "../types.ts";
import { listMembers, peerAddress, type Member } from "./members.ts";

/** An operation forwarded to the leader. */
export type AdminOp =
  | { op: "memberAdd"; peerUrls: string[]; isLearner: boolean }
  | { op: "memberRemove"; id: number }
  | { op: "memberUpdate"; id: number; peerUrls: string[] }
  | { op: "memberPromote"; id: number }
  | { op: "moveLeader"; id: number };

/** How far behind the leader's commit index a learner may be to get promoted. */
const CAUGHT_UP_ENTRIES = 64;

/**
 * Runs a Raft conf change, retrying while Raft drops it (RAFT:ProposalDropped: a change is still
 * pending, or a new leader has not yet applied the entries of its term) for up to `ms`.
 */
async function confChange(f: () => Promise<void>, ms = 5_000): Promise<void> {
  const deadline = performance.now() + ms;
  for (;;) {
    try {
      return await f();
    } catch (e) {
      if ((e as { code?: string }).code !== "RAFT:ProposalDropped" || performance.now() > deadline) throw e;
      await Bun.sleep(50);
    }
  }
}

/** Membership operations of one member. */
export class ClusterManager {
  private readonly promoting = new Set<number>();

  constructor(
    private readonly log: RaftLog,
    private readonly store: MvccStore,
    private readonly forwarding: Forwarding,
    private readonly randomId: () => number,
    private readonly logger: Logger,
  ) {}

  /** Every voter and learner with its name and URLs. */
  members(): Member[] {
    return listMembers(this.store, this.log.status().membership);
  }

  /** Runs `op` here when leading, otherwise on the leader. */
  async run<T>(op: AdminOp): Promise<T> {
    const status = this.log.status();
    if (status.role !== "leader") {
      if (!status.leader) throw etcdError("NotLeader");
      return this.forwarding.admin<T>(status.leader, op);
    }
    return (await this.runHere(op)) as T;
  }

  /** Executes an operation on this member, which must lead. */
  async runHere(op: AdminOp): Promise<unknown> {
    if (!this.log.isLeader) throw etcdError("NotLeader");
    const node = this.log.node;
    switch (op.op) {
      case "memberAdd": {
        if (op.peerUrls.length === 0) throw etcdError("MemberNotFound");
        const taken = this.members().some((m) => m.peerUrls.some((u) => op.peerUrls.includes(u)));
        if (taken) throw etcdError("PeerURLExist");
        const id = this.randomId();
        const attrs: MemberAttrs = { id, name: "", peerUrls: op.peerUrls, clientUrls: [], wantsVote: !op.isLearner };
        await this.log.propose({ memberAttrs: attrs });
        await confChange(() => node.addLearner(CHAINFIRE_GROUP, id, peerAddress(op.peerUrls[0]!)));
        if (!op.isLearner) this.promoteWhenCaughtUp(id);
        return { member: { ...attrs, isLearner: true }, members: this.members() };
      }
      case "memberRemove": {
        if (!this.members().some((m) => m.id === op.id)) throw etcdError("MemberNotFound");
        if (op.id === node.nodeId) {
          // raft-rs panics when a leader commits its own removal (maybe_commit unwraps the leader's
          // own progress): hand leadership to the most caught-up voter, which then removes us.
          const s = this.log.status();
          const next = s.membership.voters.filter((id) => id !== op.id).sort((a, b) => (s.progress[b] ?? 0) - (s.progress[a] ?? 0))[0];
          if (next === undefined) throw etcdError("NotLeader");
          await node.transferLeader(CHAINFIRE_GROUP, next);
          return this.run(op);
        }
        await confChange(() => node.remove(CHAINFIRE_GROUP, op.id));
        await this.log.propose({ memberRemove: { id: op.id } });
        return { members: this.members() };
      }
      case "memberUpdate": {
        const m = this.members().find((x) => x.id === op.id);
        if (!m) throw etcdError("MemberNotFound");
        await this.log.propose({ memberAttrs: { ...m, peerUrls: op.peerUrls } });
        if (op.peerUrls[0]) node.setPeer(op.id, peerAddress(op.peerUrls[0]));
        return { members: this.members() };
      }
      case "memberPromote": {
        const m = this.members().find((x) => x.id === op.id);
        if (!m) throw etcdError("MemberNotFound");
        if (!m.isLearner) throw etcdError("MemberNotLearner");
        if (!this.caughtUp(op.id)) throw etcdError("LearnerNotReady");
        await confChange(() => node.promote(CHAINFIRE_GROUP, op.id));
        return { members: this.members() };
      }
      case "moveLeader": {
        if (!this.members().some((m) => m.id === op.id && !m.isLearner)) throw etcdError("MemberNotFound");
        await node.transferLeader(CHAINFIRE_GROUP, op.id);
        return {};
      }
    }
  }

  private caughtUp(id: number): boolean {
    const s = this.log.status();
    const matched = s.progress[id] ?? 0;
    return matched > 0 && s.commit - matched <= CAUGHT_UP_ENTRIES;
  }

  /** Promotes learner `id` once it has caught up (polling the leader's progress). */
  private promoteWhenCaughtUp(id: number): void {
    if (this.promoting.has(id)) return;
    this.promoting.add(id);
    const tick = async () => {
      try {
        if (!this.log.isLeader || !this.members().some((m) => m.id === id && m.isLearner)) return this.promoting.delete(id);
        if (this.caughtUp(id)) {
          await this.log.node.promote(CHAINFIRE_GROUP, id);
          this.logger.info("learner promoted to voter", { member: id.toString(16) });
          return this.promoting.delete(id);
        }
      } catch (e) {
        this.logger.warn("promotion attempt failed", { member: id.toString(16), error: e });
      }
      setTimeout(() => void tick(), 200).unref?.();
    };
    setTimeout(() => void tick(), 200).unref?.();
  }

  /** Resumes promotions of learners that were added as voters (a new leader does this). */
  resumePromotions(): void {
    for (const m of this.members()) if (m.isLearner && m.wantsVote) this.promoteWhenCaughtUp(m.id);
  }
}
