/**
 * iam's model: organisations > projects, users, service accounts, groups, roles, bindings and deny
 * policies, with every rule (names, uniqueness, nesting without cycles, tenancy) enforced before
 * any change. `IamModel.snapshot()` feeds lib/authz's evaluator.
 */
export { IamModel, type IamModelOptions } from "./model.ts";
export { randomId, sequentialIds, ID_PREFIX, type IdGenerator } from "./ids.ts";
export { checkName, checkRoleName, checkUserName } from "./names.ts";
export { toAuthzSnapshot } from "./snapshot.ts";
export type { CreateOrgInput, CreateProjectInput } from "./tenancy.ts";
export type { CreateGroupInput, CreateServiceAccountInput, CreateUserInput } from "./principals.ts";
export type { CreateBindingInput, CreateDenyInput, CreateRoleInput, UpdateRoleInput } from "./policy.ts";
export type * from "./types.ts";
