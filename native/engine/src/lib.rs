//! photon-engine: PhotonCloud's storage engine, RocksDB behind a small API built for crossing the
//! JS/native boundary per batch: packed write batches, packed multi-gets, scans that return many
//! pairs per call within count and byte limits, and snapshots that cannot outlive the database.

pub mod codec;
pub mod engine;
pub mod error;
pub mod ffi;
pub mod options;

pub use engine::{Engine, ScanRequest, ScanResult};
pub use error::{EngineError, Result};
pub use options::EngineOptions;

#[cfg(test)]
mod tests;
