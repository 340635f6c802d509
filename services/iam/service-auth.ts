/**
 * Authentication operations: login (password → access + refresh token), refresh with rotation
 * and reuse detection, exchanging an application credential, revocation, who-am-I, key rotation
 * and the Authorize API. Every authentication is audited, success or failure; secrets are never
 * logged or echoed.
 */
import type { Decision } from "../../lib/authz/types.ts";
import { PhotonError } from "../../lib/errors.ts";
import { IamErrors } from "./errors.ts";
import type { User } from "./model/types.ts";
import type { IamService } from "./service.ts";
import type { AccessTokenClaims } from "./tokens/access-token.ts";
import { appCredentialId, authenticateAppCredential, type AppCredentialRecord } from "./tokens/app-credential.ts";
import { verifyPassword } from "./tokens/password.ts";
import { mintRefreshToken, refreshTokenId, rotateRefreshToken, type RefreshTokenRecord } from "./tokens/refresh-token.ts";
import type { AuthorizeApiRequest, Caller, LoginRequest, RequestInfo, TokenResponse } from "./types.ts";

const str = (v: unknown, field: string, max = 1024): string => {
  if (typeof v !== "string" || v.length === 0 || v.length > max) throw IamErrors.InvalidArgument(`${field} is required (a non-empty string)`, { details: { field } });
  return v;
};

/** The organisation named by id or name. */
function findOrg(svc: IamService, org: string) {
  return svc.replica.model.get("org", org) ?? svc.replica.model.findOrg(org);
}

/** The project of `org` (any, for system principals) named by id or name. */
function findProject(svc: IamService, project: string, org: string | undefined) {
  const byId = svc.replica.model.get("project", project);
  if (byId && (org === undefined || byId.org === org)) return byId;
  const byName = svc.replica.model.list("project").filter((p) => p.name === project && (org === undefined || p.org === org));
  return byName.length === 1 ? byName[0] : undefined;
}

async function issue(svc: IamService, input: { sub: string; pk: "user" | "serviceaccount"; org?: string; project?: string; sid?: string; rules?: string[]; ttlSeconds?: number }): Promise<{ token: string; claims: AccessTokenClaims }> {
  const req = { sub: input.sub, pk: input.pk, ...(input.org ? { org: input.org } : {}), ...(input.project ? { project: input.project } : {}), ...(input.sid ? { sid: input.sid } : {}), ...(input.rules ? { rules: input.rules } : {}), ...(input.ttlSeconds !== undefined ? { ttlSeconds: input.ttlSeconds } : {}) };
  return svc.replica.issuer.issue(req);
}

function tokenResponse(token: string, claims: AccessTokenClaims, refreshToken?: string): TokenResponse {
  return {
    accessToken: token,
    tokenType: "Bearer",
    expiresIn: claims.exp - Math.floor(Date.now() / 1000),
    ...(refreshToken ? { refreshToken } : {}),
    principal: claims.sub,
    ...(claims.org ? { org: claims.org } : {}),
    ...(claims.project ? { project: claims.project } : {}),
  };
}

/**
 * Password login. Rate-limited per source, locked after repeated failures of one name; the
 * error for an unknown user, a wrong password or a disabled user is the same.
 * @throws IAM:InvalidCredentials, IAM:TooManyAttempts, IAM:InvalidArgument, IAM:NotFound (project).
 */
export async function login(svc: IamService, input: LoginRequest, req: RequestInfo): Promise<TokenResponse> {
  const name = str(input?.user, "user", 256);
  const password = str(input.password, "password");
  const orgRef = input.org === undefined ? undefined : str(input.org, "org", 128);
  const label = `${orgRef ?? ""}/${name}`;
  const audit = (result: "success" | "failure", extra: { principal?: string; reason?: string; org?: string; project?: string } = {}) =>
    svc.record({ principal: extra.principal ?? `user:${label}`, action: "iam:token:create", ...(extra.org ? { scope: { org: extra.org, ...(extra.project ? { project: extra.project } : {}) } } : {}), result, ...(extra.reason ? { reason: extra.reason } : {}), source: req.source });
  try {
    await svc.limiter.check(label, req.source);
  } catch (e) {
    await audit("failure", { reason: (e as PhotonError).code });
    throw e;
  }
  const org = orgRef === undefined ? undefined : findOrg(svc, orgRef);
  const user: User | undefined = orgRef !== undefined && !org ? undefined : svc.replica.model.findUser(name, org?.id);
  const hash = user ? (await svc.store.getRecord<{ hash: string }>("password", user.id))?.value.hash : undefined;
  const ok = (await verifyPassword(password, hash)) && user !== undefined && !user.disabled;
  if (!ok) {
    const locked = await svc.limiter.failure(label);
    await audit("failure", { reason: locked ? "IAM:InvalidCredentials (now locked)" : "IAM:InvalidCredentials" });
    throw IamErrors.InvalidCredentials("the user name or password is wrong");
  }
  await svc.limiter.success(label);
  let project: string | undefined;
  if (input.project !== undefined) {
    const p = findProject(svc, str(input.project, "project", 128), user.org);
    if (!p) throw IamErrors.NotFound(`project ${JSON.stringify(input.project)} not found${user.org ? ` in organisation ${user.org}` : ""}`, { details: { field: "project" } });
    project = p.id;
  }
  const { token: refreshToken, record } = mintRefreshToken({ principal: user.id, org: user.org ?? "", project: project ?? "" });
  await svc.store.putRecord("refresh", record.id, record, 0);
  const { token, claims } = await issue(svc, { sub: user.id, pk: "user", ...(user.org ? { org: user.org } : {}), ...(project ? { project } : {}), sid: record.family, ...(input.ttlSeconds !== undefined ? { ttlSeconds: input.ttlSeconds } : {}) });
  await audit("success", { principal: user.id, ...(user.org ? { org: user.org } : {}), ...(project ? { project } : {}) });
  return tokenResponse(token, claims, refreshToken);
}

