//! The engine's workload as a pure Rust loop: the limit the JS binding is measured against.
//! Prints one JSON object of ops/s per case. Usage: engine-bench DIR [N] [--reads]
//! (`--reads`: only the read cases, on the database a full run left in DIR).

use std::time::Instant;

use photon_engine::codec::{encode_op, BatchOp};
use photon_engine::{Engine, EngineOptions, ScanRequest};

fn key(i: u64) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(b"benchkey");
    k[8..].copy_from_slice(&i.to_be_bytes());
    k
}

fn rate(n: u64, t: Instant) -> f64 {
    n as f64 / t.elapsed().as_secs_f64()
}

/// xorshift: a cheap deterministic random sequence, the same in the JS benchmark.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = args.get(1).expect("usage: engine-bench DIR [N] [--reads]");
    let n: u64 = args.get(2).map(|s| s.parse().unwrap()).unwrap_or(200_000);
    let e = Engine::open(std::path::Path::new(dir), &EngineOptions::default()).unwrap();
    if args.get(3).map(String::as_str) == Some("--reads") {
        // Only the read cases, on a database an earlier run left (the benchmark alternates
        // this with the Bun contender on the very same files).
        let r = reads(&e, n);
        println!(
            "{{\"random_get\":{:.0},\"multi_get\":{:.0},\"scan_keys\":{:.0},\"random_get_cpu\":{:.0},\"multi_get_cpu\":{:.0},\"scan_keys_cpu\":{:.0}}}",
            r.random_get.0, r.multi_get.0, r.scan.0, r.random_get.1, r.multi_get.1, r.scan.1
        );
        e.close().unwrap();
        return;
    }
    let value = [b'v'; 100];

    let t = Instant::now();
    for i in 0..n {
        e.put(0, &key(i), &value, false).unwrap();
    }
    let single_put = rate(n, t);

    let t = Instant::now();
    let mut buf = Vec::with_capacity(1000 * 130);
    for chunk in 0..(n / 1000) {
        buf.clear();
        for i in chunk * 1000..(chunk + 1) * 1000 {
            encode_op(&mut buf, &BatchOp::Put { cf: 0, key: &key(n + i), value: &value });
        }
        e.write(&buf, false).unwrap();
    }
    let batch_put = rate(n / 1000 * 1000, t);

    let t = Instant::now();
    let syncs = 200u64;
    for chunk in 0..syncs {
        buf.clear();
        for i in 0..100 {
            encode_op(&mut buf, &BatchOp::Put { cf: 0, key: &key(3 * n + chunk * 100 + i), value: &value });
        }
        e.write(&buf, true).unwrap();
    }
    let sync_batch = rate(syncs * 100, t);

    // Reads run on a settled database (memtables flushed, fully compacted), the same in every
    // contender, so background compactions triggered by the write phases do not skew them.
    e.flush().unwrap();
    e.compact(0, None, None).unwrap();

    let r = reads(&e, n);
    let (random_get, multi_get, scan) = (r.random_get.0, r.multi_get.0, r.scan.0);
    println!(
        "{{\"single_put\":{single_put:.0},\"batch_put\":{batch_put:.0},\"sync_batch\":{sync_batch:.0},\"random_get\":{random_get:.0},\"multi_get\":{multi_get:.0},\"scan_keys\":{scan:.0}}}"
    );
    e.close().unwrap();
}

/// The read cases: random gets one by one, then 100 per multi-get, then 100k-key scans.
fn reads(e: &Engine, n: u64) -> Reads {
    let mut s = 0x9E3779B97F4A7C15u64;
    let t = Mark::now();
    let mut found = 0u64;
    for _ in 0..n {
        let k = key(next(&mut s) % (2 * n));
        found += e.get_with(0, &k, None, |v| v.map(|v| v.len()).unwrap_or(0) as u64).unwrap();
    }
    let random_get = t.rates(n);
    assert!(found > 0);

    // The same random keys, read 100 per multi-get.
    let mut s = 0x9E3779B97F4A7C15u64;
    let t = Mark::now();
    let mut packed = Vec::with_capacity(100 * 20);
    let mut hits = 0usize;
    for _ in 0..(n / 100) {
        packed.clear();
        for _ in 0..100 {
            photon_engine::codec::put_bytes(&mut packed, &key(next(&mut s) % (2 * n)));
        }
        hits += e.multi_get(0, &packed, None).unwrap().len();
    }
    let multi_get = t.rates(n / 100 * 100);
    assert!(hits > 0);

    let t = Mark::now();
    let mut scanned = 0u64;
    let mut rounds = 0u64;
    while t.wall.elapsed().as_millis() < 1000 || rounds < 3 {
        let res = e.scan(&ScanRequest { start: &key(0), limit: 100_000, ..Default::default() }).unwrap();
        scanned += res.count as u64;
        rounds += 1;
    }
    Reads { random_get, multi_get, scan: t.rates(scanned) }
}

/// Rates of the read cases: (per wall-clock second, per CPU second of the process).
struct Reads {
    random_get: (f64, f64),
    multi_get: (f64, f64),
    scan: (f64, f64),
}

/// A starting point in wall-clock and process CPU time.
struct Mark {
    wall: Instant,
    cpu: f64,
}

impl Mark {
    fn now() -> Mark {
        Mark { wall: Instant::now(), cpu: cpu_seconds() }
    }

    /// `n` operations since the mark, per wall-clock second and per CPU second.
    fn rates(&self, n: u64) -> (f64, f64) {
        (rate(n, self.wall), n as f64 / (cpu_seconds() - self.cpu))
    }
}

/// CPU time of the whole process (every thread), in seconds.
fn cpu_seconds() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}
