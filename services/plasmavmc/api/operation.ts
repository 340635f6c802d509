/** plasmavmc's operations are lib/api operations of `PlasmavmcService` called by iam-authenticated callers. */
import { defineOp, type ApiOperation } from "../../../lib/api/index.ts";
import type { GuardCaller } from "../../iam/guard.ts";
import type { PlasmavmcService } from "../service.ts";

/** An operation of plasmavmc's API. */
export type PlasmavmcOperation = ApiOperation<PlasmavmcService, GuardCaller>;

/** Declares one operation (see lib/api/operation.ts). */
export function op<I>(spec: Parameters<typeof defineOp<PlasmavmcService, GuardCaller, I>>[0]): PlasmavmcOperation {
  return defineOp<PlasmavmcService, GuardCaller, I>(spec);
}
