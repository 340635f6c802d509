/**
 * Host processes of detached VMMs: they are not the agent's children (they survive it), so they are
 * watched through /proc. A zombie counts as exited. Adoption checks the process's command line
 * names the VM's own socket, so a recycled PID is never mistaken for the VM.
 */
import { readFileSync } from "node:fs";

/** Reads a pidfile; undefined when missing or not a number. */
export function readPidfile(file: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(file, "utf8").trim(), 10);
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** True while `pid` exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** The NUL-separated command line of `pid` as an array; empty when the process is gone. */
export function cmdlineOf(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter((s) => s.length > 0);
  } catch {
    return [];
  }
}

/** True when `pid` is alive and its command line contains `needle` (e.g. the VM's QMP socket path). */
export function isProcessOf(pid: number, needle: string): boolean {
  return isAlive(pid) && cmdlineOf(pid).some((a) => a.includes(needle));
}

/** Polls until `pid` has exited; resolves false if it is still alive after `timeoutMs`. */
export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() >= end) return false;
    await Bun.sleep(20);
  }
  return true;
}

/** Sends `signal`, ignoring a process that is already gone. */
export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* already exited */
  }
}
