//! Edge listings: the visible edges of one block, merged across the memtable and the tables
//! (the memtable alone when it is the only level that can hold them).

use super::merge::Merge;
use super::Store;
use crate::edge::{Direction, Edge, EdgeFilter};
use crate::error::Error;
use crate::id::BlockId;
use crate::memtable::{EntryState, Memtable};
use crate::record::{EdgeRecord, SortKey};
use crate::table::cursor::EdgeCursor;
#[cfg(not(feature = "small-code"))]
use crate::table::cursor::RunReader;
use crate::table::format::Section;
use crate::table::{bloom, DAMAGED};
use crate::vfs::Vfs;

impl<'r> Store<'r> {
    /// Calls `emit` with each visible edge of `id` in key order (type, then other id) that
    /// passes `filter`, until it returns false. Returns how many were emitted. `entry` is
    /// `id`'s memtable entry (`None`: it has none), which the caller has looked up already.
    pub(crate) fn merge_edges<V: Vfs>(
        &mut self,
        vfs: &mut V,
        id: &BlockId,
        entry: Option<u32>,
        outgoing: bool,
        filter: &EdgeFilter<'_>,
        emit: impl FnMut(&EdgeRecord) -> bool,
    ) -> Result<usize, Error> {
        // `small-code`: every caller's closure goes through one `dyn FnMut`, so the merge is
        // compiled once, not once per caller (an indirect call per record instead).
        #[cfg(feature = "small-code")]
        let mut emit = emit;
        #[cfg(feature = "small-code")]
        let emit: &mut dyn FnMut(&EdgeRecord) -> bool = &mut emit;
        self.merge_edges_in(vfs, (id, entry, outgoing), filter, emit)
    }

    /// `merge_edges` with the region's cursors and sort scratch taken for it. Not inlined
    /// in `small-code`, so its one instance (its `emit` a `dyn FnMut`) serves every caller:
    /// inlined, each of three callers had its own copy (212 bytes more in the firmware).
    #[cfg_attr(feature = "small-code", inline(never))]
    fn merge_edges_in<V: Vfs>(
        &mut self,
        vfs: &mut V,
        (id, entry, outgoing): (&BlockId, Option<u32>, bool),
        filter: &EdgeFilter<'_>,
        emit: impl FnMut(&EdgeRecord) -> bool,
    ) -> Result<usize, Error> {
        debug_assert_eq!(entry, self.memtable.entry_of(id));
        // The cursors are the region's (taken for the listing, given back after): listings
        // never nest, the callers holding the store for the whole of one.
        let cursors = core::mem::take(&mut self.edge_cursors);
        let scratch = core::mem::take(&mut self.sort_scratch);
        let mut merge = Merge::new(&mut *cursors);
        let listed = self.merge_edges_with(
            vfs,
            (id, entry, outgoing),
            filter,
            emit,
            (&mut merge, &mut *scratch),
        );
        (self.edge_cursors, self.sort_scratch) = (cursors, scratch);
        listed
    }

