//! Options, results and status types of the host.

use raft::eraftpb::ConfState;

/// Options of one group. Membership is used only when the group has no stored state
/// (bootstrap); a node that joins an existing group opens it with no voters and is brought up
/// by a snapshot from the leader.
#[derive(Clone, Debug)]
pub struct GroupOptions {
    /// Initial voters when bootstrapping a new group (every initial member passes the same).
    pub voters: Vec<u64>,
    /// Initial learners when bootstrapping.
    pub learners: Vec<u64>,
    /// The highest index the application has durably applied (0 = it starts empty).
    pub applied: u64,
    /// Ticks without a leader before an election (randomised in [e, 2e)).
    pub election_tick: usize,
    /// Ticks between heartbeats.
    pub heartbeat_tick: usize,
    /// Upper bound of entry bytes in one append message.
    pub max_size_per_msg: u64,
    /// In-flight append messages per follower.
    pub max_inflight_msgs: usize,
    /// Bytes of uncommitted entries the leader accepts before dropping proposals (0 = no limit).
    pub max_uncommitted_size: u64,
    /// Bytes of committed entries handed out per cycle.
    pub max_committed_size_per_ready: u64,
    /// Keep received snapshots' data (and data given to `compact`) in the log database, so an
    /// application that does not persist its own state can be restored after a restart.
    pub keep_snapshot_data: bool,
}

impl Default for GroupOptions {
    fn default() -> Self {
        GroupOptions {
            voters: Vec::new(),
            learners: Vec::new(),
            applied: 0,
            election_tick: 10,
            heartbeat_tick: 1,
            max_size_per_msg: 1 << 20,
            max_inflight_msgs: 256,
            max_uncommitted_size: 0,
            max_committed_size_per_ready: 16 << 20,
            keep_snapshot_data: true,
        }
    }
}

/// What the driver must do after opening a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupOpened {
    /// The applied index Raft starts from (committed entries after it will be handed out).
    pub applied: u64,
    /// The application is behind the log's start: install the stored snapshot first.
    pub needs_snapshot: bool,
    /// Index of the log's start (the snapshot point).
    pub snapshot_index: u64,
}

/// A group's state, for status reports.
#[derive(Clone, Debug, Default)]
pub struct GroupStatus {
    pub id: u64,
    pub term: u64,
    pub vote: u64,
    pub commit: u64,
    pub applied: u64,
    pub first_index: u64,
    pub last_index: u64,
    pub leader: u64,
    pub role: u8,
    pub conf: ConfState,
    /// For a leader: (node, matched index) of every peer; empty otherwise.
    pub progress: Vec<(u64, u64)>,
}

/// Counters of the host's work (cycles, fsyncs, persisted entries).
#[derive(Clone, Debug, Default)]
pub struct HostStats {
    pub ready_cycles: u64,
    pub synced_writes: u64,
    pub unsynced_writes: u64,
    pub entries_persisted: u64,
}
