/** Multipart uploads: create, upload part (and part copy), complete, abort, list parts, list uploads. */
import { checksumAlgorithm, checksumHeader } from "../checksum.ts";
import { S3Errors } from "../errors.ts";
import { readSmallBody } from "../payload.ts";
import type { Bucket } from "../types.ts";
import { iso, payloadOf, quoted, xml, type S3Context } from "./context.ts";
import { checkCopyConditions, copySource, objectInfo, parseRange, versionHeader } from "./objects.ts";
import { parseXml } from "./xml.ts";

/** POST /bucket/key?uploads */
export function createUpload(ctx: S3Context, b: Bucket): Response {
  const algName = ctx.headers.get("x-amz-checksum-algorithm");
  const alg = algName === null ? undefined : checksumAlgorithm(algName);
  if (algName !== null && !alg) throw S3Errors.InvalidRequest(`unsupported checksum algorithm ${JSON.stringify(algName)}`);
  const u = ctx.svc.createUpload(ctx.caller, b, ctx.key!, objectInfo(ctx.headers), alg);
  return xml("InitiateMultipartUploadResult", { Bucket: b.name, Key: u.key, UploadId: u.uploadId }, 200, alg ? { "x-amz-checksum-algorithm": alg } : {});
}

function partNumber(ctx: S3Context): number {
  const v = ctx.query.get("partNumber") ?? "";
  if (!/^\d{1,5}$/.test(v)) throw S3Errors.InvalidArgument("part number must be an integer between 1 and 10000, inclusive", { details: { argumentName: "partNumber" } });
  return Number(v);
}

/** PUT /bucket/key?partNumber=N&uploadId=U (with x-amz-copy-source: UploadPartCopy) */
export async function uploadPart(ctx: S3Context, b: Bucket): Promise<Response> {
  const n = partNumber(ctx);
  const u = ctx.svc.upload(b, ctx.key!, ctx.query.get("uploadId")!);
  if (ctx.headers.has("x-amz-copy-source")) {
    const src = copySource(ctx);
    const sb = await ctx.svc.bucket(ctx.caller, src.bucket, "lightningstor:object:get", { action: src.versionId !== undefined ? "s3:GetObjectVersion" : "s3:GetObject", key: src.key });
    const source = ctx.svc.object(sb, src.key, src.versionId);
    checkCopyConditions(ctx, source);
    const rangeHeader = ctx.headers.get("x-amz-copy-source-range");
    const range = rangeHeader === null ? { start: 0, end: source.size } : parseRange(rangeHeader, source.size);
    if (!range) throw S3Errors.InvalidArgument("the x-amz-copy-source-range value must be of the form bytes=first-last", { details: { argumentName: "x-amz-copy-source-range" } });
    const part = await ctx.svc.uploadPartCopy(u, n, source, range.start, range.end);
    return xml("CopyPartResult", { LastModified: iso(part.lastModified), ETag: quoted(part.etag) });
  }
  const part = await ctx.svc.uploadPart(u, n, payloadOf(ctx, 5 * 1024 * 1024 * 1024));
  const headers: Record<string, string> = { etag: quoted(part.etag) };
  if (part.checksum) headers[checksumHeader(part.checksum.alg)] = part.checksum.value;
  return new Response(null, { status: 200, headers });
}

/** POST /bucket/key?uploadId=U */
export async function completeUpload(ctx: S3Context, b: Bucket): Promise<Response> {
  const u = ctx.svc.upload(b, ctx.key!, ctx.query.get("uploadId")!);
  const doc = parseXml(await readSmallBody(payloadOf(ctx, 2 * 1024 * 1024)), "CompleteMultipartUpload");
  const parts = ((doc.Part as Record<string, unknown>[] | undefined) ?? []).map((p) => {
    const number = Number(p.PartNumber);
    if (!Number.isInteger(number) || typeof p.ETag !== "string") throw S3Errors.MalformedXML("each Part needs a PartNumber and an ETag");
    return { number, etag: p.ETag };
  });
  const meta = await ctx.svc.completeUpload(ctx.caller, b, u, parts);
  const url = new URL(ctx.req.url);
  ctx.versioning = ctx.svc.versioning(b);
  return xml("CompleteMultipartUploadResult", { Location: `${url.origin}/${b.name}/${meta.key}`, Bucket: b.name, Key: meta.key, ETag: quoted(meta.etag) }, 200, versionHeader(ctx, meta));
}

/** DELETE /bucket/key?uploadId=U */
export function abortUpload(ctx: S3Context, b: Bucket): Response {
  ctx.svc.abortUpload(b, ctx.svc.upload(b, ctx.key!, ctx.query.get("uploadId")!));
  return new Response(null, { status: 204 });
}

/** GET /bucket/key?uploadId=U */
export function listParts(ctx: S3Context, b: Bucket): Response {
  const u = ctx.svc.upload(b, ctx.key!, ctx.query.get("uploadId")!);
  const marker = Number(ctx.query.get("part-number-marker") ?? "0") || 0;
  const max = Math.min(Number(ctx.query.get("max-parts") ?? "1000") || 1000, 1000);
  const all = ctx.svc.listParts(u).filter((p) => p.number > marker);
  const page = all.slice(0, max);
  const truncated = all.length > page.length;
  return xml("ListPartsResult", {
    Bucket: b.name, Key: u.key, UploadId: u.uploadId,
    Initiator: { ID: u.owner, DisplayName: u.owner }, Owner: { ID: u.owner, DisplayName: u.owner }, StorageClass: "STANDARD",
    PartNumberMarker: marker, ...(truncated ? { NextPartNumberMarker: page[page.length - 1]!.number } : {}), MaxParts: max, IsTruncated: truncated,
    ...(page.length ? { Part: page.map((p) => ({ PartNumber: p.number, LastModified: iso(p.lastModified), ETag: quoted(p.etag), Size: p.size, ...(p.checksum ? { [`Checksum${p.checksum.alg}`]: p.checksum.value } : {}) })) } : {}),
  });
}

/** GET /bucket?uploads */
export function listUploads(ctx: S3Context, b: Bucket): Response {
  const prefix = ctx.query.get("prefix") ?? "";
  const uploads = ctx.svc.listUploads(b).filter((u) => u.key.startsWith(prefix)).slice(0, 1000);
  return xml("ListMultipartUploadsResult", {
    Bucket: b.name, KeyMarker: "", UploadIdMarker: "", Prefix: prefix, MaxUploads: 1000, IsTruncated: false,
    ...(uploads.length ? { Upload: uploads.map((u) => ({ Key: u.key, UploadId: u.uploadId, Initiator: { ID: u.owner, DisplayName: u.owner }, Owner: { ID: u.owner, DisplayName: u.owner }, StorageClass: "STANDARD", Initiated: iso(u.initiated) })) } : {}),
  });
}
