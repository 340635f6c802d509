//! photon-raft: PhotonCloud's Raft layer. tikv's raft-rs provides the consensus algorithm;
//! this crate hosts many groups per process (`RaftHost`, groups keyed by u64), stores their logs
//! in tikv's raft-engine (`LogStore`) with group commit — one write per ready cycle for all
//! groups, nothing handed out before it is durable — and packs each cycle's output into one buffer for the
//! TypeScript driver (`raft/`). See docs/adr/0004-raft.md.

pub mod error;
pub mod host;
pub mod keys;
pub mod log_store;
mod logger;
mod migrate;
pub mod options;
pub mod pack;
mod ready;
pub mod storage;

pub use error::{RaftError, Result};
pub use host::RaftHost;
pub use log_store::{LogStore, LogStoreOptions};
pub use options::{GroupOpened, GroupOptions, GroupStatus, HostStats};
pub use raft;
pub use storage::GroupStorage;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_storage;
