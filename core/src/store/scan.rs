//! The block scan: every live block in id order, merged across the memtable and the tables
//! the way compaction merges them (the newest level holding an id decides), so a deleted or
//! superseded version is never seen. It resumes after any id, so a caller keeps nothing
//! between calls but the last id it was given (the query layer's `ScanCursor`).

use super::merge::Merge;
use super::{ScanOrder, Store};
use crate::error::Error;
use crate::id::BlockId;
use crate::record::{BlockRecord, SortKey};
use crate::table::cursor::SectionCursor;
use crate::table::DAMAGED;
use crate::vfs::Vfs;

impl Store<'_> {
    /// Calls `visit` with the live version of every block whose id is after `after`, in id
    /// order, until it returns false. Returns whether every block was examined (`visit`
    /// never said stop).
    pub(crate) fn scan_blocks<V: Vfs>(
        &mut self,
        vfs: &mut V,
        after: &BlockId,
        mut visit: impl FnMut(&BlockRecord<'_>) -> bool,
    ) -> Result<bool, Error> {
        let tables = &self.tables[..self.tables_count];
        let mut merge = Merge::new(&mut *self.section_cursors);
        for (index, table) in tables.iter().enumerate() {
            let buffer = self.merge_buffers.slot(index);
            merge.push(SectionCursor::start_after(vfs, &mut self.pool, table, after, buffer)?);
        }
        let generation = self.memtable.generation();
        let count = match self.scan_order {
            Some(order) if order.generation == generation => order.count,
            _ => {
                self.scan_sorts += 1;
                let count = self.memtable.sorted_blocks(self.sort_scratch).len();
                self.scan_order = Some(ScanOrder { generation, count });
                count
            }
        };
        let sorted = &self.sort_scratch[..count];
        let mut memtable_at =
            sorted.partition_point(|&index| self.memtable.block_record(index).id <= *after);
        let records_max: u64 =
            tables.iter().map(|table| table.block_records).sum::<u64>() + sorted.len() as u64;
        // Every round consumes at least one record from some level.
        for _ in 0..=records_max {
            let memtable_head = sorted.get(memtable_at).map(|&i| self.memtable.block_record(i));
            let table_head =
                merge.smallest(vfs, &mut self.pool, tables, &mut self.merge_buffers)?;
            // The memtable is the newest level: its version decides a tie.
            let (key, go_on) = match (memtable_head, table_head) {
                (Some(memtable), table)
                    if table
                        .is_none_or(|(_, (_, _, key))| SortKey::of_block(&memtable.id) <= key) =>
                {
                    memtable_at += 1;
                    (SortKey::of_block(&memtable.id), memtable.tombstone || visit(&memtable))
                }
                (_, Some((slot, (start, end, key)))) => {
                    let bytes = self.merge_buffers.slot_bytes(slot).get(start..end);
                    let (record, _) = BlockRecord::decode(bytes.ok_or(DAMAGED)?).ok_or(DAMAGED)?;
                    (key, record.tombstone || visit(&record))
                }
                (_, None) => return Ok(true),
            };
            // Past the deciding version and every older one it shadows.
            merge.advance_past(vfs, &mut self.pool, tables, &mut self.merge_buffers, &key)?;
            if !go_on {
                return Ok(false);
            }
        }
        Err(DAMAGED)
    }
}
