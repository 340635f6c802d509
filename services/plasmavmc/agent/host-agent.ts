/**
 * The plasmavmc host agent's control loop: converges the VMs on this host to the desired state
 * (desired-state.ts) through a {@link Hypervisor}. On start it re-adopts every VM still running from
 * an earlier agent (they were never its children: kill -9 of the agent leaves them running). Desired
 * `running` means "keep running": a VM whose process ended is launched again, with exponential
 * backoff (1 s … 60 s) while launches fail. A VM with no desired entry is removed from the host.
 *
 * Rounds run one at a time, every `intervalMs` and at once when a VM exits (or `reconcile()` is
 * called, e.g. on a chainfire watch event). The desired state comes from a directory
 * (desired-state.ts) or from any `source` (the chainfire agent, cluster-agent.ts); a source that
 * throws skips the round (never mistaken for "nothing desired"). `prepare` may hold a launch
 * back (a tap not created yet), and `onObserved` receives what each round saw of each VM. A
 * running VM's hot-pluggable disks (volumes: spec disks with an id) are made to match the spec
 * every round (`VmInstance.syncDisks`); `beforeRound`/`afterRound` let the chainfire agent
 * prepare volume files and report volumes inside the same serialized round.
 */
import type { Logger } from "../../../lib/log.ts";
import type { Hypervisor, VmInstance, VmState } from "../hypervisor/hypervisor.ts";
import { readDesiredState, type DesiredState, type DesiredVm } from "./desired-state.ts";

/** Options of {@link HostAgent}. */
export interface HostAgentOptions {
  hypervisor: Hypervisor;
  /** Directory of `<id>.json` desired-state files (or give `source`). */
  desiredDir?: string;
  /** Where the desired state comes from when not a directory; throwing skips the round. */
  source?: () => Promise<DesiredState>;
  /** Called before a launch; a returned reason holds the launch back this round (no backoff). */
  prepare?: (want: DesiredVm) => Promise<string | undefined>;
  /** Called with what a round observed of each VM (`absent` also after removal). */
  onObserved?: (vm: ObservedVm, want: DesiredVm | undefined) => void | Promise<void>;
  /** Called at the end of every round that read its desired state. */
  afterRound?: () => Promise<void>;
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
  accelerator?: string;
  machine?: string;
  /** The last reboot request applied (DesiredVm.rebootSeq). */
  rebootSeq?: number;
  /** Ids of the hot-pluggable disks the running VMM has (volumes). */
  disks?: string[];
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
  private readonly rebooted = new Map<string, number>();
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

  /** The VM held (launched or adopted) by this agent, if any: for operations on its disks between rounds' steps. */
  instance(id: string): VmInstance | undefined {
    return this.held.get(id);
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
    const { logger, hypervisor, desiredDir, source } = this.options;
    let desired: DesiredState;
    try {
      if (source) desired = await source();
      else if (desiredDir) desired = readDesiredState(desiredDir);
      else throw new Error("the agent has neither a desired-state directory nor a source");
    } catch (e) {
      logger.error("cannot read desired state; skipping this round", { ...(desiredDir ? { dir: desiredDir } : {}), error: (e as Error).message });
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
      const want = desired.vms.get(id);
      try {
        await this.reconcileVm(id, want);
      } catch (e) {
        logger.error("reconcile failed", { vm: id, code: codeOf(e), error: (e as Error).message });
        this.observed.set(id, { ...(this.observed.get(id) ?? { id, state: "absent" }), reason: (e as Error).message });
      }
      if (this.options.onObserved) {
        const o = this.observed.get(id) ?? { id, state: "absent" as const };
        try {
          await this.options.onObserved({ ...o, ...(this.rebooted.has(id) ? { rebootSeq: this.rebooted.get(id)! } : {}) }, want);
        } catch (e) {
          logger.warn("cannot report a VM's state", { vm: id, error: (e as Error).message });
        }
      }
    }
    for (const id of this.observed.keys()) if (!ids.has(id)) this.observed.delete(id);
    if (this.options.afterRound) {
      try {
        await this.options.afterRound();
      } catch (e) {
        logger.warn("after-round step failed", { error: (e as Error).message });
      }
    }
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
      this.rebooted.delete(id);
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
      const wait = this.options.prepare ? await this.options.prepare(want) : undefined;
      if (wait !== undefined) {
        this.observed.set(id, { id, state: "absent", reason: wait });
        return;
      }
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
      this.rebooted.set(id, want.rebootSeq ?? 0); // a fresh boot satisfies every earlier reboot request
    }
    if (!this.rebooted.has(id)) this.rebooted.set(id, want.appliedRebootSeq ?? want.rebootSeq ?? 0);
    if ((want.rebootSeq ?? 0) > this.rebooted.get(id)! && status?.state === "running") {
      await vm.reboot();
      logger.info("vm rebooted", { vm: id });
    }
    this.rebooted.set(id, Math.max(this.rebooted.get(id)!, want.rebootSeq ?? 0));
    if (want.state === "paused" && status?.state === "running") await vm.pause();
    if (want.state === "running" && status?.state === "paused") await vm.resume();
    let now = await vm.status();
    let disks: { attached: string[]; pending?: string } | undefined;
    if (vm.syncDisks && now.state === "running") {
      disks = await vm.syncDisks(want.spec.disks.filter((d) => d.id));
      if (disks.pending) logger.info("vm disks not converged yet", { vm: id, reason: disks.pending });
      now = await vm.status();
    }
    const reason = now.reason ?? disks?.pending;
    this.observed.set(id, { id, state: now.state, accelerator: now.accelerator, machine: now.machine, ...(now.pid ? { pid: now.pid } : {}), ...(reason ? { reason } : {}), ...(disks ? { disks: disks.attached } : {}) });
  }

  private hold(vm: VmInstance): void {
    this.held.set(vm.id, vm);
    vm.on("exit", ({ reason }) => {
      this.options.logger.info("vm exited", { vm: vm.id, reason });
      void this.reconcile();
    });
  }
}
