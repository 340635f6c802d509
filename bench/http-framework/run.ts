/**
 * Side-by-side load test of HTTP frameworks on Bun (ADR 0003): bare Bun.serve (reference), Hono,
 * Elysia (TypeBox) and Elysia (zod), each answering the routes of servers/shared.ts.
 *
 * For each of RUNS rounds, every server in turn is started on 127.0.0.1 with port 0, checked for
 * correct answers, warmed up, loaded by `wrk` on each route for DURATION seconds, then killed by its
 * PID. Rounds interleave the servers so that drift in the machine's load hits all of them alike.
 * Prints a markdown table of the medians (requests/s, p99 latency) over the rounds.
 *
 * `--pin` pins the server to CPU 0 and wrk to CPU 1 (with `taskset`) so the two do not fight over a
 * core; on a machine shared with other work it made results noisier (other jobs land on the pinned
 * core and the server cannot move away), so it is off by default.
 *
 * Usage: bun bench/http-framework/run.ts [--duration 10] [--runs 3] [--connections 50] [--pin]
 * Needs `wrk` (Debian: apt-get install -y wrk).
 */
import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    duration: { type: "string", default: "10" },
    runs: { type: "string", default: "3" },
    connections: { type: "string", default: "50" },
    warmup: { type: "string", default: "2" },
    pin: { type: "boolean", default: false },
  },
});
const duration = Number(values.duration);
const runs = Number(values.runs);
const connections = Number(values.connections);
const warmup = Number(values.warmup);
const pin = values.pin && !spawnSync("taskset", ["-c", "0", "true"]).error;
/** Prefixes a command with `taskset -c <cpu>` when pinning. */
const pinned = (cpu: number, argv: string[]): string[] => (pin ? ["taskset", "-c", String(cpu), ...argv] : argv);

const here = import.meta.dir;
const servers = ["bun", "hono", "elysia", "elysia-zod"] as const;
const labels: Record<(typeof servers)[number], string> = {
  bun: "Bun.serve (reference)",
  hono: "Hono 4 (zod)",
  elysia: "Elysia 1 (TypeBox)",
  "elysia-zod": "Elysia 1 (zod)",
};
const routes = {
  hello: { title: "GET /hello (JSON)", args: ["/hello"] },
  post: { title: "POST /users/:id (param + JSON body validation)", args: ["/users/42", "-s", join(here, "post.lua")] },
} as const;
type Route = keyof typeof routes;

interface Sample {
  rps: number;
  p99ms: number;
}

if (spawnSync("wrk", ["--version"]).error) {
  console.error("run: wrk not found; install it (Debian: apt-get install -y wrk)");
  process.exit(1);
}

/** Starts a server and resolves with its PID and port once it has printed `{"port":N}`. */
function startServer(name: string): Promise<{ pid: number; port: number; exited: Promise<void> }> {
  const [cmd = "", ...argv] = pinned(0, [process.execPath, join(here, "servers", `${name}.ts`)]);
  const child = spawn(cmd, argv, {
    env: { ...process.env, PORT: "0", NODE_ENV: "production" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split("\n")[0];
      if (out.includes("\n") && line !== undefined && child.pid !== undefined) {
        resolve({ pid: child.pid, port: (JSON.parse(line) as { port: number }).port, exited });
      }
    });
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`${name} exited early with code ${code}`)));
  });
}

/** Fails unless the server answers both routes correctly and rejects an invalid body. */
async function checkServer(name: string, base: string): Promise<void> {
  const hello = await fetch(`${base}/hello`).then((r) => r.json());
  const post = await fetch(`${base}/users/42`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: '{"name":"ada","age":36}',
  }).then((r) => r.json());
  const bad = await fetch(`${base}/users/42`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: '{"name":"ada","age":"x"}',
  });
  const ok =
    JSON.stringify(hello) === '{"message":"hello"}' &&
    JSON.stringify(post) === '{"id":"42","name":"ada","age":36}' &&
    bad.status >= 400 &&
    bad.status < 500;
  if (!ok) throw new Error(`${name} answers wrongly: ${JSON.stringify({ hello, post, bad: bad.status })}`);
}

function toMs(value: string, unit: string): number {
  const n = Number(value);
  return unit === "us" ? n / 1000 : unit === "s" ? n * 1000 : unit === "m" ? n * 60_000 : n;
}

/** Runs wrk against a route and returns its throughput and p99 latency. */
function load(base: string, route: Route, seconds: number): Sample {
  const [path, ...rest] = routes[route].args;
  const args = ["-t1", `-c${connections}`, `-d${seconds}s`, "--latency", ...rest, `${base}${path}`];
  const [cmd = "", ...argv] = pinned(1, ["wrk", ...args]);
  const r = spawnSync(cmd, argv, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`wrk ${args.join(" ")} failed: ${r.stderr}`);
  if (/Non-2xx or 3xx responses|Socket errors/.test(r.stdout)) throw new Error(`wrk saw errors:\n${r.stdout}`);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(r.stdout);
  const p99 = /\s99%\s+([\d.]+)(us|ms|s|m)\b/.exec(r.stdout);
  if (!rps?.[1] || !p99?.[1] || !p99[2]) throw new Error(`cannot parse wrk output:\n${r.stdout}`);
  return { rps: Number(rps[1]), p99ms: toMs(p99[1], p99[2]) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

const samples = new Map<string, Sample[]>();
for (let round = 1; round <= runs; round++) {
  for (const name of servers) {
    const server = await startServer(name);
    const base = `http://127.0.0.1:${server.port}`;
    try {
      await checkServer(name, base);
      for (const route of Object.keys(routes) as Route[]) {
        if (warmup > 0) load(base, route, warmup);
        const sample = load(base, route, duration);
        console.error(`round ${round} ${name} ${route}: ${sample.rps.toFixed(0)} req/s, p99 ${sample.p99ms.toFixed(2)} ms`);
        const key = `${name}/${route}`;
        samples.set(key, [...(samples.get(key) ?? []), sample]);
      }
    } finally {
      process.kill(server.pid, "SIGTERM");
      const killed = await Promise.race([server.exited.then(() => true), Bun.sleep(2_000).then(() => false)]);
      if (!killed) process.kill(server.pid, "SIGKILL");
    }
  }
}

const version = (pkg: string) => (require(`${pkg}/package.json`) as { version: string }).version;
console.log(
  `Bun ${Bun.version}, hono ${version("hono")}, elysia ${version("elysia")}, zod ${version("zod")}; ` +
    `wrk -t1 -c${connections} -d${duration}s, median of ${runs} runs` +
    `${pin ? ", server pinned to CPU 0 and wrk to CPU 1" : ""}\n`,
);
for (const route of Object.keys(routes) as Route[]) {
  const reference = median((samples.get(`bun/${route}`) ?? []).map((s) => s.rps));
  console.log(`### ${routes[route].title}\n`);
  console.log("| server | requests/s | p99 latency (ms) | vs Bun.serve |");
  console.log("|---|---:|---:|---:|");
  for (const name of servers) {
    const s = samples.get(`${name}/${route}`) ?? [];
    const rps = median(s.map((x) => x.rps));
    const p99 = median(s.map((x) => x.p99ms));
    console.log(`| ${labels[name]} | ${rps.toFixed(0)} | ${p99.toFixed(2)} | ${((rps / reference) * 100).toFixed(0)}% |`);
  }
  console.log("");
}
