//! Size-tiered compaction: merges a run of tables of one kind and similar size into one, in a
//! streaming way (one page per input in its merge buffer, one output page in the
//! table buffer). Why size-tiered: the host is single-threaded and often small; a tier
//! merge rewrites each byte about log_fanin(data / memtable) times and needs no per-level
//! size targets. Flushes write blocks and edges to separate tables, and a run holds one
//! kind: edges (35-byte records) are merged without rewriting the blocks (about 30 times
//! their bytes in a code graph), and the edge tables stay few.
//!
//! Order: a key lives only in tables of its kind, so "newer wins" needs the tables newest
//! first *among those of a kind*; a table of the other kind may sit anywhere between. A run
//! is the newest `COMPACTION_FANIN` tables holding its kind with none of that kind between
//! them (no mixed table either, unless the run is adjacent); before the merge the run is
//! gathered next to its newest member, the tables of the other kind between its members
//! moved behind it in their order (`gather_run`), which changes no kind's order. Shadowed
//! versions are dropped; tombstones only when no older table holds the run's kinds, so none
//! can still hold their key.

use super::merge::Merge;
use super::Store;
use crate::error::Error;
use crate::limits::COMPACTION_FANIN;
use crate::record::{BlockRecord, EdgeRecord};
use crate::table::cursor::SectionCursor;
use crate::table::format::Section;
use crate::table::writer::TableWriter;
use crate::table::{TableMeta, TablePool, DAMAGED};
use crate::vfs::Vfs;

/// How much larger the largest table of a run may be than its smallest.
const TIER_SIZE_RATIO: u64 = 4;

/// A run of tables to merge, as a mask of their positions (newest first: bit 0 is
/// position 0); `TABLES_MAX_LIMIT` is 64.
pub(crate) type Run = u64;
const _: () = assert!(crate::limits::TABLES_MAX_LIMIT <= Run::BITS as usize);

/// Moves the members of `run` next to its newest member, keeping their order, and the
/// other items between them behind, in theirs; returns the members' range. Applied to the
/// engine's tables and to the manifest's list alike, so both keep the same order.
pub(crate) fn gather_run<T>(items: &mut [T], run: Run) -> (usize, usize) {
    assert!(run != 0 && (Run::BITS - run.leading_zeros()) as usize <= items.len());
    let first = run.trailing_zeros() as usize;
    let last = (Run::BITS - 1 - run.leading_zeros()) as usize;
    let mut end = first;
    for position in first..=last {
        if run & (1 << position) != 0 {
            items[end..=position].rotate_right(1);
            end += 1;
        }
    }
    debug_assert_eq!(end - first, run.count_ones() as usize);
    (first, end)
}

/// The newest run of `COMPACTION_FANIN` tables holding blocks (or edges) of similar size,
/// none of that kind between them; a run with a mixed table must be adjacent.
fn tiered_run(tables: &[TableMeta], blocks: bool) -> Option<Run> {
    let holds = |table: &TableMeta| if blocks { table.holds_blocks() } else { table.holds_edges() };
    let mut window = [0usize; COMPACTION_FANIN];
    let mut seen = 0;
    for (position, _) in tables.iter().enumerate().filter(|(_, table)| holds(table)) {
        window.copy_within(1.., 0);
        window[COMPACTION_FANIN - 1] = position;
        seen += 1;
        if seen < COMPACTION_FANIN {
            continue;
        }
        let run = window.map(|position| &tables[position]);
        let smallest = run.iter().map(|table| table.file_bytes).min().unwrap_or(0);
        let largest = run.iter().map(|table| table.file_bytes).max().unwrap_or(0);
        let adjacent = window[COMPACTION_FANIN - 1] - window[0] + 1 == COMPACTION_FANIN;
        let mixed = run.iter().any(|table| table.is_mixed());
        if largest <= smallest.saturating_mul(TIER_SIZE_RATIO) && (adjacent || !mixed) {
            return Some(window.iter().fold(0, |mask, &position| mask | 1 << position));
        }
    }
    None
}

/// When no further flush would fit: every table of the kind more tables hold, or, with a
/// mixed table among them, every table.
fn full_run(tables: &[TableMeta]) -> Option<Run> {
    if tables.len() < 2 {
        return None;
    }
    // Every position in use: the low `tables.len()` bits (2..=TABLES_MAX_LIMIT of them).
    let every: Run = Run::MAX >> (Run::BITS as usize - tables.len());
    if tables.iter().any(TableMeta::is_mixed) {
        return Some(every);
    }
    let blocks = tables.iter().filter(|table| table.holds_blocks()).count();
    let edges = tables.len() - blocks;
    let kind_run: Run = tables
        .iter()
        .enumerate()
        .filter(|(_, table)| table.holds_blocks() == (blocks >= edges))
        .fold(0, |mask, (position, _)| mask | 1 << position);
    Some(if kind_run.count_ones() >= 2 { kind_run } else { every })
}

