/**
 * `BucketRegistryEtcd`: the BucketRegistry in chainfire (or etcd) under
 * `/photon/lightningstor/buckets/<name>`, created with a compare-and-create so two nodes can
 * never both win a name. Lookups are cached for `cacheMs` (default 2 s): a bucket deleted on
 * another node may still be seen here for that long (its objects are gone with it on that node).
 */
import { EtcdClient } from "../../lib/etcd/index.ts";
import type { BucketRegistry } from "./bucket-registry.ts";
import type { Bucket } from "./types.ts";

/** The chainfire prefix of the registry. */
export const BUCKETS_PREFIX = "/photon/lightningstor/buckets/";
const dec = new TextDecoder();

/** See the module comment. */
export class BucketRegistryEtcd implements BucketRegistry {
  private readonly etcd: EtcdClient;
  private readonly cache = new Map<string, { at: number; value: Bucket | undefined }>();

  constructor(endpoints: string[], private readonly cacheMs = 2000) {
    this.etcd = new EtcdClient({ endpoints });
  }

  async get(name: string): Promise<Bucket | undefined> {
    const hit = this.cache.get(name);
    if (hit && Date.now() - hit.at < this.cacheMs) return hit.value;
    const kv = await this.etcd.get(BUCKETS_PREFIX + name);
    const value = kv ? (JSON.parse(dec.decode(kv.value)) as Bucket) : undefined;
    if (value) this.cache.set(name, { at: Date.now(), value });
    else this.cache.delete(name);
    return value;
  }

  async create(bucket: Bucket): Promise<{ created: true } | { created: false; existing: Bucket }> {
    const ok = await this.etcd.create(BUCKETS_PREFIX + bucket.name, JSON.stringify(bucket));
    if (ok) {
      this.cache.set(bucket.name, { at: Date.now(), value: bucket });
      return { created: true };
    }
    this.cache.delete(bucket.name);
    const existing = await this.get(bucket.name);
    return existing ? { created: false, existing } : this.create(bucket);
  }

  async delete(name: string): Promise<void> {
    this.cache.delete(name);
    await this.etcd.delete(BUCKETS_PREFIX + name);
  }

  async list(): Promise<Bucket[]> {
    const out: Bucket[] = [];
    for await (const kv of this.etcd.iteratePrefix(BUCKETS_PREFIX)) out.push(JSON.parse(dec.decode(kv.value)) as Bucket);
    return out;
  }

  close(): void {
    this.etcd.close();
  }
}
