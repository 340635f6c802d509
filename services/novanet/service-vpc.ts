/** VPCs: a CIDR and a VNI allocated uniquely (a claim key per VNI). */
import type { GuardCaller } from "../iam/guard.ts";
import { NovanetErrors } from "./errors.ts";
import { netText } from "./model/cidr.ts";
import { checkName, checkNet } from "./model/validate.ts";
import { newId, shown, type NovanetService } from "./service.ts";
import { keys } from "./store.ts";
import type { Router, Subnet, Vpc } from "./types.ts";

/** `CreateVpc`'s input. */
export interface CreateVpcInput {
  project?: string;
  name?: string;
  cidr: string;
}

/**
 * Creates a VPC with a free VNI.
 * @throws NOVANET:InvalidCidr, NOVANET:QuotaExceeded, NOVANET:Exhausted (no VNI left).
 */
export async function createVpc(s: NovanetService, caller: GuardCaller, i: CreateVpcInput): Promise<Vpc> {
  const name = checkName(i.name);
  const cidr = netText(checkNet(i.cidr, "cidr", "vpc"));
  const scope = await s.authorizeProject(caller, "vpc", "create", i.project);
  const id = newId("vpcs");
  return s.store.transact(async (tx) => {
    await s.claimSlot(tx, scope.project, "vpcs", id);
    const used = new Set((await tx.list<string>(keys.vnis())).map((k) => Number(k.key.slice(k.key.lastIndexOf("/") + 1))));
    const span = s.vniMax - s.vniMin + 1;
    if (used.size >= span) throw NovanetErrors.Exhausted(`every VNI of ${s.vniMin}-${s.vniMax} is taken`);
    let vni = 0;
    const start = tx.attempt === 1 ? 0 : Math.floor(Math.random() * span);
    for (let k = 0; k < span && vni === 0; k++) {
      const v = s.vniMin + ((start + k) % span);
      if (!used.has(v)) vni = v;
    }
    if (vni === 0) throw NovanetErrors.Exhausted(`every VNI of ${s.vniMin}-${s.vniMax} is taken`);
    tx.claim(keys.vni(vni), id);
    const vpc: Vpc = { id, org: scope.org, project: scope.project, name, cidr, vni, createdAt: new Date().toISOString() };
    tx.put(keys.doc("vpcs", id), vpc);
    await s.defaultGroup(tx, scope);
    return vpc;
  });
}

/** One VPC. */
export async function getVpc(s: NovanetService, caller: GuardCaller, i: { id: string }): Promise<Vpc> {
  return shown(await s.load<Vpc>(caller, "vpcs", i.id, "get"));
}

/** The project's VPCs. */
export async function listVpcs(s: NovanetService, caller: GuardCaller, i: { project?: string }): Promise<{ items: Vpc[] }> {
  return { items: (await s.list<Vpc>(caller, "vpcs", i.project)).map(shown) };
}

/** Renames a VPC. */
export async function updateVpc(s: NovanetService, caller: GuardCaller, i: { id: string; name?: string }): Promise<Vpc> {
  const cur = await s.load<Vpc>(caller, "vpcs", i.id, "update");
  const name = checkName(i.name);
  return s.store.transact(async (tx) => {
    const v = await s.must<Vpc>(tx, "vpcs", i.id, cur.project, "id");
    const next = { ...v, ...(i.name !== undefined ? { name } : {}) };
    tx.put(keys.doc("vpcs", i.id), next);
    return shown(next);
  });
}

/**
 * Deletes a VPC that has no subnets and no router left.
 * @throws NOVANET:InUse naming what is left.
 */
export async function deleteVpc(s: NovanetService, caller: GuardCaller, i: { id: string }): Promise<Record<string, never>> {
  await s.load<Vpc>(caller, "vpcs", i.id, "delete");
  await s.guardedDelete<Vpc>(
    "vpcs",
    i.id,
    async () => {
      const subnets = (await s.store.list<Subnet>(keys.kind("subnets"))).filter((d) => d.value.vpc === i.id);
      if (subnets.length) return `subnets ${subnets.map((d) => d.value.id).join(", ")}`;
      const routers = (await s.store.list<Router>(keys.kind("routers"))).filter((d) => d.value.vpc === i.id);
      if (routers.length) return `router ${routers.map((d) => d.value.id).join(", ")}`;
      return undefined;
    },
    async (tx, v) => {
      tx.delete(keys.vni(v.vni));
      await s.releaseSlots(tx, v.project, "vpcs", new Set([v.id]));
    },
  );
  return {};
}
