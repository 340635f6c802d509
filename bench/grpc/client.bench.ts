/**
 * CPU cost per unary call of lib/grpc's client and of the @grpc/grpc-js client on Bun, both
 * calling the same lib/grpc echo server running in another process (so only the client's CPU
 * is counted, from process.cpuUsage()). 64 calls in flight, N calls per run, median of RUNS.
 *
 *   npx bun bench/grpc/client.bench.ts        # RUNS=3 N=20000
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { GrpcClient } from "../../lib/grpc/client.ts";
import { echoService, type EchoRequest } from "../../lib/grpc/testdata/echo-service.ts";
import { grpcJsClient } from "../../lib/grpc/testdata/grpc-js-interop.ts";

const RUNS = Number(process.env.RUNS ?? 3);
const N = Number(process.env.N ?? 20_000);
const CONCURRENCY = 64;
const request: EchoRequest = { message: "hello world", bigNumber: 42 };

const child = spawn(process.execPath, [join(import.meta.dir, "echo-server.ts"), "photon"], { stdio: ["ignore", "pipe", "inherit"] });
const port = await new Promise<number>((resolve) => child.stdout.once("data", (d: Buffer) => resolve((JSON.parse(d.toString()) as { port: number }).port)));

async function measure(call: () => Promise<unknown>): Promise<{ usPerCall: number; rps: number }> {
  let left = N;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (left-- > 0) await call();
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  const secs = (performance.now() - t0) / 1000;
  return { usPerCall: (cpu.user + cpu.system) / N, rps: N / secs };
}

const ours = new GrpcClient(`127.0.0.1:${port}`);
const theirs = grpcJsClient(echoService, `127.0.0.1:${port}`);
const clients: Record<string, () => Promise<unknown>> = {
  "lib/grpc client": () => ours.unary(echoService.methods.Unary, request),
  "@grpc/grpc-js client": () =>
    new Promise((resolve, reject) => theirs.Unary(request, (err: Error | null, res: unknown) => (err ? reject(err) : resolve(res)))),
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const results: Record<string, { us: number[]; rps: number[] }> = {};
try {
  for (const call of Object.values(clients)) for (let i = 0; i < 2000; i++) await call(); // warm-up
  for (let run = 0; run < RUNS; run++) {
    for (const [name, call] of Object.entries(clients)) {
      const r = await measure(call);
      (results[name] ??= { us: [], rps: [] }).us.push(r.usPerCall);
      results[name].rps.push(r.rps);
    }
  }
} finally {
  ours.close();
  theirs.close();
  child.kill("SIGTERM");
}
console.log(`| client (Bun, ${CONCURRENCY} in flight) | CPU per call (median) | calls/s (median) |`);
console.log("|---|---|---|");
for (const [name, r] of Object.entries(results)) {
  console.log(`| ${name} | ${median(r.us).toFixed(1)} µs | ${median(r.rps).toFixed(0)} |`);
}
