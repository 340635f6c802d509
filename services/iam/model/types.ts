/**
 * iam's model as plain data: what the store persists (one chainfire key per entity, later) and what
 * the API returns. Every entity has a `kind` and an immutable `id` (see ids.ts); references between
 * entities are by id. Secrets (password hashes, credential secrets) are not part of the model:
 * they live with the credentials in tokens/.
 */
import type { Condition, Scope } from "../../../lib/authz/types.ts";
import type { EntityKind } from "./ids.ts";

/** Scopes and conditions are the evaluator's types, shared so the model feeds it unchanged. */
export type { Condition, Scope, TimeWindow } from "../../../lib/authz/types.ts";
/** The kinds of entity (see ids.ts). */
export type { EntityKind } from "./ids.ts";

/** A tenant: the top of a tree of projects. Names are unique across the system. */
export interface Organisation {
  kind: "org";
  id: string;
  name: string;
  displayName?: string;
}

/** A project of an organisation, optionally nested in another project of the same organisation. */
export interface Project {
  kind: "project";
  id: string;
  org: string;
  /** The parent project; absent for a top-level project. Names are unique per parent. */
  parent?: string;
  name: string;
  displayName?: string;
}

/** A person. `org` is absent for system users (operators); names are unique per organisation. */
export interface User {
  kind: "user";
  id: string;
  org?: string;
  name: string;
  displayName?: string;
  email?: string;
  /** A disabled user keeps its bindings but is absent from the evaluator's snapshot (denied). */
  disabled?: boolean;
}

/** A non-human principal owned by a project; names are unique per project. */
export interface ServiceAccount {
  kind: "serviceaccount";
  id: string;
  org: string;
  project: string;
  name: string;
  description?: string;
  disabled?: boolean;
}

/**
 * A set of principals and other groups. A group of an organisation holds principals and groups of
 * that organisation or system principals; a system group (no `org`) holds only system ones.
 */
export interface Group {
  kind: "group";
  id: string;
  org?: string;
  name: string;
  description?: string;
  /** Direct members: user, service account or group ids. */
  members: string[];
}

/** A custom role: `actions` minus `notActions`. System roles (no `org`) are usable everywhere. */
export interface Role {
  kind: "role";
  id: string;
  org?: string;
  name: string;
  description?: string;
  actions: string[];
  notActions?: string[];
}

/** A grant of a role (custom id or built-in name) to a principal or group on a scope. */
export interface Binding {
  kind: "binding";
  id: string;
  principal: string;
  role: string;
  scope: Scope;
  condition?: Condition;
}

/** An explicit deny; names are unique per scope. */
export interface DenyPolicy {
  kind: "deny";
  id: string;
  name: string;
  scope: Scope;
  /** Principal or group ids, or `*` for everyone. */
  principals: string[];
  exceptPrincipals?: string[];
  actions: string[];
  condition?: Condition;
}

/** Any iam entity. */
export type Entity = Organisation | Project | User | ServiceAccount | Group | Role | Binding | DenyPolicy;

/** The entity type of a kind. */
export type EntityOf<K extends EntityKind> = Extract<Entity, { kind: K }>;

/** One change to the model: what the store writes to chainfire and what its watch replays. */
export type ModelChange = { op: "put"; entity: Entity } | { op: "delete"; kind: EntityKind; id: string };
