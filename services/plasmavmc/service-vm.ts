/**
 * VMs: create (placed on a host and its ports bound at once; the agent boots it — the answer is
 * BUILDING), get/list with the state the host agent reports, and delete (the agent removes the
 * VM from its host first, then its ports go back to novanet and its quota and host room are
 * released). Ports are created and bound through novanet's client with the caller's own token,
 * so novanet authorises the caller (a port of another tenant cannot be used). The lifecycle
 * actions are in service-vm-actions.ts.
 */
import type { PhotonError } from "../../lib/errors.ts";
import type { GuardCaller } from "../iam/guard.ts";
import type { Port } from "../novanet/types.ts";
import { PlasmavmcErrors } from "./errors.ts";
import { place, release } from "./scheduler/placement.ts";
import { findFlavor } from "./service-flavor.ts";
import { checkInt, checkName, newId, type PlasmavmcService } from "./service.ts";
import { detachAll } from "./service-volume-attach.ts";
import { keys } from "./store.ts";
import { finishCreate, pendingKey, type PendingCreate } from "./sweeper.ts";
import type { Host, Image, Vm, VmBoot, VmNic, VmRecord, VmStateName, VmStatusRecord } from "./types.ts";

/** `CreateVm`'s input. */
export interface CreateVmInput {
  project?: string;
  name: string;
  flavor: string;
  image: string;
  /** Create a port on this subnet (when `ports` is not given). */
  subnet?: string;
  /** Existing ports of the project (unbound). */
  ports?: string[];
  userData?: string;
  sshKeys?: string[];
  /** Grace on stop before forcing (ms, default 10 000). */
  stopDeadlineMs?: number;
  /** `microvm` or `q35` (default: microvm for kernel images, q35 for disks); q35 takes volumes while running. */
  machine?: string;
}

const codeOf = (e: unknown) => (e as PhotonError).code;

/** The API's view of a stored VM, its host's report and whether the host is alive. */
export function vmView(r: VmRecord, st: VmStatusRecord | undefined, hostAlive: boolean, consoleBase?: string): Vm {
  let state: VmStateName;
  let reason: string | undefined;
  if (r.deleting) state = "DELETING";
  else if (r.error) [state, reason] = ["ERROR", r.error];
  else if (!r.host || !r.netReady) state = "BUILDING";
  else if (!hostAlive) [state, reason] = ["LOST", `host ${r.host} stopped reporting (its agent's heartbeat expired)`];
  else if (!st || st.state === "launching" || st.state === "removed") [state, reason] = ["BUILDING", st?.reason];
  else if (st.state === "failed" || st.state === "crashed") [state, reason] = ["ERROR", st.reason ?? st.state];
  else state = st.state === "running" ? "RUNNING" : st.state === "paused" ? "PAUSED" : "STOPPED";
  return {
    id: r.id, org: r.org, project: r.project, name: r.name, flavor: r.flavor, image: r.boot.image, vcpus: r.vcpus, memoryMiB: r.memoryMiB,
    state, desired: r.desired, ...(r.host ? { host: r.host } : {}), addresses: r.nics.flatMap((n) => n.ips), ports: r.nics.map((n) => n.port),
    ...(reason ? { reason } : {}), ...(st?.accelerator ? { accelerator: st.accelerator } : {}),
    ...(consoleBase && hostAlive && r.host ? { consoleUrl: `${consoleBase}/v1/vms/${r.id}/console` } : {}),
    ...(r.machine ? { machine: r.machine } : {}), ...(r.volumes?.length ? { volumes: r.volumes } : {}), createdAt: r.createdAt,
  };
}

/** The view of VM `id` read fresh from the store. */
export async function viewOf(s: PlasmavmcService, r: VmRecord, hosts?: Map<string, Host | undefined>): Promise<Vm> {
  const st = await s.store.get<VmStatusRecord>(keys.status(r.id));
  let host: Host | undefined;
  if (r.host) {
    if (hosts?.has(r.host)) host = hosts.get(r.host);
    else {
      host = (await s.store.get(keys.alive(r.host))) !== undefined ? await s.store.get<Host>(keys.host(r.host)) : undefined;
      hosts?.set(r.host, host);
    }
  }
  return vmView(r, st, host !== undefined, host?.consoleUrl);
}

