//! Point lookups in one table: a page found through the pool's index (binary search over
//! the dense search prefixes), viewed in place or read into a buffer, and checked on first
//! read; a block's record found through the page's trailer.

use super::bloom;
use super::format::{
    open_page, open_page_header, search_records, IndexEntry, Section, PAGE_HEADER_BYTES,
};
use super::open::read_exact;
use super::search::lower_bound;
use super::{index_prefix, TableMeta, TablePool, DAMAGED};
use crate::error::Error;
use crate::id::BlockId;
use crate::record::{block_key, BlockRecord, KEY_BYTES};
use crate::vfs::{Vfs, VfsError};

/// A view of page `index` (its index entry `entry`; `None` if the backend has no views),
/// its CRC and section checked the first time this process views it and trusted after (the
/// mark in the pool): a damaged page is `Corruption` on every read, the others cost no check
/// after the first.
pub(crate) fn view_checked_page<'v, V: Vfs>(
    vfs: &'v mut V,
    pool: &mut TablePool<'_>,
    table: &TableMeta,
    index: usize,
    entry: &IndexEntry,
) -> Result<Option<&'v [u8]>, Error> {
    let Some(page) = vfs.view_at(table.file, entry.offset, entry.len as usize)? else {
        return Ok(None);
    };
    pool.pages_read += 1;
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
            pool.pages_read += 1;
            open_page(page)
        }
    };
    let (section, count) = opened.ok_or(DAMAGED)?;
    if section != entry.section {
        return Err(DAMAGED);
    }
    Ok((section, count, &page[PAGE_HEADER_BYTES..]))
}

/// The last page of `section` whose first key is <= `key`: a search over the section's
/// search prefixes guided by their values (as `lower_bound` is); when the prefix before the
/// result ties with the key's (a key id whose records span pages, or ids a host chose that
/// share their first bytes), a binary search that compares whole keys on ties. A binary
/// search over all of a large table's prefixes was a sixth of an edge listing (measured: 60
/// of 420 ns, 2,100 pages).
pub(crate) fn seek(
    pool: &TablePool<'_>,
    table: &TableMeta,
    section: Section,
    key: &[u8; KEY_BYTES],
) -> Option<usize> {
    let target = index_prefix(section, key);
    let pages = table.section_pages(section);
    let prefixes = pool.index_prefixes(table, pages.clone())?;
    let prefix = |index: usize| prefixes.get(index).map(|bytes| u64::from_be_bytes(*bytes));
    // Prefixes as the high half of a u128 (the low half zero): the first page whose
    // prefix is above the target's is the first at or above `target << 64 | 1`.
    let prefix_at = |index: usize| prefix(index).map_or(u128::MAX, |p| u128::from(p) << 64);
    // `small-code`: the binary search below alone (less code; small tables have few pages).
    let mut above = prefixes.len();
    if cfg!(not(feature = "small-code")) {
        above = lower_bound(prefixes.len(), u128::from(target) << 64 | 1, prefix_at);
        let last = above.checked_sub(1)?;
        if prefix(last)? != target {
            return Some(pages.start + last);
        }
    }
    let (mut low, mut high) = (0, above);
    // Invariant: entries below `low` are <= the key, entries from `high` on are above it.
    while low < high {
        let middle = low + (high - low) / 2;
        let at_or_below = match prefix(middle)?.cmp(&target) {
            core::cmp::Ordering::Equal => {
                pool.index_entry_cmp(table, pages.start + middle, section, key)?.is_le()
            }
            order => order.is_lt(),
        };
        if at_or_below {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    low.checked_sub(1).map(|index| pages.start + index)
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
    // An edge table's filter holds block ids too (its edges' ends): it is not asked.
    if !table.holds_blocks() || !bloom::may_contain(pool.bloom(table), table.bloom, id) {
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
