/**
 * `HostVolumes`: the chainfire agent's volume work on its host, run inside the agent's serialized
 * rounds. At the start of a round (`prepare`) it makes the files of new volumes (empty, or a
 * flattened copy of an image or a snapshot), takes and deletes snapshots as the volume documents
 * ask, and removes the files of volumes no document names any more. Whether a volume is in a
 * running QEMU — and so must be changed over QMP rather than with qemu-img — comes from what the
 * previous round observed of each VM's disks (read back from QEMU, never assumed); until one full
 * round has run (an agent that just started has not adopted its VMs yet), nothing but new volumes
 * is touched. At the end of a round (`report`) it writes each volume's `volstatus/<id>`: files
 * ready (or the error), the VM that really has it now, the snapshots made.
 */
import type { Logger } from "../../../lib/log.ts";
import type { DiskSpec, VmInstance } from "../hypervisor/hypervisor.ts";
import type { EtcdPlasmavmcStore } from "../store-etcd.ts";
import { keys } from "../store.ts";
import type { SnapshotRecord, VmRecord, VolumeRecord, VolumeStatusRecord } from "../types.ts";
import type { ObservedVm } from "./host-agent.ts";
import type { VolumeFiles, VolumeSource } from "./volume-files.ts";

/** Options of {@link HostVolumes}. */
export interface HostVolumesOptions {
  store: EtcdPlasmavmcStore;
  host: string;
  files: VolumeFiles;
  imageDir: string;
  /** The running VM held by the agent (for QMP operations). */
  instance: (vm: string) => VmInstance | undefined;
  logger: Logger;
}

const LIVE = new Set(["running", "paused", "crashed"]);

/** The volume side of one host's agent (see the file comment). */
export class HostVolumes {
  private readonly o: HostVolumesOptions;
  private mine = new Map<string, VolumeRecord>();
  private readonly failed = new Map<string, string>();
  private readonly opErrors = new Map<string, string>();
  private readonly reported = new Map<string, string>();
  /** VM → the hot-pluggable disks its QEMU had when last observed running. */
  private readonly disks = new Map<string, string[]>();
  private settled = false;

  constructor(o: HostVolumesOptions) {
    this.o = o;
  }

  /** The running VM that has volume `id` now (from the last observations), if any. */
  private holder(id: string): string | undefined {
    for (const [vm, d] of this.disks) if (d.includes(id)) return vm;
    return undefined;
  }

  /**
   * Converges this host's volume files to the documents (see the file comment). Errors of one
   * volume are recorded for its status and never stop the others.
   */
  async prepare(): Promise<void> {
    const { o } = this;
    const all = (await o.store.list<VolumeRecord>(keys.kind("volumes"))).map((d) => d.value);
    const snaps = new Map((await o.store.list<SnapshotRecord>(keys.kind("snapshots"))).map((d) => [d.value.id, d.value]));
    this.mine = new Map(all.filter((v) => v.host === o.host).map((v) => [v.id, v]));
    for (const v of this.mine.values()) {
      if (this.failed.has(v.id) || o.files.chain(v.id)) continue;
      try {
        o.files.create(v.id, v.sizeGiB, this.sourceOf(v, snaps));
        o.logger.info("volume created", { volume: v.id, sizeGiB: v.sizeGiB });
      } catch (e) {
        this.failed.set(v.id, (e as Error).message);
        o.logger.error("volume creation failed", { volume: v.id, error: (e as Error).message });
      }
    }
    if (!this.settled) return;
    for (const id of o.files.list()) {
      if (this.mine.has(id) || this.holder(id)) continue;
      o.files.remove(id);
      this.failed.delete(id);
      o.logger.info("volume files removed", { volume: id });
    }
    for (const v of this.mine.values()) {
      const chain = o.files.chain(v.id);
      if (!chain) continue;
      const want = v.snapshots ?? [];
      const drop = Object.keys(chain.snapshots).filter((s) => !want.includes(s));
      const take = want.filter((s) => !chain.snapshots[s]);
      if (!drop.length && !take.length) continue;
      const vm = this.holder(v.id);
      const inst = vm ? o.instance(vm) : undefined;
      try {
        if (vm && !inst) throw new Error(`vm ${vm} has the volume but is not held by this agent yet`);
        for (const s of take) await o.files.snapshot(v.id, s, inst);
        for (const s of drop) await o.files.deleteSnapshot(v.id, s, inst);
        this.opErrors.delete(v.id);
      } catch (e) {
        this.opErrors.set(v.id, (e as Error).message);
        o.logger.error("volume snapshot change failed", { volume: v.id, vm, error: (e as Error).message });
      }
    }
  }

