//! JS binding of photon-engine: a `Database` class whose methods each cross the boundary once.

use std::path::Path;
use std::sync::{Arc, Mutex};

use napi::bindgen_prelude::{BufferSlice, Uint8Array, Uint8ArraySlice};
use napi::{Env, Result};
use napi_derive::napi;
use photon_engine::{ffi, Engine, EngineOptions, ScanRequest};

use crate::js_err;

/// Options accepted by `Database.open` (all optional; see EngineOptions for meanings).
#[napi(object)]
pub struct OpenOptions {
    pub column_families: Option<Vec<String>>,
    pub create_if_missing: Option<bool>,
    pub block_cache_mb: Option<u32>,
    pub write_buffer_mb: Option<u32>,
    pub bloom_bits_per_key: Option<f64>,
    pub background_jobs: Option<i32>,
    pub compression: Option<bool>,
}

/// Scan parameters; bounds are raw bytes, `end` exclusive.
#[napi(object)]
pub struct ScanOptions {
    pub start: Option<Uint8Array>,
    pub end: Option<Uint8Array>,
    pub limit: Option<u32>,
    pub max_bytes: Option<u32>,
    pub reverse: Option<bool>,
    pub keys_only: Option<bool>,
    pub snapshot: Option<u32>,
}

/// An open RocksDB database.
#[napi]
pub struct Database {
    engine: Arc<Engine>,
    /// Handle of `engine` in the C-ABI registry (photon_engine::ffi), unregistered on close
    /// and on drop so a stale handle can never reach a freed engine.
    handle: u32,
    /// Reused output buffer: results are packed here, then copied once into a JS buffer, so a
    /// scan allocates no native memory per call.
    scratch: Mutex<Vec<u8>>,
}

/// Cap on the scratch buffer kept between calls (larger results are freed after use).
const SCRATCH_KEEP: usize = 8 << 20;

#[napi]
impl Database {
    /// Opens or creates the database at `path`.
    #[napi(factory)]
    pub fn open(path: String, options: Option<OpenOptions>) -> Result<Database> {
        let mut o = EngineOptions::default();
        if let Some(x) = options {
            if let Some(v) = x.column_families { o.column_families = v; }
            if let Some(v) = x.create_if_missing { o.create_if_missing = v; }
            if let Some(v) = x.block_cache_mb { o.block_cache_mb = v; }
            if let Some(v) = x.write_buffer_mb { o.write_buffer_mb = v; }
            if let Some(v) = x.bloom_bits_per_key { o.bloom_bits_per_key = v; }
            if let Some(v) = x.background_jobs { o.background_jobs = v; }
            if let Some(v) = x.compression { o.compression = v; }
        }
        let engine = Arc::new(Engine::open(Path::new(&path), &o).map_err(js_err)?);
        let handle = ffi::register(engine.clone());
        Ok(Database { engine, handle, scratch: Mutex::new(Vec::with_capacity(256 << 10)) })
    }

    /// Column family names in index order.
    #[napi]
    pub fn column_families(&self) -> Vec<String> {
        self.engine.column_families().to_vec()
    }

