/**
 * The QEMU backend: launches each VM as a detached, daemonized QEMU in its runtime directory,
 * controls it over one QMP connection, and re-adopts it after an agent restart from the directory
 * alone (launch record, pidfile, QMP socket). KVM when a probe shows it can boot a guest, TCG
 * otherwise, and every VM records which one it got and why.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { PlasmavmcErrors } from "../errors.ts";
import { QmpClient } from "../qmp/qmp-client.ts";
import type { AcceleratorChoice, Hypervisor, HypervisorInfo, VmInstance, VmSpec } from "./hypervisor.ts";
import { checkBootFiles } from "./image-check.ts";
import { isProcessOf, readPidfile, signal, waitForExit } from "./process.ts";
import { chooseAccelerator, type ProbeImage } from "./qemu-accel.ts";
import { chooseMachine, qemuArgs } from "./qemu-args.ts";
import { QemuVm, removeRuntimeFiles } from "./qemu-vm.ts";
import { readLaunchRecord, recordedPaths, vmPaths, writeFileAtomic, type LaunchRecord } from "./run-dir.ts";
import { parseVmSpec } from "./vm-spec.ts";

/** Options of {@link QemuHypervisor}. */
export interface QemuHypervisorOptions {
  /** Directory holding one runtime directory per VM. */
  runDir: string;
  /** Directory of the VMs' QMP and console sockets (default `runDir`); keep it short (107-byte socket paths). */
  socketDir?: string;
  /** QEMU binary (default: `qemu-system-x86_64` from PATH). */
  qemuBinary?: string;
  /** Default `auto`: KVM if the probe boots a guest with it, TCG otherwise. */
  accelerator?: AcceleratorChoice;
  /** A guest for the KVM probe (see qemu-accel.ts); without one the probe only creates a vCPU. */
  probeImage?: ProbeImage;
  /** How long QEMU may take to build the machine before launch gives up (default 30000 ms). */
  launchTimeoutMs?: number;
}

/**
 * The QEMU implementation of {@link Hypervisor}.
 * @example
 * const hv = new QemuHypervisor({ runDir: "/run/photon/vms" });
 * const vm = await hv.launch({ id: "web-1", vcpus: 1, memoryMiB: 256, boot: { kernel, initrd }, disks: [], nics: [] });
 * console.log(vm.accelerator, (await vm.status()).state);
 * await vm.stop({ deadlineMs: 5000 });
 */
export class QemuHypervisor implements Hypervisor {
  readonly backend = "qemu" as const;
  private readonly options: QemuHypervisorOptions;
  private readonly binary: string | undefined;

  constructor(options: QemuHypervisorOptions) {
    this.options = options;
    this.binary = options.qemuBinary ?? Bun.which("qemu-system-x86_64") ?? undefined;
  }

  /** {@inheritDoc Hypervisor.info} */
  async info(): Promise<HypervisorInfo> {
    if (!this.binary || !existsSync(this.binary)) {
      return { backend: "qemu", available: false, reason: "qemu-system-x86_64 is not installed (Debian: apt-get install qemu-system-x86)" };
    }
    const out = Bun.spawnSync([this.binary, "--version"]).stdout.toString();
    const version = /version (\S+)/.exec(out)?.[1];
    const accel = await chooseAccelerator(this.options.accelerator ?? "auto", this.binary, this.options.probeImage);
    return { backend: "qemu", available: true, reason: accel.reason, accelerator: accel.accelerator, ...(version ? { version } : {}) };
  }