    /// `merge_edges` with its cursors.
    #[cfg_attr(feature = "small-code", inline(never))]
    fn merge_edges_with<V: Vfs>(
        &mut self,
        vfs: &mut V,
        (id, entry, outgoing): (&BlockId, Option<u32>, bool),
        filter: &EdgeFilter<'_>,
        emit: impl FnMut(&EdgeRecord) -> bool,
        (merge, scratch): (&mut Merge<'_, EdgeCursor>, &mut [u32]),
    ) -> Result<usize, Error> {
        let admitting = self.tables_admitting(id, outgoing);
        let frozen_entry = self.frozen_entry(id);
        if admitting == 0 && frozen_entry.is_none() {
            // No table can hold edges of `id`: the memtable alone answers, with no merge.
            return Ok(entry.map_or(0, |entry| {
                self.memtable.visit_live_edges_at(entry, id, outgoing, filter, emit)
            }));
        }
        if entry.is_some() || frozen_entry.is_some() {
            // The scratch is overwritten: a scan's order kept there is gone.
            self.scan_order = None;
        }
        // The frozen memtable's part of the scratch first (none without one).
        let (frozen_scratch, scratch) = scratch.split_at_mut(self.frozen_scratch_len());
        let memtable_edges = match entry {
            Some(entry) => self.memtable.edges_of(entry, id, outgoing, scratch),
            None => &[],
        };
        // `small-code`: the general merge below answers this case too, in less code.
        #[cfg(not(feature = "small-code"))]
        if admitting.is_power_of_two() && frozen_entry.is_none() {
            let index = admitting.trailing_zeros() as usize;
            return self.list_single_table(
                vfs,
                index,
                (id, outgoing, memtable_edges),
                filter,
                emit,
            );
        }
        self.open_edge_cursors(vfs, id, outgoing, admitting, merge)?;
        let frozen_edges = match frozen_entry {
            Some(entry) => self.frozen.edges_of(entry, id, outgoing, frozen_scratch),
            None => &[],
        };
        self.merge_levels(vfs, (id, outgoing), [memtable_edges, frozen_edges], filter, emit, merge)
    }

    /// The general listing: the memtable's and the frozen memtable's records of `id`
    /// (`sorted`: each memtable's, in key order) merged with every table cursor in `merge`.
    fn merge_levels<V: Vfs>(
        &mut self,
        vfs: &mut V,
        (id, outgoing): (&BlockId, bool),
        [memtable_edges, frozen_edges]: [&[u32]; 2],
        filter: &EdgeFilter<'_>,
        mut emit: impl FnMut(&EdgeRecord) -> bool,
        merge: &mut Merge<'_, EdgeCursor>,
    ) -> Result<usize, Error> {
        let tables = &self.tables[..self.tables_count];
        let records_max: u64 = tables.iter().map(|table| table.edge_records).sum();
        let memtables_max = (memtable_edges.len() + frozen_edges.len()) as u64;
        let (mut memtable_at, mut frozen_at, mut emitted) = (0, 0, 0);
        let head = |memtable: &Memtable<'_>, edges: &[u32], at: usize| {
            edges.get(at).map(|&index| memtable.edge_record_of(id, index, outgoing))
        };
        // Every round consumes at least one record from some level.
        for _ in 0..=(records_max + memtables_max) {
            let memtable_head = head(&self.memtable, memtable_edges, memtable_at);
            // `small-code` has no frozen memtable: `None`, and the code for it compiles away.
            let frozen_head = match cfg!(feature = "small-code") {
                true => None,
                false => head(self.frozen, frozen_edges, frozen_at),
            };
            let table_head =
                merge.smallest(vfs, &mut self.pool, tables, &mut self.merge_buffers)?;
            // The smallest key wins; of equal keys the newest level's version: the memtable,
            // then the frozen memtable, then the tables.
            let mut best = table_head.as_ref().map(|table| table.head);
            for newer in [frozen_head, memtable_head].into_iter().flatten() {
                if best.is_none_or(|best| SortKey::of_edge(&newer) <= SortKey::of_edge(&best)) {
                    best = Some(newer);
                }
            }
            let Some(best) = best else {
                return Ok(emitted);
            };
            let key = SortKey::of_edge(&best);
            let at_key =
                |head: Option<EdgeRecord>| head.is_some_and(|h| SortKey::of_edge(&h) == key);
            memtable_at += usize::from(at_key(memtable_head));
            frozen_at += usize::from(at_key(frozen_head));
            if let Some(table_head) = table_head.as_ref().filter(|table| table.key() == key) {
                let buffers = &mut self.merge_buffers;
                merge.advance_holders(vfs, &mut self.pool, tables, buffers, table_head)?;
            }
            if !best.tombstone && filter.accepts(best.edge_type) {
                emitted += 1;
                if !emit(&best) {
                    return Ok(emitted);
                }
            }
        }
        Err(DAMAGED)
    }

