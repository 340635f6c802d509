//! `GroupStorage`: one Raft group's log, hard state and conf state on the host's RocksDB,
//! implementing `raft::Storage`.
//!
//! Writes never go to RocksDB directly from here: the mutating methods append operations to a
//! packed write batch (photon-engine's batch format) that the host commits once per ready
//! cycle for all groups (group commit), and update the in-memory view at once. If that commit
//! fails the host is poisoned, so the in-memory view is never trusted past a failed write.

use std::sync::Arc;

use photon_engine::codec::{encode_op, BatchOp, Reader};
use photon_engine::{Engine, ScanRequest};
use protobuf::Message as _;
use raft::eraftpb::{ConfState, Entry, HardState, Snapshot, SnapshotMetadata};
use raft::{GetEntriesContext, RaftState, StorageError};

use crate::error::Result;
use crate::keys::*;

/// Log index at which a freshly bootstrapped group starts (an empty snapshot carrying the
/// initial membership), as in TiKV: a node that joins later has an empty log and is therefore
/// always brought up by a snapshot, which carries the full membership.
pub const INIT_INDEX: u64 = 5;
/// Term of the bootstrap snapshot.
pub const INIT_TERM: u64 = 5;

/// One group's persistent Raft state with an in-memory view of its bounds.
pub struct GroupStorage {
    engine: Arc<Engine>,
    group: u64,
    hard: HardState,
    conf: ConfState,
    conf_index: u64,
    snap_index: u64,
    snap_term: u64,
    last_index: u64,
    /// Highest index the application has applied (maintained by the host).
    pub(crate) applied: u64,
}

