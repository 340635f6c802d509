//! In-process clusters over RaftHost: messages are routed in memory between hosts that each
//! have their own RocksDB in a temp dir, so persistence and restarts are real.

use std::collections::HashMap;

use raft::eraftpb::{ConfChangeTransition, ConfChangeType};

use crate::pack::Cursor;
use crate::{GroupOptions, RaftHost};

/// One decoded group section of a packed ready.
#[derive(Debug, Default)]
struct GroupReady {
    group: u64,
    term: u64,
    commit: u64,
    leader: u64,
    role: u8,
    snapshot: Option<(u64, u64, Vec<u8>)>,
    voters: Option<Vec<u64>>,
    learners: Option<Vec<u64>>,
    reads: Vec<(u64, Vec<u8>)>,
    entries: Vec<(u8, u64, u64, Vec<u8>, Vec<u8>)>,
}

#[derive(Debug, Default)]
struct ReadyView {
    groups: Vec<GroupReady>,
    dests: Vec<(u64, Vec<u8>)>,
    snaps: Vec<(u64, u64, u64, Vec<u8>)>,
}

fn ids(c: &mut Cursor) -> Vec<u64> {
    let n = c.u32().unwrap();
    (0..n).map(|_| c.u64().unwrap()).collect()
}

fn decode(buf: &[u8]) -> ReadyView {
    let mut c = Cursor::new(buf);
    let mut v = ReadyView::default();
    for _ in 0..c.u32().unwrap() {
        let mut g = GroupReady { group: c.u64().unwrap(), ..Default::default() };
        let flags = c.u8().unwrap();
        g.term = c.u64().unwrap();
        g.commit = c.u64().unwrap();
        g.leader = c.u64().unwrap();
        g.role = c.u8().unwrap();
        let _last = c.u64().unwrap();
        if flags & 1 != 0 {
            g.snapshot = Some((c.u64().unwrap(), c.u64().unwrap(), c.bytes().unwrap().to_vec()));
        }
        if flags & 2 != 0 {
            c.u8().unwrap();
            g.voters = Some(ids(&mut c));
            g.learners = Some(ids(&mut c));
            ids(&mut c);
            ids(&mut c);
        }
        for _ in 0..c.u32().unwrap() {
            g.reads.push((c.u64().unwrap(), c.bytes().unwrap().to_vec()));
        }
        for _ in 0..c.u32().unwrap() {
            let t = c.u8().unwrap();
            let (i, term) = (c.u64().unwrap(), c.u64().unwrap());
            let ctx = c.bytes().unwrap().to_vec();
            let data = c.bytes().unwrap().to_vec();
            g.entries.push((t, i, term, ctx, data));
        }
        v.groups.push(g);
    }
    for _ in 0..c.u32().unwrap() {
        v.dests.push((c.u64().unwrap(), c.bytes().unwrap().to_vec()));
    }
    for _ in 0..c.u32().unwrap() {
        let (g, to, index, _term) = (c.u64().unwrap(), c.u64().unwrap(), c.u64().unwrap(), c.u64().unwrap());
        v.snaps.push((g, to, index, c.bytes().unwrap().to_vec()));
    }
    assert!(c.done());
    v
}

fn decode_dests(buf: &[u8]) -> Vec<(u64, Vec<u8>)> {
    let mut c = Cursor::new(buf);
    let mut out = Vec::new();
    for _ in 0..c.u32().unwrap() {
        let to = c.u64().unwrap();
        out.push((to, c.bytes().unwrap().to_vec()));
    }
    out
}

/// The test application: per group, the list of applied payloads (snapshot = the list joined).
#[derive(Default, Clone)]
struct App {
    groups: HashMap<u64, Vec<Vec<u8>>>,
    applied: HashMap<u64, u64>,
    reads: HashMap<u64, Vec<(u64, Vec<u8>)>>,
}

