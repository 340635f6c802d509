//! Key layout of the Raft log database of earlier versions (one RocksDB per host, shared by all
//! its groups), read only to migrate it into the log store (migrate.rs).
//!
//! - column family `raft_log`:   `group:u64 BE | index:u64 BE` -> `term:u64 LE | Entry (protobuf)`
//! - column family `raft_state`: `group:u64 BE | tag:u8` -> per tag:
//!   - 1 hard state: `HardState` (protobuf)
//!   - 2 conf state: `conf_index:u64 LE | ConfState` (protobuf); `conf_index` is the log index of
//!     the last conf change folded into it, so a redelivered conf change entry is not applied twice
//!   - 3 snapshot metadata: `index:u64 LE | term:u64 LE` (the log is compacted up to `index`)
//!   - 4 snapshot data: `index:u64 LE | term:u64 LE | data` (optional: the application's state at
//!     that index, kept so a node whose application is not durable can restore after a restart)
//!
//! Big-endian group and index keep every group's log contiguous and ordered by index.

/// Column family names, in index order.
pub const COLUMN_FAMILIES: [&str; 2] = ["raft_log", "raft_state"];
/// Index of the log column family.
pub const CF_LOG: u8 = 0;
/// Index of the state column family.
pub const CF_STATE: u8 = 1;

/// Tag of the hard state key.
pub const TAG_HARD_STATE: u8 = 1;
/// Tag of the conf state key.
pub const TAG_CONF_STATE: u8 = 2;
/// Tag of the snapshot metadata key.
pub const TAG_SNAP_META: u8 = 3;
/// Tag of the stored snapshot data key.
pub const TAG_SNAP_DATA: u8 = 4;

/// Key of one log entry.
pub fn log_key(group: u64, index: u64) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&group.to_be_bytes());
    k[8..].copy_from_slice(&index.to_be_bytes());
    k
}

/// Key of one state record of a group.
pub fn state_key(group: u64, tag: u8) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[..8].copy_from_slice(&group.to_be_bytes());
    k[8] = tag;
    k
}

/// The group id of a state key, if the key is well formed.
pub fn group_of_state_key(key: &[u8]) -> Option<u64> {
    if key.len() != 9 {
        return None;
    }
    Some(u64::from_be_bytes(key[..8].try_into().ok()?))
}

/// Reads a little-endian u64 at `at`.
pub fn le_u64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_keys_sort_by_group_then_index() {
        assert!(log_key(1, 300) < log_key(2, 1));
        assert!(log_key(1, 2) < log_key(1, 256));
        assert_eq!(group_of_state_key(&state_key(77, TAG_CONF_STATE)), Some(77));
    }
}
