//! `GroupStorage`: one Raft group's log, hard state and conf state in the host's `LogStore`,
//! implementing `raft::Storage`.
//!
//! Writes never go to the store directly from here: the mutating methods add to a log batch
//! that the host writes once per ready cycle for all groups (group commit), and update the
//! in-memory view at once. If that write fails the host is poisoned, so the in-memory view is
//! never trusted past a failed write. Terms of the entries appended since the group was loaded
//! are kept in memory as runs (a term changes only with an election), so raft's frequent term
//! lookups do not read the log files; and the most recent entries themselves are kept (bounded),
//! so handing out committed entries and replicating to followers that keep up read no file.

use std::collections::VecDeque;
use std::sync::Arc;

use raft_engine::{Command, LogBatch};
use protobuf::Message as _;
use raft::eraftpb::{ConfState, Entry, HardState, Snapshot, SnapshotMetadata};
use raft::{GetEntriesContext, RaftState, StorageError};

use crate::error::Result;
use crate::keys::le_u64;
use crate::log_store::{LogStore, RaftEntries, KEY_CONF_STATE, KEY_HARD_STATE, KEY_SNAP_DATA, KEY_SNAP_META};

/// Log index at which a freshly bootstrapped group starts (an empty snapshot carrying the
/// initial membership), as in TiKV: a node that joins later has an empty log and is therefore
/// always brought up by a snapshot, which carries the full membership.
pub const INIT_INDEX: u64 = 5;
/// Term of the bootstrap snapshot.
pub const INIT_TERM: u64 = 5;
/// At most this many bytes of entry data are cached per group (the newest entries).
const CACHE_MAX_BYTES: usize = 4 << 20;
/// At most this many entries are cached per group.
const CACHE_MAX_ENTRIES: usize = 8192;

/// One group's persistent Raft state with an in-memory view of its bounds.
pub struct GroupStorage {
    store: Arc<LogStore>,
    group: u64,
    hard: HardState,
    conf: ConfState,
    conf_index: u64,
    snap_index: u64,
    snap_term: u64,
    last_index: u64,
    /// Terms of entries `[terms_from, last_index]` as runs `(first index, term)`, ascending.
    term_runs: Vec<(u64, u64)>,
    terms_from: u64,
    /// The newest entries, consecutive, ending at `last_index` (when not empty).
    cache: VecDeque<Entry>,
    cache_bytes: usize,
    /// Highest index the application has applied (maintained by the host).
    pub(crate) applied: u64,
}

impl GroupStorage {
    /// Loads a group's state; a group never written loads empty (no entries, no members).
    pub fn load(store: Arc<LogStore>, group: u64) -> Result<GroupStorage> {
        let hard = match store.get(group, KEY_HARD_STATE)? {
            Some(v) => HardState::parse_from_bytes(&v)?,
            None => HardState::default(),
        };
        let (conf_index, conf) = match store.get(group, KEY_CONF_STATE)? {
            Some(v) if v.len() >= 8 => (le_u64(&v, 0).unwrap_or(0), ConfState::parse_from_bytes(&v[8..])?),
            _ => (0, ConfState::default()),
        };
        let (snap_index, snap_term) = match store.get(group, KEY_SNAP_META)? {
            Some(v) => (le_u64(&v, 0).unwrap_or(0), le_u64(&v, 8).unwrap_or(0)),
            None => (0, 0),
        };
        let last_index = store.last_index(group)?.unwrap_or(0).max(snap_index);
        Ok(GroupStorage {
            store,
            group,
            hard,
            conf,
            conf_index,
            snap_index,
            snap_term,
            last_index,
            term_runs: Vec::new(),
            terms_from: last_index + 1,
            cache: VecDeque::new(),
            cache_bytes: 0,
            applied: snap_index,
        })
    }

    /// True when nothing was ever written for this group.
    pub fn is_empty(&self) -> bool {
        self.last_index == 0 && self.snap_index == 0 && self.hard == HardState::default() && self.conf == ConfState::default()
    }

    /// The group id.
    pub fn group(&self) -> u64 {
        self.group
    }

    /// Current hard state (as last written).
    pub fn hard_state(&self) -> &HardState {
        &self.hard
    }

