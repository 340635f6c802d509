/**
 * `requestJson`: the one way PhotonCloud's clients call a service's REST API. Errors come back as
 * the PhotonErrors the server threw — same code, message, HTTP status and details, rebuilt from
 * the `{ error: { code, message, details } }` body, never from messages — and an unreachable
 * server is `PHOTON:Unavailable` naming the service.
 * @example
 * const vpc = await requestJson<Vpc>({ service: "novanet", baseUrl, token }, "POST", "/v1/vpcs", { cidr: "10.0.0.0/16" });
 */
import { GrpcStatus, PhotonError, type GrpcStatusCode } from "../errors.ts";

/** Where and as whom to call. */
export interface JsonEndpoint {
  /** The service's name, for error messages (`iam`, `novanet`...). */
  service: string;
  baseUrl: string;
  /** An iam access token sent as `Authorization: Bearer`. */
  token?: string;
  /** Per-request timeout in ms (default 15 000). */
  timeoutMs?: number;
}

const grpcForHttp: Record<number, GrpcStatusCode> = {
  400: GrpcStatus.INVALID_ARGUMENT, 401: GrpcStatus.UNAUTHENTICATED, 403: GrpcStatus.PERMISSION_DENIED, 404: GrpcStatus.NOT_FOUND,
  409: GrpcStatus.ALREADY_EXISTS, 412: GrpcStatus.FAILED_PRECONDITION, 429: GrpcStatus.RESOURCE_EXHAUSTED, 503: GrpcStatus.UNAVAILABLE,
};

/** A raw request body (an upload), sent as `application/octet-stream`. */
export type RawBody = Blob | ReadableStream<Uint8Array> | Uint8Array | string;

/** How long an upload (a raw body) may take, in ms. */
const UPLOAD_TIMEOUT_MS = 3_600_000;

/**
 * Calls `method path` with a JSON body, or a raw one (`raw`, an upload); resolves with the JSON
 * answer (undefined for an empty one).
 * @throws the server's PhotonError, or PHOTON:Unavailable when the service cannot be reached.
 */
export async function requestJson<T = unknown>(to: JsonEndpoint, method: string, path: string, body?: unknown, raw?: RawBody): Promise<T> {
  let res: Response;
  const type = body !== undefined ? "application/json" : raw !== undefined ? "application/octet-stream" : undefined;
  try {
    res = await fetch(`${to.baseUrl.replace(/\/$/, "")}${path}`, {
      method,
      headers: { ...(to.token ? { authorization: `Bearer ${to.token}` } : {}), ...(type ? { "content-type": type } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : raw !== undefined ? { body: raw } : {}),
      signal: AbortSignal.timeout(raw !== undefined ? UPLOAD_TIMEOUT_MS : (to.timeoutMs ?? 15_000)),
    });
  } catch (e) {
    throw new PhotonError("PHOTON:Unavailable", `${to.service} does not answer at ${to.baseUrl}: ${(e as Error).message}`, { grpc: GrpcStatus.UNAVAILABLE, cause: e });
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const err = (json as { error?: { code?: string; message?: string; details?: Record<string, unknown> } } | undefined)?.error;
    throw new PhotonError(err?.code ?? "PHOTON:Internal", err?.message ?? `HTTP ${res.status}`, {
      grpc: grpcForHttp[res.status] ?? GrpcStatus.UNKNOWN,
      http: res.status,
      ...(err?.details ? { details: err.details } : {}),
    });
  }
  return json as T;
}

/** `?a=1&b=2` from the defined, non-empty parameters (empty string when none). */
export function queryString(params: Record<string, string | number | boolean | undefined>): string {
  const entries = Object.entries(params).filter((e): e is [string, string | number | boolean] => e[1] !== undefined && e[1] !== "");
  const s = new URLSearchParams(entries.map(([k, v]): [string, string] => [k, String(v)])).toString();
  return s ? `?${s}` : "";
}
