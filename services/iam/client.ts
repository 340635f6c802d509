/**
 * `IamClient`: how the CLI and other services talk to iam's REST API. Errors come back as the
 * same PhotonErrors the server threw (rebuilt from their `code`, never from messages).
 * @example
 * const iam = new IamClient("http://127.0.0.1:7080");
 * const { accessToken } = await iam.login({ user: "admin", password });
 * const projects = await iam.withToken(accessToken).request("GET", "/v1/projects");
 */
import { GrpcStatus, PhotonError, type GrpcStatusCode } from "../../lib/errors.ts";
import type { LoginRequest, TokenResponse } from "./types.ts";

const grpcForHttp: Record<number, GrpcStatusCode> = {
  400: GrpcStatus.INVALID_ARGUMENT, 401: GrpcStatus.UNAUTHENTICATED, 403: GrpcStatus.PERMISSION_DENIED, 404: GrpcStatus.NOT_FOUND,
  409: GrpcStatus.ALREADY_EXISTS, 429: GrpcStatus.RESOURCE_EXHAUSTED, 503: GrpcStatus.UNAVAILABLE,
};

/** A client of one iam endpoint, optionally with an access token. */
export class IamClient {
  constructor(readonly baseUrl: string, private readonly token?: string, private readonly timeoutMs = 10_000) {}

  /** The same client sending `token`. */
  withToken(token: string): IamClient {
    return new IamClient(this.baseUrl, token, this.timeoutMs);
  }

  /**
   * Calls `method path` with a JSON body; resolves with the JSON answer.
   * @throws the server's PhotonError (same code, message, status, details), or
   *   PHOTON:Unavailable when iam cannot be reached.
   */
  async request<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl.replace(/\/$/, "")}${path}`, {
        method,
        headers: { ...(this.token ? { authorization: `Bearer ${this.token}` } : {}), ...(body !== undefined ? { "content-type": "application/json" } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      throw new PhotonError("PHOTON:Unavailable", `iam does not answer at ${this.baseUrl}: ${(e as Error).message}`, { grpc: GrpcStatus.UNAVAILABLE, cause: e });
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

  /** Password login. */
  login(input: LoginRequest): Promise<TokenResponse> {
    return this.request("POST", "/v1/auth/login", input);
  }

  /** Exchanges a refresh token (the old one is spent). */
  refresh(refreshToken: string): Promise<TokenResponse> {
    return this.request("POST", "/v1/auth/refresh", { refreshToken });
  }
}
