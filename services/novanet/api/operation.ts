/** novanet's operations are lib/api operations of `NovanetService` called by iam-authenticated callers. */
import { defineOp, type ApiOperation, type ApiRequest } from "../../../lib/api/index.ts";
import type { GuardCaller } from "../../iam/guard.ts";
import type { NovanetService } from "../service.ts";

/** An operation of novanet's API. */
export type NovanetOperation = ApiOperation<NovanetService, GuardCaller>;

/** Declares one operation (see lib/api/operation.ts). */
export function op<I>(spec: Parameters<typeof defineOp<NovanetService, GuardCaller, I>>[0]): NovanetOperation {
  return defineOp<NovanetService, GuardCaller, I>(spec);
}

export type { ApiRequest };
