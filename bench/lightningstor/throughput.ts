/**
 * lightningstor PUT/GET throughput for 4 KiB, 1 MiB and 64 MiB objects at 1 and 32 concurrent
 * clients, and ListObjectsV2 over many keys, beside a plain sequential writer and reader of the
 * same disk in the same run (write + fdatasync per file, then read back: the limit a durable
 * object store is measured against). The load generator is wrk (C, keep-alive connections) with
 * presigned URLs (UNSIGNED-PAYLOAD), so the client spends no CPU on signing or hashing; each
 * case cycles over 64 keys, 8 for 64 MiB (PUTs overwrite them: new file, fsync, record, the old
 * file unlinked), so disk use stays bounded. ListObjectsV2 runs over a million keys. The server's
 * CPU time per MiB (main thread + hash workers, from /proc) is reported beside each case. Not in
 * CI (about five minutes with `--rounds 3`).
 *
 *   bun bench/lightningstor/throughput.ts [seconds per case = 3] [list keys = 1000000]
 *     [--sizes 4K,1M,64M] [--conc 1,32] [--list N (0: no listing)] [--seconds S] [--rounds R]
 *
 * `--sizes 64M --conc 1 --list 0` runs one case in about 30 s while iterating. With `--rounds`,
 * every case (the disk alone included) runs R times interleaved and the table shows medians: the
 * machine is shared, so a ratio is taken within a round, never across rounds. Each case also runs
 * against a bare HTTP file server (plain-http.ts) with the same client: the limit of the transport
 * (a small GET's fair limit: the "disk alone" reader copies page-cache bytes into a buffer, which no
 * network server can match). 64 MiB objects are read cold by all three: each file is dropped from
 * the page cache (posix_fadvise DONTNEED through `dd iflag=nocache`) before it is read, so their
 * GET is measured against what the device gives a plain sequential reader.
 */
import { closeSync, fdatasyncSync, mkdirSync, openSync, readSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { canonicalQuery, canonicalRequest, hmacHex, scopeOf, signingKeyOf } from "../../services/lightningstor/sigv4.ts";
import { signed } from "../../tests/integration/lightningstor/sign.ts";
import { startS3Stack, type Tenant } from "../../tests/integration/lightningstor/stack.ts";
import { startPlainHttp } from "./plain-http.ts";
import { cpuPer, threadCpu } from "./thread-cpu.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
const { values: opt, positionals } = parseArgs({ allowPositionals: true, options: { sizes: { type: "string" }, conc: { type: "string" }, list: { type: "string" }, seconds: { type: "string" }, rounds: { type: "string" } } });
/** `4K`, `1M`, `64M` (or bytes) to bytes. */
const sizeOf = (s: string) => Number(/^(\d+)([KM]?)$/i.exec(s)?.[1] ?? NaN) * ({ k: KiB, m: MiB }[s.slice(-1).toLowerCase()] ?? 1);
const SIZES = (opt.sizes ?? "4K,1M,64M").split(",").map(sizeOf);
const CONCURRENCY = (opt.conc ?? "1,32").split(",").map(Number);
if (SIZES.some((n) => !(n > 0)) || CONCURRENCY.some((n) => !(n > 0))) throw new Error("--sizes like 4K,1M,64M and --conc like 1,32");
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
  let readMs = 0;
  const t1 = performance.now();
  while (performance.now() - t1 < seconds * 1000) {
    const file = join(dir, String(reads++ % files));
    // Large files are read cold (from the device, not the page cache), like the large GETs.
    if (size >= COLD_GET_MIN) evict([file]);
    const t = performance.now();
    const fd = openSync(file, "r");
    for (let r; (r = readSync(fd, buf)) > 0; ) bytes += r;
    closeSync(fd);
    readMs += performance.now() - t;
  }
  rmSync(dir, { recursive: true, force: true });
  return { write, read: { ops: reads, bytes, seconds: readMs / 1000 } };
}

/** Objects this large are read cold by every reader (disk alone, bare server, lightningstor). */
const COLD_GET_MIN = 64 * MiB;

/**
 * Drops `files` (or every file under them) from the page cache: GNU dd's `iflag=nocache`
 * (posix_fadvise DONTNEED; written and fsynced pages are clean, so they go). The next read comes
 * from the device, which is what "the disk's" read speed means.
 */
function evict(paths: string[]): void {
  const files = paths.flatMap((p) => (Bun.spawnSync(["find", p, "-type", "f"]).stdout.toString().trim().split("\n").filter(Boolean)));
  for (const f of files) Bun.spawnSync(["dd", `if=${f}`, "iflag=nocache", "count=0", "status=none"]);
}

