/**
 * Images of a project in the local image store (images/image-store.ts): created IMPORTING, then
 * filled by an upload (`PUT /v1/images/{id}/file`, streamed) or by an import from an http(s)
 * URL run in the background; ACTIVE once stored and verified (size, SHA-256 when given, format by
 * qemu-img), ERROR with the reason otherwise. `bytes` reports progress. A kernel image may name
 * an initrd image and a command line (direct kernel boot, like Glance's kernel_id/ramdisk_id).
 * Imports go through the import policy (images/import-policy.ts): a URL whose host resolves to a
 * loopback, link-local, private or PhotonCloud address is refused at create
 * (PLASMAVMC:ImportForbidden, nothing stored), and a redirect to one puts the image in ERROR
 * with that code before anything is fetched from there.
 */
import type { PhotonError } from "../../lib/errors.ts";
import type { GuardCaller } from "../iam/guard.ts";
import { PlasmavmcErrors } from "./errors.ts";
import { fetchForImport } from "./images/import-fetch.ts";
import { removeImage, storeImage } from "./images/image-store.ts";
import { checkName, newId, type PlasmavmcService } from "./service.ts";
import { keys } from "./store.ts";
import type { Image, ImageKind, VmRecord } from "./types.ts";

/** `CreateImage`'s input. */
export interface CreateImageInput {
  project?: string;
  name: string;
  kind?: string;
  url?: string;
  sha256?: string;
  initrd?: string;
  cmdline?: string;
}

const KINDS: readonly ImageKind[] = ["disk", "kernel", "initrd"];
const uploading = new Set<string>();

/** Merges `change` into image `id` (with `whileImporting`, only if it is still IMPORTING: a late progress report never touches a finished image). */
async function setImage(s: PlasmavmcService, id: string, change: Partial<Image>, whileImporting = false): Promise<void> {
  await s.store.transact(async (tx) => {
    const cur = await tx.get<Image>(keys.doc("images", id));
    if (cur && (!whileImporting || cur.state === "IMPORTING")) tx.put(keys.doc("images", id), { ...cur, ...change });
  });
}

async function fill(s: PlasmavmcService, img: Image, body: ReadableStream<Uint8Array>, totalBytes?: number): Promise<Image> {
  if (totalBytes !== undefined) await setImage(s, img.id, { totalBytes });
  try {
    const r = await storeImage(s.imageDir, img.id, body, {
      maxBytes: s.imageMaxBytes,
      disk: img.kind === "disk",
      ...(img.sha256 ? { sha256: img.sha256 } : {}),
      progress: (bytes) => void setImage(s, img.id, { bytes }, true).catch(() => {}),
    });
    const done: Partial<Image> = { state: "ACTIVE", bytes: r.bytes, totalBytes: r.bytes, sha256: r.sha256, format: r.format };
    await setImage(s, img.id, done);
    return { ...img, ...done };
  } catch (e) {
    const error = (e as Error).message;
    await setImage(s, img.id, { state: "ERROR", error });
    s.log.warn("image import failed", { image: img.id, error });
    throw e;
  }
}

/**
 * Creates an image: with `url` it is imported in the background; without, it waits for an upload.
 * @throws PLASMAVMC:InvalidArgument (kind, URL, checksum, initrd), PLASMAVMC:NotFound (initrd).
 */
