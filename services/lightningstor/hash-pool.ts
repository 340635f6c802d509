/**
 * `HashPool`: MD5 / SHA-1 / SHA-256 of request bodies computed on worker threads, which also
 * write the bytes into their file, so that a large PUT's hashing (S3's MD5 ETag runs at
 * ~840 MiB/s on one core here) and its writes overlap with receiving the bytes on the main thread
 * instead of adding to it (ADR 0022). Bytes travel in SharedArrayBuffer-backed pieces: posting
 * one shares it, no copy; a worker hashes a piece and writes it while it is in its core's cache.
 * Each stream keeps at most `MAX_PENDING` pieces waiting for its worker (bounded memory; the
 * reader waits). Streams alternate between the workers.
 *
 * The workers' code is this module's `workerMain`, started from a Blob URL, so it needs no
 * separate entry point in `bun build --compile`.
 */

/** The algorithms a worker computes (the CRCs stay inline: SIMD, several GiB/s). */
export type RemoteAlgorithm = "MD5" | "SHA1" | "SHA256";

/** Pieces a stream may have queued at its worker before `update` waits. */
export const MAX_PENDING = 8;

type ToWorker =
  | { t: "open"; id: number; algs: RemoteAlgorithm[] }
  | { t: "piece"; id: number; data: Uint8Array; fd: number; pos: number }
  | { t: "digest"; id: number }
  | { t: "drop"; id: number };
type FromWorker = { t: "done"; id: number; error?: string } | { t: "digest"; id: number; values: Record<string, Uint8Array> };

/** The worker's whole program; runs in a worker thread (no module scope: it is stringified). */
function workerMain(): void {
  // Not require(): `bun build --compile` rewrites it into a helper this text does not carry.
  const fs = process.getBuiltinModule("node:fs") as typeof import("node:fs");
  const streams = new Map<number, { alg: string; h: Bun.CryptoHasher }[]>();
  const scope = globalThis as unknown as { onmessage: (e: MessageEvent) => void; postMessage(m: unknown): void };
  scope.onmessage = (e: MessageEvent) => {
    const m = e.data as ToWorker;
    if (m.t === "open") streams.set(m.id, m.algs.map((alg) => ({ alg, h: new Bun.CryptoHasher(alg.toLowerCase() as "md5") })));
    else if (m.t === "piece") {
      // Hashed, then written while the bytes are still in this core's cache.
      for (const d of streams.get(m.id) ?? []) d.h.update(m.data);
      try {
        for (let off = 0; m.fd >= 0 && off < m.data.length; ) {
          const n = fs.writeSync(m.fd, m.data, off, m.data.length - off, m.pos + off);
          if (n <= 0) throw new Error("write made no progress");
          off += n;
        }
        scope.postMessage({ t: "done", id: m.id });
      } catch (err) {
        scope.postMessage({ t: "done", id: m.id, error: String((err as Error)?.message ?? err) });
      }
    } else if (m.t === "digest") {
      const values: Record<string, Uint8Array> = {};
      for (const d of streams.get(m.id) ?? []) values[d.alg] = new Uint8Array(d.h.digest() as Uint8Array);
      streams.delete(m.id);
      scope.postMessage({ t: "digest", id: m.id, values });
    } else streams.delete(m.id);
  };
}

class PoolWorker {
  readonly worker: Worker;
  /** The streams this worker serves. */
  readonly streams = new Map<number, RemoteDigests>();

  constructor(url: string, onExit: () => void) {
    this.worker = new Worker(url);
    this.worker.unref();
    this.worker.onmessage = (e: MessageEvent) => {
      const m = e.data as FromWorker;
      const s = this.streams.get(m.id);
      if (!s) return;
      if (m.t === "done") s.onDone(m.error);
      else s.onDigest(m.values);
    };
    const die = (e: unknown) => {
      const err = new Error("a hashing worker stopped", { cause: e });
      for (const s of this.streams.values()) s.onFail(err);
      this.streams.clear();
      onExit();
    };
    this.worker.onerror = die;
    this.worker.addEventListener("close", die);
  }

  post(m: ToWorker): void {
    this.worker.postMessage(m);
  }
}

/**
 * One stream's digests, computed by a worker, which also writes the pieces into the stream's file
 * when told where. Call `update` with each piece in order (awaiting it), then `digests` once;
 * `settled` before giving up on a file; `drop` when the stream is abandoned.
 */
export class RemoteDigests {
  private failed: Error | undefined;
  private posted = 0;
  private pending = 0;
  private writeError: Error | undefined;
  private wake: (() => void) | undefined;
  private done: ((values: Record<string, Uint8Array>) => void) | undefined;
  private reject: ((e: Error) => void) | undefined;

