//! The C structs and constants of the API, converted to and from the core's types.

use crate::status::kausal_status::{self, *};
use core::ffi::c_char;
use kausaldb_core::{
    BlockId, Config, Direction, Edge, EdgeType, FieldName, RecoveryMode, Stats, SyncPolicy,
};

/// A 128-bit block id: 16 raw bytes. All zero is invalid.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[allow(non_camel_case_types)]
pub struct kausal_id {
    /// The id's 16 bytes, as stored.
    pub bytes: [u8; 16],
}

/// A directed, typed edge.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub struct kausal_edge {
    /// Where the edge starts (for `KAUSAL_EDGE_CALLS`, the caller).
    pub source: kausal_id,
    /// Where it points (for `KAUSAL_EDGE_CALLS`, the callee).
    pub target: kausal_id,
    /// `KAUSAL_EDGE_*` or a host code in 0x8000..=0xFFFF.
    pub edge_type: u16,
}

/// `sync_policy`: every write is synced before it returns.
pub const KAUSAL_SYNC_EVERY_WRITE: u32 = 0;
/// `sync_policy`: writes are durable after `kausal_sync` (group commit).
pub const KAUSAL_SYNC_EXPLICIT: u32 = 1;
/// `recovery_mode`: keep the longest valid log prefix; report dropped bytes in stats.
pub const KAUSAL_RECOVERY_TOLERANT: u32 = 0;
/// `recovery_mode`: refuse to open a store whose synced log is damaged.
pub const KAUSAL_RECOVERY_STRICT: u32 = 1;

/// The engine's limits. Get one from `kausal_config_default`, change fields, pass it on.
/// `struct_size` lets the struct grow: set it to `sizeof(kausal_config)` (the default does).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
#[allow(non_camel_case_types)]
pub struct kausal_config {
    /// `sizeof(kausal_config)`; `kausal_config_default` sets it.
    pub struct_size: u32,
    /// In-memory block entries (versions, tombstones, stubs), at least 2. Default: 16384.
    pub memtable_entries_max: u32,
    /// In-memory edge records (live and tombstones). Default: 65536.
    pub memtable_edges_max: u32,
    /// Bytes of block payload (uri + metadata + content) held in memory. Default: 8388608.
    pub memtable_arena_bytes_max: u32,
    /// Longest source URI, in bytes. Default: 1024.
    pub source_uri_bytes_max: u32,
    /// Longest metadata JSON, in bytes (at least 2, for `{}`). Default: 4096.
    pub metadata_bytes_max: u32,
    /// Longest content, in bytes. Raising it needs `wal_buffer_bytes` and
    /// `read_buffer_bytes` to hold the largest block too. Default: 65536.
    pub content_bytes_max: u32,
    /// Size at which a log segment file is closed and the next begun. Default: 4194304.
    pub wal_segment_bytes_max: u32,
    /// Log segment files that may exist at once. Default: 64.
    pub wal_segments_max: u32,
    /// Bytes of region buffering log frames until they are written (group commit); holds
    /// the largest frame. Default: 131072.
    pub wal_buffer_bytes: u32,
    /// Bytes of region for reading log and table pages; holds the largest block record.
    /// Default: 131072.
    pub read_buffer_bytes: u32,
    /// Files the store directory may hold. Default: 128.
    pub files_max: u32,
    /// Sorted tables that may exist at once (a flush writes one for its blocks and one for its
    /// edges).
    /// Default: 16.
    pub tables_max: u32,
    /// Bytes of region for the tables' bloom filters and indexes. Default: 4194304.
    pub table_memory_bytes: u32,
    /// Target size of a table page. Default: 16384.
    pub table_page_bytes: u32,
    /// Bloom filter bits per block in each table. Default: 10.
    pub bloom_bits_per_key: u32,
    /// 1: the writes after a flush each take a compaction step (`kausal_flush` and a flush
    /// finding every table slot taken merge at once); 0: the host calls
    /// kausal_compact_step.
    /// Default: 1.
    pub compaction_auto: u32,
    /// `KAUSAL_SYNC_EVERY_WRITE` or `KAUSAL_SYNC_EXPLICIT`. Default: 1 (explicit).
    pub sync_policy: u32,
    /// `KAUSAL_RECOVERY_TOLERANT` or `KAUSAL_RECOVERY_STRICT`. Default: 0 (tolerant).
    pub recovery_mode: u32,
    /// Blocks one traversal or path query may visit (1..=KAUSAL_RESULTS_MAX_LIMIT); 72 to
    /// 80 bytes of region each. Default: 10000.
    pub query_nodes_max: u32,
    /// 0: the open zeroes the whole region first (its bytes may be uninitialised memory),
    /// a time proportional to the region. 1: the caller promises every byte of the region
    /// was written before (`calloc`, static storage, a `memset`, an earlier store; any
    /// values), so the open touches only what the store needs. Version 2 of the struct.
    /// Default: 0.
    pub region_initialized: u32,
    /// 1: a write that finds the memtable full flushes it; 0: it freezes it and writes on into
    /// a second memtable (the region holds both), and the host writes the frozen one out with
    /// kausal_flush_step (a library built with `small-code`, as the firmware's, requires 1).
    /// Version 3 of the struct. Default: 1.
    pub flush_auto: u32,
    /// Bytes of table records one kausal_flush_step writes at most (at least 1). Version 3
    /// of the struct. Default: 262144.
    pub flush_step_bytes: u32,
    /// Bytes of table records one compaction step merges at most (the host's
    /// kausal_compact_step, or with `compaction_auto` a write's; at least 1), its place kept
    /// between calls, and the bytes of a merge's old table files a later step removes.
    /// Version 4 of the struct.
    /// Default: 1048576.
    pub compaction_step_bytes: u32,
    /// With `flush_auto` 1: 1 holds a second memtable in the region (as `flush_auto` 0
    /// does); the write that finds the memtable full freezes it, and each later write first
    /// writes at most `flush_step_bytes` of it to tables, so none waits for a whole flush
    /// (only one that finds both full). 0: that write flushes it whole. Not read with
    /// `flush_auto` 0; a `small-code` library requires 0. Version 5 of the struct.
    /// Default: 0.
    pub flush_in_steps: u32,
}

