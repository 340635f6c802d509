/**
 * lightningstor with the aws cli from Debian (/usr/bin/aws, v2), `s3` and `s3api`, in its
 * default mode: buckets, cp/ls/rm/sync, multipart (the cli splits above 8 MiB), ranges, copies,
 * presigned URLs fetched with curl, and the errors for bad secrets and other tenants.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startS3Stack, type S3Stack, type Tenant } from "../../integration/lightningstor/stack.ts";
import { cleanEnv, ok, run, scratchHome } from "./run.ts";

const AWS = "/usr/bin/aws";
const skip = !existsSync(AWS);
if (skip) console.warn("skipping aws cli tests: /usr/bin/aws is missing (apt-get install awscli)");

let stack: S3Stack;
let a: Tenant;
let b: Tenant;
let home: string;

const envOf = (t: Tenant, secret = t.secretAccessKey) =>
  cleanEnv(home, { AWS_ACCESS_KEY_ID: t.accessKeyId, AWS_SECRET_ACCESS_KEY: secret, AWS_DEFAULT_REGION: "us-east-1", AWS_EC2_METADATA_DISABLED: "true", AWS_PAGER: "" });
const aws = (t: Tenant, ...args: string[]) => ok([AWS, "--endpoint-url", stack.url, ...args], envOf(t));
const awsRaw = (t: Tenant, env: Record<string, string>, ...args: string[]) => run([AWS, "--endpoint-url", stack.url, ...args], env);

beforeAll(async () => {
  if (skip) return;
  stack = await startS3Stack();
  a = await stack.tenant("cli-a");
  b = await stack.tenant("cli-b");
  home = scratchHome();
});

afterAll(async () => {
  if (home) rmSync(home, { recursive: true, force: true });
  await stack?.stop();
});

describe.skipIf(skip)("aws cli", () => {
  it("makes, lists and removes buckets (s3 mb/ls/rb)", async () => {
    await aws(a, "s3", "mb", "s3://cli-bucket");
    expect(await aws(a, "s3", "ls")).toContain("cli-bucket");
    await aws(a, "s3", "mb", "s3://cli-gone");
    await aws(a, "s3", "rb", "s3://cli-gone");
    expect(await aws(a, "s3", "ls")).not.toContain("cli-gone");
  });

  it("copies files up and down, lists and removes them (s3 cp/ls/rm/sync)", async () => {
    const dir = join(home, "files");
    mkdirSync(join(dir, "sub"), { recursive: true });
    writeFileSync(join(dir, "one.txt"), "one\n");
    writeFileSync(join(dir, "sub", "two.txt"), "two\n");
    await aws(a, "s3", "cp", join(dir, "one.txt"), "s3://cli-bucket/one.txt");
    await aws(a, "s3", "sync", dir, "s3://cli-bucket/synced/");
    const ls = await aws(a, "s3", "ls", "--recursive", "s3://cli-bucket/");
    expect(ls).toContain("one.txt");
    expect(ls).toContain("synced/sub/two.txt");
    await aws(a, "s3", "cp", "s3://cli-bucket/synced/sub/two.txt", join(dir, "back.txt"));
    expect(readFileSync(join(dir, "back.txt"), "utf8")).toBe("two\n");
    await aws(a, "s3", "rm", "s3://cli-bucket/one.txt");
    expect(await aws(a, "s3", "ls", "s3://cli-bucket/")).not.toContain("one.txt");
  });

  it("uploads a multipart object above 8 MiB and reads it back intact", async () => {
    const big = Buffer.alloc(9 * 1024 * 1024 + 123);
    for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE(i, i);
    const src = join(home, "big.bin");
    writeFileSync(src, big);
    await aws(a, "s3", "cp", src, "s3://cli-bucket/big.bin");
    const head = JSON.parse(await aws(a, "s3api", "head-object", "--bucket", "cli-bucket", "--key", "big.bin"));
    expect(head.ContentLength).toBe(big.length);
    expect(head.ETag).toMatch(/^"[0-9a-f]{32}-2"$/);
    await aws(a, "s3", "cp", "s3://cli-bucket/big.bin", join(home, "big.back"));
    expect(readFileSync(join(home, "big.back")).equals(big)).toBe(true);
  });

  it("s3api: put-object with metadata, ranged get, copy-object, list-objects (v1 and v2)", async () => {
    const f = join(home, "meta.txt");
    writeFileSync(f, "0123456789");
    await aws(a, "s3api", "put-object", "--bucket", "cli-bucket", "--key", "meta.txt", "--body", f, "--metadata", "k=v", "--content-type", "text/plain");
    const out = join(home, "range.txt");
    const got = JSON.parse(await aws(a, "s3api", "get-object", "--bucket", "cli-bucket", "--key", "meta.txt", "--range", "bytes=3-5", out));
    expect(got.ContentRange).toBe("bytes 3-5/10");
    expect(got.Metadata).toEqual({ k: "v" });
    expect(readFileSync(out, "utf8")).toBe("345");
    await aws(a, "s3api", "copy-object", "--bucket", "cli-bucket", "--key", "meta-copy.txt", "--copy-source", "cli-bucket/meta.txt");
    const v2 = JSON.parse(await aws(a, "s3api", "list-objects-v2", "--bucket", "cli-bucket", "--prefix", "meta"));
    expect(v2.Contents.map((o: { Key: string }) => o.Key)).toEqual(["meta-copy.txt", "meta.txt"]);
    const v1 = JSON.parse(await aws(a, "s3api", "list-objects", "--bucket", "cli-bucket", "--delimiter", "/"));
    expect(v1.CommonPrefixes.map((p: { Prefix: string }) => p.Prefix)).toEqual(["synced/"]);
  });

  it("presigns a URL that curl can fetch, and refuses it once tampered", async () => {
    const url = (await aws(a, "s3", "presign", "s3://cli-bucket/meta.txt", "--expires-in", "300")).trim();
    const r = await fetch(url);
    expect(r.status).toBe(200);
    expect(await r.text()).toBe("0123456789");
    const curl = await ok(["curl", "-sS", url], cleanEnv(home));
    expect(curl).toBe("0123456789");
    const bad = await fetch(url.replace("meta.txt", "meta-copy.txt"));
    expect(bad.status).toBe(403);
    expect(await bad.text()).toContain("<Code>SignatureDoesNotMatch</Code>");
  });

  it("refuses a wrong secret, an unknown key and another tenant", async () => {
    const wrong = await awsRaw(a, envOf(a, "not-the-secret"), "s3", "ls");
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain("SignatureDoesNotMatch");
    const unknown = await awsRaw(a, { ...envOf(a), AWS_ACCESS_KEY_ID: "PKAAAAAAAAAAAAAAAAAA" }, "s3", "ls");
    expect(unknown.stderr).toContain("InvalidAccessKeyId");
    const other = await awsRaw(b, envOf(b), "s3", "ls", "s3://cli-bucket/");
    expect(other.code).not.toBe(0);
    expect(other.stderr).toContain("AccessDenied");
  });
});
