/**
 * Routers (one per VPC: its attached subnets' gateway, optionally a leg on the external network
 * with SNAT) and floating IPs (an external address 1:1 to a port's fixed address). External
 * addresses are claim keys, like subnet addresses.
 */
import type { GuardCaller } from "../iam/guard.ts";
import { NovanetErrors } from "./errors.ts";
import { bigToIp, ipToBig, parseNet } from "./model/cidr.ts";
import { pickFree } from "./model/ipam.ts";
import { checkName } from "./model/validate.ts";
import { newId, shown, type NovanetService } from "./service.ts";
import { keys, type StoreTx } from "./store.ts";
import type { ExternalGateway, FloatingIp, Port, Router, Subnet, Vpc } from "./types.ts";

/** Claims a free external address for `owner`. */
async function claimExternal(s: NovanetService, tx: StoreTx, owner: string): Promise<{ ip: string; prefix: number; gatewayIp: string }> {
  const ext = s.external;
  if (!ext) throw NovanetErrors.NoExternalNetwork("no external network is configured ([novanet] external_cidr)");
  const net = parseNet(ext.cidr, false)!;
  const gw = ipToBig(ext.gatewayIp)!.value;
  const start = ext.poolStart ? ipToBig(ext.poolStart)!.value : net.network + 1n;
  const end = ext.poolEnd ? ipToBig(ext.poolEnd)!.value : net.network + (1n << BigInt(net.bits - net.prefix)) - 2n;
  const pools = [];
  if (gw > start && gw <= end) pools.push({ start: bigToIp(start, 4), end: bigToIp(gw - 1n, 4) }, ...(gw < end ? [{ start: bigToIp(gw + 1n, 4), end: bigToIp(end, 4) }] : []));
  else pools.push({ start: bigToIp(start, 4), end: bigToIp(end, 4) });
  const used = new Set((await tx.list<string>(keys.extIps())).map((c) => c.key.slice(keys.extIps().length)));
  const ip = pickFree({ allocationPools: pools, ipVersion: 4 }, used, tx.attempt > 1);
  if (!ip) throw NovanetErrors.Exhausted(`the external network ${ext.cidr} has no free address left`);
  tx.claim(keys.extIp(ip), owner);
  return { ip, prefix: net.prefix, gatewayIp: ext.gatewayIp };
}

/** Claims a free IPv6 address on the external network for `owner`, when it has an IPv6 prefix. */
async function claimExternal6(s: NovanetService, tx: StoreTx, owner: string): Promise<{ ip6: string; prefix6: number; gatewayIp6: string } | undefined> {
  const ext = s.external;
  if (!ext?.cidr6 || !ext.gatewayIp6) return undefined;
  const net = parseNet(ext.cidr6, false)!;
  const gw = ipToBig(ext.gatewayIp6)!.value;
  const last = net.network + (1n << BigInt(net.bits - net.prefix)) - 1n;
  if (gw <= net.network || gw > last) throw NovanetErrors.NoExternalNetwork(`the external IPv6 gateway ${ext.gatewayIp6} is not inside ${ext.cidr6} ([novanet] external_gateway6)`);
  const pools = [{ start: bigToIp(net.network + 1n, 6), end: bigToIp(gw - 1n, 6) }, { start: bigToIp(gw + 1n, 6), end: bigToIp(last, 6) }]
    .filter((p) => ipToBig(p.start)!.value <= ipToBig(p.end)!.value && ipToBig(p.start)!.value > net.network);
  const used = new Set((await tx.list<string>(keys.extIps())).map((c) => c.key.slice(keys.extIps().length)));
  const ip = pickFree({ allocationPools: pools, ipVersion: 6 }, used, tx.attempt > 1);
  if (!ip) throw NovanetErrors.Exhausted(`the external network ${ext.cidr6} has no free address left`);
  tx.claim(keys.extIp(ip), owner);
  return { ip6: ip, prefix6: net.prefix, gatewayIp6: ext.gatewayIp6 };
}

/** `CreateRouter`'s input. */
export interface CreateRouterInput {
  vpc: string;
  name?: string;
  /** Give the router a leg on the external network. */
  external?: boolean;
  /** SNAT the attached subnets behind the external address (default true). */
  snat?: boolean;
  subnets?: string[];
}

