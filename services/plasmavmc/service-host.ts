/**
 * Hosts (read by administrators: `plasmavmc:host:list` on the deployment) and quotas (a project's
 * limits and usage; `plasmavmc:quota:update`, which iam's `member` roles exclude, changes them).
 */
import type { GuardCaller } from "../iam/guard.ts";
import { PlasmavmcErrors } from "./errors.ts";
import type { PlasmavmcService } from "./service.ts";
import { keys } from "./store.ts";
import { QUOTA_KINDS, type Host, type HostAlloc, type HostView, type Quota, type QuotaKind } from "./types.ts";

/** Every registered host with its liveness and what is placed on it. */
export async function listHosts(s: PlasmavmcService, caller: GuardCaller): Promise<{ items: HostView[] }> {
  await s.authorizeGlobal(caller, "host", "list");
  const alive = new Set((await s.store.list(keys.kind("alive"))).map((d) => d.key.slice(keys.kind("alive").length)));
  const items: HostView[] = [];
  for (const { value: h } of await s.store.list<Host>(keys.kind("hosts"))) {
    const a = (await s.store.get<HostAlloc>(keys.alloc(h.name))) ?? { vcpus: 0, memoryMiB: 0 };
    items.push({ ...h, alive: alive.has(h.name), usedVcpus: a.vcpus, usedMemoryMiB: a.memoryMiB });
  }
  return { items: items.sort((a, b) => a.name.localeCompare(b.name)) };
}

/** A project's limits and usage. */
export async function getQuota(s: PlasmavmcService, caller: GuardCaller, i: { project?: string }): Promise<Quota> {
  const scope = await s.authorizeProject(caller, "quota", "get", i.project);
  return { project: scope.project, limits: await s.limits(undefined, scope.project), usage: await s.usage(undefined, scope.project) };
}

/**
 * Sets some of a project's limits (0-10 000 000 each).
 * @throws PLASMAVMC:InvalidArgument for an unknown kind or a bad number.
 */
export async function updateQuota(s: PlasmavmcService, caller: GuardCaller, i: { project?: string; limits: Record<string, unknown> }): Promise<Quota> {
  const scope = await s.authorizeProject(caller, "quota", "update", i.project);
  const limits: Partial<Record<QuotaKind, number>> = {};
  for (const [k, v] of Object.entries(i.limits ?? {})) {
    if (!(QUOTA_KINDS as readonly string[]).includes(k)) throw PlasmavmcErrors.InvalidArgument(`unknown quota ${JSON.stringify(k)}; kinds: ${QUOTA_KINDS.join(", ")}`, { details: { field: `limits.${k}` } });
    if (!Number.isSafeInteger(v) || (v as number) < 0 || (v as number) > 10_000_000) throw PlasmavmcErrors.InvalidArgument(`limits.${k} must be an integer 0-10000000`, { details: { field: `limits.${k}` } });
    limits[k as QuotaKind] = v as number;
  }
  await s.store.transact(async (tx) => {
    const cur = (await tx.get<Partial<Record<QuotaKind, number>>>(keys.quota(scope.project))) ?? {};
    tx.put(keys.quota(scope.project), { ...cur, ...limits });
  });
  return getQuota(s, caller, { project: scope.project });
}
