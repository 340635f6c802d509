//! C-ABI reads (point reads and scans) for callers that can skip N-API (Bun's `bun:ffi`, ~2 ns
//! per call instead of ~150 ns). The addon hands these functions' addresses to JS
//! (lib/engine/rocks-ffi.ts); they are never exported by name. See
//! docs/adr/0008-engine-point-reads.md.
//!
//! Safety model: JS never holds a pointer to an engine. It holds a numeric handle from
//! `register`, looked up in a process-wide registry on every call; `unregister` (on close and
//! when the owning JS object is finalized) removes it, so a stale handle yields
//! `ENGINE:Closed`, never a dangling pointer. Handles are not reused. Panics are caught and
//! reported as `ENGINE:StorageError`; nothing unwinds across the C boundary.
//!
//! Results: `f64` so that JS gets a plain number: `>= 0` the value's (or packed result's) full
//! length, `MISSING` (-1) for an absent key, `FAILED` (-2) for an error whose `[CODE] message`
//! text `photon_engine_last_error` returns (per thread).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use crate::{Engine, EngineError, ScanRequest};

/// Returned for a key that does not exist.
pub const MISSING: f64 = -1.0;
/// Returned when the call failed; see `photon_engine_last_error`.
pub const FAILED: f64 = -2.0;

static REGISTRY: RwLock<BTreeMap<u32, Arc<Engine>>> = RwLock::new(BTreeMap::new());
static NEXT: AtomicU32 = AtomicU32::new(1);

thread_local! {
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
    /// Packed multi-get results before they are copied out (reused: no allocation per call).
    static PACKED: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    /// The last scan page, built here (warm, reused memory) and copied out once.
    static PAGE: RefCell<Page> = const { RefCell::new(Page { data: Vec::new(), offsets: Vec::new(), pending: false, idle: 0, hint: 0 }) };
}

/// Bytes of the pages handed to JS by `photon_engine_scan_detach` and not yet freed by
/// `photon_engine_page_free`.
static PAGES_LIVE: AtomicUsize = AtomicUsize::new(0);
/// Buffers of freed pages, reused by later scans: warm memory instead of fresh pages that the
/// kernel must fault in and zero (~2 ms per 12 MB page here). At most `POOL_MAX` buffers of at
/// most `POOL_BYTES` bytes in all are kept.
static POOL: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());
const POOL_MAX: usize = 4;
const POOL_BYTES: usize = 64 << 20;

/// Bytes before the first pair of a scan page: `count:u32 more:u32 table:u32 0:u32`.
pub const PAGE_HEADER: usize = 16;
/// `photon_engine_scan` flag: iterate from the end towards the start.
pub const SCAN_REVERSE: u32 = 1;
/// `photon_engine_scan` flag: empty values.
pub const SCAN_KEYS_ONLY: u32 = 2;
/// `photon_engine_scan` flag: `end` is an exclusive upper bound (else: to the last key).
pub const SCAN_HAS_END: u32 = 4;
/// Page buffers up to this capacity are always kept between scans.
const PAGE_KEEP: usize = 1 << 20;
/// A larger page buffer is freed after this many scans in a row that used under a quarter of it.
const PAGE_IDLE_SCANS: u32 = 16;

/// A scan page under construction (see `photon_engine_scan` for its layout).
struct Page {
    data: Vec<u8>,
    offsets: Vec<u32>,
    /// Built but not yet copied out (it did not fit the caller's buffer).
    pending: bool,
    /// Scans in a row that used little of a large buffer.
    idle: u32,
    /// Capacity to reserve after the buffer was detached (the last page's size).
    hint: usize,
}

impl Page {
    /// Frees buffers far larger than recent pages needed (one huge scan must not pin its memory).
    fn trim(&mut self, used: usize) {
        if self.data.capacity() <= PAGE_KEEP || used * 4 >= self.data.capacity() {
            self.idle = 0;
            return;
        }
        self.idle += 1;
        if self.idle >= PAGE_IDLE_SCANS {
            (self.data, self.offsets, self.idle) = (Vec::new(), Vec::new(), 0);
            POOL.lock().unwrap_or_else(|p| p.into_inner()).clear();
        }
    }
}

