//! Flushing: the memtable written as a new sorted table, installed as the newest level once
//! the manifest names it (or discarded if that fails).

use super::Store;
use crate::error::{Error, Resource};
use crate::table::format::Section;
use crate::table::writer::TableWriter;
use crate::table::TableMeta;
use crate::vfs::Vfs;

impl<'r> Store<'r> {
    /// Writes the memtable as table `number` (synced). Tombstones are left out when there is
    /// no older table for them to shadow. The memtable is unchanged; on error the partial
    /// file is removed.
    pub(crate) fn write_table<V: Vfs>(
        &mut self,
        vfs: &mut V,
        number: u64,
        buffer: &mut [u8],
    ) -> Result<TableMeta, Error> {
        if self.tables_full() {
            return Err(Error::MemtableFull { resource: Resource::Tables });
        }
        let keep_tombstones = self.tables_count > 0;
        // The bloom filter holds block ids and the key ids of both edge sections.
        let keys =
            u64::from(self.memtable.entries_used()) + 2 * u64::from(self.memtable.edges_used());
        let mut writer = self.begin_table(vfs, number, keys, buffer)?;
        if let Err(error) = self.write_records(vfs, &mut writer, keep_tombstones) {
            writer.abandon(vfs, &mut self.pool);
            return Err(error);
        }
        // On error finish() abandons the table: file closed and removed, pool bytes freed.
        writer.finish(vfs, &mut self.pool)
    }

    /// Creates table `number`, its bloom filter sized for `keys` distinct ids, written through
    /// `buffer` in pages of `table_page_bytes` (flushes and compactions alike).
    pub(super) fn begin_table<'b, V: Vfs>(
        &mut self,
        vfs: &mut V,
        number: u64,
        keys: u64,
        buffer: &'b mut [u8],
    ) -> Result<TableWriter<'b>, Error> {
        let (bits_per_key, page_bytes) = (self.bloom_bits_per_key, self.table_page_bytes);
        TableWriter::begin(vfs, &mut self.pool, number, keys, bits_per_key, buffer, page_bytes)
    }

    fn write_records<V: Vfs>(
        &mut self,
        vfs: &mut V,
        writer: &mut TableWriter<'_>,
        keep_tombstones: bool,
    ) -> Result<(), Error> {
        // The scratch is overwritten: a scan's order kept there is gone.
        self.scan_order = None;
        let scratch = &mut *self.sort_scratch;
        for &index in self.memtable.sorted_blocks(scratch).iter() {
            let record = self.memtable.block_record(index);
            if keep_tombstones || !record.tombstone {
                writer.add_block(vfs, &mut self.pool, &record)?;
            }
        }
        for (outgoing, section) in [(true, Section::OutEdges), (false, Section::InEdges)] {
            let scratch = &mut *self.sort_scratch;
            for &index in self.memtable.sorted_edges(scratch, outgoing).iter() {
                let record = self.memtable.edge_record(index, outgoing);
                if keep_tombstones || !record.tombstone {
                    writer.add_edge(vfs, &mut self.pool, section, &record)?;
                }
            }
        }
        Ok(())
    }

    /// Makes `table` the newest level and empties the memtable (after the manifest names it).
    pub(crate) fn install(&mut self, table: TableMeta) {
        assert!(!self.tables_full());
        self.tables.copy_within(0..self.tables_count, 1);
        self.tables[0] = table;
        self.tables_count += 1;
        self.memtable.reset();
    }

    /// Forgets a table written but not installed (its pool bytes are the newest).
    pub(crate) fn discard<V: Vfs>(&mut self, vfs: &mut V, table: &TableMeta) {
        vfs.close(table.file);
        self.pool.used = table.pool_offset;
    }
}