/// `sizeof(kausal_config)` of version 1 (without `region_initialized`), the smallest
/// `struct_size` accepted, and what `kausal_config_default` writes.
pub const KAUSAL_CONFIG_SIZE_V1: u32 = 80;
/// `sizeof(kausal_config)` of version 2 (`region_initialized`).
pub const KAUSAL_CONFIG_SIZE_V2: u32 = 84;
/// `sizeof(kausal_config)` of version 3 (`flush_auto`, `flush_step_bytes`).
pub const KAUSAL_CONFIG_SIZE_V3: u32 = 92;
/// `sizeof(kausal_config)` of version 4 (`compaction_step_bytes`).
pub const KAUSAL_CONFIG_SIZE_V4: u32 = 96;
/// `sizeof(kausal_config)` of version 5 (`flush_in_steps`), this version.
pub const KAUSAL_CONFIG_SIZE_V5: u32 = 100;
const _: () = assert!(core::mem::size_of::<kausal_config>() == KAUSAL_CONFIG_SIZE_V5 as usize);
const _: () =
    assert!(core::mem::offset_of!(kausal_config, flush_in_steps) == KAUSAL_CONFIG_SIZE_V4 as usize);
const _: () = assert!(
    core::mem::offset_of!(kausal_config, compaction_step_bytes) == KAUSAL_CONFIG_SIZE_V3 as usize
);
const _: () =
    assert!(core::mem::offset_of!(kausal_config, flush_auto) == KAUSAL_CONFIG_SIZE_V2 as usize);
const _: () = assert!(
    core::mem::offset_of!(kausal_config, region_initialized) == KAUSAL_CONFIG_SIZE_V1 as usize
);

/// `ConfigInvalid` for the C config's `field`.
fn config_invalid(field: &'static &'static str) -> crate::Failure {
    kausaldb_core::Error::ConfigInvalid { field: FieldName::new(field) }.into()
}

impl kausal_config {
    pub(crate) fn from_core(config: &Config) -> kausal_config {
        kausal_config {
            struct_size: KAUSAL_CONFIG_SIZE_V5,
            memtable_entries_max: config.memtable_entries_max,
            memtable_edges_max: config.memtable_edges_max,
            memtable_arena_bytes_max: config.memtable_arena_bytes_max,
            source_uri_bytes_max: config.source_uri_bytes_max,
            metadata_bytes_max: config.metadata_bytes_max,
            content_bytes_max: config.content_bytes_max,
            wal_segment_bytes_max: config.wal_segment_bytes_max,
            wal_segments_max: config.wal_segments_max,
            wal_buffer_bytes: config.wal_buffer_bytes,
            read_buffer_bytes: config.read_buffer_bytes,
            files_max: config.files_max,
            tables_max: config.tables_max,
            table_memory_bytes: config.table_memory_bytes,
            table_page_bytes: config.table_page_bytes,
            bloom_bits_per_key: config.bloom_bits_per_key,
            compaction_auto: u32::from(config.compaction_auto),
            sync_policy: match config.sync_policy {
                SyncPolicy::EveryWrite => KAUSAL_SYNC_EVERY_WRITE,
                SyncPolicy::Explicit => KAUSAL_SYNC_EXPLICIT,
            },
            recovery_mode: match config.recovery_mode {
                RecoveryMode::Tolerant => KAUSAL_RECOVERY_TOLERANT,
                RecoveryMode::Strict => KAUSAL_RECOVERY_STRICT,
            },
            query_nodes_max: config.query_nodes_max,
            region_initialized: 0,
            flush_auto: u32::from(config.flush_auto),
            flush_step_bytes: config.flush_step_bytes,
            compaction_step_bytes: config.compaction_step_bytes,
            flush_in_steps: u32::from(config.flush_in_steps),
        }
    }

    /// The caller's config, as many bytes as its `struct_size` says: fields of a later
    /// version than the caller's read as their defaults (`region_initialized` as 0).
    ///
    /// # Safety
    /// `config` is NULL or points to a `kausal_config` of at least `struct_size` bytes.
    pub(crate) unsafe fn read(config: *const kausal_config) -> crate::Outcome<kausal_config> {
        let defaults = Self::from_core(&Config::DEFAULT);
        // SAFETY: forwarded from the caller; every field is a u32, valid for any bits.
        unsafe { crate::read_versioned(config, KAUSAL_CONFIG_SIZE_V1, defaults) }
    }

