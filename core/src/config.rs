//! Every limit of the engine: a `Config` field (unit last) or a named constant.

use crate::error::{Error, FieldName};
use crate::limits::DELETE_ROUND_EDGES;
use crate::wal::format::{
    delete_log_bytes, DELETED_EDGES_FIXED_BYTES, DELETED_EDGE_BYTES, FRAME_ALIGN,
    FRAME_HEADER_BYTES, PUT_BLOCK_FIXED_BYTES, SEGMENT_HEADER_BYTES,
};

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
    /// empties it. At least `MEMTABLE_ENTRIES_MIN`. Deleting a block takes an entry and an
    /// edge record per visible edge as well, so a block with more edges than the memtable
    /// can hold is refused (`MemtableFull`) until some of its edges are deleted first.
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
    /// Sorted tables that may exist at once (at most `TABLES_MAX_LIMIT`); a flush writes one
    /// for its blocks and one for its edges, and one that finds too few slots free is
    /// `MemtableFull { resource: Tables }` (or, with `compaction_auto`, compacts first).
    pub tables_max: u32,
    /// Bytes of region for the open tables' bloom filters (`bloom_bits_per_key` bits per
    /// block or edge source, and per edge target) and sparse indexes (64 bytes per page of
    /// `table_page_bytes`).
    pub table_memory_bytes: u32,
    /// Target size of a table page (one index entry each); edge lookups read one.
    pub table_page_bytes: u32,
    /// Bloom filter bits per key in each table: per block (or edge source) and per edge
    /// target (about 1% false positives at 10).
    pub bloom_bits_per_key: u32,
    /// Blocks one traversal or path query may visit (1..=`RESULTS_MAX_LIMIT`, 16 Mi): bounds
    /// the region's visited set and DFS stack: two 32-byte node records plus 8 to 16 bytes
    /// of index per node (0.74 MiB at the default 10,000; about 69 MiB for 1,000,000). The
    /// open writes none of it; the first query zeroes the index (8 MiB for 1,000,000), each
    /// later one only the slots the last one filled.
    pub query_nodes_max: u32,
    /// Compact automatically after flushes (size-tiered; see `Engine::compact_step`): each
    /// write after a flush first takes one step of the compaction it calls for (at most
    /// `compaction_step_bytes`), so no write waits for a whole merge; `Engine::flush` and a
    /// flush that finds every table slot taken merge at once. `small-code` builds merge at
    /// once after every flush. Off, the host calls `compact_step` itself and a full set of
    /// tables is back-pressure.
    pub compaction_auto: bool,
    /// Flush a full memtable inside the write that found it full (the default). Off, that
    /// write freezes it instead, in O(1), and goes on into a second memtable of the same
    /// size (the region holds both); the host writes the frozen one to tables with
    /// `Engine::flush_step` when it likes. Only a write that finds both full (or the WAL
    /// full) flushes the frozen one itself: back-pressure, counted as a write stall.
    /// Builds with the `small-code` feature (firmware) require it on.
    pub flush_auto: bool,
    /// With `flush_auto`: flush in steps while the writes go on. The region holds a second
    /// memtable of the same size (as without `flush_auto`); the write that finds the
    /// memtable full freezes it in O(1), and each later write first takes one step of its
    /// flush (at most `flush_step_bytes` of records, counted as a write stall) until it is
    /// written: no write waits for a whole flush, only one that finds both memtables full.
    /// Off (the default), that write flushes it whole. Without `flush_auto` the host takes
    /// the steps and this is not read. `small-code` builds require it off.
    pub flush_in_steps: bool,
    /// Bytes of table records one `Engine::flush_step` writes at most (at least 1; a step
    /// writes at least one record): the bound on a host's step (or, with `flush_in_steps`,
    /// a write's), about a millisecond per 256 KiB (the default).
    pub flush_step_bytes: u32,
    /// Bytes of table records one compaction step merges at most (the host's
    /// `Engine::compact_step`, or with `compaction_auto` a write's; at least 1; a step merges
    /// at least one record; `small-code` builds merge whole tables at once), its
    /// place in the merge kept in the region between calls; the last step also writes the
    /// table's index and filter and installs it. Default 1 MiB: about 2 ms of merging 1 KiB
    /// blocks and 7 ms of edge records (35 bytes each) on the scale runs' machine, where a
    /// whole merge took up to 0.9 s in one call. Also the bytes of a merge's old tables a
    /// later step removes (their files cut from the end, one at a time): removing a 100 MB
    /// table in one call took up to 103 ms there.
    pub compaction_step_bytes: u32,
    /// When writes become durable.
    pub sync_policy: SyncPolicy,
    /// What recovery does with damage before the WAL tail.
    pub recovery_mode: RecoveryMode,
}

