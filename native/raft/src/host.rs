//! `RaftHost`: many Raft groups (tikv raft-rs `RawNode`s, keyed by a u64 group id) of one node
//! over one log store (raft-engine): opening groups and every input between cycles (`tick`, `step`, `propose`,
//! `read_index`, membership, compaction). The cycle itself (`ready`/`advance`) is in ready.rs.

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::Arc;

use protobuf::Message as _;
use raft_engine::LogBatch;
use raft::eraftpb::{ConfChangeSingle, ConfChangeTransition, ConfChangeType, ConfChangeV2, ConfState, Message, MessageType};
use raft::{Config, RawNode, ReadOnlyOption, SnapshotStatus, StateRole};
use slog::Logger;

use crate::error::{RaftError, Result};
use crate::log_store::{LogStore, LogStoreOptions};
use crate::pack::{self, Cursor};
use crate::options::{GroupOpened, GroupOptions, GroupStatus, HostStats};
use crate::storage::{GroupStorage, INIT_INDEX, INIT_TERM};

pub(crate) struct Group {
    pub(crate) node: RawNode<GroupStorage>,
    pub(crate) keep_snapshot_data: bool,
    pub(crate) dirty: bool,
}

/// Many Raft groups of one node over one log store. Not thread-safe: drive it from one thread.
pub struct RaftHost {
    pub(crate) store: Arc<LogStore>,
    pub(crate) node_id: u64,
    pub(crate) groups: HashMap<u64, Group>,
    pub(crate) dirty: Vec<u64>,
    /// Groups handed out by the last `ready`, waiting for `advance`.
    pub(crate) handed: Vec<u64>,
    pub(crate) poisoned: Option<String>,
    pub(crate) logger: Logger,
    pub(crate) batch: LogBatch,
    pub(crate) stats: HostStats,
    /// Async persistence (see ready.rs): a cycle's write is issued without fsync and its
    /// readies wait in `pending` until `persisted` reports the WAL synced past them.
    pub(crate) async_persist: bool,
    /// Sequence number of the last write that waits for a WAL sync.
    pub(crate) written_seq: u64,
    pub(crate) pending: VecDeque<PendingPersist>,
}

/// One cycle's write waiting for its WAL sync: the readies it holds (group, ready number) and
/// the messages that may leave only once it is durable (votes, append responses).
pub(crate) struct PendingPersist {
    pub(crate) seq: u64,
    pub(crate) readies: Vec<(u64, u64, Vec<Message>)>,
}

impl RaftHost {
    /// Opens (or creates) the host's log at `path` for node `node_id` (non-zero). A log left by
    /// an earlier version (RocksDB in `path`) is moved into the log store first (migrate.rs).
    pub fn open(path: &Path, node_id: u64, options: LogStoreOptions) -> Result<RaftHost> {
        if node_id == 0 {
            return Err(RaftError::InvalidArgument("node id must be non-zero".into()));
        }
        let store = Arc::new(crate::migrate::open_migrating(path, &options)?);
        Ok(RaftHost {
            store,
            node_id,
            groups: HashMap::new(),
            dirty: Vec::new(),
            handed: Vec::new(),
            poisoned: None,
            logger: crate::logger::logger(node_id),
            batch: LogBatch::default(),
            stats: HostStats::default(),
            async_persist: false,
            written_seq: 0,
            pending: VecDeque::new(),
        })
    }

    /// This node's id.
    pub fn node_id(&self) -> u64 {
        self.node_id
    }

    /// Ids of every group with state in the log (open or not).
    pub fn stored_groups(&self) -> Result<Vec<u64>> {
        self.check()?;
        self.store.groups()
    }

