/**
 * The host agent's desired state, read from a local directory: one `<id>.json` per VM,
 * `{"state": "running" | "paused" | "stopped", "spec": VmSpec, "stopDeadlineMs"?: number}`.
 * It stands in for the control plane until the agent watches its keys in chainfire; the shape is
 * what the scheduler will write there. A bad file is reported and skipped, never fatal to the others.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { PhotonError } from "../../../lib/errors.ts";
import { PlasmavmcErrors } from "../errors.ts";
import type { VmSpec } from "../hypervisor/hypervisor.ts";
import { parseVmSpec } from "../hypervisor/vm-spec.ts";

/** What the agent should make true for one VM. */
export interface DesiredVm {
  state: "running" | "paused" | "stopped";
  spec: VmSpec;
  /** Grace given to the guest when it is stopped (default 10000 ms). */
  stopDeadlineMs?: number;
  /** Reboot requests so far: the agent resets a running VM when this exceeds what it applied. */
  rebootSeq?: number;
  /** The request last applied by an earlier agent (from its report), so a restart does not reboot again. */
  appliedRebootSeq?: number;
}

/** The result of reading the directory: what is valid, and why the rest is not. */
export interface DesiredState {
  vms: Map<string, DesiredVm>;
  errors: { file: string; error: PhotonError }[];
}

const envelope = z
  .object({
    state: z.enum(["running", "paused", "stopped"]),
    spec: z.unknown(),
    stopDeadlineMs: z.number().int().min(0).max(600_000).optional(),
  })
  .strict();

/**
 * Reads every `*.json` of `dir`. The file name must be the spec's id.
 * @throws when the directory itself cannot be read (the caller then skips the round rather than
 *   mistaking "unreadable" for "nothing desired" and deleting every VM).
 */
export function readDesiredState(dir: string): DesiredState {
  const vms = new Map<string, DesiredVm>();
  const errors: DesiredState["errors"] = [];
  for (const name of readdirSync(dir).sort()) {
    if (!name.endsWith(".json")) continue;
    const file = join(dir, name);
    try {
      let raw: unknown;
      try {
        raw = JSON.parse(readFileSync(file, "utf8"));
      } catch (e) {
        throw PlasmavmcErrors.InvalidSpec(`${name}: not JSON (${(e as Error).message})`);
      }
      const r = envelope.safeParse(raw);
      if (!r.success) {
        const issue = r.error.issues[0];
        throw PlasmavmcErrors.InvalidSpec(`${name}: ${issue?.path.join(".") || "file"}: ${issue?.message ?? "invalid"}`);
      }
      const spec = parseVmSpec(r.data.spec);
      if (`${spec.id}.json` !== name) throw PlasmavmcErrors.InvalidSpec(`${name}: spec.id is ${spec.id}; the file must be named ${spec.id}.json`);
      vms.set(spec.id, { state: r.data.state, spec, ...(r.data.stopDeadlineMs !== undefined ? { stopDeadlineMs: r.data.stopDeadlineMs } : {}) });
    } catch (e) {
      errors.push({ file, error: e instanceof PhotonError ? e : PlasmavmcErrors.InvalidSpec(`${name}: ${(e as Error).message}`) });
    }
  }
  return { vms, errors };
}
