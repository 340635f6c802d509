/**
 * `bun build --compile` makes one `photon` executable that carries the native addon and the
 * .proto files the services load (lib/grpc/protos.ts), so it runs outside the checkout.
 */
import { afterAll, describe, expect, it } from "bun:test";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ephemeralPortsEnv } from "../support/ephemeral-ports.ts";

const root = join(import.meta.dir, "..", "..");
const out = mkdtempSync(join(tmpdir(), "photon-compile-"));

afterAll(() => rmSync(out, { recursive: true, force: true }));

let built: string | undefined;

/** Builds the executable once (into `out`) and returns its path. */
function build(): string {
  if (built) return built;
  const exe = join(out, "photon");
  const result = Bun.spawnSync([process.execPath, "build", "--compile", join(root, "cli", "photon.ts"), "--outfile", exe], { cwd: root, stderr: "pipe" });
  expect(result.exitCode, result.stderr.toString()).toBe(0);
  return (built = exe);
}

describe("compiled photon executable", () => {
  it("runs and loads the embedded native addon", async () => {
    const exe = build();
    // Run it from an unrelated directory so nothing resolves from the checkout.
    const run = Bun.spawnSync([exe, "version", "-o", "json"], { cwd: out, stdout: "pipe", stderr: "pipe" });
    expect(run.exitCode, run.stderr.toString()).toBe(0);
    expect(JSON.parse(run.stdout.toString())).toMatchObject({ photon: "0.1.0", native: "0.1.0" });
  }, 120_000);

  it("starts its own helper commands (the metadata proxy plasmavmc's agent runs in a namespace)", async () => {
    const exe = build();
    const proxy = Bun.spawn([exe, "plasmavmc-metadata-proxy", "--listen", "127.0.0.1:0", "--network", "vpc-x", "--upstream", join(out, "nothing.sock")], { cwd: out, stdout: "pipe", stderr: "pipe" });
    try {
      const reader = proxy.stdout.getReader();
      const first = new TextDecoder().decode((await reader.read()).value);
      const port = Number(/listening 127\.0\.0\.1:(\d+)/.exec(first)?.[1]);
      expect(port).toBeGreaterThan(0);
      const res = await fetch(`http://127.0.0.1:${port}/openstack/latest/meta_data.json`);
      expect(res.status).toBe(503); // no metadata server behind it: the proxy itself answers
    } finally {
      proxy.kill("SIGTERM");
      await proxy.exited;
    }
  }, 120_000);

  it("runs photon up from an empty directory with its embedded .proto files", async () => {
    const bare = mkdtempSync(join(tmpdir(), "photon-bare-"));
    try {
      const exe = join(bare, "photon");
      copyFileSync(build(), exe);
      const dataDir = join(bare, "data");
      const env = {
        ...process.env,
  ...ephemeralPortsEnv(),
        PHOTON_LOG_LEVEL: "warn",
      };
      const up = Bun.spawn([exe, "up", "--data-dir", dataDir, "--port", "0"], { cwd: bare, stdout: "pipe", stderr: "pipe", env });
      const stderr = new Response(up.stderr).text();
      try {
        const runFile = join(dataDir, "run", "supervisor.json");
        for (let i = 0; i < 800 && !existsSync(runFile) && up.exitCode === null; i++) await Bun.sleep(25);
        expect(existsSync(runFile), `photon up exited ${up.exitCode}: ${up.exitCode === null ? "" : await stderr}`).toBe(true);
        const adminUrl: string = JSON.parse(readFileSync(runFile, "utf8")).adminUrl;
        let components: { name: string; state: string }[] = [];
        for (let i = 0; i < 400; i++) {
          components = ((await (await fetch(`${adminUrl}/v1/status`)).json()) as { components: typeof components }).components;
          if (["chainfire", "iam"].every((n) => components.some((c) => c.name === n && c.state === "running"))) break;
          await Bun.sleep(25);
        }
        expect(components.find((c) => c.name === "chainfire")?.state).toBe("running");
        expect(components.find((c) => c.name === "iam")?.state).toBe("running");
        process.kill(up.pid, "SIGTERM");
        expect(await up.exited, await stderr).toBe(0);
      } finally {
        if (up.exitCode === null) up.kill("SIGKILL");
        await up.exited;
      }
    } finally {
      rmSync(bare, { recursive: true, force: true });
    }
  }, 120_000);
});
