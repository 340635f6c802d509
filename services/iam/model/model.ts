/**
 * `IamModel`: iam's model in memory, with every rule enforced. Each mutation is planned first
 * (validated completely against the current state) and only then applied, so a refused request
 * changes nothing. With `recordChanges`, the applied changes accumulate for `takeChanges()`:
 * the chainfire-backed store writes them in one transaction, and replays other writers' changes
 * through `apply`.
 */
import type { AuthzSnapshot } from "../../../lib/authz/types.ts";
import { IamErrors } from "../errors.ts";
import { randomId, type EntityKind, type IdGenerator } from "./ids.ts";
import { checkName, checkRoleName, checkUserName } from "./names.ts";
import { checkUnique, type Plan, type PlanContext } from "./plan.ts";
import {
  planCreateBinding,
  planCreateDeny,
  planCreateRole,
  planDeletePolicy,
  planDeleteRole,
  planUpdateRole,
  type CreateBindingInput,
  type CreateDenyInput,
  type CreateRoleInput,
  type UpdateRoleInput,
} from "./policy.ts";
import {
  planAddMember,
  planCreateGroup,
  planCreateServiceAccount,
  planCreateUser,
  planDeletePrincipal,
  planRemoveMember,
  planSetDisabled,
  type CreateGroupInput,
  type CreateServiceAccountInput,
  type CreateUserInput,
} from "./principals.ts";
import { toAuthzSnapshot } from "./snapshot.ts";
import { IamState, orgNameKey, userNameKey } from "./state.ts";
import {
  planCreateOrg,
  planCreateProject,
  planDeleteOrg,
  planDeleteProject,
  planMoveProject,
  type CreateOrgInput,
  type CreateProjectInput,
} from "./tenancy.ts";
import type { Binding, DenyPolicy, Entity, EntityOf, Group, ModelChange, Organisation, Project, Role, ServiceAccount, User } from "./types.ts";

/** Options of IamModel. */
export interface IamModelOptions {
  /** Id generator (default: random ids). */
  newId?: IdGenerator;
  /** Keep applied changes for `takeChanges()` (the store sets it). */
  recordChanges?: boolean;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * The iam model. Entities it returns are frozen; change them through its methods.
 * @example
 * const m = new IamModel();
 * const org = m.createOrg({ name: "acme" });
 * const web = m.createProject({ org: org.id, name: "web" });
 * const alice = m.createUser({ org: org.id, name: "alice" });
 * m.createBinding({ principal: alice.id, role: "compute.admin", scope: { kind: "project", id: web.id } });
 * new Authorizer(m.snapshot());
 */
export class IamModel {
  private readonly state = new IamState();
  private readonly ctx: PlanContext;
  private readonly record: boolean;
  private pending: ModelChange[] = [];

  constructor(options: IamModelOptions = {}) {
    this.ctx = { state: this.state, newId: options.newId ?? randomId };
    this.record = options.recordChanges ?? false;
  }

  private run<T>(plan: Plan<T>): T {
    for (const c of plan.changes) if (c.op === "put") deepFreeze(c.entity);
    this.state.apply(plan.changes);
    if (this.record) this.pending.push(...plan.changes);
    return plan.value;
  }

  /** Applies changes as they are (a watch replaying what a validated writer stored). */
  apply(changes: readonly ModelChange[]): void {
    this.run({ value: undefined, changes: structuredClone([...changes]) });
  }

  /** The changes applied since the last call (only with `recordChanges`). */
  takeChanges(): ModelChange[] {
    const out = this.pending;
    this.pending = [];
    return out;
  }

  /** The entity of `kind` with `id`, or undefined. */
  get<K extends EntityKind>(kind: K, id: string): EntityOf<K> | undefined {
    return this.state.get(kind, id);
  }

  /** Every entity of `kind`. */
  list<K extends EntityKind>(kind: K): EntityOf<K>[] {
    return [...this.state.all(kind)];
  }

  /** The organisation called `name`, from the name index. */
  findOrg(name: string): Organisation | undefined {
    const id = this.state.holderOf(orgNameKey(name));
    return id === undefined ? undefined : this.state.get("org", id);
  }

  /** The user called `name` in organisation `org` (undefined: a system user), from the name index. */
  findUser(name: string, org: string | undefined): User | undefined {
    const id = this.state.holderOf(userNameKey(org, name));
    return id === undefined ? undefined : this.state.get("user", id);
  }

