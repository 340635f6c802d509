/**
 * The file side of the development CA (`lib/certs.ts`): reading PEM files that may be missing and
 * writing them so that a crash never leaves a half-written key or certificate behind.
 *
 * Writes go to a temporary file in the target directory, are fsynced, renamed over the target and
 * the directory is fsynced: a reader sees either the old file or the whole new one. Private keys
 * are created with mode 0600 from the first byte (never chmod'ed after the fact).
 */

import { mkdir, open, readFile, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { randomBytes } from "node:crypto";

/** errno codes that mean "this directory cannot be used", as opposed to an internal failure. */
const unusableDirCodes = new Set(["EACCES", "EPERM", "EROFS", "ENOTDIR", "EEXIST", "ENOSPC", "EDQUOT", "ELOOP"]);

/** True if `e` is a filesystem error caused by the location (permissions, not a directory, full disk...). */
export function isUnusablePathError(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" && unusableDirCodes.has(code);
}

/**
 * Creates `dir` (and its parents) if missing, with mode 0700 for the directories it creates since
 * they hold private keys. Throws the raw fs error when `dir` exists but is not a directory.
 */
export async function ensureDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const s = await stat(dir);
  if (!s.isDirectory()) {
    throw Object.assign(new Error(`${dir} is not a directory`), { code: "ENOTDIR" });
  }
}

/** The text of `path`, or `undefined` if it does not exist. Other errors are thrown. */
export async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (e) {
    if ((e as { code?: unknown }).code === "ENOENT") return undefined;
    throw e;
  }
}

/**
 * Atomically replaces `path` with `data`: temporary file (created with `mode`), write, fsync,
 * rename, fsync of the directory. On failure the temporary file is removed and `path` is untouched.
 */
export async function writeFileAtomic(path: string, data: string, mode: number): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  // "wx": never follow or reuse something already at the temporary name.
  const fh = await open(tmp, "wx", mode);
  try {
    try {
      await fh.writeFile(data, "utf8");
      await fh.chmod(mode); // the umask may have stripped bits from `mode` at creation
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
  await syncDir(dir);
}

/** fsyncs a directory so a rename in it survives a crash; best effort where unsupported. */
async function syncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, "r");
    await fh.sync();
  } catch {
    // Some platforms/filesystems refuse fsync on directories; the data itself is already synced.
  } finally {
    await fh?.close();
  }
}
