/**
 * `IamGuard`: how a PhotonCloud service authenticates the callers of its API and authorises each
 * call, through iam's client API only (DESIGN.md: a service talks to another through its client).
 *
 * The caller's own access token is presented to iam's Authorize API, so iam checks signature,
 * expiry, revocation and session limits and decides with the same evaluator as for its own API;
 * the service never sees a signing key or the policy. Decisions (allowed and refused) are cached
 * per (token, action, resource) for `cacheMs`, 1 s by default: the bound iam promises for a
 * revocation or a binding change to reach every replica, so caching adds nothing beyond it.
 *
 * @example
 * const guard = new IamGuard("http://127.0.0.1:7080");
 * const caller = await guard.authenticate(IamGuard.bearer(req.headers.get("authorization")));
 * const { org } = await guard.authorize(caller, "novanet:vpc:create", { project: caller.project! });
 */
import { IamClient } from "./client.ts";
import { IamErrors } from "./errors.ts";
import { LocalPolicy } from "./guard-local.ts";
import type { AccessTokenClaims } from "./tokens/access-token.ts";
import type { Logger } from "../../lib/log.ts";
import type { ResourceRef } from "../../lib/authz/types.ts";

/** An authenticated caller of a service's API. */
export interface GuardCaller {
  /** User or service-account id. */
  readonly principal: string;
  readonly kind: "user" | "serviceaccount";
  /** The organisation and project the token is scoped to, when it is. */
  readonly org?: string;
  readonly project?: string;
  /** The bearer token, to call other services on the caller's behalf. */
  readonly token: string;
  /** The address the request came from, for source-CIDR conditions. */
  readonly sourceIp?: string;
  /** When the token expires (ms since the epoch). */
  readonly expiresAt: number;
  /** The verified claims, when the token was verified in process. */
  readonly claims?: AccessTokenClaims;
}

/** What an allowed call is filed under. */
export interface GuardScope {
  /** The organisation of the resource (the named project's organisation). */
  readonly org?: string;
  readonly project?: string;
}

/** Options of an `IamGuard`. */
export interface IamGuardOptions {
  /** How long a decision or an identity is reused, in ms (default 1000; 0 disables caching). */
  cacheMs?: number;
  /** Most cached entries kept (default 10 000); the oldest go first. */
  maxEntries?: number;
  /** Decide in process from iam's policy feed, read with this token (see the module comment). */
  feed?: { token: () => string | Promise<string>; staleMs?: number };
  logger?: Logger;
}

interface WhoAmI {
  principal: string;
  kind: "user" | "serviceaccount";
  org?: string;
  project?: string;
  expiresAt: number;
}

interface DecisionAnswer {
  allowed: boolean;
  reason: string;
  org?: string;
}

type Cached<T> = { at: number; value: Promise<T> };

/** Authenticates and authorises callers of a service through iam, with a short decision cache. */
export class IamGuard {
  private readonly iam: IamClient;
  private readonly cacheMs: number;
  private readonly maxEntries: number;
  private readonly identities = new Map<string, Cached<WhoAmI>>();
  private readonly decisions = new Map<string, Cached<DecisionAnswer>>();
  /** The in-process evaluator, when `feed` was given. */
  readonly local: LocalPolicy | undefined;

  constructor(iam: IamClient | string, options: IamGuardOptions = {}) {
    this.iam = typeof iam === "string" ? new IamClient(iam) : iam;
    this.cacheMs = options.cacheMs ?? 1000;
    this.maxEntries = options.maxEntries ?? 10_000;
    if (options.feed) {
      this.local = new LocalPolicy({ url: this.iam.baseUrl, token: options.feed.token, ...(options.feed.staleMs ? { staleMs: options.feed.staleMs } : {}), ...(options.logger ? { logger: options.logger } : {}) });
    }
  }

  /** The token of an `Authorization: Bearer <token>` header, or undefined. */
  static bearer(header: string | null | undefined): string | undefined {
    const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    return m ? m[1] : undefined;
  }

