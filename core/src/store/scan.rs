//! The filtered scan: every live block in id order, merged across the memtable and the
//! tables the way compaction merges them (the newest level holding an id decides), so a
//! deleted or superseded version is never returned. The cursor is the last id examined, so
//! a scan resumes from any state of the store without holding anything between calls.

use super::Store;
use crate::error::{CorruptionKind, Error};
use crate::id::BlockId;
use crate::limits::TABLES_MAX_LIMIT;
use crate::memtable::EntryState;
use crate::query::{BlockFilter, ScanCursor};
use crate::record::{block_key, BlockRecord, KEY_BYTES};
use crate::table::cursor::SectionCursor;
use crate::vfs::Vfs;

impl Store<'_> {
    /// Writes the ids of live blocks after `cursor.after` that pass `filter` into `out`, in
    /// id order, until `out` is full or every block was examined (`cursor.done`). Returns how
    /// many were written and moves the cursor past every block examined.
    pub(crate) fn scan<V: Vfs>(
        &mut self,
        vfs: &mut V,
        filter: &BlockFilter<'_>,
        cursor: &mut ScanCursor,
        out: &mut [BlockId],
    ) -> Result<usize, Error> {
        if cursor.done {
            return Ok(0);
        }
        if out.is_empty() {
            return Err(Error::BufferTooSmall { needed: 1 });
        }
        let after = block_key(&cursor.after);
        let sorted = self.memtable.sorted_blocks(self.sort_scratch);
        let mut memtable_at = sorted
            .partition_point(|&index| block_key(&self.memtable.block_record(index).id) <= after);
        let buffer_bytes = self.merge_buffer_bytes;
        let mut cursors: heapless::Vec<SectionCursor, TABLES_MAX_LIMIT> = heapless::Vec::new();
        for (index, table) in self.tables[..self.tables_count].iter().enumerate() {
            let buffer = &mut self.merge_buffers[index * buffer_bytes..(index + 1) * buffer_bytes];
            let table_cursor =
                SectionCursor::start_after(vfs, &mut self.pool, table, &after, buffer)?;
            // At most TABLES_MAX_LIMIT tables exist (checked in new()).
            let _ = cursors.push(table_cursor);
        }
        let records_max: u64 =
            self.tables[..self.tables_count].iter().map(|table| table.block_records).sum::<u64>()
                + sorted.len() as u64;
        let mut written = 0;
        // Every round consumes at least one record from some level.
        for _ in 0..=records_max {
            let memtable_key =
                sorted.get(memtable_at).map(|&i| block_key(&self.memtable.block_record(i).id));
            let mut best = memtable_key;
            for (index, table_cursor) in cursors.iter_mut().enumerate() {
                let buffer =
                    &mut self.merge_buffers[index * buffer_bytes..(index + 1) * buffer_bytes];
                if let Some((_, _, key)) =
                    table_cursor.current(vfs, &mut self.pool, &self.tables[index], buffer)?
                {
                    if best.is_none_or(|best| key < best) {
                        best = Some(key);
                    }
                }
            }
            let Some(key) = best else {
                cursor.done = true;
                return Ok(written);
            };
            let mut decided = false;
            if memtable_key == Some(key) {
                let entry = sorted[memtable_at];
                memtable_at += 1;
                let record = self.memtable.block_record(entry);
                debug_assert!(self.memtable.state_at(entry) != EntryState::Stub);
                if !record.tombstone
                    && filter.matches(record.source_uri, record.metadata_json, record.content)
                {
                    out[written] = record.id;
                    written += 1;
                }
                decided = true;
            }
            for (index, table_cursor) in cursors.iter_mut().enumerate() {
                let buffer =
                    &mut self.merge_buffers[index * buffer_bytes..(index + 1) * buffer_bytes];
                let Some((start, end, current)) =
                    table_cursor.current(vfs, &mut self.pool, &self.tables[index], buffer)?
                else {
                    continue;
                };
                if current != key {
                    continue;
                }
                table_cursor.advance(end);
                if decided {
                    continue;
                }
                // The newest table holding the id decides; older versions are shadowed.
                decided = true;
                let (record, _) = BlockRecord::decode(&buffer[start..end]).ok_or(DAMAGED)?;
                if !record.tombstone
                    && filter.matches(record.source_uri, record.metadata_json, record.content)
                {
                    out[written] = record.id;
                    written += 1;
                }
            }
            cursor.after = id_of(&key);
            if written == out.len() {
                return Ok(written);
            }
        }
        Err(DAMAGED)
    }
}

const DAMAGED: Error = Error::Corruption { kind: CorruptionKind::Table };

fn id_of(key: &[u8; KEY_BYTES]) -> BlockId {
    let mut id = BlockId::ZERO;
    let bytes = id.0.len();
    id.0.copy_from_slice(&key[..bytes]);
    id
}
