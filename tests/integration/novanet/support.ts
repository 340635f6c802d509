/**
 * What novanet's integration tests share: chainfire + iam + a novanet server on free loopback
 * ports, and tenants (an organisation, a project, a user bound to a role there, its token and a
 * NovanetClient).
 */
import { createLogger } from "../../../lib/log.ts";
import { createMetrics } from "../../../lib/metrics.ts";
import type { ChainfireServer } from "../../../services/chainfire/server.ts";
import type { IamServer } from "../../../services/iam/server.ts";
import { NovanetClient } from "../../../services/novanet/client.ts";
import { startNovanet, type NovanetServer, type NovanetServerOptions } from "../../../services/novanet/server.ts";
import { startTestChainfire } from "../../support/chainfire.ts";
import { adminCredentials, api, loginToken, startTestIam } from "../../support/iam.ts";

/** The servers of a test file. */
export interface Stack {
  chainfire: ChainfireServer;
  iam: IamServer;
  novanet: NovanetServer;
  /** A system administrator's token. */
  adminToken: string;
  stop(): Promise<void>;
}

/** Starts chainfire, iam and novanet in `work`. */
export async function startStack(work: string, options: Partial<NovanetServerOptions> = {}): Promise<Stack> {
  const chainfire = await startTestChainfire(`${work}/chainfire`);
  const iam = await startTestIam(chainfire.endpoint, `${work}/iam`);
  const novanet = await startNovanet({
    etcdEndpoints: [chainfire.endpoint],
    iamUrl: iam.http.url,
    host: "127.0.0.1",
    httpPort: 0,
    grpcPort: 0,
    logger: createLogger("novanet", { level: "error" }),
    metrics: createMetrics("novanet"),
    ...options,
  });
  const creds = adminCredentials(iam);
  const adminToken = await loginToken(iam.http.url, creds.user, creds.password);
  return {
    chainfire, iam, novanet, adminToken,
    stop: async () => {
      await novanet.stop();
      await iam.stop();
      await chainfire.stop();
    },
  };
}

/** A tenant: organisation, project, a user with `role` on the project. */
export interface Tenant {
  org: string;
  project: string;
  user: string;
  token: string;
  nn: NovanetClient;
}

const PASSWORD = "novanet test password 1";

/** Creates a tenant through iam's API (as the administrator). */
export async function makeTenant(stack: Stack, name: string, role = "novanet.member"): Promise<Tenant> {
  const url = stack.iam.http.url;
  const admin = stack.adminToken;
  const org = (await api(url, "POST", "/v1/orgs", { token: admin, body: { name } })).body.id as string;
  const project = (await api(url, "POST", "/v1/projects", { token: admin, body: { org, name: "net" } })).body.id as string;
  const user = (await api(url, "POST", "/v1/users", { token: admin, body: { org, name: "u", password: PASSWORD } })).body.id as string;
  const b = await api(url, "POST", "/v1/bindings", { token: admin, body: { principal: user, role, scope: { kind: "project", id: project } } });
  if (b.status !== 201) throw new Error(`binding: ${JSON.stringify(b.body)}`);
  const token = await loginToken(url, "u", PASSWORD, { org: name, project });
  return { org, project, user, token, nn: new NovanetClient(stack.novanet.http.url, token) };
}

/** The PhotonError code a promise rejects with (or "ok"). */
export async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ok";
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
}