    /// Opens a group: loads its state, or bootstraps it with `options.voters` when it has none
    /// and voters are given. Fails with GroupExists when already open.
    pub fn create_group(&mut self, group: u64, options: &GroupOptions) -> Result<GroupOpened> {
        self.check()?;
        if self.groups.contains_key(&group) {
            return Err(RaftError::GroupExists(group));
        }
        if group == u64::MAX {
            return Err(RaftError::InvalidArgument("group id u64::MAX is reserved".into()));
        }
        let mut store = GroupStorage::load(self.store.clone(), group)?;
        if store.is_empty() && !options.voters.is_empty() {
            let mut cs = ConfState::default();
            cs.voters = options.voters.clone();
            cs.learners = options.learners.clone();
            self.batch = LogBatch::default();
            store.bootstrap(&mut self.batch, cs)?;
            self.write_batch(true)?;
        }
        let (snap_index, snap_term) = store.snapshot_point();
        let commit = store.hard_state().commit;
        if options.applied > commit.max(snap_index) {
            return Err(RaftError::InvalidArgument(format!(
                "group {group}: application applied {} but the log is committed only to {commit}",
                options.applied
            )));
        }
        // The bootstrap snapshot is the empty state: an empty application is at that point.
        let at_bootstrap = snap_index == INIT_INDEX && snap_term == INIT_TERM;
        let needs_snapshot = options.applied < snap_index && !at_bootstrap;
        let applied = options.applied.max(snap_index);
        store.applied = applied;
        let config = Config {
            id: self.node_id,
            election_tick: options.election_tick,
            heartbeat_tick: options.heartbeat_tick,
            applied,
            max_size_per_msg: options.max_size_per_msg,
            max_inflight_msgs: options.max_inflight_msgs,
            check_quorum: true,
            pre_vote: true,
            read_only_option: ReadOnlyOption::Safe,
            max_uncommitted_size: if options.max_uncommitted_size == 0 { u64::MAX } else { options.max_uncommitted_size },
            max_committed_size_per_ready: options.max_committed_size_per_ready,
            ..Default::default()
        };
        config.validate()?;
        let logger = self.logger.new(slog::o!("group" => group));
        let node = RawNode::new(&config, store, &logger)?;
        self.groups.insert(group, Group { node, keep_snapshot_data: options.keep_snapshot_data, dirty: false });
        self.mark(group);
        Ok(GroupOpened { applied, needs_snapshot, snapshot_index: snap_index })
    }

    /// Closes a group; with `destroy` its log and state are deleted too.
    pub fn remove_group(&mut self, group: u64, destroy: bool) -> Result<()> {
        self.check()?;
        let mut g = self.groups.remove(&group).ok_or(RaftError::NoSuchGroup(group))?;
        self.dirty.retain(|x| *x != group);
        self.handed.retain(|x| *x != group);
        for p in self.pending.iter_mut() {
            p.readies.retain(|(g, _, _)| *g != group);
        }
        if destroy {
            self.batch = LogBatch::default();
            g.node.mut_store().destroy(&mut self.batch);
            self.write_batch(true)?;
        }
        Ok(())
    }

    /// Ticks every open group once.
    pub fn tick(&mut self) -> Result<()> {
        self.check()?;
        let mut marks = Vec::new();
        for (id, g) in self.groups.iter_mut() {
            g.node.tick();
            if !g.dirty && g.node.has_ready() {
                marks.push(*id);
            }
        }
        for id in marks {
            self.mark(id);
        }
        Ok(())
    }

    /// Steps a packed buffer of messages (`(groupId:u64 len:u32 eraftpb.Message)*`). Messages
    /// for groups not open here are skipped; their group ids are returned (deduplicated).
    /// Messages raft refuses (stale terms, unknown peers) are dropped as Raft expects.
    pub fn step(&mut self, packed: &[u8]) -> Result<Vec<u64>> {
        self.check()?;
        let mut unknown = Vec::new();
        let mut c = Cursor::new(packed);
        while !c.done() {
            let group = c.u64()?;
            let msg = Message::parse_from_bytes(c.bytes()?)?;
            if let Some(g) = self.groups.get_mut(&group) {
                if is_local(msg.msg_type) {
                    return Err(RaftError::InvalidArgument(format!("local message type {:?} on the wire", msg.msg_type)));
                }
                let _ = g.node.step(msg);
                self.mark(group);
            } else if !unknown.contains(&group) {
                unknown.push(group);
            }
        }
        Ok(unknown)
    }

    /// Steps one received MsgSnapshot (`msg` without data) with its data reassembled by the
    /// transport.
    pub fn step_snapshot(&mut self, group: u64, msg: &[u8], data: Vec<u8>) -> Result<()> {
        self.check()?;
        let mut m = Message::parse_from_bytes(msg)?;
        if m.msg_type != MessageType::MsgSnapshot {
            return Err(RaftError::InvalidArgument(format!("expected MsgSnapshot, got {:?}", m.msg_type)));
        }
        m.mut_snapshot().data = data.into();
        let g = self.group_mut(group)?;
        let _ = g.node.step(m);
        self.mark(group);
        Ok(())
    }

    /// Proposes one entry; returns its (index, term). Fails with NotLeader (with the leader
    /// hint) on a non-leader, ProposalDropped when raft refuses it.
    pub fn propose(&mut self, group: u64, ctx: &[u8], data: &[u8]) -> Result<(u64, u64)> {
        self.check()?;
        let g = self.group_mut(group)?;
        let raft = &g.node.raft;
        if raft.state != StateRole::Leader {
            return Err(RaftError::NotLeader { group, leader: raft.leader_id });
        }
        g.node.propose(ctx.to_vec(), data.to_vec()).map_err(|e| match e {
            raft::Error::ProposalDropped => RaftError::ProposalDropped(group),
            e => e.into(),
        })?;
        let at = (g.node.raft.raft_log.last_index(), g.node.raft.term);
        self.mark(group);
        Ok(at)
    }

