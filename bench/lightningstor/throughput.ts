/**
 * lightningstor PUT/GET throughput for 4 KiB, 1 MiB and 64 MiB objects at 1 and 32 concurrent
 * clients, and ListObjectsV2 over many keys, beside a plain sequential writer and reader of the
 * same disk in the same run (write + fdatasync per file, then read back: the limit a durable
 * object store is measured against). The load generator is wrk (C, keep-alive connections) with
 * presigned URLs (UNSIGNED-PAYLOAD), so the client spends no CPU on signing or hashing; each
 * case cycles over 64 keys, 8 for 64 MiB (PUTs overwrite them: new file, fsync, record, the old file unlinked),
 * so disk use stays bounded. ListObjectsV2 runs over a million keys. Not in CI (a minute or two).
 *
 *   bun bench/lightningstor/throughput.ts [seconds per case = 3] [list keys = 1000000]
 */
import { closeSync, fdatasyncSync, mkdirSync, openSync, readSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { canonicalQuery, canonicalRequest, hmacHex, scopeOf, signingKeyOf } from "../../services/lightningstor/sigv4.ts";
import { signed } from "../../tests/integration/lightningstor/sign.ts";
import { startS3Stack, type Tenant } from "../../tests/integration/lightningstor/stack.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
const SIZES = [4 * KiB, MiB, 64 * MiB];
const CONCURRENCY = [1, 32];
/** Keys cycled per case (fewer for 64 MiB: 8 × 64 MiB on disk). */
const keysFor = (size: number) => (size >= 64 * MiB ? 8 : 64);

/** One measured case. */
interface Result {
  ops: number;
  bytes: number;
  seconds: number;
}

/** A presigned URL (15 minutes, UNSIGNED-PAYLOAD, host signed only). */
function presign(t: Tenant, method: string, url: string): string {
  const u = new URL(url);
  const amzDate = new Date().toISOString().replace(/[-:]|\.\d{3}/g, "");
  const date = amzDate.slice(0, 8);
  const sig = { accessKeyId: t.accessKeyId, date, region: "us-east-1", service: "s3", amzDate, signedHeaders: ["host"], signature: "", presigned: true, payloadHash: "UNSIGNED-PAYLOAD" };
  const query: [string, string][] = [["X-Amz-Algorithm", "AWS4-HMAC-SHA256"], ["X-Amz-Credential", `${t.accessKeyId}/${scopeOf(sig)}`], ["X-Amz-Date", amzDate], ["X-Amz-Expires", "900"], ["X-Amz-SignedHeaders", "host"]];
  const cq = canonicalQuery(query);
  const cr = canonicalRequest({ method, rawPath: u.pathname, rawQuery: cq, headers: new Headers({ host: u.host }) }, sig, u.pathname, cq);
  const sts = `AWS4-HMAC-SHA256\n${amzDate}\n${scopeOf(sig)}\n${new Bun.CryptoHasher("sha256").update(cr).digest("hex")}`;
  return `${u.pathname}?${cq}&X-Amz-Signature=${hmacHex(signingKeyOf(t.secretAccessKey, date, "us-east-1", "s3"), sts)}`;
}

/** Runs wrk for `seconds` over `paths` (cycled), with `bodyFile` as the body of PUTs. */
async function wrk(base: string, dir: string, method: string, paths: string[], conc: number, seconds: number, bodyFile?: string): Promise<{ ops: number; seconds: number; errors: number; p50: number; p99: number }> {
  const script = join(dir, "case.lua");
  writeFileSync(
    script,
    `local paths = {${paths.map((p) => JSON.stringify(p)).join(",")}}
local i = 0
local body = nil
${bodyFile ? `local f = io.open(${JSON.stringify(bodyFile)}, "rb"); body = f:read("*a"); f:close()` : ""}
request = function()
  i = i + 1
  return wrk.format(${JSON.stringify(method)}, paths[(i % #paths) + 1], nil, body)
end
`,
  );
  const p = Bun.spawn(["wrk", "--latency", "-t", String(Math.min(conc, 2)), "-c", String(conc), "-d", `${seconds}s`, "--timeout", "60s", "-s", script, base], { stdout: "pipe", stderr: "pipe" });
  const out = await new Response(p.stdout).text();
  if ((await p.exited) !== 0) throw new Error(`wrk: ${out}${await new Response(p.stderr).text()}`);
  const m = /(\d+) requests in ([\d.]+)(m?s)/.exec(out);
  if (!m) throw new Error(`wrk: ${out}`);
  const errors = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? "0") + Number(/Socket errors:.*?timeout (\d+)/.exec(out)?.[1] ?? "0");
  const pct = (p: string) => {
    const x = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s)$`, "m").exec(out);
    return x ? Number(x[1]) * (x[2] === "us" ? 0.001 : x[2] === "s" ? 1000 : 1) : NaN;
  };
  return { ops: Number(m[1]), seconds: Number(m[2]) / (m[3] === "ms" ? 1000 : 1), errors, p50: pct("50"), p99: pct("99") };
}

/**
 * 64 MiB objects: wrk counts only requests finished inside its window, and 32 concurrent 64 MiB
 * PUTs take longer than a short window; so these cases are one batch through `curl --parallel`
 * (C, sendfile-free but streaming): `conc` transfers at a time over `count` keys, timed whole.
 */
async function curlBatch(urls: string[], conc: number, method: "PUT" | "GET", bodyFile: string): Promise<{ seconds: number }> {
  const args = urls.flatMap((u) => (method === "PUT" ? ["-T", bodyFile, u, "-o", "/dev/null"] : [u, "-o", "/dev/null"]));
  const t0 = performance.now();
  const p = Bun.spawn(["curl", "-sS", "--fail", "--parallel", "--parallel-max", String(conc), "--parallel-immediate", ...args], { stdout: "pipe", stderr: "pipe" });
  const err = await new Response(p.stderr).text();
  if ((await p.exited) !== 0) throw new Error(`curl: ${err}`);
  return { seconds: (performance.now() - t0) / 1000 };
}

/** The disk alone: sequential write + fdatasync of files of `size`, then reading them back. */
function disk(dir: string, size: number, seconds: number): { write: Result; read: Result } {
  const KEYS = keysFor(size);
  mkdirSync(dir, { recursive: true });
  const data = crypto.getRandomValues(new Uint8Array(Math.min(size, 65536)));
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    const fd = openSync(join(dir, String(n % KEYS)), "w");
    for (let o = 0; o < size; o += data.length) writeSync(fd, data, 0, Math.min(data.length, size - o));
    fdatasyncSync(fd);
    closeSync(fd);
    n++;
  }
  const write = { ops: n, bytes: n * size, seconds: (performance.now() - t0) / 1000 };
  const buf = Buffer.alloc(Math.min(size, 8 * MiB));
  const files = Math.min(n, KEYS);
  let reads = 0;
  let bytes = 0;
  const t1 = performance.now();
  while (performance.now() - t1 < seconds * 1000) {
    const fd = openSync(join(dir, String(reads++ % files)), "r");
    for (let r; (r = readSync(fd, buf)) > 0; ) bytes += r;
    closeSync(fd);
  }
  rmSync(dir, { recursive: true, force: true });
  return { write, read: { ops: reads, bytes, seconds: (performance.now() - t1) / 1000 } };
}

const seconds = Number(process.argv[2] ?? "3");
const listKeys = Number(process.argv[3] ?? "1000000");
const stack = await startS3Stack({ lifecycleIntervalMs: 0 });
const tenant = await stack.tenant("bench");
const t = tenant;
const loadavg = async () => (await Bun.file("/proc/loadavg").text()).split(" ").slice(0, 3).join(" ");
const fmt = (size: number) => (size >= MiB ? `${size / MiB} MiB` : `${size / KiB} KiB`);
const rate = (r: Result) => `${(r.ops / r.seconds).toFixed(0).padStart(6)} ops/s ${(r.bytes / MiB / r.seconds).toFixed(1).padStart(8)} MiB/s`;
console.log(`${seconds} s per case, 64 keys (8 of 64 MiB) cycled per case; wrk -t min(c,2); load average ${await loadavg()}`);
const ok = await fetch(...signed(t, `${stack.url}/bench`, { method: "PUT" }));
if (ok.status !== 200) throw new Error(`create bucket: ${ok.status}`);
const rows: string[] = [];
for (const size of SIZES) {
  const body = join(stack.work, "body.bin");
  writeFileSync(body, crypto.getRandomValues(new Uint8Array(Math.min(size, 65536))).length === size ? crypto.getRandomValues(new Uint8Array(size)) : Buffer.alloc(size, 7));
  const d = disk(join(stack.work, "disk-alone"), size, seconds);
  rows.push(`| ${fmt(size)} | disk alone (1 writer: write + fdatasync; 1 reader) | ${rate(d.write)} | ${rate(d.read)} |`);
  const keys = Array.from({ length: keysFor(size) }, (_, i) => `${stack.url}/bench/${size}/${i}`);
  for (const k of keys) {
    const r = await fetch(`${stack.url}${presign(t, "PUT", k)}`, { method: "PUT", body: Bun.file(body) });
    if (r.status !== 200) throw new Error(`seed ${k}: ${r.status}`);
  }
  console.log(rows[rows.length - 1]);
  for (const conc of CONCURRENCY) {
    if (size >= 64 * MiB) {
      const n = Math.max(conc, keys.length);
      const urls = Array.from({ length: n }, (_, i) => `${stack.url}/bench/${size}/${i}`);
      const put = await curlBatch(urls.map((u) => `${stack.url}${presign(t, "PUT", u)}`), conc, "PUT", body);
      const get = await curlBatch(urls.map((u) => `${stack.url}${presign(t, "GET", u)}`), conc, "GET", body);
      const p = { ops: n, bytes: n * size, seconds: put.seconds };
      const g = { ops: n, bytes: n * size, seconds: get.seconds };
      const pct = (a: Result, b: Result) => `${((100 * a.bytes * b.seconds) / (b.bytes * a.seconds)).toFixed(0)}%`;
      rows.push(`| ${fmt(size)} | lightningstor, ${conc} client${conc > 1 ? "s" : ""} (${n} objects, curl) | ${rate(p)} (${pct(p, d.write)}) | ${rate(g)} (${pct(g, d.read)}) |`);
      console.log(rows[rows.length - 1]);
      continue;
    }
    const put = await wrk(stack.url, stack.work, "PUT", keys.map((k) => presign(t, "PUT", k)), conc, seconds, body);
    const get = await wrk(stack.url, stack.work, "GET", keys.map((k) => presign(t, "GET", k)), conc, seconds);
    if (put.errors || get.errors) throw new Error(`errors: PUT ${put.errors}, GET ${get.errors}`);
    const p = { ops: put.ops, bytes: put.ops * size, seconds: put.seconds };
    const g = { ops: get.ops, bytes: get.ops * size, seconds: get.seconds };
    const pct = (a: Result, b: Result) => `${((100 * a.bytes * b.seconds) / (b.bytes * a.seconds)).toFixed(0)}%`;
    const lat = (x: { p50: number; p99: number }) => `p50 ${x.p50.toFixed(2)} / p99 ${x.p99.toFixed(2)} ms`;
    rows.push(`| ${fmt(size)} | lightningstor, ${conc} client${conc > 1 ? "s" : ""} | ${rate(p)} (${pct(p, d.write)}); ${lat(put)} | ${rate(g)} (${pct(g, d.read)}); ${lat(get)} |`);
    console.log(rows[rows.length - 1]);
  }
}
// ListObjectsV2 over many keys: records of empty objects loaded straight into the metadata store
// (10 000 per synced batch: filling a million keys through PUTs would take a quarter of an hour),
// then every page listed through the API, 1000 keys a page.
const bucket = (await stack.s3.service.registry.get("bench"))!;
const tLoad = performance.now();
for (let made = 0; made < listKeys; ) {
  const n = Math.min(10_000, listKeys - made);
  stack.s3.service.store.importObjects(bucket.id, Array.from({ length: n }, (_, i) => ({ key: `fill/${String(made + i).padStart(8, "0")}`, size: 0, etag: "d41d8cd98f00b204e9800998ecf8427e", lastModified: Date.now(), headers: {}, userMeta: {}, segments: [], owner: tenant.serviceAccount })));
  made += n;
}
console.log(`loaded ${listKeys} records in ${((performance.now() - tLoad) / 1000).toFixed(1)} s`);
const listAll = async () => {
  let n = 0;
  let token: string | undefined;
  const t0 = performance.now();
  for (;;) {
    const r = await fetch(...signed(t, `${stack.url}/bench?list-type=2${token ? `&continuation-token=${encodeURIComponent(token)}` : ""}`));
    const x = await r.text();
    n += (x.match(/<Key>/g) ?? []).length;
    token = /<NextContinuationToken>([^<]+)</.exec(x)?.[1];
    if (!token) break;
  }
  return { n, s: (performance.now() - t0) / 1000 };
};
const best = await listAll();
rows.push(`\nListObjectsV2 over ${best.n} keys, 1000 a page: ${best.s.toFixed(2)} s for all ${Math.ceil(best.n / 1000)} pages, ${(best.n / best.s).toFixed(0)} keys/s`);
console.log(rows[rows.length - 1]);
console.log(`\n| size | writer | PUT (share of the disk's write) | GET (share of the disk's read) |\n|---|---|---|---|\n${rows.join("\n")}`);
console.log(`load average at the end ${await loadavg()}`);
await stack.stop();
