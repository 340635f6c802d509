/**
 * Error codes produced by the gRPC transport itself (server and client). Errors a handler throws
 * keep their own codes; a status that arrives without a `photon-error-code` trailer becomes
 * `GRPC:<StatusName>` (see `genericErrorCode`), so these names match that scheme.
 */
import { defineErrors, GrpcStatus } from "../errors.ts";

/** The transport's error catalogue. */
export const GrpcErrors = defineErrors("GRPC", {
  Cancelled: { grpc: GrpcStatus.CANCELLED, hint: "the call was cancelled by the caller; nothing to do" },
  DeadlineExceeded: { grpc: GrpcStatus.DEADLINE_EXCEEDED, hint: "retry with a longer deadline if the operation is idempotent" },
  MessageTooLarge: { grpc: GrpcStatus.RESOURCE_EXHAUSTED, hint: "send smaller messages or raise the limit on both ends" },
  Protocol: { grpc: GrpcStatus.INTERNAL, hint: "the peer broke the gRPC wire protocol; check client and server versions" },
  UnsupportedEncoding: { grpc: GrpcStatus.UNIMPLEMENTED, hint: "send identity, gzip or deflate messages" },
  UnsupportedContentType: { grpc: GrpcStatus.UNIMPLEMENTED, hint: "send application/grpc or application/grpc+proto" },
  Unavailable: { grpc: GrpcStatus.UNAVAILABLE, hint: "the connection failed or closed; retry with backoff" },
});
