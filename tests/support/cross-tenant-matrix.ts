/**
 * The cross-tenant denial matrix: every principal of one tenant tries every action on every
 * resource of another, and every attempt must be denied. Any service reuses it with its own
 * actions:
 *
 * @example
 * import { buildTwoTenantFixture, expectCrossTenantDenied } from "../../tests/support/cross-tenant-matrix.ts";
 * const fx = buildTwoTenantFixture();
 * expectCrossTenantDenied({ authorize: (r) => fx.authorizer.authorize(r), pairs: fx.pairs, actions: ["compute:vm:get", "compute:vm:delete"] });
 *
 * A tenant is an organisation or a project; the fixture gives both kinds of pair (two
 * organisations, and two sibling projects of one organisation whose principals are bound only on
 * their own project). So that the matrix cannot pass vacuously, each tenant names `owners` that
 * must be allowed every action on their own resources.
 */
import { expect } from "bun:test";
import { Authorizer } from "../../lib/authz/authorizer.ts";
import type { AuthorizeRequest, Decision, RequestContext, ResourceRef } from "../../lib/authz/types.ts";
import { IamModel } from "../../services/iam/model/model.ts";

/** One tenant as the matrix sees it. */
export interface TenantFixture {
  /** For messages (`acme`, `acme/web`). */
  label: string;
  /** Where the tenant's resources live: each entry is an org-level (no project) or project scope. */
  scopes: readonly { org: string; project?: string }[];
  /** Every principal (user or service account id) that belongs to the tenant. */
  principals: readonly string[];
  /** Principals that must be allowed every action on the tenant's own resources (non-vacuity). */
  owners: readonly string[];
  /** Tags put on every resource (exercises tag conditions). */
  tags?: Readonly<Record<string, string>>;
}

/** Options of the matrix. */
export interface CrossTenantMatrixOptions {
  /** The decision function under test (an `Authorizer`, or a service's whole authz path). */
  authorize: (req: AuthorizeRequest) => Decision;
  /** Ordered pairs are derived from these: each side attacks the other. */
  pairs: readonly (readonly [TenantFixture, TenantFixture])[];
  /** Concrete actions (`compute:vm:get`...). */
  actions: readonly string[];
  /** Request context for every attempt (default: a source address inside every CIDR). */
  context?: RequestContext;
}

/** An attempt that should have been denied and was not. */
export interface Leak {
  principal: string;
  from: string;
  to: string;
  action: string;
  resource: ResourceRef;
  reason: string;
}

function resourceFor(scope: { org: string; project?: string }, action: string, tags?: Readonly<Record<string, string>>): ResourceRef {
  const type = action.split(":")[1] ?? "resource";
  const r: ResourceRef = { org: scope.org, type, id: `${type}-matrix` };
  if (scope.project !== undefined) r.project = scope.project;
  if (tags) r.tags = tags;
  return r;
}

/** Runs the matrix and returns every leak (empty: isolated) and how many attempts were made. */
export function crossTenantLeaks(options: CrossTenantMatrixOptions): { leaks: Leak[]; attempts: number } {
  const context = options.context ?? { sourceIp: "10.0.0.1", time: Date.now() };
  const leaks: Leak[] = [];
  let attempts = 0;
  for (const [a, b] of options.pairs) {
    for (const [from, to] of [[a, b], [b, a]] as const) {
      for (const principal of from.principals) {
        for (const scope of to.scopes) {
          for (const action of options.actions) {
            const resource = resourceFor(scope, action, to.tags);
            const d = options.authorize({ principal, action, resource, context });
            attempts++;
            if (d.allowed) leaks.push({ principal, from: from.label, to: to.label, action, resource, reason: d.reason });
          }
        }
      }
    }
  }
  return { leaks, attempts };
}

/** Options of the asynchronous matrix: the decision comes over an API. */
export interface AsyncCrossTenantMatrixOptions extends Omit<CrossTenantMatrixOptions, "authorize"> {
  authorize: (req: AuthorizeRequest) => Promise<Decision>;
  /** Attempts in flight at once (default 16). */
  concurrency?: number;
}

