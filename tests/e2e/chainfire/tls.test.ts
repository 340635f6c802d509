/**
 * chainfire with TLS and mTLS to clients, certificates from `photon certs` (lib/certs.ts),
 * driven by etcdctl. Skipped when etcdctl is not installed.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateCerts } from "../../../lib/certs.ts";
import { createLogger } from "../../../lib/log.ts";
import { createMetrics } from "../../../lib/metrics.ts";
import { startChainfire, type ChainfireServer } from "../../../services/chainfire/server.ts";

const etcdctl = Bun.which("etcdctl");
const dir = mkdtempSync(join(tmpdir(), "chainfire-tls-"));
const certs = join(dir, "certs");
let server: ChainfireServer;

async function ctl(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const p = Bun.spawn([etcdctl!, `--endpoints=${server.endpoint}`, "--dial-timeout=1s", "--command-timeout=2s", ...args], {
    env: { ...process.env, ETCDCTL_API: "3" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out, err };
}

beforeAll(async () => {
  if (!etcdctl) return;
  await generateCerts({ dir: certs, services: ["chainfire", "client"] });
  server = await startChainfire({
    dataDir: join(dir, "n1"),
    name: "n1",
    host: "127.0.0.1",
    port: 0,
    httpPort: 0,
    tls: { certFile: join(certs, "chainfire.crt"), keyFile: join(certs, "chainfire.key"), caFile: join(certs, "ca.crt"), requireClientCert: true },
    logger: createLogger("chainfire", { level: "error" }),
    metrics: createMetrics("chainfire"),
  });
});

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!etcdctl)("chainfire over TLS with client certificates", () => {
  it("advertises an https endpoint", () => {
    expect(server.endpoint).toStartWith("https://127.0.0.1:");
  });

  it("serves a client that trusts the CA and presents its certificate", async () => {
    const tls = ["--cacert", join(certs, "ca.crt"), "--cert", join(certs, "client.crt"), "--key", join(certs, "client.key")];
    expect((await ctl([...tls, "put", "secure", "yes"])).out.trim()).toBe("OK");
    expect((await ctl([...tls, "get", "secure", "--print-value-only"])).out.trim()).toBe("yes");
  });

  it("refuses a client without a certificate", async () => {
    const r = await ctl(["--cacert", join(certs, "ca.crt"), "get", "secure"]);
    expect(r.code).not.toBe(0);
  });

  it("is refused by a client that does not trust its CA", async () => {
    const other = join(dir, "other");
    await generateCerts({ dir: other, services: ["client"] });
    const r = await ctl(["--cacert", join(other, "ca.crt"), "--cert", join(certs, "client.crt"), "--key", join(certs, "client.key"), "get", "secure"]);
    expect(r.code).not.toBe(0);
  });
});
