/**
 * Tenant isolation through novanet's API: every operation of the API, called by tenant A (and by
 * a sibling project's member in B's own organisation) on tenant B's resources, is refused, and
 * lists show nothing of B. The matrix is keyed by the operation table, so a new operation
 * without a cross-tenant case fails this test. Owners succeed on their own resources (so the
 * refusals cannot be vacuous).
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { novanetOperations } from "../../../services/novanet/api/index.ts";
import { NovanetClient } from "../../../services/novanet/client.ts";
import type { FloatingIp, Port, Router, SecurityGroup, Subnet, Vpc } from "../../../services/novanet/types.ts";
import { api, loginToken } from "../../support/iam.ts";
import { codeOf, makeTenant, startStack, type Stack, type Tenant } from "./support.ts";

const work = mkdtempSync(join(tmpdir(), "novanet-xt-"));
let stack: Stack;
let a: Tenant;
let b: Tenant;
let sibling: NovanetClient; // admin of another project in B's organisation
let B: { vpc: Vpc; subnet: Subnet; port: Port; sg: SecurityGroup; router: Router; fip: FloatingIp };
let A: { vpc: Vpc; subnet: Subnet; port: Port };

beforeAll(async () => {
  stack = await startStack(work, { external: { cidr: "198.51.100.0/24", gatewayIp: "198.51.100.1" } });
  a = await makeTenant(stack, "alpha", "novanet.admin");
  b = await makeTenant(stack, "bravo", "novanet.admin");
  const url = stack.iam.http.url;
  const proj = (await api(url, "POST", "/v1/projects", { token: stack.adminToken, body: { org: b.org, name: "other" } })).body.id as string;
  const user = (await api(url, "POST", "/v1/users", { token: stack.adminToken, body: { org: b.org, name: "sib", password: "sibling password 12" } })).body.id as string;
  await api(url, "POST", "/v1/bindings", { token: stack.adminToken, body: { principal: user, role: "admin", scope: { kind: "project", id: proj } } });
  sibling = new NovanetClient(stack.novanet.http.url, await loginToken(url, "sib", "sibling password 12", { org: "bravo", project: proj }));
  const vpc = await b.nn.createVpc({ cidr: "10.0.0.0/16" });
  const subnet = await b.nn.createSubnet({ vpc: vpc.id, cidr: "10.0.0.0/24" });
  const sg0 = await b.nn.createSecGroup({ name: "b-web" });
  await b.nn.createRule(sg0.id, { direction: "ingress", protocol: "tcp", portMin: 80 });
  const sg = await b.nn.getSecGroup(sg0.id);
  const port = await b.nn.createPort({ subnet: subnet.id, securityGroups: [sg.id] });
  const router = await b.nn.createRouter({ vpc: vpc.id, external: true, subnets: [subnet.id] });
  const fip = await b.nn.createFip({ port: port.id });
  B = { vpc, subnet, port, sg, router, fip };
  const avpc = await a.nn.createVpc({ cidr: "10.0.0.0/16" }); // the same CIDR as B's
  const asub = await a.nn.createSubnet({ vpc: avpc.id, cidr: "10.0.0.0/24" });
  A = { vpc: avpc, subnet: asub, port: await a.nn.createPort({ subnet: asub.id }) };
}, 30_000);

afterAll(async () => {
  await stack?.stop();
  rmSync(work, { recursive: true, force: true });
});

/** Every operation, as an attacker's call on B's resources. */
function attacks(nn: NovanetClient): Record<string, () => Promise<unknown>> {
  const rule = B.sg.rules[0]!;
  return {
    CreateVpc: () => nn.createVpc({ cidr: "10.9.0.0/16", project: b.project }),
    ListVpcs: () => nn.listVpcs(b.project),
    GetVpc: () => nn.getVpc(B.vpc.id),
    UpdateVpc: () => nn.request("PATCH", `/v1/vpcs/${B.vpc.id}`, { name: "pwned" }),
    DeleteVpc: () => nn.deleteVpc(B.vpc.id),
    CreateSubnet: () => nn.createSubnet({ vpc: B.vpc.id, cidr: "10.0.5.0/24" }),
    ListSubnets: () => nn.listSubnets({ project: b.project }),
    GetSubnet: () => nn.getSubnet(B.subnet.id),
    UpdateSubnet: () => nn.request("PATCH", `/v1/subnets/${B.subnet.id}`, { name: "pwned" }),
    DeleteSubnet: () => nn.deleteSubnet(B.subnet.id),
    CreatePort: () => nn.createPort({ subnet: B.subnet.id, fixedIps: ["10.0.0.99"] }),
    ListPorts: () => nn.listPorts({ project: b.project }),
    GetPort: () => nn.getPort(B.port.id),
    UpdatePort: () => nn.updatePort({ id: B.port.id, host: "evil" }),
    DeletePort: () => nn.deletePort(B.port.id),
    CreateSecurityGroup: () => nn.createSecGroup({ project: b.project, name: "x" }),
    ListSecurityGroups: () => nn.listSecGroups(b.project),
    GetSecurityGroup: () => nn.getSecGroup(B.sg.id),
    UpdateSecurityGroup: () => nn.request("PATCH", `/v1/secgroups/${B.sg.id}`, { description: "pwned" }),
    DeleteSecurityGroup: () => nn.deleteSecGroup(B.sg.id),
    CreateSecurityGroupRule: () => nn.createRule(B.sg.id, { direction: "ingress" }),
    DeleteSecurityGroupRule: () => nn.deleteRule(B.sg.id, rule.id),
    CreateRouter: () => nn.createRouter({ vpc: B.vpc.id }),
    ListRouters: () => nn.listRouters(b.project),
    GetRouter: () => nn.getRouter(B.router.id),
    UpdateRouter: () => nn.updateRouter(B.router.id, { removeSubnets: [B.subnet.id] }),
    DeleteRouter: () => nn.deleteRouter(B.router.id),
    CreateFloatingIp: () => nn.createFip({ project: b.project }),
    ListFloatingIps: () => nn.listFips(b.project),
    GetFloatingIp: () => nn.getFip(B.fip.id),
    UpdateFloatingIp: () => nn.updateFip(B.fip.id, { port: "" }),
    DeleteFloatingIp: () => nn.deleteFip(B.fip.id),
    GetQuota: () => nn.getQuota(b.project),
    UpdateQuota: () => nn.updateQuota(b.project, { ports: 0 }),
  };
}