impl Config {
    /// A small store: a memtable of 16,384 entries, 65,536 edges and 8 MiB of payload, and
    /// 4 MiB of table memory;
    /// about 17.8 MiB of region (pinned by `tests/documented.rs`).
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
        flush_auto: true,
        flush_in_steps: false,
        flush_step_bytes: 256 << 10,
        compaction_step_bytes: 1 << 20,
        sync_policy: SyncPolicy::Explicit,
        recovery_mode: RecoveryMode::Tolerant,
    };

    /// Bytes of the largest WAL frame this config can produce: a put of maximal size, or a
    /// delete's frame of one removed edge if that is larger (tiny limits). Computed in u64
    /// and saturated, so an unvalidated config cannot overflow it (on a 32-bit target three
    /// u32 limits exceed usize).
    pub fn frame_bytes_max(&self) -> usize {
        let payload = (PUT_BLOCK_FIXED_BYTES as u64 + self.payload_bytes_max())
            .max((DELETED_EDGES_FIXED_BYTES + DELETED_EDGE_BYTES) as u64);
        let frame =
            FRAME_HEADER_BYTES as u64 + payload.div_ceil(FRAME_ALIGN as u64) * FRAME_ALIGN as u64;
        usize::try_from(frame).unwrap_or(usize::MAX)
    }

    /// Edges one deleted-edges WAL frame of a delete holds: as many as fit the largest frame,
    /// at most `DELETE_ROUND_EDGES`; at least 1 (`frame_bytes_max` makes room for one).
    pub(crate) fn deleted_edges_per_frame(&self) -> usize {
        let room = self.frame_bytes_max() - FRAME_HEADER_BYTES - DELETED_EDGES_FIXED_BYTES;
        (room / DELETED_EDGE_BYTES).clamp(1, DELETE_ROUND_EDGES)
    }

    /// Bytes of log the largest delete takes (one removing `memtable_edges_max` edges, the
    /// most a delete can plan room for): it must fit one segment.
    fn delete_log_bytes_max(&self) -> u64 {
        // At most DELETE_ROUND_EDGES: nothing saturates.
        let per_frame = u32::try_from(self.deleted_edges_per_frame()).unwrap_or(u32::MAX);
        delete_log_bytes(self.memtable_edges_max, per_frame)
    }

    /// Bytes of the largest block payload: uri, metadata and content at their limits.
    fn payload_bytes_max(&self) -> u64 {
        u64::from(self.source_uri_bytes_max)
            + u64::from(self.metadata_bytes_max)
            + u64::from(self.content_bytes_max)
    }

    /// Bytes of one merge buffer: a table page, or one holding a largest block record.
    pub fn merge_buffer_bytes(&self) -> usize {
        let record = (crate::table::format::PAGE_HEADER_BYTES
            + crate::table::format::BLOCK_RECORD_FIXED_BYTES
            + crate::table::format::TRAILER_BYTES_PER_RECORD) as u64
            + self.payload_bytes_max();
        let bytes = u64::from(self.table_page_bytes).max(record).next_multiple_of(8);
        // Saturated like `frame_bytes_max`.
        usize::try_from(bytes).unwrap_or(usize::MAX)
    }

    /// Whether the region holds a second memtable that a full one is frozen into (without
    /// `flush_auto`, or with `flush_in_steps`): never in `small-code` builds, where the
    /// frozen memtable's paths compile away (see `Store::flushing_frozen`).
    pub(crate) fn memtable_freezes(&self) -> bool {
        !cfg!(feature = "small-code") && (!self.flush_auto || self.flush_in_steps)
    }

    /// Checks every field and every relationship between fields.
    pub fn validate(&self) -> Result<(), Error> {
        for (holds, field) in CONFIG_CHECKS {
            if !holds(self) {
                return Err(Error::ConfigInvalid { field: FieldName::new(field) });
            }
        }
        Ok(())
    }
}

impl Config {
    /// Every field's name, in declaration order: the names `Error::ConfigInvalid` reports,
    /// and the list the C API's field names are checked against (at compile time).
    pub const FIELD_NAMES: [&'static str; 23] = [
        "memtable_entries_max",
        "memtable_edges_max",
        "memtable_arena_bytes_max",
        "source_uri_bytes_max",
        "metadata_bytes_max",
        "content_bytes_max",
        "wal_segment_bytes_max",
        "wal_segments_max",
        "wal_buffer_bytes",
        "read_buffer_bytes",
        "files_max",
        "tables_max",
        "table_memory_bytes",
        "table_page_bytes",
        "bloom_bits_per_key",
        "query_nodes_max",
        "compaction_auto",
        "flush_auto",
        "flush_in_steps",
        "flush_step_bytes",
        "compaction_step_bytes",
        "sync_policy",
        "recovery_mode",
    ];
}

