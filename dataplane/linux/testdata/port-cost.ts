/**
 * Measures the Linux driver's port create end to end: apply(state + one port) → the new "VM"
 * namespace's first ping answered by a VM on the other host across VXLAN (security groups on).
 * Also reports the processes one apply starts and the time of a no-op apply and of a port delete.
 * Run as root: `npx bun dataplane/linux/testdata/port-cost.ts [ports=30]`.
 */
import type { PortState } from "../../vpc-dataplane.ts";
import { Testbed } from "../testbed.ts";
import { labStates } from "./lab-state.ts";

const n = Number(process.argv[2] ?? 30);
const tb = new Testbed(`pcbench${process.pid % 1000}`);
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
try {
  await tb.destroy();
  await tb.create();
  const vms = { a1: await tb.vm("a1"), a3: await tb.vm("a3"), d1: await tb.vm("d1"), b1: await tb.vm("b1"), a2: await tb.vm("a2"), b2: await tb.vm("b2") };
  const A = tb.driver("a");
  const B = tb.driver("b");
  const base = labStates(vms, tb.underlayA, tb.underlayB);
  await A.apply(base.a);
  const extra: PortState[] = [];
  const remote: { mac: string; ips: string[]; hostIp: string }[] = [];
  const build = () => {
    const s = labStates(vms, tb.underlayA, tb.underlayB);
    s.a.vpcs[0]!.ports.push(...extra);
    s.b.vpcs[0]!.remoteEndpoints.push(...remote);
    s.a.securityGroups[0]!.rules[0]!.remote = { groupId: "sg-web", memberIps: ["10.0.0.5", "10.0.0.6", ...extra.map((p) => p.ips[0]!)] };
    s.b.securityGroups = s.a.securityGroups;
    return s;
  };
  const total: number[] = [];
  const applyMs: number[] = [];
  const procs: number[] = [];
  for (let i = 0; i < n; i++) {
    const ns = await tb.vm(`x${i}`);
    const mac = `02:00:00:01:01:${(i + 16).toString(16).padStart(2, "0")}`;
    const ip = `10.0.0.${100 + i}`;
    extra.push({ id: `p-x${i}`, mac, ips: [ip], securityGroups: ["sg-web"], device: { kind: "veth", netns: ns } });
    remote.push({ mac, ips: [ip], hostIp: tb.underlayA });
    const s = build();
    await B.apply(s.b); // the remote side learns the new port first (as novanet would push it)
    const spawned = A.run.spawned;
    const t0 = performance.now();
    await A.apply(s.a);
    const t1 = performance.now();
    procs.push(A.run.spawned - spawned);
    while (!(await tb.ping(ns, "10.0.0.6", 1, 0.2))) {
      /* retry until the first answer */
    }
    total.push(performance.now() - t0);
    applyMs.push(t1 - t0);
  }
  const s = build();
  const t2 = performance.now();
  const noop = await A.apply(s.a);
  const t3 = performance.now();
  s.a.vpcs[0]!.ports.pop();
  const t4 = performance.now();
  await A.apply(s.a);
  const t5 = performance.now();
  console.log(JSON.stringify({
    ports: n,
    portCreateToFirstPingMs: { p50: +pct(total, 50).toFixed(1), p99: +pct(total, 99).toFixed(1) },
    applyMs: { p50: +pct(applyMs, 50).toFixed(1), p99: +pct(applyMs, 99).toFixed(1) },
    processesPerPortCreate: { p50: pct(procs, 50), max: Math.max(...procs) },
    noopApplyMs: +(t3 - t2).toFixed(1),
    noopChanges: noop.changes,
    portDeleteApplyMs: +(t5 - t4).toFixed(1),
  }, null, 1));
} finally {
  await tb.destroy();
}
