/** The cluster's members: Raft membership (who votes) joined with the replicated attributes. */
import type { Membership } from "../../../raft/index.ts";
import type { MvccStore } from "../mvcc/mvcc-store.ts";
import type { MemberAttrs } from "../types.ts";

/** A member as the Cluster API shows it. */
export interface Member extends MemberAttrs {
  isLearner: boolean;
}

/** Attributes of every member recorded in the store. */
export function memberAttrs(store: MvccStore): Map<number, MemberAttrs> {
  const out = new Map<number, MemberAttrs>();
  for (const [, raw] of store.scanMeta("member/")) {
    const a = JSON.parse(raw) as MemberAttrs;
    out.set(a.id, a);
  }
  return out;
}

/** The members: every voter and learner of `membership`, with their attributes when known. */
export function listMembers(store: MvccStore, membership: Membership): Member[] {
  const attrs = memberAttrs(store);
  const row = (id: number, isLearner: boolean): Member => ({ ...(attrs.get(id) ?? { id, name: "", peerUrls: [], clientUrls: [] }), isLearner });
  // A memberAdd'ed peer is in the attributes before the conf change lands: not a member yet.
  return [...membership.voters.map((id) => row(id, false)), ...membership.learners.map((id) => row(id, true))];
}

/** `host:port` of a peer URL (http://host:port). */
export function peerAddress(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port}`;
}