/// Registers an engine for C-ABI calls and returns its handle (never 0, never reused).
pub fn register(engine: Arc<Engine>) -> u32 {
    let mut reg = REGISTRY.write().unwrap_or_else(|p| p.into_inner());
    let mut id = NEXT.fetch_add(1, Ordering::Relaxed);
    // After 2^32 registrations ids wrap; skip 0 and any id still in use.
    while id == 0 || reg.contains_key(&id) {
        id = NEXT.fetch_add(1, Ordering::Relaxed);
    }
    reg.insert(id, engine);
    id
}

/// Removes a handle; later calls with it fail with `ENGINE:Closed`. Unknown handles are ignored.
/// Waits for calls in flight on other threads to finish.
pub fn unregister(handle: u32) {
    REGISTRY.write().unwrap_or_else(|p| p.into_inner()).remove(&handle);
}

/// Runs `f` on the engine behind `handle`, mapping every failure (unknown handle, engine error,
/// panic) to `FAILED` with the error text stored for `photon_engine_last_error`.
fn call(handle: u32, f: impl FnOnce(&Engine) -> crate::Result<f64>) -> f64 {
    guarded(|| {
        let reg = REGISTRY.read().unwrap_or_else(|p| p.into_inner());
        match reg.get(&handle) {
            Some(engine) => f(engine),
            None => Err(EngineError::Closed),
        }
    })
}

/// Runs `f`, mapping an error or a panic to `FAILED` with its text kept for
/// `photon_engine_last_error`.
fn guarded(f: impl FnOnce() -> crate::Result<f64>) -> f64 {
    let res = catch_unwind(AssertUnwindSafe(f));
    let err = match res {
        Ok(Ok(n)) => return n,
        Ok(Err(e)) => format!("[{}] {e}", e.code()),
        Err(_) => "[ENGINE:StorageError] panic in a native read".to_string(),
    };
    LAST_ERROR.with(|l| *l.borrow_mut() = err);
    FAILED
}

/// Borrows `len` bytes at `ptr` (null is fine when `len` is 0).
///
/// # Safety
/// `ptr` must be valid for `len` bytes for the duration of the call.
unsafe fn input<'a>(ptr: *const u8, len: u32) -> crate::Result<&'a [u8]> {
    if len == 0 {
        Ok(&[])
    } else if ptr.is_null() {
        Err(EngineError::InvalidArgument("null buffer".into()))
    } else {
        Ok(std::slice::from_raw_parts(ptr, len as usize))
    }
}

/// Borrows `cap` writable bytes at `ptr` (null is fine when `cap` is 0).
///
/// # Safety
/// `ptr` must be valid for writes of `cap` bytes and not aliased during the call.
unsafe fn output<'a>(ptr: *mut u8, cap: u32) -> crate::Result<&'a mut [u8]> {
    if cap == 0 {
        Ok(&mut [])
    } else if ptr.is_null() {
        Err(EngineError::InvalidArgument("null output buffer".into()))
    } else {
        Ok(std::slice::from_raw_parts_mut(ptr, cap as usize))
    }
}

fn cf_index(cf: u32) -> crate::Result<u8> {
    u8::try_from(cf).map_err(|_| EngineError::InvalidArgument(format!("column family index {cf}")))
}

fn snapshot_id(snapshot: u32) -> Option<u32> {
    (snapshot != 0).then_some(snapshot)
}

/// Reads `key` of column family `cf` (at `snapshot`, 0 = latest state) and copies the value's
/// first `out_cap` bytes into `out`. Returns the value's full length (call again with a larger
/// buffer when it exceeds `out_cap`), `MISSING` or `FAILED`.
///
/// # Safety
/// `key` must be readable for `key_len` bytes and `out` writable for `out_cap` bytes, not
/// overlapping, for the duration of the call.
pub unsafe extern "C" fn photon_engine_get(
    handle: u32,
    cf: u32,
    snapshot: u32,
    key: *const u8,
    key_len: u32,
    out: *mut u8,
    out_cap: u32,
) -> f64 {
    call(handle, |e| {
        let key = input(key, key_len)?;
        let out = output(out, out_cap)?;
        e.get_with(cf_index(cf)?, key, snapshot_id(snapshot), |v| match v {
            None => MISSING,
            Some(v) => {
                let n = v.len().min(out.len());
                out[..n].copy_from_slice(&v[..n]);
                v.len() as f64
            }
        })
    })
}

