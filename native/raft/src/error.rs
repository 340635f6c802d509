//! The Raft layer's one error type. Every variant has a stable code that surfaces unchanged in
//! JS (`RAFT:<Name>`), so callers branch on the code, never on the message.

/// Everything the Raft host can fail with.
#[derive(Debug, thiserror::Error)]
pub enum RaftError {
    /// This node is not the group's leader; `leader` is the last known leader (0 = unknown).
    #[error("not the leader of group {group}; leader hint {leader}")]
    NotLeader { group: u64, leader: u64 },
    /// Raft dropped the proposal (leadership transfer in progress, uncommitted log too large,
    /// a conf change already pending...). Retrying later may succeed.
    #[error("proposal dropped by group {0}")]
    ProposalDropped(u64),
    /// No group with this id is open in the host.
    #[error("no open group {0}")]
    NoSuchGroup(u64),
    /// A group with this id is already open.
    #[error("group {0} is already open")]
    GroupExists(u64),
    /// The caller passed something malformed (bad packed buffer, bad index, bad option).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A membership change was refused (unknown node, already joint, ...).
    #[error("conf change refused: {0}")]
    ConfChange(String),
    /// The group's log was compacted past the requested index.
    #[error("log compacted: {0}")]
    Compacted(String),
    /// The host was closed.
    #[error("raft host is closed")]
    Closed,
    /// The log storage failed (the RocksDB error's code is kept in the message).
    #[error("storage error: [{code}] {message}")]
    Storage { code: &'static str, message: String },
    /// A bug or a violated raft invariant (a caught panic). The host refuses further work.
    #[error("internal error: {0}")]
    Internal(String),
}

impl RaftError {
    /// The stable, namespaced code of this error (`RAFT:NotLeader`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            RaftError::NotLeader { .. } => "RAFT:NotLeader",
            RaftError::ProposalDropped(_) => "RAFT:ProposalDropped",
            RaftError::NoSuchGroup(_) => "RAFT:NoSuchGroup",
            RaftError::GroupExists(_) => "RAFT:GroupExists",
            RaftError::InvalidArgument(_) => "RAFT:InvalidArgument",
            RaftError::ConfChange(_) => "RAFT:ConfChangeRefused",
            RaftError::Compacted(_) => "RAFT:Compacted",
            RaftError::Closed => "RAFT:Closed",
            RaftError::Storage { .. } => "RAFT:StorageError",
            RaftError::Internal(_) => "RAFT:Internal",
        }
    }
}

impl From<photon_engine::EngineError> for RaftError {
    fn from(e: photon_engine::EngineError) -> Self {
        match e {
            photon_engine::EngineError::Closed => RaftError::Closed,
            e => RaftError::Storage { code: e.code(), message: e.to_string() },
        }
    }
}

impl From<raft::Error> for RaftError {
    fn from(e: raft::Error) -> Self {
        use raft::Error as E;
        match e {
            E::ProposalDropped => RaftError::ProposalDropped(0),
            E::Exists { .. } | E::NotExists { .. } | E::ConfChangeError(_) => RaftError::ConfChange(e.to_string()),
            E::ConfigInvalid(m) => RaftError::InvalidArgument(m),
            E::CodecError(c) => RaftError::InvalidArgument(format!("protobuf: {c}")),
            E::Store(raft::StorageError::Compacted) => RaftError::Compacted(e.to_string()),
            other => RaftError::Internal(other.to_string()),
        }
    }
}

impl From<protobuf::ProtobufError> for RaftError {
    fn from(e: protobuf::ProtobufError) -> Self {
        RaftError::InvalidArgument(format!("protobuf: {e}"))
    }
}

/// Result alias used throughout the crate.
pub type Result<T> = std::result::Result<T, RaftError>;
