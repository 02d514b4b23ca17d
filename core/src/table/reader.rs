//! Reads tables: opening one (footer, index and bloom into the pool, all checked), point
//! lookups of blocks, and cursors over edge ranges for merged listings.

use super::bloom;
use super::format::{
    open_page, open_page_header, search_records, table_name, Footer, IndexEntry, Section,
    EDGE_RECORD_BYTES, FOOTER_BYTES, INDEX_ENTRY_BYTES, INDEX_RESERVED_AT, INDEX_RESERVED_BYTES,
    PAGE_HEADER_BYTES, TABLE_NAME_BYTES,
};
use super::{index_prefix, TableMeta, TablePool, INDEX_PREFIX_BYTES};
use crate::codec::{id_at, narrow_u32, u32_at, CASTAGNOLI};
use crate::error::{CorruptionKind, Error, Resource};
use crate::id::{BlockId, ID_BYTES};
use crate::record::{block_key, BlockRecord, EdgeRecord, KEY_BYTES};
use crate::vfs::{read_fully, FileHandle, Vfs, VfsError};

const DAMAGED: Error = Error::Corruption { kind: CorruptionKind::Table };

/// Reads exactly `buffer.len()` bytes at `offset`, or `Corruption` if the file is shorter.
fn read_exact<V: Vfs>(
    vfs: &mut V,
    file: FileHandle,
    offset: u64,
    buffer: &mut [u8],
) -> Result<(), Error> {
    if read_fully(vfs, file, offset, buffer)? != buffer.len() {
        return Err(DAMAGED);
    }
    Ok(())
}

/// Reads a pool-resident page (index or bloom) of `len` bytes at `offset` straight into
/// `body` (its length minus the header), checking its CRC and section.
fn read_pool_page<V: Vfs>(
    vfs: &mut V,
    file: FileHandle,
    offset: u64,
    len: u32,
    section: Section,
    body: &mut [u8],
) -> Result<u32, Error> {
    let mut header = [0u8; PAGE_HEADER_BYTES];
    read_exact(vfs, file, offset, &mut header)?;
    read_exact(vfs, file, offset + PAGE_HEADER_BYTES as u64, body)?;
    let mut digest = CASTAGNOLI.digest();
    digest.update(&header[4..]);
    digest.update(body);
    let valid = u32_at(&header, 0) == digest.finalize()
        && u32_at(&header, 4) == len
        && header[8] == section as u8
        && header[9..12] == [0, 0, 0];
    if !valid {
        return Err(DAMAGED);
    }
    Ok(u32_at(&header, 12))
}

/// Opens table `number`, loading its bloom filter and index into the pool.
pub(crate) fn open_table<V: Vfs>(
    vfs: &mut V,
    pool: &mut TablePool<'_>,
    number: u64,
) -> Result<TableMeta, Error> {
    let mut name = [0u8; TABLE_NAME_BYTES];
    let file = vfs.open(table_name(number, &mut name)).map_err(|error| match error {
        crate::vfs::VfsError::NotFound => Error::Corruption { kind: CorruptionKind::Manifest },
        other => Error::Io(other),
    })?;
    let result = load_table(vfs, pool, number, file);
    if result.is_err() {
        vfs.close(file);
    }
    result
}

fn load_table<V: Vfs>(
    vfs: &mut V,
    pool: &mut TablePool<'_>,
    number: u64,
    file: FileHandle,
) -> Result<TableMeta, Error> {
    let file_bytes = vfs.len(file)?;
    let footer_offset = file_bytes.checked_sub(FOOTER_BYTES as u64).ok_or(DAMAGED)?;
    let mut footer = [0u8; FOOTER_BYTES];
    read_exact(vfs, file, footer_offset, &mut footer)?;
    let footer =
        Footer::decode(&footer).filter(|footer| footer.table_number == number).ok_or(DAMAGED)?;
    let index_body = (footer.index_len as usize).checked_sub(PAGE_HEADER_BYTES).ok_or(DAMAGED)?;
    let bloom_body = (footer.bloom_len as usize).checked_sub(PAGE_HEADER_BYTES).ok_or(DAMAGED)?;
    let layout_ok = index_body % INDEX_ENTRY_BYTES == 0
        && footer.index_offset + u64::from(footer.index_len) == footer.bloom_offset
        && footer.bloom_offset + u64::from(footer.bloom_len) == footer_offset;
    if !layout_ok {
        return Err(DAMAGED);
    }
    let entries_claimed = index_body / INDEX_ENTRY_BYTES;
    let prefixes_bytes = entries_claimed * INDEX_PREFIX_BYTES;
    if pool.bytes.len() - pool.used < index_body + bloom_body + prefixes_bytes {
        return Err(Error::RecoveryCapacity { resource: Resource::TableMemory });
    }
    let pool_offset = pool.used;
    let (bloom_area, index_area) = pool.bytes[pool_offset..].split_at_mut(bloom_body);
    let hashes = read_pool_page(
        vfs,
        file,
        footer.bloom_offset,
        footer.bloom_len,
        Section::Bloom,
        bloom_area,
    )?;
    let index_area = &mut index_area[..index_body];
    let entries = read_pool_page(
        vfs,
        file,
        footer.index_offset,
        footer.index_len,
        Section::Index,
        index_area,
    )?;
    let bloom_ok = bloom_body.is_power_of_two() && bloom_body >= 8 && (1..=16).contains(&hashes);
    if entries as usize != index_body / INDEX_ENTRY_BYTES || !bloom_ok {
        return Err(DAMAGED);
    }
    check_index(index_area, footer.index_offset)?;
    let table = TableMeta {
        number,
        file,
        file_bytes,
        pool_offset,
        bloom_bytes: bloom_body,
        bloom_hashes: hashes,
        index_entries: entries as usize,
        block_records: footer.block_records,
        edge_records: footer.edge_records,
        bloom_keys: footer.bloom_keys,
    };
    debug_assert_eq!(table.pool_bytes(), index_body + bloom_body + prefixes_bytes);
    pool.used += table.pool_bytes();
    pool.build_prefixes(&table);
    // Pages are not read here: each one's CRC is checked when it is first read.
    Ok(table)
}

