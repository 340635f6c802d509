/**
 * Chooses the accelerator: KVM only when it can actually run a guest here, TCG otherwise, and
 * always with the reason. An openable /dev/kvm is not enough — a nested, paravirtual KVM (kvm_pvm)
 * accepts KVM_CREATE_VM and then fails to set up a vCPU (`-cpu host`) or to boot a stock kernel.
 *
 * The probe starts QEMU with KVM and `-cpu host`. Given a probe image (a kernel + initramfs that
 * powers off after printing a marker when booted with `photon.probe=1`, as the test image does), it
 * boots it and requires the marker; without one, it requires QEMU to build the machine and answer
 * on QMP with its vCPU created (which is where the paravirtual KVM already fails).
 */
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Accelerator, AcceleratorChoice } from "./hypervisor.ts";
import { QmpClient } from "../qmp/qmp-client.ts";

/** A guest that prints `marker` on ttyS0 and powers off when its command line has `photon.probe=1`. */
export interface ProbeImage {
  kernel: string;
  initrd: string;
  marker: string;
}

/** The outcome of {@link chooseAccelerator}. */
export interface AcceleratorDecision {
  accelerator: Accelerator;
  reason: string;
}

const cache = new Map<string, Promise<AcceleratorDecision>>();

/**
 * Resolves `choice` to an accelerator. `kvm` and `tcg` are taken as given; `auto` probes KVM once
 * per process (per binary and probe image) and falls back to TCG with the probe's failure as reason.
 */
export function chooseAccelerator(choice: AcceleratorChoice, qemu: string, probe?: ProbeImage): Promise<AcceleratorDecision> {
  if (choice !== "auto") return Promise.resolve({ accelerator: choice, reason: `configured: ${choice}` });
  const key = `${qemu}\0${probe?.kernel ?? ""}`;
  let p = cache.get(key);
  if (!p) {
    p = probeKvm(qemu, probe).then((failure) =>
      failure === undefined
        ? { accelerator: "kvm" as const, reason: probe ? "kvm probe booted a guest" : "kvm probe created a vCPU" }
        : { accelerator: "tcg" as const, reason: `kvm unusable (${failure}); using tcg software emulation` },
    );
    cache.set(key, p);
  }
  return p;
}

/** Returns undefined when KVM works, else why it does not. */
async function probeKvm(qemu: string, probe?: ProbeImage): Promise<string | undefined> {
  try {
    accessSync("/dev/kvm", constants.R_OK | constants.W_OK);
  } catch {
    return "/dev/kvm is absent or not accessible";
  }
  const dir = mkdtempSync(join(tmpdir(), "photon-kvm-probe-"));
  const serial = join(dir, "serial.log");
  const qmpSock = join(dir, "qmp.sock");
  const args = [qemu, "-machine", "microvm,acpi=on", "-accel", "kvm", "-cpu", "host", "-m", "128M", "-nodefaults", "-no-user-config", "-display", "none"];
  if (probe) {
    args.push("-kernel", probe.kernel, "-initrd", probe.initrd, "-append", "console=ttyS0 photon.probe=1 quiet", "-serial", `file:${serial}`);
  } else {
    args.push("-S", "-qmp", `unix:${qmpSock},server=on,wait=off`);
  }
  const proc = Bun.spawn(args, { stdout: "ignore", stderr: "pipe" });
  let status: number | null = null; // proc.exitCode stays null when a signal (SIGABRT) ended it
  void proc.exited.then((code) => (status = code));
  const stderr = new Response(proc.stderr).text();
  const firstLine = async () => (await stderr).trim().split("\n").slice(-1)[0] ?? "";
  try {
    if (probe) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const exited = await Promise.race([proc.exited, new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), 10_000)))]);
      clearTimeout(timer);
      const out = existsSync(serial) ? readFileSync(serial, "utf8") : "";
      if (out.includes(probe.marker)) return undefined;
      if (exited === undefined) return "the probe guest did not boot within 10 s";
      return `qemu exited ${exited}: ${await firstLine()}`;
    }
    for (let i = 0; i < 100; i++) {
      if (status !== null) return `qemu exited ${status}: ${await firstLine()}`;
      if (existsSync(qmpSock)) {
        try {
          const qmp = await QmpClient.connect(qmpSock, { connectTimeoutMs: 2000 });
          await qmp.execute("query-cpus-fast");
          qmp.close();
          await Bun.sleep(50); // a vCPU that fails to initialise aborts QEMU right after
          return status === null ? undefined : `qemu exited ${status}: ${await firstLine()}`;
        } catch (e) {
          // QEMU usually aborts while we talk to it: give it a moment to exit and say why.
          let timer: ReturnType<typeof setTimeout> | undefined;
          await Promise.race([proc.exited, new Promise((r) => (timer = setTimeout(() => r(undefined), 1000)))]);
          clearTimeout(timer);
          if (status !== null) return `qemu exited ${status}: ${await firstLine()}`;
          return (e as Error).message;
        }
      }
      await Bun.sleep(20);
    }
    return "the probe did not start within 2 s";
  } finally {
    if (status === null) proc.kill(9);
    await proc.exited;
    rmSync(dir, { recursive: true, force: true });
  }
}
