/**
 * Access tokens: short-lived JWS (EdDSA/Ed25519) JWTs scoped to one project, verifiable offline by
 * every service from the JWKS. Claims: `iss`, `aud`, `sub` (principal id), `jti`, `iat`, `nbf`,
 * `exp`, plus `org` (absent for system principals), `project` (absent for an unscoped token, which
 * is bounded only by the principal's bindings: how an organisation or system administrator works
 * above projects), `pk` (principal kind), optional `sid` (login session / refresh
 * family) and `rules` (application-credential access rules). Verification checks, in order: size
 * and shape (before any parsing), algorithm, signature by a published key, issuer, audience, time,
 * required claims, revocation.
 */
import { createLocalJWKSet, errors as joseErrors, jwtVerify, SignJWT, type JWTVerifyGetKey } from "jose";
import { normaliseActionPattern } from "../../../lib/authz/action.ts";
import type { SessionLimits } from "../../../lib/authz/types.ts";
import { IamErrors } from "../errors.ts";
import { randomBase32 } from "../model/ids.ts";
import { TOKEN_ALG, type Jwks, type SigningKeyRing } from "./key-ring.ts";
import type { RevocationList } from "./revocation.ts";
import { checkTokenShape } from "./token-shape.ts";

/** Default access-token lifetime (seconds). */
export const DEFAULT_TOKEN_TTL_S = 900;
/** Longest access-token lifetime (seconds); also how long a demoted signing key must stay published. */
export const MAX_TOKEN_TTL_S = 3600;
/** The audience every PhotonCloud service accepts unless a token names a narrower one. */
export const DEFAULT_AUDIENCE = "photon";

/** The verified content of an access token. */
export interface AccessTokenClaims {
  iss: string;
  aud: string[];
  /** Principal id (user or service account). */
  sub: string;
  /** Principal kind. */
  pk: "user" | "serviceaccount";
  jti: string;
  iat: number;
  nbf: number;
  exp: number;
  /** The principal's organisation; absent for system principals. */
  org?: string;
  /** The project the token is scoped to; absent for an unscoped token. */
  project?: string;
  sid?: string;
  rules?: string[];
}

/** What to put in a new token (`org` absent for system principals, `project` for unscoped tokens). */
export interface IssueInput {
  sub: string;
  pk: "user" | "serviceaccount";
  org?: string;
  project?: string;
  audience?: string[];
  sid?: string;
  rules?: string[];
  ttlSeconds?: number;
}

/** Options of AccessTokenIssuer. */
export interface AccessTokenIssuerOptions {
  ring: SigningKeyRing;
  issuer: string;
  now?: () => number;
}

/** Signs access tokens with the ring's current key. */
export class AccessTokenIssuer {
  constructor(private readonly options: AccessTokenIssuerOptions) {}

  /**
   * Issues a token.
   * @throws IAM:InvalidArgument (bad TTL, empty ids, bad rules), IAM:InvalidAction, IAM:NoSigningKey.
   */
  async issue(input: IssueInput): Promise<{ token: string; claims: AccessTokenClaims }> {
    const ttl = input.ttlSeconds ?? DEFAULT_TOKEN_TTL_S;
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TOKEN_TTL_S) {
      throw IamErrors.InvalidArgument(`token lifetime must be 1..${MAX_TOKEN_TTL_S} seconds`, { details: { field: "ttlSeconds" } });
    }
    for (const f of ["sub", "org", "project"] as const) {
      if (f !== "sub" && input[f] === undefined) continue;
      const v = input[f];
      if (typeof v !== "string" || v.length === 0 || v.length > 128) {
        throw IamErrors.InvalidArgument(`token ${f} must be a non-empty id`, { details: { field: f } });
      }
    }
    const key = this.options.ring.current();
    const now = Math.floor((this.options.now?.() ?? Date.now()) / 1000);
    const claims: AccessTokenClaims = {
      iss: this.options.issuer,
      aud: input.audience?.length ? [...input.audience] : [DEFAULT_AUDIENCE],
      sub: input.sub,
      pk: input.pk,
      jti: randomBase32(15),
      iat: now,
      nbf: now,
      exp: now + ttl,
    };
    if (input.org !== undefined) claims.org = input.org;
    if (input.project !== undefined) claims.project = input.project;
    if (input.sid !== undefined) claims.sid = input.sid;
    if (input.rules !== undefined) claims.rules = input.rules.map(normaliseActionPattern);
    const token = await new SignJWT({ ...claims }).setProtectedHeader({ alg: TOKEN_ALG, kid: key.kid, typ: "at+jwt" }).sign(key.privateKey);
    return { token, claims };
  }
}

