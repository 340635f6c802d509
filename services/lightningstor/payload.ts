/**
 * `Payload`: the body of an S3 request as a stream of its decoded bytes, verified on the way:
 * plain bodies (checked against `x-amz-content-sha256` when it is a hash), and `aws-chunked`
 * bodies — STREAMING-AWS4-HMAC-SHA256-PAYLOAD(-TRAILER), each chunk's signature chained from
 * the request's, and STREAMING-UNSIGNED-PAYLOAD-TRAILER with trailing `x-amz-checksum-*`.
 * Content-MD5 and x-amz-checksum-* are verified at the end. Every check runs before the
 * iterator completes, so a consumer commits only bodies that passed (the iterator throws).
 *
 * Bodies of `REMOTE_HASH_MIN` bytes or more are hashed (MD5, SHA-1, SHA-256) on a `hashPool`
 * worker thread while this thread receives the next bytes (ADR 0022): the decoded bytes are
 * copied once into shared pieces of `PIECE` bytes, which are posted to the worker (which also
 * writes them into the blob's file when the payload is stored through `writeInto`) and yielded.
 * The pieces are reused: a yielded piece is valid only until the next one is asked for (copy it
 * to keep it). Smaller bodies are hashed inline, as they arrive (a worker's round trip would cost
 * more), and yielded as received.
 */
import { createHash } from "node:crypto";
import { announcedChecksum, checksumHeader, contentMd5, newDigest, type ChecksumAlgorithm, type Digest } from "./checksum.ts";
import { S3Errors } from "./errors.ts";
import type { BlobSource, BlobWriter } from "./blob-writer.ts";
import { givePieces, hashPool, MAX_PENDING, PIECE, takePiece, type RemoteAlgorithm, type RemoteDigests } from "./hash-pool.ts";
import { EMPTY_SHA256, hmacHex, sameSignature, scopeOf, type SignedRequest } from "./sigv4.ts";

/** Declared sizes from which a body is hashed on a worker thread. */
export const REMOTE_HASH_MIN = 1 << 20;

/** What a verified body turned out to be. */
export interface PayloadResult {
  size: number;
  /** Hex MD5 of the decoded bytes (the ETag of a single-part object). */
  md5: string;
  /** The verified x-amz-checksum, if one was sent or asked for. */
  checksum?: { alg: ChecksumAlgorithm; value: string };
}

/** How to read one request's body. */
export interface PayloadOptions {
  headers: Headers;
  body: ReadableStream<Uint8Array> | null;
  /** The verified signature (absent: anonymous; no streaming signatures then). */
  sig?: SignedRequest;
  signingKey?: Buffer;
  /** Largest decoded size accepted. */
  maxSize: number;
}

const MAX_LINE = 8192;

/** Reads a byte stream with a small lookahead buffer. */
/** The part of a stream reader this file uses (Bun's and the DOM's types differ). */
interface ChunkReader {
  read(): Promise<{ done: true; value?: undefined } | { done: false; value: Uint8Array }>;
  cancel(): Promise<void>;
}

class ByteReader {
  private buf: Uint8Array = new Uint8Array(0);
  private done = false;
  constructor(private readonly reader: ChunkReader | undefined) {}

  private async fill(): Promise<boolean> {
    if (this.done || !this.reader) return false;
    let r: Awaited<ReturnType<ChunkReader["read"]>>;
    try {
      r = await this.reader.read();
    } catch (e) {
      throw S3Errors.IncompleteBody("the connection closed before the body was complete", { cause: e });
    }
    if (r.done) {
      this.done = true;
      return false;
    }
    this.buf = this.buf.length ? concat(this.buf, r.value) : r.value;
    return true;
  }

  /** Up to `max` bytes as they arrive (empty at the end of the stream). */
  async some(max: number): Promise<Uint8Array> {
    if (!this.buf.length && !(await this.fill())) return new Uint8Array(0);
    const out = this.buf.subarray(0, Math.min(max, this.buf.length));
    this.buf = this.buf.subarray(out.length);
    return out;
  }