  /**
   * Who presents `token`.
   * @throws IAM:Unauthenticated without a token; IAM:InvalidToken, IAM:TokenExpired,
   *   IAM:TokenRevoked as iam decides; PHOTON:Unavailable when iam cannot be reached.
   */
  async authenticate(token: string | undefined, sourceIp?: string): Promise<GuardCaller> {
    if (!token) throw IamErrors.Unauthenticated("this API needs an access token (Authorization: Bearer ...); `photon login` gets one");
    if (this.local?.current) {
      const claims = await this.local.verify(token);
      return { principal: claims.sub, kind: claims.pk, ...(claims.org ? { org: claims.org } : {}), ...(claims.project ? { project: claims.project } : {}), token, expiresAt: claims.exp * 1000, claims, ...(sourceIp ? { sourceIp } : {}) };
    }
    const who = await this.cached(this.identities, token, () => this.iam.withToken(token).request<WhoAmI>("GET", "/v1/auth/whoami"));
    if (who.expiresAt <= Date.now()) {
      this.identities.delete(token);
      throw IamErrors.TokenExpired("the access token has expired");
    }
    return { principal: who.principal, kind: who.kind, ...(who.org ? { org: who.org } : {}), ...(who.project ? { project: who.project } : {}), token, expiresAt: who.expiresAt, ...(sourceIp ? { sourceIp } : {}) };
  }

  /**
   * Allows `caller` to perform `action` (`<service>:<resource>:<verb>`) on `resource`, or throws.
   * Name the project (and the organisation when known): iam refuses a project of another
   * organisation and a project the caller's session does not reach.
   * @returns the scope to file the resource under (the project's organisation).
   * @throws IAM:PermissionDenied with iam's reason; the authentication errors of `authenticate`.
   */
  async authorize(caller: GuardCaller, action: string, resource: ResourceRef): Promise<GuardScope> {
    if (caller.claims && this.local?.current) {
      if (caller.claims.exp * 1000 <= Date.now()) throw IamErrors.TokenExpired("the access token has expired");
      const d = this.local.decide(caller.claims, action, resource, caller.sourceIp);
      if (!d.allowed) throw IamErrors.PermissionDenied(`${caller.principal} may not ${action}: ${d.reason}`, { details: { action } });
      const org = resource.project !== undefined ? this.local.orgOfProject(resource.project) : resource.org;
      return { ...(org ? { org } : {}), ...(resource.project ? { project: resource.project } : {}) };
    }
    const key = `${caller.token}\u0000${action}\u0000${caller.sourceIp ?? ""}\u0000${JSON.stringify(resource)}`;
    const body = { action, resource, ...(caller.sourceIp ? { sourceIp: caller.sourceIp } : {}) };
    const d = await this.cached(this.decisions, key, () => this.iam.withToken(caller.token).request<DecisionAnswer>("POST", "/v1/authorize", body));
    if (!d.allowed) throw IamErrors.PermissionDenied(`${caller.principal} may not ${action}: ${d.reason}`, { details: { action } });
    return { ...(d.org ? { org: d.org } : resource.org ? { org: resource.org } : {}), ...(resource.project ? { project: resource.project } : {}) };
  }

  /** Stops following iam's policy feed (when one was followed). */
  close(): void {
    this.local?.close();
  }

  /** Forgets every cached identity and decision. */
  clear(): void {
    this.identities.clear();
    this.decisions.clear();
  }

  /** Reuses a fresh entry; failed lookups are never cached. */
  private cached<T>(map: Map<string, Cached<T>>, key: string, load: () => Promise<T>): Promise<T> {
    const now = Date.now();
    const hit = map.get(key);
    if (hit && now - hit.at < this.cacheMs) return hit.value;
    const value = load();
    if (this.cacheMs > 0) {
      if (map.size >= this.maxEntries) map.delete(map.keys().next().value as string);
      map.set(key, { at: now, value });
      value.catch(() => { if (map.get(key)?.value === value) map.delete(key); });
    }
    return value;
  }
}