  /** The evaluator's view of the model (see snapshot.ts). */
  snapshot(revision = 0): AuthzSnapshot {
    return toAuthzSnapshot(this.state, revision);
  }

  /** Creates an organisation; see planCreateOrg for errors. */
  createOrg(input: CreateOrgInput): Organisation {
    return this.run(planCreateOrg(this.ctx, input));
  }
  /** Creates a project, optionally nested; see planCreateProject. */
  createProject(input: CreateProjectInput): Project {
    return this.run(planCreateProject(this.ctx, input));
  }
  /** Moves a project under another (or to the top); refuses cycles. See planMoveProject. */
  moveProject(id: string, parent: string | undefined): Project {
    return this.run(planMoveProject(this.ctx, id, parent));
  }
  /** Deletes an empty organisation; see planDeleteOrg. */
  deleteOrg(id: string): void {
    this.run(planDeleteOrg(this.ctx, id));
  }
  /** Deletes a project with no sub-projects or service accounts; see planDeleteProject. */
  deleteProject(id: string): void {
    this.run(planDeleteProject(this.ctx, id));
  }
  /** Creates a user (system user without `org`); see planCreateUser. */
  createUser(input: CreateUserInput): User {
    return this.run(planCreateUser(this.ctx, input));
  }
  /** Creates a service account in a project; see planCreateServiceAccount. */
  createServiceAccount(input: CreateServiceAccountInput): ServiceAccount {
    return this.run(planCreateServiceAccount(this.ctx, input));
  }
  /** Disables (or re-enables) a user or service account; disabled ones are denied everything. */
  setDisabled(id: string, disabled: boolean): User | ServiceAccount {
    return this.run(planSetDisabled(this.ctx, id, disabled));
  }
  /** Creates a group; see planCreateGroup. */
  createGroup(input: CreateGroupInput): Group {
    return this.run(planCreateGroup(this.ctx, input));
  }
  /** Adds a member to a group; refuses cycles and other tenants. See planAddMember. */
  addMember(group: string, member: string): Group {
    return this.run(planAddMember(this.ctx, group, member));
  }
  /** Removes a member from a group; see planRemoveMember. */
  removeMember(group: string, member: string): Group {
    return this.run(planRemoveMember(this.ctx, group, member));
  }
  /** Deletes a user, service account or group with its memberships and bindings. */
  deletePrincipal(id: string): void {
    this.run(planDeletePrincipal(this.ctx, id));
  }
  /** Creates a custom role; see planCreateRole. */
  createRole(input: CreateRoleInput): Role {
    return this.run(planCreateRole(this.ctx, input));
  }
  /** Changes a custom role; see planUpdateRole. */
  updateRole(id: string, input: UpdateRoleInput): Role {
    return this.run(planUpdateRole(this.ctx, id, input));
  }
  /** Deletes an unused custom role; see planDeleteRole. */
  deleteRole(id: string): void {
    this.run(planDeleteRole(this.ctx, id));
  }
  /** Binds a principal or group to a role on a scope; see planCreateBinding. */
  createBinding(input: CreateBindingInput): Binding {
    return this.run(planCreateBinding(this.ctx, input));
  }
  /** Creates a deny policy; see planCreateDeny. */
  createDeny(input: CreateDenyInput): DenyPolicy {
    return this.run(planCreateDeny(this.ctx, input));
  }
  /** Deletes a binding. @throws IAM:NotFound. */
  deleteBinding(id: string): void {
    this.run(planDeletePolicy(this.ctx, "binding", id));
  }
  /** Deletes a deny policy. @throws IAM:NotFound. */
  deleteDeny(id: string): void {
    this.run(planDeletePolicy(this.ctx, "deny", id));
  }

  /**
   * Renames an organisation, project, user, service account, group, role or deny policy.
   * @throws IAM:NotFound, IAM:InvalidName, IAM:AlreadyExists, IAM:InvalidArgument (bindings have no name).
   */
  rename(kind: Exclude<EntityKind, "binding">, id: string, name: string): Entity {
    const current = this.state.get(kind, id);
    if (kind === ("binding" as EntityKind)) throw IamErrors.InvalidArgument("bindings have no name", { details: { field: "kind" } });
    if (!current) return this.state.require(kind, id);
    const checked = kind === "user" ? checkUserName(name) : kind === "role" ? checkRoleName(name) : checkName(name, kind);
    const next = { ...current, name: checked } as Entity;
    checkUnique(this.state, next);
    return this.run({ value: next, changes: [{ op: "put", entity: next }] });
  }
}
