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
}

/** See the module comment. */
export interface ObjectStore {
  getObject(bucket: string, key: string): ObjectMeta | undefined;
  /** Stores `meta`; returns what it replaced. */
  putObject(bucket: string, meta: ObjectMeta): ObjectMeta | undefined;
  /** Removes a key; returns what it held. */
  deleteObject(bucket: string, key: string): ObjectMeta | undefined;
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
  /** Atomically stores the completed object and removes the upload; returns the replaced object. */
  completeUpload(bucket: string, uploadId: string, meta: ObjectMeta): ObjectMeta | undefined;
  /** Every blob file a record names (objects and parts), for the start-up scrub. */
  referencedFiles(): Set<string>;
  close(): void;
}
