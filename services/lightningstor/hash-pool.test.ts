/**
 * The hash workers batch the pieces of concurrent streams and hash their MD5s together in the
 * addon's SIMD lanes (ADR 0024): every stream's digests must be exactly its own, whatever the
 * other streams in its batches, and the bytes land at their offsets.
 */
import { afterAll, describe, expect, it } from "bun:test";
import { createHash } from "node:crypto";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HashPool, type RemoteAlgorithm } from "./hash-pool.ts";

const dir = mkdtempSync(join(tmpdir(), "lightningstor-hash-pool-"));
const pool = new HashPool(2);
afterAll(() => {
  pool.close();
  rmSync(dir, { recursive: true, force: true });
});

/** `n` bytes that differ per stream and per position. */
function bytes(seed: number, n: number): Uint8Array {
  const b = new Uint8Array(new SharedArrayBuffer(n));
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

describe("HashPool", () => {
  it("hashes many concurrent streams together, each exactly", async () => {
    // 24 streams, pieces of lengths that are not multiples of MD5's 64-byte block.
    const streams = Array.from({ length: 24 }, (_, i) => {
      const sizes = [65_536 + i * 7, 1_000 + i, 262_144, 33 + i * 5];
      const pieces = sizes.map((n, k) => bytes(i * 10 + k, n));
      const algs: RemoteAlgorithm[] = i % 3 === 0 ? ["MD5", "SHA256"] : ["MD5"];
      const path = join(dir, `s${i}`);
      return { pieces, algs, path, fd: openSync(path, "w+"), digests: pool.open(algs) };
    });
    // Interleaved, as 24 sockets deliver: piece k of every stream, then piece k + 1.
    for (let k = 0; k < 4; k++) {
      await Promise.all(
        streams.map((s) => {
          const pos = s.pieces.slice(0, k).reduce((n, p) => n + p.length, 0);
          return s.digests.update(s.pieces[k]!, { fd: s.fd, pos });
        }),
      );
    }
    for (const s of streams) {
      const whole = Buffer.concat(s.pieces);
      const got = await s.digests.digests();
      expect(got.MD5?.toString("hex")).toBe(createHash("md5").update(whole).digest("hex"));
      if (s.algs.includes("SHA256")) expect(got.SHA256?.toString("hex")).toBe(createHash("sha256").update(whole).digest("hex"));
      closeSync(s.fd);
      expect(readFileSync(s.path).equals(whole)).toBe(true);
    }
    const stats = pool.stats();
    expect(stats.warnings).toEqual([]);
    expect(stats.lanes.every((n) => (n ?? 0) >= 1)).toBe(true);
    expect(stats.widest).toBeGreaterThan(1); // pieces of several streams shared a pass
  });

  it("digests an empty stream and one that never got a piece", async () => {
    const d = pool.open(["MD5"]);
    expect((await d.digests()).MD5?.toString("hex")).toBe(createHash("md5").update("").digest("hex"));
  });
});
