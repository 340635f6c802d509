//! GroupStorage against a real RocksDB: appends, conflicting tails, compaction, reopen.

use std::sync::Arc;

use photon_engine::{Engine, EngineOptions};
use raft::eraftpb::Entry;
use raft::{GetEntriesContext, Storage};

use crate::keys::COLUMN_FAMILIES;
use crate::storage::GroupStorage;

fn engine(dir: &std::path::Path) -> Arc<Engine> {
    let o = EngineOptions { column_families: COLUMN_FAMILIES.iter().map(|s| s.to_string()).collect(), ..Default::default() };
    Arc::new(Engine::open(dir, &o).unwrap())
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
    let mut b = Vec::new();
    s.append(&mut b, &ents(1, 10, 1)).unwrap();
    e.write(&b, true).unwrap();
    b.clear();
    s.append(&mut b, &ents(5, 7, 2)).unwrap();
    e.write(&b, true).unwrap();
    assert_eq!(s.last_index().unwrap(), 7);
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
    let mut b = Vec::new();
    s.append(&mut b, &ents(1, 10, 3)).unwrap();
    e.write(&b, true).unwrap();
    s.applied = 6;
    b.clear();
    assert!(s.compact(&mut b, 8, None).is_err(), "cannot compact past applied");
    s.compact(&mut b, 6, Some(b"state@6")).unwrap();
    e.write(&b, true).unwrap();
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
