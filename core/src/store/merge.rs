//! The k-way merge every read across tables shares (edge listings, the filtered scan,
//! compaction): one cursor per table, each reading pages into its own merge buffer; the
//! smallest key comes first, and of equal keys the newest level's version wins (the lowest
//! table index; a caller that merges the memtable in lets it beat every table).

use core::cmp::Ordering;

use crate::codec::narrow_u32;
use crate::error::Error;
use crate::limits::TABLES_MAX_LIMIT;
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
    #[inline]
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

    #[cfg_attr(not(feature = "small-code"), inline(always))]
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
pub(crate) struct Merge<'c, C: MergeCursor> {
    cursors: &'c mut [C],
    len: usize,
    /// The cursor whose head alone may be below `others`: the full pass's answer, and after
    /// `advance_holders` moved only the answer's own cursor (no other cursor held its key),
    /// that cursor still. Only `advance_holders` and `push` move or add cursors, and each
    /// sets this anew. (`small-code` has no run path, nor its 40 bytes in every merge's
    /// stack frame.)
    #[cfg(not(feature = "small-code"))]
    alone: Option<usize>,
    /// The smallest key id of the other cursors' heads when the full pass last answered
    /// (`None`: they were all exhausted); theirs still while `alone` is set. Key ids only,
    /// which order keys first: tracking whole keys cost a merged block record, which
    /// comes in no run, 123 instructions more (3,268 -> 3,391), key ids 44
    /// (`cargo xtask merge-cost`).
    #[cfg(not(feature = "small-code"))]
    others: Option<u128>,
    /// Every cursor's head, kept in key order between calls, for a merge of at most
    /// `SORTED_HEADS_MAX` cursors (`None`: not built yet, or more cursors than that).
    #[cfg(not(feature = "small-code"))]
    sorted: Option<SortedHeads<C::Head>>,
}

/// Merges of at most this many cursors keep their heads sorted (`SortedHeads`): every
/// compaction of a tiered run (`COMPACTION_FANIN` tables) and the listings of stores of
/// few tables. Larger ones (a compaction of every table) take the pass over every head.
/// Eight section heads and their order are about 0.7 KiB of a merge's stack frame (none in
/// `small-code`).
#[cfg(not(feature = "small-code"))]
const SORTED_HEADS_MAX: usize = 8;
#[cfg(not(feature = "small-code"))]
const _: () = assert!(crate::limits::COMPACTION_FANIN <= SORTED_HEADS_MAX);

/// The heads of a merge's cursors in key order, so a step decodes only the heads of the
/// cursors it moved and places each by comparing it with the heads before it, not with
/// every head: the full pass over every cursor's head answered more than half the records
/// a compaction merged (the other cursors' runs interleave in a section of incoming
/// edges), at about 650 instructions each (`cargo xtask ingest-cost`).
#[cfg(not(feature = "small-code"))]
#[derive(Clone, Copy)]
struct SortedHeads<H> {
    /// The cursors that have a head, ordered by (key, cursor index): the first is the
    /// smallest key's newest version, the cursors holding its older versions follow it.
    order: [usize; SORTED_HEADS_MAX],
    order_len: usize,
    /// Each cursor's head (`None`: exhausted) as last decoded, for the cursors in `order`
    /// and the exhausted ones; not for those in `moved`.
    heads: [Option<H>; SORTED_HEADS_MAX],
    /// Bit `i`: cursor `i` moved since its head was decoded, and is not in `order`.
    moved: u64,
}

