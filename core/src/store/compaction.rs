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
use super::retire::RetiredTable;
use super::Store;
use crate::error::Error;
use crate::limits::COMPACTION_FANIN;
use crate::record::{BlockRecord, EdgeRecord};
use crate::table::cursor::SectionCursor;
use crate::table::format::{Section, EDGE_RECORD_BYTES};
use crate::table::writer::TableWriter;
use crate::table::{bloom, TableMeta, TablePool, DAMAGED};
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

/// What a compaction in steps keeps between `compact_step` calls, in the region (none in
/// `small-code` builds, whose merges run in one call).
pub(crate) struct CompactionSteps<'r> {
    /// The merge between two steps, if one is.
    merge: Option<RunMerge<'r>>,
    /// Its cursors, one per table the config allows (a scan between two steps uses the
    /// store's own).
    cursors: &'r mut [SectionCursor],
    /// The inputs of the last merge installed, until later steps have removed them (see
    /// `retire`): `retired[..retired_count]`, room for `tables_max`.
    pub(super) retired: &'r mut [RetiredTable],
    pub(super) retired_count: usize,
}

impl<'r> CompactionSteps<'r> {
    pub(crate) fn new(
        cursors: &'r mut [SectionCursor],
        retired: &'r mut [RetiredTable],
    ) -> CompactionSteps<'r> {
        CompactionSteps { merge: None, cursors, retired, retired_count: 0 }
    }
}

