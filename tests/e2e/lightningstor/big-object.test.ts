/**
 * A 5 GiB object through multipart with the aws cli (/usr/bin/aws, its defaults: 8 MiB parts, 10
 * threads): `aws s3 cp - s3://...` uploads from stdin, `aws s3 cp s3://... -` downloads to
 * stdout. The source is generated on the fly (deterministic, each MiB stamped with its index so a
 * misplaced part shows) and hashed as it streams; nothing is written to disk but the object.
 * Skipped when the data directory's file system has under 12 GiB free (the parts, then the
 * joined copy, ADR 0018). Takes a minute or two on the 2-core development machine.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { existsSync, rmSync, statfsSync } from "node:fs";
import { tmpdir } from "node:os";
import { startS3Stack, type S3Stack, type Tenant } from "../../integration/lightningstor/stack.ts";
import { cleanEnv, ok, scratchHome } from "./run.ts";

const AWS = "/usr/bin/aws";
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const SIZE = 5 * GiB;
const PART = 8 * MiB; // the aws cli's default multipart_chunksize
const NEEDED = 12 * GiB;
const free = (() => {
  const s = statfsSync(tmpdir());
  return s.bavail * s.bsize;
})();
const skip = !existsSync(AWS) ? "/usr/bin/aws is missing (apt-get install awscli)" : free < NEEDED ? `only ${(free / GiB).toFixed(1)} GiB free under ${tmpdir()} (12 GiB needed)` : "";
if (skip) console.warn(`skipping the 5 GiB object test: ${skip}`);

let stack: S3Stack;
let tenant: Tenant;
let home: string;
const envOf = (t: Tenant) => cleanEnv(home, { AWS_ACCESS_KEY_ID: t.accessKeyId, AWS_SECRET_ACCESS_KEY: t.secretAccessKey, AWS_DEFAULT_REGION: "us-east-1", AWS_EC2_METADATA_DISABLED: "true", AWS_PAGER: "" });

/** `size` deterministic bytes, 1 MiB at a time, hashed into `md5` as they are handed out. */
function source(size: number, md5: Bun.CryptoHasher): ReadableStream<Uint8Array> {
  const base = new Uint8Array(MiB);
  let x = 0x9e3779b9;
  for (let i = 0; i < MiB; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    new DataView(base.buffer).setUint32(i, x >>> 0);
  }
  let sent = 0;
  return new ReadableStream<Uint8Array>(
    {
      pull(c) {
        if (sent >= size) return c.close();
        const block = base.slice(0, Math.min(MiB, size - sent));
        new DataView(block.buffer).setFloat64(0, sent / MiB); // which MiB this is
        md5.update(block);
        sent += block.length;
        c.enqueue(block);
      },
    },
    { highWaterMark: 0 },
  );
}

/** Runs the aws cli with `stdin`, returning its stdout's size and MD5 (streamed, not kept). */
async function awsStream(args: string[], stdin: ReadableStream<Uint8Array> | "ignore"): Promise<{ size: number; md5: string }> {
  const p = Bun.spawn([AWS, "--endpoint-url", stack.url, ...args], { env: envOf(tenant), stdin, stdout: "pipe", stderr: "pipe" });
  const md5 = new Bun.CryptoHasher("md5");
  let size = 0;
  const [, err] = await Promise.all([
    (async () => {
      for await (const c of p.stdout) {
        md5.update(c);
        size += c.length;
      }
    })(),
    new Response(p.stderr).text(),
  ]);
  const code = await p.exited;
  if (code !== 0) throw new Error(`aws ${args.join(" ")} exited ${code}: ${err}`);
  return { size, md5: md5.digest("hex") };
}

beforeAll(async () => {
  if (skip) return;
  stack = await startS3Stack({ minPartSize: 5 * MiB });
  tenant = await stack.tenant("big");
  home = scratchHome();
  await ok([AWS, "--endpoint-url", stack.url, "s3", "mb", "s3://big"], envOf(tenant));
});

afterAll(async () => {
  await stack?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});

describe.skipIf(!!skip)("a 5 GiB object", () => {
  it(
    "goes up and comes back through multipart intact, with a multipart ETag",
    async () => {
      const t0 = performance.now();
      const sent = new Bun.CryptoHasher("md5");
      await awsStream(["s3", "cp", "-", "s3://big/five.bin"], source(SIZE, sent));
      const sentMd5 = sent.digest("hex");
      const t1 = performance.now();
      const head = JSON.parse(await ok([AWS, "--endpoint-url", stack.url, "s3api", "head-object", "--bucket", "big", "--key", "five.bin"], envOf(tenant)));
      expect(head.ContentLength).toBe(SIZE);
      expect(head.ETag).toBe(`"${head.ETag.slice(1, 33)}-${SIZE / PART}"`);
      expect(head.ETag).toMatch(/^"[0-9a-f]{32}-640"$/);
      const back = await awsStream(["s3", "cp", "s3://big/five.bin", "-"], "ignore");
      const t2 = performance.now();
      expect(back.size).toBe(SIZE);
      expect(back.md5).toBe(sentMd5);
      await ok([AWS, "--endpoint-url", stack.url, "s3", "rm", "s3://big/five.bin"], envOf(tenant));
      await stack.s3.service.joinsSettled();
      console.log(`5 GiB: up ${((t1 - t0) / 1000).toFixed(1)} s (${(SIZE / MiB / ((t1 - t0) / 1000)).toFixed(0)} MiB/s), down ${((t2 - t1) / 1000).toFixed(1)} s (${(SIZE / MiB / ((t2 - t1) / 1000)).toFixed(0)} MiB/s)`);
    },
    15 * 60_000,
  );
});
