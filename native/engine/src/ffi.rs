//! C-ABI point reads for callers that can skip N-API (Bun's `bun:ffi`, ~2 ns per call instead
//! of ~150 ns). The addon hands these functions' addresses to JS (lib/engine/rocks-ffi.ts); they
//! are never exported by name. See docs/adr/0008-engine-point-reads.md.
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
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, RwLock};

use crate::{Engine, EngineError};

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
    let res = catch_unwind(AssertUnwindSafe(|| {
        let reg = REGISTRY.read().unwrap_or_else(|p| p.into_inner());
        match reg.get(&handle) {
            Some(engine) => f(engine),
            None => Err(EngineError::Closed),
        }
    }));
    let err = match res {
        Ok(Ok(n)) => return n,
        Ok(Err(e)) => format!("[{}] {e}", e.code()),
        Err(_) => "[ENGINE:StorageError] panic in a native point read".to_string(),
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
    pub last_error: usize,
}

/// The addresses of this module's C-ABI functions.
pub fn symbols() -> Symbols {
    Symbols {
        get: photon_engine_get as *const () as usize,
        multi_get: photon_engine_multi_get as *const () as usize,
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
