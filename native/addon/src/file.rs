//! File calls Node's `fs` lacks: `datasyncDropCache`, an fdatasync followed by dropping the
//! range from the page cache, for the large blobs lightningstor writes (drop-behind: their pages,
//! clean once synced, are freed at once and reused hot by the next writes instead of the cache
//! growing into cold memory; docs/adr/0024-lightningstor-multi-buffer-md5.md).

use napi::bindgen_prelude::AsyncTask;
use napi::{Env, Error, Result, Status, Task};
use napi_derive::napi;

/// Makes the data of `fd` durable (fdatasync), then drops bytes `[offset, offset + length)` of
/// the file from the page cache (`POSIX_FADV_DONTNEED`; length 0 = to the end), on a pool
/// thread. Rejects with `[IOError] fdatasync: …` when the sync fails (nothing is dropped then).
#[napi(ts_return_type = "Promise<void>")]
pub fn datasync_drop_cache(fd: i32, offset: f64, length: f64) -> Result<AsyncTask<SyncDropTask>> {
    let valid = |v: f64| v >= 0.0 && v.fract() == 0.0 && v <= 9_007_199_254_740_991.0;
    if fd < 0 || !valid(offset) || !valid(length) {
        return Err(Error::new(Status::InvalidArg, format!("[InvalidArgument] bad fd {fd} or range {offset}+{length}")));
    }
    Ok(AsyncTask::new(SyncDropTask { fd, offset: offset as i64, length: length as i64 }))
}

/// See `datasync_drop_cache`.
pub struct SyncDropTask {
    fd: i32,
    offset: i64,
    length: i64,
}

impl Task for SyncDropTask {
    type Output = ();
    type JsValue = ();

    fn compute(&mut self) -> Result<()> {
        // SAFETY: plain syscalls on a descriptor number; a closed or foreign one fails with EBADF.
        if unsafe { libc::fdatasync(self.fd) } != 0 {
            let e = std::io::Error::last_os_error();
            return Err(Error::new(Status::GenericFailure, format!("[IOError] fdatasync: {e}")));
        }
        // Advice only: a failure leaves the pages cached, which is harmless.
        unsafe { libc::posix_fadvise(self.fd, self.offset, self.length, libc::POSIX_FADV_DONTNEED) };
        Ok(())
    }

    fn resolve(&mut self, _env: Env, _out: ()) -> Result<()> {
        Ok(())
    }
}
