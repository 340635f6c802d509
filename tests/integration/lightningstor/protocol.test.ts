/**
 * The S3 protocol's edges, with raw requests: clock skew, bad digests and hashes, malformed XML,
 * truncated bodies, huge headers, anonymous calls, Expect: 100-continue, revoked access keys;
 * after each the server keeps serving and leaves nothing half-written.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { readdirSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { api } from "../../support/iam.ts";
import { signed } from "./sign.ts";
import { startS3Stack, type S3Stack, type Tenant } from "./stack.ts";

let stack: S3Stack;
let t: Tenant;

const code = async (r: Response) => /<Code>([^<]+)<\/Code>/.exec(await r.text())?.[1];
const send = (url: string, o: Parameters<typeof signed>[2] = {}) => fetch(...signed(t, url, o));

beforeAll(async () => {
  stack = await startS3Stack({ keyCacheMs: 200, guardCacheMs: 0 });
  t = await stack.tenant("proto");
  expect((await send(`${stack.url}/proto-bucket`, { method: "PUT" })).status).toBe(200);
});

afterAll(async () => {
  await stack?.stop();
});

async function stillServes(): Promise<void> {
  const r = await send(`${stack.url}/proto-bucket/ok.txt`, { method: "PUT", body: "fine" });
  expect(r.status).toBe(200);
}

describe("authentication", () => {
  it("refuses anonymous requests and skewed clocks", async () => {
    const anon = await fetch(`${stack.url}/proto-bucket/x`);
    expect(anon.status).toBe(403);
    expect(await code(anon)).toBe("AccessDenied");
    const skewed = await send(`${stack.url}/proto-bucket`, { at: Date.now() - 16 * 60_000 });
    expect(skewed.status).toBe(403);
    expect(await code(skewed)).toBe("RequestTimeTooSkewed");
    const fine = await send(`${stack.url}/proto-bucket`, { at: Date.now() - 14 * 60_000 });
    expect(fine.status).toBe(200);
  });

  it("refuses a malformed authorization header and SigV2", async () => {
    const r = await fetch(`${stack.url}/proto-bucket`, { headers: { authorization: "AWS4-HMAC-SHA256 Credential=garbage" } });
    expect(await code(r)).toBe("AuthorizationHeaderMalformed");
    const v2 = await fetch(`${stack.url}/proto-bucket`, { headers: { authorization: "AWS AKID:c2lnbmF0dXJl" } });
    expect(await code(v2)).toBe("InvalidRequest");
  });

  it("stops honouring a disabled access key within the cache bound", async () => {
    const other = await stack.tenant("proto-revoked");
    const ok = await fetch(...signed(other, `${stack.url}/`));
    expect(ok.status).toBe(200);
    const off = await api(stack.iamUrl, "PATCH", `/v1/accesskeys/${other.accessKeyId}`, { token: stack.admin, body: { disabled: true } });
    expect(off.status).toBe(200);
    await Bun.sleep(300); // keyCacheMs is 200 here (default 10 s)
    const r = await fetch(...signed(other, `${stack.url}/`));
    expect(r.status).toBe(403);
    expect(await code(r)).toBe("InvalidAccessKeyId");
    await api(stack.iamUrl, "DELETE", `/v1/accesskeys/${other.accessKeyId}`, { token: stack.admin });
    await Bun.sleep(300);
    expect(await code(await fetch(...signed(other, `${stack.url}/`)))).toBe("InvalidAccessKeyId");
  });
});

describe("bodies", () => {
  it("verifies Content-MD5 and x-amz-content-sha256, storing nothing when they differ", async () => {
    const md5 = await send(`${stack.url}/proto-bucket/md5`, { method: "PUT", body: "abc", headers: { "content-md5": Buffer.alloc(16).toString("base64") } });
    expect(md5.status).toBe(400);
    expect(await code(md5)).toBe("BadDigest");
    const badMd5 = await send(`${stack.url}/proto-bucket/md5`, { method: "PUT", body: "abc", headers: { "content-md5": "not-base64!" } });
    expect(await code(badMd5)).toBe("InvalidDigest");
    const sha = await send(`${stack.url}/proto-bucket/sha`, { method: "PUT", body: "abc", payloadHash: "0".repeat(64) });
    expect(await code(sha)).toBe("XAmzContentSHA256Mismatch");
    for (const k of ["md5", "sha"]) expect((await send(`${stack.url}/proto-bucket/${k}`, { method: "HEAD" })).status).toBe(404);
    expect(stack.s3.blobs.tempFiles()).toBe(0);
  });

  it("refuses malformed XML with MalformedXML", async () => {
    for (const body of ["<Delete><Object><Key>a</Key></Object>", "<?xml version='1.0'?><!DOCTYPE x [<!ENTITY e 'x'>]><Delete/>", "not xml at all", "<Other/>"]) {
      const r = await send(`${stack.url}/proto-bucket?delete`, { method: "POST", body });
      expect(r.status).toBe(400);
      expect(await code(r)).toBe("MalformedXML");
    }
    await stillServes();
  });

  it("survives a truncated body and keeps no partial object", async () => {
    const [url, init] = signed(t, `${stack.url}/proto-bucket/truncated`, { method: "PUT", payloadHash: "UNSIGNED-PAYLOAD" });
    const u = new URL(url);
    const head = [`PUT ${u.pathname} HTTP/1.1`, `Host: ${u.host}`, "Content-Length: 100000", ...[...new Headers(init.headers).entries()].map(([k, v]) => `${k}: ${v}`), "", ""].join("\r\n");
    await new Promise<void>((resolve) => {
      const s = connect(Number(u.port), "127.0.0.1", () => {
        s.write(head);
        s.write(Buffer.alloc(5000, 1));
        setTimeout(() => s.destroy(), 200);
      });
      s.on("close", () => resolve());
      s.on("error", () => resolve());
    });
    await Bun.sleep(200);
    expect((await send(`${stack.url}/proto-bucket/truncated`, { method: "HEAD" })).status).toBe(404);
    expect(stack.s3.blobs.tempFiles()).toBe(0);
    await stillServes();
  });

  it("answers a huge header without falling over", async () => {
    const r = await fetch(`${stack.url}/proto-bucket/x`, { headers: { "x-amz-meta-big": "x".repeat(100_000) } }).catch(() => undefined);
    expect(r === undefined || r.status >= 400).toBe(true);
    await stillServes();
  });

  it("honours Expect: 100-continue (curl, 2 MiB body)", async () => {
    const [url, init] = signed(t, `${stack.url}/proto-bucket/continued`, { method: "PUT", payloadHash: "UNSIGNED-PAYLOAD" });
    const file = join(stack.work, "continue.bin");
    await Bun.write(file, Buffer.alloc(2 * 1024 * 1024, 5));
    const args = ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT", "-H", "Expect: 100-continue", "--data-binary", `@${file}`];
    for (const [k, v] of new Headers(init.headers).entries()) args.push("-H", `${k}: ${v}`);
    const p = Bun.spawn([...args, url], { stdout: "pipe", stderr: "pipe" });
    expect(await new Response(p.stdout).text()).toBe("200");
    const h = await send(`${stack.url}/proto-bucket/continued`, { method: "HEAD" });
    expect(h.headers.get("content-length")).toBe(String(2 * 1024 * 1024));
  });
});

describe("buckets and uploads racing", () => {
  it("files an upload that outlives its bucket under the old bucket, never under a new one of the same name", async () => {
    expect((await send(`${stack.url}/racing`, { method: "PUT" })).status).toBe(200);
    const [url, init] = signed(t, `${stack.url}/racing/late`, { method: "PUT", payloadHash: "UNSIGNED-PAYLOAD" });
    const u = new URL(url);
    const head = [`PUT ${u.pathname} HTTP/1.1`, `Host: ${u.host}`, "Content-Length: 10", ...[...new Headers(init.headers).entries()].map(([k, v]) => `${k}: ${v}`), "", ""].join("\r\n");
    const answered = new Promise<string>((resolve) => {
      const s = connect(Number(u.port), "127.0.0.1", async () => {
        s.write(head);
        s.write("12345");
        await Bun.sleep(300);
        expect((await send(`${stack.url}/racing`, { method: "DELETE" })).status).toBe(204);
        expect((await send(`${stack.url}/racing`, { method: "PUT" })).status).toBe(200);
        s.write("67890");
      });
      let text = "";
      s.on("data", (d) => {
        text += d.toString();
        if (text.includes("\r\n\r\n")) {
          s.destroy();
          resolve(text);
        }
      });
    });
    expect(await answered).toStartWith("HTTP/1.1 200");
    const list = await (await send(`${stack.url}/racing?list-type=2`)).text();
    expect(list).toContain("<KeyCount>0</KeyCount>");
    expect((await send(`${stack.url}/racing/late`, { method: "HEAD" })).status).toBe(404);
  });
});

describe("the data directory", () => {
  it("holds object bytes only under blobs/, named by random ids", async () => {
    const names = readdirSync(join(stack.work, "lightningstor"));
    expect(names.sort()).toEqual(["blobs", "meta", "tmp"]);
    for (const d of readdirSync(join(stack.work, "lightningstor", "blobs"))) expect(d).toMatch(/^[0-9a-f]{2}$/);
  });
});
