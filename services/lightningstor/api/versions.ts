/** Versioning (Get/PutBucketVersioning, ListObjectVersions) and object tagging (Get/Put/DeleteObjectTagging). */
import { S3Errors } from "../errors.ts";
import { readSmallBody } from "../payload.ts";
import { versionIdOf } from "../service.ts";
import { uriEncode } from "../sigv4.ts";
import { parseTagging, taggingBody } from "../tags.ts";
import type { Bucket, ObjectMeta } from "../types.ts";
import { iso, payloadOf, quoted, xml, type S3Context } from "./context.ts";
import { S3_NS, parseXml, xmlFragment } from "./xml.ts";

const owner = (id: string) => ({ ID: id, DisplayName: id });

/** GET /bucket?versioning */
export function getVersioning(ctx: S3Context, b: Bucket): Response {
  const state = ctx.svc.versioning(b);
  return xml("VersioningConfiguration", state ? { Status: state } : {});
}

/** PUT /bucket?versioning */
export async function putVersioning(ctx: S3Context, b: Bucket): Promise<Response> {
  const doc = parseXml(await readSmallBody(payloadOf(ctx, 64 * 1024)), "VersioningConfiguration");
  const status = doc.Status;
  if (doc.MfaDelete === "Enabled") throw S3Errors.NotImplemented("MFA delete is not supported");
  if (status !== "Enabled" && status !== "Suspended") throw S3Errors.IllegalVersioningConfigurationException("the versioning configuration specified in the request is invalid");
  ctx.svc.setVersioning(b, status);
  return new Response(null, { status: 200 });
}

