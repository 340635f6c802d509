/**
 * plasmavmc through the real `photon` binary: `photon up` (every port 0) runs plasmavmc after
 * novanet with /healthz, /readyz, /metrics; `photon plasmavmc-agent` (cluster mode) registers its
 * host with a heartbeat; `photon flavor|image|vm|volume` create, list, get, stop/start with --wait,
 * console-log, the interactive `vm console` (WebSocket to the agent) and delete with -o json; a VM without NICs boots the test image (READY on its
 * console through the API); the agent killed -9 leaves it running and a new agent re-adopts it
 * (no second boot); a host whose agent stays dead has its VMs LOST; errors are PLASMAVMC:* on
 * stderr with exit 1.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isAlive } from "../../../services/plasmavmc/hypervisor/process.ts";
import { ensureTestImage, type TestImage } from "../../../services/plasmavmc/hypervisor/test-image.ts";
import { ephemeralPortsEnv } from "../../support/ephemeral-ports.ts";
import { PHOTON as photon, photonJson, photonRunner } from "../../support/photon-cli.ts";

const qemu = Bun.which("qemu-system-x86_64") !== null && Bun.which("qemu-img") !== null;
if (!qemu) console.log("skipping plasmavmc's CLI test: QEMU is not installed");

describe.skipIf(!qemu)("plasmavmc in photon up and the CLI", () => {
  const work = mkdtempSync(join(tmpdir(), "photon-pvm-cli-"));
  const dataDir = join(work, "data");
  // the VMs go to the agent this test starts (hv-cli), not to photon up's own (up-local-agent.test.ts covers that one)
  const env = { ...process.env, ...ephemeralPortsEnv(), XDG_CONFIG_HOME: join(work, "config"), PHOTON_LOG_LEVEL: "warn", PHOTON_PLASMAVMC_LOCAL_AGENT: "false" };
  let up: ReturnType<typeof Bun.spawn>;
  let agent: Bun.Subprocess<"ignore", "pipe", "pipe"> | undefined;
  let project = "";
  let etcd = "";
  let iamUrl = "";
  let image: TestImage;
  let status: { components: { name: string; state: string; endpoints: Record<string, string> }[] };

  const cli = photonRunner(work, env);
  const json = photonJson(cli, () => ["--data-dir", dataDir, "--project", project]);
  const startAgent = async () => {
    agent = Bun.spawn([process.execPath, photon, "plasmavmc-agent", "--etcd", etcd, "--host", "hv-cli", "--vcpus", "2", "--memory-mib", "1024", "--data-dir", dataDir,
      "--socket-dir", join(work, "s"), "--accel", "tcg", "--interval-ms", "300", "--heartbeat-seconds", "2", "--iam-url", iamUrl, "-o", "json"], { cwd: work, stdin: "ignore", stdout: "pipe", stderr: "pipe", env });
    const { value } = await agent.stdout.getReader().read();
    const line = JSON.parse(new TextDecoder().decode(value));
    expect(line).toMatchObject({ mode: "cluster", host: "hv-cli", accelerator: "tcg" });
  };
  const consoleLog = async (vm: string) => (await cli(["vm", "console-log", vm, "--data-dir", dataDir, "--project", project])).stdout;

  beforeAll(async () => {
    image = await ensureTestImage();
    up = Bun.spawn([process.execPath, photon, "up", "--data-dir", dataDir, "--port", "0"], { cwd: work, stdout: "pipe", stderr: "pipe", env });
    const runFile = join(dataDir, "run", "supervisor.json");
    for (let i = 0; i < 600 && !existsSync(runFile); i++) await Bun.sleep(25);
    if (!existsSync(runFile)) throw new Error(`photon up did not start: ${await new Response(up.stderr as ReadableStream).text()}`);
    const creds = JSON.parse(readFileSync(join(dataDir, "iam", "admin-credentials.json"), "utf8"));
    project = creds.defaultProject;
    const login = await cli(["login", "--credentials-file", join(dataDir, "iam", "admin-credentials.json")]);
    if (login.code !== 0) throw new Error(login.stderr);
    status = JSON.parse((await cli(["status", "--data-dir", dataDir, "-o", "json"])).stdout);
    etcd = status.components.find((c) => c.name === "chainfire")!.endpoints.etcd!;
    iamUrl = status.components.find((c) => c.name === "iam")!.endpoints.http!;
  }, 60_000);

  afterAll(async () => {
    if (agent && agent.exitCode === null) agent.kill("SIGKILL");
    // a VM a failed test left behind: end its QEMU by the pid in its runtime directory
    const run = join(dataDir, "plasmavmc", "run");
    for (const id of existsSync(run) ? readdirSync(run) : []) {
      const pid = Number(existsSync(join(run, id, "vmm.pid")) ? readFileSync(join(run, id, "vmm.pid"), "utf8") : "0");
      if (pid > 1 && isAlive(pid)) process.kill(pid, "SIGKILL");
    }
    if (up.exitCode === null) up.kill("SIGTERM");
    await up.exited;
    rmSync(work, { recursive: true, force: true });
  }, 30_000);

  it("runs plasmavmc with health, readiness and metrics endpoints", async () => {
    const pv = status.components.find((c) => c.name === "plasmavmc")!;
    expect(pv.state).toBe("running");
    expect(pv.endpoints.grpc).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(await (await fetch(`${pv.endpoints.http}/healthz`)).text()).toBe("ok");
    expect((await fetch(`${pv.endpoints.http}/readyz`)).status).toBe(200);
  });

  it("creates flavors and images, boots a VM, stops and starts it with --wait, and reads its console", async () => {
    await startAgent();
    expect(await json(["flavor", "create", "tiny", "--vcpus", "1", "--memory-mib", "192"])).toMatchObject({ name: "tiny", vcpus: 1 });
    const rd = await json(["image", "create", "rd", "--file", image.initrd, "--kind", "initrd"]);
    expect(rd).toMatchObject({ state: "ACTIVE", kind: "initrd" });
    const k = await json(["image", "create", "k", "--file", image.kernel, "--kind", "kernel", "--initrd", "rd", "--cmdline", image.cmdline]);
    expect(k).toMatchObject({ state: "ACTIVE", initrd: rd.id });
    expect((await json(["image", "list"])).map((i: { name: string }) => i.name)).toEqual(["rd", "k"]);
    const vm = await json(["vm", "create", "c1", "--flavor", "tiny", "--image", "k", "--wait"]);
    expect(vm).toMatchObject({ name: "c1", state: "RUNNING", host: "hv-cli" });
    for (let i = 0; i < 200 && !(await consoleLog("c1")).includes(image.marker); i++) await Bun.sleep(250);
    expect(await consoleLog("c1")).toContain(`${image.marker} ip=none`);
    expect((await json(["vm", "stop", "c1", "--deadline-ms", "3000", "--wait"])).state).toBe("STOPPED");
    expect((await json(["vm", "start", "c1", "--wait"])).state).toBe("RUNNING");
    const table = await cli(["vm", "list", "--data-dir", dataDir, "--project", project]);
    expect(table.stdout).toMatch(/^ID\s+NAME\s+STATE\s+HOST/);
    expect(table.stdout).toContain("RUNNING");
    // volumes by name: made by the agent (--wait), no hot-attach on microvm, snapshots first on delete
    expect(await json(["volume", "create", "d1", "--size-gib", "1", "--wait"])).toMatchObject({ name: "d1", state: "AVAILABLE", host: "hv-cli" });
    const hot = await cli(["volume", "attach", "d1", "--vm", "c1", "--data-dir", dataDir, "--project", project]);
    expect({ code: hot.code, hotplug: hot.stderr.includes("PLASMAVMC:HotplugUnsupported") }).toEqual({ code: 1, hotplug: true });
    expect(await json(["volume", "snapshot", "create", "d1", "s1", "--wait"])).toMatchObject({ name: "s1", state: "AVAILABLE" });
    expect((await cli(["volume", "delete", "d1", "--data-dir", dataDir, "--project", project])).stderr).toContain("PLASMAVMC:InUse");
    await json(["volume", "snapshot", "delete", "s1"]);
    await json(["volume", "delete", "d1"]);
    expect(await json(["volume", "list"])).toEqual([]);
    const bad = await cli(["vm", "create", "c2", "--flavor", "nope", "--image", "k", "--data-dir", dataDir, "--project", project]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("PLASMAVMC:NotFound");
  }, 120_000);

  it("keeps the VM running across kill -9 of the agent and marks it LOST while the host is silent", async () => {
    for (let i = 0; i < 200 && (await consoleLog("c1")).split(image.marker).length < 3; i++) await Bun.sleep(250);
    const boots = (await consoleLog("c1")).split(image.marker).length;
    agent!.kill("SIGKILL");
    await agent!.exited;
    const lost = await (async () => {
      for (let i = 0; i < 60; i++) {
        const v = await json(["vm", "get", "c1"]);
        if (v.state === "LOST") return v;
        await Bun.sleep(200);
      }
      return undefined;
    })();
    expect(lost?.reason).toContain("hv-cli");
    await startAgent();
    for (let i = 0; i < 50 && (await json(["vm", "get", "c1"])).state !== "RUNNING"; i++) await Bun.sleep(200);
    expect((await json(["vm", "get", "c1"])).state).toBe("RUNNING");
    expect((await consoleLog("c1")).split(image.marker).length).toBe(boots); // re-adopted, not booted again
    // the interactive console through the CLI (WebSocket to the agent, authorised through iam)
    const con = Bun.spawn([process.execPath, photon, "vm", "console", "c1", "--data-dir", dataDir, "--project", project], { cwd: work, stdin: new Blob(["\necho CLI-$((6*7))\n"]), stdout: "pipe", stderr: "pipe", env });
    const [out, err, code] = await Promise.all([new Response(con.stdout).text(), new Response(con.stderr).text(), con.exited]);
    expect({ code, err }).toEqual({ code: 0, err: "" });
    expect(out).toContain("CLI-42");
    const { id } = await json(["vm", "get", "c1"]);
    const pid = Number(readFileSync(join(dataDir, "plasmavmc", "run", id, "vmm.pid"), "utf8"));
    expect(isAlive(pid)).toBe(true);
    await json(["vm", "delete", "c1"]);
    expect(await json(["vm", "list"])).toEqual([]);
    expect(isAlive(pid)).toBe(false);
    expect(existsSync(join(dataDir, "plasmavmc", "run", id))).toBe(false);
  }, 60_000);
});
