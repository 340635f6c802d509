/**
 * Security groups and their rules: stateful, allow-only. Rules live inside their group's
 * document (adding one is a compare-and-swap of the group); each rule also takes a unit of the
 * project's `rules` quota. A remote group must belong to the same project.
 */
import type { GuardCaller } from "../iam/guard.ts";
import { NovanetErrors } from "./errors.ts";
import { checkName, checkRule, type RuleSpec } from "./model/validate.ts";
import { newId, shown, type NovanetService } from "./service.ts";
import { keys } from "./store.ts";
import type { Port, SecurityGroup, SecurityGroupRule } from "./types.ts";

/** Creates an empty group (no rule: nothing in, nothing out). */
export async function createSecGroup(s: NovanetService, caller: GuardCaller, i: { project?: string; name?: string; description?: string }): Promise<SecurityGroup> {
  const name = checkName(i.name);
  if ((i.description ?? "").length > 255) throw NovanetErrors.InvalidArgument("description is too long (at most 255 characters)", { details: { field: "description" } });
  if (name === "default") throw NovanetErrors.InvalidArgument("the name default is the project's default group's", { details: { field: "name" } });
  const scope = await s.authorizeProject(caller, "secgroup", "create", i.project);
  const id = newId("secgroups");
  return s.store.transact(async (tx) => {
    await s.claimSlot(tx, scope.project, "secgroups", id);
    await s.defaultGroup(tx, scope);
    const sg: SecurityGroup = { id, org: scope.org, project: scope.project, name, createdAt: new Date().toISOString(), description: i.description ?? "", rules: [], isDefault: false };
    tx.put(keys.doc("secgroups", id), sg);
    return sg;
  });
}

/** One group. */
export async function getSecGroup(s: NovanetService, caller: GuardCaller, i: { id: string }): Promise<SecurityGroup> {
  return shown(await s.load<SecurityGroup>(caller, "secgroups", i.id, "get"));
}

/** The project's groups (its default group included once it exists). */
export async function listSecGroups(s: NovanetService, caller: GuardCaller, i: { project?: string }): Promise<{ items: SecurityGroup[] }> {
  return { items: (await s.list<SecurityGroup>(caller, "secgroups", i.project)).map(shown) };
}

/** Renames a group or changes its description. */
export async function updateSecGroup(s: NovanetService, caller: GuardCaller, i: { id: string; name?: string; description?: string }): Promise<SecurityGroup> {
  const cur = await s.load<SecurityGroup>(caller, "secgroups", i.id, "update");
  const name = checkName(i.name);
  if ((i.description ?? "").length > 255) throw NovanetErrors.InvalidArgument("description is too long (at most 255 characters)", { details: { field: "description" } });
  return s.store.transact(async (tx) => {
    const g = await s.must<SecurityGroup>(tx, "secgroups", i.id, cur.project, "id");
    if (g.isDefault && i.name !== undefined && name !== "default") throw NovanetErrors.InvalidArgument("the default group cannot be renamed", { details: { field: "name" } });
    const next = { ...g, ...(i.name !== undefined ? { name } : {}), ...(i.description !== undefined ? { description: i.description } : {}) };
    tx.put(keys.doc("secgroups", i.id), next);
    return shown(next);
  });
}

/** Deletes a group no port uses (never the default group). */
export async function deleteSecGroup(s: NovanetService, caller: GuardCaller, i: { id: string }): Promise<Record<string, never>> {
  const cur = await s.load<SecurityGroup>(caller, "secgroups", i.id, "delete");
  if (cur.isDefault) throw NovanetErrors.InUse("the project's default group cannot be deleted", { details: { id: i.id } });
  await s.guardedDelete<SecurityGroup>(
    "secgroups",
    i.id,
    async () => {
      const ports = (await s.store.list<Port>(keys.kind("ports"))).filter((d) => d.value.securityGroups.includes(i.id));
      return ports.length ? `used by port(s) ${ports.slice(0, 5).map((d) => d.value.id).join(", ")}` : undefined;
    },
    async (tx, g) => {
      await s.releaseSlots(tx, g.project, "rules", new Set(g.rules.map((r) => r.id)));
      await s.releaseSlots(tx, g.project, "secgroups", new Set([g.id]));
    },
  );
  return {};
}

/**
 * Adds a rule to a group.
 * @throws NOVANET:InvalidRule, NOVANET:NotFound (the group or the remote group),
 *   NOVANET:QuotaExceeded, NOVANET:InvalidArgument (the same rule exists).
 */
export async function createRule(s: NovanetService, caller: GuardCaller, i: RuleSpec & { secgroup: string }): Promise<SecurityGroupRule> {
  const { secgroup, ...spec } = i;
  const rule0 = checkRule(spec);
  const cur = await s.load<SecurityGroup>(caller, "secgroups", secgroup, "update");
  const id = `sgr_${[...crypto.getRandomValues(new Uint8Array(8))].map((x) => x.toString(16).padStart(2, "0")).join("")}`;
  return s.store.transact(async (tx) => {
    const g = await s.must<SecurityGroup>(tx, "secgroups", secgroup, cur.project, "secgroup");
    if (rule0.remoteGroup && rule0.remoteGroup !== g.id) await s.must<SecurityGroup>(tx, "secgroups", rule0.remoteGroup, g.project, "remoteGroup");
    const same = g.rules.find((r) => JSON.stringify({ ...r, id: "" }) === JSON.stringify({ id: "", ...rule0 }));
    if (same) throw NovanetErrors.InvalidArgument(`the group already has this rule (${same.id})`, { details: { rule: same.id } });
    await s.claimSlot(tx, g.project, "rules", id);
    const rule: SecurityGroupRule = { id, ...rule0 };
    tx.put(keys.doc("secgroups", g.id), { ...g, rules: [...g.rules, rule] });
    return rule;
  });
}

/** Removes a rule. */
export async function deleteRule(s: NovanetService, caller: GuardCaller, i: { secgroup: string; id: string }): Promise<Record<string, never>> {
  const cur = await s.load<SecurityGroup>(caller, "secgroups", i.secgroup, "update");
  await s.store.transact(async (tx) => {
    const g = await s.must<SecurityGroup>(tx, "secgroups", i.secgroup, cur.project, "secgroup");
    if (!g.rules.some((r) => r.id === i.id)) throw NovanetErrors.NotFound(`rule ${i.id} not found in group ${g.id}`, { details: { id: i.id } });
    tx.put(keys.doc("secgroups", g.id), { ...g, rules: g.rules.filter((r) => r.id !== i.id) });
    await s.releaseSlots(tx, g.project, "rules", new Set([i.id]));
  });
  return {};
}
