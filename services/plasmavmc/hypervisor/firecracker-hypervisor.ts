/**
 * The Firecracker backend — a placeholder behind the same {@link Hypervisor} interface. Firecracker
 * is in neither Debian nor npm, so most hosts lack it; this reports that cleanly, and refuses to
 * launch rather than pretending. Where a `firecracker` binary exists it says the backend is not
 * implemented yet (it will drive Firecracker's API socket the way QemuHypervisor drives QMP).
 */
import { existsSync } from "node:fs";
import { PlasmavmcErrors } from "../errors.ts";
import type { Hypervisor, HypervisorInfo, VmInstance, VmSpec } from "./hypervisor.ts";

/** Options of {@link FirecrackerHypervisor}. */
export interface FirecrackerHypervisorOptions {
  runDir: string;
  /** Firecracker binary (default: `firecracker` from PATH). */
  binary?: string;
}

/** Firecracker backend (not implemented yet): every operation fails with PLASMAVMC:HypervisorUnavailable. */
export class FirecrackerHypervisor implements Hypervisor {
  readonly backend = "firecracker" as const;
  private readonly binary: string | undefined;

  constructor(options: FirecrackerHypervisorOptions) {
    const b = options.binary ?? Bun.which("firecracker") ?? undefined;
    this.binary = b && existsSync(b) ? b : undefined;
  }

  /** {@inheritDoc Hypervisor.info} */
  async info(): Promise<HypervisorInfo> {
    return { backend: "firecracker", available: false, reason: this.reason() };
  }

  /** {@inheritDoc Hypervisor.launch} */
  async launch(_spec: VmSpec): Promise<VmInstance> {
    throw PlasmavmcErrors.HypervisorUnavailable(this.reason());
  }

  /** {@inheritDoc Hypervisor.adopt} */
  async adopt(_id: string): Promise<VmInstance> {
    throw PlasmavmcErrors.HypervisorUnavailable(this.reason());
  }

  /** {@inheritDoc Hypervisor.remove} */
  async remove(_id: string): Promise<void> {}

  /** {@inheritDoc Hypervisor.list} */
  async list(): Promise<string[]> {
    return [];
  }

  /** {@inheritDoc Hypervisor.spec} */
  async spec(id: string): Promise<VmSpec> {
    throw PlasmavmcErrors.NotFound(`no firecracker VM ${id} on this host`);
  }

  private reason(): string {
    return this.binary
      ? `firecracker found at ${this.binary}, but plasmavmc's Firecracker backend is not implemented yet`
      : "firecracker binary not installed (it is in neither Debian nor npm; install a release from github.com/firecracker-microvm/firecracker)";
  }
}
