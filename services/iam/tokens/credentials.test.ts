import { describe, expect, it } from "bun:test";
import { randomBytes } from "node:crypto";
import { PhotonError } from "../../../lib/errors.ts";
import type { ServiceAccount } from "../model/types.ts";
import { createAccessKey, openAccessKey, SecretCipher, signaturesMatch } from "./access-key.ts";
import { appCredentialId, authenticateAppCredential, createAppCredential } from "./app-credential.ts";
import { checkPasswordPolicy, hashPassword, needsRehash, verifyPassword } from "./password.ts";
import { checkRefreshToken, mintRefreshToken, refreshTokenId, rotateRefreshToken } from "./refresh-token.ts";
import { constantTimeEqual } from "./secret.ts";

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof PhotonError) return e.code;
    throw e;
  }
  throw new Error("expected an error");
}

/** The secret part of `<prefix>_<id>_<secret>` (the secret may itself contain `_`). */
const secretOf = (t: string) => t.slice(t.indexOf("_", 4) + 1);

const sa: ServiceAccount = { kind: "serviceaccount", id: "sa_1", org: "org_1", project: "prj_1", name: "deployer" };

describe("refresh tokens", () => {
  it("store only a hash and verify the presented secret", () => {
    const { token, record } = mintRefreshToken({ principal: "usr_1", org: "org_1", project: "prj_1" });
    expect(token).toStartWith("pcr_");
    expect(JSON.stringify(record)).not.toContain(secretOf(token));
    expect(refreshTokenId(token)).toBe(record.id);
    expect(checkRefreshToken(token, record)).toEqual({ ok: true });
    const other = mintRefreshToken({ principal: "usr_1", org: "org_1", project: "prj_1" }).token;
    expect(code(() => checkRefreshToken(`pcr_${record.id}_${secretOf(other)}`, record))).toBe("IAM:InvalidToken");
  });

  it("rotate on use within one family and detect reuse", () => {
    const first = mintRefreshToken({ principal: "usr_1", org: "org_1", project: "prj_1", now: 0, ttlMs: 1000 });
    const { used, next } = rotateRefreshToken(first.token, first.record, 10);
    expect(next.record.family).toBe(first.record.family);
    expect(next.record.expiresAt).toBe(1010);
    expect(checkRefreshToken(first.token, used, 20)).toEqual({ ok: false, reuse: true, family: first.record.family });
    expect(code(() => rotateRefreshToken(first.token, used, 20))).toBe("IAM:TokenRevoked");
    expect(code(() => checkRefreshToken(next.token, next.record, 2000))).toBe("IAM:TokenExpired");
  });

  it("refuse strings that are not refresh tokens, clearly", () => {
    const app = createAppCredential({ serviceAccount: sa, name: "ci", expiresAt: Date.now() + 1000 }).secret;
    expect(() => refreshTokenId(app)).toThrow(/not a refresh token/);
    expect(() => refreshTokenId("x".repeat(300))).toThrow(/too long/);
    expect(() => refreshTokenId("pcr_abc")).toThrow(/malformed/);
  });
});

describe("application credentials", () => {
  it("authenticate with their secret and carry their access rules into the token", () => {
    const { secret, record } = createAppCredential({ serviceAccount: sa, name: "ci", expiresAt: Date.now() + 60_000, accessRules: ["compute:vm:get", "compute:vm:get", "*"] });
    expect(record.accessRules).toEqual(["compute:vm:get", "*:*:*"]);
    expect(appCredentialId(secret)).toBe(record.id);
    expect(authenticateAppCredential(secret, record)).toEqual({ sub: "sa_1", pk: "serviceaccount", org: "org_1", project: "prj_1", rules: ["compute:vm:get", "*:*:*"] });
    const wrong = createAppCredential({ serviceAccount: sa, name: "ci", expiresAt: Date.now() + 60_000 }).secret;
    expect(code(() => authenticateAppCredential(`pca_${record.id}_${secretOf(wrong)}`, record))).toBe("IAM:InvalidCredentials");
  });

  it("expire, and refuse bad expiries, rules and disabled accounts", () => {
    const { secret, record } = createAppCredential({ serviceAccount: sa, name: "ci", expiresAt: 2000, now: 1000 });
    expect(code(() => authenticateAppCredential(secret, record, 2000))).toBe("IAM:CredentialExpired");
    expect(code(() => createAppCredential({ serviceAccount: sa, name: "ci", expiresAt: 10, now: 1000 }))).toBe("IAM:InvalidArgument");
    expect(code(() => createAppCredential({ serviceAccount: sa, name: "ci", expiresAt: 1000 + 400 * 86400_000, now: 1000 }))).toBe("IAM:InvalidArgument");
    expect(code(() => createAppCredential({ serviceAccount: sa, name: "ci", expiresAt: Date.now() + 1000, accessRules: ["vm:get"] }))).toBe("IAM:InvalidAction");
    expect(code(() => createAppCredential({ serviceAccount: { ...sa, disabled: true }, name: "ci", expiresAt: Date.now() + 1000 }))).toBe("IAM:InvalidArgument");
    expect(code(() => createAppCredential({ serviceAccount: sa, name: "CI!", expiresAt: Date.now() + 1000 }))).toBe("IAM:InvalidName");
  });
});

