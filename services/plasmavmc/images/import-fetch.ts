/**
 * Fetches an image for an import through the import policy (import-policy.ts): each hop's URL
 * is checked, the connection goes to the checked address only (node:http's `lookup` answers with
 * it, so TLS still verifies the certificate against the URL's host name), and redirects are
 * followed by hand — at most 5, each one checked like the first — so neither a DNS answer that
 * changes after the check nor a redirect can lead plasmavmc to a forbidden address.
 */
import http from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";
import { Readable } from "node:stream";
import { PlasmavmcErrors } from "../errors.ts";
import type { CheckedTarget, ImportPolicy } from "./import-policy.ts";

/** A successful answer: the body and its announced length. */
export interface ImportResponse {
  url: URL;
  body: ReadableStream<Uint8Array>;
  /** `Content-Length`, when given. */
  length?: number;
}

const MAX_REDIRECTS = 5;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * GETs `url` under `policy`, following up to 5 checked redirects.
 * @throws PLASMAVMC:ImportForbidden (a hop leads to a forbidden address), PLASMAVMC:InvalidArgument
 *   (a hop is not http(s), too many redirects), PLASMAVMC:Unavailable (resolution, connection or
 *   an HTTP error status, with the status in the message).
 */
export async function fetchForImport(url: URL, policy: ImportPolicy, o: { idleTimeoutMs?: number } = {}): Promise<ImportResponse> {
  let target = await policy.check(url);
  for (let hop = 0; ; hop++) {
    const res = await get(target, o.idleTimeoutMs ?? 30_000);
    const status = res.statusCode ?? 0;
    if (REDIRECTS.has(status) && res.headers.location) {
      res.resume();
      if (hop >= MAX_REDIRECTS) throw PlasmavmcErrors.InvalidArgument(`fetching ${url} was redirected more than ${MAX_REDIRECTS} times`, { details: { field: "url" } });
      let next: URL;
      try {
        next = new URL(res.headers.location, target.url);
      } catch {
        throw PlasmavmcErrors.Unavailable(`fetching ${target.url} redirected to an invalid URL ${JSON.stringify(res.headers.location)}`);
      }
      target = await policy.check(next);
      continue;
    }
    if (status < 200 || status > 299) {
      res.resume();
      throw PlasmavmcErrors.Unavailable(`fetching ${target.url} answered HTTP ${status}`, { details: { status } });
    }
    const len = Number(res.headers["content-length"] ?? "NaN");
    return { url: target.url, body: Readable.toWeb(res) as ReadableStream<Uint8Array>, ...(Number.isSafeInteger(len) ? { length: len } : {}) };
  }
}

/** One GET to the checked address of `t`. */
function get(t: CheckedTarget, idleTimeoutMs: number): Promise<http.IncomingMessage> {
  const pinned = t.addresses[0]!;
  const lookup: LookupFunction = (_host, opts, cb) => {
    if ((opts as { all?: boolean }).all) (cb as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [pinned]);
    else cb(null, pinned.address, pinned.family);
  };
  const lib = t.url.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(t.url, { method: "GET", lookup, headers: { "user-agent": "photoncloud-plasmavmc-image-import" } }, resolve);
    req.setTimeout(idleTimeoutMs, () => req.destroy(new Error(`no answer within ${idleTimeoutMs} ms`)));
    req.on("error", (e) => reject(PlasmavmcErrors.Unavailable(`cannot fetch ${t.url}: ${e.message}`, { cause: e })));
    req.end();
  });
}
