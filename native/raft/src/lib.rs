//! photon-raft: PhotonCloud's Raft layer. tikv's raft-rs provides the consensus algorithm;
//! this crate hosts many groups per process (`RaftHost`, groups keyed by u64), stores their logs
//! on photon-engine (RocksDB) with group commit — one synced write batch per ready cycle for all
//! groups, nothing handed out before it — and packs each cycle's output into one buffer for the
//! TypeScript driver (`raft/`). See docs/adr/0004-raft.md.

pub mod error;
pub mod host;
pub mod keys;
mod logger;
pub mod options;
pub mod pack;
mod ready;
pub mod storage;

pub use error::{RaftError, Result};
pub use host::RaftHost;
pub use options::{GroupOpened, GroupOptions, GroupStatus, HostStats};
pub use raft;
pub use storage::GroupStorage;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_storage;
