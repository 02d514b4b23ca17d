//! Every limit of the engine: a `Config` field (unit last) or a named constant.

use crate::error::Error;
use crate::wal::format::{FRAME_HEADER_BYTES, PUT_BLOCK_FIXED_BYTES, SEGMENT_HEADER_BYTES};

// The limits live in `limits` (a leaf every module may import); they are public here too,
// beside the fields they bound.
pub use crate::limits::{
    ARENA_BYTES_MAX_LIMIT, COMPACTION_FANIN, CONTENT_BYTES_MAX_LIMIT, ENTRIES_MAX_LIMIT,
    FILE_NAME_BYTES_MAX, METADATA_BYTES_MAX_LIMIT, SOURCE_URI_BYTES_MAX_LIMIT, TABLES_MAX_LIMIT,
    WAL_SEGMENT_BYTES_MAX_LIMIT,
};

const _: () = assert!(
    (CONTENT_BYTES_MAX_LIMIT + SOURCE_URI_BYTES_MAX_LIMIT + METADATA_BYTES_MAX_LIMIT) as u64
        + FRAME_HEADER_BYTES as u64
        + PUT_BLOCK_FIXED_BYTES as u64
        + 8
        < WAL_SEGMENT_BYTES_MAX_LIMIT as u64
);

/// When writes become durable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncPolicy {
    /// Every write syncs the WAL before it returns (slow, simple).
    EveryWrite,
    /// Writes are buffered; `Engine::sync` makes every earlier write durable (group commit).
    Explicit,
}

/// What `open` does when the WAL is damaged before its tail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecoveryMode {
    /// Recover the longest valid prefix, truncate the rest, and report the dropped bytes in
    /// `Stats::wal_corrupt_bytes_dropped`.
    Tolerant,
    /// Return `Error::Corruption` and change nothing on disk.
    Strict,
}

/// The engine's limits. Every byte of memory the engine uses follows from these numbers
/// (see `memory_bytes_required`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Memtable entries: one per block id the memtable knows. A put takes one (a replaced
    /// version reuses it), a delete takes one for its tombstone, and an edge takes one
    /// *stub* for each end that has no entry yet (a block that lives only in a table), so
    /// edges can be listed from either end. Bounds the memtable, not the store: a flush
    /// empties it.
    pub memtable_entries_max: u32,
    /// Memtable edge records, live or tombstones (each stored once, linked into both
    /// endpoints' lists). Bounds the memtable, not the store.
    pub memtable_edges_max: u32,
    /// Bytes of block payload (uri + metadata + content) the memtable's arena holds. A
    /// replaced block's old payload stays counted until the memtable is flushed.
    pub memtable_arena_bytes_max: u32,
    /// Longest accepted `source_uri`.
    pub source_uri_bytes_max: u32,
    /// Longest accepted `metadata_json`.
    pub metadata_bytes_max: u32,
    /// Longest accepted `content`.
    pub content_bytes_max: u32,
    /// Size at which a WAL segment file is closed and the next one started.
    pub wal_segment_bytes_max: u32,
    /// WAL segment files that may exist at once; more is `Error::WalFull`.
    pub wal_segments_max: u32,
    /// In-memory WAL buffer (group commit); holds at least one largest frame.
    pub wal_buffer_bytes: u32,
    /// Buffer recovery reads the WAL through; holds at least one largest frame.
    pub read_buffer_bytes: u32,
    /// Files the store directory may hold (bounds the listing buffer).
    pub files_max: u32,
    /// Sorted tables that may exist at once (at most `TABLES_MAX_LIMIT`); a flush that would
    /// need one more is `MemtableFull { resource: Tables }`.
    pub tables_max: u32,
    /// Bytes of region for the open tables' bloom filters (`bloom_bits_per_key` bits per
    /// block) and sparse indexes (64 bytes per page of `table_page_bytes`).
    pub table_memory_bytes: u32,
    /// Target size of a table page (one index entry each); edge lookups read one.
    pub table_page_bytes: u32,
    /// Bloom filter bits per block in each table (about 1% false positives at 10).
    pub bloom_bits_per_key: u32,
    /// Blocks one traversal or path query may visit (1..=`RESULTS_MAX_LIMIT`): bounds the
    /// region's visited set and DFS stack: two 32-byte node records plus 8 to 16 bytes of
    /// index per node (0.73 MiB at the default 10,000).
    pub query_nodes_max: u32,
    /// Compact automatically after flushes (size-tiered; see `Engine::compact_step`). Off,
    /// the host calls `compact_step` itself and a full set of tables is back-pressure.
    pub compaction_auto: bool,
    /// When writes become durable.
    pub sync_policy: SyncPolicy,
    /// What recovery does with damage before the WAL tail.
    pub recovery_mode: RecoveryMode,
}

