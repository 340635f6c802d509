/**
 * iam vs OpenStack Keystone (Debian's python3-keystone, uwsgi), side by side in one run, same
 * client (wrk), same connections and duration: token issue (password login → scoped token) and
 * token validation over the API.
 *
 *   npx bun bench/iam/keystone-compare.ts [--seconds 8] [--rounds 3] [--connections 8] [--write docs/benchmarks/iam-vs-keystone.md]
 *
 * - iam: one chainfire member and one iam in this process (Bun's one JS thread; argon2id runs on
 *   Bun's thread pool), login rate limit raised for the run. Issue = POST /v1/auth/login,
 *   validate = GET /v1/auth/whoami (signature, expiry, revocation, principal enabled).
 * - Keystone: fernet tokens, SQLite, uwsgi (HTTP router with keep-alive) with one worker process
 *   per core (how it is deployed), its cache on (dogpile's in-memory backend per worker). Issue = POST /v3/auth/tokens (password, project-scoped),
 *   validate = GET /v3/auth/tokens with X-Subject-Token.
 * Each side keeps its own default password hash (iam: argon2id m=19 MiB t=2; Keystone: bcrypt,
 * passlib's default cost 12): the issue rate is mostly that choice, reported as such.
 * Medians of the rounds; the ratio is iam / Keystone.
 * Skips (exit 0, with the reason) when keystone-manage, uwsgi or wrk is missing.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createLogger } from "../../lib/log.ts";
import { createMetrics } from "../../lib/metrics.ts";
import { startChainfire } from "../../services/chainfire/server.ts";
import { startIam } from "../../services/iam/server.ts";
import { freePort } from "../../tests/support/free-port.ts";

const { values: args } = parseArgs({
  options: { seconds: { type: "string", default: "8" }, rounds: { type: "string", default: "3" }, connections: { type: "string", default: "8" }, write: { type: "string" } },
});
const SECONDS = Number(args.seconds);
const ROUNDS = Number(args.rounds);
const CONNS = Number(args.connections);
const PASSWORD = "bench password 123";

for (const tool of ["keystone-manage", "uwsgi", "wrk"]) {
  if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0) {
    console.log(`skipped: ${tool} is not installed (apt-get install python3-keystone uwsgi-core uwsgi-plugin-python3 wrk)`);
    process.exit(0);
  }
}

const work = mkdtempSync(join(tmpdir(), "bench-keystone-"));
const procs: ChildProcess[] = [];
const cleanup = () => {
  for (const p of procs) p.kill("SIGTERM");
  rmSync(work, { recursive: true, force: true });
};
process.on("exit", cleanup);

/** A wrk run: requests/s and latency percentiles (ms). */
interface WrkResult { rps: number; p50: number; p99: number; errors: number }

/** Runs wrk without blocking this process's event loop (iam is served from it). */
async function wrk(url: string, opts: { method?: string; body?: string; headers?: Record<string, string> }): Promise<WrkResult> {
  const script = join(work, `wrk-${Math.random().toString(36).slice(2)}.lua`);
  const lines = [`wrk.method = ${JSON.stringify(opts.method ?? "GET")}`];
  if (opts.body) lines.push(`wrk.body = ${JSON.stringify(opts.body)}`);
  for (const [k, v] of Object.entries(opts.headers ?? {})) lines.push(`wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`);
  lines.push(`function response(status, headers, body) if status >= 300 then bad = (bad or 0) + 1 end end`);
  lines.push(`done = function(summary, latency, requests) io.write(string.format("non2xx-or-errors %d\\n", summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout)) end`);
  writeFileSync(script, lines.join("\n"));
  const child = Bun.spawn(["wrk", "-t", "1", "-c", String(CONNS), "-d", `${SECONDS}s`, "--latency", "--timeout", "30s", "-s", script, url], { stdout: "pipe", stderr: "pipe" });
  const out = await new Response(child.stdout).text();
  await child.exited;
  if (process.env.BENCH_DEBUG) console.error(url, out);
  const ms = (label: string) => {
    const m = new RegExp(`^\\s*${label}\\s+([\\d.]+)(us|ms|s)`, "m").exec(out);
    if (!m) return NaN;
    const v = Number(m[1]);
    return m[2] === "us" ? v / 1000 : m[2] === "s" ? v * 1000 : v;
  };
  return { rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN), p50: ms("50%"), p99: ms("99%"), errors: Number(/non2xx-or-errors (\d+)/.exec(out)?.[1] ?? 0) };
}