/// Reads the packed keys (`len:u32 key`, codec keys) of column family `cf` (at `snapshot`, 0 =
/// latest state) and writes the values packed in order (`len:u32 value`, len 0xFFFFFFFF for a
/// missing key) into `out`. Returns the packed length; when it exceeds `out_cap` nothing was
/// written: call again with a buffer at least that large. `FAILED` on error.
///
/// # Safety
/// As for `photon_engine_get`.
pub unsafe extern "C" fn photon_engine_multi_get(
    handle: u32,
    cf: u32,
    snapshot: u32,
    keys: *const u8,
    keys_len: u32,
    out: *mut u8,
    out_cap: u32,
) -> f64 {
    call(handle, |e| {
        let keys = input(keys, keys_len)?;
        let out = output(out, out_cap)?;
        PACKED.with(|p| {
            let mut packed = p.borrow_mut();
            packed.clear();
            e.multi_get_into(cf_index(cf)?, keys, snapshot_id(snapshot), &mut packed)?;
            let n = packed.len();
            if n <= out.len() {
                out[..n].copy_from_slice(&packed);
            }
            if packed.capacity() > 8 << 20 {
                *packed = Vec::new();
            }
            Ok(n as f64)
        })
    })
}

/// Scans column family `cf` (at `snapshot`, 0 = latest state) from `start` (inclusive; empty =
/// the first key) to `end` (exclusive, only with `SCAN_HAS_END`), up to `limit` pairs (0 = no
/// count limit) and about `max_bytes` of packed pairs (0 = no byte limit; at least one pair),
/// with the `SCAN_*` flags — exactly the N-API scan. Builds the page
///
/// `count:u32 more:u32 table:u32 0:u32`, then `count` codec pairs (`klen key vlen value`), zero
/// padding to a multiple of 4, then at `table` one u32 per pair: its offset in the page,
///
/// and returns its length. The page is copied into `out` when it fits in `out_cap`; otherwise
/// it is kept (per thread) until `photon_engine_scan_take` copies it into a buffer of that
/// length, or the next scan replaces it. `FAILED` on error (a page over 4 GiB is an error: set
/// a limit).
///
/// # Safety
/// `start`, `end` must be readable for their lengths and `out` writable for `out_cap` bytes, not
/// overlapping, for the duration of the call.
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn photon_engine_scan(
    handle: u32,
    cf: u32,
    snapshot: u32,
    start: *const u8,
    start_len: u32,
    end: *const u8,
    end_len: u32,
    flags: u32,
    limit: u32,
    max_bytes: u32,
    out: *mut u8,
    out_cap: u32,
) -> f64 {
    call(handle, |e| {
        let req = ScanRequest {
            cf: cf_index(cf)?,
            start: input(start, start_len)?,
            end: if flags & SCAN_HAS_END != 0 { Some(input(end, end_len)?) } else { None },
            limit: limit as usize,
            max_bytes: max_bytes as usize,
            reverse: flags & SCAN_REVERSE != 0,
            keys_only: flags & SCAN_KEYS_ONLY != 0,
            snapshot: snapshot_id(snapshot),
        };
        let out = output(out, out_cap)?;
        PAGE.with(|p| {
            let mut page = p.borrow_mut();
            if page.data.capacity() == 0 && page.hint > 0 {
                // The last page was detached: take a freed page's buffer, or start from the
                // last page's size (no regrowth, no copies).
                let hint = std::mem::take(&mut page.hint);
                if let Some(buf) = POOL.lock().unwrap_or_else(|p| p.into_inner()).pop() {
                    page.data = buf;
                }
                page.data.reserve(hint);
            }
            let Page { data, offsets, pending, .. } = &mut *page;
            *pending = false;
            data.clear();
            offsets.clear();
            data.resize(PAGE_HEADER, 0);
            let (count, more) = e.scan_with(&req, data, |at| offsets.push(at as u32))?;
            let table = (data.len() + 3) & !3;
            let total = table + 4 * offsets.len();
            if total > u32::MAX as usize {
                return Err(EngineError::InvalidArgument(format!("scan page of {total} bytes exceeds 4 GiB: set a limit or maxBytes")));
            }
            data.resize(table, 0);
            data.reserve(4 * offsets.len());
            for at in offsets.iter() {
                data.extend_from_slice(&at.to_le_bytes());
            }
            data[0..4].copy_from_slice(&count.to_le_bytes());
            data[4..8].copy_from_slice(&(more as u32).to_le_bytes());
            data[8..12].copy_from_slice(&(table as u32).to_le_bytes());
            if total <= out.len() {
                out[..total].copy_from_slice(data);
                page.trim(total);
            } else {
                page.pending = true;
            }
            Ok(total as f64)
        })
    })
}

