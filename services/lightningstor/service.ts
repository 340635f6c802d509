/**
 * `LightningstorService`: buckets, objects and multipart uploads — the domain logic, no HTTP in
 * it. Every call is made by a `GuardCaller` (whoever signed the request) and authorised through
 * iam (`lightningstor:<bucket|object>:<verb>` on the bucket's project); a bucket of another
 * project is AccessDenied unless iam allows it. Object bytes go through `BlobStore` (atomic
 * files), metadata through `ObjectStore` (native engine), bucket names through `BucketRegistry`
 * (chainfire). An object becomes visible only once its bytes are durable.
 */
import { PhotonError } from "../../lib/errors.ts";
import type { Logger } from "../../lib/log.ts";
import type { GuardCaller, IamGuard } from "../iam/guard.ts";
import type { BlobStore } from "./blobs.ts";
import type { BucketRegistry } from "./bucket-registry.ts";
import { newDigest, type ChecksumAlgorithm } from "./checksum.ts";
import { S3Errors } from "./errors.ts";
import { checkBucketName, checkKey } from "./names.ts";
import type { Payload } from "./payload.ts";
import { evaluatePolicy, parsePolicy, type PolicyStatement } from "./policy.ts";
import { PartJoins } from "./service-joins.ts";
import { ObjectVersions, versionIdOf, type DeleteResult, type FoundVersion, type VersioningState } from "./service-versions.ts";
import type { ObjectScan, ObjectStore } from "./store.ts";
import type { Bucket, ObjectMeta, Part, Upload } from "./types.ts";

/** Smallest part but the last (S3: 5 MiB). */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
/** Highest part number. */
export const MAX_PARTS = 10_000;

/** What the service is built from. */
export interface LightningstorDeps {
  guard: IamGuard;
  registry: BucketRegistry;
  store: ObjectStore;
  blobs: BlobStore;
  region: string;
  logger: Logger;
  /** Smallest part size (tests lower it). */
  minPartSize?: number;
  /** The clock (ms since the epoch) for object times and lifecycle; tests move it. */
  now?: () => number;
}

/** The caller of an unsigned request: refused everywhere but where a bucket policy allows `*`. */
export const ANONYMOUS: GuardCaller = Object.freeze({ principal: "*anonymous*", kind: "user", token: "", expiresAt: 0 });

/** The per-bucket settings kept in the store (removed with the bucket). */
export const BUCKET_SETTINGS = ["versioning", "tagging", "cors", "lifecycle", "policy"] as const;

export { versionIdOf, type DeleteResult, type VersioningState } from "./service-versions.ts";

/** The S3 view of a request, for bucket policies. */
export interface S3Access {
  /** `s3:GetObject` ... */
  action: string;
  key?: string;
  /** Condition keys (aws:SourceIp, s3:prefix ...). */
  context?: Record<string, string | undefined>;
}

/** Conditions of a conditional PUT. */
export interface WriteCondition {
  /** `*`: only create. */
  ifNoneMatch?: string;
  /** Only replace this ETag. */
  ifMatch?: string;
}

/** Metadata given with a new object or upload. */
export interface NewObjectInfo {
  headers: Record<string, string>;
  userMeta: Record<string, string>;
  tags?: Record<string, string>;
}

/** See the module comment. */
export class LightningstorService {
  readonly region: string;
  readonly minPartSize: number;
  /** The service's clock (see LightningstorDeps.now). */
  readonly now: () => number;
  /** Versions of keys (ADR 0018). */
  readonly versions: ObjectVersions;
  private readonly joins: PartJoins;
  constructor(private readonly d: LightningstorDeps) {
    this.region = d.region;
    this.minPartSize = d.minPartSize ?? MIN_PART_SIZE;
    this.now = d.now ?? Date.now;
    this.versions = new ObjectVersions(d.store, d.blobs, this.now);
    this.joins = new PartJoins(this.versions, d.blobs, d.logger);
  }

