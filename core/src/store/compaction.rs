//! Size-tiered compaction: merges a run of adjacent tables of similar size into one, in a
//! streaming way (one page per input in its merge buffer, one output page in the
//! table buffer). Why size-tiered: the host is single-threaded and often small; a tier
//! merge rewrites each byte about log_fanin(data / memtable) times and needs no per-level
//! size targets, and only adjacent tables are merged, so "newer wins" stays a matter of
//! table order. Shadowed versions are dropped; tombstones are dropped only when the run
//! includes the oldest table, so no older table can still hold their key.

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

impl<'r> Store<'r> {
    /// The run of tables (`start..end`, newest first) the next step should merge: the
    /// newest run of `COMPACTION_FANIN` adjacent tables of similar size, or every table
    /// when no further flush would fit.
    pub(crate) fn compaction_pick(&self) -> Option<(usize, usize)> {
        let tables = &self.tables[..self.tables_count];
        for start in 0..tables.len().saturating_sub(COMPACTION_FANIN - 1) {
            let run = &tables[start..start + COMPACTION_FANIN];
            let smallest = run.iter().map(|table| table.file_bytes).min().unwrap_or(0);
            let largest = run.iter().map(|table| table.file_bytes).max().unwrap_or(0);
            if largest <= smallest.saturating_mul(TIER_SIZE_RATIO) {
                return Some((start, start + COMPACTION_FANIN));
            }
        }
        (self.tables_full() && tables.len() >= 2).then_some((0, tables.len()))
    }

    /// Merges tables `start..end` into new table `number` (synced). Inputs are unchanged.
    pub(crate) fn merge_tables<V: Vfs>(
        &mut self,
        vfs: &mut V,
        start: usize,
        end: usize,
        number: u64,
        buffer: &mut [u8],
    ) -> Result<TableMeta, Error> {
        assert!(start < end && end <= self.tables_count);
        let drop_tombstones = end == self.tables_count;
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
