import { describe, expect, it } from "bun:test";
import { vmView } from "./service-vm.ts";
import type { VmRecord, VmStatusRecord } from "./types.ts";

const rec: VmRecord = {
  id: "vm-0000000000000001", org: "o", project: "p", name: "web", flavor: "flv-1", vcpus: 1, memoryMiB: 256, diskGiB: 0,
  boot: { image: "img-1", kind: "kernel", file: "img-1", format: "raw" }, nics: [{ port: "port_1", mac: "fa:16:00:00:00:01", ips: ["10.0.0.2"], vpc: "vpc_1", vni: 4096, subnet: "sn_1", owned: true }],
  sshKeys: [], desired: "running", stopDeadlineMs: 10_000, rebootSeq: 0, host: "hv1", allocated: true, netReady: true, createdAt: "2026-01-01T00:00:00Z",
};
const st = (state: VmStatusRecord["state"], reason?: string): VmStatusRecord => ({ host: "hv1", state, rebootSeq: 0, updatedAt: "now", ...(reason ? { reason } : {}) });

describe("vmView", () => {
  it("computes the state from the record, the agent's report and the host's heartbeat", () => {
    expect(vmView({ ...rec, netReady: false }, undefined, true).state).toBe("BUILDING");
    expect(vmView(rec, undefined, true).state).toBe("BUILDING");
    expect(vmView(rec, st("launching", "waiting for novanet to create tap pct-1"), true)).toMatchObject({ state: "BUILDING", reason: "waiting for novanet to create tap pct-1" });
    expect(vmView(rec, st("running"), true).state).toBe("RUNNING");
    expect(vmView(rec, st("paused"), true).state).toBe("PAUSED");
    expect(vmView(rec, st("stopped"), true).state).toBe("STOPPED");
    expect(vmView(rec, st("failed", "qemu: no kernel"), true)).toMatchObject({ state: "ERROR", reason: "qemu: no kernel" });
    expect(vmView(rec, st("crashed"), true)).toMatchObject({ state: "ERROR", reason: "crashed" });
  });

  it("puts what the record says first: deleting, then a permanent error, then a silent host", () => {
    expect(vmView({ ...rec, deleting: true, error: "x" }, st("running"), false).state).toBe("DELETING");
    expect(vmView({ ...rec, error: "no host has room" }, st("running"), false)).toMatchObject({ state: "ERROR", reason: "no host has room" });
    expect(vmView(rec, st("running"), false)).toMatchObject({ state: "LOST", reason: expect.stringContaining("hv1") });
  });

  it("shows addresses and ports from the NICs", () => {
    expect(vmView(rec, st("running"), true)).toMatchObject({ addresses: ["10.0.0.2"], ports: ["port_1"], host: "hv1", image: "img-1" });
  });
});
