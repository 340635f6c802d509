/**
 * The precomputed form of an `AuthzSnapshot` that answers `authorize` in a few hash lookups:
 * - each project's scope chain (itself, its ancestors, its organisation, the system);
 * - each principal's expansion (itself and every group that contains it, through nested groups),
 *   turned lazily, on its first decision, into a per-principal view of grants and denies keyed by
 *   scope;
 * - every role's action patterns compiled into a memoised `ActionSet`.
 * An index is immutable; `Authorizer` swaps in a new one when the snapshot changes.
 */
import { compileActionSet, compileRoleActions, type ActionSet } from "./action.ts";
import { builtinRole } from "./builtin-roles.ts";
import { compileCondition, type CompiledCondition } from "./condition.ts";
import { AuthzErrors } from "./errors.ts";
import { describeScope, scopeKey, SYSTEM_SCOPE_KEY } from "./scope.ts";
import type { AuthzSnapshot, BindingSpec, Decision, DenySpec, RoleSpec, Scope } from "./types.ts";

/** A binding ready to be checked. */
export interface CompiledGrant {
  readonly id: string;
  readonly role: ActionSet;
  readonly condition: CompiledCondition | undefined;
  /** The allow decision this binding answers with (shared, frozen). */
  readonly decision: Decision;
}

/** A deny ready to be checked. */
export interface CompiledDeny {
  readonly id: string;
  readonly actions: ActionSet;
  readonly except: ReadonlySet<string> | undefined;
  readonly condition: CompiledCondition | undefined;
  readonly decision: Decision;
}

/**
 * What one principal may and may not do on one scope chain: its denies and grants along the chain,
 * most specific scope first, and a memo of the decisions that depend on nothing but the action
 * (no condition was involved), so a repeated question is a hash lookup.
 */
export interface ChainView {
  readonly denies: readonly CompiledDeny[];
  readonly grants: readonly CompiledGrant[];
  readonly memo: Map<string, Decision>;
  /** The resource's place, for reasons (`project prj_1`). */
  readonly where: string;
}

/** What one principal may and may not do, keyed by scope key; chain views built on demand. */
export interface PrincipalView {
  readonly id: string;
  readonly grants: ReadonlyMap<string, readonly CompiledGrant[]>;
  readonly denies: ReadonlyMap<string, readonly CompiledDeny[]>;
  /** Keyed by the (interned) chain object itself: a pointer-hash lookup. */
  readonly chains: Map<ScopeChain, ChainView>;
}

/** Where a resource sits: its organisation and its scope chain, most specific first. */
export interface ScopeChain {
  readonly org: string | undefined;
  readonly keys: readonly string[];
  /** The projects of the chain (the resource's and its ancestors). */
  readonly projects: ReadonlySet<string>;
  readonly where: string;
}

/** The principal key every deny naming `*` is filed under. */
export const EVERYONE = "*";
const SYSTEM_CHAIN: ScopeChain = { org: undefined, keys: [SYSTEM_SCOPE_KEY], projects: new Set(), where: "system" };
/** Bounds on the lazily built caches: whole views, chain views per principal, memoised decisions. */
const VIEW_CACHE_LIMIT = 100_000;
const CHAINS_PER_VIEW = 256;
const MEMO_PER_CHAIN = 1024;
const MEMO_TOTAL = 4_000_000;

function broken(message: string): never {
  throw AuthzErrors.InvalidSnapshot(message);
}

