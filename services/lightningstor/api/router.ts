/**
 * The S3 REST entry point: finds the bucket and key (path-style `/bucket/key`, or
 * virtual-hosted-style `bucket.<domain>/key` when a domain is configured), authenticates the
 * request (SigV4 header or presigned URL, through iam's signing keys; or an iam bearer token, for
 * the `photon` CLI), picks the operation from method and sub-resource, authorises it on the
 * bucket, and answers errors with S3's XML error documents. Nothing a client sends crashes it:
 * every failure becomes an error document.
 */
import { PhotonError } from "../../../lib/errors.ts";
import type { Logger } from "../../../lib/log.ts";
import type { GuardCaller, IamGuard } from "../../iam/guard.ts";
import type { S3Credentials } from "../credentials.ts";
import { S3Errors } from "../errors.ts";
import { ANONYMOUS, type LightningstorService } from "../service.ts";
import { parseQuery, readSignature, verifySignature, type RequestParts } from "../sigv4.ts";
import * as buckets from "./buckets.ts";
import * as config from "./config.ts";
import { corsFor, preflight } from "./cors-http.ts";
import * as versions from "./versions.ts";
import { errorResponse, type S3Context } from "./context.ts";
import * as mp from "./multipart.ts";
import * as objects from "./objects.ts";
import { postObject } from "./post.ts";

/** What the router needs. */
export interface S3RouterOptions {
  svc: LightningstorService;
  credentials: S3Credentials;
  guard: IamGuard;
  logger: Logger;
  /** Virtual-hosted-style base domain (`s3.example.com`); path-style always works. */
  domain?: string;
  maxObjectSize: number;
}

/** The raw path and query of a request URL, as sent. */
function splitTarget(url: string): { rawPath: string; rawQuery: string } {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  const target = start < 0 ? "/" : url.slice(start);
  const q = target.indexOf("?");
  return q < 0 ? { rawPath: target, rawQuery: "" } : { rawPath: target.slice(0, q), rawQuery: target.slice(q + 1) };
}

function decodePath(p: string): string {
  try {
    return decodeURIComponent(p);
  } catch {
    throw S3Errors.InvalidArgument("malformed percent-encoding in the path");
  }
}

type Handler = (ctx: S3Context) => Promise<Response> | Response;

