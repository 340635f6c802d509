/**
 * The checksums S3 verifies and returns: Content-MD5 (and the MD5 ETag), and `x-amz-checksum-*`
 * with CRC32, CRC32C (SIMD, from @node-rs/crc32), SHA-1 and SHA-256, all computed incrementally
 * as the body streams through. Values are base64 of the big-endian digest, as S3 sends them.
 */
import { crc32, crc32c } from "@node-rs/crc32";
import { S3Errors } from "./errors.ts";

/** The x-amz-checksum algorithms. */
export type ChecksumAlgorithm = "CRC32" | "CRC32C" | "SHA1" | "SHA256";
export const CHECKSUM_ALGORITHMS: readonly ChecksumAlgorithm[] = ["CRC32", "CRC32C", "SHA1", "SHA256"];

/** The header carrying an algorithm's value (`x-amz-checksum-crc32`). */
export const checksumHeader = (a: ChecksumAlgorithm): string => `x-amz-checksum-${a.toLowerCase()}`;

/** An incremental digest. */
export interface Digest {
  update(data: Uint8Array): void;
  /** The digest's bytes. */
  digest(): Buffer;
}

class CrcDigest implements Digest {
  private state = 0;
  constructor(private readonly fn: (input: Buffer, initial?: number) => number) {}
  update(data: Uint8Array): void {
    this.state = this.fn(Buffer.from(data.buffer, data.byteOffset, data.byteLength), this.state);
  }
  digest(): Buffer {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(this.state >>> 0);
    return b;
  }
}

class HashDigest implements Digest {
  private readonly h: Bun.CryptoHasher;
  constructor(alg: "md5" | "sha1" | "sha256") {
    this.h = new Bun.CryptoHasher(alg);
  }
  update(data: Uint8Array): void {
    this.h.update(data);
  }
  digest(): Buffer {
    return Buffer.from(this.h.digest());
  }
}

/** A new incremental digest of `alg` (or MD5). */
export function newDigest(alg: ChecksumAlgorithm | "MD5"): Digest {
  switch (alg) {
    case "CRC32": return new CrcDigest(crc32);
    case "CRC32C": return new CrcDigest(crc32c);
    case "SHA1": return new HashDigest("sha1");
    case "SHA256": return new HashDigest("sha256");
    case "MD5": return new HashDigest("md5");
  }
}

/** The algorithm named by a header value (`crc32`, `CRC32C`...), or undefined. */
export function checksumAlgorithm(name: string | null | undefined): ChecksumAlgorithm | undefined {
  const up = (name ?? "").toUpperCase();
  return (CHECKSUM_ALGORITHMS as readonly string[]).includes(up) ? (up as ChecksumAlgorithm) : undefined;
}

const DIGEST_BYTES: Record<ChecksumAlgorithm, number> = { CRC32: 4, CRC32C: 4, SHA1: 20, SHA256: 32 };

/**
 * The checksum a request announces in its headers (at most one), or the one it promises in a
 * trailer (`x-amz-trailer`).
 * @throws S3:InvalidRequest for several or a malformed value.
 */
export function announcedChecksum(headers: Headers): { alg: ChecksumAlgorithm; value?: string; trailer: boolean } | undefined {
  const found: { alg: ChecksumAlgorithm; value: string }[] = [];
  for (const alg of CHECKSUM_ALGORITHMS) {
    const v = headers.get(checksumHeader(alg));
    if (v !== null) found.push({ alg, value: v.trim() });
  }
  if (found.length > 1) throw S3Errors.InvalidRequest("expecting a single x-amz-checksum- header; multiple checksum types are not allowed");
  if (found.length === 1) {
    const { alg, value } = found[0]!;
    if (Buffer.from(value, "base64").length !== DIGEST_BYTES[alg]) throw S3Errors.InvalidRequest(`value for ${checksumHeader(alg)} header is invalid`);
    return { alg, value, trailer: false };
  }
  const trailer = headers.get("x-amz-trailer");
  if (trailer !== null) {
    const alg = checksumAlgorithm(/^x-amz-checksum-([a-z0-9]+)$/i.exec(trailer.trim())?.[1]);
    if (!alg) throw S3Errors.InvalidRequest(`unsupported x-amz-trailer ${JSON.stringify(trailer)}`);
    return { alg, trailer: true };
  }
  const sdkAlg = headers.get("x-amz-sdk-checksum-algorithm");
  if (sdkAlg !== null) {
    const alg = checksumAlgorithm(sdkAlg);
    if (!alg) throw S3Errors.InvalidRequest(`unsupported x-amz-sdk-checksum-algorithm ${JSON.stringify(sdkAlg)}`);
    return { alg, trailer: false };
  }
  return undefined;
}

/**
 * The Content-MD5 header as hex, or undefined.
 * @throws S3:InvalidDigest when it is not the base64 of 16 bytes.
 */
export function contentMd5(headers: Headers): string | undefined {
  const v = headers.get("content-md5");
  if (v === null) return undefined;
  const b = Buffer.from(v.trim(), "base64");
  if (b.length !== 16 || !/^[A-Za-z0-9+/]+={0,2}$/.test(v.trim())) throw S3Errors.InvalidDigest("the Content-MD5 you specified was invalid");
  return b.toString("hex");
}