impl<'r> Store<'r> {
    /// The run of tables the next step should merge: the newest tiered run of edge tables,
    /// else of block tables, or, when no further flush would fit, `full_run`.
    pub(crate) fn compaction_pick(&self) -> Option<Run> {
        let tables = &self.tables[..self.tables_count];
        tiered_run(tables, false).or_else(|| tiered_run(tables, true)).or_else(|| {
            if self.tables_full() {
                full_run(tables)
            } else {
                None
            }
        })
    }

    /// Gathers `run` (see `gather_run`); returns its range.
    pub(crate) fn gather(&mut self, run: Run) -> (usize, usize) {
        gather_run(&mut self.tables[..self.tables_count], run)
    }

    /// Merges tables `start..end` (a gathered run) into new table `number` (synced). Inputs
    /// are unchanged.
    pub(crate) fn merge_tables<V: Vfs>(
        &mut self,
        vfs: &mut V,
        start: usize,
        end: usize,
        number: u64,
        buffer: &mut [u8],
    ) -> Result<TableMeta, Error> {
        assert!(start < end && end <= self.tables_count);
        let inputs = &self.tables[start..end];
        let (blocks, edges) =
            (inputs.iter().any(TableMeta::holds_blocks), inputs.iter().any(TableMeta::holds_edges));
        let drop_tombstones = self.tables[end..self.tables_count]
            .iter()
            .all(|older| !(blocks && older.holds_blocks() || edges && older.holds_edges()));
        // A section's distinct ids in the output are at most the sum over the inputs, so the
        // sum of the inputs' counts bounds the output's (the writer folds to the real count).
        let keys: u64 = self.tables[start..end].iter().map(|table| table.bloom_keys).sum();
        let mut writer = self.begin_table(vfs, number, keys, buffer)?;
        for section in [Section::Blocks, Section::OutEdges, Section::InEdges] {
            if let Err(error) =
                self.merge_section(vfs, &mut writer, start, end, section, drop_tombstones)
            {
                writer.abandon(vfs, &mut self.pool);
                return Err(error);
            }
        }
        // On error finish() abandons the table: file closed and removed, pool bytes freed.
        writer.finish(vfs, &mut self.pool)
    }

    /// Streams every record of `section` in tables `start..end` into `writer`, newest version
    /// of each key only.
    fn merge_section<V: Vfs>(
        &mut self,
        vfs: &mut V,
        writer: &mut TableWriter<'_>,
        start: usize,
        end: usize,
        section: Section,
        drop_tombstones: bool,
    ) -> Result<(), Error> {
        let tables = &self.tables[start..end];
        let mut merge = Merge::new(&mut *self.section_cursors);
        for (slot, table) in tables.iter().enumerate() {
            let buffer = self.merge_buffers.slot(slot);
            merge.push(SectionCursor::start(vfs, &mut self.pool, table, section, buffer)?);
        }
        let total: u64 =
            tables.iter().map(|table| table.block_records + 2 * table.edge_records).sum();
        // Every round consumes at least one record.
        for _ in 0..=total {
            let Some((slot, (from, to, key))) =
                merge.smallest(vfs, &mut self.pool, tables, &mut self.merge_buffers)?
            else {
                return Ok(());
            };
            let record = self.merge_buffers.slot_bytes(slot).get(from..to).ok_or(DAMAGED)?;
            copy_record(vfs, &mut self.pool, writer, section, record, drop_tombstones)?;
            merge.advance_past(vfs, &mut self.pool, tables, &mut self.merge_buffers, &key)?;
        }
        Err(DAMAGED)
    }

    /// Puts `merged` in place of tables `start..end`: closes and removes their files and
    /// frees their pool bytes. Removal errors are left to orphan cleanup at the next open.
    pub(crate) fn replace_tables<V: Vfs>(
        &mut self,
        vfs: &mut V,
        start: usize,
        end: usize,
        mut merged: TableMeta,
    ) {
        let mut name = [0u8; crate::table::format::TABLE_NAME_BYTES];
        for index in start..end {
            let table = self.tables[index];
            vfs.close(table.file);
            let _ = vfs.remove(crate::table::format::table_name(table.number, &mut name));
            self.release_pool(&table, &mut merged);
        }
        self.tables[start] = merged;
        self.tables.copy_within(end..self.tables_count, start + 1);
        self.tables_count -= end - start - 1;
    }