    /// `merge_edges` when one table alone can hold `id`'s edges in this direction (every
    /// other table's filter turned the listing away): a two-way merge of its records with the
    /// memtable's (`memtable_edges`, sorted, possibly none; `emit_table_run`), since a table
    /// holds one version of each key. Most listings of a graph spread over tables are this
    /// case: the general merge's rounds over every cursor made an incoming listing 2.7x
    /// slower (measured: 1.30 µs against 0.48 µs, 100,000 blocks, the graph in one table and
    /// the memtable).
    #[cfg(not(feature = "small-code"))]
    fn list_single_table<V: Vfs>(
        &mut self,
        vfs: &mut V,
        index: usize,
        (id, outgoing, memtable_edges): (&BlockId, bool, &[u32]),
        filter: &EdgeFilter<'_>,
        emit: impl FnMut(&EdgeRecord) -> bool,
    ) -> Result<usize, Error> {
        let table = self.tables[..self.tables_count].get(index).ok_or(DAMAGED)?;
        let section = if outgoing { Section::OutEdges } else { Section::InEdges };
        let reader = RunReader::seek(&self.pool, table, section, id);
        let buffer = self.merge_buffers.slot(index);
        let memtable = &self.memtable;
        let memtable_at = |at: usize| {
            memtable_edges.get(at).map(|&record| memtable.edge_record_of(id, record, outgoing))
        };
        let run = (table, reader, buffer);
        emit_table_run(vfs, &mut self.pool, run, (id, memtable_at), filter, emit)
    }

    /// Which tables' filters admit `id`'s edges in one direction (bit `i` for table `i`).
    /// The bloom filter holds the sources and the targets of a table's edges: a miss skips
    /// the table (a version-3 table's filter has no targets: an incoming listing reads it).
    fn tables_admitting(&self, id: &BlockId, outgoing: bool) -> u64 {
        const _: () = assert!(crate::limits::TABLES_MAX_LIMIT <= u64::BITS as usize);
        let mut admitting = 0;
        for (index, table) in self.tables[..self.tables_count].iter().enumerate() {
            let filter = self.pool.bloom(table);
            // A block table's filter holds block ids: it is not asked.
            let may_hold = table.holds_edges()
                && if outgoing {
                    bloom::may_contain(filter, table.bloom, id)
                } else {
                    !table.bloom_has_incoming
                        || bloom::may_contain_incoming(filter, table.bloom, id)
                };
            admitting |= u64::from(may_hold) << index;
        }
        admitting
    }

    /// Adds one cursor per table on `id`'s edges in one direction to `merge`: a seek in
    /// each table `admitting` names (`tables_admitting`), an exhausted cursor for the rest.
    fn open_edge_cursors<V: Vfs>(
        &mut self,
        vfs: &mut V,
        id: &BlockId,
        outgoing: bool,
        admitting: u64,
        merge: &mut Merge<'_, EdgeCursor>,
    ) -> Result<(), Error> {
        let section = if outgoing { Section::OutEdges } else { Section::InEdges };
        for (index, table) in self.tables[..self.tables_count].iter().enumerate() {
            let cursor = if admitting & (1 << index) != 0 {
                let buffer = self.merge_buffers.slot(index);
                EdgeCursor::seek(vfs, &mut self.pool, table, section, id, buffer)?
            } else {
                EdgeCursor::exhausted(section, id)
            };
            merge.push(cursor);
        }
        Ok(())
    }

    /// Lists edges of `id` in `direction` (outgoing, then incoming; a self-edge once).
    pub(crate) fn visit_edges<V: Vfs>(
        &mut self,
        vfs: &mut V,
        id: &BlockId,
        direction: Direction,
        filter: &EdgeFilter<'_>,
        visit: impl FnMut(Edge),
    ) -> Result<usize, Error> {
        let entry = self.memtable.entry_of(id);
        match entry.map(|entry| self.memtable.state_at(entry)) {
            Some(EntryState::Live | EntryState::Stub) => {}
            Some(EntryState::Tombstone) => return Err(Error::NotFound),
            None => {
                // Only the frozen memtable or the tables know the block. A live edge proves
                // it live (deleting a block tombstones its edges), so list first and look the
                // block up only when nothing was listed: that saves a table read on the
                // common path.
                let count = self.visit_live_block_edges(vfs, id, None, direction, filter, visit)?;
                if count == 0 && !self.block_visible(vfs, id)? {
                    return Err(Error::NotFound);
                }
                return Ok(count);
            }
        }
        self.visit_live_block_edges(vfs, id, entry, direction, filter, visit)
    }

