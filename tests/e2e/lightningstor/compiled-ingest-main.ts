/**
 * Stores a 5 MiB body through Payload and BlobStore (so through the hash workers, ADR 0022) and
 * exits 0 when the MD5 and the stored bytes are right and the worker hashed MD5 in the addon's
 * lanes (ADR 0024: it loads the embedded addon itself); prints what went wrong otherwise. Compiled by compiled-ingest.test.ts with
 * `bun build --compile`, as `photon` is.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BlobStore } from "../../../services/lightningstor/blobs.ts";
import { hashPool } from "../../../services/lightningstor/hash-pool.ts";
import { Payload } from "../../../services/lightningstor/payload.ts";

const body = Buffer.alloc(5 << 20);
for (let i = 0; i < body.length; i += 4) body.writeUInt32LE(i, i);
const dir = mkdtempSync(join(tmpdir(), "lightningstor-compiled-"));
try {
  const store = new BlobStore(dir);
  const p = new Payload({ headers: new Headers({ "content-length": String(body.length) }), body: new Blob([body]).stream(), maxSize: 1 << 30 });
  const seg = await store.write(p);
  const stats = hashPool.stats();
  const lanes = stats.lanes.some((n) => (n ?? 0) > 0);
  const ok = p.result().md5 === createHash("md5").update(body).digest("hex") && readFileSync(join(dir, "blobs", seg.file)).equals(body) && lanes;
  console.log(ok ? "OK" : `WRONG ${JSON.stringify(stats)}`);
  process.exitCode = ok ? 0 : 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
