//! Cursors over a table's sorted records, one page at a time in a caller buffer:
//! `EdgeCursor` walks one key id's edges (for merged listings), `SectionCursor` walks a whole
//! section (for compaction and the filtered scan). `RunReader` reads one key id's edges
//! from the backend's views of the pages, nothing copied (a listing only one table can
//! answer).

use super::buckets::EdgeBuckets;
use super::format::{open_page_header, IndexEntry, Section, EDGE_RECORD_BYTES, PAGE_HEADER_BYTES};
use super::lookup::{read_page, seek, view_checked_page};
use super::search::lower_bound;
use super::{TableMeta, TablePool, DAMAGED};
use crate::codec::narrow_u32;
use crate::error::Error;
use crate::id::id_at;
use crate::id::{BlockId, ID_BYTES};
use crate::record::{block_key, BlockRecord, EdgeRecord, SortKey, KEY_BYTES};
use crate::vfs::Vfs;

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
    /// What the region's cursor slots hold before a merge writes them.
    pub(crate) const EMPTY: EdgeCursor = EdgeCursor {
        key_id: BlockId::ZERO,
        section: Section::OutEdges,
        page: 0,
        record: 0,
        count: 0,
        done: true,
        run_ends: false,
    };

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
        let page = seek(pool, table, section, &start).or_else(|| first_page(table, section));
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
        let (count, run_ends) = copy_run(bytes, &entry, &self.key_id, buffer)?;
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
    /// into `buffer` when the current one is used up. The record in the loaded page is
    /// answered inline: out of line, the 35-byte record came back through memory and was
    /// read back in other widths, a stall of the store-to-load forwarding for every record
    /// (perf: a third of an edge listing's time with its pages in the caches).
    #[cfg_attr(not(feature = "small-code"), inline(always))]
    pub(crate) fn current<V: Vfs>(
        &mut self,
        vfs: &mut V,
        pool: &mut TablePool<'_>,
        table: &TableMeta,
        buffer: &mut [u8],
    ) -> Result<Option<EdgeRecord>, Error> {
        // `small-code`: the loop below alone (one function instead of three).
        if cfg!(not(feature = "small-code")) && !self.done && self.record < self.count {
            return self.record_of_key(buffer);
        }
        self.current_after_load(vfs, pool, table, buffer)
    }

    /// The record at the cursor in the loaded page, if it still belongs to the key id. It
    /// decodes as `record_at` does rather than calling it: the call made the `small-code`
    /// firmware's code 132 bytes larger.
    #[cfg_attr(not(feature = "small-code"), inline(always))]
    fn record_of_key(&mut self, buffer: &[u8]) -> Result<Option<EdgeRecord>, Error> {
        let at = PAGE_HEADER_BYTES + self.record as usize * EDGE_RECORD_BYTES;
        let record = buffer.get(at..).and_then(EdgeRecord::decode).ok_or(DAMAGED)?;
        if record.key_id != self.key_id {
            self.done = true;
            return Ok(None);
        }
        Ok(Some(record))
    }

    /// `current` past the loaded page: loads later pages until one has a record.
    #[cfg_attr(not(feature = "small-code"), inline(never))]
    fn current_after_load<V: Vfs>(
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
                return self.record_of_key(buffer);
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

/// In a checked edge page (`entry` its index entry): copies the records whose key id is
/// `key_id` to `out` (after a header's worth of bytes, where `record_at` reads). Returns how
/// many, and whether a later key id follows them in this page.
fn copy_run(
    page: &[u8],
    entry: &IndexEntry,
    key_id: &BlockId,
    out: &mut [u8],
) -> Result<(u32, bool), Error> {
    let (run, later) = run_in_page(page, entry, key_id)?;
    let bytes = page.get(run).ok_or(DAMAGED)?;
    let target = out.get_mut(PAGE_HEADER_BYTES..PAGE_HEADER_BYTES + bytes.len()).ok_or(DAMAGED)?;
    target.copy_from_slice(bytes);
    Ok((narrow_u32(bytes.len() / EDGE_RECORD_BYTES), later))
}

/// In a checked edge page (`entry` its index entry): the bytes of the records whose key id
/// is `key_id` (empty if none), found through the page's bucket directory or by a search,
/// and whether a later key id follows them in this page.
fn run_in_page(
    page: &[u8],
    entry: &IndexEntry,
    key_id: &BlockId,
) -> Result<(core::ops::Range<usize>, bool), Error> {
    let directory_bytes = EdgeBuckets::directory_bytes(entry.buckets.bits);
    let directory_at = page.len().checked_sub(directory_bytes).ok_or(DAMAGED)?;
    // The directory's place depends only on the index entry (in memory), not on the header:
    // the CPU loads the two together instead of one after the other.
    let directory = page.get(directory_at..).ok_or(DAMAGED)?;
    let (section, count) = open_page_header(page).ok_or(DAMAGED)?;
    let records = page.get(PAGE_HEADER_BYTES..directory_at).ok_or(DAMAGED)?;
    if section != entry.section || records.len() < count as usize * EDGE_RECORD_BYTES {
        return Err(DAMAGED);
    }
    let key_at = |index: usize| id_at(records, index * EDGE_RECORD_BYTES);
    let count = count as usize;
    // Records are sorted by key, whose first 16 bytes are the key id.
    let target = key_id.to_u128();
    // `small-code` searches the page even where it has a directory (the directory is a
    // shortcut a reader may ignore; its code is left out of small builds).
    let low = if cfg!(feature = "small-code") || entry.buckets.bits == 0 {
        lower_bound(count, target, |index| key_at(index).to_u128())
    } else {
        let first = u128::from_be_bytes(*entry.first_key.first_chunk().ok_or(DAMAGED)?);
        let key_id = |index: usize| key_at(index).to_u128();
        entry
            .buckets
            .lower_bound((first, target), count, key_id, directory)
            .map_err(|()| DAMAGED)?
    };
    let mut end = low;
    while end < count && key_at(end) == *key_id {
        end += 1;
    }
    let start = PAGE_HEADER_BYTES + low * EDGE_RECORD_BYTES;
    Ok((start..PAGE_HEADER_BYTES + end * EDGE_RECORD_BYTES, end < count))
}

/// One key id's run of records in a table's edge section, page by page, for a listing
/// that reads it alone (one table can hold the key id's edges): each page's run is
/// answered from the backend's view of the page where it has one, nothing copied (a
/// cursor copies it into its merge buffer), else read into a buffer.
#[cfg(not(feature = "small-code"))]
pub(crate) struct RunReader {
    key_id: BlockId,
    section: Section,
    /// The next page to read; `None` once the run ended.
    page: Option<usize>,
}

#[cfg(not(feature = "small-code"))]
impl RunReader {
    /// A reader of `key_id`'s run in `section`, at the page it may begin in.
    pub(crate) fn seek(
        pool: &TablePool<'_>,
        table: &TableMeta,
        section: Section,
        key_id: &BlockId,
    ) -> RunReader {
        let mut start = [0u8; KEY_BYTES];
        start[..ID_BYTES].copy_from_slice(&key_id.0);
        // As `EdgeCursor::seek`: the run may begin in the last page whose first key is <= start.
        let page = seek(pool, table, section, &start).or_else(|| first_page(table, section));
        RunReader { key_id: *key_id, section, page }
    }

    /// True once the run has ended (a later key id followed it, or the section ended).
    pub(crate) fn is_done(&self) -> bool {
        self.page.is_none()
    }

    /// The run's records in the next page (`EDGE_RECORD_BYTES` each, possibly none), from
    /// the backend's view of it, and the reader moved past it; `None`, and nothing moved, if
    /// the backend has no view (`read_next` then).
    pub(crate) fn view_next<'v, V: Vfs>(
        &mut self,
        vfs: &'v mut V,
        pool: &mut TablePool<'_>,
        table: &TableMeta,
    ) -> Result<Option<&'v [u8]>, Error> {
        let Some((page, entry)) = self.next_entry(pool, table) else {
            return Ok(Some(&[]));
        };
        let Some(bytes) = view_checked_page(vfs, pool, table, page, &entry)? else {
            return Ok(None);
        };
        let (run, later) = run_in_page(bytes, &entry, &self.key_id)?;
        self.page = (!later).then_some(page + 1);
        bytes.get(run).map(Some).ok_or(DAMAGED)
    }

    /// `view_next` for a backend without views: the page read into `buffer`.
    pub(crate) fn read_next<'b, V: Vfs>(
        &mut self,
        vfs: &mut V,
        pool: &mut TablePool<'_>,
        table: &TableMeta,
        buffer: &'b mut [u8],
    ) -> Result<&'b [u8], Error> {
        let Some((page, entry)) = self.next_entry(pool, table) else {
            return Ok(&[]);
        };
        read_page(vfs, pool, table, page, &mut *buffer)?;
        let buffer: &'b [u8] = buffer;
        let bytes = buffer.get(..entry.len as usize).ok_or(DAMAGED)?;
        let (run, later) = run_in_page(bytes, &entry, &self.key_id)?;
        self.page = (!later).then_some(page + 1);
        bytes.get(run).ok_or(DAMAGED)
    }

    /// The next page and its index entry, if it is still the section's (else the run ends).
    fn next_entry(
        &mut self,
        pool: &TablePool<'_>,
        table: &TableMeta,
    ) -> Option<(usize, IndexEntry)> {
        let page = self.page?;
        match pool.index_entry(table, page) {
            Some(entry) if entry.section == self.section => Some((page, entry)),
            _ => {
                self.page = None;
                None
            }
        }
    }
}