const seconds = Number(opt.seconds ?? positionals[0] ?? "3");
const listKeys = Number(opt.list ?? positionals[1] ?? "1000000");
const rounds = Number(opt.rounds ?? "1");
const stack = await startS3Stack({ lifecycleIntervalMs: 0 });
const plain = startPlainHttp(join(stack.work, "plain-http"));
const tenant = await stack.tenant("bench");
const t = tenant;
const loadavg = async () => (await Bun.file("/proc/loadavg").text()).split(" ").slice(0, 3).join(" ");
const fmt = (size: number) => (size >= MiB ? `${size / MiB} MiB` : `${size / KiB} KiB`);
console.log(`${seconds} s per case, ${rounds} interleaved round(s), 64 keys (8 of 64 MiB) cycled per case; wrk -t min(c,2); load average ${await loadavg()}`);
const ok = await fetch(...signed(t, `${stack.url}/bench`, { method: "PUT" }));
if (ok.status !== 200) throw new Error(`create bucket: ${ok.status}`);

/** One row's measurements in one round (ops/s, MiB/s, shares in %, latencies in ms). */
type Sample = Record<string, number>;
const samples = new Map<string, Sample[]>();
const record = (row: string, s: Sample) => {
  samples.set(row, [...(samples.get(row) ?? []), s]);
  console.log(`round ${samples.get(row)!.length}: ${row}: ${Object.entries(s).map(([k, v]) => `${k} ${v.toFixed(k.includes(" ms") ? 2 : 0)}`).join(", ")}`);
};
const perSecond = (n: number, secs: number) => n / secs;

/**
 * One PUT + GET case: wrk over `keys` cycled, or for 64 MiB one `curl --parallel` batch. `cpu`:
 * this process's CPU time per MiB moved, by thread (main, hash workers), which stays meaningful
 * when other work on the machine slows the wall clock down.
 */
async function measure(base: string, dataDir: string, paths: (method: string) => string[], size: number, conc: number, body: string): Promise<{ put: Result; get: Result; lat?: Sample; cpu: Sample }> {
  const c0 = threadCpu();
  let put: Result;
  let lat: Sample | undefined;
  if (size >= 64 * MiB) {
    const n = paths("PUT").length;
    put = { ops: n, bytes: n * size, seconds: (await curlBatch(paths("PUT").map((p) => `${base}${p}`), conc, "PUT", body)).seconds };
  } else {
    const w = await wrk(base, stack.work, "PUT", paths("PUT"), conc, seconds, body);
    if (w.errors) throw new Error(`errors: PUT ${w.errors}`);
    put = { ops: w.ops, bytes: w.ops * size, seconds: w.seconds };
    lat = { "PUT p50 ms": w.p50, "PUT p99 ms": w.p99 };
  }
  if (size >= COLD_GET_MIN) evict([dataDir]); // before the GET's clock and CPU window
  const c1 = threadCpu();
  let get: Result;
  if (size >= 64 * MiB) {
    const n = paths("GET").length;
    get = { ops: n, bytes: n * size, seconds: (await curlBatch(paths("GET").map((p) => `${base}${p}`), conc, "GET", body)).seconds };
  } else {
    const w = await wrk(base, stack.work, "GET", paths("GET"), conc, seconds);
    if (w.errors) throw new Error(`errors: GET ${w.errors}`);
    get = { ops: w.ops, bytes: w.ops * size, seconds: w.seconds };
    lat = { ...lat, "GET p50 ms": w.p50, "GET p99 ms": w.p99 };
  }
  const c2 = threadCpu();
  const cp = cpuPer(c0, c1, put.bytes / MiB);
  const cg = cpuPer(c1, c2, get.bytes / MiB);
  const cpu = { "PUT cpu main ms/MiB": cp.main!, "PUT cpu hash ms/MiB": cp.hash!, "GET cpu main ms/MiB": cg.main! };
  return { put, get, ...(lat ? { lat } : {}), cpu };
}

