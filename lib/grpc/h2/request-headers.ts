/**
 * Turns a decoded request header list into the headers object handlers see (as node:http2
 * builds it: lowercase names, null prototype, repeated fields joined with ", "), rejecting what
 * RFC 9113 8.2-8.3 calls malformed.
 */
import type { IncomingHttpHeaders } from "node:http2";
import type { HeaderField } from "./hpack.ts";

const REQUEST_PSEUDO = new Set([":method", ":path", ":scheme", ":authority"]);
const CONNECTION_SPECIFIC = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"]);

/**
 * The headers of a request, or null when the list is malformed (the stream is then reset with
 * PROTOCOL_ERROR): pseudo-headers after regular ones, repeated, unknown or response ones;
 * uppercase names; connection-specific fields; `te` other than "trailers"; a missing
 * `:method`, `:path` or `:scheme`.
 */
export function requestHeaders(fields: HeaderField[]): IncomingHttpHeaders | null {
  const headers = Object.create(null) as IncomingHttpHeaders;
  let regularSeen = false;
  for (const [name, value] of fields) {
    if (name.charCodeAt(0) === 58 /* : */) {
      if (regularSeen || headers[name] !== undefined || !REQUEST_PSEUDO.has(name)) return null;
      headers[name] = value;
      continue;
    }
    regularSeen = true;
    if (name !== name.toLowerCase() || CONNECTION_SPECIFIC.has(name) || (name === "te" && value !== "trailers")) return null;
    const prev = headers[name];
    headers[name] = prev === undefined ? value : `${String(prev)}, ${value}`;
  }
  if (headers[":method"] === undefined || headers[":path"] === undefined || headers[":scheme"] === undefined) return null;
  return headers;
}