/// Copies the page the last `photon_engine_scan` on this thread kept (it did not fit) into
/// `out` and returns its length. `FAILED` when no page is pending or `out_cap` is too small (the
/// page stays pending then).
///
/// # Safety
/// `out` must be writable for `out_cap` bytes.
pub unsafe extern "C" fn photon_engine_scan_take(out: *mut u8, out_cap: u32) -> f64 {
    guarded(|| {
        let out = output(out, out_cap)?;
        PAGE.with(|p| {
            let mut page = p.borrow_mut();
            if !page.pending {
                return Err(EngineError::InvalidArgument("no scan page pending".into()));
            }
            let n = page.data.len();
            if n > out.len() {
                return Err(EngineError::InvalidArgument(format!("scan page of {n} bytes, buffer of {}", out.len())));
            }
            out[..n].copy_from_slice(&page.data);
            page.pending = false;
            page.trim(n);
            Ok(n as f64)
        })
    })
}

/// Hands the page the last `photon_engine_scan` on this thread kept (it did not fit) to the
/// caller without copying: writes its address and its allocation's capacity into `slot[0]`,
/// `slot[1]` (as f64) and returns its length. The caller owns the memory from then on and must
/// release it exactly once with `photon_engine_page_free(address, capacity)` — bun:ffi's
/// `toArrayBuffer` does that when the ArrayBuffer over it is collected. `FAILED` when no page is
/// pending.
///
/// # Safety
/// `slot` must be writable for two f64.
pub unsafe extern "C" fn photon_engine_scan_detach(slot: *mut f64) -> f64 {
    guarded(|| {
        if slot.is_null() {
            return Err(EngineError::InvalidArgument("null slot".into()));
        }
        PAGE.with(|p| {
            let mut page = p.borrow_mut();
            if !page.pending {
                return Err(EngineError::InvalidArgument("no scan page pending".into()));
            }
            page.pending = false;
            page.hint = page.data.len();
            let mut data = std::mem::take(&mut page.data);
            let (ptr, len, cap) = (data.as_mut_ptr(), data.len(), data.capacity());
            std::mem::forget(data);
            PAGES_LIVE.fetch_add(cap, Ordering::Relaxed);
            *slot = ptr as usize as f64;
            *slot.add(1) = cap as f64;
            Ok(len as f64)
        })
    })
}

/// Frees a page from `photon_engine_scan_detach`; `cap` is the capacity it reported. Matches
/// JavaScriptCore's `JSTypedArrayBytesDeallocator(bytes, context)`, with the capacity as context;
/// may run on any thread.
///
/// # Safety
/// `ptr` and `cap` must come from one `photon_engine_scan_detach` call, and be freed only once.
pub unsafe extern "C" fn photon_engine_page_free(ptr: *mut u8, cap: usize) {
    if ptr.is_null() {
        return;
    }
    let buf = Vec::from_raw_parts(ptr, 0, cap);
    PAGES_LIVE.fetch_sub(cap, Ordering::Relaxed);
    let _ = catch_unwind(AssertUnwindSafe(|| {
        let mut pool = POOL.lock().unwrap_or_else(|p| p.into_inner());
        let held: usize = pool.iter().map(Vec::capacity).sum();
        if pool.len() < POOL_MAX && held + cap <= POOL_BYTES {
            pool.push(buf);
        }
    }));
}

