/**
 * `HashPool`: MD5 / SHA-1 / SHA-256 of request bodies computed on worker threads, which also
 * write the bytes into their file, so that a large PUT's hashing (S3's MD5 ETag runs at
 * ~840 MiB/s on one core here) and its writes overlap with receiving the bytes on the main thread
 * instead of adding to it (ADR 0022). Bytes travel in SharedArrayBuffer-backed pieces: posting
 * one shares it, no copy; a worker hashes pieces and then writes them.
 * Each stream keeps at most `MAX_PENDING` pieces waiting for its worker (bounded memory; the
 * reader waits). Streams alternate between the workers.
 *
 * A worker holds the pieces it receives until one stream has `HOLD` of them, then hashes the MD5s
 * of every held stream together in the addon's SIMD lanes (`Md5Lanes`, md5-many: 16 streams at
 * ~6 GiB/s here, one at ~0.85 GiB/s; ADR 0024). One stream alone costs what it did.
 *
 * The workers' code is this module's `workerMain`, started from a Blob URL, so it needs no
 * separate entry point in `bun build --compile`.
 */

import { nativeAddonPath } from "../../lib/native.ts";

/** The algorithms a worker computes (the CRCs stay inline: SIMD, several GiB/s). */
export type RemoteAlgorithm = "MD5" | "SHA1" | "SHA256";

/** Pieces a stream may have queued at its worker before `update` waits. */
export const MAX_PENDING = 8;

type ToWorker =
  | { t: "open"; id: number; algs: RemoteAlgorithm[] }
  | { t: "piece"; id: number; data: Uint8Array; fd: number; pos: number }
  | { t: "digest"; id: number }
  | { t: "settle"; id: number }
  | { t: "drop"; id: number };
type FromWorker =
  | { t: "done"; id: number; error?: string }
  | { t: "digest"; id: number; values: Record<string, Uint8Array>; widest: number }
  | { t: "ready"; lanes: number }
  | { t: "warn"; message: string };

/** The worker's whole program; runs in a worker thread (no module scope: it is stringified). */
function workerMain(addonPath: string | null): void {
  // Not require(): `bun build --compile` rewrites it into a helper this text does not carry.
  const fs = process.getBuiltinModule("node:fs") as typeof import("node:fs");
  type Lanes = { lanes: number; open(): number; update(slots: number[], datas: Uint8Array[]): void; digest(slot: number): Uint8Array; close(slot: number): void };
  type Stream = { md5?: number; md5h?: Bun.CryptoHasher; others: { alg: string; h: Bun.CryptoHasher }[] };
  type Piece = Extract<ToWorker, { t: "piece" }>;
  const scope = globalThis as unknown as { onmessage: (e: MessageEvent) => void; postMessage(m: unknown): void };
  // MD5 through the addon's multi-buffer lanes (pieces of different streams hashed together);
  // Bun's one-stream MD5 when the addon does not load here.
  let lanes: Lanes | undefined;
  try {
    const mod = { exports: {} as { Md5Lanes?: new () => Lanes } };
    if (addonPath) process.dlopen(mod, addonPath);
    if (mod.exports.Md5Lanes) lanes = new mod.exports.Md5Lanes();
  } catch (e) {
    scope.postMessage({ t: "warn", message: `multi-buffer MD5 unavailable: ${String((e as Error)?.message ?? e)}` });
  }
  scope.postMessage({ t: "ready", lanes: lanes?.lanes ?? 0 });
  const streams = new Map<number, Stream>();
  const queue: ToWorker[] = [];
  let scheduled = false;
  let widest = 0; // the most streams one MD5 pass has hashed together

  const close = (id: number) => {
    const s = streams.get(id);
    if (s?.md5 !== undefined) lanes?.close(s.md5);
    streams.delete(id);
  };
  /** Hashes a batch of pieces (several streams' MD5 in one multi-buffer pass per round), then writes each. */
  const flush = (batch: Piece[]) => {
    if (batch.length === 0) return;
    const rounds: Piece[][] = [];
    const seen = new Map<number, number>();
    for (const m of batch) {
      const s = streams.get(m.id);
      if (!s) continue;
      for (const d of s.others) d.h.update(m.data);
      s.md5h?.update(m.data);
      if (s.md5 === undefined) continue;
      const r = seen.get(m.id) ?? 0;
      seen.set(m.id, r + 1);
      (rounds[r] ??= []).push(m);
    }
    for (const round of rounds) {
      lanes!.update(
        round.map((m) => streams.get(m.id)!.md5!),
        round.map((m) => m.data),
      );
      widest = Math.max(widest, round.length);
    }
    for (const m of batch) {
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
    }
  };
  // Pieces are held until some stream has `HOLD` of them (or a stream is settled, digested or
  // dropped): each pass then hashes every held piece, the streams side by side in the lanes.
  // Its reader only waits at MAX_PENDING (> HOLD) pieces, so a held stream keeps sending.
  const HOLD = 4;
  const held: Piece[] = [];
  const heldOf = new Map<number, number>();
  const pass = () => {
    heldOf.clear();
    flush(held.splice(0));
  };
  /** Runs every queued message in order. */
  const run = () => {
    scheduled = false;
    let full = false;
    for (const m of queue.splice(0)) {
      if (m.t === "piece") {
        held.push(m);
        const n = (heldOf.get(m.id) ?? 0) + 1;
        heldOf.set(m.id, n);
        full ||= n >= HOLD;
        continue;
      }
      if (heldOf.has(m.id)) pass();
      if (m.t === "open") {
        const s: Stream = { others: [] };
        for (const alg of m.algs) {
          if (alg === "MD5" && lanes) s.md5 = lanes.open();
          else if (alg === "MD5") s.md5h = new Bun.CryptoHasher("md5");
          else s.others.push({ alg, h: new Bun.CryptoHasher(alg.toLowerCase() as "sha1") });
        }
        streams.set(m.id, s);
      } else if (m.t === "digest") {
        const s = streams.get(m.id);
        const values: Record<string, Uint8Array> = {};
        if (s?.md5 !== undefined) values.MD5 = new Uint8Array(lanes!.digest(s.md5));
        if (s?.md5h) values.MD5 = new Uint8Array(s.md5h.digest() as Uint8Array);
        for (const d of s?.others ?? []) values[d.alg] = new Uint8Array(d.h.digest() as Uint8Array);
        close(m.id);
        scope.postMessage({ t: "digest", id: m.id, values, widest });
      } else if (m.t === "drop") close(m.id);
      // "settle": the pass above was all it asked for
    }
    if (full) pass();
  };
  // Messages wait in `queue` until the worker is free, then run in order.
  scope.onmessage = (e: MessageEvent) => {
    queue.push(e.data as ToWorker);
    if (!scheduled) {
      scheduled = true;
      setImmediate(run);
    }
  };
}

