/**
 * Large bodies: hashed on the worker threads (hash-pool.ts) in reused pieces, and written by
 * BlobWriter with gathered writes and early syncs. The digests, the checks and the stored bytes
 * must be exactly those of the inline path, whatever sizes the socket delivers.
 */
import { afterAll, describe, expect, it } from "bun:test";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32c } from "@node-rs/crc32";
import { BlobStore } from "./blobs.ts";
import { Payload, REMOTE_HASH_MIN } from "./payload.ts";

const dir = mkdtempSync(join(tmpdir(), "lightningstor-payload-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Deterministic bytes: every 4-byte word differs, so a piece reused too early changes the digest. */
function bytes(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i + 4 <= n; i += 4) b.writeUInt32LE((i * 2654435761) >>> 0, i);
  return b;
}

/** A body delivered in `sizes` (cycled), like a socket does. */
const stream = (b: Uint8Array, sizes: number[]) =>
  new ReadableStream<Uint8Array>({
    start(c) {
      for (let i = 0, k = 0; i < b.length; k++) {
        const n = sizes[k % sizes.length]!;
        c.enqueue(b.slice(i, i + n)); // fresh buffers, as a socket gives
        i += n;
      }
      c.close();
    },
  });

const b64 = (alg: string, b: Uint8Array) => createHash(alg).update(b).digest("base64");

describe("large bodies", () => {
  const body = bytes(REMOTE_HASH_MIN * 3 + 12_345);
  const md5 = createHash("md5").update(body).digest("hex");
  const sha256 = createHash("sha256").update(body).digest("hex");

  it("hashes MD5, the payload SHA-256 and an x-amz-checksum on workers, exactly", async () => {
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32c(body) >>> 0);
    for (const [alg, value] of [["SHA256", b64("sha256", body)], ["SHA1", b64("sha1", body)], ["CRC32C", crc.toString("base64")]] as const) {
      const headers = new Headers({ "content-length": String(body.length), "content-md5": createHash("md5").update(body).digest("base64"), "x-amz-content-sha256": sha256, [`x-amz-checksum-${alg.toLowerCase()}`]: value });
      const p = new Payload({ headers, body: stream(body, [65536, 7, 300_000]), maxSize: 1 << 30 });
      const got: Buffer[] = [];
      for await (const c of p) got.push(Buffer.from(c)); // copies: pieces are reused
      expect(Buffer.concat(got).equals(body)).toBe(true);
      expect(p.result()).toEqual({ size: body.length, md5, checksum: { alg, value } });
    }
  });

  it("refuses a wrong Content-MD5, x-amz-content-sha256 or checksum", async () => {
    const cases: [Record<string, string>, string][] = [
      [{ "content-md5": createHash("md5").update("other").digest("base64") }, "S3:BadDigest"],
      [{ "x-amz-content-sha256": createHash("sha256").update("other").digest("hex") }, "S3:XAmzContentSHA256Mismatch"],
      [{ "x-amz-checksum-sha256": b64("sha256", Buffer.from("other")) }, "S3:BadDigest"],
    ];
    for (const [extra, code] of cases) {
      const p = new Payload({ headers: new Headers({ "content-length": String(body.length), ...extra }), body: stream(body, [65536]), maxSize: 1 << 30 });
      const blobs = new BlobStore(join(dir, "refused"));
      await expect(blobs.write(p)).rejects.toMatchObject({ code });
      expect(blobs.tempFiles()).toBe(0);
      expect(blobs.blobFiles()).toBe(0);
    }
  });

  it("stores the bytes as sent through gathered writes and early syncs (past 16 MiB)", async () => {
    const big = bytes(40 * 1024 * 1024 + 3);
    const blobs = new BlobStore(join(dir, "stored"));
    const p = new Payload({ headers: new Headers({ "content-length": String(big.length) }), body: stream(big, [65536, 1000, 2 << 20]), maxSize: 1 << 30 });
    const seg = await blobs.write(p);
    expect(seg.size).toBe(big.length);
    expect(p.result().md5).toBe(createHash("md5").update(big).digest("hex"));
    expect(readFileSync(join(dir, "stored", "blobs", seg.file)).equals(big)).toBe(true);
    // Small pieces straight from a file stream (joins, UploadPartCopy) are gathered too.
    const small = await blobs.write(stream(body, [1000, 65536]) as unknown as AsyncIterable<Uint8Array>);
    expect(readFileSync(join(dir, "stored", "blobs", small.file)).equals(body)).toBe(true);
  });

  it("hashes small bodies inline with the same results", async () => {
    const small = bytes(REMOTE_HASH_MIN - 1);
    const p = new Payload({ headers: new Headers({ "content-length": String(small.length) }), body: stream(small, [65536]), maxSize: 1 << 30 });
    for await (const _ of p);
    expect(p.result().md5).toBe(createHash("md5").update(small).digest("hex"));
  });
});
