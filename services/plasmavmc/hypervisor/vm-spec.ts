/**
 * Validation of a {@link VmSpec}: strict (unknown fields rejected), with limits a host can honour,
 * and names safe to put in paths and QEMU arguments (no ',' or '=' that QEMU's option syntax
 * would split on).
 */
import { z } from "zod";
import { PlasmavmcErrors } from "../errors.ts";
import type { VmSpec } from "./hypervisor.ts";

const id = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "lowercase letters, digits and '-', 1-63 characters");
const path = z
  .string()
  .min(1)
  .regex(/^\/[^,\0\n]*$/, "an absolute path without ','");
const mac = z.string().regex(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/, "a lowercase MAC address like 52:54:00:12:34:56");
const ifname = z.string().regex(/^[A-Za-z0-9_.-]{1,15}$/, "a Linux interface name (1-15 characters)");

const schema = z
  .object({
    id,
    vcpus: z.number().int().min(1).max(64),
    memoryMiB: z.number().int().min(32).max(1024 * 1024),
    boot: z
      .object({
        kernel: path,
        initrd: path.optional(),
        cmdline: z.string().max(4096).regex(/^[^\n\0]*$/, "one line").optional(),
      })
      .strict()
      .optional(),
    disks: z.array(z.object({ path, format: z.enum(["raw", "qcow2"]), readOnly: z.boolean().optional(), id: z.string().regex(/^[a-z][a-z0-9-]{0,30}$/, "a QEMU node name: a lowercase letter, then letters, digits and '-' (up to 31)").optional() }).strict()).max(16),
    nics: z
      .array(
        z.discriminatedUnion("type", [
          z.object({ type: z.literal("tap"), ifname, mac }).strict(),
          z.object({ type: z.literal("user"), mac: mac.optional() }).strict(),
        ]),
      )
      .max(8),
    netns: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/).optional(),
    machine: z.enum(["auto", "microvm", "q35"]).optional(),
  })
  .strict();

/**
 * Checks a spec and returns it typed.
 * @throws PLASMAVMC:InvalidSpec naming the first bad field (e.g. `vcpus: Number must be at least 1`).
 */
export function parseVmSpec(input: unknown): VmSpec {
  const r = schema.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0];
    const where = issue?.path.join(".") || "spec";
    throw PlasmavmcErrors.InvalidSpec(`invalid VM spec: ${where}: ${issue?.message ?? "invalid"}`, { details: { field: where } });
  }
  const spec = r.data as VmSpec;
  if (!spec.boot && spec.disks.length === 0) {
    throw PlasmavmcErrors.InvalidSpec("invalid VM spec: boot: a VM needs a kernel to boot or a disk", { details: { field: "boot" } });
  }
  if (spec.machine === "microvm" && !spec.boot) {
    throw PlasmavmcErrors.InvalidSpec("invalid VM spec: machine: microvm has no firmware to boot a disk; give boot.kernel or use q35", {
      details: { field: "machine" },
    });
  }
  return spec;
}
