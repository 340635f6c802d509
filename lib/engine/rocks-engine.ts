/**
 * RocksEngine: the KvEngine on RocksDB through the native addon. Every method crosses the
 * JS/native boundary once; batches, multi-gets and scans carry many items per crossing. Reads
 * (get, multiGet, scan) cross through bun:ffi when available (rocks-ffi.ts, ADR 0008).
 * Native errors surface as PhotonErrors with `ENGINE:*` codes (errors.ts).
 */
import type { Database as NativeDatabase } from "../../native/photon-native.d.ts";
import { native } from "../native.ts";
import { EngineErrors, fromNative } from "./errors.ts";
import type { EngineOpenOptions, KvEngine, Snapshot, WriteBatch } from "./kv-engine.ts";
import { ffiReads, type FfiReads } from "./rocks-ffi.ts";
import { RocksReader } from "./rocks-reader.ts";
import { RocksSnapshot } from "./rocks-snapshot.ts";
import { RocksWriteBatch } from "./rocks-write-batch.ts";

/** The RocksDB-backed engine. Open with `RocksEngine.open`. */
export class RocksEngine extends RocksReader implements KvEngine {
  readonly columnFamilies: readonly string[];
  private readonly cfIndex: Map<string, number>;

  private constructor(db: NativeDatabase, ffi: FfiReads | undefined) {
    super(db, undefined, ffi);
    this.columnFamilies = Object.freeze(db.columnFamilies());
    this.cfIndex = new Map(this.columnFamilies.map((n, i) => [n, i]));
  }

  /**
   * Opens (or creates) the database in directory `path`.
   * @throws ENGINE:Busy when another process has it open; ENGINE:IoError when the directory is
   *   not usable; ENGINE:InvalidArgument for bad options.
   * @example
   * const db = RocksEngine.open("./data/kv", { columnFamilies: ["meta", "data"] });
   * db.put(db.cf("meta"), key, value, true);
   */
  static open(path: string, options: EngineOpenOptions = {}): RocksEngine {
    const { pointReads = "auto", ...nativeOptions } = options;
    if (pointReads !== "auto" && pointReads !== "napi") throw EngineErrors.InvalidArgument(`pointReads "${String(pointReads)}"`);
    try {
      return new RocksEngine(native().Database.open(path, nativeOptions), pointReads === "auto" ? ffiReads() : undefined);
    } catch (e) {
      throw fromNative(e);
    }
  }

  cf(name: string): number {
    const i = this.cfIndex.get(name);
    if (i === undefined) throw EngineErrors.InvalidArgument(`unknown column family "${name}"`);
    return i;
  }

  put(cf: number, key: Uint8Array, value: Uint8Array, sync = false): void {
    try {
      this.db.put(cf, key, value, sync);
    } catch (e) {
      throw fromNative(e);
    }
  }

  delete(cf: number, key: Uint8Array, sync = false): void {
    try {
      this.db.delete(cf, key, sync);
    } catch (e) {
      throw fromNative(e);
    }
  }

  deleteRange(cf: number, start: Uint8Array, end: Uint8Array, sync = false): void {
    try {
      this.db.deleteRange(cf, start, end, sync);
    } catch (e) {
      throw fromNative(e);
    }
  }

  batch(): WriteBatch {
    return new RocksWriteBatch();
  }

  write(batch: WriteBatch, sync = false): void {
    if (!(batch instanceof RocksWriteBatch)) throw EngineErrors.InvalidArgument("batch was not made by this engine");
    if (batch.length === 0) return;
    try {
      this.db.write(batch.packedBytes(), sync);
    } catch (e) {
      throw fromNative(e);
    }
  }

  snapshot(): Snapshot {
    try {
      return new RocksSnapshot(this.db, this.db.snapshot(), this.ffi);
    } catch (e) {
      throw fromNative(e);
    }
  }

  flush(): void {
    try {
      this.db.flush();
    } catch (e) {
      throw fromNative(e);
    }
  }

  compact(cf: number, start?: Uint8Array, end?: Uint8Array): void {
    try {
      this.db.compact(cf, start, end);
    } catch (e) {
      throw fromNative(e);
    }
  }

  property(cf: number, name: string): string | undefined {
    try {
      return this.db.property(cf, name) ?? undefined;
    } catch (e) {
      throw fromNative(e);
    }
  }

  close(): void {
    try {
      this.db.close();
    } catch (e) {
      throw fromNative(e);
    }
  }

  get isOpen(): boolean {
    return this.db.isOpen;
  }

  /** How reads (point reads and scans) reach the engine here: "ffi" (bun:ffi, the fast path) or "napi". */
  get pointReads(): "ffi" | "napi" {
    return this.ffi ? "ffi" : "napi";
  }
}
