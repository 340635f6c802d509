/** Output and error reporting shared by the `photon` commands. */
import { PhotonError } from "../lib/errors.ts";

/** Where a command writes; tests replace it. */
export interface CommandIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** The process's stdout/stderr. */
export const processIo: CommandIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/** Exit code for bad input (flags, config, data directory). */
export const EXIT_USAGE = 2;

/** Codes whose namespace means "the operator gave us something wrong": exit 2. */
const usageNamespaces = ["CONFIG:", "DATA:", "CLI:"];

/**
 * Reports `e` as one line on stderr and returns the exit code: 2 for bad input (CONFIG:*,
 * DATA:*, CLI:*), 1 for anything else.
 */
export function reportError(io: CommandIo, e: unknown): number {
  const message = e instanceof Error ? e.message : String(e);
  const code = e instanceof PhotonError ? e.code : undefined;
  io.stderr(`photon: ${message.split("\n").join("; ")}${code ? ` [${code}]` : ""}\n`);
  return code && usageNamespaces.some((n) => code.startsWith(n)) ? EXIT_USAGE : 1;
}

/** A bad command line. */
export function usageError(message: string): PhotonError {
  return new PhotonError("CLI:Usage", message, { grpc: 3 });
}
