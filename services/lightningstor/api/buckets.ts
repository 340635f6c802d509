/** Bucket operations: ListBuckets, Create/Head/Delete, location, ListObjects V1/V2, DeleteObjects. */
import { S3Errors } from "../errors.ts";
import { checkKey } from "../names.ts";
import { readSmallBody } from "../payload.ts";
import { uriEncode } from "../sigv4.ts";
import type { Bucket } from "../types.ts";
import { iso, payloadOf, quoted, xml, type S3Context } from "./context.ts";
import { parseXml } from "./xml.ts";

const owner = (id: string) => ({ ID: id, DisplayName: id });

/** GET / */
export async function listBuckets(ctx: S3Context): Promise<Response> {
  const buckets = await ctx.svc.listBuckets(ctx.caller);
  return xml("ListAllMyBucketsResult", { Owner: owner(ctx.caller.principal), Buckets: { Bucket: buckets.map((b) => ({ Name: b.name, CreationDate: iso(b.createdAt) })) } });
}

/** PUT /bucket (an optional CreateBucketConfiguration names the region; any is accepted). */
export async function createBucket(ctx: S3Context): Promise<Response> {
  const body = await readSmallBody(payloadOf(ctx, 64 * 1024));
  if (body.trim()) parseXml(body, "CreateBucketConfiguration");
  // Token callers (the photon CLI) may name the project; an access key acts in its own.
  const project = ctx.sig ? undefined : (ctx.headers.get("x-photon-project") ?? undefined);
  const b = await ctx.svc.createBucket(ctx.caller, ctx.bucket!, project ?? ctx.caller.project);
  return new Response(null, { status: 200, headers: { location: `/${b.name}` } });
}

/** HEAD /bucket */
export async function headBucket(ctx: S3Context): Promise<Response> {
  const b = await ctx.svc.bucket(ctx.caller, ctx.bucket!, "lightningstor:bucket:get", { action: "s3:ListBucket" });
  return new Response(null, { status: 200, headers: { "x-amz-bucket-region": b.region } });
}

/** DELETE /bucket */
export async function deleteBucket(ctx: S3Context): Promise<Response> {
  await ctx.svc.deleteBucket(ctx.caller, ctx.bucket!);
  return new Response(null, { status: 204 });
}

/** GET /bucket?location */
export async function bucketLocation(ctx: S3Context, b: Bucket): Promise<Response> {
  return xml("LocationConstraint", { "#text": b.region === "us-east-1" ? "" : b.region });
}

/** GET /bucket?acl (and object ?acl): the owner has full control; ACLs cannot be changed. */
export function bucketAcl(ctx: S3Context): Response {
  return xml("AccessControlPolicy", {
    Owner: owner(ctx.caller.principal),
    AccessControlList: { Grant: { Grantee: { "@_xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance", "@_xsi:type": "CanonicalUser", ...owner(ctx.caller.principal) }, Permission: "FULL_CONTROL" } },
  });
}

function maxKeys(ctx: S3Context, name = "max-keys"): number {
  const v = ctx.query.get(name);
  if (v === undefined) return 1000;
  if (!/^\d{1,9}$/.test(v)) throw S3Errors.InvalidArgument(`${name} must be a non-negative integer`, { details: { argumentName: name } });
  return Math.min(Number(v), 1000);
}