impl App {
    fn snapshot(&self, g: u64) -> Vec<u8> {
        let mut out = Vec::new();
        for d in self.groups.get(&g).map(|v| v.as_slice()).unwrap_or_default() {
            crate::pack::bytes(&mut out, d);
        }
        out
    }
    fn install(&mut self, g: u64, data: &[u8]) {
        let mut c = Cursor::new(data);
        let mut v = Vec::new();
        while !c.done() {
            v.push(c.bytes().unwrap().to_vec());
        }
        self.groups.insert(g, v);
    }
}

struct Node {
    host: Option<RaftHost>,
    app: App,
    leader_of: HashMap<u64, u64>,
    role_of: HashMap<u64, u8>,
}

struct Cluster {
    dir: tempfile::TempDir,
    nodes: HashMap<u64, Node>,
    inbox: HashMap<u64, Vec<u8>>,
    snap_inbox: Vec<(u64, u64, Vec<u8>, Vec<u8>)>,
    /// Nodes whose traffic is dropped (a partition).
    cut: Vec<u64>,
    /// Hosts persist asynchronously; each node's pending writes are synced at the start of
    /// its next cycle (so followers answer one cycle late, as with a slow disk).
    async_persist: bool,
}

fn opts(voters: &[u64]) -> GroupOptions {
    GroupOptions { voters: voters.to_vec(), election_tick: 10, heartbeat_tick: 1, ..Default::default() }
}

impl Cluster {
    fn new(ids: &[u64], groups: &[u64]) -> Cluster {
        Cluster::with_persistence(ids, groups, false)
    }

    fn with_persistence(ids: &[u64], groups: &[u64], async_persist: bool) -> Cluster {
        let mut c = Cluster {
            dir: tempfile::tempdir().unwrap(),
            nodes: HashMap::new(),
            inbox: HashMap::new(),
            snap_inbox: Vec::new(),
            cut: Vec::new(),
            async_persist,
        };
        for id in ids {
            c.start(*id, groups, ids);
        }
        c
    }

    fn start(&mut self, id: u64, groups: &[u64], voters: &[u64]) {
        let mut host = RaftHost::open(&self.dir.path().join(format!("n{id}")), id, Default::default()).unwrap();
        host.set_async_persist(self.async_persist).unwrap();
        let mut app = App::default();
        for g in groups {
            let opened = host.create_group(*g, &opts(voters)).unwrap();
            if opened.needs_snapshot {
                let (i, _, data) = host.stored_snapshot(*g).unwrap().expect("stored snapshot");
                app.install(*g, &data);
                app.applied.insert(*g, i);
            }
        }
        self.nodes.insert(id, Node { host: Some(host), app, leader_of: HashMap::new(), role_of: HashMap::new() });
    }

    fn stop(&mut self, id: u64) {
        let n = self.nodes.get_mut(&id).unwrap();
        n.host.take().unwrap().close().unwrap();
    }

    fn host(&mut self, id: u64) -> &mut RaftHost {
        self.nodes.get_mut(&id).unwrap().host.as_mut().unwrap()
    }

    fn tick(&mut self) {
        for n in self.nodes.values_mut() {
            if let Some(h) = n.host.as_mut() {
                h.tick().unwrap();
            }
        }
    }