    /// `visit_edges` for a block known to be live (a traversal's neighbour: a live edge's
    /// end is live, because deleting a block tombstones its edges), without the visibility
    /// lookup; `entry` is its memtable entry, if it has one.
    pub(crate) fn visit_live_block_edges<V: Vfs>(
        &mut self,
        vfs: &mut V,
        id: &BlockId,
        entry: Option<u32>,
        direction: Direction,
        filter: &EdgeFilter<'_>,
        visit: impl FnMut(Edge),
    ) -> Result<usize, Error> {
        // `small-code`: one compiled listing for every caller, as in `merge_edges`.
        #[cfg(feature = "small-code")]
        let mut visit = visit;
        #[cfg(feature = "small-code")]
        let visit: &mut dyn FnMut(Edge) = &mut visit;
        self.visit_live_block_edges_with(vfs, (id, entry), direction, filter, visit)
    }

    /// `visit_live_block_edges` with its visitor.
    #[cfg_attr(feature = "small-code", inline(never))]
    fn visit_live_block_edges_with<V: Vfs>(
        &mut self,
        vfs: &mut V,
        (id, entry): (&BlockId, Option<u32>),
        direction: Direction,
        filter: &EdgeFilter<'_>,
        mut visit: impl FnMut(Edge),
    ) -> Result<usize, Error> {
        // `small-code`: the merge below lists a memtable-only store too (no table cursor).
        #[cfg(not(feature = "small-code"))]
        if let (0, Some(entry), false) = (self.tables_count, entry, self.flushing_frozen()) {
            return Ok(self.visit_memtable_edges(entry, id, direction, filter, visit));
        }
        let mut count = 0;
        if matches!(direction, Direction::Outgoing | Direction::Both) {
            count += self.merge_edges(vfs, id, entry, true, filter, |record| {
                visit(Edge {
                    source: record.key_id,
                    target: record.other,
                    edge_type: record.edge_type,
                });
                true
            })?;
        }
        if matches!(direction, Direction::Incoming | Direction::Both) {
            let both = direction == Direction::Both;
            let mut skipped = 0;
            count += self.merge_edges(vfs, id, entry, false, filter, |record| {
                if both && record.other == record.key_id {
                    skipped += 1;
                } else {
                    visit(Edge {
                        source: record.other,
                        target: record.key_id,
                        edge_type: record.edge_type,
                    });
                }
                true
            })?;
            count -= skipped;
        }
        Ok(count)
    }

    /// `visit_edges` when the memtable is the only level: its lists, no merge. It repeats
    /// the direction handling of `visit_edges` on purpose: sharing it through a `dyn FnMut`
    /// made the degree-10 listing 60% slower (measured 140 ns -> 222 ns).
    #[cfg(not(feature = "small-code"))]
    fn visit_memtable_edges(
        &self,
        entry: u32,
        id: &BlockId,
        direction: Direction,
        filter: &EdgeFilter<'_>,
        mut visit: impl FnMut(Edge),
    ) -> usize {
        let memtable = &self.memtable;
        let mut count = 0;
        if matches!(direction, Direction::Outgoing | Direction::Both) {
            count += memtable.visit_live_edges_at(entry, id, true, filter, |record| {
                visit(Edge {
                    source: record.key_id,
                    target: record.other,
                    edge_type: record.edge_type,
                });
                true
            });
        }
        if matches!(direction, Direction::Incoming | Direction::Both) {
            let both = direction == Direction::Both;
            let mut skipped = 0;
            count += memtable.visit_live_edges_at(entry, id, false, filter, |record| {
                // A self-edge was already listed among the outgoing edges.
                if both && record.other == record.key_id {
                    skipped += 1;
                } else {
                    visit(Edge {
                        source: record.other,
                        target: record.key_id,
                        edge_type: record.edge_type,
                    });
                }
                true
            });
            count -= skipped;
        }
        count
    }
}

