/**
 * Flavors: public sizes (vCPUs, memory, root disk) every authenticated caller may read and only
 * administrators create or delete (`plasmavmc:flavor:create|delete` on the deployment). Names
 * are unique (a claim key); a flavor used by a VM cannot be deleted.
 */
import type { GuardCaller } from "../iam/guard.ts";
import { PlasmavmcErrors } from "./errors.ts";
import { checkInt, checkName, ID_PREFIX, newId, type PlasmavmcService } from "./service.ts";
import { keys, PLASMAVMC_PREFIX } from "./store.ts";
import type { Flavor, VmRecord } from "./types.ts";

/** `CreateFlavor`'s input. */
export interface CreateFlavorInput {
  name: string;
  vcpus: number;
  memoryMiB: number;
  diskGiB?: number;
}

const flavorName = (name: string) => `${PLASMAVMC_PREFIX}flavornames/${name}`;

/**
 * Creates a flavor (administrators).
 * @throws PLASMAVMC:InvalidArgument (bad size or name taken), IAM:PermissionDenied.
 */
export async function createFlavor(s: PlasmavmcService, caller: GuardCaller, i: CreateFlavorInput): Promise<Flavor> {
  const name = checkName(i.name);
  const vcpus = checkInt(i.vcpus, "vcpus", 1, 64);
  const memoryMiB = checkInt(i.memoryMiB, "memoryMiB", 32, 1024 * 1024);
  const diskGiB = checkInt(i.diskGiB ?? 0, "diskGiB", 0, 65536);
  await s.authorizeGlobal(caller, "flavor", "create");
  const f: Flavor = { id: newId("flavors"), name, vcpus, memoryMiB, diskGiB, createdAt: new Date().toISOString() };
  return s.store.transact(async (tx) => {
    if ((await tx.get<string>(flavorName(name))) !== undefined) throw PlasmavmcErrors.InvalidArgument(`a flavor named ${name} exists`, { details: { field: "name" } });
    tx.claim(flavorName(name), f.id);
    tx.put(keys.doc("flavors", f.id), f);
    return f;
  });
}

/** A flavor by id or name. @throws PLASMAVMC:NotFound naming `field`. */
export async function findFlavor(s: PlasmavmcService, ref: unknown, field = "flavor"): Promise<Flavor> {
  const notFound = () => PlasmavmcErrors.NotFound(`${field}: flavor ${JSON.stringify(ref ?? "")} not found`, { details: { field, id: ref } });
  if (typeof ref !== "string" || ref === "" || ref.includes("/")) throw notFound();
  const id = ref.startsWith(ID_PREFIX.flavors) ? ref : await s.store.get<string>(flavorName(ref));
  const f = id ? await s.store.get<Flavor>(keys.doc("flavors", id)) : undefined;
  if (!f) throw notFound();
  return f;
}

/** One flavor (any authenticated caller). */
export async function getFlavor(s: PlasmavmcService, _caller: GuardCaller, i: { id: string }): Promise<Flavor> {
  return findFlavor(s, i.id, "id");
}

/** Every flavor, smallest first (any authenticated caller). */
export async function listFlavors(s: PlasmavmcService, _caller: GuardCaller): Promise<{ items: Flavor[] }> {
  const items = (await s.store.list<Flavor>(keys.kind("flavors"))).map((d) => d.value);
  return { items: items.sort((a, b) => a.vcpus - b.vcpus || a.memoryMiB - b.memoryMiB || a.name.localeCompare(b.name)) };
}

/**
 * Deletes a flavor no VM uses (administrators).
 * @throws PLASMAVMC:InUse naming a VM.
 */
export async function deleteFlavor(s: PlasmavmcService, caller: GuardCaller, i: { id: string }): Promise<Record<string, never>> {
  await s.authorizeGlobal(caller, "flavor", "delete");
  const f = await findFlavor(s, i.id, "id");
  const user = (await s.store.list<VmRecord>(keys.kind("vms"))).find((d) => d.value.flavor === f.id);
  if (user) throw PlasmavmcErrors.InUse(`flavor ${f.name} is used by VM ${user.value.id}`, { details: { id: f.id } });
  await s.store.transact(async (tx) => {
    tx.delete(keys.doc("flavors", f.id));
    tx.delete(flavorName(f.name));
  });
  return {};
}
