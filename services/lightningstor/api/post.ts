/**
 * PostObject: browser form uploads (`POST /bucket`, multipart/form-data). The form carries a
 * base64 policy document (expiration and conditions) signed with SigV4 (`x-amz-algorithm`,
 * `x-amz-credential`, `x-amz-date`, `x-amz-signature` = HMAC of the policy with the signing
 * key); every form field but `x-amz-signature`, `file`, `policy` and `x-ignore-*` must be
 * covered by a condition, as S3 requires. The upload is then authorised like a PUT by the key's
 * principal (iam and the bucket policy). The form is read whole (Bun's FormData), so a POST is
 * bounded by `maxPostSize` (default 64 MiB).
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { S3Errors } from "../errors.ts";
import type { S3Credentials } from "../credentials.ts";
import { Payload } from "../payload.ts";
import { versionIdOf, type LightningstorService } from "../service.ts";
import { parseTagging } from "../tags.ts";
import { CONTENT_HEADERS } from "../types.ts";
import { quoted, xml } from "./context.ts";
import { parseXml } from "./xml.ts";

/** The largest form accepted. */
export const MAX_POST_SIZE = 64 * 1024 * 1024;

const denied = (why: string) => S3Errors.AccessDenied(`Invalid according to Policy: ${why}`);

type Condition = { field: string; check: (v: string | undefined) => boolean; describe: string } | { range: [number, number] };

/** The policy's expiration and conditions. @throws S3:InvalidPolicyDocument. */
function parsePostPolicy(b64: string): { expiration: number; conditions: Condition[] } {
  let doc: { expiration?: unknown; conditions?: unknown };
  try {
    doc = JSON.parse(Buffer.from(b64, "base64").toString("utf8"));
  } catch {
    throw S3Errors.InvalidPolicyDocument("Invalid Policy: Invalid JSON.");
  }
  const expiration = Date.parse(String(doc?.expiration ?? ""));
  if (Number.isNaN(expiration)) throw S3Errors.InvalidPolicyDocument("Invalid Policy: Policy missing expiration.");
  if (!Array.isArray(doc.conditions)) throw S3Errors.InvalidPolicyDocument("Invalid Policy: Policy missing conditions.");
  const conditions: Condition[] = doc.conditions.map((c: unknown): Condition => {
    if (Array.isArray(c)) {
      const [op, a, b] = c as [unknown, unknown, unknown];
      const opName = String(op).toLowerCase();
      if (opName === "content-length-range") {
        const min = Number(a);
        const max = Number(b);
        if (!Number.isInteger(min) || !Number.isInteger(max)) throw S3Errors.InvalidPolicyDocument("Invalid Policy: Invalid content-length-range.");
        return { range: [min, max] };
      }
      if (typeof a !== "string" || !a.startsWith("$") || typeof b !== "string") throw S3Errors.InvalidPolicyDocument(`Invalid Policy: Invalid Condition ${JSON.stringify(c)}.`);
      const field = a.slice(1).toLowerCase();
      if (opName === "eq") return { field, check: (v) => v === b, describe: `Policy Condition failed: ["eq", "${a}", "${b}"]` };
      if (opName === "starts-with") return { field, check: (v) => v !== undefined && (field === "content-type" ? v.split(",").every((x) => x.trim().startsWith(b)) : v.startsWith(b)), describe: `Policy Condition failed: ["starts-with", "${a}", "${b}"]` };
      throw S3Errors.InvalidPolicyDocument(`Invalid Policy: Invalid Condition operator ${JSON.stringify(op)}.`);
    }
    if (c && typeof c === "object") {
      const entries = Object.entries(c as Record<string, unknown>);
      if (entries.length !== 1 || typeof entries[0]![1] !== "string") throw S3Errors.InvalidPolicyDocument(`Invalid Policy: Invalid Condition ${JSON.stringify(c)}.`);
      const [k, v] = entries[0]! as [string, string];
      return { field: k.toLowerCase(), check: (x) => x === v, describe: `Policy Condition failed: ["eq", "$${k}", "${v}"]` };
    }
    throw S3Errors.InvalidPolicyDocument(`Invalid Policy: Invalid Condition ${JSON.stringify(c)}.`);
  });
  return { expiration, conditions };
}