/// A merge of a run of tables into one, between two steps or within one call.
struct RunMerge<'r> {
    /// The output table's writer (it holds the engine's table buffer).
    writer: TableWriter<'r>,
    /// The run: tables `run.0..run.1` (gathered); the output table's number.
    run: (usize, usize),
    number: u64,
    /// The section being merged; `None` once all three are.
    section: Option<Section>,
    /// Whether `section`'s cursors were started (a later step reloads their pages).
    cursors_started: bool,
    drop_tombstones: bool,
    /// Records taken so far, and the inputs' count of them: taking more is damage.
    records_taken: u64,
    records_total: u64,
    /// When it began (its first step), by the event hook's clock.
    began: u64,
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

    /// Whether a compaction step has work: a merge between steps, a merged run's old tables
    /// to remove, or a run to merge.
    pub(crate) fn compaction_work_left(&self) -> bool {
        self.compaction_between_steps().is_some()
            || self.retiring()
            || self.compaction_pick().is_some()
    }

    /// Whether the region has a place for a compaction between steps (every build but
    /// `small-code`, whose merges run in one call).
    pub(crate) fn has_compaction_steps(&self) -> bool {
        self.steps().is_some()
    }

    /// The run a compaction between steps merges, its output table's number and when it
    /// began; `None` if no compaction is between steps.
    pub(crate) fn compaction_between_steps(&self) -> Option<((usize, usize), u64, u64)> {
        let merge = self.steps()?.merge.as_ref()?;
        Some((merge.run, merge.number, merge.began))
    }

    /// Merges up to `budget` bytes more of the records of tables `run` (gathered) into new
    /// table `number`, through `buffer` (the engine's table buffer, lent to the writer until
    /// the merge ends). `Some` with the synced table once it is written (the inputs are
    /// unchanged); `None` while there is more, the merge kept for the next step (without a
    /// place to keep it, `compaction_auto`, the merge runs to its end in this call). On error
    /// the table is closed and removed, its pool bytes freed and the buffer given back; the
    /// next step starts over.
    pub(crate) fn merge_step<V: Vfs>(
        &mut self,
        vfs: &mut V,
        (run, number, began): ((usize, usize), u64, u64),
        buffer: &mut &'r mut [u8],
        budget: usize,
    ) -> Result<Option<TableMeta>, Error> {
        let mut merge = match self.steps_slot().and_then(|steps| steps.merge.take()) {
            Some(merge) => merge,
            None => self.begin_merge(vfs, run, (number, began), buffer)?,
        };
        debug_assert!(merge.run == run && merge.number == number);
        let budget = if self.steps_slot().is_none() { usize::MAX } else { budget };
        let written = self.merge_sections(vfs, &mut merge, budget).and_then(|done| {
            if !done && !cfg!(feature = "small-code") {
                merge.writer.write_back(vfs)?;
            }
            Ok(done)
        });
        match (written, self.steps_slot()) {
            (Ok(true), _) => {
                let (table, given_back) = merge.writer.finish_into_buffer(vfs, &mut self.pool);
                *buffer = given_back;
                table.map(Some)
            }
            (Ok(false), Some(steps)) => {
                steps.merge = Some(merge);
                Ok(None)
            }
            // Unfinished with no place to keep it: unreachable (its budget has no end).
            (Ok(false), None) => {
                *buffer = merge.writer.abandon_into_buffer(vfs, &mut self.pool);
                Err(DAMAGED)
            }
            (Err(error), _) => {
                *buffer = merge.writer.abandon_into_buffer(vfs, &mut self.pool);
                Err(error)
            }
        }
    }

    /// Ends a compaction between steps, if one is (a close): its table is closed and
    /// removed, its pool bytes freed, the buffer given back. Its inputs hold all it merged.
    pub(crate) fn abandon_compaction_between_steps<V: Vfs>(
        &mut self,
        vfs: &mut V,
        buffer: &mut &'r mut [u8],
    ) {
        if let Some(merge) = self.steps_slot().and_then(|steps| steps.merge.take()) {
            *buffer = merge.writer.abandon_into_buffer(vfs, &mut self.pool);
        }
    }

    /// The place a compaction keeps between steps: none in `small-code` (see
    /// `region::compaction_step_slots`; the code for merges in steps then compiles away:
    /// 1.2 KiB on Thumb).
    pub(super) fn steps_slot(&mut self) -> Option<&mut CompactionSteps<'r>> {
        if cfg!(feature = "small-code") {
            return None;
        }
        self.compaction_steps.first_mut()
    }

    /// `steps_slot`, to read.
    pub(super) fn steps(&self) -> Option<&CompactionSteps<'r>> {
        if cfg!(feature = "small-code") {
            return None;
        }
        self.compaction_steps.first()
    }

    /// A merge of tables `run` (gathered) into new table `number`, before its first step:
    /// the table created, its filter sized for the inputs' keys (the distinct ids of a
    /// section in the output are at most the sum over the inputs; the writer folds the filter
    /// to the real count).
    fn begin_merge<V: Vfs>(
        &mut self,
        vfs: &mut V,
        (start, end): (usize, usize),
        (number, began): (u64, u64),
        buffer: &mut &'r mut [u8],
    ) -> Result<RunMerge<'r>, Error> {
        assert!(start < end && end <= self.tables_count);
        // A new table file only once no retired one is left (see `retire`).
        self.retire_all(vfs);
        let inputs = &self.tables[start..end];
        let (blocks, edges) =
            (inputs.iter().any(TableMeta::holds_blocks), inputs.iter().any(TableMeta::holds_edges));
        let drop_tombstones = self.tables[end..self.tables_count]
            .iter()
            .all(|older| !(blocks && older.holds_blocks() || edges && older.holds_edges()));
        let keys = merged_keys(&self.pool, inputs);
        let records_total = inputs.iter().map(|table| table.block_records + 2 * table.edge_records);
        let records_total = records_total.sum();
        let (bits, page_bytes) = (self.bloom_bits_per_key, self.table_page_bytes);
        let writer =
            TableWriter::begin_in(vfs, &mut self.pool, number, (keys, bits), buffer, page_bytes)?;
        Ok(RunMerge {
            writer,
            run: (start, end),
            number,
            section: Some(Section::Blocks),
            cursors_started: false,
            drop_tombstones,
            records_taken: 0,
            records_total,
            began,
        })
    }

    /// Merges `merge`'s sections until all three are written (true) or `budget` bytes of
    /// records are taken (at least one record).
    fn merge_sections<V: Vfs>(
        &mut self,
        vfs: &mut V,
        merge: &mut RunMerge<'r>,
        budget: usize,
    ) -> Result<bool, Error> {
        let mut taken = 0usize;
        while let Some(section) = merge.section {
            if taken >= budget {
                return Ok(false);
            }
            let (ended, bytes) = self.merge_records(vfs, merge, section, budget - taken)?;
            taken += bytes;
            if !ended {
                return Ok(false);
            }
            merge.section = match section {
                Section::Blocks => Some(Section::OutEdges),
                Section::OutEdges => Some(Section::InEdges),
                _ => None,
            };
            merge.cursors_started = false;
        }
        Ok(true)
    }

    /// Streams `section`'s records of the run into the writer in key order, the newest
    /// version of each key only, until the section ends (true) or `budget` bytes of records
    /// are taken (at least one). Returns whether it ended and the bytes taken.
    fn merge_records<V: Vfs>(
        &mut self,
        vfs: &mut V,
        merge: &mut RunMerge<'r>,
        section: Section,
        budget: usize,
    ) -> Result<(bool, usize), Error> {
        let tables = &self.tables[merge.run.0..merge.run.1];
        // Between steps the cursors wait in the compaction's own slots (a scan uses the
        // store's); their pages are read again, as a read may have used the merge buffers.
        let cursors = match self.compaction_steps.first_mut() {
            Some(steps) if !cfg!(feature = "small-code") => &mut *steps.cursors,
            _ => &mut *self.section_cursors,
        };
        let cursors = cursors.get_mut(..tables.len()).ok_or(DAMAGED)?;
        for (slot, (cursor, table)) in cursors.iter_mut().zip(tables).enumerate() {
            let buffer = self.merge_buffers.slot(slot);
            // (Never in `small-code`, whose merges run in one call: a section's cursors are
            // started and end within it.)
            if merge.cursors_started && !cfg!(feature = "small-code") {
                cursor.reload(vfs, &mut self.pool, table, buffer)?;
            } else {
                *cursor = SectionCursor::start(vfs, &mut self.pool, table, section, buffer)?;
            }
        }
        merge.cursors_started = true;
        let mut cursors = Merge::resume(cursors);
        let mut taken = 0;
        while taken < budget {
            let Some(smallest) =
                cursors.smallest(vfs, &mut self.pool, tables, &mut self.merge_buffers)?
            else {
                return Ok((true, taken));
            };
            let (from, to, _) = smallest.head;
            // More records than the inputs hold: a cursor that does not end.
            merge.records_taken += 1;
            if merge.records_taken > merge.records_total {
                return Err(DAMAGED);
            }
            let record =
                self.merge_buffers.slot_bytes(smallest.index).get(from..to).ok_or(DAMAGED)?;
            let drop = merge.drop_tombstones;
            copy_record(vfs, &mut self.pool, &mut merge.writer, section, record, drop)?;
            cursors.advance_holders(
                vfs,
                &mut self.pool,
                tables,
                &mut self.merge_buffers,
                &smallest,
            )?;
            taken += to - from;
        }
        Ok((false, taken))
    }

    /// Puts `merged` in place of tables `start..end`: retires their files (see `retire`:
    /// removed now, or in later steps when the host compacts) and frees their pool bytes.
    pub(crate) fn replace_tables<V: Vfs>(
        &mut self,
        vfs: &mut V,
        start: usize,
        end: usize,
        mut merged: TableMeta,
    ) {
        for index in start..end {
            let table = self.tables[index];
            self.retire(vfs, &table);
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

/// The distinct keys (filter entries) the merge of `inputs` will hold, to size its filter:
/// the estimate from their filters (`bloom::union_keys`) and an eighth more for its error,
/// at most the sum of theirs, which counts an id once per input holding it. A merge
/// reserves its filter before it knows its keys (the writer folds it to the real count at
/// the end, in halves): four edge tables over the same ids reserve a quarter of what the sum
/// did (the engine's test); the scale run's inputs (uniformly random calls) share 13% of
/// their ids, which the filters' power-of-two sizes hide. `small-code`: the sum (its filters
/// are a few bytes; the estimate's code is not).
fn merged_keys(pool: &TablePool<'_>, inputs: &[TableMeta]) -> u64 {
    let sum = inputs.iter().map(|table| table.bloom_keys).sum();
    let Some(shape) = inputs.first().map(|table| table.bloom) else {
        return sum;
    };
    // Filters of other shapes place a key's bits elsewhere: their union tells nothing.
    if cfg!(feature = "small-code") || inputs.iter().any(|table| table.bloom != shape) {
        return sum;
    }
    let filters = inputs.iter().map(|table| pool.bloom(table));
    bloom::union_keys(filters, shape).map_or(sum, |keys| keys.saturating_add(keys / 8).min(sum))
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
        let encoded = bytes.get(..EDGE_RECORD_BYTES).and_then(|bytes| bytes.try_into().ok());
        if !(drop_tombstones && record.tombstone) {
            let encoded = encoded.ok_or(DAMAGED)?;
            writer.add_edge_encoded(vfs, pool, section, &record.key_id, encoded)?;
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
