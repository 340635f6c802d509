/**
 * Test support: the `photon` CLI run as a child process, the way an operator runs it. One runner
 * per test file, bound to its working directory and environment.
 */
import { join } from "node:path";

/** Path of the CLI's entry point. */
export const PHOTON = join(import.meta.dir, "..", "..", "cli", "photon.ts");

/** What one run printed and its exit code. */
export interface PhotonRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** A function running `photon ARGS...` (with optional stdin) in `cwd` with `env`. */
export function photonRunner(cwd: string, env: Record<string, string | undefined>): (args: string[], stdin?: string) => Promise<PhotonRun> {
  return async (args, stdin) => {
    const p = Bun.spawn([process.execPath, PHOTON, ...args], {
      cwd,
      env,
      stdout: "pipe",
      stderr: "pipe",
      stdin: stdin === undefined ? "ignore" : new TextEncoder().encode(stdin),
    });
    // stdout/stderr are "pipe"; the conditional stdin widens Bun's inferred stream types.
    const [stdout, stderr, code] = await Promise.all([
      new Response(p.stdout as ReadableStream).text(),
      new Response(p.stderr as ReadableStream).text(),
      p.exited,
    ]);
    return { code, stdout, stderr };
  };
}

/**
 * A function running `photon ARGS... -o json EXTRA...` and parsing its output; a non-zero exit
 * throws with the command and its stderr. `extra` is read at each call (e.g. the current project).
 */
export function photonJson(run: (args: string[]) => Promise<PhotonRun>, extra: () => string[] = () => []): (args: string[]) => Promise<any> {
  return async (args) => {
    const r = await run([...args, "-o", "json", ...extra()]);
    if (r.code !== 0) throw new Error(`photon ${args.join(" ")}: ${r.stderr}`);
    return JSON.parse(r.stdout);
  };
}