    /// Frees `table`'s pool bytes (bloom, index, prefixes), moving later bytes down and
    /// fixing the offsets of every table (and `pending`) stored after them.
    fn release_pool(&mut self, table: &TableMeta, pending: &mut TableMeta) {
        let start = table.pool_offset;
        let len = table.pool_bytes();
        self.pool.bytes.copy_within(start + len..self.pool.used, start);
        self.pool.used -= len;
        for other in self.tables[..self.tables_count].iter_mut().chain(core::iter::once(pending)) {
            if other.pool_offset > start {
                other.pool_offset -= len;
            }
        }
    }
}

/// Writes a winning record (its encoded bytes) to the merge's output, unless it is a tombstone
/// that may be dropped.
fn copy_record<V: Vfs>(
    vfs: &mut V,
    pool: &mut TablePool<'_>,
    writer: &mut TableWriter<'_>,
    section: Section,
    bytes: &[u8],
    drop_tombstones: bool,
) -> Result<(), Error> {
    if section == Section::Blocks {
        let (record, _) = BlockRecord::decode(bytes).ok_or(DAMAGED)?;
        if !(drop_tombstones && record.tombstone) {
            writer.add_block(vfs, pool, &record)?;
        }
    } else {
        let record = EdgeRecord::decode(bytes).ok_or(DAMAGED)?;
        if !(drop_tombstones && record.tombstone) {
            writer.add_edge(vfs, pool, section, &record)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    /// A table of `bytes` holding blocks (`b`), edges (`e`) or both (`m`).
    fn table(kind: char, bytes: u64) -> TableMeta {
        let (block_records, edge_records) = match kind {
            'b' => (1, 0),
            'e' => (0, 1),
            _ => (1, 1),
        };
        TableMeta { file_bytes: bytes, block_records, edge_records, ..TableMeta::EMPTY }
    }

    fn tables(kinds: &str) -> Vec<TableMeta> {
        kinds.chars().map(|kind| table(kind, 100)).collect()
    }

    #[test]
    fn a_run_is_gathered_next_to_its_newest_member_and_every_order_kept() {
        let mut items = ['a', 'B', 'c', 'D', 'e', 'F', 'g'];
        // Members B, D, F (positions 1, 3, 5).
        assert_eq!(gather_run(&mut items, 0b10_1010), (1, 4));
        assert_eq!(items, ['a', 'B', 'D', 'F', 'c', 'e', 'g']);
        let mut adjacent = [1, 2, 3, 4];
        assert_eq!(gather_run(&mut adjacent, 0b1111), (0, 4));
        assert_eq!(adjacent, [1, 2, 3, 4]);
    }

    #[test]
    fn a_tiered_run_takes_the_newest_four_of_a_kind_across_the_other_kind() {
        let interleaved = tables("bebebebe");
        assert_eq!(tiered_run(&interleaved, false), Some(0b1010_1010));
        assert_eq!(tiered_run(&interleaved, true), Some(0b0101_0101));
        // Three edge tables only: no edge run.
        assert_eq!(tiered_run(&tables("bebebeb"), false), None);
        // Sizes apart by more than the tier ratio: no run.
        let mut uneven = interleaved;
        uneven[7].file_bytes = 100 * TIER_SIZE_RATIO + 1;
        assert_eq!(tiered_run(&uneven, false), None);
    }

    #[test]
    fn a_run_with_a_mixed_table_must_be_adjacent() {
        // The mixed table holds edges and blocks: the block tables between its edge-run
        // partners would change order with its blocks, so no edge run skips over them.
        assert_eq!(tiered_run(&tables("ebmee"), false), None);
        assert_eq!(tiered_run(&tables("eebme"), false), None);
        assert_eq!(tiered_run(&tables("emeeb"), false), Some(0b1111));
        // The newest four are not adjacent; the next four are.
        assert_eq!(tiered_run(&tables("ebemee"), false), Some(0b11_1100));
    }

    #[test]
    fn a_full_store_merges_every_table_of_the_kind_more_tables_hold() {
        assert_eq!(full_run(&tables("bebbe")), Some(0b0_1101));
        assert_eq!(full_run(&tables("eebbe")), Some(0b1_0011));
        // A mixed table anywhere: every table, adjacent.
        assert_eq!(full_run(&tables("bmbe")), Some(0b1111));
        assert_eq!(full_run(&tables("b")), None);
    }
}
