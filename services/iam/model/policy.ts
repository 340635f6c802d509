/**
 * Planners for roles, bindings and deny policies. Tenancy rules, which make cross-tenant access
 * impossible by construction:
 * - a binding on an organisation or project names a principal of that organisation or a system
 *   one, and a role of that organisation, a system role or a built-in one;
 * - a binding on the system scope names only system principals and system or built-in roles;
 * - a deny on an organisation or project names principals of that organisation, system ones or `*`.
 */
import { normaliseActionPattern } from "../../../lib/authz/action.ts";
import { isBuiltinRoleName } from "../../../lib/authz/builtin-roles.ts";
import { validateCondition } from "../../../lib/authz/condition.ts";
import { EVERYONE } from "../../../lib/authz/authz-index.ts";
import { describeScope } from "../../../lib/authz/scope.ts";
import { IamErrors } from "../errors.ts";
import { checkName, checkRoleName, checkText } from "./names.ts";
import { checkUnique, cleanScope, scopeOrg, type Plan, type PlanContext } from "./plan.ts";
import { principalOrg } from "./principals.ts";
import type { Binding, Condition, DenyPolicy, Role, Scope } from "./types.ts";

const MAX_ACTIONS = 256;

/** Input of createRole; no `org` makes a system role. */
export interface CreateRoleInput {
  org?: string;
  name: string;
  description?: string;
  actions: string[];
  notActions?: string[];
}

/** Fields updateRole may change. */
export interface UpdateRoleInput {
  description?: string;
  actions?: string[];
  notActions?: string[];
}

/** Input of createBinding. */
export interface CreateBindingInput {
  principal: string;
  role: string;
  scope: Scope;
  condition?: Condition;
}

/** Input of createDeny. */
export interface CreateDenyInput {
  name: string;
  scope: Scope;
  principals: string[];
  exceptPrincipals?: string[];
  actions: string[];
  condition?: Condition;
}

function patterns(list: unknown, field: string, required: boolean): string[] {
  if (list === undefined && !required) return [];
  if (!Array.isArray(list) || (required && list.length === 0) || list.length > MAX_ACTIONS) {
    throw IamErrors.InvalidArgument(`${field} must list ${required ? 1 : 0}..${MAX_ACTIONS} action patterns`, { details: { field } });
  }
  return [...new Set(list.map((p) => normaliseActionPattern(p as string)))];
}

function condition(c: Condition | undefined): Condition | undefined {
  if (c === undefined) return undefined;
  validateCondition(c);
  return structuredClone(c);
}

/**
 * Plans a custom role.
 * @throws IAM:InvalidName (also for built-in names), IAM:InvalidAction, IAM:NotFound (org),
 *   IAM:AlreadyExists.
 */
export function planCreateRole(ctx: PlanContext, input: CreateRoleInput): Plan<Role> {
  const name = checkRoleName(input?.name);
  const description = checkText(input.description, "description", 1024);
  const role: Role = { kind: "role", id: ctx.newId("role"), name, actions: patterns(input.actions, "actions", true) };
  const notActions = patterns(input.notActions, "notActions", false);
  if (notActions.length) role.notActions = notActions;
  if (input.org !== undefined) role.org = ctx.state.require("org", input.org).id;
  if (description !== undefined) role.description = description;
  checkUnique(ctx.state, role);
  return { value: role, changes: [{ op: "put", entity: role }] };
}

/**
 * Plans changing a custom role's actions or description (bindings using it follow at once).
 * @throws IAM:NotFound, IAM:InvalidAction, IAM:InvalidArgument.
 */
export function planUpdateRole(ctx: PlanContext, id: string, input: UpdateRoleInput): Plan<Role> {
  const next: Role = { ...ctx.state.require("role", id) };
  if (input.actions !== undefined) next.actions = patterns(input.actions, "actions", true);
  if (input.notActions !== undefined) {
    const notActions = patterns(input.notActions, "notActions", false);
    if (notActions.length) next.notActions = notActions;
    else delete next.notActions;
  }
  if (input.description !== undefined) next.description = checkText(input.description, "description", 1024)!;
  return { value: next, changes: [{ op: "put", entity: next }] };
}

/**
 * Plans deleting a custom role.
 * @throws IAM:NotFound; IAM:InUse while a binding uses it.
 */