/// The listing of `id` from one table's run of it, merged with the memtable's records of
/// `id` (`newer(i)`: its `i`th in key order, `None` past the last; none, in the common case
/// of a graph larger than the memtable). The table's records are decoded from the page in
/// place, from the backend's view of it where it has one (else from `buffer`), page after
/// page, none passed through memory (each was, and read back in other widths, stalling the
/// CPU's store forwarding: a quarter of a cached listing); of equal keys the memtable's
/// version wins. Merging this way, not a record at a time through a cursor's `current`,
/// took 40-45% off the listing of a hub (100,000 blocks, the graph in one table and the
/// memtable: 10,385 callers 262 -> 158 µs, 1,982 callers 43 -> 26 µs, 489 callers 9.9 ->
/// 5.6 µs; LMDB 150, 25 and 8.6 µs). Reading each page's run from the view, not from a
/// cursor's copy in its merge buffer, and seeking only in the one table a filter admits,
/// took a sixth off the instructions of a listing (`cargo xtask listing-cost`: 2,073 ->
/// 1,731 outgoing, 2,506 -> 2,115 incoming).
#[cfg(not(feature = "small-code"))]
fn emit_table_run<V: Vfs>(
    vfs: &mut V,
    pool: &mut crate::table::TablePool<'_>,
    (table, mut reader, buffer): (&crate::table::TableMeta, RunReader, &mut [u8]),
    (id, newer): (&BlockId, impl Fn(usize) -> Option<EdgeRecord>),
    filter: &EdgeFilter<'_>,
    mut emit: impl FnMut(&EdgeRecord) -> bool,
) -> Result<usize, Error> {
    // Records of `id` only: their order is (type, other id).
    let key = |record: &EdgeRecord| (record.edge_type.code(), record.other.to_u128());
    let mut emitted = 0;
    // Emits `record` if it is live and passes the filter; false once `emit` says stop.
    let mut offer = |record: &EdgeRecord| {
        if record.tombstone || !filter.accepts(record.edge_type) {
            return true;
        }
        emitted += 1;
        emit(record)
    };
    let (mut at, mut head) = (0, newer(0));
    // Each round takes one page's part of the run; the index bounds how many there are.
    for _ in 0..=table.index_entries {
        if reader.is_done() {
            break;
        }
        let run = match reader.view_next(&mut *vfs, pool, table)? {
            Some(run) => run,
            None => reader.read_next(&mut *vfs, pool, table, &mut *buffer)?,
        };
        for bytes in run.chunks_exact(crate::table::format::EDGE_RECORD_BYTES) {
            let record = EdgeRecord::decode(bytes).ok_or(DAMAGED)?;
            // The run holds `id`'s records alone (`run_in_page` compared the same bytes).
            debug_assert!(record.key_id == *id);
            // The memtable's records before this one, and its version of this one.
            let mut shadowed = false;
            while let Some(memtable) = head.filter(|memtable| key(memtable) <= key(&record)) {
                shadowed = key(&memtable) == key(&record);
                if !offer(&memtable) {
                    return Ok(emitted);
                }
                at += 1;
                head = newer(at);
            }
            if !shadowed && !offer(&record) {
                return Ok(emitted);
            }
        }
    }
    if !reader.is_done() {
        return Err(DAMAGED);
    }
    // The memtable's records after the table's last.
    while let Some(memtable) = head {
        if !offer(&memtable) {
            return Ok(emitted);
        }
        at += 1;
        head = newer(at);
    }
    Ok(emitted)
}
