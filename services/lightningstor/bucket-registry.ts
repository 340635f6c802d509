/**
 * `BucketRegistry`: the global bucket names and the project that owns each one. Names are unique
 * across the whole cloud (as in S3), so the registry lives in the control plane (chainfire):
 * `BucketRegistryEtcd` keeps `/photon/lightningstor/buckets/<name>`.
 */
import type { Bucket } from "./types.ts";

/** See the module comment. */
export interface BucketRegistry {
  get(name: string): Promise<Bucket | undefined>;
  /** Registers a bucket unless the name is taken; returns the holder when it is. */
  create(bucket: Bucket): Promise<{ created: true } | { created: false; existing: Bucket }>;
  delete(name: string): Promise<void>;
  /** Every bucket, by name. */
  list(): Promise<Bucket[]>;
  close(): void;
}