    /// One cycle on every live node, then delivery of everything sent.
    fn cycle(&mut self) {
        let ids: Vec<u64> = self.nodes.keys().copied().collect();
        for id in ids {
            let n = self.nodes.get_mut(&id).unwrap();
            let Some(h) = n.host.as_mut() else { continue };
            if self.async_persist {
                let mut released = Vec::new();
                h.sync_now(&mut released).unwrap();
                for (to, msgs) in decode_dests(&released) {
                    if !self.cut.contains(&to) && !self.cut.contains(&id) {
                        self.inbox.entry(to).or_default().extend_from_slice(&msgs);
                    }
                }
            }
            let mut buf = Vec::new();
            if h.ready(&mut buf).unwrap() == 0 {
                continue;
            }
            let v = decode(&buf);
            // Snapshot data is taken before this cycle's entries are applied.
            for (g, to, _, msg) in &v.snaps {
                let data = n.app.snapshot(*g);
                self.snap_inbox.push((*to, *g, msg.clone(), data));
                h.report_snapshot(*g, *to, true).unwrap();
            }
            for (to, msgs) in v.dests {
                if self.cut.contains(&to) || self.cut.contains(&id) {
                    continue;
                }
                self.inbox.entry(to).or_default().extend_from_slice(&msgs);
            }
            for g in v.groups {
                n.leader_of.insert(g.group, g.leader);
                n.role_of.insert(g.group, g.role);
                if let Some((i, _, data)) = &g.snapshot {
                    n.app.install(g.group, data);
                    n.app.applied.insert(g.group, *i);
                }
                for (t, i, _, _, data) in g.entries {
                    if t == 0 && !data.is_empty() {
                        n.app.groups.entry(g.group).or_default().push(data);
                    }
                    n.app.applied.insert(g.group, i);
                }
                n.app.reads.entry(g.group).or_default().extend(g.reads);
            }
            h.advance().unwrap();
        }
        for (to, msgs) in std::mem::take(&mut self.inbox) {
            if let Some(h) = self.nodes.get_mut(&to).and_then(|n| n.host.as_mut()) {
                h.step(&msgs).unwrap();
            }
        }
        for (to, g, msg, data) in std::mem::take(&mut self.snap_inbox) {
            if self.cut.contains(&to) {
                continue;
            }
            if let Some(h) = self.nodes.get_mut(&to).and_then(|n| n.host.as_mut()) {
                h.step_snapshot(g, &msg, data).unwrap();
            }
        }
    }

    fn run(&mut self, rounds: usize) {
        for r in 0..rounds {
            if r % 3 == 0 {
                self.tick();
            }
            self.cycle();
        }
    }

    fn leader(&self, g: u64) -> Option<u64> {
        self.nodes
            .iter()
            .filter(|(id, n)| n.host.is_some() && !self.cut.contains(id) && n.role_of.get(&g) == Some(&2))
            .map(|(id, _)| *id)
            .max_by_key(|id| self.nodes[id].host.as_ref().unwrap().status(g).unwrap().term)
    }

    fn elect(&mut self, g: u64) -> u64 {
        for _ in 0..300 {
            self.run(3);
            if let Some(l) = self.leader(g) {
                return l;
            }
        }
        panic!("no leader elected for group {g}");
    }

    fn data(&self, id: u64, g: u64) -> Vec<Vec<u8>> {
        self.nodes[&id].app.groups.get(&g).cloned().unwrap_or_default()
    }
}

fn propose_n(c: &mut Cluster, g: u64, from: usize, to: usize) {
    let l = c.elect(g);
    for i in from..to {
        c.host(l).propose(g, b"", format!("v{i}").as_bytes()).unwrap();
        if i % 10 == 9 {
            c.run(2);
        }
    }
    c.run(30);
}

fn expect_values(n: usize) -> Vec<Vec<u8>> {
    (0..n).map(|i| format!("v{i}").into_bytes()).collect()
}

#[test]
fn elects_a_leader_and_replicates_in_order() {
    let mut c = Cluster::new(&[1, 2, 3], &[1]);
    propose_n(&mut c, 1, 0, 50);
    for id in [1, 2, 3] {
        assert_eq!(c.data(id, 1), expect_values(50), "node {id}");
    }
}

