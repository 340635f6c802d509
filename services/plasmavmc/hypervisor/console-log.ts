/**
 * Reading a VM's serial console log (the file QEMU appends everything the guest prints to): the
 * API's "console output", boot detection by marker, and the benchmark's "guest ready" clock.
 */
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { PlasmavmcErrors } from "../errors.ts";

/** Size of the log in bytes (0 when it does not exist yet): an offset to read "from now on". */
export function consoleSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** Reads the log from byte `from` (default 0), at most `maxBytes` (default 1 MiB); "" when absent. */
export function readConsole(path: string, from = 0, maxBytes = 1 << 20): string {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return "";
  }
  try {
    const size = statSync(path).size;
    const len = Math.max(0, Math.min(maxBytes, size - from));
    const buf = Buffer.alloc(len);
    const n = len > 0 ? readSync(fd, buf, 0, len, from) : 0;
    return buf.subarray(0, n).toString("utf8");
  } finally {
    closeSync(fd);
  }
}

/**
 * Waits until the log, read from byte `from`, contains `text`; resolves with the full line holding it.
 * @throws PLASMAVMC:BootTimeout naming the text and the last console line seen.
 */
export async function waitForConsole(path: string, text: string, timeoutMs: number, from = 0): Promise<string> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const out = readConsole(path, from);
    const at = out.indexOf(text);
    if (at >= 0) {
      const start = out.lastIndexOf("\n", at) + 1;
      const stop = out.indexOf("\n", at);
      return out.slice(start, stop < 0 ? undefined : stop).trim();
    }
    if (Date.now() >= end) {
      const last = out.trim().split("\n").slice(-1)[0] ?? "";
      throw PlasmavmcErrors.BootTimeout(`"${text}" did not appear on the console within ${timeoutMs} ms (last line: ${JSON.stringify(last)})`, {
        details: { text, lastLine: last },
      });
    }
    await Bun.sleep(25);
  }
}