function bootOf(img: Image, initrd: Image | undefined): VmBoot {
  if (img.kind === "disk") return { image: img.id, kind: "disk", file: img.id, format: img.format ?? "raw" };
  return { image: img.id, kind: "kernel", file: img.id, format: "raw", ...(initrd ? { initrdFile: initrd.id } : {}), ...(img.cmdline ? { cmdline: img.cmdline } : {}) };
}

async function setVm(s: PlasmavmcService, id: string, fn: (r: VmRecord) => VmRecord | undefined): Promise<void> {
  await s.store.transact(async (tx) => {
    const r = await tx.get<VmRecord>(keys.doc("vms", id));
    const next = r ? fn(r) : undefined;
    if (next) tx.put(keys.doc("vms", id), next);
  });
}

/** Fails a VM for good with `reason`, releasing its host room (its ports are the caller's to clean). */
async function failVm(s: PlasmavmcService, id: string, reason: string): Promise<void> {
  await s.store.transact(async (tx) => {
    const r = await tx.get<VmRecord>(keys.doc("vms", id));
    if (!r) return;
    if (r.allocated && r.host) await release(tx, r.host, r);
    const { allocated: _a, ...rest } = r;
    tx.put(keys.doc("vms", id), { ...rest, error: reason });
    tx.delete(pendingKey(id));
  });
}

/**
 * Creates a VM: checks the flavor, image and network, charges the quota, places it on a host
 * with room and binds (or creates) its ports there. Without room the VM is kept in ERROR with
 * the reason "no host has room ..." and nothing else is left (no port, no reservation).
 * @throws PLASMAVMC:NotFound (flavor, image), PLASMAVMC:InvalidState (image not ACTIVE),
 *   PLASMAVMC:InvalidArgument, PLASMAVMC:QuotaExceeded, novanet's codes for its subnet or ports.
 */
