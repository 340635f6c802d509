import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateCerts } from "../certs.ts";
import { EtcdClient } from "./client.ts";
import { BACKENDS, freePort, type Backend } from "./testdata/backends.ts";
import { failure, forEachBackend } from "./testdata/suite.ts";

/** A listener that accepts connections and never answers (a hung server). */
async function blackHole(): Promise<{ endpoint: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on("error", () => {});
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

forEachBackend("client", (ctx) => {
  it("fails over to the next endpoint for reads and for writes that never left", async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const client = ctx.newClient({ endpoints: [dead, ctx.backend.endpoint] });
    const k = `${ctx.prefix()}f`;
    await client.put(k, "written through failover");
    expect(client.activeEndpoint).toBe(ctx.backend.endpoint);
    expect((await client.get(k))?.valueString).toBe("written through failover");
    const reader = ctx.newClient({ endpoints: [dead, ctx.backend.endpoint] });
    expect((await reader.get(k))?.valueString).toBe("written through failover");
  });

  it("fails with ETCD:Unavailable when no endpoint answers", async () => {
    const client = ctx.newClient({ endpoints: [`127.0.0.1:${await freePort()}`, `127.0.0.1:${await freePort()}`] });
    const err = await failure(client.get("k"));
    expect(err.code).toBe("ETCD:Unavailable");
    expect((await failure(client.put("k", "v"))).code).toBe("ETCD:Unavailable");
    // A watch on an unreachable cluster keeps retrying instead of failing; it ends on close.
    const w = client.watch("k");
    await Bun.sleep(200);
    expect(w.done).toBe(false);
    client.close();
    expect((await failure(w.ready)).code).toBe("ETCD:Closed");
  });

  it("fails with ETCD:Timeout past the call's deadline, and ETCD:Cancelled when aborted", async () => {
    const hole = await blackHole();
    try {
      const client = ctx.newClient({ endpoints: [hole.endpoint], timeoutMs: 150 });
      const t0 = Date.now();
      expect((await failure(client.get("k"))).code).toBe("ETCD:Timeout");
      expect(Date.now() - t0).toBeLessThan(2000);
      expect((await failure(client.get("k", { timeoutMs: 50 }))).code).toBe("ETCD:Timeout");
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 30);
      expect((await failure(client.get("k", { timeoutMs: 5000, signal: ac.signal }))).code).toBe("ETCD:Cancelled");
    } finally {
      await hole.close();
    }
  });

  it("lists members and reports status", async () => {
    const { members, header } = await ctx.client.memberList();
    expect(members.length).toBe(1);
    const m = members[0]!;
    expect(m.id > 0n).toBe(true);
    expect(m.id).toBe(header.memberId);
    expect(m.clientUrls).toContain(ctx.backend.endpoint);
    expect(m.isLearner).toBe(false);
    const s = await ctx.client.status();
    expect(s.version).toMatch(/^3\.4\./);
    expect(s.leader).toBe(m.id);
    expect(s.header.clusterId > 0n).toBe(true);
    expect(s.dbSize).toBeGreaterThan(0);
    expect(s.raftTerm).toBeGreaterThan(0);
    expect(s.errors).toEqual([]);
    expect((await ctx.client.status(ctx.backend.endpoint)).leader).toBe(m.id);
  });

  it("refuses bad arguments before sending anything", async () => {
    expect(() => new EtcdClient({ endpoints: [] })).toThrow();
    expect((await failure(() => new EtcdClient({ endpoints: ["not an endpoint"] }))).code).toBe("ETCD:InvalidArgument");
    expect((await failure(() => ctx.client.get(""))).code).toBe("ETCD:InvalidArgument");
    expect((await failure(() => ctx.client.getPrefix("p", { limit: -1 }))).code).toBe("ETCD:InvalidArgument");
    expect((await failure(() => ctx.client.grant(0))).code).toBe("ETCD:InvalidArgument");
    expect((await failure(() => ctx.client.watch("a", { prefix: true, end: "b" }))).code).toBe("ETCD:InvalidArgument");
    expect((await failure(() => new EtcdClient({ endpoints: ["127.0.0.1:1"], tls: { caFile: "/nonexistent/ca.crt" } }))).code).toBe("ETCD:InvalidArgument");
  });
});

const certDir = mkdtempSync(join(tmpdir(), "etcd-client-certs-"));
afterAll(() => rmSync(certDir, { recursive: true, force: true }));

for (const kind of BACKENDS) {
  describe.skipIf(kind.skip !== undefined)(`client over mTLS [${kind.name}]`, () => {
    let backend: Backend;
    const files = (name: string) => ({ certFile: join(certDir, `${name}.crt`), keyFile: join(certDir, `${name}.key`) });
    beforeAll(async () => {
      await generateCerts({ dir: certDir, services: ["chainfire", "client"] });
      backend = await kind.start({ ...files("chainfire"), caFile: join(certDir, "ca.crt") });
    });
    afterAll(async () => {
      await backend?.stop();
    });

    it("reads, writes and watches with a client certificate, and is refused without one", async () => {
      const client = new EtcdClient({ endpoints: [backend.endpoint], tls: { caFile: join(certDir, "ca.crt"), ...files("client") } });
      try {
        const w = client.watch("/tls/k");
        await w.ready;
        await client.put("/tls/k", "secret");
        expect((await client.get("/tls/k"))?.valueString).toBe("secret");
        const { value } = await w.next();
        expect(value.events[0].kv.valueString).toBe("secret");
      } finally {
        client.close();
      }
      const anonymous = new EtcdClient({ endpoints: [backend.endpoint], tls: { caFile: join(certDir, "ca.crt") }, timeoutMs: 2000 });
      try {
        const err = await failure(anonymous.get("/tls/k"));
        expect(err.code).toBe("ETCD:Unavailable");
      } finally {
        anonymous.close();
      }
    });
  });
}
