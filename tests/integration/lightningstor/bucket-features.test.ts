/**
 * lightningstor's bucket features over HTTP and @aws-sdk/client-s3: CORS (rules, preflights and
 * headers on actual requests), lifecycle (the sweeper under a moved clock: expiration by days,
 * prefix and tag, noncurrent versions, delete markers, incomplete uploads), bucket policies
 * (cross-tenant grants, explicit Deny, conditions) and PostObject (browser forms signed with a
 * policy), and CompleteMultipartUpload in O(1) (the parts become the object's files, joined
 * into one afterwards).
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import {
  CompleteMultipartUploadCommand, CreateBucketCommand, CreateMultipartUploadCommand, DeleteBucketPolicyCommand, GetObjectCommand, GetObjectTaggingCommand, ListMultipartUploadsCommand, ListObjectsV2Command, ListObjectVersionsCommand,
  PutBucketCorsCommand, PutBucketLifecycleConfigurationCommand, PutBucketPolicyCommand, PutBucketVersioningCommand, PutObjectCommand, S3Client, UploadPartCommand,
} from "@aws-sdk/client-s3";
import { createHash, createHmac } from "node:crypto";
import { signingKeyOf } from "../../../services/lightningstor/sigv4.ts";
import { signed } from "./sign.ts";
import { startS3Stack, type S3Stack, type Tenant } from "./stack.ts";

const DAY = 86_400_000;
let offset = 0;
let stack: S3Stack;
let a: Tenant;
let b: Tenant;
let s3a: S3Client;
let s3b: S3Client;

const client = (t: Tenant) => new S3Client({ endpoint: stack.url, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: t.accessKeyId, secretAccessKey: t.secretAccessKey } });

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as { name: string }).name;
  }
  return "no error";
}

beforeAll(async () => {
  stack = await startS3Stack({ clock: () => Date.now() + offset, lifecycleIntervalMs: 0 });
  a = await stack.tenant("feat-a");
  b = await stack.tenant("feat-b");
  s3a = client(a);
  s3b = client(b);
  for (const name of ["cors-bucket", "life", "shared", "forms", "parts"]) await s3a.send(new CreateBucketCommand({ Bucket: name }));
});

afterAll(async () => {
  s3a?.destroy();
  s3b?.destroy();
  await stack?.stop();
});

const errCode = async (r: Response) => /<Code>(\w+)<\/Code>/.exec(await r.text())?.[1];

describe("CORS", () => {
  it("answers preflights from the first matching rule and refuses the rest", async () => {
    const url = `${stack.url}/cors-bucket/obj.txt`;
    const pre = (origin: string, method: string, headers?: string) => fetch(url, { method: "OPTIONS", headers: { origin, "access-control-request-method": method, ...(headers ? { "access-control-request-headers": headers } : {}) } });
    let r = await pre("https://app.example", "GET");
    expect([r.status, await errCode(r)]).toEqual([403, "AccessForbidden"]); // no rules yet
    await s3a.send(new PutBucketCorsCommand({ Bucket: "cors-bucket", CORSConfiguration: { CORSRules: [
      { AllowedOrigins: ["https://*.example"], AllowedMethods: ["GET", "PUT"], AllowedHeaders: ["content-type", "x-amz-*"], ExposeHeaders: ["ETag"], MaxAgeSeconds: 600 },
      { AllowedOrigins: ["*"], AllowedMethods: ["GET"] },
    ] } }));
    r = await pre("https://app.example", "PUT", "Content-Type, X-Amz-Date");
    expect(r.status).toBe(200);
    expect(r.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(r.headers.get("access-control-allow-methods")).toBe("GET, PUT");
    expect(r.headers.get("access-control-allow-headers")).toBe("Content-Type, X-Amz-Date");
    expect(r.headers.get("access-control-expose-headers")).toBe("ETag");
    expect(r.headers.get("access-control-max-age")).toBe("600");
    expect(r.headers.get("access-control-allow-credentials")).toBe("true");
    r = await pre("https://other.org", "GET");
    expect([r.status, r.headers.get("access-control-allow-origin")]).toEqual([200, "*"]); // second rule
    r = await pre("https://other.org", "PUT");
    expect([r.status, await errCode(r)]).toEqual([403, "AccessForbidden"]);
    r = await pre("https://app.example", "PUT", "x-custom");
    expect(r.status).toBe(403);
    r = await fetch(url, { method: "OPTIONS", headers: { "access-control-request-method": "GET" } });
    expect([r.status, await errCode(r)]).toEqual([400, "BadRequest"]);
  });

  it("adds the matching rule's headers to actual requests, errors included", async () => {
    await s3a.send(new PutObjectCommand({ Bucket: "cors-bucket", Key: "obj.txt", Body: "hi" }));
    let r = await fetch(...signed(a, `${stack.url}/cors-bucket/obj.txt`, { headers: { origin: "https://app.example" } }));
    expect([r.status, await r.text()]).toEqual([200, "hi"]);
    expect(r.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(r.headers.get("access-control-expose-headers")).toBe("ETag");
    r = await fetch(...signed(a, `${stack.url}/cors-bucket/missing`, { headers: { origin: "https://x.org" } }));
    expect([r.status, r.headers.get("access-control-allow-origin")]).toEqual([404, "*"]);
    r = await fetch(...signed(a, `${stack.url}/cors-bucket/obj.txt`, { method: "DELETE", headers: { origin: "https://app.example" } }));
    expect([r.status, r.headers.get("access-control-allow-origin")]).toEqual([204, null]); // DELETE is in no rule
  });
});

describe("lifecycle", () => {
  it("expires by days, prefix and tag; removes noncurrent versions and lone delete markers; aborts old uploads", async () => {
    await s3a.send(new PutBucketVersioningCommand({ Bucket: "life", VersioningConfiguration: { Status: "Enabled" } }));
    await s3a.send(new PutBucketLifecycleConfigurationCommand({ Bucket: "life", LifecycleConfiguration: { Rules: [
      { ID: "tmp", Status: "Enabled", Filter: { Prefix: "tmp/" }, Expiration: { Days: 1 } },
      { ID: "tagged", Status: "Enabled", Filter: { Tag: { Key: "class", Value: "scratch" } }, Expiration: { Days: 3 } },
      { ID: "old", Status: "Enabled", Filter: { Prefix: "" }, NoncurrentVersionExpiration: { NoncurrentDays: 10 }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 2 } },
      { ID: "markers", Status: "Enabled", Filter: { Prefix: "" }, Expiration: { ExpiredObjectDeleteMarker: true } },
      { ID: "off", Status: "Disabled", Filter: { Prefix: "" }, Expiration: { Days: 1 } },
    ] } }));
    expect(await code(s3a.send(new PutBucketLifecycleConfigurationCommand({ Bucket: "life", LifecycleConfiguration: { Rules: [{ ID: "x", Status: "Enabled", Filter: { Prefix: "" } }] } })))).toBe("MalformedXML");
    for (const k of ["tmp/a", "keep/a", "keep/b"]) await s3a.send(new PutObjectCommand({ Bucket: "life", Key: k, Body: k }));
    await s3a.send(new PutObjectCommand({ Bucket: "life", Key: "keep/scratch", Body: "s", Tagging: "class=scratch" }));
    await s3a.send(new PutObjectCommand({ Bucket: "life", Key: "keep/a", Body: "newer" })); // keep/a's first version is noncurrent
    await s3a.send(new CreateMultipartUploadCommand({ Bucket: "life", Key: "big" }));
    const keys = async () => ((await s3a.send(new ListObjectsV2Command({ Bucket: "life" }))).Contents ?? []).map((o) => o.Key);
    const versionCount = async () => {
      const v = await s3a.send(new ListObjectVersionsCommand({ Bucket: "life" }));
      return (v.Versions?.length ?? 0) + (v.DeleteMarkers?.length ?? 0);
    };
    expect(await stack.s3.sweepLifecycle()).toEqual({ expired: 0, noncurrentRemoved: 0, markersRemoved: 0, uploadsAborted: 0 });
    offset = 2 * DAY + 1;
    let r = await stack.s3.sweepLifecycle();
    expect(r.expired).toBe(1); // tmp/a gets a delete marker
    expect(await keys()).toEqual(["keep/a", "keep/b", "keep/scratch"]);
    offset = 4 * DAY + 1;
    r = await stack.s3.sweepLifecycle();
    expect([r.expired, r.uploadsAborted]).toEqual([1, 1]);
    expect(await keys()).toEqual(["keep/a", "keep/b"]);
    expect((await s3a.send(new ListMultipartUploadsCommand({ Bucket: "life" }))).Uploads ?? []).toEqual([]);
    expect(await versionCount()).toBe(7); // keep/a twice, keep/b; tmp/a and keep/scratch each with its marker
    offset = 20 * DAY;
    r = await stack.s3.sweepLifecycle();
    expect(r.noncurrentRemoved).toBe(3); // keep/a's first version, tmp/a's and keep/scratch's
    const again = await stack.s3.sweepLifecycle();
    expect(r.markersRemoved + again.markersRemoved).toBe(2); // the markers, once lone
    expect(again.noncurrentRemoved + again.expired).toBe(0);
    expect(await versionCount()).toBe(2);
    expect(await keys()).toEqual(["keep/a", "keep/b"]);
    offset = 0;
  });
});

describe("bucket policies", () => {
  it("grants another project's principal what the policy allows, and nothing else", async () => {
    await s3a.send(new PutObjectCommand({ Bucket: "shared", Key: "pub/readme", Body: "shared text" }));
    await s3a.send(new PutObjectCommand({ Bucket: "shared", Key: "private/x", Body: "secret" }));
    await s3a.send(new PutObjectCommand({ Bucket: "shared", Key: "public/page.html", Body: "<p>hello</p>" }));
    expect(await code(s3b.send(new GetObjectCommand({ Bucket: "shared", Key: "pub/readme" })))).toBe("AccessDenied");
    const policy = {
      Version: "2012-10-17",
      Statement: [
        { Sid: "read-pub", Effect: "Allow", Principal: { AWS: [b.serviceAccount] }, Action: ["s3:GetObject"], Resource: "arn:aws:s3:::shared/pub/*" },
        { Sid: "list", Effect: "Allow", Principal: { AWS: b.serviceAccount }, Action: "s3:ListBucket", Resource: "arn:aws:s3:::shared", Condition: { StringLike: { "s3:prefix": "pub/*" } } },
        { Sid: "from-loopback-only", Effect: "Deny", Principal: "*", Action: "s3:*", Resource: "arn:aws:s3:::shared/*", Condition: { NotIpAddress: { "aws:SourceIp": ["127.0.0.0/8", "::1/128"] } } },
        { Sid: "lock", Effect: "Deny", Principal: "*", Action: "s3:DeleteObject", Resource: "arn:aws:s3:::shared/pub/readme" },
        { Sid: "public", Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "arn:aws:s3:::shared/public/*" },
      ],
    };
    await s3a.send(new PutBucketPolicyCommand({ Bucket: "shared", Policy: JSON.stringify(policy) }));
    const got = await s3b.send(new GetObjectCommand({ Bucket: "shared", Key: "pub/readme" }));
    expect(await got.Body!.transformToString()).toBe("shared text");
    expect(await code(s3b.send(new GetObjectCommand({ Bucket: "shared", Key: "private/x" })))).toBe("AccessDenied");
    expect(await code(s3b.send(new PutObjectCommand({ Bucket: "shared", Key: "pub/new", Body: "x" })))).toBe("AccessDenied");
    expect((await s3b.send(new ListObjectsV2Command({ Bucket: "shared", Prefix: "pub/" }))).Contents?.map((o) => o.Key)).toEqual(["pub/readme"]);
    expect(await code(s3b.send(new ListObjectsV2Command({ Bucket: "shared" })))).toBe("AccessDenied");
    expect(await code(s3b.send(new PutBucketPolicyCommand({ Bucket: "shared", Policy: JSON.stringify(policy) })))).toBe("AccessDenied");
    // Principal "*" includes anonymous callers, for what the policy allows them and nothing else.
    const anon = await fetch(`${stack.url}/shared/public/page.html`);
    expect([anon.status, await anon.text()]).toEqual([200, "<p>hello</p>"]);
    for (const [method, path] of [["GET", "/shared/pub/readme"], ["PUT", "/shared/public/new"], ["GET", "/shared?list-type=2"], ["GET", "/"], ["GET", "/shared?policy"]] as const) {
      const r = await fetch(`${stack.url}${path}`, { method, ...(method === "PUT" ? { body: "x" } : {}) });
      expect([method, path, r.status, await errCode(r)]).toEqual([method, path, 403, "AccessDenied"]);
    }
    // An explicit Deny beats the owner's own rights.
    const del = await fetch(...signed(a, `${stack.url}/shared/pub/readme`, { method: "DELETE" }));
    expect([del.status, await errCode(del)]).toEqual([403, "AccessDenied"]);
    expect(await code(s3a.send(new PutBucketPolicyCommand({ Bucket: "shared", Policy: JSON.stringify({ Statement: [{ Effect: "Allow", Principal: "*", Action: "ec2:RunInstances", Resource: "arn:aws:s3:::shared/*" }] }) })))).toBe("MalformedPolicy");
    expect(await code(s3a.send(new PutBucketPolicyCommand({ Bucket: "shared", Policy: JSON.stringify({ Statement: [{ Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "arn:aws:s3:::shared/*", Condition: { Weird: { a: "b" } } }] }) })))).toBe("MalformedPolicy");
    expect(await code(s3a.send(new PutBucketPolicyCommand({ Bucket: "shared", Policy: JSON.stringify({ Statement: [{ Effect: "Maybe", Principal: "*", Action: "s3:GetObject", Resource: "arn:aws:s3:::shared/*" }] }) })))).toBe("MalformedPolicy");
    await s3a.send(new DeleteBucketPolicyCommand({ Bucket: "shared" }));
    expect(await code(s3b.send(new GetObjectCommand({ Bucket: "shared", Key: "pub/readme" })))).toBe("AccessDenied");
    expect((await fetch(`${stack.url}/shared/public/page.html`)).status).toBe(403);
  });
});

describe("PostObject", () => {
  const date = () => new Date().toISOString().replace(/[-:]|\.\d{3}/g, "");
  function form(t: Tenant, conditions: unknown[], fields: Record<string, string>, body: string, o: { expiresIn?: number; badSecret?: boolean } = {}): FormData {
    const amzDate = date();
    const credential = `${t.accessKeyId}/${amzDate.slice(0, 8)}/us-east-1/s3/aws4_request`;
    const policy = Buffer.from(JSON.stringify({ expiration: new Date(Date.now() + (o.expiresIn ?? 600_000)).toISOString(), conditions: [...conditions, { "x-amz-algorithm": "AWS4-HMAC-SHA256" }, { "x-amz-credential": credential }, { "x-amz-date": amzDate }] })).toString("base64");
    const key = signingKeyOf(o.badSecret ? "wrong" : t.secretAccessKey, amzDate.slice(0, 8), "us-east-1", "s3");
    const f = new FormData();
    for (const [k, v] of Object.entries(fields)) f.append(k, v);
    f.append("x-amz-algorithm", "AWS4-HMAC-SHA256");
    f.append("x-amz-credential", credential);
    f.append("x-amz-date", amzDate);
    f.append("policy", policy);
    f.append("x-amz-signature", createHmac("sha256", key).update(policy).digest("hex"));
    f.append("file", new File([body], "photo.jpg", { type: "image/jpeg" }));
    return f;
  }
  const post = (f: FormData) => fetch(`${stack.url}/forms`, { method: "POST", body: f });

  it("stores a signed form upload and answers as success_action_status asks", async () => {
    const conds = [{ bucket: "forms" }, ["starts-with", "$key", "uploads/"], ["content-length-range", 1, 1024], ["starts-with", "$Content-Type", "image/"], { success_action_status: "201" }, ["starts-with", "$x-amz-meta-owner", ""]];
    const r = await post(form(a, conds, { key: "uploads/${filename}", "Content-Type": "image/jpeg", success_action_status: "201", "x-amz-meta-owner": "alice" }, "jpeg bytes"));
    const text = await r.text();
    expect(r.status).toBe(201);
    expect(text).toContain("<Key>uploads/photo.jpg</Key>");
    expect(text).toContain("<Bucket>forms</Bucket>");
    const got = await s3a.send(new GetObjectCommand({ Bucket: "forms", Key: "uploads/photo.jpg" }));
    expect([await got.Body!.transformToString(), got.ContentType, got.Metadata?.owner]).toEqual(["jpeg bytes", "image/jpeg", "alice"]);
    const plain = await post(form(a, [{ bucket: "forms" }, { key: "plain.txt" }, ["starts-with", "$tagging", ""]], { key: "plain.txt", tagging: "<Tagging><TagSet><Tag><Key>src</Key><Value>form</Value></Tag></TagSet></Tagging>" }, "p"));
    expect(plain.status).toBe(204);
    expect((await s3a.send(new GetObjectTaggingCommand({ Bucket: "forms", Key: "plain.txt" }))).TagSet).toEqual([{ Key: "src", Value: "form" }]);
  });

  it("refuses bad signatures, expired policies, failed conditions, extra fields and other tenants", async () => {
    const base = [{ bucket: "forms" }, ["starts-with", "$key", "uploads/"]];
    const cases: [FormData, number, string][] = [
      [form(a, base, { key: "uploads/x" }, "x", { badSecret: true }), 403, "SignatureDoesNotMatch"],
      [form(a, base, { key: "uploads/x" }, "x", { expiresIn: -1000 }), 403, "AccessDenied"],
      [form(a, base, { key: "elsewhere/x" }, "x"), 403, "AccessDenied"],
      [form(a, base, { key: "uploads/x", "x-amz-meta-sneaky": "1" }, "x"), 403, "AccessDenied"],
      [form(a, [...base, ["content-length-range", 0, 3]], { key: "uploads/x" }, "too long"), 400, "EntityTooLarge"],
      [form(b, base, { key: "uploads/x" }, "x"), 403, "AccessDenied"],
    ];
    for (const [f, status, c] of cases) {
      const r = await post(f);
      expect([r.status, await errCode(r)]).toEqual([status, c]);
    }
    expect(await code(s3a.send(new GetObjectCommand({ Bucket: "forms", Key: "uploads/x" })))).toBe("NoSuchKey");
  });
});

describe("CompleteMultipartUpload", () => {
  it("makes the parts the object's files at once and joins them afterwards; GETs get whole bodies with a Content-Length", async () => {
    const svc = stack.s3.service;
    const parts = [Buffer.alloc(1024 * 1024, 1), Buffer.alloc(1024 * 1024, 2), Buffer.from("tail bytes")];
    const whole = Buffer.concat(parts);
    const { UploadId } = await s3a.send(new CreateMultipartUploadCommand({ Bucket: "parts", Key: "obj" }));
    const etags: string[] = [];
    for (const [i, body] of parts.entries()) etags.push((await s3a.send(new UploadPartCommand({ Bucket: "parts", Key: "obj", UploadId, PartNumber: i + 1, Body: body }))).ETag!);
    // Through the service, to look at the record before the join can have written anything.
    const bucket = (await svc.registry.get("parts"))!;
    const upload = svc.upload(bucket, "obj", UploadId!);
    const partFiles = svc.listParts(upload).map((p) => p.file);
    const meta = await svc.completeUpload({ principal: a.serviceAccount, kind: "serviceaccount", token: "", expiresAt: 0 }, bucket, upload, etags.map((etag, i) => ({ number: i + 1, etag })));
    expect(svc.findVersion(bucket, "obj")!.meta.segments.map((x) => x.file)).toEqual(partFiles);
    expect(meta.etag).toBe(`${createHash("md5").update(Buffer.concat(parts.map((p) => createHash("md5").update(p).digest()))).digest("hex")}-3`);
    // A range inside one part is served from that file; the whole object waits for the join.
    const ranged = await fetch(...signed(a, `${stack.url}/parts/obj`, { headers: { range: "bytes=1048580-1048589" } }));
    expect([ranged.status, ranged.headers.get("content-length"), Buffer.from(await ranged.arrayBuffer()).equals(whole.subarray(1048580, 1048590))]).toEqual([206, "10", true]);
    const full = await fetch(...signed(a, `${stack.url}/parts/obj`));
    expect([full.status, full.headers.get("content-length"), full.headers.get("transfer-encoding")]).toEqual([200, String(whole.length), null]);
    expect(Buffer.from(await full.arrayBuffer()).equals(whole)).toBe(true);
    await svc.joinsSettled();
    const joined = svc.findVersion(bucket, "obj")!.meta;
    expect(joined.segments.length).toBe(1);
    expect(joined.segments[0]!.file).not.toBeOneOf(partFiles);
    const again = await s3a.send(new GetObjectCommand({ Bucket: "parts", Key: "obj" }));
    expect(Buffer.from(await again.Body!.transformToByteArray()).equals(whole)).toBe(true);
    expect(again.ETag).toBe(`"${meta.etag}"`);
  });
});