impl<'c, C: MergeCursor> Merge<'c, C> {
    /// An empty merge over `storage`, room for one cursor per table.
    pub(crate) fn new(storage: &'c mut [C]) -> Merge<'c, C> {
        Merge {
            cursors: storage,
            len: 0,
            #[cfg(not(feature = "small-code"))]
            alone: None,
            #[cfg(not(feature = "small-code"))]
            others: None,
            #[cfg(not(feature = "small-code"))]
            sorted: None,
        }
    }

    /// A merge over cursors already started, one per table of the run (a compaction's,
    /// kept between its steps).
    pub(crate) fn resume(cursors: &'c mut [C]) -> Merge<'c, C> {
        let len = cursors.len();
        Merge { len, ..Merge::new(cursors) }
    }

    /// Adds the cursor of the next (older) table. The storage holds `tables_max` cursors and
    /// no more tables than that are ever open (`Store::load`, `Store::flush`).
    pub(crate) fn push(&mut self, cursor: C) {
        assert!(self.len < self.cursors.len(), "more tables than tables_max cursors");
        self.cursors[self.len] = cursor;
        self.len += 1;
        #[cfg(not(feature = "small-code"))]
        {
            (self.alone, self.sorted) = (None, None);
        }
    }

    /// The smallest current record over every cursor: the newest cursor holding its key,
    /// that cursor's head, and every cursor whose head has the key (the older versions it
    /// shadows); `None` when every cursor is exhausted. The holders are found in the same
    /// pass, so `advance_holders` decodes no head again (a second pass over every cursor's
    /// head was 7% of an edge ingest's time, in compaction; perf, `cargo xtask scale`).
    /// After a step past a key only one cursor held, that cursor's next head alone is
    /// decoded while it stays below every other head (`alone`): a table holds a block's
    /// edges together, so a compaction's output comes in runs from one input.
    pub(crate) fn smallest<V: Vfs>(
        &mut self,
        vfs: &mut V,
        pool: &mut TablePool<'_>,
        tables: &[TableMeta],
        buffers: &mut MergeBuffers<'_>,
    ) -> Result<Option<Smallest<C>>, Error> {
        debug_assert!(self.len <= tables.len().min(buffers.slots()));
        // `small-code`: every answer from the full pass (the run path was 1.3 KiB of its code).
        #[cfg(not(feature = "small-code"))]
        if self.len <= SORTED_HEADS_MAX {
            return self.smallest_sorted(vfs, pool, tables, buffers);
        }
        #[cfg(not(feature = "small-code"))]
        if let Some(index) = self.alone {
            return self.smallest_in_run(vfs, pool, tables, buffers, index);
        }
        self.smallest_of_all(vfs, pool, tables, buffers, None)
    }

    /// `smallest` from the sorted heads: the heads of the cursors that moved are decoded
    /// and placed (all of them the first time), then the first in order answers.
    #[cfg(not(feature = "small-code"))]
    fn smallest_sorted<V: Vfs>(
        &mut self,
        vfs: &mut V,
        pool: &mut TablePool<'_>,
        tables: &[TableMeta],
        buffers: &mut MergeBuffers<'_>,
    ) -> Result<Option<Smallest<C>>, Error> {
        let every: u64 = (1u64 << self.len) - 1;
        // In place: the heads are about 0.7 KiB, and moving them out and back for each record
        // made a merged edge record 120 instructions dearer (`cargo xtask merge-cost`).
        let sorted = self.sorted.get_or_insert(SortedHeads {
            order: [0; SORTED_HEADS_MAX],
            order_len: 0,
            heads: [None; SORTED_HEADS_MAX],
            moved: every,
        });
        while sorted.moved != 0 {
            let index = sorted.moved.trailing_zeros() as usize;
            let (Some(cursor), Some(table)) =
                (self.cursors[..self.len].get_mut(index), tables.get(index))
            else {
                self.sorted = None;
                return Err(crate::table::DAMAGED);
            };
            match cursor.head(vfs, pool, table, buffers.slot(index)) {
                Ok(head) => sorted.place::<C>(index, head),
                Err(error) => {
                    // The next call decodes every head again.
                    self.sorted = None;
                    return Err(error);
                }
            }
        }
        Ok(sorted.first::<C>())
    }

    /// `smallest` when cursor `index` was alone below `others` and only it has moved since:
    /// its head, if still below them; else the full pass.
    #[cfg(not(feature = "small-code"))]
    fn smallest_in_run<V: Vfs>(
        &mut self,
        vfs: &mut V,
        pool: &mut TablePool<'_>,
        tables: &[TableMeta],
        buffers: &mut MergeBuffers<'_>,
        index: usize,
    ) -> Result<Option<Smallest<C>>, Error> {
        let cursor = self.cursors[..self.len].get_mut(index).ok_or(crate::table::DAMAGED)?;
        let table = tables.get(index).ok_or(crate::table::DAMAGED)?;
        let head = cursor.head(vfs, pool, table, buffers.slot(index))?;
        match head {
            Some(head) if self.others.is_none_or(|others| C::key_of(&head).key_id() < others) => {
                Ok(Some(Smallest { index, head, holders: 1 << index }))
            }
            None if self.others.is_none() => Ok(None),
            // Another cursor's head may come first: every head is compared, this one's
            // not decoded again.
            _ => self.smallest_of_all(vfs, pool, tables, buffers, Some((index, head))),
        }
    }

    /// `smallest` from every cursor's head (`known`: a cursor's head, decoded already);
    /// keeps the smallest key id of the cursors other than the answer's in `others`.
    fn smallest_of_all<V: Vfs>(
        &mut self,
        vfs: &mut V,
        pool: &mut TablePool<'_>,
        tables: &[TableMeta],
        buffers: &mut MergeBuffers<'_>,
        known: Option<(usize, Option<C::Head>)>,
    ) -> Result<Option<Smallest<C>>, Error> {
        const _: () = assert!(TABLES_MAX_LIMIT <= u64::BITS as usize, "a bit per cursor");
        let mut best: Option<Smallest<C>> = None;
        let mut others: Option<u128> = None;
        for (index, cursor) in self.cursors[..self.len].iter_mut().enumerate() {
            let head = match known {
                Some((known_index, head)) if known_index == index => head,
                _ => cursor.head(vfs, pool, &tables[index], buffers.slot(index))?,
            };
            let Some(head) = head else {
                continue;
            };
            let holder = 1u64 << index;
            let key = C::key_of(&head);
            match &mut best {
                // Ties keep the newer table's version, which was found first.
                Some(best) => {
                    let best_key = best.key();
                    let runner_up = match key.cmp(&best_key) {
                        Ordering::Less => {
                            *best = Smallest { index, head, holders: holder };
                            best_key.key_id()
                        }
                        Ordering::Equal => {
                            best.holders |= holder;
                            key.key_id()
                        }
                        Ordering::Greater => key.key_id(),
                    };
                    if cfg!(not(feature = "small-code"))
                        && others.is_none_or(|others| runner_up < others)
                    {
                        others = Some(runner_up);
                    }
                }
                None => best = Some(Smallest { index, head, holders: holder }),
            }
        }
        // Until a cursor moves, the answer's cursor is alone below `others`.
        #[cfg(not(feature = "small-code"))]
        {
            (self.alone, self.others) = (best.as_ref().map(|best| best.index), others);
        }
        Ok(best)
    }

    /// Moves every cursor holding `smallest`'s key past it: the version the caller took, and
    /// every older version it shadows. `smallest` is this merge's last answer, its cursors
    /// not moved since.
    pub(crate) fn advance_holders<V: Vfs>(
        &mut self,
        vfs: &mut V,
        pool: &mut TablePool<'_>,
        tables: &[TableMeta],
        buffers: &mut MergeBuffers<'_>,
        smallest: &Smallest<C>,
    ) -> Result<(), Error> {
        debug_assert!(smallest.holders & (1 << smallest.index) != 0);
        debug_assert!(smallest.holders.checked_shr(narrow_u32(self.len)).unwrap_or(0) == 0);
        #[cfg(not(feature = "small-code"))]
        if let Some(sorted) = self.sorted.as_mut() {
            // The holders are the first in order, their heads decoded (nothing moved since
            // `smallest` answered): each steps past its own head, none decoded again.
            let holders = smallest.holders.count_ones() as usize;
            debug_assert!(sorted.moved == 0);
            if holders > sorted.order_len {
                // Not this merge's last answer: a caller's bug, reported, not a panic.
                self.sorted = None;
                return Err(crate::table::DAMAGED);
            }
            for &index in &sorted.order[..holders] {
                debug_assert!(smallest.holders & 1 << index != 0);
                // Every cursor in order has a head (`place`).
                let Some(head) = sorted.heads[index].take() else {
                    self.sorted = None;
                    return Err(crate::table::DAMAGED);
                };
                self.cursors[..self.len][index].advance(&head);
                sorted.moved |= 1 << index;
            }
            sorted.order.copy_within(holders..sorted.order_len, 0);
            sorted.order_len -= holders;
            return Ok(());
        }
        #[cfg(not(feature = "small-code"))]
        {
            self.alone = (smallest.holders == 1 << smallest.index).then_some(smallest.index);
        }
        // Each holder found by its bit: a pass over every cursor was 88 of a merged edge
        // record's 1,115 instructions (`cargo xtask merge-cost`).
        let mut holders = smallest.holders;
        while holders != 0 {
            let index = holders.trailing_zeros() as usize;
            holders &= holders - 1;
            // A holder's bit is below `len` (`smallest` set it), and `len` tables are merged.
            let cursor = &mut self.cursors[..self.len][index];
            if index == smallest.index {
                cursor.advance(&smallest.head);
            } else if let Some(head) =
                cursor.head(vfs, pool, &tables[index], buffers.slot(index))?
            {
                // An older version (rare: a key written again): its head is decoded again.
                debug_assert!(C::key_of(&head) == smallest.key());
                cursor.advance(&head);
            }
        }
        Ok(())
    }
}

/// A merge's smallest head (see `Merge::smallest`).
pub(crate) struct Smallest<C: MergeCursor> {
    /// The newest cursor holding the key: the version that decides.
    pub(crate) index: usize,
    pub(crate) head: C::Head,
    /// Bit `i` for each cursor `i` whose head has the key (`index`'s included).
    holders: u64,
}

impl<C: MergeCursor> Smallest<C> {
    pub(crate) fn key(&self) -> SortKey {
        C::key_of(&self.head)
    }
}

impl<C: MergeCursor> Clone for Smallest<C> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<C: MergeCursor> Copy for Smallest<C> {}

#[cfg(not(feature = "small-code"))]
impl<H: Copy> SortedHeads<H> {
    /// Records cursor `index`'s new head and places it in order after every cursor whose
    /// (key, index) is below its own: most often first (a run goes on) or second.
    fn place<C: MergeCursor<Head = H>>(&mut self, index: usize, head: Option<H>) {
        debug_assert!(self.moved & 1 << index != 0);
        self.moved &= !(1 << index);
        self.heads[index] = head;
        let Some(head) = head else {
            return;
        };
        let key = (C::key_of(&head), index);
        let placed = &self.order[..self.order_len];
        let at = placed.iter().position(|&other| {
            self.heads[other].is_some_and(|other_head| key < (C::key_of(&other_head), other))
        });
        let at = at.unwrap_or(self.order_len);
        self.order.copy_within(at..self.order_len, at + 1);
        self.order[at] = index;
        self.order_len += 1;
    }

    /// The smallest head: the first in order, with every cursor holding its key.
    fn first<C: MergeCursor<Head = H>>(&self) -> Option<Smallest<C>> {
        let index = *self.order[..self.order_len].first()?;
        let head = self.heads[index]?;
        let key = C::key_of(&head);
        let mut holders = 0u64;
        for &other in &self.order[..self.order_len] {
            if self.heads[other].is_none_or(|other_head| C::key_of(&other_head) != key) {
                break;
            }
            holders |= 1 << other;
        }
        Some(Smallest { index, head, holders })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vfs::sim::{SimConfig, SimVfs};

    /// A cursor over the keys `key_id`s `next..end` (each one record), no table behind it.
    #[derive(Clone, Copy)]
    struct Counting {
        next: u128,
        end: u128,
    }

    impl MergeCursor for Counting {
        type Head = u128;

        fn head<V: Vfs>(
            &mut self,
            _: &mut V,
            _: &mut TablePool<'_>,
            _: &TableMeta,
            _: &mut [u8],
        ) -> Result<Option<u128>, Error> {
            Ok((self.next < self.end).then_some(self.next))
        }

        fn key_of(head: &u128) -> SortKey {
            SortKey::of_block(&crate::id::BlockId::from_u128(*head))
        }

        fn advance(&mut self, _: &u128) {
            self.next += 1;
        }
    }

    /// With a cursor for every one of `TABLES_MAX_LIMIT` tables (the last bit of the holders
    /// in use), every key comes out once, from the newest cursor holding it, and every
    /// cursor holding it moves past it.
    #[test]
    fn a_merge_of_every_table_slot_takes_each_key_once_from_the_newest_holder() {
        let config = SimConfig { files_max: 1, file_bytes_max: 64, pending_bytes_max: 64 };
        let mut memory = std::vec![0u8; config.memory_bytes_required()];
        let mut vfs = SimVfs::new(&mut memory, config, 1).unwrap();
        let mut pool_bytes = [0u8; 8];
        let mut pool = TablePool { bytes: &mut pool_bytes, used: 0, pages_read: 0 };
        let tables = [TableMeta::EMPTY; TABLES_MAX_LIMIT];
        let mut buffer_bytes = [0u8; TABLES_MAX_LIMIT];
        let mut buffers = MergeBuffers::new(&mut buffer_bytes, 1);
        // Cursor i holds keys i..i + 8: key k is held by the cursors k - 7..=k.
        let mut storage = [Counting { next: 0, end: 0 }; TABLES_MAX_LIMIT];
        let mut merge = Merge::new(&mut storage);
        for i in 0..TABLES_MAX_LIMIT as u128 {
            merge.push(Counting { next: i, end: i + 8 });
        }
        let mut taken = std::vec::Vec::new();
        while let Some(smallest) =
            merge.smallest(&mut vfs, &mut pool, &tables, &mut buffers).unwrap()
        {
            let key = smallest.head;
            assert_eq!(smallest.index as u128, key.saturating_sub(7), "the newest holder");
            let holders = (key.saturating_sub(7)..=key.min(63)).count();
            assert_eq!(smallest.holders.count_ones() as usize, holders, "key {key}");
            taken.push(key);
            merge.advance_holders(&mut vfs, &mut pool, &tables, &mut buffers, &smallest).unwrap();
        }
        assert_eq!(taken, (0..TABLES_MAX_LIMIT as u128 + 7).collect::<std::vec::Vec<_>>());
    }

    /// A cursor over a sorted list of keys, one record each.
    #[derive(Clone, Copy)]
    struct Listed<'k> {
        keys: &'k [u128],
        at: usize,
    }

    impl MergeCursor for Listed<'_> {
        type Head = u128;

        fn head<V: Vfs>(
            &mut self,
            _: &mut V,
            _: &mut TablePool<'_>,
            _: &TableMeta,
            _: &mut [u8],
        ) -> Result<Option<u128>, Error> {
            Ok(self.keys.get(self.at).copied())
        }

        /// An edge key: key id `head >> 4`, other id `head & 15` (in the same order), so
        /// neighbouring keys share a key id, as a block's edges do.
        fn key_of(head: &u128) -> SortKey {
            SortKey::of_edge(&EdgeRecord {
                key_id: crate::id::BlockId::from_u128(head >> 4),
                edge_type: crate::edge::EdgeType::CALLS,
                other: crate::id::BlockId::from_u128(head & 15),
                tombstone: false,
            })
        }

        fn advance(&mut self, _: &u128) {
            self.at += 1;
        }
    }

    /// xorshift64*: the keys of one case.
    fn next(state: &mut u64) -> u64 {
        *state ^= *state >> 12;
        *state ^= *state << 25;
        *state ^= *state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Cursors holding runs of keys (a table's edges of one block, together), keys whose
    /// key ids other cursors hold too, and scattered keys other cursors share, merged by
    /// callers that sometimes ask again without a step (a memtable's record came first):
    /// every key comes once, in order, from its newest holder with every holder named,
    /// whether the answer came from the sorted heads (up to `SORTED_HEADS_MAX` cursors),
    /// the full pass or the run of the cursor answering alone (more cursors than that).
    #[test]
    fn a_merge_of_runs_and_shared_keys_agrees_with_a_reference_merge() {
        use std::collections::BTreeMap;
        use std::vec::Vec;
        let config = SimConfig { files_max: 1, file_bytes_max: 64, pending_bytes_max: 64 };
        let mut memory = std::vec![0u8; config.memory_bytes_required()];
        let mut vfs = SimVfs::new(&mut memory, config, 1).unwrap();
        let mut pool_bytes = [0u8; 8];
        let mut pool = TablePool { bytes: &mut pool_bytes, used: 0, pages_read: 0 };
        const CURSORS_MAX: usize = 12;
        let tables = [TableMeta::EMPTY; CURSORS_MAX];
        let mut buffer_bytes = [0u8; CURSORS_MAX];
        let mut buffers = MergeBuffers::new(&mut buffer_bytes, 1);
        for seed in 1..=500u64 {
            let mut state = seed;
            let cursors = 1 + (next(&mut state) % CURSORS_MAX as u64) as usize;
            let lists: Vec<Vec<u128>> = (0..cursors)
                .map(|_| {
                    let mut keys = Vec::new();
                    for _ in 0..next(&mut state) % 12 {
                        let base = u128::from(next(&mut state) % 4096) * 64;
                        let run = next(&mut state) % 40;
                        keys.extend((0..u128::from(run)).map(|offset| base + offset));
                    }
                    keys.extend(
                        (0..next(&mut state) % 30).map(|_| u128::from(next(&mut state) % 512)),
                    );
                    keys.sort_unstable();
                    keys.dedup();
                    keys
                })
                .collect();
            let mut expected: BTreeMap<u128, Vec<usize>> = BTreeMap::new();
            for (index, keys) in lists.iter().enumerate() {
                for &key in keys {
                    expected.entry(key).or_default().push(index);
                }
            }
            let mut storage = [Listed { keys: &[], at: 0 }; CURSORS_MAX];
            let mut merge = Merge::new(&mut storage);
            for keys in &lists {
                merge.push(Listed { keys, at: 0 });
            }
            let mut taken = Vec::new();
            while let Some(smallest) =
                merge.smallest(&mut vfs, &mut pool, &tables, &mut buffers).unwrap()
            {
                if next(&mut state).is_multiple_of(4) {
                    let again = merge.smallest(&mut vfs, &mut pool, &tables, &mut buffers);
                    let again = again.unwrap().map(|again| (again.index, again.holders));
                    assert_eq!(again, Some((smallest.index, smallest.holders)), "seed {seed}");
                }
                let holders: Vec<usize> =
                    (0..cursors).filter(|index| smallest.holders & 1 << index != 0).collect();
                taken.push((smallest.head, holders));
                assert_eq!(smallest.index, taken.last().unwrap().1[0], "seed {seed}");
                merge
                    .advance_holders(&mut vfs, &mut pool, &tables, &mut buffers, &smallest)
                    .unwrap();
                assert!(taken.len() <= expected.len(), "seed {seed}: keys repeat");
            }
            assert_eq!(taken, expected.into_iter().collect::<Vec<_>>(), "seed {seed}");
        }
    }
}
