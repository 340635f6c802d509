/**
 * What plasmavmc's integration tests share: chainfire + iam + novanet + plasmavmc on free loopback
 * ports, tenants (an organisation, a project, a user bound to `plasmavmc.member` and
 * `novanet.member` there, its token and clients), hosts registered with a real heartbeat lease
 * (services/plasmavmc/agent/host-registration.ts), and small image files.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { EtcdClient } from "../../../lib/etcd/index.ts";
import { createLogger } from "../../../lib/log.ts";
import { createMetrics } from "../../../lib/metrics.ts";
import type { ChainfireServer } from "../../../services/chainfire/server.ts";
import type { IamServer } from "../../../services/iam/server.ts";
import { NovanetClient } from "../../../services/novanet/client.ts";
import { startNovanet, type NovanetServer } from "../../../services/novanet/server.ts";
import { registerHost, type HostRegistration } from "../../../services/plasmavmc/agent/host-registration.ts";
import { PlasmavmcClient } from "../../../services/plasmavmc/client.ts";
import { startPlasmavmc, type PlasmavmcServer, type PlasmavmcServerOptions } from "../../../services/plasmavmc/server.ts";
import { startTestChainfire } from "../../support/chainfire.ts";
import { adminCredentials, api, loginToken, startTestIam } from "../../support/iam.ts";

/** The servers of a test file. */
export interface Stack {
  chainfire: ChainfireServer;
  iam: IamServer;
  novanet: NovanetServer;
  plasmavmc: PlasmavmcServer;
  etcd: EtcdClient;
  adminToken: string;
  /** plasmavmc as the system administrator. */
  admin: PlasmavmcClient;
  stop(): Promise<void>;
}

/** Starts chainfire, iam, novanet and plasmavmc in `work`. */
export async function startStack(work: string, options: Partial<PlasmavmcServerOptions> = {}): Promise<Stack> {
  const chainfire = await startTestChainfire(`${work}/chainfire`);
  const iam = await startTestIam(chainfire.endpoint, `${work}/iam`);
  const novanet = await startNovanet({
    etcdEndpoints: [chainfire.endpoint], iamUrl: iam.http.url, host: "127.0.0.1", httpPort: 0, grpcPort: 0,
    logger: createLogger("novanet", { level: "error" }), metrics: createMetrics("novanet"),
  });
  mkdirSync(join(work, "images"), { recursive: true });
  const plasmavmc = await startPlasmavmc({
    etcdEndpoints: [chainfire.endpoint], iamUrl: iam.http.url, novanetUrl: novanet.http.url, imageDir: join(work, "images"),
    host: "127.0.0.1", httpPort: 0, grpcPort: 0, logger: createLogger("plasmavmc", { level: "error" }), metrics: createMetrics("plasmavmc"),
    ...options,
  });
  const creds = adminCredentials(iam);
  const adminToken = await loginToken(iam.http.url, creds.user, creds.password);
  const etcd = new EtcdClient({ endpoints: [chainfire.endpoint] });
  return {
    chainfire, iam, novanet, plasmavmc, etcd, adminToken, admin: new PlasmavmcClient(plasmavmc.http.url, adminToken),
    stop: async () => {
      etcd.close();
      await plasmavmc.stop();
      await novanet.stop();
      await iam.stop();
      await chainfire.stop();
    },
  };
}

/** A tenant: organisation, project, a user with plasmavmc and novanet roles on the project. */
export interface Tenant {
  org: string;
  project: string;
  user: string;
  token: string;
  pv: PlasmavmcClient;
  nn: NovanetClient;
}

const PASSWORD = "plasmavmc test password 1";

/** Creates a tenant through iam's API (as the administrator). */
export async function makeTenant(stack: Stack, name: string, level: "member" | "admin" = "member"): Promise<Tenant> {
  const url = stack.iam.http.url;
  const admin = stack.adminToken;
  const org = (await api(url, "POST", "/v1/orgs", { token: admin, body: { name } })).body.id as string;
  const project = (await api(url, "POST", "/v1/projects", { token: admin, body: { org, name: "vms" } })).body.id as string;
  const user = (await api(url, "POST", "/v1/users", { token: admin, body: { org, name: "u", password: PASSWORD } })).body.id as string;
  for (const role of [`plasmavmc.${level}`, `novanet.${level}`]) {
    const b = await api(url, "POST", "/v1/bindings", { token: admin, body: { principal: user, role, scope: { kind: "project", id: project } } });
    if (b.status !== 201) throw new Error(`binding: ${JSON.stringify(b.body)}`);
  }
  const token = await loginToken(url, "u", PASSWORD, { org: name, project });
  return { org, project, user, token, pv: new PlasmavmcClient(stack.plasmavmc.http.url, token), nn: new NovanetClient(stack.novanet.http.url, token) };
}

/** Registers a host (no agent: only its registration and heartbeat lease). */
export function registerTestHost(stack: Stack, name: string, vcpus: number, memoryMiB: number, ttlSeconds = 2): Promise<HostRegistration> {
  return registerHost(stack.etcd, { name, vcpus, memoryMiB, underlayIp: "192.0.2.1" }, ttlSeconds);
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

/** Uploads `bytes` as a new image and waits for it to be verified. */
export async function uploadImage(t: Tenant, name: string, bytes: Uint8Array, o: { kind?: string; sha256?: string; initrd?: string; cmdline?: string } = {}) {
  const img = await t.pv.createImage({ name, ...o });
  return t.pv.uploadImage(img.id, new Blob([bytes]));
}
