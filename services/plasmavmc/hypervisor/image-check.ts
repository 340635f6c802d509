/**
 * Cheap checks of a VM's boot files before a VMM is started, so a missing, empty or foreign file
 * gets a precise `PLASMAVMC:InvalidImage` instead of a guest that never boots. QEMU still has the
 * last word (a truncated ELF passes these checks and is refused by QEMU's loader, reported as
 * `PLASMAVMC:LaunchFailed` with its message).
 */
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { PlasmavmcErrors } from "../errors.ts";
import type { VmSpec } from "./hypervisor.ts";

/** The kinds of kernel QEMU can boot directly. */
export type KernelFormat = "elf" | "bzimage";

function head(file: string, bytes: number, what: string): Buffer {
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new Error("not a regular file");
    size = st.size;
  } catch (e) {
    throw PlasmavmcErrors.InvalidImage(`${what} ${file} is not readable: ${(e as Error).message}`, { details: { file } });
  }
  if (size === 0) throw PlasmavmcErrors.InvalidImage(`${what} ${file} is empty`, { details: { file } });
  const buf = Buffer.alloc(Math.min(bytes, size));
  const fd = openSync(file, "r");
  try {
    readSync(fd, buf, 0, buf.length, 0);
  } finally {
    closeSync(fd);
  }
  return buf;
}

/**
 * Identifies a kernel file.
 * @throws PLASMAVMC:InvalidImage when it is missing, empty, or neither an ELF nor a bzImage.
 */
export function kernelFormat(file: string): KernelFormat {
  const h = head(file, 0x210, "kernel");
  if (h.length >= 4 && h.readUInt32BE(0) === 0x7f454c46) return "elf";
  if (h.length >= 0x206 && h.toString("latin1", 0x202, 0x206) === "HdrS") return "bzimage";
  throw PlasmavmcErrors.InvalidImage(`kernel ${file} is neither an ELF vmlinux nor a bzImage`, { details: { file } });
}

/**
 * Checks every boot file of a spec (kernel format, initrd present, disk formats).
 * @throws PLASMAVMC:InvalidImage naming the file and what is wrong with it.
 */
export function checkBootFiles(spec: VmSpec): void {
  if (spec.boot) {
    kernelFormat(spec.boot.kernel);
    if (spec.boot.initrd) head(spec.boot.initrd, 4, "initrd");
  }
  for (const d of spec.disks) {
    const h = head(d.path, 4, "disk");
    const isQcow2 = h.length === 4 && h.toString("latin1") === "QFI\xfb";
    if (d.format === "qcow2" && !isQcow2) {
      throw PlasmavmcErrors.InvalidImage(`disk ${d.path} is declared qcow2 but has no qcow2 header`, { details: { file: d.path } });
    }
    if (d.format === "raw" && isQcow2) {
      throw PlasmavmcErrors.InvalidImage(`disk ${d.path} is declared raw but is a qcow2 image`, { details: { file: d.path } });
    }
  }
}
