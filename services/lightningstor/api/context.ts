/**
 * One S3 request as the handlers see it: where it points (bucket and key, path-style or
 * virtual-hosted-style), its query, who signed it, and the helpers that answer it (S3 XML
 * documents and error documents).
 */
import { PhotonError } from "../../../lib/errors.ts";
import type { GuardCaller } from "../../iam/guard.ts";
import { S3Errors } from "../errors.ts";
import { Payload } from "../payload.ts";
import type { LightningstorService } from "../service.ts";
import type { SignedRequest } from "../sigv4.ts";
import { xmlDocument } from "./xml.ts";

/** A parsed, authenticated request. */
export interface S3Context {
  req: Request;
  method: string;
  bucket?: string;
  key?: string;
  query: Map<string, string>;
  headers: Headers;
  caller: GuardCaller;
  sig?: SignedRequest;
  signingKey?: Buffer;
  requestId: string;
  svc: LightningstorService;
  /** Largest single PUT. */
  maxObjectSize: number;
  /** The client's address (aws:SourceIp in bucket policies). */
  sourceIp?: string;
  /** The bucket's versioning state, once a handler looked it up. */
  versioning?: string;
}

/** The request body as a verified payload. */
export function payloadOf(ctx: S3Context, maxSize = ctx.maxObjectSize): Payload {
  return new Payload({ headers: ctx.headers, body: ctx.req.body, ...(ctx.sig ? { sig: ctx.sig } : {}), ...(ctx.signingKey ? { signingKey: ctx.signingKey } : {}), maxSize });
}

/** A 200 (or `status`) XML answer. */
export function xml(root: string, body: Record<string, unknown>, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(xmlDocument(root, body), { status, headers: { "content-type": "application/xml", ...headers } });
}

/** S3's timestamp format in listings. */
export const iso = (ms: number): string => new Date(ms).toISOString();
/** S3's quoted ETag. */
export const quoted = (etag: string): string => `"${etag}"`;

/** The S3 error document for anything thrown (unknown errors: InternalError, details logged by the caller). */
export function errorResponse(e: unknown, method: string, resource: string, requestId: string): { response: Response; internal: boolean } {
  let err: PhotonError;
  let internal = false;
  if (e instanceof PhotonError && e.code.startsWith("S3:")) err = e;
  else if (e instanceof PhotonError && e.code === "PHOTON:Unavailable") err = S3Errors.ServiceUnavailable("please reduce your request rate or retry");
  else {
    internal = true;
    err = S3Errors.InternalError("we encountered an internal error; please try again");
  }
  const code = err.code.slice(3);
  const headers: Record<string, string> = { "x-amz-request-id": requestId };
  const extraHead = err.details?.headers;
  if (extraHead && typeof extraHead === "object") for (const [k, v] of Object.entries(extraHead)) if (typeof v === "string") headers[k] = v;
  if (err.status === 304 || method === "HEAD") return { response: new Response(null, { status: err.status, headers: { ...headers, "x-photon-error-code": code } }), internal };
  const body: Record<string, unknown> = { Code: code, Message: err.message, Resource: resource, RequestId: requestId };
  for (const [k, v] of Object.entries(err.details ?? {})) if (typeof v === "string" || typeof v === "number") body[k.charAt(0).toUpperCase() + k.slice(1)] = v;
  if (code === "InvalidRange" && typeof err.details?.size === "number") headers["content-range"] = `bytes */${err.details.size}`;
  return { response: new Response(xmlDocument("Error", body, false), { status: err.status, headers: { ...headers, "content-type": "application/xml" } }), internal };
}
