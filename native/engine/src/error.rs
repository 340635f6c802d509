//! The engine's one error type. Every variant has a stable code that surfaces unchanged in JS
//! (`ENGINE:<Name>`), so callers branch on the code, never on the message.

/// Everything the engine can fail with.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The database was closed; every handle derived from it is now invalid.
    #[error("database is closed")]
    Closed,
    /// The caller passed something malformed (bad packed buffer, unknown column family...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The data directory is locked by another process or is not a database we can open.
    #[error("database busy or locked: {0}")]
    Busy(String),
    /// Stored data failed a checksum or structural check.
    #[error("corruption: {0}")]
    Corruption(String),
    /// The operating system refused an I/O operation (disk full, permissions...).
    #[error("i/o error: {0}")]
    Io(String),
    /// The snapshot handle was released or belongs to a closed database.
    #[error("snapshot {0} is not open")]
    NoSuchSnapshot(u32),
    /// Anything else RocksDB reported.
    #[error("storage error: {0}")]
    Storage(String),
}

impl EngineError {
    /// The stable, namespaced code of this error (`ENGINE:Closed`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            EngineError::Closed => "ENGINE:Closed",
            EngineError::InvalidArgument(_) => "ENGINE:InvalidArgument",
            EngineError::Busy(_) => "ENGINE:Busy",
            EngineError::Corruption(_) => "ENGINE:Corruption",
            EngineError::Io(_) => "ENGINE:IoError",
            EngineError::NoSuchSnapshot(_) => "ENGINE:NoSuchSnapshot",
            EngineError::Storage(_) => "ENGINE:StorageError",
        }
    }
}

impl From<rocksdb::Error> for EngineError {
    fn from(e: rocksdb::Error) -> Self {
        use rocksdb::ErrorKind as K;
        let kind = e.kind();
        let msg = e.into_string();
        match kind {
            K::InvalidArgument | K::NotSupported => EngineError::InvalidArgument(msg),
            K::Busy | K::TryAgain => EngineError::Busy(msg),
            K::Corruption => EngineError::Corruption(msg),
            // RocksDB reports a LOCK file held by another process as an IO error.
            K::IOError if msg.contains("lock") => EngineError::Busy(msg),
            K::IOError => EngineError::Io(msg),
            _ => EngineError::Storage(msg),
        }
    }
}

/// Result alias used throughout the engine.
pub type Result<T> = std::result::Result<T, EngineError>;
