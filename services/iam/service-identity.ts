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

/** What iam keeps of a service's identity: the digest it checks, the secret sealed with the KEK. */
interface ServiceIdentityRecord {
  hash: string;
  /** `cipher.seal(secret, "service-<name>")`: every replica (same KEK) writes the same file. */
  sealed?: string;
  createdAt: number;
}

/**
 * Makes sure `service` has a service secret and that its file (0600) is in `<dataDir>/services/`.
 * The secret is kept in chainfire sealed with the KEK (as the signing keys are), so every iam
 * replica writes the same file and none replaces another's secret. Idempotent; a file whose
 * secret no longer matches is rewritten.
 * @returns the identity file's path.
 */
export async function ensureServiceIdentity(svc: IamService, options: { dataDir: string; service: string; iamUrl: string }): Promise<string> {
  if (!PHOTON_SERVICES.includes(options.service)) throw IamErrors.InvalidArgument(`unknown PhotonCloud service ${JSON.stringify(options.service)}`);
  const file = serviceIdentityPath(options.dataDir, options.service);
  const id = `service-${options.service}`;
  const write = (secret: string, createdAt: string) => {
    mkdirSync(join(options.dataDir, "services"), { recursive: true, mode: 0o700 });
    const content: ServiceIdentityFile = { service: options.service, secret, iamUrl: options.iamUrl, createdAt };
    writeFileAtomic(file, JSON.stringify(content, null, 2) + "\n", 0o600);
  };
  for (;;) {
    const rec = await svc.store.getRecord<ServiceIdentityRecord>("meta", id);
    if (rec?.value.sealed) {
      const secret = svc.cipher.open(rec.value.sealed, id);
      let cur: Partial<ServiceIdentityFile> | undefined;
      try {
        cur = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as ServiceIdentityFile) : undefined;
      } catch {
        cur = undefined; // unreadable: rewrite it
      }
      if (cur?.secret !== secret || cur.iamUrl !== options.iamUrl) write(secret, new Date(rec.value.createdAt).toISOString());
      return file;
    }
    // None yet (or one from before secrets were sealed): make one; of replicas racing, one wins.
    const secret = `pcs_${options.service}_${randomSecret(32)}`;
    const value: ServiceIdentityRecord = { hash: hashSecret(secret), sealed: svc.cipher.seal(secret, id), createdAt: Date.now() };
    if (rec) {
      await svc.store.putRecord("meta", id, value);
    } else if (!(await svc.store.putRecord("meta", id, value, 0))) {
      continue; // another replica created it first: use that one
    }
    await svc.record({ principal: "-", action: "iam:credential:create", resource: id, result: "success", reason: `service identity of ${options.service}` });
  }
}
