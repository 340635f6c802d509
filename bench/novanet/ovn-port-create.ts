/**
 * novanet's OVN driver: the cost of creating one port.
 *
 * Part 1 (northbound only, no root): a VPC with N ports exists; each round adds one port
 * (Logical_Switch_Port with addresses + port security, added to the VPC's switch) and measures,
 * side by side on the same OVN central, the driver's `apply` (one persistent OVSDB connection,
 * diff against its monitored replica, one transaction) against `ovn-nbctl` doing the same NB
 * change in ONE invocation (`lsp-add -- lsp-set-addresses -- lsp-set-port-security`), i.e. the
 * "spawn ovn-nbctl per call" way the issue rules out.
 *
 * Part 2 (root; skipped otherwise): port create → first packet through on the netdev chassis lab
 * (dataplane/ovn/chassis-testbed.ts): the new VM's interface is plugged first (as a booting VM
 * would), then `apply` adds the port; the clock stops when the VM's first ping to a VM on the other
 * host is answered (northd + ovn-controller + Geneve on the userspace datapath). The first port
 * also pays the userspace datapath's MAC resolution of the tunnel peer (that is the p99).
 *
 * Run: `npx bun bench/novanet/ovn-port-create.ts [N=1000] [rounds=30]`.
 */
import { OvnLab, ovnLabUnavailable } from "../../dataplane/ovn/chassis-testbed.ts";
import { lspName, lsName } from "../../dataplane/ovn/names.ts";
import { OvnVpcDataplane } from "../../dataplane/ovn/ovn-dataplane.ts";
import { nbState } from "../../dataplane/ovn/testdata/nb-state.ts";
import { ovnUnavailable, startOvnCentral } from "../../dataplane/ovn/testbed.ts";
import type { HostNetworkState, PortState } from "../../dataplane/vpc-dataplane.ts";
import { findBinary } from "../../lib/ovsdb/test-server.ts";

const N = Number(process.argv[2] ?? 1000);
const ROUNDS = Number(process.argv[3] ?? 30);
const quiet = { debug() {}, info() {}, warn() {}, error() {}, child() { return quiet; } };
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const fmt = (xs: number[]) => `p50 ${pct(xs, 50).toFixed(1)} ms, p99 ${pct(xs, 99).toFixed(1)} ms`;
const mac = (i: number) => `02:00:00:${((i >> 16) & 255).toString(16).padStart(2, "0")}:${((i >> 8) & 255).toString(16).padStart(2, "0")}:${(i & 255).toString(16).padStart(2, "0")}`;
const ip = (i: number) => `10.0.${(i + 10) >> 8}.${(i + 10) & 255}`;
const port = (i: number, prefix = "p"): PortState => ({ id: `${prefix}${i}`, mac: mac(i), ips: [ip(i)], securityGroups: [], device: { kind: "tap" } });

function vpc(id: string, vni: number, ports: PortState[]): HostNetworkState["vpcs"][number] {
  return { id, vni, subnets: [{ id: `${id}-s`, cidr: "10.0.0.0/16", gatewayIp: "10.0.0.1" }], ports, remoteEndpoints: [] };
}

