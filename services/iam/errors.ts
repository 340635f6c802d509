/**
 * iam's error catalogue (namespace `IAM:`), including the evaluator's codes from lib/authz.
 * Messages name the offending field, id or name; details never carry secrets.
 */
import { defineErrors, GrpcStatus } from "../../lib/errors.ts";
import { AuthzErrors } from "../../lib/authz/errors.ts";

const own = defineErrors("IAM", {
  InvalidName: { grpc: GrpcStatus.INVALID_ARGUMENT, hint: "names are lowercase letters, digits and '-', starting with a letter" },
  InvalidArgument: { grpc: GrpcStatus.INVALID_ARGUMENT, hint: "fix the field the message names" },
  NotFound: { grpc: GrpcStatus.NOT_FOUND, hint: "check the id; it may have been deleted" },
  AlreadyExists: { grpc: GrpcStatus.ALREADY_EXISTS, hint: "pick another name, or use the existing one" },
  Cycle: { grpc: GrpcStatus.INVALID_ARGUMENT, hint: "a project or group cannot contain itself, directly or through others" },
  CrossTenant: { grpc: GrpcStatus.INVALID_ARGUMENT, hint: "principals, roles and scopes of a binding or group must be in the same organisation" },
  NotEmpty: { grpc: GrpcStatus.FAILED_PRECONDITION, hint: "delete or move what it still contains first" },
  InUse: { grpc: GrpcStatus.FAILED_PRECONDITION, hint: "delete the bindings that use it first" },
  InvalidToken: { grpc: GrpcStatus.UNAUTHENTICATED, hint: "log in again to get a fresh token" },
  TokenExpired: { grpc: GrpcStatus.UNAUTHENTICATED, hint: "refresh the token or log in again" },
  TokenRevoked: { grpc: GrpcStatus.UNAUTHENTICATED, hint: "log in again" },
  InvalidCredentials: { grpc: GrpcStatus.UNAUTHENTICATED, hint: "check the name and secret" },
  CredentialExpired: { grpc: GrpcStatus.UNAUTHENTICATED, hint: "create a new credential" },
  WeakPassword: { grpc: GrpcStatus.INVALID_ARGUMENT, hint: "use at least 12 characters" },
  Unauthenticated: { grpc: GrpcStatus.UNAUTHENTICATED, hint: "send a valid access token (`Authorization: Bearer ...`); `photon login` gets one" },
  PermissionDenied: { grpc: GrpcStatus.PERMISSION_DENIED, hint: "ask an administrator for a binding that allows the action; the message names it" },
  TooManyAttempts: { grpc: GrpcStatus.RESOURCE_EXHAUSTED, hint: "wait until the time in details.retryAfterSeconds, then try again" },
  Conflict: { grpc: GrpcStatus.ABORTED, hint: "concurrent changes kept conflicting; retry" },
  NoSigningKey: { grpc: GrpcStatus.FAILED_PRECONDITION, hint: "generate or load a signing key before issuing tokens" },
});

/** Every iam error by name: `IamErrors.NotFound("project prj_1 not found")`. */
export const IamErrors = { ...own, ...AuthzErrors };
