/**
 * Secrets as iam handles them: random, compared in constant time, stored only as a SHA-256 digest
 * when they are high-entropy bearer secrets (refresh tokens, application credentials). A fast hash
 * is enough for 256-bit random secrets (no dictionary to search); passwords, which are low-entropy,
 * use argon2id instead (password.ts). See docs/adr/0005-iam-secrets.md.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/** `bytes` random bytes as base64url (no padding). */
export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString("base64url");
}

/** The SHA-256 digest of a secret, hex; what is stored instead of the secret. */
export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

/**
 * Compares two strings in time independent of where they differ. Both are hashed first, so the
 * comparison also does not reveal the length of either.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const da = createHash("sha256").update(String(a), "utf8").digest();
  const db = createHash("sha256").update(String(b), "utf8").digest();
  return timingSafeEqual(da, db) && a.length === b.length;
}

/** Whether `secret` hashes to `storedHash` (hex), in constant time. */
export function secretMatches(secret: string, storedHash: string): boolean {
  const given = createHash("sha256").update(String(secret), "utf8").digest();
  const stored = Buffer.from(storedHash, "hex");
  return stored.length === given.length && timingSafeEqual(given, stored);
}