/** GET /bucket and GET /bucket?list-type=2 */
export async function listObjects(ctx: S3Context, b: Bucket): Promise<Response> {
  const v2 = ctx.query.get("list-type") === "2";
  const prefix = ctx.query.get("prefix") ?? "";
  const delimiter = ctx.query.get("delimiter") ?? "";
  const encoding = ctx.query.get("encoding-type");
  if (encoding !== undefined && encoding !== "url") throw S3Errors.InvalidArgument("invalid encoding method specified in request", { details: { argumentName: "encoding-type" } });
  const enc = (s: string) => (encoding === "url" ? uriEncode(s, true) : s);
  const max = maxKeys(ctx);
  let marker: string | undefined;
  const token = ctx.query.get("continuation-token");
  if (v2) {
    if (token !== undefined) {
      marker = Buffer.from(token, "base64url").toString("utf8");
      if (!token || Buffer.from(marker, "utf8").toString("base64url") !== token) throw S3Errors.InvalidArgument("the continuation token provided is incorrect", { details: { argumentName: "continuation-token" } });
    } else marker = ctx.query.get("start-after") || undefined;
  } else marker = ctx.query.get("marker") || undefined;
  const contents: Record<string, unknown>[] = [];
  const prefixes: string[] = [];
  let last: string | undefined;
  let lastPrefix = marker !== undefined && delimiter && marker.startsWith(prefix) && marker.endsWith(delimiter) ? marker : undefined;
  let truncated = false;
  const fetchOwner = !v2 || ctx.query.get("fetch-owner") === "true";
  // After a common prefix the scan restarts past every key under it (no walk through them).
  let scan: Parameters<typeof ctx.svc.scan>[1] = { prefix, ...(marker !== undefined ? { after: marker } : {}), ...(lastPrefix !== undefined ? { pastPrefix: lastPrefix } : {}) };
  outer: while (max > 0) {
    for (const o of ctx.svc.scan(b, scan)) {
      let cp: string | undefined;
      if (delimiter) {
        const i = o.key.indexOf(delimiter, prefix.length);
        if (i >= 0) cp = o.key.slice(0, i + delimiter.length);
      }
      if (cp !== undefined && cp === lastPrefix) continue;
      if (contents.length + prefixes.length >= max) {
        truncated = true;
        break outer;
      }
      if (cp !== undefined) {
        prefixes.push(cp);
        lastPrefix = cp;
        last = cp;
        scan = { prefix, pastPrefix: cp };
        continue outer;
      } else {
        contents.push({ Key: enc(o.key), LastModified: iso(o.lastModified), ETag: quoted(o.etag), Size: o.size, ...(o.checksum ? { ChecksumAlgorithm: o.checksum.alg } : {}), StorageClass: "STANDARD", ...(fetchOwner ? { Owner: owner(o.owner) } : {}) });
        last = o.key;
      }
    }
    break;
  }
  const common = {
    Name: b.name,
    Prefix: enc(prefix),
    ...(delimiter ? { Delimiter: enc(delimiter) } : {}),
    MaxKeys: max,
    ...(encoding ? { EncodingType: encoding } : {}),
    IsTruncated: truncated,
  };
  const body: Record<string, unknown> = v2
    ? { ...common, KeyCount: contents.length + prefixes.length, ...(token !== undefined ? { ContinuationToken: token } : {}), ...(truncated && last !== undefined ? { NextContinuationToken: Buffer.from(last, "utf8").toString("base64url") } : {}), ...(ctx.query.has("start-after") ? { StartAfter: enc(ctx.query.get("start-after")!) } : {}) }
    : { ...common, Marker: enc(marker ?? ""), ...(truncated && last !== undefined && delimiter ? { NextMarker: enc(last) } : {}) };
  if (contents.length) body.Contents = contents;
  if (prefixes.length) body.CommonPrefixes = prefixes.map((p) => ({ Prefix: enc(p) }));
  return xml("ListBucketResult", body);
}

/** POST /bucket?delete */
export async function deleteObjects(ctx: S3Context, b: Bucket): Promise<Response> {
  const doc = parseXml(await readSmallBody(payloadOf(ctx, 2 * 1024 * 1024)), "Delete");
  const objects = (doc.Object as { Key?: unknown; VersionId?: unknown }[] | undefined) ?? [];
  if (objects.length > 1000) throw S3Errors.MalformedXML("at most 1000 keys may be deleted per request");
  const quiet = String(doc.Quiet ?? "false") === "true";
  const deleted: Record<string, unknown>[] = [];
  const errors: Record<string, unknown>[] = [];
  for (const o of objects) {
    const key = typeof o?.Key === "string" ? o.Key : String(o?.Key ?? "");
    try {
      checkKey(key);
      const versionId = typeof o?.VersionId === "string" && o.VersionId !== "" ? o.VersionId : undefined;
      const r = ctx.svc.deleteObject(ctx.caller, b, key, versionId);
      if (!quiet) {
        const d: Record<string, unknown> = { Key: key };
        if (versionId !== undefined) d.VersionId = versionId;
        if (r.deleteMarker) {
          d.DeleteMarker = true;
          if (r.versionId !== undefined) d.DeleteMarkerVersionId = r.versionId;
        }
        deleted.push(d);
      }
    } catch (e) {
      errors.push({ Key: key, Code: (e as { code?: string }).code?.replace(/^S3:/, "") ?? "InternalError", Message: (e as Error).message });
    }
  }
  return xml("DeleteResult", { ...(deleted.length ? { Deleted: deleted } : {}), ...(errors.length ? { Error: errors } : {}) });
}
