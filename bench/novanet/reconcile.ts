/**
 * novanet's host agent after a restart: N ports (taps, security groups on, one VPC) bound to one
 * host. Measures (1) a restart on an intact host — the agent reads the state, plans and finds
 * nothing to change — and (2) recovery of a host whose data plane was wiped (the crash case: the
 * agent re-creates every device, the nft tables and the fdb). Run as root:
 * `npx bun bench/novanet/reconcile.ts [ports=1000] [--write docs/benchmarks/novanet-reconcile.md]`.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { netnsUnavailable, Testbed } from "../../dataplane/linux/testbed.ts";
import { createLogger } from "../../lib/log.ts";
import { NovanetAgent } from "../../services/novanet/agent/agent.ts";
import { EtcdNovanetStore } from "../../services/novanet/store-etcd.ts";
import { makeTenant, startStack } from "../../tests/integration/novanet/support.ts";

const args = process.argv.slice(2);
const writeTo = args.includes("--write") ? args[args.indexOf("--write") + 1] : undefined;
const n = Number(args.find((a) => /^\d+$/.test(a)) ?? 1000);
const reason = await netnsUnavailable();
if (reason) {
  console.log(`skipping: ${reason}`);
  process.exit(0);
}
const tb = new Testbed(`pcnr${process.pid % 1000}`);
const work = mkdtempSync(join(tmpdir(), "novanet-reconcile-"));
const stack = await startStack(work, { defaultQuota: { ports: n + 10 } });
const store = new EtcdNovanetStore({ endpoints: [stack.chainfire.endpoint] });
const logger = createLogger("agent", { level: "error" });
const agentFor = () => new NovanetAgent({ store, dataplane: tb.driver("a"), host: { name: "hv-a", underlayIp: tb.underlayA }, logger, resyncMs: 3_600_000 });
try {
  await tb.destroy();
  await tb.create();
  const t = await makeTenant(stack, "bench");
  const vpc = await t.nn.createVpc({ cidr: "10.0.0.0/16" });
  const sn = await t.nn.createSubnet({ vpc: vpc.id, cidr: "10.0.0.0/20", dhcp: false });
  const t0 = performance.now();
  for (let i = 0; i < n; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, n - i) }, () => t.nn.createPort({ subnet: sn.id, host: "hv-a" })));
  }
  const createS = (performance.now() - t0) / 1000;
  // First start: builds everything (also the "wiped host" case).
  let a = agentFor();
  let s0 = performance.now();
  await a.start();
  const firstS = (performance.now() - s0) / 1000;
  await a.stop();
  // Restart on an intact host.
  a = agentFor();
  s0 = performance.now();
  await a.start();
  const restartS = (performance.now() - s0) / 1000;
  await a.stop();
  // Wipe the host's data plane, then restart.
  await tb.driver("a").teardown();
  a = agentFor();
  s0 = performance.now();
  await a.start();
  const wipedS = (performance.now() - s0) / 1000;
  const ins = await tb.driver("a").inspect();
  const ports = ins.vpcs.flatMap((v) => v.ports).filter((p) => p.complete).length;
  await a.stop();
  const report = [
    "# novanet: host agent reconcile after a restart",
    "",
    `Command: \`npx bun bench/novanet/reconcile.ts ${n}\` (root; ${n} tap ports with security groups on one host namespace, ${new Date().toISOString().slice(0, 10)}).`,
    "",
    "| case | seconds |",
    "|---|---|",
    `| create ${n} ports through the API (50 at a time) | ${createS.toFixed(2)} |`,
    `| agent start on an empty host (build everything) | ${firstS.toFixed(2)} |`,
    `| agent restart on an intact host (read, plan, verify: nothing to change) | ${restartS.toFixed(2)} |`,
    `| agent restart after the host's data plane was wiped (crash recovery) | ${wipedS.toFixed(2)} |`,
    "",
    `Ports complete on the host afterwards: ${ports} of ${n}.`,
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
