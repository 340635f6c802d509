/**
 * S3 tags: the `x-amz-tagging` header (a URL query string) and the `<Tagging><TagSet>` document,
 * validated as S3 does (at most 10 tags on an object and 50 on a bucket, keys 1-128 and values
 * 0-256 characters, keys unique, no `aws:` prefix).
 */
import { S3Errors } from "./errors.ts";

/** An array of what XML parsing gave (one element or many). */
export function asArray<T = unknown>(v: unknown): T[] {
  return v === undefined || v === null || v === "" ? [] : Array.isArray(v) ? (v as T[]) : [v as T];
}

function check(pairs: [string, string][], max: number): Record<string, string> {
  if (pairs.length > max) throw S3Errors.BadRequest(`Object tags cannot be greater than ${max}`);
  const out: Record<string, string> = {};
  for (const [k, v] of pairs) {
    if (k.length < 1 || k.length > 128) throw S3Errors.InvalidTag("The TagKey you have provided is invalid");
    if (v.length > 256) throw S3Errors.InvalidTag("The TagValue you have provided is invalid");
    if (k.toLowerCase().startsWith("aws:")) throw S3Errors.InvalidTag("Your TagKey cannot be prefixed with aws:");
    if (Object.hasOwn(out, k)) throw S3Errors.InvalidTag("Cannot provide multiple Tags with the same key");
    out[k] = v;
  }
  return out;
}

/** Tags from `x-amz-tagging` (`k1=v1&k2=v2`). @throws S3:InvalidTag, S3:BadRequest. */
export function parseTagHeader(header: string, max = 10): Record<string, string> {
  return check([...new URLSearchParams(header)], max);
}

/** Tags from a parsed `<Tagging>` document. @throws S3:MalformedXML, S3:InvalidTag. */
export function parseTagging(doc: Record<string, unknown>, max = 10): Record<string, string> {
  const set = doc.TagSet as Record<string, unknown> | undefined | "";
  if (set === undefined) throw S3Errors.MalformedXML("the XML you provided was not well-formed or did not validate against our published schema");
  const pairs = asArray<Record<string, unknown>>(set === "" ? undefined : set.Tag).map((t): [string, string] => {
    if (typeof t !== "object" || t === null || typeof t.Key !== "string") throw S3Errors.MalformedXML("each Tag needs a Key and a Value");
    return [t.Key, typeof t.Value === "string" ? t.Value : ""];
  });
  return check(pairs, max);
}

/** The `<Tagging>` body of tags. */
export function taggingBody(tags: Record<string, string> | undefined): Record<string, unknown> {
  return { TagSet: { Tag: Object.entries(tags ?? {}).map(([Key, Value]) => ({ Key, Value })) } };
}