/** POST /bucket with multipart/form-data. */
export async function postObject(req: Request, bucketName: string, o: { svc: LightningstorService; credentials: S3Credentials; maxPostSize?: number; requestId: string }): Promise<Response> {
  const max = o.maxPostSize ?? MAX_POST_SIZE;
  const len = Number(req.headers.get("content-length") ?? "NaN");
  if (!Number.isFinite(len)) throw S3Errors.MissingContentLength("you must provide the Content-Length HTTP header");
  if (len > max) throw S3Errors.EntityTooLarge("your proposed upload exceeds the maximum allowed size", { details: { maxSizeAllowed: max } });
  let form: Awaited<ReturnType<Request["formData"]>>;
  try {
    form = await req.formData();
  } catch (e) {
    throw S3Errors.MalformedPOSTRequest("the body of your POST request is not well-formed multipart/form-data", { cause: e });
  }
  const fields = new Map<string, string>();
  let file: File | undefined;
  for (const [name, value] of form.entries()) {
    const n = name.toLowerCase();
    if (n === "file") {
      if (typeof value === "string") file = new File([value], "");
      else file = value as File;
    } else if (typeof value === "string") fields.set(n, value);
  }
  if (!file) throw S3Errors.InvalidArgument("POST requires exactly one file upload per request", { details: { argumentName: "file" } });
  const rawKey = fields.get("key");
  if (rawKey === undefined) throw S3Errors.InvalidArgument("Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.", { details: { argumentName: "key" } });
  const key = rawKey.replaceAll("${filename}", file.name);
  fields.set("bucket", bucketName);
  const policy = fields.get("policy");
  if (!policy) throw S3Errors.AccessDenied("anonymous POST uploads are not allowed: sign a policy");
  if (fields.get("x-amz-algorithm") !== "AWS4-HMAC-SHA256") throw S3Errors.InvalidArgument("only AWS4-HMAC-SHA256 is supported", { details: { argumentName: "x-amz-algorithm" } });
  const cred = /^([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request$/.exec(fields.get("x-amz-credential") ?? "");
  if (!cred) throw S3Errors.InvalidArgument("x-amz-credential must be <key>/<yyyymmdd>/<region>/s3/aws4_request", { details: { argumentName: "x-amz-credential" } });
  const amzDate = fields.get("x-amz-date") ?? "";
  if (!amzDate.startsWith(cred[2]!)) throw S3Errors.InvalidArgument("x-amz-date must match the credential's date", { details: { argumentName: "x-amz-date" } });
  const grant = await o.credentials.lookup(cred[1]!, cred[2]!, cred[3]!, cred[4]!);
  const want = createHmac("sha256", grant.signingKey).update(policy, "utf8").digest();
  const got = Buffer.from(fields.get("x-amz-signature") ?? "", "hex");
  if (got.length !== want.length || !timingSafeEqual(got, want)) throw S3Errors.SignatureDoesNotMatch("the request signature we calculated does not match the signature you provided");
  const { expiration, conditions } = parsePostPolicy(policy);
  if (expiration <= Date.now()) throw denied("Policy expired.");
  const covered = new Set<string>(["x-amz-signature", "file", "policy"]);
  for (const c of conditions) {
    if ("range" in c) {
      if (file.size < c.range[0]) throw S3Errors.EntityTooSmall("your proposed upload is smaller than the minimum allowed size");
      if (file.size > c.range[1]) throw S3Errors.EntityTooLarge("your proposed upload exceeds the maximum allowed size");
      continue;
    }
    covered.add(c.field);
    const v = c.field === "key" ? rawKey : fields.get(c.field);
    if (!c.check(v)) throw denied(c.describe);
  }
  const extra = [...fields.keys()].filter((f) => !covered.has(f) && !f.startsWith("x-ignore-") && f !== "bucket");
  if (extra.length) throw denied(`Extra input fields: ${extra.join(", ")}`);
  const b = await o.svc.bucket(grant.caller, bucketName, "lightningstor:object:create", { action: "s3:PutObject", key });
  const headers: Record<string, string> = {};
  for (const h of CONTENT_HEADERS) {
    const v = fields.get(h);
    if (v !== undefined) headers[h] = v;
  }
  if (headers["content-type"] === undefined && file.type) headers["content-type"] = file.type;
  const userMeta: Record<string, string> = {};
  for (const [k, v] of fields) if (k.startsWith("x-amz-meta-")) userMeta[k.slice(11)] = v;
  const tagging = fields.get("tagging");
  const tags = tagging ? parseTagging(parseXml(tagging, "Tagging")) : undefined;
  const payload = new Payload({ headers: new Headers({ "content-length": String(file.size) }), body: file.stream(), maxSize: max });
  const meta = await o.svc.putObject(grant.caller, b, key, payload, { headers, userMeta, ...(tags ? { tags } : {}) });
  const location = `${new URL(req.url).origin}/${bucketName}/${encodeURIComponent(key).replace(/%2F/g, "/")}`;
  const out: Record<string, string> = { etag: quoted(meta.etag), location };
  if (o.svc.versioning(b) !== "") out["x-amz-version-id"] = versionIdOf(meta);
  const redirect = fields.get("success_action_redirect") ?? fields.get("redirect");
  if (redirect) {
    try {
      const u = new URL(redirect);
      u.searchParams.set("bucket", bucketName);
      u.searchParams.set("key", key);
      u.searchParams.set("etag", quoted(meta.etag));
      return new Response(null, { status: 303, headers: { ...out, location: u.toString() } });
    } catch {
      // S3 ignores a redirect that is not a URL and answers with the status instead.
    }
  }
  const status = fields.get("success_action_status");
  if (status === "201") return xml("PostResponse", { Location: location, Bucket: bucketName, Key: key, ETag: quoted(meta.etag) }, 201, out);
  if (status === "200") return new Response(null, { status: 200, headers: out });
  return new Response(null, { status: 204, headers: out });
}
