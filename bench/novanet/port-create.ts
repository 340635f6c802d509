/**
 * novanet end to end: port create through the API → the new VM's first packet through, with the
 * whole control plane in the path — REST call (iam-authorised, IPAM transaction in chainfire),
 * both host agents woken by their watch, desired state recomputed, the Linux data plane applied
 * on the VM's host (veth, nft, fdb) and on the peer's host (remote endpoint, security-group
 * member), and the first ping from the new VM to a VM on the other host answered across VXLAN
 * with security groups on (the project's default group: members only).
 *
 * Also, in the same run: the data plane alone (`apply` on both hosts with the state the agents
 * computed, no API, no watch) and the processes one port create starts on the two hosts.
 *
 * Before/after: with `--baseline DIR` (a tree holding another version of `dataplane/` and
 * `services/novanet/agent/`, e.g. `git archive HEAD dataplane services/novanet lib | tar -x -C DIR`
 * plus a `node_modules` link), that version's agent and driver run in alternating rounds with this
 * tree's, against the same stack and hosts, and the report gives both and the ratios (medians).
 * Run as root: `npx bun bench/novanet/port-create.ts [ports=30] [--baseline DIR] [--write FILE]`.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { netnsUnavailable, Testbed } from "../../dataplane/linux/testbed.ts";
import type { HostNetworkState, VpcDataplane } from "../../dataplane/vpc-dataplane.ts";
import { createLogger, type Logger } from "../../lib/log.ts";
import type { NovanetAgentOptions } from "../../services/novanet/agent/agent.ts";
import { parseSnapshot, planHostState } from "../../services/novanet/agent/host-state.ts";
import { EtcdNovanetStore } from "../../services/novanet/store-etcd.ts";
import { makeTenant, startStack } from "../../tests/integration/novanet/support.ts";

const args = process.argv.slice(2);
const flag = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const writeTo = flag("--write");
const baseline = flag("--baseline");
const n = Number(args.find((a) => /^\d+$/.test(a)) ?? 30);
const reason = await netnsUnavailable();
if (reason) {
  console.log(`skipping: ${reason}`);
  process.exit(0);
}

/** One version of the agent and the Linux driver. */
interface Variant {
  name: string;
  Agent: new (o: NovanetAgentOptions) => { start(): Promise<void>; stop(): Promise<void>; waitFor(rev: number): Promise<void> };
  Driver: new (o: object) => VpcDataplane & { run: { spawned: number } };
  /** Agent options this version is run with. */
  agentExtra: Partial<NovanetAgentOptions>;
  endToEnd: number[];
  applied: number[];
  polled: number[];
  dataplaneOnly: number[];
  procs: number[];
  /** Per command (host, program, namespace): wall times of the processes port creates started. */
  profile: Record<string, number[]>;
}
const load = async (root: string, name: string, agentExtra: Partial<NovanetAgentOptions>): Promise<Variant> => ({
  name,
  Agent: (await import(join(root, "services/novanet/agent/agent.ts"))).NovanetAgent,
  Driver: (await import(join(root, "dataplane/linux/linux-dataplane.ts"))).LinuxVpcDataplane,
  agentExtra,
  endToEnd: [], applied: [], polled: [], dataplaneOnly: [], procs: [], profile: {},
});
const variants = [await load(resolve(import.meta.dir, "../.."), "this tree", {})];
// The baseline ran with a 2 ms coalescing timer in the previous report: keep it.
if (baseline) variants.push(await load(resolve(baseline), "baseline", { coalesceMs: 2 }));

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const tb = new Testbed(`pcnb${process.pid % 1000}`);
const work = mkdtempSync(join(tmpdir(), "novanet-bench-"));
const quiet = (name: string): Logger => createLogger(name, { level: "error" });
const stack = await startStack(work);
const store = new EtcdNovanetStore({ endpoints: [stack.chainfire.endpoint] });
const apiMs: number[] = [];
const loadAtStart = loadavg()[0]!;
try {
  await tb.destroy();
  await tb.create();
  const t = await makeTenant(stack, "bench");
  const vpc = await t.nn.createVpc({ cidr: "10.0.0.0/16" });
  const sn = await t.nn.createSubnet({ vpc: vpc.id, cidr: "10.0.0.0/22", dhcp: false });
  const peerNs = await tb.vm("peer");
  const peer = await t.nn.createPort({ subnet: sn.id, host: "hv-b", netns: peerNs });
  const peerIp = peer.fixedIps[0]!;
  const planFor = async (host: "a" | "b", without?: string): Promise<HostNetworkState> => {
    const snap = await store.snapshot("/photon/novanet/");
    if (without) for (const k of [...snap.docs.keys()]) if (k.endsWith(`/ports/${without}`)) snap.docs.delete(k);
    return planHostState(parseSnapshot(snap.docs), { name: `hv-${host}`, underlayIp: host === "a" ? tb.underlayA : tb.underlayB }).state;
  };
  const rounds = 2;
  let vmNo = 0;
  for (let round = 0; round < rounds; round++) {
    for (const v of round % 2 ? [...variants].reverse() : variants) {
      const drivers = (["a", "b"] as const).map((h) => new v.Driver(tb.driverOptions(h)));
      const agents = await Promise.all((["a", "b"] as const).map(async (h, i) => {
        const agent = new v.Agent({ store, dataplane: drivers[i]!, host: { name: `hv-${h}`, underlayIp: h === "a" ? tb.underlayA : tb.underlayB }, logger: quiet(`agent-${h}`), ...v.agentExtra });
        await agent.start();
        return agent;
      }));
      const mine: string[] = [];
      for (let i = 0; i < Math.ceil(n / rounds); i++) {
        // (1) As a VM booted on "port ready" sees it: create, wait until both agents applied, ping.
        const ns = await tb.vm(`x${vmNo}`);
        const spawned = drivers[0]!.run.spawned + drivers[1]!.run.spawned;
        const traces = drivers.map((d) => {
          const tr: { cmd: string; ms: number }[] = [];
          (d.run as { trace?: typeof tr }).trace = tr; // a baseline without the hook records nothing
          return tr;
        });
        const t0 = performance.now();
        const p = await t.nn.createPort({ subnet: sn.id, host: "hv-a", netns: ns });
        mine.push(p.id);
        apiMs.push(performance.now() - t0);
        const rev = (await store.etcd.getPrefix("/photon/novanet/", { limit: 1 })).revision;
        await Promise.all(agents.map((a) => a.waitFor(rev)));
        v.applied.push(performance.now() - t0);
        v.procs.push(drivers[0]!.run.spawned + drivers[1]!.run.spawned - spawned);
        traces.forEach((tr, h) => {
          for (const { cmd, ms } of tr) {
            const label = `host ${"AB"[h]}: ${cmd.replaceAll(tb.hostA, "<host>").replaceAll(tb.hostB, "<host>").replace(/--net=\S+ /, "").replace(/\S+-vm-\S+/, "<vm>")}`;
            (v.profile[label] ??= []).push(ms);
          }
        });
        while (!(await tb.ping(ns, peerIp, 1, 0.2))) {
          /* until the first answer */
        }
        v.endToEnd.push(performance.now() - t0);
        // (2) A sender that does not wait: pings from the moment the API answered (see the ARP note).
        const ns2 = await tb.vm(`y${vmNo++}`);
        const t1 = performance.now();
        await t.nn.createPort({ subnet: sn.id, host: "hv-a", netns: ns2 });
        while (!(await tb.ping(ns2, peerIp, 1, 0.2))) {
          /* until the first answer */
        }
        v.polled.push(performance.now() - t1);
      }
      for (const agent of agents) await agent.stop();
      // The data plane alone, with the same drivers (warm, as an agent's): remove one of this
      // round's ports from both hosts' states, then time applying the full states to the first ping.
      for (const id of mine) {
        const [wa, wb, fa, fb] = await Promise.all([planFor("a", id), planFor("b", id), planFor("a"), planFor("b")]);
        await Promise.all([drivers[0]!.apply(wa), drivers[1]!.apply(wb)]);
        const ns = (await t.nn.getPort(id)).netns!;
        const t0 = performance.now();
        await Promise.all([drivers[0]!.apply(fa), drivers[1]!.apply(fb)]);
        while (!(await tb.ping(ns, peerIp, 1, 0.2))) {
          /* until the first answer */
        }
        v.dataplaneOnly.push(performance.now() - t0);
      }
    }
  }

  const f = (x: number) => x.toFixed(1);
  const row = (name: string, pick: (v: Variant) => number[]) =>
    `| ${name} | ${variants.map((v) => `${f(pct(pick(v), 50))} / ${f(pct(pick(v), 99))}`).join(" | ")} |${baseline ? ` ${(pct(pick(variants[0]!), 50) / pct(pick(variants[1]!), 50)).toFixed(2)}x |` : ""}`;
  const report = [
    "# novanet: port create → first packet",
    "",
    `Command: \`npx bun bench/novanet/port-create.ts ${n}${baseline ? " --baseline <tree of the previous commit>" : ""}\` (root; two hosts as network namespaces, ${n} ports per version in ${rounds} alternating rounds, ${new Date().toISOString().slice(0, 10)}; 2 cores, load average ${loadAtStart.toFixed(1)} at the start and ${loadavg()[0]!.toFixed(1)} at the end).`,
    "",
    `| path (ms, p50 / p99) | ${variants.map((v) => v.name).join(" | ")} |${baseline ? " this tree / baseline (p50) |" : ""}`,
    `|---|${variants.map(() => "---|").join("")}${baseline ? "---|" : ""}`,
    row("API create → both agents applied → first ping answered", (v) => v.endToEnd),
    row("of which: API create → both agents applied", (v) => v.applied),
    row("API create, pinging at once until answered (see the ARP note)", (v) => v.polled),
    row("data plane alone: apply on both hosts → first ping", (v) => v.dataplaneOnly),
    row("processes started per port create (both hosts)", (v) => v.procs),
    "",
    `The API call alone (iam check, IPAM transaction in chainfire), all rounds: p50 ${f(pct(apiMs, 50))} ms, p99 ${f(pct(apiMs, 99))} ms. Goal: < 50 ms p50 end to end.`,
    "",
    "Processes the port creates of the first row started, by host and command, with their wall time (p50 ms; `×n`: how many per port create):",
    "",
    ...variants.flatMap((v) => [
      `- ${v.name}: ${Object.entries(v.profile)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([label, ms]) => `\`${label}\` ${f(pct(ms, 50))} ×${(ms.length / v.procs.length).toFixed(1)}`)
        .join(", ")}`,
    ]),
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
  store.close();
  await stack.stop();
  await tb.destroy();
  rmSync(work, { recursive: true, force: true });
}
