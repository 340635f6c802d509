/**
 * S3 request signing support for lightningstor (ADR 0012). lightningstor verifies SigV4 itself,
 * but the access key's secret never leaves iam: `s3Credentials` returns the SigV4 *signing key*
 * derived for one (day, region, service) — useless for any other day or region — together with
 * who the key belongs to and a short-lived access token of that principal, scoped to the key's
 * project, so lightningstor authorises each request with the ordinary `IamGuard`.
 *
 * Only a data-plane service of PhotonCloud may ask: it presents its *service secret*
 * (`Authorization: Bearer pcs_<service>_<secret>`), which `ensureServiceIdentity` creates at
 * bootstrap, stores as a SHA-256 digest (`meta/service-<name>`) and writes (mode 0600) only to
 * `<iam data dir>/services/<service>.json`. Service identities are not principals of the model:
 * no tenant can be bound to them or see them, and nothing else (no organisation, project or
 * account) appears in any tenant's or the administrator's listings.
 */
import { createHmac } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../../lib/data-dir.ts";
import { PhotonError } from "../../lib/errors.ts";
import { IamErrors } from "./errors.ts";
import type { IamService } from "./service.ts";
import { openAccessKey, type AccessKeyRecord } from "./tokens/access-key.ts";
import { hashSecret, randomSecret, secretMatches } from "./tokens/secret.ts";
import type { RequestInfo } from "./types.ts";

/** The data-plane services that may hold a service identity. */
export const DATA_PLANE_SERVICES: readonly string[] = ["lightningstor"];
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

const SERVICE_SECRET = /^Bearer (pcs_([a-z][a-z0-9-]{0,31})_[A-Za-z0-9_-]{43})$/;

/**
 * The data-plane service presenting `req`'s service secret.
 * @throws IAM:Unauthenticated without one; IAM:PermissionDenied for anything else (a user's or
 *   tenant's token included).
 */
async function serviceOf(svc: IamService, req: RequestInfo): Promise<string> {
  const m = req.authorization === undefined ? null : SERVICE_SECRET.exec(req.authorization.trim());
  if (req.authorization === undefined) throw IamErrors.Unauthenticated("S3Credentials needs a data-plane service's secret: `Authorization: Bearer pcs_...`");
  const rec = m && DATA_PLANE_SERVICES.includes(m[2]!) ? await svc.store.getRecord<{ hash: string }>("meta", `service-${m[2]}`) : undefined;
  if (!m || !rec || !secretMatches(m[1]!, rec.value.hash)) {
    await svc.record({ principal: "-", action: "iam:accesskey:verify", result: "denied", reason: "not a data-plane service secret", source: req.source });
    throw IamErrors.PermissionDenied("S3Credentials is reserved to PhotonCloud's data-plane services");
  }
  return m[2]!;
}

/**
 * The signing key, owner and a scoped token for an access key.
 * @throws IAM:Unauthenticated / IAM:PermissionDenied unless a data-plane service's secret is
 *   presented; IAM:InvalidArgument for a malformed field; IAM:InvalidCredentials for an unknown
 *   or disabled key (or a disabled or deleted owner); IAM:CredentialExpired for an expired key.
 */
export async function s3Credentials(svc: IamService, input: S3CredentialsRequest, req: RequestInfo): Promise<S3CredentialsResponse> {
  await serviceOf(svc, req);
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

/** What a service's identity file (`<iam data dir>/services/<service>.json`, mode 0600) holds. */
export interface ServiceIdentityFile {
  service: string;
  /** `pcs_<service>_<secret>`, presented as `Authorization: Bearer` to S3Credentials. */
  secret: string;
  iamUrl: string;
  createdAt: string;
}

/** The path of a service's identity file under iam's data directory. */
export function serviceIdentityPath(iamDataDir: string, service: string): string {
  return join(iamDataDir, "services", `${service}.json`);
}

/**
 * Makes sure `service` has a service secret whose digest iam stores and whose file (0600) is in
 * `<dataDir>/services/`. Idempotent: keeps a file whose secret still matches the stored digest;
 * otherwise (no file, or another replica's data directory) makes a new secret, which replaces
 * the previous one.
 * @returns the identity file's path.
 */
export async function ensureServiceIdentity(svc: IamService, options: { dataDir: string; service: string; iamUrl: string }): Promise<string> {
  if (!DATA_PLANE_SERVICES.includes(options.service)) throw IamErrors.InvalidArgument(`unknown data-plane service ${JSON.stringify(options.service)}`);
  const file = serviceIdentityPath(options.dataDir, options.service);
  const id = `service-${options.service}`;
  if (existsSync(file)) {
    try {
      const cur = JSON.parse(readFileSync(file, "utf8")) as ServiceIdentityFile;
      const rec = await svc.store.getRecord<{ hash: string }>("meta", id);
      if (rec && typeof cur.secret === "string" && secretMatches(cur.secret, rec.value.hash)) {
        if (cur.iamUrl !== options.iamUrl) writeFileAtomic(file, JSON.stringify({ ...cur, iamUrl: options.iamUrl }, null, 2) + "\n", 0o600);
        return file;
      }
    } catch (e) {
      if (e instanceof PhotonError) throw e; // the store failed: do not replace a good secret
      // unreadable file: make a new secret below
    }
  }
  const secret = `pcs_${options.service}_${randomSecret(32)}`;
  mkdirSync(join(options.dataDir, "services"), { recursive: true, mode: 0o700 });
  // The file first: a stored digest whose secret was never written would lock the service out.
  const content: ServiceIdentityFile = { service: options.service, secret, iamUrl: options.iamUrl, createdAt: new Date().toISOString() };
  writeFileAtomic(file, JSON.stringify(content, null, 2) + "\n", 0o600);
  await svc.store.putRecord("meta", id, { hash: hashSecret(secret), createdAt: Date.now() });
  await svc.record({ principal: "-", action: "iam:credential:create", resource: id, result: "success", reason: `service identity of ${options.service}` });
  return file;
}
