//! The ready cycle of `RaftHost`, over all its groups at once:
//!
//! 1. inputs between cycles: `tick`, `step` (packed messages), `propose`, `read_index`, ...
//! 2. `ready`: collects the Ready of every group that has one, writes every group's new entries,
//!    hard state and received snapshot in ONE log batch, synced when any group needs it
//!    (one fsync per cycle), and only then packs what may leave the node: messages, committed
//!    entries, read states, state changes, snapshots to install. Nothing is acknowledged
//!    before its fsync because nothing is packed before it.
//! 3. the driver sends, applies the committed entries, and calls `advance`.
//!
//! # Async persistence (`set_async_persist(true)`, what the TypeScript driver uses)
//! `ready` issues the cycle's batch WITHOUT fsync (the log store makes it readable at once, which is
//! what raft-rs's `advance_append_async` requires) and hands out only what raft allows before
//! the local write is durable: a leader's appends (raft thesis 10.2.1), entries committed AND
//! persisted earlier, read states. Messages that must wait (votes, append responses) stay in
//! `pending` with the ready numbers. The driver syncs the WAL on a worker thread
//! (`Engine::sync_wal` covers every write issued before it) and reports it with `persisted`:
//! `on_persist_ready` lets a leader commit and a follower acknowledge, and the held messages
//! are returned to be sent. A cycle with a received snapshot, or called with `sync_now`, is
//! fsynced before `ready` returns (and so is everything pending), as in the synchronous mode.
//!
//! # Packed ready format (all integers little-endian)
//! ```text
//! ready   := groupCount:u32 group* destCount:u32 dest* snapCount:u32 snapMsg*
//! group   := groupId:u64 flags:u8 term:u64 commit:u64 leader:u64 role:u8 lastIndex:u64
//!            [snapshot if flags&1] [conf if flags&2]
//!            readCount:u32 (index:u64 ctxLen:u32 ctx)*
//!            entryCount:u32 entry*
//! snapshot:= index:u64 term:u64 dataLen:u32 data          (install into the application)
//! conf    := autoLeave:u8 voters learners votersOutgoing learnersNext   (each count:u32 u64*)
//! entry   := type:u8 index:u64 term:u64 ctxLen:u32 ctx dataLen:u32 data
//!            type 0 normal (ctx = proposal context), 1 conf change: data = the change's context,
//!            ctx = changes as (type:u8 node:u64)* with type 0 add voter, 1 remove, 2 add learner
//! dest    := to:u64 len:u32 msgs                          (msgs is a `step` buffer)
//! msgs    := (groupId:u64 len:u32 eraftpb.Message)*
//! snapMsg := groupId:u64 to:u64 index:u64 term:u64 len:u32 eraftpb.Message (without data)
//! ```
//! role: 0 follower, 1 candidate, 2 leader, 3 pre-candidate.

use std::collections::BTreeMap;

use protobuf::Message as _;
use raft::eraftpb::{ConfChange, ConfChangeType, ConfChangeV2, ConfState, Entry, EntryType, MessageType};

use crate::error::{RaftError, Result};
use crate::host::{role_code, PendingPersist, RaftHost};
use crate::log_store::LogStore;
use raft_engine::LogBatch;
use crate::pack;

impl RaftHost {
    /// Runs one ready cycle over every group that has work; appends the packed ready (see the
    /// module docs) to `out` and returns the number of groups in it (0: nothing to do, `out`
    /// untouched). Must be followed by `advance` once the committed entries are applied.
    pub fn ready(&mut self, out: &mut Vec<u8>) -> Result<u32> {
        self.ready_with(out, false)
    }

    /// `ready`, choosing per cycle: with `sync_now` (and async persistence on) the cycle is
    /// persisted with one fsync before the call returns, as without async persistence, and so
    /// are all writes still waiting. A driver with nothing to overlap with the disk (a single
    /// request in flight) saves the round trip through a worker thread this way.
    pub fn ready_with(&mut self, out: &mut Vec<u8>, sync_now: bool) -> Result<u32> {
        self.check()?;
        if !self.handed.is_empty() {
            return Err(RaftError::InvalidArgument("ready() called twice without advance()".into()));
        }
        let r = self.ready_inner(out, sync_now);
        if let Err(e) = &r {
            // Readies were taken from raft but not advanced: the groups cannot go on.
            self.poison(format!("ready failed: {e}"));
        }
        r
    }

