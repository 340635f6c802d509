/**
 * S3 request signing support for lightningstor (ADR 0012). lightningstor verifies SigV4 itself,
 * but the access key's secret never leaves iam: `s3Credentials` returns the SigV4 *signing key*
 * derived for one (day, region, service) — useless for any other day or region — together with
 * who the key belongs to and a short-lived access token of that principal, scoped to the key's
 * project, so lightningstor authorises each request with the ordinary `IamGuard`.
 *
 * Only a PhotonCloud service may ask: it presents its *service secret* (service-identity.ts).
 */
import { createHmac } from "node:crypto";
import { IamErrors } from "./errors.ts";
import type { IamService } from "./service.ts";
import { serviceOf } from "./service-identity.ts";
import { openAccessKey, type AccessKeyRecord } from "./tokens/access-key.ts";
import type { RequestInfo } from "./types.ts";

/** Lifetime of the access tokens returned with a signing key (seconds). */
export const S3_TOKEN_TTL_S = 900;

/** Input of `s3Credentials`. */
export interface S3CredentialsRequest {
  accessKeyId: string;
  /** The SigV4 credential scope's date, `YYYYMMDD`. */
  date: string;
  region: string;
  /** The SigV4 service, `s3`. */
  service: string;
}

/** What `s3Credentials` returns. */
export interface S3CredentialsResponse {
  accessKeyId: string;
  principal: string;
  kind: "user" | "serviceaccount";
  org?: string;
  project?: string;
  /** Hex of HMAC chain `AWS4<secret>` → date → region → service → `aws4_request`. */
  signingKey: string;
  /** An access token of `principal`, scoped to `project`, for IamGuard. */
  accessToken: string;
  /** When `accessToken` expires (ms since the epoch). */
  expiresAt: number;
}

const hmac = (key: Buffer | string, data: string): Buffer => createHmac("sha256", key).update(data, "utf8").digest();

/** The SigV4 signing key of `secret` for one credential scope. */
export function sigV4SigningKey(secret: string, date: string, region: string, service: string): Buffer {
  return hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), "aws4_request");
}

/**
 * The signing key, owner and a scoped token for an access key.
 * @throws IAM:Unauthenticated / IAM:PermissionDenied unless a data-plane service's secret is
 *   presented; IAM:InvalidArgument for a malformed field; IAM:InvalidCredentials for an unknown
 *   or disabled key (or a disabled or deleted owner); IAM:CredentialExpired for an expired key.
 */
export async function s3Credentials(svc: IamService, input: S3CredentialsRequest, req: RequestInfo): Promise<S3CredentialsResponse> {
  await serviceOf(svc, req, "S3Credentials");
  if (!/^\d{8}$/.test(input?.date ?? "")) throw IamErrors.InvalidArgument("date must be YYYYMMDD", { details: { field: "date" } });
  if (!/^[a-z0-9-]{1,64}$/.test(input.region ?? "")) throw IamErrors.InvalidArgument("region must be 1-64 lowercase letters, digits or dashes", { details: { field: "region" } });
  if (!/^[a-z0-9-]{1,32}$/.test(input.service ?? "")) throw IamErrors.InvalidArgument("service must be 1-32 lowercase letters, digits or dashes", { details: { field: "service" } });
  const id = input.accessKeyId;
  const rec = typeof id === "string" && /^PK[A-Z2-7]{18}$/.test(id) ? await svc.store.getRecord<AccessKeyRecord>("accesskey", id) : undefined;
  if (!rec) throw IamErrors.InvalidCredentials(`access key ${JSON.stringify(id)} does not exist`);
  const secret = openAccessKey(rec.value, svc.cipher);
  const owner = svc.replica.model.get("user", rec.value.principal) ?? svc.replica.model.get("serviceaccount", rec.value.principal);
  if (!owner || owner.disabled) throw IamErrors.InvalidCredentials(`the owner of access key ${id} no longer exists or is disabled`);
  const project = rec.value.project ?? (owner.kind === "serviceaccount" ? owner.project : undefined);
  const org = owner.org ?? (project ? svc.replica.model.get("project", project)?.org : undefined);
  const { token, claims } = await svc.replica.issuer.issue({ sub: owner.id, pk: owner.kind, ...(org ? { org } : {}), ...(project ? { project } : {}), ttlSeconds: S3_TOKEN_TTL_S });
  return {
    accessKeyId: rec.value.accessKeyId,
    principal: owner.id,
    kind: owner.kind,
    ...(org ? { org } : {}),
    ...(project ? { project } : {}),
    signingKey: sigV4SigningKey(secret, input.date, input.region, input.service).toString("hex"),
    accessToken: token,
    expiresAt: claims.exp * 1000,
  };
}
