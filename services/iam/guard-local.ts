/**
 * `LocalPolicy`: iam's evaluator running inside another service, kept fresh by iam's policy feed
 * (`GET /v1/authz/feed`, feed-types.ts). It verifies access tokens offline (JWKS, issuer, audience,
 * expiry, revocation list, principal still enabled) and decides with the same `Authorizer` iam
 * uses, so a decision costs microseconds and no round trip. While the feed is down or stale it
 * reports `current === false` and `IamGuard` asks iam instead: never a decision on an old policy
 * for longer than the feed's ping interval allows.
 */
import { Authorizer } from "../../lib/authz/authorizer.ts";
import type { Decision, ResourceRef } from "../../lib/authz/types.ts";
import type { Logger } from "../../lib/log.ts";
import { IamErrors } from "./errors.ts";
import type { FeedMessage, FeedSnapshot } from "./feed-types.ts";
import { IamModel } from "./model/model.ts";
import { incrementalChanges } from "./model/snapshot.ts";
import type { ModelChange } from "./model/types.ts";
import { AccessTokenVerifier, sessionLimits, type AccessTokenClaims } from "./tokens/access-token.ts";
import { MemoryRevocationList } from "./tokens/revocation.ts";

/** Options of a `LocalPolicy`. */
export interface LocalPolicyOptions {
  /** iam's base URL. */
  url: string;
  /** The service's own access token (a system principal allowed `iam:binding:list`). */
  token: () => string | Promise<string>;
  /** The feed is stale when silent this long (ms; iam pings every 5 s). Default 12 000. */
  staleMs?: number;
  logger?: Logger;
}

/** See the module comment. */
export class LocalPolicy {
  private model = new IamModel();
  private authorizer: Authorizer | undefined;
  private verifier: AccessTokenVerifier | undefined;
  private revocations = new MemoryRevocationList();
  private lastMessage = 0;
  private pending: ModelChange[] = [];
  private closed = false;
  private abort: AbortController | undefined;
  private readyWaiters: (() => void)[] = [];
  /** The iam model revision the evaluator reflects. */
  revision = 0;

  constructor(private readonly options: LocalPolicyOptions) {
    void this.run();
  }

  /** Whether decisions can be made locally: a snapshot arrived and the feed is not stale. */
  get current(): boolean {
    return this.authorizer !== undefined && !this.closed && Date.now() - this.lastMessage < (this.options.staleMs ?? 12_000);
  }

  /** Resolves once the first snapshot is loaded (or after `timeoutMs`); returns `current`. */
  async ready(timeoutMs = 5_000): Promise<boolean> {
    if (!this.current) await new Promise<void>((resolve) => {
      this.readyWaiters.push(resolve);
      setTimeout(resolve, timeoutMs).unref?.();
    });
    return this.current;
  }

  /**
   * Verifies `token` offline.
   * @throws IAM:InvalidToken, IAM:TokenExpired, IAM:TokenRevoked (also for a principal deleted
   *   or disabled since the token was issued).
   */
  async verify(token: string): Promise<AccessTokenClaims> {
    const claims = await this.verifier!.verify(token);
    const p = claims.pk === "user" ? this.model.get("user", claims.sub) : this.model.get("serviceaccount", claims.sub);
    if (!p || p.disabled) throw IamErrors.InvalidToken(`the token's principal ${claims.sub} no longer exists or is disabled`);
    return claims;
  }

  /** Decides `action` on `resource` for the holder of `claims` (their session limits apply). */
  decide(claims: AccessTokenClaims, action: string, resource: ResourceRef, sourceIp?: string): Decision {
    this.rebuildIfDirty();
    return this.authorizer!.authorize({ principal: claims.sub, action, resource, ...(sourceIp ? { context: { sourceIp } } : {}), session: sessionLimits(claims) });
  }

  /** The organisation a project belongs to, if the project exists. */
  orgOfProject(project: string): string | undefined {
    return this.model.get("project", project)?.org;
  }

  /** Stops following the feed. */
  close(): void {
    this.closed = true;
    this.abort?.abort();
  }

  private async run(): Promise<void> {
    for (let delay = 200; !this.closed; delay = Math.min(delay * 2, 5_000)) {
      try {
        await this.follow();
        delay = 200; // a stream that ran ended normally (iam restarting): reconnect quickly
      } catch (e) {
        if (this.closed) return;
        this.options.logger?.warn("iam policy feed failed; deciding through iam until it is back", { error: e });
      }
      if (!this.closed) await Bun.sleep(delay);
    }
  }

  /** One connection: reads lines until the stream ends, fails or goes stale. */
  private async follow(): Promise<void> {
    this.abort = new AbortController();
    const abort = this.abort;
    const res = await fetch(`${this.options.url.replace(/\/$/, "")}/v1/authz/feed`, {
      headers: { authorization: `Bearer ${await this.options.token()}` },
      signal: abort.signal,
    });
    if (!res.ok || !res.body) throw IamErrors.Unauthenticated(`iam refused the policy feed: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`);
    const staleMs = this.options.staleMs ?? 12_000;
    const watchdog = setInterval(() => { if (Date.now() - this.lastMessage > staleMs) abort.abort(); }, Math.max(100, staleMs / 4));
    this.lastMessage = Date.now();
    const decoder = new TextDecoder();
    let buffered = "";
    try {
      for await (const chunk of res.body) {
        buffered += decoder.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = buffered.indexOf("\n")) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          if (line.trim() !== "") this.onMessage(JSON.parse(line) as FeedMessage);
        }
      }
    } finally {
      clearInterval(watchdog);
    }
  }

  private onMessage(m: FeedMessage): void {
    this.lastMessage = Date.now();
    switch (m.type) {
      case "snapshot":
        this.load(m);
        break;
      case "model":
        if (m.revision <= this.revision) break;
        this.model.apply(m.changes);
        this.revision = m.revision;
        if (this.pending.push(...m.changes) === m.changes.length) queueMicrotask(() => this.rebuildIfDirty());
        break;
      case "revoked":
        this.revocations.revoke(m.id, m.until);
        break;
      case "unrevoked":
        this.revocations.forget(m.id);
        break;
      case "jwks":
        this.verifier?.setJwks(m.jwks);
        break;
      case "reset":
      case "ping":
        break;
    }
  }

  private load(s: FeedSnapshot): void {
    const model = new IamModel();
    model.apply(s.changes);
    const revocations = new MemoryRevocationList();
    for (const r of s.revoked) revocations.revoke(r.id, r.until);
    this.model = model;
    this.revocations = revocations;
    this.revision = s.revision;
    this.verifier = new AccessTokenVerifier({ jwks: s.jwks, issuer: s.issuer, revocations });
    this.authorizer = new Authorizer(model.snapshot(s.revision));
    this.pending = [];
    for (const w of this.readyWaiters.splice(0)) w();
  }

  /** Brings the evaluator to the model: in place for bindings and new principals, else rebuilt. */
  private rebuildIfDirty(): void {
    if (this.pending.length === 0 || !this.authorizer) return;
    const authorizer = this.authorizer;
    const inc = incrementalChanges(this.pending, this.model, (p) => authorizer.hasPrincipal(p));
    this.pending = [];
    if (inc && authorizer.applyChanges(inc, this.revision)) return;
    try {
      this.authorizer.update(this.model.snapshot(this.revision));
    } catch (e) {
      this.options.logger?.error("iam policy feed made an invalid snapshot; keeping the previous one", { error: e });
    }
  }
}
