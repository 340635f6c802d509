/** Per-group state of a RaftNode and how a ready's group section is applied to it. */
import type { GroupReady, RaftRole } from "./codec.ts";
import type { GroupRequests } from "./proposals.ts";
import type { AppliedEntry, RaftApplication } from "./types.ts";

/** What a node tracks per open group (as of the last cycle). */
export interface GroupState {
  role: RaftRole;
  leader: number;
  term: number;
  applied: number;
  appliedTerm: number;
  keepSnapshotData: boolean;
  requests: GroupRequests;
  leaderWaiters: { to: number; resolve: () => void; reject: (e: Error) => void; deadline: number }[];
}

/**
 * Applies one group's part of a ready to the application and settles what it unblocks: state
 * changes, an installed snapshot, committed entries (proposals resolve with the application's
 * results), membership, read states. Conf change contexts may carry peer addresses
 * (`{"addresses": {id: "host:port"}}`), handed to `learnPeer`.
 */
export function applyGroupReady(app: RaftApplication, g: GroupState, r: GroupReady, learnPeer: (id: number, address: string) => void): void {
  if (r.role !== g.role || r.leader !== g.leader) {
    g.role = r.role;
    g.leader = r.leader;
    g.term = r.term;
    app.onLeaderChange?.(r.groupId, r.leader, r.role, r.term);
    g.leaderWaiters = g.leaderWaiters.filter((w) => (w.to === r.leader ? (w.resolve(), false) : true));
  }
  g.term = r.term;
  if (r.snapshot) {
    app.installSnapshot(r.groupId, r.snapshot.data, { index: r.snapshot.index, term: r.snapshot.term });
    g.applied = r.snapshot.index;
    g.appliedTerm = r.snapshot.term;
    g.requests.skippedTo(r.snapshot.index);
  }
  if (r.entries.length > 0) applyEntries(app, r.groupId, g, r.entries, learnPeer);
  if (r.membership) app.onMembershipChange?.(r.groupId, r.membership);
  for (const rs of r.readStates) g.requests.readState(new TextDecoder().decode(rs.context), rs.index, g.applied);
  g.requests.appliedTo(g.applied);
}

function applyEntries(app: RaftApplication, groupId: number, g: GroupState, entries: GroupReady["entries"], learnPeer: (id: number, address: string) => void): void {
  const normal: AppliedEntry[] = [];
  for (const e of entries) {
    if (e.kind === "normal" && e.data.byteLength > 0) {
      normal.push({ index: e.index, term: e.term, data: e.data, context: e.context });
    } else if (e.kind === "confChange") {
      learnAddresses(e.data, learnPeer);
    }
  }
  const results = normal.length > 0 ? app.apply(groupId, normal) : undefined;
  let k = 0;
  for (const e of entries) {
    const result = e.kind === "normal" && e.data.byteLength > 0 ? results?.[k++] : undefined;
    g.requests.applied(e.index, e.term, result);
  }
  const last = entries[entries.length - 1]!;
  g.applied = last.index;
  g.appliedTerm = last.term;
}

function learnAddresses(context: Uint8Array, learnPeer: (id: number, address: string) => void): void {
  if (context.byteLength === 0) return;
  try {
    const parsed = JSON.parse(new TextDecoder().decode(context)) as { addresses?: Record<string, string> };
    for (const [id, address] of Object.entries(parsed.addresses ?? {})) learnPeer(Number(id), address);
  } catch {
    // A context written by another tool: nothing to learn.
  }
}
