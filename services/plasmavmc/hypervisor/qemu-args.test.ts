import { describe, expect, it } from "bun:test";
import type { PhotonError } from "../../../lib/errors.ts";
import type { VmSpec } from "./hypervisor.ts";
import { chooseMachine, HOTPLUG_PORTS, qemuArgs } from "./qemu-args.ts";
import { vmPaths } from "./run-dir.ts";
import { parseVmSpec } from "./vm-spec.ts";

const base: VmSpec = {
  id: "web-1",
  vcpus: 2,
  memoryMiB: 512,
  boot: { kernel: "/img/vmlinux", initrd: "/img/initrd", cmdline: "quiet" },
  disks: [{ path: "/img/root.qcow2", format: "qcow2" }],
  nics: [{ type: "tap", ifname: "tap-web1", mac: "52:54:00:00:00:01" }],
};
const paths = vmPaths("/run/pvm", "web-1");

function thrown(f: () => unknown): PhotonError {
  try {
    f();
  } catch (e) {
    return e as PhotonError;
  }
  throw new Error("expected a throw");
}

function after(args: string[], flag: string): string[] {
  return args.flatMap((a, i) => (a === flag ? [args[i + 1]!] : []));
}

describe("qemuArgs", () => {
  it("uses microvm with virtio-mmio devices for a direct kernel boot under TCG, with the TSC workaround", () => {
    const args = qemuArgs({ spec: base, paths, accelerator: "tcg", machine: chooseMachine(base) });
    expect(after(args, "-machine")).toEqual(["microvm,acpi=on"]);
    expect(after(args, "-accel")).toEqual(["tcg"]);
    expect(args).not.toContain("-cpu");
    expect(after(args, "-append")).toEqual(["console=ttyS0 quiet tsc_early_khz=2000000"]);
    expect(after(args, "-device")).toEqual(["virtio-blk-device,drive=disk0", "virtio-net-device,netdev=net0,mac=52:54:00:00:00:01"]);
    expect(after(args, "-netdev")).toEqual(["tap,id=net0,ifname=tap-web1,script=no,downscript=no"]);
    expect(args).toContain("-daemonize");
    expect(after(args, "-pidfile")).toEqual([paths.pidfile]);
    expect(after(args, "-qmp")).toEqual([`unix:${paths.qmp},server=on,wait=off`]);
    expect(after(args, "-chardev")[0]).toContain(`logfile=${paths.consoleLog}`);
  });

  it("uses q35 with virtio-pci and firmware boot from the first disk when there is no kernel, and -cpu host under KVM", () => {
    const spec: VmSpec = { ...base, boot: undefined };
    const args = qemuArgs({ spec, paths, accelerator: "kvm", machine: chooseMachine(spec) });
    expect(after(args, "-machine")).toEqual(["q35"]);
    expect(after(args, "-cpu")).toEqual(["host"]);
    expect(args).not.toContain("-kernel");
    expect(after(args, "-device").filter((d) => !d.startsWith("pcie-root-port"))[0]).toBe("virtio-blk-pci,drive=disk0,bootindex=0");
  });

  it("puts volumes (disks with an id) on -blockdev nodes of that name, on q35 behind spare PCIe root ports", () => {
    const vol = { id: "vol-0123456789abcdef", path: "/v/top.qcow2", format: "qcow2" as const };
    const q35 = qemuArgs({ spec: { ...base, machine: "q35", disks: [vol] }, paths, accelerator: "tcg", machine: "q35" });
    expect(after(q35, "-blockdev")).toEqual(["driver=qcow2,node-name=vol-0123456789abcdef,file.driver=file,file.filename=/v/top.qcow2"]);
    const devices = after(q35, "-device");
    expect(devices.filter((d) => d.startsWith("pcie-root-port"))).toHaveLength(HOTPLUG_PORTS);
    expect(devices.indexOf("virtio-blk-pci,drive=vol-0123456789abcdef,id=vol-0123456789abcdef,bus=hp0")).toBeGreaterThan(devices.indexOf("pcie-root-port,id=hp0,chassis=1,bus=pcie.0"));
    const micro = qemuArgs({ spec: { ...base, disks: [vol] }, paths, accelerator: "tcg", machine: "microvm" });
    expect(after(micro, "-device")).toContain("virtio-blk-device,drive=vol-0123456789abcdef,id=vol-0123456789abcdef");
    expect(after(micro, "-device").some((d) => d.startsWith("pcie-root-port"))).toBe(false);
  });

  it("keeps a console= and tsc_early_khz= the image already sets", () => {
    const spec: VmSpec = { ...base, boot: { kernel: "/k", cmdline: "console=hvc0 tsc_early_khz=1000" } };
    expect(after(qemuArgs({ spec, paths, accelerator: "tcg", machine: "microvm" }), "-append")).toEqual(["console=hvc0 tsc_early_khz=1000"]);
  });
});

describe("parseVmSpec", () => {
  it("accepts a valid spec", () => {
    expect(parseVmSpec(base)).toEqual(base);
  });

  it("names the bad field, rejects unknown fields and option-splitting characters", () => {
    expect(thrown(() => parseVmSpec({ ...base, vcpus: 0 })).message).toContain("vcpus");
    expect(thrown(() => parseVmSpec({ ...base, extra: 1 })).code).toBe("PLASMAVMC:InvalidSpec");
    expect(thrown(() => parseVmSpec({ ...base, boot: { kernel: "/a,b" } })).message).toContain("boot.kernel");
    expect(thrown(() => parseVmSpec({ ...base, nics: [{ type: "tap", ifname: "x", mac: "bad" }] })).message).toContain("nics.0.mac");
    expect(thrown(() => parseVmSpec({ ...base, id: "../x" })).message).toContain("id");
  });

  it("requires something to boot, and a kernel on microvm", () => {
    expect(thrown(() => parseVmSpec({ ...base, boot: undefined, disks: [] })).message).toContain("boot");
    expect(thrown(() => parseVmSpec({ ...base, boot: undefined, machine: "microvm" })).message).toContain("microvm");
  });

  it("refuses a runtime directory too long for unix socket paths", () => {
    expect(thrown(() => vmPaths(`/${"x".repeat(100)}`, "a")).code).toBe("PLASMAVMC:InvalidSpec");
  });
});
