/**
 * iam's operations are lib/api operations (one table served as REST and gRPC with the same
 * validation, semantics and error codes) of `IamService`, called by authenticated `Caller`s.
 */
import { defineOp, type ApiDefinition, type ApiOperation as LibApiOperation, type FieldType } from "../../../lib/api/index.ts";
import { IamErrors } from "../errors.ts";
import type { IamService } from "../service.ts";
import type { Caller } from "../types.ts";

/** An operation of iam's API. */
export type ApiOperation = LibApiOperation<IamService, Caller>;
export type { FieldType };

/** Declares one operation; `run` receives its input already checked against `fields`. */
export function op<I>(spec: Parameters<typeof defineOp<IamService, Caller, I>>[0]): ApiOperation {
  return defineOp<IamService, Caller, I>(spec);
}

/** iam's API over `svc`: its operations, how callers authenticate, its invalid-argument error. */
export function iamApiDefinition(svc: IamService, operations: readonly ApiOperation[]): ApiDefinition<IamService, Caller> {
  return {
    service: svc,
    operations,
    authenticate: (s, req) => s.authenticate(req),
    invalid: (message, field) => IamErrors.InvalidArgument(message, field ? { details: { field } } : {}),
  };
}