export async function createVm(s: PlasmavmcService, caller: GuardCaller, i: CreateVmInput): Promise<Vm> {
  const name = checkName(i.name);
  if (i.userData !== undefined && Buffer.byteLength(i.userData) > 65536) throw PlasmavmcErrors.InvalidArgument("userData is larger than 64 KiB", { details: { field: "userData" } });
  const sshKeys = i.sshKeys ?? [];
  if (sshKeys.length > 16 || sshKeys.some((k) => k.length > 8192 || !/^(ssh|ecdsa|sk)-[A-Za-z0-9@.-]+ [A-Za-z0-9+/=]+( [^\n]*)?$/.test(k))) throw PlasmavmcErrors.InvalidArgument("sshKeys must be at most 16 OpenSSH public keys (type base64 [comment])", { details: { field: "sshKeys" } });
  const stopDeadlineMs = checkInt(i.stopDeadlineMs ?? 10_000, "stopDeadlineMs", 0, 600_000);
  if (i.machine !== undefined && i.machine !== "microvm" && i.machine !== "q35") throw PlasmavmcErrors.InvalidArgument(`machine must be microvm or q35, got ${JSON.stringify(i.machine)}`, { details: { field: "machine" } });
  const portIds = i.ports ?? [];
  if (portIds.length > 8) throw PlasmavmcErrors.InvalidArgument("at most 8 ports per VM", { details: { field: "ports" } });
  if (portIds.length && i.subnet) throw PlasmavmcErrors.InvalidArgument("give either ports or subnet, not both", { details: { field: "subnet" } });
  const scope = await s.authorizeProject(caller, "vm", "create", i.project);
  const flavor = await findFlavor(s, i.flavor);
  const img = await s.load<Image>(caller, "images", i.image, "get").catch((e) => {
    throw codeOf(e) === "PLASMAVMC:NotFound" ? PlasmavmcErrors.NotFound(`image: image ${JSON.stringify(i.image)} not found`, { details: { field: "image" } }) : e;
  });
  if (img.project !== scope.project) throw PlasmavmcErrors.NotFound(`image: image ${i.image} is not in project ${scope.project}`, { details: { field: "image" } });
  if (img.state !== "ACTIVE") throw PlasmavmcErrors.InvalidState(`image ${img.id} is ${img.state}${img.error ? `: ${img.error}` : ""}`, { details: { field: "image" } });
  if (img.kind === "initrd") throw PlasmavmcErrors.InvalidArgument(`image ${img.id} is an initrd; boot a disk or kernel image`, { details: { field: "image" } });
  if (img.kind === "disk" && i.machine === "microvm") throw PlasmavmcErrors.InvalidArgument("machine microvm has no firmware to boot a disk image; use q35", { details: { field: "machine" } });
  const initrd = img.initrd ? await s.store.get<Image>(keys.doc("images", img.initrd)) : undefined;
  if (img.initrd && initrd?.state !== "ACTIVE") throw PlasmavmcErrors.InvalidState(`the initrd ${img.initrd} of image ${img.id} is not ACTIVE`, { details: { field: "image" } });
  const nn = s.novanet(caller);
  const given: Port[] = [];
  for (const p of portIds) {
    const port = await nn.getPort(p);
    if (port.project !== scope.project) throw PlasmavmcErrors.InvalidArgument(`port ${p} is not in project ${scope.project}`, { details: { field: "ports" } });
    if (port.host || port.deviceOwner || port.netns) throw PlasmavmcErrors.InUse(`port ${p} is already bound (${port.deviceOwner ?? port.host ?? port.netns})`, { details: { field: "ports" } });
    given.push(port);
  }
  if (i.subnet) {
    const sn = await nn.getSubnet(i.subnet);
    if (sn.project !== scope.project) throw PlasmavmcErrors.InvalidArgument(`subnet ${i.subnet} is not in project ${scope.project}`, { details: { field: "subnet" } });
  }
  const id = newId("vms");
  const rec: VmRecord = {
    id, org: scope.org, project: scope.project, name, flavor: flavor.id, vcpus: flavor.vcpus, memoryMiB: flavor.memoryMiB, diskGiB: flavor.diskGiB,
    boot: bootOf(img, initrd), ...(i.subnet ? { subnet: i.subnet } : {}), ...(portIds.length ? { givenPorts: portIds } : {}), nics: [], ...(i.userData !== undefined ? { userData: i.userData } : {}),
    sshKeys, desired: "running", stopDeadlineMs, rebootSeq: 0, ...(i.machine ? { machine: i.machine as "microvm" | "q35" } : {}), createdAt: new Date().toISOString(),
  };
  // 1. the VM, its name and its quota, or nothing
  const placed = await s.store.transact(async (tx) => {
    if ((await tx.get<string>(keys.name(scope.project, name))) !== undefined) throw PlasmavmcErrors.InvalidArgument(`a VM named ${name} exists in project ${scope.project}`, { details: { field: "name" } });
    tx.claim(keys.name(scope.project, name), id);
    await s.charge(tx, scope.project, { vms: 1, vcpus: rec.vcpus, memoryMiB: rec.memoryMiB });
    // 2. placement in the same transaction: a host with room, or ERROR
    const p = await place(tx, rec);
    tx.put(keys.doc("vms", id), p.host ? { ...rec, host: p.host, allocated: true } : { ...rec, error: p.reason });
    // until its ports are recorded, a create interrupted by a crash is found and cleaned by sweeper.ts
    if (p.host) tx.put(pendingKey(id), { vm: id, project: scope.project, token: caller.token, expiresAt: caller.expiresAt, since: rec.createdAt } satisfies PendingCreate);
    return p;
  });
  if (!placed.host) {
    s.log.info("vm not placed", { vm: id, reason: placed.reason });
    return viewOf(s, (await s.store.get<VmRecord>(keys.doc("vms", id)))!);
  }
  // 3. ports bound to the host (created on the subnet when none were given)
  const nics: VmNic[] = [];
  try {
    for (const p of given) {
      const b = await nn.updatePort({ id: p.id, host: placed.host, deviceOwner: `vm:${id}` });
      nics.push({ port: b.id, mac: b.mac, ips: b.fixedIps, vpc: b.vpc, vni: (await nn.getVpc(b.vpc)).vni, subnet: b.subnet, owned: false });
    }
    if (i.subnet) {
      const p = await nn.createPort({ subnet: i.subnet, name, host: placed.host, deviceOwner: `vm:${id}` });
      nics.push({ port: p.id, mac: p.mac, ips: p.fixedIps, vpc: p.vpc, vni: 0, subnet: p.subnet, owned: true });
      nics[nics.length - 1]!.vni = (await nn.getVpc(p.vpc)).vni;
    }
  } catch (e) {
    await releaseNics(s, caller, nics);
    await failVm(s, id, `its ports could not be bound: ${(e as Error).message}`);
    return viewOf(s, (await s.store.get<VmRecord>(keys.doc("vms", id)))!);
  }
  if (!(await finishCreate(s, id, nics))) await releaseNics(s, caller, nics); // swept meanwhile: the VM is in ERROR
  return viewOf(s, (await s.store.get<VmRecord>(keys.doc("vms", id)))!);
}