describe("access keys", () => {
  const cipher = new SecretCipher({ id: "k1", key: randomBytes(32) });

  it("look like AWS keys, show the secret once and store it sealed", () => {
    const { accessKeyId, secretAccessKey, record } = createAccessKey({ principal: "usr_1", org: "org_1" }, cipher);
    expect(accessKeyId).toMatch(/^PK[A-Z2-7]{18}$/);
    expect(secretAccessKey).toHaveLength(40);
    expect(JSON.stringify(record)).not.toContain(secretAccessKey);
    expect(openAccessKey(record, cipher)).toBe(secretAccessKey);
  });

  it("cannot be opened for another key id, after tampering, or under an unknown KEK", () => {
    const a = createAccessKey({ principal: "usr_1" }, cipher).record;
    const b = createAccessKey({ principal: "usr_1" }, cipher).record;
    expect(code(() => openAccessKey({ ...b, sealedSecret: a.sealedSecret }, cipher))).toBe("IAM:InvalidArgument");
    const body = a.sealedSecret.slice(6);
    const tampered = `v1.k1.${body.startsWith("A") ? "B" : "A"}${body.slice(1)}`;
    expect(code(() => openAccessKey({ ...a, sealedSecret: tampered }, cipher))).toBe("IAM:InvalidArgument");
    expect(code(() => openAccessKey(a, new SecretCipher({ id: "k2", key: randomBytes(32) })))).toBe("IAM:InvalidArgument");
  });

  it("open under a previous KEK after KEK rotation, and honour disabled and expired", () => {
    const old = { id: "k1", key: randomBytes(32) };
    const { secretAccessKey, record } = createAccessKey({ principal: "usr_1", expiresAt: 5000, now: 1000 }, new SecretCipher(old));
    const rotated = new SecretCipher({ id: "k2", key: randomBytes(32) }, [old]);
    expect(openAccessKey(record, rotated, 2000)).toBe(secretAccessKey);
    expect(code(() => openAccessKey(record, rotated, 5000))).toBe("IAM:CredentialExpired");
    expect(code(() => openAccessKey({ ...record, disabled: true }, rotated, 2000))).toBe("IAM:InvalidCredentials");
    expect(() => new SecretCipher({ id: "k1", key: randomBytes(16) })).toThrow(/32 bytes/);
  });

  it("compare signatures in constant time", () => {
    expect(signaturesMatch("abc", "abc")).toBe(true);
    expect(signaturesMatch("abc", "abd")).toBe(false);
    expect(constantTimeEqual("abc", "abcd")).toBe(false);
  });
});

describe("passwords", () => {
  it("hash with argon2id and verify", async () => {
    const hash = await hashPassword("correct horse battery");
    expect(hash).toStartWith("$argon2id$v=19$m=19456,t=2,p=1$");
    expect(await verifyPassword("correct horse battery", hash)).toBe(true);
    expect(await verifyPassword("correct horse batterY", hash)).toBe(false);
    expect(needsRehash(hash)).toBe(false);
    expect(needsRehash("$argon2id$v=19$m=4096,t=1,p=1$x$y")).toBe(true);
  });

  it("refuse weak or oversized passwords without echoing them", () => {
    for (const pw of ["short", " ".repeat(20), "x".repeat(2000), 42]) {
      expect(code(() => checkPasswordPolicy(pw))).toBe("IAM:WeakPassword");
      try {
        checkPasswordPolicy(pw);
      } catch (e) {
        if (typeof pw === "string" && pw.trim()) expect((e as Error).message).not.toContain(pw);
      }
    }
  });

  it("return false for unknown users and malformed hashes instead of throwing", async () => {
    expect(await verifyPassword("whatever-password", undefined)).toBe(false);
    expect(await verifyPassword("whatever-password", "$argon2id$garbage")).toBe(false);
    expect(await verifyPassword("whatever-password", "plaintext")).toBe(false);
  });
});
