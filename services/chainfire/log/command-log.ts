/**
 * The path every change takes: a command is proposed to the log, made durable (replicated, with
 * Raft), applied by the state machine, and only then acknowledged. Reads that must be
 * linearizable first pass a read barrier. Implementations: LocalLog (one node, group commit);
 * the Raft-backed log replaces it in a cluster.
 */
import type { Command, CommandResult } from "../types.ts";

/** The outcome of an applied command. */
export interface Applied {
  result: CommandResult;
  /** Store revision right after the command. */
  revision: number;
}

/** Called after each durable group of commands, with the revision range it covered. */
export type CommitListener = (fromRevision: number, toRevision: number) => void;

/** The replicated log as the service sees it. */
export interface CommandLog {
  /** Proposes a command; resolves once it is durable and applied, rejects with its apply error. */
  propose(cmd: Command): Promise<Applied>;
  /** Resolves when a read started now sees every write acknowledged before it. */
  readBarrier(): Promise<void>;
  /** Registers a listener for committed revision ranges (the watch hub). */
  onCommit(listener: CommitListener): void;
  /** The current Raft term (1 for a single node). */
  readonly term: number;
  /** Whether this node leads (and so expires leases). */
  readonly isLeader: boolean;
  /** Stops accepting proposals; pending ones are rejected. */
  close(): Promise<void>;
}
