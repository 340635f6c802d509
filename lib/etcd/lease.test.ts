import { expect, it } from "bun:test";
import type { PhotonError } from "../errors.ts";
import { TcpProxy } from "./testdata/backends.ts";
import { eventually, failure, forEachBackend } from "./testdata/suite.ts";

forEachBackend("lease", (ctx) => {
  it("grants, reports, lists and revokes a lease, deleting its keys", async () => {
    const p = ctx.prefix();
    const lease = await ctx.client.grant(30);
    expect(lease.id > 0n).toBe(true);
    expect(lease.ttl).toBe(30);
    await ctx.client.put(`${p}a`, "1", { lease: lease.id });
    await ctx.client.put(`${p}b`, "2", { lease: lease.id });
    expect((await ctx.client.get(`${p}a`))?.lease).toBe(lease.id);
    const ttl = await ctx.client.timeToLive(lease.id, { keys: true });
    expect(ttl?.grantedTtl).toBe(30);
    expect(ttl!.ttl).toBeGreaterThan(25);
    expect(ttl!.ttl).toBeLessThanOrEqual(30);
    expect(ttl?.keys.map((k) => new TextDecoder().decode(k)).sort()).toEqual([`${p}a`, `${p}b`]);
    expect(await ctx.client.leases()).toContain(lease.id);
    await ctx.client.revoke(lease.id);
    expect(await ctx.client.get(`${p}a`)).toBeUndefined();
    expect((await ctx.client.getPrefix(p)).count).toBe(0);
    expect(await ctx.client.timeToLive(lease.id)).toBeUndefined();
    expect(await ctx.client.leases()).not.toContain(lease.id);
  });

  it("grants a chosen id once and fails with typed lease errors", async () => {
    const id = BigInt(Date.now()) * 1000n + 7n;
    expect((await ctx.client.grant(10, { id })).id).toBe(id);
    expect((await failure(ctx.client.grant(10, { id }))).code).toBe("ETCD:LeaseExists");
    await ctx.client.revoke(id);
    expect((await failure(ctx.client.revoke(id))).code).toBe("ETCD:LeaseNotFound");
    expect((await failure(ctx.client.put(`${ctx.prefix()}k`, "v", { lease: id }))).code).toBe("ETCD:LeaseNotFound");
    expect((await failure(ctx.client.grant(9_000_000_001))).code).toBe("ETCD:LeaseTtlTooLarge");
    // A TTL below the minimum (1.5 election timeouts) is raised to it.
    const short = await ctx.client.grant(1);
    expect(short.ttl).toBe(2);
    await ctx.client.revoke(short.id);
    expect((await failure(ctx.client.keepAlive(id))).code).toBe("ETCD:LeaseNotFound");
  });

  it("keeps a key alive past its TTL, across a broken stream, and loses it after stopping", async () => {
    const k = `${ctx.prefix()}alive`;
    const proxy = await TcpProxy.start(ctx.backend.endpoint);
    const client = ctx.newClient({ endpoints: [proxy.endpoint] });
    try {
      const { id, ttl } = await client.grant(2);
      expect(ttl).toBe(2);
      await client.put(k, "here", { lease: id });
      let lost: PhotonError | undefined;
      const ka = await client.keepAlive(id, { onLost: (e) => (lost = e) });
      expect(ka.ttl).toBe(2);
      expect(ka.aliveUntil).toBeGreaterThan(Date.now());
      await Bun.sleep(2500);
      proxy.cutAll();
      await Bun.sleep(2500);
      expect((await ctx.client.get(k))?.valueString).toBe("here");
      expect(proxy.accepted).toBeGreaterThan(1);
      expect(lost).toBeUndefined();
      expect(ka.active).toBe(true);
      ka.stop();
      expect(ka.active).toBe(false);
      expect(await eventually(async () => (await ctx.client.get(k)) === undefined, 6000)).toBe(true);
      expect(await ctx.client.timeToLive(id)).toBeUndefined();
      expect(lost).toBeUndefined();
    } finally {
      await proxy.close();
    }
  }, 30_000);

  it("tells the owner when the lease is revoked under it", async () => {
    const { id } = await ctx.client.grant(5);
    const reasons: string[] = [];
    const ka = await ctx.client.keepAlive(id, { onLost: (e) => reasons.push(e.code) });
    await ctx.client.revoke(id);
    const err = await ka.lost;
    expect(err.code).toBe("ETCD:LeaseNotFound");
    expect(reasons).toEqual(["ETCD:LeaseNotFound"]);
    expect(ka.active).toBe(false);
  }, 15_000);

  it("reports a lease as expired when no renewal gets through within its TTL", async () => {
    const proxy = await TcpProxy.start(ctx.backend.endpoint);
    const client = ctx.newClient({ endpoints: [proxy.endpoint] });
    try {
      const { id } = await client.grant(2);
      const ka = await client.keepAlive(id);
      const t0 = Date.now();
      await proxy.close();
      const err = await ka.lost;
      expect(err.code).toBe("ETCD:LeaseExpired");
      expect(Date.now() - t0).toBeLessThan(3000);
    } finally {
      await proxy.close().catch(() => {});
    }
  }, 15_000);
});
