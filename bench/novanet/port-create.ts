/**
 * novanet end to end: port create through the API → the new VM's first packet through, with the
 * whole control plane in the path — REST call (iam-authorised, IPAM transaction in chainfire),
 * both host agents woken by their watch, desired state recomputed, the Linux data plane applied
 * on the VM's host (veth, nft, fdb) and on the peer's host (remote endpoint, security-group
 * member), and the first ping from the new VM to a VM on the other host answered across VXLAN
 * with security groups on (the project's default group: members only).
 *
 * Side by side in the same run: the data plane alone (`LinuxVpcDataplane.apply` on both hosts
 * with the state the agents computed, no API, no watch), so the ratio is the control plane's
 * share. Run as root: `npx bun bench/novanet/port-create.ts [ports=30] [--write docs/benchmarks/novanet-port-create.md]`.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { netnsUnavailable, Testbed } from "../../dataplane/linux/testbed.ts";
import type { HostNetworkState } from "../../dataplane/vpc-dataplane.ts";
import { createLogger } from "../../lib/log.ts";
import { NovanetAgent } from "../../services/novanet/agent/agent.ts";
import { parseSnapshot, planHostState } from "../../services/novanet/agent/host-state.ts";
import { EtcdNovanetStore } from "../../services/novanet/store-etcd.ts";
import { makeTenant, startStack } from "../../tests/integration/novanet/support.ts";

const args = process.argv.slice(2);
const writeTo = args.includes("--write") ? args[args.indexOf("--write") + 1] : undefined;
const n = Number(args.find((a) => /^\d+$/.test(a)) ?? 30);
const reason = await netnsUnavailable();
if (reason) {
  console.log(`skipping: ${reason}`);
  process.exit(0);
}
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const tb = new Testbed(`pcnb${process.pid % 1000}`);
const work = mkdtempSync(join(tmpdir(), "novanet-bench-"));
const quiet = (name: string) => createLogger(name, { level: "error" });
const stack = await startStack(work);
const store = new EtcdNovanetStore({ endpoints: [stack.chainfire.endpoint] });
const agents: NovanetAgent[] = [];
try {
  await tb.destroy();
  await tb.create();
  for (const h of ["a", "b"] as const) {
    const agent = new NovanetAgent({ store, dataplane: tb.driver(h), host: { name: `hv-${h}`, underlayIp: h === "a" ? tb.underlayA : tb.underlayB }, logger: quiet(`agent-${h}`), coalesceMs: 2 });
    await agent.start();
    agents.push(agent);
  }
  const t = await makeTenant(stack, "bench");
  const vpc = await t.nn.createVpc({ cidr: "10.0.0.0/16" });
  const sn = await t.nn.createSubnet({ vpc: vpc.id, cidr: "10.0.0.0/22", dhcp: false });
  const peerNs = await tb.vm("peer");
  const peer = await t.nn.createPort({ subnet: sn.id, host: "hv-b", netns: peerNs });
  const peerIp = peer.fixedIps[0]!;
  const endToEnd: number[] = [];
  const polled: number[] = [];
  const apiMs: number[] = [];
  const appliedMs: number[] = [];
  for (let i = 0; i < n; i++) {
    // (1) As a VM booted on "port ready" sees it: create, wait until both agents applied, ping.
    const ns = await tb.vm(`x${i}`);
    const t0 = performance.now();
    await t.nn.createPort({ subnet: sn.id, host: "hv-a", netns: ns });
    apiMs.push(performance.now() - t0);
    const rev = (await store.etcd.getPrefix("/photon/novanet/", { limit: 1 })).revision;
    await Promise.all(agents.map((a) => a.waitFor(rev)));
    appliedMs.push(performance.now() - t0);
    while (!(await tb.ping(ns, peerIp, 1, 0.2))) {
      /* until the first answer */
    }
    endToEnd.push(performance.now() - t0);
    // (2) A sender that does not wait: pings from the moment the API answered. An ARP that goes
    // out before the peer's host knows the port leaves the neighbour entry INCOMPLETE, and the
    // kernel retries only after retrans_time (1 s): that is what the tail of this row shows.
    const ns2 = await tb.vm(`y${i}`);
    const t1 = performance.now();
    await t.nn.createPort({ subnet: sn.id, host: "hv-a", netns: ns2 });
    while (!(await tb.ping(ns2, peerIp, 1, 0.2))) {
      /* until the first answer */
    }
    polled.push(performance.now() - t1);
  }

  // The data plane alone, same run: remove the last port from both hosts' states, then time
  // applying the full states on both hosts (as the agents do, in parallel) to the first ping.
  const A = tb.driver("a");
  const B = tb.driver("b");
  const planFor = async (host: "a" | "b", without?: string): Promise<HostNetworkState> => {
    const snap = await store.snapshot("/photon/novanet/");
    if (without) for (const k of [...snap.docs.keys()]) if (k.endsWith(`/ports/${without}`)) snap.docs.delete(k);
    return planHostState(parseSnapshot(snap.docs), { name: `hv-${host}`, underlayIp: host === "a" ? tb.underlayA : tb.underlayB }).state;
  };
  for (const agent of agents) await agent.stop();
  const dataplaneOnly: number[] = [];
  const ports = (await t.nn.listPorts({ host: "hv-a" })).items;
  for (const p of ports.slice(-n)) {
    const [wa, wb, fa, fb] = await Promise.all([planFor("a", p.id), planFor("b", p.id), planFor("a"), planFor("b")]);
    await Promise.all([A.apply(wa), B.apply(wb)]);
    const t0 = performance.now();
    await Promise.all([A.apply(fa), B.apply(fb)]);
    while (!(await tb.ping(p.netns!, peerIp, 1, 0.2))) {
      /* until the first answer */
    }
    dataplaneOnly.push(performance.now() - t0);
  }
  const row = (name: string, xs: number[]) => `| ${name} | ${pct(xs, 50).toFixed(1)} | ${pct(xs, 99).toFixed(1)} | ${Math.min(...xs).toFixed(1)} |`;
  const report = [
    "# novanet: port create → first packet",
    "",
    `Command: \`npx bun bench/novanet/port-create.ts ${n}\` (root; two hosts as network namespaces, ${n} ports, ${new Date().toISOString().slice(0, 10)}).`,
    "",
    "| path | p50 ms | p99 ms | min ms |",
    "|---|---|---|---|",
    row("API create → both agents applied → first ping answered", endToEnd),
    row("of which: the API call (iam check, IPAM transaction in chainfire)", apiMs),
    row("of which: API create → both agents applied", appliedMs),
    row("API create, pinging at once until answered (see the ARP note)", polled),
    row("data plane alone: apply on both hosts → first ping (same run)", dataplaneOnly),
    "",
    `End to end / data plane alone (p50): ${(pct(endToEnd, 50) / pct(dataplaneOnly, 50)).toFixed(2)}x. Goal: < 50 ms p50 end to end.`,
    "",
    "ARP note: a sender that transmits before the peer's host has the new port's forwarding entry and",
    "security-group membership gets no ARP answer; Linux then marks the neighbour INCOMPLETE and",
    "re-asks only after `retrans_time` (1 s), hence the ~1 s tail of the polling row. VMs boot after",
    "their port is wired (the agents' apply), which the first row measures.",
    "",
  ].join("\n");
  console.log(report);
  if (writeTo) writeFileSync(writeTo, report);
} finally {
  for (const agent of agents) await agent.stop();
  store.close();
  await stack.stop();
  await tb.destroy();
  rmSync(work, { recursive: true, force: true });
}