/** Options of AccessTokenVerifier. */
export interface AccessTokenVerifierOptions {
  /** The JWKS document (from the ring locally, or fetched from iam's JWKS endpoint). */
  jwks: Jwks;
  issuer: string;
  /** The audience this service accepts (a token must name it). Default `photon`. */
  audience?: string;
  revocations?: RevocationList;
  /** Allowed clock skew in seconds (default 30). */
  clockToleranceSeconds?: number;
  /** Longest accepted token in bytes (default 8192). */
  maxTokenBytes?: number;
  now?: () => number;
}

function mapJoseError(e: unknown): never {
  if (e instanceof joseErrors.JWTExpired) throw IamErrors.TokenExpired("access token has expired", { cause: e });
  if (e instanceof joseErrors.JWSSignatureVerificationFailed) throw IamErrors.InvalidToken("access token signature does not verify (tampered or forged)", { cause: e });
  if (e instanceof joseErrors.JWKSNoMatchingKey) throw IamErrors.InvalidToken("access token is signed by a key that is not (or no longer) published", { cause: e });
  if (e instanceof joseErrors.JWTClaimValidationFailed) {
    throw IamErrors.InvalidToken(`access token claim ${e.claim} is not acceptable: ${e.message}`, { cause: e, details: { claim: e.claim } });
  }
  if (e instanceof joseErrors.JOSEAlgNotAllowed) throw IamErrors.InvalidToken(`access token algorithm is not allowed (only ${TOKEN_ALG})`, { cause: e });
  if (e instanceof joseErrors.JOSEError) throw IamErrors.InvalidToken(`access token is malformed: ${e.message}`, { cause: e });
  throw e;
}

function requireClaims(p: Record<string, unknown>): AccessTokenClaims {
  for (const f of ["sub", "jti", "org", "project"]) {
    if ((f === "org" || f === "project") && p[f] === undefined) continue;
    if (typeof p[f] !== "string" || (p[f] as string).length === 0) throw IamErrors.InvalidToken(`access token has no ${f} claim`, { details: { claim: f } });
  }
  for (const f of ["iat", "nbf", "exp"]) {
    if (typeof p[f] !== "number") throw IamErrors.InvalidToken(`access token has no ${f} claim`, { details: { claim: f } });
  }
  if (p.pk !== "user" && p.pk !== "serviceaccount") throw IamErrors.InvalidToken("access token has no valid pk claim", { details: { claim: "pk" } });
  if (p.rules !== undefined && (!Array.isArray(p.rules) || !p.rules.every((r) => typeof r === "string"))) {
    throw IamErrors.InvalidToken("access token rules claim must be a list of action patterns", { details: { claim: "rules" } });
  }
  const aud = typeof p.aud === "string" ? [p.aud] : (p.aud as string[]);
  return { ...(p as unknown as AccessTokenClaims), aud };
}

/** Verifies access tokens offline against a JWKS. */
export class AccessTokenVerifier {
  private keys: JWTVerifyGetKey;
  private readonly audience: string;
  private readonly maxBytes: number;

  constructor(private readonly options: AccessTokenVerifierOptions) {
    this.keys = createLocalJWKSet(options.jwks);
    this.audience = options.audience ?? DEFAULT_AUDIENCE;
    this.maxBytes = options.maxTokenBytes ?? 8192;
  }

  /** Replaces the JWKS (after a rotation, or a refetch of iam's JWKS endpoint). */
  setJwks(jwks: Jwks): void {
    this.keys = createLocalJWKSet(jwks);
  }

  /**
   * Verifies a token and returns its claims.
   * @throws IAM:InvalidToken (oversized, malformed, wrong algorithm, bad signature, unknown key,
   *   wrong issuer or audience, missing claims), IAM:TokenExpired, IAM:TokenRevoked.
   */
  async verify(token: string): Promise<AccessTokenClaims> {
    checkTokenShape(token, this.maxBytes);
    let payload: Record<string, unknown>;
    try {
      const now = this.options.now?.();
      ({ payload } = await jwtVerify(token, this.keys, {
        algorithms: [TOKEN_ALG],
        issuer: this.options.issuer,
        audience: this.audience,
        typ: "at+jwt",
        clockTolerance: this.options.clockToleranceSeconds ?? 30,
        requiredClaims: ["exp", "iat", "jti", "sub"],
        ...(now === undefined ? {} : { currentDate: new Date(now) }),
      }));
    } catch (e) {
      mapJoseError(e);
    }
    const claims = requireClaims(payload);
    if (this.options.revocations?.isRevoked(claims.jti, claims.sid)) throw IamErrors.TokenRevoked("access token has been revoked");
    return claims;
  }
}

/** The limits a token puts on authorisation (`AuthorizeRequest.session`); `{}` for an unscoped token without rules. */
export function sessionLimits(claims: AccessTokenClaims): SessionLimits {
  const out: SessionLimits = {};
  if (claims.project !== undefined) out.project = claims.project;
  if (claims.rules !== undefined) out.accessRules = claims.rules;
  return out;
}
