/**
 * A host's volume files: one directory per volume (`<dir>/<volume id>/`) holding its qcow2 chain
 * and `chain.json` — the files from the bottom (oldest snapshot) to the top (the file the VM
 * writes) and which file each snapshot is. Taking a snapshot adds a new top backed by the old one
 * (which becomes the snapshot, never written again); deleting one merges its file into the file
 * above it and removes it. The new top of snapshot S is always named `top-<S>.qcow2`, so a crash
 * between making it and recording it is repaired on the next read (a `top-<S>` file backed by
 * the recorded top is the real top). Offline operations use qemu-img; while a running VM has the
 * volume, the caller passes its VmInstance and the same steps go through QMP (blockdev-snapshot-
 * sync, block-stream). A new volume is built in a temporary directory and renamed into place, so
 * a volume directory is always complete. docs/adr/0019-plasmavmc-volumes.md.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../hypervisor/run-dir.ts";
import type { VmInstance } from "../hypervisor/hypervisor.ts";

/** `chain.json`: the chain bottom → top, and each snapshot's file. */
export interface VolumeChain {
  files: string[];
  snapshots: Record<string, string>;
}

/** Where a volume's content comes from when it is made. */
export type VolumeSource = { kind: "empty" } | { kind: "image" | "snapshot"; path: string; format: "raw" | "qcow2" };

function qemuImg(args: string[]): void {
  const r = Bun.spawnSync(["qemu-img", ...args], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`qemu-img ${args[0]} failed: ${r.stderr.toString().trim() || `status ${r.exitCode}`}`);
}

function backingOf(path: string): string | undefined {
  const r = Bun.spawnSync(["qemu-img", "info", "-U", "--output=json", path], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) return undefined;
  const info = JSON.parse(r.stdout.toString()) as { "full-backing-filename"?: string; "backing-filename"?: string };
  return info["full-backing-filename"] ?? info["backing-filename"];
}

/** The volume files of one host (see the file comment). */
export class VolumeFiles {
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  /** Ids of the volumes that have files here. */
  list(): string[] {
    return readdirSync(this.dir).filter((n) => n.startsWith("vol-") && existsSync(join(this.dir, n, "chain.json"))).sort();
  }

  /** The volume's chain (repaired after a crash mid-snapshot), or undefined when it has no files. */
  chain(id: string): VolumeChain | undefined {
    const file = join(this.dir, id, "chain.json");
    if (!existsSync(file)) return undefined;
    const c = JSON.parse(readFileSync(file, "utf8")) as VolumeChain;
    for (;;) {
      const top = join(this.dir, id, c.files[c.files.length - 1]!);
      const next = readdirSync(join(this.dir, id)).find((n) => /^top-snap-[0-9a-f]+\.qcow2$/.test(n) && !c.files.includes(n) && backingOf(join(this.dir, id, n)) === top);
      if (!next) break;
      c.snapshots[next.slice("top-".length, -".qcow2".length)] = c.files[c.files.length - 1]!;
      c.files.push(next);
      this.write(id, c);
    }
    return c;
  }

  /** The file a VM opens for the volume (the top of its chain). */
  topPath(id: string): string | undefined {
    const c = this.chain(id);
    return c ? join(this.dir, id, c.files[c.files.length - 1]!) : undefined;
  }

  /** The path of snapshot `snap` of volume `id`, if that snapshot exists here. */
  snapshotPath(id: string, snap: string): string | undefined {
    const f = this.chain(id)?.snapshots[snap];
    return f ? join(this.dir, id, f) : undefined;
  }

  /**
   * Makes volume `id` of `sizeGiB` from `source` (a full, flattened copy of an image or snapshot;
   * never backed by it, so either may be deleted later). Does nothing when it exists.
   * @throws with qemu-img's message (a source larger than `sizeGiB`, a missing file).
   */
  create(id: string, sizeGiB: number, source: VolumeSource): void {
    if (existsSync(join(this.dir, id, "chain.json"))) return;
    const tmp = join(this.dir, `.${id}.tmp`);
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { mode: 0o700 });
    try {
      const base = join(tmp, "base.qcow2");
      if (source.kind === "empty") qemuImg(["create", "-q", "-f", "qcow2", base, `${sizeGiB}G`]);
      else {
        // the format is always named: probing a raw image could read a qcow2 header a tenant wrote into it
        qemuImg(["convert", "-U", "-f", source.format, "-O", "qcow2", source.path, base]);
        qemuImg(["resize", "-q", "-f", "qcow2", base, `${sizeGiB}G`]);
      }
      writeFileAtomic(join(tmp, "chain.json"), JSON.stringify({ files: ["base.qcow2"], snapshots: {} } satisfies VolumeChain));
      renameSync(tmp, join(this.dir, id));
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
  }

  /**
   * Takes snapshot `snap`: the top becomes the snapshot's file and `top-<snap>.qcow2`, backed by
   * it, the new top (through `vm` when a running VM has the volume).
   */
  async snapshot(id: string, snap: string, vm?: VmInstance): Promise<void> {
    const c = this.chain(id);
    if (!c || c.snapshots[snap]) return;
    const top = join(this.dir, id, c.files[c.files.length - 1]!);
    const name = `top-${snap}.qcow2`;
    const next = join(this.dir, id, name);
    rmSync(next, { force: true }); // an unrecorded attempt that failed
    if (vm?.snapshotDisk) await vm.snapshotDisk(top, next);
    else qemuImg(["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", top, next]);
    c.snapshots[snap] = c.files[c.files.length - 1]!;
    c.files.push(name);
    this.write(id, c);
  }

  /**
   * Deletes snapshot `snap`: its file is merged into the file above it (`qemu-img rebase` onto
   * the file below, or block-stream through `vm` while a running VM has the volume) and removed.
   */
  async deleteSnapshot(id: string, snap: string, vm?: VmInstance): Promise<void> {
    const c = this.chain(id);
    const f = c?.snapshots[snap];
    if (!c || !f) return;
    const i = c.files.indexOf(f);
    const path = (n: string) => join(this.dir, id, n);
    const child = path(c.files[i + 1]!);
    const base = i > 0 ? path(c.files[i - 1]!) : undefined;
    if (vm?.streamDisk) await vm.streamDisk(child, base, path(f));
    else qemuImg(["rebase", "-q", "-f", "qcow2", ...(base ? ["-F", "qcow2", "-b", base] : ["-b", ""]), child]);
    // a snapshot file is also the top of no one: whatever names it as `snapshots[x]` is this one
    delete c.snapshots[snap];
    c.files.splice(i, 1);
    this.write(id, c);
    rmSync(path(f), { force: true });
  }

  /** Removes every file of volume `id`. */
  remove(id: string): void {
    rmSync(join(this.dir, id), { recursive: true, force: true });
  }

  private write(id: string, c: VolumeChain): void {
    writeFileAtomic(join(this.dir, id, "chain.json"), JSON.stringify(c));
  }
}