#[test]
fn group_commit_syncs_once_per_cycle_for_all_groups() {
    let mut c = Cluster::new(&[1, 2, 3], &[1, 2, 3, 4]);
    for g in 1..=4 {
        c.elect(g);
    }
    c.run(10);
    // Make node 1 lead every group so one cycle there carries proposals of all four.
    for g in 1..=4 {
        let l = c.leader(g).unwrap();
        if l != 1 {
            c.host(l).transfer_leader(g, 1).unwrap();
        }
    }
    for _ in 0..100 {
        c.run(3);
        if (1..=4).all(|g| c.leader(g) == Some(1)) {
            break;
        }
    }
    assert!((1..=4).all(|g| c.leader(g) == Some(1)));
    let before = c.host(1).stats();
    for g in 1..=4 {
        for i in 0..5 {
            c.host(1).propose(g, b"", format!("g{g}-{i}").as_bytes()).unwrap();
        }
    }
    let mut buf = Vec::new();
    let n = c.host(1).ready(&mut buf).unwrap();
    assert_eq!(n, 4);
    let after = c.host(1).stats();
    assert_eq!(after.synced_writes - before.synced_writes, 1, "one fsync for four groups");
    assert_eq!(after.entries_persisted - before.entries_persisted, 20);
    // Nothing is committed before the followers acknowledge: no entries handed out yet.
    let v = decode(&buf);
    assert!(v.groups.iter().all(|g| g.entries.is_empty()));
    assert_eq!(v.dests.len(), 2, "messages grouped per destination");
    c.host(1).advance().unwrap();
    for (to, msgs) in v.dests {
        c.host(to).step(&msgs).unwrap();
    }
    c.run(20);
    for g in 1..=4u64 {
        let want: Vec<Vec<u8>> = (0..5).map(|i| format!("g{g}-{i}").into_bytes()).collect();
        for id in [1, 2, 3] {
            assert_eq!(c.data(id, g), want);
        }
    }
}

#[test]
fn proposal_on_a_follower_reports_the_leader() {
    let mut c = Cluster::new(&[1, 2, 3], &[7]);
    let l = c.elect(7);
    c.run(10);
    let f = [1, 2, 3].into_iter().find(|x| *x != l).unwrap();
    match c.host(f).propose(7, b"", b"x") {
        Err(crate::RaftError::NotLeader { group: 7, leader }) => assert_eq!(leader, l),
        other => panic!("expected NotLeader, got {other:?}"),
    }
}

#[test]
fn restarted_node_keeps_its_log_and_catches_up() {
    let mut c = Cluster::new(&[1, 2, 3], &[1]);
    propose_n(&mut c, 1, 0, 20);
    let l = c.leader(1).unwrap();
    let victim = [1, 2, 3].into_iter().find(|x| *x != l).unwrap();
    c.stop(victim);
    propose_n(&mut c, 1, 20, 40);
    // Restart with an empty application: it is replayed from the log, then catches up.
    c.start(victim, &[1], &[1, 2, 3]);
    c.run(60);
    assert_eq!(c.data(victim, 1), expect_values(40));
    let st = c.host(victim).status(1).unwrap();
    assert!(st.commit >= 40 && st.applied == st.commit);
}

#[test]
fn compaction_then_snapshot_brings_up_a_lagging_node() {
    let mut c = Cluster::new(&[1, 2, 3], &[1]);
    propose_n(&mut c, 1, 0, 10);
    let l = c.leader(1).unwrap();
    let lag = [1, 2, 3].into_iter().find(|x| *x != l).unwrap();
    c.cut.push(lag);
    propose_n(&mut c, 1, 10, 60);
    for id in [1, 2, 3] {
        if id == lag {
            continue;
        }
        let applied = c.host(id).status(1).unwrap().applied;
        let data = c.nodes[&id].app.snapshot(1);
        c.host(id).compact(1, applied, Some(&data)).unwrap();
        assert_eq!(c.host(id).status(1).unwrap().first_index, applied + 1);
    }
    c.cut.clear();
    c.run(80);
    assert_eq!(c.data(lag, 1), expect_values(60));
    // The installed snapshot is kept: a restart with an empty application restores from it.
    c.stop(lag);
    c.start(lag, &[1], &[1, 2, 3]);
    assert_eq!(c.data(lag, 1).len() >= 10, true);
    c.run(30);
    assert_eq!(c.data(lag, 1), expect_values(60));
}

