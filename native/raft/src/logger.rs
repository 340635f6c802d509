//! The slog logger handed to raft-rs: warnings and errors go to stderr as one line each,
//! tagged with the node (and group); raft's info/debug chatter is dropped.

use slog::{Drain, Level, Logger, OwnedKVList, Record, KV};

struct StderrWarn;

impl Drain for StderrWarn {
    type Ok = ();
    type Err = slog::Never;

    fn log(&self, record: &Record, values: &OwnedKVList) -> Result<(), slog::Never> {
        if record.level().is_at_least(Level::Warning) {
            let mut kv = KvLine(String::new());
            let _ = values.serialize(record, &mut kv);
            let _ = record.kv().serialize(record, &mut kv);
            eprintln!("raft {}: {}{}", record.level().as_short_str(), record.msg(), kv.0);
        }
        Ok(())
    }
}

struct KvLine(String);

impl slog::Serializer for KvLine {
    fn emit_arguments(&mut self, key: slog::Key, val: &std::fmt::Arguments) -> slog::Result {
        self.0.push_str(&format!(" {key}={val}"));
        Ok(())
    }
}

/// A logger for node `node_id`.
pub fn logger(node_id: u64) -> Logger {
    Logger::root(StderrWarn.fuse(), slog::o!("node" => node_id))
}
