/**
 * `BlobStore`: object bytes as plain files under `<data dir>/blobs/`, written atomically: a
 * temp file in `<data dir>/tmp/`, fsync, rename into place, fsync of the directory. File names
 * are random ids chosen here (never derived from object keys), so nothing a client sends can
 * name a path, let alone one outside the data directory. A crash leaves at worst an orphan temp
 * file (removed at start) or an unreferenced blob; never a partial object, since metadata points
 * at a blob only after it is complete and durable.
 */
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readdirSync, rmSync, unlink, unlinkSync } from "node:fs";
import { rename } from "node:fs/promises";
import { join } from "node:path";
import { BlobWriter, type BlobSource } from "./blob-writer.ts";
import type { Segment } from "./types.ts";

const NAME = /^[0-9a-f]{2}\/[0-9a-f]{30}$/;
/** How long a replaced or deleted blob stays on disk (see `remove`). */
export const REMOVE_GRACE_MS = 5_000;

function fsyncDir(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** See the module comment. */
export class BlobStore {
  private readonly blobs: string;
  private readonly tmp: string;

  /** Uses `<dir>/blobs` and `<dir>/tmp`, creating them and emptying `tmp`. */
  constructor(dir: string) {
    this.blobs = join(dir, "blobs");
    this.tmp = join(dir, "tmp");
    mkdirSync(this.blobs, { recursive: true, mode: 0o700 });
    rmSync(this.tmp, { recursive: true, force: true });
    mkdirSync(this.tmp, { recursive: true, mode: 0o700 });
  }

  private path(file: string): string {
    if (!NAME.test(file)) throw new Error(`not a blob name: ${JSON.stringify(file)}`);
    return join(this.blobs, file);
  }

  private newName(): string {
    const id = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("hex");
    return `${id.slice(0, 2)}/${id.slice(2)}`;
  }

  /**
   * Writes `data` to a new blob and makes it durable; nothing is left behind if `data` throws.
   * Each piece is written before the next is asked for (a producer may then reuse it); a
   * `BlobSource` (a large Payload) writes its pieces itself, from its workers.
   * @returns the blob's segment.
   */
  async write(data: AsyncIterable<Uint8Array> | BlobSource): Promise<Segment> {
    const file = this.newName();
    const tmp = join(this.tmp, file.replace("/", ""));
    const out = new BlobWriter(openSync(tmp, "wx", 0o600));
    let size: number;
    try {
      if ("writeInto" in data) await data.writeInto(out);
      else for await (const chunk of data) out.push(chunk);
      size = await out.finish();
    } catch (e) {
      await out.close().catch(() => {});
      rmSync(tmp, { force: true });
      throw e;
    }
    await out.close();
    const dir = join(this.blobs, file.slice(0, 2));
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    await rename(tmp, join(this.blobs, file));
    fsyncDir(dir);
    return { file, size };
  }

  /** A new name for the same bytes (a hard link): copies cost no I/O. */
  link(seg: Segment): Segment {
    const file = this.newName();
    const dir = join(this.blobs, file.slice(0, 2));
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    linkSync(this.path(seg.file), join(this.blobs, file));
    fsyncDir(dir);
    return { file, size: seg.size };
  }

  /**
   * The bytes `[start, end)` as a file-backed body when they lie in one segment (Bun sends it
   * with a Content-Length, by sendfile), or undefined when they span several.
   */
  body(segments: readonly Segment[], start: number, end: number): Blob | undefined {
    let base = 0;
    for (const s of segments) {
      if (start >= base && end <= base + s.size) return Bun.file(this.path(s.file)).slice(start - base, end - base);
      base += s.size;
    }
    return undefined;
  }

  /** The bytes `[start, end)` of the concatenated segments, streamed. */
  read(segments: readonly Segment[], start: number, end: number): ReadableStream<Uint8Array> {
    const pieces: { path: string; from: number; to: number }[] = [];
    let base = 0;
    for (const s of segments) {
      const from = Math.max(start - base, 0);
      const to = Math.min(end - base, s.size);
      if (from < to) pieces.push({ path: this.path(s.file), from, to });
      base += s.size;
    }
    if (pieces.length === 1) {
      const p = pieces[0]!;
      return Bun.file(p.path).slice(p.from, p.to).stream();
    }
    let i = 0;
    let current: { read(): Promise<{ done: boolean; value?: Uint8Array }>; cancel(): Promise<void> } | undefined;
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        for (;;) {
          if (!current) {
            const p = pieces[i++];
            if (!p) return controller.close();
            current = Bun.file(p.path).slice(p.from, p.to).stream().getReader();
          }
          const r = await current.read();
          if (r.done || !r.value) {
            current = undefined;
            continue;
          }
          controller.enqueue(r.value);
          return;
        }
      },
      cancel() {
        current?.cancel().catch(() => {});
      },
    });
  }

  /**
   * Removes blobs after `REMOVE_GRACE_MS`: a GET answered just before may not have opened its
   * file yet (Bun opens file bodies when it sends them); once open, unlinking is harmless.
   * Missing files are ignored. A crash before the timer fires leaves unreferenced files (for the
   * start-up scrub).
   */
  remove(segments: readonly Segment[]): void {
    if (!segments.length) return;
    // Unlinked on the I/O threads: freeing a large file's pages takes milliseconds.
    const t = setTimeout(() => {
      for (const s of segments) if (NAME.test(s.file)) unlink(join(this.blobs, s.file), () => {});
    }, REMOVE_GRACE_MS);
    t.unref?.();
  }

  /** Removes blobs at once (missing ones are ignored). */
  removeNow(segments: readonly Segment[]): void {
    for (const s of segments) {
      try {
        unlinkSync(this.path(s.file));
      } catch {
        // already gone
      }
    }
  }

  /**
   * Deletes every blob that `referenced` does not name: what a crash left between a file's
   * rename and its record, or within the grace period of a removal. Call it only while nothing
   * is being written (at start).
   * @returns how many files were removed.
   */
  scrub(referenced: ReadonlySet<string>): number {
    let removed = 0;
    for (const dir of readdirSync(this.blobs)) {
      if (!/^[0-9a-f]{2}$/.test(dir)) continue;
      for (const f of readdirSync(join(this.blobs, dir))) {
        if (!referenced.has(`${dir}/${f}`)) {
          rmSync(join(this.blobs, dir, f), { force: true });
          removed++;
        }
      }
    }
    return removed;
  }

  /** Number of blob files (tests). */
  blobFiles(): number {
    return readdirSync(this.blobs).reduce((n, d) => n + readdirSync(join(this.blobs, d)).length, 0);
  }

  /** Number of files in the temp directory (tests: nothing is left behind). */
  tempFiles(): number {
    return readdirSync(this.tmp).length;
  }
}
