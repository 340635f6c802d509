//! GroupStorage against a real log store: appends, conflicting tails, compaction, reopen; and the
//! migration of a log left in RocksDB by an earlier version.

use std::sync::Arc;

use raft::eraftpb::Entry;
use raft::{GetEntriesContext, Storage};
use raft_engine::LogBatch;

use crate::log_store::{LogStore, LogStoreOptions};
use crate::storage::GroupStorage;

fn engine(dir: &std::path::Path) -> Arc<LogStore> {
    Arc::new(LogStore::open(dir, &LogStoreOptions::default()).unwrap())
}

/// Reopens the store in `dir` (what a restart sees).
fn reopen(e: Arc<LogStore>, dir: &std::path::Path) -> Arc<LogStore> {
    e.close();
    engine(dir)
}

fn ents(from: u64, to: u64, term: u64) -> Vec<Entry> {
    (from..=to)
        .map(|i| {
            let mut e = Entry::default();
            e.index = i;
            e.term = term;
            e.data = format!("e{i}").into_bytes().into();
            e
        })
        .collect()
}

#[test]
fn conflicting_tail_is_replaced_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path());
    let mut s = GroupStorage::load(e.clone(), 42).unwrap();
    assert!(s.is_empty());
    let mut b = LogBatch::default();
    s.append(&mut b, &ents(1, 10, 1)).unwrap();
    e.write(&mut b, true).unwrap();
    s.append(&mut b, &ents(5, 7, 2)).unwrap();
    e.write(&mut b, true).unwrap();
    assert_eq!(s.last_index().unwrap(), 7);
    let e = reopen(e, dir.path());
    let s2 = GroupStorage::load(e.clone(), 42).unwrap();
    assert_eq!(s2.last_index().unwrap(), 7);
    assert_eq!(s2.term(4).unwrap(), 1);
    assert_eq!(s2.term(5).unwrap(), 2);
    let got = s2.entries(3, 8, None, GetEntriesContext::empty(false)).unwrap();
    assert_eq!(got.iter().map(|e| (e.index, e.term)).collect::<Vec<_>>(), vec![(3, 1), (4, 1), (5, 2), (6, 2), (7, 2)]);
    // max_size keeps at least one entry and stops before exceeding the budget.
    assert_eq!(s2.entries(1, 8, Some(1), GetEntriesContext::empty(false)).unwrap().len(), 1);
    // Another group's keys are untouched by this one.
    assert!(GroupStorage::load(e, 43).unwrap().is_empty());
}

#[test]
fn compaction_moves_the_log_start_and_keeps_the_snapshot_data() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path());
    let mut s = GroupStorage::load(e.clone(), 1).unwrap();
    let mut b = LogBatch::default();
    s.append(&mut b, &ents(1, 10, 3)).unwrap();
    e.write(&mut b, true).unwrap();
    s.applied = 6;
    b = LogBatch::default();
    assert!(s.compact(&mut b, 8, None).is_err(), "cannot compact past applied");
    s.compact(&mut b, 6, Some(b"state@6")).unwrap();
    e.write(&mut b, true).unwrap();
    let e = reopen(e, dir.path());
    let s = GroupStorage::load(e, 1).unwrap();
    assert_eq!(s.first_index().unwrap(), 7);
    assert_eq!(s.term(6).unwrap(), 3);
    assert!(matches!(s.term(5), Err(raft::Error::Store(raft::StorageError::Compacted))));
    assert!(matches!(s.entries(5, 8, None, GetEntriesContext::empty(false)), Err(raft::Error::Store(raft::StorageError::Compacted))));
    assert_eq!(s.stored_snapshot().unwrap(), Some((6, 3, b"state@6".to_vec())));
    let mut s = s;
    s.applied = 9;
    let snap = s.snapshot(0, 2).unwrap();
    assert_eq!((snap.get_metadata().index, snap.get_metadata().term), (9, 3));
}