/// Every index entry must decode, lie before the index, follow the previous page, be in
/// (section, key) order, and have its reserved bytes zero (the pool marks verified pages
/// there): then no lookup can read outside the data area.
fn check_index(index: &[u8], data_end: u64) -> Result<(), Error> {
    let mut expected_offset = 0u64;
    let mut previous: Option<(Section, [u8; KEY_BYTES])> = None;
    for bytes in index.chunks_exact(INDEX_ENTRY_BYTES) {
        let entry = IndexEntry::decode(bytes).ok_or(DAMAGED)?;
        let ordered = previous.is_none_or(|last| last <= (entry.section, entry.first_key));
        let reserved = &bytes[INDEX_RESERVED_AT..INDEX_RESERVED_AT + INDEX_RESERVED_BYTES];
        let valid = entry.offset == expected_offset
            && reserved.iter().all(|byte| *byte == 0)
            && entry.len as usize > PAGE_HEADER_BYTES
            && matches!(entry.section, Section::Blocks | Section::OutEdges | Section::InEdges)
            && ordered;
        if !valid {
            return Err(DAMAGED);
        }
        expected_offset += u64::from(entry.len);
        previous = Some((entry.section, entry.first_key));
    }
    if expected_offset != data_end {
        return Err(DAMAGED);
    }
    Ok(())
}

/// A view of page `index` (its index entry `entry`; `None` if the backend has no views),
/// its CRC and section checked the first time this process views it and trusted after (the
/// mark in the pool): a damaged page is `Corruption` on every read, the others cost no check
/// after the first.
fn view_checked_page<'v, V: Vfs>(
    vfs: &'v mut V,
    pool: &mut TablePool<'_>,
    table: &TableMeta,
    index: usize,
    entry: &IndexEntry,
) -> Result<Option<&'v [u8]>, Error> {
    let Some(page) = vfs.view_at(table.file, entry.offset, entry.len as usize)? else {
        return Ok(None);
    };
    if !pool.page_verified(table, index) {
        if open_page(page).is_none_or(|(section, _)| section != entry.section) {
            return Err(DAMAGED);
        }
        pool.mark_page_verified(table, index);
    }
    Ok(Some(page))
}

/// Reads page `index` of `table` into `buffer` and checks it.
pub(crate) fn read_page<'b, V: Vfs>(
    vfs: &mut V,
    pool: &mut TablePool<'_>,
    table: &TableMeta,
    index: usize,
    buffer: &'b mut [u8],
) -> Result<(Section, u32, &'b [u8]), Error> {
    let entry = pool.index_entry(table, index).ok_or(DAMAGED)?;
    let page = buffer.get_mut(..entry.len as usize).ok_or(DAMAGED)?;
    let opened = match view_checked_page(vfs, pool, table, index, &entry)? {
        Some(bytes) => {
            page.copy_from_slice(bytes);
            open_page_header(page)
        }
        None => {
            // Read bytes are a transfer, not memory this process checked: always checked.
            read_exact(vfs, table.file, entry.offset, page)?;
            open_page(page)
        }
    };
    let (section, count) = opened.ok_or(DAMAGED)?;
    if section != entry.section {
        return Err(DAMAGED);
    }
    Ok((section, count, &page[PAGE_HEADER_BYTES..]))
}

