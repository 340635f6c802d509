/**
 * AWS Signature Version 4 as S3 uses it: parsing the `Authorization` header or a presigned
 * URL's `X-Amz-*` query, the canonical request, the string to sign and the signature, computed
 * from a *signing key* (iam derives it for the request's day and region; the secret never
 * reaches lightningstor). Clock skew beyond 15 minutes is refused, as are expired presigned URLs.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { S3Errors } from "./errors.ts";

/** Largest clock difference accepted (S3: 15 minutes). */
export const MAX_SKEW_MS = 15 * 60_000;
/** Longest presigned URL lifetime (S3: 7 days). */
export const MAX_PRESIGN_S = 604_800;
/** SHA-256 of the empty string. */
export const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/** What a request's signature claims. */
export interface SignedRequest {
  accessKeyId: string;
  /** `YYYYMMDD` of the credential scope. */
  date: string;
  region: string;
  service: string;
  /** `YYYYMMDDTHHMMSSZ`. */
  amzDate: string;
  signedHeaders: string[];
  signature: string;
  presigned: boolean;
  /** The payload hash the signature covers: hex, `UNSIGNED-PAYLOAD` or a `STREAMING-*` mode. */
  payloadHash: string;
}

/** The parts of an HTTP request SigV4 covers. */
export interface RequestParts {
  method: string;
  /** The path exactly as sent (still percent-encoded). */
  rawPath: string;
  /** The query string as sent, without `?`. */
  rawQuery: string;
  headers: Headers;
}

/** RFC 3986 encoding as SigV4 wants it (unreserved characters kept, `/` kept in paths). */
export function uriEncode(s: string, keepSlash: boolean): string {
  const e = encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return keepSlash ? e.replace(/%2F/g, "/") : e;
}

function decode(s: string, what: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw S3Errors.InvalidArgument(`malformed percent-encoding in the ${what}`);
  }
}

/** The query's parameters, decoded, in order (a name without `=` has the value ""). */
export function parseQuery(rawQuery: string): [string, string][] {
  if (!rawQuery) return [];
  return rawQuery.split("&").filter((p) => p !== "").map((p) => {
    const i = p.indexOf("=");
    return i < 0 ? [decode(p, "query"), ""] : [decode(p.slice(0, i), "query"), decode(p.slice(i + 1), "query")];
  });
}

const hmac = (key: Buffer | string, data: string): Buffer => createHmac("sha256", key).update(data, "utf8").digest();
const sha256Hex = (data: string): string => createHash("sha256").update(data, "utf8").digest("hex");

const CREDENTIAL = /^([A-Za-z0-9]{1,128})\/(\d{8})\/([a-z0-9-]{1,64})\/([a-z0-9-]{1,32})\/aws4_request$/;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/** ms since the epoch of an `YYYYMMDDTHHMMSSZ` date, or NaN. */
export function parseAmzDate(s: string): number {
  const m = AMZ_DATE.exec(s);
  return m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) : NaN;
}

function credential(value: string, error: (m: string) => Error): { accessKeyId: string; date: string; region: string; service: string } {
  const m = CREDENTIAL.exec(value);
  if (!m) throw error(`the credential ${JSON.stringify(value.slice(0, 200))} must be <access key>/<YYYYMMDD>/<region>/<service>/aws4_request`);
  return { accessKeyId: m[1]!, date: m[2]!, region: m[3]!, service: m[4]! };
}

/**
 * Reads the signature a request claims, or undefined for an anonymous request.
 * @throws S3:AuthorizationHeaderMalformed / S3:AuthorizationQueryParametersError for malformed
 *   ones, S3:RequestTimeTooSkewed, S3:AccessDenied (expired presigned URL), S3:InvalidRequest
 *   (Signature Version 2, which is not supported).
 */
