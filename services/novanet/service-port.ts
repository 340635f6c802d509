/**
 * Ports: a MAC (generated unless given, unique in the VPC), fixed IPs from the subnet without
 * collisions (each address is a claim key created in the port's transaction: a concurrent create
 * that picked the same address loses the compare and picks again), security groups of the same
 * project (the project's default group when none is named), and the host binding the agents act
 * on.
 */
import type { GuardCaller } from "../iam/guard.ts";
import { NovanetErrors } from "./errors.ts";
import { canonicalIp } from "./model/cidr.ts";
import { assignable, pickFree, randomMac } from "./model/ipam.ts";
import { checkMac, checkName } from "./model/validate.ts";
import { newId, shown, type NovanetService, type Scope } from "./service.ts";
import { keys, type StoreTx } from "./store.ts";
import type { FloatingIp, Port, SecurityGroup, Subnet } from "./types.ts";

/** `CreatePort`'s input. */
export interface CreatePortInput {
  subnet: string;
  name?: string;
  mac?: string;
  fixedIps?: string[];
  securityGroups?: string[];
  portSecurity?: boolean;
  host?: string;
  netns?: string;
  deviceOwner?: string;
}

const HOST = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const NETNS = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

function checkBinding(i: { host?: string; netns?: string; deviceOwner?: string }): void {
  if (i.host !== undefined && i.host !== "" && !HOST.test(i.host)) throw NovanetErrors.InvalidArgument(`host ${JSON.stringify(i.host)} is not a host name`, { details: { field: "host" } });
  if (i.netns !== undefined && i.netns !== "" && !NETNS.test(i.netns)) throw NovanetErrors.InvalidArgument(`netns ${JSON.stringify(i.netns)} is not a namespace name`, { details: { field: "netns" } });
  if (i.deviceOwner !== undefined && i.deviceOwner.length > 200) throw NovanetErrors.InvalidArgument("deviceOwner is too long (at most 200 characters)", { details: { field: "deviceOwner" } });
}

/** Reads the named groups (recorded: deleting one conflicts with this transaction), or the default one. */
async function groupsOf(s: NovanetService, tx: StoreTx, scope: Scope, ids: string[] | undefined): Promise<string[]> {
  if (ids === undefined) return [await s.defaultGroup(tx, scope)];
  if (ids.length > 10) throw NovanetErrors.InvalidArgument("at most 10 securityGroups per port", { details: { field: "securityGroups" } });
  const uniq = [...new Set(ids)];
  for (const g of uniq) {
    if (g === "" ) throw NovanetErrors.InvalidArgument("securityGroups holds an empty id", { details: { field: "securityGroups" } });
    await s.must<SecurityGroup>(tx, "secgroups", g, scope.project, "securityGroups");
  }
  return uniq;
}

/**
 * Creates a port with free (or the given) fixed IPs.
 * @throws NOVANET:OutOfRange (a fixed IP outside the subnet), NOVANET:IpInUse (already taken),
 *   NOVANET:Exhausted (no free address), NOVANET:QuotaExceeded, NOVANET:NotFound.
 */
