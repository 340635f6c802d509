/** `bun build --compile` makes one `photon` executable that carries the native addon. */
import { afterAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dir, "..", "..");
const out = mkdtempSync(join(tmpdir(), "photon-compile-"));

afterAll(() => rmSync(out, { recursive: true, force: true }));

describe("compiled photon executable", () => {
  it("runs and loads the embedded native addon", async () => {
    const exe = join(out, "photon");
    const build = Bun.spawnSync([process.execPath, "build", "--compile", join(root, "cli", "photon.ts"), "--outfile", exe], { cwd: root, stderr: "pipe" });
    expect(build.exitCode, build.stderr.toString()).toBe(0);
    // Run it from an unrelated directory so nothing resolves from the checkout.
    const run = Bun.spawnSync([exe, "version", "-o", "json"], { cwd: out, stdout: "pipe", stderr: "pipe" });
    expect(run.exitCode, run.stderr.toString()).toBe(0);
    expect(JSON.parse(run.stdout.toString())).toMatchObject({ photon: "0.1.0", native: "0.1.0" });
  }, 120_000);
});
