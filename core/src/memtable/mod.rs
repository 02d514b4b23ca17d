//! The memtable: every block and edge written since open (or, once tables exist, since the
//! last flush), held in parts of the caller's region.
//!
//! - `block_slots` is an open-addressing (linear probing) index from id hash to an entry in
//!   `blocks`; it has at least twice as many slots as entries, so probes stay short and an
//!   empty slot always ends a probe. Entries are never removed: a delete turns the entry
//!   into a tombstone, which later issues need to shadow older tables.
//! - Payloads (uri, metadata, content, contiguous) are appended to `arena`; a replaced
//!   block's old payload stays until the memtable is emptied.
//! - Edges live in `edges` (see `edges.rs`): one record per edge, in a hash set for
//!   duplicate detection and in two doubly linked lists, the source's outgoing list and the
//!   target's incoming list, so both directions are visible the moment an edge is written.
//!
//! Every mutation is split into a `check_*` that can fail and an `apply_*` that cannot: the
//! engine checks, then logs to the WAL, then applies, so a logged write always applies.

mod edges;

use crate::edge::{Direction, Edge, EdgeCount, EdgeFilter};
use crate::error::Resource;
use crate::id::BlockId;
pub(crate) use edges::{EdgeEntry, EdgeStore};

/// Marks an empty slot or the end of a list.
pub(crate) const NIL: u32 = u32::MAX;

/// One block version or tombstone.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BlockEntry {
    pub(crate) id: BlockId,
    pub(crate) sequence: u64,
    pub(crate) payload_offset: u32,
    pub(crate) source_uri_bytes: u32,
    pub(crate) metadata_bytes: u32,
    pub(crate) content_bytes: u32,
    pub(crate) out_head: u32,
    pub(crate) in_head: u32,
    pub(crate) tombstone: bool,
}

impl BlockEntry {
    pub(crate) const EMPTY: BlockEntry = BlockEntry {
        id: BlockId::ZERO,
        sequence: 0,
        payload_offset: 0,
        source_uri_bytes: 0,
        metadata_bytes: 0,
        content_bytes: 0,
        out_head: NIL,
        in_head: NIL,
        tombstone: false,
    };
}

/// A borrowed, zero-copy view of a stored block. It borrows the engine, so the borrow
/// checker ends it before the next write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockView<'a> {
    pub id: BlockId,
    /// Engine-assigned; a newer write of the same id has a higher sequence.
    pub sequence: u64,
    /// Validated UTF-8 (see `source_uri_str`).
    pub source_uri: &'a [u8],
    /// One validated JSON object.
    pub metadata_json: &'a [u8],
    pub content: &'a [u8],
}

impl<'a> BlockView<'a> {
    /// The source URI as text. Writes validate UTF-8, so this fails only if that
    /// invariant was broken.
    pub fn source_uri_str(&self) -> Option<&'a str> {
        core::str::from_utf8(self.source_uri).ok()
    }
}

/// The parts of the region the memtable owns.
pub(crate) struct MemtableParts<'r> {
    pub(crate) block_slots: &'r mut [u32],
    pub(crate) blocks: &'r mut [BlockEntry],
    pub(crate) edge_slots: &'r mut [u32],
    pub(crate) edges: &'r mut [EdgeEntry],
    pub(crate) arena: &'r mut [u8],
}

pub(crate) struct Memtable<'r> {
    block_slots: &'r mut [u32],
    blocks: &'r mut [BlockEntry],
    blocks_used: u32,
    blocks_live: u32,
    arena: &'r mut [u8],
    arena_bytes_used: u32,
    edges: EdgeStore<'r>,
}

/// Index of the first slot to probe for `hash` in a power-of-two table.
pub(crate) fn slot_of(hash: u64, slot_count: usize) -> usize {
    debug_assert!(slot_count.is_power_of_two());
    (hash as usize) & (slot_count - 1)
}

