//! JS binding of photon-raft: a `RaftHost` class whose methods each cross the boundary once per
//! batch (packed messages in, one packed ready out; formats in native/raft/src/host.rs).
//! Errors cross as `[RAFT:Code] message`; a panic inside raft-rs is caught, poisons the host
//! and surfaces as `RAFT:Internal` — it never unwinds into the JS engine.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use std::sync::Arc;

use napi::bindgen_prelude::{AsyncTask, Buffer, BufferSlice};
use napi::{Env, Result, Task};
use napi_derive::napi;
use photon_raft::{LogStore, LogStoreOptions};
use photon_raft::raft::eraftpb::{ConfChangeTransition, ConfChangeType};
use photon_raft::{GroupOptions, RaftError};

/// Options accepted by `RaftHost.open` (all optional).
#[napi(object)]
pub struct RaftHostOptions {
    /// Size of one log file, MiB (default 32).
    pub file_mb: Option<u32>,
    /// Obsolete log files kept preallocated for reuse, up to this total, MiB (default 256).
    pub purge_threshold_mb: Option<u32>,
    /// Persist asynchronously: `ready` issues its write without fsync and returns; the
    /// driver syncs with `persist()` off the JS thread and reports it with `persisted()`.
    pub async_persist: Option<bool>,
}

/// Options of one group (see photon_raft::GroupOptions; ids and indexes are JS numbers).
#[napi(object)]
pub struct RaftGroupOptions {
    pub voters: Option<Vec<f64>>,
    pub learners: Option<Vec<f64>>,
    pub applied: Option<f64>,
    pub election_tick: Option<u32>,
    pub heartbeat_tick: Option<u32>,
    pub max_size_per_msg: Option<f64>,
    pub max_inflight_msgs: Option<u32>,
    pub max_uncommitted_size: Option<f64>,
    pub max_committed_size_per_ready: Option<f64>,
    pub keep_snapshot_data: Option<bool>,
}

/// Result of `createGroup`.
#[napi(object)]
pub struct RaftGroupOpened {
    pub applied: f64,
    pub needs_snapshot: bool,
    pub snapshot_index: f64,
}

/// Status of one group. `progress` holds (node, matched) pairs flattened, leader only.
#[napi(object)]
pub struct RaftGroupStatus {
    pub id: f64,
    pub term: f64,
    pub vote: f64,
    pub commit: f64,
    pub applied: f64,
    pub first_index: f64,
    pub last_index: f64,
    pub leader: f64,
    pub role: u32,
    pub voters: Vec<f64>,
    pub learners: Vec<f64>,
    pub voters_outgoing: Vec<f64>,
    pub learners_next: Vec<f64>,
    pub auto_leave: bool,
    pub progress: Vec<f64>,
}

/// A snapshot kept in the log database.
#[napi(object)]
pub struct RaftStoredSnapshot {
    pub index: f64,
    pub term: f64,
    pub data: Buffer,
}

/// Work counters of a host.
#[napi(object)]
pub struct RaftHostStats {
    pub ready_cycles: f64,
    pub synced_writes: f64,
    pub unsynced_writes: f64,
    pub entries_persisted: f64,
}

/// Many Raft groups of one node over one RocksDB log database.
#[napi]
pub struct RaftHost {
    inner: photon_raft::RaftHost,
    /// Reused output buffer of `ready`/`propose`, copied once into a JS buffer per call.
    scratch: Vec<u8>,
}

const SCRATCH_KEEP: usize = 8 << 20;

#[napi]
impl RaftHost {
    /// Opens (or creates) the log database in directory `path` for node `nodeId`.
    #[napi(factory)]
    pub fn open(path: String, node_id: f64, options: Option<RaftHostOptions>) -> Result<RaftHost> {
        let node_id = id(node_id, "nodeId")?;
        let mut o = LogStoreOptions::default();
        let mut async_persist = false;
        if let Some(x) = options {
            if let Some(v) = x.file_mb { o.file_mb = v.into(); }
            if let Some(v) = x.purge_threshold_mb { o.purge_threshold_mb = v.into(); }
            async_persist = x.async_persist.unwrap_or(false);
        }
        let inner = guard_plain(|| {
            let mut h = photon_raft::RaftHost::open(Path::new(&path), node_id, o)?;
            h.set_async_persist(async_persist)?;
            Ok(h)
        })?;
        Ok(RaftHost { inner, scratch: Vec::with_capacity(64 << 10) })
    }

