//! The engine: one RocksDB database with fixed column families, addressed by index.
//!
//! Handles never outlive the database: snapshots live inside the open state and are released
//! by `close`, after which every call (on the engine or on any snapshot id) fails with
//! `EngineError::Closed` / `NoSuchSnapshot` instead of touching freed memory.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, RwLock};

use rocksdb::{
    Cache, ColumnFamily, ColumnFamilyDescriptor, FlushOptions, ReadOptions, SnapshotWithThreadMode,
    WriteBatch, WriteOptions, DB,
};

use crate::codec::{self, BatchOp, Reader};
use crate::error::{EngineError, Result};
use crate::options::EngineOptions;

type Snapshot = SnapshotWithThreadMode<'static, DB>;

/// The open state. Field order matters: Rust drops fields in declaration order, so snapshots
/// and column family references go before the database they borrow from.
struct Open {
    snapshots: Mutex<Snapshots>,
    cfs: Vec<&'static ColumnFamily>,
    sync_write: WriteOptions,
    async_write: WriteOptions,
    _cache: Cache,
    db: Box<DB>,
}

struct Snapshots {
    next: u32,
    open: HashMap<u32, Snapshot>,
}

// SAFETY: WriteOptions is an immutable FFI options struct after construction and RocksDB's
// DB and snapshots are thread-safe; the references into `db` are valid while `Open` lives.
unsafe impl Send for Open {}
unsafe impl Sync for Open {}

/// Parameters of a range scan.
#[derive(Clone, Debug, Default)]
pub struct ScanRequest<'a> {
    pub cf: u8,
    /// Inclusive lower bound.
    pub start: &'a [u8],
    /// Exclusive upper bound; None scans to the end of the column family.
    pub end: Option<&'a [u8]>,
    /// Maximum number of pairs; 0 means no count limit.
    pub limit: usize,
    /// Stop once the packed output exceeds this many bytes (at least one pair is returned);
    /// 0 means no byte limit.
    pub max_bytes: usize,
    /// Iterate from the end towards the start.
    pub reverse: bool,
    /// Return keys with empty values.
    pub keys_only: bool,
    /// Read at this snapshot instead of the latest state.
    pub snapshot: Option<u32>,
}

/// Pairs packed as `codec` pairs; `more` says the range holds further pairs past the limits.
#[derive(Debug, Default)]
pub struct ScanResult {
    pub data: Vec<u8>,
    pub count: u32,
    pub more: bool,
}

/// A RocksDB database with column families addressed by index.
pub struct Engine {
    state: RwLock<Option<Open>>,
    cf_names: Vec<String>,
}

impl Engine {
    /// Opens (or creates) the database at `path` with the given options.
    pub fn open(path: &Path, options: &EngineOptions) -> Result<Engine> {
        let names = options.validated_cfs()?;
        if options.create_if_missing {
            std::fs::create_dir_all(path)
                .map_err(|e| EngineError::Io(format!("cannot create {}: {e}", path.display())))?;
        }
        let cache = Cache::new_lru_cache((options.block_cache_mb.max(1) as usize) << 20)?;
        let db_opts = options.db_options(&cache);
        let mut descriptors: Vec<ColumnFamilyDescriptor> = names
            .iter()
            .map(|n| ColumnFamilyDescriptor::new(n, options.cf_options(&cache)))
            .collect();
        if !names.iter().any(|n| n == "default") {
            descriptors.push(ColumnFamilyDescriptor::new("default", options.cf_options(&cache)));
        }
        // Families that exist on disk but were not asked for must still be opened.
        if let Ok(existing) = DB::list_cf(&db_opts, path) {
            for n in existing {
                if !descriptors.iter().any(|d| d.name() == n) {
                    descriptors.push(ColumnFamilyDescriptor::new(&n, options.cf_options(&cache)));
                }
            }
        }
        let db = Box::new(DB::open_cf_descriptors(&db_opts, path, descriptors)?);
        let mut cfs = Vec::with_capacity(names.len());
        for n in &names {
            let cf = db
                .cf_handle(n)
                .ok_or_else(|| EngineError::Storage(format!("column family {n} missing after open")))?;
            // SAFETY: the handle lives inside the boxed DB, which outlives `cfs` (see `Open`).
            cfs.push(unsafe { &*(cf as *const ColumnFamily) });
        }
        let mut sync_write = WriteOptions::default();
        sync_write.set_sync(true);
        let open = Open {
            snapshots: Mutex::new(Snapshots { next: 1, open: HashMap::new() }),
            cfs,
            sync_write,
            async_write: WriteOptions::default(),
            _cache: cache,
            db,
        };
        Ok(Engine { state: RwLock::new(Some(open)), cf_names: names })
    }

    /// The column family names in index order.
    pub fn column_families(&self) -> &[String] {
        &self.cf_names
    }

    fn with<R>(&self, f: impl FnOnce(&Open) -> Result<R>) -> Result<R> {
        let guard = self.state.read().map_err(|_| EngineError::Closed)?;
        match guard.as_ref() {
            Some(open) => f(open),
            None => Err(EngineError::Closed),
        }
    }

