/**
 * `photon novanet-agent --dataplane ovn` as the real command, one per "hypervisor host" of the OVN
 * chassis lab (dataplane/ovn/chassis-testbed.ts: OVN central, two netdev chassis in namespaces,
 * Geneve), against chainfire + iam + novanet: flags and `PHOTON_NOVANET_OVN_*` variables choose
 * the driver, the writer agent writes the northbound (its lease in chainfire), the other plugs its
 * ports only; two ports created through the API on the two hosts reach each other. Needs root and
 * OVN; skipped with the reason printed otherwise. Every process is ended by PID in afterAll.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { portDeviceName } from "../../../dataplane/linux/names.ts";
import { must } from "../../../dataplane/linux/testbed.ts";
import { OvnLab, ovnLabUnavailable } from "../../../dataplane/ovn/chassis-testbed.ts";
import { EtcdClient } from "../../../lib/etcd/index.ts";
import { WRITER_KEY, writerValue } from "../../../services/novanet/agent/writer-election.ts";
import { makeTenant, startStack, type Stack } from "../../integration/novanet/support.ts";

const reason = await ovnLabUnavailable();
if (reason) console.log(`skipping the photon novanet-agent --dataplane ovn test: ${reason}`);
const photon = join(import.meta.dir, "..", "..", "..", "cli", "photon.ts");
const SLOW = 60_000;

describe.skipIf(reason !== undefined)("photon novanet-agent --dataplane ovn", () => {
  const lab = new OvnLab(`pcw${process.pid % 100000}`);
  const work = mkdtempSync(join(tmpdir(), "photon-novanet-ovn-agent-"));
  const agents: ReturnType<typeof Bun.spawn>[] = [];
  const info: Record<string, { dataplane: string; northbound: boolean; host: string }> = {};
  let stack: Stack;

  const ping = async (ns: string, ip: string, tries: number) => {
    for (let i = 0; i < tries; i++) {
      const p = Bun.spawn(["ip", "netns", "exec", ns, "ping", "-n", "-q", "-c", "1", "-W", "1", ip], { stdout: "ignore", stderr: "ignore" });
      if ((await p.exited) === 0) return true;
    }
    return false;
  };

  /** Starts `photon novanet-agent` for lab host `h`; resolves with its first line (JSON). */
  const startAgent = async (h: "h1" | "h2", writer: boolean) => {
    const host = lab.hostOf(h);
    const argv = [
      process.execPath, photon, "novanet-agent", "--host", h, "--underlay-ip", host.underlayIp, "--etcd", stack.chainfire.endpoint,
      "--netns", host.ns, "--http-port", "0", "--dataplane", "ovn", "--ovs-remote", `unix:${host.dir}/db.sock`,
      ...(writer ? ["--ovn-nb-writer", "--ovn-nb-remote", lab.central.nb.remote] : []), "-o", "json",
    ];
    const env = {
      ...process.env,
      PHOTON_LOG_LEVEL: "warn",
      PHOTON_NOVANET_OVN_GATEWAY_CHASSIS: "h1",
      PHOTON_NOVANET_OVN_EXTERNAL_NETWORK: "physnet1",
      PHOTON_NOVANET_OVN_DISABLE_TX_OFFLOAD: "true",
    };
    const p = Bun.spawn(argv, { cwd: work, stdout: "pipe", stderr: "inherit", env });
    agents.push(p);
    const reader = (p.stdout as ReadableStream<Uint8Array>).getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    reader.releaseLock();
    info[h] = JSON.parse(first);
  };

  beforeAll(async () => {
    await lab.destroy();
    await lab.create();
    stack = await startStack(work);
    await startAgent("h1", true);
    await startAgent("h2", false);
  }, SLOW);

  afterAll(async () => {
    for (const p of agents) {
      if (p.exitCode === null) p.kill("SIGTERM");
      const t = setTimeout(() => p.exitCode === null && p.kill("SIGKILL"), 5000);
      await p.exited;
      clearTimeout(t);
    }
    await stack?.stop();
    await lab.destroy();
    rmSync(work, { recursive: true, force: true });
  }, SLOW);

  it("runs the OVN driver chosen by flags and environment, with one northbound writer holding the lease", async () => {
    expect(info.h1).toMatchObject({ host: "h1", dataplane: "ovn", northbound: true });
    expect(info.h2).toMatchObject({ host: "h2", dataplane: "ovn", northbound: false });
    const etcd = new EtcdClient({ endpoints: [stack.chainfire.endpoint] });
    try {
      expect((await etcd.get(WRITER_KEY))?.value.toString()).toBe(writerValue("h1"));
    } finally {
      etcd.close();
    }
  });

  it("plugs ports created through the API on their hosts' chassis; the VMs reach each other across the hosts", async () => {
    const t = await makeTenant(stack, "ovncli");
    const vpc = await t.nn.createVpc({ cidr: "10.9.0.0/16" });
    const sn = await t.nn.createSubnet({ vpc: vpc.id, cidr: "10.9.0.0/24" });
    const [vm1, vm2] = [`${lab.tag}-vm-1`, `${lab.tag}-vm-2`];
    for (const n of [vm1, vm2]) await must(["ip", "netns", "add", n]);
    const p1 = await t.nn.createPort({ subnet: sn.id, fixedIps: ["10.9.0.10"], host: "h1", netns: vm1 });
    const p2 = await t.nn.createPort({ subnet: sn.id, fixedIps: ["10.9.0.11"], host: "h2", netns: vm2 });
    // the agents apply asynchronously: the VMs reach each other once both are plugged and bound
    expect(await ping(vm1, "10.9.0.11", 20)).toBe(true);
    expect(await ping(vm2, "10.9.0.10", 3)).toBe(true);
    expect(await lab.hostOf("h1").vsctl("list-ports", "br-int")).toContain(portDeviceName(p1.id, "veth"));
    expect(await lab.hostOf("h2").vsctl("list-ports", "br-int")).toContain(portDeviceName(p2.id, "veth"));
    expect(await must(["ip", "-n", vm1, "link", "show", "eth0"])).toContain("mtu 1442");
  }, SLOW);
});
