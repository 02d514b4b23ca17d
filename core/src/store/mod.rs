//! The levels of the store: the memtable (newest) over the sorted tables (newest first).
//! Everything that must look at both lives here: visibility of blocks and edges, merged
//! edge listings, the effect of each write on both, and flushing the memtable to a table.
//!
//! Every write is planned first (all reads, which may fail, and the room it needs), then
//! logged by the engine, then applied; applying reads only what planning proved readable,
//! and a failure there poisons the store.

mod compaction;
mod scan;

use crate::codec::narrow_u32;
use crate::config::Config;
use crate::edge::{Direction, Edge, EdgeFilter};
use crate::error::{CorruptionKind, Error, Resource};
use crate::id::BlockId;
use crate::limits::TABLES_MAX_LIMIT;
use crate::manifest::Manifest;
use crate::memtable::{BlockView, EdgeState, EntryState, Memtable};
use crate::record::{BlockRecord, EdgeRecord, KEY_BYTES};
use crate::table::cursor::EdgeCursor;
use crate::table::format::Section;
use crate::table::writer::TableWriter;
use crate::table::{lookup, open};
use crate::table::{TableMeta, TablePool};
use crate::vfs::Vfs;

/// Edges tombstoned per round when a block is deleted (a stack array; rounds repeat until
/// no visible edge is left).
const DELETE_ROUND_EDGES: usize = 64;

/// The parts of the region the levels own.
pub(crate) struct StoreParts<'r> {
    pub(crate) tables: &'r mut [TableMeta],
    pub(crate) pool: &'r mut [u8],
    pub(crate) merge_buffers: &'r mut [u8],
    pub(crate) lookup_buffer: &'r mut [u8],
    pub(crate) sort_scratch: &'r mut [u32],
}

pub(crate) struct Store<'r> {
    pub(crate) memtable: Memtable<'r>,
    tables: &'r mut [TableMeta],
    tables_count: usize,
    pool: TablePool<'r>,
    merge_buffers: &'r mut [u8],
    merge_buffer_bytes: usize,
    lookup_buffer: &'r mut [u8],
    sort_scratch: &'r mut [u32],
    /// Live blocks and edges in the whole store (kept in the manifest at each checkpoint).
    pub(crate) blocks_live: u64,
    pub(crate) edges_live: u64,
    bloom_bits_per_key: u32,
    table_page_bytes: usize,
}

/// The room a write needs in the memtable, and what planning learned.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Plan {
    pub(crate) entries: u32,
    pub(crate) payload_bytes: usize,
    pub(crate) edge_records: usize,
    /// For put_block: the id was not visible before (a new block).
    pub(crate) new_block: bool,
    /// For delete_block: the visible edges it removes.
    pub(crate) edges_removed: u64,
    /// For put_edge: the edge is already visible (a no-op).
    pub(crate) duplicate: bool,
}