/** Creates the VPC's router. @throws NOVANET:InUse when the VPC has one already. */
export async function createRouter(s: NovanetService, caller: GuardCaller, i: CreateRouterInput): Promise<Router> {
  const name = checkName(i.name);
  const vpc0 = await s.load<Vpc>(caller, "vpcs", i.vpc, "get");
  const scope = await s.authorizeProject(caller, "router", "create", vpc0.project);
  const id = newId("routers");
  return s.store.transact(async (tx) => {
    const vpc = await s.must<Vpc>(tx, "vpcs", i.vpc, scope.project, "vpc");
    const existing = await tx.get<string>(keys.doc("vpcrouter", vpc.id));
    if (existing) throw NovanetErrors.InUse(`VPC ${vpc.id} already has router ${existing} (one router per VPC)`, { details: { router: existing } });
    tx.put(keys.doc("vpcrouter", vpc.id), id);
    await s.claimSlot(tx, scope.project, "routers", id);
    const subnets = [...new Set(i.subnets ?? [])];
    if (subnets.length > 64) throw NovanetErrors.InvalidArgument("at most 64 subnets per router", { details: { field: "subnets" } });
    for (const sid of subnets) {
      const sn = await s.must<Subnet>(tx, "subnets", sid, scope.project, "subnets");
      if (sn.vpc !== vpc.id) throw NovanetErrors.InvalidArgument(`subnet ${sid} is not in VPC ${vpc.id}`, { details: { field: "subnets" } });
    }
    let externalGateway: ExternalGateway | undefined;
    if (i.external) externalGateway = { ...(await claimExternal(s, tx, id)), ...(await claimExternal6(s, tx, id)), snat: i.snat ?? true };
    const r: Router = { id, org: vpc.org, project: vpc.project, vpc: vpc.id, name, createdAt: new Date().toISOString(), subnets, ...(externalGateway ? { externalGateway } : {}) };
    tx.put(keys.doc("routers", id), r);
    return r;
  });
}

/** One router. */
export async function getRouter(s: NovanetService, caller: GuardCaller, i: { id: string }): Promise<Router> {
  return shown(await s.load<Router>(caller, "routers", i.id, "get"));
}

/** The project's routers. */
export async function listRouters(s: NovanetService, caller: GuardCaller, i: { project?: string }): Promise<{ items: Router[] }> {
  return { items: (await s.list<Router>(caller, "routers", i.project)).map(shown) };
}

/** Attaches (`add`) or detaches (`remove`) subnets; renames. */
export async function updateRouter(s: NovanetService, caller: GuardCaller, i: { id: string; name?: string; addSubnets?: string[]; removeSubnets?: string[] }): Promise<Router> {
  const cur = await s.load<Router>(caller, "routers", i.id, "update");
  const name = checkName(i.name);
  if ((i.addSubnets?.length ?? 0) + (i.removeSubnets?.length ?? 0) > 64) throw NovanetErrors.InvalidArgument("at most 64 subnets per call", { details: { field: "addSubnets" } });
  return s.store.transact(async (tx) => {
    const r = await s.must<Router>(tx, "routers", i.id, cur.project, "id");
    const subnets = new Set(r.subnets);
    for (const sid of i.addSubnets ?? []) {
      const sn = await s.must<Subnet>(tx, "subnets", sid, r.project, "addSubnets");
      if (sn.vpc !== r.vpc) throw NovanetErrors.InvalidArgument(`subnet ${sid} is not in the router's VPC ${r.vpc}`, { details: { field: "addSubnets" } });
      subnets.add(sid);
    }
    for (const sid of i.removeSubnets ?? []) subnets.delete(sid);
    if (subnets.size > 64) throw NovanetErrors.InvalidArgument("at most 64 subnets per router", { details: { field: "addSubnets" } });
    const next = { ...r, ...(i.name !== undefined ? { name } : {}), subnets: [...subnets] };
    tx.put(keys.doc("routers", r.id), next);
    return shown(next);
  });
}

/** Deletes a router no floating IP uses. */
export async function deleteRouter(s: NovanetService, caller: GuardCaller, i: { id: string }): Promise<Record<string, never>> {
  await s.load<Router>(caller, "routers", i.id, "delete");
  await s.guardedDelete<Router>(
    "routers",
    i.id,
    async () => {
      const fips = (await s.store.list<FloatingIp>(keys.kind("fips"))).filter((d) => d.value.router === i.id);
      return fips.length ? `floating IP(s) ${fips.map((d) => d.value.ip).join(", ")} use it` : undefined;
    },
    async (tx, r) => {
      if (r.externalGateway) tx.delete(keys.extIp(r.externalGateway.ip));
      if (r.externalGateway?.ip6) tx.delete(keys.extIp(r.externalGateway.ip6));
      tx.delete(keys.doc("vpcrouter", r.vpc));
      await s.releaseSlots(tx, r.project, "routers", new Set([r.id]));
    },
  );
  return {};
}

