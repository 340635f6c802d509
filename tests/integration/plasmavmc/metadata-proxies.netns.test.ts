/**
 * The host agent's metadata proxies choose where a VPC's guests reach 169.254.169.254: the VPC's
 * router namespace, or — for a VPC without a router — its DHCP namespace (whose DHCP server hands
 * guests the host route there, option 121); the proxy moves when a router appears and stops with
 * the agent. Real namespaces and the real `photon plasmavmc-metadata-proxy` process; the upstream
 * is a unix-socket HTTP server that reports which network asked. Needs root; skipped otherwise.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { netnsUnavailable } from "../../../dataplane/linux/testbed.ts";
import { createLogger } from "../../../lib/log.ts";
import { MetadataProxies } from "../../../services/plasmavmc/agent/metadata-proxies.ts";

const reason = await netnsUnavailable();
if (reason) console.log(`skipping the metadata proxy placement tests: ${reason}`);

const VNI = 0x7a1;
const tag = `pmp${process.pid % 100000}`;
const routerNs = `${tag}-r-${VNI.toString(16)}`;
const dhcpNs = `${tag}-d-${VNI.toString(16)}`;

function sh(argv: string[]): { code: number; out: string } {
  const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode ?? 1, out: r.stdout.toString() };
}

/** What the metadata address answers inside `ns` (undefined: nothing listens). Asynchronous:
 * the upstream server runs in this process. */
async function askIn(ns: string): Promise<string | undefined> {
  const p = Bun.spawn(["ip", "netns", "exec", ns, "curl", "-s", "--max-time", "2", "http://169.254.169.254/openstack"], { stdout: "pipe", stderr: "ignore" });
  const [out, code] = await Promise.all([new Response(p.stdout).text(), p.exited]);
  return code === 0 ? out : undefined;
}

describe.skipIf(reason !== undefined || !Bun.which("curl"))("metadata proxy placement", () => {
  const dir = mkdtempSync(join(tmpdir(), "photon-mdproxy-"));
  const socket = join(dir, "metadata.sock");
  let upstream: ReturnType<typeof Bun.serve>;
  let proxies: MetadataProxies;

  beforeAll(() => {
    upstream = Bun.serve({ unix: socket, fetch: (req) => new Response(`network=${req.headers.get("x-photon-network")}`) });
    for (const ns of [routerNs, dhcpNs]) sh(["ip", "netns", "del", ns]);
    expect(sh(["ip", "netns", "add", dhcpNs]).code).toBe(0);
    proxies = new MetadataProxies(join(dir, "proxies"), socket, createLogger("test", { level: "error" }));
  });

  afterAll(async () => {
    await proxies?.stop();
    upstream?.stop(true);
    for (const ns of [routerNs, dhcpNs]) sh(["ip", "netns", "del", ns]);
    rmSync(dir, { recursive: true, force: true });
  });

  const target = () => [{ vni: VNI, vpc: "vpc-1", netns: [routerNs, dhcpNs] }];

  it("serves a router-less VPC from its DHCP namespace", async () => {
    await proxies.sync(target());
    expect(await askIn(dhcpNs)).toBe("network=vpc-1");
  }, 20_000);

  it("moves to the router namespace once the VPC has a router", async () => {
    expect(sh(["ip", "netns", "add", routerNs]).code).toBe(0);
    await proxies.sync(target());
    expect(await askIn(routerNs)).toBe("network=vpc-1");
    expect(await askIn(dhcpNs)).toBeUndefined();
  }, 20_000);

  it("stops every proxy with the agent", async () => {
    await proxies.stop();
    expect(await askIn(routerNs)).toBeUndefined();
  }, 20_000);
});