impl<'r> Memtable<'r> {
    pub(crate) fn new(parts: MemtableParts<'r>) -> Memtable<'r> {
        assert!(parts.block_slots.len().is_power_of_two());
        assert!(parts.block_slots.len() >= 2 * parts.blocks.len());
        assert!(u32::try_from(parts.arena.len()).is_ok());
        Memtable {
            block_slots: parts.block_slots,
            blocks: parts.blocks,
            blocks_used: 0,
            blocks_live: 0,
            arena: parts.arena,
            arena_bytes_used: 0,
            edges: EdgeStore::new(parts.edge_slots, parts.edges),
        }
    }

    /// The slot holding `id`, or the empty slot where it would go.
    fn probe(&self, id: &BlockId) -> (usize, Option<u32>) {
        let slot_count = self.block_slots.len();
        let mut slot = slot_of(id.hash64(), slot_count);
        // At most half the slots are full, so an empty one ends the probe within the bound.
        for _ in 0..slot_count {
            let entry = self.block_slots[slot];
            if entry == NIL {
                return (slot, None);
            }
            if self.blocks[entry as usize].id == *id {
                return (slot, Some(entry));
            }
            slot = (slot + 1) & (slot_count - 1);
        }
        unreachable!("full block index") // INVARIANT: slots >= 2 * entries, checked in new()
    }

    /// The entry of `id` (live or tombstone).
    pub(crate) fn entry_of(&self, id: &BlockId) -> Option<u32> {
        self.probe(id).1
    }

    /// The entry of `id` if it is a live block.
    pub(crate) fn live_entry_of(&self, id: &BlockId) -> Option<u32> {
        self.entry_of(id).filter(|&entry| !self.blocks[entry as usize].tombstone)
    }

    pub(crate) fn find(&self, id: &BlockId) -> Option<BlockView<'_>> {
        let entry = &self.blocks[self.live_entry_of(id)? as usize];
        let start = entry.payload_offset as usize;
        let uri_end = start + entry.source_uri_bytes as usize;
        let metadata_end = uri_end + entry.metadata_bytes as usize;
        let content_end = metadata_end + entry.content_bytes as usize;
        debug_assert!(content_end <= self.arena_bytes_used as usize);
        Some(BlockView {
            id: entry.id,
            sequence: entry.sequence,
            source_uri: &self.arena[start..uri_end],
            metadata_json: &self.arena[uri_end..metadata_end],
            content: &self.arena[metadata_end..content_end],
        })
    }

    /// Whether a put of `id` with `payload_bytes` of payload fits.
    pub(crate) fn check_put(&self, id: &BlockId, payload_bytes: usize) -> Result<(), Resource> {
        if self.entry_of(id).is_none() && self.blocks_used as usize >= self.blocks.len() {
            return Err(Resource::Blocks);
        }
        let arena_free = self.arena.len() - self.arena_bytes_used as usize;
        if payload_bytes > arena_free {
            return Err(Resource::ArenaBytes);
        }
        Ok(())
    }

    /// Stores a new version of a block; `check_put` must have passed. A replaced block keeps
    /// its edges; a tombstone becomes live again with no edges.
    pub(crate) fn apply_put(&mut self, id: &BlockId, sequence: u64, parts: [&[u8]; 3]) {
        let payload_bytes: usize = parts.iter().map(|part| part.len()).sum();
        debug_assert!(self.check_put(id, payload_bytes).is_ok());
        let offset = self.arena_bytes_used as usize;
        let mut end = offset;
        for part in parts {
            self.arena[end..end + part.len()].copy_from_slice(part);
            end += part.len();
        }
        // Lengths are bounded by the config limits, far below u32::MAX.
        self.arena_bytes_used = end as u32;
        let (slot, existing) = self.probe(id);
        let entry_index = match existing {
            Some(entry) => entry,
            None => {
                let entry = self.blocks_used;
                self.blocks_used += 1;
                self.block_slots[slot] = entry;
                self.blocks[entry as usize] = BlockEntry { id: *id, ..BlockEntry::EMPTY };
                self.blocks[entry as usize].tombstone = true;
                entry
            }
        };
        let entry = &mut self.blocks[entry_index as usize];
        debug_assert!(sequence > entry.sequence || existing.is_none());
        if entry.tombstone {
            self.blocks_live += 1;
        }
        entry.sequence = sequence;
        entry.payload_offset = offset as u32;
        entry.source_uri_bytes = parts[0].len() as u32;
        entry.metadata_bytes = parts[1].len() as u32;
        entry.content_bytes = parts[2].len() as u32;
        entry.tombstone = false;
    }

