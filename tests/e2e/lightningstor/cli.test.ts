/** `photon bucket create|list|delete` against a running lightningstor, with a saved login. */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { startS3Stack, type S3Stack } from "../../integration/lightningstor/stack.ts";
import { run, scratchHome } from "./run.ts";

const PHOTON = join(import.meta.dir, "..", "..", "..", "cli", "photon.ts");
let stack: S3Stack;
let env: Record<string, string>;
let project: string;
let home = "";

const photon = (...args: string[]) => run([process.execPath, PHOTON, ...args], env);

beforeAll(async () => {
  stack = await startS3Stack();
  home = scratchHome();
  env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, XDG_CONFIG_HOME: join(home, "config"), PHOTON_LOG_LEVEL: "error" };
  const creds = join(stack.work, "iam", "admin-credentials.json");
  project = (await Bun.file(creds).json()).defaultProject;
  const login = await photon("login", "--credentials-file", creds);
  expect(login.code).toBe(0);
});

afterAll(async () => {
  await stack?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});

describe("photon bucket", () => {
  it("creates, lists and deletes buckets with the saved login", async () => {
    const c = await photon("bucket", "create", "cli-bucket", "--project", project, "--s3-url", stack.url, "-o", "json");
    expect(c.code).toBe(0);
    expect(JSON.parse(c.stdout)).toEqual({ name: "cli-bucket", project });
    const l = await photon("bucket", "list", "--s3-url", stack.url, "-o", "json");
    expect(JSON.parse(l.stdout).items.map((b: { name: string }) => b.name)).toEqual(["cli-bucket"]);
    const again = await photon("bucket", "create", "cli-bucket", "--project", project, "--s3-url", stack.url);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("[S3:BucketAlreadyOwnedByYou]");
    const d = await photon("bucket", "delete", "cli-bucket", "--s3-url", stack.url);
    expect(d.code).toBe(0);
    expect(JSON.parse((await photon("bucket", "list", "--s3-url", stack.url, "-o", "json")).stdout).items).toEqual([]);
  });

  it("makes an access key acting in a project, which the aws cli then uses", async () => {
    const k = await photon("accesskey", "create", "--project", "default", "-o", "json");
    expect(k.code).toBe(0);
    const key = JSON.parse(k.stdout);
    expect(key.accessKey.project).toBe(project);
    const env2 = { PATH: "/usr/bin:/bin", HOME: env.HOME!, AWS_ACCESS_KEY_ID: key.accessKey.accessKeyId, AWS_SECRET_ACCESS_KEY: key.secretAccessKey, AWS_DEFAULT_REGION: "us-east-1", AWS_EC2_METADATA_DISABLED: "true" };
    const mb = await run(["/usr/bin/aws", "--endpoint-url", stack.url, "s3", "mb", "s3://from-user-key"], env2);
    expect(mb.code).toBe(0);
    expect(JSON.parse((await photon("bucket", "list", "--s3-url", stack.url, "-o", "json")).stdout).items.map((b: { name: string }) => b.name)).toEqual(["from-user-key"]);
  });

  it("explains its usage", async () => {
    const r = await photon("bucket", "create", "--s3-url", stack.url);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("needs a bucket NAME");
  });
});
