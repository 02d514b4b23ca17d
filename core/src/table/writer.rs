//! Streams sorted records into a new table file: pages through one buffer, the index
//! and bloom filter straight into the table pool, then the index, bloom and footer,
//! and an fsync.

use super::bloom::{self, BloomShape};
use super::buckets::EdgeBuckets;
use super::format::{
    seal_page, table_name, Footer, IndexEntry, Section, BLOCK_RECORD_FIXED_BYTES,
    EDGE_RECORD_BYTES, FOOTER_BYTES, INDEX_ENTRY_BYTES, PAGE_HEADER_BYTES, TABLE_NAME_BYTES,
    TABLE_VERSION, TABLE_VERSION_EDGE_BUCKETS, TRAILER_BYTES_PER_RECORD,
};
use super::{TableMeta, TablePool, INDEX_PREFIX_BYTES};
use crate::codec::narrow_u32;
use crate::crc32c;
use crate::error::{CorruptionKind, Error, Resource};
use crate::id::{id_at, ID_BYTES};
use crate::record::{BlockRecord, EdgeRecord, KEY_BYTES};
use crate::vfs::{FileHandle, Vfs};

pub(crate) struct TableWriter<'b> {
    file: FileHandle,
    number: u64,
    buffer: &'b mut [u8],
    /// A page is closed before a record would take it past this many bytes.
    page_bytes_target: usize,
    /// Sealed pages wait in `buffer[..page_start]` and are written together when the
    /// buffer cannot take another page (fewer, larger writes); the open page is
    /// `buffer[page_start..buffered]`.
    page_start: usize,
    buffered: usize,
    records_in_page: u32,
    section: Section,
    first_key: [u8; KEY_BYTES],
    last_key: Option<(Section, [u8; KEY_BYTES])>,
    /// Where `buffer[0]` goes in the file: the bytes written so far.
    file_offset: u64,
    meta: TableMeta,
    /// Distinct ids per section (records arrive sorted, so a new id is one that differs
    /// from the previous record's). The filter is folded to fit the largest of the three:
    /// in a code graph edge endpoints are blocks, so that is about the union; where it is
    /// less, the filter answers "maybe" a little more often, never wrongly.
    distinct_keys: [u64; 3],
    last_id: Option<(Section, crate::id::BlockId)>,
    bits_per_key: u32,
    /// The bucket bits of this writer's edge pages (0: they have no directory).
    bucket_bits: u8,
}

