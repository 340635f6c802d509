//! Opening the host's log, moving a log left by an earlier version first: up to session 2 the
//! log lived in RocksDB directly in the host's directory (layout in keys.rs). If that database
//! is there and the log store is not, every group's records and entries are copied into the log
//! store (synced per group), and the RocksDB files are moved aside to `rocksdb-migrated/` (kept,
//! not deleted). A crash during the copy leaves the RocksDB files in place and an unfinished log
//! store, which the next open removes and copies again.

use std::fs;
use std::path::Path;

use photon_engine::codec::Reader;
use photon_engine::{Engine, EngineOptions, ScanRequest};
use protobuf::Message as _;
use raft::eraftpb::Entry;
use raft_engine::LogBatch;

use crate::error::{RaftError, Result};
use crate::keys::*;
use crate::log_store::{LogStore, LogStoreOptions, RaftEntries, KEY_CONF_STATE, KEY_HARD_STATE, KEY_SNAP_DATA, KEY_SNAP_META};

/// The log store's directory inside the host's directory.
const LOG_DIR: &str = "log";
/// Written into the log store's directory once a migration completed (or none was needed).
const READY_MARK: &str = "PHOTON_LOG_READY";
/// Where the old RocksDB files go after a migration.
const MIGRATED_DIR: &str = "rocksdb-migrated";
/// Entries per write while copying.
const COPY_CHUNK: usize = 4096;

/// Opens the log store of the host directory `path`, migrating an old RocksDB log first.
pub fn open_migrating(path: &Path, options: &LogStoreOptions) -> Result<LogStore> {
    let dir = path.join(LOG_DIR);
    let mark = dir.join(READY_MARK);
    let old = path.join("CURRENT").exists();
    if mark.exists() {
        return LogStore::open(&dir, options);
    }
    if dir.exists() {
        // An unfinished copy (or a log store from before the mark existed without old files).
        if old {
            fs::remove_dir_all(&dir).map_err(io_err)?;
        } else {
            let store = LogStore::open(&dir, options)?;
            fs::write(&mark, b"").map_err(io_err)?;
            return Ok(store);
        }
    }
    fs::create_dir_all(&dir).map_err(io_err)?;
    let store = LogStore::open(&dir, options)?;
    if old {
        copy_rocksdb_log(path, &store)?;
        move_aside(path)?;
    }
    fs::write(&mark, b"").map_err(io_err)?;
    Ok(store)
}

fn io_err(e: std::io::Error) -> RaftError {
    RaftError::Storage { code: "IOError", message: e.to_string() }
}

fn copy_rocksdb_log(path: &Path, store: &LogStore) -> Result<()> {
    let o = EngineOptions { column_families: COLUMN_FAMILIES.iter().map(|s| s.to_string()).collect(), create_if_missing: false, ..Default::default() };
    let engine = Engine::open(path, &o)?;
    for group in old_groups(&engine)? {
        let mut batch = LogBatch::default();
        for (tag, key) in [(TAG_HARD_STATE, KEY_HARD_STATE), (TAG_CONF_STATE, KEY_CONF_STATE), (TAG_SNAP_META, KEY_SNAP_META), (TAG_SNAP_DATA, KEY_SNAP_DATA)] {
            if let Some(v) = engine.get_with(CF_STATE, &state_key(group, tag), None, |v| v.map(|v| v.to_vec()))? {
                batch.put(group, key.to_vec(), v).map_err(engine_arg)?;
            }
        }
        let mut start = log_key(group, 0).to_vec();
        let end = log_key(group, u64::MAX);
        loop {
            let mut out = Vec::new();
            let (_, more) = engine.scan_into(&ScanRequest { cf: CF_LOG, start: &start, end: Some(&end), limit: COPY_CHUNK, ..Default::default() }, &mut out)?;
            let mut r = Reader::new(&out);
            let mut entries = Vec::new();
            while !r.done() {
                let _key = r.bytes()?;
                let v = r.bytes()?;
                entries.push(Entry::parse_from_bytes(v.get(8..).unwrap_or_default())?);
            }
            if let Some(last) = entries.last() {
                start = log_key(group, last.index + 1).to_vec();
                batch.add_entries::<RaftEntries>(group, &entries).map_err(engine_arg)?;
                store.write(&mut batch, false)?;
            }
            if !more || entries.is_empty() {
                break;
            }
        }
        store.write(&mut batch, true)?;
    }
    store.sync()?;
    engine.close()?;
    Ok(())
}

fn engine_arg(e: raft_engine::Error) -> RaftError {
    RaftError::Storage { code: "InvalidArgument", message: e.to_string() }
}

/// Group ids with state records in the old database.
fn old_groups(engine: &Engine) -> Result<Vec<u64>> {
    let mut groups = Vec::new();
    let mut start = Vec::new();
    loop {
        let mut out = Vec::new();
        let (_, more) = engine.scan_into(&ScanRequest { cf: CF_STATE, start: &start, limit: 256, keys_only: true, ..Default::default() }, &mut out)?;
        let mut r = Reader::new(&out);
        let mut last = None;
        while !r.done() {
            let k = r.bytes()?;
            r.bytes()?;
            if let Some(g) = group_of_state_key(k) {
                if groups.last() != Some(&g) {
                    groups.push(g);
                }
                last = Some(g);
            }
        }
        match (more, last) {
            (true, Some(g)) if g < u64::MAX => start = (g + 1).to_be_bytes().to_vec(),
            _ => return Ok(groups),
        }
    }
}

/// Moves every file of the old database (everything but the log store) into `rocksdb-migrated/`.
fn move_aside(path: &Path) -> Result<()> {
    let target = path.join(MIGRATED_DIR);
    fs::create_dir_all(&target).map_err(io_err)?;
    for entry in fs::read_dir(path).map_err(io_err)? {
        let entry = entry.map_err(io_err)?;
        let name = entry.file_name();
        if name == LOG_DIR || name == MIGRATED_DIR {
            continue;
        }
        fs::rename(entry.path(), target.join(&name)).map_err(io_err)?;
    }
    Ok(())
}