    /// The core config, validated.
    pub(crate) fn to_core(self) -> crate::Outcome<Config> {
        if self.struct_size < KAUSAL_CONFIG_SIZE_V1 {
            return Err(KAUSAL_ERROR_STRUCT_SIZE.into());
        }
        if self.region_initialized > 1 {
            return Err(config_invalid(&"region_initialized"));
        }
        if self.flush_auto > 1 {
            return Err(config_invalid(&"flush_auto"));
        }
        if self.flush_in_steps > 1 {
            return Err(config_invalid(&"flush_in_steps"));
        }
        let known_policy =
            matches!(self.sync_policy, KAUSAL_SYNC_EVERY_WRITE | KAUSAL_SYNC_EXPLICIT);
        let known_mode =
            matches!(self.recovery_mode, KAUSAL_RECOVERY_TOLERANT | KAUSAL_RECOVERY_STRICT);
        if !known_policy {
            return Err(config_invalid(&"sync_policy"));
        }
        if !known_mode {
            return Err(config_invalid(&"recovery_mode"));
        }
        let config = self.to_core_unvalidated();
        config.validate()?;
        Ok(config)
    }

    /// The fields as a core config; unknown policy or mode values read as the defaults.
    fn to_core_unvalidated(self) -> Config {
        let sync_policy = match self.sync_policy {
            KAUSAL_SYNC_EVERY_WRITE => SyncPolicy::EveryWrite,
            _ => SyncPolicy::Explicit,
        };
        let recovery_mode = match self.recovery_mode {
            KAUSAL_RECOVERY_STRICT => RecoveryMode::Strict,
            _ => RecoveryMode::Tolerant,
        };
        Config {
            memtable_entries_max: self.memtable_entries_max,
            memtable_edges_max: self.memtable_edges_max,
            memtable_arena_bytes_max: self.memtable_arena_bytes_max,
            source_uri_bytes_max: self.source_uri_bytes_max,
            metadata_bytes_max: self.metadata_bytes_max,
            content_bytes_max: self.content_bytes_max,
            wal_segment_bytes_max: self.wal_segment_bytes_max,
            wal_segments_max: self.wal_segments_max,
            wal_buffer_bytes: self.wal_buffer_bytes,
            read_buffer_bytes: self.read_buffer_bytes,
            files_max: self.files_max,
            tables_max: self.tables_max,
            table_memory_bytes: self.table_memory_bytes,
            table_page_bytes: self.table_page_bytes,
            bloom_bits_per_key: self.bloom_bits_per_key,
            query_nodes_max: self.query_nodes_max,
            compaction_auto: self.compaction_auto != 0,
            flush_auto: self.flush_auto != 0,
            flush_in_steps: self.flush_in_steps != 0,
            flush_step_bytes: self.flush_step_bytes,
            compaction_step_bytes: self.compaction_step_bytes,
            sync_policy,
            recovery_mode,
        }
    }
}

/// `Config::FIELD_NAMES`, NUL-terminated for C, in the same order (checked below).
const FIELD_NAMES_C: [&str; Config::FIELD_NAMES.len()] = [
    "memtable_entries_max\0",
    "memtable_edges_max\0",
    "memtable_arena_bytes_max\0",
    "source_uri_bytes_max\0",
    "metadata_bytes_max\0",
    "content_bytes_max\0",
    "wal_segment_bytes_max\0",
    "wal_segments_max\0",
    "wal_buffer_bytes\0",
    "read_buffer_bytes\0",
    "files_max\0",
    "tables_max\0",
    "table_memory_bytes\0",
    "table_page_bytes\0",
    "bloom_bits_per_key\0",
    "query_nodes_max\0",
    "compaction_auto\0",
    "flush_auto\0",
    "flush_in_steps\0",
    "flush_step_bytes\0",
    "compaction_step_bytes\0",
    "sync_policy\0",
    "recovery_mode\0",
];

/// Whether `with_nul[i]` is `names[i]` followed by one NUL, for every i.
const fn names_match(with_nul: &[&str], names: &[&str]) -> bool {
    if with_nul.len() != names.len() {
        return false;
    }
    let mut index = 0;
    while index < names.len() {
        let (c, rust) = (with_nul[index].as_bytes(), names[index].as_bytes());
        if c.len() != rust.len() + 1 || c[rust.len()] != 0 {
            return false;
        }
        let mut at = 0;
        while at < rust.len() {
            if c[at] != rust[at] {
                return false;
            }
            at += 1;
        }
        index += 1;
    }
    true
}

// A Config field added or renamed in the core fails the build here until C names it too.
const _: () = assert!(names_match(&FIELD_NAMES_C, &Config::FIELD_NAMES));