// Names every field without `..`, so adding or renaming a field fails to compile here until
// `FIELD_NAMES` (and through it the C API's list) says the same.
const _: () = {
    let Config {
        memtable_entries_max: _,
        memtable_edges_max: _,
        memtable_arena_bytes_max: _,
        source_uri_bytes_max: _,
        metadata_bytes_max: _,
        content_bytes_max: _,
        wal_segment_bytes_max: _,
        wal_segments_max: _,
        wal_buffer_bytes: _,
        read_buffer_bytes: _,
        files_max: _,
        tables_max: _,
        table_memory_bytes: _,
        table_page_bytes: _,
        bloom_bits_per_key: _,
        query_nodes_max: _,
        compaction_auto: _,
        flush_auto: _,
        flush_in_steps: _,
        flush_step_bytes: _,
        compaction_step_bytes: _,
        sync_policy: _,
        recovery_mode: _,
    } = Config::DEFAULT;
};

/// The fewest memtable entries that always make progress: after a flush empties the
/// memtable, an edge between two blocks that live only in tables takes two (a stub per end).
pub const MEMTABLE_ENTRIES_MIN: u32 = 2;

/// One check of a config: whether it holds, and the field it blames when it does not.
type ConfigCheck = (fn(&Config) -> bool, &'static &'static str);

/// Every check `Config::validate` makes, in order, with the field it blames. Each runs only
/// once those before it hold: a relation between fields is computed only after the fields
/// it adds up are within their ranges, so no sum can overflow, whatever the host passed.
const CONFIG_CHECKS: [ConfigCheck; 25] = [
    (
        |c: &Config| {
            c.query_nodes_max >= 1 && c.query_nodes_max <= crate::limits::RESULTS_MAX_LIMIT
        },
        &"query_nodes_max",
    ),
    (|c: &Config| c.tables_max >= 1 && c.tables_max as usize <= TABLES_MAX_LIMIT, &"tables_max"),
    (|c: &Config| c.table_memory_bytes >= 1024, &"table_memory_bytes"),
    (
        |c: &Config| {
            let page = (c.table_page_bytes as usize).next_multiple_of(8);
            c.table_page_bytes >= 256 && page <= c.read_buffer_bytes as usize
        },
        &"table_page_bytes",
    ),
    (|c: &Config| c.tables_max as usize >= COMPACTION_FANIN, &"tables_max"),
    (|c: &Config| c.bloom_bits_per_key >= 1 && c.bloom_bits_per_key <= 32, &"bloom_bits_per_key"),
    (
        |c: &Config| {
            c.memtable_entries_max >= MEMTABLE_ENTRIES_MIN
                && c.memtable_entries_max <= ENTRIES_MAX_LIMIT
        },
        &"memtable_entries_max",
    ),
    (
        |c: &Config| c.memtable_edges_max >= 1 && c.memtable_edges_max <= ENTRIES_MAX_LIMIT,
        &"memtable_edges_max",
    ),
    (
        |c: &Config| {
            c.memtable_arena_bytes_max >= 1 && c.memtable_arena_bytes_max <= ARENA_BYTES_MAX_LIMIT
        },
        &"memtable_arena_bytes_max",
    ),
    (|c: &Config| c.source_uri_bytes_max <= SOURCE_URI_BYTES_MAX_LIMIT, &"source_uri_bytes_max"),
    (
        |c: &Config| c.metadata_bytes_max >= 2 && c.metadata_bytes_max <= METADATA_BYTES_MAX_LIMIT,
        &"metadata_bytes_max",
    ),
    (|c: &Config| c.content_bytes_max <= CONTENT_BYTES_MAX_LIMIT, &"content_bytes_max"),
    (
        |c: &Config| {
            (c.source_uri_bytes_max as u64
                + c.metadata_bytes_max as u64
                + c.content_bytes_max as u64)
                <= c.memtable_arena_bytes_max as u64
        },
        &"memtable_arena_bytes_max",
    ),
    (|c: &Config| c.wal_segment_bytes_max <= WAL_SEGMENT_BYTES_MAX_LIMIT, &"wal_segment_bytes_max"),
    (
        |c: &Config| c.wal_segment_bytes_max as usize >= SEGMENT_HEADER_BYTES + c.frame_bytes_max(),
        &"wal_segment_bytes_max",
    ),
    // A delete's frames lie in one segment (recovery reads a group cut at a segment's end
    // as torn), so the largest delete must fit one.
    (
        |c: &Config| {
            u64::from(c.wal_segment_bytes_max)
                >= SEGMENT_HEADER_BYTES as u64 + c.delete_log_bytes_max()
        },
        &"wal_segment_bytes_max",
    ),
    (|c: &Config| c.wal_segments_max >= 2 && c.wal_segments_max <= 1 << 20, &"wal_segments_max"),
    (
        |c: &Config| {
            c.wal_buffer_bytes as usize >= c.frame_bytes_max()
                && c.wal_buffer_bytes <= c.wal_segment_bytes_max
        },
        &"wal_buffer_bytes",
    ),
    (|c: &Config| c.read_buffer_bytes as usize >= c.frame_bytes_max(), &"read_buffer_bytes"),
    // A largest block record with a page's header and trailer is a little larger than its
    // frame: the read buffer holds it too (it assembles table pages and merges).
    (|c: &Config| c.merge_buffer_bytes() <= c.read_buffer_bytes as usize, &"read_buffer_bytes"),
    (
        |c: &Config| {
            u64::from(c.files_max) >= u64::from(c.wal_segments_max) + u64::from(c.tables_max) + 2
                && c.files_max <= 1 << 20
        },
        &"files_max",
    ),
    // `small-code` builds have no frozen memtable (see `Store::flushing_frozen`).
    (|c: &Config| c.flush_auto || !cfg!(feature = "small-code"), &"flush_auto"),
    (|c: &Config| !c.flush_in_steps || !cfg!(feature = "small-code"), &"flush_in_steps"),
    (|c: &Config| c.flush_step_bytes >= 1, &"flush_step_bytes"),
    (|c: &Config| c.compaction_step_bytes >= 1, &"compaction_step_bytes"),
];