export async function createImage(s: PlasmavmcService, caller: GuardCaller, i: CreateImageInput): Promise<Image> {
  const name = checkName(i.name);
  const kind = (i.kind ?? "disk") as ImageKind;
  if (!KINDS.includes(kind)) throw PlasmavmcErrors.InvalidArgument(`kind must be one of ${KINDS.join(", ")}`, { details: { field: "kind" } });
  if (i.sha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(i.sha256)) throw PlasmavmcErrors.InvalidArgument("sha256 must be 64 hex digits", { details: { field: "sha256" } });
  let url: URL | undefined;
  if (i.url !== undefined && i.url !== "") {
    try {
      url = new URL(i.url);
    } catch {
      throw PlasmavmcErrors.InvalidArgument(`url ${JSON.stringify(i.url)} is not a URL`, { details: { field: "url" } });
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") throw PlasmavmcErrors.InvalidArgument("url must be http or https", { details: { field: "url" } });
  }
  if ((i.initrd || i.cmdline) && kind !== "kernel") throw PlasmavmcErrors.InvalidArgument("initrd and cmdline belong to kernel images", { details: { field: i.initrd ? "initrd" : "cmdline" } });
  if (i.cmdline !== undefined && (i.cmdline.length > 2048 || /[\n\0]/.test(i.cmdline))) throw PlasmavmcErrors.InvalidArgument("cmdline must be one line of at most 2048 characters", { details: { field: "cmdline" } });
  const scope = await s.authorizeProject(caller, "image", "create", i.project);
  if (url) {
    // refused at once when it resolves to a forbidden address; a host that does not resolve now fails in the import
    await s.importPolicy.check(url).catch((e) => {
      if ((e as PhotonError).code !== "PLASMAVMC:Unavailable") throw e;
    });
  }
  if (i.initrd) {
    const rd = await s.load<Image>(caller, "images", i.initrd, "get").catch(() => undefined);
    if (!rd || rd.project !== scope.project || rd.kind !== "initrd") throw PlasmavmcErrors.NotFound(`initrd: image ${JSON.stringify(i.initrd)} is not an initrd image of project ${scope.project}`, { details: { field: "initrd" } });
  }
  const img: Image = {
    id: newId("images"), org: scope.org, project: scope.project, name, kind, state: "IMPORTING", bytes: 0,
    ...(i.sha256 ? { sha256: i.sha256.toLowerCase() } : {}), ...(i.initrd ? { initrd: i.initrd } : {}), ...(i.cmdline ? { cmdline: i.cmdline } : {}),
    ...(url ? { sourceUrl: url.toString() } : {}), createdAt: new Date().toISOString(),
  };
  await s.store.transact(async (tx) => tx.put(keys.doc("images", img.id), img));
  if (url) s.spawn(`import of image ${img.id}`, importFromUrl(s, img, url));
  return img;
}

async function importFromUrl(s: PlasmavmcService, img: Image, url: URL): Promise<void> {
  let res;
  try {
    res = await fetchForImport(url, s.importPolicy);
  } catch (e) {
    const code = (e as PhotonError).code;
    const error = code === "PLASMAVMC:ImportForbidden" ? `${code}: ${(e as Error).message}` : (e as Error).message;
    await setImage(s, img.id, { state: "ERROR", error });
    s.log.warn("image import failed", { image: img.id, error });
    return;
  }
  await fill(s, img, res.body, res.length).catch(() => {});
}

/**
 * Stores the body of an upload as the image's content (only for an IMPORTING image without URL).
 * @throws PLASMAVMC:InvalidState (not awaiting an upload), PLASMAVMC:InvalidImage (verification).
 */
export async function uploadImage(s: PlasmavmcService, caller: GuardCaller, id: string, body: ReadableStream<Uint8Array> | null, length?: number): Promise<Image> {
  const img = await s.load<Image>(caller, "images", id, "update");
  if (img.state !== "IMPORTING" || img.sourceUrl) throw PlasmavmcErrors.InvalidState(`image ${id} is ${img.state}${img.sourceUrl ? " (imported from a URL)" : ""}; only a new image awaits an upload`, { details: { id } });
  if (!body) throw PlasmavmcErrors.InvalidArgument("the upload has no body");
  if (uploading.has(id)) throw PlasmavmcErrors.InvalidState(`image ${id} is being uploaded already`);
  uploading.add(id);
  try {
    return await fill(s, img, body, length);
  } finally {
    uploading.delete(id);
  }
}

/** One image. */
export async function getImage(s: PlasmavmcService, caller: GuardCaller, i: { id: string }): Promise<Image> {
  return s.load<Image>(caller, "images", i.id, "get");
}

/** The project's images. */
export async function listImages(s: PlasmavmcService, caller: GuardCaller, i: { project?: string }): Promise<{ items: Image[] }> {
  const scope = await s.authorizeProject(caller, "image", "list", i.project);
  const items = (await s.store.list<Image>(keys.kind("images"))).map((d) => d.value).filter((d) => d.project === scope.project);
  return { items: items.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id)) };
}

/**
 * Deletes an image and its file.
 * @throws PLASMAVMC:InUse when a VM boots from it or a kernel image uses it as initrd.
 */
export async function deleteImage(s: PlasmavmcService, caller: GuardCaller, i: { id: string }): Promise<Record<string, never>> {
  const img = await s.load<Image>(caller, "images", i.id, "delete");
  const vm = (await s.store.list<VmRecord>(keys.kind("vms"))).find((d) => d.value.boot.image === img.id || d.value.boot.initrdFile === img.id);
  if (vm) throw PlasmavmcErrors.InUse(`image ${img.id} is used by VM ${vm.value.id}`, { details: { id: img.id } });
  const k = (await s.store.list<Image>(keys.kind("images"))).find((d) => d.value.initrd === img.id);
  if (k) throw PlasmavmcErrors.InUse(`image ${img.id} is the initrd of image ${k.value.id}`, { details: { id: img.id } });
  await s.store.transact(async (tx) => tx.delete(keys.doc("images", img.id)));
  removeImage(s.imageDir, img.id);
  return {};
}