  private sourceOf(v: VolumeRecord, snaps: Map<string, SnapshotRecord>): VolumeSource {
    const { o } = this;
    if (v.source?.imageFile) return { kind: "image", path: `${o.imageDir}/${v.source.imageFile}`, format: v.source.imageFormat ?? "raw" };
    if (v.source?.snapshot) {
      const s = snaps.get(v.source.snapshot);
      const path = s ? o.files.snapshotPath(s.volume, s.id) : undefined;
      if (!path) throw new Error(`snapshot ${v.source.snapshot} has no file on host ${o.host}`);
      return { kind: "snapshot", path, format: "qcow2" };
    }
    return { kind: "empty" };
  }

  /** The volumes of VM `r` a launch or a hotplug gives it: those attached to it whose files exist, in attach order. */
  disksOf(r: VmRecord): DiskSpec[] {
    const out: DiskSpec[] = [];
    for (const id of r.volumes ?? []) {
      const v = this.mine.get(id);
      const path = v?.vm === r.id ? this.o.files.topPath(id) : undefined;
      if (path) out.push({ id, path, format: "qcow2" });
    }
    return out;
  }

  /** Records what the round observed of the VMs and writes every changed volume status. */
  async report(observed: ObservedVm[]): Promise<void> {
    const { o } = this;
    const states = new Map(observed.map((x) => [x.id, x]));
    for (const x of observed) {
      if (!LIVE.has(x.state)) this.disks.delete(x.id);
      else if (x.disks) this.disks.set(x.id, x.disks);
    }
    for (const vm of [...this.disks.keys()]) if (!states.has(vm)) this.disks.delete(vm);
    this.settled = true;
    for (const v of this.mine.values()) {
      const chain = o.files.chain(v.id);
      const failure = this.failed.get(v.id);
      if (!chain && !failure) continue;
      const live = this.holder(v.id);
      const cold = v.vm && !LIVE.has(states.get(v.vm)?.state ?? "absent") ? v.vm : undefined;
      const attachedTo = live ?? cold;
      const reason = failure ?? this.opErrors.get(v.id) ?? (v.vm && !attachedTo ? states.get(v.vm)?.reason : undefined) ?? (!v.vm && live ? states.get(live)?.reason : undefined);
      const st: Omit<VolumeStatusRecord, "updatedAt"> = {
        host: o.host, state: chain ? "ready" : "error", snapshots: chain ? Object.keys(chain.snapshots).sort() : [],
        ...(attachedTo ? { attachedTo } : {}), ...(reason ? { reason } : {}),
      };
      const text = JSON.stringify(st);
      if (this.reported.get(v.id) === text) continue;
      await o.store.transact(async (tx) => {
        const doc = await tx.get<VolumeRecord>(keys.doc("volumes", v.id));
        if (!doc || doc.host !== o.host) return;
        tx.put(keys.volumeStatus(v.id), { ...st, updatedAt: new Date().toISOString() });
      });
      this.reported.set(v.id, text);
    }
    for (const id of [...this.reported.keys()]) if (!this.mine.has(id)) this.reported.delete(id);
  }
}