/**
 * Exchanges a refresh token for a new access token and a new refresh token (the old one is
 * spent). Presenting a spent one revokes its whole session.
 * @throws IAM:InvalidToken, IAM:TokenExpired, IAM:TokenRevoked.
 */
export async function refresh(svc: IamService, input: { refreshToken: string }, req: RequestInfo): Promise<TokenResponse> {
  const audit = (result: "success" | "failure", principal: string, reason?: string) =>
    svc.record({ principal, action: "iam:token:refresh", result, ...(reason ? { reason } : {}), source: req.source });
  try {
    const presented = str(input?.refreshToken, "refreshToken");
    const id = refreshTokenId(presented);
    const cur = await svc.store.getRecord<RefreshTokenRecord>("refresh", id);
    if (!cur) throw IamErrors.InvalidToken("refresh token is not valid");
    const rec = cur.value;
    const revoked = svc.replica.revocations.isRevoked("", rec.family);
    if (revoked) throw IamErrors.TokenRevoked("this session was revoked; log in again");
    let rotated;
    try {
      rotated = rotateRefreshToken(presented, rec);
    } catch (e) {
      if (e instanceof PhotonError && e.code === "IAM:TokenRevoked") await svc.replica.revoke(rec.family, rec.expiresAt);
      throw e;
    }
    const p = svc.replica.model.get("user", rec.principal) ?? svc.replica.model.get("serviceaccount", rec.principal);
    if (!p || p.disabled) throw IamErrors.InvalidToken("the session's principal no longer exists or is disabled");
    const wrote = await svc.store.putRecords([
      { op: "put", kind: "refresh", id: rotated.used.id, value: rotated.used, expected: cur.modRevision },
      { op: "put", kind: "refresh", id: rotated.next.record.id, value: rotated.next.record, expected: 0 },
    ]);
    if (!wrote) throw IamErrors.InvalidToken("refresh token was used concurrently; log in again");
    const { token, claims } = await issue(svc, { sub: rec.principal, pk: p.kind, ...(rec.org ? { org: rec.org } : {}), ...(rec.project ? { project: rec.project } : {}), sid: rec.family });
    await audit("success", rec.principal);
    return tokenResponse(token, claims, rotated.next.token);
  } catch (e) {
    await audit("failure", "-", e instanceof PhotonError ? e.code : "error");
    throw e;
  }
}

/**
 * Exchanges an application credential's secret for an access token limited to its project and
 * access rules.
 * @throws IAM:InvalidCredentials, IAM:CredentialExpired, IAM:InvalidToken (malformed).
 */
export async function exchangeAppCredential(svc: IamService, input: { secret: string }, req: RequestInfo): Promise<TokenResponse> {
  try {
    const secret = str(input?.secret, "secret");
    const rec = await svc.store.getRecord<AppCredentialRecord>("appcred", appCredentialId(secret));
    if (!rec) throw IamErrors.InvalidCredentials("application credential is not valid");
    const who = authenticateAppCredential(secret, rec.value);
    const sa = svc.replica.model.get("serviceaccount", who.sub);
    if (!sa || sa.disabled) throw IamErrors.InvalidCredentials("the credential's service account no longer exists or is disabled");
    const { token, claims } = await issue(svc, { ...who });
    await svc.record({ principal: who.sub, action: "iam:token:create", scope: { org: who.org, project: who.project }, resource: rec.value.id, result: "success", source: req.source });
    return tokenResponse(token, claims);
  } catch (e) {
    await svc.record({ principal: "-", action: "iam:token:create", result: "failure", reason: e instanceof PhotonError ? e.code : "error", source: req.source });
    throw e;
  }
}

