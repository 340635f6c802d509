/**
 * The error catalogue of the etcd client (`ETCD:*`), and the one function that rebuilds a typed
 * error from what a server sent.
 *
 * etcd (and chainfire, which speaks its API) reports failures as a gRPC status plus a fixed
 * description (`etcdserver: mvcc: required revision has been compacted`); those descriptions are
 * etcd's wire contract (rpctypes/error.go), so matching them here, in one table, is how every
 * caller gets stable codes instead of matching messages itself.
 */
import { defineErrors, GrpcStatus, PhotonError } from "../errors.ts";

/** The client's error codes; `hint` says what the caller can do. */
export const EtcdErrors = defineErrors("ETCD", {
  Unavailable: {
    grpc: GrpcStatus.UNAVAILABLE,
    hint: "no endpoint answered, or the cluster has no leader; retry with backoff (a write cut off mid-call may have been applied)",
  },
  Timeout: { grpc: GrpcStatus.DEADLINE_EXCEEDED, hint: "the call took too long; a write may or may not have been applied: re-read before retrying" },
  Cancelled: { grpc: GrpcStatus.CANCELLED, hint: "the caller cancelled the call; nothing to do" },
  Closed: { grpc: GrpcStatus.UNAVAILABLE, hint: "the client was closed; create a new one" },
  Compacted: { grpc: GrpcStatus.OUT_OF_RANGE, hint: "the revision was compacted: re-list at the current revision, then watch from there" },
  FutureRevision: { grpc: GrpcStatus.OUT_OF_RANGE, hint: "read at or before the current revision" },
  LeaseNotFound: { grpc: GrpcStatus.NOT_FOUND, hint: "the lease expired or was revoked: grant a new one and re-create its keys" },
  LeaseExpired: { grpc: GrpcStatus.NOT_FOUND, hint: "keep-alives failed past the lease's TTL: treat it as gone, grant a new one" },
  LeaseExists: { grpc: GrpcStatus.FAILED_PRECONDITION, hint: "pick another lease id, or let the server choose" },
  LeaseTtlTooLarge: { grpc: GrpcStatus.OUT_OF_RANGE, hint: "use a smaller TTL" },
  KeyNotFound: { grpc: GrpcStatus.INVALID_ARGUMENT, hint: "ignoreValue/ignoreLease need an existing key" },
  InvalidArgument: { grpc: GrpcStatus.INVALID_ARGUMENT, hint: "fix the request; the message says what is wrong" },
  RequestTooLarge: { grpc: GrpcStatus.INVALID_ARGUMENT, hint: "send smaller values or fewer operations per request" },
  NoSpace: { grpc: GrpcStatus.RESOURCE_EXHAUSTED, hint: "the store is full: compact, defragment, then disarm the NOSPACE alarm" },
  TooManyRequests: { grpc: GrpcStatus.RESOURCE_EXHAUSTED, hint: "the server is overloaded; retry with backoff" },
  PermissionDenied: { grpc: GrpcStatus.PERMISSION_DENIED, hint: "the user lacks a role allowing this key range" },
  Unauthenticated: { grpc: GrpcStatus.UNAUTHENTICATED, hint: "authenticate again" },
  WatchCanceled: { grpc: GrpcStatus.ABORTED, hint: "the server cancelled the watch; the message says why: re-list and watch again" },
  Conflict: { grpc: GrpcStatus.ABORTED, hint: "the key kept changing under a read-modify-write; retry later or reduce contention" },
  Unimplemented: { grpc: GrpcStatus.UNIMPLEMENTED, hint: "the server does not offer this call" },
  Internal: { grpc: GrpcStatus.INTERNAL, hint: "an unexpected server or client failure; report it with the message" },
});

/** A code of the catalogue, e.g. `ETCD:Compacted`. */
export type EtcdErrorCode = `ETCD:${keyof typeof EtcdErrors}`;

type Name = keyof typeof EtcdErrors;

