/**
 * Passwords: argon2id through Bun.password (libargon2 in Bun's runtime), with OWASP's
 * recommended parameters for argon2id (m = 19 MiB, t = 2, p = 1; the PHC string records them, so
 * they can be raised later and old hashes still verify, `needsRehash` says when to upgrade).
 * Verification against an unknown user still spends one argon2 computation, so the response time
 * does not tell which names exist.
 */
import { IamErrors } from "../errors.ts";

/** argon2id parameters (memory in KiB). */
export const PASSWORD_PARAMS = { algorithm: "argon2id", memoryCost: 19456, timeCost: 2 } as const;

/** Shortest accepted password, in characters. */
export const PASSWORD_MIN_CHARS = 12;
/** Longest accepted password, in UTF-8 bytes (bounds the work an attacker can ask for). */
export const PASSWORD_MAX_BYTES = 1024;

let dummyHash: Promise<string> | undefined;

/**
 * Checks the password policy: at least 12 characters, at most 1024 bytes (argon2 cost is
 * bounded), not only whitespace.
 * @throws IAM:WeakPassword saying which rule failed (never echoing the password).
 */
export function checkPasswordPolicy(password: unknown): string {
  if (typeof password !== "string") throw IamErrors.WeakPassword("password must be a string");
  if ([...password].length < PASSWORD_MIN_CHARS) throw IamErrors.WeakPassword(`password must have at least ${PASSWORD_MIN_CHARS} characters`);
  if (Buffer.byteLength(password, "utf8") > PASSWORD_MAX_BYTES) throw IamErrors.WeakPassword(`password must be at most ${PASSWORD_MAX_BYTES} bytes`);
  if (password.trim().length === 0) throw IamErrors.WeakPassword("password must not be only whitespace");
  return password;
}

/**
 * Hashes a password with argon2id after checking the policy; returns the PHC string
 * (`$argon2id$v=19$m=19456,t=2,p=1$...`).
 * @throws IAM:WeakPassword.
 */
export async function hashPassword(password: string): Promise<string> {
  return Bun.password.hash(checkPasswordPolicy(password), PASSWORD_PARAMS);
}

/**
 * Whether `password` matches `hash`. With no hash (unknown user, no password set) it verifies
 * against a dummy hash and returns false, taking the same time. Never throws on a wrong password
 * or a malformed hash (returns false).
 */
export async function verifyPassword(password: string, hash: string | undefined): Promise<boolean> {
  if (typeof password !== "string" || Buffer.byteLength(password, "utf8") > PASSWORD_MAX_BYTES) return false;
  if (hash === undefined || !hash.startsWith("$argon2id$")) {
    dummyHash ??= Bun.password.hash("photon-dummy-password", PASSWORD_PARAMS);
    await Bun.password.verify(password, await dummyHash).catch(() => false);
    return false;
  }
  return Bun.password.verify(password, hash).catch(() => false);
}

/** Whether a stored hash uses weaker parameters than `PASSWORD_PARAMS` (rehash at next login). */
export function needsRehash(hash: string): boolean {
  const m = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(hash);
  return !m || Number(m[1]) < PASSWORD_PARAMS.memoryCost || Number(m[2]) < PASSWORD_PARAMS.timeCost;
}
