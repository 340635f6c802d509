/** gRPC handlers of etcdserverpb.KV: Range, Put, DeleteRange, Txn, Compact. */
import type { ServiceHandlers } from "../../../lib/grpc/index.ts";
import type { ChainfireService } from "../service.ts";
import {
  deleteRangeRequest,
  num,
  putRequest,
  rangeRequest,
  txnRequest,
  wireResponseOp,
  type Int64,
  type WireDeleteRangeRequest,
  type WirePutRequest,
  type WireRangeRequest,
  type WireTxnRequest,
} from "./wire.ts";

/** The KV handlers over `svc`. */
export function kvHandlers(svc: ChainfireService): ServiceHandlers {
  return {
    Range: async (req: WireRangeRequest) => svc.range(rangeRequest(req)),
    Put: async (req: WirePutRequest) => svc.put(putRequest(req)),
    DeleteRange: async (req: WireDeleteRangeRequest) => svc.deleteRange(deleteRangeRequest(req)),
    Txn: async (req: WireTxnRequest) => {
      const r = await svc.txn(txnRequest(req));
      return { header: r.header, succeeded: r.succeeded, responses: r.responses.map((op) => wireResponseOp(op, r.header)) };
    },
    Compact: async (req: { revision?: Int64; physical?: boolean }) => svc.compact(num(req.revision), !!req.physical),
  };
}
