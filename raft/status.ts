/** Conversion of the addon's group status into the driver's `RaftStatus`. */
import type { RaftGroupStatus } from "../native/photon-native.d.ts";
import type { RaftRole } from "./codec.ts";
import type { RaftStatus } from "./types.ts";

const roleNames: readonly RaftRole[] = ["follower", "candidate", "leader", "precandidate"];

/** Builds the public status of `groupId` from the native one. */
export function toRaftStatus(groupId: number, s: RaftGroupStatus): RaftStatus {
  const progress: Record<number, number> = Object.create(null);
  for (let i = 0; i + 1 < s.progress.length; i += 2) progress[s.progress[i]!] = s.progress[i + 1]!;
  return {
    groupId,
    role: roleNames[s.role] ?? "follower",
    term: s.term,
    leader: s.leader,
    commit: s.commit,
    applied: s.applied,
    firstIndex: s.firstIndex,
    lastIndex: s.lastIndex,
    membership: {
      voters: s.voters,
      learners: s.learners,
      votersOutgoing: s.votersOutgoing,
      learnersNext: s.learnersNext,
      autoLeave: s.autoLeave,
    },
    progress,
  };
}
