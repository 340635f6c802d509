/**
 * gRPC handlers of etcdserverpb.Cluster. A single node lists itself; membership changes need the
 * Raft log and are refused until chainfire runs on it.
 */
import { CommonErrors } from "../../../lib/errors.ts";
import type { ServiceHandlers } from "../../../lib/grpc/index.ts";
import type { ChainfireService, Member } from "../service.ts";

function wireMember(m: Member) {
  return { ID: m.id, name: m.name, peerURLs: m.peerUrls, clientURLs: m.clientUrls, isLearner: m.isLearner };
}

const needsRaft = () => {
  throw CommonErrors.Unimplemented("membership changes need a Raft cluster; this chainfire runs single-node");
};

/** The Cluster handlers over `svc`. */
export function clusterHandlers(svc: ChainfireService): ServiceHandlers {
  return {
    MemberList: async () => ({ header: svc.header(), members: svc.members().map(wireMember) }),
    MemberAdd: needsRaft,
    MemberRemove: needsRaft,
    MemberUpdate: needsRaft,
    MemberPromote: needsRaft,
  };
}
