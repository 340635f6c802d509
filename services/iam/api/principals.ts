/** Users, service accounts and groups. */
import type { CreateGroupInput, CreateServiceAccountInput, CreateUserInput } from "../model/index.ts";
import * as p from "../service-principals.ts";
import { op, type ApiOperation } from "./operation.ts";

type Id = { id: string };
const id = { id: "string" } as const;

export const principalOperations: ApiOperation[] = [
  op<CreateUserInput & { password?: string }>({ name: "CreateUser", method: "POST", path: "/v1/users", auth: true, response: "User", summary: "Create a user (system user without org), with an optional initial password", fields: { org: "string", name: "string", displayName: "string", email: "string", password: "string" }, required: ["name"], run: (s, c, i) => p.createUser(s, c, i) }),
  op<{ org?: string }>({ name: "ListUsers", method: "GET", path: "/v1/users", auth: true, response: "UserList", summary: "The users the caller may list", fields: { org: "string" }, run: (s, c, i) => p.listUsers(s, c, i) }),
  op<Id>({ name: "GetUser", method: "GET", path: "/v1/users/:id", auth: true, response: "User", summary: "One user", fields: id, required: ["id"], run: (s, c, i) => p.getUser(s, c, i) }),
  op<Id & { name?: string; disabled?: boolean; password?: string; currentPassword?: string }>({ name: "UpdateUser", method: "PATCH", path: "/v1/users/:id", auth: true, response: "User", summary: "Rename, disable or set the password of a user (anyone may change their own password, giving the current one)", fields: { id: "string", name: "string", disabled: "boolean", password: "string", currentPassword: "string" }, required: ["id"], run: (s, c, i) => p.updateUser(s, c, i) }),
  op<Id>({ name: "DeleteUser", method: "DELETE", path: "/v1/users/:id", auth: true, response: "Empty", summary: "Delete a user with its bindings, memberships and credentials", fields: id, required: ["id"], run: (s, c, i) => p.deleteUser(s, c, i) }),
  op<CreateServiceAccountInput>({ name: "CreateServiceAccount", method: "POST", path: "/v1/serviceaccounts", auth: true, response: "ServiceAccount", summary: "Create a service account in a project", fields: { project: "string", name: "string", description: "string" }, required: ["project", "name"], run: (s, c, i) => p.createServiceAccount(s, c, i) }),
  op<{ project?: string }>({ name: "ListServiceAccounts", method: "GET", path: "/v1/serviceaccounts", auth: true, response: "ServiceAccountList", summary: "The service accounts the caller may list", fields: { project: "string" }, run: (s, c, i) => p.listServiceAccounts(s, c, i) }),
  op<Id>({ name: "GetServiceAccount", method: "GET", path: "/v1/serviceaccounts/:id", auth: true, response: "ServiceAccount", summary: "One service account", fields: id, required: ["id"], run: (s, c, i) => p.getServiceAccount(s, c, i) }),
  op<Id & { name?: string; disabled?: boolean }>({ name: "UpdateServiceAccount", method: "PATCH", path: "/v1/serviceaccounts/:id", auth: true, response: "ServiceAccount", summary: "Rename or disable a service account", fields: { id: "string", name: "string", disabled: "boolean" }, required: ["id"], run: (s, c, i) => p.updateServiceAccount(s, c, i) }),
  op<Id>({ name: "DeleteServiceAccount", method: "DELETE", path: "/v1/serviceaccounts/:id", auth: true, response: "Empty", summary: "Delete a service account with its bindings and credentials", fields: id, required: ["id"], run: (s, c, i) => p.deleteServiceAccount(s, c, i) }),
  op<CreateGroupInput>({ name: "CreateGroup", method: "POST", path: "/v1/groups", auth: true, response: "Group", summary: "Create a group", fields: { org: "string", name: "string", description: "string", members: "strings" }, required: ["name"], run: (s, c, i) => p.createGroup(s, c, i) }),
  op<{ org?: string }>({ name: "ListGroups", method: "GET", path: "/v1/groups", auth: true, response: "GroupList", summary: "The groups the caller may list", fields: { org: "string" }, run: (s, c, i) => p.listGroups(s, c, i) }),
  op<Id>({ name: "GetGroup", method: "GET", path: "/v1/groups/:id", auth: true, response: "Group", summary: "One group", fields: id, required: ["id"], run: (s, c, i) => p.getGroup(s, c, i) }),
  op<Id & { name?: string }>({ name: "UpdateGroup", method: "PATCH", path: "/v1/groups/:id", auth: true, response: "Group", summary: "Rename a group", fields: { id: "string", name: "string" }, required: ["id"], run: (s, c, i) => p.updateGroup(s, c, i) }),
  op<Id>({ name: "DeleteGroup", method: "DELETE", path: "/v1/groups/:id", auth: true, response: "Empty", summary: "Delete a group with its bindings", fields: id, required: ["id"], run: (s, c, i) => p.deleteGroup(s, c, i) }),
  op<Id & { member: string }>({ name: "AddGroupMember", method: "POST", path: "/v1/groups/:id/members", auth: true, status: 200, response: "Group", summary: "Add a principal or group to a group", fields: { id: "string", member: "string" }, required: ["id", "member"], run: (s, c, i) => p.addGroupMember(s, c, i) }),
  op<Id & { member: string }>({ name: "RemoveGroupMember", method: "DELETE", path: "/v1/groups/:id/members/:member", auth: true, response: "Group", summary: "Remove a member from a group", fields: { id: "string", member: "string" }, required: ["id", "member"], run: (s, c, i) => p.removeGroupMember(s, c, i) }),
];
