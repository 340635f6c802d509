/**
 * Opaque bearer secrets: `<prefix>_<id>_<secret>`. The id (16 base32 characters) finds the stored
 * record; the secret (32 random bytes, base64url) is checked against the record's SHA-256 digest in
 * constant time. The prefix says what the string is (`pcr` refresh token, `pca` application
 * credential), so a secret pasted in the wrong place is refused with a clear error, and secret
 * scanners can recognise leaked ones.
 */
import { IamErrors } from "../errors.ts";
import { randomBase32 } from "../model/ids.ts";
import { hashSecret, randomSecret, secretMatches } from "./secret.ts";

const MAX_LENGTH = 256;

/** A freshly minted opaque secret: `token` is shown once; `id` and `hash` are stored. */
export interface MintedOpaque {
  token: string;
  id: string;
  hash: string;
}

/** Mints `<prefix>_<id>_<secret>`. */
export function mintOpaque(prefix: string): MintedOpaque {
  const id = randomBase32(10); // 16 characters
  const secret = randomSecret(32);
  return { token: `${prefix}_${id}_${secret}`, id, hash: hashSecret(secret) };
}

/**
 * Splits a presented opaque secret.
 * @throws IAM:InvalidToken saying what is wrong (wrong kind, malformed, too long).
 */
export function parseOpaque(prefix: string, token: unknown, what: string): { id: string; secret: string } {
  if (typeof token !== "string" || token.length === 0) throw IamErrors.InvalidToken(`${what} is missing`);
  if (token.length > MAX_LENGTH) throw IamErrors.InvalidToken(`${what} is too long (${token.length} characters; at most ${MAX_LENGTH})`);
  const m = /^([a-z]+)_([a-z2-7]{16})_([A-Za-z0-9_-]{43})$/.exec(token);
  if (!m) throw IamErrors.InvalidToken(`${what} is malformed (expected ${prefix}_<id>_<secret>)`);
  if (m[1] !== prefix) throw IamErrors.InvalidToken(`this is not a ${what} (it starts with ${m[1]}_, expected ${prefix}_)`);
  return { id: m[2]!, secret: m[3]! };
}

/** Whether `secret` matches the stored `hash` (constant time). */
export function opaqueMatches(secret: string, hash: string): boolean {
  return secretMatches(secret, hash);
}