// ---- Keystone ----------------------------------------------------------------------------------
async function startKeystone(): Promise<{ url: string; issueBody: string; adminToken: string; subjectToken: string }> {
  const dir = join(work, "keystone");
  const conf = join(work, "keystone.conf");
  writeFileSync(conf, [
    "[DEFAULT]", `log_dir = ${dir}`, "use_stderr = false",
    "[database]", `connection = sqlite:///${dir}/keystone.db`,
    "[token]", "provider = fernet",
    "[fernet_tokens]", `key_repository = ${dir}/fernet-keys`,
    "[fernet_receipts]", `key_repository = ${dir}/fernet-receipts`,
    "[credential]", `key_repository = ${dir}/credential-keys`,
    // Keystone's own recommendation is a cache in front of token validation; an in-process
    // dogpile memory cache per worker gives it that without a memcached to run.
    "[cache]", "enabled = true", "backend = dogpile.cache.memory", "",
  ].join("\n"));
  spawnSync("mkdir", ["-p", dir]);
  const port = await freePort();
  const manage = (...a: string[]) => {
    spawnSync("keystone-manage", ["--config-file", conf, ...a], { stdio: "ignore" });
  };
  manage("db_sync");
  manage("fernet_setup", "--keystone-user", "root", "--keystone-group", "root");
  manage("credential_setup", "--keystone-user", "root", "--keystone-group", "root");
  manage("bootstrap", "--bootstrap-password", PASSWORD, "--bootstrap-public-url", `http://127.0.0.1:${port}/v3/`, "--bootstrap-region-id", "RegionOne");
  const proc = spawn("uwsgi", ["--plugin", "http,python3", "--http", `127.0.0.1:${port}`, "--http-keepalive", "--wsgi-file", "/usr/bin/keystone-wsgi-public",
    "--master", "--processes", String(cpus().length), "--threads", "1", "--die-on-term", "--logto", join(dir, "uwsgi.log")],
  { env: { ...process.env, OS_KEYSTONE_CONFIG_FILES: conf }, stdio: "ignore" });
  procs.push(proc);
  const url = `http://127.0.0.1:${port}`;
  const issueBody = JSON.stringify({ auth: { identity: { methods: ["password"], password: { user: { name: "admin", domain: { id: "default" }, password: PASSWORD } } }, scope: { project: { name: "admin", domain: { id: "default" } } } } });
  const issue = async () => {
    const r = await fetch(`${url}/v3/auth/tokens`, { method: "POST", headers: { "content-type": "application/json" }, body: issueBody });
    if (r.status !== 201) throw new Error(`keystone token issue: HTTP ${r.status}`);
    return r.headers.get("x-subject-token")!;
  };
  for (let i = 0; ; i++) {
    try {
      const adminToken = await issue();
      return { url, issueBody, adminToken, subjectToken: await issue() };
    } catch (e) {
      if (i > 150) throw new Error(`Keystone did not start (see ${dir}/uwsgi.log): ${(e as Error).message}`);
      await Bun.sleep(200);
    }
  }
}

