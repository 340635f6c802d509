/**
 * The cross-tenant denial matrix through iam's API, against a real chainfire. The standard
 * two-tenant fixture (tests/support/cross-tenant-matrix.ts) is stored through the chainfire
 * store, then:
 * 1. every decision of the matrix is asked through the Authorize API (all denied; owners allowed);
 * 2. every principal of one tenant, logged in with its own token, tries every CRUD call on every
 *    iam resource of the other tenant (and to create things there, including granting itself a
 *    role): every call is refused with IAM:PermissionDenied, lists show nothing of the other
 *    tenant, and the model is unchanged afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChainfireServer } from "../../../services/chainfire/server.ts";
import { IAM_ACTIONS } from "../../../services/iam/actions.ts";
import type { Entity, EntityKind } from "../../../services/iam/model/types.ts";
import type { IamServer } from "../../../services/iam/server.ts";
import { EtcdIamStore } from "../../../services/iam/store-etcd.ts";
import { hashPassword } from "../../../services/iam/tokens/password.ts";
import { startTestChainfire } from "../../support/chainfire.ts";
import { buildTwoTenantFixture, crossTenantLeaksAsync, type TenantFixture } from "../../support/cross-tenant-matrix.ts";
import { api, loginToken, startTestIam } from "../../support/iam.ts";

const work = mkdtempSync(join(tmpdir(), "iam-matrix-"));
const PASSWORD = "matrix password 1";
const KINDS: EntityKind[] = ["org", "project", "user", "serviceaccount", "group", "role", "binding", "deny"];
const PATH: Record<EntityKind, string> = { org: "orgs", project: "projects", user: "users", serviceaccount: "serviceaccounts", group: "groups", role: "roles", binding: "bindings", deny: "denies" };
const fx = buildTwoTenantFixture();
let chainfire: ChainfireServer;
let iam: IamServer;
let url: string;
let root: string;
const tokens = new Map<string, string>();

function modelDump(): string {
  return JSON.stringify(KINDS.map((k) => iam.replica.model.list(k).sort((a, b) => a.id.localeCompare(b.id))));
}

beforeAll(async () => {
  chainfire = await startTestChainfire(join(work, "chainfire"));
  const store = new EtcdIamStore({ endpoints: [chainfire.endpoint] });
  const entities: Entity[] = KINDS.flatMap((k) => fx.model.list(k) as Entity[]);
  expect(await store.commitModel(entities.map((entity) => ({ op: "put" as const, entity })), 0)).toBeGreaterThan(0);
  const hash = await hashPassword(PASSWORD);
  await store.putRecords(fx.model.list("user").map((u) => ({ op: "put" as const, kind: "password" as const, id: u.id, value: { hash } })));
  store.close();
  iam = await startTestIam(chainfire.endpoint, work, { limiter: { perSourcePerMinute: 100_000 } });
  url = iam.http.url;
  root = await loginToken(url, "root", PASSWORD);
  const orgName = new Map(fx.model.list("org").map((o) => [o.id, o.name]));
  for (const u of fx.model.list("user")) if (u.org) tokens.set(u.id, await loginToken(url, u.name, PASSWORD, { org: orgName.get(u.org)! }));
  for (const sa of fx.model.list("serviceaccount")) {
    const cred = await api(url, "POST", "/v1/credentials", { token: root, body: { serviceAccount: sa.id, name: "matrix", expiresAt: Date.now() + 3600_000 } });
    const t = await api(url, "POST", "/v1/auth/app-credential", { body: { secret: cred.body.secret } });
    tokens.set(sa.id, t.body.accessToken);
  }
});

afterAll(async () => {
  await iam?.stop();
  await chainfire?.stop();
  rmSync(work, { recursive: true, force: true });
});

/** The entities of tenant `t`: for an organisation everything in it; for a project its subtree. */
function resourcesOf(t: TenantFixture): Entity[] {
  const orgLevel = t.scopes.some((s) => s.project === undefined);
  return KINDS.flatMap((k) => iam.replica.model.list(k) as Entity[]).filter((e) => {
    const ref = iam.service.refOf(e);
    if (orgLevel) return ref.org === t.scopes[0]!.org;
    return ref.project !== undefined && t.scopes.some((s) => s.project === ref.project);
  });
}

