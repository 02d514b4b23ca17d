//! The four writes, each in two steps: `plan_*` does every read (which may fail) and counts
//! the memtable room the write needs; the engine logs it; `apply_*` changes the memtable and
//! the live counts, reading only what planning proved readable.

use super::{Plan, Store, DELETE_ROUND_EDGES};
use crate::codec::narrow_u32;
use crate::edge::{Edge, EdgeFilter};
use crate::error::Error;
use crate::id::BlockId;
use crate::table::DAMAGED;
use crate::vfs::Vfs;

impl<'r> Store<'r> {
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
        Err(DAMAGED)
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
}
