/** lightningstor's records, shared by the server, the stores and the client. */
import type { ChecksumAlgorithm } from "./checksum.ts";

/** A bucket: a global name owned by one project (kept in chainfire). */
export interface Bucket {
  /** Unique per creation: objects are filed under it (store keys), never under the name. */
  id: string;
  name: string;
  org: string;
  project: string;
  /** The principal that created it. */
  owner: string;
  createdAt: number;
  region: string;
}

/** One file holding part of an object's bytes (a name under the data directory's `blobs/`). */
export interface Segment {
  file: string;
  size: number;
}

/** Content headers stored with an object and returned with it. */
export const CONTENT_HEADERS = ["content-type", "content-encoding", "content-disposition", "content-language", "cache-control", "expires"] as const;

/** An object's metadata (kept in the native engine). */
export interface ObjectMeta {
  key: string;
  size: number;
  /** Hex MD5, or `<hex md5 of part md5s>-<N>` for multipart objects (unquoted). */
  etag: string;
  lastModified: number;
  /** Content headers (see CONTENT_HEADERS), lowercase names. */
  headers: Record<string, string>;
  /** `x-amz-meta-*` without the prefix, lowercase names. */
  userMeta: Record<string, string>;
  checksum?: { alg: ChecksumAlgorithm; value: string };
  segments: Segment[];
  /** Number of parts of a multipart object. */
  parts?: number;
  owner: string;
  /** Version id; absent for the `null` version (unversioned buckets, suspended writes). */
  versionId?: string;
  /** Write order of the version (unique per node, increasing); absent on records written before versioning. */
  seq?: number;
  /** A delete marker (no bytes). */
  deleteMarker?: boolean;
  /** When a newer version replaced it (noncurrent versions only). */
  noncurrentSince?: number;
  /** Object tags (at most 10). */
  tags?: Record<string, string>;
}

/** A multipart upload in progress. */
export interface Upload {
  uploadId: string;
  /** The bucket's id. */
  bucket: string;
  key: string;
  initiated: number;
  owner: string;
  headers: Record<string, string>;
  userMeta: Record<string, string>;
  checksumAlg?: ChecksumAlgorithm;
  /** Tags the completed object gets (x-amz-tagging). */
  tags?: Record<string, string>;
}

/** An uploaded part. */
export interface Part {
  number: number;
  etag: string;
  size: number;
  file: string;
  lastModified: number;
  checksum?: { alg: ChecksumAlgorithm; value: string };
}