/// The last page of `section` whose first key is <= `key` (binary search over the
/// search prefixes; a whole entry is compared only when its prefix equals the target's).
pub(crate) fn seek(
    pool: &TablePool<'_>,
    table: &TableMeta,
    section: Section,
    key: &[u8; KEY_BYTES],
) -> Option<usize> {
    let target = index_prefix(section, key);
    let (mut low, mut high) = (0usize, table.index_entries);
    // Invariant: entries below `low` are <= target, entries from `high` on are > target.
    while low < high {
        let middle = low + (high - low) / 2;
        let prefix = pool.index_prefix_at(table, middle)?;
        let at_or_below = match prefix.cmp(&target) {
            core::cmp::Ordering::Equal => {
                pool.index_entry_cmp(table, middle, section, key)?.is_le()
            }
            order => order.is_lt(),
        };
        if at_or_below {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    let found = low.checked_sub(1)?;
    (pool.index_entry(table, found)?.section == section).then_some(found)
}

/// Where a block record was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RecordAt {
    /// Bytes `start..end` of the caller's buffer (the page was read into it).
    Buffer { start: usize, end: usize },
    /// `len` bytes at file offset `offset`, in the table's view (read in place: nothing was
    /// copied).
    View { offset: u64, len: usize },
}

/// Where the record of block `id` lies, if `table` has one (live or tombstone): in place in
/// the table's view, or in `buffer` after reading its page.
pub(crate) fn locate_block<V: Vfs>(
    vfs: &mut V,
    pool: &mut TablePool<'_>,
    table: &TableMeta,
    id: &BlockId,
    buffer: &mut [u8],
) -> Result<Option<RecordAt>, Error> {
    if !bloom::may_contain(pool.bloom(table), table.bloom_hashes, id) {
        return Ok(None);
    }
    let Some(index) = seek(pool, table, Section::Blocks, &block_key(id)) else {
        return Ok(None);
    };
    // In place: find the record in the view; nothing is copied.
    let entry = pool.index_entry(table, index).ok_or(DAMAGED)?;
    if let Some(page) = view_checked_page(vfs, pool, table, index, &entry)? {
        let found = record_in_page(page, entry.section, id)?;
        return Ok(found
            .map(|(at, end)| RecordAt::View { offset: entry.offset + at as u64, len: end - at }));
    }
    let (_, count, records) = read_page(vfs, pool, table, index, buffer)?;
    let found = record_range(records, count, id)?;
    Ok(found.map(|(at, end)| RecordAt::Buffer {
        start: PAGE_HEADER_BYTES + at,
        end: PAGE_HEADER_BYTES + end,
    }))
}

/// The bytes of a record `locate_block` found in `table`: in the view (asked for again) or
/// in `buffer`.
pub(crate) fn record_bytes<'a, V: Vfs>(
    vfs: &'a mut V,
    table: &TableMeta,
    at: RecordAt,
    buffer: &'a [u8],
) -> Result<&'a [u8], Error> {
    match at {
        RecordAt::Buffer { start, end } => buffer.get(start..end).ok_or(DAMAGED),
        // The backend gave this view a moment ago; declining it now is an I/O failure.
        RecordAt::View { offset, len } => {
            vfs.view_at(table.file, offset, len)?.ok_or(Error::Io(VfsError::Io { code: 5 }))
        }
    }
}

/// Where block `id`'s record lies in a block page's body (records and trailer):
/// found through the trailer, then decoded, and its id checked against the trailer's.
fn record_range(records: &[u8], count: u32, id: &BlockId) -> Result<Option<(usize, usize)>, Error> {
    let Some(at) = search_records(records, count, id).map_err(|()| DAMAGED)? else {
        return Ok(None);
    };
    let (record, len) = BlockRecord::decode(records.get(at..).ok_or(DAMAGED)?).ok_or(DAMAGED)?;
    if record.id != *id {
        return Err(DAMAGED);
    }
    Ok(Some((at, at + len)))
}

/// How far before a page's end `record_in_page` touches the trailer early: about half the
/// trailer of a 16 KiB page of 1 KiB records (15 records of 20 bytes).
const TRAILER_PROBE_BYTES: usize = 160;

/// The byte range of block `id`'s record in a checked page, or `None` if the page
/// does not hold the id.
fn record_in_page(
    page: &[u8],
    expected: Section,
    id: &BlockId,
) -> Result<Option<(usize, usize)>, Error> {
    // Load a byte near the trailer's middle (where its binary search starts) before the
    // header: the trailer's position depends on the header's count, so without this the
    // two cache misses (and TLB misses: a page spans memory pages) happen one after the other.
    let trailer_middle = page.len().saturating_sub(TRAILER_PROBE_BYTES);
    if let Some(byte) = page.get(trailer_middle) {
        core::hint::black_box(*byte);
    }
    let (section, count) = open_page_header(page).ok_or(DAMAGED)?;
    if section != expected {
        return Err(DAMAGED);
    }
    let records = page.get(PAGE_HEADER_BYTES..).ok_or(DAMAGED)?;
    let found = record_range(records, count, id)?;
    Ok(found.map(|(at, end)| (PAGE_HEADER_BYTES + at, PAGE_HEADER_BYTES + end)))
}

