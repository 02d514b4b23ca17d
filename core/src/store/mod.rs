//! The levels of the store: the memtable (newest), the frozen memtable (without
//! `Config::flush_auto` or with `flush_in_steps`: a full memtable waiting for the host's or
//! the writes' flush steps), and the
//! sorted tables (newest first).
//! Everything that must look at both lives here, one concern a file: `visibility` (is a
//! block or edge live, and its version), `listing` (merged edge listings), `writes` (plan and
//! apply of the four writes), `flush` (memtable to table), `compaction` (tables merged),
//! `scan` (every live block in id order), all merging through `merge`; `retire` removes a
//! merge's inputs in steps.
//!
//! Every write is planned first (all reads, which may fail, and the room it needs), then
//! logged by the engine, then applied; applying reads only what planning proved readable,
//! and a failure there poisons the store.

mod compaction;
mod flush;
mod frozen;
mod listing;
mod merge;
mod replay;
mod retire;
mod scan;
mod visibility;
mod writes;

use crate::config::Config;
use crate::edge::Edge;
use crate::error::{Error, Resource};
use crate::limits::TABLES_MAX_LIMIT;
use crate::manifest::Manifest;
use crate::memtable::Memtable;
use crate::table::cursor::{EdgeCursor, SectionCursor};
use crate::table::open;
use crate::table::{TableMeta, TablePool};
use crate::vfs::Vfs;
use crate::wal::format::DELETED_EDGE_BYTES;
use merge::MergeBuffers;

pub(crate) use compaction::{gather_run, CompactionSteps};
pub(crate) use flush::Flushed;
pub(crate) use frozen::FrozenSteps;
pub(crate) use replay::Replayer;
pub(crate) use retire::RetiredTable;

/// The parts of the region the levels own.
pub(crate) struct StoreParts<'r> {
    pub(crate) tables: &'r mut [TableMeta],
    pub(crate) pool: &'r mut [u8],
    pub(crate) merge_buffers: &'r mut [u8],
    pub(crate) lookup_buffer: &'r mut [u8],
    pub(crate) sort_scratch: &'r mut [u32],
    pub(crate) edge_cursors: &'r mut [EdgeCursor],
    pub(crate) section_cursors: &'r mut [SectionCursor],
    pub(crate) delete_round: &'r mut [Edge],
    pub(crate) delete_scratch: &'r mut [u8],
    pub(crate) frozen_steps: &'r mut [FrozenSteps<'r>],
    pub(crate) compaction_steps: &'r mut [CompactionSteps<'r>],
}

pub(crate) struct Store<'r> {
    /// The memtable writes go to (the newest level).
    pub(crate) memtable: Memtable<'r>,
    /// Where `Config::memtable_freezes`: a full memtable, frozen until flush steps write
    /// it out, the level between `memtable` and the tables. Empty (and of no capacity)
    /// otherwise.
    /// (Both held in the region, not here: see `region`.)
    pub(crate) frozen: &'r mut Memtable<'r>,
    /// Where the log stood when `frozen` was frozen: what its flush's checkpoint records.
    pub(crate) frozen_at: &'r mut Option<FrozenAt>,
    /// What its flush keeps between two steps (one, or none without a frozen memtable).
    frozen_steps: &'r mut [FrozenSteps<'r>],
    /// What a compaction keeps between two `compact_step` calls (one, or none with
    /// `compaction_auto`).
    compaction_steps: &'r mut [CompactionSteps<'r>],
    tables: &'r mut [TableMeta],
    tables_count: usize,
    pool: TablePool<'r>,
    merge_buffers: MergeBuffers<'r>,
    lookup_buffer: &'r mut [u8],
    sort_scratch: &'r mut [u32],
    /// The cursors of an edge listing's merge, one per table (`tables_max`).
    edge_cursors: &'r mut [EdgeCursor],
    /// The cursors of a scan's or a compaction's merge, one per table.
    section_cursors: &'r mut [SectionCursor],
    /// The edges of one round of a delete (`Config::deleted_edges_per_frame`), and the
    /// bytes its log frame is encoded in.
    delete_round: &'r mut [Edge],
    delete_scratch: &'r mut [u8],
    /// What `sort_scratch` holds when a scan left it there: the memtable's blocks in id
    /// order, as of a memtable generation, and how many. A scan that finds it current goes
    /// on from it instead of sorting again (paging through a memtable 64 ids at a time was
    /// a sort per page: 40,000 blocks took seconds). Anything else that uses the scratch
    /// clears it.
    scan_order: Option<ScanOrder>,
    /// Sorts of the memtable's blocks for scans (a cost counter for tests).
    pub(crate) scan_sorts: u64,
    /// Live blocks and edges in the whole store (kept in the manifest at each checkpoint).
    pub(crate) blocks_live: u64,
    pub(crate) edges_live: u64,
    bloom_bits_per_key: u32,
    table_page_bytes: usize,
}

