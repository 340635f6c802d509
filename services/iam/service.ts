/**
 * `IamService`: iam's domain logic, no transport in it. Every call but login, refresh, token
 * revocation by possession and the JWKS is authenticated by an access token and authorised with
 * the replica's `Authorizer` against the resource's (organisation, project): an organisation's
 * administrator reaches only that organisation, a project's only that project's subtree.
 * Authentications, the decisions on mutating calls and every change to iam are audited.
 *
 * The resource operations live in service-*.ts, one file per concern, as functions over this
 * class's helpers.
 */
import { FailureAuditThrottle } from "./audit-throttle.ts";
import type { Decision, ResourceRef, Scope } from "../../lib/authz/types.ts";
import type { Logger } from "../../lib/log.ts";
import { PhotonError } from "../../lib/errors.ts";
import type { AuditEntry, AuditLog } from "./audit.ts";
import { IamErrors } from "./errors.ts";
import type { LoginLimiter } from "./login-limiter.ts";
import type { Entity } from "./model/types.ts";
import type { IamReplica } from "./replica.ts";
import type { IamStore } from "./store.ts";
import { sessionLimits } from "./tokens/access-token.ts";
import type { SecretCipher } from "./tokens/access-key.ts";
import type { Caller, RequestInfo } from "./types.ts";

/** What the service is built from. */
export interface IamServiceDeps {
  replica: IamReplica;
  store: IamStore;
  audit: AuditLog;
  limiter: LoginLimiter;
  cipher: SecretCipher;
  logger: Logger;
}

const BEARER = /^Bearer ([A-Za-z0-9._~+/=-]+)$/;

/** See the module comment. */
export class IamService {
  readonly replica: IamReplica;
  readonly store: IamStore;
  readonly audit: AuditLog;
  readonly limiter: LoginLimiter;
  readonly cipher: SecretCipher;
  readonly logger: Logger;
  /** Bounds the audit records of failed token checks (anyone can cause them). */
  readonly failureAudit = new FailureAuditThrottle();

  constructor(deps: IamServiceDeps) {
    this.replica = deps.replica;
    this.store = deps.store;
    this.audit = deps.audit;
    this.limiter = deps.limiter;
    this.cipher = deps.cipher;
    this.logger = deps.logger;
  }

  /**
   * Verifies the request's bearer token and that its principal still exists and is enabled.
   * Failures are audited.
   * @throws IAM:Unauthenticated (no token), IAM:InvalidToken, IAM:TokenExpired, IAM:TokenRevoked.
   */
  async authenticate(req: RequestInfo): Promise<Caller> {
    const m = req.authorization === undefined ? null : BEARER.exec(req.authorization.trim());
    if (!m) {
      throw IamErrors.Unauthenticated(req.authorization === undefined ? "this call needs an access token: send `Authorization: Bearer <token>`" : "the Authorization header must be `Bearer <token>`");
    }
    try {
      const claims = await this.replica.verifier.verify(m[1]!);
      const p = claims.pk === "user" ? this.replica.model.get("user", claims.sub) : this.replica.model.get("serviceaccount", claims.sub);
      if (!p || p.disabled) throw IamErrors.InvalidToken(`the token's principal ${claims.sub} no longer exists or is disabled`);
      return { principal: claims.sub, claims, source: req.source };
    } catch (e) {
      const left = this.failureAudit.admit(req.source);
      if (left !== undefined) {
        const reason = `${e instanceof PhotonError ? e.code : "error"}${left > 0 ? ` (${left} earlier failures from this source not recorded)` : ""}`;
        await this.record({ principal: "-", action: "iam:token:verify", result: "failure", reason, source: req.source });
      }
      throw e;
    }
  }

  /** The decision for `caller` doing `action` on `resource` (no audit). */
  decide(caller: Caller, action: string, resource: ResourceRef): Decision {
    return this.replica.authorizer.authorize({ principal: caller.principal, action, resource, context: { sourceIp: caller.source }, session: sessionLimits(caller.claims) });
  }