    fn ready_inner(&mut self, out: &mut Vec<u8>, sync_now: bool) -> Result<u32> {
        let dirty = std::mem::take(&mut self.dirty);
        let mut readies = Vec::with_capacity(dirty.len());
        for id in dirty {
            if let Some(g) = self.groups.get_mut(&id) {
                g.dirty = false;
                if g.node.has_ready() {
                    readies.push((id, g.node.ready()));
                }
            }
        }
        if readies.is_empty() {
            return Ok(0);
        }
        self.stats.ready_cycles += 1;
        let must_sync = readies.iter().any(|(_, rd)| rd.must_sync());
        let any_snapshot = readies.iter().any(|(_, rd)| !rd.snapshot().is_empty());
        // Immediate: persisted before this call returns (the only mode without async_persist;
        // a received snapshot always, since the application installs it at once; and a cycle
        // with nothing to sync and nothing pending). Otherwise the write is issued without
        // fsync and the readies wait in `pending` for `persisted`.
        let immediate = !self.async_persist || any_snapshot || sync_now || (!must_sync && self.pending.is_empty());

        // 1. Write every group's entries, hard state and snapshot in one batch.
        self.batch = LogBatch::default();
        for (id, rd) in &readies {
            let g = self.groups.get_mut(id).expect("group of a ready");
            let keep = g.keep_snapshot_data;
            let store = g.node.mut_store();
            if !rd.snapshot().is_empty() {
                store.apply_snapshot(&mut self.batch, rd.snapshot(), keep)?;
            }
            store.append(&mut self.batch, rd.entries())?;
            self.stats.entries_persisted += rd.entries().len() as u64;
            if let Some(hs) = rd.hs() {
                store.set_hard_state(&mut self.batch, hs)?;
            }
        }
        let mut dests: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
        let mut merge_into_last = false;
        if immediate {
            // A synced write also makes every earlier unsynced one durable: release them first.
            let sync = must_sync || !self.pending.is_empty();
            self.write_batch(sync)?;
            if sync {
                let through = self.written_seq;
                self.release_through(through, &mut dests);
            }
        } else if self.batch.is_empty() {
            // Nothing to write (pending is not empty, or must_sync would have been set): these
            // readies follow the last write and are released with it.
            merge_into_last = true;
        } else {
            self.write_batch(false)?;
            self.written_seq += 1;
        }

        // 2. Pack what may leave the node: with `immediate` everything (it is persisted); else
        //    only what raft allows before the local write is durable (a leader's appends,
        //    entries committed and persisted earlier, read states); the rest waits.
        let count_at = out.len();
        pack::u32_(out, readies.len() as u32);
        let mut snaps = Vec::new();
        let mut snap_count = 0u32;
        let mut conf_batch = LogBatch::default();
        let mut commit_batch = LogBatch::default();
        let mut waiting = Vec::new();
        for (id, mut rd) in readies {
            let g = self.groups.get_mut(&id).expect("group of a ready");
            // `Bytes` clone: the data is shared, not copied.
            let snapshot = rd.snapshot().clone();
            let read_states = rd.take_read_states();
            let mut msgs = rd.take_messages();
            let mut committed = rd.take_committed_entries();
            if immediate {
                msgs.extend(rd.take_persisted_messages());
                let mut light = g.node.advance_append(rd);
                msgs.extend(light.take_messages());
                committed.extend(light.take_committed_entries());
                // raft-rs reports a commit index advanced by this persist only here (it will not
                // come back in a later ready's hard state): record it, or a restart would find
                // the application ahead of the log's commit index.
                if let Some(commit) = light.commit_index() {
                    let mut hs = g.node.store().hard_state().clone();
                    if commit > hs.commit {
                        hs.commit = commit;
                        g.node.mut_store().set_hard_state(&mut commit_batch, &hs)?;
                    }
                }
            } else {
                let held = rd.take_persisted_messages();
                let number = rd.number();
                g.node.advance_append_async(rd);
                waiting.push((id, number, held));
            }

            // Membership changes take effect as their entries are handed out for applying.
            let mut conf_changed = !snapshot.is_empty();
            for e in &committed {
                if e.entry_type == EntryType::EntryNormal || e.index <= g.node.store().conf_state().1 {
                    continue;
                }
                let cs = match e.entry_type {
                    EntryType::EntryConfChangeV2 => g.node.apply_conf_change(&ConfChangeV2::parse_from_bytes(&e.data)?),
                    _ => g.node.apply_conf_change(&ConfChange::parse_from_bytes(&e.data)?),
                };
                // An invalid change fails identically on every replica: it is skipped everywhere
                // (membership unchanged) and remembered as handled.
                let cs = cs.unwrap_or_else(|err| {
                    slog::warn!(self.logger, "skipping invalid committed conf change"; "group" => id, "index" => e.index, "error" => %err);
                    g.node.store().conf_state().0.clone()
                });
                g.node.mut_store().set_conf_state(&mut conf_batch, cs, e.index)?;
                conf_changed = true;
            }

            let r = &g.node.raft;
            pack::u64_(out, id);
            pack::u8_(out, (!snapshot.is_empty()) as u8 | ((conf_changed as u8) << 1));
            pack::u64_(out, r.term);
            pack::u64_(out, r.raft_log.committed);
            pack::u64_(out, r.leader_id);
            pack::u8_(out, role_code(r.state));
            pack::u64_(out, r.raft_log.last_index());
            if !snapshot.is_empty() {
                pack::u64_(out, snapshot.get_metadata().index);
                pack::u64_(out, snapshot.get_metadata().term);
                pack::bytes(out, &snapshot.data);
            }
            if conf_changed {
                pack_conf(out, &g.node.store().conf_state().0.clone());
            }
            pack::u32_(out, read_states.len() as u32);
            for rs in &read_states {
                pack::u64_(out, rs.index);
                pack::bytes(out, &rs.request_ctx);
            }
            pack::u32_(out, committed.len() as u32);
            for e in &committed {
                pack_entry(out, e)?;
            }
            for m in msgs {
                if m.msg_type == MessageType::MsgSnapshot {
                    pack::u64_(&mut snaps, id);
                    pack::u64_(&mut snaps, m.to);
                    pack::u64_(&mut snaps, m.get_snapshot().get_metadata().index);
                    pack::u64_(&mut snaps, m.get_snapshot().get_metadata().term);
                    pack::bytes(&mut snaps, &m.write_to_bytes()?);
                    snap_count += 1;
                } else {
                    let buf = dests.entry(m.to).or_default();
                    pack::u64_(buf, id);
                    pack::bytes(buf, &m.write_to_bytes()?);
                }
            }
            self.handed.push(id);
        }
        if !immediate {
            match self.pending.back_mut() {
                Some(last) if merge_into_last => last.readies.extend(waiting),
                _ => self.pending.push_back(PendingPersist { seq: self.written_seq, readies: waiting }),
            }
        }
        if !conf_batch.is_empty() {
            // Synced, and carrying the commit indexes too.
            conf_batch.merge(&mut commit_batch).map_err(|e| RaftError::Storage { code: "InvalidArgument", message: e.to_string() })?;
            self.batch = conf_batch;
            self.write_batch(true)?;
        } else if !commit_batch.is_empty() {
            // Unsynced like any commit-only hard state (raft-rs's must_sync): the entries it
            // covers are durable already, and a lost commit index is learnt again.
            self.batch = commit_batch;
            self.write_batch(false)?;
        }
        pack_dests(out, dests)?;
        pack::u32_(out, snap_count);
        out.extend_from_slice(&snaps);
        let n = self.handed.len() as u32;
        debug_assert_eq!(u32::from_le_bytes(out[count_at..count_at + 4].try_into().unwrap()), n);
        Ok(n)
    }

