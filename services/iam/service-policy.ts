/**
 * Roles, bindings and deny policies. A binding or deny is managed with `iam:binding:*` /
 * `iam:deny:*` on the scope it applies to, so an organisation's administrator can grant roles
 * only inside that organisation, and a project's administrator only on that project's subtree.
 * Custom roles belong to an organisation (`iam:role:*` there) or to the system.
 */
import type { CreateBindingInput, CreateDenyInput, CreateRoleInput, UpdateRoleInput } from "./model/index.ts";
import type { Binding, DenyPolicy, Role } from "./model/types.ts";
import type { IamService } from "./service.ts";
import type { Caller, ItemList } from "./types.ts";

/** Creates a custom role (`iam:role:create` in its organisation). */
export function createRole(svc: IamService, caller: Caller, input: CreateRoleInput): Promise<Role> {
  const where = input?.org === undefined ? {} : { org: svc.require("org", input.org).id };
  return svc.change(caller, "iam:role:create", where, () => svc.replica.mutate((m) => m.createRole(input)), (r) => r.id);
}

/** The custom roles the caller may list, optionally of one organisation. */
export function listRoles(svc: IamService, caller: Caller, input: { org?: string }): ItemList<Role> {
  return { items: svc.visible(caller, "role", "role").filter((r) => input?.org === undefined || r.org === input.org) };
}

/** One custom role (`iam:role:get`). */
export async function getRole(svc: IamService, caller: Caller, input: { id: string }): Promise<Role> {
  const r = svc.require("role", input?.id);
  await svc.allow(caller, "iam:role:get", svc.refOf(r), false);
  return r;
}

/** Changes a role's name, description or actions (`iam:role:update`). */
export function updateRole(svc: IamService, caller: Caller, input: UpdateRoleInput & { id: string; name?: string }): Promise<Role> {
  const r = svc.require("role", input?.id);
  const { id, name, ...rest } = input;
  return svc.change(caller, "iam:role:update", svc.refOf(r), () =>
    svc.replica.mutate((m) => {
      let out = m.get("role", id)!;
      if (Object.keys(rest).length > 0) out = m.updateRole(id, rest);
      if (name !== undefined) out = m.rename("role", id, name) as Role;
      return out;
    }),
  );
}

/** Deletes an unused custom role (`iam:role:delete`). */
export async function deleteRole(svc: IamService, caller: Caller, input: { id: string }): Promise<Record<string, never>> {
  const r = svc.require("role", input?.id);
  await svc.change(caller, "iam:role:delete", svc.refOf(r), () => svc.replica.mutate((m) => m.deleteRole(r.id)));
  return {};
}

/** Binds a principal or group to a role on a scope (`iam:binding:create` on that scope). */
export function createBinding(svc: IamService, caller: Caller, input: CreateBindingInput): Promise<Binding> {
  return svc.change(caller, "iam:binding:create", svc.refOfScope(input?.scope), () => svc.replica.mutate((m) => m.createBinding(input)), (b) => b.id);
}

/** The bindings the caller may list; `principal` narrows to one principal or group. */
export function listBindings(svc: IamService, caller: Caller, input: { principal?: string; org?: string; project?: string }): ItemList<Binding> {
  return {
    items: svc.visible(caller, "binding", "binding").filter((b) => {
      if (input?.principal !== undefined && b.principal !== input.principal) return false;
      const ref = svc.refOf(b);
      return (input?.org === undefined || ref.org === input.org) && (input?.project === undefined || ref.project === input.project);
    }),
  };
}

/** One binding (`iam:binding:get`). */
export async function getBinding(svc: IamService, caller: Caller, input: { id: string }): Promise<Binding> {
  const b = svc.require("binding", input?.id);
  await svc.allow(caller, "iam:binding:get", svc.refOf(b), false);
  return b;
}

/** Deletes a binding (`iam:binding:delete` on its scope). */
export async function deleteBinding(svc: IamService, caller: Caller, input: { id: string }): Promise<Record<string, never>> {
  const b = svc.require("binding", input?.id);
  await svc.change(caller, "iam:binding:delete", svc.refOf(b), () => svc.replica.mutate((m) => m.deleteBinding(b.id)));
  return {};
}

/** Creates a deny policy (`iam:deny:create` on its scope). */
export function createDeny(svc: IamService, caller: Caller, input: CreateDenyInput): Promise<DenyPolicy> {
  return svc.change(caller, "iam:deny:create", svc.refOfScope(input?.scope), () => svc.replica.mutate((m) => m.createDeny(input)), (d) => d.id);
}

/** The deny policies the caller may list. */
export function listDenies(svc: IamService, caller: Caller): ItemList<DenyPolicy> {
  return { items: svc.visible(caller, "deny", "deny") };
}

/** One deny policy (`iam:deny:get`). */
export async function getDeny(svc: IamService, caller: Caller, input: { id: string }): Promise<DenyPolicy> {
  const d = svc.require("deny", input?.id);
  await svc.allow(caller, "iam:deny:get", svc.refOf(d), false);
  return d;
}

/** Deletes a deny policy (`iam:deny:delete` on its scope). */
export async function deleteDeny(svc: IamService, caller: Caller, input: { id: string }): Promise<Record<string, never>> {
  const d = svc.require("deny", input?.id);
  await svc.change(caller, "iam:deny:delete", svc.refOf(d), () => svc.replica.mutate((m) => m.deleteDeny(d.id)));
  return {};
}
