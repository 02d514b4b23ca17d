//! Sorted tables: immutable files holding a flushed memtable (or a compaction's output),
//! with a sparse index and a bloom filter kept in the region.
//!
//! `TablePool` is the region part that holds every open table's bloom filter and index, back to
//! back in table order; `writer` streams records into a new table through one buffer; `open` loads
//! a table's index and bloom; `lookup` answers point lookups and `cursor` walks edge ranges and
//! sections, one page at a time. Every byte read back is checked (page CRCs, footer CRC, record
//! shapes); damage is `Error::Corruption`, never a wrong answer. Opening a table reads only its
//! footer, index and bloom; a page's CRC is checked when it is first read
//! (`TablePool::page_verified`), so a reopen costs the metadata, not the data.

pub(crate) mod bloom;
pub(crate) mod buckets;
pub(crate) mod cursor;
pub(crate) mod format;
pub(crate) mod lookup;
pub(crate) mod open;
pub(crate) mod search;
#[cfg(test)]
mod tests;
pub(crate) mod writer;

use crate::error::{CorruptionKind, Error};
use crate::record::KEY_BYTES;
use crate::vfs::FileHandle;
use bloom::BloomShape;
use core::cmp::Ordering;
use format::{
    IndexEntry, Section, INDEX_ENTRY_BYTES, INDEX_KEY_AT, INDEX_RESERVED_AT, INDEX_SECTION_AT,
    INDEX_VERIFIED,
};

/// Every check of a table's bytes fails with this.
pub(crate) const DAMAGED: Error = Error::Corruption { kind: CorruptionKind::Table };

/// What the engine keeps about one open table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TableMeta {
    pub(crate) number: u64,
    pub(crate) file: FileHandle,
    pub(crate) file_bytes: u64,
    /// Where this table's bloom filter starts in the pool; its index follows it, then the
    /// index's search prefixes (`index_prefix`).
    pub(crate) pool_offset: usize,
    pub(crate) bloom_bytes: usize,
    /// How the filter places a key's bits (its hash count and layout).
    pub(crate) bloom: BloomShape,
    pub(crate) index_entries: usize,
    pub(crate) block_records: u64,
    pub(crate) edge_records: u64,
    /// Distinct ids the bloom filter holds (the largest per section): sums of these bound a
    /// compaction's output without compounding.
    pub(crate) bloom_keys: u64,
    /// The bloom filter holds the targets of the incoming edges (tables of version 4 on): an
    /// incoming listing may skip the table on a miss.
    pub(crate) bloom_has_incoming: bool,
    /// The index of the first page of the outgoing and of the incoming edge section
    /// (`index_entries` when there is none after it): a lookup searches its section's pages
    /// only (`section_pages`).
    pub(crate) edge_sections_at: [usize; 2],
}

impl TableMeta {
    /// Whether the table may hold block records. A flush writes blocks and edges to
    /// separate tables; a table that holds both (written before that, or by a merge that
    /// included one) or neither (empty) counts as holding both.
    pub(crate) fn holds_blocks(&self) -> bool {
        self.block_records > 0 || self.edge_records == 0
    }

    /// Whether the table may hold edge records (see `holds_blocks`).
    pub(crate) fn holds_edges(&self) -> bool {
        self.edge_records > 0 || self.block_records == 0
    }

    /// Whether the table holds (or counts as holding) both kinds.
    pub(crate) fn is_mixed(&self) -> bool {
        self.holds_blocks() && self.holds_edges()
    }

    /// The index range of `section`'s pages (empty if it has none).
    pub(crate) fn section_pages(&self, section: Section) -> core::ops::Range<usize> {
        let [out_edges, in_edges] = self.edge_sections_at;
        match section {
            Section::Blocks => 0..out_edges,
            Section::OutEdges => out_edges..in_edges,
            Section::InEdges => in_edges..self.index_entries,
            Section::Index | Section::Bloom => 0..0,
        }
    }

    /// Bytes this table holds in the pool: bloom, index entries, search prefixes.
    pub(crate) fn pool_bytes(&self) -> usize {
        self.bloom_bytes + self.index_entries * (INDEX_ENTRY_BYTES + INDEX_PREFIX_BYTES)
    }

    pub(crate) const EMPTY: TableMeta = TableMeta {
        number: 0,
        file: FileHandle(0),
        file_bytes: 0,
        pool_offset: 0,
        bloom_bytes: 0,
        bloom: BloomShape { hashes: 0, blocked: false },
        index_entries: 0,
        block_records: 0,
        edge_records: 0,
        bloom_keys: 0,
        bloom_has_incoming: false,
        edge_sections_at: [0; 2],
    };
}

