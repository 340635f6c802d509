/**
 * `RocksObjectStore`: the ObjectStore in the native engine (lib/engine, RocksDB). Column
 * families: `objects` (`<bucket id>\0<key>` → meta JSON), `uploads` (`<bucket id>\0<uploadId>`) and
 * `parts` (`<uploadId>\0<part number, 5 digits>`), `versions` (noncurrent versions:
 * `<bucket id>\0<key>\0<2^64-1-seq, 16 hex>`, so a key's versions sort newest first right after
 * the key) and `config` (`<bucket id>\0<setting>` → text). Writes are synced (fsync'd WAL).
 */
import { RocksEngine, type KvEngine } from "../../lib/engine/index.ts";
import type { ObjectScan, ObjectStore, VersionChange } from "./store.ts";
import type { ObjectMeta, Part, Upload } from "./types.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const SEP = "\u0000";

const json = (v: unknown): Uint8Array => enc.encode(JSON.stringify(v));
const parse = <T>(b: Uint8Array | undefined): T | undefined => (b ? (JSON.parse(dec.decode(b)) as T) : undefined);

/** The smallest key greater than every key starting with `p`. */
function prefixEnd(p: Uint8Array): Uint8Array {
  const out = Uint8Array.from(p);
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i]! < 0xff) {
      out[i]!++;
      return out.subarray(0, i + 1);
    }
  }
  return new Uint8Array(0);
}

/** See the module comment. */
export class RocksObjectStore implements ObjectStore {
  private readonly objects: number;
  private readonly uploads: number;
  private readonly parts: number;
  private readonly versions: number;
  private readonly config: number;

  private constructor(private readonly db: KvEngine) {
    this.objects = db.cf("objects");
    this.uploads = db.cf("uploads");
    this.parts = db.cf("parts");
    this.versions = db.cf("versions");
    this.config = db.cf("config");
  }

  /** Opens (creating) the store in `dir`. */
  static open(dir: string): RocksObjectStore {
    return new RocksObjectStore(RocksEngine.open(dir, { columnFamilies: ["objects", "uploads", "parts", "versions", "config"] }));
  }

  private okey(bucket: string, key: string): Uint8Array {
    return enc.encode(bucket + SEP + key);
  }

  getObject(bucket: string, key: string): ObjectMeta | undefined {
    return parse<ObjectMeta>(this.db.get(this.objects, this.okey(bucket, key)));
  }

  *scanObjects(bucket: string, scan: ObjectScan): Generator<ObjectMeta> {
    const base = enc.encode(bucket + SEP);
    const pfx = enc.encode(bucket + SEP + (scan.prefix ?? ""));
    let start: Uint8Array = pfx;
    const candidates: Uint8Array[] = [];
    if (scan.from !== undefined) candidates.push(this.okey(bucket, scan.from));
    if (scan.after !== undefined) candidates.push(Uint8Array.from([...this.okey(bucket, scan.after), 0]));
    if (scan.pastPrefix !== undefined) candidates.push(prefixEnd(this.okey(bucket, scan.pastPrefix)));
    for (const c of candidates) if (Buffer.compare(c, start) > 0) start = c;
    const end = prefixEnd(pfx.length > base.length ? pfx : base);
    for (const { value } of this.db.scanAll(this.objects, { start, end })) {
      const m = JSON.parse(dec.decode(value)) as ObjectMeta;
      if (!m.deleteMarker || scan.markers) yield m;
    }
  }

  private vkey(bucket: string, key: string, seq: number): Uint8Array {
    return enc.encode(bucket + SEP + key + SEP + (0xffffffffffffffffn - BigInt(seq)).toString(16).padStart(16, "0"));
  }

  applyVersions(bucket: string, key: string, c: VersionChange): void {
    const b = this.db.batch();
    if (c.current === null) b.delete(this.objects, this.okey(bucket, key));
    else if (c.current) b.put(this.objects, this.okey(bucket, key), json(c.current));
    for (const v of c.putVersions ?? []) b.put(this.versions, this.vkey(bucket, key, v.seq!), json(v));
    for (const s of c.deleteVersions ?? []) b.delete(this.versions, this.vkey(bucket, key, s));
    if (c.completes !== undefined) {
      b.delete(this.uploads, enc.encode(bucket + SEP + c.completes));
      for (const p of this.listParts(c.completes)) b.delete(this.parts, this.pkey(c.completes, p.number));
    }
    this.db.write(b, true);
  }

