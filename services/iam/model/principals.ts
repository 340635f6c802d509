/**
 * Planners for users, service accounts and groups. Tenancy rules: a principal or group belongs to
 * one organisation or to the system; an organisation's group holds members of that organisation
 * and system principals; a system group holds only system members. Groups nest, never in a cycle.
 * Deleting a principal or group also removes its memberships and bindings and takes it out of
 * deny policies (ids are never reused, so nothing can inherit them).
 */
import { IamErrors } from "../errors.ts";
import { checkName, checkText, checkUserName } from "./names.ts";
import { checkUnique, type Plan, type PlanContext } from "./plan.ts";
import type { IamState } from "./state.ts";
import type { Group, ModelChange, ServiceAccount, User } from "./types.ts";

/** Input of createUser; no `org` makes a system user. */
export interface CreateUserInput {
  org?: string;
  name: string;
  displayName?: string;
  email?: string;
}

/** Input of createServiceAccount. */
export interface CreateServiceAccountInput {
  project: string;
  name: string;
  description?: string;
}

/** Input of createGroup; no `org` makes a system group. */
export interface CreateGroupInput {
  org?: string;
  name: string;
  description?: string;
  members?: string[];
}

/**
 * The organisation of a user, service account or group (undefined: system).
 * @throws IAM:NotFound when `id` is none of them.
 */
export function principalOrg(state: IamState, id: string): string | undefined {
  const kind = typeof id === "string" ? state.principalKind(id) : undefined;
  if (!kind) throw IamErrors.NotFound(`principal ${JSON.stringify(id)} not found (expected a user, service account or group id)`, { details: { id } });
  return state.get(kind, id)!.org;
}

/**
 * Plans a new user.
 * @throws IAM:InvalidName, IAM:InvalidArgument, IAM:NotFound (org), IAM:AlreadyExists.
 */
export function planCreateUser(ctx: PlanContext, input: CreateUserInput): Plan<User> {
  const name = checkUserName(input?.name);
  const displayName = checkText(input.displayName, "displayName");
  const email = checkText(input.email, "email", 254);
  if (email !== undefined && !/^[^@\s]+@[^@\s]+$/.test(email)) throw IamErrors.InvalidArgument(`invalid email ${JSON.stringify(email)}`, { details: { field: "email" } });
  const user: User = { kind: "user", id: ctx.newId("user"), name };
  if (input.org !== undefined) user.org = ctx.state.require("org", input.org).id;
  if (displayName !== undefined) user.displayName = displayName;
  if (email !== undefined) user.email = email;
  checkUnique(ctx.state, user);
  return { value: user, changes: [{ op: "put", entity: user }] };
}

/**
 * Plans enabling or disabling a user or service account.
 * @throws IAM:NotFound.
 */
export function planSetDisabled(ctx: PlanContext, id: string, disabled: boolean): Plan<User | ServiceAccount> {
  const kind = ctx.state.principalKind(id);
  if (kind !== "user" && kind !== "serviceaccount") throw IamErrors.NotFound(`user or service account ${JSON.stringify(id)} not found`, { details: { id } });
  const next = { ...ctx.state.get(kind, id)! };
  if (disabled) next.disabled = true;
  else delete next.disabled;
  return { value: next, changes: [{ op: "put", entity: next }] };
}

/**
 * Plans a new service account in a project.
 * @throws IAM:InvalidName, IAM:NotFound (project), IAM:AlreadyExists.
 */
export function planCreateServiceAccount(ctx: PlanContext, input: CreateServiceAccountInput): Plan<ServiceAccount> {
  const name = checkName(input?.name, "service account");
  const description = checkText(input.description, "description", 1024);
  const project = ctx.state.require("project", input.project);
  const sa: ServiceAccount = { kind: "serviceaccount", id: ctx.newId("serviceaccount"), org: project.org, project: project.id, name };
  if (description !== undefined) sa.description = description;
  checkUnique(ctx.state, sa);
  return { value: sa, changes: [{ op: "put", entity: sa }] };
}

/** Whether `target` is `group` or inside it through nested groups. */
function contains(state: IamState, group: string, target: string): boolean {
  const seen = new Set<string>();
  const stack = [group];
  while (stack.length) {
    const g = stack.pop()!;
    if (g === target) return true;
    if (seen.has(g)) continue;
    seen.add(g);
    for (const m of state.get("group", g)?.members ?? []) if (state.principalKind(m) === "group") stack.push(m);
  }
  return false;
}

