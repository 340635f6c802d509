//! Tuned RocksDB options for the engine. Defaults suit the all-in-one on a small machine; every
//! knob a service may need is a field of `EngineOptions`.

use rocksdb::{BlockBasedOptions, Cache, DBCompressionType, Options};

use crate::error::{EngineError, Result};

/// How to open a database. `column_families` is the ordered list of families the caller
/// addresses by index (0 = the first); "default" is always opened and need not be listed.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    pub column_families: Vec<String>,
    pub create_if_missing: bool,
    /// Shared LRU block cache, in MiB.
    pub block_cache_mb: u32,
    /// Memtable size per column family, in MiB.
    pub write_buffer_mb: u32,
    /// Bloom filter bits per key; 0 disables the filter.
    pub bloom_bits_per_key: f64,
    /// Background flush/compaction threads.
    pub background_jobs: i32,
    /// LZ4 on upper levels and ZSTD at the bottom; off stores blocks uncompressed.
    pub compression: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            column_families: Vec::new(),
            create_if_missing: true,
            block_cache_mb: 64,
            write_buffer_mb: 32,
            bloom_bits_per_key: 10.0,
            background_jobs: 2,
            compression: true,
        }
    }
}

impl EngineOptions {
    /// Validates the options and returns the column family names in index order.
    pub fn validated_cfs(&self) -> Result<Vec<String>> {
        let mut names: Vec<String> = Vec::with_capacity(self.column_families.len());
        for name in &self.column_families {
            if name.is_empty() {
                return Err(EngineError::InvalidArgument("empty column family name".into()));
            }
            if names.contains(name) {
                return Err(EngineError::InvalidArgument(format!("duplicate column family {name:?}")));
            }
            names.push(name.clone());
        }
        if names.is_empty() {
            names.push("default".into());
        }
        if names.len() > 255 {
            return Err(EngineError::InvalidArgument("at most 255 column families".into()));
        }
        Ok(names)
    }

    /// Builds the database-wide RocksDB options.
    pub fn db_options(&self, cache: &Cache) -> Options {
        let mut o = self.cf_options(cache);
        o.create_if_missing(self.create_if_missing);
        o.create_missing_column_families(true);
        o.increase_parallelism(self.background_jobs.max(1));
        o.set_max_background_jobs(self.background_jobs.max(1));
        o.set_bytes_per_sync(1 << 20);
        o.set_keep_log_file_num(4);
        o.set_max_total_wal_size(256 << 20);
        o.set_enable_pipelined_write(true);
        o
    }

    /// Builds the options of one column family (block cache shared across families).
    pub fn cf_options(&self, cache: &Cache) -> Options {
        let mut o = Options::default();
        let mut table = BlockBasedOptions::default();
        table.set_block_cache(cache);
        table.set_block_size(16 << 10);
        table.set_format_version(5);
        table.set_cache_index_and_filter_blocks(true);
        table.set_pin_l0_filter_and_index_blocks_in_cache(true);
        if self.bloom_bits_per_key > 0.0 {
            table.set_bloom_filter(self.bloom_bits_per_key, false);
        }
        o.set_block_based_table_factory(&table);
        o.set_write_buffer_size((self.write_buffer_mb.max(1) as usize) << 20);
        o.set_level_compaction_dynamic_level_bytes(true);
        if self.compression {
            o.set_compression_type(DBCompressionType::Lz4);
            o.set_bottommost_compression_type(DBCompressionType::Zstd);
        } else {
            o.set_compression_type(DBCompressionType::None);
        }
        o
    }
}