impl Default for Config {
    fn default() -> Self {
        Config::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every field validation can blame is one of `FIELD_NAMES` (which the C API mirrors), and
    /// each numeric field at 0 or at its type's largest value is refused by its own name or a
    /// relation's.
    #[test]
    fn every_invalid_field_is_named_in_field_names() {
        type Set = fn(&mut Config, u32);
        let fields: [(&str, Set); 16] = [
            ("memtable_entries_max", |c, v| c.memtable_entries_max = v),
            ("memtable_edges_max", |c, v| c.memtable_edges_max = v),
            ("memtable_arena_bytes_max", |c, v| c.memtable_arena_bytes_max = v),
            ("source_uri_bytes_max", |c, v| c.source_uri_bytes_max = v),
            ("metadata_bytes_max", |c, v| c.metadata_bytes_max = v),
            ("content_bytes_max", |c, v| c.content_bytes_max = v),
            ("wal_segment_bytes_max", |c, v| c.wal_segment_bytes_max = v),
            ("wal_segments_max", |c, v| c.wal_segments_max = v),
            ("wal_buffer_bytes", |c, v| c.wal_buffer_bytes = v),
            ("read_buffer_bytes", |c, v| c.read_buffer_bytes = v),
            ("files_max", |c, v| c.files_max = v),
            ("tables_max", |c, v| c.tables_max = v),
            ("table_memory_bytes", |c, v| c.table_memory_bytes = v),
            ("table_page_bytes", |c, v| c.table_page_bytes = v),
            ("bloom_bits_per_key", |c, v| c.bloom_bits_per_key = v),
            ("query_nodes_max", |c, v| c.query_nodes_max = v),
        ];
        let mut refused = 0;
        for (name, set) in fields {
            assert!(Config::FIELD_NAMES.contains(&name), "{name}");
            for value in [0, u32::MAX] {
                let mut config = Config::DEFAULT;
                set(&mut config, value);
                if let Err(Error::ConfigInvalid { field }) = config.validate() {
                    assert!(
                        Config::FIELD_NAMES.contains(&field.as_str()),
                        "{name}={value}: {field}"
                    );
                    refused += 1;
                }
            }
        }
        assert!(refused >= 16, "only {refused} of 32 extreme values were refused");
        assert_eq!(Config::DEFAULT.validate(), Ok(()));
    }

    /// Raising a payload limit alone names the buffer to raise with it: a largest record must
    /// fit the WAL buffer, the read buffer and a merge buffer (it used to blame
    /// `table_page_bytes`, which cannot fix it).
    #[test]
    fn a_raised_content_limit_names_the_buffers_to_raise() {
        let raised = Config { content_bytes_max: 1 << 20, ..Config::DEFAULT };
        assert_eq!(
            raised.validate(),
            Err(Error::ConfigInvalid { field: FieldName::new(&"wal_buffer_bytes") })
        );
        let wal = Config { wal_buffer_bytes: 2 << 20, ..raised };
        assert_eq!(
            wal.validate(),
            Err(Error::ConfigInvalid { field: FieldName::new(&"read_buffer_bytes") })
        );
        let read = Config { read_buffer_bytes: 2 << 20, ..wal };
        assert_eq!(read.validate(), Ok(()));
        let page = Config { table_page_bytes: 4 << 20, ..read };
        assert_eq!(
            page.validate(),
            Err(Error::ConfigInvalid { field: FieldName::new(&"table_page_bytes") })
        );
    }
}