    /// This node's id.
    #[napi(getter)]
    pub fn node_id(&self) -> f64 {
        self.inner.node_id() as f64
    }

    /// Opens a group, bootstrapping it with `voters` when it has no stored state.
    #[napi]
    pub fn create_group(&mut self, group_id: f64, options: Option<RaftGroupOptions>) -> Result<RaftGroupOpened> {
        let group = id(group_id, "groupId")?;
        let o = group_options(options)?;
        let r = self.guard(|h| h.create_group(group, &o))?;
        Ok(RaftGroupOpened { applied: r.applied as f64, needs_snapshot: r.needs_snapshot, snapshot_index: r.snapshot_index as f64 })
    }

    /// Closes a group; with `destroy` its log and state are deleted.
    #[napi]
    pub fn remove_group(&mut self, group_id: f64, destroy: Option<bool>) -> Result<()> {
        let group = id(group_id, "groupId")?;
        self.guard(|h| h.remove_group(group, destroy.unwrap_or(false)))
    }

    /// Ids of the groups with state in the log database.
    #[napi]
    pub fn stored_groups(&mut self) -> Result<Vec<f64>> {
        Ok(self.guard(|h| h.stored_groups())?.into_iter().map(|g| g as f64).collect())
    }

    /// Ids of the open groups.
    #[napi]
    pub fn groups(&self) -> Vec<f64> {
        self.inner.groups().into_iter().map(|g| g as f64).collect()
    }

    /// Ticks every group once.
    #[napi]
    pub fn tick(&mut self) -> Result<()> {
        self.guard(|h| h.tick())
    }

    /// Steps packed messages `(groupId:u64 len:u32 eraftpb.Message)*`; returns the ids of
    /// groups not open here (their messages were skipped).
    #[napi]
    pub fn step(&mut self, packed: &[u8]) -> Result<Vec<f64>> {
        Ok(self.guard(|h| h.step(packed))?.into_iter().map(|g| g as f64).collect())
    }

    /// Steps a received MsgSnapshot (`message` without data) with its reassembled data.
    #[napi]
    pub fn step_snapshot(&mut self, group_id: f64, message: &[u8], data: &[u8]) -> Result<()> {
        let group = id(group_id, "groupId")?;
        self.guard(|h| h.step_snapshot(group, message, data.to_vec()))
    }