/** Deletes the ports plasmavmc created and unbinds the others (errors of ports already gone ignored). */
async function releaseNics(s: PlasmavmcService, caller: GuardCaller, nics: VmNic[]): Promise<void> {
  const nn = s.novanet(caller);
  for (const n of nics) {
    try {
      if (n.owned) await nn.deletePort(n.port);
      else await nn.updatePort({ id: n.port, host: "", deviceOwner: "" });
    } catch (e) {
      if (codeOf(e) !== "NOVANET:NotFound") throw e;
    }
  }
}

/** One VM. */
export async function getVm(s: PlasmavmcService, caller: GuardCaller, i: { id: string }): Promise<Vm> {
  return viewOf(s, await s.load<VmRecord>(caller, "vms", i.id, "get"));
}

/** The project's VMs. */
export async function listVms(s: PlasmavmcService, caller: GuardCaller, i: { project?: string }): Promise<{ items: Vm[] }> {
  const scope = await s.authorizeProject(caller, "vm", "list", i.project);
  const recs = (await s.store.list<VmRecord>(keys.kind("vms"))).map((d) => d.value).filter((d) => d.project === scope.project);
  const hosts = new Map<string, Host | undefined>();
  const items: Vm[] = [];
  for (const r of recs.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id))) items.push(await viewOf(s, r, hosts));
  return { items };
}

/**
 * Deletes a VM: marks it DELETING, waits for its host's agent to remove it (skipped when the host
 * is dead or it never reached one), releases its ports, host room and quota.
 * @throws PLASMAVMC:Unavailable when the agent did not confirm in time (the VM stays DELETING; delete again).
 */
export async function deleteVm(s: PlasmavmcService, caller: GuardCaller, i: { id: string }): Promise<Record<string, never>> {
  const cur = await s.load<VmRecord>(caller, "vms", i.id, "delete");
  await setVm(s, cur.id, (r) => ({ ...r, deleting: true }));
  if (cur.host && cur.netReady) {
    const deadline = Date.now() + s.deleteWaitMs;
    for (;;) {
      const st = await s.store.get<VmStatusRecord>(keys.status(cur.id));
      if (!st || st.state === "removed") break;
      if ((await s.store.get(keys.alive(cur.host))) === undefined) break;
      if (Date.now() > deadline) throw PlasmavmcErrors.Unavailable(`host ${cur.host} has not removed VM ${cur.id} yet; delete it again`, { details: { id: cur.id, host: cur.host } });
      await Bun.sleep(100);
    }
  }
  await releaseNics(s, caller, cur.nics);
  if (!cur.netReady && cur.host && (!cur.error || (await s.store.get(pendingKey(cur.id))) !== undefined)) {
    // a create interrupted between binding ports and recording them: find them by their owner
    const orphans = (await s.novanet(caller).listPorts({ project: cur.project })).items.filter((p) => p.deviceOwner === `vm:${cur.id}`);
    await releaseNics(s, caller, orphans.map((p) => ({ port: p.id, mac: p.mac, ips: p.fixedIps, vpc: p.vpc, vni: 0, subnet: p.subnet, owned: !(cur.givenPorts ?? []).includes(p.id) })));
  }
  await s.store.transact(async (tx) => {
    const r = await tx.get<VmRecord>(keys.doc("vms", cur.id));
    if (!r) return;
    if (r.allocated && r.host) await release(tx, r.host, r);
    await s.charge(tx, r.project, { vms: -1, vcpus: -r.vcpus, memoryMiB: -r.memoryMiB });
    tx.delete(keys.doc("vms", r.id));
    tx.delete(keys.status(r.id));
    tx.delete(keys.console(r.id));
    tx.delete(keys.name(r.project, r.name));
    tx.delete(pendingKey(r.id));
    await detachAll(tx, r); // its volumes stay, AVAILABLE (Nova detaches them on delete)
  });
  return {};
}