  /** {@inheritDoc Hypervisor.launch} */
  async launch(input: VmSpec): Promise<VmInstance> {
    const spec = parseVmSpec(input);
    const binary = this.requireBinary();
    const paths = this.paths(spec.id);
    if (spec.netns && !existsSync(`/run/netns/${spec.netns}`)) {
      throw PlasmavmcErrors.InvalidSpec(`invalid VM spec: netns: network namespace ${spec.netns} does not exist`, { details: { field: "netns" } });
    }
    checkBootFiles(spec);
    const fresh = !existsSync(paths.launch);
    if (!fresh) {
      const pid = readPidfile(paths.pidfile);
      if (pid !== undefined && isProcessOf(pid, paths.qmp)) {
        throw PlasmavmcErrors.AlreadyRunning(`vm ${spec.id} is already running (pid ${pid})`, { details: { id: spec.id, pid } });
      }
      removeRuntimeFiles(paths);
    }
    const accel = await chooseAccelerator(this.options.accelerator ?? "auto", binary, this.options.probeImage);
    const machine = chooseMachine(spec);
    const argv = [binary, ...qemuArgs({ spec, paths, accelerator: accel.accelerator, machine })];
    const command = spec.netns ? ["ip", "netns", "exec", spec.netns, ...argv] : argv;
    const record: LaunchRecord = {
      spec,
      backend: "qemu",
      accelerator: accel.accelerator,
      acceleratorReason: accel.reason,
      machine,
      argv: command,
      launchedAt: new Date().toISOString(),
      sockets: { qmp: paths.qmp, console: paths.consoleSocket },
    };
    mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
    if (this.options.socketDir) mkdirSync(this.options.socketDir, { recursive: true, mode: 0o700 });
    writeFileAtomic(paths.launch, `${JSON.stringify(record, null, 2)}\n`);

    const errFile = join(paths.dir, "launch.err");
    const cleanup = () => {
      const pid = readPidfile(paths.pidfile);
      if (pid !== undefined && isProcessOf(pid, paths.qmp)) signal(pid, "SIGKILL");
      removeRuntimeFiles(paths);
      if (fresh) rmSync(paths.dir, { recursive: true, force: true });
      else rmSync(errFile, { force: true });
    };
    // -daemonize: the parent exits once the machine is built (0) or with the reason on stderr.
    const proc = Bun.spawn(command, { stdin: "ignore", stdout: "ignore", stderr: Bun.file(errFile) });
    const timeoutMs = this.options.launchTimeoutMs ?? 30_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const code = await Promise.race([proc.exited, new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), timeoutMs)))]);
    clearTimeout(timer);
    const stderr = existsSync(errFile) ? readFileSync(errFile, "utf8").trim() : "";
    rmSync(errFile, { force: true });
    if (code !== 0) {
      if (code === "timeout") proc.kill(9);
      cleanup();
      const reason = code === "timeout" ? `qemu did not finish starting within ${timeoutMs} ms` : stderr || `qemu exited with status ${code}`;
      throw PlasmavmcErrors.LaunchFailed(`vm ${spec.id} failed to start: ${reason}`, { details: { id: spec.id, reason, accelerator: accel.accelerator } });
    }
    const pid = readPidfile(paths.pidfile);
    if (pid === undefined) {
      cleanup();
      throw PlasmavmcErrors.LaunchFailed(`vm ${spec.id} failed to start: qemu wrote no pidfile`, { details: { id: spec.id } });
    }
    let qmp: QmpClient;
    try {
      qmp = await QmpClient.connect(paths.qmp);
    } catch (e) {
      signal(pid, "SIGKILL");
      await waitForExit(pid, 3000);
      cleanup();
      throw PlasmavmcErrors.LaunchFailed(`vm ${spec.id} started but its QMP socket does not answer: ${(e as Error).message}`, {
        cause: e,
        details: { id: spec.id },
      });
    }
    return new QemuVm(record, paths, pid, qmp);
  }

  /** {@inheritDoc Hypervisor.adopt} */
  async adopt(id: string): Promise<VmInstance> {
    const record = readLaunchRecord(this.paths(id), id);
    const paths = recordedPaths(this.paths(id), record);
    const pid = readPidfile(paths.pidfile);
    if (pid === undefined || !isProcessOf(pid, paths.qmp)) {
      removeRuntimeFiles(paths);
      throw PlasmavmcErrors.NotRunning(`vm ${id} is not running (no live qemu behind ${paths.pidfile})`, { details: { id } });
    }
    const qmp = await QmpClient.connect(paths.qmp);
    return new QemuVm(record, paths, pid, qmp);
  }

  /** {@inheritDoc Hypervisor.remove} */
  async remove(id: string): Promise<void> {
    const paths = this.paths(id);
    try {
      await (await this.adopt(id)).delete();
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === "PLASMAVMC:NotFound") return;
      if (code !== "PLASMAVMC:NotRunning") throw e;
      removeRuntimeFiles(paths);
      rmSync(paths.dir, { recursive: true, force: true });
    }
  }

  /** {@inheritDoc Hypervisor.list} */
  async list(): Promise<string[]> {
    if (!existsSync(this.options.runDir)) return [];
    return readdirSync(this.options.runDir)
      .filter((name) => existsSync(join(this.options.runDir, name, "launch.json")))
      .sort();
  }

  /** {@inheritDoc Hypervisor.spec} */
  async spec(id: string): Promise<VmSpec> {
    return readLaunchRecord(this.paths(id), id).spec;
  }

  private paths(id: string) {
    return vmPaths(this.options.runDir, id, this.options.socketDir);
  }

  private requireBinary(): string {
    if (!this.binary || !existsSync(this.binary)) {
      throw PlasmavmcErrors.HypervisorUnavailable("qemu-system-x86_64 is not installed on this host (Debian: apt-get install qemu-system-x86)");
    }
    return this.binary;
  }
}