/// The NUL-terminated name of the first invalid field of `config` (for
/// `kausal_config_check`).
pub(crate) fn invalid_field(config: &kausal_config) -> &'static str {
    if config.region_initialized > 1 {
        return "region_initialized\0";
    }
    if config.flush_auto > 1 {
        return "flush_auto\0";
    }
    if config.flush_in_steps > 1 {
        return "flush_in_steps\0";
    }
    let core_field = match (config.sync_policy, config.recovery_mode) {
        (
            KAUSAL_SYNC_EVERY_WRITE | KAUSAL_SYNC_EXPLICIT,
            KAUSAL_RECOVERY_TOLERANT | KAUSAL_RECOVERY_STRICT,
        ) => match config.to_core_unvalidated().validate() {
            Err(kausaldb_core::Error::ConfigInvalid { field }) => field.as_str(),
            _ => "",
        },
        (KAUSAL_SYNC_EVERY_WRITE | KAUSAL_SYNC_EXPLICIT, _) => "recovery_mode",
        _ => "sync_policy",
    };
    let index = Config::FIELD_NAMES.iter().position(|name| *name == core_field);
    index.map_or("struct_size\0", |index| FIELD_NAMES_C[index])
}

/// `kausal_edges` direction: edges whose source is the block.
pub const KAUSAL_DIRECTION_OUTGOING: u32 = 0;
/// `kausal_edges` direction: edges whose target is the block.
pub const KAUSAL_DIRECTION_INCOMING: u32 = 1;
/// `kausal_edges` direction: both (a self-edge is listed once).
pub const KAUSAL_DIRECTION_BOTH: u32 = 2;

pub(crate) fn direction_of(code: u32) -> Result<Direction, kausal_status> {
    match code {
        KAUSAL_DIRECTION_OUTGOING => Ok(Direction::Outgoing),
        KAUSAL_DIRECTION_INCOMING => Ok(Direction::Incoming),
        KAUSAL_DIRECTION_BOTH => Ok(Direction::Both),
        _ => Err(KAUSAL_ERROR_ARGUMENT_INVALID),
    }
}

/// Filter mode: every edge type.
pub const KAUSAL_FILTER_ALL: u32 = 0;
/// Filter mode: only the types listed.
pub const KAUSAL_FILTER_INCLUDE: u32 = 1;
/// Filter mode: every type but those listed.
pub const KAUSAL_FILTER_EXCLUDE: u32 = 2;

/// Which edge types a listing accepts. A NULL filter pointer means all types.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
#[allow(non_camel_case_types)]
pub struct kausal_edge_filter {
    /// `KAUSAL_FILTER_ALL`, `KAUSAL_FILTER_INCLUDE` or `KAUSAL_FILTER_EXCLUDE`.
    pub mode: u32,
    /// The edge type codes (may be NULL when `types_len` is 0).
    pub types: *const u16,
    /// Codes in `types`, at most `KAUSAL_FILTER_TYPES_MAX`.
    pub types_len: usize,
}

// Built-in edge types, each pointing source -> target as described; queries follow that
// direction (KAUSAL_QUERY_CALLERS walks CALLS edges from target back to source).
/// A file or module -> what it imports (a module, a file, a symbol).
pub const KAUSAL_EDGE_IMPORTS: u16 = 1;
/// A definition -> the file or module it is defined in (the reverse of CONTAINS).
pub const KAUSAL_EDGE_DEFINED_IN: u16 = 2;
/// A definition -> a symbol it names without calling it (a type, a constant, a field).
pub const KAUSAL_EDGE_REFERENCES: u16 = 3;
/// A file, module or type -> a definition inside it.
pub const KAUSAL_EDGE_CONTAINS: u16 = 4;
/// A type -> the type it inherits from or extends.
pub const KAUSAL_EDGE_EXTENDS: u16 = 5;
/// A type -> an interface or trait it implements.
pub const KAUSAL_EDGE_IMPLEMENTS: u16 = 6;
/// A function or method -> a function or method it calls (kind of callee unknown).
pub const KAUSAL_EDGE_CALLS: u16 = 7;
/// A package, build target or file -> one it depends on.
pub const KAUSAL_EDGE_DEPENDS_ON: u16 = 8;
/// A method -> the type it belongs to.
pub const KAUSAL_EDGE_METHOD_OF: u16 = 9;
/// A function or method -> a method it calls through a receiver.
pub const KAUSAL_EDGE_CALLS_METHOD: u16 = 10;
/// A function or method -> a free function it calls.
pub const KAUSAL_EDGE_CALLS_FUNCTION: u16 = 11;
/// First code of the host-defined edge types (their meaning is the host's).
pub const KAUSAL_EDGE_HOST_MIN: u16 = 0x8000;
/// Last code of the host-defined edge types.
pub const KAUSAL_EDGE_HOST_MAX: u16 = 0xFFFF;

impl kausal_edge {
    pub(crate) fn to_core(self) -> Result<Edge, kausal_status> {
        Ok(Edge {
            source: BlockId(self.source.bytes),
            target: BlockId(self.target.bytes),
            edge_type: EdgeType::from_code(self.edge_type)?,
        })
    }

    pub(crate) fn from_core(edge: &Edge) -> kausal_edge {
        kausal_edge {
            source: kausal_id { bytes: edge.source.0 },
            target: kausal_id { bytes: edge.target.0 },
            edge_type: edge.edge_type.code(),
        }
    }
}