function push<V>(map: Map<string, V[]>, key: string, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** An immutable, precomputed index over one snapshot. */
export class AuthzIndex {
  /** The store revision of the snapshot (and of the incremental changes) this index reflects. */
  revision: number;
  private readonly orgChains = new Map<string, ScopeChain>();
  private readonly projectChains = new Map<string, ScopeChain>();
  private readonly principals = new Set<string>();
  private readonly parentGroups = new Map<string, string[]>();
  private readonly groupClosure = new Map<string, readonly string[]>();
  private readonly grantsByPrincipal = new Map<string, { scope: string; grant: CompiledGrant }[]>();
  private readonly deniesByPrincipal = new Map<string, { scope: string; deny: CompiledDeny }[]>();
  private readonly views = new Map<string, PrincipalView>();
  private memoEntries = 0;
  private readonly roles = new Map<string, ActionSet>();
  private readonly roleNames = new Map<string, string>();
  /** Binding id → the principal or group it is filed under, for removal. */
  private readonly bindingOwner = new Map<string, string>();

  /**
   * Builds the index. Bindings and denies are compiled here, so a decision never parses.
   * @throws IAM:InvalidSnapshot on a dangling reference (unknown scope, principal, group member or
   *   role) or a cycle in project nesting or group membership; IAM:InvalidAction /
   *   IAM:InvalidCondition on a malformed role, deny or condition.
   */
  constructor(snapshot: AuthzSnapshot) {
    this.revision = snapshot.revision;
    for (const o of snapshot.orgs) {
      this.orgChains.set(o.id, { org: o.id, keys: [`org/${o.id}`, SYSTEM_SCOPE_KEY], projects: new Set(), where: `organisation ${o.id}` });
    }
    this.buildProjectChains(snapshot.projects);
    for (const p of snapshot.principals) this.principals.add(p.id);
    this.buildGroups(snapshot.groups);
    for (const r of snapshot.roles) {
      this.roles.set(r.id, compileRoleActions(r.actions, r.notActions));
      this.roleNames.set(r.id, r.name);
    }
    for (const b of snapshot.bindings) this.addBinding(b);
    for (const d of snapshot.denies) this.addDeny(d);
  }

  private buildProjectChains(projects: AuthzSnapshot["projects"]): void {
    const byId = new Map(projects.map((p) => [p.id, p]));
    const resolve = (id: string, seen: Set<string>): ScopeChain => {
      const done = this.projectChains.get(id);
      if (done) return done;
      const p = byId.get(id);
      if (!p) broken(`unknown parent project ${id}`);
      if (seen.has(id)) broken(`project nesting has a cycle through ${id}`);
      seen.add(id);
      const orgChain = this.orgChains.get(p.org);
      if (!orgChain) broken(`project ${id} belongs to unknown organisation ${p.org}`);
      let above = orgChain;
      if (p.parent !== undefined) {
        above = resolve(p.parent, seen);
        if (above.org !== p.org) broken(`project ${id} and its parent ${p.parent} are in different organisations`);
      }
      const chain: ScopeChain = { org: p.org, keys: [`project/${id}`, ...above.keys], projects: new Set([id, ...above.projects]), where: `project ${id}` };
      this.projectChains.set(id, chain);
      return chain;
    };
    for (const p of projects) resolve(p.id, new Set());
  }

  private buildGroups(groups: AuthzSnapshot["groups"]): void {
    const ids = new Set(groups.map((g) => g.id));
    for (const g of groups) {
      for (const m of g.members) {
        if (!ids.has(m) && !this.principals.has(m)) broken(`group ${g.id} has unknown member ${m}`);
        push(this.parentGroups, m, g.id);
      }
    }
    const closure = (id: string, path: Set<string>): readonly string[] => {
      const done = this.groupClosure.get(id);
      if (done) return done;
      if (path.has(id)) broken(`group membership has a cycle through ${id}`);
      path.add(id);
      const all = new Set<string>([id]);
      for (const parent of this.parentGroups.get(id) ?? []) for (const g of closure(parent, path)) all.add(g);
      path.delete(id);
      const list = [...all];
      this.groupClosure.set(id, list);
      return list;
    };
    for (const g of groups) closure(g.id, new Set());
  }

  private checkScope(scope: Scope, what: string): string {
    if (scope.kind === "org" && !this.orgChains.has(scope.id)) broken(`${what} is on unknown organisation ${scope.id}`);
    if (scope.kind === "project" && !this.projectChains.has(scope.id)) broken(`${what} is on unknown project ${scope.id}`);
    if (scope.kind !== "system" && scope.kind !== "org" && scope.kind !== "project") broken(`${what} has an unknown scope kind`);
    return scopeKey(scope);
  }

  private checkPrincipal(id: string, what: string): void {
    if (!this.principals.has(id) && !this.groupClosure.has(id)) broken(`${what} names unknown principal ${id}`);
  }

  private addBinding(b: BindingSpec): void {
    const { roles, roleNames } = this;
    const scope = this.checkScope(b.scope, `binding ${b.id}`);
    this.checkPrincipal(b.principal, `binding ${b.id}`);
    let role = roles.get(b.role);
    let roleName = roleNames.get(b.role);
    if (!role) {
      const builtin: RoleSpec | undefined = builtinRole(b.role);
      if (!builtin) broken(`binding ${b.id} names unknown role ${b.role}`);
      role = compileRoleActions(builtin.actions, builtin.notActions);
      roles.set(b.role, role);
      roleName = builtin.name;
      roleNames.set(b.role, roleName);
    }
    const reason = `binding ${b.id} grants role ${roleName} to ${b.principal} on ${describeScope(b.scope)}`;
    const grant: CompiledGrant = {
      id: b.id,
      role,
      condition: b.condition ? compileCondition(b.condition) : undefined,
      decision: Object.freeze({ allowed: true, reason: b.condition ? `${reason} (condition holds)` : reason, matched: b.id }),
    };
    push(this.grantsByPrincipal, b.principal, { scope, grant });
    this.bindingOwner.set(b.id, b.principal);
  }

  private removeBinding(id: string): void {
    const owner = this.bindingOwner.get(id);
    if (owner === undefined) return;
    this.bindingOwner.delete(id);
    const left = (this.grantsByPrincipal.get(owner) ?? []).filter((e) => e.grant.id !== id);
    if (left.length > 0) this.grantsByPrincipal.set(owner, left);
    else this.grantsByPrincipal.delete(owner);
    this.invalidate(owner);
  }

  /** Forgets cached views that may depend on `principal`'s grants (a group's reach all members). */
  private invalidate(principal: string): void {
    if (this.principals.has(principal)) this.views.delete(principal);
    else this.dropCaches();
  }

  /**
   * Applies binding changes and new principals in place — microseconds, where a rebuild of a
   * large model takes milliseconds — and moves the index to `revision`. Cached views of the
   * principals concerned are dropped. Checks each binding as the constructor does.
   * @throws IAM:InvalidSnapshot as the constructor; the index may then be half-changed and must
   *   be rebuilt whole (Authorizer.update).
   */
  applyChanges(changes: { principals?: readonly string[]; putBindings?: readonly BindingSpec[]; removedBindings?: readonly string[] }, revision: number): void {
    for (const p of changes.principals ?? []) this.principals.add(p);
    for (const id of changes.removedBindings ?? []) this.removeBinding(id);
    for (const b of changes.putBindings ?? []) {
      this.removeBinding(b.id);
      this.addBinding(b);
      this.invalidate(b.principal);
    }
    this.revision = revision;
  }

  private addDeny(d: DenySpec): void {
    const scope = this.checkScope(d.scope, `deny ${d.id}`);
    if (d.principals.length === 0) broken(`deny ${d.id} names no principals`);
    for (const p of d.principals) if (p !== EVERYONE) this.checkPrincipal(p, `deny ${d.id}`);
    const deny: CompiledDeny = {
      id: d.id,
      actions: compileActionSet(d.actions),
      except: d.exceptPrincipals?.length ? new Set(d.exceptPrincipals) : undefined,
      condition: d.condition ? compileCondition(d.condition) : undefined,
      decision: Object.freeze({
        allowed: false,
        reason: `deny ${d.id} (${d.name}) on ${describeScope(d.scope)} forbids it`,
        matched: d.id,
      }),
    };
    for (const p of new Set(d.principals)) push(this.deniesByPrincipal, p, { scope, deny });
  }

  /** Whether `id` is a user or service account of the snapshot. */
  hasPrincipal(id: string): boolean {
    return this.principals.has(id);
  }

  /** The groups containing `principal`, directly or through nested groups (empty when none). */
  groupsOf(principal: string): readonly string[] {
    const out = new Set<string>();
    for (const g of this.parentGroups.get(principal) ?? []) for (const a of this.groupClosure.get(g) ?? []) out.add(a);
    return [...out];
  }

  /** The scope chain of a resource, or a string saying why it has none (unknown or mismatched ids). */
  chainOf(org: string | undefined, project: string | undefined): ScopeChain | string {
    if (project !== undefined) {
      const chain = this.projectChains.get(project);
      if (!chain) return `unknown project ${project}`;
      if (org !== undefined && chain.org !== org) return `project ${project} is not in organisation ${org}`;
      return chain;
    }
    if (org !== undefined) return this.orgChains.get(org) ?? `unknown organisation ${org}`;
    return SYSTEM_CHAIN;
  }

  /** The principal's grants and denies by scope, built on first use and cached; undefined if unknown. */
  viewOf(principal: string): PrincipalView | undefined {
    const hit = this.views.get(principal);
    if (hit) return hit;
    if (!this.principals.has(principal)) return undefined;
    const keys = [principal, ...this.groupsOf(principal)];
    const grants = new Map<string, CompiledGrant[]>();
    const denies = new Map<string, CompiledDeny[]>();
    for (const k of keys) for (const { scope, grant } of this.grantsByPrincipal.get(k) ?? []) push(grants, scope, grant);
    const seen = new Set<CompiledDeny>();
    for (const k of [...keys, EVERYONE]) {
      for (const { scope, deny } of this.deniesByPrincipal.get(k) ?? []) {
        if (seen.has(deny) || (deny.except && keys.some((x) => deny.except!.has(x)))) continue;
        seen.add(deny);
        push(denies, scope, deny);
      }
    }
    const view: PrincipalView = { id: principal, grants, denies, chains: new Map() };
    if (this.views.size >= VIEW_CACHE_LIMIT) this.dropCaches();
    this.views.set(principal, view);
    return view;
  }

  /** The principal's denies and grants along `chain`, flattened in chain order; cached. */
  chainView(view: PrincipalView, chain: ScopeChain): ChainView {
    const hit = view.chains.get(chain);
    if (hit) return hit;
    const denies: CompiledDeny[] = [];
    const grants: CompiledGrant[] = [];
    for (const k of chain.keys) {
      for (const d of view.denies.get(k) ?? []) denies.push(d);
      for (const g of view.grants.get(k) ?? []) grants.push(g);
    }
    const cv: ChainView = { denies, grants, memo: new Map(), where: chain.where };
    if (view.chains.size >= CHAINS_PER_VIEW) view.chains.clear();
    view.chains.set(chain, cv);
    return cv;
  }

  /** Memoises a decision that depends only on the action (bounded; all caches drop when full). */
  remember(cv: ChainView, action: string, decision: Decision): void {
    if (cv.memo.size >= MEMO_PER_CHAIN) return;
    if (++this.memoEntries > MEMO_TOTAL) {
      this.dropCaches();
      return;
    }
    cv.memo.set(action, decision);
  }

  private dropCaches(): void {
    this.views.clear();
    this.memoEntries = 0;
  }
}
