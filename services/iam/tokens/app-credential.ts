/**
 * Application credentials: secrets a service account authenticates with (`pca_<id>_<secret>`,
 * shown once, stored as a SHA-256 digest), bound to the account's project, with an expiry and
 * optional access rules that limit every token issued from it to the given action patterns
 * (the token's `rules` claim, enforced by lib/authz as `session.accessRules`).
 */
import { normaliseActionPattern } from "../../../lib/authz/action.ts";
import { IamErrors } from "../errors.ts";
import { checkName } from "../model/names.ts";
import type { ServiceAccount } from "../model/types.ts";
import { mintOpaque, opaqueMatches, parseOpaque } from "./opaque-token.ts";

/** The prefix of application-credential secrets. */
export const APP_CREDENTIAL_PREFIX = "pca";
/** Longest lifetime of an application credential: one year. */
export const MAX_APP_CREDENTIAL_TTL_MS = 366 * 24 * 3600 * 1000;

/** What the store keeps (no secret). */
export interface AppCredentialRecord {
  id: string;
  name: string;
  hash: string;
  serviceAccount: string;
  org: string;
  project: string;
  createdAt: number;
  expiresAt: number;
  /** Action patterns tokens from this credential are limited to; absent: the account's roles only. */
  accessRules?: string[];
}

/** Input of createAppCredential. */
export interface CreateAppCredentialInput {
  serviceAccount: ServiceAccount;
  name: string;
  expiresAt: number;
  accessRules?: string[];
  now?: number;
}

/**
 * Creates a credential: `secret` is returned this once; `record` goes to the store.
 * @throws IAM:InvalidName, IAM:InvalidArgument (expiry in the past or beyond a year, disabled
 *   account, empty rules), IAM:InvalidAction (a malformed rule).
 */
export function createAppCredential(input: CreateAppCredentialInput): { secret: string; record: AppCredentialRecord } {
  const now = input.now ?? Date.now();
  const name = checkName(input.name, "application credential");
  const sa = input.serviceAccount;
  if (sa?.kind !== "serviceaccount") throw IamErrors.InvalidArgument("application credentials belong to service accounts", { details: { field: "serviceAccount" } });
  if (sa.disabled) throw IamErrors.InvalidArgument(`service account ${sa.id} is disabled`, { details: { field: "serviceAccount" } });
  if (!Number.isFinite(input.expiresAt) || input.expiresAt <= now || input.expiresAt - now > MAX_APP_CREDENTIAL_TTL_MS) {
    throw IamErrors.InvalidArgument("expiresAt must be in the future and at most a year away", { details: { field: "expiresAt" } });
  }
  let rules: string[] | undefined;
  if (input.accessRules !== undefined) {
    if (!Array.isArray(input.accessRules) || input.accessRules.length === 0 || input.accessRules.length > 256) {
      throw IamErrors.InvalidArgument("accessRules must list 1..256 action patterns (omit it for no limit)", { details: { field: "accessRules" } });
    }
    rules = [...new Set(input.accessRules.map(normaliseActionPattern))];
  }
  const { token, id, hash } = mintOpaque(APP_CREDENTIAL_PREFIX);
  const record: AppCredentialRecord = { id, name, hash, serviceAccount: sa.id, org: sa.org, project: sa.project, createdAt: now, expiresAt: input.expiresAt };
  if (rules) record.accessRules = rules;
  return { secret: token, record };
}

/**
 * The record id a presented secret names (to fetch the record).
 * @throws IAM:InvalidToken for anything that is not a well-formed credential secret.
 */
export function appCredentialId(secret: string): string {
  return parseOpaque(APP_CREDENTIAL_PREFIX, secret, "application credential").id;
}

/**
 * Authenticates a presented secret against its record and returns what to put in the access
 * token (`AccessTokenIssuer.issue`).
 * @throws IAM:InvalidCredentials (wrong secret), IAM:CredentialExpired, IAM:InvalidToken (malformed).
 */
export function authenticateAppCredential(
  secret: string,
  record: AppCredentialRecord,
  now = Date.now(),
): { sub: string; pk: "serviceaccount"; org: string; project: string; rules?: string[] } {
  const { id, secret: s } = parseOpaque(APP_CREDENTIAL_PREFIX, secret, "application credential");
  if (id !== record.id || !opaqueMatches(s, record.hash)) throw IamErrors.InvalidCredentials("application credential is not valid");
  if (now >= record.expiresAt) throw IamErrors.CredentialExpired(`application credential ${record.name} expired at ${new Date(record.expiresAt).toISOString()}`);
  const out = { sub: record.serviceAccount, pk: "serviceaccount" as const, org: record.org, project: record.project };
  return record.accessRules ? { ...out, rules: [...record.accessRules] } : out;
}
