/**
 * @aws-sdk/client-s3 over TLS, its production default: bodies go as aws-chunked with
 * STREAMING-UNSIGNED-PAYLOAD-TRAILER and a trailing x-amz-checksum-crc32 (over plain HTTP the SDK
 * signs the payload hash instead, which sdk.test.ts covers).
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { CompleteMultipartUploadCommand, CreateBucketCommand, CreateMultipartUploadCommand, GetObjectCommand, PutObjectCommand, S3Client, UploadPartCommand } from "@aws-sdk/client-s3";
import { createHash } from "node:crypto";
import { Agent } from "node:https";
import { join } from "node:path";
import { Readable } from "node:stream";
import { createCa, issueCert } from "../../../lib/certs.ts";
import { createLogger } from "../../../lib/log.ts";
import { createMetrics } from "../../../lib/metrics.ts";
import { readServiceIdentity } from "../../../services/lightningstor/credentials.ts";
import { startLightningstor, type LightningstorServer } from "../../../services/lightningstor/server.ts";
import { startS3Stack, type S3Stack, type Tenant } from "./stack.ts";

let stack: S3Stack;
let tls: LightningstorServer;
let t: Tenant;
let s3: S3Client;
const modes: string[] = [];

beforeAll(async () => {
  stack = await startS3Stack();
  t = await stack.tenant("tls");
  const ca = await createCa();
  const leaf = await issueCert(ca, { service: "lightningstor" });
  tls = await startLightningstor({
    etcdEndpoints: [stack.chainfire.endpoint],
    iamUrl: stack.iamUrl,
    identity: readServiceIdentity(join(stack.work, "iam", "services", "lightningstor.json")),
    dataDir: join(stack.work, "lightningstor-tls"),
    host: "127.0.0.1",
    port: 0,
    tls: { cert: leaf.certPem, key: leaf.keyPem },
    minPartSize: 1024 * 1024,
    logger: createLogger("lightningstor", { level: "error" }),
    metrics: createMetrics("lightningstor-tls"),
  });
  s3 = new S3Client({
    endpoint: tls.url.replace("127.0.0.1", "localhost"),
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: t.accessKeyId, secretAccessKey: t.secretAccessKey },
    requestHandler: { httpsAgent: new Agent({ ca: ca.certPem }) },
  });
  s3.middlewareStack.add((next) => async (args) => {
    const h = (args.request as { headers: Record<string, string> }).headers;
    modes.push(`${h["x-amz-content-sha256"]} ${h["x-amz-trailer"] ?? ""}`.trim());
    return next(args);
  }, { step: "finalizeRequest", priority: "low" });
});

afterAll(async () => {
  s3?.destroy();
  await tls?.stop();
  await stack?.stop();
});

describe("the JS SDK over TLS", () => {
  it("puts with an unsigned aws-chunked body and a CRC32 trailer, and reads it back", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "tls-bucket" }));
    const body = Buffer.alloc(300_000, 42);
    const put = await s3.send(new PutObjectCommand({ Bucket: "tls-bucket", Key: "k", Body: Readable.from([body.subarray(0, 100_000), body.subarray(100_000)]), ContentLength: body.length }));
    expect(put.ETag).toBe(`"${createHash("md5").update(body).digest("hex")}"`);
    expect(put.ChecksumCRC32).toBeString();
    const got = await s3.send(new GetObjectCommand({ Bucket: "tls-bucket", Key: "k", ChecksumMode: "ENABLED" }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(body)).toBe(true);
    expect(got.ChecksumCRC32).toBe(put.ChecksumCRC32);
    expect(modes).toContain("STREAMING-UNSIGNED-PAYLOAD-TRAILER x-amz-checksum-crc32");
  });

  it("uploads parts the same way", async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: "tls-bucket", Key: "mp" }));
    const parts = [Buffer.alloc(1024 * 1024, 1), Buffer.alloc(10, 2)];
    const etags = [];
    for (let i = 0; i < parts.length; i++) etags.push((await s3.send(new UploadPartCommand({ Bucket: "tls-bucket", Key: "mp", UploadId, PartNumber: i + 1, Body: Readable.from([parts[i]!]), ContentLength: parts[i]!.length }))).ETag!);
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: "tls-bucket", Key: "mp", UploadId, MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) } }));
    const got = await s3.send(new GetObjectCommand({ Bucket: "tls-bucket", Key: "mp" }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(Buffer.concat(parts))).toBe(true);
  });
});
