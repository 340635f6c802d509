/**
 * The QEMU command line of a VM — a pure function, so what a VM runs with is visible and testable.
 *
 * Choices: `-nodefaults` (only the devices asked for); `-daemonize` + `-pidfile` (the VMM survives
 * the agent and signals its own readiness: the parent exits 0 only once the machine is built, or
 * non-zero with the reason on stderr); QMP and the serial console on unix sockets in the VM's
 * runtime directory, the console also logged to a file. microvm uses virtio-mmio devices, q35
 * virtio-pci. Under TCG on microvm the kernel gets `tsc_early_khz` (it hangs calibrating the TSC
 * without it). Disks with an id (volumes) are `-blockdev` nodes named by it with a device of the
 * same id; on q35 they sit on PCIe root ports (`hp0`…), which also take disks hot-plugged later
 * (the root bus of q35 has no hotplug).
 */
import type { Accelerator, MachineType, VmSpec } from "./hypervisor.ts";
import type { VmPaths } from "./run-dir.ts";

/** Inputs of {@link qemuArgs}. */
export interface QemuArgsOptions {
  spec: VmSpec;
  paths: VmPaths;
  accelerator: Accelerator;
  machine: MachineType;
}

/** Spare PCIe root ports of a q35 VM (hot-pluggable disks: at most this many). */
export const HOTPLUG_PORTS = 8;

/** The machine a spec runs on: microvm for a direct kernel boot unless the spec says otherwise. */
export function chooseMachine(spec: VmSpec): MachineType {
  if (spec.machine && spec.machine !== "auto") return spec.machine;
  return spec.boot ? "microvm" : "q35";
}

/** QEMU's arguments (without the binary) for one VM. */
export function qemuArgs(o: QemuArgsOptions): string[] {
  const { spec, paths, accelerator, machine } = o;
  const bus = machine === "microvm" ? "device" : "pci";
  const args = [
    "-name", `${spec.id},process=photon-vm-${spec.id}`,
    "-machine", machine === "microvm" ? "microvm,acpi=on" : "q35",
    "-accel", accelerator,
    ...(accelerator === "kvm" ? ["-cpu", "host"] : []),
    "-smp", String(spec.vcpus),
    "-m", `${spec.memoryMiB}M`,
    "-nodefaults", "-no-user-config", "-display", "none",
    "-daemonize", "-pidfile", paths.pidfile,
    "-qmp", `unix:${paths.qmp},server=on,wait=off`,
    "-chardev", `socket,id=console0,path=${paths.consoleSocket},server=on,wait=off,logfile=${paths.consoleLog},logappend=on`,
    "-serial", "chardev:console0",
  ];
  if (spec.boot) {
    args.push("-kernel", spec.boot.kernel);
    if (spec.boot.initrd) args.push("-initrd", spec.boot.initrd);
    const cmdline = [spec.boot.cmdline ?? ""];
    if (!/\bconsole=/.test(cmdline[0]!)) cmdline.unshift("console=ttyS0");
    if (accelerator === "tcg" && machine === "microvm" && !/\btsc_early_khz=/.test(cmdline.join(" "))) {
      cmdline.push("tsc_early_khz=2000000");
    }
    args.push("-append", cmdline.filter((s) => s).join(" "));
  }
  if (machine === "q35") {
    for (let i = 0; i < HOTPLUG_PORTS; i++) args.push("-device", `pcie-root-port,id=hp${i},chassis=${i + 1},bus=pcie.0`);
  }
  let port = 0;
  spec.disks.forEach((d, i) => {
    if (d.id) {
      args.push("-blockdev", `driver=${d.format},node-name=${d.id},file.driver=file,file.filename=${d.path}${d.readOnly ? ",read-only=on" : ""}`);
      args.push("-device", `virtio-blk-${bus},drive=${d.id},id=${d.id}${bus === "pci" ? `,bus=hp${port++}` : ""}`);
      return;
    }
    args.push("-drive", `file=${d.path},format=${d.format},if=none,id=disk${i}${d.readOnly ? ",readonly=on" : ""}`);
    args.push("-device", `virtio-blk-${bus},drive=disk${i}${!spec.boot && i === 0 && bus === "pci" ? ",bootindex=0" : ""}`);
  });
  spec.nics.forEach((n, i) => {
    if (n.type === "tap") {
      args.push("-netdev", `tap,id=net${i},ifname=${n.ifname},script=no,downscript=no`);
      args.push("-device", `virtio-net-${bus},netdev=net${i},mac=${n.mac}`);
    } else {
      args.push("-netdev", `user,id=net${i},restrict=on`);
      args.push("-device", `virtio-net-${bus},netdev=net${i}${n.mac ? `,mac=${n.mac}` : ""}`);
    }
  });
  return args;
}
