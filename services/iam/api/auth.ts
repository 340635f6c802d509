/** The authentication operations, the JWKS, key rotation and the Authorize API. */
import type { AuthorizeApiRequest, LoginRequest } from "../types.ts";
import { authorizeApi, exchangeAppCredential, login, refresh, revokeToken, rotateSigningKey, whoAmI } from "../service-auth.ts";
import { op, type ApiOperation } from "./operation.ts";

export const authOperations: ApiOperation[] = [
  op<LoginRequest>({
    name: "Login", method: "POST", path: "/v1/auth/login", auth: false, status: 200, response: "TokenResponse",
    summary: "Exchange a user name and password for an access token and a refresh token",
    fields: { user: "string", password: "string", org: "string", project: "string", ttlSeconds: "integer" }, required: ["user", "password"],
    run: (s, _c, i, r) => login(s, i, r),
  }),
  op<{ refreshToken: string }>({
    name: "Refresh", method: "POST", path: "/v1/auth/refresh", auth: false, status: 200, response: "TokenResponse",
    summary: "Exchange a refresh token for new tokens (the old refresh token is spent)",
    fields: { refreshToken: "string" }, required: ["refreshToken"],
    run: (s, _c, i, r) => refresh(s, i, r),
  }),
  op<{ secret: string }>({
    name: "ExchangeAppCredential", method: "POST", path: "/v1/auth/app-credential", auth: false, status: 200, response: "TokenResponse",
    summary: "Exchange an application credential's secret for an access token",
    fields: { secret: "string" }, required: ["secret"],
    run: (s, _c, i, r) => exchangeAppCredential(s, i, r),
  }),
  op<{ token: string; session?: boolean }>({
    name: "RevokeToken", method: "POST", path: "/v1/auth/revoke", auth: false, response: "RevokeTokenResponse",
    summary: "Revoke an access token (and with session its login session) or a refresh token; effective everywhere within a second",
    fields: { token: "string", session: "boolean" }, required: ["token"],
    run: (s, _c, i, r) => revokeToken(s, i, r),
  }),
  op<Record<string, never>>({
    name: "WhoAmI", method: "GET", path: "/v1/auth/whoami", auth: true, response: "WhoAmIResponse",
    summary: "The caller's principal, scope and groups", fields: {},
    run: (s, c) => whoAmI(s, c),
  }),
  op<Record<string, never>>({
    name: "GetJwks", method: "GET", path: "/.well-known/jwks.json", auth: false, response: "Jwks",
    summary: "The public keys that verify access tokens (RFC 7517)", fields: {},
    run: (s) => s.replica.jwks(),
  }),
  op<Record<string, never>>({
    name: "RotateSigningKey", method: "POST", path: "/v1/signing-keys/rotate", auth: true, status: 200, response: "RotateSigningKeyResponse",
    summary: "Make a new current token signing key (the previous one stays published until its tokens expire)", fields: {},
    run: (s, c) => rotateSigningKey(s, c),
  }),
  op<AuthorizeApiRequest>({
    name: "Authorize", method: "POST", path: "/v1/authorize", auth: true, status: 200, response: "Decision",
    summary: "Decide whether a principal (default: the caller) may perform an action on a resource, with the reason",
    fields: { principal: "string", action: "string", resource: "object", sourceIp: "string" }, required: ["action", "resource"],
    run: (s, c, i) => authorizeApi(s, c, i),
  }),
];