#[test]
fn learner_is_added_promoted_and_a_voter_removed() {
    let mut c = Cluster::new(&[1, 2, 3], &[1]);
    propose_n(&mut c, 1, 0, 5);
    c.start(4, &[], &[]);
    c.host(4).create_group(1, &opts(&[])).unwrap();
    let l = c.leader(1).unwrap();
    c.host(l).propose_conf_change(1, &[(ConfChangeType::AddLearnerNode, 4)], ConfChangeTransition::Auto, b"n4").unwrap();
    c.run(60);
    assert_eq!(c.data(4, 1), expect_values(5), "learner caught up through a snapshot");
    assert_eq!(c.host(4).status(1).unwrap().conf.learners, vec![4]);
    let l = c.elect(1);
    c.host(l).propose_conf_change(1, &[(ConfChangeType::AddNode, 4)], ConfChangeTransition::Auto, b"").unwrap();
    c.run(30);
    let mut voters = c.host(4).status(1).unwrap().conf.voters;
    voters.sort();
    assert_eq!(voters, vec![1, 2, 3, 4]);
    // Remove a voter that is not the leader, through joint consensus (two changes at once).
    let l = c.elect(1);
    let gone = [1, 2, 3].into_iter().find(|x| *x != l).unwrap();
    c.host(l)
        .propose_conf_change(1, &[(ConfChangeType::RemoveNode, gone), (ConfChangeType::AddLearnerNode, gone)], ConfChangeTransition::Auto, b"")
        .unwrap();
    c.run(60);
    let st = c.host(l).status(1).unwrap();
    assert!(!st.conf.voters.contains(&gone) && st.conf.voters_outgoing.is_empty(), "left the joint config: {:?}", st.conf);
    c.stop(gone);
    propose_n(&mut c, 1, 5, 15);
    assert_eq!(c.data(4, 1), expect_values(15));
}

#[test]
fn leader_transfer_and_read_index() {
    let mut c = Cluster::new(&[1, 2, 3], &[1]);
    propose_n(&mut c, 1, 0, 3);
    let l = c.leader(1).unwrap();
    let to = [1, 2, 3].into_iter().find(|x| *x != l).unwrap();
    c.host(l).transfer_leader(1, to).unwrap();
    c.run(20);
    assert_eq!(c.leader(1), Some(to));
    // A read index on a follower is answered with an index covering the last write.
    let f = [1, 2, 3].into_iter().find(|x| *x != to).unwrap();
    c.host(to).propose(1, b"", b"v3").unwrap();
    c.run(10);
    let commit = c.host(to).status(1).unwrap().commit;
    c.host(f).read_index(1, b"r1").unwrap();
    c.run(10);
    let reads = c.nodes[&f].app.reads.get(&1).cloned().unwrap_or_default();
    assert_eq!(reads.len(), 1);
    assert_eq!(reads[0].1, b"r1");
    assert!(reads[0].0 >= commit);
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = RaftHost::open(dir.path(), 1, Default::default()).unwrap();
    h.create_group(1, &opts(&[1])).unwrap();
    assert!(matches!(h.step(&[1, 2, 3]), Err(crate::RaftError::InvalidArgument(_))));
    let mut bad = Vec::new();
    crate::pack::u64_(&mut bad, 1);
    crate::pack::bytes(&mut bad, &[0xff, 0xff, 0xff]);
    assert!(h.step(&bad).is_err());
    assert!(matches!(h.propose(9, b"", b"x"), Err(crate::RaftError::NoSuchGroup(9))));
    assert!(matches!(h.create_group(1, &opts(&[1])), Err(crate::RaftError::GroupExists(1))));
    h.close().unwrap();
    assert!(matches!(h.tick(), Err(crate::RaftError::Closed)));
}

