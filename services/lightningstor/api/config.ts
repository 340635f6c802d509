/** Bucket settings: tagging, CORS, lifecycle and policy (Get/Put/Delete each), kept in the metadata store. */
import { corsBody, parseCors, type CorsRule } from "../cors.ts";
import { S3Errors } from "../errors.ts";
import { lifecycleBody, parseLifecycle, type LifecycleRule } from "../lifecycle.ts";
import { readSmallBody } from "../payload.ts";
import { parsePolicy } from "../policy.ts";
import { parseTagging, taggingBody } from "../tags.ts";
import type { Bucket } from "../types.ts";
import { payloadOf, xml, type S3Context } from "./context.ts";
import { parseXml } from "./xml.ts";

const body = (ctx: S3Context, max = 256 * 1024) => readSmallBody(payloadOf(ctx, max));
const get = (ctx: S3Context, b: Bucket, name: string) => ctx.svc.store.getConfig(b.id, name);
const set = (ctx: S3Context, b: Bucket, name: string, v: string | undefined) => ctx.svc.store.setConfig(b.id, name, v);
const noContent = () => new Response(null, { status: 204 });

/** GET /bucket?tagging */
export function getBucketTagging(ctx: S3Context, b: Bucket): Response {
  const t = get(ctx, b, "tagging");
  if (!t) throw S3Errors.NoSuchTagSet("The TagSet does not exist", { details: { bucketName: b.name } });
  return xml("Tagging", taggingBody(JSON.parse(t) as Record<string, string>));
}

/** PUT /bucket?tagging */
export async function putBucketTagging(ctx: S3Context, b: Bucket): Promise<Response> {
  const tags = parseTagging(parseXml(await body(ctx), "Tagging"), 50);
  set(ctx, b, "tagging", JSON.stringify(tags));
  return noContent();
}

/** GET /bucket?cors */
export function getBucketCors(ctx: S3Context, b: Bucket): Response {
  const t = get(ctx, b, "cors");
  if (!t) throw S3Errors.NoSuchCORSConfiguration("The CORS configuration does not exist", { details: { bucketName: b.name } });
  return xml("CORSConfiguration", corsBody(JSON.parse(t) as CorsRule[]));
}

/** PUT /bucket?cors */
export async function putBucketCors(ctx: S3Context, b: Bucket): Promise<Response> {
  const rules = parseCors(parseXml(await body(ctx), "CORSConfiguration"));
  set(ctx, b, "cors", JSON.stringify(rules));
  return new Response(null, { status: 200 });
}

/** GET /bucket?lifecycle */
export function getBucketLifecycle(ctx: S3Context, b: Bucket): Response {
  const t = get(ctx, b, "lifecycle");
  if (!t) throw S3Errors.NoSuchLifecycleConfiguration("The lifecycle configuration does not exist", { details: { bucketName: b.name } });
  return xml("LifecycleConfiguration", lifecycleBody(JSON.parse(t) as LifecycleRule[]));
}

/** PUT /bucket?lifecycle */
export async function putBucketLifecycle(ctx: S3Context, b: Bucket): Promise<Response> {
  const rules = parseLifecycle(parseXml(await body(ctx), "LifecycleConfiguration"));
  set(ctx, b, "lifecycle", JSON.stringify(rules));
  return new Response(null, { status: 200 });
}

/** GET /bucket?policy: the document as it was put. */
export function getBucketPolicy(ctx: S3Context, b: Bucket): Response {
  const t = get(ctx, b, "policy");
  if (!t) throw S3Errors.NoSuchBucketPolicy("The bucket policy does not exist", { details: { bucketName: b.name } });
  return new Response(t, { status: 200, headers: { "content-type": "application/json" } });
}

/** PUT /bucket?policy */
export async function putBucketPolicy(ctx: S3Context, b: Bucket): Promise<Response> {
  const text = await body(ctx, 20 * 1024 + 1);
  parsePolicy(text, b.name);
  set(ctx, b, "policy", text);
  return noContent();
}

/** DELETE /bucket?<setting> for tagging, cors, lifecycle, policy. */
export function deleteBucketSetting(name: "tagging" | "cors" | "lifecycle" | "policy") {
  return (ctx: S3Context, b: Bucket): Response => {
    set(ctx, b, name, undefined);
    return noContent();
  };
}
