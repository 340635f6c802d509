import { describe, expect, it } from "bun:test";
import { accessSync, constants } from "node:fs";
import { chooseAccelerator } from "./qemu-accel.ts";

const qemu = Bun.which("qemu-system-x86_64");
if (!qemu) console.log("skipping accelerator probe tests: qemu-system-x86_64 is not installed");

function kvmAccessible(): boolean {
  try {
    accessSync("/dev/kvm", constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(!qemu)("chooseAccelerator", () => {
  it("takes an explicit choice as given", async () => {
    expect(await chooseAccelerator("tcg", qemu!)).toEqual({ accelerator: "tcg", reason: "configured: tcg" });
  });

  it("probes KVM without an image (vCPU creation) and says why it chose what it chose", async () => {
    const d = await chooseAccelerator("auto", qemu!);
    console.log(`kvm probe without an image: ${d.accelerator} (${d.reason})`);
    if (!kvmAccessible()) {
      expect(d).toEqual({ accelerator: "tcg", reason: "kvm unusable (/dev/kvm is absent or not accessible); using tcg software emulation" });
    } else if (d.accelerator === "tcg") {
      expect(d.reason).toStartWith("kvm unusable (");
      expect(d.reason.length).toBeGreaterThan("kvm unusable ()".length + 10);
    } else {
      expect(d.reason).toBe("kvm probe created a vCPU");
    }
  }, 15_000);
});