/** Builds the fetch handler. */
export function s3Handler(o: S3RouterOptions): (req: Request, sourceIp?: string) => Promise<Response> {
  const { svc } = o;
  const onBucket = (action: string, s3Action: string, fn: (ctx: S3Context, b: Awaited<ReturnType<LightningstorService["bucket"]>>) => Promise<Response> | Response): Handler => async (ctx) => {
    const context: Record<string, string | undefined> = { "aws:securetransport": String(ctx.req.url.startsWith("https:")) };
    for (const k of ["prefix", "delimiter", "max-keys"]) if (ctx.query.has(k)) context[`s3:${k}`] = ctx.query.get(k);
    if (ctx.sourceIp) context["aws:sourceip"] = ctx.sourceIp;
    return fn(ctx, await svc.bucket(ctx.caller, ctx.bucket!, action, { action: s3Action, ...(ctx.key !== undefined ? { key: ctx.key } : {}), context }));
  };
  const BG = "lightningstor:bucket:get";
  const BU = "lightningstor:bucket:update";

  function route(ctx: S3Context): Handler {
    const q = ctx.query;
    const m = ctx.method;
    if (!ctx.bucket) {
      if (m === "GET") return buckets.listBuckets;
      throw S3Errors.MethodNotAllowed("the specified method is not allowed against this resource");
    }
    if (ctx.key === undefined) {
      for (const sub of ["website", "replication", "encryption", "notification", "object-lock", "logging", "ownershipControls", "publicAccessBlock", "accelerate", "requestPayment", "analytics", "metrics", "inventory", "intelligent-tiering"]) {
        if (q.has(sub)) throw S3Errors.NotImplemented(`the bucket ${sub} API is not implemented yet`);
      }
      const settings = [["tagging", "Tagging", config.getBucketTagging, config.putBucketTagging], ["cors", "CORS", config.getBucketCors, config.putBucketCors], ["lifecycle", "LifecycleConfiguration", config.getBucketLifecycle, config.putBucketLifecycle], ["policy", "Policy", config.getBucketPolicy, config.putBucketPolicy]] as const;
      for (const [sub, name, get, put] of settings) {
        if (!q.has(sub)) continue;
        const s3Name = (verb: string) => (sub === "lifecycle" ? `s3:${verb}${name}` : `s3:${verb}Bucket${name}`);
        if (m === "GET") return onBucket(BG, s3Name("Get"), get);
        if (m === "PUT") return onBucket(BU, s3Name("Put"), put);
        if (m === "DELETE") return onBucket(BU, sub === "lifecycle" ? "s3:PutLifecycleConfiguration" : s3Name("Delete"), config.deleteBucketSetting(sub));
        throw S3Errors.MethodNotAllowed("the specified method is not allowed against this resource");
      }
      if (m === "PUT" && q.has("acl")) throw S3Errors.NotImplemented("changing ACLs is not implemented yet");
      if (m === "PUT" && q.has("versioning")) return onBucket(BU, "s3:PutBucketVersioning", versions.putVersioning);
      if (m === "GET" && q.has("location")) return onBucket(BG, "s3:GetBucketLocation", buckets.bucketLocation);
      if (m === "GET" && q.has("versioning")) return onBucket(BG, "s3:GetBucketVersioning", versions.getVersioning);
      if (m === "GET" && q.has("versions")) return onBucket("lightningstor:object:list", "s3:ListBucketVersions", versions.listVersions);
      if (m === "GET" && q.has("acl")) return onBucket(BG, "s3:GetBucketAcl", (c) => buckets.bucketAcl(c));
      if (m === "GET" && q.has("uploads")) return onBucket("lightningstor:object:list", "s3:ListBucketMultipartUploads", mp.listUploads);
      if (m === "GET") return onBucket("lightningstor:object:list", "s3:ListBucket", buckets.listObjects);
      if (m === "PUT") return buckets.createBucket;
      if (m === "HEAD") return buckets.headBucket;
      if (m === "DELETE") return buckets.deleteBucket;
      if (m === "POST" && q.has("delete")) return onBucket("lightningstor:object:delete", "s3:DeleteObject", buckets.deleteObjects);
      throw S3Errors.MethodNotAllowed("the specified method is not allowed against this resource");
    }
    for (const sub of ["retention", "legal-hold", "torrent", "restore", "select", "attributes"]) {
      if (q.has(sub)) throw S3Errors.NotImplemented(`the object ${sub} API is not implemented yet`);
    }
    const V = q.has("versionId") ? "Version" : "";
    if (q.has("tagging")) {
      if (m === "GET") return onBucket("lightningstor:object:get", `s3:GetObject${V}Tagging`, versions.getObjectTagging);
      if (m === "PUT") return onBucket("lightningstor:object:create", `s3:PutObject${V}Tagging`, versions.putObjectTagging);
      if (m === "DELETE") return onBucket("lightningstor:object:delete", `s3:DeleteObject${V}Tagging`, versions.deleteObjectTagging);
      throw S3Errors.MethodNotAllowed("the specified method is not allowed against this resource");
    }
    if (m === "GET" && q.has("acl")) return onBucket("lightningstor:object:get", "s3:GetObjectAcl", (c) => buckets.bucketAcl(c));
    if (m === "PUT" && q.has("acl")) throw S3Errors.NotImplemented("changing ACLs is not implemented yet");
    if (q.has("uploadId")) {
      if (m === "PUT") return onBucket("lightningstor:object:create", "s3:PutObject", mp.uploadPart);
      if (m === "POST") return onBucket("lightningstor:object:create", "s3:PutObject", mp.completeUpload);
      if (m === "DELETE") return onBucket("lightningstor:object:delete", "s3:AbortMultipartUpload", mp.abortUpload);
      if (m === "GET") return onBucket("lightningstor:object:list", "s3:ListMultipartUploadParts", mp.listParts);
    }
    if (m === "POST" && q.has("uploads")) return onBucket("lightningstor:object:create", "s3:PutObject", mp.createUpload);
    if (m === "GET") return onBucket("lightningstor:object:get", `s3:GetObject${V}`, (c, b) => objects.getObject(c, b, false));
    if (m === "HEAD") return onBucket("lightningstor:object:get", `s3:GetObject${V}`, (c, b) => objects.getObject(c, b, true));
    if (m === "PUT" && ctx.headers.has("x-amz-copy-source")) return onBucket("lightningstor:object:create", "s3:PutObject", objects.copyObject);
    if (m === "PUT") return onBucket("lightningstor:object:create", "s3:PutObject", objects.putObject);
    if (m === "DELETE") return onBucket("lightningstor:object:delete", `s3:DeleteObject${V}`, objects.deleteObject);
    throw S3Errors.MethodNotAllowed("the specified method is not allowed against this resource");
  }

  async function authenticate(req: Request, parts: RequestParts, query: [string, string][]): Promise<Pick<S3Context, "caller" | "sig" | "signingKey">> {
    const auth = req.headers.get("authorization");
    if (auth?.startsWith("Bearer ")) {
      try {
        const caller: GuardCaller = await o.guard.authenticate(auth.slice(7).trim());
        return { caller };
      } catch (e) {
        throw e instanceof PhotonError && e.code === "PHOTON:Unavailable" ? S3Errors.ServiceUnavailable("iam is unavailable") : S3Errors.AccessDenied("the bearer token is not valid", { cause: e });
      }
    }
    const sig = readSignature(parts, query);
    if (!sig) return { caller: ANONYMOUS }; // refused unless a bucket policy allows "*" (service.bucket)
    const grant = await o.credentials.lookup(sig.accessKeyId, sig.date, sig.region, sig.service);
    verifySignature(parts, sig, query, grant.signingKey);
    return { caller: grant.caller, sig, signingKey: grant.signingKey };
  }

  return async (req: Request, sourceIp?: string): Promise<Response> => {
    const requestId = Buffer.from(crypto.getRandomValues(new Uint8Array(8))).toString("hex").toUpperCase();
    const { rawPath, rawQuery } = splitTarget(req.url);
    let resource = rawPath;
    let bucket: string | undefined;
    try {
      const query = parseQuery(rawQuery);
      const parts: RequestParts = { method: req.method, rawPath, rawQuery, headers: req.headers };
      const path = decodePath(rawPath);
      resource = path;
      const host = (req.headers.get("host") ?? "").replace(/:\d+$/, "").toLowerCase();
      let key: string | undefined;
      if (o.domain && host.endsWith(`.${o.domain}`)) {
        bucket = host.slice(0, -o.domain.length - 1);
        key = path.length > 1 ? path.slice(1) : undefined;
      } else {
        const m = /^\/([^/]+)(?:\/(.*))?$/s.exec(path);
        if (m) {
          bucket = m[1];
          key = m[2] === undefined || m[2] === "" ? undefined : m[2];
        }
      }
      if (req.method === "POST" && bucket && key === undefined && /^multipart\/form-data/i.test(req.headers.get("content-type") ?? "") && !query.some(([k]) => k === "delete")) {
        const res = await postObject(req, bucket, { svc, credentials: o.credentials, requestId });
        res.headers.set("x-amz-request-id", requestId);
        for (const [k, v] of Object.entries(await corsFor(svc, req, bucket))) res.headers.set(k, v);
        return res;
      }
      if (req.method === "OPTIONS") {
        const res = await preflight(svc, req, bucket);
        res.headers.set("x-amz-request-id", requestId);
        return res;
      }
      const who = await authenticate(req, parts, query);
      const ctx: S3Context = { req, method: req.method, query: new Map(query), headers: req.headers, requestId, svc, maxObjectSize: o.maxObjectSize, ...who, ...(bucket ? { bucket } : {}), ...(key !== undefined ? { key } : {}), ...(sourceIp ? { sourceIp } : {}) };
      const res = await route(ctx)(ctx);
      res.headers.set("x-amz-request-id", requestId);
      if (req.headers.has("origin")) for (const [k, v] of Object.entries(await corsFor(svc, req, bucket))) res.headers.set(k, v);
      return res;
    } catch (e) {
      const { response, internal } = errorResponse(e, req.method, resource, requestId);
      if (internal) o.logger.error("request failed", { method: req.method, path: resource, requestId, error: e, stack: e instanceof Error ? e.stack : undefined });
      // Drain what the client still sends so the connection stays usable.
      req.body?.cancel().catch(() => {});
      if (req.method !== "OPTIONS" && req.headers.has("origin")) for (const [k, v] of Object.entries(await corsFor(svc, req, bucket))) response.headers.set(k, v);
      return response;
    }
  };
}
