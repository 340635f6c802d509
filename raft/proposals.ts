/**
 * Bookkeeping of a node's in-flight proposals and linearizable reads, per group.
 *
 * A proposal is identified by the (index, term) raft gave it. When the entry at that index is
 * applied, the proposal resolves with the application's result if the terms match, and is
 * rejected with RAFT:ProposalDropped if another leader's entry took the slot. Losing
 * leadership therefore needs no guess: the new leader's log settles every index. Proposals
 * whose index a snapshot jumps over are in doubt and rejected as dropped.
 *
 * A read waits for its read index (from raft's ReadIndex) and then for the applied index to
 * reach it.
 */
import { RaftErrors } from "./errors.ts";

interface Pending {
  term: number;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

interface ReadWaiter {
  resolve: () => void;
  reject: (e: Error) => void;
  deadline: number;
}

/** Reads asked for together: one ReadIndex request covers all of them. */
interface ReadBatch {
  ctx: string;
  sentAt: number;
  waiters: ReadWaiter[];
}

/** In-flight proposals and reads of one group. */
export class GroupRequests {
  private readonly proposals = new Map<number, Pending>();
  /** Reads not yet sent to raft. */
  queuedReads: ReadWaiter[] = [];
  /** Reads sent, waiting for their read state. */
  inflight: ReadBatch | undefined;
  /** Reads whose read index is known, waiting for applied to reach it (sorted by index). */
  private readyReads: { index: number; waiters: ReadWaiter[] }[] = [];

  /** Registers a proposal raft accepted at (index, term). */
  addProposal(index: number, term: number, resolve: (v: unknown) => void, reject: (e: Error) => void): void {
    const old = this.proposals.get(index);
    old?.reject(RaftErrors.ProposalDropped(`entry ${index} was replaced`));
    this.proposals.set(index, { term, resolve, reject });
  }

  /** Settles the proposal at `index` now that the entry (index, term) was applied. */
  applied(index: number, term: number, result: unknown): void {
    const p = this.proposals.get(index);
    if (!p) return;
    this.proposals.delete(index);
    if (p.term === term) p.resolve(result);
    else p.reject(RaftErrors.ProposalDropped(`entry ${index} was taken by term ${term}; proposed in term ${p.term}`));
  }

  /** Rejects proposals at or below `index` (a snapshot jumped over them: outcome unknown). */
  skippedTo(index: number): void {
    for (const [i, p] of this.proposals) {
      if (i <= index) {
        this.proposals.delete(i);
        p.reject(RaftErrors.ProposalDropped(`entry ${i} was covered by a snapshot; its outcome is unknown`));
      }
    }
  }

  /** A read state arrived: the batch with `ctx` may be served once applied ≥ index. */
  readState(ctx: string, index: number, applied: number): void {
    if (!this.inflight || this.inflight.ctx !== ctx) return;
    const { waiters } = this.inflight;
    this.inflight = undefined;
    if (applied >= index) {
      for (const w of waiters) w.resolve();
      return;
    }
    this.readyReads.push({ index, waiters });
    this.readyReads.sort((a, b) => a.index - b.index);
  }

  /** Serves reads whose index is now applied. */
  appliedTo(applied: number): void {
    while (this.readyReads.length > 0 && this.readyReads[0]!.index <= applied) {
      for (const w of this.readyReads.shift()!.waiters) w.resolve();
    }
  }

  /** Rejects reads past their deadline; returns true if a read batch should be re-sent. */
  expire(now: number, resendAfterMs: number): boolean {
    const timeout = (w: ReadWaiter) => {
      if (w.deadline > now) return true;
      w.reject(RaftErrors.Timeout("no read index in time (no leader or no quorum)"));
      return false;
    };
    this.queuedReads = this.queuedReads.filter(timeout);
    for (const r of this.readyReads) r.waiters = r.waiters.filter(timeout);
    this.readyReads = this.readyReads.filter((r) => r.waiters.length > 0);
    if (this.inflight) {
      this.inflight.waiters = this.inflight.waiters.filter(timeout);
      if (this.inflight.waiters.length === 0) this.inflight = undefined;
      else if (now - this.inflight.sentAt > resendAfterMs) {
        // Raft drops a ReadIndex silently without a leader: ask again with the same waiters.
        this.queuedReads.unshift(...this.inflight.waiters);
        this.inflight = undefined;
      }
    }
    return this.queuedReads.length > 0;
  }

  /** Rejects everything (group closed or node shutting down). */
  failAll(e: Error): void {
    for (const p of this.proposals.values()) p.reject(e);
    this.proposals.clear();
    const reads = [...this.queuedReads, ...(this.inflight?.waiters ?? []), ...this.readyReads.flatMap((r) => r.waiters)];
    for (const w of reads) w.reject(e);
    this.queuedReads = [];
    this.inflight = undefined;
    this.readyReads = [];
  }

  /** Number of proposals waiting to be applied. */
  get pendingProposals(): number {
    return this.proposals.size;
  }
}
