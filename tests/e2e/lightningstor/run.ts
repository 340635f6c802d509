/** Runs a real S3 client as a child process with a clean environment (no user config). */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** What a finished command printed. */
export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** A scratch HOME so no client reads the user's configuration. */
export const scratchHome = (): string => mkdtempSync(join(tmpdir(), "s3-client-home-"));

/** A minimal environment: PATH, HOME and `extra` (never the parent's AWS_* variables). */
export function cleanEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: "/usr/bin:/bin", HOME: home, LANG: "C.UTF-8", ...extra };
}

/** Runs `cmd` to completion (60 s at most). */
export async function run(cmd: string[], env: Record<string, string>, input?: string): Promise<Ran> {
  const p = Bun.spawn(cmd, { env, stdin: input === undefined ? "ignore" : new Blob([input]), stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => p.kill(9), 60_000);
  const [stdout, stderr] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
  const code = await p.exited;
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** Runs and throws with the output when the exit code is not 0. */
export async function ok(cmd: string[], env: Record<string, string>, input?: string): Promise<string> {
  const r = await run(cmd, env, input);
  if (r.code !== 0) throw new Error(`${cmd.join(" ")} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}
