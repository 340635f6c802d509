/** Error catalogue of the Raft layer; native codes match native/raft/src/error.rs. */
import { defineErrors, GrpcStatus, PhotonError } from "../lib/errors.ts";

/** The Raft layer's errors, by name (code `RAFT:<Name>`). */
export const RaftErrors = defineErrors("RAFT", {
  NotLeader: { grpc: GrpcStatus.UNAVAILABLE, hint: "retry on the leader named in details.leader (0 = unknown yet)" },
  ProposalDropped: { grpc: GrpcStatus.UNAVAILABLE, hint: "the entry was not (or may not have been) committed: retry if idempotent" },
  NoSuchGroup: { grpc: GrpcStatus.NOT_FOUND, hint: "open the group first (createGroup)" },
  GroupExists: { grpc: GrpcStatus.ALREADY_EXISTS, hint: "the group is already open" },
  InvalidArgument: { grpc: GrpcStatus.INVALID_ARGUMENT, hint: "fix the call; the message names the argument" },
  ConfChangeRefused: { grpc: GrpcStatus.FAILED_PRECONDITION, hint: "the membership change is not valid now (unknown node, one already pending)" },
  Compacted: { grpc: GrpcStatus.OUT_OF_RANGE, hint: "the log was compacted past that index" },
  Closed: { grpc: GrpcStatus.UNAVAILABLE, hint: "the Raft node was closed" },
  StorageError: { grpc: GrpcStatus.INTERNAL, hint: "the log database failed; the node stops: check the disk" },
  Internal: { grpc: GrpcStatus.INTERNAL, hint: "a bug or broken invariant; the host refuses further work: restart the node" },
  Timeout: { grpc: GrpcStatus.DEADLINE_EXCEEDED, hint: "no answer in time (no leader or no quorum); retry" },
  SnapshotMissing: { grpc: GrpcStatus.FAILED_PRECONDITION, hint: "the application is behind the log start and no snapshot is stored: restore its data" },
});

type RaftErrorName = keyof typeof RaftErrors;

const prefix = /^\[RAFT:([A-Za-z]+)\] ([\s\S]*)$/;

/**
 * Turns an error thrown by the addon (message `[RAFT:Code] text`) into a PhotonError with that
 * code. Errors from napi argument checks (wrong JS types) become RAFT:InvalidArgument.
 */
export function fromNative(e: unknown): PhotonError {
  if (e instanceof PhotonError) return e;
  const message = e instanceof Error ? e.message : String(e);
  const m = prefix.exec(message);
  const name = m?.[1] as RaftErrorName | undefined;
  if (m && name && name in RaftErrors) return RaftErrors[name](m[2] ?? message, { cause: e });
  return RaftErrors.InvalidArgument(message, { cause: e });
}

/** A NotLeader error carrying the leader hint in `details.leader` (0 = unknown). */
export function notLeader(groupId: number, leader: number): PhotonError {
  return RaftErrors.NotLeader(`not the leader of group ${groupId}; leader hint ${leader}`, { details: { groupId, leader } });
}