    /// Reads one key and hands the value (if any) to `f` without an intermediate copy.
    pub fn get_with<R>(
        &self,
        cf: u8,
        key: &[u8],
        snapshot: Option<u32>,
        f: impl FnOnce(Option<&[u8]>) -> R,
    ) -> Result<R> {
        self.with(|o| {
            let cf = o.cf(cf)?;
            let guard = o.lock_snapshots(snapshot)?;
            let ro = read_options(&guard, snapshot)?;
            let v = o.db.get_pinned_cf_opt(cf, key, &ro)?;
            Ok(f(v.as_deref()))
        })
    }

    /// Reads many keys of one column family (`keys` packed as codec keys) and returns the values
    /// packed in the same order, missing ones marked.
    pub fn multi_get(&self, cf: u8, packed_keys: &[u8], snapshot: Option<u32>) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.multi_get_into(cf, packed_keys, snapshot, &mut out)?;
        Ok(out)
    }

    /// Like `multi_get`, appending to `out`.
    pub fn multi_get_into(&self, cf: u8, packed_keys: &[u8], snapshot: Option<u32>, out: &mut Vec<u8>) -> Result<()> {
        let mut keys = Vec::new();
        let mut r = Reader::new(packed_keys);
        while !r.done() {
            keys.push(r.bytes()?);
        }
        self.with(|o| {
            let cf = o.cf(cf)?;
            let guard = o.lock_snapshots(snapshot)?;
            let ro = read_options(&guard, snapshot)?;
            let values = o.db.batched_multi_get_cf_opt(cf, &keys, false, &ro);
            for v in values {
                match v? {
                    Some(v) => codec::put_bytes(out, &v),
                    None => codec::put_missing(out),
                }
            }
            Ok(())
        })
    }

    /// Writes one key.
    pub fn put(&self, cf: u8, key: &[u8], value: &[u8], sync: bool) -> Result<()> {
        self.with(|o| Ok(o.db.put_cf_opt(o.cf(cf)?, key, value, o.write_opts(sync))?))
    }

    /// Deletes one key (absent keys are not an error).
    pub fn delete(&self, cf: u8, key: &[u8], sync: bool) -> Result<()> {
        self.with(|o| Ok(o.db.delete_cf_opt(o.cf(cf)?, key, o.write_opts(sync))?))
    }

    /// Deletes every key in [start, end).
    pub fn delete_range(&self, cf: u8, start: &[u8], end: &[u8], sync: bool) -> Result<()> {
        self.with(|o| Ok(o.db.delete_range_cf_opt(o.cf(cf)?, start, end, o.write_opts(sync))?))
    }

    /// Applies a packed batch atomically; with `sync` the WAL is fsynced before returning.
    /// A malformed batch is rejected whole: nothing of it is written.
    pub fn write(&self, packed: &[u8], sync: bool) -> Result<u32> {
        self.with(|o| {
            let mut batch = WriteBatch::default();
            let mut r = Reader::new(packed);
            let mut n = 0u32;
            while !r.done() {
                match r.batch_op()? {
                    BatchOp::Put { cf, key, value } => batch.put_cf(o.cf(cf)?, key, value),
                    BatchOp::Delete { cf, key } => batch.delete_cf(o.cf(cf)?, key),
                    BatchOp::DeleteRange { cf, start, end } => batch.delete_range_cf(o.cf(cf)?, start, end),
                }
                n += 1;
            }
            o.db.write_opt(batch, o.write_opts(sync))?;
            Ok(n)
        })
    }

    /// Scans a range and returns up to the request's limits, packed.
    pub fn scan(&self, req: &ScanRequest) -> Result<ScanResult> {
        let mut res = ScanResult::default();
        let (count, more) = self.scan_into(req, &mut res.data)?;
        res.count = count;
        res.more = more;
        Ok(res)
    }

    /// Like `scan`, appending the packed pairs to `out` (reuse one buffer across calls to avoid
    /// allocating per scan); returns (count, more).
    pub fn scan_into(&self, req: &ScanRequest, out: &mut Vec<u8>) -> Result<(u32, bool)> {
        self.scan_with(req, out, |_| ())
    }

    /// Like `scan_into`, calling `each` with the offset in `out` where each pair starts (its
    /// key length), in scan order: callers build an offset table without walking the pairs.
    pub fn scan_with(&self, req: &ScanRequest, out: &mut Vec<u8>, mut each: impl FnMut(usize)) -> Result<(u32, bool)> {
        self.with(|o| {
            let cf = o.cf(req.cf)?;
            let guard = o.lock_snapshots(req.snapshot)?;
            let mut ro = read_options(&guard, req.snapshot)?;
            if !req.start.is_empty() {
                ro.set_iterate_lower_bound(req.start.to_vec());
            }
            if let Some(end) = req.end {
                ro.set_iterate_upper_bound(end.to_vec());
            }
            let mut it = o.db.raw_iterator_cf_opt(cf, ro);
            if req.reverse {
                it.seek_to_last();
            } else {
                it.seek(req.start);
            }
            let (base, mut count, mut more) = (out.len(), 0u32, false);
            while it.valid() {
                let reached_count = req.limit > 0 && count as usize >= req.limit;
                let reached_bytes = req.max_bytes > 0 && count > 0 && out.len() - base >= req.max_bytes;
                if reached_count || reached_bytes {
                    more = true;
                    break;
                }
                let (k, v) = (it.key().unwrap_or_default(), it.value().unwrap_or_default());
                each(out.len());
                codec::put_bytes(out, k);
                codec::put_bytes(out, if req.keys_only { &[] } else { v });
                count += 1;
                if req.reverse {
                    it.prev();
                } else {
                    it.next();
                }
            }
            it.status()?;
            Ok((count, more))
        })
    }

    /// Takes a consistent point-in-time snapshot and returns its id.
    pub fn snapshot(&self) -> Result<u32> {
        self.with(|o| {
            let mut s = o.snapshots.lock().map_err(|_| EngineError::Closed)?;
            let id = s.next;
            s.next = s.next.wrapping_add(1).max(1);
            // SAFETY: the snapshot is stored in `Open` and dropped before the DB (field order),
            // and `close` drops the whole `Open` under the write lock.
            let snap: Snapshot = unsafe { std::mem::transmute(o.db.snapshot()) };
            s.open.insert(id, snap);
            Ok(id)
        })
    }

    /// Releases a snapshot; releasing an unknown id is an error.
    pub fn release_snapshot(&self, id: u32) -> Result<()> {
        self.with(|o| {
            let mut s = o.snapshots.lock().map_err(|_| EngineError::Closed)?;
            s.open.remove(&id).map(|_| ()).ok_or(EngineError::NoSuchSnapshot(id))
        })
    }

    /// Number of snapshots currently held.
    pub fn snapshot_count(&self) -> Result<usize> {
        self.with(|o| Ok(o.snapshots.lock().map_err(|_| EngineError::Closed)?.open.len()))
    }

    /// Flushes the memtables of every column family to SST files and syncs the WAL.
    pub fn flush(&self) -> Result<()> {
        self.with(|o| {
            let mut fo = FlushOptions::default();
            fo.set_wait(true);
            for cf in &o.cfs {
                o.db.flush_cf_opt(*cf, &fo)?;
            }
            o.db.flush_wal(true)?;
            Ok(())
        })
    }

    /// Syncs the WAL: every write issued before the call (synced or not) is durable when it
    /// returns. Safe to call from another thread while writes go on (RocksDB's SyncWAL).
    pub fn sync_wal(&self) -> Result<()> {
        self.with(|o| {
            o.db.flush_wal(true)?;
            Ok(())
        })
    }

    /// Compacts [start, end) of one column family (None = unbounded on that side).
    pub fn compact(&self, cf: u8, start: Option<&[u8]>, end: Option<&[u8]>) -> Result<()> {
        self.with(|o| {
            o.db.compact_range_cf(o.cf(cf)?, start, end);
            Ok(())
        })
    }

    /// A RocksDB property of one column family (e.g. "rocksdb.estimate-num-keys").
    pub fn property(&self, cf: u8, name: &str) -> Result<Option<String>> {
        self.with(|o| Ok(o.db.property_value_cf(o.cf(cf)?, name)?))
    }

    /// Closes the database: releases every snapshot and the files. Idempotent.
    pub fn close(&self) -> Result<()> {
        let mut guard = self.state.write().map_err(|_| EngineError::Closed)?;
        if let Some(open) = guard.take() {
            open.db.flush_wal(true)?;
            drop(open);
        }
        Ok(())
    }

    /// True until `close` succeeds.
    pub fn is_open(&self) -> bool {
        self.state.read().map(|g| g.is_some()).unwrap_or(false)
    }
}