    /// Proposes packed entries `(groupId:u64 ctxLen:u32 ctx dataLen:u32 data)*`; returns one
    /// result per entry: `status:u8 a:u64 b:u64` (0 ok: index, term; 1 not leader: leader
    /// hint; 2 dropped; 3 no such group).
    #[napi]
    pub fn propose<'env>(&mut self, env: &'env Env, packed: &[u8]) -> Result<BufferSlice<'env>> {
        let mut out = std::mem::take(&mut self.scratch);
        out.clear();
        let r = self.guard(|h| h.propose_packed(packed, &mut out));
        let res = r.and_then(|_| BufferSlice::copy_from(env, &out));
        self.keep_scratch(out);
        res
    }

    /// Proposes a membership change: `changes` packed as `(type:u8 node:u64)*` (0 add voter or
    /// promote a learner, 1 remove, 2 add learner); `transition` 0 auto, 1 implicit joint,
    /// 2 explicit joint. Returns [index, term].
    #[napi]
    pub fn propose_conf_change(&mut self, group_id: f64, changes: &[u8], transition: u32, context: &[u8]) -> Result<Vec<f64>> {
        let group = id(group_id, "groupId")?;
        let mut list = Vec::new();
        let mut c = photon_raft::pack::Cursor::new(changes);
        while !c.done() {
            let t = match c.u8().map_err(raft_err)? {
                0 => ConfChangeType::AddNode,
                1 => ConfChangeType::RemoveNode,
                2 => ConfChangeType::AddLearnerNode,
                x => return Err(raft_err(RaftError::InvalidArgument(format!("conf change type {x}")))),
            };
            list.push((t, c.u64().map_err(raft_err)?));
        }
        let transition = match transition {
            0 => ConfChangeTransition::Auto,
            1 => ConfChangeTransition::Implicit,
            2 => ConfChangeTransition::Explicit,
            x => return Err(raft_err(RaftError::InvalidArgument(format!("transition {x}")))),
        };
        let (i, t) = self.guard(|h| h.propose_conf_change(group, &list, transition, context))?;
        Ok(vec![i as f64, t as f64])
    }

    /// Requests a read index; answered by a read state with `ctx` in a later ready.
    #[napi]
    pub fn read_index(&mut self, group_id: f64, ctx: &[u8]) -> Result<()> {
        let group = id(group_id, "groupId")?;
        self.guard(|h| h.read_index(group, ctx))
    }

    /// Starts a leadership transfer to node `to`.
    #[napi]
    pub fn transfer_leader(&mut self, group_id: f64, to: f64) -> Result<()> {
        let (group, to) = (id(group_id, "groupId")?, id(to, "to")?);
        self.guard(|h| h.transfer_leader(group, to))
    }

    /// Starts an election now.
    #[napi]
    pub fn campaign(&mut self, group_id: f64) -> Result<()> {
        let group = id(group_id, "groupId")?;
        self.guard(|h| h.campaign(group))
    }

    /// Reports that messages to `to` could not be delivered.
    #[napi]
    pub fn report_unreachable(&mut self, group_id: f64, to: f64) -> Result<()> {
        let (group, to) = (id(group_id, "groupId")?, id(to, "to")?);
        self.guard(|h| h.report_unreachable(group, to))
    }

    /// Reports the outcome of a snapshot stream to `to`.
    #[napi]
    pub fn report_snapshot(&mut self, group_id: f64, to: f64, ok: bool) -> Result<()> {
        let (group, to) = (id(group_id, "groupId")?, id(to, "to")?);
        self.guard(|h| h.report_snapshot(group, to, ok))
    }

    /// Compacts the log up to `index` (≤ applied), keeping `data` as the stored snapshot.
    #[napi]
    pub fn compact(&mut self, group_id: f64, index: f64, data: Option<&[u8]>) -> Result<()> {
        let (group, index) = (id(group_id, "groupId")?, id(index, "index")?);
        self.guard(|h| h.compact(group, index, data))
    }

    /// The snapshot kept for a group, or null.
    #[napi]
    pub fn stored_snapshot(&mut self, group_id: f64) -> Result<Option<RaftStoredSnapshot>> {
        let group = id(group_id, "groupId")?;
        Ok(self.guard(|h| h.stored_snapshot(group))?.map(|(i, t, d)| RaftStoredSnapshot {
            index: i as f64,
            term: t as f64,
            data: d.into(),
        }))
    }

    /// Status of one group.
    #[napi]
    pub fn status(&mut self, group_id: f64) -> Result<RaftGroupStatus> {
        let group = id(group_id, "groupId")?;
        let s = self.guard(|h| h.status(group))?;
        let f = |v: &[u64]| v.iter().map(|x| *x as f64).collect::<Vec<f64>>();
        Ok(RaftGroupStatus {
            id: s.id as f64,
            term: s.term as f64,
            vote: s.vote as f64,
            commit: s.commit as f64,
            applied: s.applied as f64,
            first_index: s.first_index as f64,
            last_index: s.last_index as f64,
            leader: s.leader as f64,
            role: s.role as u32,
            voters: f(&s.conf.voters),
            learners: f(&s.conf.learners),
            voters_outgoing: f(&s.conf.voters_outgoing),
            learners_next: f(&s.conf.learners_next),
            auto_leave: s.conf.auto_leave,
            progress: s.progress.iter().flat_map(|(n, m)| [*n as f64, *m as f64]).collect(),
        })
    }

    /// Work counters (ready cycles, synced writes, persisted entries).
    #[napi]
    pub fn stats(&self) -> RaftHostStats {
        let s = self.inner.stats();
        RaftHostStats {
            ready_cycles: s.ready_cycles as f64,
            synced_writes: s.synced_writes as f64,
            unsynced_writes: s.unsynced_writes as f64,
            entries_persisted: s.entries_persisted as f64,
        }
    }

    /// True when some group may have work for `ready`.
    #[napi]
    pub fn has_ready(&self) -> bool {
        self.inner.has_ready()
    }

    /// Runs one ready cycle; returns the packed ready or null when no group had work. Without
    /// async persistence, or with `syncNow`, the cycle's write is fsynced before it returns;
    /// otherwise it is issued without fsync and what depends on it waits for `persisted`.
    /// Call `advance()` once its committed entries are applied.
    #[napi]
    pub fn ready<'env>(&mut self, env: &'env Env, sync_now: Option<bool>) -> Result<Option<BufferSlice<'env>>> {
        let mut out = std::mem::take(&mut self.scratch);
        out.clear();
        let sync_now = sync_now.unwrap_or(false);
        let r = self.guard(|h| h.ready_with(&mut out, sync_now));
        let res = match r {
            Ok(0) => Ok(None),
            Ok(_) => BufferSlice::copy_from(env, &out).map(Some),
            Err(e) => Err(e),
        };
        self.keep_scratch(out);
        res
    }

    /// True when a written cycle waits for its WAL sync (async persistence): call `persist()`.
    #[napi]
    pub fn needs_persist(&self) -> bool {
        self.inner.needs_persist()
    }

    /// Sequence number of the last write waiting for a WAL sync (0 when none ever did).
    #[napi]
    pub fn written_seq(&self) -> f64 {
        self.inner.persist_target().map(|(_, s)| s as f64).unwrap_or(0.0)
    }

    /// The object that syncs this host's WAL off the JS thread (`syncer.sync(writtenSeq())`).
    /// A separate object because a pending async call keeps its receiver borrowed.
    #[napi]
    pub fn syncer(&self) -> Result<RaftLogSyncer> {
        let store = self.guard_ref(|h| Ok(h.log_store()))?;
        Ok(RaftLogSyncer { store })
    }

    /// Reports the WAL synced through write `seq` (from `persist`); returns the messages that
    /// waited for it, packed as `destCount:u32 (to:u64 len:u32 msgs)*`. The groups concerned
    /// get a ready (newly committed entries).
    #[napi]
    pub fn persisted<'env>(&mut self, env: &'env Env, seq: f64) -> Result<BufferSlice<'env>> {
        let seq = id(seq, "seq")?;
        let mut out = std::mem::take(&mut self.scratch);
        out.clear();
        let r = self.guard(|h| h.persisted(seq, &mut out));
        let res = r.and_then(|_| BufferSlice::copy_from(env, &out));
        self.keep_scratch(out);
        res
    }

    /// Declares the committed entries of the last ready applied.
    #[napi]
    pub fn advance(&mut self) -> Result<()> {
        self.guard(|h| h.advance())
    }

    /// Closes the log database; later calls fail with RAFT:Closed. Idempotent.
    #[napi]
    pub fn close(&mut self) -> Result<()> {
        self.guard(|h| h.close())
    }
}