// ---- iam ---------------------------------------------------------------------------------------
async function startPhotonIam(): Promise<{ url: string; issueBody: string; token: string }> {
  const logger = createLogger("bench", { level: "error" });
  const cf = await startChainfire({ dataDir: join(work, "chainfire"), name: "n1", host: "127.0.0.1", port: 0, httpPort: 0, logger, metrics: createMetrics("chainfire") });
  const iam = await startIam({
    etcdEndpoints: [cf.endpoint], dataDir: join(work, "iam"), host: "127.0.0.1", httpPort: 0, grpcPort: 0,
    limiter: { perSourcePerMinute: 100_000_000 }, logger, metrics: createMetrics("iam"),
  });
  const creds = JSON.parse(readFileSync(iam.credentialsFile!, "utf8")) as { user: string; password: string };
  const url = iam.http.url;
  const admin = await login(url, JSON.stringify({ user: creds.user, password: creds.password }));
  const orgs = (await (await fetch(`${url}/v1/orgs`, { headers: { authorization: `Bearer ${admin}` } })).json()) as { items: { id: string }[] };
  const org = orgs.items[0]!.id;
  const user = (await (await fetch(`${url}/v1/users`, { method: "POST", headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" }, body: JSON.stringify({ org, name: "bench", password: PASSWORD }) })).json()) as { id: string };
  const projects = (await (await fetch(`${url}/v1/projects?org=${org}`, { headers: { authorization: `Bearer ${admin}` } })).json()) as { items: { id: string }[] };
  const project = projects.items[0]!.id;
  await fetch(`${url}/v1/bindings`, { method: "POST", headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" }, body: JSON.stringify({ principal: user.id, role: "admin", scope: { kind: "project", id: project } }) });
  const issueBody = JSON.stringify({ user: "bench", password: PASSWORD, org: "default", project: "default" });
  return { url, issueBody, token: await login(url, issueBody) };
}

async function login(url: string, body: string): Promise<string> {
  const r = await fetch(`${url}/v1/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body });
  if (!r.ok) throw new Error(`iam login: HTTP ${r.status} ${await r.text()}`);
  return ((await r.json()) as { accessToken: string }).accessToken;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const ks = await startKeystone();
const ph = await startPhotonIam();
const runs: Record<string, WrkResult[]> = { "iam issue": [], "keystone issue": [], "iam validate": [], "keystone validate": [] };
for (let round = 0; round < ROUNDS; round++) {
  runs["iam issue"]!.push(await wrk(`${ph.url}/v1/auth/login`, { method: "POST", body: ph.issueBody, headers: { "content-type": "application/json" } }));
  runs["keystone issue"]!.push(await wrk(`${ks.url}/v3/auth/tokens`, { method: "POST", body: ks.issueBody, headers: { "content-type": "application/json" } }));
  runs["iam validate"]!.push(await wrk(`${ph.url}/v1/auth/whoami`, { headers: { authorization: `Bearer ${ph.token}` } }));
  runs["keystone validate"]!.push(await wrk(`${ks.url}/v3/auth/tokens`, { headers: { "x-auth-token": ks.adminToken, "x-subject-token": ks.subjectToken } }));
  console.error(`round ${round + 1}/${ROUNDS} done`);
}

const row = (name: string) => {
  const r = runs[name]!;
  return { rps: median(r.map((x) => x.rps)), p50: median(r.map((x) => x.p50)), p99: median(r.map((x) => x.p99)), errors: r.reduce((n, x) => n + x.errors, 0) };
};
const lines = [
  "| operation | iam req/s | Keystone req/s | ratio iam/Keystone | iam p50 / p99 (ms) | Keystone p50 / p99 (ms) | failed requests (iam / Keystone) |",
  "|---|---|---|---|---|---|---|",
];
for (const op of ["issue", "validate"]) {
  const a = row(`iam ${op}`), b = row(`keystone ${op}`);
  lines.push(`| token ${op} | ${a.rps.toFixed(0)} | ${b.rps.toFixed(0)} | ${(a.rps / b.rps).toFixed(2)}× | ${a.p50.toFixed(2)} / ${a.p99.toFixed(2)} | ${b.p50.toFixed(2)} / ${b.p99.toFixed(2)} | ${a.errors} / ${b.errors} |`);
}
const raw = Object.entries(runs).map(([k, v]) => `- ${k}: ${v.map((x) => x.rps.toFixed(0)).join(", ")} req/s`);
const table = lines.join("\n");
console.log(table);
console.log(raw.join("\n"));

if (args.write) {
  const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  const doc = `# iam vs OpenStack Keystone: token issue and validation over the API

Same machine, same run, same client (wrk, 1 thread, ${CONNS} connections, ${SECONDS} s per run,
${ROUNDS} rounds alternating; medians). See the header of bench/iam/keystone-compare.ts for what
each side runs.

## Command

\`\`\`sh
npx bun bench/iam/keystone-compare.ts --seconds ${SECONDS} --rounds ${ROUNDS} --connections ${CONNS} --write docs/benchmarks/iam-vs-keystone.md
\`\`\`

## Setup

- iam: one chainfire member + one iam in one Bun process (${cpus().length} vCPUs on the machine);
  issue = \`POST /v1/auth/login\` (argon2id m=19 MiB, t=2 — OWASP's parameters), validate =
  \`GET /v1/auth/whoami\` (EdDSA signature, expiry, revocation list, principal still enabled).
- Keystone (Debian 12's python3-keystone under uwsgi, ${cpus().length} worker processes, fernet tokens,
  SQLite, dogpile in-memory cache per worker): issue = \`POST /v3/auth/tokens\` (password, project scope; bcrypt cost 12,
  passlib's default), validate = \`GET /v3/auth/tokens\` with \`X-Subject-Token\`.
- Load average at the end of the run: ${load} (the machine is shared; ratios matter, absolutes
  don't: under load Keystone's Python workers suffer more than iam's one thread, so rerun on a
  quiet machine before reading the ratio as a constant).

## Results

${table}

Each round's requests/s:
${raw.join("\n")}

Token issue measures mostly each side's password hash (a deliberate cost); validation measures
the token path itself. Services do not validate over the API on every call: they decide in
process from iam's policy feed (docs/adr/0014), see iam-authorize.md for those numbers.
`;
  writeFileSync(args.write, doc);
  console.log(`wrote ${args.write}`);
}
cleanup();
process.exit(0);
