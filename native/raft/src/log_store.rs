//! `LogStore`: the host's Raft log on tikv's raft-engine — every group's entries and state
//! records in one log-structured stream of preallocated files, written with one `write` per
//! ready cycle (group commit) and made durable by `sync` (fdatasync of a file whose size was set
//! before: no metadata commit per sync, unlike a WAL that grows). See docs/adr/0004-raft.md.
//!
//! Per group (raft-engine's region id = the group id), keys of the state records:
//! - `h` hard state: `HardState` (protobuf)
//! - `c` conf state: `conf_index:u64 LE | ConfState` (protobuf); `conf_index` is the log index of
//!   the last conf change folded into it, so a redelivered conf change is not applied twice
//! - `m` snapshot metadata: `index:u64 LE | term:u64 LE` (the log is compacted up to `index`)
//! - `d` snapshot data: `index:u64 LE | term:u64 LE | data` (optional: the application's state
//!   at that index, kept so a node whose application is not durable can restore after a restart)
//!
//! `close` releases the files even while other holders (a sync thread) keep the store: every
//! later call fails with `Closed`.

use std::path::Path;
use std::sync::RwLock;

use raft::eraftpb::Entry;
use raft_engine::{Config, Engine, LogBatch, MessageExt, ReadableSize};

use crate::error::{RaftError, Result};

/// Key of the hard state record.
pub const KEY_HARD_STATE: &[u8] = b"h";
/// Key of the conf state record.
pub const KEY_CONF_STATE: &[u8] = b"c";
/// Key of the snapshot metadata record.
pub const KEY_SNAP_META: &[u8] = b"m";
/// Key of the stored snapshot data record.
pub const KEY_SNAP_DATA: &[u8] = b"d";

/// Region of the marker record `sync` writes (never a group id: `groups` leaves it out).
const SYNC_REGION: u64 = u64::MAX;

/// raft-engine's view of raft-rs entries.
#[derive(Clone)]
pub struct RaftEntries;

impl MessageExt for RaftEntries {
    type Entry = Entry;
    fn index(e: &Entry) -> u64 {
        e.index
    }
}

/// Sizes of the log files (see the module docs).
#[derive(Clone, Debug)]
pub struct LogStoreOptions {
    /// A file is rotated past this size, in MiB.
    pub file_mb: u64,
    /// Obsolete files are recycled (kept preallocated for reuse) up to this total, in MiB.
    pub purge_threshold_mb: u64,
}

impl Default for LogStoreOptions {
    fn default() -> Self {
        LogStoreOptions { file_mb: 32, purge_threshold_mb: 256 }
    }
}

/// See the module docs.
pub struct LogStore {
    engine: RwLock<Option<Engine>>,
}

fn engine_err(e: raft_engine::Error) -> RaftError {
    let code = match &e {
        raft_engine::Error::Io(_) => "IOError",
        raft_engine::Error::Corruption(_) => "Corruption",
        raft_engine::Error::InvalidArgument(_) => "InvalidArgument",
        _ => "Other",
    };
    RaftError::Storage { code, message: e.to_string() }
}

impl LogStore {
    /// Opens (or creates) the log in directory `dir`.
    pub fn open(dir: &Path, o: &LogStoreOptions) -> Result<LogStore> {
        let mut cfg = Config::default();
        cfg.dir = dir.to_string_lossy().into_owned();
        cfg.target_file_size = ReadableSize::mb(o.file_mb.max(1));
        cfg.purge_threshold = ReadableSize::mb(o.purge_threshold_mb.max(o.file_mb.max(1)));
        cfg.enable_log_recycle = true;
        let engine = Engine::open(cfg).map_err(engine_err)?;
        Ok(LogStore { engine: RwLock::new(Some(engine)) })
    }

    fn with<T>(&self, f: impl FnOnce(&Engine) -> std::result::Result<T, raft_engine::Error>) -> Result<T> {
        let guard = self.engine.read().unwrap_or_else(|p| p.into_inner());
        match guard.as_ref() {
            Some(e) => f(e).map_err(engine_err),
            None => Err(RaftError::Closed),
        }
    }

    /// Writes `batch` (and empties it); with `sync`, durable before returning.
    pub fn write(&self, batch: &mut LogBatch, sync: bool) -> Result<()> {
        self.with(|e| e.write(batch, sync).map(|_| ()))
    }

    /// Makes every write issued before the call durable (callable from any thread).
    ///
    /// raft-engine's own `Engine::sync` writes an empty batch, which its `write` returns from
    /// before syncing anything (0.4.2): a synced write of a small marker record does the fsync.
    pub fn sync(&self) -> Result<()> {
        self.with(|e| {
            let mut marker = LogBatch::default();
            marker.put(SYNC_REGION, b"s".to_vec(), Vec::new())?;
            e.write(&mut marker, true).map(|_| ())
        })
    }

    /// A state record of `group`.
    pub fn get(&self, group: u64, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.with(|e| Ok(e.get(group, key)))
    }

    /// Index of the last entry of `group`, if it has entries.
    pub fn last_index(&self, group: u64) -> Result<Option<u64>> {
        self.with(|e| Ok(e.last_index(group)))
    }

    /// One entry of `group`, if stored.
    pub fn entry(&self, group: u64, index: u64) -> Result<Option<Entry>> {
        self.with(|e| e.get_entry::<RaftEntries>(group, index))
    }

    /// Entries `[low, high)` of `group` appended to `out`, stopping once `max_size` bytes are
    /// exceeded (at least one entry); returns how many were appended.
    pub fn entries(&self, group: u64, low: u64, high: u64, max_size: Option<usize>, out: &mut Vec<Entry>) -> Result<usize> {
        self.with(|e| e.fetch_entries_to::<RaftEntries>(group, low, high, max_size, out))
    }

    /// Ids of every group with entries or state records.
    pub fn groups(&self) -> Result<Vec<u64>> {
        self.with(|e| {
            let mut g = e.raft_groups();
            g.retain(|&id| id != SYNC_REGION);
            g.sort_unstable();
            Ok(g)
        })
    }

    /// Releases files no group needs any more (after compactions).
    pub fn purge(&self) -> Result<()> {
        self.with(|e| e.purge_expired_files().map(|_| ()))
    }

    /// Closes the log; later calls fail with Closed. Idempotent.
    pub fn close(&self) {
        self.engine.write().unwrap_or_else(|p| p.into_inner()).take();
    }
}
