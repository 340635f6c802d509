import { beforeAll, describe, expect, it } from "bun:test";
import { SignJWT } from "jose";
import { PhotonError } from "../../../lib/errors.ts";
import { AccessTokenIssuer, AccessTokenVerifier, sessionLimits } from "./access-token.ts";
import { SigningKeyRing } from "./key-ring.ts";
import { MemoryRevocationList } from "./revocation.ts";

const ISS = "https://iam.photon.test";
const base = { sub: "usr_1", pk: "user" as const, org: "org_1", project: "prj_1" };

async function rejects(p: Promise<unknown>): Promise<PhotonError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof PhotonError) return e;
    throw e;
  }
  throw new Error("expected a rejection");
}

let ring: SigningKeyRing;
beforeAll(async () => {
  ring = await SigningKeyRing.generate();
});

describe("access tokens", () => {
  it("round-trips claims scoped to one project, verified offline through the JWKS", async () => {
    const { token, claims } = await new AccessTokenIssuer({ ring, issuer: ISS }).issue({ ...base, sid: "ses_1", rules: ["compute:vm:get"] });
    const got = await new AccessTokenVerifier({ jwks: ring.jwks(), issuer: ISS }).verify(token);
    expect(got).toMatchObject({ sub: "usr_1", org: "org_1", project: "prj_1", aud: ["photon"], jti: claims.jti, sid: "ses_1" });
    expect(got.exp - got.iat).toBe(900);
    expect(sessionLimits(got)).toEqual({ project: "prj_1", accessRules: ["compute:vm:get"] });
    expect(ring.jwks().keys[0]).not.toHaveProperty("d");
  });

  it("rejects an expired token, allowing the configured clock skew", async () => {
    let now = Date.now();
    const { token } = await new AccessTokenIssuer({ ring, issuer: ISS, now: () => now }).issue({ ...base, ttlSeconds: 60 });
    const verifier = new AccessTokenVerifier({ jwks: ring.jwks(), issuer: ISS, now: () => now, clockToleranceSeconds: 5 });
    now += 64_000;
    await verifier.verify(token);
    now += 2_000;
    expect((await rejects(verifier.verify(token))).code).toBe("IAM:TokenExpired");
  });

  it("rejects a tampered payload or signature", async () => {
    const { token } = await new AccessTokenIssuer({ ring, issuer: ISS }).issue(base);
    const [h, p, s] = token.split(".") as [string, string, string];
    const payload = JSON.parse(Buffer.from(p, "base64url").toString());
    payload.project = "prj_2";
    const forged = `${h}.${Buffer.from(JSON.stringify(payload)).toString("base64url")}.${s}`;
    const verifier = new AccessTokenVerifier({ jwks: ring.jwks(), issuer: ISS });
    const e = await rejects(verifier.verify(forged));
    expect(e.code).toBe("IAM:InvalidToken");
    expect(e.message).toContain("signature");
    const flipped = `${h}.${p}.${s.slice(0, 10)}${s[10] === "A" ? "B" : "A"}${s.slice(11)}`;
    expect((await rejects(verifier.verify(flipped))).code).toBe("IAM:InvalidToken");
  });

  it("rejects a token for another audience or from another issuer", async () => {
    const { token } = await new AccessTokenIssuer({ ring, issuer: ISS }).issue({ ...base, audience: ["photon:compute"] });
    await new AccessTokenVerifier({ jwks: ring.jwks(), issuer: ISS, audience: "photon:compute" }).verify(token);
    const wrongAud = await rejects(new AccessTokenVerifier({ jwks: ring.jwks(), issuer: ISS, audience: "photon:dns" }).verify(token));
    expect(wrongAud.message).toContain("aud");
    const wrongIss = await rejects(new AccessTokenVerifier({ jwks: ring.jwks(), issuer: "https://evil", audience: "photon:compute" }).verify(token));
    expect(wrongIss.code).toBe("IAM:InvalidToken");
    expect(wrongIss.message).toContain("iss");
  });

  it("keeps verifying tokens of the previous key after a rotation, until it is retired", async () => {
    const r = await SigningKeyRing.generate();
    const issuer = new AccessTokenIssuer({ ring: r, issuer: ISS });
    const old = await issuer.issue(base);
    const oldKid = r.current().kid;
    const newKid = await r.rotate();
    expect(newKid).not.toBe(oldKid);
    const fresh = await issuer.issue(base);
    const verifier = new AccessTokenVerifier({ jwks: r.jwks(), issuer: ISS });
    expect(r.jwks().keys.map((k) => k.kid)).toEqual([newKid, oldKid]);
    await verifier.verify(old.token);
    await verifier.verify(fresh.token);
    expect(() => r.retire(newKid)).toThrow(/current/);
    r.retire(oldKid);
    verifier.setJwks(r.jwks());
    expect((await rejects(verifier.verify(old.token))).message).toContain("not (or no longer) published");
    await verifier.verify(fresh.token);
  });

  it("retires previous keys once no token of theirs can still be valid", async () => {
    const r = await SigningKeyRing.generate(0);
    const first = r.current().kid;
    await r.rotate(1000);
    expect(r.retireExpired(3600_000, 1000 + 3600_000)).toEqual([]);
    expect(r.retireExpired(3600_000, 1001 + 3600_000)).toEqual([first]);
  });

  it("survives export and import of the ring with the same kids", async () => {
    const r = await SigningKeyRing.generate();
    await r.rotate();
    const copy = await SigningKeyRing.import(await r.exportPrivate());
    expect(copy.jwks()).toEqual(r.jwks());
    const { token } = await new AccessTokenIssuer({ ring: copy, issuer: ISS }).issue(base);
    await new AccessTokenVerifier({ jwks: r.jwks(), issuer: ISS }).verify(token);
  });

  it("refuses revoked tokens and revoked sessions", async () => {
    const revocations = new MemoryRevocationList();
    const issuer = new AccessTokenIssuer({ ring, issuer: ISS });
    const verifier = new AccessTokenVerifier({ jwks: ring.jwks(), issuer: ISS, revocations });
    const a = await issuer.issue(base);
    const b = await issuer.issue({ ...base, sid: "ses_9" });
    revocations.revoke(a.claims.jti, a.claims.exp * 1000);
    revocations.revoke("ses_9", Date.now() + 3600_000);
    expect((await rejects(verifier.verify(a.token))).code).toBe("IAM:TokenRevoked");
    expect((await rejects(verifier.verify(b.token))).code).toBe("IAM:TokenRevoked");
    expect(revocations.prune(a.claims.exp * 1000 + 1)).toBe(1);
  });

  it("rejects oversized and malformed tokens with clear errors before parsing", async () => {
    const verifier = new AccessTokenVerifier({ jwks: ring.jwks(), issuer: ISS });
    const cases: [unknown, RegExp][] = [
      ["", /missing/],
      [undefined, /missing/],
      ["a".repeat(9000), /too large/],
      ["abc", /3 dot-separated segments/],
      ["a.b.c.d", /3 dot-separated segments/],
      ["a..c", /base64url/],
      ["a b.c.d", /base64url/],
      [`${Buffer.from("nope").toString("base64url")}.e30.sig`, /header is not JSON/],
      [`${Buffer.from("[1]").toString("base64url")}.e30.sig`, /not a JSON object/],
      [`${Buffer.from('{"alg":"EdDSA"}').toString("base64url")}.e30.c2ln`, /malformed|typ|signature/],
    ];
    for (const [token, message] of cases) {
      const e = await rejects(verifier.verify(token as string));
      expect(e.code).toBe("IAM:InvalidToken");
      expect(e.message).toMatch(message);
    }
  });

  it("refuses unsigned and symmetric-algorithm tokens (alg confusion)", async () => {
    const verifier = new AccessTokenVerifier({ jwks: ring.jwks(), issuer: ISS });
    const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const claims = { ...base, iss: ISS, aud: ["photon"], jti: "x", iat: 1, nbf: 1, exp: 9e9 };
    const none = `${enc({ alg: "none", typ: "at+jwt" })}.${enc(claims)}.AAAA`;
    expect((await rejects(verifier.verify(none))).message).toContain("not allowed");
    const hs = await new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "at+jwt", kid: ring.current().kid }).sign(new TextEncoder().encode(JSON.stringify(ring.jwks().keys[0])));
    expect((await rejects(verifier.verify(hs))).message).toContain("not allowed");
  });

  it("validates what it is asked to issue", async () => {
    const issuer = new AccessTokenIssuer({ ring, issuer: ISS });
    expect((await rejects(issuer.issue({ ...base, ttlSeconds: 7200 }))).code).toBe("IAM:InvalidArgument");
    expect((await rejects(issuer.issue({ ...base, project: "" }))).code).toBe("IAM:InvalidArgument");
    expect((await rejects(issuer.issue({ ...base, rules: ["compute:vm"] }))).code).toBe("IAM:InvalidAction");
  });
});
