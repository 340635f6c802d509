/**
 * The advertise host: a member binds `host` but publishes `advertiseHost` in its client and peer
 * URLs (MemberList), and a second member joins it through that advertised endpoint.
 */
import { afterAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GrpcClient } from "../../../lib/grpc/index.ts";
import { createLogger } from "../../../lib/log.ts";
import { createMetrics } from "../../../lib/metrics.ts";
import { flagOverrides } from "../../../cli/commands/chainfire.ts";
import { clusterService } from "../../../services/chainfire/api/definitions.ts";
import { advertisedHost, startChainfire, type ChainfireServer } from "../../../services/chainfire/server.ts";
import { freePort } from "../../support/free-port.ts";

const dir = mkdtempSync(join(tmpdir(), "chainfire-advertise-"));
const nodes: ChainfireServer[] = [];
const clients: GrpcClient[] = [];

async function start(name: string, peerPort: number, joinVia?: string): Promise<ChainfireServer> {
  const server = await startChainfire({
    dataDir: join(dir, name),
    name,
    host: "127.0.0.1",
    advertiseHost: "localhost",
    port: 0,
    httpPort: 0,
    peerPort,
    tickMs: 50,
    ...(joinVia ? { join: joinVia } : {}),
    logger: createLogger(`chainfire-${name}`, { level: "error" }),
    metrics: createMetrics("chainfire"),
  });
  nodes.push(server);
  await server.published;
  return server;
}

type ListedMember = { name: string; peerURLs: string[]; clientURLs: string[]; isLearner?: boolean };

async function memberList(endpoint: string): Promise<ListedMember[]> {
  const c = new GrpcClient(endpoint, { defaultTimeoutMs: 5_000 });
  clients.push(c);
  return ((await c.unary(clusterService.methods.MemberList!, {})) as { members: ListedMember[] }).members;
}

async function until<T>(what: string, f: () => Promise<T | undefined | false>, ms = 15_000): Promise<T> {
  const deadline = performance.now() + ms;
  for (;;) {
    try {
      const v = await f();
      if (v !== undefined && v !== false) return v;
    } catch {
      // not yet
    }
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(100);
  }
}

afterAll(async () => {
  for (const c of clients) c.close();
  for (const n of nodes) await n.stop().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe("chainfire advertise host", () => {
  it("publishes advertised client and peer URLs, and a member joins through them", async () => {
    const p1 = await freePort();
    const n1 = await start("n1", p1);
    expect(n1.endpoint).toMatch(/^http:\/\/localhost:\d+$/);
    expect(n1.peerUrl).toBe(`http://localhost:${p1}`);
    const first = await until("n1 listed", async () => (await memberList(n1.endpoint)).find((m) => m.name === "n1"));
    expect(first.clientURLs).toEqual([n1.endpoint]);
    expect(first.peerURLs).toEqual([`http://localhost:${p1}`]);

    const p2 = await freePort();
    const n2 = await start("n2", p2, n1.endpoint); // the advertised http://localhost:PORT
    const both = await until("n2 a voter with its URLs", async () => {
      const ms = await memberList(n1.endpoint);
      const m2 = ms.find((m) => m.name === "n2");
      return m2 && !m2.isLearner && m2.clientURLs.length ? ms : undefined;
    });
    const n2listed = both.find((m) => m.name === "n2")!;
    expect(n2listed.clientURLs).toEqual([n2.endpoint]);
    expect(n2.endpoint).toMatch(/^http:\/\/localhost:\d+$/);
    expect(n2listed.peerURLs).toEqual([`http://localhost:${p2}`]);
    // The write path crosses members: a put on n2 (forwarded to the leader) is read back on n1.
    await n2.service.put({ key: new TextEncoder().encode("adv"), value: new TextEncoder().encode("ok") });
    await until("replicated", async () => (await n1.service.range({ key: new TextEncoder().encode("adv") })).kvs.length === 1 || undefined);
  }, 60_000);

  it("picks the advertised host from bind_host and advertise_host", () => {
    expect(advertisedHost("0.0.0.0", "127.0.0.1")).toBe("127.0.0.1");
    expect(advertisedHost("0.0.0.0", "10.0.0.2")).toBe("10.0.0.2");
    expect(advertisedHost("10.0.0.2", "127.0.0.1")).toBe("10.0.0.2"); // the default does not hide a real bind host
    expect(advertisedHost("127.0.0.1", "node1.example")).toBe("node1.example");
    expect(advertisedHost("::", undefined)).toBe("127.0.0.1");
    expect(flagOverrides({ "advertise-host": "node1.example" })["node.advertise_host"]).toBe("node1.example");
  });
});
