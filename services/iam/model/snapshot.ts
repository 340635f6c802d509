/**
 * Turns the model into the evaluator's `AuthzSnapshot`. Disabled users and service accounts are
 * left out, so every decision about them is a denial ("unknown principal"); their bindings stay in
 * the model for when they are enabled again, but leave the snapshot with them.
 */
import type { AuthzSnapshot, BindingSpec, DenySpec } from "../../../lib/authz/types.ts";
import type { IamState } from "./state.ts";
import type { Entity, EntityKind, ModelChange } from "./types.ts";

/** The model reads `incrementalChanges` needs (IamModel has them). */
export interface ModelView {
  get(kind: EntityKind, id: string): Entity | undefined;
  list(kind: EntityKind): readonly Entity[];
}

/** Whether any binding, group or deny names `principal`. */
function referenced(model: ModelView, principal: string): boolean {
  for (const e of model.list("binding")) if (e.kind === "binding" && e.principal === principal) return true;
  for (const e of model.list("group")) if (e.kind === "group" && e.members.includes(principal)) return true;
  for (const e of model.list("deny")) if (e.kind === "deny" && (e.principals.includes(principal) || e.exceptPrincipals?.includes(principal))) return true;
  return false;
}

/** What `Authorizer.applyChanges` takes. */
export interface IncrementalChanges {
  principals: string[];
  putBindings: BindingSpec[];
  removedBindings: string[];
}

/**
 * The in-place form of `changes` (already applied to the model that `get` reads) for
 * `Authorizer.applyChanges`, or undefined when they need a whole snapshot: only binding puts and
 * deletes and new enabled users or service accounts go in place; renames of enabled principals
 * change nothing the evaluator sees.
 */
export function incrementalChanges(changes: readonly ModelChange[], model: ModelView, known: (principal: string) => boolean): IncrementalChanges | undefined {
  const get = (kind: EntityKind, id: string) => model.get(kind, id);
  const out: IncrementalChanges = { principals: [], putBindings: [], removedBindings: [] };
  const disabled = (id: string) => {
    const p = get("user", id) ?? get("serviceaccount", id);
    return p !== undefined && "disabled" in p && p.disabled === true;
  };
  for (const c of changes) {
    if (c.op === "delete") {
      if (c.kind !== "binding") return undefined;
      out.removedBindings.push(c.id);
      continue;
    }
    const e = c.entity;
    if (e.kind === "binding") {
      if (disabled(e.principal)) return undefined;
      out.putBindings.push(e);
    } else if (e.kind === "user" || e.kind === "serviceaccount") {
      if (e.disabled) return undefined;
      if (known(e.id)) continue;
      // New to the evaluator: in place only when nothing names it yet (a re-enabled principal
      // brings back bindings, memberships and denies that need a whole snapshot).
      if (referenced(model, e.id)) return undefined;
      out.principals.push(e.id);
    } else {
      return undefined;
    }
  }
  return out;
}

/** The snapshot of `state` at `revision`. */
export function toAuthzSnapshot(state: IamState, revision = 0): AuthzSnapshot {
  const principals: { id: string; org?: string }[] = [];
  const off = new Set<string>();
  for (const u of state.all("user")) {
    if (u.disabled) off.add(u.id);
    else principals.push(u.org === undefined ? { id: u.id } : { id: u.id, org: u.org });
  }
  for (const sa of state.all("serviceaccount")) {
    if (sa.disabled) off.add(sa.id);
    else principals.push({ id: sa.id, org: sa.org });
  }
  const keep = (id: string) => !off.has(id);
  const bindings: BindingSpec[] = [];
  for (const b of state.all("binding")) if (keep(b.principal)) bindings.push(b);
  const denies: DenySpec[] = [];
  for (const d of state.all("deny")) {
    const named = d.principals.filter(keep);
    if (named.length === 0) continue; // every principal it names is disabled: nothing to deny
    denies.push(named.length === d.principals.length ? d : { ...d, principals: named });
  }
  return {
    revision,
    orgs: [...state.all("org")].map((o) => ({ id: o.id })),
    projects: [...state.all("project")].map((p) => (p.parent === undefined ? { id: p.id, org: p.org } : { id: p.id, org: p.org, parent: p.parent })),
    principals,
    groups: [...state.all("group")].map((g) => ({ id: g.id, ...(g.org === undefined ? {} : { org: g.org }), members: g.members.filter(keep) })),
    roles: [...state.all("role")],
    bindings,
    denies,
  };
}
