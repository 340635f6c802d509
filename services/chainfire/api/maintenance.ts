/** gRPC handlers of etcdserverpb.Maintenance: Status, Alarm, Defragment, Hash(KV), Snapshot, MoveLeader. */
import { CommonErrors } from "../../../lib/errors.ts";
import type { ServerWriter, ServiceHandlers } from "../../../lib/grpc/index.ts";
import type { ChainfireService } from "../service.ts";
import { num, type Int64 } from "./wire.ts";

const alarmNames = ["NONE", "NOSPACE", "CORRUPT"] as const;

/** The Maintenance handlers over `svc`. */
export function maintenanceHandlers(svc: ChainfireService): ServiceHandlers {
  const wireAlarms = () => svc.alarmList().map((a) => ({ memberID: a.memberId, alarm: alarmNames.indexOf(a.alarm) }));
  return {
    Status: async () => svc.status(),
    Alarm: async (req: { action?: number; memberID?: Int64; alarm?: number }) => {
      if (req.action === 2) svc.alarmDeactivate(num(req.memberID), alarmNames[req.alarm ?? 0] ?? "NONE");
      else if (req.action === 1) throw CommonErrors.Unimplemented("activating alarms by hand is not supported");
      return { header: svc.header(), alarms: wireAlarms() };
    },
    Defragment: async () => {
      svc.store.defragment();
      return { header: svc.header() };
    },
    Hash: async () => ({ header: svc.header(), hash: svc.store.hashKv(0) }),
    HashKV: async (req: { revision?: Int64 }) => {
      const rev = num(req.revision);
      return { header: svc.header(), hash: svc.store.hashKv(rev), compactRevision: svc.store.compactRevision };
    },
    Snapshot: async (_req: unknown, stream: ServerWriter<unknown>) => {
      const header = svc.header();
      const estimate = svc.store.sizeBytes();
      let sent = 0;
      for (const blob of svc.store.snapshot()) {
        if (stream.closed) return;
        sent += blob.length;
        await stream.write({ header, remainingBytes: Math.max(estimate - sent, 1), blob });
      }
      await stream.write({ header, remainingBytes: 0, blob: new Uint8Array(0) });
    },
    MoveLeader: async (req: { targetID?: Int64 }) => {
      await svc.admin({ op: "moveLeader", id: num(req.targetID) });
      return { header: svc.header() };
    },
  };
}
