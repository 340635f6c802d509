/**
 * iam's credentials: signed access tokens (EdDSA JWTs verifiable offline through the JWKS, with key
 * rotation and revocation), refresh tokens with rotation and reuse detection, application
 * credentials for service accounts, S3 access keys, argon2id passwords. Pure logic and crypto: the
 * store (../store.ts) keeps the records and the API (../api/) exchanges them.
 */
export { AccessTokenIssuer, AccessTokenVerifier, DEFAULT_AUDIENCE, DEFAULT_TOKEN_TTL_S, MAX_TOKEN_TTL_S, sessionLimits } from "./access-token.ts";
export type { AccessTokenClaims, AccessTokenIssuerOptions, AccessTokenVerifierOptions, IssueInput } from "./access-token.ts";
export { SigningKeyRing, TOKEN_ALG, type ExportedKeyRing, type Jwks, type SigningKey } from "./key-ring.ts";
export { MemoryRevocationList, type RevocationList } from "./revocation.ts";
export { checkRefreshToken, mintRefreshToken, refreshTokenId, rotateRefreshToken, REFRESH_PREFIX, type RefreshTokenRecord } from "./refresh-token.ts";
export { appCredentialId, authenticateAppCredential, createAppCredential, APP_CREDENTIAL_PREFIX, type AppCredentialRecord } from "./app-credential.ts";
export { createAccessKey, openAccessKey, SecretCipher, signaturesMatch, type AccessKeyRecord, type Kek } from "./access-key.ts";
export { checkPasswordPolicy, hashPassword, needsRehash, verifyPassword, PASSWORD_PARAMS } from "./password.ts";
export { constantTimeEqual, hashSecret, randomSecret, secretMatches } from "./secret.ts";
