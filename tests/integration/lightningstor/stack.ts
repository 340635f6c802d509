/**
 * A whole S3 stack for one test file: chainfire, iam (with lightningstor's service identity) and
 * lightningstor on free loopback ports, plus tenants (an organisation, a project, a service
 * account bound to `lightningstor.admin` there, and an access key of that account).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../../../lib/log.ts";
import { createMetrics } from "../../../lib/metrics.ts";
import type { ChainfireServer } from "../../../services/chainfire/server.ts";
import type { IamServer } from "../../../services/iam/server.ts";
import { readServiceIdentity } from "../../../services/lightningstor/credentials.ts";
import { startLightningstor, type LightningstorOptions, type LightningstorServer } from "../../../services/lightningstor/server.ts";
import { startTestChainfire } from "../../support/chainfire.ts";
import { adminCredentials, api, loginToken, startTestIam } from "../../support/iam.ts";

/** A tenant with an S3 access key. */
export interface Tenant {
  org: string;
  project: string;
  serviceAccount: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** A running stack. */
export interface S3Stack {
  work: string;
  chainfire: ChainfireServer;
  iam: IamServer;
  s3: LightningstorServer;
  /** The S3 endpoint URL. */
  url: string;
  iamUrl: string;
  admin: string;
  tenant(name: string): Promise<Tenant>;
  stop(): Promise<void>;
}

async function must<T = any>(p: Promise<{ status: number; body: T }>, what: string): Promise<T> {
  const r = await p;
  if (r.status >= 300) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/** Starts the stack in a fresh temp directory. */
export async function startS3Stack(options: Partial<LightningstorOptions> = {}): Promise<S3Stack> {
  const work = mkdtempSync(join(tmpdir(), "lightningstor-"));
  const chainfire = await startTestChainfire(join(work, "chainfire"));
  const iam = await startTestIam(chainfire.endpoint, join(work, "iam"), { services: ["lightningstor"] });
  const iamUrl = iam.http.url;
  const creds = adminCredentials(iam);
  const admin = await loginToken(iamUrl, creds.user, creds.password);
  const s3 = await startLightningstor({
    etcdEndpoints: [chainfire.endpoint],
    iamUrl,
    identity: readServiceIdentity(join(work, "iam", "services", "lightningstor.json")),
    dataDir: join(work, "lightningstor"),
    host: "127.0.0.1",
    port: 0,
    minPartSize: 1024 * 1024,
    logger: createLogger("lightningstor", { level: "error" }),
    metrics: createMetrics("lightningstor"),
    ...options,
  });
  return {
    work,
    chainfire,
    iam,
    s3,
    url: s3.url,
    iamUrl,
    admin,
    async tenant(name) {
      const org = await must(api(iamUrl, "POST", "/v1/orgs", { token: admin, body: { name } }), "org");
      const project = await must(api(iamUrl, "POST", "/v1/projects", { token: admin, body: { org: org.id, name: "main" } }), "project");
      const sa = await must(api(iamUrl, "POST", "/v1/serviceaccounts", { token: admin, body: { project: project.id, name: "s3" } }), "service account");
      await must(api(iamUrl, "POST", "/v1/bindings", { token: admin, body: { principal: sa.id, role: "lightningstor.admin", scope: { kind: "project", id: project.id } } }), "binding");
      const key = await must(api(iamUrl, "POST", "/v1/accesskeys", { token: admin, body: { principal: sa.id } }), "access key");
      return { org: org.id, project: project.id, serviceAccount: sa.id, accessKeyId: key.accessKey.accessKeyId, secretAccessKey: key.secretAccessKey };
    },
    async stop() {
      await s3.stop();
      await iam.stop();
      await chainfire.stop();
      rmSync(work, { recursive: true, force: true });
    },
  };
}
