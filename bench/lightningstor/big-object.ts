/**
 * One large object through lightningstor with the aws cli (multipart, its defaults: 8 MiB parts,
 * 10 threads), beside what the disk gives a plain sequential writer and reader (dd with
 * fdatasync) in the same run. Proves the large multipart path and reports throughput; not run in
 * CI (`npm run bench` does not include it either: it needs GiBs of disk and minutes).
 *
 *   bun bench/lightningstor/big-object.ts [GiB=1]
 */
import { createHash } from "node:crypto";
import { closeSync, openSync, readSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { startS3Stack } from "../../tests/integration/lightningstor/stack.ts";

const gib = Number(process.argv[2] ?? "1");
const size = Math.round(gib * 1024 ** 3);
const stack = await startS3Stack({ minPartSize: 5 * 1024 * 1024 });
const t = await stack.tenant("bench");
const src = join(stack.work, "src.bin");
const back = join(stack.work, "back.bin");

const sh = async (cmd: string[], env: Record<string, string> = {}) => {
  const p = Bun.spawn(cmd, { env: { PATH: "/usr/bin:/bin", HOME: stack.work, ...env }, stdout: "pipe", stderr: "pipe" });
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
  if ((await p.exited) !== 0) throw new Error(`${cmd.join(" ")}: ${out}\n${err}`);
  return out + err;
};
const timed = async (what: string, fn: () => Promise<unknown>) => {
  const t0 = performance.now();
  await fn();
  const s = (performance.now() - t0) / 1000;
  const mbs = size / 1024 ** 2 / s;
  console.log(`${what.padEnd(34)} ${s.toFixed(1).padStart(6)} s  ${mbs.toFixed(0).padStart(5)} MiB/s`);
  return mbs;
};
const md5File = (path: string) => {
  const h = createHash("md5");
  const fd = openSync(path, "r");
  const buf = Buffer.alloc(8 * 1024 * 1024);
  for (let n; (n = readSync(fd, buf)) > 0; ) h.update(buf.subarray(0, n));
  closeSync(fd);
  return h.digest("hex");
};

const count = Math.round(size / (1024 * 1024));
console.log(`object: ${gib} GiB; data dir ${stack.work}`);
await sh(["dd", "if=/dev/urandom", `of=${src}`, "bs=1M", `count=${count}`, "status=none"]);
const copy = join(stack.work, "copy.bin");
const diskWrite = await timed("disk: dd write + fdatasync", () => sh(["dd", `if=${src}`, `of=${copy}`, "bs=1M", "conv=fdatasync", "status=none"]));
const diskRead = await timed("disk: dd read (page cache as it is)", () => sh(["dd", `if=${copy}`, "of=/dev/null", "bs=1M", "status=none"]));
rmSync(copy, { force: true });
const env = { AWS_ACCESS_KEY_ID: t.accessKeyId, AWS_SECRET_ACCESS_KEY: t.secretAccessKey, AWS_DEFAULT_REGION: "us-east-1", AWS_EC2_METADATA_DISABLED: "true" };
await sh(["/usr/bin/aws", "--endpoint-url", stack.url, "s3", "mb", "s3://bench"], env);
const put = await timed("aws s3 cp up (multipart)", () => sh(["/usr/bin/aws", "--endpoint-url", stack.url, "s3", "cp", src, "s3://bench/big.bin"], env));
const get = await timed("aws s3 cp down", () => sh(["/usr/bin/aws", "--endpoint-url", stack.url, "s3", "cp", "s3://bench/big.bin", back], env));
const same = statSync(back).size === size && md5File(back) === md5File(src);
console.log(`intact: ${same}; PUT ${((100 * put) / diskWrite).toFixed(0)}% of the disk's write, GET ${((100 * get) / diskRead).toFixed(0)}% of its read`);
rmSync(src, { force: true });
rmSync(back, { force: true });
await stack.stop();
process.exit(same ? 0 : 1);
