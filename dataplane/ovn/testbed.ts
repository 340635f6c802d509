/**
 * Test support: an OVN "central" in a temporary directory — northbound and southbound
 * ovsdb-servers and ovn-northd, all userspace, absolute unix sockets, stopped by PID. Never used
 * by production code.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findBinary, ovsdbUnavailable, startOvsdbServer, type OvsdbServerProcess } from "../../lib/ovsdb/test-server.ts";

/** Schema files of Debian's ovn-common. */
export const NB_SCHEMA = "/usr/share/ovn/ovn-nb.ovsschema";
export const SB_SCHEMA = "/usr/share/ovn/ovn-sb.ovsschema";

/** Why the OVN tests cannot run here, or undefined. */
export function ovnUnavailable(): string | undefined {
  const o = ovsdbUnavailable();
  if (o) return o;
  if (!findBinary("ovn-northd")) return "ovn-northd not installed (apt-get install ovn-central)";
  for (const s of [NB_SCHEMA, SB_SCHEMA]) if (!existsSync(s)) return `${s} missing (apt-get install ovn-central)`;
  return undefined;
}

/** A running OVN central. */
export interface OvnCentral {
  dir: string;
  nb: OvsdbServerProcess;
  sb: OvsdbServerProcess;
  northdPid: number;
  /** Stops the northbound server (SIGTERM) and starts it again on the same database file. */
  restartNb(): Promise<void>;
  /** Stops northd and both databases (by PID) and removes the directory. */
  stop(): Promise<void>;
}

/** Starts NB + SB ovsdb-servers and ovn-northd in a new temporary directory. */
export async function startOvnCentral(): Promise<OvnCentral> {
  const dir = mkdtempSync(join(tmpdir(), "photon-ovn-"));
  const nb = await startOvsdbServer({ schemas: [NB_SCHEMA], dir, name: "nb" });
  const sb = await startOvsdbServer({ schemas: [SB_SCHEMA], dir, name: "sb" });
  const northd = Bun.spawn(
    [
      findBinary("ovn-northd")!,
      `--ovnnb-db=${nb.remote}`,
      `--ovnsb-db=${sb.remote}`,
      `--unixctl=${join(dir, "northd.ctl")}`,
      `--log-file=${join(dir, "northd.log")}`,
      "-vconsole:off",
    ],
    { stdout: "ignore", stderr: "ignore", env: { ...process.env, OVN_RUNDIR: dir, OVS_RUNDIR: dir, OVN_LOGDIR: dir, OVS_LOGDIR: dir } },
  );
  const central: OvnCentral = {
    dir,
    nb,
    sb,
    northdPid: northd.pid,
    async restartNb() {
      await central.nb.stop(true);
      central.nb = await startOvsdbServer({ schemas: [NB_SCHEMA], dir, name: "nb", reuse: true });
    },
    async stop() {
      if (northd.exitCode === null) {
        process.kill(northd.pid, "SIGTERM");
        await northd.exited;
      }
      await central.nb.stop(true);
      await central.sb.stop(true);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return central;
}
