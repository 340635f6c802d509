/**
 * `etcdctl check perf --load=s` (etcdctl 3.4, Debian etcd-client) against one chainfire member
 * running Raft as `photon up` does: 60 s of writes from 50 clients at 150 writes/s, judged by
 * etcdctl's own criteria (throughput ≥ 90% of the load, slowest request < 500 ms, stddev <
 * 100 ms). Against etcd 3.4.23 on this machine it prints the same four lines, all PASS.
 * Skipped when etcdctl is not installed.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../../../lib/log.ts";
import { createMetrics } from "../../../lib/metrics.ts";
import { startChainfire, type ChainfireServer } from "../../../services/chainfire/server.ts";

const etcdctl = Bun.which("etcdctl");
const dir = mkdtempSync(join(tmpdir(), "chainfire-check-perf-"));
let server: ChainfireServer;

beforeAll(async () => {
  if (!etcdctl) return;
  server = await startChainfire({
    dataDir: join(dir, "n1"),
    name: "n1",
    host: "127.0.0.1",
    port: 0,
    httpPort: 0,
    peerPort: 0, // Raft, one member
    logger: createLogger("chainfire", { level: "error" }),
    metrics: createMetrics("chainfire"),
  });
  await server.published;
});

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!etcdctl)("etcdctl check perf against chainfire", () => {
  it("passes --load=s", async () => {
    const p = Bun.spawn([etcdctl!, `--endpoints=${server.endpoint.replace("http://", "")}`, "check", "perf", "--load=s"], {
      env: { ...process.env, ETCDCTL_API: "3" },
      stdout: "pipe",
      stderr: "pipe",
    });
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    // The progress bar rewrites one line; the verdicts follow it.
    const verdicts = (out + err).split(/[\r\n]+|(?=PASS|FAIL)/).map((l) => l.trim()).filter((l) => /^(PASS|FAIL)/.test(l));
    console.log(`etcdctl check perf --load=s (exit ${code}):\n${verdicts.join("\n")}`);
    expect(verdicts.find((l) => l.includes("Throughput is"))).toMatch(/^PASS: Throughput is \d+ writes\/s$/);
    expect(verdicts.find((l) => l.includes("Slowest request took"))).toMatch(/^PASS: Slowest request took [\d.]+s$/);
    expect(verdicts.find((l) => l.includes("Stddev is"))).toMatch(/^PASS: Stddev is [\d.]+s$/);
    expect(verdicts[verdicts.length - 1]).toBe("PASS");
    expect(code).toBe(0);
  }, 120_000);
});
