/**
 * Subnets: a CIDR inside the VPC's and apart from its other subnets (creates in one VPC are
 * serialised by rewriting the VPC document in the same transaction), a gateway, DHCP with its
 * server address claimed from the pools, DNS servers, allocation pools.
 */
import type { GuardCaller } from "../iam/guard.ts";
import { pickFree } from "./model/ipam.ts";
import { checkIp, checkName, checkSubnet, type SubnetSpec } from "./model/validate.ts";
import { NovanetErrors } from "./errors.ts";
import { newId, shown, type NovanetService } from "./service.ts";
import { keys } from "./store.ts";
import type { Port, Router, Subnet, Vpc } from "./types.ts";

/** `CreateSubnet`'s input. */
export interface CreateSubnetInput extends SubnetSpec {
  vpc: string;
  name?: string;
}

/**
 * Creates a subnet in a VPC of the caller's.
 * @throws NOVANET:InvalidCidr, NOVANET:Overlap, NOVANET:OutOfRange, NOVANET:InvalidArgument,
 *   NOVANET:NotFound (the VPC), NOVANET:QuotaExceeded.
 */
export async function createSubnet(s: NovanetService, caller: GuardCaller, i: CreateSubnetInput): Promise<Subnet> {
  const name = checkName(i.name);
  const vpc0 = await s.load<Vpc>(caller, "vpcs", i.vpc, "get");
  const scope = await s.authorizeProject(caller, "subnet", "create", vpc0.project);
  const id = newId("subnets");
  return s.store.transact(async (tx) => {
    const vpc = await s.must<Vpc>(tx, "vpcs", i.vpc, scope.project, "vpc");
    const siblings = (await tx.list<Subnet>(keys.kind("subnets"))).map((d) => d.value).filter((d) => d.vpc === vpc.id);
    const checked = checkSubnet(i, vpc.cidr, siblings);
    await s.claimSlot(tx, scope.project, "subnets", id);
    const subnet: Subnet = { id, org: vpc.org, project: vpc.project, vpc: vpc.id, name, createdAt: new Date().toISOString(), ...checked };
    if (checked.dhcp) {
      const ip = pickFree(checked, new Set())!;
      subnet.dhcpServerIp = ip;
      tx.claim(keys.ip(id, ip), `dhcp:${id}`);
    }
    tx.put(keys.doc("vpcs", vpc.id), vpc); // serialises subnet creates of one VPC (overlap check)
    tx.put(keys.doc("subnets", id), subnet);
    return subnet;
  });
}

/** One subnet. */
export async function getSubnet(s: NovanetService, caller: GuardCaller, i: { id: string }): Promise<Subnet> {
  return shown(await s.load<Subnet>(caller, "subnets", i.id, "get"));
}

/** The project's subnets (of one VPC with `vpc`). */
export async function listSubnets(s: NovanetService, caller: GuardCaller, i: { project?: string; vpc?: string }): Promise<{ items: Subnet[] }> {
  return { items: (await s.list<Subnet>(caller, "subnets", i.project, (d) => !i.vpc || d.vpc === i.vpc)).map(shown) };
}

/** Renames a subnet or changes its DNS servers. */
export async function updateSubnet(s: NovanetService, caller: GuardCaller, i: { id: string; name?: string; dnsServers?: string[] }): Promise<Subnet> {
  const cur = await s.load<Subnet>(caller, "subnets", i.id, "update");
  const name = checkName(i.name);
  const dns = i.dnsServers?.map((d, n) => checkIp(d, `dnsServers[${n}]`));
  if (dns && dns.length > 5) throw NovanetErrors.InvalidArgument("at most 5 dnsServers", { details: { field: "dnsServers" } });
  return s.store.transact(async (tx) => {
    const sn = await s.must<Subnet>(tx, "subnets", i.id, cur.project, "id");
    const next = { ...sn, ...(i.name !== undefined ? { name } : {}), ...(dns ? { dnsServers: dns } : {}) };
    tx.put(keys.doc("subnets", i.id), next);
    return shown(next);
  });
}

/**
 * Deletes a subnet without ports and not attached to a router.
 * @throws NOVANET:InUse naming the ports or router.
 */
export async function deleteSubnet(s: NovanetService, caller: GuardCaller, i: { id: string }): Promise<Record<string, never>> {
  await s.load<Subnet>(caller, "subnets", i.id, "delete");
  await s.guardedDelete<Subnet>(
    "subnets",
    i.id,
    async () => {
      const ports = (await s.store.list<Port>(keys.kind("ports"))).filter((d) => d.value.subnet === i.id);
      if (ports.length) return `${ports.length} port(s): ${ports.slice(0, 5).map((d) => d.value.id).join(", ")}${ports.length > 5 ? ", ..." : ""}`;
      const routers = (await s.store.list<Router>(keys.kind("routers"))).filter((d) => d.value.subnets.includes(i.id));
      if (routers.length) return `attached to router ${routers.map((d) => d.value.id).join(", ")}`;
      return undefined;
    },
    async (tx, sn) => {
      for (const c of await tx.list(keys.ips(sn.id))) tx.delete(c.key);
      await s.releaseSlots(tx, sn.project, "subnets", new Set([sn.id]));
    },
  );
  return {};
}
