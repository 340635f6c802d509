/**
 * novanet through the real `photon` binary: `photon up` (every port 0) runs novanet after iam
 * with /healthz, /readyz and /metrics; `photon vpc|subnet|port|secgroup|router|fip` create, list,
 * get and delete with -o json, names for references and NOVANET:* errors on stderr (exit 1); and,
 * as root with network namespaces, `photon novanet-agent` plugs a port created with
 * `--host`/`--netns` into a namespace standing in for the host, and unplugs it when deleted.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { must, netnsUnavailable } from "../../../dataplane/linux/testbed.ts";
import { portDeviceName } from "../../../dataplane/linux/names.ts";
import { ephemeralPortsEnv } from "../../support/ephemeral-ports.ts";

const photon = join(import.meta.dir, "..", "..", "..", "cli", "photon.ts");
const work = mkdtempSync(join(tmpdir(), "photon-novanet-cli-"));
const dataDir = join(work, "data");
const env = {
  ...process.env,
  ...ephemeralPortsEnv(),
  XDG_CONFIG_HOME: join(work, "config"),
  PHOTON_LOG_LEVEL: "warn",
};
let up: ReturnType<typeof Bun.spawn>;
let project = "";
let status: { components: { name: string; state: string; endpoints: Record<string, string> }[] };

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const p = Bun.spawn([process.execPath, photon, ...args], { cwd: work, stdout: "pipe", stderr: "pipe", env });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, stdout, stderr };
}
const json = async (args: string[]) => {
  const r = await cli([...args, "-o", "json", "--data-dir", dataDir, "--project", project]);
  if (r.code !== 0) throw new Error(`photon ${args.join(" ")}: ${r.stderr}`);
  return JSON.parse(r.stdout);
};

beforeAll(async () => {
  up = Bun.spawn([process.execPath, photon, "up", "--data-dir", dataDir, "--port", "0"], { cwd: work, stdout: "pipe", stderr: "pipe", env });
  const runFile = join(dataDir, "run", "supervisor.json");
  for (let i = 0; i < 600 && !existsSync(runFile); i++) await Bun.sleep(25);
  if (!existsSync(runFile)) throw new Error(`photon up did not start: ${await new Response(up.stderr as ReadableStream).text()}`);
  const creds = JSON.parse(readFileSync(join(dataDir, "iam", "admin-credentials.json"), "utf8"));
  project = creds.defaultProject;
  const login = await cli(["login", "--credentials-file", join(dataDir, "iam", "admin-credentials.json")]);
  if (login.code !== 0) throw new Error(login.stderr);
  status = JSON.parse((await cli(["status", "--data-dir", dataDir, "-o", "json"])).stdout);
}, 30_000);

afterAll(async () => {
  if (up.exitCode === null) up.kill("SIGTERM");
  await up.exited;
  rmSync(work, { recursive: true, force: true });
});

describe("novanet in photon up and the CLI", () => {
  it("runs novanet with health, readiness and metrics endpoints", async () => {
    const nn = status.components.find((c) => c.name === "novanet")!;
    const url = nn.endpoints.http!;
    expect(nn.state).toBe("running");
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(nn.endpoints.grpc).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(await (await fetch(`${url}/healthz`)).text()).toBe("ok");
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    expect(await (await fetch(`${url}/metrics`)).text()).toContain("http_request");
  });

  it("creates, lists, gets and deletes VPCs, subnets, groups, ports and routers by name", async () => {
    const vpc = await json(["vpc", "create", "prod", "--cidr", "10.20.0.0/16"]);
    expect(vpc).toMatchObject({ name: "prod", cidr: "10.20.0.0/16", vni: expect.any(Number), id: expect.stringMatching(/^vpc_/) });
    const sn = await json(["subnet", "create", "web", "--vpc", "prod", "--cidr", "10.20.1.0/24", "--dns", "192.0.2.53"]);
    expect(sn).toMatchObject({ vpc: vpc.id, gatewayIp: "10.20.1.1", dnsServers: ["192.0.2.53"] });
    const sg = await json(["secgroup", "create", "web"]);
    const rule = await json(["secgroup", "rule-add", "web", "--direction", "ingress", "--protocol", "tcp", "--port", "80-81"]);
    expect(rule).toMatchObject({ protocol: "tcp", portMin: 80, portMax: 81 });
    const port = await json(["port", "create", "vm1", "--subnet", "web", "--ip", "10.20.1.50", "--secgroup", "web", "--host", "hv1"]);
    expect(port).toMatchObject({ fixedIps: ["10.20.1.50"], securityGroups: [sg.id], host: "hv1" });
    expect((await json(["port", "list"])).map((p: { id: string }) => p.id)).toEqual([port.id]);
    expect((await json(["port", "get", "vm1"])).id).toBe(port.id);
    const router = await json(["router", "create", "r1", "--vpc", "prod", "--subnet", "web"]);
    expect(router.subnets).toEqual([sn.id]);
    const table = await cli(["subnet", "list", "--data-dir", dataDir, "--project", project]);
    expect(table.stdout).toMatch(/^ID\s+NAME\s+VPC\s+CIDR/);
    await json(["router", "delete", "r1"]);
    await json(["port", "delete", "vm1"]);
    await json(["secgroup", "delete", "web"]);
    await json(["subnet", "delete", "web"]);
    await json(["vpc", "delete", "prod"]);
    expect(await json(["vpc", "list"])).toEqual([]);
  });

  it("reports bad input with the NOVANET code and exit 1, bad flags with exit 2", async () => {
    await json(["vpc", "create", "v", "--cidr", "10.30.0.0/16"]);
    const bad = await cli(["subnet", "create", "s", "--vpc", "v", "--cidr", "10.31.0.0/24", "--data-dir", dataDir, "--project", project]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("[NOVANET:OutOfRange]");
    const rule = await cli(["secgroup", "rule-add", "default", "--direction", "ingress", "--protocol", "icmp", "--port", "80", "--data-dir", dataDir, "--project", project]);
    expect(rule.code).toBe(1);
    expect(rule.stderr).toContain("[NOVANET:InvalidRule]");
    const flag = await cli(["vpc", "create", "x", "--bogus"]);
    expect(flag.code).toBe(2);
    await json(["vpc", "delete", "v"]);
  });
});

const reason = await netnsUnavailable();
if (reason) console.log(`skipping the novanet-agent command test: ${reason}`);

describe.skipIf(reason !== undefined)("photon novanet-agent", () => {
  const tag = `pce${process.pid % 100000}`;
  const hostNs = `${tag}-h`;
  const vmNs = `${tag}-vm`;
  let agent: ReturnType<typeof Bun.spawn> | undefined;

  afterAll(async () => {
    if (agent && agent.exitCode === null) agent.kill("SIGTERM");
    await agent?.exited;
    for (const n of (await must(["ip", "netns", "list"])).split("\n").map((l) => l.split(" ")[0]!)) if (n.startsWith(`${tag}-`)) await must(["ip", "netns", "del", n]);
    rmSync(join(work, "agent-state"), { recursive: true, force: true });
  });

  it("plugs a port bound to its host into the VM's namespace and removes it when deleted", async () => {
    for (const n of [hostNs, vmNs]) await must(["ip", "netns", "add", n]);
    await must(["ip", "-n", hostNs, "link", "set", "lo", "up"]);
    const etcd = status.components.find((c) => c.name === "chainfire")!.endpoints.etcd!;
    agent = Bun.spawn([process.execPath, photon, "novanet-agent", "--host", "hv-e2e", "--underlay-ip", "192.0.2.77", "--etcd", etcd, "--netns", hostNs, "--ns-prefix", `${tag}-`, "--state-dir", join(work, "agent-state"), "--http-port", "0", "-o", "json"], { cwd: work, stdout: "pipe", stderr: "pipe", env });
    const reader = (agent.stdout as ReadableStream<Uint8Array>).getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    const info = JSON.parse(first);
    expect(info.host).toBe("hv-e2e");
    expect(info.underlayIp).toBe("192.0.2.77");
    await json(["vpc", "create", "agentnet", "--cidr", "10.40.0.0/16"]);
    await json(["subnet", "create", "a", "--vpc", "agentnet", "--cidr", "10.40.0.0/24", "--no-dhcp"]);
    const port = await json(["port", "create", "p1", "--subnet", "a", "--host", "hv-e2e", "--netns", vmNs]);
    const dev = portDeviceName(port.id, "veth");
    let links = "";
    let addrs = "";
    // The host end appears a moment before the VM end is configured: wait for both.
    for (let i = 0; i < 200 && !(links.includes(dev) && addrs.includes(port.fixedIps[0])); i++) {
      await Bun.sleep(25);
      links = await must(["ip", "-n", hostNs, "-br", "link"]);
      addrs = await must(["ip", "-n", vmNs, "-br", "addr"]);
    }
    expect(links).toContain(dev);
    expect(addrs).toContain(port.fixedIps[0]);
    await json(["port", "delete", "p1"]);
    for (let i = 0; i < 200 && links.includes(dev); i++) {
      await Bun.sleep(25);
      links = await must(["ip", "-n", hostNs, "-br", "link"]);
    }
    expect(links).not.toContain(dev);
    expect((await fetch(`${info.http}/readyz`)).status).toBe(200);
    expect(await (await fetch(`${info.http}/metrics`)).text()).toMatch(/photon_novanet_agent_applies_total\{[^}]*result="ok"[^}]*\} [1-9]/);
    await json(["subnet", "delete", "a"]);
    await json(["vpc", "delete", "agentnet"]);
  }, 30_000);
});