/// The memtable's blocks in id order, left in the sort scratch by a scan (after the frozen
/// memtable's, `frozen_count` of them, which cannot change while it is frozen).
#[derive(Clone, Copy, Debug)]
struct ScanOrder {
    generation: u64,
    count: usize,
    frozen_count: usize,
}

/// The log and the live counts as of a freeze: the frozen memtable holds every write before
/// `position` (sequences before `sequence`) since the last checkpoint, and none after.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FrozenAt {
    pub(crate) position: u64,
    pub(crate) sequence: u64,
    /// The log segment holding `position`: every one before it is older than the freeze.
    pub(crate) segment: u64,
    /// `blocks_live` and `edges_live` then.
    pub(crate) live: (u64, u64),
}

/// The room a write needs in the memtable, and what planning learned.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Plan {
    pub(crate) entries: u32,
    pub(crate) payload_bytes: usize,
    pub(crate) edge_records: usize,
    /// For put_block: the id was not visible before (a new block).
    pub(crate) new_block: bool,
    /// For delete_block: the visible edges it removes.
    pub(crate) edges_removed: u64,
    /// For put_edge: the edge is already visible (a no-op).
    pub(crate) duplicate: bool,
}

impl<'r> Store<'r> {
    pub(crate) fn new(
        memtable: Memtable<'r>,
        (frozen, frozen_at): (&'r mut Memtable<'r>, &'r mut Option<FrozenAt>),
        parts: StoreParts<'r>,
        config: &Config,
    ) -> Store<'r> {
        let merge_buffer_bytes = config.merge_buffer_bytes();
        assert!(parts.merge_buffers.len() >= parts.tables.len() * merge_buffer_bytes);
        assert!(parts.tables.len() <= TABLES_MAX_LIMIT);
        assert!(parts.edge_cursors.len() == parts.tables.len());
        assert!(parts.section_cursors.len() == parts.tables.len());
        assert!(!parts.delete_round.is_empty());
        assert!(parts.delete_scratch.len() >= parts.delete_round.len() * DELETED_EDGE_BYTES);
        Store {
            memtable,
            frozen,
            frozen_at,
            frozen_steps: parts.frozen_steps,
            compaction_steps: parts.compaction_steps,
            tables: parts.tables,
            tables_count: 0,
            pool: TablePool { bytes: parts.pool, used: 0, pages_read: 0 },
            merge_buffers: MergeBuffers::new(parts.merge_buffers, merge_buffer_bytes),
            lookup_buffer: parts.lookup_buffer,
            sort_scratch: parts.sort_scratch,
            edge_cursors: parts.edge_cursors,
            section_cursors: parts.section_cursors,
            delete_round: parts.delete_round,
            delete_scratch: parts.delete_scratch,
            scan_order: None,
            scan_sorts: 0,
            blocks_live: 0,
            edges_live: 0,
            bloom_bits_per_key: config.bloom_bits_per_key,
            table_page_bytes: config.table_page_bytes as usize,
        }
    }