export async function createPort(s: NovanetService, caller: GuardCaller, i: CreatePortInput): Promise<Port> {
  const name = checkName(i.name);
  const mac = i.mac !== undefined && i.mac !== "" ? checkMac(i.mac) : undefined;
  checkBinding(i);
  if (i.fixedIps && i.fixedIps.length > 4) throw NovanetErrors.InvalidArgument("at most 4 fixedIps per port", { details: { field: "fixedIps" } });
  const sn0 = await s.load<Subnet>(caller, "subnets", i.subnet, "get");
  const scope = await s.authorizeProject(caller, "port", "create", sn0.project);
  scope.org = sn0.org;
  const id = newId("ports");
  const wanted = (i.fixedIps ?? []).map((ip, n) => {
    const c = canonicalIp(ip);
    if (!c) throw NovanetErrors.InvalidArgument(`fixedIps[${n}] ${JSON.stringify(ip)} is not an IP address`, { details: { field: "fixedIps" } });
    if (!assignable(sn0, c)) throw NovanetErrors.OutOfRange(`fixedIps[${n}] ${c} is not a host address of subnet ${sn0.id} (${sn0.cidr}, gateway ${sn0.gatewayIp})`, { details: { field: "fixedIps" } });
    return c;
  });
  if (new Set(wanted).size !== wanted.length) throw NovanetErrors.InvalidArgument("fixedIps repeats an address", { details: { field: "fixedIps" } });
  return s.store.transact(async (tx) => {
    const sn = await s.must<Subnet>(tx, "subnets", i.subnet, scope.project, "subnet");
    const securityGroups = await groupsOf(s, tx, scope, i.securityGroups);
    await s.claimSlot(tx, scope.project, "ports", id);
    let fixedIps = wanted;
    if (fixedIps.length) {
      for (const ip of fixedIps) {
        const holder = await tx.get<string>(keys.ip(sn.id, ip));
        if (holder !== undefined) throw NovanetErrors.IpInUse(`${ip} is already taken in subnet ${sn.id}`, { details: { field: "fixedIps", ip } });
        tx.put(keys.ip(sn.id, ip), id);
      }
    } else {
      const used = new Set((await tx.list<string>(keys.ips(sn.id))).map((c) => c.key.slice(keys.ips(sn.id).length)));
      const ip = pickFree(sn, used, tx.attempt > 1);
      if (!ip) throw NovanetErrors.Exhausted(`subnet ${sn.id} (${sn.cidr}) has no free address left`, { details: { subnet: sn.id } });
      tx.claim(keys.ip(sn.id, ip), id);
      fixedIps = [ip];
    }
    const m = mac ?? randomMac();
    const macKey = `${keys.kind("macs")}${sn.vpc}/${m}`;
    if (mac !== undefined && (await tx.get<string>(macKey)) !== undefined) throw NovanetErrors.InvalidArgument(`mac ${m} is already used in VPC ${sn.vpc}`, { details: { field: "mac" } });
    tx.claim(macKey, id);
    const port: Port = {
      id, org: sn.org, project: sn.project, name, createdAt: new Date().toISOString(),
      vpc: sn.vpc, subnet: sn.id, mac: m, fixedIps, securityGroups, portSecurity: i.portSecurity ?? true,
      ...(i.host ? { host: i.host } : {}), ...(i.netns ? { netns: i.netns } : {}), ...(i.deviceOwner ? { deviceOwner: i.deviceOwner } : {}),
    };
    tx.put(keys.doc("ports", id), port);
    return port;
  });
}

/** One port. */
export async function getPort(s: NovanetService, caller: GuardCaller, i: { id: string }): Promise<Port> {
  return shown(await s.load<Port>(caller, "ports", i.id, "get"));
}

/** The project's ports (filtered by subnet, VPC or host). */
export async function listPorts(s: NovanetService, caller: GuardCaller, i: { project?: string; subnet?: string; vpc?: string; host?: string }): Promise<{ items: Port[] }> {
  const items = await s.list<Port>(caller, "ports", i.project, (p) => (!i.subnet || p.subnet === i.subnet) && (!i.vpc || p.vpc === i.vpc) && (!i.host || p.host === i.host));
  return { items: items.map(shown) };
}

/** `UpdatePort`'s input: name, groups and binding. */
export interface UpdatePortInput {
  id: string;
  name?: string;
  securityGroups?: string[];
  host?: string;
  netns?: string;
  deviceOwner?: string;
}

/** Changes a port's name, security groups or binding (`host: ""` unbinds). */
export async function updatePort(s: NovanetService, caller: GuardCaller, i: UpdatePortInput): Promise<Port> {
  const cur = await s.load<Port>(caller, "ports", i.id, "update");
  const name = checkName(i.name);
  checkBinding(i);
  return s.store.transact(async (tx) => {
    const p = await s.must<Port>(tx, "ports", i.id, cur.project, "id");
    const next: Port = { ...p };
    if (i.name !== undefined) next.name = name;
    if (i.securityGroups !== undefined) next.securityGroups = await groupsOf(s, tx, { org: p.org, project: p.project }, i.securityGroups);
    for (const f of ["host", "netns", "deviceOwner"] as const) {
      if (i[f] === undefined) continue;
      if (i[f] === "") delete next[f];
      else next[f] = i[f];
    }
    tx.put(keys.doc("ports", i.id), next);
    return shown(next);
  });
}

/** Deletes a port: its addresses, MAC and quota go back; a floating IP on it is dissociated. */
export async function deletePort(s: NovanetService, caller: GuardCaller, i: { id: string }): Promise<Record<string, never>> {
  const cur = await s.load<Port>(caller, "ports", i.id, "delete");
  await s.store.transact(async (tx) => {
    const p = await tx.get<Port>(keys.doc("ports", i.id));
    if (!p) return;
    for (const ip of p.fixedIps) tx.delete(keys.ip(p.subnet, ip));
    tx.delete(`${keys.kind("macs")}${p.vpc}/${p.mac}`);
    await s.releaseSlots(tx, cur.project, "ports", new Set([p.id]));
    const fipId = await tx.get<string>(keys.doc("fipport", p.id));
    if (fipId) {
      const f = await tx.get<FloatingIp>(keys.doc("fips", fipId));
      if (f) {
        const { port: _p, fixedIp: _f, router: _r, ...rest } = f;
        tx.put(keys.doc("fips", fipId), rest);
      }
      tx.delete(keys.doc("fipport", p.id));
    }
    tx.delete(keys.doc("ports", i.id));
  });
  return {};
}
