/**
 * iam's API end to end against a real chainfire: bootstrap, login, CRUD with tenancy checks,
 * strict input, REST and gRPC with the same semantics and error codes, OpenAPI, JWKS.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GrpcClient } from "../../../lib/grpc/index.ts";
import type { ChainfireServer } from "../../../services/chainfire/server.ts";
import { iamGrpcService } from "../../../services/iam/api/grpc.ts";
import type { IamServer } from "../../../services/iam/server.ts";
import { readServiceIdentity, serviceIdentityPath } from "../../../services/iam/service-identity-file.ts";
import { AccessTokenVerifier } from "../../../services/iam/tokens/access-token.ts";
import { startTestChainfire } from "../../support/chainfire.ts";
import { adminCredentials, api, loginToken, startTestIam } from "../../support/iam.ts";

const work = mkdtempSync(join(tmpdir(), "iam-api-"));
let chainfire: ChainfireServer;
let iam: IamServer;
let url: string;
let admin: string;

beforeAll(async () => {
  chainfire = await startTestChainfire(join(work, "chainfire"));
  iam = await startTestIam(chainfire.endpoint, work, { services: ["novanet"] });
  url = iam.http.url;
  const creds = adminCredentials(iam);
  admin = await loginToken(url, creds.user, creds.password);
});

afterAll(async () => {
  await iam?.stop();
  await chainfire?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe("bootstrap", () => {
  it("writes the administrator's credentials with mode 0600 and a default org and project", async () => {
    expect(statSync(iam.credentialsFile!).mode & 0o777).toBe(0o600);
    const creds = adminCredentials(iam);
    expect(creds).toMatchObject({ user: "admin", iamUrl: url });
    expect(creds.password.length).toBeGreaterThanOrEqual(20);
    const orgs = await api(url, "GET", "/v1/orgs", { token: admin });
    expect(orgs.body.items.map((o: { name: string }) => o.name)).toEqual(["default"]);
    const projects = await api(url, "GET", `/v1/projects?org=${creds.defaultOrg}`, { token: admin });
    expect(projects.body.items).toMatchObject([{ id: creds.defaultProject, name: "default" }]);
  });

  it("happens once: a second replica on the same store does not bootstrap again", async () => {
    const second = await startTestIam(chainfire.endpoint, join(work, "second"), { kekFile: join(work, "kek") });
    try {
      expect(second.credentialsFile).toBeUndefined();
    } finally {
      await second.stop();
    }
  });
});

describe("authentication", () => {
  it("refuses calls without a token or with a malformed one", async () => {
    expect((await api(url, "GET", "/v1/orgs")).body.error.code).toBe("IAM:Unauthenticated");
    const bad = await api(url, "GET", "/v1/orgs", { token: "abc.def.ghi" });
    expect(bad.status).toBe(401);
    expect(bad.body.error.code).toBe("IAM:InvalidToken");
  });

  it("refuses a wrong password with the same error as an unknown user", async () => {
    const a = await api(url, "POST", "/v1/auth/login", { body: { user: "admin", password: "wrong-password-123" } });
    const b = await api(url, "POST", "/v1/auth/login", { body: { user: "nobody", password: "wrong-password-123" } });
    expect(a.status).toBe(401);
    expect(a.body.error).toEqual(b.body.error);
    expect(JSON.stringify(a.body)).not.toContain("wrong-password");
  });

  it("issues tokens that verify offline against the JWKS endpoint, and refreshes with rotation", async () => {
    const creds = adminCredentials(iam);
    const login = await api(url, "POST", "/v1/auth/login", { body: { user: "admin", password: creds.password } });
    const principal: string = login.body.principal;
    expect(principal).toMatch(/^usr_/);
    expect(login.body.tokenType).toBe("Bearer");
    const jwks = await api(url, "GET", "/.well-known/jwks.json");
    const verifier = new AccessTokenVerifier({ jwks: jwks.body, issuer: "photon-iam" });
    expect((await verifier.verify(login.body.accessToken)).sub).toBe(principal);
    const refreshed = await api(url, "POST", "/v1/auth/refresh", { body: { refreshToken: login.body.refreshToken } });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.refreshToken).not.toBe(login.body.refreshToken);
    // reusing the spent refresh token revokes the session, including the new tokens
    const reuse = await api(url, "POST", "/v1/auth/refresh", { body: { refreshToken: login.body.refreshToken } });
    expect(reuse.body.error.code).toBe("IAM:TokenRevoked");
    expect((await api(url, "GET", "/v1/auth/whoami", { token: refreshed.body.accessToken })).body.error.code).toBe("IAM:TokenRevoked");
    expect((await api(url, "POST", "/v1/auth/refresh", { body: { refreshToken: refreshed.body.refreshToken } })).body.error.code).toBe("IAM:TokenRevoked");
  });
});

describe("resources", () => {
  it("creates an organisation, a project, a user with a password, and binds the user", async () => {
    const org = await api(url, "POST", "/v1/orgs", { token: admin, body: { name: "acme" } });
    expect(org.status).toBe(201);
    const prj = await api(url, "POST", "/v1/projects", { token: admin, body: { org: org.body.id, name: "web" } });
    expect(prj.body).toMatchObject({ kind: "project", org: org.body.id, name: "web" });
    const user = await api(url, "POST", "/v1/users", { token: admin, body: { org: org.body.id, name: "alice", password: "correct horse battery" } });
    expect(user.status).toBe(201);
    expect(JSON.stringify(user.body)).not.toContain("correct horse");
    const b = await api(url, "POST", "/v1/bindings", { token: admin, body: { principal: user.body.id, role: "admin", scope: { kind: "org", id: org.body.id } } });
    expect(b.status).toBe(201);
    const alice = await loginToken(url, "alice", "correct horse battery", { org: "acme" });
    const mine = await api(url, "POST", "/v1/projects", { token: alice, body: { org: org.body.id, name: "db" } });
    expect(mine.status).toBe(201);
    // the org admin cannot create organisations, nor projects in another organisation
    expect((await api(url, "POST", "/v1/orgs", { token: alice, body: { name: "evil" } })).body.error.code).toBe("IAM:PermissionDenied");
    const other = adminCredentials(iam).defaultOrg;
    const denied = await api(url, "POST", "/v1/projects", { token: alice, body: { org: other, name: "x" } });
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe("IAM:PermissionDenied");
    // and sees only her organisation's projects
    const list = await api(url, "GET", "/v1/projects", { token: alice });
    expect(list.body.items.map((p: { name: string }) => p.name).sort()).toEqual(["db", "web"]);
  });

  it("lets a user change their own password only with the current one", async () => {
    const org = (await api(url, "GET", "/v1/orgs", { token: admin })).body.items.find((o: { name: string }) => o.name === "acme");
    const erin = (await api(url, "POST", "/v1/users", { token: admin, body: { org: org.id, name: "erin", password: "erin's first password" } })).body;
    const token = await loginToken(url, "erin", "erin's first password", { org: "acme" });
    const wrong = await api(url, "PATCH", `/v1/users/${erin.id}`, { token, body: { currentPassword: "not it at all!", password: "erin's second password" } });
    expect(wrong.body.error.code).toBe("IAM:InvalidCredentials");
    const noCurrent = await api(url, "PATCH", `/v1/users/${erin.id}`, { token, body: { password: "erin's second password" } });
    expect(noCurrent.body.error.code).toBe("IAM:PermissionDenied");
    const ok = await api(url, "PATCH", `/v1/users/${erin.id}`, { token, body: { currentPassword: "erin's first password", password: "erin's second password" } });
    expect(ok.status).toBe(200);
    expect(await loginToken(url, "erin", "erin's second password", { org: "acme" })).toBeString();
  });

  it("rejects unknown fields, bad names and duplicates with clear codes", async () => {
    const unknown = await api(url, "POST", "/v1/orgs", { token: admin, body: { name: "x1", colour: "red" } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatchObject({ code: "IAM:InvalidArgument", details: { field: "colour" } });
    expect((await api(url, "POST", "/v1/orgs", { token: admin, body: { name: "Bad Name" } })).body.error.code).toBe("IAM:InvalidName");
    expect((await api(url, "POST", "/v1/orgs", { token: admin, body: { name: "acme" } })).body.error.code).toBe("IAM:AlreadyExists");
    expect((await api(url, "GET", "/v1/projects/prj_nope", { token: admin })).status).toBe(404);
  });

  it("returns an access key's secret once and never again", async () => {
    const created = await api(url, "POST", "/v1/accesskeys", { token: admin, body: {} });
    expect(created.status).toBe(201);
    const { accessKey, secretAccessKey } = created.body;
    expect(secretAccessKey).toMatch(/^[A-Za-z0-9_-]{40}$/);
    const again = await api(url, "GET", `/v1/accesskeys/${accessKey.accessKeyId}`, { token: admin });
    expect(JSON.stringify(again.body)).not.toContain(secretAccessKey);
    expect(again.body).not.toHaveProperty("sealedSecret");
    const list = await api(url, "GET", "/v1/accesskeys", { token: admin });
    expect(list.body.items.map((k: { accessKeyId: string }) => k.accessKeyId)).toContain(accessKey.accessKeyId);
  });

  it("keeps a service catalog", async () => {
    const r = await api(url, "GET", "/v1/catalog?service=iam", { token: admin });
    expect(r.body.items.find((e: { endpoints: { http: string } }) => e.endpoints.http === url)).toMatchObject({ service: "iam", endpoints: { grpc: iam.grpcEndpoint } });
  });

  it("lets a PhotonCloud service register its own endpoints with its service secret, under its own name only", async () => {
    const { secret } = readServiceIdentity(serviceIdentityPath(work, "novanet"));
    const own = await api(url, "POST", "/v1/catalog/own", { token: secret, body: { instance: "n1", endpoints: { http: "http://127.0.0.1:7090" } } });
    expect(own.body).toMatchObject({ service: "novanet", instance: "n1" });
    const listed = await api(url, "GET", "/v1/catalog?service=novanet", { token: admin });
    expect(listed.body.items).toMatchObject([{ service: "novanet", endpoints: { http: "http://127.0.0.1:7090" } }]);
    const forged = await api(url, "POST", "/v1/catalog/own", { token: `pcs_novanet_${"B".repeat(43)}`, body: { endpoints: { http: "http://evil" } } });
    expect(forged.body.error.code).toBe("IAM:PermissionDenied");
    const userToken = await api(url, "POST", "/v1/catalog/own", { token: admin, body: { endpoints: { http: "http://evil" } } });
    expect(userToken.body.error.code).toBe("IAM:PermissionDenied");
    const sneaky = await api(url, "POST", "/v1/catalog/own", { token: secret, body: { service: "iam", endpoints: { http: "http://evil" } } });
    expect(sneaky.body.error.code).toBe("IAM:InvalidArgument");
  });
});

describe("gRPC", () => {
  it("has the REST API's semantics and error codes", async () => {
    const client = new GrpcClient(iam.grpcEndpoint);
    try {
      const iamRpc = client.stub(iamGrpcService());
      const creds = adminCredentials(iam);
      const login = await iamRpc.Login!({ user: "admin", password: creds.password });
      const metadata = { authorization: `Bearer ${login.accessToken}` };
      const org = await iamRpc.CreateOrg!({ name: "grpc-org" }, { metadata });
      expect(org).toMatchObject({ kind: "org", name: "grpc-org" });
      const dup = await iamRpc.CreateOrg!({ name: "grpc-org" }, { metadata }).catch((e: unknown) => e);
      expect((dup as { code: string }).code).toBe("IAM:AlreadyExists");
      const anon = await iamRpc.ListOrgs!({}).catch((e: unknown) => e);
      expect((anon as { code: string }).code).toBe("IAM:Unauthenticated");
      const listed = await iamRpc.ListOrgs!({}, { metadata });
      expect(listed.items.map((o: { name: string }) => o.name)).toContain("grpc-org");
      // nested messages (scope, condition, maps) carry the same JSON shapes as REST
      const user = await iamRpc.CreateUser!({ org: org.id, name: "gina" }, { metadata });
      const binding = await iamRpc.CreateBinding!({ principal: user.id, role: "compute.admin", scope: { kind: "org", id: org.id }, condition: { resourceTags: { env: "dev" } } }, { metadata });
      expect(binding).toMatchObject({ kind: "binding", scope: { kind: "org", id: org.id }, condition: { resourceTags: { env: "dev" } } });
      const ask = (tags: Record<string, string>) => iamRpc.Authorize!({ principal: user.id, action: "compute:vm:create", resource: { org: org.id, tags } }, { metadata });
      expect(await ask({ env: "dev" })).toMatchObject({ allowed: true, matched: binding.id });
      expect((await ask({ env: "prod" })).allowed).toBe(false);
      const rest = await api(url, "POST", "/v1/authorize", { token: login.accessToken, body: { principal: user.id, action: "compute:vm:create", resource: { org: org.id, tags: { env: "dev" } } } });
      expect(rest.body).toEqual(await ask({ env: "dev" }));
    } finally {
      client.close();
    }
  });
});

describe("OpenAPI", () => {
  it("documents every operation", async () => {
    const doc = await api(url, "GET", "/openapi.json");
    expect(doc.body.openapi).toBe("3.1.0");
    expect(doc.body.paths["/v1/projects/{id}"].get.operationId).toBe("GetProject");
    expect(doc.body.paths["/v1/auth/login"].post.security).toEqual([]);
    expect(doc.body.components.schemas.Project.properties.org).toEqual({ type: "string" });
  });
});
