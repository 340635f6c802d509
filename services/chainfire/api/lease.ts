/** gRPC handlers of etcdserverpb.Lease: grant, revoke, keep-alive stream, time-to-live, list. */
import type { ServerDuplex, ServiceHandlers } from "../../../lib/grpc/index.ts";
import type { ChainfireService } from "../service.ts";
import { num, type Int64 } from "./wire.ts";

/** The Lease handlers over `svc`. */
export function leaseHandlers(svc: ChainfireService): ServiceHandlers {
  return {
    LeaseGrant: async (req: { TTL?: Int64; ID?: Int64 }) => {
      const r = await svc.leaseGrant(num(req.TTL), num(req.ID));
      return { header: r.header, ID: r.id, TTL: r.ttl, error: r.error };
    },
    LeaseRevoke: async (req: { ID?: Int64 }) => svc.leaseRevoke(num(req.ID)),
    LeaseKeepAlive: async (stream: ServerDuplex<{ ID?: Int64 }, unknown>) => {
      for await (const req of stream) {
        const r = await svc.leaseKeepAlive(num(req.ID));
        await stream.write({ header: r.header, ID: r.id, TTL: r.ttl });
      }
    },
    LeaseTimeToLive: async (req: { ID?: Int64; keys?: boolean }) => {
      const r = await svc.leaseTimeToLive(num(req.ID), !!req.keys);
      return { header: r.header, ID: r.id, TTL: r.ttl, grantedTTL: r.grantedTtl, keys: r.keys };
    },
    LeaseLeases: async () => {
      const r = await svc.leaseLeases();
      return { header: r.header, leases: r.leases.map((l) => ({ ID: l.id })) };
    },
  };
}