impl GroupStorage {
    /// Loads a group's state; a group never written loads empty (no entries, no members).
    pub fn load(engine: Arc<Engine>, group: u64) -> Result<GroupStorage> {
        let hard = get_proto::<HardState>(&engine, CF_STATE, &state_key(group, TAG_HARD_STATE), 0)?.unwrap_or_default();
        let (conf_index, conf) = match get_raw(&engine, CF_STATE, &state_key(group, TAG_CONF_STATE))? {
            Some(v) if v.len() >= 8 => (le_u64(&v, 0).unwrap_or(0), ConfState::parse_from_bytes(&v[8..])?),
            _ => (0, ConfState::default()),
        };
        let (snap_index, snap_term) = match get_raw(&engine, CF_STATE, &state_key(group, TAG_SNAP_META))? {
            Some(v) => (le_u64(&v, 0).unwrap_or(0), le_u64(&v, 8).unwrap_or(0)),
            None => (0, 0),
        };
        // The last entry: a reverse scan of the group's key range, limit 1.
        let (start, end) = (log_key(group, 0), log_key(group, u64::MAX));
        let mut out = Vec::new();
        engine.scan_into(
            &ScanRequest { cf: CF_LOG, start: &start, end: Some(&end), limit: 1, reverse: true, keys_only: true, ..Default::default() },
            &mut out,
        )?;
        let mut last_index = snap_index;
        if !out.is_empty() {
            let key = Reader::new(&out).bytes()?;
            last_index = u64::from_be_bytes(key[8..16].try_into().expect("16-byte log key")).max(snap_index);
        }
        Ok(GroupStorage { engine, group, hard, conf, conf_index, snap_index, snap_term, last_index, applied: snap_index })
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
    pub fn bootstrap(&mut self, batch: &mut Vec<u8>, conf: ConfState) -> Result<()> {
        self.snap_index = INIT_INDEX;
        self.snap_term = INIT_TERM;
        self.last_index = INIT_INDEX;
        put(batch, CF_STATE, &state_key(self.group, TAG_SNAP_META), &pair(INIT_INDEX, INIT_TERM));
        self.set_conf_state(batch, conf, INIT_INDEX)?;
        let mut hs = HardState::default();
        hs.term = INIT_TERM;
        hs.commit = INIT_INDEX;
        self.set_hard_state(batch, &hs)?;
        self.applied = INIT_INDEX;
        Ok(())
    }

    /// Appends entries (which may overwrite a conflicting uncommitted tail).
    pub fn append(&mut self, batch: &mut Vec<u8>, entries: &[Entry]) -> Result<()> {
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
        let mut value = Vec::new();
        for e in entries {
            value.clear();
            value.extend_from_slice(&e.term.to_le_bytes());
            e.write_to_vec(&mut value)?;
            put(batch, CF_LOG, &log_key(self.group, e.index), &value);
        }
        if last.index < self.last_index {
            // Entries past the new tail belong to a conflicting log: remove them.
            encode_op(batch, &BatchOp::DeleteRange {
                cf: CF_LOG,
                start: &log_key(self.group, last.index + 1),
                end: &log_key(self.group, self.last_index + 1),
            });
        }
        self.last_index = last.index;
        Ok(())
    }

    /// Records a new hard state.
    pub fn set_hard_state(&mut self, batch: &mut Vec<u8>, hs: &HardState) -> Result<()> {
        put(batch, CF_STATE, &state_key(self.group, TAG_HARD_STATE), &hs.write_to_bytes()?);
        self.hard = hs.clone();
        Ok(())
    }

    /// Records the membership after applying the conf change at `index`.
    pub fn set_conf_state(&mut self, batch: &mut Vec<u8>, cs: ConfState, index: u64) -> Result<()> {
        let mut v = index.to_le_bytes().to_vec();
        cs.write_to_vec(&mut v)?;
        put(batch, CF_STATE, &state_key(self.group, TAG_CONF_STATE), &v);
        self.conf = cs;
        self.conf_index = index;
        Ok(())
    }

    /// Replaces the whole log with a received snapshot: every entry goes, the snapshot point,
    /// membership and (when `keep_data`) the snapshot's data are recorded.
    pub fn apply_snapshot(&mut self, batch: &mut Vec<u8>, snap: &Snapshot, keep_data: bool) -> Result<()> {
        let meta = snap.get_metadata();
        if meta.index < self.snap_index {
            return Err(crate::RaftError::Internal(format!(
                "group {}: snapshot at {} is older than the log's start {}",
                self.group, meta.index, self.snap_index
            )));
        }
        encode_op(batch, &BatchOp::DeleteRange {
            cf: CF_LOG,
            start: &log_key(self.group, 0),
            end: &log_key(self.group, u64::MAX),
        });
        self.snap_index = meta.index;
        self.snap_term = meta.term;
        self.last_index = meta.index;
        put(batch, CF_STATE, &state_key(self.group, TAG_SNAP_META), &pair(meta.index, meta.term));
        if keep_data {
            let mut v = pair(meta.index, meta.term).to_vec();
            v.extend_from_slice(&snap.data);
            put(batch, CF_STATE, &state_key(self.group, TAG_SNAP_DATA), &v);
        } else {
            encode_op(batch, &BatchOp::Delete { cf: CF_STATE, key: &state_key(self.group, TAG_SNAP_DATA) });
        }
        self.set_conf_state(batch, meta.get_conf_state().clone(), meta.index)?;
        if self.hard.commit < meta.index {
            let mut hs = self.hard.clone();
            hs.commit = meta.index;
            hs.term = hs.term.max(meta.term);
            self.set_hard_state(batch, &hs)?;
        }
        self.applied = meta.index;
        Ok(())
    }

    /// Discards entries up to and including `index` (which must be applied). With `data`, the
    /// application's state at `index` is kept as the group's stored snapshot; without, an older
    /// stored snapshot is dropped (it could no longer be completed from the log).
    pub fn compact(&mut self, batch: &mut Vec<u8>, index: u64, data: Option<&[u8]>) -> Result<()> {
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
        encode_op(batch, &BatchOp::DeleteRange {
            cf: CF_LOG,
            start: &log_key(self.group, 0),
            end: &log_key(self.group, index + 1),
        });
        put(batch, CF_STATE, &state_key(self.group, TAG_SNAP_META), &pair(index, term));
        match data {
            Some(d) => {
                let mut v = pair(index, term).to_vec();
                v.extend_from_slice(d);
                put(batch, CF_STATE, &state_key(self.group, TAG_SNAP_DATA), &v);
            }
            None => encode_op(batch, &BatchOp::Delete { cf: CF_STATE, key: &state_key(self.group, TAG_SNAP_DATA) }),
        }
        self.snap_index = index;
        self.snap_term = term;
        Ok(())
    }

    /// The stored snapshot (index, term, data) if one is kept and still matches the log start.
    pub fn stored_snapshot(&self) -> Result<Option<(u64, u64, Vec<u8>)>> {
        match get_raw(&self.engine, CF_STATE, &state_key(self.group, TAG_SNAP_DATA))? {
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
    pub fn destroy(&mut self, batch: &mut Vec<u8>) {
        encode_op(batch, &BatchOp::DeleteRange { cf: CF_LOG, start: &log_key(self.group, 0), end: &log_key(self.group, u64::MAX) });
        encode_op(batch, &BatchOp::DeleteRange { cf: CF_STATE, start: &state_key(self.group, 0), end: &state_key(self.group, u8::MAX) });
    }

    /// Highest index of the log (or of the snapshot when the log is empty).
    pub fn last(&self) -> u64 {
        self.last_index
    }

    fn term_of(&self, idx: u64) -> Result<u64> {
        if idx == self.snap_index {
            return Ok(self.snap_term);
        }
        let v = get_raw(&self.engine, CF_LOG, &log_key(self.group, idx))?;
        match v.as_deref().and_then(|v| le_u64(v, 0)) {
            Some(t) => Ok(t),
            None => Err(crate::RaftError::Internal(format!("group {}: entry {idx} missing", self.group))),
        }
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
        let (start, end) = (log_key(self.group, low), log_key(self.group, high));
        let mut out = Vec::new();
        self.engine
            .scan_into(
                &ScanRequest {
                    cf: CF_LOG,
                    start: &start,
                    end: Some(&end),
                    limit: (high - low) as usize,
                    max_bytes: max_size.map(|m| m.min(usize::MAX as u64) as usize).unwrap_or(0),
                    ..Default::default()
                },
                &mut out,
            )
            .map_err(store_err)?;
        let mut r = Reader::new(&out);
        let mut ents = Vec::new();
        let mut size = 0u64;
        let mut expect = low;
        while !r.done() {
            let _key = r.bytes().map_err(store_err)?;
            let v = r.bytes().map_err(store_err)?;
            let e = Entry::parse_from_bytes(v.get(8..).unwrap_or_default()).map_err(raft::Error::CodecError)?;
            if e.index != expect {
                return Err(raft::Error::Store(StorageError::Unavailable));
            }
            expect += 1;
            size += e.compute_size() as u64;
            if let Some(m) = max_size {
                if !ents.is_empty() && size > m {
                    break;
                }
            }
            ents.push(e);
        }
        if ents.is_empty() {
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
        let v = get_raw(&self.engine, CF_LOG, &log_key(self.group, idx)).map_err(|e| store_err_r(&e))?;
        v.as_deref().and_then(|v| le_u64(v, 0)).ok_or(raft::Error::Store(StorageError::Unavailable))
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

fn put(batch: &mut Vec<u8>, cf: u8, key: &[u8], value: &[u8]) {
    encode_op(batch, &BatchOp::Put { cf, key, value });
}

fn pair(a: u64, b: u64) -> [u8; 16] {
    let mut v = [0u8; 16];
    v[..8].copy_from_slice(&a.to_le_bytes());
    v[8..].copy_from_slice(&b.to_le_bytes());
    v
}

fn get_raw(engine: &Engine, cf: u8, key: &[u8]) -> Result<Option<Vec<u8>>> {
    Ok(engine.get_with(cf, key, None, |v| v.map(|v| v.to_vec()))?)
}

fn get_proto<M: protobuf::Message>(engine: &Engine, cf: u8, key: &[u8], skip: usize) -> Result<Option<M>> {
    match get_raw(engine, cf, key)? {
        Some(v) => Ok(Some(M::parse_from_bytes(v.get(skip..).unwrap_or_default())?)),
        None => Ok(None),
    }
}

fn store_err(e: photon_engine::EngineError) -> raft::Error {
    store_err_r(&crate::RaftError::from(e))
}

fn store_err_r(e: &crate::RaftError) -> raft::Error {
    raft::Error::Store(StorageError::Other(e.to_string().into()))
}
