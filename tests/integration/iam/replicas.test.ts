/**
 * Two iam replicas on one chainfire: changes, revocations and signing keys made through one
 * reach the other within a second; concurrent writers never lose an update; tokens expire.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChainfireServer } from "../../../services/chainfire/server.ts";
import type { IamServer } from "../../../services/iam/server.ts";
import { startTestChainfire } from "../../support/chainfire.ts";
import { readServiceIdentity, serviceIdentityPath } from "../../../services/iam/service-identity-file.ts";
import { adminCredentials, api, loginToken, startTestIam } from "../../support/iam.ts";

const work = mkdtempSync(join(tmpdir(), "iam-replicas-"));
const kekFile = join(work, "kek");
let chainfire: ChainfireServer;
let a: IamServer;
let b: IamServer;
let password: string;

/** Polls `check` until it holds; returns how long it took (ms). */
async function within(ms: number, check: () => Promise<boolean>): Promise<number> {
  const start = performance.now();
  while (performance.now() - start < ms) {
    if (await check()) return performance.now() - start;
    await Bun.sleep(10);
  }
  throw new Error(`did not happen within ${ms} ms`);
}

beforeAll(async () => {
  chainfire = await startTestChainfire(join(work, "chainfire"));
  a = await startTestIam(chainfire.endpoint, join(work, "a"), { kekFile, services: ["novanet"] });
  b = await startTestIam(chainfire.endpoint, join(work, "b"), { kekFile, services: ["novanet"] });
  password = adminCredentials(a).password;
});

afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await chainfire?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe("two replicas", () => {
  it("write the same service secret, which both accept (no replica replaces another's)", async () => {
    const sa = readServiceIdentity(serviceIdentityPath(join(work, "a"), "novanet")).secret;
    const sb = readServiceIdentity(serviceIdentityPath(join(work, "b"), "novanet")).secret;
    expect(sb).toBe(sa);
    for (const r of [a, b]) {
      const own = await api(r.http.url, "POST", "/v1/catalog/own", { token: sa, body: { instance: "x", endpoints: { http: "http://127.0.0.1:1" } } });
      expect(own.body.service).toBe("novanet");
    }
  });

  it("accept each other's tokens", async () => {
    const token = await loginToken(a.http.url, "admin", password);
    expect((await api(b.http.url, "GET", "/v1/auth/whoami", { token })).status).toBe(200);
  });

  it("see a revocation made through the other within a second", async () => {
    const token = await loginToken(a.http.url, "admin", password);
    expect((await api(b.http.url, "GET", "/v1/orgs", { token })).status).toBe(200);
    expect((await api(a.http.url, "POST", "/v1/auth/revoke", { body: { token } })).status).toBe(200);
    const took = await within(1_000, async () => (await api(b.http.url, "GET", "/v1/orgs", { token })).body?.error?.code === "IAM:TokenRevoked");
    expect(took).toBeLessThan(1_000);
    // and the in-process evaluator path: the replica's revocation list itself
    const token2 = await loginToken(b.http.url, "admin", password);
    await api(b.http.url, "POST", "/v1/auth/revoke", { body: { token: token2, session: true } });
    await within(1_000, async () => (await a.replica.verifier.verify(token2).catch((e) => e)).code === "IAM:TokenRevoked");
  });

  it("see a new binding made through the other within a second (in-process Authorizer kept fresh)", async () => {
    const token = await loginToken(a.http.url, "admin", password);
    const org = (await api(a.http.url, "POST", "/v1/orgs", { token, body: { name: "fresh" } })).body;
    const user = (await api(a.http.url, "POST", "/v1/users", { token, body: { org: org.id, name: "bob", password: "bob's long password" } })).body;
    const req = { principal: user.id, action: "compute:vm:create", resource: { org: org.id } };
    expect(b.replica.authorizer.authorize(req).allowed).toBe(false);
    await api(a.http.url, "POST", "/v1/bindings", { token, body: { principal: user.id, role: "compute.admin", scope: { kind: "org", id: org.id } } });
    const took = await within(1_000, async () => b.replica.authorizer.authorize(req).allowed);
    expect(took).toBeLessThan(1_000);
  });

  it("never lose concurrent updates: every create lands once, a contested name exactly once", async () => {
    const token = await loginToken(a.http.url, "admin", password);
    const org = (await api(a.http.url, "POST", "/v1/orgs", { token, body: { name: "busy" } })).body;
    const creates = Array.from({ length: 20 }, (_, i) => api(i % 2 ? a.http.url : b.http.url, "POST", "/v1/projects", { token, body: { org: org.id, name: `p${i}` } }));
    const contested = Array.from({ length: 6 }, (_, i) => api(i % 2 ? a.http.url : b.http.url, "POST", "/v1/projects", { token, body: { org: org.id, name: "same" } }));
    const results = await Promise.all([...creates, ...contested]);
    expect(results.slice(0, 20).map((r) => r.status)).toEqual(Array(20).fill(201));
    expect(results.slice(20).filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.slice(20).filter((r) => r.status !== 201).map((r) => r.body.error.code)).toEqual(Array(5).fill("IAM:AlreadyExists"));
    for (const s of [a, b]) {
      await within(1_000, async () => (await api(s.http.url, "GET", `/v1/projects?org=${org.id}`, { token })).body.items.length === 21);
    }
  });

  it("rotate the signing key once for both: old tokens still verify, new ones verify on the other", async () => {
    const token = await loginToken(a.http.url, "admin", password);
    const before = (await api(b.http.url, "GET", "/.well-known/jwks.json")).body.keys;
    const rotated = await api(a.http.url, "POST", "/v1/signing-keys/rotate", { token });
    expect(rotated.status).toBe(200);
    expect(rotated.body.kid).not.toBe(before[0].kid);
    await within(1_000, async () => (await api(b.http.url, "GET", "/.well-known/jwks.json")).body.keys[0].kid === rotated.body.kid);
    const keys = (await api(b.http.url, "GET", "/.well-known/jwks.json")).body.keys.map((k: { kid: string }) => k.kid);
    expect(keys).toEqual([rotated.body.kid, before[0].kid, ...before.slice(1).map((k: { kid: string }) => k.kid)]);
    expect((await api(b.http.url, "GET", "/v1/auth/whoami", { token })).status).toBe(200); // signed by the previous key
    const fresh = await loginToken(b.http.url, "admin", password);
    const header = JSON.parse(Buffer.from(fresh.split(".")[0]!, "base64url").toString());
    expect(header.kid).toBe(rotated.body.kid);
    expect((await api(a.http.url, "GET", "/v1/auth/whoami", { token: fresh })).status).toBe(200);
  });

  it("refuse an expired token", async () => {
    const r = await api(a.http.url, "POST", "/v1/auth/login", { body: { user: "admin", password, ttlSeconds: 1 } });
    const token = r.body.accessToken;
    expect((await api(b.http.url, "GET", "/v1/auth/whoami", { token })).status).toBe(200);
    // lib's verifier allows 30 s of clock skew; check expiry through a verifier without it
    const { AccessTokenVerifier } = await import("../../../services/iam/tokens/access-token.ts");
    const strict = new AccessTokenVerifier({ jwks: b.replica.jwks(), issuer: "photon-iam", clockToleranceSeconds: 0 });
    await Bun.sleep(2_100);
    expect((await strict.verify(token).catch((e) => e)).code).toBe("IAM:TokenExpired");
  });
});
