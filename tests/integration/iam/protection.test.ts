/**
 * Login protection and the audit log: brute force locks an account on every replica (even the
 * right password is refused while locked), a flood from one source is rate-limited, and the
 * hash-chained audit log records authentications, decisions and changes, answers queries, and
 * detects a modified or removed record.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EtcdClient } from "../../../lib/etcd/index.ts";
import type { ChainfireServer } from "../../../services/chainfire/server.ts";
import type { IamServer } from "../../../services/iam/server.ts";
import { auditKey } from "../../../services/iam/store-etcd.ts";
import { startTestChainfire } from "../../support/chainfire.ts";
import { adminCredentials, api, loginToken, startTestIam } from "../../support/iam.ts";

const work = mkdtempSync(join(tmpdir(), "iam-protection-"));
const kekFile = join(work, "kek");
let chainfire: ChainfireServer;
let a: IamServer;
let b: IamServer;
let etcd: EtcdClient;
let admin: string;
let orgId: string;

beforeAll(async () => {
  chainfire = await startTestChainfire(join(work, "chainfire"));
  a = await startTestIam(chainfire.endpoint, join(work, "a"), { kekFile, limiter: { maxFailures: 3, lockoutMs: 60_000, perSourcePerMinute: 1000 } });
  b = await startTestIam(chainfire.endpoint, join(work, "b"), { kekFile, limiter: { maxFailures: 3, lockoutMs: 60_000, perSourcePerMinute: 30 } });
  etcd = new EtcdClient({ endpoints: [chainfire.endpoint] });
  admin = await loginToken(a.http.url, "admin", adminCredentials(a).password);
  orgId = (await api(a.http.url, "POST", "/v1/orgs", { token: admin, body: { name: "acme" } })).body.id;
  await api(a.http.url, "POST", "/v1/users", { token: admin, body: { org: orgId, name: "carol", password: "carol's right password" } });
});

afterAll(async () => {
  etcd?.close();
  await a?.stop();
  await b?.stop();
  await chainfire?.stop();
  rmSync(work, { recursive: true, force: true });
});

const login = (server: IamServer, password: string, user = "carol") => api(server.http.url, "POST", "/v1/auth/login", { body: { user, org: "acme", password } });

describe("brute force", () => {
  it("locks an account after repeated failures, on every replica, even for the right password", async () => {
    for (let i = 0; i < 3; i++) expect((await login(a, `guess number ${i} wrong`)).body.error.code).toBe("IAM:InvalidCredentials");
    const locked = await login(a, "carol's right password");
    expect(locked.status).toBe(429);
    expect(locked.body.error.code).toBe("IAM:TooManyAttempts");
    expect(locked.body.error.details.retryAfterSeconds).toBeGreaterThan(0);
    expect((await login(b, "carol's right password")).body.error.code).toBe("IAM:TooManyAttempts");
  });

  it("locks names that do not exist the same way (nothing tells which names exist)", async () => {
    for (let i = 0; i < 3; i++) expect((await login(a, "whatever password", "ghost")).body.error.code).toBe("IAM:InvalidCredentials");
    expect((await login(a, "whatever password", "ghost")).body.error.code).toBe("IAM:TooManyAttempts");
  });

  it("rate-limits one source address", async () => {
    const codes: string[] = [];
    for (let i = 0; i < 40; i++) codes.push((await login(b, "x".repeat(12), `flood${i}`)).body.error.code);
    expect(codes).toContain("IAM:TooManyAttempts");
    expect(codes.indexOf("IAM:TooManyAttempts")).toBeGreaterThan(20);
  });
});

describe("audit log", () => {
  it("records authentications, decisions on mutating calls and changes, with who, what, scope, result and source", async () => {
    const denied = await api(a.http.url, "POST", "/v1/orgs", { token: "not-a-token" });
    expect(denied.status).toBe(401);
    const records = (await api(a.http.url, "GET", "/v1/audit", { token: admin })).body.items;
    const actions = records.map((r: { action: string; result: string }) => `${r.action} ${r.result}`);
    expect(actions).toContain("iam:token:create success"); // login
    expect(actions).toContain("iam:token:create failure"); // failed login
    expect(actions).toContain("iam:org:create allowed"); // the decision
    expect(actions).toContain("iam:org:create success"); // the change
    const created = records.find((r: { action: string; result: string; scope?: { org?: string } }) => r.action === "iam:user:create" && r.result === "success" && r.scope?.org === orgId);
    expect(created).toMatchObject({ principal: expect.stringMatching(/^usr_/), source: "127.0.0.1", prev: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(JSON.stringify(records)).not.toContain("right password");
  });

  it("bounds the records of failed token checks, so a flood of bad tokens cannot fill the log", async () => {
    const since = Date.now();
    await Promise.all(Array.from({ length: 60 }, () => api(a.http.url, "GET", "/v1/orgs", { token: "garbage.token.here" })));
    const records = (await api(a.http.url, "GET", `/v1/audit?from=${since}`, { token: admin })).body.items as { action: string; result: string }[];
    const failures = records.filter((r) => r.action === "iam:token:verify" && r.result === "failure");
    expect(failures.length).toBeGreaterThan(0);
    expect(failures.length).toBeLessThanOrEqual(20);
  });

  it("answers queries by principal and time", async () => {
    const me = (await api(a.http.url, "GET", "/v1/auth/whoami", { token: admin })).body.principal;
    const since = Date.now();
    await api(b.http.url, "POST", "/v1/projects", { token: admin, body: { org: orgId, name: "audited" } });
    const mine = (await api(a.http.url, "GET", `/v1/audit?principal=${me}&from=${since}`, { token: admin })).body.items;
    expect(mine.map((r: { action: string; result: string }) => `${r.action} ${r.result}`)).toEqual(["iam:project:create allowed", "iam:project:create success"]);
    const org = (await api(a.http.url, "GET", `/v1/audit?org=${orgId}&limit=2`, { token: admin })).body.items;
    expect(org).toHaveLength(2);
  });

  it("chains appends from two replicas into one verifiable log", async () => {
    await Promise.all(Array.from({ length: 10 }, (_, i) => api(i % 2 ? a.http.url : b.http.url, "POST", "/v1/projects", { token: admin, body: { org: orgId, name: `chain${i}` } })));
    const v = await api(b.http.url, "GET", "/v1/audit/verify", { token: admin });
    expect(v.body).toMatchObject({ ok: true, problems: [] });
    expect(v.body.records).toBeGreaterThan(30);
  });

  it("detects a modified record", async () => {
    const kv = await etcd.get(auditKey(5));
    const original = kv!.valueString;
    await etcd.put(auditKey(5), JSON.stringify({ ...JSON.parse(original), result: "success", principal: "usr_someone_else" }));
    const v = (await api(a.http.url, "GET", "/v1/audit/verify", { token: admin })).body;
    expect(v.ok).toBe(false);
    expect(v.problems).toContainEqual({ seq: 5, problem: expect.stringContaining("modified") });
    await etcd.put(auditKey(5), original);
    expect((await api(a.http.url, "GET", "/v1/audit/verify", { token: admin })).body.ok).toBe(true);
  });

  it("detects a removed record, in the middle or at the end", async () => {
    await etcd.delete(auditKey(7));
    const v = (await api(a.http.url, "GET", "/v1/audit/verify", { token: admin })).body;
    expect(v.ok).toBe(false);
    expect(v.problems[0]).toEqual({ seq: 7, problem: "records 7..7 are missing" });
    const head = JSON.parse((await etcd.get("/photon/iam/audit/head"))!.valueString);
    await etcd.delete(auditKey(head.seq));
    const end = (await api(a.http.url, "GET", "/v1/audit/verify", { token: admin })).body;
    expect(end.problems.some((p: { problem: string }) => p.problem.includes("removed from the end"))).toBe(true);
  });

  it("is readable only by those allowed to", async () => {
    await api(a.http.url, "POST", "/v1/users", { token: admin, body: { org: orgId, name: "dave", password: "dave's long password" } });
    const dave = await loginToken(a.http.url, "dave", "dave's long password", { org: "acme" });
    expect((await api(a.http.url, "GET", "/v1/audit", { token: dave })).body.error.code).toBe("IAM:PermissionDenied");
    expect((await api(a.http.url, "GET", "/v1/audit/verify", { token: dave })).body.error.code).toBe("IAM:PermissionDenied");
  });
});