    /// Current membership and the index of the last conf change folded into it.
    pub fn conf_state(&self) -> (&ConfState, u64) {
        (&self.conf, self.conf_index)
    }

    /// Index and term up to which the log is compacted.
    pub fn snapshot_point(&self) -> (u64, u64) {
        (self.snap_index, self.snap_term)
    }

    /// Writes the bootstrap state of a new group: an empty snapshot at `INIT_INDEX` holding the
    /// initial membership. The application's empty state is the state at that point.
    pub fn bootstrap(&mut self, batch: &mut LogBatch, conf: ConfState) -> Result<()> {
        self.snap_index = INIT_INDEX;
        self.snap_term = INIT_TERM;
        self.last_index = INIT_INDEX;
        self.reset_terms();
        put(batch, self.group, KEY_SNAP_META, pair(INIT_INDEX, INIT_TERM).to_vec())?;
        self.set_conf_state(batch, conf, INIT_INDEX)?;
        let mut hs = HardState::default();
        hs.term = INIT_TERM;
        hs.commit = INIT_INDEX;
        self.set_hard_state(batch, &hs)?;
        self.applied = INIT_INDEX;
        Ok(())
    }

    /// Appends entries (which may overwrite a conflicting uncommitted tail: the store drops the
    /// entries after the new ones).
    pub fn append(&mut self, batch: &mut LogBatch, entries: &[Entry]) -> Result<()> {
        let (Some(first), Some(last)) = (entries.first(), entries.last()) else { return Ok(()) };
        if first.index <= self.snap_index {
            return Err(crate::RaftError::Internal(format!(
                "group {}: append at {} overwrites compacted log (compacted to {})",
                self.group, first.index, self.snap_index
            )));
        }
        if first.index > self.last_index + 1 {
            return Err(crate::RaftError::Internal(format!(
                "group {}: append at {} leaves a gap after {}",
                self.group, first.index, self.last_index
            )));
        }
        batch.add_entries::<RaftEntries>(self.group, entries).map_err(|e| crate::RaftError::Storage { code: "InvalidArgument", message: e.to_string() })?;
        if first.index < self.terms_from {
            self.term_runs.clear();
            self.terms_from = first.index;
        }
        while self.term_runs.last().is_some_and(|&(start, _)| start >= first.index) {
            self.term_runs.pop();
        }
        for e in entries {
            if self.term_runs.last().map(|&(_, t)| t) != Some(e.term) {
                self.term_runs.push((e.index, e.term));
            }
        }
        self.cache_append(entries);
        self.last_index = last.index;
        Ok(())
    }

    /// Records a new hard state.
    pub fn set_hard_state(&mut self, batch: &mut LogBatch, hs: &HardState) -> Result<()> {
        put(batch, self.group, KEY_HARD_STATE, hs.write_to_bytes()?)?;
        self.hard = hs.clone();
        Ok(())
    }

    /// Records the membership after applying the conf change at `index`.
    pub fn set_conf_state(&mut self, batch: &mut LogBatch, cs: ConfState, index: u64) -> Result<()> {
        let mut v = index.to_le_bytes().to_vec();
        cs.write_to_vec(&mut v)?;
        put(batch, self.group, KEY_CONF_STATE, v)?;
        self.conf = cs;
        self.conf_index = index;
        Ok(())
    }

    /// Replaces the whole log with a received snapshot: every entry goes, the snapshot point,
    /// membership and (when `keep_data`) the snapshot's data are recorded.
    pub fn apply_snapshot(&mut self, batch: &mut LogBatch, snap: &Snapshot, keep_data: bool) -> Result<()> {
        let meta = snap.get_metadata();
        if meta.index < self.snap_index {
            return Err(crate::RaftError::Internal(format!(
                "group {}: snapshot at {} is older than the log's start {}",
                self.group, meta.index, self.snap_index
            )));
        }
        // Everything of the group goes (entries and records), then its state is written again.
        batch.add_command(self.group, Command::Clean);
        self.snap_index = meta.index;
        self.snap_term = meta.term;
        self.last_index = meta.index;
        self.reset_terms();
        put(batch, self.group, KEY_SNAP_META, pair(meta.index, meta.term).to_vec())?;
        if keep_data {
            let mut v = pair(meta.index, meta.term).to_vec();
            v.extend_from_slice(&snap.data);
            put(batch, self.group, KEY_SNAP_DATA, v)?;
        }
        self.set_conf_state(batch, meta.get_conf_state().clone(), meta.index)?;
        let mut hs = self.hard.clone();
        if hs.commit < meta.index {
            hs.commit = meta.index;
            hs.term = hs.term.max(meta.term);
        }
        self.set_hard_state(batch, &hs)?;
        self.applied = meta.index;
        Ok(())
    }