    /// Turns async persistence on or off (off by default: `ready` persists with one fsync
    /// before returning). Turning it off first makes everything pending durable.
    pub fn set_async_persist(&mut self, on: bool) -> Result<()> {
        self.check()?;
        if !on && !self.pending.is_empty() {
            self.sync_now(&mut Vec::new())?;
        }
        self.async_persist = on;
        Ok(())
    }

    /// True when some written cycle waits for a WAL sync (see `persist_target`).
    pub fn needs_persist(&self) -> bool {
        !self.pending.is_empty()
    }

    /// What a log sync must cover: the store to sync and the sequence number of the last
    /// write issued. After `store.sync()` returns (on any thread), pass the number to
    /// `persisted`. None when nothing waits.
    pub fn persist_target(&self) -> Option<(std::sync::Arc<LogStore>, u64)> {
        if self.pending.is_empty() || self.poisoned.is_some() {
            None
        } else {
            Some((self.store.clone(), self.written_seq))
        }
    }

    /// The log store (to sync it from another thread: `LogStore::sync`).
    pub fn log_store(&self) -> std::sync::Arc<LogStore> {
        self.store.clone()
    }

    /// Reports the WAL synced through write `seq`: raft learns those readies are persisted
    /// (a leader may commit, a follower acknowledge), and the messages they held may leave.
    /// Appends them to `out` as `destCount:u32 dest*` (the ready's dest grammar) and marks the
    /// groups for the next `ready`, which hands out what became committed.
    pub fn persisted(&mut self, seq: u64, out: &mut Vec<u8>) -> Result<()> {
        self.check()?;
        let mut dests = BTreeMap::new();
        if self.pending.front().is_some_and(|p| p.seq <= seq) {
            self.stats.synced_writes += 1;
        }
        self.release_through(seq, &mut dests);
        pack_dests(out, dests)
    }

