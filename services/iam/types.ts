/**
 * The shapes iam's API exchanges, shared by the server (`api/`), the client (`client.ts`) and the
 * CLI. REST bodies and gRPC messages (proto/iam/v1/iam.proto) have the same fields. Secrets
 * appear only in the responses that create them, once.
 */
import type { ResourceRef } from "../../lib/authz/types.ts";
import type { AccessTokenClaims } from "./tokens/access-token.ts";

export type * from "./model/types.ts";

/** An authenticated caller of the API. */
export interface Caller {
  /** User or service account id. */
  principal: string;
  claims: AccessTokenClaims;
  /** The caller's address (`127.0.0.1`), for conditions and audit. */
  source: string;
}

/** Facts about a request the API layer passes to the service. */
export interface RequestInfo {
  /** The caller's address. */
  source: string;
  /** The `Authorization` header (or gRPC `authorization` metadata), if any. */
  authorization?: string;
}

/** `Login`: a user name and password (the user's organisation by name or id; none for system users). */
export interface LoginRequest {
  user: string;
  password: string;
  org?: string;
  /** Scope the token to this project (id or name in the user's organisation); default unscoped. */
  project?: string;
  ttlSeconds?: number;
}

/** What `Login`, `Refresh` and `ExchangeAppCredential` return. */
export interface TokenResponse {
  accessToken: string;
  tokenType: "Bearer";
  /** Seconds until the access token expires. */
  expiresIn: number;
  /** Absent for tokens from application credentials (exchange the credential again). */
  refreshToken?: string;
  principal: string;
  org?: string;
  project?: string;
}

/** `Authorize`: may `principal` (default: the caller) perform `action` on `resource`? */
export interface AuthorizeApiRequest {
  principal?: string;
  action: string;
  resource: ResourceRef;
  sourceIp?: string;
}

/** An application credential as the API shows it (never its secret or digest). */
export interface AppCredentialView {
  id: string;
  name: string;
  serviceAccount: string;
  org: string;
  project: string;
  createdAt: number;
  expiresAt: number;
  accessRules?: string[];
}

/** An access key as the API shows it (never its secret). */
export interface AccessKeyView {
  accessKeyId: string;
  principal: string;
  org?: string;
  /** The project S3 requests signed with it act in. */
  project?: string;
  createdAt: number;
  expiresAt?: number;
  disabled?: boolean;
}

/** A service catalog entry: a component's endpoints. */
export interface CatalogEntry {
  service: string;
  /** Which instance (node name); one service may run on several nodes. */
  instance: string;
  /** Named endpoints (`http`, `grpc`, `etcd`...) as URLs or `host:port`. */
  endpoints: Record<string, string>;
  registeredAt: number;
}

/** A list response. */
export interface ItemList<T> {
  items: T[];
}
