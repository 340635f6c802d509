/**
 * PhotonCloud's Raft driver. The consensus algorithm is tikv's raft-rs inside the native addon
 * (native/raft, many groups per process, log on RocksDB with one fsync per ready cycle); this
 * package drives it: ticking, the ready loop, the TCP transport, proposals and reads,
 * snapshots and membership. See docs/adr/0004-raft.md.
 */
export { RaftNode } from "./raft-node.ts";
export { RaftErrors } from "./errors.ts";
export { ChangeType } from "./codec.ts";
export type { AppliedEntry, GroupOpenOptions, RaftApplication, RaftNodeOptions, RaftStatus, SnapshotMeta } from "./types.ts";
export type { Membership, MemberChange, RaftRole } from "./codec.ts";
