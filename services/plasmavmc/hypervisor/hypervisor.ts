/**
 * The hypervisor interface of a plasmavmc host: what the host agent asks of a VMM, whichever it is
 * (QEMU now, Firecracker where installed). It knows nothing of tenants, scheduling, chainfire or
 * novanet: the agent resolves those into a {@link VmSpec} (image files, a tap per port already
 * created by novanet in a network namespace, vCPUs and memory from the flavor) and hands it here.
 *
 * Contract shared by every backend:
 * - A VM is identified by `spec.id` and owns one runtime directory on the host (spec, pidfile,
 *   control and console sockets, console log). The VMM process is detached: it survives the agent.
 * - `launch` returns once the VMM runs (not when the guest has booted; watch the console or the
 *   network for that). `adopt` re-attaches to a VMM started by an earlier agent from the runtime
 *   directory alone.
 * - Every failure is a `PLASMAVMC:*` PhotonError carrying the VMM's own reason.
 * docs/adr/0010-plasmavmc-hypervisor.md records why it is shaped this way.
 */
import type { EventEmitter } from "node:events";

/** The CPU virtualisation that runs a guest: hardware (KVM) or QEMU's software emulation (TCG). */
export type Accelerator = "kvm" | "tcg";

/** What the operator asks for; `auto` probes whether KVM can really boot a guest and falls back to TCG. */
export type AcceleratorChoice = Accelerator | "auto";

/** QEMU machine models used: `microvm` (direct kernel boot, virtio-mmio, fastest) or `q35` (PCI, firmware, disks). */
export type MachineType = "microvm" | "q35";

/** A direct kernel boot (no firmware or bootloader in the guest). */
export interface KernelBoot {
  /** Uncompressed ELF `vmlinux` (PVH entry) or a bzImage. */
  kernel: string;
  initrd?: string;
  /** Kernel command line; the backend adds the console argument it needs. */
  cmdline?: string;
}

/** A disk attached as virtio-blk. */
export interface DiskSpec {
  path: string;
  format: "raw" | "qcow2";
  readOnly?: boolean;
  /**
   * Names a hot-pluggable disk (a volume): its QEMU block node and device id. Disks with an id
   * can be attached to and detached from a running q35 VM (`VmInstance.syncDisks`).
   */
  id?: string;
}

/** What `VmInstance.syncDisks` achieved. */
export interface DiskSyncResult {
  /** Ids of the hot-pluggable disks the running VM has now. */
  attached: string[];
  /** Why it differs from what was asked (a guest not releasing a disk yet, microvm), if it does. */
  pending?: string;
}

/**
 * A network interface. `tap` attaches an existing tap device (created by novanet's data plane,
 * inside `VmSpec.netns` when set). `user` is QEMU's user-mode network in restricted mode (DHCP
 * from QEMU, no path to the host or outside): for tests and development without novanet.
 */
export type NicSpec = { type: "tap"; ifname: string; mac: string } | { type: "user"; mac?: string };

/** Everything a backend needs to run one VM. Validated by `parseVmSpec` (vm-spec.ts). */
export interface VmSpec {
  /** Host-unique id: lowercase letters, digits and '-', 1–63 characters. */
  id: string;
  vcpus: number;
  memoryMiB: number;
  /** Direct kernel boot; without it the first disk boots through firmware (q35 only). */
  boot?: KernelBoot;
  disks: DiskSpec[];
  nics: NicSpec[];
  /** Network namespace holding the taps; the VMM runs inside it. */
  netns?: string;
  /** `auto` (default): microvm for a direct kernel boot, q35 otherwise. */
  machine?: MachineType | "auto";
}

/** Lifecycle state as the host sees it. */
export type VmState = "running" | "paused" | "stopped" | "crashed";

/** A VM's status. */
export interface VmStatus {
  id: string;
  state: VmState;
  /** The VMM's own run state (QEMU's `query-status`: running, paused, shutdown, guest-panicked, ...). */
  vmmStatus?: string;
  pid?: number;
  accelerator: Accelerator;
  machine: MachineType;
  /** Why it is stopped or crashed (the last shutdown reason, or how the process ended). */
  reason?: string;
}

/** Options of {@link VmInstance.stop}. */
export interface StopOptions {
  /** How long the guest gets to power off after the ACPI power button (default 10000 ms). */
  deadlineMs?: number;
}

/** Events of a {@link VmInstance}. */
export interface VmInstanceEvents {
  /** A VMM event, by name (`SHUTDOWN`, `RESET`, `STOP`, `RESUME`, `GUEST_PANICKED`, ...). */
  vmm: [{ event: string; data?: Record<string, unknown> }];
  /** The VMM process exited (or its control connection closed with it). */
  exit: [{ reason: string }];
}