/// The record of block `id` in `table` (live or tombstone), in place or read into `buffer`.
pub(crate) fn find_block<'b, V: Vfs>(
    vfs: &'b mut V,
    pool: &mut TablePool<'_>,
    table: &TableMeta,
    id: &BlockId,
    buffer: &'b mut [u8],
) -> Result<Option<BlockRecord<'b>>, Error> {
    let Some(at) = locate_block(vfs, pool, table, id, buffer)? else {
        return Ok(None);
    };
    let bytes = record_bytes(vfs, table, at, buffer)?;
    Ok(Some(BlockRecord::decode(bytes).ok_or(DAMAGED)?.0))
}

/// Reads page `page` into `buffer` if it belongs to `section`; returns its record
/// count, or `None` when the section has no more pages (shared by both cursors).
fn load_section_page<V: Vfs>(
    vfs: &mut V,
    pool: &mut TablePool<'_>,
    table: &TableMeta,
    section: Section,
    page: usize,
    buffer: &mut [u8],
) -> Result<Option<u32>, Error> {
    match pool.index_entry(table, page) {
        Some(entry) if entry.section == section => {
            Ok(Some(read_page(vfs, pool, table, page, buffer)?.1))
        }
        _ => Ok(None),
    }
}

/// A position in one table's edge section: walks the records whose key id is `key_id`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct EdgeCursor {
    key_id: BlockId,
    section: Section,
    page: usize,
    /// Record index within the loaded page, and the page's record count.
    record: u32,
    count: u32,
    done: bool,
    /// The loaded records are the key id's whole run in a page that holds a later key
    /// too, so nothing of the key id follows them (set by windowed loads from views).
    run_ends: bool,
}

impl EdgeCursor {
    /// A cursor with nothing to yield (the table cannot hold `key_id`).
    pub(crate) fn exhausted(section: Section, key_id: &BlockId) -> EdgeCursor {
        EdgeCursor {
            key_id: *key_id,
            section,
            page: 0,
            record: 0,
            count: 0,
            done: true,
            run_ends: false,
        }
    }

    /// True if the cursor can yield nothing more.
    pub(crate) fn is_done(&self) -> bool {
        self.done
    }

    /// A cursor before the first record of `key_id` in `section`; `buffer` receives pages.
    pub(crate) fn seek<V: Vfs>(
        vfs: &mut V,
        pool: &mut TablePool<'_>,
        table: &TableMeta,
        section: Section,
        key_id: &BlockId,
        buffer: &mut [u8],
    ) -> Result<EdgeCursor, Error> {
        let mut start = [0u8; KEY_BYTES];
        start[..ID_BYTES].copy_from_slice(&key_id.0);
        // The first record of key_id may begin in the page before the one whose first key
        // is the smallest >= start, so start from the last page <= start (or the first).
        let page = seek(pool, table, section, &start).or_else(|| first_page(pool, table, section));
        let mut cursor = EdgeCursor {
            key_id: *key_id,
            section,
            page: 0,
            record: 0,
            count: 0,
            done: page.is_none(),
            run_ends: false,
        };
        if let Some(page) = page {
            cursor.load(vfs, pool, table, page, buffer)?;
            cursor.skip_before_key(buffer)?;
        }
        Ok(cursor)
    }

    fn load<V: Vfs>(
        &mut self,
        vfs: &mut V,
        pool: &mut TablePool<'_>,
        table: &TableMeta,
        page: usize,
        buffer: &mut [u8],
    ) -> Result<(), Error> {
        if self.load_window(vfs, pool, table, page, buffer)? {
            return Ok(());
        }
        match load_section_page(vfs, pool, table, self.section, page, buffer)? {
            Some(count) => (self.page, self.record, self.count) = (page, 0, count),
            None => self.done = true,
        }
        self.run_ends = false;
        Ok(())
    }

    /// Views page `page` in place (checked once) and copies into `buffer` only the
    /// run of records whose key id is the cursor's (a listing wants a handful of a page's
    /// hundreds). False if the backend has no view.
    fn load_window<V: Vfs>(
        &mut self,
        vfs: &mut V,
        pool: &mut TablePool<'_>,
        table: &TableMeta,
        page: usize,
        buffer: &mut [u8],
    ) -> Result<bool, Error> {
        let entry = match pool.index_entry(table, page) {
            Some(entry) if entry.section == self.section => entry,
            _ => {
                self.done = true;
                return Ok(true);
            }
        };
        let Some(bytes) = view_checked_page(vfs, pool, table, page, &entry)? else {
            return Ok(false);
        };
        let (count, run_ends) = copy_run(bytes, self.section, &self.key_id, buffer)?;
        (self.page, self.record, self.count, self.run_ends) = (page, 0, count, run_ends);
        Ok(true)
    }

