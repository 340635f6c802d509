/** Object operations: Put (and Copy), Get and Head (ranges, conditions), Delete. */
import { checksumHeader } from "../checksum.ts";
import { S3Errors } from "../errors.ts";
import { versionIdOf, type NewObjectInfo } from "../service.ts";
import { parseTagHeader } from "../tags.ts";
import { CONTENT_HEADERS, type Bucket, type ObjectMeta } from "../types.ts";
import { iso, payloadOf, quoted, xml, type S3Context } from "./context.ts";

const MAX_USER_META = 2048;

/** The content headers and x-amz-meta-* of a request. @throws S3:MetadataTooLarge-like InvalidArgument. */
export function objectInfo(headers: Headers): NewObjectInfo {
  const h: Record<string, string> = Object.create(null);
  const meta: Record<string, string> = Object.create(null);
  let size = 0;
  for (const name of CONTENT_HEADERS) {
    const v = headers.get(name);
    if (v !== null) h[name] = v;
  }
  headers.forEach((value, name) => {
    if (name.startsWith("x-amz-meta-")) {
      meta[name.slice(11)] = value;
      size += name.length - 11 + value.length;
    }
  });
  if (size > MAX_USER_META) throw S3Errors.InvalidArgument("your metadata headers exceed the maximum allowed metadata size (2 KB)");
  const tagging = headers.get("x-amz-tagging");
  return { headers: { ...h }, userMeta: { ...meta }, ...(tagging !== null ? { tags: parseTagHeader(tagging) } : {}) };
}

/** The headers describing an object in GET/HEAD answers. */
function objectHeaders(ctx: S3Context, o: ObjectMeta): Record<string, string> {
  const out: Record<string, string> = {
    etag: quoted(o.etag),
    "last-modified": new Date(o.lastModified).toUTCString(),
    "accept-ranges": "bytes",
    "content-type": o.headers["content-type"] ?? "binary/octet-stream",
  };
  for (const [k, v] of Object.entries(o.headers)) out[k] = v;
  for (const [k, v] of Object.entries(o.userMeta)) out[`x-amz-meta-${k}`] = v;
  // A whole-object checksum describes whole-object answers only (never a range).
  if (o.checksum && !ctx.headers.has("range") && ctx.headers.get("x-amz-checksum-mode")?.toUpperCase() === "ENABLED") out[checksumHeader(o.checksum.alg)] = o.checksum.value;
  if (o.parts && ctx.query.has("partNumber")) out["x-amz-mp-parts-count"] = String(o.parts);
  if (o.tags && Object.keys(o.tags).length) out["x-amz-tagging-count"] = String(Object.keys(o.tags).length);
  Object.assign(out, versionHeader(ctx, o));
  // Response overrides a presigned GET may ask for.
  for (const [q, h] of [["response-content-type", "content-type"], ["response-content-disposition", "content-disposition"], ["response-cache-control", "cache-control"], ["response-content-encoding", "content-encoding"], ["response-content-language", "content-language"], ["response-expires", "expires"]] as const) {
    const v = ctx.query.get(q);
    if (v !== undefined) out[h] = v;
  }
  return out;
}

/** `x-amz-version-id` of a version, on buckets that have (had) versioning. */
export function versionHeader(ctx: S3Context, o: ObjectMeta): Record<string, string> {
  return o.versionId !== undefined || (ctx.versioning ?? "") !== "" ? { "x-amz-version-id": versionIdOf(o) } : {};
}

