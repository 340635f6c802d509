/**
 * Bucket CORS as S3 evaluates it: the rules of a `<CORSConfiguration>` (validated as S3 does), and
 * the first rule matching an origin, a method and the requested headers (`*` wildcards; origins
 * compared case-sensitively, headers case-insensitively). Preflights (OPTIONS) and actual requests
 * with an `Origin` both use `matchCors`.
 */
import { S3Errors } from "./errors.ts";
import { asArray } from "./tags.ts";

/** One rule. */
export interface CorsRule {
  id?: string;
  origins: string[];
  methods: string[];
  headers: string[];
  expose: string[];
  maxAge?: number;
}

const METHODS = new Set(["GET", "PUT", "HEAD", "POST", "DELETE"]);
const str = (v: unknown): string => (typeof v === "string" ? v : String(v ?? ""));

/** Rules from a parsed `<CORSConfiguration>`. @throws S3:MalformedXML, S3:InvalidRequest. */
export function parseCors(doc: Record<string, unknown>): CorsRule[] {
  const rules = asArray<Record<string, unknown>>(doc.CORSRule);
  if (rules.length === 0 || rules.length > 100) throw S3Errors.MalformedXML("a CORS configuration holds 1 to 100 CORSRule elements");
  return rules.map((r) => {
    if (typeof r !== "object" || r === null) throw S3Errors.MalformedXML("CORSRule must be an element");
    const origins = asArray(r.AllowedOrigin).map(str);
    const methods = asArray(r.AllowedMethod).map(str);
    if (!origins.length || !methods.length) throw S3Errors.MalformedXML("each CORSRule needs an AllowedOrigin and an AllowedMethod");
    for (const m of methods) if (!METHODS.has(m)) throw S3Errors.InvalidRequest(`Found unsupported HTTP method in CORS config. Unsupported method is ${m}`);
    for (const o of origins) if (o.split("*").length > 2) throw S3Errors.InvalidRequest(`AllowedOrigin "${o}" can not have more than one wildcard.`);
    const headers = asArray(r.AllowedHeader).map(str);
    for (const h of headers) if (h.split("*").length > 2) throw S3Errors.InvalidRequest(`AllowedHeader "${h}" can not have more than one wildcard.`);
    const rule: CorsRule = { origins, methods, headers, expose: asArray(r.ExposeHeader).map(str) };
    if (r.ID !== undefined) rule.id = str(r.ID);
    if (r.MaxAgeSeconds !== undefined) {
      const n = Number(r.MaxAgeSeconds);
      if (!Number.isInteger(n) || n < 0) throw S3Errors.MalformedXML("MaxAgeSeconds must be a non-negative integer");
      rule.maxAge = n;
    }
    return rule;
  });
}

/** The `<CORSConfiguration>` body of rules. */
export function corsBody(rules: CorsRule[]): Record<string, unknown> {
  return {
    CORSRule: rules.map((r) => ({
      ...(r.id !== undefined ? { ID: r.id } : {}),
      ...(r.headers.length ? { AllowedHeader: r.headers } : {}),
      AllowedMethod: r.methods,
      AllowedOrigin: r.origins,
      ...(r.expose.length ? { ExposeHeader: r.expose } : {}),
      ...(r.maxAge !== undefined ? { MaxAgeSeconds: r.maxAge } : {}),
    })),
  };
}

/** A pattern with at most one `*` against a value. */
function wildcard(pattern: string, value: string): boolean {
  const i = pattern.indexOf("*");
  if (i < 0) return pattern === value;
  const pre = pattern.slice(0, i);
  const post = pattern.slice(i + 1);
  return value.length >= pre.length + post.length && value.startsWith(pre) && value.endsWith(post);
}

/** The first rule allowing `origin`, `method` and every one of `headers`, if any. */
export function matchCors(rules: CorsRule[], origin: string, method: string, headers: string[] = []): CorsRule | undefined {
  return rules.find(
    (r) =>
      r.origins.some((o) => wildcard(o, origin)) &&
      r.methods.includes(method) &&
      headers.every((h) => r.headers.some((p) => wildcard(p.toLowerCase(), h.toLowerCase()))),
  );
}

/** The response headers a matching rule adds (preflight: with the requested headers and max age). */
export function corsHeaders(rule: CorsRule, origin: string, preflight?: { requestHeaders: string[] }): Record<string, string> {
  const any = rule.origins.includes("*");
  const out: Record<string, string> = {
    "access-control-allow-origin": any ? "*" : origin,
    "access-control-allow-methods": rule.methods.join(", "),
    vary: "Origin, Access-Control-Request-Headers, Access-Control-Request-Method",
  };
  if (!any) out["access-control-allow-credentials"] = "true";
  if (rule.expose.length) out["access-control-expose-headers"] = rule.expose.join(", ");
  if (rule.maxAge !== undefined) out["access-control-max-age"] = String(rule.maxAge);
  if (preflight && preflight.requestHeaders.length) out["access-control-allow-headers"] = preflight.requestHeaders.join(", ");
  return out;
}
