//! The block scan: every live block in id order, merged across the memtables and the tables
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
    /// The frozen memtable's and the memtable's blocks in id order, in the sort scratch (the
    /// frozen one's first, from 0; the memtable's from `frozen_scratch_len()`): how many of
    /// each. Sorted again only if the memtable changed since a scan left them there.
    fn sorted_memtables(&mut self) -> (usize, usize) {
        let generation = self.memtable.generation();
        if let Some(order) = self.scan_order.filter(|order| order.generation == generation) {
            return (order.frozen_count, order.count);
        }
        self.scan_sorts += 1;
        let frozen = self.flushing_frozen();
        let (frozen_part, part) = self.sort_scratch.split_at_mut(self.frozen_scratch_len());
        let frozen_count = match frozen {
            true => self.frozen.sorted_blocks(frozen_part).len(),
            false => 0,
        };
        let count = self.memtable.sorted_blocks(part).len();
        self.scan_order = Some(ScanOrder { generation, count, frozen_count });
        (frozen_count, count)
    }

    /// Calls `visit` with the live version of every block whose id is after `after`, in id
    /// order, until it returns false. Returns whether every block was examined (`visit`
    /// never said stop).
    pub(crate) fn scan_blocks<V: Vfs>(
        &mut self,
        vfs: &mut V,
        after: &BlockId,
        mut visit: impl FnMut(&BlockRecord<'_>) -> bool,
    ) -> Result<bool, Error> {
        let (frozen_count, count) = self.sorted_memtables();
        let frozen_scratch = self.frozen_scratch_len();
        let tables = &self.tables[..self.tables_count];
        let mut merge = Merge::new(&mut *self.section_cursors);
        for (index, table) in tables.iter().enumerate() {
            let buffer = self.merge_buffers.slot(index);
            merge.push(SectionCursor::start_after(vfs, &mut self.pool, table, after, buffer)?);
        }
        let frozen_sorted = &self.sort_scratch[..frozen_count];
        let sorted = &self.sort_scratch[frozen_scratch..frozen_scratch + count];
        let (memtable, frozen) = (&self.memtable, &self.frozen);
        let mut memtable_at = sorted.partition_point(|&i| memtable.block_record(i).id <= *after);
        let mut frozen_at = frozen_sorted.partition_point(|&i| frozen.block_record(i).id <= *after);
        let records_max: u64 = tables.iter().map(|table| table.block_records).sum::<u64>()
            + (sorted.len() + frozen_sorted.len()) as u64;
        // Every round consumes at least one record from some level.
        for _ in 0..=records_max {
            let memtable_head = sorted.get(memtable_at).map(|&i| memtable.block_record(i));
            // `small-code` has no frozen memtable: `None`, and the code for it compiles away.
            let frozen_head = match cfg!(feature = "small-code") {
                true => None,
                false => frozen_sorted.get(frozen_at).map(|&i| frozen.block_record(i)),
            };
            // The memtables' smallest id, the memtable's version if both hold it.
            let mut newest = None;
            for head in [frozen_head, memtable_head].into_iter().flatten() {
                if newest.as_ref().is_none_or(|newest: &BlockRecord<'_>| head.id <= newest.id) {
                    newest = Some(head);
                }
            }
            let table_head =
                merge.smallest(vfs, &mut self.pool, tables, &mut self.merge_buffers)?;
            // The memtables are newer than the tables: their version decides a tie.
            let (key, go_on) = match (newest, table_head) {
                (Some(newest), table)
                    if table
                        .as_ref()
                        .is_none_or(|table| SortKey::of_block(&newest.id) <= table.key()) =>
                {
                    memtable_at += usize::from(memtable_head.is_some_and(|h| h.id == newest.id));
                    frozen_at += usize::from(frozen_head.is_some_and(|h| h.id == newest.id));
                    (SortKey::of_block(&newest.id), newest.tombstone || visit(&newest))
                }
                (_, Some(table)) => {
                    let (start, end, key) = table.head;
                    let bytes = self.merge_buffers.slot_bytes(table.index).get(start..end);
                    let (record, _) = BlockRecord::decode(bytes.ok_or(DAMAGED)?).ok_or(DAMAGED)?;
                    (key, record.tombstone || visit(&record))
                }
                (_, None) => return Ok(true),
            };
            // Past the deciding version and every older one it shadows.
            if let Some(table_head) = table_head.as_ref().filter(|table| table.key() == key) {
                let buffers = &mut self.merge_buffers;
                merge.advance_holders(vfs, &mut self.pool, tables, buffers, table_head)?;
            }
            if !go_on {
                return Ok(false);
            }
        }
        Err(DAMAGED)
    }
}
