/**
 * The local image store: one file per image, `<dir>/<image id>`, written through a temporary
 * file (`.<id>.part`), fsynced and renamed into place only once complete and verified — a reader
 * never sees a partial image, and a crash leaves only a `.part` file that the next import of the
 * same id replaces. Formats are detected by `qemu-img info --output=json` (never trusted from the
 * caller); a qcow2 with a backing file is refused (it could point at any file of the host).
 */
import { createHash } from "node:crypto";
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { PlasmavmcErrors } from "../errors.ts";

/** Progress of a write. */
export type Progress = (bytes: number) => void;

/** What a completed write produced. */
export interface StoredImage {
  bytes: number;
  sha256: string;
  format: "raw" | "qcow2";
}

/** The final path of an image file. */
export function imagePath(dir: string, id: string): string {
  return join(dir, id);
}

/**
 * Reads `body` into the store as image `id`, hashing as it goes, calling `progress` at most
 * every 250 ms, refusing more than `maxBytes`, then checks the checksum (when `sha256` is given)
 * and the format (for disks: raw or qcow2 without a backing file).
 * @throws PLASMAVMC:InvalidImage (checksum mismatch, too large, unknown format, backing file),
 *   nothing left behind.
 */
export async function storeImage(dir: string, id: string, body: ReadableStream<Uint8Array>, o: { maxBytes: number; sha256?: string; disk: boolean; progress?: Progress }): Promise<StoredImage> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const part = join(dir, `.${id}.part`);
  const fd = openSync(part, "w", 0o600);
  const hash = createHash("sha256");
  let bytes = 0;
  let last = 0;
  let closed = false;
  try {
    for await (const chunk of body) {
      bytes += chunk.byteLength;
      if (bytes > o.maxBytes) throw PlasmavmcErrors.InvalidImage(`the image is larger than the limit of ${o.maxBytes} bytes`, { details: { limit: o.maxBytes } });
      hash.update(chunk);
      let off = 0;
      while (off < chunk.byteLength) off += writeSync(fd, chunk, off, chunk.byteLength - off);
      if (o.progress && Date.now() - last > 250) {
        last = Date.now();
        o.progress(bytes);
      }
    }
    fsyncSync(fd);
    closeSync(fd);
    closed = true;
    if (bytes === 0) throw PlasmavmcErrors.InvalidImage("the image is empty");
    const sha256 = hash.digest("hex");
    if (o.sha256 && o.sha256.toLowerCase() !== sha256) throw PlasmavmcErrors.InvalidImage(`checksum mismatch: expected sha256 ${o.sha256.toLowerCase()}, got ${sha256}`, { details: { expected: o.sha256, actual: sha256 } });
    const format = o.disk ? await detectFormat(part) : "raw";
    renameSync(part, imagePath(dir, id));
    return { bytes, sha256, format };
  } catch (e) {
    if (!closed) closeSync(fd);
    rmSync(part, { force: true });
    throw e;
  }
}

/**
 * The format of a disk image file as qemu-img sees it.
 * @throws PLASMAVMC:InvalidImage for anything but raw or a self-contained qcow2.
 */
export async function detectFormat(path: string): Promise<"raw" | "qcow2"> {
  const p = Bun.spawn(["qemu-img", "info", "--output=json", path], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw PlasmavmcErrors.InvalidImage(`qemu-img cannot read the image: ${err.trim()}`, { details: { reason: err.trim() } });
  const info = JSON.parse(out) as { format?: string; "backing-filename"?: string; "format-specific"?: { data?: { corrupt?: boolean } } };
  if (info["backing-filename"]) throw PlasmavmcErrors.InvalidImage("a qcow2 image with a backing file is refused (upload a self-contained image)");
  if (info["format-specific"]?.data?.corrupt) throw PlasmavmcErrors.InvalidImage("the qcow2 image is marked corrupt");
  if (info.format !== "raw" && info.format !== "qcow2") throw PlasmavmcErrors.InvalidImage(`unsupported image format ${JSON.stringify(info.format)} (raw or qcow2)`);
  if (info.format === "qcow2") {
    const c = Bun.spawn(["qemu-img", "check", "-f", "qcow2", path], { stdout: "pipe", stderr: "pipe" });
    const [cerr, ccode] = await Promise.all([new Response(c.stderr).text(), c.exited]);
    if (ccode !== 0) throw PlasmavmcErrors.InvalidImage(`the qcow2 image is damaged or truncated: ${cerr.trim().split("\n").slice(-1)[0] ?? ""}`, { details: { reason: cerr.trim() } });
  }
  return info.format;
}

/** Removes an image file (and any partial one). */
export function removeImage(dir: string, id: string): void {
  rmSync(imagePath(dir, id), { force: true });
  rmSync(join(dir, `.${id}.part`), { force: true });
}
