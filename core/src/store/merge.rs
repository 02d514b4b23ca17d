//! The k-way merge every read across tables shares (edge listings, the filtered scan,
//! compaction): one cursor per table, each reading pages into its own merge buffer; the
//! smallest key comes first, and of equal keys the newest level's version wins (the lowest
//! table index; a caller that merges the memtable in lets it beat every table).

use crate::error::Error;
use crate::record::{EdgeRecord, SortKey};
use crate::table::cursor::{EdgeCursor, SectionCursor};
use crate::table::{TableMeta, TablePool};
use crate::vfs::Vfs;

/// The region part holding one merge buffer per table slot, each `buffer_bytes` long (a page,
/// or a largest block record: `Config::merge_buffer_bytes`).
pub(crate) struct MergeBuffers<'r> {
    bytes: &'r mut [u8],
    buffer_bytes: usize,
}

impl<'r> MergeBuffers<'r> {
    pub(crate) fn new(bytes: &'r mut [u8], buffer_bytes: usize) -> MergeBuffers<'r> {
        assert!(buffer_bytes > 0, "a merge buffer holds at least a page");
        MergeBuffers { bytes, buffer_bytes }
    }

    /// How many slots there are (one per table the config allows).
    pub(crate) fn slots(&self) -> usize {
        self.bytes.len() / self.buffer_bytes
    }

    /// Slot `index`'s buffer; `index` is a table's position, below `slots()`.
    pub(crate) fn slot(&mut self, index: usize) -> &mut [u8] {
        &mut self.bytes[index * self.buffer_bytes..(index + 1) * self.buffer_bytes]
    }

    /// Slot `index`'s buffer, to read a record a cursor left in it.
    pub(crate) fn slot_bytes(&self, index: usize) -> &[u8] {
        &self.bytes[index * self.buffer_bytes..(index + 1) * self.buffer_bytes]
    }
}

/// A table cursor a merge drives: its current record (loading pages into its buffer as
/// needed), that record's key, and a step past it.
pub(crate) trait MergeCursor: Copy {
    /// What the cursor yields for its current record.
    type Head: Copy;

    fn head<V: Vfs>(
        &mut self,
        vfs: &mut V,
        pool: &mut TablePool<'_>,
        table: &TableMeta,
        buffer: &mut [u8],
    ) -> Result<Option<Self::Head>, Error>;

    /// The head's sort key (of equal keys, the newest table's version wins).
    fn key_of(head: &Self::Head) -> SortKey;

    fn advance(&mut self, head: &Self::Head);
}

impl MergeCursor for EdgeCursor {
    type Head = EdgeRecord;

    fn head<V: Vfs>(
        &mut self,
        vfs: &mut V,
        pool: &mut TablePool<'_>,
        table: &TableMeta,
        buffer: &mut [u8],
    ) -> Result<Option<EdgeRecord>, Error> {
        self.current(vfs, pool, table, buffer)
    }

    fn key_of(head: &EdgeRecord) -> SortKey {
        SortKey::of_edge(head)
    }

    fn advance(&mut self, _: &EdgeRecord) {
        EdgeCursor::advance(self);
    }
}

/// A section cursor's current record: its byte range in the cursor's buffer, and its key.
pub(crate) type SectionHead = (usize, usize, SortKey);

impl MergeCursor for SectionCursor {
    type Head = SectionHead;

    fn head<V: Vfs>(
        &mut self,
        vfs: &mut V,
        pool: &mut TablePool<'_>,
        table: &TableMeta,
        buffer: &mut [u8],
    ) -> Result<Option<SectionHead>, Error> {
        self.current(vfs, pool, table, buffer)
    }

    fn key_of(head: &SectionHead) -> SortKey {
        head.2
    }

    fn advance(&mut self, head: &SectionHead) {
        SectionCursor::advance(self, head.1);
    }
}

/// One cursor per table of a run, newest first: cursor `i` reads `tables[i]` through merge
/// buffer slot `i`. The cursors live in the region, one per table the config allows (a
/// merge once held `TABLES_MAX_LIMIT` of them on the stack: 2.4 KiB in every edge listing,
/// whatever `tables_max` was).
pub(crate) struct Merge<'c, C> {
    cursors: &'c mut [C],
    len: usize,
}

impl<'c, C: MergeCursor> Merge<'c, C> {
    /// An empty merge over `storage`, room for one cursor per table.
    pub(crate) fn new(storage: &'c mut [C]) -> Merge<'c, C> {
        Merge { cursors: storage, len: 0 }
    }

    /// A merge over cursors already started, one per table of the run (a compaction's,
    /// kept between its steps).
    pub(crate) fn resume(cursors: &'c mut [C]) -> Merge<'c, C> {
        let len = cursors.len();
        Merge { cursors, len }
    }

    /// Adds the cursor of the next (older) table. The storage holds `tables_max` cursors and
    /// no more tables than that are ever open (`Store::load`, `Store::flush`).
    pub(crate) fn push(&mut self, cursor: C) {
        assert!(self.len < self.cursors.len(), "more tables than tables_max cursors");
        self.cursors[self.len] = cursor;
        self.len += 1;
    }

    pub(crate) fn cursors(&self) -> &[C] {
        &self.cursors[..self.len]
    }

    /// Cursor `index`, to drive it alone (the listing's two-way merge).
    #[cfg(not(feature = "small-code"))]
    pub(crate) fn cursor_mut(&mut self, index: usize) -> Option<&mut C> {
        self.cursors[..self.len].get_mut(index)
    }

    /// The smallest current record over every cursor, with the index of the newest cursor
    /// holding its key; `None` when every cursor is exhausted.
    pub(crate) fn smallest<V: Vfs>(
        &mut self,
        vfs: &mut V,
        pool: &mut TablePool<'_>,
        tables: &[TableMeta],
        buffers: &mut MergeBuffers<'_>,
    ) -> Result<Option<(usize, C::Head)>, Error> {
        debug_assert!(self.len <= tables.len().min(buffers.slots()));
        let mut best: Option<(usize, C::Head)> = None;
        for (index, cursor) in self.cursors[..self.len].iter_mut().enumerate() {
            if let Some(head) = cursor.head(vfs, pool, &tables[index], buffers.slot(index))? {
                // Ties keep the newer table's version, which was found first.
                if best.is_none_or(|(_, best)| C::key_of(&head) < C::key_of(&best)) {
                    best = Some((index, head));
                }
            }
        }
        Ok(best)
    }

    /// Moves every cursor whose current record has `key` past it: the version the caller
    /// took, and every older version it shadows.
    pub(crate) fn advance_past<V: Vfs>(
        &mut self,
        vfs: &mut V,
        pool: &mut TablePool<'_>,
        tables: &[TableMeta],
        buffers: &mut MergeBuffers<'_>,
        key: &SortKey,
    ) -> Result<(), Error> {
        for (index, cursor) in self.cursors[..self.len].iter_mut().enumerate() {
            if let Some(head) = cursor.head(vfs, pool, &tables[index], buffers.slot(index))? {
                if C::key_of(&head) == *key {
                    cursor.advance(&head);
                }
            }
        }
        Ok(())
    }
}
