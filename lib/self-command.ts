/**
 * How a PhotonCloud process starts another `photon` command (a helper it runs in a network
 * namespace, say): in a checkout that is Bun running cli/photon.ts; inside the executable
 * `bun build --compile` made, the executable itself (its sources live under `/$bunfs/`).
 */
import { join } from "node:path";

/** Whether this process is the compiled `photon` executable. */
export function isCompiledPhoton(): boolean {
  return import.meta.dir.startsWith("/$bunfs") || import.meta.dir.startsWith("B:/~BUN");
}

/** The argv prefix that runs `photon` (append the command and its flags). */
export function photonCommand(): string[] {
  return isCompiledPhoton() ? [process.execPath] : [process.execPath, join(import.meta.dir, "..", "cli", "photon.ts")];
}