    /// Proposes many entries (`(groupId:u64 ctxLen:u32 ctx dataLen:u32 data)*`) and appends one
    /// result per proposal to `out`: `status:u8 a:u64 b:u64` with status 0 ok (a = index,
    /// b = term), 1 not leader (a = leader hint), 2 dropped, 3 no such group.
    pub fn propose_packed(&mut self, packed: &[u8], out: &mut Vec<u8>) -> Result<u32> {
        self.check()?;
        let mut c = Cursor::new(packed);
        let mut n = 0;
        while !c.done() {
            let group = c.u64()?;
            let ctx = c.bytes()?;
            let data = c.bytes()?;
            let (status, a, b) = match self.propose(group, ctx, data) {
                Ok((i, t)) => (0, i, t),
                Err(RaftError::NotLeader { leader, .. }) => (1, leader, 0),
                Err(RaftError::ProposalDropped(_)) => (2, 0, 0),
                Err(RaftError::NoSuchGroup(_)) => (3, 0, 0),
                Err(e) => return Err(e),
            };
            pack::u8_(out, status);
            pack::u64_(out, a);
            pack::u64_(out, b);
            n += 1;
        }
        Ok(n)
    }

    /// Proposes a membership change (one change = a simple change; several = joint consensus,
    /// left automatically with `Auto`). `context` travels with the entry to every node.
    pub fn propose_conf_change(
        &mut self,
        group: u64,
        changes: &[(ConfChangeType, u64)],
        transition: ConfChangeTransition,
        context: &[u8],
    ) -> Result<(u64, u64)> {
        self.check()?;
        let g = self.group_mut(group)?;
        if g.node.raft.state != StateRole::Leader {
            return Err(RaftError::NotLeader { group, leader: g.node.raft.leader_id });
        }
        let mut cc = ConfChangeV2::default();
        cc.set_transition(transition);
        cc.context = context.to_vec().into();
        for (t, id) in changes {
            let mut s = ConfChangeSingle::default();
            s.set_change_type(*t);
            s.node_id = *id;
            cc.mut_changes().push(s);
        }
        // raft-rs turns a conf change it must refuse into an empty normal entry rather than an
        // error, and validates the change only when applying it: check both up front.
        // A change still being applied is transient (retry later), not a refusal of this one.
        if g.node.raft.has_pending_conf() {
            return Err(RaftError::ProposalDropped(group));
        }
        let mut changer = raft::Changer::new(g.node.raft.prs());
        let check = if cc.leave_joint() {
            changer.leave_joint()
        } else if let Some(auto_leave) = cc.enter_joint() {
            changer.enter_joint(auto_leave, &cc.changes)
        } else {
            changer.simple(&cc.changes)
        };
        check.map_err(|e| RaftError::ConfChange(e.to_string()))?;
        g.node.propose_conf_change(Vec::new(), cc).map_err(|e| match e {
            raft::Error::ProposalDropped => RaftError::ProposalDropped(group),
            e => e.into(),
        })?;
        let index = g.node.raft.raft_log.last_index();
        if g.node.raft.pending_conf_index != index {
            return Err(RaftError::ConfChange("raft refused the membership change".into()));
        }
        let at = (index, g.node.raft.term);
        self.mark(group);
        Ok(at)
    }

    /// Asks for a read index; the answer comes as a read state with the same `ctx` in a later
    /// ready. Raft drops the request silently when there is no leader or the leader has not yet
    /// committed an entry of its term: retry after a timeout.
    pub fn read_index(&mut self, group: u64, ctx: &[u8]) -> Result<()> {
        self.check()?;
        self.group_mut(group)?.node.read_index(ctx.to_vec());
        self.mark(group);
        Ok(())
    }

    /// Starts a leadership transfer to `to` (effective only on the leader).
    pub fn transfer_leader(&mut self, group: u64, to: u64) -> Result<()> {
        self.check()?;
        self.group_mut(group)?.node.transfer_leader(to);
        self.mark(group);
        Ok(())
    }

    /// Starts an election now (tests, or a node that must take over quickly).
    pub fn campaign(&mut self, group: u64) -> Result<()> {
        self.check()?;
        self.group_mut(group)?.node.campaign()?;
        self.mark(group);
        Ok(())
    }

    /// Tells raft that sending to `to` failed (the leader backs off to probing).
    pub fn report_unreachable(&mut self, group: u64, to: u64) -> Result<()> {
        self.check()?;
        self.group_mut(group)?.node.report_unreachable(to);
        self.mark(group);
        Ok(())
    }

