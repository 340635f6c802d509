/**
 * `ObjectVersions`: S3 versioning over the ObjectStore (ADR 0018). The current version of a key
 * (a delete marker too) is its `objects` record; older ones are noncurrent records, newest first.
 * Every write gets a `seq` (µs clock, strictly increasing); a version id is that seq in 16 hex
 * digits, or absent for the `null` version.
 */
import type { BlobStore } from "./blobs.ts";
import { S3Errors } from "./errors.ts";
import { checkKey } from "./names.ts";
import type { ObjectScan, ObjectStore } from "./store.ts";
import type { Bucket, ObjectMeta } from "./types.ts";

/** A bucket's versioning state: never enabled (""), Enabled, or Suspended. */
export type VersioningState = "" | "Enabled" | "Suspended";

/** The id S3 shows for a version (`null` for the null version). */
export const versionIdOf = (m: ObjectMeta): string => m.versionId ?? "null";

/** The version-id → seq mapping. @throws S3:InvalidArgument. */
function seqOfVersionId(v: string): number {
  if (!/^[0-9a-f]{16}$/.test(v)) throw S3Errors.InvalidArgument("invalid version id specified", { details: { argumentName: "versionId", argumentValue: v } });
  return parseInt(v, 16);
}

/** What a DELETE did. */
export interface DeleteResult {
  versionId?: string;
  deleteMarker: boolean;
}

/** A version found: its record and whether it is the current one. */
export interface FoundVersion {
  meta: ObjectMeta;
  current: boolean;
}

/** See the module comment. */
export class ObjectVersions {
  private lastSeq = 0;
  constructor(
    private readonly store: ObjectStore,
    private readonly blobs: BlobStore,
    private readonly now: () => number,
  ) {}

  private nextSeq(): number {
    this.lastSeq = Math.max(this.lastSeq + 1, this.now() * 1000);
    return this.lastSeq;
  }

  /** The bucket's versioning state. */
  state(bucket: Pick<Bucket, "id">): VersioningState {
    return (this.store.getConfig(bucket.id, "versioning") ?? "") as VersioningState;
  }

  /** Enables or suspends versioning (a bucket never returns to unversioned). */
  setState(bucket: Pick<Bucket, "id">, status: "Enabled" | "Suspended"): void {
    this.store.setConfig(bucket.id, "versioning", status);
  }

  /**
   * Makes `meta` the key's current version under the bucket's versioning state, atomically (with
   * the removal of the upload it `completes`): unversioned, it replaces the current object;
   * Enabled, the current one becomes noncurrent; Suspended, `meta` is the null version and
   * replaces any other null version.
   */
  place(bucket: Pick<Bucket, "id">, meta: ObjectMeta, completes?: string): ObjectMeta {
    const state = this.state(bucket);
    const cur = this.store.getObject(bucket.id, meta.key);
    meta.seq = this.nextSeq();
    delete meta.versionId;
    delete meta.noncurrentSince;
    if (state === "Enabled") meta.versionId = meta.seq.toString(16).padStart(16, "0");
    const gone: ObjectMeta[] = [];
    const putVersions: ObjectMeta[] = [];
    const deleteVersions: number[] = [];
    if (cur) {
      if (state === "" || (state === "Suspended" && cur.versionId === undefined)) gone.push(cur);
      else putVersions.push({ ...cur, seq: cur.seq ?? cur.lastModified * 1000, noncurrentSince: this.now() });
    }
    if (state === "Suspended") {
      for (const v of this.store.listVersions(bucket.id, meta.key)) {
        if (v.versionId === undefined) {
          gone.push(v);
          deleteVersions.push(v.seq!);
        }
      }
    }
    this.store.applyVersions(bucket.id, meta.key, { current: meta, putVersions, deleteVersions, ...(completes !== undefined ? { completes } : {}) });
    for (const g of gone) this.blobs.remove(g.segments);
    return meta;
  }

  /** A version of a key: the current one, or the one `versionId` names (`null` too); undefined if none. */
  find(bucket: Pick<Bucket, "id">, key: string, versionId?: string): FoundVersion | undefined {
    const cur = this.store.getObject(bucket.id, checkKey(key));
    if (versionId === undefined) return cur ? { meta: cur, current: true } : undefined;
    if (cur && versionIdOf(cur) === versionId) return { meta: cur, current: true };
    if (versionId === "null") {
      const v = this.store.listVersions(bucket.id, key).find((x) => x.versionId === undefined);
      return v ? { meta: v, current: false } : undefined;
    }
    const v = this.store.getVersion(bucket.id, key, seqOfVersionId(versionId));
    return v && v.versionId === versionId ? { meta: v, current: false } : undefined;
  }

  /** Rewrites a version's metadata in place (tags, joined files), current or noncurrent. */
  update(bucket: Pick<Bucket, "id">, found: FoundVersion): void {
    if (found.current) this.store.applyVersions(bucket.id, found.meta.key, { current: found.meta });
    else this.store.applyVersions(bucket.id, found.meta.key, { putVersions: [found.meta] });
  }

  /** The current versions (delete markers included) with their noncurrent ones, in key order. */
  *scan(bucket: Pick<Bucket, "id">, scan: ObjectScan): Generator<ObjectMeta[]> {
    const versioned = this.state(bucket) !== "";
    for (const cur of this.store.scanObjects(bucket.id, { ...scan, markers: true })) yield versioned ? [cur, ...this.store.listVersions(bucket.id, cur.key)] : [cur];
  }

  /**
   * Deletes a key (absent keys succeed, as in S3). Without `versionId` on a versioned bucket it
   * adds a delete marker owned by `principal` (the null version when suspended); with one it
   * removes that version for good, and the newest noncurrent version becomes current when it was
   * the current one.
   */
  delete(principal: string, bucket: Pick<Bucket, "id">, key: string, versionId?: string): DeleteResult {
    checkKey(key);
    if (versionId === undefined && this.state(bucket) !== "") {
      const marker = this.place(bucket, { key, size: 0, etag: "", lastModified: this.now(), headers: {}, userMeta: {}, segments: [], owner: principal, deleteMarker: true });
      return { versionId: versionIdOf(marker), deleteMarker: true };
    }
    const f = this.find(bucket, key, versionId);
    if (!f) return { ...(versionId !== undefined ? { versionId } : {}), deleteMarker: false };
    if (f.current) {
      const next = this.store.listVersions(bucket.id, key)[0];
      if (next) {
        const promoted = { ...next };
        delete promoted.noncurrentSince;
        this.store.applyVersions(bucket.id, key, { current: promoted, deleteVersions: [next.seq!] });
      } else this.store.applyVersions(bucket.id, key, { current: null });
    } else this.store.applyVersions(bucket.id, key, { deleteVersions: [f.meta.seq!] });
    this.blobs.remove(f.meta.segments);
    return { ...(versionId !== undefined ? { versionId } : {}), deleteMarker: f.meta.deleteMarker === true };
  }
}
