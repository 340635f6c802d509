/**
 * The key-encryption key (KEK) that seals access-key secrets and token signing keys before they
 * reach chainfire (docs/adr/0005-iam-secrets.md): 32 random bytes in a file of the data directory
 * with mode 0600, created on first start. Every iam replica of a cluster must be given the same
 * file. A file that exists with the wrong size or looser permissions is refused, never replaced.
 */
import { chmodSync, closeSync, fsyncSync, openSync, readFileSync, statSync, writeSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { IamErrors } from "./errors.ts";
import type { Kek } from "./tokens/access-key.ts";

/**
 * Reads the KEK at `path`, creating it (0600, fsynced) when absent.
 * @throws IAM:InvalidArgument when the file is not 32 bytes or is readable by group or others.
 */
export function loadOrCreateKek(path: string): Kek {
  let raw: Buffer;
  try {
    const st = statSync(path);
    if ((st.mode & 0o077) !== 0) {
      throw IamErrors.InvalidArgument(`key-encryption key ${path} is readable by group or others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`);
    }
    raw = readFileSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    raw = randomBytes(32);
    try {
      const fd = openSync(path, "wx", 0o600);
      writeSync(fd, raw);
      fsyncSync(fd);
      closeSync(fd);
      chmodSync(path, 0o600);
    } catch (e2) {
      if ((e2 as NodeJS.ErrnoException).code === "EEXIST") return loadOrCreateKek(path); // another replica won
      throw e2;
    }
  }
  if (raw.length !== 32) throw IamErrors.InvalidArgument(`key-encryption key ${path} must hold exactly 32 bytes (it holds ${raw.length})`);
  return { id: "k1", key: new Uint8Array(raw) };
}
