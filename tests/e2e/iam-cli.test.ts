/**
 * iam through the `photon` CLI against a running `photon up` (every port 0): the bootstrap file,
 * `photon login --credentials-file`, then `photon project create/list -o json`, a user logging in
 * with `--password-stdin`, and the saved token's file mode.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ephemeralPortsEnv } from "../support/ephemeral-ports.ts";
import { PHOTON as photon, photonRunner } from "../support/photon-cli.ts";

const work = mkdtempSync(join(tmpdir(), "photon-iam-cli-"));
const dataDir = join(work, "data");
const configHome = join(work, "config");
const env = {
  ...process.env,
  ...ephemeralPortsEnv(),
  XDG_CONFIG_HOME: configHome,
  PHOTON_LOG_LEVEL: "warn",
};
let up: ReturnType<typeof Bun.spawn>;
const credentialsFile = join(dataDir, "iam", "admin-credentials.json");

const cli = photonRunner(work, env);

beforeAll(async () => {
  up = Bun.spawn([process.execPath, photon, "up", "--data-dir", dataDir, "--port", "0"], { cwd: work, stdout: "pipe", stderr: "pipe", env });
  const runFile = join(dataDir, "run", "supervisor.json");
  for (let i = 0; i < 400 && !existsSync(runFile); i++) await Bun.sleep(25);
  if (!existsSync(runFile)) throw new Error(`photon up did not start: ${await new Response(up.stderr as ReadableStream).text()}`);
});

afterAll(async () => {
  if (up.exitCode === null) up.kill("SIGTERM");
  await up.exited;
  rmSync(work, { recursive: true, force: true });
});

describe("photon up with iam", () => {
  it("bootstraps the administrator's credentials with mode 0600 and lists iam in status", async () => {
    expect(statSync(credentialsFile).mode & 0o777).toBe(0o600);
    const status = JSON.parse((await cli(["status", "--data-dir", dataDir, "-o", "json"])).stdout);
    const iam = status.components.find((c: { name: string }) => c.name === "iam");
    expect(iam).toMatchObject({ state: "running", health: "ok", endpoints: { http: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/), grpc: expect.stringMatching(/^127\.0\.0\.1:\d+$/) } });
  });

  it("logs in with the bootstrap file, then creates and lists projects as JSON", async () => {
    const login = await cli(["login", "--credentials-file", credentialsFile, "-o", "json"]);
    expect(login.code).toBe(0);
    expect(JSON.parse(login.stdout)).toMatchObject({ user: "admin", principal: expect.stringMatching(/^usr_/) });
    const saved = join(configHome, "photon", "credentials.json");
    expect(statSync(saved).mode & 0o777).toBe(0o600);
    expect(login.stdout + login.stderr).not.toContain(JSON.parse(readFileSync(credentialsFile, "utf8")).password);

    const created = await cli(["project", "create", "web", "-o", "json"]);
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ kind: "project", name: "web", id: expect.stringMatching(/^prj_/) });
    const listed = await cli(["project", "list", "-o", "json"]);
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout).map((p: { name: string }) => p.name).sort()).toEqual(["default", "web"]);
    const text = await cli(["project", "list"]);
    expect(text.stdout).toMatch(/^ID\s+NAME\s+ORG/);
  });

  it("manages orgs, users and bindings, and a user logs in with --password-stdin", async () => {
    expect((await cli(["org", "create", "acme", "-o", "json"])).code).toBe(0);
    const user = await cli(["user", "create", "alice", "--org", "acme", "--password-stdin", "-o", "json"], "alice's long password\n");
    expect(user.code).toBe(0);
    const bind = await cli(["binding", "create", "--principal", JSON.parse(user.stdout).id, "--role", "admin", "--org", "acme", "-o", "json"]);
    expect(bind.code).toBe(0);
    const login = await cli(["login", "--user", "alice", "--org", "acme", "--password-stdin", "--data-dir", dataDir], "alice's long password\n");
    expect(login.code).toBe(0);
    expect((await cli(["project", "create", "shop", "-o", "json"])).code).toBe(0);
    const mine = JSON.parse((await cli(["project", "list", "-o", "json"])).stdout);
    expect(mine.map((p: { name: string }) => p.name)).toEqual(["shop"]);
    const denied = await cli(["org", "create", "evil"]);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain("[IAM:PermissionDenied]");
  });

  it("prints an access key's secret once", async () => {
    const key = await cli(["accesskey", "create", "-o", "json"]);
    expect(key.code).toBe(0);
    const { accessKey, secretAccessKey } = JSON.parse(key.stdout);
    const listed = await cli(["accesskey", "list", "-o", "json"]);
    expect(listed.stdout).toContain(accessKey.accessKeyId);
    expect(listed.stdout).not.toContain(secretAccessKey);
  });

  it("lists every component in iam's service catalog, the ones started after iam included", async () => {
    const status = JSON.parse((await cli(["status", "--data-dir", dataDir, "-o", "json"])).stdout);
    const iamUrl = status.components.find((c: { name: string }) => c.name === "iam").endpoints.http;
    const { password } = JSON.parse(readFileSync(credentialsFile, "utf8"));
    const login = await (await fetch(`${iamUrl}/v1/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ user: "admin", password }) })).json() as { accessToken: string };
    const catalog = await (await fetch(`${iamUrl}/v1/catalog`, { headers: { authorization: `Bearer ${login.accessToken}` } })).json() as { items: { service: string; endpoints: Record<string, string> }[] };
    const started = status.components.map((c: { name: string }) => c.name).filter((n: string) => n !== "supervisor").sort();
    expect([...new Set(catalog.items.map((e) => e.service))].sort()).toEqual(started);
    const novanet = status.components.find((c: { name: string }) => c.name === "novanet");
    expect(catalog.items.find((e) => e.service === "novanet")?.endpoints).toEqual(novanet.endpoints);
  });

  it("refuses a wrong password with exit 1 and a clear code", async () => {
    const r = await cli(["login", "--user", "alice", "--org", "acme", "--password-stdin", "--data-dir", dataDir], "not alice's password\n");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("[IAM:InvalidCredentials]");
  });
});
