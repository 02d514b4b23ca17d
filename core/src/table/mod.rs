//! Sorted tables: immutable files holding a flushed memtable (or a compaction's output),
//! with a sparse index and a bloom filter kept in the region.
//!
//! `TablePool` is the region part that holds every open table's bloom filter and index,
//! back to back in table order; `writer` streams records into a new table through one
//! buffer; `reader` answers point lookups and walks edge ranges, reading one data block at
//! a time into a caller buffer. Every byte read back is checked (block CRCs, footer CRC,
//! record shapes); damage is `Error::Corruption`, never a wrong answer. Opening a table
//! reads only its footer, index and bloom; a data block's CRC is checked when it is first
//! read (`TablePool::block_verified`), so a reopen costs the metadata, not the data.

pub(crate) mod bloom;
pub(crate) mod format;
pub(crate) mod reader;
pub(crate) mod writer;

use crate::vfs::FileHandle;
use core::cmp::Ordering;
use format::{
    IndexEntry, Section, INDEX_ENTRY_BYTES, INDEX_KEY_AT, INDEX_RESERVED_AT, INDEX_SECTION_AT,
    INDEX_VERIFIED, KEY_BYTES,
};

/// What the engine keeps about one open table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TableMeta {
    pub(crate) number: u64,
    pub(crate) file: FileHandle,
    pub(crate) file_bytes: u64,
    /// Where this table's bloom filter starts in the pool; its index follows it.
    pub(crate) pool_offset: usize,
    pub(crate) bloom_bytes: usize,
    pub(crate) bloom_hashes: u32,
    pub(crate) index_entries: usize,
    pub(crate) block_records: u64,
    pub(crate) edge_records: u64,
    /// Distinct ids the bloom filter holds (the largest per section): sums of these bound a
    /// compaction's output without compounding.
    pub(crate) bloom_keys: u64,
}

impl TableMeta {
    pub(crate) const EMPTY: TableMeta = TableMeta {
        number: 0,
        file: FileHandle(0),
        file_bytes: 0,
        pool_offset: 0,
        bloom_bytes: 0,
        bloom_hashes: 0,
        index_entries: 0,
        block_records: 0,
        edge_records: 0,
        bloom_keys: 0,
    };
}

/// The region part holding the open tables' blooms and indexes.
pub(crate) struct TablePool<'r> {
    pub(crate) bytes: &'r mut [u8],
    pub(crate) used: usize,
}

impl TablePool<'_> {
    pub(crate) fn bloom<'p>(&'p self, table: &TableMeta) -> &'p [u8] {
        &self.bytes[table.pool_offset..table.pool_offset + table.bloom_bytes]
    }

    /// Compares index entry `index`'s (section, first key) with (`section`, `key`) in place,
    /// without decoding the entry (the hot step of every lookup's binary search); `None`
    /// past the last entry or for an unknown section byte.
    pub(crate) fn index_entry_cmp(
        &self,
        table: &TableMeta,
        index: usize,
        section: Section,
        key: &[u8; KEY_BYTES],
    ) -> Option<Ordering> {
        if index >= table.index_entries {
            return None;
        }
        let start = table.pool_offset + table.bloom_bytes + index * INDEX_ENTRY_BYTES;
        let bytes = self.bytes.get(start..start + INDEX_ENTRY_BYTES)?;
        let entry_section = Section::from_byte(bytes[INDEX_SECTION_AT])?;
        let entry_key = bytes.get(INDEX_KEY_AT..INDEX_KEY_AT + KEY_BYTES)?;
        // Keys compare as bytes, so their first 16 bytes compare as a big-endian integer:
        // one comparison that almost always decides.
        let prefix = |key: &[u8]| key.first_chunk::<16>().map(|bytes| u128::from_be_bytes(*bytes));
        Some(
            (entry_section, prefix(entry_key))
                .cmp(&(section, prefix(key)))
                .then_with(|| entry_key.cmp(&key[..])),
        )
    }

    /// Whether data block `index`'s CRC was checked in this process (through a view, or
    /// computed: this process wrote the table), so reads of it through a view skip the check.
    pub(crate) fn block_verified(&self, table: &TableMeta, index: usize) -> bool {
        index < table.index_entries
            && self.bytes.get(Self::entry_start(table, index) + INDEX_RESERVED_AT)
                == Some(&INDEX_VERIFIED)
    }

    /// Marks data block `index` as checked (see `block_verified`).
    pub(crate) fn mark_block_verified(&mut self, table: &TableMeta, index: usize) {
        if index < table.index_entries {
            if let Some(mark) =
                self.bytes.get_mut(Self::entry_start(table, index) + INDEX_RESERVED_AT)
            {
                *mark = INDEX_VERIFIED;
            }
        }
    }

    fn entry_start(table: &TableMeta, index: usize) -> usize {
        table.pool_offset + table.bloom_bytes + index * INDEX_ENTRY_BYTES
    }

    pub(crate) fn index_entry(&self, table: &TableMeta, index: usize) -> Option<IndexEntry> {
        if index >= table.index_entries {
            return None;
        }
        let start = table.pool_offset + table.bloom_bytes + index * INDEX_ENTRY_BYTES;
        IndexEntry::decode(&self.bytes[start..start + INDEX_ENTRY_BYTES])
    }
}