const body = join(stack.work, "body.bin");
for (let round = 0; round < rounds; round++) {
  for (const size of SIZES) {
    writeFileSync(body, size <= 65536 ? crypto.getRandomValues(new Uint8Array(size)) : Buffer.alloc(size, 7));
    const d = disk(join(stack.work, "disk-alone"), size, seconds);
    const diskRow = { "PUT ops/s": perSecond(d.write.ops, d.write.seconds), "PUT MiB/s": d.write.bytes / MiB / d.write.seconds, "GET ops/s": perSecond(d.read.ops, d.read.seconds), "GET MiB/s": d.read.bytes / MiB / d.read.seconds };
    record(`${fmt(size)}|disk alone (1 writer: write + fdatasync; 1 reader)`, diskRow);
    const count = (conc: number) => (size >= 64 * MiB ? Math.max(conc, keysFor(size)) : keysFor(size));
    const keys = Array.from({ length: count(Math.max(...CONCURRENCY)) }, (_, i) => `${stack.url}/bench/${size}/${i}`);
    if (round === 0) {
      for (const k of keys) {
        const r = await fetch(`${stack.url}${presign(t, "PUT", k)}`, { method: "PUT", body: Bun.file(body) });
        if (r.status !== 200) throw new Error(`seed ${k}: ${r.status}`);
      }
    }
    for (const conc of CONCURRENCY) {
      const n = count(conc);
      const clients = `${conc} client${conc > 1 ? "s" : ""}${size >= 64 * MiB ? ` (${n} objects, curl)` : ""}`;
      // The bare HTTP server first (same client, same socket, no S3 work): the transport's limit.
      const plainPaths = () => Array.from({ length: n }, (_, i) => `/plain/${size}/${i}`);
      const ref = await measure(plain.url, join(stack.work, "plain-http"), plainPaths, size, conc, body);
      const refRow = { "PUT MiB/s": ref.put.bytes / MiB / ref.put.seconds, "GET MiB/s": ref.get.bytes / MiB / ref.get.seconds };
      record(`${fmt(size)}|bare HTTP file server, ${clients}`, { ...refRow, "PUT % disk": (100 * refRow["PUT MiB/s"]) / diskRow["PUT MiB/s"] });
      const r = await measure(stack.url, stack.work, (method) => keys.slice(0, n).map((k) => presign(t, method, k)), size, conc, body);
      const put = r.put.bytes / MiB / r.put.seconds;
      const get = r.get.bytes / MiB / r.get.seconds;
      record(`${fmt(size)}|lightningstor, ${clients}`, {
        "PUT ops/s": perSecond(r.put.ops, r.put.seconds),
        "PUT MiB/s": put,
        "PUT % disk": (100 * put) / diskRow["PUT MiB/s"],
        "PUT % bare": (100 * put) / refRow["PUT MiB/s"],
        "GET ops/s": perSecond(r.get.ops, r.get.seconds),
        "GET MiB/s": get,
        "GET % disk": (100 * get) / diskRow["GET MiB/s"],
        "GET % bare": (100 * get) / refRow["GET MiB/s"],
        ...r.lat,
        ...r.cpu,
      });
    }
  }
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const cell = (m: Sample, what: "PUT" | "GET", size: number) => {
  const v = (k: string) => m[`${what} ${k}`];
  const parts: string[] = [];
  if (v("ops/s") !== undefined) parts.push(`${v("ops/s")!.toFixed(0)} ops/s`);
  parts.push(`${v("MiB/s")!.toFixed(1)} MiB/s`);
  const shares = [v("% disk") !== undefined ? `${v("% disk")!.toFixed(0)}% of disk` : "", v("% bare") !== undefined ? `${v("% bare")!.toFixed(0)}% of bare` : ""].filter(Boolean);
  if (shares.length) parts.push(`(${shares.join(", ")})`);
  if (v("p50 ms") !== undefined) parts.push(`p50 ${v("p50 ms")!.toFixed(2)} / p99 ${v("p99 ms")!.toFixed(2)} ms`);
  if (v("cpu main ms/MiB") !== undefined) {
    // Per MiB for large objects, per request for small ones (main thread + hash workers).
    const per = size < MiB ? size / MiB : 1;
    const main = v("cpu main ms/MiB")! * per;
    const hash = v("cpu hash ms/MiB");
    parts.push(`CPU ${main.toFixed(2)}${hash ? ` + ${(hash * per).toFixed(2)}` : ""} ms/${size < MiB ? "request" : "MiB"}`);
  }
  return parts.join(" ");
};
const rows: string[] = [];
for (const [row, list] of samples) {
  const m: Sample = {};
  for (const k of Object.keys(list[0]!)) m[k] = median(list.map((s) => s[k]!));
  const [size, writer] = row.split("|");
  const bytes = sizeOf(size!.replace(/ (K|M)iB$/, "$1"));
  rows.push(`| ${size} | ${writer} | ${cell(m, "PUT", bytes)} | ${cell(m, "GET", bytes)} |`);
}
if (listKeys > 0) rows.push(await listing());
console.log(`\nmedians of ${rounds} round(s):\n| size | writer | PUT | GET |\n|---|---|---|---|\n${rows.join("\n")}`);
console.log(`load average at the end ${await loadavg()}`);
await plain.stop();
await stack.stop();

// ListObjectsV2 over many keys: records of empty objects loaded straight into the metadata store
// (10 000 per synced batch: filling a million keys through PUTs would take a quarter of an hour),
// then every page listed through the API, 1000 keys a page.
async function listing(): Promise<string> {
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
  return `\nListObjectsV2 over ${best.n} keys, 1000 a page: ${best.s.toFixed(2)} s for all ${Math.ceil(best.n / 1000)} pages, ${(best.n / best.s).toFixed(0)} keys/s`;
}