export function planDeleteRole(ctx: PlanContext, id: string): Plan<void> {
  ctx.state.require("role", id);
  for (const b of ctx.state.all("binding")) {
    if (b.role === id) throw IamErrors.InUse(`role ${id} is used by binding ${b.id}`, { details: { binding: b.id } });
  }
  return { value: undefined, changes: [{ op: "delete", kind: "role", id }] };
}

function checkTenant(principalOrgId: string | undefined, scopeOrgId: string | undefined, principal: string, scope: Scope): void {
  if (principalOrgId === undefined) return;
  if (principalOrgId !== scopeOrgId) {
    throw IamErrors.CrossTenant(`${principal} belongs to organisation ${principalOrgId} and cannot be bound on ${describeScope(scope)}`, {
      details: { field: "principal", principal },
    });
  }
}

/**
 * Plans a binding of a principal or group to a role on a scope.
 * @throws IAM:InvalidArgument, IAM:NotFound (scope, principal or role), IAM:CrossTenant,
 *   IAM:InvalidCondition, IAM:AlreadyExists (an identical binding).
 */
export function planCreateBinding(ctx: PlanContext, input: CreateBindingInput): Plan<Binding> {
  const scope = input?.scope;
  const orgOfScope = scopeOrg(ctx.state, scope);
  checkTenant(principalOrg(ctx.state, input.principal), orgOfScope, input.principal, scope);
  if (typeof input.role !== "string") throw IamErrors.InvalidArgument("role must be a role id or a built-in role name", { details: { field: "role" } });
  if (!isBuiltinRoleName(input.role)) {
    const role = ctx.state.require("role", input.role);
    if (role.org !== undefined && role.org !== orgOfScope) {
      throw IamErrors.CrossTenant(`role ${role.id} belongs to organisation ${role.org} and cannot be used on ${describeScope(scope)}`, { details: { field: "role" } });
    }
  }
  const binding: Binding = { kind: "binding", id: ctx.newId("binding"), principal: input.principal, role: input.role, scope: cleanScope(scope) };
  const c = condition(input.condition);
  if (c !== undefined) binding.condition = c;
  checkUnique(ctx.state, binding);
  return { value: binding, changes: [{ op: "put", entity: binding }] };
}

function principalList(ctx: PlanContext, list: unknown, field: string, scope: Scope, orgOfScope: string | undefined, required: boolean): string[] {
  if (list === undefined && !required) return [];
  if (!Array.isArray(list) || (required && list.length === 0) || list.length > 1024) {
    throw IamErrors.InvalidArgument(`${field} must list ${required ? 1 : 0}..1024 principal ids (or "*")`, { details: { field } });
  }
  for (const p of list) {
    if (p === EVERYONE) continue;
    const org = principalOrg(ctx.state, p as string);
    if (scope.kind !== "system") checkTenant(org, orgOfScope, p as string, scope);
  }
  return [...new Set(list as string[])];
}

/**
 * Plans a deny policy.
 * @throws IAM:InvalidName, IAM:InvalidArgument, IAM:InvalidAction, IAM:InvalidCondition,
 *   IAM:NotFound, IAM:CrossTenant, IAM:AlreadyExists (same name on the scope).
 */
export function planCreateDeny(ctx: PlanContext, input: CreateDenyInput): Plan<DenyPolicy> {
  const name = checkName(input?.name, "deny policy");
  const orgOfScope = scopeOrg(ctx.state, input.scope);
  const deny: DenyPolicy = {
    kind: "deny",
    id: ctx.newId("deny"),
    name,
    scope: cleanScope(input.scope),
    principals: principalList(ctx, input.principals, "principals", input.scope, orgOfScope, true),
    actions: patterns(input.actions, "actions", true),
  };
  const except = principalList(ctx, input.exceptPrincipals, "exceptPrincipals", input.scope, orgOfScope, false);
  if (except.includes(EVERYONE)) throw IamErrors.InvalidArgument('exceptPrincipals cannot be "*"', { details: { field: "exceptPrincipals" } });
  if (except.length) deny.exceptPrincipals = except;
  const c = condition(input.condition);
  if (c !== undefined) deny.condition = c;
  checkUnique(ctx.state, deny);
  return { value: deny, changes: [{ op: "put", entity: deny }] };
}

/**
 * Plans deleting a binding or a deny policy.
 * @throws IAM:NotFound.
 */
export function planDeletePolicy(ctx: PlanContext, kind: "binding" | "deny", id: string): Plan<void> {
  ctx.state.require(kind, id);
  return { value: undefined, changes: [{ op: "delete", kind, id }] };
}
