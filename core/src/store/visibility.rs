//! Visibility: whether a block or an edge is live, decided by the newest level that knows it
//! (the memtable, the frozen memtable, then the tables newest first), and the live version
//! of a block.

use super::Store;
use crate::edge::Edge;
use crate::error::Error;
use crate::id::BlockId;
use crate::memtable::{BlockView, EdgeState, EntryState};
use crate::record::BlockRecord;
use crate::table::cursor::EdgeCursor;
use crate::table::format::Section;
use crate::table::{bloom, lookup, DAMAGED};
use crate::vfs::Vfs;

impl<'r> Store<'r> {
    /// Whether block `id` is live: the newest level that knows it decides.
    pub(crate) fn block_visible<V: Vfs>(
        &mut self,
        vfs: &mut V,
        id: &BlockId,
    ) -> Result<bool, Error> {
        let entry = self.memtable.entry_of(id);
        self.block_visible_at(vfs, id, entry)
    }

    /// `block_visible` with `id`'s memtable entry (`None`: it has none) looked up already.
    /// A stub counts as live (see `Memtable::block_state`).
    pub(crate) fn block_visible_at<V: Vfs>(
        &mut self,
        vfs: &mut V,
        id: &BlockId,
        entry: Option<u32>,
    ) -> Result<bool, Error> {
        debug_assert_eq!(entry, self.memtable.entry_of(id));
        if let Some(entry) = entry {
            return Ok(self.memtable.state_at(entry) != EntryState::Tombstone);
        }
        if self.flushing_frozen() {
            if let Some(live) = self.frozen.block_state(id) {
                return Ok(live);
            }
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
        if let Some(entry) = self.frozen_entry(id) {
            match self.frozen.state_at(entry) {
                EntryState::Live => return Ok(self.frozen.view_at(entry)),
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
            let (record, _) = BlockRecord::decode(bytes).ok_or(DAMAGED)?;
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
    /// `state` is the memtable's (`Memtable::edge_ends`), which the caller has asked already.
    pub(crate) fn edge_visible<V: Vfs>(
        &mut self,
        vfs: &mut V,
        edge: &Edge,
        state: EdgeState,
    ) -> Result<bool, Error> {
        debug_assert_eq!(state, self.memtable.edge_state(edge));
        let frozen = self.flushing_frozen().then(|| self.frozen.edge_state(edge));
        match (state, frozen) {
            (EdgeState::Live, _) | (EdgeState::Unknown, Some(EdgeState::Live)) => return Ok(true),
            (EdgeState::Tombstone, _) | (EdgeState::Unknown, Some(EdgeState::Tombstone)) => {
                return Ok(false)
            }
            _ => {}
        }
        let wanted = crate::record::edge_key(&edge.source, edge.edge_type, &edge.target);
        for table in &self.tables[..self.tables_count] {
            if !table.holds_edges()
                || !bloom::may_contain(self.pool.bloom(table), table.bloom, &edge.source)
            {
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
}