async function nbPart(): Promise<void> {
  const why = ovnUnavailable() ?? (findBinary("ovn-nbctl") ? undefined : "ovn-nbctl not installed");
  if (why) return console.log(`part 1 skipped: ${why}`);
  const central = await startOvnCentral();
  try {
    const dp = new OvnVpcDataplane({ nbRemote: central.nb.remote, logger: quiet });
    // Two VPCs of N ports each: "drv" grows through the driver, "nbctl" through ovn-nbctl.
    const drvPorts = Array.from({ length: N }, (_, i) => port(i));
    const state = () => ({ underlayIp: "192.0.2.1", vpcs: [vpc("drv", 10, drvPorts), vpc("nbctl", 11, Array.from({ length: N }, (_, i) => port(i, "q")))], securityGroups: [] });
    await dp.apply(state());
    const nbctl = (args: string[]) => {
      const r = Bun.spawnSync([findBinary("ovn-nbctl")!, `--db=${central.nb.remote}`, ...args]);
      if (r.exitCode !== 0) throw new Error(r.stderr.toString());
    };
    const drv: number[] = [];
    const ctl: number[] = [];
    const noop: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const i = N + r;
      drvPorts.push(port(i));
      let t = performance.now();
      const res = await dp.apply(state());
      drv.push(performance.now() - t);
      if (res.changes !== 2) throw new Error(`expected 2 changes, got ${res.actions.join("; ")}`);
      t = performance.now();
      const name = `nbctl-p${i}`;
      nbctl(["lsp-add", lsName("nbctl"), name, "--", "lsp-set-addresses", name, `${mac(i)} ${ip(i)}`, "--", "lsp-set-port-security", name, `${mac(i)} ${ip(i)}`]);
      ctl.push(performance.now() - t);
      // ovn-nbctl's ports are untagged: the driver leaves them in its switch (no change below).
      t = performance.now();
      await dp.apply(state());
      noop.push(performance.now() - t);
    }
    console.log(`part 1: add one port to a VPC of ${N} ports, ${ROUNDS} rounds`);
    console.log(`  driver apply (one OVSDB transaction):  ${fmt(drv)}`);
    console.log(`  ovn-nbctl, one invocation:             ${fmt(ctl)}`);
    console.log(`  ratio (ovn-nbctl / driver, p50):       ${(pct(ctl, 50) / pct(drv, 50)).toFixed(2)}x`);
    console.log(`  driver no-op apply (${N * 2} ports):    ${fmt(noop)}`);
    await dp.close();
  } finally {
    await central.stop();
  }
}

async function chassisPart(): Promise<void> {
  const why = await ovnLabUnavailable();
  if (why) return console.log(`part 2 skipped: ${why}`);
  const lab = new OvnLab(`pcob${process.pid % 1000}`);
  try {
    await lab.destroy();
    await lab.create();
    const dp = new OvnVpcDataplane({ nbRemote: lab.central.nb.remote, gatewayChassis: ["h1"], logger: quiet });
    const extra: PortState[] = [];
    const state = () => {
      const s = nbState();
      s.vpcs[0]!.ports.push(...extra);
      return s;
    };
    await dp.apply(state());
    // The target: pa3 on h2 (no security groups), reached through the VPC's distributed router.
    await lab.vm("vm3", "h2", lspName("pa3"), "02:00:00:00:01:03", "10.0.1.5/24", "10.0.1.1");
    const ping = (ns: string, to: string, wait = "0.2") =>
      Bun.spawnSync(["ip", "netns", "exec", ns, "ping", "-n", "-q", "-c", "1", "-W", wait, to]).exitCode === 0;
    const first: number[] = [];
    const applyMs: number[] = [];
    for (let r = 0; r < Math.min(ROUNDS, 20); r++) {
      const ipAddr = `10.0.0.${100 + r}`;
      const p: PortState = { id: `x${r}`, mac: `02:00:00:00:09:${r.toString(16).padStart(2, "0")}`, ips: [ipAddr], securityGroups: [], device: { kind: "tap" } };
      const ns = await lab.vm(`x${r}`, "h1", lspName(p.id), p.mac, `${ipAddr}/24`, "10.0.0.1");
      extra.push(p);
      const t0 = performance.now();
      await dp.apply(state());
      applyMs.push(performance.now() - t0);
      let n = 0;
      while (!ping(ns, "10.0.1.5")) if (++n > 100) throw new Error("no answer in 100 tries");
      first.push(performance.now() - t0);
    }
    console.log(`part 2: port create -> first packet through (h1 -> h2, routed, over Geneve, netdev), ${first.length} ports`);
    console.log(`  apply:          ${fmt(applyMs)}`);
    console.log(`  first packet:   ${fmt(first)}`);
    await dp.close();
  } finally {
    await lab.destroy();
  }
}

await nbPart();
await chassisPart();