impl RaftHost {
    /// Runs `f` on the host, turning errors into `[RAFT:Code]` JS errors and a panic into
    /// RAFT:Internal (poisoning the host, whose state the panic may have left half-updated).
    fn guard<T>(&mut self, f: impl FnOnce(&mut photon_raft::RaftHost) -> photon_raft::Result<T>) -> Result<T> {
        let inner = &mut self.inner;
        match catch_unwind(AssertUnwindSafe(|| f(inner))) {
            Ok(r) => r.map_err(raft_err),
            Err(p) => {
                let msg = panic_message(p);
                self.inner.poison(msg.clone());
                Err(raft_err(RaftError::Internal(msg)))
            }
        }
    }

    fn guard_ref<T>(&self, f: impl FnOnce(&photon_raft::RaftHost) -> photon_raft::Result<T>) -> Result<T> {
        match catch_unwind(AssertUnwindSafe(|| f(&self.inner))) {
            Ok(r) => r.map_err(raft_err),
            Err(p) => Err(raft_err(RaftError::Internal(panic_message(p)))),
        }
    }

    fn keep_scratch(&mut self, mut out: Vec<u8>) {
        if out.capacity() > SCRATCH_KEEP {
            out = Vec::with_capacity(64 << 10);
        }
        self.scratch = out;
    }
}

/// Syncs a host's log WAL on a worker thread (see `RaftHost.syncer`).
#[napi]
pub struct RaftLogSyncer {
    store: Arc<LogStore>,
}

