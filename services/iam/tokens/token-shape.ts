/**
 * Cheap checks on an untrusted compact JWS before any decoding or crypto: a bounded size, exactly
 * three base64url segments, a JSON header object. They turn garbage into clear errors and keep
 * oversized input from reaching the parser.
 */
import { IamErrors } from "../errors.ts";

const SEGMENT = /^[A-Za-z0-9_-]+$/;

/**
 * @throws IAM:InvalidToken saying what is wrong: missing, too large, not three segments, not
 *   base64url, or a header that is not a JSON object.
 */
export function checkTokenShape(token: unknown, maxBytes: number): void {
  if (typeof token !== "string" || token.length === 0) throw IamErrors.InvalidToken("access token is missing");
  if (token.length > maxBytes) {
    throw IamErrors.InvalidToken(`access token is too large (${token.length} bytes; at most ${maxBytes})`, { details: { size: token.length, max: maxBytes } });
  }
  const parts = token.split(".");
  if (parts.length !== 3) throw IamErrors.InvalidToken(`access token is malformed: expected 3 dot-separated segments, got ${parts.length}`);
  if (!parts.every((p) => SEGMENT.test(p))) throw IamErrors.InvalidToken("access token is malformed: segments must be non-empty base64url");
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(parts[0]!, "base64url").toString("utf8"));
  } catch {
    throw IamErrors.InvalidToken("access token is malformed: header is not JSON");
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) throw IamErrors.InvalidToken("access token is malformed: header is not a JSON object");
}
