/**
 * BlobWriter's drop-behind (ADR 0024): once durable, a large file's pages leave the page cache;
 * a small file's stay (they are the hot ones).
 */
import { afterAll, describe, expect, it } from "bun:test";
import { mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BlobWriter, DROP_BEHIND_MIN } from "./blob-writer.ts";

const dir = mkdtempSync(join(tmpdir(), "lightningstor-blob-writer-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const fincore = Bun.which("fincore");

/** Bytes of `path` in the page cache (util-linux fincore). */
function resident(path: string): number {
  const r = Bun.spawnSync([fincore!, "--bytes", "--noheadings", "--output", "RES", path]);
  return Number(r.stdout.toString().trim());
}

async function writeFile(name: string, size: number): Promise<{ path: string; body: Buffer }> {
  const path = join(dir, name);
  const body = Buffer.alloc(size);
  for (let i = 0; i + 4 <= size; i += 4) body.writeUInt32LE((i * 2654435761) >>> 0, i);
  const w = new BlobWriter(openSync(path, "wx"));
  for (let off = 0; off < size; off += 65_536) w.push(body.subarray(off, off + 65_536));
  expect(await w.finish()).toBe(size);
  await w.close();
  return { path, body };
}

describe.skipIf(!fincore)("BlobWriter drop-behind", () => {
  it("drops a large file's pages once it is durable, keeping its bytes", async () => {
    const { path, body } = await writeFile("large", DROP_BEHIND_MIN * 3);
    expect(resident(path)).toBeLessThan(1 << 20);
    expect(readFileSync(path).equals(body)).toBe(true);
  });

  it("keeps a small file cached", async () => {
    const { path } = await writeFile("small", 2 << 20);
    expect(resident(path)).toBe(2 << 20);
  });
});
if (!fincore) console.warn("blob-writer.test.ts: skipped, fincore (util-linux) is not installed");
