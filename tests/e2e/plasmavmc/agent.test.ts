/**
 * `photon plasmavmc-agent` end to end: it launches the VM of a desired-state file, is killed -9,
 * and a new agent re-adopts the running VM (same QEMU process); it relaunches the VM when QEMU is
 * killed; then it stops and removes the VM as
 * the desired state changes, and exits 0 on SIGTERM. One real guest (the test image) for the file.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { consoleSize, waitForConsole } from "../../../services/plasmavmc/hypervisor/console-log.ts";
import { isAlive, readPidfile } from "../../../services/plasmavmc/hypervisor/process.ts";
import { QemuHypervisor } from "../../../services/plasmavmc/hypervisor/qemu-hypervisor.ts";
import { ensureTestImage, type TestImage } from "../../../services/plasmavmc/hypervisor/test-image.ts";

const qemu = Bun.which("qemu-system-x86_64");
if (!qemu) console.log("skipping plasmavmc agent e2e: qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)");

const root = join(import.meta.dir, "../../..");

/** A running agent with its stdout and JSON log lines collected. */
class Agent {
  readonly proc: ReturnType<typeof Bun.spawn>;
  readonly logs: Record<string, unknown>[] = [];
  stdout = "";

  constructor(desired: string, run: string, sockets: string) {
    this.proc = Bun.spawn(
      [process.execPath, join(root, "cli/photon.ts"), "plasmavmc-agent", "--desired", desired, "--run-dir", run, "--socket-dir", sockets, "--probe-test-image", "--interval-ms", "200", "-o", "json"],
      { stdout: "pipe", stderr: "pipe" },
    );
    void this.pump(this.proc.stdout as ReadableStream<Uint8Array>, (line) => (this.stdout += `${line}\n`));
    void this.pump(this.proc.stderr as ReadableStream<Uint8Array>, (line) => {
      try {
        this.logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        this.logs.push({ msg: line });
      }
    });
  }

  private async pump(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void): Promise<void> {
    let buf = "";
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      buf += decoder.decode(chunk);
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        onLine(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    }
  }

  /** Waits for the first log line with message `msg` (and matching fields). */
  async log(msg: string, fields: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<Record<string, unknown>> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.logs.find((l) => l.msg === msg && Object.entries(fields).every(([k, v]) => l[k] === v));
      if (hit) return hit;
      if (Date.now() > end) throw new Error(`no log "${msg}" within ${timeoutMs} ms; logs: ${JSON.stringify(this.logs)}`);
      await Bun.sleep(50);
    }
  }

  /** The JSON line printed once the agent runs. */
  async started(timeoutMs = 30_000): Promise<{ accelerator: string; reason: string; vms: { id: string; state: string; pid?: number }[] }> {
    const end = Date.now() + timeoutMs;
    while (!this.stdout.includes("\n")) {
      if (Date.now() > end || this.proc.exitCode !== null) throw new Error(`agent did not start: ${JSON.stringify(this.logs)}`);
      await Bun.sleep(50);
    }
    return JSON.parse(this.stdout.split("\n")[0]!);
  }
}

describe.skipIf(!qemu)("photon plasmavmc-agent", () => {
  let image: TestImage;
  let dir: string;
  let desired: string;
  let run: string;
  let sockets: string;
  const agents: Agent[] = [];

  const want = (state: string, extra: Record<string, unknown> = {}) =>
    writeFileSync(
      join(desired, "vm-1.json"),
      JSON.stringify({
        state,
        ...extra,
        spec: { id: "vm-1", vcpus: 1, memoryMiB: 256, boot: { kernel: image.kernel, initrd: image.initrd, cmdline: image.cmdline }, disks: [], nics: [] },
      }),
    );

  beforeAll(async () => {
    image = await ensureTestImage();
    dir = mkdtempSync("/tmp/pva-");
    desired = join(dir, "desired");
    run = join(dir, "run");
    sockets = join(dir, "s");
    mkdirSync(desired);
  }, 120_000);

  afterAll(async () => {
    for (const a of agents) if (a.proc.exitCode === null) a.proc.kill(9);
    if (run) await new QemuHypervisor({ runDir: run, socketDir: sockets }).remove("vm-1").catch(() => {});
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("launches the desired VM and reports an invalid desired-state file without stopping", async () => {
    want("running");
    writeFileSync(join(desired, "broken.json"), JSON.stringify({ state: "running", spec: { id: "broken", vcpus: 0 } }));
    const a = new Agent(desired, run, sockets);
    agents.push(a);
    const line = await a.started();
    console.log(`plasmavmc-agent: accelerator ${line.accelerator} (${line.reason})`);
    expect(line.vms.find((v) => v.id === "vm-1")?.state).toBe("running");
    const launched = await a.log("vm launched", { vm: "vm-1" });
    const bad = await a.log("invalid desired-state file");
    expect(String(bad.error)).toContain("vcpus");
    expect(bad.code).toBe("PLASMAVMC:InvalidSpec");
    await waitForConsole(join(run, "vm-1", "console.log"), image.marker, 45_000);
    expect(readPidfile(join(run, "vm-1", "vmm.pid"))).toBe(launched.pid as number);
  }, 60_000);

  it("leaves the VM running when killed -9, and the next agent re-adopts it", async () => {
    const pid = readPidfile(join(run, "vm-1", "vmm.pid"))!;
    const first = agents[0]!;
    first.proc.kill(9);
    await first.proc.exited;
    await Bun.sleep(300);
    expect(isAlive(pid)).toBe(true);

    const second = new Agent(desired, run, sockets);
    agents.push(second);
    const line = await second.started();
    expect(line.vms.find((v) => v.id === "vm-1")).toMatchObject({ state: "running", pid });
    expect((await second.log("vm adopted", { vm: "vm-1" })).pid).toBe(pid);
    expect(second.logs.some((l) => l.msg === "vm launched")).toBe(false);
  }, 60_000);

  it("launches the VM again when its QEMU dies (desired running means keep running)", async () => {
    const agent = agents[1]!;
    const log = join(run, "vm-1", "console.log");
    const pid = readPidfile(join(run, "vm-1", "vmm.pid"))!;
    const from = consoleSize(log);
    process.kill(pid, "SIGKILL");
    await agent.log("vm exited", { vm: "vm-1" });
    const relaunched = await agent.log("vm launched", { vm: "vm-1" });
    expect(relaunched.pid).not.toBe(pid);
    await waitForConsole(log, image.marker, 45_000, from);
  }, 60_000);

  it("stops the VM gracefully, then removes it, as the desired state changes", async () => {
    const agent = agents[1]!;
    const pid = readPidfile(join(run, "vm-1", "vmm.pid"))!;
    want("stopped", { stopDeadlineMs: 20_000 });
    const stopped = await agent.log("vm stopped", { vm: "vm-1" }, 40_000);
    expect(stopped.graceful).toBe(true);
    expect(isAlive(pid)).toBe(false);
    rmSync(join(desired, "vm-1.json"));
    await agent.log("vm removed (no desired state)", { vm: "vm-1" });
    expect(existsSync(join(run, "vm-1"))).toBe(false);
    expect(readdirSync(sockets)).toEqual([]);
  }, 60_000);

  it("exits 0 on SIGTERM, having logged no failed round", async () => {
    const agent = agents[1]!;
    agent.proc.kill("SIGTERM");
    expect(await agent.proc.exited).toBe(0);
    const failures = agents.flatMap((a) => a.logs).filter((l) => l.level === "error" && l.msg !== "invalid desired-state file");
    expect(failures).toEqual([]);
  }, 20_000);
});
