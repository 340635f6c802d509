//! Packed binary formats that carry many items across the JS/native boundary in one buffer.
//! All integers are little-endian u32. The same formats are produced and parsed by
//! `lib/engine/codec.ts`; change both together.
//!
//! - batch:  repeated `op:u8 cf:u8 klen:u32 key [vlen:u32 value]` where op 1 = put (has value),
//!   2 = delete, 3 = delete-range (the "value" is the exclusive end key).
//! - keys:   repeated `len:u32 bytes`.
//! - pairs:  repeated `klen:u32 key vlen:u32 value`; in multi-get results a missing value has
//!   vlen = u32::MAX and no bytes; in keys-only scans vlen is 0.

use crate::error::{EngineError, Result};

/// Operation tags of the packed batch format.
pub const OP_PUT: u8 = 1;
/// Delete one key.
pub const OP_DELETE: u8 = 2;
/// Delete every key in [key, value).
pub const OP_DELETE_RANGE: u8 = 3;
/// Marker for a missing value in packed multi-get results.
pub const MISSING: u32 = u32::MAX;

/// One decoded batch operation, borrowing from the packed buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum BatchOp<'a> {
    Put { cf: u8, key: &'a [u8], value: &'a [u8] },
    Delete { cf: u8, key: &'a [u8] },
    DeleteRange { cf: u8, start: &'a [u8], end: &'a [u8] },
}

/// A cursor over a packed buffer that fails with InvalidArgument instead of panicking.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Starts reading at the beginning of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// True when every byte was consumed.
    pub fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn u8(&mut self) -> Result<u8> {
        let b = *self.buf.get(self.pos).ok_or_else(|| truncated(self.pos))?;
        self.pos += 1;
        Ok(b)
    }

    fn u32(&mut self) -> Result<u32> {
        let end = self.pos + 4;
        let s = self.buf.get(self.pos..end).ok_or_else(|| truncated(self.pos))?;
        self.pos = end;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }

    /// Reads one length-prefixed byte string.
    pub fn bytes(&mut self) -> Result<&'a [u8]> {
        let len = self.u32()? as usize;
        let end = self.pos.checked_add(len).ok_or_else(|| truncated(self.pos))?;
        let s = self.buf.get(self.pos..end).ok_or_else(|| truncated(self.pos))?;
        self.pos = end;
        Ok(s)
    }

    /// Reads one batch operation.
    pub fn batch_op(&mut self) -> Result<BatchOp<'a>> {
        let op = self.u8()?;
        let cf = self.u8()?;
        let key = self.bytes()?;
        match op {
            OP_PUT => Ok(BatchOp::Put { cf, key, value: self.bytes()? }),
            OP_DELETE => Ok(BatchOp::Delete { cf, key }),
            OP_DELETE_RANGE => Ok(BatchOp::DeleteRange { cf, start: key, end: self.bytes()? }),
            other => Err(EngineError::InvalidArgument(format!("unknown batch op {other}"))),
        }
    }
}

fn truncated(at: usize) -> EngineError {
    EngineError::InvalidArgument(format!("packed buffer truncated at byte {at}"))
}

/// Appends a length-prefixed byte string.
pub fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_le_bytes());
    out.extend_from_slice(b);
}

/// Appends a missing-value marker (multi-get).
pub fn put_missing(out: &mut Vec<u8>) {
    out.extend_from_slice(&MISSING.to_le_bytes());
}

/// Encodes one batch operation (used by Rust callers and tests).
pub fn encode_op(out: &mut Vec<u8>, op: &BatchOp) {
    match op {
        BatchOp::Put { cf, key, value } => {
            out.extend_from_slice(&[OP_PUT, *cf]);
            put_bytes(out, key);
            put_bytes(out, value);
        }
        BatchOp::Delete { cf, key } => {
            out.extend_from_slice(&[OP_DELETE, *cf]);
            put_bytes(out, key);
        }
        BatchOp::DeleteRange { cf, start, end } => {
            out.extend_from_slice(&[OP_DELETE_RANGE, *cf]);
            put_bytes(out, start);
            put_bytes(out, end);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_round_trips() {
        let ops = [
            BatchOp::Put { cf: 0, key: b"a", value: b"1" },
            BatchOp::Delete { cf: 1, key: b"b" },
            BatchOp::DeleteRange { cf: 2, start: b"c", end: b"d" },
        ];
        let mut buf = Vec::new();
        for op in &ops {
            encode_op(&mut buf, op);
        }
        let mut r = Reader::new(&buf);
        for op in &ops {
            assert_eq!(&r.batch_op().unwrap(), op);
        }
        assert!(r.done());
    }

    #[test]
    fn truncated_buffers_are_rejected_not_panicking() {
        let mut buf = Vec::new();
        encode_op(&mut buf, &BatchOp::Put { cf: 0, key: b"key", value: b"value" });
        for cut in 0..buf.len() {
            let mut r = Reader::new(&buf[..cut]);
            if cut == 0 {
                assert!(r.done());
                continue;
            }
            assert!(matches!(r.batch_op(), Err(EngineError::InvalidArgument(_))), "cut {cut}");
        }
    }

    #[test]
    fn huge_length_prefix_is_rejected() {
        let buf = [OP_DELETE, 0, 0xff, 0xff, 0xff, 0xff];
        assert!(Reader::new(&buf).batch_op().is_err());
    }

    #[test]
    fn unknown_op_is_rejected() {
        let buf = [9u8, 0, 0, 0, 0, 0];
        assert!(matches!(Reader::new(&buf).batch_op(), Err(EngineError::InvalidArgument(_))));
    }
}
