/**
 * The `photon` CLI as a user runs it: `photon up` in the foreground, `photon status`, bad input,
 * and a clean SIGTERM. One all-in-one node is shared by the file.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ephemeralPortsEnv } from "../support/ephemeral-ports.ts";

const photon = join(import.meta.dir, "..", "..", "cli", "photon.ts");
const work = mkdtempSync(join(tmpdir(), "photon-cli-"));
const dataDir = join(work, "data");

/** Runs a photon command to completion. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const p = Bun.spawn([process.execPath, photon, ...args], { cwd: work, stdout: "pipe", stderr: "pipe", env: { ...env, PHOTON_LOG_LEVEL: "warn" } });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, stdout, stderr };
}

/** Every listener on a free port, so tests never collide with each other or a real etcd. */
const env = { ...process.env, ...ephemeralPortsEnv() };
let up: ReturnType<typeof Bun.spawn>;
let adminUrl: string;

beforeAll(async () => {
  up = Bun.spawn([process.execPath, photon, "up", "--data-dir", dataDir, "--port", "0"], { cwd: work, stdout: "pipe", stderr: "pipe", env });
  const runFile = join(dataDir, "run", "supervisor.json");
  for (let i = 0; i < 200 && !existsSync(runFile); i++) await Bun.sleep(25);
  adminUrl = JSON.parse(readFileSync(runFile, "utf8")).adminUrl;
});

afterAll(async () => {
  if (up.exitCode === null) up.kill("SIGKILL");
  await up.exited;
  rmSync(work, { recursive: true, force: true });
});

describe("photon up", () => {
  it("serves health, readiness and metrics", async () => {
    expect((await fetch(`${adminUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${adminUrl}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${adminUrl}/metrics`)).text();
    expect(metrics).toContain('photon_node_boots{component="supervisor"} 1');
  });

  it("is listed with its endpoints and health by photon status", async () => {
    const { code, stdout } = await cli("status", "--data-dir", dataDir, "-o", "json");
    expect(code).toBe(0);
    const status = JSON.parse(stdout);
    expect(status.healthy).toBe(true);
    expect(status.components[0]).toMatchObject({ name: "supervisor", state: "running", health: "ok", endpoints: { admin: adminUrl } });
    const text = await cli("status", "--url", adminUrl);
    expect(text.stdout).toMatch(/supervisor\s+running\s+ok/);
    expect(text.stdout).toMatch(/chainfire\s+running\s+ok\s+etcd=http:\/\/127\.0\.0\.1:\d+/);
  });

  it("serves chainfire's etcd API to etcdctl", async () => {
    const etcdctl = Bun.which("etcdctl");
    if (!etcdctl) return console.log("skip: etcdctl not installed");
    const status = JSON.parse((await cli("status", "--url", adminUrl, "-o", "json")).stdout);
    const etcd = status.components.find((c: { name: string }) => c.name === "chainfire").endpoints.etcd.replace("http://", "");
    const run = async (...args: string[]) => {
      const p = Bun.spawn([etcdctl, `--endpoints=${etcd}`, "--command-timeout=5s", ...args], { env: { ...process.env, ETCDCTL_API: "3" }, stdout: "pipe" });
      return new Response(p.stdout).text();
    };
    expect((await run("put", "hello", "world")).trim()).toBe("OK");
    expect(await run("get", "hello", "--print-value-only")).toBe("world\n");
  });

  it("refuses a second node on the same data directory with exit 2", async () => {
    const { code, stderr } = await cli("up", "--data-dir", dataDir, "--port", "0");
    expect(code).toBe(2);
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(stderr).toContain("in use");
  });

  it("refuses a foreign data directory without touching it", async () => {
    const foreign = join(work, "foreign");
    mkdirSync(foreign);
    writeFileSync(join(foreign, "precious.txt"), "mine");
    const { code, stderr } = await cli("up", "--data-dir", foreign, "--port", "0");
    expect(code).toBe(2);
    expect(stderr).toContain(foreign);
    expect(readdirSync(foreign)).toEqual(["precious.txt"]);
  });

  it("rejects an unknown config key naming it, with exit 2", async () => {
    const file = join(work, "bad.toml");
    writeFileSync(file, "[node]\ndta_dir = './x'\n");
    const { code, stderr } = await cli("up", "--config", file, "--port", "0");
    expect(code).toBe(2);
    expect(stderr).toContain("node.dta_dir");
    expect(existsSync(join(work, "x"))).toBe(false);
  });

  it("rejects a wrong type from the environment naming the variable", async () => {
    const p = Bun.spawn([process.execPath, photon, "up", "--data-dir", join(work, "env")], {
      cwd: work, stdout: "pipe", stderr: "pipe", env: { ...env, PHOTON_ADMIN_HTTP_PORT: "abc" },
    });
    const [stderr, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
    expect(code).toBe(2);
    expect(stderr).toContain("PHOTON_ADMIN_HTTP_PORT");
    expect(existsSync(join(work, "env"))).toBe(false);
  });

  it("reports when nothing is running", async () => {
    const { code, stderr } = await cli("status", "--url", "http://127.0.0.1:9");
    expect(code).toBe(1);
    expect(stderr).toContain("nothing answers");
  });
});

describe("photon config check", () => {
  it("accepts a valid file and rejects a bad one with exit 2", async () => {
    const good = join(work, "good.toml");
    writeFileSync(good, "[admin]\nhttp_port = 7999\n[engine]\ncompression = false\n");
    expect((await cli("config", "check", good)).code).toBe(0);
    const bad = join(work, "wrongtype.toml");
    writeFileSync(bad, "[admin]\nhttp_port = 'x'\n");
    const res = await cli("config", "check", bad);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain("admin.http_port");
  });
});

describe("photon version and help", () => {
  it("prints the versions, also as JSON", async () => {
    const { code, stdout } = await cli("version", "-o", "json");
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ photon: "0.1.0", native: "0.1.0" });
  });

  it("rejects unknown commands with exit 2", async () => {
    expect((await cli("frobnicate")).code).toBe(2);
  });
});

describe("shutdown", () => {
  it("stops cleanly on SIGTERM: exit 0, run file removed, data kept", async () => {
    up.kill("SIGTERM");
    expect(await up.exited).toBe(0);
    expect(existsSync(join(dataDir, "run", "supervisor.json"))).toBe(false);
    expect(existsSync(join(dataDir, "photoncloud.json"))).toBe(true);
  });
});
