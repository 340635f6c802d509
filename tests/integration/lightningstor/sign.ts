/**
 * A minimal SigV4 signer for raw protocol tests (requests real clients never send: skewed
 * clocks, broken bodies, malformed XML). It reuses lightningstor's canonicalisation, which the
 * real clients' tests and the documented examples (services/lightningstor/sigv4.test.ts) hold.
 */
import { createHash } from "node:crypto";
import { canonicalQuery, canonicalRequest, hmacHex, parseQuery, scopeOf, signingKeyOf } from "../../../services/lightningstor/sigv4.ts";
import type { Tenant } from "./stack.ts";

/** Options of `signed`. */
export interface SignOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /** The payload hash to announce (default: the body's SHA-256). */
  payloadHash?: string;
  /** The request time (default: now). */
  at?: number;
}

/** Signs and returns fetch arguments for `url` as tenant `t`. */
export function signed(t: Tenant, url: string, o: SignOptions = {}): [string, RequestInit] {
  const u = new URL(url);
  const method = o.method ?? "GET";
  const amzDate = new Date(o.at ?? Date.now()).toISOString().replace(/[-:]|\.\d{3}/g, "");
  const date = amzDate.slice(0, 8);
  const body = o.body === undefined ? new Uint8Array(0) : typeof o.body === "string" ? Buffer.from(o.body) : o.body;
  const payloadHash = o.payloadHash ?? createHash("sha256").update(body).digest("hex");
  const headers = new Headers({ host: u.host, "x-amz-date": amzDate, "x-amz-content-sha256": payloadHash, ...(o.headers ?? {}) });
  const names = [...new Set(["host", "x-amz-date", "x-amz-content-sha256", ...Object.keys(o.headers ?? {}).map((h) => h.toLowerCase())])].sort();
  const sig = { accessKeyId: t.accessKeyId, date, region: "us-east-1", service: "s3", amzDate, signedHeaders: names, signature: "", presigned: false, payloadHash };
  const query = parseQuery(u.search.slice(1));
  const cr = canonicalRequest({ method, rawPath: u.pathname, rawQuery: u.search.slice(1), headers }, sig, u.pathname, canonicalQuery(query));
  const sts = `AWS4-HMAC-SHA256\n${amzDate}\n${scopeOf(sig)}\n${createHash("sha256").update(cr).digest("hex")}`;
  const signature = hmacHex(signingKeyOf(t.secretAccessKey, date, "us-east-1", "s3"), sts);
  headers.set("authorization", `AWS4-HMAC-SHA256 Credential=${t.accessKeyId}/${scopeOf(sig)},SignedHeaders=${names.join(";")},Signature=${signature}`);
  headers.delete("host");
  return [url, { method, headers, ...(o.body !== undefined ? { body } : {}) }];
}
