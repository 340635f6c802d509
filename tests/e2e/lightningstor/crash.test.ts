/**
 * kill -9 of lightningstor while clients upload: after a restart on the same data directory
 * every acknowledged object is there with exactly its bytes, no object shows partial content,
 * and no temp file or unreferenced blob survives.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { signed } from "../../integration/lightningstor/sign.ts";
import { startS3Stack, type S3Stack, type Tenant } from "../../integration/lightningstor/stack.ts";
import { freePort } from "../../support/free-port.ts";

let stack: S3Stack;
let t: Tenant;
let child: Subprocess<"ignore", "pipe", "pipe"> | undefined;
let dataDir: string;
let port: number;

async function startChild(): Promise<string> {
  child = Bun.spawn([process.execPath, join(import.meta.dir, "server-child.ts"), stack.chainfire.endpoint, stack.iamUrl, join(stack.work, "iam", "services", "lightningstor.json"), dataDir, String(port)], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const reader = child.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const r = await reader.read();
    if (r.done) throw new Error(`child exited: ${await new Response(child.stderr).text()}`);
    text += new TextDecoder().decode(r.value);
  }
  reader.releaseLock();
  return /READY (\S+)/.exec(text)![1]!;
}

beforeAll(async () => {
  stack = await startS3Stack();
  t = await stack.tenant("crash");
  dataDir = join(stack.work, "crash-node");
  port = await freePort();
});

afterAll(async () => {
  child?.kill(9);
  await stack?.stop();
});

const bodyOf = (i: number) => Buffer.alloc(200_000 + (i % 7) * 10_000, i % 251);
const md5 = (b: Uint8Array) => createHash("md5").update(b).digest("hex");

describe("kill -9 during uploads", () => {
  it("loses no acknowledged object and never shows a partial one", async () => {
    let url = await startChild();
    expect((await fetch(...signed(t, `${url}/crash-bucket`, { method: "PUT" }))).status).toBe(200);
    const acked = new Map<string, string>();
    let stop = false;
    const writer = async (w: number) => {
      for (let i = w; !stop; i += 4) {
        const key = `obj-${i}`;
        const body = bodyOf(i);
        try {
          const r = await fetch(...signed(t, `${url}/crash-bucket/${key}`, { method: "PUT", body, payloadHash: "UNSIGNED-PAYLOAD" }));
          if (r.status === 200) acked.set(key, md5(body));
        } catch {
          return; // the server died mid-request
        }
      }
    };
    const writers = [0, 1, 2, 3].map(writer);
    while (acked.size < 20) await Bun.sleep(10);
    child!.kill(9);
    await child!.exited;
    stop = true;
    await Promise.all(writers);
    expect(acked.size).toBeGreaterThanOrEqual(20);

    // What a crash between a blob's rename and its record leaves: a file no record names.
    mkdirSync(join(dataDir, "blobs", "ab"), { recursive: true });
    writeFileSync(join(dataDir, "blobs", "ab", "0".repeat(30)), "orphan");
    url = await startChild();
    expect(readdirSync(join(dataDir, "tmp"))).toEqual([]);
    expect(existsSync(join(dataDir, "blobs", "ab", "0".repeat(30)))).toBe(false);
    const blobFiles = readdirSync(join(dataDir, "blobs")).reduce((n, d) => n + readdirSync(join(dataDir, "blobs", d)).length, 0);
    for (const [key, etag] of acked) {
      const r = await fetch(...signed(t, `${url}/crash-bucket/${key}`));
      expect(r.status).toBe(200);
      expect(md5(new Uint8Array(await r.arrayBuffer()))).toBe(etag);
    }
    const list = await (await fetch(...signed(t, `${url}/crash-bucket?list-type=2`))).text();
    const keys = [...list.matchAll(/<Key>([^<]+)<\/Key>/g)].map((m) => m[1]!);
    expect(keys.length).toBeGreaterThanOrEqual(acked.size);
    // The start-up scrub removed every file no record names (a crash between rename and record).
    expect(blobFiles).toBe(keys.length);
    for (const key of keys) {
      const i = Number(key.slice(4));
      const r = await fetch(...signed(t, `${url}/crash-bucket/${key}`));
      expect(md5(new Uint8Array(await r.arrayBuffer()))).toBe(md5(bodyOf(i)));
    }
  });
});