impl<'r> Store<'r> {
    pub(crate) fn new(memtable: Memtable<'r>, parts: StoreParts<'r>, config: &Config) -> Store<'r> {
        let merge_buffer_bytes = config.merge_buffer_bytes();
        assert!(parts.merge_buffers.len() >= parts.tables.len() * merge_buffer_bytes);
        assert!(parts.tables.len() <= TABLES_MAX_LIMIT);
        Store {
            memtable,
            tables: parts.tables,
            tables_count: 0,
            pool: TablePool { bytes: parts.pool, used: 0 },
            merge_buffers: parts.merge_buffers,
            merge_buffer_bytes,
            lookup_buffer: parts.lookup_buffer,
            sort_scratch: parts.sort_scratch,
            blocks_live: 0,
            edges_live: 0,
            bloom_bits_per_key: config.bloom_bits_per_key,
            table_page_bytes: config.table_page_bytes as usize,
        }
    }

    pub(crate) fn tables(&self) -> &[TableMeta] {
        &self.tables[..self.tables_count]
    }

    /// Opens the tables the manifest lists (newest first) and takes its counts.
    pub(crate) fn load<V: Vfs>(&mut self, vfs: &mut V, manifest: &Manifest) -> Result<(), Error> {
        if manifest.tables.len() > self.tables.len() {
            return Err(Error::RecoveryCapacity { resource: Resource::Tables });
        }
        for &number in manifest.tables.iter() {
            let table = open::open_table(vfs, &mut self.pool, number)?;
            self.tables[self.tables_count] = table;
            self.tables_count += 1;
        }
        self.blocks_live = manifest.blocks_live;
        self.edges_live = manifest.edges_live;
        Ok(())
    }

    /// Closes every table file (at engine close).
    pub(crate) fn close<V: Vfs>(&mut self, vfs: &mut V) {
        for table in &self.tables[..self.tables_count] {
            vfs.close(table.file);
        }
        self.tables_count = 0;
    }

    /// Whether block `id` is live: the newest level that knows it decides.
    pub(crate) fn block_visible<V: Vfs>(
        &mut self,
        vfs: &mut V,
        id: &BlockId,
    ) -> Result<bool, Error> {
        if let Some(live) = self.memtable.block_state(id) {
            return Ok(live);
        }
        for table in &self.tables[..self.tables_count] {
            if let Some(record) =
                lookup::find_block(vfs, &mut self.pool, table, id, self.lookup_buffer)?
            {
                return Ok(!record.tombstone);
            }
        }
        Ok(false)
    }

    /// The live block `id`: from the memtable or a table's view without a copy, or read from
    /// a table into the lookup buffer.
    pub(crate) fn find_block<'a, V: Vfs>(
        &'a mut self,
        vfs: &'a mut V,
        id: &BlockId,
    ) -> Result<Option<BlockView<'a>>, Error> {
        // One probe: a version answers, a tombstone hides, a stub or nothing sends the
        // lookup to the tables.
        if let Some(entry) = self.memtable.entry_of(id) {
            match self.memtable.state_at(entry) {
                EntryState::Live => return Ok(self.memtable.view_at(entry)),
                EntryState::Tombstone => return Ok(None),
                EntryState::Stub => {}
            }
        }
        for table in &self.tables[..self.tables_count] {
            let Some(at) =
                lookup::locate_block(vfs, &mut self.pool, table, id, self.lookup_buffer)?
            else {
                continue;
            };
            let bytes = lookup::record_bytes(vfs, table, at, self.lookup_buffer)?;
            let (record, _) = BlockRecord::decode(bytes)
                .ok_or(Error::Corruption { kind: CorruptionKind::Table })?;
            if record.tombstone {
                return Ok(None);
            }
            return Ok(Some(BlockView {
                id: record.id,
                sequence: record.sequence,
                source_uri: record.source_uri,
                metadata_json: record.metadata_json,
                content: record.content,
            }));
        }
        Ok(None)
    }

    /// Whether `edge` is live: the newest level that knows it decides.
    pub(crate) fn edge_visible<V: Vfs>(&mut self, vfs: &mut V, edge: &Edge) -> Result<bool, Error> {
        match self.memtable.edge_state(edge) {
            EdgeState::Live => return Ok(true),
            EdgeState::Tombstone => return Ok(false),
            EdgeState::Unknown => {}
        }
        let wanted = crate::record::edge_key(&edge.source, edge.edge_type, &edge.target);
        for table in &self.tables[..self.tables_count] {
            if !crate::table::bloom::may_contain(
                self.pool.bloom(table),
                table.bloom_hashes,
                &edge.source,
            ) {
                continue;
            }
            let buffer = &mut *self.lookup_buffer;
            let mut cursor = EdgeCursor::seek(
                vfs,
                &mut self.pool,
                table,
                Section::OutEdges,
                &edge.source,
                buffer,
            )?;
            while let Some(record) = cursor.current(vfs, &mut self.pool, table, buffer)? {
                let key = record.key();
                if key == wanted {
                    return Ok(!record.tombstone);
                }
                if key > wanted {
                    break;
                }
                cursor.advance();
            }
        }
        Ok(false)
    }

    /// Calls `emit` with each visible edge of `id` in key order (type, then other id) that
    /// passes `filter`, until it returns false. Returns how many were emitted.
    pub(crate) fn merge_edges<V: Vfs>(
        &mut self,
        vfs: &mut V,
        id: &BlockId,
        outgoing: bool,
        filter: &EdgeFilter<'_>,
        mut emit: impl FnMut(&EdgeRecord) -> bool,
    ) -> Result<usize, Error> {
        let section = if outgoing { Section::OutEdges } else { Section::InEdges };
        let mut cursors: heapless::Vec<EdgeCursor, TABLES_MAX_LIMIT> = heapless::Vec::new();
        let buffer_bytes = self.merge_buffer_bytes;
        for (index, table) in self.tables[..self.tables_count].iter().enumerate() {
            let buffer = &mut self.merge_buffers[index * buffer_bytes..(index + 1) * buffer_bytes];
            // The bloom filter holds the sources of the table's edges: a miss skips it for an
            // outgoing listing (an incoming one reads every table).
            let bloom = self.pool.bloom(table);
            let may_hold =
                !outgoing || crate::table::bloom::may_contain(bloom, table.bloom_hashes, id);
            let cursor = if may_hold {
                EdgeCursor::seek(vfs, &mut self.pool, table, section, id, buffer)?
            } else {
                EdgeCursor::exhausted(section, id)
            };
            // At most TABLES_MAX_LIMIT tables exist (checked in new()).
            let _ = cursors.push(cursor);
        }
        if cursors.iter().all(EdgeCursor::is_done) {
            // No table can hold edges of `id`: the memtable alone answers, with no merge.
            return Ok(self.memtable.visit_live_edges(id, outgoing, filter, emit));
        }
        let memtable_edges = self.memtable.edges_of(id, outgoing, self.sort_scratch);
        let records_max: u64 =
            self.tables[..self.tables_count].iter().map(|table| table.edge_records).sum();
        let mut memtable_at = 0;
        let mut memtable_current =
            memtable_edges.first().map(|&index| self.memtable.edge_record_of(id, index, outgoing));
        let mut emitted = 0;
        // Every round consumes at least one record from some level.
        for _ in 0..=(records_max + memtable_edges.len() as u64) {
            let mut best: Option<EdgeRecord> = memtable_current;
            for (index, cursor) in cursors.iter_mut().enumerate() {
                let buffer =
                    &mut self.merge_buffers[index * buffer_bytes..(index + 1) * buffer_bytes];
                if let Some(record) =
                    cursor.current(vfs, &mut self.pool, &self.tables[index], buffer)?
                {
                    // Ties keep the newer level's version, which was found first.
                    if best.is_none_or(|best| record.key() < best.key()) {
                        best = Some(record);
                    }
                }
            }
            let Some(best) = best else {
                return Ok(emitted);
            };
            let key: [u8; KEY_BYTES] = best.key();
            if memtable_current.is_some_and(|current| current.key() == key) {
                memtable_at += 1;
                memtable_current = memtable_edges
                    .get(memtable_at)
                    .map(|&index| self.memtable.edge_record(index, outgoing));
            }
            for (index, cursor) in cursors.iter_mut().enumerate() {
                let buffer =
                    &mut self.merge_buffers[index * buffer_bytes..(index + 1) * buffer_bytes];
                if cursor
                    .current(vfs, &mut self.pool, &self.tables[index], buffer)?
                    .is_some_and(|r| r.key() == key)
                {
                    cursor.advance();
                }
            }
            if !best.tombstone && filter.accepts(best.edge_type) {
                emitted += 1;
                if !emit(&best) {
                    return Ok(emitted);
                }
            }
        }
        Err(Error::Corruption { kind: CorruptionKind::Table })
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
                // Only the tables know the block. A live edge proves it live (deleting a
                // block tombstones its edges), so list first and look the block up only
                // when nothing was listed: that saves a table read on the common path.
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
        mut visit: impl FnMut(Edge),
    ) -> Result<usize, Error> {
        if let (0, Some(entry)) = (self.tables_count, entry) {
            return Ok(self.visit_memtable_edges(entry, id, direction, filter, visit));
        }
        let mut count = 0;
        if matches!(direction, Direction::Outgoing | Direction::Both) {
            count += self.merge_edges(vfs, id, true, filter, |record| {
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
            count += self.merge_edges(vfs, id, false, filter, |record| {
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

    /// Plans a put: the room it needs, and whether it creates a new block.
    pub(crate) fn plan_put_block<V: Vfs>(
        &mut self,
        vfs: &mut V,
        id: &BlockId,
        payload_bytes: usize,
    ) -> Result<Plan, Error> {
        let new_block = !self.block_visible(vfs, id)?;
        Ok(Plan {
            entries: self.memtable.new_entries(&[*id]),
            payload_bytes,
            new_block,
            ..Plan::default()
        })
    }

    pub(crate) fn apply_put_block(
        &mut self,
        plan: &Plan,
        id: &BlockId,
        sequence: u64,
        parts: [&[u8]; 3],
    ) {
        self.memtable.put_block(id, sequence, parts);
        self.blocks_live += u64::from(plan.new_block);
    }

    /// Plans a delete: `NotFound` unless visible; room for a tombstone (and a stub for the
    /// other end) per visible edge, counted generously.
    pub(crate) fn plan_delete_block<V: Vfs>(
        &mut self,
        vfs: &mut V,
        id: &BlockId,
    ) -> Result<Plan, Error> {
        if !self.block_visible(vfs, id)? {
            return Err(Error::NotFound);
        }
        let mut visible = 0usize;
        let mut self_edges = 0u64;
        for outgoing in [true, false] {
            visible += self.merge_edges(vfs, id, outgoing, &EdgeFilter::All, |record| {
                if !outgoing && record.other == record.key_id {
                    self_edges += 1;
                }
                true
            })?;
        }
        Ok(Plan {
            entries: self.memtable.new_entries(&[*id]) + narrow_u32(visible),
            edge_records: visible,
            edges_removed: visible as u64 - self_edges,
            ..Plan::default()
        })
    }

    /// Tombstones every visible edge of `id`, then the block. Reads tables again, so it can
    /// fail; the engine poisons itself if it does (the write is already logged).
    pub(crate) fn apply_delete_block<V: Vfs>(
        &mut self,
        vfs: &mut V,
        plan: &Plan,
        id: &BlockId,
        sequence: u64,
    ) -> Result<(), Error> {
        // Each round tombstones at least one visible edge, so rounds are bounded by them.
        for _ in 0..=plan.edge_records {
            let mut round: heapless::Vec<Edge, DELETE_ROUND_EDGES> = heapless::Vec::new();
            for outgoing in [true, false] {
                if round.is_full() {
                    break;
                }
                self.merge_edges(vfs, id, outgoing, &EdgeFilter::All, |record| {
                    let edge = if outgoing {
                        Edge {
                            source: record.key_id,
                            target: record.other,
                            edge_type: record.edge_type,
                        }
                    } else {
                        Edge {
                            source: record.other,
                            target: record.key_id,
                            edge_type: record.edge_type,
                        }
                    };
                    if !round.contains(&edge) {
                        let _ = round.push(edge);
                    }
                    !round.is_full()
                })?;
            }
            if round.is_empty() {
                self.memtable.delete_block(id, sequence);
                self.blocks_live -= 1;
                self.edges_live -= plan.edges_removed;
                return Ok(());
            }
            for edge in &round {
                self.memtable.set_edge(edge, false);
            }
        }
        Err(Error::Corruption { kind: CorruptionKind::Table })
    }

    /// Plans an edge put: `NotFound` unless both ends are visible; `None` if the edge is
    /// already visible (a no-op).
    pub(crate) fn plan_put_edge<V: Vfs>(
        &mut self,
        vfs: &mut V,
        edge: &Edge,
    ) -> Result<Option<Plan>, Error> {
        if !self.block_visible(vfs, &edge.source)? || !self.block_visible(vfs, &edge.target)? {
            return Err(Error::NotFound);
        }
        if self.edge_visible(vfs, edge)? {
            return Ok(None);
        }
        Ok(Some(self.edge_plan(edge)))
    }

    fn edge_plan(&self, edge: &Edge) -> Plan {
        Plan {
            entries: self.memtable.new_entries(&[edge.source, edge.target]),
            edge_records: usize::from(self.memtable.edge_needs_record(edge)),
            ..Plan::default()
        }
    }

    pub(crate) fn apply_put_edge(&mut self, edge: &Edge) {
        self.memtable.set_edge(edge, true);
        self.edges_live += 1;
    }

    /// Plans an edge delete: `NotFound` unless the edge is visible.
    pub(crate) fn plan_delete_edge<V: Vfs>(
        &mut self,
        vfs: &mut V,
        edge: &Edge,
    ) -> Result<Plan, Error> {
        if !self.edge_visible(vfs, edge)? {
            return Err(Error::NotFound);
        }
        Ok(self.edge_plan(edge))
    }

    pub(crate) fn apply_delete_edge(&mut self, edge: &Edge) {
        self.memtable.set_edge(edge, false);
        self.edges_live -= 1;
    }

    /// Whether the memtable has room for `plan`.
    pub(crate) fn room_for(&self, plan: &Plan) -> Result<(), Resource> {
        self.memtable.room_for(plan.entries, plan.payload_bytes, plan.edge_records)
    }

    pub(crate) fn tables_full(&self) -> bool {
        self.tables_count >= self.tables.len()
    }

    /// Writes the memtable as table `number` (synced). Tombstones are left out when there is
    /// no older table for them to shadow. The memtable is unchanged; on error the partial
    /// file is removed.
    pub(crate) fn write_table<V: Vfs>(
        &mut self,
        vfs: &mut V,
        number: u64,
        buffer: &mut [u8],
    ) -> Result<TableMeta, Error> {
        if self.tables_full() {
            return Err(Error::MemtableFull { resource: Resource::Tables });
        }
        let keep_tombstones = self.tables_count > 0;
        // The bloom filter holds block ids and the key ids of both edge sections.
        let keys =
            u64::from(self.memtable.entries_used()) + 2 * u64::from(self.memtable.edges_used());
        let target = self.table_page_bytes;
        let pool_start = self.pool.used;
        let mut writer = TableWriter::begin(
            vfs,
            &mut self.pool,
            number,
            keys,
            self.bloom_bits_per_key,
            buffer,
            target,
        )?;
        if let Err(error) = self.write_records(vfs, &mut writer, keep_tombstones) {
            writer.abandon(vfs, &mut self.pool);
            return Err(error);
        }
        writer.finish(vfs, &mut self.pool).inspect_err(|_| {
            // The partial file is an orphan, removed at the next open.
            self.pool.used = pool_start;
        })
    }

    fn write_records<V: Vfs>(
        &mut self,
        vfs: &mut V,
        writer: &mut TableWriter<'_>,
        keep_tombstones: bool,
    ) -> Result<(), Error> {
        let scratch = &mut *self.sort_scratch;
        for &index in self.memtable.sorted_blocks(scratch).iter() {
            let record = self.memtable.block_record(index);
            if keep_tombstones || !record.tombstone {
                writer.add_block(vfs, &mut self.pool, &record)?;
            }
        }
        for (outgoing, section) in [(true, Section::OutEdges), (false, Section::InEdges)] {
            let scratch = &mut *self.sort_scratch;
            for &index in self.memtable.sorted_edges(scratch, outgoing).iter() {
                let record = self.memtable.edge_record(index, outgoing);
                if keep_tombstones || !record.tombstone {
                    writer.add_edge(vfs, &mut self.pool, section, &record)?;
                }
            }
        }
        Ok(())
    }

    /// Makes `table` the newest level and empties the memtable (after the manifest names it).
    pub(crate) fn install(&mut self, table: TableMeta) {
        assert!(!self.tables_full());
        self.tables.copy_within(0..self.tables_count, 1);
        self.tables[0] = table;
        self.tables_count += 1;
        self.memtable.reset();
    }

    /// Forgets a table written but not installed (its pool bytes are the newest).
    pub(crate) fn discard<V: Vfs>(&mut self, vfs: &mut V, table: &TableMeta) {
        vfs.close(table.file);
        self.pool.used = table.pool_offset;
    }

    pub(crate) fn table_memory_used(&self) -> usize {
        self.pool.used
    }
}
