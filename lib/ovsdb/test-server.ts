/**
 * Test support: starts a real `ovsdb-server` (userspace, no systemd) on fresh databases in a
 * temporary directory, listening on an absolute unix socket, and stops it by PID. Used by the
 * OVSDB client's tests and the OVN driver's; never by production code.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A running ovsdb-server. */
export interface OvsdbServerProcess {
  /** `unix:/abs/path.sock` */
  remote: string;
  /** The socket path. */
  socket: string;
  pid: number;
  dir: string;
  /** Kills the server (SIGTERM, then SIGKILL) and, unless `keepDir`, removes its directory. */
  stop(keepDir?: boolean): Promise<void>;
}

/** Options of {@link startOvsdbServer}. */
export interface StartOvsdbServerOptions {
  /** Schemas to create databases from (one database each). */
  schemas: string[];
  /** Directory to use (created by mkdtemp when absent). */
  dir?: string;
  /** File name stem of socket/log/pid (default `db`). */
  name?: string;
  /** Reuse existing database files in `dir` instead of creating them (restart tests). */
  reuse?: boolean;
}

/** The first of `names` found on PATH (or in sbin dirs), or undefined. */
export function findBinary(name: string): string | undefined {
  const found = Bun.which(name, { PATH: `${process.env.PATH ?? ""}:/usr/sbin:/sbin:/usr/bin` });
  return found ?? undefined;
}

/** Why OVSDB tests cannot run here, or undefined when they can. */
export function ovsdbUnavailable(): string | undefined {
  for (const b of ["ovsdb-server", "ovsdb-tool"]) if (!findBinary(b)) return `${b} not installed (apt-get install openvswitch-switch)`;
  return undefined;
}

/** Starts ovsdb-server on new databases created from `schemas`; resolves when it accepts connections. */
export async function startOvsdbServer(opts: StartOvsdbServerOptions): Promise<OvsdbServerProcess> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), "photon-ovsdb-"));
  const name = opts.name ?? "db";
  const dbs: string[] = [];
  for (const [i, schema] of opts.schemas.entries()) {
    const db = join(dir, `${name}-${i}.db`);
    if (!opts.reuse || !existsSync(db)) {
      rmSync(db, { force: true });
      const p = Bun.spawnSync([findBinary("ovsdb-tool")!, "create", db, schema], { stderr: "pipe" });
      if (p.exitCode !== 0) throw new Error(`ovsdb-tool create ${schema}: ${p.stderr.toString()}`);
    }
    dbs.push(db);
  }
  const socket = join(dir, `${name}.sock`);
  rmSync(socket, { force: true });
  const proc = Bun.spawn(
    [
      findBinary("ovsdb-server")!,
      `--remote=punix:${socket}`,
      `--unixctl=${join(dir, `${name}.ctl`)}`,
      `--log-file=${join(dir, `${name}.log`)}`,
      "-vconsole:off",
      ...dbs,
    ],
    { stdout: "ignore", stderr: "pipe" },
  );
  const deadline = Date.now() + 10_000;
  while (!existsSync(socket)) {
    if (proc.exitCode !== null) throw new Error(`ovsdb-server exited: ${await new Response(proc.stderr).text()}`);
    if (Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error("ovsdb-server did not create its socket in 10 s");
    }
    await Bun.sleep(10);
  }
  return {
    remote: `unix:${socket}`,
    socket,
    pid: proc.pid,
    dir,
    async stop(keepDir = false) {
      if (proc.exitCode === null) {
        process.kill(proc.pid, "SIGTERM");
        const t = setTimeout(() => proc.exitCode === null && process.kill(proc.pid, "SIGKILL"), 2000);
        await proc.exited;
        clearTimeout(t);
      }
      if (!keepDir && !opts.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