/** Every attempt of the matrix (both directions) and every owner check, as requests. */
function matrixRequests(options: Omit<CrossTenantMatrixOptions, "authorize">): { attack: { req: AuthorizeRequest; from: string; to: string }[]; own: { req: AuthorizeRequest; label: string }[] } {
  const context = options.context ?? { sourceIp: "10.0.0.1", time: Date.now() };
  const attack: { req: AuthorizeRequest; from: string; to: string }[] = [];
  const own: { req: AuthorizeRequest; label: string }[] = [];
  for (const [a, b] of options.pairs) {
    for (const [from, to] of [[a, b], [b, a]] as const) {
      for (const principal of from.principals) {
        for (const scope of to.scopes) {
          for (const action of options.actions) attack.push({ req: { principal, action, resource: resourceFor(scope, action, to.tags), context }, from: from.label, to: to.label });
        }
      }
    }
    for (const t of [a, b]) {
      for (const principal of t.owners) {
        for (const scope of t.scopes) for (const action of options.actions) own.push({ req: { principal, action, resource: resourceFor(scope, action, t.tags), context }, label: t.label });
      }
    }
  }
  return { attack, own };
}

/**
 * The matrix through an asynchronous decision function (a service's Authorize API): returns the
 * leaks, the owners' gaps and the number of attempts. Assert both lists empty.
 */
export async function crossTenantLeaksAsync(options: AsyncCrossTenantMatrixOptions): Promise<{ leaks: Leak[]; gaps: string[]; attempts: number }> {
  const { attack, own } = matrixRequests(options);
  const leaks: Leak[] = [];
  const gaps: string[] = [];
  const jobs: (() => Promise<void>)[] = [
    ...attack.map(({ req, from, to }) => async () => {
      const d = await options.authorize(req);
      if (d.allowed) leaks.push({ principal: req.principal, from, to, action: req.action, resource: req.resource, reason: d.reason });
    }),
    ...own.map(({ req, label }) => async () => {
      const d = await options.authorize(req);
      if (!d.allowed) gaps.push(`${req.principal} (${label}) ${req.action} on ${req.resource.project ?? req.resource.org}: ${d.reason}`);
    }),
  ];
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) await jobs[next++]!();
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 16 }, worker));
  return { leaks, gaps, attempts: attack.length };
}

/** Owners denied an action on their own tenant (the matrix would prove nothing for those). */
export function ownerGaps(options: CrossTenantMatrixOptions): string[] {
  const context = options.context ?? { sourceIp: "10.0.0.1", time: Date.now() };
  const gaps: string[] = [];
  for (const pair of options.pairs) {
    for (const t of pair) {
      for (const principal of t.owners) {
        for (const scope of t.scopes) {
          for (const action of options.actions) {
            const d = options.authorize({ principal, action, resource: resourceFor(scope, action, t.tags), context });
            if (!d.allowed) gaps.push(`${principal} (${t.label}) ${action} on ${scope.project ?? scope.org}: ${d.reason}`);
          }
        }
      }
    }
  }
  return gaps;
}

/**
 * Asserts (bun:test `expect`) that owners may act on their own tenant and that no principal of a
 * tenant may perform any of the actions on any resource of the other; a failure lists every leak.
 */
export function expectCrossTenantDenied(options: CrossTenantMatrixOptions): { attempts: number } {
  expect(ownerGaps(options)).toEqual([]);
  const { leaks, attempts } = crossTenantLeaks(options);
  expect(leaks.map((l) => `${l.principal} (${l.from}) → ${l.action} on ${l.resource.project ?? l.resource.org} (${l.to}): ${l.reason}`)).toEqual([]);
  return { attempts };
}

/** The standard two-tenant model, its evaluator and the tenant pairs to attack. */
export interface TwoTenantFixture {
  model: IamModel;
  authorizer: Authorizer;
  /** [acme, globex] (organisations) and [acme/web, acme/db] (sibling projects). */
  pairs: [TenantFixture, TenantFixture][];
  /** A system administrator (allowed everywhere; in no tenant). */
  systemAdmin: string;
}