    fn record_at(&self, buffer: &[u8]) -> Result<EdgeRecord, Error> {
        let at = PAGE_HEADER_BYTES + self.record as usize * EDGE_RECORD_BYTES;
        buffer.get(at..).and_then(EdgeRecord::decode).ok_or(DAMAGED)
    }

    fn skip_before_key(&mut self, buffer: &[u8]) -> Result<(), Error> {
        while !self.done && self.record < self.count {
            if self.record_at(buffer)?.key_id >= self.key_id {
                break;
            }
            self.record += 1;
        }
        Ok(())
    }

    /// The current record, if it still belongs to the cursor's key id; loads the next page
    /// into `buffer` when the current one is used up.
    pub(crate) fn current<V: Vfs>(
        &mut self,
        vfs: &mut V,
        pool: &mut TablePool<'_>,
        table: &TableMeta,
        buffer: &mut [u8],
    ) -> Result<Option<EdgeRecord>, Error> {
        // Each round loads a later page; the index bounds how many there are.
        for _ in 0..=table.index_entries {
            if self.done {
                return Ok(None);
            }
            if self.record < self.count {
                let record = self.record_at(buffer)?;
                if record.key_id != self.key_id {
                    self.done = true;
                    return Ok(None);
                }
                return Ok(Some(record));
            }
            if self.run_ends {
                self.done = true;
                return Ok(None);
            }
            let next = self.page + 1;
            self.load(vfs, pool, table, next, buffer)?;
        }
        Err(DAMAGED)
    }

    pub(crate) fn advance(&mut self) {
        self.record += 1;
    }
}

