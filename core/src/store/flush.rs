//! Flushing: a memtable written as new sorted tables, installed as the newest tables once
//! the manifest names them (or discarded if that fails). The frozen memtable, if it holds
//! anything, goes first: it is the older level (`Store::next_flushed`).

use super::Store;
use crate::error::{Error, Resource};
use crate::limits::FLUSH_TABLES_MAX;
use crate::table::format::Section;
use crate::table::writer::TableWriter;
use crate::table::TableMeta;
use crate::vfs::Vfs;

/// What a flush wrote: `count` tables, the block table first (if any).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Flushed {
    pub(crate) tables: [TableMeta; FLUSH_TABLES_MAX],
    pub(crate) count: usize,
}

impl Flushed {
    pub(crate) fn tables(&self) -> &[TableMeta] {
        &self.tables[..self.count]
    }
}

impl<'r> Store<'r> {
    /// Writes the next flushed memtable (the frozen one if it holds anything, else the
    /// memtable) as tables numbered from `number` (synced): its blocks, if any,
    /// then its edges, if any, each kind in a table of its own (none if the memtable holds
    /// nothing to write). Tombstones of a kind are left out when no older table holds that
    /// kind for them to shadow. The memtable is unchanged; on error the tables written are
    /// closed and their pool bytes freed (the caller removes their files).
    pub(crate) fn write_tables<V: Vfs>(
        &mut self,
        vfs: &mut V,
        number: u64,
        buffer: &mut [u8],
    ) -> Result<Flushed, Error> {
        if self.tables_full() {
            return Err(Error::MemtableFull { resource: Resource::Tables });
        }
        let tables = &self.tables[..self.tables_count];
        let keep_edge_tombstones = tables.iter().any(TableMeta::holds_edges);
        let keep_block_tombstones = tables.iter().any(TableMeta::holds_blocks);
        let mut flushed = Flushed { tables: [TableMeta::EMPTY; FLUSH_TABLES_MAX], count: 0 };
        let memtable = self.next_flushed();
        let kinds = [
            (memtable.has_block_records(keep_block_tombstones), true, keep_block_tombstones),
            (memtable.has_edge_records(keep_edge_tombstones), false, keep_edge_tombstones),
        ];
        for (needed, blocks, keep_tombstones) in kinds {
            if !needed {
                continue;
            }
            let number = number + flushed.count as u64;
            match self.write_table(vfs, number, blocks, keep_tombstones, &mut *buffer) {
                Ok(table) => {
                    flushed.tables[flushed.count] = table;
                    flushed.count += 1;
                }
                Err(error) => {
                    if let Some(first) = flushed.tables().first() {
                        let first = *first;
                        self.discard(vfs, &first);
                    }
                    return Err(error);
                }
            }
        }
        Ok(flushed)
    }

    /// Writes the next flushed memtable's blocks (or its edges) as table `number` (synced).
    fn write_table<V: Vfs>(
        &mut self,
        vfs: &mut V,
        number: u64,
        blocks: bool,
        keep_tombstones: bool,
        buffer: &mut [u8],
    ) -> Result<TableMeta, Error> {
        // The bloom filter holds the block ids, or the key ids of both edge sections.
        let memtable = self.next_flushed();
        let keys = match blocks {
            true => u64::from(memtable.entries_used()),
            false => 2 * u64::from(memtable.edges_used()),
        };
        let mut writer = self.begin_table(vfs, number, keys, buffer)?;
        let written = match blocks {
            true => self.write_blocks(vfs, &mut writer, keep_tombstones),
            false => self.write_edges(vfs, &mut writer, keep_tombstones),
        };
        if let Err(error) = written {
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

    fn write_blocks<V: Vfs>(
        &mut self,
        vfs: &mut V,
        writer: &mut TableWriter<'_>,
        keep_tombstones: bool,
    ) -> Result<(), Error> {
        // The scratch is overwritten: a scan's order kept there is gone.
        self.scan_order = None;
        let frozen = self.flushing_frozen();
        let scratch = &mut *self.sort_scratch;
        let memtable = if frozen { &*self.frozen } else { &self.memtable };
        for &index in memtable.sorted_blocks(scratch).iter() {
            let record = memtable.block_record(index);
            if keep_tombstones || !record.tombstone {
                writer.add_block(vfs, &mut self.pool, &record)?;
            }
        }
        Ok(())
    }

    fn write_edges<V: Vfs>(
        &mut self,
        vfs: &mut V,
        writer: &mut TableWriter<'_>,
        keep_tombstones: bool,
    ) -> Result<(), Error> {
        self.scan_order = None;
        let memtable = if self.flushing_frozen() { &*self.frozen } else { &self.memtable };
        for (outgoing, section) in [(true, Section::OutEdges), (false, Section::InEdges)] {
            let scratch = &mut *self.sort_scratch;
            for &index in memtable.sorted_edges(scratch, outgoing).iter() {
                let record = memtable.edge_record(index, outgoing);
                if keep_tombstones || !record.tombstone {
                    writer.add_edge(vfs, &mut self.pool, section, &record)?;
                }
            }
        }
        Ok(())
    }

    /// Makes the `flushed` tables the newest (in their order) and empties the memtable they
    /// were written from (after the manifest names them).
    pub(crate) fn install(&mut self, flushed: &Flushed) {
        let count = flushed.count;
        assert!(self.tables_count + count <= self.tables.len());
        self.tables.copy_within(0..self.tables_count, count);
        self.tables[..count].copy_from_slice(flushed.tables());
        self.tables_count += count;
        if self.flushing_frozen() {
            debug_assert!(!self.frozen_flush_started(), "a flush in steps installs when done");
            self.frozen.reset();
            *self.frozen_at = None;
            // The scratch's order counted the frozen memtable's blocks.
            self.scan_order = None;
        } else {
            self.memtable.reset();
        }
    }

    /// Forgets tables written but not installed (their pool bytes are the newest).
    pub(crate) fn discard<V: Vfs>(&mut self, vfs: &mut V, table: &TableMeta) {
        vfs.close(table.file);
        self.pool.used = table.pool_offset;
    }

    /// `discard` for every table of a flush.
    pub(crate) fn discard_flushed<V: Vfs>(&mut self, vfs: &mut V, flushed: &Flushed) {
        for table in flushed.tables().iter().rev() {
            self.discard(vfs, table);
        }
    }
}
