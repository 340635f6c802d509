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
import type { LightningstorService } from "../service.ts";
import { parseQuery, readSignature, verifySignature, type RequestParts } from "../sigv4.ts";
import * as buckets from "./buckets.ts";
import { errorResponse, type S3Context } from "./context.ts";
import * as mp from "./multipart.ts";
import * as objects from "./objects.ts";

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
export function s3Handler(o: S3RouterOptions): (req: Request) => Promise<Response> {
  const { svc } = o;
  const onBucket = (action: string, fn: (ctx: S3Context, b: Awaited<ReturnType<LightningstorService["bucket"]>>) => Promise<Response> | Response): Handler => async (ctx) => fn(ctx, await svc.bucket(ctx.caller, ctx.bucket!, action));

  function route(ctx: S3Context): Handler {
    const q = ctx.query;
    const m = ctx.method;
    if (!ctx.bucket) {
      if (m === "GET") return buckets.listBuckets;
      throw S3Errors.MethodNotAllowed("the specified method is not allowed against this resource");
    }
    if (ctx.key === undefined) {
      for (const sub of ["cors", "policy", "tagging", "lifecycle", "website", "replication", "encryption", "notification", "object-lock", "logging", "ownershipControls", "publicAccessBlock", "accelerate", "requestPayment", "analytics", "metrics", "inventory", "intelligent-tiering", "versions"]) {
        if (q.has(sub)) throw S3Errors.NotImplemented(`the bucket ${sub} API is not implemented yet`);
      }
      if (m === "PUT" && (q.has("versioning") || q.has("acl"))) throw S3Errors.NotImplemented("changing versioning or ACLs is not implemented yet");
      if (m === "GET" && q.has("location")) return onBucket("lightningstor:bucket:get", buckets.bucketLocation);
      if (m === "GET" && q.has("versioning")) return onBucket("lightningstor:bucket:get", () => buckets.bucketVersioning());
      if (m === "GET" && q.has("acl")) return onBucket("lightningstor:bucket:get", (c) => buckets.bucketAcl(c));
      if (m === "GET" && q.has("uploads")) return onBucket("lightningstor:object:list", mp.listUploads);
      if (m === "GET") return onBucket("lightningstor:object:list", buckets.listObjects);
      if (m === "PUT") return buckets.createBucket;
      if (m === "HEAD") return buckets.headBucket;
      if (m === "DELETE") return buckets.deleteBucket;
      if (m === "POST" && q.has("delete")) return onBucket("lightningstor:object:delete", buckets.deleteObjects);
      throw S3Errors.MethodNotAllowed("the specified method is not allowed against this resource");
    }
    for (const sub of ["tagging", "retention", "legal-hold", "torrent", "restore", "select", "attributes"]) {
      if (q.has(sub)) throw S3Errors.NotImplemented(`the object ${sub} API is not implemented yet`);
    }
    if (q.has("versionId") && q.get("versionId") !== "null") throw S3Errors.NotImplemented("object versions are not implemented yet");
    if (m === "GET" && q.has("acl")) return onBucket("lightningstor:object:get", (c) => buckets.bucketAcl(c));
    if (m === "PUT" && q.has("acl")) throw S3Errors.NotImplemented("changing ACLs is not implemented yet");
    if (q.has("uploadId")) {
      if (m === "PUT") return onBucket("lightningstor:object:create", mp.uploadPart);
      if (m === "POST") return onBucket("lightningstor:object:create", mp.completeUpload);
      if (m === "DELETE") return onBucket("lightningstor:object:delete", mp.abortUpload);
      if (m === "GET") return onBucket("lightningstor:object:list", mp.listParts);
    }
    if (m === "POST" && q.has("uploads")) return onBucket("lightningstor:object:create", mp.createUpload);
    if (m === "GET") return onBucket("lightningstor:object:get", (c, b) => objects.getObject(c, b, false));
    if (m === "HEAD") return onBucket("lightningstor:object:get", (c, b) => objects.getObject(c, b, true));
    if (m === "PUT" && ctx.headers.has("x-amz-copy-source")) return onBucket("lightningstor:object:create", objects.copyObject);
    if (m === "PUT") return onBucket("lightningstor:object:create", objects.putObject);
    if (m === "DELETE") return onBucket("lightningstor:object:delete", objects.deleteObject);
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
    if (!sig) throw S3Errors.AccessDenied("anonymous access is not allowed: sign the request with an access key");
    const grant = await o.credentials.lookup(sig.accessKeyId, sig.date, sig.region, sig.service);
    verifySignature(parts, sig, query, grant.signingKey);
    return { caller: grant.caller, sig, signingKey: grant.signingKey };
  }

  return async (req: Request): Promise<Response> => {
    const requestId = Buffer.from(crypto.getRandomValues(new Uint8Array(8))).toString("hex").toUpperCase();
    const { rawPath, rawQuery } = splitTarget(req.url);
    let resource = rawPath;
    try {
      const query = parseQuery(rawQuery);
      const parts: RequestParts = { method: req.method, rawPath, rawQuery, headers: req.headers };
      const path = decodePath(rawPath);
      resource = path;
      const host = (req.headers.get("host") ?? "").replace(/:\d+$/, "").toLowerCase();
      let bucket: string | undefined;
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
      const who = await authenticate(req, parts, query);
      const ctx: S3Context = { req, method: req.method, query: new Map(query), headers: req.headers, requestId, svc, maxObjectSize: o.maxObjectSize, ...who, ...(bucket ? { bucket } : {}), ...(key !== undefined ? { key } : {}) };
      const res = await route(ctx)(ctx);
      res.headers.set("x-amz-request-id", requestId);
      return res;
    } catch (e) {
      const { response, internal } = errorResponse(e, req.method, resource, requestId);
      if (internal) o.logger.error("request failed", { method: req.method, path: resource, requestId, error: e, stack: e instanceof Error ? e.stack : undefined });
      // Drain what the client still sends so the connection stays usable.
      req.body?.cancel().catch(() => {});
      return response;
    }
  };
}
