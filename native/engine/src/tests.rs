//! Unit tests of the engine against a real RocksDB in a temporary directory.

use crate::codec::{encode_op, BatchOp, Reader};
use crate::{Engine, EngineError, EngineOptions, ScanRequest};

fn open(dir: &tempfile::TempDir, cfs: &[&str]) -> Engine {
    let opts = EngineOptions { column_families: cfs.iter().map(|s| s.to_string()).collect(), ..Default::default() };
    Engine::open(dir.path(), &opts).unwrap()
}

fn get(e: &Engine, cf: u8, k: &[u8]) -> Option<Vec<u8>> {
    e.get_with(cf, k, None, |v| v.map(|v| v.to_vec())).unwrap()
}

fn pairs(data: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut r = Reader::new(data);
    let mut out = Vec::new();
    while !r.done() {
        out.push((r.bytes().unwrap().to_vec(), r.bytes().unwrap().to_vec()));
    }
    out
}

#[test]
fn put_get_delete_per_column_family() {
    let dir = tempfile::tempdir().unwrap();
    let e = open(&dir, &["a", "b"]);
    e.put(0, b"k", b"va", false).unwrap();
    e.put(1, b"k", b"vb", true).unwrap();
    assert_eq!(get(&e, 0, b"k").as_deref(), Some(&b"va"[..]));
    assert_eq!(get(&e, 1, b"k").as_deref(), Some(&b"vb"[..]));
    e.delete(0, b"k", false).unwrap();
    assert_eq!(get(&e, 0, b"k"), None);
    assert!(matches!(e.put(7, b"k", b"v", false), Err(EngineError::InvalidArgument(_))));
}

#[test]
fn batch_is_atomic_and_malformed_batch_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let e = open(&dir, &["a"]);
    let mut buf = Vec::new();
    encode_op(&mut buf, &BatchOp::Put { cf: 0, key: b"x", value: b"1" });
    encode_op(&mut buf, &BatchOp::Put { cf: 0, key: b"y", value: b"2" });
    assert_eq!(e.write(&buf, true).unwrap(), 2);
    assert_eq!(get(&e, 0, b"y").as_deref(), Some(&b"2"[..]));

    let mut bad = Vec::new();
    encode_op(&mut bad, &BatchOp::Put { cf: 0, key: b"z", value: b"3" });
    bad.push(42); // garbage op
    assert!(e.write(&bad, false).is_err());
    assert_eq!(get(&e, 0, b"z"), None);
}

#[test]
fn delete_range_removes_half_open_interval() {
    let dir = tempfile::tempdir().unwrap();
    let e = open(&dir, &[]);
    for k in [b"a", b"b", b"c", b"d"] {
        e.put(0, k, b"v", false).unwrap();
    }
    e.delete_range(0, b"b", b"d", false).unwrap();
    let res = e.scan(&ScanRequest::default()).unwrap();
    let keys: Vec<_> = pairs(&res.data).into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, vec![b"a".to_vec(), b"d".to_vec()]);
}

#[test]
fn scans_forward_reverse_with_limits() {
    let dir = tempfile::tempdir().unwrap();
    let e = open(&dir, &[]);
    for i in 0..100u32 {
        e.put(0, format!("k{i:03}").as_bytes(), &[b'v'; 10], false).unwrap();
    }
    let req = ScanRequest { start: b"k010", end: Some(b"k020"), ..Default::default() };
    let res = e.scan(&req).unwrap();
    assert_eq!(res.count, 10);
    assert!(!res.more);
    let keys: Vec<_> = pairs(&res.data).into_iter().map(|(k, _)| String::from_utf8(k).unwrap()).collect();
    assert_eq!(keys.first().unwrap(), "k010");
    assert_eq!(keys.last().unwrap(), "k019");

    let rev = e.scan(&ScanRequest { reverse: true, limit: 3, ..req.clone() }).unwrap();
    let keys: Vec<_> = pairs(&rev.data).into_iter().map(|(k, _)| String::from_utf8(k).unwrap()).collect();
    assert_eq!(keys, vec!["k019", "k018", "k017"]);
    assert!(rev.more);

    let small = e.scan(&ScanRequest { max_bytes: 1, ..Default::default() }).unwrap();
    assert_eq!(small.count, 1, "a byte limit still returns one pair");
    assert!(small.more);

    let keys_only = e.scan(&ScanRequest { keys_only: true, limit: 1, ..Default::default() }).unwrap();
    assert_eq!(pairs(&keys_only.data)[0].1.len(), 0);
}

#[test]
fn snapshot_sees_the_past_and_dies_with_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let e = open(&dir, &[]);
    e.put(0, b"k", b"old", false).unwrap();
    let s = e.snapshot().unwrap();
    e.put(0, b"k", b"new", false).unwrap();
    assert_eq!(e.get_with(0, b"k", Some(s), |v| v.map(|v| v.to_vec())).unwrap().as_deref(), Some(&b"old"[..]));
    let res = e.scan(&ScanRequest { snapshot: Some(s), ..Default::default() }).unwrap();
    assert_eq!(pairs(&res.data)[0].1, b"old");
    e.close().unwrap();
    assert!(matches!(e.get_with(0, b"k", Some(s), |_| ()), Err(EngineError::Closed)));
    assert!(matches!(e.release_snapshot(s), Err(EngineError::Closed)));
    e.close().unwrap(); // idempotent
}

#[test]
fn released_snapshot_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let e = open(&dir, &[]);
    let s = e.snapshot().unwrap();
    e.release_snapshot(s).unwrap();
    assert!(matches!(e.get_with(0, b"k", Some(s), |_| ()), Err(EngineError::NoSuchSnapshot(_))));
}

#[test]
fn multi_get_marks_missing_values() {
    let dir = tempfile::tempdir().unwrap();
    let e = open(&dir, &[]);
    e.put(0, b"a", b"1", false).unwrap();
    let mut keys = Vec::new();
    crate::codec::put_bytes(&mut keys, b"a");
    crate::codec::put_bytes(&mut keys, b"nope");
    let out = e.multi_get(0, &keys, None).unwrap();
    assert_eq!(&out[..4], &1u32.to_le_bytes());
    assert_eq!(&out[4..5], b"1");
    assert_eq!(&out[5..9], &u32::MAX.to_le_bytes());
}

#[test]
fn data_survives_reopen_and_second_open_is_busy() {
    let dir = tempfile::tempdir().unwrap();
    let e = open(&dir, &["a"]);
    e.put(0, b"k", b"v", true).unwrap();
    let second = Engine::open(dir.path(), &EngineOptions::default());
    assert!(matches!(second, Err(EngineError::Busy(_))), "{:?}", second.err());
    e.flush().unwrap();
    e.compact(0, None, None).unwrap();
    e.close().unwrap();
    let e = open(&dir, &["a"]);
    assert_eq!(get(&e, 0, b"k").as_deref(), Some(&b"v"[..]));
}
