/**
 * novanet's API against a real chainfire and iam: validation with clear NOVANET:* codes and
 * nothing half-written, IPAM without collisions under concurrent creates, quotas (admin-only
 * changes, never exceeded by concurrent creates), the default security group, REST and gRPC with
 * the same codes, and the OpenAPI document.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GrpcClient } from "../../../lib/grpc/index.ts";
import { novanetGrpcService } from "../../../services/novanet/api/index.ts";
import { NovanetClient } from "../../../services/novanet/client.ts";
import type { Subnet, Vpc } from "../../../services/novanet/types.ts";
import { codeOf, makeTenant, startStack, type Stack, type Tenant } from "./support.ts";

const work = mkdtempSync(join(tmpdir(), "novanet-api-"));
let stack: Stack;
let t: Tenant;
let vpc: Vpc;
let subnet: Subnet;

beforeAll(async () => {
  stack = await startStack(work, {
    external: { cidr: "203.0.113.0/24", gatewayIp: "203.0.113.1", poolStart: "203.0.113.10", poolEnd: "203.0.113.20", cidr6: "2001:db8:100::/64", gatewayIp6: "2001:db8:100::1" },
  });
  t = await makeTenant(stack, "acme");
  vpc = await t.nn.createVpc({ cidr: "10.0.0.0/16", name: "main" });
  subnet = await t.nn.createSubnet({ vpc: vpc.id, cidr: "10.0.1.0/24", name: "web", dnsServers: ["192.0.2.53"] });
}, 30_000);

afterAll(async () => {
  await stack?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe("VPCs and subnets", () => {
  it("creates a VPC with a unique VNI in the caller's project and the project's default group", async () => {
    expect(vpc).toMatchObject({ project: t.project, org: t.org, cidr: "10.0.0.0/16", name: "main" });
    const other = await t.nn.createVpc({ cidr: "10.0.0.0/16" }); // overlapping VPCs are fine: separate networks
    expect(other.vni).not.toBe(vpc.vni);
    expect((await t.nn.listVpcs()).items.map((v) => v.id)).toEqual([vpc.id, other.id]);
    await t.nn.deleteVpc(other.id);
    const groups = (await t.nn.listSecGroups()).items;
    expect(groups).toHaveLength(1);
    expect(groups[0]).toMatchObject({ name: "default", isDefault: true });
    expect(groups[0]!.rules.find((r) => r.direction === "ingress" && r.ethertype === "ipv4")).toMatchObject({ remoteGroup: groups[0]!.id });
    expect(groups[0]!.rules.find((r) => r.direction === "egress" && r.ethertype === "ipv4")!.remoteGroup).toBeUndefined();
  });

  it("fills a subnet's defaults: gateway, pools, DHCP server", () => {
    expect(subnet).toMatchObject({ cidr: "10.0.1.0/24", ipVersion: 4, gatewayIp: "10.0.1.1", dhcp: true, dhcpServerIp: "10.0.1.2", dnsServers: ["192.0.2.53"], allocationPools: [{ start: "10.0.1.2", end: "10.0.1.254" }] });
  });

  it("refuses bad CIDRs, overlaps, subnets outside the VPC, bad gateways and pools", async () => {
    const sub = (x: Record<string, unknown>) => codeOf(t.nn.createSubnet({ vpc: vpc.id, cidr: "10.0.9.0/24", ...x } as never));
    expect(await sub({ cidr: "10.0.1.128/25" })).toBe("NOVANET:Overlap");
    expect(await sub({ cidr: "10.0.0.0/8" })).toBe("NOVANET:OutOfRange");
    expect(await sub({ cidr: "10.1.0.0/24" })).toBe("NOVANET:OutOfRange");
    expect(await sub({ cidr: "10.0.9.1/24" })).toBe("NOVANET:InvalidCidr");
    expect(await sub({ cidr: "10.0.9.0/30" })).toBe("NOVANET:InvalidCidr");
    expect(await sub({ cidr: "10.0.9.0" })).toBe("NOVANET:InvalidCidr");
    expect(await sub({ cidr: "banana/24" })).toBe("NOVANET:InvalidCidr");
    expect(await sub({ cidr: "10.0.9.0/33" })).toBe("NOVANET:InvalidCidr");
    expect(await sub({ gatewayIp: "10.0.8.1" })).toBe("NOVANET:OutOfRange");
    expect(await sub({ gatewayIp: "10.0.9.255" })).toBe("NOVANET:OutOfRange");
    expect(await sub({ allocationPools: [{ start: "10.0.9.50", end: "10.0.9.10" }] })).toBe("NOVANET:InvalidArgument");
    expect(await sub({ allocationPools: [{ start: "10.0.9.1", end: "10.0.9.10" }] })).toBe("NOVANET:OutOfRange");
    expect(await sub({ allocationPools: [{ start: "10.0.9.10", end: "10.0.9.20" }, { start: "10.0.9.15", end: "10.0.9.30" }] })).toBe("NOVANET:Overlap");
    expect(await sub({ dnsServers: ["not-an-ip"] })).toBe("NOVANET:InvalidArgument");
    expect(await sub({ bogus: 1 })).toBe("NOVANET:InvalidArgument");
    expect(await codeOf(t.nn.createVpc({ cidr: "10.0.0.0/30" }))).toBe("NOVANET:InvalidCidr");
    expect(await codeOf(t.nn.createVpc({ cidr: "" }))).toBe("NOVANET:InvalidArgument");
    // nothing was written by any refused call
    expect((await t.nn.listSubnets({ vpc: vpc.id })).items.map((s) => s.id)).toEqual([subnet.id]);
    expect((await t.nn.getQuota()).usage).toMatchObject({ vpcs: 1, subnets: 1 });
  });

  it("accepts IPv6 subnets in the model", async () => {
    const v6 = await t.nn.createVpc({ cidr: "fd00:1::/48" });
    const s6 = await t.nn.createSubnet({ vpc: v6.id, cidr: "fd00:1:0:1::/64" });
    expect(s6).toMatchObject({ ipVersion: 6, gatewayIp: "fd00:1:0:1::1", dhcp: false });
    const p = await t.nn.createPort({ subnet: s6.id });
    expect(p.fixedIps).toEqual(["fd00:1:0:1::2"]);
    await t.nn.deletePort(p.id);
    await t.nn.deleteSubnet(s6.id);
    await t.nn.deleteVpc(v6.id);
  });
});

describe("ports and IPAM", () => {
  it("gives 50 concurrent creates 50 different addresses", async () => {
    const ports = await Promise.all(Array.from({ length: 50 }, () => t.nn.createPort({ subnet: subnet.id })));
    const ips = ports.flatMap((p) => p.fixedIps);
    expect(new Set(ips).size).toBe(50);
    expect(new Set(ports.map((p) => p.mac)).size).toBe(50);
    for (const ip of ips) expect(ip).toMatch(/^10\.0\.1\.\d+$/);
    expect(ips).not.toContain("10.0.1.2"); // the DHCP server's
    expect((await t.nn.getQuota()).usage.ports).toBe(50);
    await Promise.all(ports.map((p) => t.nn.deletePort(p.id)));
    expect((await t.nn.getQuota()).usage.ports).toBe(0);
  }, 30_000);

  it("gives a fixed IP asked for by 10 concurrent creates to exactly one", async () => {
    const results = await Promise.all(Array.from({ length: 10 }, () => t.nn.createPort({ subnet: subnet.id, fixedIps: ["10.0.1.200"] }).then((p) => p, (e: { code: string }) => e.code)));
    const won = results.filter((r) => typeof r !== "string");
    expect(won).toHaveLength(1);
    expect(results.filter((r) => r === "NOVANET:IpInUse")).toHaveLength(9);
    await t.nn.deletePort((won[0] as { id: string }).id);
  });

  it("refuses a fixed IP outside the subnet or taken, and reuses a freed one", async () => {
    const p = await t.nn.createPort({ subnet: subnet.id, fixedIps: ["10.0.1.77"] });
    expect(p.fixedIps).toEqual(["10.0.1.77"]);
    expect(await codeOf(t.nn.createPort({ subnet: subnet.id, fixedIps: ["10.0.1.77"] }))).toBe("NOVANET:IpInUse");
    expect(await codeOf(t.nn.createPort({ subnet: subnet.id, fixedIps: ["10.0.2.5"] }))).toBe("NOVANET:OutOfRange");
    expect(await codeOf(t.nn.createPort({ subnet: subnet.id, fixedIps: ["10.0.1.1"] }))).toBe("NOVANET:OutOfRange");
    expect(await codeOf(t.nn.createPort({ subnet: subnet.id, fixedIps: ["10.0.1.255"] }))).toBe("NOVANET:OutOfRange");
    expect(await codeOf(t.nn.createPort({ subnet: subnet.id, mac: "01:00:5e:00:00:01" }))).toBe("NOVANET:InvalidArgument");
    expect(await codeOf(t.nn.createPort({ subnet: subnet.id, securityGroups: ["sg_nope"] }))).toBe("NOVANET:NotFound");
    expect(await codeOf(t.nn.createPort({ subnet: "sn_0000000000000000" }))).toBe("NOVANET:NotFound");
    expect(p.securityGroups).toHaveLength(1); // the default group
    await t.nn.deletePort(p.id);
    expect((await t.nn.createPort({ subnet: subnet.id, fixedIps: ["10.0.1.77"] })).fixedIps).toEqual(["10.0.1.77"]);
  });

  it("refuses to delete a subnet with ports, a VPC with subnets, a group in use", async () => {
    const sg = await t.nn.createSecGroup({ name: "web" });
    const p = await t.nn.createPort({ subnet: subnet.id, securityGroups: [sg.id] });
    expect(await codeOf(t.nn.deleteSubnet(subnet.id))).toBe("NOVANET:InUse");
    expect(await codeOf(t.nn.deleteVpc(vpc.id))).toBe("NOVANET:InUse");
    expect(await codeOf(t.nn.deleteSecGroup(sg.id))).toBe("NOVANET:InUse");
    // the refused deletes left everything usable
    expect((await t.nn.getSubnet(subnet.id)).id).toBe(subnet.id);
    const p2 = await t.nn.createPort({ subnet: subnet.id, securityGroups: [sg.id] });
    await t.nn.deletePort(p.id);
    await t.nn.deletePort(p2.id);
    await t.nn.deleteSecGroup(sg.id);
  });

  it("never leaves a port in a subnet deleted while ports were being created in it", async () => {
    const before = (await t.nn.getQuota()).usage.ports;
    for (let round = 0; round < 3; round++) {
      const s = await t.nn.createSubnet({ vpc: vpc.id, cidr: `10.0.${100 + round}.0/24` });
      const creates = Array.from({ length: 10 }, () => codeOf(t.nn.createPort({ subnet: s.id })));
      await Bun.sleep(round * 5);
      const del = await codeOf(t.nn.deleteSubnet(s.id));
      const results = await Promise.all(creates);
      const ports = (await t.nn.listPorts({ subnet: s.id })).items;
      if (del === "ok") {
        expect(ports).toEqual([]);
        expect(await codeOf(t.nn.getSubnet(s.id))).toBe("NOVANET:NotFound");
      } else {
        expect(del).toBe("NOVANET:InUse");
        expect(ports.length).toBe(results.filter((r) => r === "ok").length);
        for (const p of ports) await t.nn.deletePort(p.id);
        await t.nn.deleteSubnet(s.id);
      }
      for (const r of results) expect(["ok", "NOVANET:NotFound", "NOVANET:InUse"]).toContain(r);
    }
    expect((await t.nn.getQuota()).usage.ports).toBe(before);
  }, 30_000);

  it("exhausts a small subnet with a clear error", async () => {
    const s = await t.nn.createSubnet({ vpc: vpc.id, cidr: "10.0.200.0/29", dhcp: false });
    const ports = [];
    for (let i = 0; i < 5; i++) ports.push(await t.nn.createPort({ subnet: s.id }));
    expect(await codeOf(t.nn.createPort({ subnet: s.id }))).toBe("NOVANET:Exhausted");
    for (const p of ports) await t.nn.deletePort(p.id);
    await t.nn.deleteSubnet(s.id);
  });
});

describe("security group rules", () => {
  it("accepts valid rules and refuses invalid ports, protocols and ICMP fields", async () => {
    const sg = await t.nn.createSecGroup({ name: "rules" });
    const rule = (x: Record<string, unknown>) => codeOf(t.nn.createRule(sg.id, { direction: "ingress", ...x }));
    expect(await rule({ protocol: "tcp", portMin: 22, portMax: 22, remoteCidr: "0.0.0.0/0" })).toBe("ok");
    expect(await rule({ protocol: "icmp", icmpType: 0, icmpCode: 0 })).toBe("ok");
    expect(await rule({ protocol: "udp", portMin: 53 })).toBe("ok");
    expect(await rule({ protocol: "tcp", portMin: 22, portMax: 22, remoteCidr: "0.0.0.0/0" })).toBe("NOVANET:InvalidArgument"); // duplicate
    expect(await rule({ protocol: "tcp", portMin: 0 })).toBe("NOVANET:InvalidRule");
    expect(await rule({ protocol: "tcp", portMin: 70000 })).toBe("NOVANET:InvalidRule");
    expect(await rule({ protocol: "tcp", portMin: 90, portMax: 80 })).toBe("NOVANET:InvalidRule");
    expect(await rule({ protocol: "icmp", portMin: 80 })).toBe("NOVANET:InvalidRule");
    expect(await rule({ protocol: "tcp", icmpType: 8 })).toBe("NOVANET:InvalidRule");
    expect(await rule({ protocol: "icmp", icmpType: 300 })).toBe("NOVANET:InvalidRule");
    expect(await rule({ protocol: "gre" })).toBe("NOVANET:InvalidRule");
    expect(await rule({ protocol: "256" })).toBe("NOVANET:InvalidRule");
    expect(await rule({ direction: "sideways" })).toBe("NOVANET:InvalidRule");
    expect(await rule({ remoteCidr: "10.0.0.0/8", remoteGroup: sg.id })).toBe("NOVANET:InvalidRule");
    expect(await rule({ remoteCidr: "fd00::/8" })).toBe("NOVANET:InvalidRule");
    expect(await rule({ remoteGroup: "sg_0000000000000000" })).toBe("NOVANET:NotFound");
    const got = await t.nn.getSecGroup(sg.id);
    expect(got.rules).toHaveLength(3);
    expect(got.rules[2]).toMatchObject({ protocol: "udp", portMin: 53, portMax: 53 });
    await t.nn.deleteRule(sg.id, got.rules[0]!.id);
    expect((await t.nn.getSecGroup(sg.id)).rules).toHaveLength(2);
    await t.nn.deleteSecGroup(sg.id);
  });
});

describe("quotas", () => {
  it("lets only an administrator change them and never lets concurrent creates exceed them", async () => {
    expect(await codeOf(t.nn.updateQuota(undefined, { secgroups: 100 }))).toBe("IAM:PermissionDenied");
    const admin = new NovanetClient(stack.novanet.http.url, stack.adminToken);
    expect(await codeOf(admin.updateQuota(t.project, { bogus: 1 } as never))).toBe("NOVANET:InvalidArgument");
    const before = (await t.nn.getQuota()).usage.secgroups;
    await admin.updateQuota(t.project, { secgroups: before + 3 });
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => codeOf(t.nn.createSecGroup({ name: `q${i}` }))));
    expect(results.filter((r) => r === "ok")).toHaveLength(3);
    expect(results.filter((r) => r === "NOVANET:QuotaExceeded")).toHaveLength(5);
    const q = await t.nn.getQuota();
    expect(q.usage.secgroups).toBe(before + 3);
    expect(q.limits.secgroups).toBe(before + 3);
    for (const g of (await t.nn.listSecGroups()).items.filter((g) => !g.isDefault)) await t.nn.deleteSecGroup(g.id);
  }, 30_000);
});

describe("routers and floating IPs", () => {
  it("attaches subnets, takes external addresses and maps a floating IP to a port", async () => {
    const r = await t.nn.createRouter({ vpc: vpc.id, external: true, subnets: [subnet.id] });
    expect(r.externalGateway).toMatchObject({ ip: "203.0.113.10", prefix: 24, gatewayIp: "203.0.113.1", snat: true });
    // and an IPv6 address on the external prefix (routed, no NAT66), never the gateway's
    expect(r.externalGateway).toMatchObject({ ip6: "2001:db8:100::2", prefix6: 64, gatewayIp6: "2001:db8:100::1" });
    expect(await codeOf(t.nn.createRouter({ vpc: vpc.id }))).toBe("NOVANET:InUse");
    const p = await t.nn.createPort({ subnet: subnet.id });
    const fip = await t.nn.createFip({ port: p.id });
    expect(fip).toMatchObject({ ip: "203.0.113.11", port: p.id, fixedIp: p.fixedIps[0], router: r.id });
    expect(await codeOf(t.nn.deleteRouter(r.id))).toBe("NOVANET:InUse");
    expect(await codeOf(t.nn.deleteSubnet(subnet.id))).toBe("NOVANET:InUse");
    await t.nn.deletePort(p.id); // dissociates the floating IP
    expect((await t.nn.getFip(fip.id)).port).toBeUndefined();
    await t.nn.deleteFip(fip.id);
    await t.nn.deleteRouter(r.id);
    // Both external addresses were released with the router.
    const again = await t.nn.createRouter({ vpc: vpc.id, external: true });
    expect(again.externalGateway).toMatchObject({ ip: "203.0.113.10", ip6: "2001:db8:100::2" });
    await t.nn.deleteRouter(again.id);
  });
});

describe("transports", () => {
  it("refuses anonymous calls and serves gRPC with the REST API's codes", async () => {
    expect(await codeOf(new NovanetClient(stack.novanet.http.url).listVpcs())).toBe("IAM:Unauthenticated");
    const client = new GrpcClient(stack.novanet.grpcEndpoint);
    try {
      const rpc = client.stub(novanetGrpcService());
      const metadata = { authorization: `Bearer ${t.token}` };
      const listed = await rpc.ListVpcs!({}, { metadata });
      expect(listed.items.map((v: Vpc) => v.id)).toEqual([vpc.id]);
      const bad = await rpc.CreateSubnet!({ vpc: vpc.id, cidr: "10.0.1.0/25" }, { metadata }).catch((e: unknown) => e);
      expect((bad as { code: string }).code).toBe("NOVANET:Overlap");
      const anon = await rpc.ListVpcs!({}).catch((e: unknown) => e);
      expect((anon as { code: string }).code).toBe("IAM:Unauthenticated");
      const s2 = await rpc.CreateSubnet!({ vpc: vpc.id, cidr: "10.0.7.0/24", dhcp: false }, { metadata });
      expect(s2).toMatchObject({ cidr: "10.0.7.0/24", dhcp: false });
      await rpc.DeleteSubnet!({ id: s2.id }, { metadata });
    } finally {
      client.close();
    }
  });

  it("documents every operation in OpenAPI", async () => {
    const doc = (await (await fetch(`${stack.novanet.http.url}/openapi.json`)).json()) as any;
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.paths["/v1/ports/{id}"].get.operationId).toBe("GetPort");
    expect(doc.paths["/v1/secgroups/{secgroup}/rules"].post.operationId).toBe("CreateSecurityGroupRule");
    expect(doc.components.schemas.Port.properties.fixedIps).toEqual({ type: "array", items: { type: "string" } });
  });
});