  importObjects(bucket: string, metas: ObjectMeta[]): void {
    const b = this.db.batch();
    for (const m of metas) b.put(this.objects, this.okey(bucket, m.key), json(m));
    this.db.write(b, true);
  }

  listVersions(bucket: string, key: string): ObjectMeta[] {
    const out: ObjectMeta[] = [];
    for (const { value } of this.db.scanAll(this.versions, { prefix: enc.encode(bucket + SEP + key + SEP) })) out.push(JSON.parse(dec.decode(value)) as ObjectMeta);
    return out;
  }

  getVersion(bucket: string, key: string, seq: number): ObjectMeta | undefined {
    return parse<ObjectMeta>(this.db.get(this.versions, this.vkey(bucket, key, seq)));
  }

  getConfig(bucket: string, name: string): string | undefined {
    const v = this.db.get(this.config, enc.encode(bucket + SEP + name));
    return v ? dec.decode(v) : undefined;
  }

  setConfig(bucket: string, name: string, value: string | undefined): void {
    const k = enc.encode(bucket + SEP + name);
    if (value === undefined) this.db.delete(this.config, k, true);
    else this.db.put(this.config, k, enc.encode(value), true);
  }

  isEmpty(bucket: string): boolean {
    const p = enc.encode(bucket + SEP);
    return [this.objects, this.uploads, this.versions].every((cf) => this.db.scan(cf, { prefix: p, limit: 1, keysOnly: true }).count === 0);
  }

  putUpload(upload: Upload): void {
    this.db.put(this.uploads, enc.encode(upload.bucket + SEP + upload.uploadId), json(upload), true);
  }

  getUpload(bucket: string, uploadId: string): Upload | undefined {
    return parse<Upload>(this.db.get(this.uploads, enc.encode(bucket + SEP + uploadId)));
  }

  listUploads(bucket: string): Upload[] {
    const out: Upload[] = [];
    for (const { value } of this.db.scanAll(this.uploads, { prefix: enc.encode(bucket + SEP) })) out.push(JSON.parse(dec.decode(value)) as Upload);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.initiated - b.initiated));
  }

  private pkey(uploadId: string, n: number): Uint8Array {
    return enc.encode(uploadId + SEP + String(n).padStart(5, "0"));
  }

  putPart(uploadId: string, part: Part): Part | undefined {
    const k = this.pkey(uploadId, part.number);
    const prev = parse<Part>(this.db.get(this.parts, k));
    this.db.put(this.parts, k, json(part), true);
    return prev;
  }

  listParts(uploadId: string): Part[] {
    const out: Part[] = [];
    for (const { value } of this.db.scanAll(this.parts, { prefix: enc.encode(uploadId + SEP) })) out.push(JSON.parse(dec.decode(value)) as Part);
    return out;
  }

  deleteUpload(bucket: string, uploadId: string): Part[] {
    const parts = this.listParts(uploadId);
    const b = this.db.batch();
    b.delete(this.uploads, enc.encode(bucket + SEP + uploadId));
    for (const p of parts) b.delete(this.parts, this.pkey(uploadId, p.number));
    this.db.write(b, true);
    return parts;
  }

  multiFileObjects(): { bucket: string; meta: ObjectMeta }[] {
    const out: { bucket: string; meta: ObjectMeta }[] = [];
    for (const cf of [this.objects, this.versions]) {
      for (const { key, value } of this.db.scanAll(cf, {})) {
        const meta = JSON.parse(dec.decode(value)) as ObjectMeta;
        if (meta.segments.length > 1) out.push({ bucket: dec.decode(key.subarray(0, key.indexOf(0))), meta });
      }
    }
    return out;
  }

  referencedFiles(): Set<string> {
    const out = new Set<string>();
    for (const cf of [this.objects, this.versions]) for (const { value } of this.db.scanAll(cf, {})) for (const seg of (JSON.parse(dec.decode(value)) as ObjectMeta).segments) out.add(seg.file);
    for (const { value } of this.db.scanAll(this.parts, {})) out.add((JSON.parse(dec.decode(value)) as Part).file);
    return out;
  }

  close(): void {
    this.db.close();
  }
}
