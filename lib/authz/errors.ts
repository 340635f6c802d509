/**
 * The authorisation evaluator's error codes. They share iam's `IAM:` namespace because the rules
 * they enforce (action syntax, conditions, snapshot integrity) are iam's; `services/iam/errors.ts`
 * re-exports them in the one iam catalogue. The evaluator itself never throws on a decision: bad
 * requests are denied with a reason. These errors come from building an index or validating input.
 */
import { defineErrors, GrpcStatus } from "../errors.ts";

/** Errors raised while parsing actions and conditions or building an index from a snapshot. */
export const AuthzErrors = defineErrors("IAM", {
  InvalidAction: {
    grpc: GrpcStatus.INVALID_ARGUMENT,
    hint: "write actions as <service>:<resource>:<verb> (lowercase; a whole segment may be *)",
  },
  InvalidCondition: {
    grpc: GrpcStatus.INVALID_ARGUMENT,
    hint: "fix the condition: CIDRs like 10.0.0.0/8, times as HH:MM or ISO 8601, tags as key=value",
  },
  InvalidSnapshot: {
    grpc: GrpcStatus.INTERNAL,
    hint: "the iam snapshot is inconsistent (a dangling reference or a cycle): a bug in the store",
  },
});