  /**
   * Refuses unless `caller` may perform `action` on `resource`; mutating decisions are audited.
   * @throws IAM:PermissionDenied with the decision's reason.
   */
  async allow(caller: Caller, action: string, resource: ResourceRef, mutating: boolean): Promise<void> {
    const d = this.decide(caller, action, resource);
    if (mutating) {
      await this.record({ principal: caller.principal, action, scope: scopeOfRef(resource), ...(resource.id ? { resource: resource.id } : {}), result: d.allowed ? "allowed" : "denied", reason: d.reason, source: caller.source });
    }
    if (!d.allowed) throw IamErrors.PermissionDenied(`${caller.principal} may not ${action}: ${d.reason}`, { details: { action } });
  }

  /**
   * Runs a change to iam after authorising it, and audits its outcome.
   * @throws IAM:PermissionDenied, or what `run` throws.
   */
  async change<T>(caller: Caller, action: string, resource: ResourceRef, run: () => Promise<T>, idOf: (v: T) => string | undefined = () => resource.id): Promise<T> {
    await this.allow(caller, action, resource, true);
    const base = { principal: caller.principal, action, scope: scopeOfRef(resource), source: caller.source };
    try {
      const v = await run();
      const id = idOf(v);
      await this.record({ ...base, ...(id ? { resource: id } : {}), result: "success" });
      return v;
    } catch (e) {
      await this.record({ ...base, ...(resource.id ? { resource: resource.id } : {}), result: "failure", reason: e instanceof PhotonError ? e.code : "error" });
      throw e;
    }
  }

  /** Appends to the audit log; a failing audit fails the call (nothing unaudited happens silently). */
  async record(entry: AuditEntry): Promise<void> {
    await this.audit.append(entry);
  }

  /** Where a scope lives, as a resource reference. @throws IAM:NotFound for an unknown org or project. */
  refOfScope(scope: Scope): ResourceRef {
    if (typeof scope !== "object" || scope === null) throw IamErrors.InvalidArgument("scope must be an object", { details: { field: "scope" } });
    if (scope.kind === "system") return {};
    if (scope.kind === "org") return { org: this.require("org", scope.id).id };
    if (scope.kind === "project") {
      const p = this.require("project", scope.id);
      return { org: p.org, project: p.id };
    }
    throw IamErrors.InvalidArgument("scope.kind must be system, org or project", { details: { field: "scope.kind" } });
  }

  /** Where an entity lives, as a resource reference (with its id). */
  refOf(e: Entity): ResourceRef {
    switch (e.kind) {
      case "org":
        return { org: e.id, id: e.id };
      case "project":
        return { org: e.org, project: e.id, id: e.id };
      case "serviceaccount":
        return { org: e.org, project: e.project, id: e.id };
      case "user":
      case "group":
      case "role":
        return e.org === undefined ? { id: e.id } : { org: e.org, id: e.id };
      case "binding":
      case "deny":
        return { ...this.refOfScope(e.scope), id: e.id };
    }
  }

  /** The entity, or IAM:NotFound. */
  require<K extends Entity["kind"]>(kind: K, id: unknown): Extract<Entity, { kind: K }> {
    const e = typeof id === "string" ? this.replica.model.get(kind, id) : undefined;
    if (!e) throw IamErrors.NotFound(`${kind} ${JSON.stringify(id)} not found`, { details: { kind, id: typeof id === "string" ? id : null } });
    return e as Extract<Entity, { kind: K }>;
  }

  /** The entities of `kind` that `caller` may list (`iam:<resource>:list` on each one's scope). */
  visible<K extends Entity["kind"]>(caller: Caller, kind: K, resource: string): Extract<Entity, { kind: K }>[] {
    return this.replica.model.list(kind).filter((e) => this.decide(caller, `iam:${resource}:list`, this.refOf(e as Entity)).allowed) as Extract<Entity, { kind: K }>[];
  }
}

/** The (org, project) part of a resource reference, for audit. */
export function scopeOfRef(r: ResourceRef): { org?: string; project?: string } {
  const out: { org?: string; project?: string } = {};
  if (r.org !== undefined) out.org = r.org;
  if (r.project !== undefined) out.project = r.project;
  return out;
}
