//! photon-native: the one N-API addon of PhotonCloud. Loaded only through `lib/native.ts`.
//! Errors cross as JS errors whose message starts with `[CODE] `; the TS loader turns that into
//! a typed error with `code`, so nothing in JS matches on free text.

mod engine;
mod file;
mod md5;
mod raft;

pub use engine::Database;

/// Converts an engine error to a JS error carrying its stable code.
pub(crate) fn js_err(e: photon_engine::EngineError) -> napi::Error {
    napi::Error::new(napi::Status::GenericFailure, format!("[{}] {}", e.code(), e))
}

/// Native version of the addon, to check that the loaded .node matches the TypeScript side.
#[napi_derive::napi]
pub fn native_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// Does nothing: lets benchmarks measure the bare cost of one N-API call.
#[napi_derive::napi]
pub fn noop(x: u32) -> u32 {
    x
}