/// A zero-copy view of a stored block. The pointers point into the store's region or a
/// memory-mapped table, and stay valid until the next call of any `kausal_` function on the
/// same handle.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
#[allow(non_camel_case_types)]
pub struct kausal_block_view {
    /// The block's id.
    pub id: kausal_id,
    /// Engine-assigned; a newer version of the same id has a higher sequence.
    pub sequence: u64,
    /// UTF-8, not NUL-terminated.
    pub source_uri: *const c_char,
    /// Bytes at `source_uri`.
    pub source_uri_len: usize,
    /// One JSON object, not NUL-terminated.
    pub metadata_json: *const c_char,
    /// Bytes at `metadata_json`.
    pub metadata_json_len: usize,
    /// The content: any bytes.
    pub content: *const u8,
    /// Bytes at `content`.
    pub content_len: usize,
}

/// Counters written by `kausal_stats`. Set `struct_size` to `sizeof(kausal_store_stats)`
/// before the call.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
#[allow(non_camel_case_types)]
pub struct kausal_store_stats {
    /// `sizeof(kausal_store_stats)`, set by the caller.
    pub struct_size: u32,
    /// 1 if a log write or sync failed and writes are refused until reopen.
    pub poisoned: u32,
    /// Live blocks in the whole store.
    pub blocks_live: u64,
    /// Live edges in the whole store.
    pub edges_live: u64,
    /// In-memory entries in use, of `memtable_entries_max`.
    pub memtable_entries_used: u64,
    /// In-memory edge records in use, of `memtable_edges_max`.
    pub memtable_edges_used: u64,
    /// In-memory payload bytes in use, of `memtable_arena_bytes_max`.
    pub memtable_arena_bytes_used: u64,
    /// Sorted tables, of `tables_max`.
    pub tables_count: u64,
    /// Table memory (blooms and indexes) in use, of `table_memory_bytes`.
    pub table_memory_bytes_used: u64,
    /// Flushes since open.
    pub flush_count: u64,
    /// Compaction steps since open.
    pub compaction_count: u64,
    /// Bytes written to tables by flushes and compactions since open.
    pub table_bytes_written: u64,
    /// The sequence the next write gets.
    pub sequence_next: u64,
    /// Log position after the last write.
    pub wal_position: u64,
    /// Log position up to which writes are durable.
    pub wal_synced_position: u64,
    /// Log segment files, of `wal_segments_max`.
    pub wal_segments_count: u64,
    /// Log frames replayed at open.
    pub recovery_frames_replayed: u64,
    /// Log bytes replayed at open.
    pub recovery_bytes_replayed: u64,
    /// Bytes of never-synced log tail cut at open.
    pub wal_torn_bytes_truncated: u64,
    /// Bytes of damaged, once-synced log dropped at open (tolerant recovery).
    pub wal_corrupt_bytes_dropped: u64,
    /// Version 2 on. Writes since open that waited for a flush (and compaction) because the
    /// memory or the log was full.
    pub write_stalls: u64,
    /// Version 2 on. Their total time in nanoseconds of the event hook's clock (0 without).
    pub write_stall_ns_total: u64,
    /// Version 2 on. The longest of them, in nanoseconds of the event hook's clock.
    pub write_stall_ns_max: u64,
    /// Version 2 on. Table data pages read or viewed since open (lookups, listings, scans,
    /// compaction).
    pub table_pages_read: u64,
    /// Version 2 on. Log segment syncs since open.
    pub wal_syncs: u64,
    /// Version 3 on. Of `tables_count`, the tables that hold edges: the most an edge listing
    /// reads (a flush writes blocks and edges to separate tables).
    pub tables_with_edges: u64,
    /// Version 4 on. 1 if a memtable is frozen, waiting for `kausal_flush_step`
    /// (`flush_auto` 0) or the next writes' steps (`flush_in_steps` 1).
    pub flush_pending: u64,
    /// Version 5 on. 1 if a compaction is between steps, waiting for kausal_compact_step
    /// (or, with `compaction_auto` 1, for the next writes); a flush finishes it first. Also
    /// 1 while the steps are still removing the last merge's old tables.
    pub compaction_pending: u64,
}

/// `sizeof(kausal_store_stats)` of version 1, the smallest `struct_size` accepted: a caller
/// built against it gets its 152 bytes and no more.
pub const KAUSAL_STATS_SIZE_V1: u32 = 152;
/// `sizeof(kausal_store_stats)` of version 2 (the write-stall and I/O counters).
pub const KAUSAL_STATS_SIZE_V2: u32 = 192;
/// `sizeof(kausal_store_stats)` of version 3 (`tables_with_edges`).
pub const KAUSAL_STATS_SIZE_V3: u32 = 200;
/// `sizeof(kausal_store_stats)` of version 4 (`flush_pending`).
pub const KAUSAL_STATS_SIZE_V4: u32 = 208;
/// `sizeof(kausal_store_stats)` in this version (5: `compaction_pending`).
pub const KAUSAL_STATS_SIZE_V5: u32 = 216;
const _: () = assert!(core::mem::size_of::<kausal_store_stats>() == KAUSAL_STATS_SIZE_V5 as usize);