describe("cross-tenant denial matrix through the API", () => {
  it("denies every iam action through the Authorize API (and allows the owners)", async () => {
    const { leaks, gaps, attempts } = await crossTenantLeaksAsync({
      pairs: fx.pairs,
      actions: IAM_ACTIONS,
      concurrency: 32,
      authorize: async (req) => {
        const r = await api(url, "POST", "/v1/authorize", { token: root, body: { principal: req.principal, action: req.action, resource: req.resource, sourceIp: req.context?.sourceIp } });
        if (r.status !== 200) throw new Error(JSON.stringify(r.body));
        return r.body;
      },
    });
    expect(gaps).toEqual([]);
    expect(leaks).toEqual([]);
    expect(attempts).toBeGreaterThan(5_000);
  });

  it("refuses every CRUD call of one tenant's principals on the other's resources, and changes nothing", async () => {
    const before = modelDump();
    const refused: string[] = [];
    const leaks: string[] = [];
    let calls = 0;
    const attempt = async (who: string, method: string, path: string, body?: unknown) => {
      calls++;
      const r = await api(url, method, path, { token: tokens.get(who)!, ...(body !== undefined ? { body } : {}) });
      if (r.status === 403 && r.body.error.code === "IAM:PermissionDenied") refused.push(path);
      else leaks.push(`${who} ${method} ${path} → ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
    };
    for (const [x, y] of fx.pairs) {
      for (const [from, to] of [[x, y], [y, x]] as const) {
        const targets = resourcesOf(to);
        expect(targets.length).toBeGreaterThan(3);
        const orgLevel = to.scopes.some((s) => s.project === undefined);
        const org = to.scopes[0]!.org;
        const projects = to.scopes.filter((s) => s.project !== undefined).map((s) => s.project!);
        for (const who of from.principals) {
          for (const e of targets) {
            await attempt(who, "GET", `/v1/${PATH[e.kind]}/${e.id}`);
            if (e.kind !== "binding" && e.kind !== "deny") await attempt(who, "PATCH", `/v1/${PATH[e.kind]}/${e.id}`, { name: "pwned" });
            await attempt(who, "DELETE", `/v1/${PATH[e.kind]}/${e.id}`);
            if (e.kind === "group") await attempt(who, "POST", `/v1/groups/${e.id}/members`, { member: who });
            if (e.kind === "serviceaccount") await attempt(who, "POST", "/v1/credentials", { serviceAccount: e.id, name: "stolen", expiresAt: Date.now() + 60_000 });
            if (e.kind === "user") await attempt(who, "POST", "/v1/accesskeys", { principal: e.id });
          }
          for (const project of projects) {
            await attempt(who, "POST", "/v1/projects", { org, parent: project, name: "intruder" });
            await attempt(who, "POST", "/v1/serviceaccounts", { project, name: "intruder" });
            await attempt(who, "POST", "/v1/bindings", { principal: who, role: "admin", scope: { kind: "project", id: project } });
            await attempt(who, "POST", "/v1/denies", { name: "intruder", scope: { kind: "project", id: project }, principals: ["*"], actions: ["*"] });
          }
          if (orgLevel) {
            await attempt(who, "POST", "/v1/projects", { org, name: "intruder" });
            await attempt(who, "POST", "/v1/users", { org, name: "intruder", password: "intruder password" });
            await attempt(who, "POST", "/v1/groups", { org, name: "intruder" });
            await attempt(who, "POST", "/v1/roles", { org, name: "intruder", actions: ["*"] });
            await attempt(who, "POST", "/v1/bindings", { principal: who, role: "admin", scope: { kind: "org", id: org } });
            await attempt(who, "GET", `/v1/audit?org=${org}`);
          }
          // lists show nothing of the other tenant
          const ids = new Set(targets.map((e) => e.id));
          for (const p of Object.values(PATH)) {
            const r = await api(url, "GET", `/v1/${p}`, { token: tokens.get(who)! });
            for (const item of r.body.items ?? []) if (ids.has(item.id)) leaks.push(`${who} lists ${item.id} of ${to.label}`);
          }
        }
      }
    }
    expect(leaks).toEqual([]);
    expect(refused.length).toBe(calls);
    expect(calls).toBeGreaterThan(500);
    expect(modelDump()).toBe(before);
  });

  it("lets owners reach their own resources (the matrix is not vacuous)", async () => {
    for (const [x] of [fx.pairs[0]!]) {
      const owner = x.owners[0]!;
      for (const e of resourcesOf(x)) expect((await api(url, "GET", `/v1/${PATH[e.kind]}/${e.id}`, { token: tokens.get(owner)! })).status).toBe(200);
    }
  });
});