/// Bytes of detached pages not yet freed: JS stops detaching (and copies instead) when this
/// grows large, so a runtime that never called the deallocator could not leak without bound;
/// tests check that collected pages are freed.
pub extern "C" fn photon_engine_pages_live() -> f64 {
    PAGES_LIVE.load(Ordering::Relaxed) as f64
}

/// Copies the text (`[CODE] message`, UTF-8) of this thread's last `FAILED` call into `out` (up
/// to `out_cap` bytes) and returns its full length.
///
/// # Safety
/// `out` must be writable for `out_cap` bytes.
pub unsafe extern "C" fn photon_engine_last_error(out: *mut u8, out_cap: u32) -> u32 {
    LAST_ERROR.with(|l| {
        let l = l.borrow();
        if let Ok(out) = output(out, out_cap) {
            let n = l.len().min(out.len());
            out[..n].copy_from_slice(&l.as_bytes()[..n]);
        }
        l.len() as u32
    })
}

/// Addresses of the C-ABI functions, for `bun:ffi`'s `linkSymbols`.
#[derive(Clone, Copy, Debug)]
pub struct Symbols {
    pub get: usize,
    pub multi_get: usize,
    pub scan: usize,
    pub scan_take: usize,
    pub scan_detach: usize,
    pub page_free: usize,
    pub pages_live: usize,
    pub last_error: usize,
}

