import { describe, expect, it } from "bun:test";
import { isCompiledPhoton, photonCommand } from "./self-command.ts";

describe("photonCommand", () => {
  it("runs photon from a checkout (Bun + cli/photon.ts)", () => {
    expect(isCompiledPhoton()).toBe(false);
    const cmd = photonCommand();
    expect(cmd[0]).toBe(process.execPath);
    expect(cmd[1]).toEndWith("/cli/photon.ts");
    const run = Bun.spawnSync([...cmd, "version", "-o", "json"], { stdout: "pipe", stderr: "pipe" });
    expect(run.exitCode, run.stderr.toString()).toBe(0);
    expect(JSON.parse(run.stdout.toString()).photon).toBeString();
  });
});
