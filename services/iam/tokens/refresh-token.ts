/**
 * Refresh tokens: opaque (`pcr_<id>_<secret>`), long-lived, stored only as a SHA-256 digest, and
 * rotated on every use: exchanging one returns a new refresh token of the same family (`sid`) and
 * marks the old one used. Presenting a used one again means it was stolen (or replayed), so the
 * caller revokes the whole family — every refresh token and access token carrying that `sid`
 * (OAuth 2.0 Security BCP, refresh token rotation with reuse detection).
 */
import { IamErrors } from "../errors.ts";
import { randomBase32 } from "../model/ids.ts";
import { mintOpaque, opaqueMatches, parseOpaque } from "./opaque-token.ts";

/** The prefix of refresh tokens. */
export const REFRESH_PREFIX = "pcr";
/** Default refresh-token lifetime: 30 days. */
export const DEFAULT_REFRESH_TTL_MS = 30 * 24 * 3600 * 1000;

/** What the store keeps of a refresh token (no secret). */
export interface RefreshTokenRecord {
  id: string;
  hash: string;
  /** The family (login session): shared by every rotation of the token, carried as `sid`. */
  family: string;
  principal: string;
  org: string;
  project: string;
  createdAt: number;
  expiresAt: number;
  /** Set when it was exchanged; a second exchange is a reuse. */
  usedAt?: number;
}

/** What a new session or rotation needs. */
export interface MintRefreshInput {
  principal: string;
  org: string;
  project: string;
  /** Continue an existing family (rotation); a new login starts a new one. */
  family?: string;
  ttlMs?: number;
  now?: number;
}

/** Mints a refresh token: `token` goes to the client once, `record` to the store. */
export function mintRefreshToken(input: MintRefreshInput): { token: string; record: RefreshTokenRecord } {
  const now = input.now ?? Date.now();
  const { token, id, hash } = mintOpaque(REFRESH_PREFIX);
  return {
    token,
    record: {
      id,
      hash,
      family: input.family ?? `ses_${randomBase32(10)}`,
      principal: input.principal,
      org: input.org,
      project: input.project,
      createdAt: now,
      expiresAt: now + (input.ttlMs ?? DEFAULT_REFRESH_TTL_MS),
    },
  };
}

/**
 * The record id a presented refresh token names (to fetch the record).
 * @throws IAM:InvalidToken for anything that is not a well-formed refresh token.
 */
export function refreshTokenId(token: string): string {
  return parseOpaque(REFRESH_PREFIX, token, "refresh token").id;
}

/** The outcome of presenting a refresh token. */
export type RefreshCheck = { ok: true } | { ok: false; reuse: true; family: string };

/**
 * Checks a presented refresh token against its record. `{ ok: false, reuse: true }` means the
 * token was already exchanged: revoke `family`.
 * @throws IAM:InvalidToken (malformed, or the secret does not match), IAM:TokenExpired.
 */
export function checkRefreshToken(token: string, record: RefreshTokenRecord, now = Date.now()): RefreshCheck {
  const { id, secret } = parseOpaque(REFRESH_PREFIX, token, "refresh token");
  if (id !== record.id || !opaqueMatches(secret, record.hash)) throw IamErrors.InvalidToken("refresh token is not valid");
  if (now >= record.expiresAt) throw IamErrors.TokenExpired("refresh token has expired; log in again");
  if (record.usedAt !== undefined) return { ok: false, reuse: true, family: record.family };
  return { ok: true };
}

/**
 * Exchanges a refresh token: checks it, marks it used and mints its successor in the same family.
 * The caller stores both records in one transaction (compare on the old record's revision, so two
 * concurrent exchanges cannot both win).
 * @throws IAM:InvalidToken, IAM:TokenExpired; IAM:TokenRevoked on reuse (revoke the family).
 */
export function rotateRefreshToken(token: string, record: RefreshTokenRecord, now = Date.now()): { used: RefreshTokenRecord; next: { token: string; record: RefreshTokenRecord } } {
  const check = checkRefreshToken(token, record, now);
  if (!check.ok) throw IamErrors.TokenRevoked("refresh token was already used; the session is revoked", { details: { family: check.family } });
  const next = mintRefreshToken({ principal: record.principal, org: record.org, project: record.project, family: record.family, ttlMs: record.expiresAt - record.createdAt, now });
  return { used: { ...record, usedAt: now }, next };
}
