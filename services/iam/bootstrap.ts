/**
 * The first start of iam: a system administrator (`admin`, bound to the built-in `admin` role on
 * the system), a `default` organisation with a `default` project, all in one transaction with a
 * marker so it happens once per cluster. The administrator's generated password is written to
 * `<iam data dir>/admin-credentials.json` with mode 0600 (never logged); the log says where.
 */
import { chmodSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../../lib/data-dir.ts";
import { PhotonError } from "../../lib/errors.ts";
import type { IamService } from "./service.ts";
import { hashPassword } from "./tokens/password.ts";
import { randomSecret } from "./tokens/secret.ts";
import { ensureServiceIdentity } from "./service-identity.ts";

/** The file name of the bootstrap credentials in iam's data directory. */
export const ADMIN_CREDENTIALS_FILE = "admin-credentials.json";

/** What the credentials file holds (`photon login --credentials-file` reads it). */
export interface AdminCredentials {
  user: string;
  password: string;
  /** Where iam's REST API answers. */
  iamUrl: string;
  defaultOrg: string;
  defaultProject: string;
  createdAt: string;
}

/** Options of bootstrap. */
export interface BootstrapOptions {
  /** iam's data directory (`<data_dir>/iam`). */
  dataDir: string;
  iamUrl: string;
  /** Data-plane services given an identity file under `<dataDir>/services/` (default: none). */
  services?: readonly string[];
}

/** Creates (or keeps) the identity of each data-plane service; see ensureServiceIdentity. */
async function ensureServices(svc: IamService, options: BootstrapOptions): Promise<void> {
  for (const service of options.services ?? []) await ensureServiceIdentity(svc, { dataDir: options.dataDir, service, iamUrl: options.iamUrl });
}

/**
 * Creates the administrator, default organisation and project unless a previous start (of this
 * or another replica) did.
 * @returns the credentials file's path when this call created them, else undefined.
 */
export async function bootstrap(svc: IamService, options: BootstrapOptions): Promise<string | undefined> {
  if (await svc.store.getRecord("meta", "bootstrap")) {
    await ensureServices(svc, options);
    return undefined;
  }
  // Make sure the file can be written before committing: a committed administrator whose
  // password was never written would lock everyone out.
  const file = join(options.dataDir, ADMIN_CREDENTIALS_FILE);
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  writeFileAtomic(file, "{}\n", 0o600);
  const password = randomSecret(18);
  const hash = await hashPassword(password);
  let created: { org: string; project: string; admin: string };
  try {
    created = await svc.replica.mutate(
      (m) => {
        const org = m.createOrg({ name: "default", displayName: "Default organisation" });
        const project = m.createProject({ org: org.id, name: "default", displayName: "Default project" });
        const admin = m.createUser({ name: "admin", displayName: "System administrator" });
        m.createBinding({ principal: admin.id, role: "admin", scope: { kind: "system" } });
        return { org: org.id, project: project.id, admin: admin.id };
      },
      (v) => [
        { op: "put", kind: "password", id: v.admin, value: { hash } },
        { op: "put", kind: "meta", id: "bootstrap", value: { at: Date.now(), admin: v.admin } },
      ],
    );
  } catch (e) {
    rmSync(file, { force: true });
    if (e instanceof PhotonError && e.code === "IAM:AlreadyExists") {
      await ensureServices(svc, options); // another replica bootstrapped first
      return undefined;
    }
    throw e;
  }
  const creds: AdminCredentials = { user: "admin", password, iamUrl: options.iamUrl, defaultOrg: created.org, defaultProject: created.project, createdAt: new Date().toISOString() };
  writeFileAtomic(file, JSON.stringify(creds, null, 2) + "\n", 0o600);
  chmodSync(file, 0o600);
  await svc.record({ principal: "-", action: "iam:user:create", resource: created.admin, result: "success", reason: "bootstrap" });
  await ensureServices(svc, options);
  svc.logger.info("bootstrapped iam: the system administrator's credentials are in this file (mode 0600); log in with `photon login --credentials-file`", { file });
  return file;
}
