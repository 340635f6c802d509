/**
 * `IamGuard`, the way every other service authenticates and authorises its callers, against a
 * real iam on a real chainfire: tokens are checked by iam (revocation included), decisions name
 * iam's reason, a project of another tenant is refused, and the scope comes back with the
 * project's organisation.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PhotonError } from "../../../lib/errors.ts";
import type { ChainfireServer } from "../../../services/chainfire/server.ts";
import { IamGuard } from "../../../services/iam/guard.ts";
import { readServiceIdentity, serviceIdentityPath } from "../../../services/iam/service-identity-file.ts";
import type { IamServer } from "../../../services/iam/server.ts";
import { startTestChainfire } from "../../support/chainfire.ts";
import { adminCredentials, api, loginToken, startTestIam } from "../../support/iam.ts";

const work = mkdtempSync(join(tmpdir(), "iam-guard-"));
const PASSWORD = "guard password 123";
let chainfire: ChainfireServer;
let iam: IamServer;
let url: string;
let admin: string;
const tenant = { a: { org: "", project: "", token: "" }, b: { org: "", project: "", token: "" } };

async function makeTenant(admin: string, name: string, role: string) {
  const org = (await api(url, "POST", "/v1/orgs", { token: admin, body: { name } })).body.id as string;
  const project = (await api(url, "POST", "/v1/projects", { token: admin, body: { org, name: "web" } })).body.id as string;
  const user = (await api(url, "POST", "/v1/users", { token: admin, body: { org, name: "alice", password: PASSWORD } })).body.id as string;
  const b = await api(url, "POST", "/v1/bindings", { token: admin, body: { principal: user, role, scope: { kind: "project", id: project } } });
  expect(b.status).toBe(201);
  return { org, project, token: await loginToken(url, "alice", PASSWORD, { org: name }) };
}

async function failure(p: Promise<unknown>): Promise<PhotonError> {
  try {
    await p;
  } catch (e) {
    return e as PhotonError;
  }
  throw new Error("expected a failure");
}

beforeAll(async () => {
  chainfire = await startTestChainfire(join(work, "chainfire"));
  iam = await startTestIam(chainfire.endpoint, work, { services: ["novanet"] });
  url = iam.http.url;
  const creds = adminCredentials(iam);
  admin = await loginToken(url, creds.user, creds.password);
  tenant.a = await makeTenant(admin, "acme", "novanet.member");
  tenant.b = await makeTenant(admin, "globex", "novanet.reader");
});

afterAll(async () => {
  await iam?.stop();
  await chainfire?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe("IamGuard", () => {
  it("authenticates a token and refuses a missing or forged one", async () => {
    const guard = new IamGuard(url);
    const caller = await guard.authenticate(tenant.a.token);
    expect(caller).toMatchObject({ kind: "user", org: tenant.a.org, token: tenant.a.token });
    expect(caller.principal).toMatch(/^usr_/);
    expect((await failure(guard.authenticate(undefined))).code).toBe("IAM:Unauthenticated");
    expect((await failure(guard.authenticate("abc.def.ghi"))).code).toBe("IAM:InvalidToken");
    expect(IamGuard.bearer("Bearer xyz")).toBe("xyz");
    expect(IamGuard.bearer("Basic xyz")).toBeUndefined();
  });

  it("allows what a binding grants and returns the project's organisation", async () => {
    const guard = new IamGuard(url);
    const caller = await guard.authenticate(tenant.a.token);
    expect(await guard.authorize(caller, "novanet:vpc:create", { project: tenant.a.project })).toEqual({ org: tenant.a.org, project: tenant.a.project });
  });

  it("refuses with iam's reason: other verbs, other services, other tenants' projects", async () => {
    const guard = new IamGuard(url);
    const reader = await guard.authenticate(tenant.b.token);
    const denied = await failure(guard.authorize(reader, "novanet:vpc:create", { project: tenant.b.project }));
    expect(denied.code).toBe("IAM:PermissionDenied");
    expect(denied.message).toContain("novanet:vpc:create");
    expect(await guard.authorize(reader, "novanet:vpc:list", { project: tenant.b.project })).toMatchObject({ org: tenant.b.org });
    const member = await guard.authenticate(tenant.a.token);
    expect((await failure(guard.authorize(member, "plasmavmc:vm:create", { project: tenant.a.project }))).code).toBe("IAM:PermissionDenied");
    const cross = await failure(guard.authorize(member, "novanet:vpc:list", { project: tenant.b.project }));
    expect(cross.code).toBe("IAM:PermissionDenied");
    expect(cross.message).not.toContain(tenant.b.org);
    expect((await failure(guard.authorize(member, "novanet:vpc:list", { org: tenant.a.org, project: tenant.b.project }))).code).toBe("IAM:PermissionDenied");
  });

  it("stops accepting a revoked token once its cached decision ages out", async () => {
    const token = await loginToken(url, "alice", PASSWORD, { org: "acme" });
    const guard = new IamGuard(url, { cacheMs: 200 });
    const caller = await guard.authenticate(token);
    await guard.authorize(caller, "novanet:vpc:get", { project: tenant.a.project });
    expect((await api(url, "POST", "/v1/auth/revoke", { body: { token } })).status).toBeLessThan(300);
    const deadline = Date.now() + 3000;
    let code = "";
    while (Date.now() < deadline && code === "") {
      await Bun.sleep(100);
      code = await guard.authorize(caller, "novanet:vpc:get", { project: tenant.a.project }).then(() => "", (e: PhotonError) => e.code);
    }
    expect(code).toBe("IAM:TokenRevoked");
  });
});

describe("IamGuard deciding in process from iam's policy feed", () => {
  it("gives the same answers as iam for every tenant, action and project", async () => {
    const remote = new IamGuard(url, { cacheMs: 0 });
    const local = new IamGuard(url, { cacheMs: 0, feed: { token: () => admin } });
    try {
      expect(await local.local!.ready()).toBe(true);
      const actions = ["novanet:vpc:create", "novanet:vpc:list", "novanet:port:delete", "plasmavmc:vm:get", "iam:project:get", "iam:binding:create"];
      let compared = 0;
      for (const t of [tenant.a, tenant.b]) {
        const lc = await local.authenticate(t.token);
        const rc = await remote.authenticate(t.token);
        expect(lc.claims).toBeDefined();
        expect(rc.claims).toBeUndefined();
        expect({ ...lc, claims: undefined }).toEqual({ ...rc, claims: undefined });
        for (const action of actions) {
          for (const resource of [{ project: tenant.a.project }, { project: tenant.b.project }, { org: tenant.a.org }, { org: tenant.b.org, project: tenant.a.project }]) {
            const outcome = (g: IamGuard, c: typeof lc) => g.authorize(c, action, resource).then((scope) => JSON.stringify(scope), (e: PhotonError) => e.code);
            expect(await outcome(local, lc)).toBe(await outcome(remote, rc));
            compared++;
          }
        }
      }
      expect(compared).toBe(48);
    } finally {
      local.close();
    }
  });

  it("follows a new binding and a revocation within a second", async () => {
    const local = new IamGuard(url, { cacheMs: 0, feed: { token: () => admin } });
    try {
      await local.local!.ready();
      const token = await loginToken(url, "alice", PASSWORD, { org: "globex" });
      const caller = await local.authenticate(token);
      const attempt = () => local.authorize(caller, "novanet:vpc:create", { project: tenant.b.project }).then(() => "allowed", (e: PhotonError) => e.code);
      expect(await attempt()).toBe("IAM:PermissionDenied");
      const b = await api(url, "POST", "/v1/bindings", { token: admin, body: { principal: caller.principal, role: "novanet.admin", scope: { kind: "project", id: tenant.b.project } } });
      expect(b.status).toBe(201);
      const until = Date.now() + 1000;
      let got = await attempt();
      while (got !== "allowed" && Date.now() < until) {
        await Bun.sleep(20);
        got = await attempt();
      }
      expect(got).toBe("allowed");
      expect((await api(url, "POST", "/v1/auth/revoke", { body: { token } })).status).toBeLessThan(300);
      const deadline = Date.now() + 1000;
      let code = "";
      while (code === "" && Date.now() < deadline) {
        await Bun.sleep(20);
        code = await local.authenticate(token).then(() => "", (e: PhotonError) => e.code);
      }
      expect(code).toBe("IAM:TokenRevoked");
    } finally {
      local.close();
    }
  });

  it("opens to a PhotonCloud service's secret, and to no forged one", async () => {
    const { secret } = readServiceIdentity(serviceIdentityPath(work, "novanet"));
    expect(secret).toMatch(/^pcs_novanet_/);
    const guard = new IamGuard(url, { cacheMs: 0, feed: { token: () => secret } });
    try {
      expect(await guard.local!.ready()).toBe(true);
      const caller = await guard.authenticate(tenant.a.token);
      expect(caller.claims).toBeDefined();
      expect(await guard.authorize(caller, "novanet:vpc:create", { project: tenant.a.project })).toEqual({ org: tenant.a.org, project: tenant.a.project });
    } finally {
      guard.close();
    }
    const forged = `pcs_novanet_${"A".repeat(43)}`;
    const res = await fetch(`${url}/v1/authz/feed`, { headers: { authorization: `Bearer ${forged}` } });
    expect(res.status).toBe(403);
    const other = await fetch(`${url}/v1/authz/feed`, { headers: { authorization: `Bearer ${secret.replace("novanet", "plasmavmc")}` } });
    expect(other.status).toBe(403);
  });

  it("is refused to tenants (the feed is the whole policy) and then keeps asking iam", async () => {
    const guard = new IamGuard(url, { cacheMs: 0, feed: { token: () => tenant.a.token } });
    try {
      expect(await guard.local!.ready(1000)).toBe(false);
      const caller = await guard.authenticate(tenant.a.token);
      expect(caller.claims).toBeUndefined();
      expect(await guard.authorize(caller, "novanet:vpc:create", { project: tenant.a.project })).toEqual({ org: tenant.a.org, project: tenant.a.project });
      const feed = await fetch(`${url}/v1/authz/feed`, { headers: { authorization: `Bearer ${tenant.a.token}` } });
      expect(feed.status).toBe(403);
      expect(((await feed.json()) as { error: { code: string } }).error.code).toBe("IAM:PermissionDenied");
    } finally {
      guard.close();
    }
  });
});
