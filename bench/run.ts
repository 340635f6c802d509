/**
 * `npm run bench [-- SUITE...]`: runs the benchmark suites and prints their reports. Without a
 * suite name it runs `engine`. Each suite can also be run on its own (see its file), usually with
 * `--write docs/benchmarks/<name>.md` to update the committed report.
 *
 *   engine        bench/engine/run.ts        the storage engine from Bun vs a pure Rust loop
 *   chainfire     bench/chainfire/etcd-compare.ts   chainfire vs etcd 3.4, same client (h2load)
 *   chainfire-cluster bench/chainfire/cluster-compare.ts 3 members each, in network namespaces (root)
 *   grpc          bench/grpc/server.bench.ts       lib/grpc server vs @grpc/grpc-js (h2load)
 *   http          bench/http-framework/run.ts      Hono vs Elysia vs Bun.serve (wrk)
 *   iam           bench/iam/authorize.bench.ts     in-process authorisation decisions
 *   plasmavmc     bench/plasmavmc/boot.ts          QEMU VM launch -> guest ready (test image)
 *   novanet       bench/novanet/port-create.ts     port create (API) -> first packet, two agents (root)
 *   novanet-reconcile bench/novanet/reconcile.ts   host agent restart with 1000 ports: verify / rebuild (root)
 *   keystone      bench/iam/keystone-compare.ts    iam vs Keystone: token issue and validation (wrk)
 *   novanet-ovn   bench/novanet/ovn-port-create.ts OVN driver: port create (NB apply vs ovn-nbctl; first packet, root)
 *   novanet-throughput bench/novanet/overlay-throughput.ts TCP VM->VM over the VXLAN overlay vs the raw veth (iperf3, root)
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";

const suites: Record<string, string> = {
  engine: "engine/run.ts",
  chainfire: "chainfire/etcd-compare.ts",
  "chainfire-cluster": "chainfire/cluster-compare.ts",
  grpc: "grpc/server.bench.ts",
  http: "http-framework/run.ts",
  iam: "iam/authorize.bench.ts",
  plasmavmc: "plasmavmc/boot.ts",
  novanet: "novanet/port-create.ts",
  "novanet-reconcile": "novanet/reconcile.ts",
  keystone: "iam/keystone-compare.ts",
  "novanet-ovn": "novanet/ovn-port-create.ts",
  "novanet-throughput": "novanet/overlay-throughput.ts",
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith("-"));
const extra = process.argv.slice(2).filter((a) => a.startsWith("-"));
let failed = false;
for (const name of wanted.length > 0 ? wanted : ["engine"]) {
  const file = suites[name];
  if (!file) {
    console.error(`unknown suite "${name}"; suites: ${Object.keys(suites).join(", ")}`);
    process.exit(2);
  }
  console.log(`\n=== ${name} (${file}) ===`);
  const res = spawnSync(process.execPath, [join(import.meta.dir, file), ...extra], { stdio: "inherit" });
  if (res.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
