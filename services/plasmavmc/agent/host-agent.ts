/**
 * The plasmavmc host agent's control loop: converges the VMs on this host to the desired state
 * (desired-state.ts) through a {@link Hypervisor}. On start it re-adopts every VM still running from
 * an earlier agent (they were never its children: kill -9 of the agent leaves them running). Desired
 * `running` means "keep running": a VM whose process ended is launched again, with exponential
 * backoff (1 s … 60 s) while launches fail. A VM with no desired entry is removed from the host.
 *
 * Rounds run one at a time, every `intervalMs` and at once when a VM exits.
 */
import type { Logger } from "../../../lib/log.ts";
import type { Hypervisor, VmInstance, VmState } from "../hypervisor/hypervisor.ts";
import { readDesiredState, type DesiredVm } from "./desired-state.ts";

/** Options of {@link HostAgent}. */
export interface HostAgentOptions {
  hypervisor: Hypervisor;
  /** Directory of `<id>.json` desired-state files. */
  desiredDir: string;
  logger: Logger;
  /** Time between rounds (default 2000 ms). */
  intervalMs?: number;
}

/** What the agent last observed of a VM. */
export interface ObservedVm {
  id: string;
  state: VmState | "absent";
  pid?: number;
  reason?: string;
}

const codeOf = (e: unknown) => (e as { code?: string }).code;

/**
 * The control loop.
 * @example
 * const agent = new HostAgent({ hypervisor: new QemuHypervisor({ runDir }), desiredDir, logger });
 * await agent.start();   // adopts what runs, then converges every 2 s
 * await agent.stop();    // detaches; the VMs keep running
 */
export class HostAgent {
  private readonly options: HostAgentOptions;
  private readonly held = new Map<string, VmInstance>();
  private readonly backoff = new Map<string, { until: number; delayMs: number }>();
  private readonly reportedErrors = new Set<string>();
  private readonly observed = new Map<string, ObservedVm>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private round: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(options: HostAgentOptions) {
    this.options = options;
  }

  /** Runs a first round (adopting what runs) and schedules the next ones. */
  async start(): Promise<void> {
    await this.reconcile();
    this.schedule();
  }

  /** Stops the loop and drops every control connection; the VMs keep running. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.round;
    for (const vm of this.held.values()) vm.detach();
    this.held.clear();
  }

  /** The state seen in the last round, by VM id. */
  snapshot(): ObservedVm[] {
    return [...this.observed.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Runs one round now (or right after the current one). */
  reconcile(): Promise<void> {
    if (this.round) {
      this.again = true;
      return this.round;
    }
    this.round = (async () => {
      try {
        do {
          this.again = false;
          await this.reconcileOnce();
        } while (this.again && !this.stopped);
      } finally {
        this.round = undefined;
      }
    })();
    return this.round;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.reconcile().finally(() => this.schedule());
    }, this.options.intervalMs ?? 2000);
  }

  private async reconcileOnce(): Promise<void> {
    const { logger, hypervisor, desiredDir } = this.options;
    let desired;
    try {
      desired = readDesiredState(desiredDir);
    } catch (e) {
      logger.error("cannot read desired state; skipping this round", { dir: desiredDir, error: (e as Error).message });
      return;
    }
    for (const { file, error } of desired.errors) {
      const key = `${file}\0${error.message}`;
      if (this.reportedErrors.has(key)) continue;
      this.reportedErrors.add(key);
      logger.error("invalid desired-state file", { file, code: error.code, error: error.message });
    }
    const ids = new Set([...desired.vms.keys(), ...this.held.keys(), ...(await hypervisor.list())]);
    for (const id of ids) {
      if (this.stopped) return;
      try {
        await this.reconcileVm(id, desired.vms.get(id));
      } catch (e) {
        logger.error("reconcile failed", { vm: id, code: codeOf(e), error: (e as Error).message });
      }
    }
    for (const id of this.observed.keys()) if (!ids.has(id)) this.observed.delete(id);
  }

  private async reconcileVm(id: string, want: DesiredVm | undefined): Promise<void> {
    const { logger, hypervisor } = this.options;
    let vm = this.held.get(id);
    if (!vm) {
      try {
        vm = await hypervisor.adopt(id);
        this.hold(vm);
        logger.info("vm adopted", { vm: id, pid: vm.pid, accelerator: vm.accelerator });
      } catch (e) {
        const code = codeOf(e);
        if (code !== "PLASMAVMC:NotRunning" && code !== "PLASMAVMC:NotFound") throw e;
      }
    }
    let status = vm ? await vm.status() : undefined;
    if (vm && status?.state === "stopped") {
      vm.detach();
      this.held.delete(id);
      vm = undefined;
    }

    if (!want) {
      // a held VM is deleted through its own connection (QEMU serves one QMP client at a time)
      if (vm) await vm.delete();
      else await hypervisor.remove(id);
      this.held.delete(id);
      this.observed.delete(id);
      logger.info("vm removed (no desired state)", { vm: id });
      return;
    }

    if (want.state === "stopped") {
      if (vm) {
        const r = await vm.stop({ deadlineMs: want.stopDeadlineMs ?? 10_000 });
        vm.detach();
        this.held.delete(id);
        vm = undefined;
        status = undefined;
        logger.info("vm stopped", { vm: id, graceful: r.graceful });
      }
      this.observed.set(id, { id, state: "stopped" });
      return;
    }

    if (vm && status?.state === "crashed") {
      logger.warn("vm crashed; restarting it", { vm: id, reason: status.reason });
      await vm.stop({ deadlineMs: 0 });
      vm.detach();
      this.held.delete(id);
      vm = undefined;
    }
    if (!vm) {
      const b = this.backoff.get(id);
      if (b && Date.now() < b.until) return;
      try {
        vm = await hypervisor.launch(want.spec);
        this.backoff.delete(id);
        this.hold(vm);
        logger.info("vm launched", { vm: id, pid: vm.pid, accelerator: vm.accelerator, machine: vm.machine });
      } catch (e) {
        const delayMs = Math.min(60_000, (b?.delayMs ?? 500) * 2);
        this.backoff.set(id, { until: Date.now() + delayMs, delayMs });
        this.observed.set(id, { id, state: "absent", reason: (e as Error).message });
        logger.error("vm launch failed", { vm: id, code: codeOf(e), error: (e as Error).message, retryInMs: delayMs });
        return;
      }
      status = await vm.status();
    }
    if (want.state === "paused" && status?.state === "running") await vm.pause();
    if (want.state === "running" && status?.state === "paused") await vm.resume();
    const now = await vm.status();
    this.observed.set(id, { id, state: now.state, ...(now.pid ? { pid: now.pid } : {}), ...(now.reason ? { reason: now.reason } : {}) });
  }

  private hold(vm: VmInstance): void {
    this.held.set(vm.id, vm);
    vm.on("exit", ({ reason }) => {
      this.options.logger.info("vm exited", { vm: vm.id, reason });
      void this.reconcile();
    });
  }
}
