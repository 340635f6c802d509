/**
 * lightningstor's versioning, tagging and bucket settings through real clients: boto3
 * (/usr/bin/python3) and aws cli v2 `s3api` — enable/suspend, version ids, ListObjectVersions
 * with markers and a delimiter, get/head/delete by version, delete markers, the null version,
 * object and bucket tags, and the CORS, lifecycle and policy documents round-tripped.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { existsSync, rmSync } from "node:fs";
import { startS3Stack, type S3Stack, type Tenant } from "../../integration/lightningstor/stack.ts";
import { cleanEnv, ok, run, scratchHome } from "./run.ts";

const PY = "/usr/bin/python3";
const AWS = "/usr/bin/aws";
const hasBoto3 = existsSync(PY) && (await run([PY, "-c", "import boto3"], { PATH: "/usr/bin:/bin" })).code === 0;
if (!hasBoto3) console.warn("skipping boto3 versioning tests: python3-boto3 is missing (apt-get install python3-boto3)");
const hasAws = existsSync(AWS);
if (!hasAws) console.warn("skipping aws cli versioning tests: /usr/bin/aws is missing");

let stack: S3Stack;
let t: Tenant;
let home: string;

beforeAll(async () => {
  if (!hasBoto3 && !hasAws) return;
  stack = await startS3Stack();
  t = await stack.tenant("versions");
  home = scratchHome();
});

afterAll(async () => {
  if (home) rmSync(home, { recursive: true, force: true });
  await stack?.stop();
});

const PRELUDE = `
import boto3, botocore, json, os
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url=os.environ["S3_URL"], region_name="us-east-1",
    aws_access_key_id=os.environ["KEY"], aws_secret_access_key=os.environ["SECRET"],
    config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}, signature_version="s3v4"))
def code(fn):
    try:
        fn()
        return "ok"
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"]
def versions(bucket, **kw):
    r = s3.list_object_versions(Bucket=bucket, **kw)
    return [(v["Key"], v["VersionId"], v["IsLatest"], "V") for v in r.get("Versions", [])] + [(v["Key"], v["VersionId"], v["IsLatest"], "M") for v in r.get("DeleteMarkers", [])], r
out = {}
`;

async function py(script: string): Promise<any> {
  const stdout = await ok([PY, "-c", `${PRELUDE}\n${script}\nprint(json.dumps(out, default=str))`], cleanEnv(home, { S3_URL: stack.url, KEY: t.accessKeyId, SECRET: t.secretAccessKey }));
  return JSON.parse(stdout.trim().split("\n").pop()!);
}

describe.skipIf(!hasBoto3)("boto3", () => {
  it("versions objects: ids, delete markers, get/head/delete by version, suspended null version", async () => {
    const r = await py(`
s3.create_bucket(Bucket="ver")
out["initial"] = s3.get_bucket_versioning(Bucket="ver").get("Status")
s3.put_object(Bucket="ver", Key="k", Body=b"zero")
s3.put_bucket_versioning(Bucket="ver", VersioningConfiguration={"Status": "Enabled"})
out["status"] = s3.get_bucket_versioning(Bucket="ver")["Status"]
v1 = s3.put_object(Bucket="ver", Key="k", Body=b"one")["VersionId"]
v2 = s3.put_object(Bucket="ver", Key="k", Body=b"two")["VersionId"]
out["ids"] = [v1, v2]
out["latest"] = s3.get_object(Bucket="ver", Key="k")["Body"].read().decode()
out["v1"] = s3.get_object(Bucket="ver", Key="k", VersionId=v1)["Body"].read().decode()
out["null"] = s3.get_object(Bucket="ver", Key="k", VersionId="null")["Body"].read().decode()
out["headv1"] = s3.head_object(Bucket="ver", Key="k", VersionId=v1)["ContentLength"]
d = s3.delete_object(Bucket="ver", Key="k")
out["marker"] = [d.get("DeleteMarker"), d.get("VersionId") is not None]
out["gone"] = code(lambda: s3.get_object(Bucket="ver", Key="k"))
out["listed"] = s3.list_objects_v2(Bucket="ver").get("KeyCount")
vs, _ = versions("ver")
out["versions"] = vs
out["getmarker"] = code(lambda: s3.get_object(Bucket="ver", Key="k", VersionId=d["VersionId"]))
out["nosuch"] = code(lambda: s3.get_object(Bucket="ver", Key="k", VersionId="00000000000000ff"))
s3.delete_object(Bucket="ver", Key="k", VersionId=d["VersionId"])
out["restored"] = s3.get_object(Bucket="ver", Key="k")["Body"].read().decode()
s3.delete_object(Bucket="ver", Key="k", VersionId=v2)
out["back"] = s3.get_object(Bucket="ver", Key="k")["Body"].read().decode()
out["notempty"] = code(lambda: s3.delete_bucket(Bucket="ver"))
s3.put_bucket_versioning(Bucket="ver", VersioningConfiguration={"Status": "Suspended"})
p = s3.put_object(Bucket="ver", Key="k", Body=b"suspended")
out["suspended_id"] = p.get("VersionId")
p = s3.put_object(Bucket="ver", Key="k", Body=b"suspended again")
vs, _ = versions("ver")
out["after_suspend"] = sorted([x[1] for x in vs])
out["v1_still"] = s3.get_object(Bucket="ver", Key="k", VersionId=v1)["Body"].read().decode()
d = s3.delete_objects(Bucket="ver", Delete={"Objects": [{"Key": "k", "VersionId": v1}, {"Key": "k", "VersionId": "null"}]})
out["batch"] = sorted(x["VersionId"] for x in d["Deleted"])
vs, _ = versions("ver")
out["empty"] = vs
s3.delete_bucket(Bucket="ver")
`);
    expect(r.initial).toBeNull();
    expect(r.status).toBe("Enabled");
    expect(r.ids[0]).not.toBe(r.ids[1]);
    expect([r.latest, r.v1, r.null, r.headv1]).toEqual(["two", "one", "zero", 3]);
    expect(r.marker).toEqual([true, true]);
    expect(r.gone).toBe("NoSuchKey");
    expect(r.listed).toBe(0);
    expect(r.versions.map((v: any[]) => [v[2], v[3]])).toEqual([[false, "V"], [false, "V"], [false, "V"], [true, "M"]]);
    expect(r.versions.filter((v: any[]) => v[3] === "V").map((v: any[]) => v[1])).toEqual([r.ids[1], r.ids[0], "null"]);
    expect(r.getmarker).toBe("MethodNotAllowed");
    expect(r.nosuch).toBe("NoSuchVersion");
    expect([r.restored, r.back]).toEqual(["two", "one"]);
    expect(r.notempty).toBe("BucketNotEmpty");
    expect(r.suspended_id).toBe("null");
    expect(r.after_suspend).toEqual([r.ids[0], "null"].sort());
    expect(r.v1_still).toBe("one");
    expect(r.batch).toEqual([r.ids[0], "null"].sort());
    expect(r.empty).toEqual([]);
  });

  it("pages ListObjectVersions with key and version-id markers, and groups by delimiter", async () => {
    const r = await py(`
s3.create_bucket(Bucket="pages")
s3.put_bucket_versioning(Bucket="pages", VersioningConfiguration={"Status": "Enabled"})
for k in ["a", "b", "dir/x", "dir/y"]:
    for i in range(3):
        s3.put_object(Bucket="pages", Key=k, Body=str(i).encode())
seen = []
kw = {}
pages = 0
while True:
    vs, resp = versions("pages", MaxKeys=4, **kw)
    pages += 1
    seen += [(x[0], x[1]) for x in vs]
    if not resp["IsTruncated"]:
        break
    kw = {"KeyMarker": resp["NextKeyMarker"], "VersionIdMarker": resp["NextVersionIdMarker"]}
out["pages"] = pages
out["seen"] = seen
vs, resp = versions("pages", Delimiter="/")
out["delim"] = [len(vs), [p["Prefix"] for p in resp.get("CommonPrefixes", [])]]
pg = s3.get_paginator("list_object_versions")
out["paginated"] = sum(len(p.get("Versions", [])) for p in pg.paginate(Bucket="pages", PaginationConfig={"PageSize": 5}))
`);
    expect(r.pages).toBe(3);
    expect(r.seen.length).toBe(12);
    expect(new Set(r.seen.map((x: string[]) => x.join("/"))).size).toBe(12);
    expect(r.seen.map((x: string[]) => x[0])).toEqual(["a", "a", "a", "b", "b", "b", "dir/x", "dir/x", "dir/x", "dir/y", "dir/y", "dir/y"]);
    expect(r.delim).toEqual([6, ["dir/"]]);
    expect(r.paginated).toBe(12);
  });

  it("tags objects and buckets", async () => {
    const r = await py(`
s3.create_bucket(Bucket="tags")
s3.put_object(Bucket="tags", Key="t", Body=b"x", Tagging="team=blue&tier=gold")
out["count"] = s3.get_object(Bucket="tags", Key="t").get("TagCount")
out["tags"] = sorted((x["Key"], x["Value"]) for x in s3.get_object_tagging(Bucket="tags", Key="t")["TagSet"])
s3.put_object_tagging(Bucket="tags", Key="t", Tagging={"TagSet": [{"Key": "only", "Value": "one"}]})
out["replaced"] = s3.get_object_tagging(Bucket="tags", Key="t")["TagSet"]
s3.delete_object_tagging(Bucket="tags", Key="t")
out["deleted"] = s3.get_object_tagging(Bucket="tags", Key="t")["TagSet"]
out["dupe"] = code(lambda: s3.put_object_tagging(Bucket="tags", Key="t", Tagging={"TagSet": [{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}]}))
out["eleven"] = code(lambda: s3.put_object_tagging(Bucket="tags", Key="t", Tagging={"TagSet": [{"Key": str(i), "Value": "v"} for i in range(11)]}))
out["nobt"] = code(lambda: s3.get_bucket_tagging(Bucket="tags"))
s3.put_bucket_tagging(Bucket="tags", Tagging={"TagSet": [{"Key": "cost", "Value": "42"}]})
out["bt"] = s3.get_bucket_tagging(Bucket="tags")["TagSet"]
s3.delete_bucket_tagging(Bucket="tags")
out["bt_gone"] = code(lambda: s3.get_bucket_tagging(Bucket="tags"))
s3.copy_object(Bucket="tags", Key="t2", CopySource={"Bucket": "tags", "Key": "t"}, Tagging="c=d", TaggingDirective="REPLACE")
out["copied"] = s3.get_object_tagging(Bucket="tags", Key="t2")["TagSet"]
`);
    expect(r.count).toBe(2);
    expect(r.tags).toEqual([["team", "blue"], ["tier", "gold"]]);
    expect(r.replaced).toEqual([{ Key: "only", Value: "one" }]);
    expect(r.deleted).toEqual([]);
    expect(r.dupe).toBe("InvalidTag");
    expect(r.eleven).toBe("BadRequest");
    expect(r.nobt).toBe("NoSuchTagSet");
    expect(r.bt).toEqual([{ Key: "cost", Value: "42" }]);
    expect(r.bt_gone).toBe("NoSuchTagSet");
    expect(r.copied).toEqual([{ Key: "c", Value: "d" }]);
  });
});

const envOf = () => cleanEnv(home, { AWS_ACCESS_KEY_ID: t.accessKeyId, AWS_SECRET_ACCESS_KEY: t.secretAccessKey, AWS_DEFAULT_REGION: "us-east-1", AWS_EC2_METADATA_DISABLED: "true", AWS_PAGER: "" });
const aws = async (...args: string[]): Promise<any> => {
  const out = await ok([AWS, "--endpoint-url", stack.url, "--output", "json", ...args], envOf());
  return out.trim() ? JSON.parse(out) : {};
};
const awsCode = async (...args: string[]): Promise<string> => {
  const r = await run([AWS, "--endpoint-url", stack.url, ...args], envOf());
  return r.code === 0 ? "ok" : (/\((\w+)\)/.exec(r.stderr)?.[1] ?? r.stderr);
};

describe.skipIf(!hasAws)("aws s3api", () => {
  it("enables versioning, lists versions, gets and deletes by version id", async () => {
    await aws("s3api", "create-bucket", "--bucket", "cli-ver");
    await aws("s3api", "put-bucket-versioning", "--bucket", "cli-ver", "--versioning-configuration", "Status=Enabled");
    expect((await aws("s3api", "get-bucket-versioning", "--bucket", "cli-ver")).Status).toBe("Enabled");
    const f = `${home}/body.txt`;
    await Bun.write(f, "first");
    const v1 = (await aws("s3api", "put-object", "--bucket", "cli-ver", "--key", "doc", "--body", f)).VersionId;
    await Bun.write(f, "second!");
    const v2 = (await aws("s3api", "put-object", "--bucket", "cli-ver", "--key", "doc", "--body", f)).VersionId;
    const del = await aws("s3api", "delete-object", "--bucket", "cli-ver", "--key", "doc");
    expect(del.DeleteMarker).toBe(true);
    const list = await aws("s3api", "list-object-versions", "--bucket", "cli-ver");
    expect(list.Versions.map((v: any) => [v.VersionId, v.IsLatest, v.Size])).toEqual([[v2, false, 7], [v1, false, 5]]);
    expect(list.DeleteMarkers.map((v: any) => [v.VersionId, v.IsLatest])).toEqual([[del.VersionId, true]]);
    const got = await aws("s3api", "get-object", "--bucket", "cli-ver", "--key", "doc", "--version-id", v1, `${home}/out.txt`);
    expect(got.VersionId).toBe(v1);
    expect(await Bun.file(`${home}/out.txt`).text()).toBe("first");
    expect(await awsCode("s3api", "head-object", "--bucket", "cli-ver", "--key", "doc")).not.toBe("ok");
    await aws("s3api", "delete-object", "--bucket", "cli-ver", "--key", "doc", "--version-id", del.VersionId);
    expect((await aws("s3api", "head-object", "--bucket", "cli-ver", "--key", "doc")).VersionId).toBe(v2);
  });

  it("round-trips CORS, lifecycle and policy documents, refusing bad ones", async () => {
    await aws("s3api", "create-bucket", "--bucket", "cli-cfg");
    const cors = { CORSRules: [{ AllowedOrigins: ["https://app.example"], AllowedMethods: ["GET", "PUT"], AllowedHeaders: ["*"], ExposeHeaders: ["ETag"], MaxAgeSeconds: 300 }] };
    await aws("s3api", "put-bucket-cors", "--bucket", "cli-cfg", "--cors-configuration", JSON.stringify(cors));
    expect((await aws("s3api", "get-bucket-cors", "--bucket", "cli-cfg")).CORSRules).toEqual(cors.CORSRules);
    expect(await awsCode("s3api", "put-bucket-cors", "--bucket", "cli-cfg", "--cors-configuration", JSON.stringify({ CORSRules: [{ AllowedOrigins: ["*"], AllowedMethods: ["PATCH"] }] }))).toBe("InvalidRequest");
    const lc = { Rules: [{ ID: "tmp", Filter: { Prefix: "tmp/" }, Status: "Enabled", Expiration: { Days: 7 }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 2 } }, { ID: "old", Filter: { Prefix: "" }, Status: "Enabled", NoncurrentVersionExpiration: { NoncurrentDays: 30 } }] };
    await aws("s3api", "put-bucket-lifecycle-configuration", "--bucket", "cli-cfg", "--lifecycle-configuration", JSON.stringify(lc));
    expect((await aws("s3api", "get-bucket-lifecycle-configuration", "--bucket", "cli-cfg")).Rules).toEqual(lc.Rules);
    await aws("s3api", "delete-bucket-lifecycle", "--bucket", "cli-cfg");
    expect(await awsCode("s3api", "get-bucket-lifecycle-configuration", "--bucket", "cli-cfg")).toBe("NoSuchLifecycleConfiguration");
    const policy = JSON.stringify({ Version: "2012-10-17", Statement: [{ Sid: "read", Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "arn:aws:s3:::cli-cfg/*" }] });
    await aws("s3api", "put-bucket-policy", "--bucket", "cli-cfg", "--policy", policy);
    expect(JSON.parse((await aws("s3api", "get-bucket-policy", "--bucket", "cli-cfg")).Policy)).toEqual(JSON.parse(policy));
    expect(await awsCode("s3api", "put-bucket-policy", "--bucket", "cli-cfg", "--policy", policy.replace("cli-cfg/*", "other-bucket/*"))).toBe("MalformedPolicy");
    expect(await awsCode("s3api", "put-bucket-policy", "--bucket", "cli-cfg", "--policy", "{not json")).toBe("MalformedPolicy");
    await aws("s3api", "delete-bucket-policy", "--bucket", "cli-cfg");
    expect(await awsCode("s3api", "get-bucket-policy", "--bucket", "cli-cfg")).toBe("NoSuchBucketPolicy");
  });
});
