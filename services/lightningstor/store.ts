/**
 * `ObjectStore`: where lightningstor keeps object metadata, the listing index, multipart uploads
 * and their parts. Every method that changes state is durable when it returns (a synced write),
 * and the ones that touch several records do so atomically. Keys sort as their UTF-8 bytes, the
 * order S3 lists in. `bucket` arguments are bucket ids (`Bucket.id`), not names. The implementation is `RocksObjectStore` (store-rocks.ts).
 */
import type { ObjectMeta, Part, Upload } from "./types.ts";

/** A page of a bucket's keys in order, from `after` (exclusive) or `from` (inclusive). */
export interface ObjectScan {
  prefix?: string;
  /** Start strictly after this key. */
  after?: string;
  /** Start at this key (inclusive); the later of `after`/`from` wins. */
  from?: string;
  /** Start after every key that begins with this string (skips a listed common prefix). */
  pastPrefix?: string;
  /** Include current delete markers (ListObjectVersions); listings skip them. */
  markers?: boolean;
}

/** One atomic change to a key's versions (see `applyVersions`). */
export interface VersionChange {
  /** The new current version; `null` removes the current one; absent keeps it. */
  current?: ObjectMeta | null;
  /** Noncurrent versions to store (each has a `seq`). */
  putVersions?: ObjectMeta[];
  /** Noncurrent versions to remove, by `seq`. */
  deleteVersions?: number[];
  /** A multipart upload this change completes: removed with its parts in the same write. */
  completes?: string;
}

/** See the module comment. */
export interface ObjectStore {
  /** The key's current version (a delete marker too). */
  getObject(bucket: string, key: string): ObjectMeta | undefined;
  /** The bucket's objects in key order (lazily). */
  scanObjects(bucket: string, scan: ObjectScan): Generator<ObjectMeta>;
  /** Whether the bucket holds any object or upload. */
  isEmpty(bucket: string): boolean;

  putUpload(upload: Upload): void;
  getUpload(bucket: string, uploadId: string): Upload | undefined;
  /** The bucket's uploads ordered by key, then initiation. */
  listUploads(bucket: string): Upload[];
  /** Stores a part; returns the part it replaced. */
  putPart(uploadId: string, part: Part): Part | undefined;
  listParts(uploadId: string): Part[];
  /** Removes an upload and its parts; returns the parts. */
  deleteUpload(bucket: string, uploadId: string): Part[];
  /** Applies a change to one key's current and noncurrent versions atomically (one synced write). */
  applyVersions(bucket: string, key: string, change: VersionChange): void;
  /** Stores many current objects of one bucket in one synced batch (bulk loads; no versioning, no blob cleanup). */
  importObjects(bucket: string, metas: ObjectMeta[]): void;
  /** A key's noncurrent versions, newest first. */
  listVersions(bucket: string, key: string): ObjectMeta[];
  /** One noncurrent version by its `seq`. */
  getVersion(bucket: string, key: string, seq: number): ObjectMeta | undefined;
  /** A bucket setting (versioning, tagging, cors, lifecycle, policy) as stored text. */
  getConfig(bucket: string, name: string): string | undefined;
  /** Stores (or with `undefined` removes) a bucket setting. */
  setConfig(bucket: string, name: string, value: string | undefined): void;

  /** Objects and versions still made of several files (a join interrupted by a restart). */
  multiFileObjects(): { bucket: string; meta: ObjectMeta }[];
  /** Every blob file a record names (objects and parts), for the start-up scrub. */
  referencedFiles(): Set<string>;
  close(): void;
}