  /** One CRLF-terminated line without the CRLF, or undefined at the end of the stream. */
  async line(): Promise<string | undefined> {
    for (;;) {
      const i = indexOfCrlf(this.buf);
      if (i >= 0) {
        const s = new TextDecoder().decode(this.buf.subarray(0, i));
        this.buf = this.buf.subarray(i + 2);
        return s;
      }
      if (this.buf.length > MAX_LINE) throw S3Errors.InvalidRequest("aws-chunked: a chunk header or trailer line is too long");
      if (!(await this.fill())) {
        if (this.buf.length) throw S3Errors.IncompleteBody("aws-chunked: the body ended inside a line");
        return undefined;
      }
    }
  }

  async rest(): Promise<boolean> {
    if (this.buf.length) return true;
    return this.fill();
  }

  cancel(): void {
    this.reader?.cancel().catch(() => {});
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function indexOfCrlf(b: Uint8Array): number {
  for (let i = 0; i + 1 < b.length; i++) if (b[i] === 13 && b[i + 1] === 10) return i;
  return -1;
}

/**
 * Streams a request body's decoded bytes; `result()` after the iterator completes.
 * @throws (from the iterator) S3:XAmzContentSHA256Mismatch, S3:SignatureDoesNotMatch (a chunk),
 *   S3:BadDigest (Content-MD5 or x-amz-checksum), S3:IncompleteBody, S3:EntityTooLarge,
 *   S3:InvalidRequest / S3:InvalidArgument for malformed framing or headers.
 */
export class Payload implements BlobSource {
  private readonly mode: string;
  private readonly expectedMd5: string | undefined;
  private readonly announced: ReturnType<typeof announcedChecksum>;
  private readonly declared: number | undefined;
  /** The digests computed on this thread, by name (`MD5`, `SHA256` for x-amz-content-sha256, `checksum`). */
  private readonly inline = new Map<string, Digest>();
  /** The digests computed on a worker: which name each algorithm stands for. */
  private readonly remoteNames = new Map<RemoteAlgorithm, string[]>();
  private remote: RemoteDigests | undefined;
  /** The pieces in turn: piece n is `ring[n % MAX_PENDING]`, refilled once the worker is past it. */
  private readonly ring: Uint8Array[] = [];
  private pieces = 0;
  private piece: Uint8Array | undefined;
  private pieceFill = 0;
  /** Where the workers write the pieces (`writeInto`), if anywhere. */
  private out: BlobWriter | undefined;
  private size = 0;
  private finished: PayloadResult | undefined;

  constructor(private readonly options: PayloadOptions) {
    const h = options.headers;
    this.mode = options.sig?.payloadHash ?? h.get("x-amz-content-sha256") ?? "UNSIGNED-PAYLOAD";
    this.expectedMd5 = contentMd5(h);
    this.announced = announcedChecksum(h);
    if (this.mode.startsWith("STREAMING-")) {
      if (!["STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"].includes(this.mode)) {
        throw S3Errors.InvalidArgument(`x-amz-content-sha256 ${JSON.stringify(this.mode)} is not supported`);
      }
      if (this.mode.includes("HMAC") && (!options.sig || !options.signingKey)) throw S3Errors.AccessDenied("a signed streaming body needs a signed request");
      const d = h.get("x-amz-decoded-content-length");
      if (d === null || !/^\d{1,15}$/.test(d)) throw S3Errors.MissingContentLength("x-amz-decoded-content-length is required with aws-chunked bodies");
      this.declared = Number(d);
    } else {
      const cl = h.get("content-length");
      this.declared = cl !== null && /^\d{1,15}$/.test(cl) ? Number(cl) : undefined;
    }
    if (this.declared !== undefined && this.declared > options.maxSize) throw S3Errors.EntityTooLarge(`your proposed upload exceeds the maximum allowed size of ${options.maxSize} bytes`);
    const wanted: [string, ChecksumAlgorithm | "MD5"][] = [["MD5", "MD5"]];
    if (/^[0-9a-f]{64}$/.test(this.mode)) wanted.push(["SHA256", "SHA256"]);
    if (this.announced) wanted.push(["checksum", this.announced.alg]);
    const remote = (this.declared ?? 0) >= REMOTE_HASH_MIN;
    for (const [name, alg] of wanted) {
      if (remote && (alg === "MD5" || alg === "SHA1" || alg === "SHA256")) this.remoteNames.set(alg, [...(this.remoteNames.get(alg) ?? []), name]);
      else this.inline.set(name, newDigest(alg));
    }
  }

  /** The declared decoded length, when known before reading. */
  get declaredSize(): number | undefined {
    return this.declared;
  }

  /** What the body was; only after the iterator completed. */
  result(): PayloadResult {
    if (!this.finished) throw S3Errors.InternalError("payload read before it was complete");
    return this.finished;
  }

  /** Counts and hashes decoded bytes; yields what is ready to be stored (`data`, or full pieces). */
  private async *take(data: Uint8Array): AsyncGenerator<Uint8Array> {
    this.size += data.length;
    if (this.size > this.options.maxSize) throw S3Errors.EntityTooLarge(`your proposed upload exceeds the maximum allowed size of ${this.options.maxSize} bytes`);
    for (const d of this.inline.values()) d.update(data);
    if (!this.remoteNames.size) {
      yield data;
      return;
    }
    this.remote ??= hashPool.open([...this.remoteNames.keys()]);
    for (let off = 0; off < data.length; ) {
      this.piece ??= this.nextPiece();
      const n = Math.min(PIECE - this.pieceFill, data.length - off);
      this.piece.set(n === data.length ? data : data.subarray(off, off + n), this.pieceFill);
      this.pieceFill += n;
      off += n;
      if (this.pieceFill === PIECE) yield await this.handOver();
    }
  }

  /**
   * The buffer for the next piece. Piece n reuses piece n - MAX_PENDING's buffer: the consumer has
   * asked for a later one since, and `RemoteDigests.update` returned only once the workers had
   * fewer than MAX_PENDING pieces queued, so they are past piece n - MAX_PENDING too.
   */
  private nextPiece(): Uint8Array {
    const i = this.pieces++ % MAX_PENDING;
    if (this.remote!.released < this.pieces - MAX_PENDING) throw S3Errors.InternalError("a piece was reused before it was hashed");
    return (this.ring[i] ??= takePiece());
  }

  /** Posts the current piece to the hashing worker and returns it (for the consumer). */
  private async handOver(): Promise<Uint8Array> {
    const piece = this.piece!.subarray(0, this.pieceFill);
    this.piece = undefined;
    this.pieceFill = 0;
    await this.remote!.update(piece, this.out?.reserve(piece.length));
    return piece;
  }

  /**
   * Stores the body in `out`: a large body's pieces are written by a worker (hash-pool.ts) while
   * another hashes them and this thread receives the next; a small body's chunks are pushed here.
   * @throws what the iterator throws; no worker write is running any more then.
   */
  async writeInto(out: BlobWriter): Promise<void> {
    if (!this.remoteNames.size) {
      for await (const c of this) out.push(c);
      return;
    }
    this.out = out;
    for await (const _ of this); // the pieces are written by the time the iterator completes
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    const reader = new ByteReader(this.options.body?.getReader() as ChunkReader | undefined);
    try {
      const trailers = new Map<string, string>();
      if (this.mode.startsWith("STREAMING-")) yield* this.chunked(reader, trailers);
      else {
        for (;;) {
          const piece = await reader.some(1 << 20);
          if (!piece.length) break;
          yield* this.take(piece);
        }
      }
      if (this.pieceFill) yield await this.handOver();
      await this.finish(trailers);
      givePieces(this.ring); // the worker is done (it answered with the digests), so is the consumer
    } catch (e) {
      reader.cancel();
      throw e;
    } finally {
      await this.remote?.settled(); // no worker may write into a file about to be closed
      this.remote?.drop();
    }
  }

  private async *chunked(reader: ByteReader, trailers: Map<string, string>): AsyncGenerator<Uint8Array> {
    const signed = this.mode.includes("HMAC");
    const sig = this.options.sig;
    let previous = sig?.signature ?? "";
    for (;;) {
      const header = await reader.line();
      if (header === undefined) throw S3Errors.IncompleteBody("aws-chunked: the body ended before the final chunk");
      const m = /^([0-9a-fA-F]{1,16})(?:;chunk-signature=([0-9a-f]{64}))?$/.exec(header.trim());
      if (!m || (signed && !m[2])) throw S3Errors.InvalidRequest("aws-chunked: malformed chunk header");
      const n = parseInt(m[1]!, 16);
      const chunkHash = signed ? createHash("sha256") : undefined;
      let left = n;
      while (left > 0) {
        const piece = await reader.some(left);
        if (!piece.length) throw S3Errors.IncompleteBody("aws-chunked: the body ended inside a chunk");
        left -= piece.length;
        chunkHash?.update(piece);
        yield* this.take(piece);
      }
      if (signed) {
        const sts = `AWS4-HMAC-SHA256-PAYLOAD\n${sig!.amzDate}\n${scopeOf(sig!)}\n${previous}\n${EMPTY_SHA256}\n${chunkHash!.digest("hex")}`;
        const expected = hmacHex(this.options.signingKey!, sts);
        if (!sameSignature(expected, m[2]!)) throw S3Errors.SignatureDoesNotMatch("aws-chunked: a chunk signature does not match");
        previous = expected;
      }
      if (n === 0) break;
      const crlf = await reader.line();
      if (crlf !== "") throw S3Errors.InvalidRequest("aws-chunked: a chunk is longer than its header says");
    }
    // Trailers (x-amz-checksum-*, x-amz-trailer-signature) up to an empty line or the end.
    const lines: string[] = [];
    for (;;) {
      const l = await reader.line();
      if (l === undefined || l === "") break;
      const i = l.indexOf(":");
      if (i <= 0) throw S3Errors.InvalidRequest("aws-chunked: malformed trailer");
      const name = l.slice(0, i).trim().toLowerCase();
      const value = l.slice(i + 1).trim();
      if (name === "x-amz-trailer-signature") {
        const sts = `AWS4-HMAC-SHA256-TRAILER\n${sig!.amzDate}\n${scopeOf(sig!)}\n${previous}\n${createHash("sha256").update(lines.join("")).digest("hex")}`;
        if (!signed || !sameSignature(hmacHex(this.options.signingKey!, sts), value)) throw S3Errors.SignatureDoesNotMatch("aws-chunked: the trailer signature does not match");
        continue;
      }
      lines.push(`${name}:${value}\n`);
      trailers.set(name, value);
    }
    if (await reader.rest()) throw S3Errors.InvalidRequest("aws-chunked: data after the trailers");
  }

  /** Every digest by name (`MD5`, `SHA256`, `checksum`), inline and remote. */
  private async digests(): Promise<Map<string, Buffer>> {
    const out = new Map<string, Buffer>();
    for (const [name, d] of this.inline) out.set(name, d.digest());
    if (this.remoteNames.size) {
      const values = await (this.remote ??= hashPool.open([...this.remoteNames.keys()])).digests();
      for (const [alg, names] of this.remoteNames) for (const name of names) out.set(name, values[alg]!);
    }
    return out;
  }

  private async finish(trailers: Map<string, string>): Promise<void> {
    if (this.declared !== undefined && this.size !== this.declared) {
      throw S3Errors.IncompleteBody(`you did not provide the number of bytes specified by the ${this.mode.startsWith("STREAMING-") ? "x-amz-decoded-content-length" : "Content-Length"} HTTP header`);
    }
    const digests = await this.digests();
    const sha256 = digests.get("SHA256");
    if (sha256 && sha256.toString("hex") !== this.mode) throw S3Errors.XAmzContentSHA256Mismatch("the provided 'x-amz-content-sha256' header does not match what was computed");
    const md5 = digests.get("MD5")!.toString("hex");
    if (this.expectedMd5 !== undefined && this.expectedMd5 !== md5) throw S3Errors.BadDigest("the Content-MD5 you specified did not match what we received");
    let checksum: PayloadResult["checksum"];
    const sum = digests.get("checksum");
    if (this.announced && sum) {
      const value = sum.toString("base64");
      const sent = this.announced.trailer ? trailers.get(checksumHeader(this.announced.alg)) : this.announced.value;
      if (this.announced.trailer && sent === undefined) throw S3Errors.InvalidRequest(`the trailer ${checksumHeader(this.announced.alg)} was promised but not sent`);
      if (sent !== undefined && sent !== value) throw S3Errors.BadDigest(`the ${this.announced.alg} you specified did not match the calculated checksum`);
      checksum = { alg: this.announced.alg, value };
    }
    this.finished = { size: this.size, md5, ...(checksum ? { checksum } : {}) };
  }
}

/** Reads a small body whole (XML documents), verified like any other. */
export async function readSmallBody(p: Payload): Promise<string> {
  const parts: Uint8Array[] = [];
  for await (const c of p) parts.push(Buffer.from(c)); // a copy: pieces are reused
  return new TextDecoder().decode(Buffer.concat(parts));
}

