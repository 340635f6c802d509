/**
 * iam's S3Credentials operation (ADR 0012): lightningstor's service secret gets the day-scoped
 * signing key of an access key (never the secret), its owner and a scoped token; nobody else
 * may ask, not even a tenant's administrator or the system administrator; and the service
 * identity adds nothing to anyone's listings.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { statSync } from "node:fs";
import { join } from "node:path";
import { IamClient } from "../../../services/iam/client.ts";
import { readServiceIdentity } from "../../../services/lightningstor/credentials.ts";
import { signingKeyOf } from "../../../services/lightningstor/sigv4.ts";
import { api } from "../../support/iam.ts";
import { startS3Stack, type S3Stack, type Tenant } from "./stack.ts";

let stack: S3Stack;
let t: Tenant;
let service: IamClient;

beforeAll(async () => {
  stack = await startS3Stack();
  t = await stack.tenant("keys");
  const file = join(stack.work, "iam", "services", "lightningstor.json");
  expect(statSync(file).mode & 0o777).toBe(0o600);
  service = new IamClient(stack.iamUrl, readServiceIdentity(file).secret);
});

afterAll(async () => {
  await stack?.stop();
});

describe("S3Credentials", () => {
  it("gives lightningstor the signing key, owner, project and a token of the owner", async () => {
    const a = await service.s3Credentials({ accessKeyId: t.accessKeyId, date: "20260101", region: "us-east-1", service: "s3" });
    expect(a.signingKey).toBe(signingKeyOf(t.secretAccessKey, "20260101", "us-east-1", "s3").toString("hex"));
    expect(a).toMatchObject({ principal: t.serviceAccount, kind: "serviceaccount", org: t.org, project: t.project });
    expect(JSON.stringify(a)).not.toContain(t.secretAccessKey);
    const who = await new IamClient(stack.iamUrl, a.accessToken).request<{ principal: string; project: string }>("GET", "/v1/auth/whoami");
    expect(who).toMatchObject({ principal: t.serviceAccount, project: t.project });
  });

  it("refuses other callers, even the administrator of the key's organisation", async () => {
    const tenantAdmin = await api(stack.iamUrl, "POST", "/v1/users", { token: stack.admin, body: { org: t.org, name: "boss", password: "correct horse battery" } });
    await api(stack.iamUrl, "POST", "/v1/bindings", { token: stack.admin, body: { principal: tenantAdmin.body.id, role: "admin", scope: { kind: "org", id: t.org } } });
    const login = await api(stack.iamUrl, "POST", "/v1/auth/login", { body: { user: "boss", org: t.org, password: "correct horse battery" } });
    expect(login.status).toBe(200);
    const r = await api(stack.iamUrl, "POST", "/v1/s3/credentials", { token: login.body.accessToken, body: { accessKeyId: t.accessKeyId, date: "20260101", region: "us-east-1", service: "s3" } });
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe("IAM:PermissionDenied");
    const sys = await api(stack.iamUrl, "POST", "/v1/s3/credentials", { token: stack.admin, body: { accessKeyId: t.accessKeyId, date: "20260101", region: "us-east-1", service: "s3" } });
    expect(sys.body.error.code).toBe("IAM:PermissionDenied");
    const forged = await api(stack.iamUrl, "POST", "/v1/s3/credentials", { token: `pcs_lightningstor_${"A".repeat(43)}`, body: { accessKeyId: t.accessKeyId, date: "20260101", region: "us-east-1", service: "s3" } });
    expect(forged.body.error.code).toBe("IAM:PermissionDenied");
  });

  it("shows no trace of the service identity in the organisations an administrator lists", async () => {
    const orgs = await api(stack.iamUrl, "GET", "/v1/orgs", { token: stack.admin });
    expect(orgs.body.items.map((o: { name: string }) => o.name).sort()).toEqual(["default", "keys"]);
  });

  it("answers unknown and disabled keys with IAM:InvalidCredentials", async () => {
    await expect(service.s3Credentials({ accessKeyId: "PKAAAAAAAAAAAAAAAAAA", date: "20260101", region: "us-east-1", service: "s3" })).rejects.toMatchObject({ code: "IAM:InvalidCredentials" });
    await api(stack.iamUrl, "PATCH", `/v1/accesskeys/${t.accessKeyId}`, { token: stack.admin, body: { disabled: true } });
    await expect(service.s3Credentials({ accessKeyId: t.accessKeyId, date: "20260101", region: "us-east-1", service: "s3" })).rejects.toMatchObject({ code: "IAM:InvalidCredentials" });
  });

  it("files a user's access key under the project it names, in the user's organisation only", async () => {
    const other = await stack.tenant("keys-other");
    const user = await api(stack.iamUrl, "POST", "/v1/users", { token: stack.admin, body: { org: t.org, name: "kate" } });
    const ok = await api(stack.iamUrl, "POST", "/v1/accesskeys", { token: stack.admin, body: { principal: user.body.id, project: t.project } });
    expect(ok.body.accessKey.project).toBe(t.project);
    const bad = await api(stack.iamUrl, "POST", "/v1/accesskeys", { token: stack.admin, body: { principal: user.body.id, project: other.project } });
    expect(bad.body.error.code).toBe("IAM:NotFound");
  });
});