class PoolWorker {
  readonly worker: Worker;
  /** The streams this worker serves. */
  readonly streams = new Map<number, RemoteDigests>();
  /** MD5 lanes of the worker's multi-buffer hashing (0: one stream at a time), once it reported. */
  lanes: number | undefined;
  /** Why the worker hashes MD5 one stream at a time, if it does. */
  warning: string | undefined;
  /** The most streams one of its MD5 passes hashed together (as of its last digest). */
  widest = 0;

  constructor(url: string, onExit: () => void) {
    this.worker = new Worker(url);
    this.worker.unref();
    this.worker.onmessage = (e: MessageEvent) => {
      const m = e.data as FromWorker;
      if (m.t === "ready") this.lanes = m.lanes;
      else if (m.t === "warn") this.warning = m.message;
      else {
        const s = this.streams.get(m.id);
        if (m.t === "done") s?.onDone(m.error);
        else {
          this.widest = Math.max(this.widest, m.widest);
          s?.onDigest(m.values);
        }
      }
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
    if (this.pending > 0 && !this.failed) this.worker.post({ t: "settle", id: this.id });
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
    this.url ??= URL.createObjectURL(new Blob([`(${workerMain.toString()})(${JSON.stringify(addonPath())});`], { type: "application/javascript" }));
    const w = (this.workers[i] ??= new PoolWorker(this.url, () => {
      if (this.workers[i] === w) this.workers[i] = undefined;
    }));
    return w;
  }

  /** Digests of `algs` for one new stream, on the next worker in turn. */
  open(algs: RemoteAlgorithm[]): RemoteDigests {
    return new RemoteDigests(this.worker(this.next++ % this.workers.length), ++this.ids, algs);
  }

  /** What the started workers reported: their MD5 lanes (0: one stream at a time), the most streams one pass hashed, and why not more. */
  stats(): { lanes: (number | undefined)[]; widest: number; warnings: string[] } {
    const live = this.workers.filter((w): w is PoolWorker => w !== undefined);
    const widest = Math.max(0, ...live.map((w) => w.widest));
    return { lanes: live.map((w) => w.lanes), widest, warnings: live.flatMap((w) => (w.warning ? [w.warning] : [])) };
  }

  /** Stops the workers (they are unref'd: a process may also just exit). */
  close(): void {
    for (const w of this.workers) w?.worker.terminate();
    this.workers.fill(undefined);
  }
}

/** The addon's file for the workers' `process.dlopen`, or null when it cannot be located. */
function addonPath(): string | null {
  try {
    return nativeAddonPath();
  } catch {
    return null;
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