#[napi]
impl RaftLogSyncer {
    /// Syncs the WAL: every write issued before the call is durable when the promise resolves
    /// (with `seq`, to pass to `RaftHost.persisted`). One at a time. Rejects with
    /// RAFT:StorageError or RAFT:Closed when the sync fails.
    #[napi(ts_return_type = "Promise<number>")]
    pub fn sync(&self, seq: f64) -> Result<AsyncTask<PersistTask>> {
        let seq = id(seq, "seq")?;
        Ok(AsyncTask::new(PersistTask { target: Some((self.store.clone(), seq)) }))
    }

    /// `sync` on the calling thread: blocks it for one fsync and returns `seq`. For a driver
    /// with nothing to overlap with the disk, it saves the round trip through a worker thread.
    /// @throws RAFT:StorageError or RAFT:Closed when the sync fails.
    #[napi]
    pub fn sync_now(&self, seq: f64) -> Result<f64> {
        id(seq, "seq")?;
        guard_plain(|| self.store.sync())?;
        Ok(seq)
    }
}

/// A WAL sync on a worker thread.
pub struct PersistTask {
    target: Option<(Arc<LogStore>, u64)>,
}

impl Task for PersistTask {
    type Output = u64;
    type JsValue = f64;

    fn compute(&mut self) -> Result<u64> {
        let Some((store, seq)) = &self.target else { return Ok(0) };
        match catch_unwind(AssertUnwindSafe(|| store.sync())) {
            Ok(Ok(())) => Ok(*seq),
            Ok(Err(e)) => Err(raft_err(e)),
            Err(p) => Err(raft_err(RaftError::Internal(panic_message(p)))),
        }
    }

    fn resolve(&mut self, _env: Env, seq: u64) -> Result<f64> {
        Ok(seq as f64)
    }

    fn finally(self, _env: Env) -> Result<()> {
        Ok(())
    }
}

fn guard_plain<T>(f: impl FnOnce() -> photon_raft::Result<T>) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r.map_err(raft_err),
        Err(p) => Err(raft_err(RaftError::Internal(panic_message(p)))),
    }
}

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        format!("panic: {s}")
    } else if let Some(s) = p.downcast_ref::<String>() {
        format!("panic: {s}")
    } else {
        "panic".into()
    }
}

/// Converts a Raft error to a JS error carrying its stable code.
fn raft_err(e: RaftError) -> napi::Error {
    napi::Error::new(napi::Status::GenericFailure, format!("[{}] {}", e.code(), e))
}

/// A u64 id or index from a JS number (a non-negative safe integer).
fn id(v: f64, what: &str) -> Result<u64> {
    if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= 9_007_199_254_740_991.0 {
        Ok(v as u64)
    } else {
        Err(raft_err(RaftError::InvalidArgument(format!("{what} must be a non-negative safe integer, got {v}"))))
    }
}

fn ids(v: Option<Vec<f64>>, what: &str) -> Result<Vec<u64>> {
    v.unwrap_or_default().into_iter().map(|x| id(x, what)).collect()
}

fn group_options(o: Option<RaftGroupOptions>) -> Result<GroupOptions> {
    let mut g = GroupOptions::default();
    let Some(o) = o else { return Ok(g) };
    g.voters = ids(o.voters, "voters")?;
    g.learners = ids(o.learners, "learners")?;
    if let Some(v) = o.applied { g.applied = id(v, "applied")?; }
    if let Some(v) = o.election_tick { g.election_tick = v as usize; }
    if let Some(v) = o.heartbeat_tick { g.heartbeat_tick = v as usize; }
    if let Some(v) = o.max_size_per_msg { g.max_size_per_msg = id(v, "maxSizePerMsg")?; }
    if let Some(v) = o.max_inflight_msgs { g.max_inflight_msgs = v as usize; }
    if let Some(v) = o.max_uncommitted_size { g.max_uncommitted_size = id(v, "maxUncommittedSize")?; }
    if let Some(v) = o.max_committed_size_per_ready { g.max_committed_size_per_ready = id(v, "maxCommittedSizePerReady")?; }
    if let Some(v) = o.keep_snapshot_data { g.keep_snapshot_data = v; }
    Ok(g)
}
