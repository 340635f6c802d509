/**
 * Service identities: how PhotonCloud's own services (lightningstor, novanet, plasmavmc) prove
 * to iam that they are, for the calls reserved to them — S3 signing keys (service-s3.ts) and the
 * policy feed their in-process evaluators follow (api/feed.ts). Each holds a *service secret*
 * (`Authorization: Bearer pcs_<service>_<secret>`), which `ensureServiceIdentity` creates at
 * bootstrap, stores as a SHA-256 digest (`meta/service-<name>`) and writes (mode 0600) only to
 * `<iam data dir>/services/<service>.json`. Service identities are not principals of the model:
 * no tenant can be bound to them or see them, and nothing (no organisation, project or account)
 * appears in any tenant's or the administrator's listings (ADR 0012).
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { serviceIdentityPath, type ServiceIdentityFile } from "./service-identity-file.ts";
import { join } from "node:path";
import { writeFileAtomic } from "../../lib/data-dir.ts";
import { PhotonError } from "../../lib/errors.ts";
import { IamErrors } from "./errors.ts";
import type { IamService } from "./service.ts";
import { hashSecret, randomSecret, secretMatches } from "./tokens/secret.ts";
import type { RequestInfo } from "./types.ts";

/** The services that may hold a service identity. */
export const PHOTON_SERVICES: readonly string[] = ["lightningstor", "novanet", "plasmavmc"];

const SERVICE_SECRET = /^Bearer (pcs_([a-z][a-z0-9-]{0,31})_[A-Za-z0-9_-]{43})$/;

/** Whether an `Authorization` header carries a service secret (not an access token). */
export function isServiceSecret(authorization: string | undefined): boolean {
  return authorization !== undefined && SERVICE_SECRET.test(authorization.trim());
}

/**
 * The PhotonCloud service presenting `req`'s service secret.
 * @throws IAM:Unauthenticated without one; IAM:PermissionDenied for anything else (a user's or
 *   tenant's token included), audited.
 */
export async function serviceOf(svc: IamService, req: RequestInfo, what: string): Promise<string> {
  const m = req.authorization === undefined ? null : SERVICE_SECRET.exec(req.authorization.trim());
  if (req.authorization === undefined) throw IamErrors.Unauthenticated(`${what} needs a PhotonCloud service's secret: \`Authorization: Bearer pcs_...\``);
  const rec = m && PHOTON_SERVICES.includes(m[2]!) ? await svc.store.getRecord<{ hash: string }>("meta", `service-${m[2]}`) : undefined;
  if (!m || !rec || !secretMatches(m[1]!, rec.value.hash)) {
    await svc.record({ principal: "-", action: "iam:accesskey:verify", result: "denied", reason: "not a PhotonCloud service secret", source: req.source });
    throw IamErrors.PermissionDenied(`${what} is reserved to PhotonCloud's services`);
  }
  return m[2]!;
}

/**
 * Makes sure `service` has a service secret whose digest iam stores and whose file (0600) is in
 * `<dataDir>/services/`. Idempotent: keeps a file whose secret still matches the stored digest;
 * otherwise (no file, or another replica's data directory) makes a new secret, which replaces
 * the previous one.
 * @returns the identity file's path.
 */
export async function ensureServiceIdentity(svc: IamService, options: { dataDir: string; service: string; iamUrl: string }): Promise<string> {
  if (!PHOTON_SERVICES.includes(options.service)) throw IamErrors.InvalidArgument(`unknown PhotonCloud service ${JSON.stringify(options.service)}`);
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