    /// Turns a live block into a tombstone and removes its edges in both directions.
    pub(crate) fn apply_delete(&mut self, entry_index: u32, sequence: u64) {
        let entry = &mut self.blocks[entry_index as usize];
        assert!(!entry.tombstone, "delete of a tombstone must be refused by the caller");
        debug_assert!(sequence > entry.sequence);
        entry.sequence = sequence;
        entry.tombstone = true;
        entry.source_uri_bytes = 0;
        entry.metadata_bytes = 0;
        entry.content_bytes = 0;
        self.blocks_live -= 1;
        self.edges.remove_all_of(self.blocks, entry_index);
        let entry = &self.blocks[entry_index as usize];
        debug_assert!(entry.out_head == NIL && entry.in_head == NIL);
    }

    /// The edge record to insert for `edge`: `Ok(None)` if it already exists (a no-op),
    /// `Err(None)` if an endpoint is not a live block, `Err(Some(Edges))` if full.
    pub(crate) fn check_put_edge(
        &self,
        edge: &Edge,
    ) -> Result<Option<EdgeEntry>, Option<Resource>> {
        let source = self.live_entry_of(&edge.source).ok_or(None)?;
        let target = self.live_entry_of(&edge.target).ok_or(None)?;
        let record = EdgeEntry::new(source, target, edge.edge_type);
        if self.edges.find(&record).is_some() {
            return Ok(None);
        }
        if self.edges.is_full() {
            return Err(Some(Resource::Edges));
        }
        Ok(Some(record))
    }

    pub(crate) fn apply_put_edge(&mut self, record: EdgeEntry) {
        self.edges.insert(self.blocks, record);
    }

    /// The index of the stored edge equal to `edge`, if both endpoints are live and it exists.
    pub(crate) fn find_edge(&self, edge: &Edge) -> Option<u32> {
        let source = self.live_entry_of(&edge.source)?;
        let target = self.live_entry_of(&edge.target)?;
        self.edges.find(&EdgeEntry::new(source, target, edge.edge_type))
    }

    pub(crate) fn apply_delete_edge(&mut self, edge_index: u32) {
        self.edges.remove(self.blocks, edge_index);
    }

    /// Lists the edges of the live block `entry_index` into `out`.
    pub(crate) fn edges_of(
        &self,
        entry_index: u32,
        direction: Direction,
        filter: &EdgeFilter<'_>,
        out: &mut [Edge],
    ) -> EdgeCount {
        self.edges.list(self.blocks, entry_index, direction, filter, out)
    }

    /// Calls `visit` with each matching edge of the live block `entry_index`.
    pub(crate) fn visit_edges(
        &self,
        entry_index: u32,
        direction: Direction,
        filter: &EdgeFilter<'_>,
        visit: impl FnMut(Edge),
    ) -> usize {
        self.edges.visit(self.blocks, entry_index, direction, filter, visit)
    }

    pub(crate) fn blocks_live(&self) -> u32 {
        self.blocks_live
    }

    pub(crate) fn blocks_used(&self) -> u32 {
        self.blocks_used
    }

    pub(crate) fn edges_live(&self) -> u32 {
        self.edges.live()
    }

