/**
 * Locates (building on first use) the tiny test image of scripts/build-test-image.sh: Debian's
 * kernel as a vmlinux and a busybox initramfs that prints a READY marker on the serial console.
 * Used by tests, benchmarks and as the agent's KVM probe guest.
 */
import { join } from "node:path";
import { PlasmavmcErrors } from "../errors.ts";

/** The image description the script prints. */
export interface TestImage {
  key: string;
  kernel: string;
  initrd: string;
  /** Recommended kernel command line. */
  cmdline: string;
  /** Printed on ttyS0 when the guest is up: `PHOTON-TEST-IMAGE READY ip=... hostname=... metadata=...`. */
  marker: string;
  /** Printed when booted with `photon.probe=1` (then it powers off). */
  probeMarker: string;
  kernelPackage: string;
}

const script = join(import.meta.dir, "../../../scripts/build-test-image.sh");

/**
 * Builds or reuses the cached test image (~8 s the first time, cached under
 * ~/.cache/photoncloud/test-image afterwards).
 * @throws PLASMAVMC:InvalidImage with the script's message when it cannot be built (not Debian,
 *   no network for apt-get download, ...).
 */
export async function ensureTestImage(): Promise<TestImage> {
  const proc = Bun.spawn(["bash", script], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) {
    const last = err.trim().split("\n").slice(-1)[0] ?? "";
    throw PlasmavmcErrors.InvalidImage(`cannot build the test image: ${last}`, { details: { reason: err.trim() } });
  }
  return JSON.parse(out) as TestImage;
}
