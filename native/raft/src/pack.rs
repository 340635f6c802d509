//! Little-endian packing helpers for the buffers that cross to JS (see `host.rs` for the
//! formats) and a reader that fails with InvalidArgument instead of panicking.

use crate::error::{RaftError, Result};

/// Appends a u8.
pub fn u8_(out: &mut Vec<u8>, v: u8) {
    out.push(v);
}

/// Appends a little-endian u32.
pub fn u32_(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Appends a little-endian u64.
pub fn u64_(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Appends `len:u32 bytes`.
pub fn bytes(out: &mut Vec<u8>, b: &[u8]) {
    u32_(out, b.len() as u32);
    out.extend_from_slice(b);
}

/// Appends `count:u32 ids:u64...`.
pub fn ids(out: &mut Vec<u8>, v: &[u64]) {
    u32_(out, v.len() as u32);
    for x in v {
        u64_(out, *x);
    }
}

/// Overwrites a u32 placeholder written earlier at `at`.
pub fn patch_u32(out: &mut [u8], at: usize, v: u32) {
    out[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// A cursor over a packed buffer.
pub struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    /// Starts at the beginning of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Cursor { buf, pos: 0 }
    }

    /// True when every byte was consumed.
    pub fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.buf.len()).ok_or_else(|| {
            RaftError::InvalidArgument(format!("packed buffer truncated at byte {}", self.pos))
        })?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    /// Reads a u8.
    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    /// Reads a little-endian u32.
    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }

    /// Reads a little-endian u64.
    pub fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }

    /// Reads `len:u32 bytes`.
    pub fn bytes(&mut self) -> Result<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
}