  constructor(
    private readonly worker: PoolWorker,
    private readonly id: number,
    algs: RemoteAlgorithm[],
  ) {
    worker.streams.set(id, this);
    worker.post({ t: "open", id, algs });
  }

  /**
   * Hands `piece` (which must lie in a SharedArrayBuffer and must not change until `released`
   * counts it) to the worker, which hashes it and, when `file` says where, writes it there;
   * resolves once fewer than `MAX_PENDING` pieces wait.
   * @throws when the worker died or a write failed.
   */
  async update(piece: Uint8Array, file?: { fd: number; pos: number }): Promise<void> {
    this.check();
    this.posted++;
    this.pending++;
    this.worker.post({ t: "piece", id: this.id, data: piece, fd: file?.fd ?? -1, pos: file?.pos ?? 0 });
    while (this.pending >= MAX_PENDING && !this.failed && !this.writeError) await new Promise<void>((r) => (this.wake = r));
    this.check();
  }

  /** How many of the pieces posted so far the worker is done with (they go in order). */
  get released(): number {
    return this.posted - this.pending;
  }

  /** Resolves once the worker is done with every piece (whatever happened). */
  async settled(): Promise<void> {
    while (this.pending > 0 && !this.failed) await new Promise<void>((r) => (this.wake = r));
  }

  /** The digests of every piece, by algorithm. @throws when the worker died or a write failed. */
  async digests(): Promise<Partial<Record<RemoteAlgorithm, Buffer>>> {
    await this.settled();
    this.check();
    const values = await new Promise<Record<string, Uint8Array>>((resolve, reject) => {
      this.done = resolve;
      this.reject = reject;
      this.worker.post({ t: "digest", id: this.id });
    });
    return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Buffer.from(v)]));
  }

  /** Forgets the stream (its worker drops the state). */
  drop(): void {
    if (!this.worker.streams.delete(this.id)) return;
    this.worker.post({ t: "drop", id: this.id });
  }

  /** @internal (PoolWorker) */
  onDone(error?: string): void {
    this.pending--;
    if (error) this.writeError ??= new Error(`writing an object's bytes failed: ${error}`);
    this.poke();
  }

  /** @internal (PoolWorker) */
  onDigest(values: Record<string, Uint8Array>): void {
    this.worker.streams.delete(this.id);
    this.done?.(values);
  }

  /** @internal (PoolWorker) */
  onFail(e: Error): void {
    this.failed ??= e;
    this.reject?.(e);
    this.poke();
  }

  private poke(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private check(): void {
    if (this.failed) throw this.failed;
    if (this.writeError) throw this.writeError;
  }
}

/** See the module comment. */
export class HashPool {
  private readonly workers: (PoolWorker | undefined)[];
  private url: string | undefined;
  private next = 0;
  private ids = 0;

  /** `size` worker threads, started on first use (default: 2). */
  constructor(size = 2) {
    this.workers = new Array(Math.max(1, size)).fill(undefined);
  }

  private worker(i: number): PoolWorker {
    this.url ??= URL.createObjectURL(new Blob([`(${workerMain.toString()})();`], { type: "application/javascript" }));
    const w = (this.workers[i] ??= new PoolWorker(this.url, () => {
      if (this.workers[i] === w) this.workers[i] = undefined;
    }));
    return w;
  }

  /** Digests of `algs` for one new stream, on the next worker in turn. */
  open(algs: RemoteAlgorithm[]): RemoteDigests {
    return new RemoteDigests(this.worker(this.next++ % this.workers.length), ++this.ids, algs);
  }

  /** Stops the workers (they are unref'd: a process may also just exit). */
  close(): void {
    for (const w of this.workers) w?.worker.terminate();
    this.workers.fill(undefined);
  }
}

/** The process's pool (two threads: the machines this targets have few cores). */
export const hashPool = new HashPool(2);

/** The size of the pieces bytes travel in: small enough to stay in a core's cache between the hash and the write. */
export const PIECE = 256 << 10;
const freePieces: Uint8Array[] = [];
const MAX_FREE_PIECES = 256; // 64 MiB

/**
 * A `PIECE`-byte buffer a worker can read without a copy, reused when one was given back (a fresh
 * SharedArrayBuffer costs zeroing and page faults: ~0.7 ms per MiB here).
 */
export const takePiece = (): Uint8Array => freePieces.pop() ?? new Uint8Array(new SharedArrayBuffer(PIECE));

/** Gives back pieces nothing reads any more (neither a worker nor a consumer). */
export function givePieces(pieces: Iterable<Uint8Array>): void {
  for (const p of pieces) if (freePieces.length < MAX_FREE_PIECES) freePieces.push(p);
}
