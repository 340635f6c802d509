/** The RocksDB engine's WriteBatch: operations packed into one buffer, sent in one call. */
import { OP_DELETE, OP_DELETE_RANGE, OP_PUT, PackedWriter } from "./codec.ts";
import type { WriteBatch } from "./kv-engine.ts";

/** A WriteBatch that packs its operations for `RocksEngine.write`. */
export class RocksWriteBatch implements WriteBatch {
  private readonly packed = new PackedWriter(16 * 1024);
  private ops = 0;

  put(cf: number, key: Uint8Array, value: Uint8Array): this {
    this.packed.header(OP_PUT, cf);
    this.packed.bytes(key);
    this.packed.bytes(value);
    this.ops++;
    return this;
  }

  delete(cf: number, key: Uint8Array): this {
    this.packed.header(OP_DELETE, cf);
    this.packed.bytes(key);
    this.ops++;
    return this;
  }

  deleteRange(cf: number, start: Uint8Array, end: Uint8Array): this {
    this.packed.header(OP_DELETE_RANGE, cf);
    this.packed.bytes(start);
    this.packed.bytes(end);
    this.ops++;
    return this;
  }

  get length(): number {
    return this.ops;
  }

  get byteLength(): number {
    return this.packed.length;
  }

  clear(): void {
    this.packed.reset();
    this.ops = 0;
  }

  /** The packed bytes (engine-internal). */
  packedBytes(): Uint8Array {
    return this.packed.written();
  }
}
