/**
 * `RocksObjectStore`: the ObjectStore in the native engine (lib/engine, RocksDB). Column
 * families: `objects` (`<bucket id>\0<key>` → meta JSON), `uploads` (`<bucket id>\0<uploadId>`) and
 * `parts` (`<uploadId>\0<part number, 5 digits>`). Writes are synced (fsync'd WAL).
 */
import { RocksEngine, type KvEngine } from "../../lib/engine/index.ts";
import type { ObjectScan, ObjectStore } from "./store.ts";
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

  private constructor(private readonly db: KvEngine) {
    this.objects = db.cf("objects");
    this.uploads = db.cf("uploads");
    this.parts = db.cf("parts");
  }

  /** Opens (creating) the store in `dir`. */
  static open(dir: string): RocksObjectStore {
    return new RocksObjectStore(RocksEngine.open(dir, { columnFamilies: ["objects", "uploads", "parts"] }));
  }

  private okey(bucket: string, key: string): Uint8Array {
    return enc.encode(bucket + SEP + key);
  }

  getObject(bucket: string, key: string): ObjectMeta | undefined {
    return parse<ObjectMeta>(this.db.get(this.objects, this.okey(bucket, key)));
  }

  putObject(bucket: string, meta: ObjectMeta): ObjectMeta | undefined {
    const k = this.okey(bucket, meta.key);
    const prev = parse<ObjectMeta>(this.db.get(this.objects, k));
    this.db.put(this.objects, k, json(meta), true);
    return prev;
  }

  deleteObject(bucket: string, key: string): ObjectMeta | undefined {
    const k = this.okey(bucket, key);
    const prev = parse<ObjectMeta>(this.db.get(this.objects, k));
    if (prev) this.db.delete(this.objects, k, true);
    return prev;
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
    for (const { value } of this.db.scanAll(this.objects, { start, end })) yield JSON.parse(dec.decode(value)) as ObjectMeta;
  }

  isEmpty(bucket: string): boolean {
    const p = enc.encode(bucket + SEP);
    return this.db.scan(this.objects, { prefix: p, limit: 1, keysOnly: true }).count === 0 && this.db.scan(this.uploads, { prefix: p, limit: 1, keysOnly: true }).count === 0;
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

  completeUpload(bucket: string, uploadId: string, meta: ObjectMeta): ObjectMeta | undefined {
    const k = this.okey(bucket, meta.key);
    const prev = parse<ObjectMeta>(this.db.get(this.objects, k));
    const b = this.db.batch();
    b.put(this.objects, k, json(meta));
    b.delete(this.uploads, enc.encode(bucket + SEP + uploadId));
    for (const p of this.listParts(uploadId)) b.delete(this.parts, this.pkey(uploadId, p.number));
    this.db.write(b, true);
    return prev;
  }

  referencedFiles(): Set<string> {
    const out = new Set<string>();
    for (const { value } of this.db.scanAll(this.objects, {})) for (const seg of (JSON.parse(dec.decode(value)) as ObjectMeta).segments) out.add(seg.file);
    for (const { value } of this.db.scanAll(this.parts, {})) out.add((JSON.parse(dec.decode(value)) as Part).file);
    return out;
  }

  close(): void {
    this.db.close();
  }
}