impl Config {
    /// A small store: a memtable of 16,384 entries, 65,536 edges and 8 MiB of payload, and
    /// 4 MiB of table memory;
    /// about 17.2 MiB of region (18,034,567 bytes in release builds).
    pub const DEFAULT: Config = Config {
        memtable_entries_max: 16_384,
        memtable_edges_max: 65_536,
        memtable_arena_bytes_max: 8 << 20,
        source_uri_bytes_max: 1024,
        metadata_bytes_max: 4096,
        content_bytes_max: 64 << 10,
        wal_segment_bytes_max: 4 << 20,
        wal_segments_max: 64,
        wal_buffer_bytes: 128 << 10,
        read_buffer_bytes: 128 << 10,
        files_max: 128,
        tables_max: 16,
        table_memory_bytes: 4 << 20,
        table_page_bytes: 16 << 10,
        bloom_bits_per_key: 10,
        query_nodes_max: 10_000,
        compaction_auto: true,
        sync_policy: SyncPolicy::Explicit,
        recovery_mode: RecoveryMode::Tolerant,
    };

    /// Bytes of the largest WAL frame this config can produce (a put of maximal size).
    pub fn frame_bytes_max(&self) -> usize {
        let payload = PUT_BLOCK_FIXED_BYTES
            + self.source_uri_bytes_max as usize
            + self.metadata_bytes_max as usize
            + self.content_bytes_max as usize;
        FRAME_HEADER_BYTES + crate::wal::format::padded_len(payload)
    }

    /// Bytes of one merge buffer: a table page, or one holding a largest block record.
    pub fn merge_buffer_bytes(&self) -> usize {
        let record = crate::table::format::PAGE_HEADER_BYTES
            + crate::table::format::BLOCK_RECORD_FIXED_BYTES
            + crate::table::format::TRAILER_BYTES_PER_RECORD
            + self.source_uri_bytes_max as usize
            + self.metadata_bytes_max as usize
            + self.content_bytes_max as usize;
        (self.table_page_bytes as usize).max(record).next_multiple_of(8)
    }

    /// Checks every field and every relationship between fields.
    pub fn validate(&self) -> Result<(), Error> {
        let checks: [(bool, &'static str); 19] = [
            (
                self.query_nodes_max >= 1
                    && self.query_nodes_max <= crate::limits::RESULTS_MAX_LIMIT,
                "query_nodes_max",
            ),
            (self.tables_max >= 1 && self.tables_max as usize <= TABLES_MAX_LIMIT, "tables_max"),
            (self.table_memory_bytes >= 1024, "table_memory_bytes"),
            (
                self.table_page_bytes >= 256
                    && self.merge_buffer_bytes() <= self.read_buffer_bytes as usize,
                "table_page_bytes",
            ),
            (self.tables_max as usize >= COMPACTION_FANIN, "tables_max"),
            (self.bloom_bits_per_key >= 1 && self.bloom_bits_per_key <= 32, "bloom_bits_per_key"),
            (
                self.memtable_entries_max >= 1 && self.memtable_entries_max <= ENTRIES_MAX_LIMIT,
                "memtable_entries_max",
            ),
            (
                self.memtable_edges_max >= 1 && self.memtable_edges_max <= ENTRIES_MAX_LIMIT,
                "memtable_edges_max",
            ),
            (
                self.memtable_arena_bytes_max >= 1
                    && self.memtable_arena_bytes_max <= ARENA_BYTES_MAX_LIMIT,
                "memtable_arena_bytes_max",
            ),
            (self.source_uri_bytes_max <= SOURCE_URI_BYTES_MAX_LIMIT, "source_uri_bytes_max"),
            (
                self.metadata_bytes_max >= 2 && self.metadata_bytes_max <= METADATA_BYTES_MAX_LIMIT,
                "metadata_bytes_max",
            ),
            (self.content_bytes_max <= CONTENT_BYTES_MAX_LIMIT, "content_bytes_max"),
            (
                (self.source_uri_bytes_max as u64
                    + self.metadata_bytes_max as u64
                    + self.content_bytes_max as u64)
                    <= self.memtable_arena_bytes_max as u64,
                "memtable_arena_bytes_max",
            ),
            (self.wal_segment_bytes_max <= WAL_SEGMENT_BYTES_MAX_LIMIT, "wal_segment_bytes_max"),
            (
                self.wal_segment_bytes_max as usize
                    >= SEGMENT_HEADER_BYTES + self.frame_bytes_max(),
                "wal_segment_bytes_max",
            ),
            (self.wal_segments_max >= 2 && self.wal_segments_max <= 1 << 20, "wal_segments_max"),
            (
                self.wal_buffer_bytes as usize >= self.frame_bytes_max()
                    && self.wal_buffer_bytes <= self.wal_segment_bytes_max,
                "wal_buffer_bytes",
            ),
            (self.read_buffer_bytes as usize >= self.frame_bytes_max(), "read_buffer_bytes"),
            (
                self.files_max >= self.wal_segments_max + self.tables_max + 2
                    && self.files_max <= 1 << 20,
                "files_max",
            ),
        ];
        for (ok, field) in checks {
            if !ok {
                return Err(Error::ConfigInvalid { field });
            }
        }
        Ok(())
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::DEFAULT
    }
}
