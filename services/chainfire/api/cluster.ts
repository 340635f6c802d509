/** gRPC handlers of etcdserverpb.Cluster: member list, add, remove, update, promote. */
import type { ServiceHandlers } from "../../../lib/grpc/index.ts";
import type { Member } from "../cluster/members.ts";
import type { ChainfireService } from "../service.ts";
import { num, type Int64 } from "./wire.ts";

/** A member in etcd's wire form. */
export function wireMember(m: Member) {
  return { ID: m.id, name: m.name, peerURLs: m.peerUrls, clientURLs: m.clientUrls, isLearner: m.isLearner };
}

/** The Cluster handlers over `svc`. */
export function clusterHandlers(svc: ChainfireService): ServiceHandlers {
  const list = (members: Member[]) => ({ header: svc.header(), members: members.map(wireMember) });
  return {
    MemberList: async () => list(svc.members()),
    MemberAdd: async (req: { peerURLs?: string[]; isLearner?: boolean }) => {
      const r = await svc.admin<{ member: Member; members: Member[] }>({ op: "memberAdd", peerUrls: req.peerURLs ?? [], isLearner: !!req.isLearner });
      return { ...list(r.members), member: wireMember(r.member) };
    },
    MemberRemove: async (req: { ID?: Int64 }) => list((await svc.admin<{ members: Member[] }>({ op: "memberRemove", id: num(req.ID) })).members),
    MemberUpdate: async (req: { ID?: Int64; peerURLs?: string[] }) =>
      list((await svc.admin<{ members: Member[] }>({ op: "memberUpdate", id: num(req.ID), peerUrls: req.peerURLs ?? [] })).members),
    MemberPromote: async (req: { ID?: Int64 }) => list((await svc.admin<{ members: Member[] }>({ op: "memberPromote", id: num(req.ID) })).members),
  };
}
