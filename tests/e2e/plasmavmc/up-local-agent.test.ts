/**
 * The all-in-one runs VMs on its own machine: `photon up` as root starts this host's agents
 * (novanet's Linux data plane and plasmavmc's QEMU agent, cli/up/local-agents.ts) — here inside
 * a network namespace of the test (`[plasmavmc] agent_netns`, its own namespace prefix and
 * socket directory), so nothing touches the machine's own network. Through the real `photon`
 * binary only: `photon status` shows the agents; `photon vm create --subnet --wait` with the tiny
 * test image reaches RUNNING on this host, the guest takes its novanet address by DHCP (its
 * console says so); `photon vm delete` leaves no QEMU process, runtime directory, socket or tap,
 * and deleting the network leaves no device or namespace of the data plane. Needs root, ip
 * netns, QEMU, dnsmasq, nft; skipped with the reason otherwise.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { netnsUnavailable } from "../../../dataplane/linux/testbed.ts";
import { isAlive } from "../../../services/plasmavmc/hypervisor/process.ts";
import { ensureTestImage, type TestImage } from "../../../services/plasmavmc/hypervisor/test-image.ts";
import { ephemeralPortsEnv } from "../../support/ephemeral-ports.ts";
import { PHOTON as photon, photonJson, photonRunner } from "../../support/photon-cli.ts";

const missing = ["qemu-system-x86_64", "qemu-img", "dnsmasq", "busybox"].filter((b) => !Bun.which(b));
const reason = (await netnsUnavailable()) ?? (missing.length ? `missing ${missing.join(", ")}` : undefined);
if (reason) console.log(`skipping the photon up local VM agent test: ${reason}`);

const sh = (argv: string[]) => {
  const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, out: r.stdout.toString() };
};

describe.skipIf(reason !== undefined)("photon up runs this host's VM agents", () => {
  const tag = `pvu${process.pid % 100000}`;
  const ns = `${tag}-host`;
  const prefix = `${tag}-`;
  const work = mkdtempSync(join(tmpdir(), "pvm-up-"));
  const dataDir = join(work, "data");
  const env = {
    ...process.env, ...ephemeralPortsEnv(), XDG_CONFIG_HOME: join(work, "config"), XDG_RUNTIME_DIR: join(work, "xdg"), PHOTON_LOG_LEVEL: "warn",
    PHOTON_NODE_NAME: "aio-1", PHOTON_PLASMAVMC_AGENT_NETNS: ns, PHOTON_PLASMAVMC_AGENT_NS_PREFIX: prefix, PHOTON_PLASMAVMC_AGENT_ACCEL: "tcg",
    PHOTON_PLASMAVMC_AGENT_VCPUS: "2", PHOTON_PLASMAVMC_AGENT_MEMORY_MIB: "1024",
  };
  let up: ReturnType<typeof Bun.spawn>;
  let project = "";
  let image: TestImage;
  const netnsList = () => (sh(["ip", "-json", "netns", "list"]).out.trim() ? (JSON.parse(sh(["ip", "-json", "netns", "list"]).out) as { name: string }[]).map((n) => n.name) : []);
  const ourDevices = () => sh(["ip", "-n", ns, "-o", "link", "show"]).out.split("\n").map((l) => l.split(":")[1]?.trim().split("@")[0] ?? "").filter((d) => /^pc[a-z]-/.test(d));

  const cli = photonRunner(work, env);
  const json = photonJson(cli, () => ["--data-dir", dataDir, "--project", project]);

  beforeAll(async () => {
    image = await ensureTestImage();
    for (const n of netnsList()) if (n.startsWith(`${tag}-`)) sh(["ip", "netns", "del", n]);
    sh(["ip", "netns", "add", ns]);
    sh(["ip", "-n", ns, "link", "set", "lo", "up"]);
    up = Bun.spawn([process.execPath, photon, "up", "--data-dir", dataDir, "--port", "0"], { cwd: work, stdout: "pipe", stderr: "pipe", env });
    const runFile = join(dataDir, "run", "supervisor.json");
    for (let i = 0; i < 1200 && !existsSync(runFile) && up.exitCode === null; i++) await Bun.sleep(25);
    if (!existsSync(runFile)) throw new Error(`photon up did not start: ${await new Response(up.stderr as ReadableStream).text()}`);
    project = JSON.parse(readFileSync(join(dataDir, "iam", "admin-credentials.json"), "utf8")).defaultProject;
    const login = await cli(["login", "--credentials-file", join(dataDir, "iam", "admin-credentials.json")]);
    if (login.code !== 0) throw new Error(login.stderr);
  }, 90_000);

  afterAll(async () => {
    // a VM a failed test left behind: end its QEMU by the pid in its runtime directory
    const run = join(dataDir, "plasmavmc", "run");
    for (const id of existsSync(run) ? readdirSync(run) : []) {
      const pid = Number(existsSync(join(run, id, "vmm.pid")) ? readFileSync(join(run, id, "vmm.pid"), "utf8") : "0");
      if (pid > 1 && isAlive(pid)) process.kill(pid, "SIGKILL");
    }
    if (up && up.exitCode === null) up.kill("SIGTERM");
    await up?.exited;
    // dnsmasq of the data plane (its files are in /run/photon/novanet/<prefix>d-<vni>)
    for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
      try {
        if (readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(`/run/photon/novanet/${prefix}`)) process.kill(Number(pid), "SIGKILL");
      } catch {
        /* gone */
      }
    }
    for (const n of netnsList()) if (n.startsWith(`${tag}-`)) sh(["ip", "netns", "del", n]);
    for (const d of existsSync("/run/photon/novanet") ? readdirSync("/run/photon/novanet") : []) if (d.startsWith(prefix)) rmSync(join("/run/photon/novanet", d), { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  }, 30_000);

  it("shows the agents in photon status (plasmavmc's endpoints)", async () => {
    const status = JSON.parse((await cli(["status", "--data-dir", dataDir, "-o", "json"])).stdout);
    const pv = status.components.find((c: { name: string }) => c.name === "plasmavmc");
    const agents = pv.endpoints.agents as string;
    expect(agents).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/healthz$/);
    expect(pv).toMatchObject({ state: "running", health: "ok", endpoints: { host: "aio-1", accelerator: "tcg" } });
    expect((await fetch(agents)).status).toBe(200);
    expect(status.healthy).toBe(true);
  });

  it("boots a VM on this host that takes its address by DHCP, and deletes it leaving nothing", async () => {
    await json(["flavor", "create", "tiny", "--vcpus", "1", "--memory-mib", "192"]);
    const rd = await json(["image", "create", "rd", "--file", image.initrd, "--kind", "initrd"]);
    await json(["image", "create", "k", "--file", image.kernel, "--kind", "kernel", "--initrd", rd.id, "--cmdline", image.cmdline]);
    await json(["vpc", "create", "net", "--cidr", "10.44.0.0/16"]);
    await json(["subnet", "create", "sn", "--vpc", "net", "--cidr", "10.44.1.0/24"]);
    const vm = await json(["vm", "create", "v1", "--flavor", "tiny", "--image", "k", "--subnet", "sn", "--wait"]);
    expect(vm).toMatchObject({ name: "v1", state: "RUNNING", host: "aio-1", accelerator: "tcg" });
    const ip = vm.addresses[0];
    expect(ip).toMatch(/^10\.44\.1\.\d+$/);
    let log = "";
    for (let i = 0; i < 240 && !log.includes(`${image.marker} ip=${ip}`); i++) {
      await Bun.sleep(250);
      log = (await cli(["vm", "console-log", "v1", "--data-dir", dataDir, "--project", project])).stdout;
    }
    expect(log).toContain(`${image.marker} ip=${ip}`);
    const pid = Number(readFileSync(join(dataDir, "plasmavmc", "run", vm.id, "vmm.pid"), "utf8"));
    expect(isAlive(pid)).toBe(true);
    expect(ourDevices().some((d) => d.startsWith("pct-"))).toBe(true); // the VM's tap, in the agents' namespace

    await json(["vm", "delete", "v1"]);
    expect(await json(["vm", "list"])).toEqual([]);
    expect(isAlive(pid)).toBe(false);
    expect(existsSync(join(dataDir, "plasmavmc", "run", vm.id))).toBe(false);
    expect(readdirSync(join(work, "xdg", "photon", "vms")).filter((f) => f.includes(vm.id))).toEqual([]);
    expect(await json(["port", "list"])).toEqual([]);
    for (let i = 0; i < 50 && ourDevices().some((d) => d.startsWith("pct-")); i++) await Bun.sleep(100);
    expect(ourDevices().filter((d) => d.startsWith("pct-"))).toEqual([]);
    await json(["subnet", "delete", "sn"]);
    await json(["vpc", "delete", "net"]);
    for (let i = 0; i < 50 && (ourDevices().length > 0 || netnsList().some((n) => n.startsWith(prefix) && n !== ns)); i++) await Bun.sleep(100);
    expect(ourDevices()).toEqual([]);
    expect(netnsList().filter((n) => n.startsWith(prefix) && n !== ns)).toEqual([]);
    expect(readdirSync("/run/photon/novanet").filter((d) => d.startsWith(prefix))).toEqual([]);
  }, 180_000);
});