/// Bytes of one index entry's search prefix in the pool.
pub(crate) const INDEX_PREFIX_BYTES: usize = 8;

/// An index entry's search prefix: its section byte, then its key's first 7 bytes, as a
/// big-endian integer. Entries are in (section, key) order, so their prefixes never
/// decrease, and a lookup's binary search compares one dense integer per step (an index
/// entry is 56 bytes, so the entries of a large table's index miss the caches) and reads a
/// whole entry only on a tie.
pub(crate) fn index_prefix(section: Section, key: &[u8; KEY_BYTES]) -> u64 {
    prefix_of(section as u8, key)
}

/// `index_prefix` from a section byte and a key's bytes (an entry in the pool, or a key).
fn prefix_of(section: u8, key: &[u8]) -> u64 {
    let mut bytes = [0u8; INDEX_PREFIX_BYTES];
    bytes[0] = section;
    bytes[1..].copy_from_slice(&key[..INDEX_PREFIX_BYTES - 1]);
    u64::from_be_bytes(bytes)
}

/// The region part holding the open tables' blooms, indexes and search prefixes.
pub(crate) struct TablePool<'r> {
    pub(crate) bytes: &'r mut [u8],
    pub(crate) used: usize,
    /// Data pages read or viewed since open (`Stats::table_pages_read`).
    pub(crate) pages_read: u64,
}

impl TablePool<'_> {
    #[cfg_attr(not(feature = "small-code"), inline)]
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
        let start = Self::entry_start(table, index);
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

    /// Whether page `index`'s CRC was checked in this process (through a view, or
    /// computed: this process wrote the table), so reads of it through a view skip the check.
    pub(crate) fn page_verified(&self, table: &TableMeta, index: usize) -> bool {
        index < table.index_entries
            && self.bytes.get(Self::entry_start(table, index) + INDEX_RESERVED_AT)
                == Some(&INDEX_VERIFIED)
    }

    /// Marks page `index` as checked (see `page_verified`).
    pub(crate) fn mark_page_verified(&mut self, table: &TableMeta, index: usize) {
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

    /// The search prefixes (`index_prefix`) of `table`'s entries `pages`, as one slice: a
    /// search indexes it directly instead of locating each prefix in the pool with its own
    /// checks (which took 120 to 200 of an edge listing's 2,200 to 2,800 instructions:
    /// `cargo xtask listing-cost`). `None` if `pages` is not within the table's entries.
    pub(crate) fn index_prefixes(
        &self,
        table: &TableMeta,
        pages: core::ops::Range<usize>,
    ) -> Option<&[[u8; INDEX_PREFIX_BYTES]]> {
        let start = Self::prefixes_start(table);
        let bytes = self.bytes.get(start..start + table.index_entries * INDEX_PREFIX_BYTES)?;
        bytes.as_chunks().0.get(pages)
    }

    /// Writes the search prefixes of `table`'s index after it (the pool bytes are
    /// reserved by the caller: `TableMeta::pool_bytes`), and notes where its edge sections
    /// start (entries are in section order: checked at open, written so).
    pub(crate) fn build_prefixes(&mut self, table: &mut TableMeta) {
        let prefixes = Self::prefixes_start(table);
        let mut sections_at = [table.index_entries; 2];
        for index in 0..table.index_entries {
            let start = Self::entry_start(table, index);
            let entry = &self.bytes[start..start + INDEX_ENTRY_BYTES];
            let section = entry[INDEX_SECTION_AT];
            for (at, edges) in sections_at.iter_mut().zip([Section::OutEdges, Section::InEdges]) {
                if section >= edges as u8 {
                    *at = (*at).min(index);
                }
            }
            let prefix = prefix_of(section, &entry[INDEX_KEY_AT..]);
            let at = prefixes + index * INDEX_PREFIX_BYTES;
            self.bytes[at..at + INDEX_PREFIX_BYTES].copy_from_slice(&prefix.to_be_bytes());
        }
        table.edge_sections_at = sections_at;
    }

    fn prefixes_start(table: &TableMeta) -> usize {
        table.pool_offset + table.bloom_bytes + table.index_entries * INDEX_ENTRY_BYTES
    }

    #[cfg_attr(not(feature = "small-code"), inline)]
    pub(crate) fn index_entry(&self, table: &TableMeta, index: usize) -> Option<IndexEntry> {
        if index >= table.index_entries {
            return None;
        }
        let start = Self::entry_start(table, index);
        IndexEntry::decode(&self.bytes[start..start + INDEX_ENTRY_BYTES])
    }
}
