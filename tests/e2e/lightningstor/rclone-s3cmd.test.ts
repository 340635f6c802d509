/**
 * lightningstor with rclone and s3cmd from Debian, each in its default mode (both list with
 * ListObjects V1): bucket creation, upload, listing, download, copy, delete, multipart.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startS3Stack, type S3Stack, type Tenant } from "../../integration/lightningstor/stack.ts";
import { cleanEnv, ok, run, scratchHome } from "./run.ts";

const hasRclone = existsSync("/usr/bin/rclone");
const hasS3cmd = existsSync("/usr/bin/s3cmd");
if (!hasRclone) console.warn("skipping rclone tests: /usr/bin/rclone is missing (apt-get install rclone)");
if (!hasS3cmd) console.warn("skipping s3cmd tests: /usr/bin/s3cmd is missing (apt-get install s3cmd)");

let stack: S3Stack;
let t: Tenant;
let home: string;

beforeAll(async () => {
  if (!hasRclone && !hasS3cmd) return;
  stack = await startS3Stack();
  t = await stack.tenant("tools");
  home = scratchHome();
});

afterAll(async () => {
  if (home) rmSync(home, { recursive: true, force: true });
  await stack?.stop();
});

describe.skipIf(!hasRclone)("rclone", () => {
  // rclone fails with LoadCustomCABundleError when AWS_CA_BUNDLE is set: cleanEnv never sets it.
  const env = () =>
    cleanEnv(home, {
      RCLONE_CONFIG_LS_TYPE: "s3",
      RCLONE_CONFIG_LS_PROVIDER: "Other",
      RCLONE_CONFIG_LS_ACCESS_KEY_ID: t.accessKeyId,
      RCLONE_CONFIG_LS_SECRET_ACCESS_KEY: t.secretAccessKey,
      RCLONE_CONFIG_LS_ENDPOINT: stack.url,
      RCLONE_CONFIG_LS_REGION: "us-east-1",
    });
  const rclone = (...args: string[]) => ok(["/usr/bin/rclone", "--config", "/dev/null", ...args], env());

  it("makes a bucket, copies a tree up and back, lists, checks and deletes", async () => {
    const src = join(home, "rsrc");
    mkdirSync(join(src, "deep", "er"), { recursive: true });
    writeFileSync(join(src, "a.txt"), "alpha\n");
    writeFileSync(join(src, "deep", "er", "b.bin"), Buffer.alloc(300_000, 7));
    await rclone("mkdir", "ls:rclone-bucket");
    expect(await rclone("lsd", "ls:")).toContain("rclone-bucket");
    await rclone("copy", src, "ls:rclone-bucket/tree");
    const listed = await rclone("ls", "ls:rclone-bucket");
    expect(listed).toContain("tree/a.txt");
    expect(listed).toContain("tree/deep/er/b.bin");
    await rclone("check", src, "ls:rclone-bucket/tree");
    const back = join(home, "rback");
    await rclone("copy", "ls:rclone-bucket/tree", back);
    expect(readFileSync(join(back, "deep", "er", "b.bin")).equals(Buffer.alloc(300_000, 7))).toBe(true);
    expect(await rclone("cat", "ls:rclone-bucket/tree/a.txt")).toBe("alpha\n");
    await rclone("copyto", "ls:rclone-bucket/tree/a.txt", "ls:rclone-bucket/server-side-copy.txt");
    expect(await rclone("cat", "ls:rclone-bucket/server-side-copy.txt")).toBe("alpha\n");
    await rclone("delete", "ls:rclone-bucket/tree/deep");
    expect(await rclone("ls", "ls:rclone-bucket")).not.toContain("b.bin");
  });

  it("uploads in multiple parts when told to", async () => {
    const f = join(home, "rbig.bin");
    const data = Buffer.alloc(6 * 1024 * 1024 + 17, 3);
    writeFileSync(f, data);
    await rclone("--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M", "copyto", f, "ls:rclone-bucket/big.bin");
    const back = join(home, "rbig.back");
    await rclone("copyto", "ls:rclone-bucket/big.bin", back);
    expect(readFileSync(back).equals(data)).toBe(true);
  });
});

describe.skipIf(!hasS3cmd)("s3cmd", () => {
  const cfg = () => {
    const file = join(home, "s3cfg");
    const host = stack.url.replace(/^http:\/\//, "");
    writeFileSync(file, `[default]\naccess_key = ${t.accessKeyId}\nsecret_key = ${t.secretAccessKey}\nhost_base = ${host}\nhost_bucket = ${host}\nuse_https = False\nbucket_location = us-east-1\n`);
    return file;
  };
  const s3cmd = (...args: string[]) => ok(["/usr/bin/s3cmd", "-c", cfg(), ...args], cleanEnv(home));

  it("makes a bucket, puts, lists, gets, copies and deletes", async () => {
    await s3cmd("mb", "s3://s3cmd-bucket");
    expect(await s3cmd("ls")).toContain("s3://s3cmd-bucket");
    const f = join(home, "s3cmd.txt");
    writeFileSync(f, "from s3cmd\n");
    await s3cmd("put", f, "s3://s3cmd-bucket/dir/file.txt");
    expect(await s3cmd("ls", "s3://s3cmd-bucket/")).toContain("DIR");
    expect(await s3cmd("ls", "--recursive", "s3://s3cmd-bucket/")).toContain("s3://s3cmd-bucket/dir/file.txt");
    const back = join(home, "s3cmd.back");
    await s3cmd("get", "--force", "s3://s3cmd-bucket/dir/file.txt", back);
    expect(readFileSync(back, "utf8")).toBe("from s3cmd\n");
    await s3cmd("cp", "s3://s3cmd-bucket/dir/file.txt", "s3://s3cmd-bucket/copy.txt");
    expect(await s3cmd("info", "s3://s3cmd-bucket/copy.txt")).toContain("MD5 sum");
    await s3cmd("del", "s3://s3cmd-bucket/dir/file.txt", "s3://s3cmd-bucket/copy.txt");
    expect((await s3cmd("ls", "--recursive", "s3://s3cmd-bucket/")).trim()).toBe("");
    await s3cmd("rb", "s3://s3cmd-bucket");
  });

  it("uploads a multipart object (s3cmd splits at 15 MiB by default; 5 MiB here)", async () => {
    await s3cmd("mb", "s3://s3cmd-mp");
    const f = join(home, "s3cmd-big.bin");
    const data = Buffer.alloc(6 * 1024 * 1024 + 5, 9);
    writeFileSync(f, data);
    await s3cmd("put", "--multipart-chunk-size-mb=5", f, "s3://s3cmd-mp/big.bin");
    const back = join(home, "s3cmd-big.back");
    await s3cmd("get", "--force", "s3://s3cmd-mp/big.bin", back);
    expect(readFileSync(back).equals(data)).toBe(true);
    const r = await run(["/usr/bin/s3cmd", "-c", cfg(), "rb", "s3://s3cmd-mp"], cleanEnv(home));
    expect(r.code).not.toBe(0);
    expect(r.stderr + r.stdout).toContain("BucketNotEmpty");
  });
});