impl kausal_store_stats {
    pub(crate) fn from_core(stats: &Stats) -> kausal_store_stats {
        // Every counter named, no `..`: a counter added to the core fails the build here
        // until C has it too.
        let Stats {
            blocks_live,
            edges_live,
            memtable_entries_used,
            memtable_edges_used,
            memtable_arena_bytes_used,
            tables_count,
            tables_with_edges,
            table_memory_bytes_used,
            flush_count,
            compaction_count,
            table_bytes_written,
            sequence_next,
            wal_position,
            wal_synced_position,
            wal_segments_count,
            recovery_frames_replayed,
            recovery_bytes_replayed,
            wal_torn_bytes_truncated,
            wal_corrupt_bytes_dropped,
            poisoned,
            write_stalls,
            write_stall_ns_total,
            write_stall_ns_max,
            table_pages_read,
            wal_syncs,
            flush_pending,
            compaction_pending,
        } = *stats;
        kausal_store_stats {
            struct_size: KAUSAL_STATS_SIZE_V5,
            flush_pending: u64::from(flush_pending),
            compaction_pending: u64::from(compaction_pending),
            poisoned: u32::from(poisoned),
            blocks_live,
            edges_live,
            memtable_entries_used: memtable_entries_used.into(),
            memtable_edges_used: memtable_edges_used.into(),
            memtable_arena_bytes_used: memtable_arena_bytes_used.into(),
            tables_count: tables_count.into(),
            tables_with_edges: tables_with_edges.into(),
            table_memory_bytes_used,
            flush_count,
            compaction_count,
            table_bytes_written,
            sequence_next,
            wal_position,
            wal_synced_position,
            wal_segments_count: wal_segments_count.into(),
            recovery_frames_replayed,
            recovery_bytes_replayed,
            wal_torn_bytes_truncated,
            wal_corrupt_bytes_dropped,
            write_stalls,
            write_stall_ns_total,
            write_stall_ns_max,
            table_pages_read,
            wal_syncs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edge_type_constants_match_the_core() {
        let pairs = [
            (KAUSAL_EDGE_IMPORTS, EdgeType::IMPORTS),
            (KAUSAL_EDGE_DEFINED_IN, EdgeType::DEFINED_IN),
            (KAUSAL_EDGE_REFERENCES, EdgeType::REFERENCES),
            (KAUSAL_EDGE_CONTAINS, EdgeType::CONTAINS),
            (KAUSAL_EDGE_EXTENDS, EdgeType::EXTENDS),
            (KAUSAL_EDGE_IMPLEMENTS, EdgeType::IMPLEMENTS),
            (KAUSAL_EDGE_CALLS, EdgeType::CALLS),
            (KAUSAL_EDGE_DEPENDS_ON, EdgeType::DEPENDS_ON),
            (KAUSAL_EDGE_METHOD_OF, EdgeType::METHOD_OF),
            (KAUSAL_EDGE_CALLS_METHOD, EdgeType::CALLS_METHOD),
            (KAUSAL_EDGE_CALLS_FUNCTION, EdgeType::CALLS_FUNCTION),
        ];
        for (code, edge_type) in pairs {
            assert_eq!(code, edge_type.code());
        }
        assert_eq!(
            (KAUSAL_EDGE_HOST_MIN, KAUSAL_EDGE_HOST_MAX),
            (EdgeType::HOST_MIN, EdgeType::HOST_MAX)
        );
    }

    #[test]
    fn the_default_config_round_trips() {
        let config = kausal_config::from_core(&Config::DEFAULT);
        assert_eq!(config.to_core(), Ok(Config::DEFAULT));
        let short = kausal_config { struct_size: 8, ..config };
        assert_eq!(
            short.to_core().map_err(|failure| failure.status),
            Err(KAUSAL_ERROR_STRUCT_SIZE)
        );
        let policy = kausal_config { sync_policy: 7, ..config };
        let error = kausaldb_core::Error::ConfigInvalid { field: FieldName::new(&"sync_policy") };
        assert_eq!(policy.to_core(), Err(error.into()));
        let region = kausal_config { region_initialized: 2, ..config };
        let error =
            kausaldb_core::Error::ConfigInvalid { field: FieldName::new(&"region_initialized") };
        assert_eq!(region.to_core(), Err(error.into()));
        assert_eq!(invalid_field(&region), "region_initialized\0");
    }

    /// A version-1 caller's struct is read for its 80 bytes only: the field after them
    /// reads as 0 whatever lies there.
    #[test]
    fn a_version_1_config_is_read_for_its_own_bytes() {
        let mut config = kausal_config::from_core(&Config::DEFAULT);
        config.region_initialized = 1;
        let read = |config: &kausal_config| {
            // SAFETY: a whole struct, of at least the size it states.
            unsafe { kausal_config::read(config) }.map(|copy| copy.region_initialized)
        };
        assert_eq!(read(&config), Ok(1));
        config.struct_size = KAUSAL_CONFIG_SIZE_V1;
        assert_eq!(read(&config), Ok(0));
        config.struct_size = KAUSAL_CONFIG_SIZE_V1 - 4;
        assert_eq!(read(&config).map_err(|failure| failure.status), Err(KAUSAL_ERROR_STRUCT_SIZE));
    }
    /// The header states each config field's default ("Default: N." in its comment), and
    /// the number is the one `kausal_config_default` writes.
    #[test]
    fn the_header_states_every_config_default_truly() {
        let header = include_str!("../../include/kausaldb.h");
        let start = header.find("typedef struct kausal_config {").unwrap();
        let body = &header[start..start + header[start..].find("} kausal_config;").unwrap()];
        let kausal_config {
            struct_size: _,
            memtable_entries_max,
            memtable_edges_max,
            memtable_arena_bytes_max,
            source_uri_bytes_max,
            metadata_bytes_max,
            content_bytes_max,
            wal_segment_bytes_max,
            wal_segments_max,
            wal_buffer_bytes,
            read_buffer_bytes,
            files_max,
            tables_max,
            table_memory_bytes,
            table_page_bytes,
            bloom_bits_per_key,
            compaction_auto,
            sync_policy,
            recovery_mode,
            query_nodes_max,
            region_initialized,
            flush_auto,
            flush_step_bytes,
            compaction_step_bytes,
            flush_in_steps,
        } = kausal_config::from_core(&Config::DEFAULT);
        let fields = [
            ("memtable_entries_max", memtable_entries_max),
            ("memtable_edges_max", memtable_edges_max),
            ("memtable_arena_bytes_max", memtable_arena_bytes_max),
            ("source_uri_bytes_max", source_uri_bytes_max),
            ("metadata_bytes_max", metadata_bytes_max),
            ("content_bytes_max", content_bytes_max),
            ("wal_segment_bytes_max", wal_segment_bytes_max),
            ("wal_segments_max", wal_segments_max),
            ("wal_buffer_bytes", wal_buffer_bytes),
            ("read_buffer_bytes", read_buffer_bytes),
            ("files_max", files_max),
            ("tables_max", tables_max),
            ("table_memory_bytes", table_memory_bytes),
            ("table_page_bytes", table_page_bytes),
            ("bloom_bits_per_key", bloom_bits_per_key),
            ("compaction_auto", compaction_auto),
            ("sync_policy", sync_policy),
            ("recovery_mode", recovery_mode),
            ("query_nodes_max", query_nodes_max),
            ("region_initialized", region_initialized),
            ("flush_auto", flush_auto),
            ("flush_step_bytes", flush_step_bytes),
            ("compaction_step_bytes", compaction_step_bytes),
            ("flush_in_steps", flush_in_steps),
        ];
        let mut comment_start = 0;
        for (name, value) in fields {
            let declaration = format!("uint32_t {name};");
            let at = body.find(&declaration).unwrap_or_else(|| panic!("{name} not in header"));
            let comment = &body[comment_start..at];
            let stated = comment.split("Default: ").nth(1).unwrap_or_else(|| panic!("{name}"));
            let digits: String = stated.chars().take_while(char::is_ascii_digit).collect();
            assert_eq!(digits.parse::<u32>().ok(), Some(value), "{name}: {comment}");
            comment_start = at + declaration.len();
        }
    }
}

/// `kausal_traversal.order`: breadth first (shortest depths, nearer blocks first).
pub const KAUSAL_ORDER_BREADTH_FIRST: u32 = 0;
/// `kausal_traversal.order`: depth first, preorder. A block is reported at the depth of the
/// path that first reached it, which may be longer than its shortest, so with `depth_max` a
/// block reachable within the bound only by a shorter path found later can be missed, and
/// that is not `truncated` (no bound stopped the walk). Use breadth first for "everything
/// within N edges".
pub const KAUSAL_ORDER_DEPTH_FIRST: u32 = 1;

// Named queries for `kausal_query`.
/// Blocks that call the start (incoming calls, calls_method, calls_function).
pub const KAUSAL_QUERY_CALLERS: u32 = 0;
/// Blocks the start calls.
pub const KAUSAL_QUERY_CALLEES: u32 = 1;
/// Blocks that reference the start (incoming references).
pub const KAUSAL_QUERY_REFERENCES: u32 = 2;
/// Blocks the start imports (outgoing imports).
pub const KAUSAL_QUERY_IMPORTS: u32 = 3;
/// Blocks that import the start (incoming imports).
pub const KAUSAL_QUERY_IMPORTED_BY: u32 = 4;
/// Everything that depends on the start: incoming edges of every type, transitively.
pub const KAUSAL_QUERY_IMPACT: u32 = 5;

pub(crate) fn named_query_of(code: u32) -> Result<kausaldb_core::NamedQuery, kausal_status> {
    use kausaldb_core::NamedQuery::*;
    Ok(match code {
        KAUSAL_QUERY_CALLERS => Callers,
        KAUSAL_QUERY_CALLEES => Callees,
        KAUSAL_QUERY_REFERENCES => References,
        KAUSAL_QUERY_IMPORTS => Imports,
        KAUSAL_QUERY_IMPORTED_BY => ImportedBy,
        KAUSAL_QUERY_IMPACT => Impact,
        _ => return Err(KAUSAL_ERROR_ARGUMENT_INVALID),
    })
}

/// A traversal. Get one from `kausal_traversal_default` (which sets `struct_size`), then set
/// `starts`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
#[allow(non_camel_case_types)]
pub struct kausal_traversal {
    /// `sizeof(kausal_traversal)`; `kausal_traversal_default` sets it.
    pub struct_size: u32,
    /// `KAUSAL_DIRECTION_*`: follow outgoing edges, incoming ones, or both.
    pub direction: u32,
    /// Live blocks to start from: 1..=KAUSAL_STARTS_MAX ids; duplicates are reported once.
    pub starts: *const kausal_id,
    /// Ids at `starts`.
    pub starts_len: usize,
    /// Edge types to follow; NULL follows every type.
    pub filter: *const kausal_edge_filter,
    /// Edges from a start to the farthest result, 0..=KAUSAL_DEPTH_MAX_LIMIT (default 10).
    pub depth_max: u32,
    /// Most results, starts included, 1..=KAUSAL_RESULTS_MAX_LIMIT (default 1000).
    pub results_max: u32,
    /// `KAUSAL_ORDER_BREADTH_FIRST` (default) or `KAUSAL_ORDER_DEPTH_FIRST`.
    pub order: u32,
}

/// `sizeof(kausal_traversal)` in this version, the smallest `struct_size` accepted.
#[cfg(target_pointer_width = "64")]
pub const KAUSAL_TRAVERSAL_SIZE_V1: u32 = 48;
/// `sizeof(kausal_traversal)` in this version, the smallest `struct_size` accepted.
#[cfg(target_pointer_width = "32")]
pub const KAUSAL_TRAVERSAL_SIZE_V1: u32 = 32;
const _: () =
    assert!(core::mem::size_of::<kausal_traversal>() == KAUSAL_TRAVERSAL_SIZE_V1 as usize);

/// One block a traversal reached, or one step of a path.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub struct kausal_hit {
    /// The block reached.
    pub id: kausal_id,
    /// The block it was first reached from (all zero for a start).
    pub parent: kausal_id,
    /// Edges from the start (0 for a start; a path step's index).
    pub depth: u32,
    /// Type of the edge from `parent` (0 for a start).
    pub edge_type: u16,
    /// 1 if that edge is id -> parent (followed backwards), 0 if parent -> id.
    pub incoming: u8,
    /// Zero.
    pub reserved: u8,
}

impl kausal_hit {
    pub(crate) fn new(id: &BlockId, depth: u32, via: Option<&kausaldb_core::Via>) -> kausal_hit {
        kausal_hit {
            id: kausal_id { bytes: id.0 },
            parent: kausal_id { bytes: via.map_or([0; 16], |via| via.parent.0) },
            depth,
            edge_type: via.map_or(0, |via| via.edge_type.code()),
            incoming: u8::from(via.is_some_and(|via| via.direction == Direction::Incoming)),
            reserved: 0,
        }
    }
}

/// `kausal_block_filter.metadata_kind`: no metadata condition.
pub const KAUSAL_METADATA_ANY: u32 = 0;
/// The member must be a JSON string equal to `metadata_string` (escapes decoded).
pub const KAUSAL_METADATA_STRING: u32 = 1;
/// The member must be a JSON number equal to `metadata_number`.
pub const KAUSAL_METADATA_NUMBER: u32 = 2;
/// The member must be `true` (`metadata_bool` 1) or `false` (0).
pub const KAUSAL_METADATA_BOOL: u32 = 3;

/// Conditions for `kausal_scan`; every set condition must hold. Zero-initialise it (or pass
/// NULL) to accept every block. Byte strings are not NUL-terminated.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
#[allow(non_camel_case_types)]
pub struct kausal_block_filter {
    /// The source URI starts with these bytes (NULL: any URI).
    pub source_uri_prefix: *const c_char,
    /// Bytes at `source_uri_prefix`.
    pub source_uri_prefix_len: usize,
    /// `KAUSAL_METADATA_*`: what top-level member `metadata_key` must equal.
    pub metadata_kind: u32,
    /// For `KAUSAL_METADATA_BOOL`: 1 for `true`, 0 for `false`.
    pub metadata_bool: u32,
    /// The top-level member's name (not NUL-terminated).
    pub metadata_key: *const c_char,
    /// Bytes at `metadata_key`.
    pub metadata_key_len: usize,
    /// For `KAUSAL_METADATA_STRING`: the string the member must equal.
    pub metadata_string: *const c_char,
    /// Bytes at `metadata_string`.
    pub metadata_string_len: usize,
    /// For `KAUSAL_METADATA_NUMBER`: the number the member must equal.
    pub metadata_number: f64,
    /// The content contains these bytes (NULL: any content); at most 4096 bytes.
    pub content_contains: *const u8,
    /// Bytes at `content_contains`.
    pub content_contains_len: usize,
}

/// Where a scan resumes. Zero-initialise it to start; `done` becomes 1 once every block
/// was examined. Do not edit it between calls.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
#[allow(non_camel_case_types)]
pub struct kausal_scan_cursor {
    /// The last id examined (all zero: none yet).
    pub after: kausal_id,
    /// 1 once every block was examined.
    pub done: u32,
}

impl kausal_block_view {
    /// The view of a block that is not live: sequence 0, NULL pointers, zero lengths.
    pub(crate) fn missing(id: &BlockId) -> kausal_block_view {
        kausal_block_view {
            id: kausal_id { bytes: id.0 },
            sequence: 0,
            source_uri: core::ptr::null(),
            source_uri_len: 0,
            metadata_json: core::ptr::null(),
            metadata_json_len: 0,
            content: core::ptr::null(),
            content_len: 0,
        }
    }
}
