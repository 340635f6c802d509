/**
 * Turns the model into the evaluator's `AuthzSnapshot`. Disabled users and service accounts are
 * left out, so every decision about them is a denial ("unknown principal"); their bindings stay in
 * the model for when they are enabled again, but leave the snapshot with them.
 */
import type { AuthzSnapshot, BindingSpec, DenySpec } from "../../../lib/authz/types.ts";
import type { IamState } from "./state.ts";

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