/** Points `fip` at `portId` inside `tx` (the port's VPC needs a router with an external leg). */
async function associate(s: NovanetService, tx: StoreTx, fip: FloatingIp, portId: string): Promise<FloatingIp> {
  const port = await s.must<Port>(tx, "ports", portId, fip.project, "port");
  const routerId = await tx.get<string>(keys.doc("vpcrouter", port.vpc));
  const router = routerId ? await tx.get<Router>(keys.doc("routers", routerId)) : undefined;
  if (!router?.externalGateway) throw NovanetErrors.InvalidArgument(`port ${portId}'s VPC ${port.vpc} has no router with an external gateway`, { details: { field: "port" } });
  if (router.deleting) throw NovanetErrors.InUse(`router ${router.id} is being deleted`, { details: { field: "port" } });
  if (!router.subnets.includes(port.subnet)) throw NovanetErrors.InvalidArgument(`port ${portId}'s subnet ${port.subnet} is not attached to router ${router.id}`, { details: { field: "port" } });
  const fixedIp = port.fixedIps.find((ip) => !ip.includes(":"));
  if (!fixedIp) throw NovanetErrors.InvalidArgument(`port ${portId} has no IPv4 address`, { details: { field: "port" } });
  const other = await tx.get<string>(keys.doc("fipport", portId));
  if (other && other !== fip.id) throw NovanetErrors.InUse(`port ${portId} already has floating IP ${other}`, { details: { field: "port" } });
  tx.put(keys.doc("fipport", portId), fip.id);
  return { ...fip, port: portId, fixedIp, router: router.id };
}

/** Allocates a floating IP, optionally associated with a port. */
export async function createFip(s: NovanetService, caller: GuardCaller, i: { project?: string; name?: string; port?: string }): Promise<FloatingIp> {
  const name = checkName(i.name);
  const scope = await s.authorizeProject(caller, "fip", "create", i.project);
  const id = newId("fips");
  return s.store.transact(async (tx) => {
    await s.claimSlot(tx, scope.project, "fips", id);
    const { ip } = await claimExternal(s, tx, id);
    let fip: FloatingIp = { id, org: scope.org, project: scope.project, name, createdAt: new Date().toISOString(), ip };
    if (i.port) fip = await associate(s, tx, fip, i.port);
    tx.put(keys.doc("fips", id), fip);
    return fip;
  });
}

/** One floating IP. */
export async function getFip(s: NovanetService, caller: GuardCaller, i: { id: string }): Promise<FloatingIp> {
  return shown(await s.load<FloatingIp>(caller, "fips", i.id, "get"));
}

/** The project's floating IPs. */
export async function listFips(s: NovanetService, caller: GuardCaller, i: { project?: string }): Promise<{ items: FloatingIp[] }> {
  return { items: (await s.list<FloatingIp>(caller, "fips", i.project)).map(shown) };
}

/** Associates (`port`) or dissociates (`port: ""`) a floating IP. */
export async function updateFip(s: NovanetService, caller: GuardCaller, i: { id: string; port?: string; name?: string }): Promise<FloatingIp> {
  const cur = await s.load<FloatingIp>(caller, "fips", i.id, "update");
  const name = checkName(i.name);
  return s.store.transact(async (tx) => {
    let f = await s.must<FloatingIp>(tx, "fips", i.id, cur.project, "id");
    if (i.name !== undefined) f = { ...f, name };
    if (i.port !== undefined && i.port !== f.port) {
      if (f.port) tx.delete(keys.doc("fipport", f.port));
      const { port: _p, fixedIp: _f, router: _r, ...rest } = f;
      f = rest;
      if (i.port) f = await associate(s, tx, f, i.port);
    }
    tx.put(keys.doc("fips", f.id), f);
    return shown(f);
  });
}

/** Releases a floating IP. */
export async function deleteFip(s: NovanetService, caller: GuardCaller, i: { id: string }): Promise<Record<string, never>> {
  const cur = await s.load<FloatingIp>(caller, "fips", i.id, "delete");
  await s.store.transact(async (tx) => {
    const f = await tx.get<FloatingIp>(keys.doc("fips", i.id));
    if (!f) return;
    if (f.port) tx.delete(keys.doc("fipport", f.port));
    tx.delete(keys.extIp(f.ip));
    await s.releaseSlots(tx, cur.project, "fips", new Set([f.id]));
    tx.delete(keys.doc("fips", i.id));
  });
  return {};
}
