//! Every hard ceiling of the engine, in one leaf module: the ranges `Config` fields and
//! query arguments are validated against, and the fixed capacities of on-stack and on-disk
//! structures. Modules that size something by a limit import it from here, so no format or
//! query module depends on `config` (which depends on them).

/// Hard ceiling on `Config::memtable_entries_max` and `memtable_edges_max`: index slots are
/// `u32`, and the open-addressing tables hold twice this many slots.
pub const ENTRIES_MAX_LIMIT: u32 = 1 << 26;
/// Hard ceiling on `Config::memtable_arena_bytes_max`: arena offsets are `u32`.
pub const ARENA_BYTES_MAX_LIMIT: u32 = 1 << 31;
/// Hard ceiling on one block's content.
pub const CONTENT_BYTES_MAX_LIMIT: u32 = 16 << 20;
/// Hard ceiling on one block's source URI.
pub const SOURCE_URI_BYTES_MAX_LIMIT: u32 = 64 << 10;
/// Hard ceiling on one block's metadata.
pub const METADATA_BYTES_MAX_LIMIT: u32 = 1 << 20;
/// Hard ceiling on one WAL segment file.
pub const WAL_SEGMENT_BYTES_MAX_LIMIT: u32 = 1 << 30;
/// Longest file name the engine creates or reads back from a directory listing.
pub const FILE_NAME_BYTES_MAX: usize = 64;
/// Most tables a manifest lists (and so the ceiling on `Config::tables_max`).
pub const TABLES_MAX_LIMIT: usize = 64;
/// Tables of similar size merged by one size-tiered compaction step.
pub const COMPACTION_FANIN: usize = 4;
/// Tables one flush writes: blocks and edges go to separate tables, so that compaction
/// merges edges (35-byte records) without rewriting the blocks beside them, and an edge
/// listing or a block lookup reads only tables of its kind. A flush needs this many free
/// table slots (`Config::tables_max` is at least `COMPACTION_FANIN`).
pub const FLUSH_TABLES_MAX: usize = 2;
/// Deepest traversal accepted.
pub const DEPTH_MAX_LIMIT: u32 = 100;
/// Most results one traversal may ask for (also the largest `Config::query_nodes_max`):
/// 16 Mi nodes. Each node a config allows costs 72 to 80 bytes of region (two 32-byte node
/// records and a u32 index slot at a load of 1/4 to 1/2), so a 1,000,000-node traversal
/// needs about 69 MiB; a host streams the hits (`Engine::traverse_with`,
/// `kausal_traverse_visit`) rather than holding them twice. It was 10,000: a depth-3 callers
/// query from a hub of the Rust standard library's graph came back truncated.
pub const RESULTS_MAX_LIMIT: u32 = 1 << 24;
/// Most edge types an include or exclude filter of a query may list.
pub const EDGE_TYPES_MAX: usize = 64;
/// Longest `BlockFilter::content_contains` needle accepted (bounds a scan's cost per block).
pub const NEEDLE_BYTES_MAX: usize = 4096;
/// Most start ids one traversal accepts.
pub const STARTS_MAX: usize = 256;
/// Most live blocks, and most live edges, a manifest may count: 2^48, which at the smallest
/// table record (41 bytes) is 11 PB of tables. A larger count is damage, refused at open;
/// without the bound a damaged count near 2^64 overflowed on the next write (found by the
/// `recovery` fuzz target with a re-sealed manifest).
pub const LIVE_COUNT_MAX: u64 = 1 << 48;

const _: () = assert!((ENTRIES_MAX_LIMIT as u64) * 2 < u32::MAX as u64);
const _: () = assert!(CONTENT_BYTES_MAX_LIMIT < ARENA_BYTES_MAX_LIMIT);
const _: () = assert!(COMPACTION_FANIN >= 2 && COMPACTION_FANIN <= TABLES_MAX_LIMIT);
// A store at its table limit can always merge: one kind has at least two tables.
const _: () = assert!(COMPACTION_FANIN > FLUSH_TABLES_MAX);
// Depths are stored in 16 bits in the region's node records.
const _: () = assert!(DEPTH_MAX_LIMIT <= u16::MAX as u32);

/// The most edges a delete removes per round (rounds repeat until no visible edge is
/// left), and so the most one deleted-edges WAL frame it writes holds; the round lives in
/// the region (`Config::deleted_edges_per_frame` edges, fewer when frames are small).
pub(crate) const DELETE_ROUND_EDGES: usize = 64;
