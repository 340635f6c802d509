/**
 * gRPC handlers of chainfire.internal.Forward: what a follower asks the leader. A forwarded call
 * is never forwarded again (a member that is not the leader answers NotLeader), so no loops.
 */
import type { ServiceHandlers } from "../../../lib/grpc/index.ts";
import type { AdminOp } from "../cluster/cluster-manager.ts";
import { etcdError } from "../errors.ts";
import { decodeMessage, encodeMessage } from "../log/command-codec.ts";
import type { ChainfireService } from "../service.ts";
import type { Command } from "../types.ts";
import { num, type Int64 } from "./wire.ts";

/** The Forward handlers over `svc`. */
export function forwardHandlers(svc: ChainfireService): ServiceHandlers {
  const mustLead = () => {
    if (!svc.commandLog.isLeader) throw etcdError("NotLeader");
  };
  return {
    Propose: async (req: { command?: Uint8Array }) => {
      mustLead();
      const applied = await svc.propose(decodeMessage<Command>(req.command ?? new Uint8Array(0)));
      return { result: encodeMessage(applied) };
    },
    KeepAlive: async (req: { id?: Int64 }) => ({ ttl: svc.renewHere(num(req.id)) }),
    Admin: async (req: { command?: Uint8Array }) => {
      mustLead();
      if (!svc.cluster) throw etcdError("NotLeader");
      const result = await svc.cluster.runHere(decodeMessage<AdminOp>(req.command ?? new Uint8Array(0)));
      return { result: encodeMessage(result) };
    },
  };
}