    /// Discards entries up to and including `index` (which must be applied). With `data`, the
    /// application's state at `index` is kept as the group's stored snapshot; without, an older
    /// stored snapshot is dropped (it could no longer be completed from the log).
    pub fn compact(&mut self, batch: &mut LogBatch, index: u64, data: Option<&[u8]>) -> Result<()> {
        if index <= self.snap_index {
            return Ok(());
        }
        if index > self.applied || index > self.last_index {
            return Err(crate::RaftError::InvalidArgument(format!(
                "group {}: cannot compact to {index}: applied {}, last index {}",
                self.group, self.applied, self.last_index
            )));
        }
        let term = self.term_of(index)?;
        self.cache_compact(index);
        batch.add_command(self.group, Command::Compact { index: index + 1 });
        put(batch, self.group, KEY_SNAP_META, pair(index, term).to_vec())?;
        match data {
            Some(d) => {
                let mut v = pair(index, term).to_vec();
                v.extend_from_slice(d);
                put(batch, self.group, KEY_SNAP_DATA, v)?;
            }
            None => batch.delete(self.group, KEY_SNAP_DATA.to_vec()),
        }
        self.snap_index = index;
        self.snap_term = term;
        Ok(())
    }

    /// The stored snapshot (index, term, data) if one is kept and still matches the log start.
    pub fn stored_snapshot(&self) -> Result<Option<(u64, u64, Vec<u8>)>> {
        match self.store.get(self.group, KEY_SNAP_DATA)? {
            Some(v) if v.len() >= 16 => {
                let (i, t) = (le_u64(&v, 0).unwrap_or(0), le_u64(&v, 8).unwrap_or(0));
                if i != self.snap_index {
                    return Ok(None);
                }
                Ok(Some((i, t, v[16..].to_vec())))
            }
            _ => Ok(None),
        }
    }

    /// Deletes everything of this group (log and state).
    pub fn destroy(&mut self, batch: &mut LogBatch) {
        batch.add_command(self.group, Command::Clean);
    }

    /// Highest index of the log (or of the snapshot when the log is empty).
    pub fn last(&self) -> u64 {
        self.last_index
    }

    fn term_of(&self, idx: u64) -> Result<u64> {
        if idx == self.snap_index {
            return Ok(self.snap_term);
        }
        if idx >= self.terms_from && idx <= self.last_index {
            let at = self.term_runs.partition_point(|&(start, _)| start <= idx);
            if at > 0 {
                return Ok(self.term_runs[at - 1].1);
            }
        }
        match self.store.entry(self.group, idx)? {
            Some(e) => Ok(e.term),
            None => Err(crate::RaftError::Internal(format!("group {}: entry {idx} missing", self.group))),
        }
    }

    fn reset_terms(&mut self) {
        self.term_runs.clear();
        self.terms_from = self.last_index + 1;
        self.cache.clear();
        self.cache_bytes = 0;
    }

    /// Adds appended entries to the cache: a conflicting tail goes, and a gap (entries not
    /// following the cached ones) restarts it; the oldest entries go past the bounds.
    fn cache_append(&mut self, entries: &[Entry]) {
        let first = entries[0].index;
        while self.cache.back().is_some_and(|e| e.index >= first) {
            let e = self.cache.pop_back().expect("back");
            self.cache_bytes -= e.data.len() + e.context.len();
        }
        if self.cache.back().is_some_and(|e| e.index + 1 != first) {
            self.cache.clear();
            self.cache_bytes = 0;
        }
        for e in entries {
            self.cache_bytes += e.data.len() + e.context.len();
            self.cache.push_back(e.clone());
        }
        while self.cache.len() > CACHE_MAX_ENTRIES || (self.cache_bytes > CACHE_MAX_BYTES && self.cache.len() > 1) {
            let e = self.cache.pop_front().expect("front");
            self.cache_bytes -= e.data.len() + e.context.len();
        }
    }

