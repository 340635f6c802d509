/**
 * The runtime directory of one VM on a host: `<root>/<id>/` holding what an agent needs to find,
 * control and re-adopt a VM it did not start — the launch record (spec, accelerator, machine,
 * command line), the VMM's pidfile and the console log — and its two unix sockets,
 * `<socketDir>/<id>.qmp` and `<socketDir>/<id>.console`. Sockets may live elsewhere (`/run/photon/vms`
 * by default for the agent) because a socket path is limited to 107 bytes, which a data directory
 * deep in a checkout easily exceeds.
 * Records are written atomically (temp file, fsync, rename) so a kill -9 never leaves half a file.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { join } from "node:path";
import { PlasmavmcErrors } from "../errors.ts";
import type { Accelerator, MachineType, VmSpec } from "./hypervisor.ts";

/** Linux's limit for a unix socket path (sun_path is 108 bytes including the NUL). */
const MAX_SOCKET_PATH = 107;

/** What was launched, kept beside the VM for adoption and relaunch. */
export interface LaunchRecord {
  spec: VmSpec;
  backend: "qemu" | "firecracker";
  accelerator: Accelerator;
  /** Why this accelerator (e.g. "kvm probe failed: ..."). */
  acceleratorReason: string;
  machine: MachineType;
  argv: string[];
  launchedAt: string;
  /** Where its sockets are (they may live outside the runtime directory). */
  sockets: { qmp: string; console: string };
}

/** The files of one VM. */
export interface VmPaths {
  dir: string;
  launch: string;
  pidfile: string;
  qmp: string;
  consoleSocket: string;
  consoleLog: string;
}

/**
 * Paths of VM `id` under `root`, its sockets in `socketDir` (default `root`).
 * @throws PLASMAVMC:InvalidSpec when a socket path would exceed Linux's 107-byte limit (pick a shorter socket directory).
 */
export function vmPaths(root: string, id: string, socketDir: string = root): VmPaths {
  const dir = join(root, id);
  const paths: VmPaths = {
    dir,
    launch: join(dir, "launch.json"),
    pidfile: join(dir, "vmm.pid"),
    qmp: join(socketDir, `${id}.qmp`),
    consoleSocket: join(socketDir, `${id}.console`),
    consoleLog: join(dir, "console.log"),
  };
  for (const s of [paths.qmp, paths.consoleSocket]) {
    if (Buffer.byteLength(s) > MAX_SOCKET_PATH) {
      throw PlasmavmcErrors.InvalidSpec(`socket path ${s} is longer than ${MAX_SOCKET_PATH} bytes; use a shorter socket directory`);
    }
  }
  return paths;
}

/** Writes `data` to `file` atomically and durably. */
export function writeFileAtomic(file: string, data: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = openSync(tmp, "w", 0o600);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

/** Reads a launch record. @throws PLASMAVMC:NotFound when there is none. */
export function readLaunchRecord(paths: VmPaths, id: string): LaunchRecord {
  let text: string;
  try {
    text = readFileSync(paths.launch, "utf8");
  } catch {
    throw PlasmavmcErrors.NotFound(`no VM ${id} on this host (no ${paths.launch})`, { details: { id } });
  }
  return JSON.parse(text) as LaunchRecord;
}

/** The paths of a launched VM, with its sockets where its launch record says they are. */
export function recordedPaths(paths: VmPaths, record: LaunchRecord): VmPaths {
  return { ...paths, qmp: record.sockets.qmp, consoleSocket: record.sockets.console };
}