/**
 * Revokes a token its holder presents: an access token (its id, and with `session` its whole
 * login session) or a refresh token (its session). Possession is the authority; effective on
 * every replica within a second.
 * @throws IAM:InvalidToken for something that is neither.
 */
export async function revokeToken(svc: IamService, input: { token: string; session?: boolean }, req: RequestInfo): Promise<{ revoked: string[] }> {
  const token = str(input?.token, "token", 8192);
  const revoked: string[] = [];
  let principal = "-";
  if (token.startsWith("pcr_")) {
    const cur = await svc.store.getRecord<RefreshTokenRecord>("refresh", refreshTokenId(token));
    if (!cur) throw IamErrors.InvalidToken("refresh token is not valid");
    rotateRefreshToken(token, cur.value); // authenticates the secret (throws when it does not match)
    principal = cur.value.principal;
    await svc.replica.revoke(cur.value.family, cur.value.expiresAt);
    await svc.store.deleteRecord("refresh", cur.value.id);
    revoked.push(cur.value.family);
  } else {
    let claims: AccessTokenClaims;
    try {
      claims = await svc.replica.verifier.verify(token);
    } catch (e) {
      if (e instanceof PhotonError && (e.code === "IAM:TokenRevoked" || e.code === "IAM:TokenExpired")) return { revoked };
      throw e;
    }
    principal = claims.sub;
    await svc.replica.revoke(claims.jti, claims.exp * 1000 + 60_000);
    revoked.push(claims.jti);
    if (input.session && claims.sid) {
      await svc.replica.revoke(claims.sid, Date.now() + 31 * 24 * 3600_000);
      revoked.push(claims.sid);
    }
  }
  await svc.record({ principal, action: "iam:token:delete", result: "success", source: req.source });
  return { revoked };
}

/** Who the caller is: the token's claims and the principal. */
export function whoAmI(svc: IamService, caller: Caller) {
  const p = svc.replica.model.get("user", caller.principal) ?? svc.replica.model.get("serviceaccount", caller.principal);
  return {
    principal: caller.principal,
    kind: caller.claims.pk,
    name: p?.name ?? "",
    ...(caller.claims.org ? { org: caller.claims.org } : {}),
    ...(caller.claims.project ? { project: caller.claims.project } : {}),
    expiresAt: caller.claims.exp * 1000,
    groups: [...svc.replica.authorizer.groupsOf(caller.principal)],
  };
}

/**
 * The Authorize API: the decision and its reason. Asking about oneself is always allowed; asking
 * about another principal needs `iam:binding:get` where the resource is (whoever may read the
 * policy there may evaluate it).
 * @throws IAM:PermissionDenied, IAM:InvalidArgument.
 */
export async function authorizeApi(svc: IamService, caller: Caller, input: AuthorizeApiRequest): Promise<Decision> {
  const action = str(input?.action, "action", 256);
  if (typeof input.resource !== "object" || input.resource === null) throw IamErrors.InvalidArgument("resource is required", { details: { field: "resource" } });
  const resource = { ...input.resource };
  const principal = input.principal === undefined || input.principal === caller.principal ? caller.principal : str(input.principal, "principal", 128);
  if (principal !== caller.principal) await svc.allow(caller, "iam:binding:get", { ...(resource.org ? { org: resource.org } : {}), ...(resource.project ? { project: resource.project } : {}) }, false);
  const d = svc.replica.authorizer.authorize({
    principal,
    action,
    resource,
    context: { sourceIp: input.sourceIp ?? caller.source },
    ...(principal === caller.principal ? { session: sessionOf(caller) } : {}),
  });
  // The organisation a project belongs to, so a service can file a resource under it (only when allowed:
  // a refusal must not reveal where another tenant's project lives).
  const org = d.allowed ? (resource.project !== undefined ? svc.replica.model.get("project", resource.project)?.org : resource.org) : undefined;
  return { allowed: d.allowed, reason: d.reason, ...(d.matched ? { matched: d.matched } : {}), ...(org ? { org } : {}) };
}

function sessionOf(caller: Caller) {
  return { ...(caller.claims.project ? { project: caller.claims.project } : {}), ...(caller.claims.rules ? { accessRules: caller.claims.rules } : {}) };
}

/**
 * Rotates the token signing key (system administrators: `iam:token:update` on the system).
 * @returns the new current key id.
 */
export async function rotateSigningKey(svc: IamService, caller: Caller): Promise<{ kid: string }> {
  return svc.change(caller, "iam:token:update", {}, async () => ({ kid: await svc.replica.rotateKeys() }), (v) => v.kid);
}