    /// Drops cached entries at or below `index` (compacted).
    fn cache_compact(&mut self, index: u64) {
        while self.cache.front().is_some_and(|e| e.index <= index) {
            let e = self.cache.pop_front().expect("front");
            self.cache_bytes -= e.data.len() + e.context.len();
        }
    }

    /// Entries `[low, high)` from the cache when it holds `low` (it always runs to the log's end).
    fn cached(&self, low: u64, high: u64, max_size: Option<u64>) -> Option<Vec<Entry>> {
        let first = self.cache.front()?.index;
        if low < first || high > self.last_index + 1 {
            return None;
        }
        let mut out = Vec::with_capacity((high - low) as usize);
        let mut size = 0u64;
        for e in self.cache.range((low - first) as usize..(high - first) as usize) {
            size += e.compute_size() as u64;
            if let Some(m) = max_size {
                if !out.is_empty() && size > m {
                    break;
                }
            }
            out.push(e.clone());
        }
        Some(out)
    }
}

impl raft::Storage for GroupStorage {
    fn initial_state(&self) -> raft::Result<RaftState> {
        Ok(RaftState::new(self.hard.clone(), self.conf.clone()))
    }

    fn entries(&self, low: u64, high: u64, max_size: impl Into<Option<u64>>, _ctx: GetEntriesContext) -> raft::Result<Vec<Entry>> {
        if low <= self.snap_index {
            return Err(raft::Error::Store(StorageError::Compacted));
        }
        if high > self.last_index + 1 || low > high {
            return Err(raft::Error::Store(StorageError::Unavailable));
        }
        if low == high {
            return Ok(Vec::new());
        }
        let max_size = max_size.into();
        if let Some(ents) = self.cached(low, high, max_size) {
            return Ok(ents);
        }
        let max_size = max_size.map(|m| m.min(usize::MAX as u64) as usize);
        let mut ents = Vec::with_capacity((high - low).min(1024) as usize);
        self.store.entries(self.group, low, high, max_size, &mut ents).map_err(|e| store_err_r(&e))?;
        if ents.is_empty() || ents[0].index != low {
            return Err(raft::Error::Store(StorageError::Unavailable));
        }
        Ok(ents)
    }

    fn term(&self, idx: u64) -> raft::Result<u64> {
        if idx == self.snap_index {
            return Ok(self.snap_term);
        }
        if idx < self.snap_index {
            return Err(raft::Error::Store(StorageError::Compacted));
        }
        if idx > self.last_index {
            return Err(raft::Error::Store(StorageError::Unavailable));
        }
        self.term_of(idx).map_err(|_| raft::Error::Store(StorageError::Unavailable))
    }

    fn first_index(&self) -> raft::Result<u64> {
        Ok(self.snap_index + 1)
    }

    fn last_index(&self) -> raft::Result<u64> {
        Ok(self.last_index)
    }

    /// A snapshot's metadata at the applied index; the data is attached by the driver when it
    /// sends the snapshot (the application's state is exactly at `applied` between cycles).
    fn snapshot(&self, request_index: u64, _to: u64) -> raft::Result<Snapshot> {
        if self.applied < request_index || self.applied < self.snap_index {
            return Err(raft::Error::Store(StorageError::SnapshotTemporarilyUnavailable));
        }
        let term = self.term(self.applied)?;
        let mut meta = SnapshotMetadata::default();
        meta.index = self.applied;
        meta.term = term;
        meta.set_conf_state(self.conf.clone());
        let mut s = Snapshot::default();
        s.set_metadata(meta);
        Ok(s)
    }
}

fn put(batch: &mut LogBatch, group: u64, key: &[u8], value: Vec<u8>) -> Result<()> {
    batch.put(group, key.to_vec(), value).map_err(|e| crate::RaftError::Storage { code: "InvalidArgument", message: e.to_string() })
}

fn pair(a: u64, b: u64) -> [u8; 16] {
    let mut v = [0u8; 16];
    v[..8].copy_from_slice(&a.to_le_bytes());
    v[8..].copy_from_slice(&b.to_le_bytes());
    v
}

fn store_err_r(e: &crate::RaftError) -> raft::Error {
    raft::Error::Store(StorageError::Other(e.to_string().into()))
}