function buildOrg(m: IamModel, name: string): { org: TenantFixture; projects: [TenantFixture, TenantFixture] } {
  const org = m.createOrg({ name });
  const web = m.createProject({ org: org.id, name: "web" });
  const api = m.createProject({ org: org.id, parent: web.id, name: "api" });
  const db = m.createProject({ org: org.id, name: "db" });
  const user = (n: string) => m.createUser({ org: org.id, name: n }).id;
  const [orgAdmin, orgMember, orgReader, nested, webAdmin, dbAdmin, tagged, plain] = [
    "org-admin", "org-member", "org-reader", "nested", "web-admin", "db-admin", "tagged", "plain",
  ].map(user) as [string, string, string, string, string, string, string, string];
  const webSa = m.createServiceAccount({ project: web.id, name: "deployer" }).id;
  const dbSa = m.createServiceAccount({ project: db.id, name: "backup" }).id;
  const inner = m.createGroup({ org: org.id, name: "inner", members: [nested] });
  const outer = m.createGroup({ org: org.id, name: "outer", members: [inner.id] });
  const all = m.createRole({ org: org.id, name: "everything", actions: ["*"] });
  const bind = (principal: string, role: string, scope: { kind: "org" | "project"; id: string }, condition?: object) =>
    m.createBinding({ principal, role, scope, ...(condition ? { condition } : {}) });
  bind(orgAdmin, "admin", { kind: "org", id: org.id });
  bind(orgMember, "member", { kind: "org", id: org.id });
  bind(orgReader, "reader", { kind: "org", id: org.id });
  bind(outer.id, all.id, { kind: "org", id: org.id });
  bind(tagged, "admin", { kind: "org", id: org.id }, { resourceTags: { tenant: name }, sourceCidrs: ["0.0.0.0/0"] });
  bind(webAdmin, "admin", { kind: "project", id: web.id });
  bind(webSa, all.id, { kind: "project", id: web.id });
  bind(dbAdmin, "admin", { kind: "project", id: db.id });
  bind(dbSa, all.id, { kind: "project", id: db.id });
  m.createDeny({ name: "no-purge", principals: ["*"], actions: ["*:*:purge"], scope: { kind: "org", id: org.id }, exceptPrincipals: [orgAdmin, tagged] });
  const tags = { tenant: name };
  const orgScopes = [{ org: org.id }, { org: org.id, project: web.id }, { org: org.id, project: api.id }, { org: org.id, project: db.id }];
  return {
    org: { label: name, scopes: orgScopes, principals: [orgAdmin, orgMember, orgReader, nested, webAdmin, dbAdmin, tagged, plain, webSa, dbSa], owners: [orgAdmin, tagged], tags },
    projects: [
      { label: `${name}/web`, scopes: [{ org: org.id, project: web.id }, { org: org.id, project: api.id }], principals: [webAdmin, webSa], owners: [webAdmin, webSa], tags },
      { label: `${name}/db`, scopes: [{ org: org.id, project: db.id }], principals: [dbAdmin, dbSa], owners: [dbAdmin, dbSa], tags },
    ],
  };
}

/**
 * Builds the standard fixture: two organisations (`acme`, `globex`), each with projects
 * web > api and db; org-level admin, member and reader users; a user reaching an all-powerful
 * custom role through two nested groups; a user whose admin binding has tag and CIDR conditions;
 * project admins and project service accounts; an org-wide deny on `*`; and a system admin.
 */
export function buildTwoTenantFixture(): TwoTenantFixture {
  const m = new IamModel();
  const acme = buildOrg(m, "acme");
  const globex = buildOrg(m, "globex");
  const root = m.createUser({ name: "root" });
  m.createBinding({ principal: root.id, role: "admin", scope: { kind: "system" } });
  return { model: m, authorizer: new Authorizer(m.snapshot()), pairs: [[acme.org, globex.org], acme.projects], systemAdmin: root.id };
}
