/**
 * `BlobWriter`: writes one file from a stream of pieces with few, large writes, and lets the
 * device write back while the body still arrives (ADR 0022). Small pieces (socket-sized, 64 KiB)
 * are gathered into `BATCH`-byte writes; large ones are written as they come; a large Payload's
 * pieces are written by its worker at offsets `reserve` hands out. Writes here are synchronous:
 * they only copy into the page cache (~0.2 ms per MiB), cheaper than a hop to another thread.
 * After every `EARLY_SYNC` bytes an `fdatasync` starts on the I/O threads (it mostly waits for
 * the device), so the last one has only the tail left. Each sync of a file of `DROP_BEHIND_MIN`
 * bytes or more then drops what it made durable from the page cache: the clean pages are freed
 * at once and the next writes reuse them while they are hot, instead of the cache growing into
 * memory not touched for long (on this VM, copying into such pages runs at 0.5–2.7 GiB/s against
 * ~5.8 GiB/s into reused ones), and large objects do not push smaller, hotter data out of the
 * cache. A piece handed to `push` may be reused once `push` returns.
 */
import { closeSync, fdatasync, writeSync } from "node:fs";
import { native } from "../../lib/native.ts";

const BATCH = 1 << 20;
const EARLY_SYNC = 16 << 20;
/** Files from this size on leave the page cache once durable (their GETs read the device). */
export const DROP_BEHIND_MIN = 8 << 20;

const datasync = (fd: number) => new Promise<void>((resolve, reject) => fdatasync(fd, (e) => (e ? reject(e) : resolve())));
/** fdatasync, then the whole file dropped from the page cache. */
const datasyncDrop = (fd: number) => native().datasyncDropCache(fd, 0, 0);

/** A source that puts its bytes into a BlobWriter itself (a Payload, through its workers). */
export interface BlobSource {
  /** Writes every byte (pushed or reserved) and resolves; nothing of it still runs on failure. */
  writeInto(out: BlobWriter): Promise<void>;
}

/** See the module comment. */
export class BlobWriter {
  private batch: Buffer | undefined;
  private batchFill = 0;
  private written = 0;
  private syncedUpTo = 0;
  private sync: Promise<void> | undefined;
  private failure: unknown;

  /** Writes into `fd` (an empty file opened for writing) from offset 0. */
  constructor(private readonly fd: number) {}

  /** Writes (or gathers) `piece`. @throws write errors. */
  push(piece: Uint8Array): void {
    if (this.failure) throw this.failure;
    if (piece.length >= BATCH / 4) {
      this.flushBatch();
      this.writeAll(piece);
    } else {
      if (this.batchFill + piece.length > BATCH) this.flushBatch();
      this.batch ??= Buffer.allocUnsafe(BATCH);
      this.batch.set(piece, this.batchFill);
      this.batchFill += piece.length;
    }
    this.syncEarly();
  }

  private syncEarly(): void {
    if (!this.sync && this.written - this.syncedUpTo >= EARLY_SYNC) {
      this.syncedUpTo = this.written;
      // An error seen here is not reported again to a later fdatasync on this descriptor.
      this.sync = datasyncDrop(this.fd)
        .catch((e) => {
          this.failure ??= e;
        })
        .finally(() => (this.sync = undefined));
    }
  }

  /**
   * Room for `n` bytes written by someone else (a worker, through `fd`) at the returned position:
   * what was pushed before comes first. The caller must have them written before `finish`.
   */
  reserve(n: number): { fd: number; pos: number } {
    if (this.failure) throw this.failure;
    this.flushBatch();
    const pos = this.written;
    this.written += n;
    this.syncEarly();
    return { fd: this.fd, pos };
  }

  /** Writes what is left and makes the file's data durable. @returns its size. */
  async finish(): Promise<number> {
    this.flushBatch();
    await this.sync;
    if (this.failure) throw this.failure;
    await (this.written >= DROP_BEHIND_MIN ? datasyncDrop(this.fd) : datasync(this.fd));
    return this.written;
  }

  /** Waits for an early sync still running, then closes the descriptor (after `finish`, or to give up). */
  async close(): Promise<void> {
    await this.sync;
    closeSync(this.fd);
  }

  private flushBatch(): void {
    if (!this.batchFill) return;
    const b = this.batch!.subarray(0, this.batchFill);
    this.batchFill = 0;
    this.writeAll(b);
  }

  private writeAll(buf: Uint8Array): void {
    for (let off = 0; off < buf.length; ) {
      const n = writeSync(this.fd, buf, off, buf.length - off, this.written);
      if (n <= 0) throw new Error("write made no progress");
      off += n;
      this.written += n;
    }
  }
}