/// The addresses of this module's C-ABI functions.
pub fn symbols() -> Symbols {
    Symbols {
        get: photon_engine_get as *const () as usize,
        multi_get: photon_engine_multi_get as *const () as usize,
        scan: photon_engine_scan as *const () as usize,
        scan_take: photon_engine_scan_take as *const () as usize,
        scan_detach: photon_engine_scan_detach as *const () as usize,
        page_free: photon_engine_page_free as *const () as usize,
        pages_live: photon_engine_pages_live as *const () as usize,
        last_error: photon_engine_last_error as *const () as usize,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec;
    use crate::EngineOptions;

    fn open() -> (tempfile::TempDir, Arc<Engine>, u32) {
        let dir = tempfile::tempdir().unwrap();
        let e = Arc::new(Engine::open(dir.path(), &EngineOptions::default()).unwrap());
        let h = register(e.clone());
        (dir, e, h)
    }

    fn get(h: u32, key: &[u8], out: &mut [u8]) -> f64 {
        unsafe { photon_engine_get(h, 0, 0, key.as_ptr(), key.len() as u32, out.as_mut_ptr(), out.len() as u32) }
    }

    fn last_error() -> String {
        let mut buf = [0u8; 256];
        let n = unsafe { photon_engine_last_error(buf.as_mut_ptr(), buf.len() as u32) } as usize;
        String::from_utf8(buf[..n.min(256)].to_vec()).unwrap()
    }

    #[test]
    fn get_copies_values_and_reports_missing_and_long_values() {
        let (_d, e, h) = open();
        e.put(0, b"k", b"value", false).unwrap();
        e.put(0, b"empty", b"", false).unwrap();
        let mut out = [0u8; 3];
        assert_eq!(get(h, b"k", &mut out), 5.0, "full length even when it does not fit");
        assert_eq!(&out, b"val");
        let mut out = [0u8; 16];
        assert_eq!(get(h, b"k", &mut out), 5.0);
        assert_eq!(&out[..5], b"value");
        assert_eq!(get(h, b"empty", &mut out), 0.0);
        assert_eq!(get(h, b"absent", &mut out), MISSING);
        assert_eq!(unsafe { photon_engine_get(h, 0, 0, std::ptr::null(), 0, std::ptr::null_mut(), 0) }, MISSING);
        unregister(h);
    }

    #[test]
    fn reads_at_a_snapshot() {
        let (_d, e, h) = open();
        e.put(0, b"k", b"old", false).unwrap();
        let s = e.snapshot().unwrap();
        e.put(0, b"k", b"new", false).unwrap();
        let mut out = [0u8; 8];
        let n = unsafe { photon_engine_get(h, 0, s, b"k".as_ptr(), 1, out.as_mut_ptr(), 8) };
        assert_eq!((n, &out[..3]), (3.0, &b"old"[..]));
        let n = unsafe { photon_engine_get(h, 0, s + 1000, b"k".as_ptr(), 1, out.as_mut_ptr(), 8) };
        assert_eq!(n, FAILED);
        assert!(last_error().starts_with("[ENGINE:NoSuchSnapshot]"), "{}", last_error());
        unregister(h);
    }

    #[test]
    fn closed_and_unknown_handles_fail_cleanly() {
        let (_d, e, h) = open();
        e.put(0, b"k", b"v", false).unwrap();
        let mut out = [0u8; 8];
        let bad_cf = unsafe { photon_engine_get(h, 300, 0, b"k".as_ptr(), 1, out.as_mut_ptr(), 8) };
        assert_eq!(bad_cf, FAILED);
        assert!(last_error().starts_with("[ENGINE:InvalidArgument]"));
        let null_key = unsafe { photon_engine_get(h, 0, 0, std::ptr::null(), 4, out.as_mut_ptr(), 8) };
        assert_eq!(null_key, FAILED);
        e.close().unwrap();
        assert_eq!(get(h, b"k", &mut out), FAILED);
        assert!(last_error().starts_with("[ENGINE:Closed]"), "{}", last_error());
        unregister(h);
        drop(e);
        assert_eq!(get(h, b"k", &mut out), FAILED, "a stale handle is not a pointer");
        assert!(last_error().starts_with("[ENGINE:Closed]"));
        assert_eq!(get(0, b"k", &mut out), FAILED);
    }

    fn scan(h: u32, start: &[u8], end: Option<&[u8]>, flags: u32, limit: u32, max_bytes: u32, out: &mut [u8]) -> f64 {
        let (e, el, f) = match end {
            Some(e) => (e.as_ptr(), e.len() as u32, flags | SCAN_HAS_END),
            None => (std::ptr::null(), 0, flags),
        };
        unsafe { photon_engine_scan(h, 0, 0, start.as_ptr(), start.len() as u32, e, el, f, limit, max_bytes, out.as_mut_ptr(), out.len() as u32) }
    }

    fn u32_at(b: &[u8], at: usize) -> usize {
        u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) as usize
    }

    #[test]
    fn scan_pages_match_the_engine_scan_with_an_offset_table() {
        let (_d, e, h) = open();
        for i in 0..50u32 {
            e.put(0, format!("k{i:03}").as_bytes(), &vec![i as u8; i as usize], false).unwrap();
        }
        for (start, end, flags, limit, max_bytes) in [
            (&b""[..], None, 0, 0, 0),
            (&b"k010"[..], Some(&b"k020"[..]), 0, 4, 0),
            (&b"k010"[..], Some(&b"k020"[..]), SCAN_REVERSE, 3, 0),
            (&b""[..], None, SCAN_KEYS_ONLY, 7, 0),
            (&b"k030"[..], None, 0, 0, 100),
        ] {
            let req = ScanRequest {
                start,
                end,
                limit: limit as usize,
                max_bytes: max_bytes as usize,
                reverse: flags & SCAN_REVERSE != 0,
                keys_only: flags & SCAN_KEYS_ONLY != 0,
                ..Default::default()
            };
            let expected = e.scan(&req).unwrap();
            let mut out = vec![0u8; 64 << 10];
            let n = scan(h, start, end, flags, limit, max_bytes, &mut out) as usize;
            let page = &out[..n];
            let (count, table) = (u32_at(page, 0), u32_at(page, 8));
            assert_eq!((count as u32, u32_at(page, 4) != 0), (expected.count, expected.more));
            assert_eq!(&page[PAGE_HEADER..PAGE_HEADER + expected.data.len()], &expected.data[..]);
            assert_eq!(table % 4, 0);
            assert_eq!(n, table + 4 * count);
            // Each table entry points at its pair: walking the lengths gives the same offsets.
            let mut at = PAGE_HEADER;
            for i in 0..count {
                assert_eq!(u32_at(page, table + 4 * i), at);
                at += 4 + u32_at(page, at);
                at += 4 + u32_at(page, at);
            }
        }
        unregister(h);
    }

    #[test]
    fn scan_pages_larger_than_the_buffer_wait_for_take() {
        let (_d, e, h) = open();
        e.put(0, b"a", &[1u8; 1000], false).unwrap();
        e.put(0, b"b", &[2u8; 1000], false).unwrap();
        let mut small = [0u8; 64];
        let n = scan(h, b"", None, 0, 0, 0, &mut small) as usize;
        assert!(n > 2000);
        assert_eq!(small, [0; 64], "nothing written when it does not fit");
        assert_eq!(unsafe { photon_engine_scan_take(small.as_mut_ptr(), 64) }, FAILED, "still too small");
        let mut out = vec![0u8; n];
        assert_eq!(unsafe { photon_engine_scan_take(out.as_mut_ptr(), n as u32) } as usize, n);
        assert_eq!((u32_at(&out, 0), &out[PAGE_HEADER + 9..PAGE_HEADER + 12]), (2, &[1u8, 1, 1][..]));
        assert_eq!(unsafe { photon_engine_scan_take(out.as_mut_ptr(), n as u32) }, FAILED, "taken once");
        assert!(last_error().starts_with("[ENGINE:InvalidArgument]"), "{}", last_error());
        e.close().unwrap();
        assert_eq!(scan(h, b"", None, 0, 0, 0, &mut out), FAILED);
        assert!(last_error().starts_with("[ENGINE:Closed]"), "{}", last_error());
        unregister(h);
        assert_eq!(scan(h, b"", None, 0, 0, 0, &mut out), FAILED, "a stale handle is not a pointer");
    }

    #[test]
    fn detached_pages_are_owned_by_the_caller_until_freed() {
        let (_d, e, h) = open();
        e.put(0, b"a", &[7u8; 3000], false).unwrap();
        let mut slot = [0f64; 2];
        assert_eq!(unsafe { photon_engine_scan_detach(slot.as_mut_ptr()) }, FAILED, "nothing pending");
        let n = scan(h, b"", None, 0, 0, 0, &mut []) as usize;
        let live = photon_engine_pages_live();
        assert_eq!(unsafe { photon_engine_scan_detach(slot.as_mut_ptr()) } as usize, n);
        let (ptr, cap) = (slot[0] as usize as *mut u8, slot[1] as usize);
        assert!(cap >= n);
        let page = unsafe { std::slice::from_raw_parts(ptr, n) };
        assert_eq!((u32_at(page, 0), page[PAGE_HEADER + 9]), (1, 7));
        // The next scan builds in fresh memory: the detached page stays as it was.
        let n2 = scan(h, b"", None, SCAN_KEYS_ONLY, 0, 0, &mut []) as usize;
        assert!(n2 < n);
        assert_eq!(page[PAGE_HEADER + 9], 7);
        assert_eq!(photon_engine_pages_live(), live + cap as f64);
        unsafe { photon_engine_page_free(ptr, cap) };
        assert_eq!(photon_engine_pages_live(), live);
        unregister(h);
    }

    #[test]
    fn multi_get_packs_values_in_order_and_asks_for_room() {
        let (_d, e, h) = open();
        e.put(0, b"a", b"1", false).unwrap();
        e.put(0, b"c", b"", false).unwrap();
        let mut keys = Vec::new();
        for k in [&b"a"[..], b"b", b"c"] {
            codec::put_bytes(&mut keys, k);
        }
        let mut expected = Vec::new();
        codec::put_bytes(&mut expected, b"1");
        codec::put_missing(&mut expected);
        codec::put_bytes(&mut expected, b"");
        let mut small = [0u8; 4];
        let n = unsafe { photon_engine_multi_get(h, 0, 0, keys.as_ptr(), keys.len() as u32, small.as_mut_ptr(), 4) };
        assert_eq!(n as usize, expected.len());
        assert_eq!(small, [0; 4], "nothing written when it does not fit");
        let mut out = vec![0u8; expected.len()];
        let n = unsafe { photon_engine_multi_get(h, 0, 0, keys.as_ptr(), keys.len() as u32, out.as_mut_ptr(), out.len() as u32) };
        assert_eq!((n as usize, &out), (expected.len(), &expected));
        let n = unsafe { photon_engine_multi_get(h, 0, 0, keys.as_ptr(), 3, out.as_mut_ptr(), out.len() as u32) };
        assert_eq!(n, FAILED, "truncated key list");
        assert!(last_error().starts_with("[ENGINE:InvalidArgument]"), "{}", last_error());
        unregister(h);
    }
}
