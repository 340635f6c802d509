/** Validation of bucket names and object keys (S3's rules, plus refusing path-like keys). */
import { S3Errors } from "./errors.ts";

/** Bucket names the HTTP server keeps for itself (/healthz, /readyz, /metrics). */
export const RESERVED_BUCKETS: ReadonlySet<string> = new Set(["healthz", "readyz", "metrics"]);

/** Longest key, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;

/** @throws S3:InvalidBucketName unless `name` follows S3's bucket naming rules. */
export function checkBucketName(name: string): string {
  if (
    !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) || name.includes("..") || name.includes(".-") || name.includes("-.") ||
    /^\d+\.\d+\.\d+\.\d+$/.test(name) || name.startsWith("xn--") || name.endsWith("-s3alias") || RESERVED_BUCKETS.has(name)
  ) {
    throw S3Errors.InvalidBucketName(`the specified bucket ${JSON.stringify(name.slice(0, 80))} is not valid`, { details: { bucket: name.slice(0, 80) } });
  }
  return name;
}

/**
 * @throws S3:KeyTooLongError past 1024 bytes; S3:InvalidArgument for an empty key, a NUL or
 *   another control character below 0x09, or a `..` path segment.
 */
export function checkKey(key: string): string {
  if (key.length === 0) throw S3Errors.InvalidArgument("the object key must not be empty");
  if (Buffer.byteLength(key, "utf8") > MAX_KEY_BYTES) throw S3Errors.KeyTooLongError("your key is too long (at most 1024 bytes)");
  if (/[\u0000-\u0008]/.test(key)) throw S3Errors.InvalidArgument("object keys must not contain NUL or control characters");
  if (key.split("/").includes("..")) throw S3Errors.InvalidArgument("object keys must not contain a '..' path segment");
  return key;
}