  /** The store (bucket settings live there too). */
  get store(): ObjectStore {
    return this.d.store;
  }

  /** The bucket registry (the lifecycle sweeper walks it). */
  get registry(): BucketRegistry {
    return this.d.registry;
  }

  /** The bucket's versioning state. */
  versioning(bucket: Bucket): VersioningState {
    return this.versions.state(bucket);
  }

  /** Enables or suspends versioning (a bucket never returns to unversioned). */
  setVersioning(bucket: Bucket, status: "Enabled" | "Suspended"): void {
    this.versions.setState(bucket, status);
  }

  private place(bucket: Bucket, meta: ObjectMeta, completes?: string): ObjectMeta {
    return this.versions.place(bucket, meta, completes);
  }

  /** A version of a key: the current one, or the one `versionId` names (`null` too); undefined if none. */
  findVersion(bucket: Pick<Bucket, "id">, key: string, versionId?: string): FoundVersion | undefined {
    return this.versions.find(bucket, key, versionId);
  }

  /** Rewrites a version's metadata in place (tags), current or noncurrent. */
  updateVersion(bucket: Pick<Bucket, "id">, found: FoundVersion): void {
    this.versions.update(bucket, found);
  }

  /** The current versions (delete markers included) of a bucket with their noncurrent ones, in key order. */
  scanVersions(bucket: Bucket, scan: ObjectScan): Generator<ObjectMeta[]> {
    return this.versions.scan(bucket, scan);
  }

  /** Runs an iam decision, turning iam's refusals into S3's. */
  private async authorize(caller: GuardCaller, action: string, resource: { org?: string; project: string; id?: string }): Promise<{ org?: string }> {
    if (caller === ANONYMOUS) throw S3Errors.AccessDenied("anonymous access is not allowed: sign the request with an access key");
    try {
      return await this.d.guard.authorize(caller, action, resource);
    } catch (e) {
      if (e instanceof PhotonError && e.code.startsWith("IAM:")) throw S3Errors.AccessDenied("Access Denied", { cause: e });
      if (e instanceof PhotonError && e.code === "PHOTON:Unavailable") throw S3Errors.ServiceUnavailable("iam is unavailable; retry", { cause: e });
      throw e;
    }
  }

  /**
   * The bucket, after authorising `action` on it.
   * @throws S3:NoSuchBucket, S3:AccessDenied.
   */
  async bucket(caller: GuardCaller, name: string, action: string, s3?: S3Access): Promise<Bucket> {
    const b = await this.d.registry.get(name);
    if (!b) throw S3Errors.NoSuchBucket("the specified bucket does not exist", { details: { bucket: name } });
    // The bucket policy: an explicit Deny refuses, an Allow grants across projects (never the
    // policy's own management, so an owner cannot lock itself out).
    const verdict = s3 && !/BucketPolicy$/.test(s3.action) ? this.policyVerdict(b, caller, s3) : "none";
    if (verdict === "deny") throw S3Errors.AccessDenied("Access Denied (explicitly denied by the bucket policy)");
    try {
      await this.authorize(caller, action, { org: b.org, project: b.project, id: b.name });
    } catch (e) {
      if (verdict === "allow" && e instanceof PhotonError && e.code === "S3:AccessDenied") return b;
      throw e;
    }
    return b;
  }

  private readonly policies = new Map<string, { text: string; stmts: PolicyStatement[] }>();

  /** The bucket policy's verdict on a request (`none` without a policy). */
  policyVerdict(b: Bucket, caller: GuardCaller, s3: S3Access): "allow" | "deny" | "none" {
    const text = this.d.store.getConfig(b.id, "policy");
    if (!text) return "none";
    let p = this.policies.get(b.id);
    if (!p || p.text !== text) {
      p = { text, stmts: parsePolicy(text, b.name) };
      this.policies.set(b.id, p);
    }
    const resource = `arn:aws:s3:::${b.name}${s3.key !== undefined ? `/${s3.key}` : ""}`;
    return evaluatePolicy(p.stmts, { principal: caller.principal, action: s3.action, resource, context: { "aws:principalid": caller.principal, ...(caller.sourceIp ? { "aws:sourceip": caller.sourceIp } : {}), ...s3.context } });
  }

