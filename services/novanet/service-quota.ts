/**
 * Quotas: per project limits on every kind (defaults from the configuration), what the project
 * uses (its claimed slots), and changing them — `novanet:quota:update`, which iam's built-in
 * roles reserve to admins (`*:quota:*` is outside `member`).
 */
import type { GuardCaller } from "../iam/guard.ts";
import { NovanetErrors } from "./errors.ts";
import type { NovanetService } from "./service.ts";
import { keys } from "./store.ts";
import { QUOTA_KINDS, type Quota, type QuotaKind } from "./types.ts";

/** A project's limits and usage. */
export async function getQuota(s: NovanetService, caller: GuardCaller, i: { project?: string }): Promise<Quota> {
  const scope = await s.authorizeProject(caller, "quota", "get", i.project);
  return { project: scope.project, limits: await s.limits(undefined, scope.project), usage: await s.usage(scope.project) };
}

/**
 * Sets some of a project's limits (0-100000 each); lowering a limit below the usage refuses
 * new resources until enough are deleted.
 * @throws NOVANET:InvalidArgument for an unknown kind or a bad number.
 */
export async function updateQuota(s: NovanetService, caller: GuardCaller, i: { project?: string; limits: Record<string, unknown> }): Promise<Quota> {
  const scope = await s.authorizeProject(caller, "quota", "update", i.project);
  const limits: Partial<Record<QuotaKind, number>> = {};
  for (const [k, v] of Object.entries(i.limits ?? {})) {
    if (!(QUOTA_KINDS as readonly string[]).includes(k)) throw NovanetErrors.InvalidArgument(`unknown quota ${JSON.stringify(k)}; kinds: ${QUOTA_KINDS.join(", ")}`, { details: { field: `limits.${k}` } });
    if (!Number.isSafeInteger(v) || (v as number) < 0 || (v as number) > 100_000) throw NovanetErrors.InvalidArgument(`limits.${k} must be an integer 0-100000`, { details: { field: `limits.${k}` } });
    limits[k as QuotaKind] = v as number;
  }
  await s.store.transact(async (tx) => {
    const cur = (await tx.get<Partial<Record<QuotaKind, number>>>(keys.quota(scope.project))) ?? {};
    tx.put(keys.quota(scope.project), { ...cur, ...limits });
  });
  return { project: scope.project, limits: await s.limits(undefined, scope.project), usage: await s.usage(scope.project) };
}
