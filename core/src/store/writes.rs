//! The four writes, each in two steps: `plan_*` does every read (which may fail) and counts
//! the memtable room the write needs; the engine logs it; `apply_*` changes the memtable and
//! the live counts, reading only what planning proved readable.

use super::{Plan, Store};
use crate::codec::narrow_u32;
use crate::edge::{Edge, EdgeFilter};
use crate::error::Error;
use crate::id::BlockId;
use crate::memtable::EdgeEnds;
use crate::table::DAMAGED;
use crate::vfs::Vfs;

/// Where a delete hands each round of edges it removes, with the region's scratch for
/// encoding them (the engine logs the round; replay, which logs nothing, ignores it).
pub(crate) type RoundLog<'l, V> = dyn FnMut(&mut V, &[Edge], &mut [u8]) -> Result<(), Error> + 'l;

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

    /// `None` (and nothing changed) if the live count would overflow: only damage could put
    /// a count that high (a manifest counting more than `LIVE_COUNT_MAX` is refused).
    pub(crate) fn apply_put_block(
        &mut self,
        plan: &Plan,
        id: &BlockId,
        sequence: u64,
        parts: [&[u8]; 3],
    ) -> Option<()> {
        let blocks_live = self.blocks_live.checked_add(u64::from(plan.new_block))?;
        self.memtable.put_block(id, sequence, parts);
        self.blocks_live = blocks_live;
        Some(())
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
        let entry = self.memtable.entry_of(id);
        for outgoing in [true, false] {
            visible += self.merge_edges(vfs, id, entry, outgoing, &EdgeFilter::All, |record| {
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

    /// Tombstones every visible edge of `id`, in rounds of at most `per_round` edges (and at
    /// most the region's round: `Config::deleted_edges_per_frame`), handing each round to
    /// `log` with the region's scratch for encoding it before it is applied. Returns how many
    /// edges it removed. Reads tables, so it can fail; the engine poisons itself if it does
    /// once anything is logged. `log` is `dyn` (called once a round): one compiled delete
    /// serves the engine's log and replay's, which logs nothing.
    pub(crate) fn remove_edges_of<V: Vfs>(
        &mut self,
        vfs: &mut V,
        id: &BlockId,
        plan: &Plan,
        per_round: usize,
        log: &mut RoundLog<'_, V>,
    ) -> Result<u64, Error> {
        // The round and its scratch are the region's (taken for the delete, given back
        // after): a round of 64 edges on the stack cost 3.6 KiB of a firmware's stack.
        let round = core::mem::take(&mut self.delete_round);
        let scratch = core::mem::take(&mut self.delete_scratch);
        let removed = self.remove_edges_in_rounds(vfs, id, plan, per_round, log, round, scratch);
        self.delete_round = round;
        self.delete_scratch = scratch;
        removed
    }

    #[allow(clippy::too_many_arguments)] // remove_edges_of's, and the region parts it lends
    fn remove_edges_in_rounds<V: Vfs>(
        &mut self,
        vfs: &mut V,
        id: &BlockId,
        plan: &Plan,
        per_round: usize,
        log: &mut RoundLog<'_, V>,
        round: &mut [Edge],
        scratch: &mut [u8],
    ) -> Result<u64, Error> {
        let mut removed = 0u64;
        // Each round removes at least one visible edge, so rounds are bounded by them.
        for _ in 0..=plan.edge_records {
            let count = self.deleted_edges_round(vfs, id, round, per_round)?;
            if count == 0 {
                debug_assert_eq!(removed, plan.edges_removed);
                return Ok(removed);
            }
            log(vfs, &round[..count], scratch)?;
            self.tombstone_edges(round[..count].iter().copied());
            removed += count as u64;
        }
        Err(DAMAGED)
    }

    /// Collects up to `limit` (at most the round's length) distinct visible edges of `id`
    /// into `round`: the next edges a delete removes. Returns how many.
    fn deleted_edges_round<V: Vfs>(
        &mut self,
        vfs: &mut V,
        id: &BlockId,
        round: &mut [Edge],
        limit: usize,
    ) -> Result<usize, Error> {
        let limit = limit.min(round.len());
        assert!(limit >= 1, "a delete round holds at least one edge");
        let entry = self.memtable.entry_of(id);
        let mut count = 0;
        for outgoing in [true, false] {
            if count >= limit {
                break;
            }
            self.merge_edges(vfs, id, entry, outgoing, &EdgeFilter::All, |record| {
                let (source, target) = if outgoing {
                    (record.key_id, record.other)
                } else {
                    (record.other, record.key_id)
                };
                let edge = Edge { source, target, edge_type: record.edge_type };
                // A self-edge is listed both ways; it is removed once.
                if !round[..count].contains(&edge) {
                    round[count] = edge;
                    count += 1;
                }
                count < limit
            })?;
        }
        Ok(count)
    }

    /// Tombstones edges a delete removes (live, or replayed from its deleted-edges frames);
    /// the live counts change when the delete finishes.
    pub(crate) fn tombstone_edges(&mut self, edges: impl IntoIterator<Item = Edge>) {
        for edge in edges {
            self.memtable.set_edge(&edge, false);
        }
    }

    /// The last step of a delete, once its edges are tombstoned: the block's tombstone and
    /// the live counts. `None` (and nothing changed) if the counts say the store never held
    /// what the delete removes: a log that contradicts the manifest.
    pub(crate) fn finish_delete_block(
        &mut self,
        id: &BlockId,
        sequence: u64,
        edges_removed: u64,
    ) -> Option<()> {
        let blocks_live = self.blocks_live.checked_sub(1)?;
        let edges_live = self.edges_live.checked_sub(edges_removed)?;
        self.memtable.delete_block(id, sequence);
        self.blocks_live = blocks_live;
        self.edges_live = edges_live;
        Some(())
    }

    /// Plans an edge put: `NotFound` unless both ends are visible; `None` if the edge is
    /// already visible (a no-op).
    pub(crate) fn plan_put_edge<V: Vfs>(
        &mut self,
        vfs: &mut V,
        edge: &Edge,
    ) -> Result<Option<Plan>, Error> {
        // The memtable is asked once for both ends and the edge, for every question below.
        let ends = self.memtable.edge_ends(edge);
        if !self.block_visible_at(vfs, &edge.source, ends.source)?
            || !self.block_visible_at(vfs, &edge.target, ends.target)?
        {
            return Err(Error::NotFound);
        }
        if self.edge_visible(vfs, edge, ends.state)? {
            return Ok(None);
        }
        Ok(Some(room_plan(ends)))
    }

    /// The room an edge put or delete needs in the memtable: memtable reads only (replay
    /// of a logged edge write plans with this alone).
    pub(crate) fn edge_plan(&self, edge: &Edge) -> Plan {
        room_plan(self.memtable.edge_ends(edge))
    }

    /// `None` (and nothing changed) if the live count would overflow, as `apply_put_block`.
    pub(crate) fn apply_put_edge(&mut self, edge: &Edge) -> Option<()> {
        self.edges_live = self.edges_live.checked_add(1)?;
        self.memtable.set_edge(edge, true);
        Some(())
    }

    /// Plans an edge delete: `NotFound` unless the edge is visible.
    pub(crate) fn plan_delete_edge<V: Vfs>(
        &mut self,
        vfs: &mut V,
        edge: &Edge,
    ) -> Result<Plan, Error> {
        let ends = self.memtable.edge_ends(edge);
        if !self.edge_visible(vfs, edge, ends.state)? {
            return Err(Error::NotFound);
        }
        Ok(room_plan(ends))
    }

    /// `None` (and nothing changed) if no edge is live: a replayed log that contradicts
    /// the manifest's counts. A live delete planned that the edge is visible.
    pub(crate) fn apply_delete_edge(&mut self, edge: &Edge) -> Option<()> {
        self.edges_live = self.edges_live.checked_sub(1)?;
        self.memtable.set_edge(edge, false);
        Some(())
    }
}

/// The memtable room of setting an edge whose ends are `ends`.
fn room_plan(ends: EdgeEnds) -> Plan {
    let (entries, needs_record) = ends.room();
    Plan { entries, edge_records: usize::from(needs_record), ..Plan::default() }
}