/// Read options at snapshot `id` (taken from the locked registry), or at the latest state.
fn read_options(guard: &Option<MutexGuard<'_, Snapshots>>, id: Option<u32>) -> Result<ReadOptions> {
    let mut ro = ReadOptions::default();
    if let (Some(id), Some(snaps)) = (id, guard.as_ref()) {
        ro.set_snapshot(snaps.open.get(&id).ok_or(EngineError::NoSuchSnapshot(id))?);
    }
    Ok(ro)
}

impl Open {
    /// Locks the snapshot registry only when a read needs a snapshot (keeps plain reads lock-free).
    fn lock_snapshots(&self, id: Option<u32>) -> Result<Option<MutexGuard<'_, Snapshots>>> {
        match id {
            Some(_) => Ok(Some(self.snapshots.lock().map_err(|_| EngineError::Closed)?)),
            None => Ok(None),
        }
    }

    fn cf(&self, idx: u8) -> Result<&ColumnFamily> {
        self.cfs
            .get(idx as usize)
            .copied()
            .ok_or_else(|| EngineError::InvalidArgument(format!("unknown column family index {idx}")))
    }

    fn write_opts(&self, sync: bool) -> &WriteOptions {
        if sync {
            &self.sync_write
        } else {
            &self.async_write
        }
    }
}
