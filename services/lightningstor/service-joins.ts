/**
 * `PartJoins`: after CompleteMultipartUpload (O(1): the parts' files became the object's), joins
 * an object's files into one, one object at a time, off the client's path, and swaps the joined
 * file in only if the record still names the same files (ADR 0018). Bun.serve sends a
 * Content-Length only for one file-backed body, hence the join (ADR 0013).
 */
import type { Logger } from "../../lib/log.ts";
import type { BlobStore } from "./blobs.ts";
import { versionIdOf, type ObjectVersions } from "./service-versions.ts";
import type { ObjectMeta } from "./types.ts";

const idOf = (bucketId: string, meta: ObjectMeta) => `${bucketId}\u0000${meta.key}\u0000${meta.seq}`;

/** See the module comment. */
export class PartJoins {
  private readonly pending = new Map<string, Promise<void>>();
  private queue: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly versions: ObjectVersions,
    private readonly blobs: BlobStore,
    private readonly logger: Logger,
  ) {}

  /** Queues the join of a multi-file object (a version of a key in bucket `bucketId`). */
  schedule(bucketId: string, meta: ObjectMeta): void {
    const id = idOf(bucketId, meta);
    const job = this.queue
      .then(() => this.join(bucketId, meta))
      .catch((e) => this.logger.warn("joining an object's parts was abandoned (the object changed or its files went)", { key: meta.key, error: e }))
      .finally(() => this.pending.delete(id));
    this.queue = job;
    this.pending.set(id, job);
  }

  private async join(bucketId: string, meta: ObjectMeta): Promise<void> {
    if (this.stopped) return; // picked up again at the next start
    const blobs = this.blobs;
    const segs = meta.segments;
    const current = () => {
      const f = this.versions.find({ id: bucketId }, meta.key, versionIdOf(meta));
      return f && f.meta.seq === meta.seq && f.meta.segments.length === segs.length && f.meta.segments.every((s, i) => s.file === segs[i]!.file) ? f : undefined;
    };
    if (!current()) return;
    async function* joined() {
      for (const s of segs) yield* blobs.read([s], 0, s.size);
    }
    const whole = await blobs.write(joined());
    if (this.stopped) return blobs.removeNow([whole]);
    const f = current(); // checked again with the record, no await in between
    if (!f) return blobs.remove([whole]);
    f.meta.segments = [whole];
    this.versions.update({ id: bucketId }, f);
    blobs.remove(segs);
  }

  /** The pending join of this object, if any. */
  of(bucketId: string, meta: ObjectMeta): Promise<void> | undefined {
    return meta.segments.length > 1 ? this.pending.get(idOf(bucketId, meta)) : undefined;
  }

  /** Resolves once every join queued so far is done. */
  async settled(): Promise<void> {
    await this.queue;
  }

  /** Skips the joins not started yet and waits for the one running (before the store closes). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.queue;
  }
}