const etagList = (v: string): string[] => v.split(",").map((s) => s.trim().replace(/^W\//, "").replace(/^"|"$/g, ""));
const seconds = (ms: number) => Math.floor(ms / 1000);

/**
 * RFC 7232 preconditions as S3 applies them (If-Match/If-Unmodified-Since → 412;
 * If-None-Match/If-Modified-Since → 304, or 412 for copies).
 */
export function checkConditions(h: (name: string) => string | null, o: ObjectMeta, copy: boolean): void {
  const ifMatch = h("if-match");
  const ifNone = h("if-none-match");
  const unmod = Date.parse(h("if-unmodified-since") ?? "");
  const mod = Date.parse(h("if-modified-since") ?? "");
  if (ifMatch !== null) {
    if (!etagList(ifMatch).some((e) => e === "*" || e === o.etag)) throw S3Errors.PreconditionFailed("at least one of the pre-conditions you specified did not hold", { details: { condition: "If-Match" } });
  } else if (!Number.isNaN(unmod) && seconds(o.lastModified) > seconds(unmod)) {
    throw S3Errors.PreconditionFailed("at least one of the pre-conditions you specified did not hold", { details: { condition: "If-Unmodified-Since" } });
  }
  const notModified = (why: string) => (copy ? S3Errors.PreconditionFailed("at least one of the pre-conditions you specified did not hold", { details: { condition: why } }) : S3Errors.NotModified("not modified"));
  if (ifNone !== null) {
    if (etagList(ifNone).some((e) => e === "*" || e === o.etag)) throw notModified("If-None-Match");
  } else if (!Number.isNaN(mod) && seconds(o.lastModified) <= seconds(mod)) {
    throw notModified("If-Modified-Since");
  }
}

/** A single `bytes=` range, or undefined to serve everything. @throws S3:InvalidRange. */
export function parseRange(header: string | null, size: number): { start: number; end: number } | undefined {
  if (header === null) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return undefined;
  let start: number;
  let end: number;
  if (m[1] === "") {
    const n = Number(m[2]);
    if (n === 0) throw S3Errors.InvalidRange("the requested range is not satisfiable", { details: { size } });
    start = Math.max(size - n, 0);
    end = size;
  } else {
    start = Number(m[1]);
    end = m[2] === "" ? size : Math.min(Number(m[2]) + 1, size);
    if (m[2] !== "" && Number(m[2]) < start) return undefined;
  }
  if (start >= size) throw S3Errors.InvalidRange("the requested range is not satisfiable", { details: { size } });
  return { start, end };
}

/** GET and HEAD /bucket/key */
export async function getObject(ctx: S3Context, b: Bucket, head: boolean): Promise<Response> {
  ctx.versioning = ctx.svc.versioning(b);
  let o = ctx.svc.object(b, ctx.key!, ctx.query.get("versionId"));
  checkConditions((n) => ctx.headers.get(n), o, false);
  const headers = objectHeaders(ctx, o);
  const range = parseRange(ctx.headers.get("range"), o.size);
  // A just-completed multipart object is several files until joined; a body that spans them
  // waits for the join, so it goes out file-backed with a Content-Length.
  if (!head && o.size > 0 && !ctx.svc.fileBody(o, range?.start ?? 0, range?.end ?? o.size)) o = await ctx.svc.settled(b, o);
  if (range) {
    headers["content-range"] = `bytes ${range.start}-${range.end - 1}/${o.size}`;
    headers["content-length"] = String(range.end - range.start);
    return new Response(head ? null : ctx.svc.body(o, range.start, range.end), { status: 206, headers });
  }
  headers["content-length"] = String(o.size);
  if (head || o.size === 0) return new Response(head ? null : "", { status: 200, headers });
  return new Response(ctx.svc.body(o, 0, o.size), { status: 200, headers });
}

/** PUT /bucket/key */
export async function putObject(ctx: S3Context, b: Bucket): Promise<Response> {
  if (ctx.headers.get("content-length") === null && ctx.headers.get("x-amz-decoded-content-length") === null && ctx.headers.get("transfer-encoding") === null) {
    throw S3Errors.MissingContentLength("you must provide the Content-Length HTTP header");
  }
  const info = objectInfo(ctx.headers);
  const ifNoneMatch = ctx.headers.get("if-none-match")?.trim();
  const ifMatch = ctx.headers.get("if-match")?.trim();
  if (ifNoneMatch !== undefined && ifNoneMatch !== "*") throw S3Errors.NotImplemented("If-None-Match on PUT takes only *");
  const condition = ifNoneMatch || ifMatch ? { ...(ifNoneMatch ? { ifNoneMatch } : {}), ...(ifMatch ? { ifMatch } : {}) } : undefined;
  const meta = await ctx.svc.putObject(ctx.caller, b, ctx.key!, payloadOf(ctx), info, condition);
  ctx.versioning = ctx.svc.versioning(b);
  const headers: Record<string, string> = { etag: quoted(meta.etag), ...versionHeader(ctx, meta) };
  if (meta.checksum) headers[checksumHeader(meta.checksum.alg)] = meta.checksum.value;
  return new Response(null, { status: 200, headers });
}

/** DELETE /bucket/key */
export function deleteObject(ctx: S3Context, b: Bucket): Response {
  const r = ctx.svc.deleteObject(ctx.caller, b, ctx.key!, ctx.query.get("versionId"));
  const headers: Record<string, string> = {};
  if (r.versionId !== undefined) headers["x-amz-version-id"] = r.versionId;
  if (r.deleteMarker) headers["x-amz-delete-marker"] = "true";
  return new Response(null, { status: 204, headers });
}

/** `x-amz-copy-source` as (bucket, key). @throws S3:InvalidArgument. */
export function copySource(ctx: S3Context): { bucket: string; key: string; versionId?: string } {
  const raw = ctx.headers.get("x-amz-copy-source") ?? "";
  const vm = /[?&]versionId=([^&]*)/.exec(raw.slice(raw.indexOf("?") >= 0 ? raw.indexOf("?") : raw.length));
  const versionId = vm ? decodeURIComponent(vm[1]!) : undefined;
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw.split("?")[0]!);
  } catch {
    throw S3Errors.InvalidArgument("copy source must be URL-encoded", { details: { argumentName: "x-amz-copy-source" } });
  }
  const m = /^\/?([^/]+)\/(.+)$/s.exec(decoded);
  if (!m) throw S3Errors.InvalidArgument("copy source bucket name and key must be given as <bucket>/<key>", { details: { argumentName: "x-amz-copy-source" } });
  return { bucket: m[1]!, key: m[2]!, ...(versionId !== undefined ? { versionId } : {}) };
}