#[test]
fn single_node_group_commits_alone_and_lists_stored_groups() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = RaftHost::open(dir.path(), 1, Default::default()).unwrap();
    h.create_group(3, &opts(&[1])).unwrap();
    h.create_group(9, &opts(&[1])).unwrap();
    h.campaign(3).unwrap();
    let mut committed = 0;
    for _ in 0..10 {
        let mut buf = Vec::new();
        if h.ready(&mut buf).unwrap() > 0 {
            let v = decode(&buf);
            if v.groups.iter().any(|g| g.role == 2) && committed == 0 {
                h.advance().unwrap();
                h.propose(3, b"c", b"hello").unwrap();
                committed = 1;
                continue;
            }
            for g in &v.groups {
                for e in &g.entries {
                    if e.4 == b"hello" {
                        assert_eq!(e.3, b"c");
                        committed = 2;
                    }
                }
            }
            h.advance().unwrap();
        }
    }
    assert_eq!(committed, 2);
    assert_eq!(h.stored_groups().unwrap(), vec![3, 9]);
}

#[test]
fn invalid_or_concurrent_membership_changes_are_refused_up_front() {
    let mut c = Cluster::new(&[1, 2, 3], &[1]);
    let l = c.elect(1);
    c.run(10);
    // Two voters changed at once without joint consensus.
    let err = c
        .host(l)
        .propose_conf_change(1, &[(ConfChangeType::AddNode, 4), (ConfChangeType::AddNode, 5)], ConfChangeTransition::Implicit, b"")
        .map(|_| ());
    assert!(err.is_ok(), "implicit joint with two voters is valid: {err:?}");
    // A second change while the first is not applied yet: dropped, to be retried (not refused).
    let again = c.host(l).propose_conf_change(1, &[(ConfChangeType::AddLearnerNode, 6)], ConfChangeTransition::Auto, b"");
    assert!(matches!(again, Err(crate::RaftError::ProposalDropped(1))), "{again:?}");
    c.run(20);
    // Leaving a joint config that was entered explicitly (Implicit leaves automatically too).
    let st = c.host(l).status(1).unwrap();
    assert!(st.conf.voters_outgoing.is_empty() || st.conf.auto_leave);
    // Removing every voter is invalid.
    let dir = tempfile::tempdir().unwrap();
    let mut h = RaftHost::open(dir.path(), 1, Default::default()).unwrap();
    h.create_group(1, &opts(&[1])).unwrap();
    h.campaign(1).unwrap();
    for _ in 0..5 {
        let mut buf = Vec::new();
        if h.ready(&mut buf).unwrap() > 0 {
            h.advance().unwrap();
        }
    }
    let r = h.propose_conf_change(1, &[(ConfChangeType::RemoveNode, 1)], ConfChangeTransition::Auto, b"");
    assert!(matches!(r, Err(crate::RaftError::ConfChange(_))), "{r:?}");
}

#[test]
fn ready_twice_without_advance_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = RaftHost::open(dir.path(), 1, Default::default()).unwrap();
    h.create_group(1, &opts(&[1])).unwrap();
    h.campaign(1).unwrap();
    let mut buf = Vec::new();
    assert!(h.ready(&mut buf).unwrap() > 0);
    assert!(matches!(h.ready(&mut buf), Err(crate::RaftError::InvalidArgument(_))));
    h.advance().unwrap();
    h.tick().unwrap();
}

