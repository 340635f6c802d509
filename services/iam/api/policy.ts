/** Roles, bindings and deny policies. */
import type { CreateBindingInput, CreateDenyInput, CreateRoleInput, UpdateRoleInput } from "../model/index.ts";
import * as p from "../service-policy.ts";
import { op, type ApiOperation } from "./operation.ts";

type Id = { id: string };
const id = { id: "string" } as const;

export const policyOperations: ApiOperation[] = [
  op<CreateRoleInput>({ name: "CreateRole", method: "POST", path: "/v1/roles", auth: true, response: "Role", summary: "Create a custom role (actions minus notActions)", fields: { org: "string", name: "string", description: "string", actions: "strings", notActions: "strings" }, required: ["name", "actions"], run: (s, c, i) => p.createRole(s, c, i) }),
  op<{ org?: string }>({ name: "ListRoles", method: "GET", path: "/v1/roles", auth: true, response: "RoleList", summary: "The custom roles the caller may list", fields: { org: "string" }, run: (s, c, i) => p.listRoles(s, c, i) }),
  op<Id>({ name: "GetRole", method: "GET", path: "/v1/roles/:id", auth: true, response: "Role", summary: "One custom role", fields: id, required: ["id"], run: (s, c, i) => p.getRole(s, c, i) }),
  op<UpdateRoleInput & Id & { name?: string }>({ name: "UpdateRole", method: "PATCH", path: "/v1/roles/:id", auth: true, response: "Role", summary: "Change a custom role", fields: { id: "string", name: "string", description: "string", actions: "strings", notActions: "strings" }, required: ["id"], run: (s, c, i) => p.updateRole(s, c, i) }),
  op<Id>({ name: "DeleteRole", method: "DELETE", path: "/v1/roles/:id", auth: true, response: "Empty", summary: "Delete an unused custom role", fields: id, required: ["id"], run: (s, c, i) => p.deleteRole(s, c, i) }),
  op<CreateBindingInput>({ name: "CreateBinding", method: "POST", path: "/v1/bindings", auth: true, response: "Binding", summary: "Bind a principal or group to a role on a scope", fields: { principal: "string", role: "string", scope: "object", condition: "object" }, required: ["principal", "role", "scope"], run: (s, c, i) => p.createBinding(s, c, i) }),
  op<{ principal?: string; org?: string; project?: string }>({ name: "ListBindings", method: "GET", path: "/v1/bindings", auth: true, response: "BindingList", summary: "The bindings the caller may list", fields: { principal: "string", org: "string", project: "string" }, run: (s, c, i) => p.listBindings(s, c, i) }),
  op<Id>({ name: "GetBinding", method: "GET", path: "/v1/bindings/:id", auth: true, response: "Binding", summary: "One binding", fields: id, required: ["id"], run: (s, c, i) => p.getBinding(s, c, i) }),
  op<Id>({ name: "DeleteBinding", method: "DELETE", path: "/v1/bindings/:id", auth: true, response: "Empty", summary: "Delete a binding", fields: id, required: ["id"], run: (s, c, i) => p.deleteBinding(s, c, i) }),
  op<CreateDenyInput>({ name: "CreateDeny", method: "POST", path: "/v1/denies", auth: true, response: "DenyPolicy", summary: "Create an explicit deny (beats every allow)", fields: { name: "string", scope: "object", principals: "strings", exceptPrincipals: "strings", actions: "strings", condition: "object" }, required: ["name", "scope", "principals", "actions"], run: (s, c, i) => p.createDeny(s, c, i) }),
  op<Record<string, never>>({ name: "ListDenies", method: "GET", path: "/v1/denies", auth: true, response: "DenyPolicyList", summary: "The deny policies the caller may list", fields: {}, run: (s, c) => p.listDenies(s, c) }),
  op<Id>({ name: "GetDeny", method: "GET", path: "/v1/denies/:id", auth: true, response: "DenyPolicy", summary: "One deny policy", fields: id, required: ["id"], run: (s, c, i) => p.getDeny(s, c, i) }),
  op<Id>({ name: "DeleteDeny", method: "DELETE", path: "/v1/denies/:id", auth: true, response: "Empty", summary: "Delete a deny policy", fields: id, required: ["id"], run: (s, c, i) => p.deleteDeny(s, c, i) }),
];