/** Copy-source preconditions (x-amz-copy-source-if-*), all 412 when they fail. */
export function checkCopyConditions(ctx: S3Context, o: ObjectMeta): void {
  checkConditions((n) => ctx.headers.get(`x-amz-copy-source-${n}`), o, true);
}

/** PUT /bucket/key with x-amz-copy-source */
export async function copyObject(ctx: S3Context, b: Bucket): Promise<Response> {
  const src = copySource(ctx);
  const sb = await ctx.svc.bucket(ctx.caller, src.bucket, "lightningstor:object:get", { action: src.versionId !== undefined ? "s3:GetObjectVersion" : "s3:GetObject", key: src.key });
  const source = ctx.svc.object(sb, src.key, src.versionId);
  checkCopyConditions(ctx, source);
  const tagDirective = (ctx.headers.get("x-amz-tagging-directive") ?? "COPY").toUpperCase();
  if (tagDirective !== "COPY" && tagDirective !== "REPLACE") throw S3Errors.InvalidArgument("unknown tagging directive", { details: { argumentName: "x-amz-tagging-directive" } });
  const directive = (ctx.headers.get("x-amz-metadata-directive") ?? "COPY").toUpperCase();
  if (directive !== "COPY" && directive !== "REPLACE") throw S3Errors.InvalidArgument("unknown metadata directive", { details: { argumentName: "x-amz-metadata-directive" } });
  if (directive === "COPY" && tagDirective === "COPY" && sb.name === b.name && src.key === ctx.key && src.versionId === undefined) {
    throw S3Errors.InvalidRequest("this copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes");
  }
  const tags = tagDirective === "REPLACE" ? parseTagHeader(ctx.headers.get("x-amz-tagging") ?? "") : undefined;
  const meta = ctx.svc.copyObject(ctx.caller, b, ctx.key!, source, directive === "REPLACE" ? objectInfo(ctx.headers) : undefined, tags);
  ctx.versioning = ctx.svc.versioning(b);
  const headers: Record<string, string> = { ...versionHeader(ctx, meta) };
  if (source.versionId !== undefined || src.versionId !== undefined) headers["x-amz-copy-source-version-id"] = versionIdOf(source);
  return xml("CopyObjectResult", { LastModified: iso(meta.lastModified), ETag: quoted(meta.etag) }, 200, headers);
}