#[test]
fn async_persistence_replicates_in_order_and_recovers_after_restart() {
    let mut c = Cluster::with_persistence(&[1, 2, 3], &[1], true);
    propose_n(&mut c, 1, 0, 40);
    for id in [1, 2, 3] {
        assert_eq!(c.data(id, 1), expect_values(40), "node {id}");
    }
    // A follower restarted from its data directory catches up from what it persisted.
    let l = c.leader(1).unwrap();
    let f = [1, 2, 3].into_iter().find(|id| *id != l).unwrap();
    c.stop(f);
    propose_n(&mut c, 1, 40, 60);
    c.start(f, &[1], &[1, 2, 3]);
    c.run(60);
    assert_eq!(c.data(l, 1), expect_values(60));
    let restarted = c.data(f, 1);
    assert_eq!(&restarted[restarted.len() - 20..], &expect_values(60)[40..], "restarted follower");
}

#[test]
fn async_persistence_hands_out_nothing_before_the_sync() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = RaftHost::open(dir.path(), 1, Default::default()).unwrap();
    h.set_async_persist(true).unwrap();
    h.create_group(1, &opts(&[1])).unwrap();
    h.campaign(1).unwrap();
    // Become leader (the election is persisted before the leader's first entry commits).
    for _ in 0..6 {
        let mut buf = Vec::new();
        if h.ready(&mut buf).unwrap() > 0 {
            h.advance().unwrap();
        }
        h.sync_now(&mut Vec::new()).unwrap();
    }
    assert_eq!(h.status(1).unwrap().role, 2);
    let (index, _) = h.propose(1, b"", b"x").unwrap();
    let mut buf = Vec::new();
    assert!(h.ready(&mut buf).unwrap() > 0);
    let v = decode(&buf);
    assert!(v.groups.iter().all(|g| g.entries.iter().all(|e| e.1 < index)), "handed out before its fsync");
    h.advance().unwrap();
    assert!(h.needs_persist());
    let synced = h.stats().synced_writes;
    h.sync_now(&mut Vec::new()).unwrap();
    assert!(!h.needs_persist());
    assert_eq!(h.stats().synced_writes, synced + 1);
    let mut buf = Vec::new();
    assert!(h.ready(&mut buf).unwrap() > 0);
    let v = decode(&buf);
    assert!(v.groups.iter().any(|g| g.entries.iter().any(|e| e.1 == index && e.4 == b"x")));
    h.advance().unwrap();
    // With sync_now the cycle is persisted before ready returns: the entry comes back at once.
    let (index, _) = h.propose(1, b"", b"y").unwrap();
    let mut buf = Vec::new();
    assert!(h.ready_with(&mut buf, true).unwrap() > 0);
    let v = decode(&buf);
    assert!(v.groups.iter().any(|g| g.entries.iter().any(|e| e.1 == index && e.4 == b"y")));
    h.advance().unwrap();
    assert!(!h.needs_persist());
}

#[test]
fn commit_index_reported_after_persist_survives_reopen() {
    // Regression: raft-rs reports a commit advanced by the local persist only in the
    // LightReady; it was not recorded, so an application that had applied those entries could
    // not reopen its group ("application applied N but the log is committed only to 5").
    let dir = tempfile::tempdir().unwrap();
    let mut applied = 0;
    {
        let mut h = RaftHost::open(dir.path(), 1, Default::default()).unwrap();
        h.create_group(1, &opts(&[1])).unwrap();
        h.campaign(1).unwrap();
        for i in 0..20 {
            if i > 3 {
                h.propose(1, b"", b"v").unwrap();
            }
            let mut buf = Vec::new();
            if h.ready(&mut buf).unwrap() > 0 {
                for g in decode(&buf).groups {
                    if let Some(e) = g.entries.last() {
                        applied = e.1;
                    }
                }
                h.advance().unwrap();
            }
        }
        h.close().unwrap();
    }
    assert!(applied > 20);
    let mut h = RaftHost::open(dir.path(), 1, Default::default()).unwrap();
    let o = GroupOptions { applied, ..opts(&[1]) };
    h.create_group(1, &o).unwrap();
    assert!(h.status(1).unwrap().commit >= applied);
}
