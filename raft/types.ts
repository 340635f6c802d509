/** Public types of the Raft driver: the application contract, options and status. */
import type { Membership, RaftRole } from "./codec.ts";

export type { Membership, MemberChange, RaftRole } from "./codec.ts";

/** A committed entry given to the application. `data`/`context` are valid during the call only. */
export interface AppliedEntry {
  index: number;
  term: number;
  data: Uint8Array;
  context: Uint8Array;
}

/** Where a snapshot sits in the log. */
export interface SnapshotMeta {
  index: number;
  term: number;
}

/**
 * The replicated state machine, one per node, serving every group of the node. Every callback
 * is synchronous: the driver calls them between two Raft cycles, so the application's state is
 * exactly at the group's applied index whenever `snapshot` is called.
 */
export interface RaftApplication {
  /**
   * Applies committed entries of one group, in log order, and returns one result per entry
   * (handed to the proposer's promise on the node that proposed it). Must be deterministic.
   * Throwing stops the node (a replica that cannot apply must not go on).
   */
  apply(groupId: number, entries: AppliedEntry[]): unknown[] | void;
  /** The group's whole state at its applied index (`meta.index`), to send to a lagging peer. */
  snapshot(groupId: number, meta: SnapshotMeta): Uint8Array;
  /** Replaces the group's state by a snapshot's data (state at `meta.index`). */
  installSnapshot(groupId: number, data: Uint8Array, meta: SnapshotMeta): void;
  /** Optional: the group's membership changed (a conf change was applied or a snapshot installed). */
  onMembershipChange?(groupId: number, membership: Membership): void;
  /** Optional: this node's role or the known leader of a group changed. */
  onLeaderChange?(groupId: number, leader: number, role: RaftRole, term: number): void;
}

/** TLS files of the Raft transport. */
export interface RaftTlsFiles {
  certFile: string;
  keyFile: string;
  caFile: string;
}

/** Options of `RaftNode.open`. */
export interface RaftNodeOptions {
  /** This node's id: a positive safe integer, unique in the cluster and never reused. */
  nodeId: number;
  /** Directory of the node's Raft log database (created if missing). */
  dataDir: string;
  /** The application (state machine). */
  app: RaftApplication;
  /** Listen host for the transport; default 127.0.0.1. */
  hostname?: string;
  /** Listen port; 0 (default) picks a free one (see `RaftNode.address`). */
  port?: number;
  /** Known peers: node id → `host:port`. More are learnt from conf changes and Hello frames. */
  peers?: Record<number, string>;
  /** Milliseconds per Raft tick; default 100. */
  tickMs?: number;
  /** Ticks without a leader before an election; default 10. */
  electionTicks?: number;
  /** Ticks between leader heartbeats; default 1. */
  heartbeatTicks?: number;
  /** Deadline of `readIndex`, `transferLeader` and membership changes, ms; default 5000. */
  requestTimeoutMs?: number;
  /** Snapshot chunk size on the wire; default 1 MiB. */
  snapshotChunkBytes?: number;
  /**
   * Mutual TLS between nodes (PEM files): the listener requires a client certificate signed by
   * `caFile`, outgoing connections verify the peer against `caFile` and present `certFile`.
   * Plaintext TCP without it.
   */
  tls?: RaftTlsFiles;
  /** Called when the node stops on a fatal error (storage failure, application throw). */
  onFatal?(error: Error): void;
}

/** Options of `RaftNode.createGroup`. */
export interface GroupOpenOptions {
  /** Initial voters when the group is new on every initial member (same list everywhere). A
   * node joining an existing group passes none and is brought up by a snapshot. */
  voters?: number[];
  /** Initial learners of a new group. */
  learners?: number[];
  /** The highest index the application has durably applied for this group (default 0: it
   * starts empty and is rebuilt from the stored snapshot and the log). */
  applied?: number;
  /** Keep snapshot data in the log database (received snapshots and `compact`), so a restart
   * of a non-durable application can restore; default true. */
  keepSnapshotData?: boolean;
}

/** A group's state as this node sees it. */
export interface RaftStatus {
  groupId: number;
  role: RaftRole;
  term: number;
  leader: number;
  commit: number;
  applied: number;
  firstIndex: number;
  lastIndex: number;
  membership: Membership;
  /** Leader only: matched index per peer. */
  progress: Record<number, number>;
}