  /** The buckets of the projects where the caller may list buckets. */
  async listBuckets(caller: GuardCaller): Promise<Bucket[]> {
    if (caller === ANONYMOUS) throw S3Errors.AccessDenied("anonymous access is not allowed: sign the request with an access key");
    const all = await this.d.registry.list();
    const allowed = new Map<string, boolean>();
    const out: Bucket[] = [];
    for (const b of all) {
      if (!allowed.has(b.project)) {
        allowed.set(b.project, await this.authorize(caller, "lightningstor:bucket:list", { org: b.org, project: b.project }).then(() => true, () => false));
      }
      if (allowed.get(b.project)) out.push(b);
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /**
   * Creates a bucket in the caller's project (the access key's).
   * @throws S3:InvalidBucketName, S3:BucketAlreadyExists (another project's),
   *   S3:BucketAlreadyOwnedByYou, S3:AccessDenied, S3:InvalidRequest (a key without a project).
   */
  async createBucket(caller: GuardCaller, name: string, project = caller.project): Promise<Bucket> {
    checkBucketName(name);
    if (caller === ANONYMOUS) throw S3Errors.AccessDenied("anonymous access is not allowed: sign the request with an access key");
    if (!project) throw S3Errors.InvalidRequest("this access key acts in no project: create one with `photon accesskey create --project <project>`");
    const { org } = await this.authorize(caller, "lightningstor:bucket:create", { ...(caller.org ? { org: caller.org } : {}), project });
    if (!org) throw S3Errors.AccessDenied("Access Denied");
    // Objects are filed under the bucket's id, not its name: whatever a deleted bucket of the same
    // name left behind (an upload racing the deletion) is never seen by the new one.
    const id = Buffer.from(crypto.getRandomValues(new Uint8Array(12))).toString("hex");
    const bucket: Bucket = { id, name, org, project, owner: caller.principal, createdAt: Date.now(), region: this.region };
    const r = await this.d.registry.create(bucket);
    if (!r.created) {
      if (r.existing.project === project) throw S3Errors.BucketAlreadyOwnedByYou("your previous request to create the named bucket succeeded and you already own it");
      throw S3Errors.BucketAlreadyExists("the requested bucket name is not available; select a different name");
    }
    this.d.logger.info("bucket created", { bucket: name, project, principal: caller.principal });
    return bucket;
  }

  /** @throws S3:NoSuchBucket, S3:AccessDenied, S3:BucketNotEmpty. */
  async deleteBucket(caller: GuardCaller, name: string): Promise<void> {
    const b = await this.bucket(caller, name, "lightningstor:bucket:delete", { action: "s3:DeleteBucket" });
    if (!this.d.store.isEmpty(b.id)) throw S3Errors.BucketNotEmpty("the bucket you tried to delete is not empty");
    await this.d.registry.delete(b.name);
    for (const setting of BUCKET_SETTINGS) this.d.store.setConfig(b.id, setting, undefined);
  }

  /**
   * The object's metadata, current or the version named (no authorisation: call `bucket` first).
   * @throws S3:NoSuchKey (a current delete marker too, with its headers), S3:NoSuchVersion,
   *   S3:MethodNotAllowed (a delete marker named by version).
   */
  object(bucket: Bucket, key: string, versionId?: string): ObjectMeta {
    const f = this.findVersion(bucket, key, versionId);
    if (!f) {
      if (versionId !== undefined) throw S3Errors.NoSuchVersion("the specified version does not exist", { details: { key, versionId } });
      throw S3Errors.NoSuchKey("the specified key does not exist", { details: { key } });
    }
    const m = f.meta;
    if (m.deleteMarker) {
      const headers = { "x-amz-delete-marker": "true", "x-amz-version-id": versionIdOf(m), "last-modified": new Date(m.lastModified).toUTCString() };
      if (versionId === undefined) throw S3Errors.NoSuchKey("the specified key does not exist", { details: { key, headers } });
      throw S3Errors.MethodNotAllowed("the specified method is not allowed against this resource", { details: { method: "GET", resourceType: "DeleteMarker", headers: { ...headers, allow: "DELETE" } } });
    }
    return m;
  }

  /** Streams `[start, end)` of an object. */
  read(meta: ObjectMeta, start: number, end: number): ReadableStream<Uint8Array> {
    return this.d.blobs.read(meta.segments, start, end);
  }

  /** `[start, end)` of an object as an HTTP body: file-backed (with a Content-Length) when it can be. */
  body(meta: ObjectMeta, start: number, end: number): Blob | ReadableStream<Uint8Array> {
    return this.d.blobs.body(meta.segments, start, end) ?? this.d.blobs.read(meta.segments, start, end);
  }

  /**
   * Stores an object from a verified payload; visible once durable.
   * @throws the payload's errors (nothing is stored then).
   */
  async putObject(caller: GuardCaller, bucket: Bucket, key: string, payload: Payload, info: NewObjectInfo, condition?: WriteCondition): Promise<ObjectMeta> {
    checkKey(key);
    if (condition) this.checkWrite(bucket, key, condition); // fail early, before the upload
    const seg = await this.d.blobs.write(payload);
    const r = payload.result();
    const meta: ObjectMeta = { key, size: seg.size, etag: r.md5, lastModified: this.now(), headers: info.headers, userMeta: info.userMeta, segments: [seg], owner: caller.principal, ...(r.checksum ? { checksum: r.checksum } : {}), ...(info.tags && Object.keys(info.tags).length ? { tags: info.tags } : {}) };
    if (condition) {
      try {
        this.checkWrite(bucket, key, condition); // and atomically with the commit (no await between)
      } catch (e) {
        this.d.blobs.remove([seg]);
        throw e;
      }
    }
    return this.place(bucket, meta);
  }

  /**
   * Conditional writes: `If-None-Match: *` (only if the key is absent), `If-Match: <etag>` (only
   * over that version). @throws S3:PreconditionFailed.
   */
  private checkWrite(bucket: Bucket, key: string, c: WriteCondition): void {
    const found = this.d.store.getObject(bucket.id, key);
    const cur = found?.deleteMarker ? undefined : found;
    if (c.ifNoneMatch === "*" && cur) throw S3Errors.PreconditionFailed("at least one of the pre-conditions you specified did not hold", { details: { condition: "If-None-Match" } });
    if (c.ifMatch !== undefined && (!cur || c.ifMatch.replace(/^"|"$/g, "") !== cur.etag)) {
      if (!cur) throw S3Errors.NoSuchKey("the specified key does not exist", { details: { key } });
      throw S3Errors.PreconditionFailed("at least one of the pre-conditions you specified did not hold", { details: { condition: "If-Match" } });
    }
  }

  /**
   * Deletes a key (absent keys succeed, as in S3). Without `versionId` on a versioned bucket it
   * adds a delete marker (the null version when suspended); with one it removes that version for
   * good, and the newest noncurrent version becomes current when it was the current one.
   */
  deleteObject(caller: GuardCaller, bucket: Bucket, key: string, versionId?: string): DeleteResult {
    return this.versions.delete(caller.principal, bucket, key, versionId);
  }

  /** Copies an object (hard links: no bytes move) with the given or the source's metadata. */
  copyObject(caller: GuardCaller, bucket: Bucket, key: string, source: ObjectMeta, info: NewObjectInfo | undefined, tags?: Record<string, string>): ObjectMeta {
    checkKey(key);
    const segments = source.segments.map((s) => this.d.blobs.link(s));
    const meta: ObjectMeta = { ...source, key, lastModified: this.now(), segments, owner: caller.principal, ...(info ? { headers: info.headers, userMeta: info.userMeta } : {}) };
    if (tags) meta.tags = tags;
    if (meta.tags && Object.keys(meta.tags).length === 0) delete meta.tags;
    this.place(bucket, meta);
    if (meta.segments.length > 1) this.scheduleJoin(bucket.id, meta);
    return meta;
  }

  /** Queues the join of a multi-file object's files into one (ADR 0018). */
  scheduleJoin(bucketId: string, meta: ObjectMeta): void {
    this.joins.schedule(bucketId, meta);
  }

  /** Resolves once every join queued so far is done. */
  joinsSettled(): Promise<void> {
    return this.joins.settled();
  }

  /** Skips the joins not started yet and waits for the one running (before the store closes). */
  stopJoins(): Promise<void> {
    return this.joins.stop();
  }

  /** A multi-file object once its join is done (waits for it); any other object as it is. */
  async settled(bucket: Bucket, meta: ObjectMeta): Promise<ObjectMeta> {
    const job = this.joins.of(bucket.id, meta);
    if (!job) return meta;
    await job;
    return this.findVersion(bucket, meta.key, versionIdOf(meta))?.meta ?? meta;
  }

  /** `[start, end)` as a single file-backed body, or undefined when it spans several files. */
  fileBody(meta: ObjectMeta, start: number, end: number): Blob | undefined {
    return this.d.blobs.body(meta.segments, start, end);
  }

  /** A bucket's objects in key order. */
  scan(bucket: Bucket, scan: ObjectScan): Generator<ObjectMeta> {
    return this.d.store.scanObjects(bucket.id, scan);
  }

  /** Starts a multipart upload. */
  createUpload(caller: GuardCaller, bucket: Bucket, key: string, info: NewObjectInfo, checksumAlg?: ChecksumAlgorithm): Upload {
    checkKey(key);
    const uploadId = Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString("base64url");
    const u: Upload = { uploadId, bucket: bucket.id, key, initiated: this.now(), owner: caller.principal, headers: info.headers, userMeta: info.userMeta, ...(checksumAlg ? { checksumAlg } : {}), ...(info.tags && Object.keys(info.tags).length ? { tags: info.tags } : {}) };
    this.d.store.putUpload(u);
    return u;
  }

  /** @throws S3:NoSuchUpload. */
  upload(bucket: Bucket, key: string, uploadId: string): Upload {
    const u = this.d.store.getUpload(bucket.id, uploadId);
    if (!u || u.key !== key) throw S3Errors.NoSuchUpload("the specified multipart upload does not exist", { details: { uploadId } });
    return u;
  }

  /** Stores a part (replacing one with the same number). @throws S3:InvalidArgument for a bad number. */
  async uploadPart(upload: Upload, number: number, payload: Payload): Promise<Part> {
    checkPartNumber(number);
    const seg = await this.d.blobs.write(payload);
    const r = payload.result();
    return this.putPart(upload, { number, etag: r.md5, size: seg.size, file: seg.file, lastModified: this.now(), ...(r.checksum ? { checksum: r.checksum } : {}) });
  }

  /** Stores a part made by copying a range of another object. */
  async uploadPartCopy(upload: Upload, number: number, source: ObjectMeta, start: number, end: number): Promise<Part> {
    checkPartNumber(number);
    const md5 = newDigest("MD5");
    const stream = this.read(source, start, end);
    async function* hashed() {
      for await (const c of stream) {
        md5.update(c);
        yield c;
      }
    }
    const seg = await this.d.blobs.write(hashed());
    return this.putPart(upload, { number, etag: md5.digest().toString("hex"), size: seg.size, file: seg.file, lastModified: this.now() });
  }

  private putPart(upload: Upload, part: Part): Part {
    if (!this.d.store.getUpload(upload.bucket, upload.uploadId)) {
      this.d.blobs.remove([{ file: part.file, size: part.size }]);
      throw S3Errors.NoSuchUpload("the specified multipart upload does not exist");
    }
    const prev = this.d.store.putPart(upload.uploadId, part);
    if (prev) this.d.blobs.remove([{ file: prev.file, size: prev.size }]);
    return part;
  }

  listParts(upload: Upload): Part[] {
    return this.d.store.listParts(upload.uploadId);
  }

  listUploads(bucket: Bucket): Upload[] {
    return this.d.store.listUploads(bucket.id);
  }

  /**
   * Completes an upload from the client's (number, ETag) list.
   * @throws S3:InvalidPartOrder, S3:InvalidPart (unknown number or ETag), S3:EntityTooSmall.
   */
  async completeUpload(caller: GuardCaller, bucket: Bucket, upload: Upload, wanted: { number: number; etag: string }[]): Promise<ObjectMeta> {
    if (wanted.length === 0) throw S3Errors.MalformedXML("the XML you provided was not well-formed or did not validate against our published schema");
    const stored = new Map(this.d.store.listParts(upload.uploadId).map((p) => [p.number, p]));
    const chosen: Part[] = [];
    let last = 0;
    for (const w of wanted) {
      if (w.number <= last) throw S3Errors.InvalidPartOrder("the list of parts was not in ascending order; parts must be ordered by part number");
      last = w.number;
      const p = stored.get(w.number);
      if (!p || p.etag !== w.etag.replace(/^"|"$/g, "").toLowerCase()) throw S3Errors.InvalidPart("one or more of the specified parts could not be found: the part may not have been uploaded, or the specified ETag may not have matched the part's ETag", { details: { partNumber: w.number } });
      chosen.push(p);
    }
    chosen.forEach((p, i) => {
      if (i < chosen.length - 1 && p.size < this.minPartSize) throw S3Errors.EntityTooSmall("your proposed upload is smaller than the minimum allowed object size", { details: { partNumber: p.number } });
    });
    const md5 = newDigest("MD5");
    for (const p of chosen) md5.update(Buffer.from(p.etag, "hex"));
    // O(1): the parts' files become the object's files; they are joined into one file after the
    // answer (`scheduleJoin`), since Bun.serve sends a Content-Length only for a single file-backed
    // body (ADR 0013, 0018). GETs needing the whole object wait for that join.
    const meta: ObjectMeta = {
      key: upload.key,
      size: chosen.reduce((n, p) => n + p.size, 0),
      etag: `${md5.digest().toString("hex")}-${chosen.length}`,
      lastModified: this.now(),
      headers: upload.headers,
      userMeta: upload.userMeta,
      segments: chosen.map((p) => ({ file: p.file, size: p.size })),
      parts: chosen.length,
      owner: caller.principal,
      ...(upload.tags ? { tags: upload.tags } : {}),
    };
    if (!this.d.store.getUpload(bucket.id, upload.uploadId)) throw S3Errors.NoSuchUpload("the multipart upload was completed or aborted meanwhile");
    this.place(bucket, meta, upload.uploadId);
    const used = new Set(chosen.map((p) => p.file));
    this.d.blobs.remove([...stored.values()].filter((p) => !used.has(p.file)).map((p) => ({ file: p.file, size: p.size })));
    this.scheduleJoin(bucket.id, meta);
    return meta;
  }

  /** Aborts an upload and removes its parts. */
  abortUpload(bucket: Bucket, upload: Upload): void {
    const parts = this.d.store.deleteUpload(bucket.id, upload.uploadId);
    this.d.blobs.remove(parts.map((p) => ({ file: p.file, size: p.size })));
  }
}

function checkPartNumber(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_PARTS) throw S3Errors.InvalidArgument(`part number must be an integer between 1 and ${MAX_PARTS}, inclusive`, { details: { argumentName: "partNumber" } });
}
