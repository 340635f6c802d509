/**
 * The hash workers (ADR 0022) run from source text in a Blob URL; in a `bun build --compile`
 * executable (how `photon` ships) that text must not depend on the bundler's helpers. Regression:
 * `require("node:fs")` in the worker became `__require`, and every large PUT failed.
 */
import { afterAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const out = mkdtempSync(join(tmpdir(), "lightningstor-compile-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe("a compiled executable", () => {
  it("hashes and writes large bodies on its workers", async () => {
    const bin = join(out, "ingest");
    const build = Bun.spawnSync([process.execPath, "build", "--compile", join(import.meta.dir, "compiled-ingest-main.ts"), "--outfile", bin], { stdout: "pipe", stderr: "pipe" });
    expect(build.exitCode, build.stderr.toString()).toBe(0);
    const run = Bun.spawnSync([bin], { stdout: "pipe", stderr: "pipe" });
    expect(run.stdout.toString().trim(), run.stderr.toString()).toBe("OK");
    expect(run.exitCode).toBe(0);
  }, 60_000);
});
