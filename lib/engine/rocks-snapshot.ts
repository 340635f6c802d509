/** A RocksDB snapshot: reads at a fixed point, released explicitly or with its database. */
import type { Database as NativeDatabase } from "../../native/photon-native.d.ts";
import { fromNative } from "./errors.ts";
import type { Snapshot } from "./kv-engine.ts";
import type { FfiReads } from "./rocks-ffi.ts";
import { RocksReader } from "./rocks-reader.ts";

/** A snapshot of a RocksEngine. */
export class RocksSnapshot extends RocksReader implements Snapshot {
  private released = false;

  constructor(db: NativeDatabase, id: number, ffi: FfiReads | undefined) {
    super(db, id, ffi);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    if (!this.db.isOpen) return; // closing the database released it already
    try {
      this.db.releaseSnapshot(this.snapshotId!);
    } catch (e) {
      throw fromNative(e);
    }
  }

  [Symbol.dispose](): void {
    this.release();
  }
}
