/**
 * One running (or stopped) QEMU VM, controlled only over its QMP connection, with the process
 * watched through /proc because a detached VMM is not the agent's child. The same object serves a
 * VM this agent launched and one it adopted.
 */
import { EventEmitter } from "node:events";
import { rmSync } from "node:fs";
import { PlasmavmcErrors } from "../errors.ts";
import type { QmpClient, QmpEvent } from "../qmp/qmp-client.ts";
import type { Accelerator, DiskSpec, DiskSyncResult, MachineType, StopOptions, VmInstance, VmInstanceEvents, VmState, VmStatus } from "./hypervisor.ts";
import { snapshotDisk, streamDisk, syncDisks } from "./qemu-disks.ts";
import { isAlive, signal, waitForExit } from "./process.ts";
import type { LaunchRecord, VmPaths } from "./run-dir.ts";

/** QEMU run states (qapi RunState) as host states. */
function stateOf(vmmStatus: string): VmState {
  switch (vmmStatus) {
    case "paused":
    case "suspended":
      return "paused";
    case "guest-panicked":
    case "internal-error":
    case "io-error":
      return "crashed";
    case "shutdown":
      return "stopped";
    default:
      return "running";
  }
}

/** Removes the files that only make sense while the VMM runs (keeps the launch record and console log). */
export function removeRuntimeFiles(paths: VmPaths): void {
  for (const f of [paths.pidfile, paths.qmp, paths.consoleSocket]) rmSync(f, { force: true });
}

/** A QEMU VM on this host. Built by QemuHypervisor.launch/adopt. */
export class QemuVm extends EventEmitter<VmInstanceEvents> implements VmInstance {
  readonly id: string;
  readonly pid: number;
  readonly accelerator: Accelerator;
  readonly machine: MachineType;
  readonly consoleLogPath: string;
  readonly consoleSocketPath: string;
  private readonly paths: VmPaths;
  private readonly qmp: QmpClient;
  private lastShutdown: string | undefined;
  private exitReason: string | undefined;

  constructor(record: LaunchRecord, paths: VmPaths, pid: number, qmp: QmpClient) {
    super();
    this.id = record.spec.id;
    this.pid = pid;
    this.accelerator = record.accelerator;
    this.machine = record.machine;
    this.paths = paths;
    this.consoleLogPath = paths.consoleLog;
    this.consoleSocketPath = paths.consoleSocket;
    this.qmp = qmp;
    qmp.on("event", (e: QmpEvent) => {
      if (e.event === "SHUTDOWN") this.lastShutdown = String(e.data?.reason ?? "shutdown");
      this.emit("vmm", { event: e.event, ...(e.data ? { data: e.data } : {}) });
    });
    qmp.on("close", (error) => {
      if (error === undefined) return; // detached on purpose; the VM runs on
      void waitForExit(pid, 5000).then((gone) => {
        if (!gone) return;
        this.exitReason = this.lastShutdown ? `qemu exited after ${this.lastShutdown}` : "qemu exited";
        removeRuntimeFiles(paths);
        this.emit("exit", { reason: this.exitReason });
      });
    });
  }

  /** {@inheritDoc VmInstance.status} */
  async status(): Promise<VmStatus> {
    const base = { id: this.id, accelerator: this.accelerator, machine: this.machine };
    if (!isAlive(this.pid)) {
      return { ...base, state: "stopped", reason: this.exitReason ?? (this.lastShutdown ? `qemu exited after ${this.lastShutdown}` : "qemu exited") };
    }
    try {
      const s = await this.qmp.execute<{ status: string }>("query-status", undefined, { timeoutMs: 5000 });
      const state = stateOf(s.status);
      return { ...base, state, vmmStatus: s.status, pid: this.pid, ...(state === "crashed" ? { reason: `qemu reports ${s.status}` } : {}) };
    } catch (e) {
      if (!isAlive(this.pid)) return { ...base, state: "stopped", reason: "qemu exited" };
      throw e;
    }
  }

  /** {@inheritDoc VmInstance.pause} */
  async pause(): Promise<void> {
    await this.command("stop");
  }

  /** {@inheritDoc VmInstance.resume} */
  async resume(): Promise<void> {
    await this.command("cont");
  }

  /** {@inheritDoc VmInstance.reboot} */
  async reboot(): Promise<void> {
    await this.command("system_reset");
  }

  /** {@inheritDoc VmInstance.stop} */
  async stop(options: StopOptions = {}): Promise<{ graceful: boolean }> {
    const deadlineMs = options.deadlineMs ?? 10_000;
    if (!isAlive(this.pid)) {
      removeRuntimeFiles(this.paths);
      return { graceful: true };
    }
    // A paused guest cannot see the power button: resume it first.
    try {
      const s = await this.qmp.execute<{ status: string }>("query-status", undefined, { timeoutMs: 2000 });
      if (s.status === "paused") await this.qmp.execute("cont", undefined, { timeoutMs: 2000 });
      await this.qmp.execute("system_powerdown", undefined, { timeoutMs: 2000 });
    } catch {
      /* QMP unusable: fall through to the forced path */
    }
    if (await waitForExit(this.pid, deadlineMs)) {
      removeRuntimeFiles(this.paths);
      return { graceful: true };
    }
    await this.forceStop();
    return { graceful: false };
  }

  /** {@inheritDoc VmInstance.delete} */
  async delete(): Promise<void> {
    if (isAlive(this.pid)) await this.forceStop();
    this.qmp.close();
    removeRuntimeFiles(this.paths);
    rmSync(this.paths.dir, { recursive: true, force: true });
  }

  /** {@inheritDoc VmInstance.detach} */
  detach(): void {
    this.qmp.close();
  }

  /** {@inheritDoc VmInstance.syncDisks} */
  async syncDisks(disks: DiskSpec[]): Promise<DiskSyncResult> {
    this.checkRunning();
    return syncDisks(this.qmp, this.machine, disks);
  }

  /** {@inheritDoc VmInstance.snapshotDisk} */
  async snapshotDisk(activePath: string, overlayPath: string): Promise<void> {
    this.checkRunning();
    await snapshotDisk(this.qmp, activePath, overlayPath);
  }

  /** {@inheritDoc VmInstance.streamDisk} */
  async streamDisk(childPath: string, basePath: string | undefined, mergedPath: string): Promise<void> {
    this.checkRunning();
    await streamDisk(this.qmp, childPath, basePath, mergedPath);
  }

  private checkRunning(): void {
    if (!isAlive(this.pid) || this.qmp.closed) {
      throw PlasmavmcErrors.NotRunning(`vm ${this.id} is not running (${this.exitReason ?? "qemu exited"})`, { details: { id: this.id } });
    }
  }

  /** `quit` over QMP, then SIGKILL; throws StopTimeout when the process survives both. */
  private async forceStop(): Promise<void> {
    try {
      await this.qmp.execute("quit", undefined, { timeoutMs: 2000 });
    } catch {
      /* the connection may close before the answer; the process check decides */
    }
    if (!(await waitForExit(this.pid, 3000))) {
      signal(this.pid, "SIGKILL");
      if (!(await waitForExit(this.pid, 3000))) {
        throw PlasmavmcErrors.StopTimeout(`qemu pid ${this.pid} of vm ${this.id} survived SIGKILL`, { details: { id: this.id, pid: this.pid } });
      }
    }
    removeRuntimeFiles(this.paths);
  }

  private async command(name: string): Promise<void> {
    this.checkRunning();
    await this.qmp.execute(name);
  }
}
