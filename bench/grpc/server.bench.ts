/**
 * Side-by-side unary throughput of lib/grpc's server (on each of its two HTTP/2 transports:
 * node:http2 and the raw-socket h2/) and a @grpc/grpc-js server on Bun, all
 * driven by the same external client, h2load (Debian nghttp2-client), with the same pre-encoded
 * gRPC request. Each server runs in its own process; its CPU time per call is read from /proc.
 * Reports the median of RUNS runs per configuration, and the ratio.
 *
 *   npx bun bench/grpc/server.bench.ts            # RUNS=3 N=100000
 *   RUNS=5 N=200000 npx bun bench/grpc/server.bench.ts
 *
 * A mitata micro-benchmark of the per-message codec path follows (encode+frame, decode).
 */
import { spawn, spawnSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bench, group, run } from "mitata";
import { encodeFrame, FrameDecoder } from "../../lib/grpc/frame.ts";
import { echoService } from "../../lib/grpc/testdata/echo-service.ts";

const RUNS = Number(process.env.RUNS ?? 3);
const N = Number(process.env.N ?? 100_000);
const configs = [
  { name: "4 conns x 16 streams", args: ["-c", "4", "-m", "16"] },
  { name: "1 conn x 1 stream", args: ["-c", "1", "-m", "1"], n: Math.round(N / 2) },
];
const method = echoService.methods.Unary;
const requestFile = join(tmpdir(), `photon-grpc-bench-${process.pid}.bin`);
writeFileSync(requestFile, encodeFrame(method.encodeRequest({ message: "hello world", bigNumber: 42 })));

if (spawnSync("h2load", ["--version"]).status !== 0) {
  console.error("h2load not found: apt-get install -y nghttp2-client");
  rmSync(requestFile, { force: true });
  process.exit(1);
}

/** utime+stime of a process in ms (from /proc; clock ticks are 10 ms). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function startServer(impl: string): Promise<{ pid: number; port: number; stop: () => void }> {
  const child = spawn(process.execPath, [join(import.meta.dir, "echo-server.ts"), impl], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (line) resolve((JSON.parse(line) as { port: number }).port);
    });
    child.on("exit", (code) => reject(new Error(`${impl} server exited with ${code}`)));
  });
  return { pid: child.pid as number, port, stop: () => child.kill("SIGTERM") };
}

function h2load(port: number, args: string[], n: number): { rps: number; failed: number; line: string } {
  const cmd = ["-n", String(n), ...args, "-d", requestFile, "-H", "content-type: application/grpc", "-H", "te: trailers",
    `http://127.0.0.1:${port}${method.path}`];
  const res = spawnSync("h2load", cmd, { encoding: "utf8" });
  const out = res.stdout ?? "";
  const rps = Number(/finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(out)?.[1] ?? NaN);
  const failed = Number(/(\d+) failed/.exec(out)?.[1] ?? NaN);
  const ok = Number(/status codes: (\d+) 2xx/.exec(out)?.[1] ?? NaN);
  if (!(ok === n) || failed !== 0) throw new Error(`h2load: ${ok} 2xx, ${failed} failed of ${n}\n${out}`);
  return { rps, failed, line: `h2load ${cmd.join(" ")}` };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const results: Record<string, Record<string, { rps: number; cpuUs: number }>> = {};
let commandLine = "";
const impls = (process.env.IMPLS ?? "photon,photon-h2,grpc-js,floor").split(",");
// All servers run at once (idle ones cost nothing) and runs interleave, so that drift in the
// machine's speed (shared cores) hits every implementation alike.
const servers = new Map<string, Awaited<ReturnType<typeof startServer>>>();
try {
  for (const impl of impls) servers.set(impl, await startServer(impl));
  for (const server of servers.values()) h2load(server.port, ["-c", "4", "-m", "16"], Math.round(N / 5)); // warm-up (JIT, codegen)
  for (const cfg of configs) {
    const n = cfg.n ?? N;
    const samples = new Map(impls.map((i) => [i, { rps: [] as number[], cpu: [] as number[] }]));
    for (let run = 0; run < RUNS; run++) {
      for (const [impl, server] of servers) {
        const before = cpuMs(server.pid);
        const r = h2load(server.port, cfg.args, n);
        const s = samples.get(impl) as { rps: number[]; cpu: number[] };
        s.cpu.push(((cpuMs(server.pid) - before) * 1000) / n);
        s.rps.push(r.rps);
        if (cfg === configs[0]) commandLine = r.line.replace(String(server.port), "PORT");
      }
    }
    for (const [impl, s] of samples) {
      (results[cfg.name] ??= {})[impl] = { rps: median(s.rps), cpuUs: median(s.cpu) };
      console.log(
        `${impl.padEnd(9)} ${cfg.name.padEnd(22)} runs ${s.rps.map((x) => x.toFixed(0)).join(", ")} req/s -> median ${median(s.rps).toFixed(0)} req/s, ${median(s.cpu).toFixed(1)} us CPU/call`,
      );
    }
  }
} finally {
  for (const server of servers.values()) server.stop();
  rmSync(requestFile, { force: true });
}

if (impls.includes("photon") && impls.includes("grpc-js")) {
  console.log("\n| h2load load | lib/grpc req/s | grpc-js req/s | ratio | lib/grpc CPU/call | grpc-js CPU/call | floor req/s | floor CPU/call |");
  console.log("|---|---|---|---|---|---|---|---|");
  for (const [name, r] of Object.entries(results)) {
    const p = r.photon as { rps: number; cpuUs: number };
    const g = r["grpc-js"] as { rps: number; cpuUs: number };
    const f = r.floor;
    console.log(
      `| ${name} | ${p.rps.toFixed(0)} | ${g.rps.toFixed(0)} | ${(p.rps / g.rps).toFixed(2)}x | ${p.cpuUs.toFixed(1)} µs | ${g.cpuUs.toFixed(1)} µs | ` +
        `${f ? f.rps.toFixed(0) : "-"} | ${f ? `${f.cpuUs.toFixed(1)} µs` : "-"} |`,
    );
  }
}
if (impls.includes("photon") && impls.includes("photon-h2")) {
  console.log("\n| h2load load | h2 transport req/s | node:http2 transport req/s | ratio | h2 CPU/call | node:http2 CPU/call | CPU ratio |");
  console.log("|---|---|---|---|---|---|---|");
  for (const [name, r] of Object.entries(results)) {
    const h = r["photon-h2"] as { rps: number; cpuUs: number };
    const n = r.photon as { rps: number; cpuUs: number };
    console.log(
      `| ${name} | ${h.rps.toFixed(0)} | ${n.rps.toFixed(0)} | ${(h.rps / n.rps).toFixed(2)}x | ${h.cpuUs.toFixed(1)} µs | ${n.cpuUs.toFixed(1)} µs | ${(h.cpuUs / n.cpuUs).toFixed(2)} |`,
    );
  }
}
console.log(`\ncommand (per run): ${commandLine}`);

// ---- in-process codec micro-benchmark ----
const request = { message: "hello world", bigNumber: 42 };
const frame = encodeFrame(method.encodeRequest(request));
group("per-message codec (EchoRequest, 15 bytes)", () => {
  bench("encode + frame", () => encodeFrame(method.encodeRequest(request)));
  bench("deframe + decode", () => {
    let out: unknown;
    new FrameDecoder(1 << 24).push(frame, {
      onFrame: (_c, body) => {
        out = method.decodeRequest(body);
      },
    });
    return out;
  });
});
await run();