#[test]
fn a_rocksdb_log_of_an_earlier_version_is_migrated_once() {
    use crate::keys::*;
    use crate::RaftHost;
    use photon_engine::codec::{encode_op, BatchOp};
    use photon_engine::{Engine, EngineOptions};
    use protobuf::Message as _;
    use raft::eraftpb::{ConfState, HardState};

    let dir = tempfile::tempdir().unwrap();
    {
        // The layout of keys.rs, written the way the RocksDB-based versions wrote it.
        let o = EngineOptions { column_families: COLUMN_FAMILIES.iter().map(|s| s.to_string()).collect(), ..Default::default() };
        let old = Engine::open(dir.path(), &o).unwrap();
        let mut b = Vec::new();
        let mut hs = HardState::default();
        hs.term = 3;
        hs.vote = 1;
        hs.commit = 9;
        encode_op(&mut b, &BatchOp::Put { cf: CF_STATE, key: &state_key(7, TAG_HARD_STATE), value: &hs.write_to_bytes().unwrap() });
        let mut cs = ConfState::default();
        cs.voters = vec![1, 2, 3];
        let mut v = 5u64.to_le_bytes().to_vec();
        cs.write_to_vec(&mut v).unwrap();
        encode_op(&mut b, &BatchOp::Put { cf: CF_STATE, key: &state_key(7, TAG_CONF_STATE), value: &v });
        let mut meta = 5u64.to_le_bytes().to_vec();
        meta.extend_from_slice(&2u64.to_le_bytes());
        encode_op(&mut b, &BatchOp::Put { cf: CF_STATE, key: &state_key(7, TAG_SNAP_META), value: &meta });
        for e in ents(6, 12, 3) {
            let mut v = e.term.to_le_bytes().to_vec();
            e.write_to_vec(&mut v).unwrap();
            encode_op(&mut b, &BatchOp::Put { cf: CF_LOG, key: &log_key(7, e.index), value: &v });
        }
        old.write(&b, true).unwrap();
        old.close().unwrap();
    }
    for _ in 0..2 {
        let host = RaftHost::open(dir.path(), 1, LogStoreOptions::default()).unwrap();
        assert_eq!(host.stored_groups().unwrap(), vec![7]);
        let s = GroupStorage::load(host.log_store(), 7).unwrap();
        assert_eq!((s.hard_state().term, s.hard_state().vote, s.hard_state().commit), (3, 1, 9));
        assert_eq!(s.conf_state().0.voters, vec![1, 2, 3]);
        assert_eq!(s.conf_state().1, 5);
        assert_eq!(s.snapshot_point(), (5, 2));
        assert_eq!((s.first_index().unwrap(), s.last_index().unwrap()), (6, 12));
        let got = s.entries(6, 13, None, GetEntriesContext::empty(false)).unwrap();
        assert_eq!(got.iter().map(|e| (e.index, e.term, e.data.to_vec())).collect::<Vec<_>>(), ents(6, 12, 3).iter().map(|e| (e.index, e.term, e.data.to_vec())).collect::<Vec<_>>());
        assert!(!dir.path().join("CURRENT").exists(), "the RocksDB files are moved aside");
        assert!(dir.path().join("rocksdb-migrated").join("CURRENT").exists());
        drop(s);
        let mut host = host;
        host.close().unwrap();
    }
}

#[test]
fn sync_really_syncs_what_was_written_before() {
    // raft-engine's Engine::sync returns without syncing (an empty batch); ours must fsync.
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path());
    let mut s = GroupStorage::load(e.clone(), 3).unwrap();
    let mut b = LogBatch::default();
    s.append(&mut b, &ents(1, 3, 1)).unwrap();
    e.write(&mut b, false).unwrap();
    raft_engine::take_perf_context();
    e.sync().unwrap();
    assert!(raft_engine::get_perf_context().log_sync_duration > std::time::Duration::ZERO, "no fdatasync happened");
    assert_eq!(e.groups().unwrap(), vec![3], "the sync marker is not a group");
}

#[test]
fn entries_come_the_same_from_the_cache_and_from_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path());
    let mut s = GroupStorage::load(e.clone(), 9).unwrap();
    let mut b = LogBatch::default();
    // More than the cache holds, then a conflicting tail from another term.
    s.append(&mut b, &ents(1, 10_000, 1)).unwrap();
    e.write(&mut b, false).unwrap();
    s.append(&mut b, &ents(9_990, 10_005, 2)).unwrap();
    e.write(&mut b, true).unwrap();
    let key = |v: Vec<Entry>| v.iter().map(|x| (x.index, x.term, x.data.to_vec())).collect::<Vec<_>>();
    let recent = key(s.entries(9_980, 10_006, None, GetEntriesContext::empty(false)).unwrap()); // from the cache
    let old = key(s.entries(1, 40, None, GetEntriesContext::empty(false)).unwrap()); // beyond it: the files
    assert_eq!(recent.len(), 26);
    assert_eq!((recent[9].0, recent[9].1), (9_989, 1));
    assert_eq!((recent[10].0, recent[10].1), (9_990, 2));
    assert_eq!(old.len(), 39);
    assert_eq!(s.entries(9_980, 10_006, Some(1), GetEntriesContext::empty(false)).unwrap().len(), 1);
    let e = reopen(e, dir.path());
    let s2 = GroupStorage::load(e, 9).unwrap(); // empty cache: everything from the files
    assert_eq!(key(s2.entries(9_980, 10_006, None, GetEntriesContext::empty(false)).unwrap()), recent);
    assert_eq!(key(s2.entries(1, 40, None, GetEntriesContext::empty(false)).unwrap()), old);
}
