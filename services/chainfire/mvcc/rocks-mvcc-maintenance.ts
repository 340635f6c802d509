/**
 * Maintenance over the MVCC store's engine: a consistent snapshot stream, HashKV, defragment.
 *
 * Snapshot format (chainfire's, not etcd's bolt file): the magic line "CHAINFIRE-SNAPSHOT 1\n",
 * records `cf:u8 klen:u32 key vlen:u32 value` (cf = the column family's index), an end byte 0xff,
 * zero padding to a multiple of 512 bytes, then the 32-byte SHA-256 of everything before it —
 * the shape etcd's clients check (`size % 512 == 32`) before saving a snapshot.
 */
import { createHash } from "node:crypto";
import type { KvEngine } from "../../../lib/engine/index.ts";
import { decodeRev } from "./encoding.ts";

/** Magic prefix of a chainfire snapshot. */
export const SNAPSHOT_MAGIC = new TextEncoder().encode("CHAINFIRE-SNAPSHOT 1\n");

/**
 * Yields the snapshot in chunks of about `chunkBytes`, read from one engine snapshot (so it is
 * consistent even while writes go on). The last chunk ends with the padding and SHA-256 trailer.
 */
export function* snapshotChunks(engine: KvEngine, cfs: number[], chunkBytes = 1 << 20): Generator<Uint8Array> {
  const snap = engine.snapshot();
  const hash = createHash("sha256");
  let written = 0;
  let buf = new Uint8Array(chunkBytes + 64 * 1024);
  let view = new DataView(buf.buffer);
  let pos = 0;
  const take = (): Uint8Array => {
    const out = buf.slice(0, pos);
    hash.update(out);
    written += out.length;
    pos = 0;
    return out;
  };
  try {
    buf.set(SNAPSHOT_MAGIC);
    pos = SNAPSHOT_MAGIC.length;
    for (const cf of cfs) {
      for (const p of snap.scanAll(cf, { limit: 4096 })) {
        const need = 9 + p.key.length + p.value.length;
        if (pos + need > buf.length) {
          if (pos > 0) yield take();
          if (need > buf.length) {
            buf = new Uint8Array(need);
            view = new DataView(buf.buffer);
          }
        }
        buf[pos] = cf;
        view.setUint32(pos + 1, p.key.length, true);
        buf.set(p.key, pos + 5);
        view.setUint32(pos + 5 + p.key.length, p.value.length, true);
        buf.set(p.value, pos + 9 + p.key.length);
        pos += need;
        if (pos >= chunkBytes) yield take();
      }
    }
    // End marker, then zeros up to a multiple of 512 bytes, then the checksum.
    const body = written + pos + 1;
    const padding = (512 - (body % 512)) % 512;
    if (pos + 1 + padding > buf.length) yield take();
    buf[pos] = 0xff;
    buf.fill(0, pos + 1, pos + 1 + padding);
    pos += 1 + padding;
    const last = take();
    const out = new Uint8Array(last.length + 32);
    out.set(last);
    out.set(hash.digest(), last.length);
    yield out;
  } finally {
    snap.release();
  }
}

/** CRC-32 over the history (key and value of every entry) up to `revision` (0 = all). */
export function hashHistory(engine: KvEngine, histCf: number, revision: number): number {
  let crc = 0;
  for (const p of engine.scanAll(histCf, { limit: 4096 })) {
    if (revision > 0 && decodeRev(p.key).main > revision) continue;
    crc = Bun.hash.crc32(p.key, crc);
    crc = Bun.hash.crc32(p.value, crc);
  }
  return crc >>> 0;
}

/** Compacts every column family fully (etcdctl defrag). */
export function defragment(engine: KvEngine, cfs: number[]): void {
  for (const cf of cfs) engine.compact(cf);
}

/**
 * Replaces the contents of `cfs` by a snapshot written by snapshotChunks (same column family
 * order). Verifies the magic and the SHA-256 trailer before deleting anything.
 * @throws RangeError on a malformed or corrupt snapshot (nothing is changed then).
 */
export function restoreSnapshot(engine: KvEngine, cfs: number[], data: Uint8Array): void {
  if (data.length < SNAPSHOT_MAGIC.length + 33) throw new RangeError("snapshot too short");
  for (let i = 0; i < SNAPSHOT_MAGIC.length; i++) if (data[i] !== SNAPSHOT_MAGIC[i]) throw new RangeError("not a chainfire snapshot");
  const body = data.subarray(0, data.length - 32);
  const digest = createHash("sha256").update(body).digest();
  if (!digest.equals(data.subarray(data.length - 32))) throw new RangeError("snapshot checksum mismatch");
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  // Parse first, so a malformed record aborts before anything is deleted.
  const records: { cf: number; key: Uint8Array; value: Uint8Array }[] = [];
  let pos = SNAPSHOT_MAGIC.length;
  for (;;) {
    const cf = body[pos];
    if (cf === undefined) throw new RangeError("snapshot without end marker");
    if (cf === 0xff) break;
    if (!cfs.includes(cf) || pos + 9 > body.length) throw new RangeError(`bad snapshot record at ${pos}`);
    const klen = view.getUint32(pos + 1, true);
    const key = body.subarray(pos + 5, pos + 5 + klen);
    const vlen = view.getUint32(pos + 5 + klen, true);
    const value = body.subarray(pos + 9 + klen, pos + 9 + klen + vlen);
    if (value.length !== vlen) throw new RangeError(`truncated snapshot record at ${pos}`);
    records.push({ cf, key, value });
    pos += 9 + klen + vlen;
  }
  const clear = engine.batch();
  for (const cf of cfs) clear.deleteRange(cf, new Uint8Array(0), new Uint8Array(256).fill(0xff));
  engine.write(clear, false);
  let batch = engine.batch();
  for (const r of records) {
    batch.put(r.cf, r.key, r.value);
    if (batch.byteLength > 4 << 20) {
      engine.write(batch, false);
      batch = engine.batch();
    }
  }
  engine.write(batch, true);
}