/// The first page of `section`, if it has any.
fn first_page(table: &TableMeta, section: Section) -> Option<usize> {
    let pages = table.section_pages(section);
    (!pages.is_empty()).then_some(pages.start)
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
    /// What the region's cursor slots hold before a merge writes them.
    pub(crate) const EMPTY: SectionCursor =
        SectionCursor { section: Section::Blocks, page: 0, at: 0, remaining: 0, done: true };

    pub(crate) fn start<V: Vfs>(
        vfs: &mut V,
        pool: &mut TablePool<'_>,
        table: &TableMeta,
        section: Section,
        buffer: &mut [u8],
    ) -> Result<SectionCursor, Error> {
        let first = first_page(table, section);
        let mut cursor =
            SectionCursor { section, page: 0, at: 0, remaining: 0, done: first.is_none() };
        if let Some(first) = first {
            cursor.load(vfs, pool, table, first, buffer)?;
        }
        Ok(cursor)
    }

    /// A cursor on the first record of the block section whose id is greater than `after`
    /// (for a resumable scan; the records before it in its page are skipped).
    pub(crate) fn start_after<V: Vfs>(
        vfs: &mut V,
        pool: &mut TablePool<'_>,
        table: &TableMeta,
        after: &BlockId,
        buffer: &mut [u8],
    ) -> Result<SectionCursor, Error> {
        let Some(page) = seek(pool, table, Section::Blocks, &block_key(after)) else {
            // Every block record is after `key` (or there are none).
            return SectionCursor::start(vfs, pool, table, Section::Blocks, buffer);
        };
        let mut cursor =
            SectionCursor { section: Section::Blocks, page, at: 0, remaining: 0, done: false };
        cursor.load(vfs, pool, table, page, buffer)?;
        // Records in a page are sorted, so the skip ends within this page or the next.
        while let Some((_, end, current)) = cursor.current(vfs, pool, table, buffer)? {
            if current > SortKey::of_block(after) {
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

    /// Reads its page into `buffer` again, its place in the page kept (a compaction's
    /// cursor between two steps, whose buffer a read may have used meanwhile).
    pub(crate) fn reload<V: Vfs>(
        &mut self,
        vfs: &mut V,
        pool: &mut TablePool<'_>,
        table: &TableMeta,
        buffer: &mut [u8],
    ) -> Result<(), Error> {
        if self.done {
            return Ok(());
        }
        let (at, remaining) = (self.at, self.remaining);
        self.load(vfs, pool, table, self.page, buffer)?;
        // The same checked page as before: a place beyond it is damage.
        if self.done || remaining > self.remaining || at > buffer.len() {
            return Err(DAMAGED);
        }
        (self.at, self.remaining) = (at, remaining);
        Ok(())
    }

    /// The current record's byte range in `buffer` and its key, loading pages as needed. The
    /// record in the loaded page is answered inline (as `EdgeCursor::current`'s): out of line,
    /// the merge read the answer back from memory in other widths than it was stored in, a
    /// stalled store-to-load forward for every record a compaction merged (perf: a third of
    /// `Merge::smallest`, itself 11% of `cargo xtask scale 200000 50`).
    #[cfg_attr(not(feature = "small-code"), inline(always))]
    pub(crate) fn current<V: Vfs>(
        &mut self,
        vfs: &mut V,
        pool: &mut TablePool<'_>,
        table: &TableMeta,
        buffer: &mut [u8],
    ) -> Result<Option<(usize, usize, SortKey)>, Error> {
        if !self.done && self.remaining == 0 {
            self.load_until_a_record(vfs, pool, table, buffer)?;
        }
        if self.done {
            return Ok(None);
        }
        let bytes = buffer.get(self.at..).ok_or(DAMAGED)?;
        let (len, key) = match self.section {
            Section::Blocks => {
                let (record, len) = BlockRecord::decode(bytes).ok_or(DAMAGED)?;
                (len, SortKey::of_block(&record.id))
            }
            _ => {
                let record = EdgeRecord::decode(bytes).ok_or(DAMAGED)?;
                (EDGE_RECORD_BYTES, SortKey::of_edge(&record))
            }
        };
        Ok(Some((self.at, self.at + len, key)))
    }

    /// Loads the section's next pages until one has a record or the section ends.
    #[cfg_attr(not(feature = "small-code"), inline(never))]
    fn load_until_a_record<V: Vfs>(
        &mut self,
        vfs: &mut V,
        pool: &mut TablePool<'_>,
        table: &TableMeta,
        buffer: &mut [u8],
    ) -> Result<(), Error> {
        for _ in 0..=table.index_entries {
            if self.done || self.remaining > 0 {
                return Ok(());
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
