/**
 * `IamClient`: how the CLI and other services talk to iam's REST API. Errors come back as the
 * same PhotonErrors the server threw (rebuilt from their `code`, never from messages).
 * @example
 * const iam = new IamClient("http://127.0.0.1:7080");
 * const { accessToken } = await iam.login({ user: "admin", password });
 * const projects = await iam.withToken(accessToken).request("GET", "/v1/projects");
 */
import { requestJson } from "../../lib/api/json-client.ts";
import type { LoginRequest, TokenResponse } from "./types.ts";

/** What `s3Credentials` answers (services/iam/service-s3.ts). */
export interface S3CredentialsAnswer {
  accessKeyId: string;
  principal: string;
  kind: "user" | "serviceaccount";
  org?: string;
  project?: string;
  /** Hex SigV4 signing key. */
  signingKey: string;
  accessToken: string;
  expiresAt: number;
}

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
  request<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    return requestJson<T>({ service: "iam", baseUrl: this.baseUrl, ...(this.token ? { token: this.token } : {}), timeoutMs: this.timeoutMs }, method, path, body);
  }

  /** Password login. */
  login(input: LoginRequest): Promise<TokenResponse> {
    return this.request("POST", "/v1/auth/login", input);
  }

  /**
   * For a data-plane service (this client's token is then its service secret, `pcs_...`): the
   * SigV4 signing key of an access key for one credential scope, its owner and a short-lived
   * token of the owner (ADR 0012).
   * @throws IAM:InvalidCredentials, IAM:CredentialExpired, IAM:PermissionDenied.
   */
  s3Credentials(input: { accessKeyId: string; date: string; region: string; service: string }): Promise<S3CredentialsAnswer> {
    return this.request("POST", "/v1/s3/credentials", input);
  }

  /**
   * For a PhotonCloud service (this client's token is then its service secret, `pcs_...`):
   * registers or replaces this instance's endpoints in iam's service catalog.
   */
  registerOwnEndpoint(instance: string, endpoints: Record<string, string>): Promise<{ service: string; instance: string; endpoints: Record<string, string> }> {
    return this.request("POST", "/v1/catalog/own", { instance, endpoints });
  }

  /** Exchanges a refresh token (the old one is spent). */
  refresh(refreshToken: string): Promise<TokenResponse> {
    return this.request("POST", "/v1/auth/refresh", { refreshToken });
  }
}
