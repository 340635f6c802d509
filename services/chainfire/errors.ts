/**
 * chainfire's error catalogue. Messages are etcd's own (`etcdserver: ...`): etcd's Go client
 * (and so etcdctl) turns gRPC errors back into typed errors by their exact description, so these
 * strings are part of the wire contract. The gRPC codes are etcd's too.
 */
import { defineErrors, GrpcStatus } from "../../lib/errors.ts";

/** chainfire errors by name; the factory message should be the etcd text below. */
export const ChainfireErrors = defineErrors("CHAINFIRE", {
  EmptyKey: { grpc: GrpcStatus.INVALID_ARGUMENT, hint: "keys must not be empty" },
  KeyNotFound: { grpc: GrpcStatus.INVALID_ARGUMENT, hint: "ignore_value/ignore_lease need an existing key" },
  ValueProvided: { grpc: GrpcStatus.INVALID_ARGUMENT, hint: "drop the value when ignore_value is set" },
  LeaseProvided: { grpc: GrpcStatus.INVALID_ARGUMENT, hint: "drop the lease when ignore_lease is set" },
  TooManyOps: { grpc: GrpcStatus.INVALID_ARGUMENT, hint: "split the transaction" },
  DuplicateKey: { grpc: GrpcStatus.INVALID_ARGUMENT, hint: "write each key once per transaction" },
  Compacted: { grpc: GrpcStatus.OUT_OF_RANGE, hint: "read at or after the compact revision" },
  FutureRev: { grpc: GrpcStatus.OUT_OF_RANGE, hint: "read at or before the current revision" },
  LeaseNotFound: { grpc: GrpcStatus.NOT_FOUND, hint: "grant a lease first, or it expired" },
  LeaseExist: { grpc: GrpcStatus.FAILED_PRECONDITION, hint: "pick another lease id" },
  LeaseTTLTooLarge: { grpc: GrpcStatus.OUT_OF_RANGE, hint: "use a smaller TTL" },
  NoSpace: { grpc: GrpcStatus.RESOURCE_EXHAUSTED, hint: "compact and defragment, then disarm the alarm" },
  RequestTooLarge: { grpc: GrpcStatus.INVALID_ARGUMENT, hint: "send smaller requests" },
  MemberNotFound: { grpc: GrpcStatus.NOT_FOUND, hint: "check the member id" },
  PeerURLExist: { grpc: GrpcStatus.FAILED_PRECONDITION, hint: "another member uses that peer URL" },
  MemberNotLearner: { grpc: GrpcStatus.FAILED_PRECONDITION, hint: "only learners can be promoted" },
  LearnerNotReady: { grpc: GrpcStatus.FAILED_PRECONDITION, hint: "wait until the learner has caught up" },
  NotLeader: { grpc: GrpcStatus.UNAVAILABLE, hint: "retry; the client should find the leader" },
  Stopped: { grpc: GrpcStatus.UNAVAILABLE, hint: "the server is stopping; retry elsewhere" },
});

/** etcd's exact error descriptions (etcdserver/api/v3rpc/rpctypes/error.go). */
export const EtcdMessages = {
  EmptyKey: "etcdserver: key is not provided",
  KeyNotFound: "etcdserver: key not found",
  ValueProvided: "etcdserver: value is provided",
  LeaseProvided: "etcdserver: lease is provided",
  TooManyOps: "etcdserver: too many operations in txn request",
  DuplicateKey: "etcdserver: duplicate key given in txn request",
  Compacted: "etcdserver: mvcc: required revision has been compacted",
  FutureRev: "etcdserver: mvcc: required revision is a future revision",
  LeaseNotFound: "etcdserver: requested lease not found",
  LeaseExist: "etcdserver: lease already exists",
  LeaseTTLTooLarge: "etcdserver: too large lease TTL",
  NoSpace: "etcdserver: mvcc: database space exceeded",
  RequestTooLarge: "etcdserver: request is too large",
  MemberNotFound: "etcdserver: member not found",
  PeerURLExist: "etcdserver: Peer URLs already exists",
  MemberNotLearner: "etcdserver: can only promote a learner member",
  LearnerNotReady: "etcdserver: can only promote a learner member which is in sync with leader",
  NotLeader: "etcdserver: not leader",
  Stopped: "etcdserver: server stopped",
} as const;

/** Throws-ready error with etcd's message for `name`. */
export function etcdError(name: keyof typeof EtcdMessages) {
  return ChainfireErrors[name](EtcdMessages[name]);
}