/** GET /bucket?versions: every version and delete marker in key order, newest first per key. */
export function listVersions(ctx: S3Context, b: Bucket): Response {
  const prefix = ctx.query.get("prefix") ?? "";
  const delimiter = ctx.query.get("delimiter") ?? "";
  const encoding = ctx.query.get("encoding-type");
  if (encoding !== undefined && encoding !== "url") throw S3Errors.InvalidArgument("invalid encoding method specified in request", { details: { argumentName: "encoding-type" } });
  const enc = (s: string) => (encoding === "url" ? uriEncode(s, true) : s);
  const maxRaw = ctx.query.get("max-keys");
  if (maxRaw !== undefined && !/^\d{1,9}$/.test(maxRaw)) throw S3Errors.InvalidArgument("max-keys must be a non-negative integer", { details: { argumentName: "max-keys" } });
  const max = Math.min(maxRaw === undefined ? 1000 : Number(maxRaw), 1000);
  const keyMarker = ctx.query.get("key-marker") || undefined;
  const vidMarker = ctx.query.get("version-id-marker") || undefined;
  if (vidMarker !== undefined && keyMarker === undefined) throw S3Errors.InvalidArgument("a version-id marker cannot be specified without a key marker", { details: { argumentName: "version-id-marker" } });
  const entries: string[] = [];
  const prefixes: string[] = [];
  let count = 0;
  let truncated = false;
  let nextKey: string | undefined;
  let nextVid: string | undefined;
  let lastPrefix = keyMarker !== undefined && delimiter && keyMarker.startsWith(prefix) && keyMarker.endsWith(delimiter) ? keyMarker : undefined;
  let scan: Parameters<typeof ctx.svc.scanVersions>[1] = { prefix, ...(keyMarker !== undefined ? (vidMarker !== undefined ? { from: keyMarker } : { after: keyMarker }) : {}), ...(lastPrefix !== undefined ? { pastPrefix: lastPrefix } : {}) };
  const entry = (v: ObjectMeta, latest: boolean): string =>
    v.deleteMarker
      ? xmlFragment("DeleteMarker", { Key: enc(v.key), VersionId: versionIdOf(v), IsLatest: latest, LastModified: iso(v.lastModified), Owner: owner(v.owner) })
      : xmlFragment("Version", { Key: enc(v.key), VersionId: versionIdOf(v), IsLatest: latest, LastModified: iso(v.lastModified), ETag: quoted(v.etag), Size: v.size, ...(v.checksum ? { ChecksumAlgorithm: v.checksum.alg } : {}), StorageClass: "STANDARD", Owner: owner(v.owner) });
  outer: while (max > 0) {
    for (const versions of ctx.svc.scanVersions(b, scan)) {
      const key = versions[0]!.key;
      let cp: string | undefined;
      if (delimiter) {
        const i = key.indexOf(delimiter, prefix.length);
        if (i >= 0) cp = key.slice(0, i + delimiter.length);
      }
      if (cp !== undefined && cp === lastPrefix) continue;
      if (cp !== undefined) {
        if (count >= max) {
          truncated = true;
          break outer;
        }
        prefixes.push(cp);
        count++;
        lastPrefix = cp;
        nextKey = cp;
        nextVid = undefined;
        scan = { prefix, pastPrefix: cp };
        continue outer;
      }
      let list = versions.map((v, i) => ({ v, latest: i === 0 }));
      if (key === keyMarker && vidMarker !== undefined) {
        const at = list.findIndex((x) => versionIdOf(x.v) === vidMarker);
        list = at < 0 ? [] : list.slice(at + 1);
      }
      for (const { v, latest } of list) {
        if (count >= max) {
          truncated = true;
          break outer;
        }
        entries.push(entry(v, latest));
        count++;
        nextKey = key;
        nextVid = versionIdOf(v);
      }
    }
    break;
  }
  const head = xmlFragment("x", {
    Name: b.name,
    Prefix: enc(prefix),
    KeyMarker: enc(keyMarker ?? ""),
    VersionIdMarker: vidMarker ?? "",
    ...(truncated && nextKey !== undefined ? { NextKeyMarker: enc(nextKey), ...(nextVid !== undefined ? { NextVersionIdMarker: nextVid } : {}) } : {}),
    MaxKeys: max,
    ...(delimiter ? { Delimiter: enc(delimiter) } : {}),
    ...(encoding ? { EncodingType: encoding } : {}),
    IsTruncated: truncated,
  }).slice(3, -4);
  const tail = prefixes.map((p) => xmlFragment("CommonPrefixes", { Prefix: enc(p) })).join("");
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<ListVersionsResult xmlns="${S3_NS}">${head}${entries.join("")}${tail}</ListVersionsResult>`;
  return new Response(body, { status: 200, headers: { "content-type": "application/xml" } });
}

function versionOf(ctx: S3Context, b: Bucket) {
  const versionId = ctx.query.get("versionId");
  const f = ctx.svc.findVersion(b, ctx.key!, versionId);
  if (!f) {
    if (versionId !== undefined) throw S3Errors.NoSuchVersion("the specified version does not exist", { details: { key: ctx.key!, versionId } });
    throw S3Errors.NoSuchKey("the specified key does not exist", { details: { key: ctx.key! } });
  }
  if (f.meta.deleteMarker) throw S3Errors.MethodNotAllowed("the specified method is not allowed against this resource", { details: { headers: { "x-amz-delete-marker": "true", "x-amz-version-id": versionIdOf(f.meta) } } });
  return f;
}

const vidHeader = (ctx: S3Context, b: Bucket, m: ObjectMeta): Record<string, string> => (m.versionId !== undefined || ctx.svc.versioning(b) !== "" ? { "x-amz-version-id": versionIdOf(m) } : {});

/** GET /bucket/key?tagging */
export function getObjectTagging(ctx: S3Context, b: Bucket): Response {
  const f = versionOf(ctx, b);
  return xml("Tagging", taggingBody(f.meta.tags), 200, vidHeader(ctx, b, f.meta));
}

/** PUT /bucket/key?tagging */
export async function putObjectTagging(ctx: S3Context, b: Bucket): Promise<Response> {
  const tags = parseTagging(parseXml(await readSmallBody(payloadOf(ctx, 64 * 1024)), "Tagging"));
  const f = versionOf(ctx, b);
  f.meta.tags = tags;
  if (Object.keys(tags).length === 0) delete f.meta.tags;
  ctx.svc.updateVersion(b, f);
  return new Response(null, { status: 200, headers: vidHeader(ctx, b, f.meta) });
}

/** DELETE /bucket/key?tagging */
export function deleteObjectTagging(ctx: S3Context, b: Bucket): Response {
  const f = versionOf(ctx, b);
  delete f.meta.tags;
  ctx.svc.updateVersion(b, f);
  return new Response(null, { status: 204, headers: vidHeader(ctx, b, f.meta) });
}