    /// Tells raft whether a snapshot stream to `to` completed.
    pub fn report_snapshot(&mut self, group: u64, to: u64, ok: bool) -> Result<()> {
        self.check()?;
        let status = if ok { SnapshotStatus::Finish } else { SnapshotStatus::Failure };
        self.group_mut(group)?.node.report_snapshot(to, status);
        self.mark(group);
        Ok(())
    }

    /// Compacts the group's log up to and including `index` (at most the applied index). With
    /// `data` (the application's state at `index`) the data is kept as the stored snapshot.
    pub fn compact(&mut self, group: u64, index: u64, data: Option<&[u8]>) -> Result<()> {
        self.check()?;
        let g = self.groups.get_mut(&group).ok_or(RaftError::NoSuchGroup(group))?;
        let keep = g.keep_snapshot_data;
        self.batch = LogBatch::default();
        g.node.mut_store().compact(&mut self.batch, index, if keep { data } else { None })?;
        self.write_batch(false)?;
        // Files holding only compacted entries are recycled.
        self.store.purge()
    }

    /// The stored snapshot of a group (index, term, data), if one is kept at the log's start.
    pub fn stored_snapshot(&self, group: u64) -> Result<Option<(u64, u64, Vec<u8>)>> {
        self.check()?;
        let g = self.groups.get(&group).ok_or(RaftError::NoSuchGroup(group))?;
        g.node.store().stored_snapshot()
    }

    /// Status of one group.
    pub fn status(&self, group: u64) -> Result<GroupStatus> {
        self.check()?;
        let g = self.groups.get(&group).ok_or(RaftError::NoSuchGroup(group))?;
        let r = &g.node.raft;
        let mut progress = Vec::new();
        if r.state == StateRole::Leader {
            for (id, pr) in r.prs().iter() {
                progress.push((*id, pr.matched));
            }
            progress.sort();
        }
        Ok(GroupStatus {
            id: group,
            term: r.term,
            vote: r.vote,
            commit: r.raft_log.committed,
            applied: r.raft_log.applied,
            first_index: r.raft_log.first_index(),
            last_index: r.raft_log.last_index(),
            leader: r.leader_id,
            role: role_code(r.state),
            conf: r.prs().conf().to_conf_state(),
            progress,
        })
    }

    /// Ids of the open groups.
    pub fn groups(&self) -> Vec<u64> {
        let mut v: Vec<u64> = self.groups.keys().copied().collect();
        v.sort();
        v
    }

    /// Work counters.
    pub fn stats(&self) -> HostStats {
        self.stats.clone()
    }

    /// True when some group may have a ready.
    pub fn has_ready(&self) -> bool {
        !self.dirty.is_empty()
    }

    /// Closes the log; every later call fails with Closed. Idempotent.
    pub fn close(&mut self) -> Result<()> {
        self.groups.clear();
        self.pending.clear();
        self.dirty.clear();
        self.handed.clear();
        self.store.close();
        self.poisoned.get_or_insert_with(|| "closed".into());
        Ok(())
    }

    /// Marks the host unusable after a failure that left its state uncertain (a failed write,
    /// a caught panic): every later call fails with Internal.
    pub fn poison(&mut self, why: String) {
        self.poisoned.get_or_insert(why);
    }

    pub(crate) fn check(&self) -> Result<()> {
        match &self.poisoned {
            None => Ok(()),
            Some(w) if w == "closed" => Err(RaftError::Closed),
            Some(w) => Err(RaftError::Internal(format!("host unusable after an earlier failure: {w}"))),
        }
    }

    pub(crate) fn mark(&mut self, id: u64) {
        if let Some(g) = self.groups.get_mut(&id) {
            if !g.dirty {
                g.dirty = true;
                self.dirty.push(id);
            }
        }
    }

    fn group_mut(&mut self, id: u64) -> Result<&mut Group> {
        self.groups.get_mut(&id).ok_or(RaftError::NoSuchGroup(id))
    }

    /// Writes `self.batch`; a failure poisons the host (the in-memory view is ahead of disk).
    pub(crate) fn write_batch(&mut self, sync: bool) -> Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        match self.store.write(&mut self.batch, sync) {
            Ok(()) => {
                if sync {
                    self.stats.synced_writes += 1;
                } else {
                    self.stats.unsynced_writes += 1;
                }
                Ok(())
            }
            Err(e) => {
                self.poison(format!("log write failed: {e}"));
                Err(e)
            }
        }
    }
}

pub(crate) fn role_code(s: StateRole) -> u8 {
    match s {
        StateRole::Follower => 0,
        StateRole::Candidate => 1,
        StateRole::Leader => 2,
        StateRole::PreCandidate => 3,
    }
}

fn is_local(t: MessageType) -> bool {
    matches!(
        t,
        MessageType::MsgHup
            | MessageType::MsgBeat
            | MessageType::MsgUnreachable
            | MessageType::MsgSnapStatus
            | MessageType::MsgCheckQuorum
    )
}
