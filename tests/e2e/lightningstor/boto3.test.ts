/**
 * lightningstor with boto3 from Debian (/usr/bin/python3): checksummed puts (SHA256, CRC32),
 * managed multipart uploads, ranged and conditional gets, copies, paginated V2 listings,
 * DeleteObjects, presigned PUT and GET (virtual-hosted-style too, through curl), and errors.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { existsSync, rmSync } from "node:fs";
import { startS3Stack, type S3Stack, type Tenant } from "../../integration/lightningstor/stack.ts";
import { cleanEnv, ok, run, scratchHome } from "./run.ts";

const PY = "/usr/bin/python3";
const hasBoto3 = existsSync(PY) && (await run([PY, "-c", "import boto3"], { PATH: "/usr/bin:/bin" })).code === 0;
if (!hasBoto3) console.warn("skipping boto3 tests: python3-boto3 is missing (apt-get install python3-boto3)");

let stack: S3Stack;
let t: Tenant;
let home: string;

beforeAll(async () => {
  if (!hasBoto3) return;
  stack = await startS3Stack({ domain: "s3.test" });
  t = await stack.tenant("boto");
  home = scratchHome();
});

afterAll(async () => {
  if (home) rmSync(home, { recursive: true, force: true });
  await stack?.stop();
});

const PRELUDE = `
import boto3, botocore, json, os, sys, hashlib
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
def client(style="path"):
    return boto3.client("s3", endpoint_url=os.environ["S3_URL"], region_name="us-east-1",
        aws_access_key_id=os.environ["KEY"], aws_secret_access_key=os.environ["SECRET"],
        config=Config(s3={"addressing_style": style}, retries={"max_attempts": 1}, signature_version="s3v4"))  # boto3 1.26 presigns with SigV2 unless told
s3 = client()
def code(fn):
    try:
        fn()
        return "ok"
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"]
out = {}
`;

async function py(script: string): Promise<any> {
  const stdout = await ok([PY, "-c", `${PRELUDE}\n${script}\nprint(json.dumps(out))`], cleanEnv(home, { S3_URL: stack.url, KEY: t.accessKeyId, SECRET: t.secretAccessKey }));
  return JSON.parse(stdout.trim().split("\n").pop()!);
}

describe.skipIf(!hasBoto3)("boto3", () => {
  it("puts with checksums, gets ranges and conditions, copies, lists and deletes", async () => {
    const r = await py(`
s3.create_bucket(Bucket="boto-bucket")
p = s3.put_object(Bucket="boto-bucket", Key="a.txt", Body=b"hello boto3", ChecksumAlgorithm="SHA256", Metadata={"who": "boto"})
out["sha"] = p.get("ChecksumSHA256")
out["etag"] = p["ETag"]
p2 = s3.put_object(Bucket="boto-bucket", Key="b.txt", Body=b"second", ChecksumAlgorithm="CRC32")
out["crc"] = p2.get("ChecksumCRC32")
g = s3.get_object(Bucket="boto-bucket", Key="a.txt", Range="bytes=6-")
out["range"] = g["Body"].read().decode()
out["meta"] = s3.head_object(Bucket="boto-bucket", Key="a.txt")["Metadata"]
out["ifnone"] = code(lambda: s3.get_object(Bucket="boto-bucket", Key="a.txt", IfNoneMatch=p["ETag"]))
out["ifmatch"] = code(lambda: s3.get_object(Bucket="boto-bucket", Key="a.txt", IfMatch='"x"'))
s3.copy_object(Bucket="boto-bucket", Key="c.txt", CopySource={"Bucket": "boto-bucket", "Key": "a.txt"})
for i in range(5): s3.put_object(Bucket="boto-bucket", Key=f"many/{i}", Body=b"x")
keys = []
for page in s3.get_paginator("list_objects_v2").paginate(Bucket="boto-bucket", PaginationConfig={"PageSize": 2}):
    keys += [o["Key"] for o in page.get("Contents", [])]
out["keys"] = keys
d = s3.delete_objects(Bucket="boto-bucket", Delete={"Objects": [{"Key": f"many/{i}"} for i in range(5)]})
out["deleted"] = sorted(x["Key"] for x in d["Deleted"])
out["missing"] = code(lambda: s3.get_object(Bucket="boto-bucket", Key="many/0"))
out["nobucket"] = code(lambda: s3.list_objects_v2(Bucket="no-such-bucket-here"))
`);
    expect(r.sha).toBe(Buffer.from(new Bun.CryptoHasher("sha256").update("hello boto3").digest()).toString("base64"));
    expect(r.etag).toBe(`"${new Bun.CryptoHasher("md5").update("hello boto3").digest("hex")}"`);
    expect(r.crc).toBeString();
    expect(r.range).toBe("boto3");
    expect(r.meta).toEqual({ who: "boto" });
    expect(r.ifnone).toBe("304");
    expect(r.ifmatch).toBe("PreconditionFailed");
    expect(r.keys).toEqual(["a.txt", "b.txt", "c.txt", "many/0", "many/1", "many/2", "many/3", "many/4"]);
    expect(r.deleted).toEqual(["many/0", "many/1", "many/2", "many/3", "many/4"]);
    expect(r.missing).toBe("NoSuchKey");
    expect(r.nobucket).toBe("NoSuchBucket");
  });

  it("uploads and downloads through the managed multipart transfer", async () => {
    const r = await py(`
data = os.urandom(7 * 1024 * 1024 + 3)
open("up.bin", "wb").write(data)
cfg = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024)
s3.upload_file("up.bin", "boto-bucket", "big.bin", Config=cfg)
s3.download_file("boto-bucket", "big.bin", "down.bin", Config=cfg)
out["same"] = open("down.bin", "rb").read() == data
out["etag"] = s3.head_object(Bucket="boto-bucket", Key="big.bin")["ETag"]
`.replace(/"up.bin"/g, `"${home}/up.bin"`).replace(/"down.bin"/g, `"${home}/down.bin"`));
    expect(r.same).toBe(true);
    expect(r.etag).toMatch(/-2"$/);
  });

  it("presigns PUT and GET URLs (SigV4; SigV2 is refused); virtual-hosted-style URLs work through curl", async () => {
    const r = await py(`
out["put"] = s3.generate_presigned_url("put_object", Params={"Bucket": "boto-bucket", "Key": "presigned.txt"}, ExpiresIn=300)
out["expired"] = s3.generate_presigned_url("get_object", Params={"Bucket": "boto-bucket", "Key": "a.txt"}, ExpiresIn=1)
`);
    await ok(["curl", "-sS", "--fail-with-body", "-X", "PUT", "--data-binary", "via presigned PUT", r.put], cleanEnv(home));
    const port = new URL(stack.url).port;
    // Virtual-hosted-style: sign for boto-bucket.s3.test (the server's configured domain) and let
    // curl connect that name to the loopback listener.
    const v = await py(`
import botocore.session
c = boto3.client("s3", endpoint_url="http://s3.test:${port}", region_name="us-east-1", aws_access_key_id=os.environ["KEY"], aws_secret_access_key=os.environ["SECRET"], config=Config(s3={"addressing_style": "virtual"}, signature_version="s3v4"))
out["url"] = c.generate_presigned_url("get_object", Params={"Bucket": "boto-bucket", "Key": "presigned.txt"}, ExpiresIn=300)
`);
    expect(v.url).toStartWith(`http://boto-bucket.s3.test:${port}/presigned.txt?`);
    const body = await ok(["curl", "-sS", "--fail-with-body", "--connect-to", `boto-bucket.s3.test:${port}:127.0.0.1:${port}`, v.url], cleanEnv(home));
    expect(body).toBe("via presigned PUT");
    await Bun.sleep(2100);
    const expired = await run(["curl", "-sS", r.expired], cleanEnv(home));
    expect(expired.stdout).toContain("<Code>AccessDenied</Code>");
    expect(expired.stdout).toContain("Request has expired");
  });

  it("answers a wrong secret with SignatureDoesNotMatch", async () => {
    const r = await py(`
bad = boto3.client("s3", endpoint_url=os.environ["S3_URL"], region_name="us-east-1", aws_access_key_id=os.environ["KEY"], aws_secret_access_key="wrong", config=Config(retries={"max_attempts": 1}))
out["bad"] = code(lambda: bad.list_buckets())
`);
    expect(r.bad).toBe("SignatureDoesNotMatch");
    const v2 = await py(`
c = boto3.client("s3", endpoint_url=os.environ["S3_URL"], region_name="us-east-1", aws_access_key_id=os.environ["KEY"], aws_secret_access_key=os.environ["SECRET"])
out["url"] = c.generate_presigned_url("get_object", Params={"Bucket": "boto-bucket", "Key": "a.txt"}, ExpiresIn=300)
`);
    const refused = await run(["curl", "-sS", v2.url], cleanEnv(home));
    expect(refused.stdout).toContain("Signature Version 2 is not supported");
  });
});
