/**
 * What every planner shares. A planner validates a whole request against the current state and
 * returns the changes it would make, without making them; `IamModel` then applies them all. So a
 * refused request changes nothing, and the store can write the same changes in one transaction.
 */
import { scopeKey } from "../../../lib/authz/scope.ts";
import { IamErrors } from "../errors.ts";
import type { IdGenerator } from "./ids.ts";
import { KIND_LABEL, uniqueKey, type IamState } from "./state.ts";
import type { Entity, ModelChange, Scope } from "./types.ts";

/** The state a planner reads and the id generator it draws from. */
export interface PlanContext {
  readonly state: IamState;
  readonly newId: IdGenerator;
}

/** A planned request: its result and the changes that produce it. */
export interface Plan<T> {
  value: T;
  changes: ModelChange[];
}

/**
 * Refuses `e` when another entity already holds its unique key (its name under its parent).
 * @throws IAM:AlreadyExists naming the clash.
 */
export function checkUnique(state: IamState, e: Entity): void {
  const holder = state.holderOf(uniqueKey(e));
  if (holder !== undefined && holder !== e.id) {
    const what = e.kind === "binding" ? "an identical binding" : `a ${KIND_LABEL[e.kind]} named ${JSON.stringify(e.name)}`;
    throw IamErrors.AlreadyExists(`${what} already exists here (${holder})`, { details: { kind: e.kind, existing: holder } });
  }
}

/**
 * Validates a scope and returns the organisation it belongs to (undefined for system).
 * @throws IAM:InvalidArgument for a malformed scope; IAM:NotFound for an unknown org or project.
 */
export function scopeOrg(state: IamState, scope: Scope): string | undefined {
  if (typeof scope !== "object" || scope === null) throw IamErrors.InvalidArgument("scope must be an object", { details: { field: "scope" } });
  switch (scope.kind) {
    case "system":
      return undefined;
    case "org":
      return state.require("org", scope.id).id;
    case "project":
      return state.require("project", scope.id).org;
    default:
      throw IamErrors.InvalidArgument(`unknown scope kind ${JSON.stringify((scope as { kind: unknown }).kind)} (expected system, org or project)`, {
        details: { field: "scope.kind" },
      });
  }
}

/** A scope as plain data with no extra fields (inputs may carry more). */
export function cleanScope(scope: Scope): Scope {
  return scope.kind === "system" ? { kind: "system" } : { kind: scope.kind, id: scope.id };
}

/** Changes deleting every binding and deny attached to `scope`. */
export function dropPolicyOn(state: IamState, scope: Scope): ModelChange[] {
  const key = scopeKey(scope);
  const out: ModelChange[] = [];
  for (const b of state.all("binding")) if (scopeKey(b.scope) === key) out.push({ op: "delete", kind: "binding", id: b.id });
  for (const d of state.all("deny")) if (scopeKey(d.scope) === key) out.push({ op: "delete", kind: "deny", id: d.id });
  return out;
}
