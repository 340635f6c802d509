/**
 * The data the evaluator reads and answers with. `AuthzSnapshot` is the part of iam's model that
 * decisions need, in plain data, so that `lib/` depends on no service: iam's model produces it
 * (`IamModel.snapshot()`), and its store will keep it fresh from chainfire watches.
 *
 * Ids are opaque strings, unique across every kind (iam prefixes them: `org_`, `prj_`, `usr_`...).
 */

/** Where a binding or deny applies: the whole system, one organisation, or one project subtree. */
export type Scope = { kind: "system" } | { kind: "org"; id: string } | { kind: "project"; id: string };

/**
 * Optional conditions on a binding or deny; every clause present must hold. See condition.ts for
 * how missing request context is treated (allows fail closed, denies apply).
 */
export interface Condition {
  /** The caller's source address must be inside one of these CIDRs (IPv4 or IPv6). */
  sourceCidrs?: readonly string[];
  /** The decision time must be inside this window. */
  time?: TimeWindow;
  /** The resource must carry every one of these tags (value `*`: the key with any value). */
  resourceTags?: Readonly<Record<string, string>>;
}

/** A time window, in UTC. Every field present must hold. */
export interface TimeWindow {
  /** ISO 8601 instant from which the condition holds (inclusive). */
  notBefore?: string;
  /** ISO 8601 instant from which it no longer holds (exclusive). */
  notAfter?: string;
  /** Daily window `HH:MM`–`HH:MM` UTC, start inclusive, end exclusive; may wrap past midnight. */
  daily?: { start: string; end: string };
  /** Days of the week it holds on (0 = Sunday ... 6 = Saturday, UTC). */
  days?: readonly number[];
}

/** A role: `actions` minus `notActions` (Azure RBAC's shape), both lists of action patterns. */
export interface RoleSpec {
  id: string;
  name: string;
  actions: readonly string[];
  notActions?: readonly string[];
}

/** A grant of a role to a principal or group on a scope, inherited by everything below it. */
export interface BindingSpec {
  id: string;
  /** A user, service account or group id. */
  principal: string;
  /** A custom role id or a built-in role name (`admin`, `compute.reader`...). */
  role: string;
  scope: Scope;
  condition?: Condition;
}

/** An explicit deny: beats every allow for the principals, actions and scope it names. */
export interface DenySpec {
  id: string;
  name: string;
  /** User, service account or group ids; `*` means every principal. */
  principals: readonly string[];
  /** Principals the deny does not apply to even when `principals` names them (e.g. break-glass). */
  exceptPrincipals?: readonly string[];
  actions: readonly string[];
  scope: Scope;
  condition?: Condition;
}

/** Everything the evaluator needs, as plain data. */
export interface AuthzSnapshot {
  /** The store revision this snapshot reflects (0 when built in memory). */
  revision: number;
  orgs: readonly { id: string }[];
  /** `parent` is the parent project's id; absent for a top-level project of `org`. */
  projects: readonly { id: string; org: string; parent?: string }[];
  /** Users and service accounts; `org` is absent for system principals. */
  principals: readonly { id: string; org?: string }[];
  /** Groups and their direct members (principal or group ids). */
  groups: readonly { id: string; org?: string; members: readonly string[] }[];
  /** Custom roles (built-in roles are always present and need not be listed). */
  roles: readonly RoleSpec[];
  bindings: readonly BindingSpec[];
  denies: readonly DenySpec[];
}

/** The resource an action is performed on. */
export interface ResourceRef {
  /** Owning organisation id; absent for system-level resources. */
  org?: string;
  /** Owning project id; absent for organisation-level or system-level resources. */
  project?: string;
  /** Resource type (`vm`, `bucket`...), informative: the action names the type too. */
  type?: string;
  /** Resource id, informative (reasons and audit). */
  id?: string;
  /** Tags the resource carries, for tag conditions. */
  tags?: Readonly<Record<string, string>>;
}

/** Facts about the request that conditions look at. */
export interface RequestContext {
  /** The caller's IP address (IPv4 dotted or IPv6). */
  sourceIp?: string;
  /** Decision time; epoch milliseconds or a Date. Defaults to now. */
  time?: number | Date;
}

/**
 * Limits carried by the credential the caller authenticated with, applied on top of bindings:
 * a project-scoped token reaches only that project's subtree; an application credential only
 * its access rules.
 */
export interface SessionLimits {
  /** The project the token is scoped to. */
  project?: string;
  /**
   * Action patterns the credential is limited to. Treated as immutable: the compiled form is
   * cached per array (then per content), so pass the verified claims' array as is.
   */
  accessRules?: readonly string[];
}

/** One authorisation question. */
export interface AuthorizeRequest {
  /** User or service account id. */
  principal: string;
  /** `<service>:<resource>:<verb>`, concrete (no wildcards). */
  action: string;
  resource: ResourceRef;
  context?: RequestContext;
  session?: SessionLimits;
}

/** The answer, with the binding or deny that decided it. */
export interface Decision {
  readonly allowed: boolean;
  /** Human-readable: names the binding or deny that matched, or why nothing did. */
  readonly reason: string;
  /** Id of the binding that allowed or the deny that denied, when one did. */
  readonly matched?: string;
}