export function readSignature(req: RequestParts, query: readonly [string, string][], now = Date.now()): SignedRequest | undefined {
  const auth = req.headers.get("authorization");
  const q = new Map(query);
  if (auth !== null) {
    if (auth.startsWith("AWS ")) throw S3Errors.InvalidRequest("Signature Version 2 is not supported: use AWS4-HMAC-SHA256");
    const m = /^AWS4-HMAC-SHA256\s+(.*)$/s.exec(auth);
    if (!m) throw S3Errors.AuthorizationHeaderMalformed("the authorization header must use AWS4-HMAC-SHA256");
    const parts = new Map<string, string>();
    for (const p of m[1]!.split(",")) {
      const i = p.indexOf("=");
      if (i > 0) parts.set(p.slice(0, i).trim(), p.slice(i + 1).trim());
    }
    const cred = credential(parts.get("Credential") ?? "", (msg) => S3Errors.AuthorizationHeaderMalformed(msg));
    const signedHeaders = (parts.get("SignedHeaders") ?? "").split(";").filter(Boolean);
    const signature = parts.get("Signature") ?? "";
    if (!signedHeaders.length || !/^[0-9a-f]{64}$/.test(signature)) throw S3Errors.AuthorizationHeaderMalformed("the authorization header needs SignedHeaders and a 64-hex Signature");
    if (!signedHeaders.includes("host")) throw S3Errors.AuthorizationHeaderMalformed("the host header must be signed");
    const amzDate = req.headers.get("x-amz-date") ?? "";
    let at = parseAmzDate(amzDate);
    if (Number.isNaN(at)) {
      const d = Date.parse(req.headers.get("date") ?? "");
      if (Number.isNaN(d)) throw S3Errors.AccessDenied("AWS authentication requires a valid Date or x-amz-date header");
      at = d;
    }
    if (Math.abs(now - at) > MAX_SKEW_MS) throw S3Errors.RequestTimeTooSkewed("the difference between the request time and the current time is too large");
    const payloadHash = req.headers.get("x-amz-content-sha256");
    if (payloadHash === null) throw S3Errors.MissingSecurityHeader("x-amz-content-sha256 is required with AWS4-HMAC-SHA256");
    return { ...cred, amzDate: amzDate || new Date(at).toISOString().replace(/[-:]|\.\d{3}/g, ""), signedHeaders, signature, presigned: false, payloadHash };
  }
  if (!q.has("X-Amz-Signature") && !q.has("X-Amz-Credential")) {
    if (q.has("Signature") && q.has("AWSAccessKeyId")) throw S3Errors.InvalidRequest("Signature Version 2 is not supported: use AWS4-HMAC-SHA256");
    return undefined;
  }
  const bad = (msg: string) => S3Errors.AuthorizationQueryParametersError(msg);
  if (q.get("X-Amz-Algorithm") !== "AWS4-HMAC-SHA256") throw bad("X-Amz-Algorithm must be AWS4-HMAC-SHA256");
  const cred = credential(q.get("X-Amz-Credential") ?? "", bad);
  const amzDate = q.get("X-Amz-Date") ?? "";
  const at = parseAmzDate(amzDate);
  if (Number.isNaN(at)) throw bad("X-Amz-Date must be YYYYMMDDTHHMMSSZ");
  const expires = Number(q.get("X-Amz-Expires"));
  if (!Number.isInteger(expires) || expires < 1 || expires > MAX_PRESIGN_S) throw bad(`X-Amz-Expires must be 1..${MAX_PRESIGN_S} seconds`);
  if (at - now > MAX_SKEW_MS) throw S3Errors.RequestTimeTooSkewed("the presigned URL is dated in the future");
  if (now > at + expires * 1000) throw S3Errors.AccessDenied("Request has expired");
  const signedHeaders = (q.get("X-Amz-SignedHeaders") ?? "").split(";").filter(Boolean);
  const signature = q.get("X-Amz-Signature") ?? "";
  if (!signedHeaders.includes("host") || !/^[0-9a-f]{64}$/.test(signature)) throw bad("X-Amz-SignedHeaders must include host and X-Amz-Signature be 64 hex digits");
  return { ...cred, amzDate, signedHeaders, signature, presigned: true, payloadHash: req.headers.get("x-amz-content-sha256") ?? "UNSIGNED-PAYLOAD" };
}

/** The canonical query string (the presigned signature itself left out). */
export function canonicalQuery(query: readonly [string, string][]): string {
  return query
    .filter(([k]) => k !== "X-Amz-Signature")
    .map(([k, v]) => [uriEncode(k, false), uriEncode(v, false)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
}

/** The canonical request for one candidate canonical URI. */
export function canonicalRequest(req: RequestParts, sig: SignedRequest, canonicalUri: string, canonicalQueryString: string): string {
  const headers = sig.signedHeaders.map((h) => `${h}:${(req.headers.get(h) ?? "").trim().replace(/\s+/g, " ")}\n`).join("");
  return `${req.method}\n${canonicalUri}\n${canonicalQueryString}\n${headers}\n${sig.signedHeaders.join(";")}\n${sig.payloadHash}`;
}

/** The credential scope `date/region/service/aws4_request`. */
export function scopeOf(sig: Pick<SignedRequest, "date" | "region" | "service">): string {
  return `${sig.date}/${sig.region}/${sig.service}/aws4_request`;
}

/** Hex HMAC of `data` under `key`. */
export function hmacHex(key: Buffer, data: string): string {
  return createHmac("sha256", key).update(data, "utf8").digest("hex");
}

/** Constant-time equality of two hex signatures. */
export function sameSignature(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

/**
 * Checks the request's signature with the signing key of its scope. The canonical URI is tried
 * as sent and, when it differs, re-encoded from its decoded form (clients disagree on which
 * characters to escape; both are what some client signed).
 * @throws S3:SignatureDoesNotMatch.
 */
export function verifySignature(req: RequestParts, sig: SignedRequest, query: readonly [string, string][], signingKey: Buffer): void {
  const cq = canonicalQuery(query);
  const uris = [req.rawPath || "/"];
  const reencoded = uriEncode(decode(req.rawPath || "/", "path"), true);
  if (reencoded !== uris[0]) uris.push(reencoded);
  for (const uri of uris) {
    const sts = `AWS4-HMAC-SHA256\n${sig.amzDate}\n${scopeOf(sig)}\n${sha256Hex(canonicalRequest(req, sig, uri, cq))}`;
    if (sameSignature(hmacHex(signingKey, sts), sig.signature)) return;
  }
  throw S3Errors.SignatureDoesNotMatch("the request signature we calculated does not match the signature you provided; check your key and signing method");
}

/** Computes a signing key from a secret (tests and the client; the server gets it from iam). */
export function signingKeyOf(secret: string, date: string, region: string, service: string): Buffer {
  return hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), "aws4_request");
}
