/**
 * CORS over HTTP: answers preflights (OPTIONS, unauthenticated, as browsers send them) from the
 * bucket's rules, and adds the matching rule's headers to actual requests that carry `Origin`.
 */
import { matchCors, corsHeaders, type CorsRule } from "../cors.ts";
import { S3Errors } from "../errors.ts";
import type { LightningstorService } from "../service.ts";

async function rulesOf(svc: LightningstorService, bucket: string): Promise<CorsRule[] | undefined> {
  const b = await svc.registry.get(bucket);
  const t = b ? svc.store.getConfig(b.id, "cors") : undefined;
  return t ? (JSON.parse(t) as CorsRule[]) : undefined;
}

/**
 * OPTIONS /bucket[/key]: 200 with the first matching rule's headers.
 * @throws S3:BadRequest (no Origin or method), S3:AccessForbidden (no rules or no match).
 */
export async function preflight(svc: LightningstorService, req: Request, bucket: string | undefined): Promise<Response> {
  const origin = req.headers.get("origin");
  const method = req.headers.get("access-control-request-method");
  if (!origin) throw S3Errors.BadRequest("Insufficient information. Origin request header needed.");
  if (!method) throw S3Errors.BadRequest("Invalid Access-Control-Request-Method: null");
  const requestHeaders = (req.headers.get("access-control-request-headers") ?? "").split(",").map((h) => h.trim()).filter(Boolean);
  const rules = bucket ? await rulesOf(svc, bucket) : undefined;
  if (!rules) throw S3Errors.AccessForbidden("CORSResponse: CORS is not enabled for this bucket.", { details: { method, resourceType: "BUCKET" } });
  const rule = matchCors(rules, origin, method, requestHeaders);
  if (!rule) throw S3Errors.AccessForbidden("CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headerss are not whitelisted by the resource's CORS spec.", { details: { method, resourceType: "OBJECT" } });
  return new Response(null, { status: 200, headers: corsHeaders(rule, origin, { requestHeaders }) });
}

/** The CORS headers for an actual request with `Origin` (none when no rule matches). */
export async function corsFor(svc: LightningstorService, req: Request, bucket: string | undefined): Promise<Record<string, string>> {
  const origin = req.headers.get("origin");
  if (!origin || !bucket) return {};
  const rules = await rulesOf(svc, bucket).catch(() => undefined);
  const rule = rules && matchCors(rules, origin, req.method);
  return rule ? corsHeaders(rule, origin) : {};
}