    /// Syncs the WAL on this thread and reports it (tests, shutdown).
    pub fn sync_now(&mut self, out: &mut Vec<u8>) -> Result<()> {
        if let Some((store, seq)) = self.persist_target() {
            if let Err(e) = store.sync() {
                self.poison(format!("log sync failed: {e}"));
                return Err(e);
            }
            self.persisted(seq, out)?;
        } else {
            pack::u32_(out, 0);
        }
        Ok(())
    }

    fn release_through(&mut self, seq: u64, dests: &mut BTreeMap<u64, Vec<u8>>) {
        while self.pending.front().is_some_and(|p| p.seq <= seq) {
            let p = self.pending.pop_front().expect("front");
            for (id, number, held) in p.readies {
                let Some(g) = self.groups.get_mut(&id) else { continue };
                g.node.on_persist_ready(number);
                for m in held {
                    // Only a leader sends snapshots, and a leader's messages are never held:
                    // one here comes from a deposed leader and is moot.
                    if m.msg_type == MessageType::MsgSnapshot {
                        continue;
                    }
                    if let Ok(b) = m.write_to_bytes() {
                        let buf = dests.entry(m.to).or_default();
                        pack::u64_(buf, id);
                        pack::bytes(buf, &b);
                    }
                }
                self.mark(id);
            }
        }
    }

    /// Declares every committed entry handed out by the last `ready` applied.
    pub fn advance(&mut self) -> Result<()> {
        self.check()?;
        for id in std::mem::take(&mut self.handed) {
            if let Some(g) = self.groups.get_mut(&id) {
                g.node.advance_apply();
                let applied = g.node.raft.raft_log.applied;
                g.node.mut_store().applied = applied;
                if g.node.has_ready() {
                    self.mark(id);
                }
            }
        }
        Ok(())
    }
}

fn pack_dests(out: &mut Vec<u8>, dests: BTreeMap<u64, Vec<u8>>) -> Result<()> {
    pack::u32_(out, dests.len() as u32);
    for (to, buf) in dests {
        pack::u64_(out, to);
        pack::bytes(out, &buf);
    }
    Ok(())
}

fn pack_conf(out: &mut Vec<u8>, cs: &ConfState) {
    pack::u8_(out, cs.auto_leave as u8);
    pack::ids(out, &cs.voters);
    pack::ids(out, &cs.learners);
    pack::ids(out, &cs.voters_outgoing);
    pack::ids(out, &cs.learners_next);
}

fn pack_entry(out: &mut Vec<u8>, e: &Entry) -> Result<()> {
    match e.entry_type {
        EntryType::EntryNormal => {
            pack::u8_(out, 0);
            pack::u64_(out, e.index);
            pack::u64_(out, e.term);
            pack::bytes(out, &e.context);
            pack::bytes(out, &e.data);
        }
        t => {
            let (changes, context): (Vec<(ConfChangeType, u64)>, Vec<u8>) = if t == EntryType::EntryConfChangeV2 {
                let cc = ConfChangeV2::parse_from_bytes(&e.data)?;
                (cc.changes.iter().map(|c| (c.change_type, c.node_id)).collect(), cc.context.to_vec())
            } else {
                let cc = ConfChange::parse_from_bytes(&e.data)?;
                (vec![(cc.change_type, cc.node_id)], cc.context.to_vec())
            };
            pack::u8_(out, 1);
            pack::u64_(out, e.index);
            pack::u64_(out, e.term);
            let mut ctx = Vec::with_capacity(changes.len() * 9);
            for (t, id) in changes {
                pack::u8_(&mut ctx, t as u8);
                pack::u64_(&mut ctx, id);
            }
            pack::bytes(out, &ctx);
            pack::bytes(out, &context);
        }
    }
    Ok(())
}