/** One VM on this host, launched or adopted. */
export interface VmInstance extends EventEmitter<VmInstanceEvents> {
  readonly id: string;
  /** PID of the VMM process. */
  readonly pid: number;
  readonly accelerator: Accelerator;
  readonly machine: MachineType;
  /** File receiving everything the guest writes on its serial console (appended across boots). */
  readonly consoleLogPath: string;
  /** Unix socket for an interactive serial console (one client at a time). */
  readonly consoleSocketPath: string;
  /** Current status; never throws for a VM whose process has exited (state `stopped`). */
  status(): Promise<VmStatus>;
  /** Freezes the vCPUs. @throws PLASMAVMC:NotRunning */
  pause(): Promise<void>;
  /** Unfreezes the vCPUs. @throws PLASMAVMC:NotRunning */
  resume(): Promise<void>;
  /** Hard reset of the guest (the VMM keeps running). @throws PLASMAVMC:NotRunning */
  reboot(): Promise<void>;
  /**
   * Presses the ACPI power button, waits up to the deadline for the guest to power off, then quits
   * the VMM, then kills it. Resolves with `graceful: true` when the guest powered off by itself.
   * Stopping a stopped VM resolves at once. Keeps the spec and console log (it can be launched again).
   * @throws PLASMAVMC:StopTimeout when the process survives SIGKILL.
   */
  stop(options?: StopOptions): Promise<{ graceful: boolean }>;
  /** Stops it forcibly if running and removes every file it had on the host. */
  delete(): Promise<void>;
  /** Drops the control connection without touching the VM (an agent shutting down). */
  detach(): void;
  /**
   * Makes the running VM's hot-pluggable disks (those with an `id`) exactly `disks`: unplugs the
   * others (waiting for the guest to release them) and plugs the missing ones. Backends or
   * machines without hotplug change nothing and say so in `pending`.
   * @throws PLASMAVMC:NotRunning, PLASMAVMC:Qmp* when the VMM refuses.
   */
  syncDisks?(disks: DiskSpec[]): Promise<DiskSyncResult>;
  /**
   * External snapshot of the hot-pluggable disk whose top file is `activePath`: `overlayPath` is
   * created backed by it and becomes the disk's top (the old file stays, read-only).
   */
  snapshotDisk?(activePath: string, overlayPath: string): Promise<void>;
  /**
   * Merges `mergedPath`, the backing file between `childPath` and `basePath` (none: the bottom of
   * the chain), into `childPath` while the guest runs (a block-stream job); QEMU then no longer
   * uses `mergedPath`.
   */
  streamDisk?(childPath: string, basePath: string | undefined, mergedPath: string): Promise<void>;
}

/** Whether a backend can run here, and with what. */
export interface HypervisorInfo {
  backend: "qemu" | "firecracker";
  available: boolean;
  /** Why it is unavailable, or which accelerator was chosen and why. */
  reason: string;
  version?: string;
  accelerator?: Accelerator;
}

/** A VMM backend. */
export interface Hypervisor {
  readonly backend: "qemu" | "firecracker";
  /** Probes the backend (binary, version, accelerator). Never throws. */
  info(): Promise<HypervisorInfo>;
  /**
   * Starts a VM. An id whose VM has stopped is launched again in its directory.
   * @throws PLASMAVMC:InvalidSpec, PLASMAVMC:InvalidImage, PLASMAVMC:AlreadyRunning,
   *   PLASMAVMC:LaunchFailed (details.reason: the VMM's message; nothing is left behind),
   *   PLASMAVMC:HypervisorUnavailable.
   */
  launch(spec: VmSpec): Promise<VmInstance>;
  /**
   * Re-attaches to a VM launched earlier (by this or a previous agent) from its runtime directory.
   * @throws PLASMAVMC:NotFound (no such VM here), PLASMAVMC:NotRunning (its process is gone — the
   *   caller decides whether to relaunch), PLASMAVMC:Qmp* when its control socket does not answer.
   */
  adopt(id: string): Promise<VmInstance>;
  /**
   * Removes VM `id` from this host: stops a running one forcibly, then deletes its runtime directory.
   * Removing an unknown id does nothing.
   */
  remove(id: string): Promise<void>;
  /** Ids of the VMs that have a runtime directory on this host, running or not. */
  list(): Promise<string[]>;
  /** The spec a VM was last launched with. @throws PLASMAVMC:NotFound */
  spec(id: string): Promise<VmSpec>;
}