    /// Value of `key`, or null.
    #[napi]
    pub fn get<'env>(&self, env: &'env Env, cf: u32, key: &[u8], snapshot: Option<u32>) -> Result<Option<BufferSlice<'env>>> {
        self.engine
            .get_with(cf_index(cf)?, key, snapshot, |v| v.map(|v| BufferSlice::copy_from(env, v)))
            .map_err(js_err)?
            .transpose()
    }

    /// Copies the value of `key` (latest state) into `out` and returns its full length, or -1
    /// when absent. When the length exceeds `out.length` only a prefix was copied: call again
    /// with a larger buffer. The fast path of point reads: no JS object is created natively.
    #[napi]
    pub fn get_into(&self, cf: u32, key: &[u8], out: Uint8ArraySlice) -> Result<i64> {
        let mut out = out;
        // SAFETY: JS is single-threaded; nothing else touches the array during this call.
        let out = unsafe { out.as_mut() };
        self.engine
            .get_with(cf_index(cf)?, key, None, |v| match v {
                None => -1,
                Some(v) => {
                    let n = v.len().min(out.len());
                    out[..n].copy_from_slice(&v[..n]);
                    v.len() as i64
                }
            })
            .map_err(js_err)
    }

    /// Values of packed keys, packed in order (missing ones marked).
    #[napi]
    pub fn multi_get<'env>(&self, env: &'env Env, cf: u32, packed_keys: &[u8], snapshot: Option<u32>) -> Result<BufferSlice<'env>> {
        let cf = cf_index(cf)?;
        self.with_scratch(env, |out| self.engine.multi_get_into(cf, packed_keys, snapshot, out).map_err(js_err))
    }

    /// Writes one key.
    #[napi]
    pub fn put(&self, cf: u32, key: &[u8], value: &[u8], sync: Option<bool>) -> Result<()> {
        self.engine.put(cf_index(cf)?, key, value, sync.unwrap_or(false)).map_err(js_err)
    }

    /// Deletes one key.
    #[napi]
    pub fn delete(&self, cf: u32, key: &[u8], sync: Option<bool>) -> Result<()> {
        self.engine.delete(cf_index(cf)?, key, sync.unwrap_or(false)).map_err(js_err)
    }

    /// Deletes [start, end).
    #[napi]
    pub fn delete_range(&self, cf: u32, start: &[u8], end: &[u8], sync: Option<bool>) -> Result<()> {
        self.engine.delete_range(cf_index(cf)?, start, end, sync.unwrap_or(false)).map_err(js_err)
    }

    /// Applies a packed batch atomically; returns the number of operations.
    #[napi]
    pub fn write(&self, packed: &[u8], sync: Option<bool>) -> Result<u32> {
        self.engine.write(packed, sync.unwrap_or(false)).map_err(js_err)
    }

    /// Scans one column family within the given bounds and limits. The result is one buffer:
    /// `count:u32 more:u32` followed by `count` packed pairs.
    #[napi]
    pub fn scan<'env>(&self, env: &'env Env, cf: u32, options: Option<ScanOptions>) -> Result<BufferSlice<'env>> {
        let o = options.unwrap_or(ScanOptions {
            start: None, end: None, limit: None, max_bytes: None, reverse: None, keys_only: None, snapshot: None,
        });
        let req = ScanRequest {
            cf: cf_index(cf)?,
            start: o.start.as_deref().unwrap_or(&[]),
            end: o.end.as_deref(),
            limit: o.limit.unwrap_or(0) as usize,
            max_bytes: o.max_bytes.unwrap_or(0) as usize,
            reverse: o.reverse.unwrap_or(false),
            keys_only: o.keys_only.unwrap_or(false),
            snapshot: o.snapshot,
        };
        self.with_scratch(env, |out| {
            out.extend_from_slice(&[0u8; 8]);
            let (count, more) = self.engine.scan_into(&req, out).map_err(js_err)?;
            out[..4].copy_from_slice(&count.to_le_bytes());
            out[4..8].copy_from_slice(&(more as u32).to_le_bytes());
            Ok(())
        })
    }

    /// Takes a snapshot; returns its id.
    #[napi]
    pub fn snapshot(&self) -> Result<u32> {
        self.engine.snapshot().map_err(js_err)
    }

    /// Releases a snapshot.
    #[napi]
    pub fn release_snapshot(&self, id: u32) -> Result<()> {
        self.engine.release_snapshot(id).map_err(js_err)
    }

    /// Flushes memtables and syncs the WAL.
    #[napi]
    pub fn flush(&self) -> Result<()> {
        self.engine.flush().map_err(js_err)
    }

    /// Compacts [start, end) of one column family.
    #[napi]
    pub fn compact(&self, cf: u32, start: Option<&[u8]>, end: Option<&[u8]>) -> Result<()> {
        self.engine.compact(cf_index(cf)?, start, end).map_err(js_err)
    }

    /// A RocksDB property of a column family, or null.
    #[napi]
    pub fn property(&self, cf: u32, name: String) -> Result<Option<String>> {
        self.engine.property(cf_index(cf)?, &name).map_err(js_err)
    }

    /// Closes the database; every later call fails with ENGINE:Closed. Idempotent.
    #[napi]
    pub fn close(&self) -> Result<()> {
        ffi::unregister(self.handle);
        self.engine.close().map_err(js_err)
    }

    /// Handle of this database for the C-ABI reads (`engineFfiSymbols`); calls with it
    /// fail with ENGINE:Closed once the database is closed or collected.
    #[napi(getter)]
    pub fn ffi_handle(&self) -> u32 {
        self.handle
    }

    /// True until closed.
    #[napi(getter)]
    pub fn is_open(&self) -> bool {
        self.engine.is_open()
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        ffi::unregister(self.handle);
    }
}

/// Addresses of the engine's C-ABI read functions (photon_engine::ffi), for bun:ffi's
/// `linkSymbols`: `get(handle, cf, snapshot, key, keyLen, out, outCap) -> f64`,
/// `multiGet(same) -> f64`, `scan(handle, cf, snapshot, start, startLen, end, endLen, flags,
/// limit, maxBytes, out, outCap) -> f64`, `scanTake(out, outCap) -> f64`,
/// `scanDetach(slot) -> f64`, `pageFree(ptr, cap)` (a deallocator for `toArrayBuffer`),
/// `pagesLive() -> f64`, `lastError(out, outCap) -> u32`.
#[napi(object)]
pub struct EngineFfiSymbols {
    pub get: f64,
    pub multi_get: f64,
    pub scan: f64,
    pub scan_take: f64,
    pub scan_detach: f64,
    pub page_free: f64,
    pub pages_live: f64,
    pub last_error: f64,
}

/// The C-ABI entry points of the engine (see EngineFfiSymbols).
#[napi]
pub fn engine_ffi_symbols() -> EngineFfiSymbols {
    let s = ffi::symbols();
    EngineFfiSymbols {
        get: s.get as f64,
        multi_get: s.multi_get as f64,
        scan: s.scan as f64,
        scan_take: s.scan_take as f64,
        scan_detach: s.scan_detach as f64,
        page_free: s.page_free as f64,
        pages_live: s.pages_live as f64,
        last_error: s.last_error as f64,
    }
}

impl Database {
    /// Runs `fill` on the cleared scratch buffer and copies the result into a new JS buffer.
    fn with_scratch<'env>(&self, env: &'env Env, fill: impl FnOnce(&mut Vec<u8>) -> Result<()>) -> Result<BufferSlice<'env>> {
        let mut scratch = self.scratch.lock().map_err(|_| napi::Error::from_reason("[ENGINE:StorageError] scratch poisoned"))?;
        scratch.clear();
        fill(&mut scratch)?;
        let out = BufferSlice::copy_from(env, scratch.as_slice());
        if scratch.capacity() > SCRATCH_KEEP {
            *scratch = Vec::with_capacity(256 << 10);
        }
        out
    }
}

fn cf_index(cf: u32) -> Result<u8> {
    u8::try_from(cf).map_err(|_| js_err(photon_engine::EngineError::InvalidArgument(format!("column family index {cf}"))))
}