/// In a checked edge page: copies the records whose key id is `key_id` to `out` (after a
/// header's worth of bytes, where `record_at` reads), found by binary search. Returns how
/// many, and whether a later key id follows them in this page.
fn copy_run(
    page: &[u8],
    expected: Section,
    key_id: &BlockId,
    out: &mut [u8],
) -> Result<(u32, bool), Error> {
    let (section, count) = open_page_header(page).ok_or(DAMAGED)?;
    let records = page.get(PAGE_HEADER_BYTES..).ok_or(DAMAGED)?;
    if section != expected || records.len() < count as usize * EDGE_RECORD_BYTES {
        return Err(DAMAGED);
    }
    let key_at = |index: usize| id_at(records, index * EDGE_RECORD_BYTES);
    let count = count as usize;
    // Records are sorted by key, whose first 16 bytes are the key id.
    let (mut low, mut high) = (0, count);
    while low < high {
        let middle = low + (high - low) / 2;
        if key_at(middle) < *key_id {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    let mut end = low;
    while end < count && key_at(end) == *key_id {
        end += 1;
    }
    let bytes = &records[low * EDGE_RECORD_BYTES..end * EDGE_RECORD_BYTES];
    let target = out.get_mut(PAGE_HEADER_BYTES..PAGE_HEADER_BYTES + bytes.len()).ok_or(DAMAGED)?;
    target.copy_from_slice(bytes);
    Ok((narrow_u32(end - low), end < count))
}

/// The first page of `section`: a binary search, since index entries are in
/// (section, key) order (a linear scan here once cost two thirds of edge ingest).
fn first_page(pool: &TablePool<'_>, table: &TableMeta, section: Section) -> Option<usize> {
    let (mut low, mut high) = (0usize, table.index_entries);
    // Invariant: entries below `low` are of an earlier section, from `high` on of this one
    // or a later one.
    while low < high {
        let middle = low + (high - low) / 2;
        if pool.index_entry(table, middle)?.section < section {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    (pool.index_entry(table, low)?.section == section).then_some(low)
}

#[cfg(test)]
mod tests {
    use super::super::writer::TableWriter;
    use super::*;
    use crate::edge::EdgeType;
    use crate::record::edge_key;
    use crate::vfs::sim::{SimConfig, SimVfs};

    fn id(value: u128) -> BlockId {
        BlockId::from_u128(value)
    }

    /// Writes a table of 300 blocks and, for each block n, edges n -> n+1 and n -> n+2 in
    /// both sections; small pages force many of them.
    fn build(vfs: &mut SimVfs<'_>, pool: &mut TablePool<'_>) -> TableMeta {
        let mut buffer = std::vec![0u8; 512];
        let mut writer = TableWriter::begin(vfs, pool, 7, 300, 10, &mut buffer, 256).unwrap();
        for n in 1..=300u128 {
            let content = std::format!("content {n}");
            let record = BlockRecord {
                id: id(n),
                sequence: n as u64,
                tombstone: n % 50 == 0,
                source_uri: b"t.rs",
                metadata_json: b"{}",
                content: if n % 50 == 0 { b"" } else { content.as_bytes() },
            };
            writer.add_block(vfs, pool, &record).unwrap();
        }
        for section in [Section::OutEdges, Section::InEdges] {
            let mut records = std::vec::Vec::new();
            for n in 1..=300u128 {
                for k in 1..=2 {
                    let (source, target) = (id(n), id(n + k));
                    let (key_id, other) = if section == Section::OutEdges {
                        (source, target)
                    } else {
                        (target, source)
                    };
                    records.push(EdgeRecord {
                        key_id,
                        edge_type: EdgeType::CALLS,
                        other,
                        tombstone: k == 2 && n % 3 == 0,
                    });
                }
            }
            records.sort_by_key(|record| record.key());
            for record in &records {
                writer.add_edge(vfs, pool, section, record).unwrap();
            }
        }
        writer.finish(vfs, pool).unwrap()
    }

    const SIM: SimConfig =
        SimConfig { files_max: 4, file_bytes_max: 256 << 10, pending_bytes_max: 64 << 10 };

    /// Writes `build`'s table 7 (its pool is dropped) and closes it; returns its size and
    /// file name.
    fn write_closed_table(vfs: &mut SimVfs<'_>) -> (u64, std::string::String) {
        let mut pool_bytes = std::vec![0u8; 64 << 10];
        let mut pool = TablePool { bytes: &mut pool_bytes, used: 0 };
        let written = build(vfs, &mut pool);
        vfs.close(written.file);
        let mut name = [0u8; TABLE_NAME_BYTES];
        (written.file_bytes, std::string::String::from(table_name(7, &mut name)))
    }

    #[test]
    fn written_tables_answer_lookups_and_edge_ranges_after_reopen() {
        let mut disk = std::vec![0u8; SIM.memory_bytes_required()];
        let mut vfs = SimVfs::new(&mut disk, SIM, 1).unwrap();
        let mut pool_bytes = std::vec![0u8; 64 << 10];
        let mut pool = TablePool { bytes: &mut pool_bytes, used: 0 };
        let written = build(&mut vfs, &mut pool);
        assert!(written.index_entries > 20, "small pages make many: {}", written.index_entries);
        vfs.close(written.file);
        let mut pool_bytes = std::vec![0u8; 64 << 10];
        let mut pool = TablePool { bytes: &mut pool_bytes, used: 0 };
        let table = open_table(&mut vfs, &mut pool, 7).unwrap();
        assert_eq!((table.block_records, table.edge_records), (300, 1200));
        let mut buffer = std::vec![0u8; 512];
        for n in 1..=300u128 {
            let record =
                find_block(&mut vfs, &mut pool, &table, &id(n), &mut buffer).unwrap().unwrap();
            assert_eq!((record.sequence, record.tombstone), (n as u64, n % 50 == 0));
        }
        assert_eq!(find_block(&mut vfs, &mut pool, &table, &id(301), &mut buffer).unwrap(), None);
        for n in [1u128, 2, 150, 299, 300, 301, 302] {
            for section in [Section::OutEdges, Section::InEdges] {
                let mut cursor =
                    EdgeCursor::seek(&mut vfs, &mut pool, &table, section, &id(n), &mut buffer)
                        .unwrap();
                let mut others = std::vec::Vec::new();
                while let Some(record) =
                    cursor.current(&mut vfs, &mut pool, &table, &mut buffer).unwrap()
                {
                    others.push(record.other.to_u128());
                    cursor.advance();
                }
                let expected: std::vec::Vec<u128> = match section {
                    Section::OutEdges if n <= 300 => std::vec![n + 1, n + 2],
                    Section::InEdges => {
                        (n.saturating_sub(2)..n).filter(|m| (1..=300).contains(m)).collect()
                    }
                    _ => std::vec![],
                };
                assert_eq!(others, expected, "{section:?} of {n}");
            }
        }
    }

    #[test]
    fn any_damaged_byte_is_corruption_or_a_correct_answer() {
        for views in [false, true] {
            let mut disk = std::vec![0u8; SIM.memory_bytes_required()];
            let mut vfs = SimVfs::new(&mut disk, SIM, 1).unwrap();
            vfs.views = views;
            let (file_bytes, name) = write_closed_table(&mut vfs);
            let step = if cfg!(miri) { 997 } else { 7 };
            for offset in (0..file_bytes as usize).step_by(step) {
                assert!(vfs.corrupt(&name, offset, 0x20));
                let mut pool_bytes = std::vec![0u8; 64 << 10];
                let mut pool = TablePool { bytes: &mut pool_bytes, used: 0 };
                let mut buffer = std::vec![0u8; 512];
                match open_table(&mut vfs, &mut pool, 7) {
                    Err(error) => assert_eq!(error, DAMAGED, "byte {offset}"),
                    Ok(table) => {
                        for n in (1..=300u128).step_by(13) {
                            match find_block(&mut vfs, &mut pool, &table, &id(n), &mut buffer) {
                                Err(error) => assert_eq!(error, DAMAGED),
                                Ok(Some(record)) => {
                                    assert_eq!(record.sequence, n as u64, "byte {offset}")
                                }
                                Ok(None) => {
                                    panic!("byte {offset}: block {n} vanished without an error")
                                }
                            }
                        }
                        vfs.close(table.file);
                    }
                }
                assert!(vfs.corrupt(&name, offset, 0x20));
            }
        }
    }

    /// Opening reads no page, so damage that happens after the open is found by the
    /// first read of the damaged page (through a view), on every read of it, and only there.
    #[test]
    fn a_page_damaged_after_open_is_corruption_on_every_read_of_it() {
        let mut disk = std::vec![0u8; SIM.memory_bytes_required()];
        let mut vfs = SimVfs::new(&mut disk, SIM, 1).unwrap();
        vfs.views = true;
        let (_, name) = write_closed_table(&mut vfs);
        let mut pool_bytes = std::vec![0u8; 64 << 10];
        let mut pool = TablePool { bytes: &mut pool_bytes, used: 0 };
        let table = open_table(&mut vfs, &mut pool, 7).unwrap();
        assert!((0..table.index_entries).all(|index| !pool.page_verified(&table, index)));
        let mut buffer = std::vec![0u8; 512];
        // Damage the last byte of block 100's page (its trailer), which the open
        // has not read.
        let damaged = seek(&pool, &table, Section::Blocks, &block_key(&id(100))).unwrap();
        let entry = pool.index_entry(&table, damaged).unwrap();
        assert!(vfs.corrupt(&name, (entry.offset + u64::from(entry.len) - 1) as usize, 0x04));
        for _ in 0..2 {
            let found = find_block(&mut vfs, &mut pool, &table, &id(100), &mut buffer);
            assert_eq!(found.unwrap_err(), DAMAGED);
            assert!(!pool.page_verified(&table, damaged));
        }
        // Every other page answers, and is marked as checked once read.
        let elsewhere: std::vec::Vec<u128> = (1..=300u128)
            .filter(|n| seek(&pool, &table, Section::Blocks, &block_key(&id(*n))) != Some(damaged))
            .collect();
        for n in elsewhere {
            let record = find_block(&mut vfs, &mut pool, &table, &id(n), &mut buffer).unwrap();
            assert_eq!(record.unwrap().sequence, n as u64);
        }
        let checked =
            (0..table.index_entries).filter(|index| pool.page_verified(&table, *index)).count();
        let block_pages = (0..table.index_entries)
            .filter(|index| pool.index_entry(&table, *index).unwrap().section == Section::Blocks)
            .count();
        assert_eq!(checked, block_pages - 1, "every page of the block section but the damaged one");
        // An edge page damaged after the open is found by a listing the same way.
        let edge_page =
            seek(&pool, &table, Section::OutEdges, &edge_key(&id(5), EdgeType::CALLS, &id(6)))
                .unwrap();
        let entry = pool.index_entry(&table, edge_page).unwrap();
        assert!(vfs.corrupt(&name, (entry.offset + u64::from(entry.len) - 1) as usize, 0x04));
        let listed =
            EdgeCursor::seek(&mut vfs, &mut pool, &table, Section::OutEdges, &id(5), &mut buffer);
        assert_eq!(listed.unwrap_err(), DAMAGED);
    }

    /// The bytes after an index entry's section byte are zero on disk: the pool marks
    /// checked pages there, so a table that claimed a mark would skip its CRCs.
    #[test]
    fn an_index_entry_with_a_nonzero_reserved_byte_is_damage() {
        let entry =
            IndexEntry { offset: 0, len: 64, section: Section::Blocks, first_key: [0; KEY_BYTES] };
        let mut bytes = entry.encode();
        assert_eq!(check_index(&bytes, 64), Ok(()));
        for at in INDEX_RESERVED_AT..INDEX_RESERVED_AT + INDEX_RESERVED_BYTES {
            bytes[at] = crate::table::format::INDEX_VERIFIED;
            assert_eq!(check_index(&bytes, 64), Err(DAMAGED), "byte {at}");
            bytes[at] = 0;
        }
    }
}

/// A cursor over every record of one section of a table, for compaction's merge. It keeps
/// the current page in a caller buffer (one per input table).
#[derive(Clone, Copy, Debug)]
pub(crate) struct SectionCursor {
    section: Section,
    page: usize,
    /// Byte offset of the current record in the buffer, and records left in the page.
    at: usize,
    remaining: u32,
    done: bool,
}

impl SectionCursor {
    pub(crate) fn start<V: Vfs>(
        vfs: &mut V,
        pool: &mut TablePool<'_>,
        table: &TableMeta,
        section: Section,
        buffer: &mut [u8],
    ) -> Result<SectionCursor, Error> {
        let first = first_page(pool, table, section);
        let mut cursor =
            SectionCursor { section, page: 0, at: 0, remaining: 0, done: first.is_none() };
        if let Some(first) = first {
            cursor.load(vfs, pool, table, first, buffer)?;
        }
        Ok(cursor)
    }

    /// A cursor on the first record of the block section whose key is greater than `key`
    /// (for a resumable scan; the records before it in its page are skipped).
    pub(crate) fn start_after<V: Vfs>(
        vfs: &mut V,
        pool: &mut TablePool<'_>,
        table: &TableMeta,
        key: &[u8; KEY_BYTES],
        buffer: &mut [u8],
    ) -> Result<SectionCursor, Error> {
        let Some(page) = seek(pool, table, Section::Blocks, key) else {
            // Every block record is after `key` (or there are none).
            return SectionCursor::start(vfs, pool, table, Section::Blocks, buffer);
        };
        let mut cursor =
            SectionCursor { section: Section::Blocks, page, at: 0, remaining: 0, done: false };
        cursor.load(vfs, pool, table, page, buffer)?;
        // Records in a page are sorted, so the skip ends within this page or the next.
        while let Some((_, end, current)) = cursor.current(vfs, pool, table, buffer)? {
            if current > *key {
                break;
            }
            cursor.advance(end);
        }
        Ok(cursor)
    }

    fn load<V: Vfs>(
        &mut self,
        vfs: &mut V,
        pool: &mut TablePool<'_>,
        table: &TableMeta,
        page: usize,
        buffer: &mut [u8],
    ) -> Result<(), Error> {
        match load_section_page(vfs, pool, table, self.section, page, buffer)? {
            Some(count) => (self.page, self.at, self.remaining) = (page, PAGE_HEADER_BYTES, count),
            None => self.done = true,
        }
        Ok(())
    }

    /// The current record's byte range in `buffer` and its key, loading pages as needed.
    pub(crate) fn current<V: Vfs>(
        &mut self,
        vfs: &mut V,
        pool: &mut TablePool<'_>,
        table: &TableMeta,
        buffer: &mut [u8],
    ) -> Result<Option<(usize, usize, [u8; KEY_BYTES])>, Error> {
        for _ in 0..=table.index_entries {
            if self.done {
                return Ok(None);
            }
            if self.remaining > 0 {
                let bytes = buffer.get(self.at..).ok_or(DAMAGED)?;
                let (len, key) = match self.section {
                    Section::Blocks => {
                        let (record, len) = BlockRecord::decode(bytes).ok_or(DAMAGED)?;
                        (len, block_key(&record.id))
                    }
                    _ => (EDGE_RECORD_BYTES, EdgeRecord::decode(bytes).ok_or(DAMAGED)?.key()),
                };
                return Ok(Some((self.at, self.at + len, key)));
            }
            let next = self.page + 1;
            self.load(vfs, pool, table, next, buffer)?;
        }
        Err(DAMAGED)
    }

    /// Moves past the current record, which ends at byte `end`.
    pub(crate) fn advance(&mut self, end: usize) {
        self.at = end;
        self.remaining -= 1;
    }
}

#[cfg(test)]
mod bloom_after_fold_tests {
    use super::super::writer::TableWriter;
    use super::*;
    use crate::vfs::sim::{SimConfig, SimVfs};

    /// A table whose filter was sized for four times its keys and folded down keeps the
    /// false-positive rate of a filter built at its final size.
    #[test]
    fn folded_filters_keep_a_low_false_positive_rate() {
        let sim = SimConfig { files_max: 2, file_bytes_max: 1 << 20, pending_bytes_max: 64 << 10 };
        let mut disk = std::vec![0u8; sim.memory_bytes_required()];
        let mut vfs = SimVfs::new(&mut disk, sim, 1).unwrap();
        let mut pool_bytes = std::vec![0u8; 256 << 10];
        let mut pool = TablePool { bytes: &mut pool_bytes, used: 0 };
        let mut buffer = std::vec![0u8; 4096];
        let mut writer =
            TableWriter::begin(&mut vfs, &mut pool, 1, 8000, 10, &mut buffer, 4096).unwrap();
        for n in 1..=2000u128 {
            let record = BlockRecord {
                id: BlockId::from_u128(n * 7919),
                sequence: 1,
                tombstone: false,
                source_uri: b"",
                metadata_json: b"{}",
                content: b"",
            };
            writer.add_block(&mut vfs, &mut pool, &record).unwrap();
        }
        let table = writer.finish(&mut vfs, &mut pool).unwrap();
        assert_eq!(table.bloom_bytes, 4096, "folded from 16 KiB to fit 2,000 keys");
        let filter = pool.bloom(&table);
        let positives = (1..=20_000u128)
            .filter(|n| {
                bloom::may_contain(filter, table.bloom_hashes, &BlockId::from_u128(n * 7919 + 1))
            })
            .count();
        assert!(positives < 400, "{positives} false positives in 20,000");
        for n in 1..=2000u128 {
            assert!(bloom::may_contain(filter, table.bloom_hashes, &BlockId::from_u128(n * 7919)));
        }
    }
}