/** etcd's exact descriptions (etcdserver/api/v3rpc/rpctypes/error.go, v3.4) and our names. */
const byMessage: Record<string, Name> = {
  "etcdserver: key is not provided": "InvalidArgument",
  "etcdserver: key not found": "KeyNotFound",
  "etcdserver: value is provided": "InvalidArgument",
  "etcdserver: lease is provided": "InvalidArgument",
  "etcdserver: too many operations in txn request": "InvalidArgument",
  "etcdserver: duplicate key given in txn request": "InvalidArgument",
  "etcdserver: mvcc: required revision has been compacted": "Compacted",
  "etcdserver: mvcc: required revision is a future revision": "FutureRevision",
  "etcdserver: mvcc: database space exceeded": "NoSpace",
  "etcdserver: requested lease not found": "LeaseNotFound",
  "etcdserver: lease already exists": "LeaseExists",
  "etcdserver: too large lease TTL": "LeaseTtlTooLarge",
  "etcdserver: request is too large": "RequestTooLarge",
  "etcdserver: too many requests": "TooManyRequests",
  "etcdserver: permission denied": "PermissionDenied",
  "etcdserver: invalid auth token": "Unauthenticated",
  "etcdserver: authentication failed, invalid user ID or password": "Unauthenticated",
  "etcdserver: user name is empty": "Unauthenticated",
  "etcdserver: no leader": "Unavailable",
  "etcdserver: not leader": "Unavailable",
  "etcdserver: leader changed": "Unavailable",
  "etcdserver: not capable": "Unavailable",
  "etcdserver: server stopped": "Unavailable",
  "etcdserver: unhealthy cluster": "Unavailable",
  "etcdserver: rpc not supported for learner": "Unavailable",
  "etcdserver: request timed out": "Timeout",
  "etcdserver: request timed out, possibly due to previous leader failure": "Timeout",
  "etcdserver: request timed out, possibly due to connection lost": "Timeout",
  "etcdserver: corrupt cluster": "Internal",
};

/**
 * Descriptions that mean the server refused the request before acting on it, so a write may be
 * sent again (to another endpoint) without risk of applying it twice.
 */
const refusedMessages = new Set([
  "etcdserver: no leader",
  "etcdserver: not leader",
  "etcdserver: not capable",
  "etcdserver: server stopped",
  "etcdserver: unhealthy cluster",
  "etcdserver: rpc not supported for learner",
  "etcdserver: too many requests",
]);

/** Socket errors that happen before a request could be written: the call never left. */
const connectErrors = new Set(["ECONNREFUSED", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN", "EADDRNOTAVAIL", "ConnectionRefused"]);

/** The generic name for a gRPC status that came without a known etcd description. */
function byStatus(status: number): Name {
  switch (status) {
    case GrpcStatus.CANCELLED:
      return "Cancelled";
    case GrpcStatus.DEADLINE_EXCEEDED:
      return "Timeout";
    case GrpcStatus.UNAVAILABLE:
      return "Unavailable";
    case GrpcStatus.INVALID_ARGUMENT:
    case GrpcStatus.FAILED_PRECONDITION:
    case GrpcStatus.OUT_OF_RANGE:
      return "InvalidArgument";
    case GrpcStatus.RESOURCE_EXHAUSTED:
      return "RequestTooLarge";
    case GrpcStatus.PERMISSION_DENIED:
      return "PermissionDenied";
    case GrpcStatus.UNAUTHENTICATED:
      return "Unauthenticated";
    case GrpcStatus.UNIMPLEMENTED:
      return "Unimplemented";
    default:
      return "Internal";
  }
}

/** True for a PhotonError of this catalogue. */
export function isEtcdError(e: unknown, code?: EtcdErrorCode): e is PhotonError {
  return e instanceof PhotonError && e.code.startsWith("ETCD:") && (code === undefined || e.code === code);
}

/**
 * Rebuilds an `ETCD:*` error from anything a call threw: an etcd description wins, then the
 * gRPC status; `ETCD:*` errors pass through unchanged. The original error is the `cause`, and
 * `details.grpcCode` keeps the code the transport produced (e.g. `GRPC:Unavailable`).
 */
export function toEtcdError(e: unknown): PhotonError {
  if (isEtcdError(e)) return e;
  if (!(e instanceof PhotonError)) {
    const message = e instanceof Error ? e.message : String(e);
    return EtcdErrors.Internal(message, { cause: e });
  }
  let name: Name | undefined = byMessage[e.message];
  // `RESOURCE_EXHAUSTED` from the transport itself is an oversized message.
  if (name === undefined && e.code === "GRPC:MessageTooLarge") name = "RequestTooLarge";
  name ??= byStatus(e.grpcStatus);
  return EtcdErrors[name](e.message, { cause: e, details: { ...e.details, grpcCode: e.code } });
}

/**
 * True when `e` (as thrown by the transport or rebuilt by `toEtcdError`) proves the request was
 * not acted upon: the connection could not be opened, or the server refused it outright. Only
 * then is a write retried on another endpoint.
 */
export function wasNotSent(e: unknown): boolean {
  if (!(e instanceof PhotonError)) return false;
  const root = e.cause instanceof PhotonError ? e.cause : e;
  if (refusedMessages.has(root.message)) return true;
  if (root.code === "GRPC:Unavailable") {
    const cause = root.cause as { code?: unknown } | undefined;
    if (cause && typeof cause.code === "string" && connectErrors.has(cause.code)) return true;
    // lib/grpc gives these two pre-send failures no code of their own; its messages are ours.
    if (root.message.startsWith("cannot start a call")) return true;
    if (root.message === "the server refused the stream") return true;
  }
  return false;
}