/** Checks that `member` may join `group` (exists, same tenant, no cycle, not already in). */
function checkMember(state: IamState, group: Group, member: string, pending: readonly string[]): void {
  const memberOrg = principalOrg(state, member);
  if (group.org === undefined ? memberOrg !== undefined : memberOrg !== undefined && memberOrg !== group.org) {
    const where = group.org === undefined ? "a system group holds only system principals" : `group ${group.id} is in organisation ${group.org}`;
    throw IamErrors.CrossTenant(`${member} is in organisation ${memberOrg}; ${where}`, { details: { field: "members", member } });
  }
  if (pending.includes(member)) throw IamErrors.AlreadyExists(`${member} is already a member of group ${group.id}`, { details: { member } });
  if (state.principalKind(member) === "group" && contains(state, member, group.id)) {
    throw IamErrors.Cycle(`adding group ${member} to group ${group.id} would make a cycle: ${group.id} is inside ${member}`, { details: { member } });
  }
}

/**
 * Plans a new group with optional initial members.
 * @throws IAM:InvalidName, IAM:NotFound (org or member), IAM:CrossTenant, IAM:AlreadyExists.
 */
export function planCreateGroup(ctx: PlanContext, input: CreateGroupInput): Plan<Group> {
  const name = checkName(input?.name, "group");
  const description = checkText(input.description, "description", 1024);
  const group: Group = { kind: "group", id: ctx.newId("group"), name, members: [] };
  if (input.org !== undefined) group.org = ctx.state.require("org", input.org).id;
  if (description !== undefined) group.description = description;
  checkUnique(ctx.state, group);
  if (input.members !== undefined && !Array.isArray(input.members)) throw IamErrors.InvalidArgument("members must be a list of ids", { details: { field: "members" } });
  for (const m of input.members ?? []) {
    checkMember(ctx.state, group, m, group.members);
    group.members.push(m);
  }
  return { value: group, changes: [{ op: "put", entity: group }] };
}

/**
 * Plans adding `member` (user, service account or group) to `groupId`.
 * @throws IAM:NotFound, IAM:CrossTenant, IAM:Cycle, IAM:AlreadyExists (already a member).
 */
export function planAddMember(ctx: PlanContext, groupId: string, member: string): Plan<Group> {
  const group = ctx.state.require("group", groupId);
  checkMember(ctx.state, group, member, group.members);
  const next: Group = { ...group, members: [...group.members, member] };
  return { value: next, changes: [{ op: "put", entity: next }] };
}

/**
 * Plans removing `member` from `groupId`.
 * @throws IAM:NotFound (group, or member not in it).
 */
export function planRemoveMember(ctx: PlanContext, groupId: string, member: string): Plan<Group> {
  const group = ctx.state.require("group", groupId);
  if (!group.members.includes(member)) throw IamErrors.NotFound(`${member} is not a member of group ${groupId}`, { details: { member } });
  const next: Group = { ...group, members: group.members.filter((m) => m !== member) };
  return { value: next, changes: [{ op: "put", entity: next }] };
}

/** Changes removing `id` from groups, bindings and denies. */
function detach(state: IamState, id: string): ModelChange[] {
  const out: ModelChange[] = [];
  for (const g of state.all("group")) {
    if (g.members.includes(id)) out.push({ op: "put", entity: { ...g, members: g.members.filter((m) => m !== id) } });
  }
  for (const b of state.all("binding")) if (b.principal === id) out.push({ op: "delete", kind: "binding", id: b.id });
  for (const d of state.all("deny")) {
    const named = d.principals.includes(id);
    if (!named && !d.exceptPrincipals?.includes(id)) continue;
    const principals = d.principals.filter((p) => p !== id);
    if (principals.length === 0) {
      out.push({ op: "delete", kind: "deny", id: d.id });
      continue;
    }
    const next = { ...d, principals };
    if (d.exceptPrincipals) next.exceptPrincipals = d.exceptPrincipals.filter((p) => p !== id);
    out.push({ op: "put", entity: next });
  }
  return out;
}

/**
 * Plans deleting a user, service account or group, with its memberships and bindings.
 * @throws IAM:NotFound.
 */
export function planDeletePrincipal(ctx: PlanContext, id: string): Plan<void> {
  const kind = ctx.state.principalKind(id);
  if (!kind) throw IamErrors.NotFound(`principal ${JSON.stringify(id)} not found`, { details: { id } });
  return { value: undefined, changes: [...detach(ctx.state, id), { op: "delete", kind, id }] };
}
