/**
 * novanet's error catalogue (namespace `NOVANET:`). Messages name the offending field or id;
 * iam's own codes (`IAM:Unauthenticated`, `IAM:PermissionDenied`...) pass through unchanged.
 */
import { defineErrors, GrpcStatus } from "../../lib/errors.ts";

/** Every novanet error by name: `NovanetErrors.NotFound("vpc vpc_1 not found")`. */
export const NovanetErrors = defineErrors("NOVANET", {
  InvalidArgument: { grpc: GrpcStatus.INVALID_ARGUMENT, hint: "fix the field the message names" },
  InvalidCidr: { grpc: GrpcStatus.INVALID_ARGUMENT, hint: "give a network in CIDR form (10.0.0.0/24) with no host bits set, large enough to hold addresses" },
  Overlap: { grpc: GrpcStatus.INVALID_ARGUMENT, hint: "pick a CIDR that overlaps no other subnet of the VPC" },
  OutOfRange: { grpc: GrpcStatus.INVALID_ARGUMENT, hint: "the address or range must lie inside the named network" },
  InvalidRule: { grpc: GrpcStatus.INVALID_ARGUMENT, hint: "fix the rule's protocol, port range or ICMP type/code" },
  NotFound: { grpc: GrpcStatus.NOT_FOUND, hint: "check the id; it may have been deleted or belong to another project" },
  IpInUse: { grpc: GrpcStatus.ALREADY_EXISTS, hint: "pick another fixed IP, or omit it to get a free one" },
  InUse: { grpc: GrpcStatus.FAILED_PRECONDITION, hint: "delete what still uses it first (the message names it)" },
  Exhausted: { grpc: GrpcStatus.RESOURCE_EXHAUSTED, hint: "the pool (addresses, VNIs) is full: free some or widen it" },
  QuotaExceeded: { grpc: GrpcStatus.RESOURCE_EXHAUSTED, hint: "delete resources or ask an administrator to raise the project's quota" },
  NoExternalNetwork: { grpc: GrpcStatus.FAILED_PRECONDITION, hint: "the operator has not configured [novanet] external_cidr" },
  Conflict: { grpc: GrpcStatus.ABORTED, hint: "concurrent changes kept conflicting; retry" },
});
