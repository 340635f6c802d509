/**
 * iam ids: `<prefix>_<16 base32 characters>` (80 random bits), unique across every kind so that a
 * bare id says what it names. Names can change; ids never do and are never reused.
 */
import { randomBytes } from "node:crypto";

/** The kinds of iam entity. */
export type EntityKind = "org" | "project" | "user" | "serviceaccount" | "group" | "role" | "binding" | "deny";

/** The id prefix of each kind. */
export const ID_PREFIX: Record<EntityKind, string> = {
  org: "org",
  project: "prj",
  user: "usr",
  serviceaccount: "sa",
  group: "grp",
  role: "rol",
  binding: "bnd",
  deny: "dny",
};

const ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";

/** Makes ids; tests inject a deterministic one. */
export type IdGenerator = (kind: EntityKind) => string;

/** `bytes` random bytes as lowercase base32 (10 bytes: 16 characters). */
export function randomBase32(bytes = 10): string {
  const buf = randomBytes(bytes);
  let bits = 0;
  let value = 0;
  let out = "";
  for (const b of buf) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out;
}

/** A new random id for `kind`. */
export const randomId: IdGenerator = (kind) => `${ID_PREFIX[kind]}_${randomBase32(10)}`;

/** A deterministic generator (`org_1`, `prj_2`...) for tests and examples. */
export function sequentialIds(): IdGenerator {
  let n = 0;
  return (kind) => `${ID_PREFIX[kind]}_${++n}`;
}