    pub(crate) fn arena_bytes_used(&self) -> u32 {
        self.arena_bytes_used
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::edge::EdgeType;
    use crate::region::{carve, memory_bytes_required};
    use crate::vfs::sim::SimRng;
    use std::collections::BTreeSet;
    use std::vec::Vec;

    fn config() -> Config {
        Config {
            blocks_max: 16,
            edges_max: 24,
            arena_bytes_max: 2048,
            source_uri_bytes_max: 32,
            metadata_bytes_max: 32,
            content_bytes_max: 128,
            wal_segment_bytes_max: 1024,
            wal_segments_max: 2,
            wal_buffer_bytes: 512,
            read_buffer_bytes: 512,
            files_max: 3,
            ..Config::DEFAULT
        }
    }

    fn id(value: u64) -> BlockId {
        BlockId::from_u128(u128::from(value))
    }

    /// Random puts, deletes and edge changes on carved region parts (the typed slices the
    /// unsafe in region.rs produced), checked against sets after every step. Runs under Miri.
    #[test]
    fn edges_stay_consistent_in_both_directions_under_random_changes() {
        let config = config();
        let mut region = std::vec![0u8; memory_bytes_required(&config)];
        let parts = carve(&config, &mut region).unwrap();
        let mut memtable = Memtable::new(parts.memtable);
        let mut rng = SimRng::new(3);
        let mut live: BTreeSet<u64> = BTreeSet::new();
        let mut edges: BTreeSet<(u64, u64, u16)> = BTreeSet::new();
        let mut sequence = 0;
        let steps = if cfg!(miri) { 150 } else { 3000 };
        for _ in 0..steps {
            sequence += 1;
            let (a, b) = (1 + rng.below(6), 1 + rng.below(6));
            let edge_type = [EdgeType::CALLS, EdgeType::IMPORTS][rng.below(2) as usize];
            let edge = Edge { source: id(a), target: id(b), edge_type };
            match rng.below(8) {
                0 | 1 => {
                    if memtable.check_put(&id(a), 3).is_ok() {
                        memtable.apply_put(&id(a), sequence, [b"u", b"{}", b""]);
                        live.insert(a);
                    }
                }
                2 => {
                    if let Some(entry) = memtable.live_entry_of(&id(a)) {
                        memtable.apply_delete(entry, sequence);
                        live.remove(&a);
                        edges.retain(|&(source, target, _)| source != a && target != a);
                    }
                }
                3..=5 => match memtable.check_put_edge(&edge) {
                    Ok(Some(record)) => {
                        memtable.apply_put_edge(record);
                        assert!(edges.insert((a, b, edge_type.code())));
                    }
                    Ok(None) => assert!(edges.contains(&(a, b, edge_type.code()))),
                    Err(None) => assert!(!live.contains(&a) || !live.contains(&b)),
                    Err(Some(_)) => assert_eq!(edges.len(), 24),
                },
                _ => match memtable.find_edge(&edge) {
                    Some(index) => {
                        memtable.apply_delete_edge(index);
                        assert!(edges.remove(&(a, b, edge_type.code())));
                    }
                    None => assert!(!edges.contains(&(a, b, edge_type.code()))),
                },
            }
            check(&memtable, &live, &edges);
        }
    }

    fn check(memtable: &Memtable<'_>, live: &BTreeSet<u64>, edges: &BTreeSet<(u64, u64, u16)>) {
        assert_eq!(memtable.edges_live() as usize, edges.len());
        assert_eq!(memtable.blocks_live() as usize, live.len());
        let mut out = [Edge::EMPTY; 32];
        for &block in live {
            let entry = memtable.live_entry_of(&id(block)).unwrap();
            for direction in [Direction::Outgoing, Direction::Incoming] {
                let count = memtable.edges_of(entry, direction, &EdgeFilter::All, &mut out);
                let mut got: Vec<(u64, u64, u16)> = out[..count.written]
                    .iter()
                    .map(|e| {
                        (e.source.to_u128() as u64, e.target.to_u128() as u64, e.edge_type.code())
                    })
                    .collect();
                got.sort();
                let expected: Vec<_> = edges
                    .iter()
                    .filter(|(s, t, _)| {
                        if direction == Direction::Outgoing {
                            *s == block
                        } else {
                            *t == block
                        }
                    })
                    .copied()
                    .collect();
                assert_eq!(got, expected, "{direction:?} of {block}");
            }
            let both = memtable.edges_of(entry, Direction::Both, &EdgeFilter::All, &mut out);
            let touching = edges.iter().filter(|(s, t, _)| *s == block || *t == block).count();
            assert_eq!(both.total, touching, "a self-edge is listed once");
        }
    }

    #[test]
    fn a_small_output_buffer_reports_the_total() {
        let config = config();
        let mut region = std::vec![0u8; memory_bytes_required(&config)];
        let parts = carve(&config, &mut region).unwrap();
        let mut memtable = Memtable::new(parts.memtable);
        for value in 1..=4 {
            memtable.apply_put(&id(value), value, [b"", b"{}", b""]);
        }
        for target in 2..=4 {
            let edge = Edge { source: id(1), target: id(target), edge_type: EdgeType::CALLS };
            let record = memtable.check_put_edge(&edge).unwrap().unwrap();
            memtable.apply_put_edge(record);
        }
        let entry = memtable.live_entry_of(&id(1)).unwrap();
        let mut out = [Edge::EMPTY; 2];
        let count = memtable.edges_of(entry, Direction::Outgoing, &EdgeFilter::All, &mut out);
        assert_eq!((count.written, count.total, count.truncated()), (2, 3, true));
        // Newest first: the last edge put is listed first.
        assert_eq!(out[0].target, id(4));
        let only = EdgeFilter::Only(EdgeType::IMPORTS);
        assert_eq!(memtable.edges_of(entry, Direction::Outgoing, &only, &mut out).total, 0);
    }
}