    pub(crate) fn tables(&self) -> &[TableMeta] {
        &self.tables[..self.tables_count]
    }

    /// Opens the tables the manifest lists (newest first) and takes its counts.
    pub(crate) fn load<V: Vfs>(&mut self, vfs: &mut V, manifest: &Manifest) -> Result<(), Error> {
        if manifest.tables.len() > self.tables.len() {
            return Err(Error::RecoveryCapacity { resource: Resource::Tables });
        }
        for &number in manifest.tables.iter() {
            let table = open::open_table(vfs, &mut self.pool, number)?;
            self.tables[self.tables_count] = table;
            self.tables_count += 1;
        }
        self.blocks_live = manifest.blocks_live;
        self.edges_live = manifest.edges_live;
        Ok(())
    }

    /// Closes every table file (at engine close).
    pub(crate) fn close<V: Vfs>(&mut self, vfs: &mut V) {
        for table in &self.tables[..self.tables_count] {
            vfs.close(table.file);
        }
        self.tables_count = 0;
    }

    /// Whether the memtable has room for `plan`.
    pub(crate) fn room_for(&self, plan: &Plan) -> Result<(), Resource> {
        self.memtable.room_for(plan.entries, plan.payload_bytes, plan.edge_records)
    }

    /// Whether a memtable is frozen (it holds anything): the next flush writes it, the older
    /// level, first, and reads look at it after the memtable. Every path that reads the
    /// frozen memtable asks this first: `small-code` builds have none (`Config::flush_auto`
    /// on and `flush_in_steps` off are required there), so there it is false and those
    /// paths compile away (3 KiB of code, and 400 bytes of the open's stack, on the
    /// firmware).
    pub(crate) fn flushing_frozen(&self) -> bool {
        !cfg!(feature = "small-code") && !self.frozen.is_empty()
    }

    /// The memtable the next flush writes (see `flushing_frozen`).
    pub(crate) fn next_flushed(&self) -> &Memtable<'r> {
        if self.flushing_frozen() {
            &*self.frozen
        } else {
            &self.memtable
        }
    }

    /// Tables the next flush would write now: one per kind its memtable holds records of
    /// (at most `FLUSH_TABLES_MAX`; tombstones counted, though a flush may drop them).
    pub(crate) fn flush_tables_needed(&self) -> usize {
        let memtable = self.next_flushed();
        usize::from(memtable.has_block_records(true)) + usize::from(memtable.has_edge_records(true))
    }

    /// Freezes the memtable (the frozen one must be empty): it becomes the level below, and
    /// the other, empty, takes the writes. O(1): the two swap their parts.
    pub(crate) fn freeze(&mut self, at: FrozenAt) {
        assert!(self.frozen.is_empty() && self.frozen_at.is_none(), "one frozen memtable");
        core::mem::swap(&mut self.memtable, &mut *self.frozen);
        *self.frozen_at = Some(at);
        // The scratch's order was the memtable's as of a generation the swap makes ambiguous.
        self.scan_order = None;
    }

    /// Elements of the sort scratch before the memtable's part: the frozen memtable's (none
    /// in `small-code`, or without `Config::memtable_freezes`).
    pub(crate) fn frozen_scratch_len(&self) -> usize {
        match cfg!(feature = "small-code") {
            true => 0,
            false => self.frozen.capacity(),
        }
    }

    /// The frozen memtable's entry for `id`, if it holds anything.
    pub(crate) fn frozen_entry(&self, id: &crate::id::BlockId) -> Option<u32> {
        if !self.flushing_frozen() {
            return None;
        }
        self.frozen.entry_of(id)
    }

    /// Whether a flush would not find a free table slot for each table it writes.
    pub(crate) fn tables_full(&self) -> bool {
        self.tables_count + self.flush_tables_needed() > self.tables.len()
    }

    pub(crate) fn table_memory_used(&self) -> usize {
        self.pool.used
    }

    pub(crate) fn pages_read(&self) -> u64 {
        self.pool.pages_read
    }
}