describe("cross-tenant isolation through the API", () => {
  it("has a case for every operation", () => {
    expect(Object.keys(attacks(a.nn)).sort()).toEqual(novanetOperations.map((o) => o.name).sort());
  });

  for (const who of ["another organisation", "a sibling project"] as const) {
    it(`refuses every call from ${who} on B's resources and changes nothing`, async () => {
      const nn = who === "another organisation" ? a.nn : sibling;
      const results: Record<string, string> = {};
      for (const [name, call] of Object.entries(attacks(nn))) results[name] = await codeOf(call());
      for (const [name, code] of Object.entries(results)) expect([name, code]).toEqual([name, expect.stringMatching(/^(NOVANET:NotFound|IAM:PermissionDenied)$/)]);
      // B's resources are intact
      expect((await b.nn.getPort(B.port.id))).toMatchObject({ fixedIps: B.port.fixedIps });
      expect((await b.nn.getPort(B.port.id)).host).toBeUndefined();
      expect((await b.nn.getSecGroup(B.sg.id)).rules).toHaveLength(1);
      expect((await b.nn.getRouter(B.router.id)).subnets).toEqual([B.subnet.id]);
      expect((await b.nn.getFip(B.fip.id)).port).toBe(B.port.id);
      expect((await b.nn.listSubnets()).items).toHaveLength(1);
    });
  }

  it("refuses B's ids inside A's own requests", async () => {
    expect(await codeOf(a.nn.createPort({ subnet: A.subnet.id, securityGroups: [B.sg.id] }))).toBe("NOVANET:NotFound");
    const asg = await a.nn.createSecGroup({ name: "a" });
    expect(await codeOf(a.nn.createRule(asg.id, { direction: "ingress", remoteGroup: B.sg.id }))).toBe("NOVANET:NotFound");
    expect(await codeOf(a.nn.updatePort({ id: A.port.id, securityGroups: [B.sg.id] }))).toBe("NOVANET:NotFound");
    const ar = await a.nn.createRouter({ vpc: A.vpc.id });
    expect(await codeOf(a.nn.updateRouter(ar.id, { addSubnets: [B.subnet.id] }))).toBe("NOVANET:NotFound");
    expect(await codeOf(a.nn.createFip({ port: B.port.id }))).toBe("NOVANET:NotFound");
  });

  it("lists only the caller's own resources, and owners may act on theirs", async () => {
    const ids = new Set(Object.values(B).map((r) => r.id));
    for (const list of [await a.nn.listVpcs(), await a.nn.listSubnets(), await a.nn.listPorts(), await a.nn.listSecGroups(), await a.nn.listRouters(), await a.nn.listFips()]) {
      for (const item of list.items) expect(ids.has(item.id)).toBe(false);
    }
    expect((await a.nn.listVpcs()).items.map((v) => v.id)).toEqual([A.vpc.id]);
    expect((await b.nn.getVpc(B.vpc.id)).id).toBe(B.vpc.id);
    expect((await b.nn.listPorts()).items.map((p) => p.id)).toEqual([B.port.id]);
  });

  it("lets a reader read but not change", async () => {
    const r = await makeTenant(stack, "charlie", "novanet.reader");
    expect((await r.nn.listVpcs()).items).toEqual([]);
    expect(await codeOf(r.nn.createVpc({ cidr: "10.0.0.0/16" }))).toBe("IAM:PermissionDenied");
  });
});