impl<'b> TableWriter<'b> {
    /// Creates table file `number` and reserves its bloom filter (sized for `block_keys`)
    /// at the end of the pool. `TableMemory` if the pool has no room.
    pub(crate) fn begin<V: Vfs>(
        vfs: &mut V,
        pool: &mut TablePool<'_>,
        number: u64,
        block_keys: u64,
        bits_per_key: u32,
        buffer: &'b mut [u8],
        page_bytes_target: usize,
    ) -> Result<TableWriter<'b>, Error> {
        let mut buffer = buffer;
        let keys = (block_keys, bits_per_key);
        Self::begin_in(vfs, pool, number, keys, &mut buffer, page_bytes_target)
    }

    /// Writes a version-5 table, whose filter is not blocked, as releases before version 6
    /// of the format did: the tests read such tables as an upgraded store would.
    #[cfg(test)]
    pub(crate) fn unblocked_filter(mut self) -> TableWriter<'b> {
        assert_eq!(self.meta.block_records + self.meta.edge_records, 0, "before any record");
        self.meta.bloom.blocked = false;
        self
    }

    /// `begin`, taking `buffer` only if it succeeds (a flush in steps lends the engine's
    /// table buffer to its writer, and must have it back whatever happens).
    pub(crate) fn begin_in<V: Vfs>(
        vfs: &mut V,
        pool: &mut TablePool<'_>,
        number: u64,
        (block_keys, bits_per_key): (u64, u32),
        buffer: &mut &'b mut [u8],
        page_bytes_target: usize,
    ) -> Result<TableWriter<'b>, Error> {
        assert!(
            buffer.len() >= PAGE_HEADER_BYTES + EDGE_RECORD_BYTES
                && page_bytes_target <= buffer.len()
        );
        let bloom_bytes = bloom::filter_bytes(block_keys, bits_per_key);
        if pool.bytes.len() - pool.used < bloom_bytes {
            return Err(Error::MemtableFull { resource: Resource::TableMemory });
        }
        let mut name = [0u8; TABLE_NAME_BYTES];
        let file = vfs.create(table_name(number, &mut name))?;
        let pool_offset = pool.used;
        pool.bytes[pool_offset..pool_offset + bloom_bytes].fill(0);
        pool.used += bloom_bytes;
        let meta = TableMeta {
            number,
            file,
            pool_offset,
            bloom_bytes,
            bloom: BloomShape::blocked(bloom::hash_count(bits_per_key)),
            bloom_has_incoming: true,
            ..TableMeta::EMPTY
        };
        Ok(TableWriter {
            file,
            number,
            buffer: core::mem::take(buffer),
            page_bytes_target,
            page_start: 0,
            buffered: 0,
            records_in_page: 0,
            section: Section::Blocks,
            first_key: [0; KEY_BYTES],
            last_key: None,
            file_offset: 0,
            meta,
            distinct_keys: [0; 3],
            last_id: None,
            bits_per_key,
            bucket_bits: Self::bucket_bits_for(page_bytes_target),
        })
    }

    /// The bucket bits of edge pages of `page_bytes`. `small-code` builds write no directory
    /// (their pages are small, and the directory's code is left out: 550 bytes on Thumb);
    /// their tests do, so that their reader is shown to ignore one.
    fn bucket_bits_for(page_bytes: usize) -> u8 {
        if cfg!(all(feature = "small-code", not(test))) {
            return 0;
        }
        EdgeBuckets::bits_for(page_bytes.saturating_sub(PAGE_HEADER_BYTES) / EDGE_RECORD_BYTES)
    }

    /// Makes room for a record of `len` bytes in `section` with sort key `key`: closes the
    /// current page if the section changes or the page is full.
    fn prepare<V: Vfs>(
        &mut self,
        vfs: &mut V,
        pool: &mut TablePool<'_>,
        section: Section,
        key: [u8; KEY_BYTES],
        len: usize,
    ) -> Result<(), Error> {
        // Records arrive in strictly increasing (section, key) order; anything else is a bug.
        assert!(
            self.last_key.is_none_or(|last| last < (section, key)),
            "table records out of order"
        );
        self.last_key = Some((section, key));
        // Block pages end with an (id, offset) per record (since format version 3), edge
        // pages with their bucket directory (version 5).
        let directory_bytes = EdgeBuckets::directory_bytes(self.bucket_bits);
        let trailer = |records: u32| match section {
            Section::Blocks => records as usize * TRAILER_BYTES_PER_RECORD,
            _ => directory_bytes,
        };
        let with_record = self.buffered - self.page_start + len + trailer(self.records_in_page + 1);
        let alone = PAGE_HEADER_BYTES + len + trailer(1);
        let full = with_record > self.page_bytes_target.max(alone);
        if self.records_in_page > 0 && (section != self.section || full) {
            self.seal_data_page(pool)?;
        }
        if self.records_in_page == 0 {
            if self.buffer.len() - self.page_start < self.page_bytes_target.max(alone) {
                self.write_sealed_pages(vfs)?;
            }
            self.section = section;
            self.first_key = key;
            self.buffered = self.page_start + PAGE_HEADER_BYTES;
        }
        if self.buffered + len + trailer(self.records_in_page + 1) > self.buffer.len() {
            return Err(Error::MemtableFull { resource: Resource::RecordBytes });
        }
        Ok(())
    }

    pub(crate) fn add_block<V: Vfs>(
        &mut self,
        vfs: &mut V,
        pool: &mut TablePool<'_>,
        record: &BlockRecord<'_>,
    ) -> Result<(), Error> {
        let key = crate::record::block_key(&record.id);
        self.prepare(vfs, pool, Section::Blocks, key, record.encoded_bytes())?;
        let mut at = self.buffered;
        self.buffer[at..at + BLOCK_RECORD_FIXED_BYTES].copy_from_slice(&record.encode_fixed());
        at += BLOCK_RECORD_FIXED_BYTES;
        for part in [record.source_uri, record.metadata_json, record.content] {
            self.buffer[at..at + part.len()].copy_from_slice(part);
            at += part.len();
        }
        self.buffered = at;
        self.records_in_page += 1;
        self.meta.block_records += 1;
        self.count_key(Section::Blocks, &record.id);
        let filter =
            &mut pool.bytes[self.meta.pool_offset..self.meta.pool_offset + self.meta.bloom_bytes];
        bloom::insert(filter, self.meta.bloom, &record.id);
        Ok(())
    }

    pub(crate) fn add_edge<V: Vfs>(
        &mut self,
        vfs: &mut V,
        pool: &mut TablePool<'_>,
        section: Section,
        record: &EdgeRecord,
    ) -> Result<(), Error> {
        self.add_edge_encoded(vfs, pool, section, &record.key_id, &record.encode())
    }

    /// `add_edge` of a record as encoded (`key_id` its key id), checked already (a merge's,
    /// by `EdgeRecord::decode`): copied as it is, not built again (building its key and its
    /// bytes twice was 60 of a merged edge record's 1,150 instructions).
    pub(crate) fn add_edge_encoded<V: Vfs>(
        &mut self,
        vfs: &mut V,
        pool: &mut TablePool<'_>,
        section: Section,
        key_id: &crate::id::BlockId,
        encoded: &[u8; EDGE_RECORD_BYTES],
    ) -> Result<(), Error> {
        debug_assert!(matches!(section, Section::OutEdges | Section::InEdges));
        debug_assert!(EdgeRecord::decode(encoded).is_some_and(|record| record.key_id == *key_id));
        let mut key = [0u8; KEY_BYTES];
        key.copy_from_slice(&encoded[..KEY_BYTES]);
        self.prepare(vfs, pool, section, key, EDGE_RECORD_BYTES)?;
        self.buffer[self.buffered..self.buffered + EDGE_RECORD_BYTES].copy_from_slice(encoded);
        self.buffered += EDGE_RECORD_BYTES;
        self.records_in_page += 1;
        self.meta.edge_records += 1;
        // A key id's records are adjacent (a block's edges in a section): its later ones
        // find their bits set already, so only its first is hashed in (edges merged: 113 of
        // 1,295 instructions a record went to hashing, `cargo xtask merge-cost`).
        if !self.count_key(section, key_id) {
            return Ok(());
        }
        let filter =
            &mut pool.bytes[self.meta.pool_offset..self.meta.pool_offset + self.meta.bloom_bytes];
        if section == Section::OutEdges {
            bloom::insert(filter, self.meta.bloom, key_id);
        } else {
            bloom::insert_incoming(filter, self.meta.bloom, key_id);
        }
        Ok(())
    }

    /// Counts `id` as a distinct key of `section` unless the last record's was the same;
    /// true if it was new.
    fn count_key(&mut self, section: Section, id: &crate::id::BlockId) -> bool {
        if self.last_id == Some((section, *id)) {
            return false;
        }
        let index = (section as usize).saturating_sub(1).min(2);
        self.distinct_keys[index] += 1;
        self.last_id = Some((section, *id));
        true
    }

    /// Folds the filter down to the size its distinct keys need (the size given to
    /// `begin` is only an upper bound) and moves the index down behind it.
    fn shrink_filter(&mut self, pool: &mut TablePool<'_>) {
        // Block ids and sources are mostly the same ids (a flushed function and its calls);
        // targets are other keys in the filter.
        let [blocks, sources, targets] = self.distinct_keys;
        let keys = blocks.max(sources) + targets;
        self.meta.bloom_keys = keys;
        let target = bloom::filter_bytes(keys, self.bits_per_key);
        let start = self.meta.pool_offset;
        let old_bytes = self.meta.bloom_bytes;
        let mut bytes = old_bytes;
        while bytes > target && bytes.is_power_of_two() && bytes >= 16 {
            bytes = bloom::fold(&mut pool.bytes[start..start + bytes]);
        }
        if bytes == old_bytes {
            return;
        }
        let index_bytes = self.meta.index_entries * INDEX_ENTRY_BYTES;
        pool.bytes.copy_within(start + old_bytes..start + old_bytes + index_bytes, start + bytes);
        pool.used -= old_bytes - bytes;
        self.meta.bloom_bytes = bytes;
    }

    /// Appends the (id, offset) trailer of a block page (room was kept by
    /// `prepare`). The records are this writer's own, so a decode failure is a bug, reported
    /// as `Corruption` rather than a panic.
    fn append_record_trailer(&mut self) -> Result<(), Error> {
        let records_end = self.buffered;
        let records_start = self.page_start + PAGE_HEADER_BYTES;
        let mut at = records_start;
        for _ in 0..self.records_in_page {
            let (record, len) = BlockRecord::decode(&self.buffer[at..records_end])
                .ok_or(Error::Corruption { kind: CorruptionKind::Table })?;
            let id = record.id;
            let offset = narrow_u32(at - records_start);
            let slot = self.buffered;
            self.buffer[slot..slot + ID_BYTES].copy_from_slice(&id.0);
            self.buffer[slot + ID_BYTES..slot + TRAILER_BYTES_PER_RECORD]
                .copy_from_slice(&offset.to_le_bytes());
            self.buffered += TRAILER_BYTES_PER_RECORD;
            at += len;
        }
        debug_assert_eq!(at, records_end);
        Ok(())
    }

    /// Appends the bucket directory of an edge page (room was kept by `prepare`), if this
    /// writer's pages have one; returns its description for the index entry.
    fn append_bucket_directory(&mut self) -> EdgeBuckets {
        // `small-code` (not its tests) writes none: see `bucket_bits_for`.
        if cfg!(all(feature = "small-code", not(test))) || self.bucket_bits == 0 {
            return EdgeBuckets::NONE;
        }
        let records_start = self.page_start + PAGE_HEADER_BYTES;
        let directory_end = self.buffered + EdgeBuckets::directory_bytes(self.bucket_bits);
        let (records, directory) =
            self.buffer[records_start..directory_end].split_at_mut(self.buffered - records_start);
        let key_id = |index: usize| id_at(records, index * EDGE_RECORD_BYTES).to_u128();
        let count = self.records_in_page as usize;
        let buckets = EdgeBuckets::write(self.bucket_bits, count, key_id, directory);
        self.buffered = directory_end;
        buckets
    }

    /// Seals the open page (trailer, header, CRC) and appends its index entry to the
    /// pool; the page waits in the buffer for `write_sealed_pages`.
    fn seal_data_page(&mut self, pool: &mut TablePool<'_>) -> Result<(), Error> {
        // Room for this entry and, at `finish`, the search prefixes of all of them.
        let prefixes_bytes = (self.meta.index_entries + 1) * INDEX_PREFIX_BYTES;
        if pool.bytes.len() - pool.used < INDEX_ENTRY_BYTES + prefixes_bytes {
            return Err(Error::MemtableFull { resource: Resource::TableMemory });
        }
        let buckets = if self.section == Section::Blocks {
            self.append_record_trailer()?;
            EdgeBuckets::NONE
        } else {
            self.append_bucket_directory()
        };
        let page = &mut self.buffer[self.page_start..self.buffered];
        seal_page(page, self.section, self.records_in_page);
        let entry = IndexEntry {
            offset: self.file_offset + self.page_start as u64,
            len: narrow_u32(page.len()),
            section: self.section,
            first_key: self.first_key,
            buckets,
        };
        pool.bytes[pool.used..pool.used + INDEX_ENTRY_BYTES].copy_from_slice(&entry.encode());
        pool.used += INDEX_ENTRY_BYTES;
        self.meta.index_entries += 1;
        self.page_start = self.buffered;
        self.records_in_page = 0;
        Ok(())
    }

    /// Writes the sealed pages waiting in the buffer, in one write.
    fn write_sealed_pages<V: Vfs>(&mut self, vfs: &mut V) -> Result<(), Error> {
        debug_assert_eq!(self.records_in_page, 0, "only sealed pages are written");
        if self.page_start > 0 {
            vfs.write_at(self.file, self.file_offset, &self.buffer[..self.page_start])?;
            self.file_offset += self.page_start as u64;
        }
        self.page_start = 0;
        self.buffered = 0;
        Ok(())
    }

    /// Writes a page whose body is already in the pool (index or bloom); returns its length.
    fn write_pool_page<V: Vfs>(
        &mut self,
        vfs: &mut V,
        body: &[u8],
        section: Section,
        count: u32,
    ) -> Result<u32, Error> {
        let len = narrow_u32(PAGE_HEADER_BYTES + body.len());
        let mut header = [0u8; PAGE_HEADER_BYTES];
        header[4..8].copy_from_slice(&len.to_le_bytes());
        header[8] = section as u8;
        header[12..16].copy_from_slice(&count.to_le_bytes());
        let mut digest = crc32c::Digest::new();
        digest.update(&header[4..]);
        digest.update(body);
        header[..4].copy_from_slice(&digest.finalize().to_le_bytes());
        vfs.write_at(self.file, self.file_offset, &header)?;
        vfs.write_at(self.file, self.file_offset + PAGE_HEADER_BYTES as u64, body)?;
        self.file_offset += u64::from(len);
        Ok(len)
    }

    /// Writes the last page, the index, the bloom filter and the footer, and syncs.
    pub(crate) fn finish<V: Vfs>(
        mut self,
        vfs: &mut V,
        pool: &mut TablePool<'_>,
    ) -> Result<TableMeta, Error> {
        match self.write_tail(vfs, pool) {
            Ok(table) => Ok(table),
            Err(error) => {
                // Closed and removed (best effort): a failed table leaks no handle, and a
                // retry can create the same name.
                self.abandon(vfs, pool);
                Err(error)
            }
        }
    }

    /// `finish`'s writes: the last data page, the index, the bloom filter, the footer, and
    /// the sync.
    fn write_tail<V: Vfs>(
        &mut self,
        vfs: &mut V,
        pool: &mut TablePool<'_>,
    ) -> Result<TableMeta, Error> {
        if self.records_in_page > 0 {
            self.seal_data_page(pool)?;
        }
        self.write_sealed_pages(vfs)?;
        self.shrink_filter(pool);
        let mut meta = self.meta;
        // Every seal kept room for the prefixes.
        let prefixes_bytes = meta.index_entries * INDEX_PREFIX_BYTES;
        assert!(pool.bytes.len() - pool.used >= prefixes_bytes);
        pool.used += prefixes_bytes;
        debug_assert_eq!(pool.used, meta.pool_offset + meta.pool_bytes());
        pool.build_prefixes(&mut meta);
        let index_start = meta.pool_offset + meta.bloom_bytes;
        let index_offset = self.file_offset;
        let index_body =
            &pool.bytes[index_start..index_start + meta.index_entries * INDEX_ENTRY_BYTES];
        let index_page_bytes =
            self.write_pool_page(vfs, index_body, Section::Index, narrow_u32(meta.index_entries))?;
        let bloom_offset = self.file_offset;
        let bloom_body = &pool.bytes[meta.pool_offset..meta.pool_offset + meta.bloom_bytes];
        let bloom_page_bytes =
            self.write_pool_page(vfs, bloom_body, Section::Bloom, meta.bloom.hashes)?;
        let footer = Footer {
            index_offset,
            index_page_bytes,
            bloom_offset,
            bloom_page_bytes,
            block_records: meta.block_records,
            edge_records: meta.edge_records,
            table_number: self.number,
            bloom_keys: meta.bloom_keys,
            // Only the tests write filters that are not blocked (`unblocked_filter`).
            version: if meta.bloom.blocked { TABLE_VERSION } else { TABLE_VERSION_EDGE_BUCKETS },
        };
        vfs.write_at(self.file, self.file_offset, &footer.encode())?;
        self.file_offset += FOOTER_BYTES as u64;
        vfs.sync(self.file)?;
        let table = TableMeta { file_bytes: self.file_offset, ..meta };
        // Every page's CRC was computed here from the bytes written (the index is on disk
        // already, with its reserved bytes zero).
        for index in 0..table.index_entries {
            pool.mark_page_verified(&table, index);
        }
        Ok(table)
    }

    /// Starts writing back the pages written so far (a table between steps: its last step's
    /// sync then has about a step's pages left to write back, not the whole table's).
    pub(crate) fn write_back<V: Vfs>(&self, vfs: &mut V) -> Result<(), Error> {
        Ok(vfs.write_back(self.file)?)
    }

    /// Gives up on the table: closes and removes its file, frees its pool bytes. Errors are
    /// ignored: an orphan file is removed at the next open.
    pub(crate) fn abandon<V: Vfs>(self, vfs: &mut V, pool: &mut TablePool<'_>) {
        self.abandon_into_buffer(vfs, pool);
    }

    /// `abandon`, handing the buffer back (a flush in steps keeps the writer between calls
    /// and gives the buffer back when it ends).
    pub(crate) fn abandon_into_buffer<V: Vfs>(
        self,
        vfs: &mut V,
        pool: &mut TablePool<'_>,
    ) -> &'b mut [u8] {
        vfs.close(self.file);
        let mut name = [0u8; TABLE_NAME_BYTES];
        let _ = vfs.remove(table_name(self.number, &mut name));
        pool.used = self.meta.pool_offset;
        self.buffer
    }

    /// `finish`, handing the buffer back (as `abandon_into_buffer`).
    pub(crate) fn finish_into_buffer<V: Vfs>(
        mut self,
        vfs: &mut V,
        pool: &mut TablePool<'_>,
    ) -> (Result<TableMeta, Error>, &'b mut [u8]) {
        match self.write_tail(vfs, pool) {
            Ok(table) => (Ok(table), self.buffer),
            Err(error) => (Err(error), self.abandon_into_buffer(vfs, pool)),
        }
    }
}
