//! The memtable's edge store: one record per edge, found by a hash set on
//! (source, target, type) and linked into the source's outgoing list and the target's
//! incoming list (both doubly linked, so a delete is O(1) once the record is found).

use super::{slot_of, BlockEntry, NIL};
use crate::edge::{Direction, Edge, EdgeCount, EdgeFilter, EdgeType};

/// One stored edge. Endpoints are entry indices into the memtable's block entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct EdgeEntry {
    pub(crate) source: u32,
    pub(crate) target: u32,
    pub(crate) next_out: u32,
    pub(crate) prev_out: u32,
    pub(crate) next_in: u32,
    pub(crate) prev_in: u32,
    pub(crate) edge_type: EdgeType,
}

impl EdgeEntry {
    pub(crate) const EMPTY: EdgeEntry = EdgeEntry::new(NIL, NIL, EdgeType::IMPORTS);

    pub(crate) const fn new(source: u32, target: u32, edge_type: EdgeType) -> EdgeEntry {
        EdgeEntry {
            source,
            target,
            next_out: NIL,
            prev_out: NIL,
            next_in: NIL,
            prev_in: NIL,
            edge_type,
        }
    }

    fn same_key(&self, other: &EdgeEntry) -> bool {
        self.source == other.source
            && self.target == other.target
            && self.edge_type == other.edge_type
    }

    fn hash64(&self) -> u64 {
        let key = (u64::from(self.source) << 32 | u64::from(self.target))
            ^ u64::from(self.edge_type.code()).rotate_left(17);
        (key ^ (key >> 29)).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }
}

pub(crate) struct EdgeStore<'r> {
    slots: &'r mut [u32],
    records: &'r mut [EdgeEntry],
    /// Records ever handed out; those below it are live or on the free list.
    records_used: u32,
    /// Freed records, linked through `next_out`.
    free_head: u32,
    live: u32,
}

impl<'r> EdgeStore<'r> {
    pub(crate) fn new(slots: &'r mut [u32], records: &'r mut [EdgeEntry]) -> EdgeStore<'r> {
        assert!(slots.len().is_power_of_two());
        assert!(slots.len() >= 2 * records.len());
        EdgeStore { slots, records, records_used: 0, free_head: NIL, live: 0 }
    }

    pub(crate) fn live(&self) -> u32 {
        self.live
    }

    pub(crate) fn is_full(&self) -> bool {
        self.live as usize >= self.records.len()
    }

    /// The slot holding a record equal to `key`, or the empty slot where it would go.
    fn probe(&self, key: &EdgeEntry) -> (usize, Option<u32>) {
        let slot_count = self.slots.len();
        let mut slot = slot_of(key.hash64(), slot_count);
        for _ in 0..slot_count {
            let record = self.slots[slot];
            if record == NIL {
                return (slot, None);
            }
            if self.records[record as usize].same_key(key) {
                return (slot, Some(record));
            }
            slot = (slot + 1) & (slot_count - 1);
        }
        unreachable!("full edge index") // INVARIANT: slots >= 2 * records, checked in new()
    }

    pub(crate) fn find(&self, key: &EdgeEntry) -> Option<u32> {
        self.probe(key).1
    }

    /// Stores a new edge (not a duplicate; there is room) and links it at the head of both
    /// endpoint lists.
    pub(crate) fn insert(&mut self, blocks: &mut [BlockEntry], key: EdgeEntry) {
        let (slot, existing) = self.probe(&key);
        assert!(existing.is_none() && !self.is_full());
        let index = if self.free_head != NIL {
            let index = self.free_head;
            self.free_head = self.records[index as usize].next_out;
            index
        } else {
            self.records_used += 1;
            self.records_used - 1
        };
        let source = &mut blocks[key.source as usize];
        let next_out = source.out_head;
        source.out_head = index;
        let target = &mut blocks[key.target as usize];
        let next_in = target.in_head;
        target.in_head = index;
        if next_out != NIL {
            self.records[next_out as usize].prev_out = index;
        }
        if next_in != NIL {
            self.records[next_in as usize].prev_in = index;
        }
        self.records[index as usize] =
            EdgeEntry { next_out, prev_out: NIL, next_in, prev_in: NIL, ..key };
        self.slots[slot] = index;
        self.live += 1;
    }

    /// Unlinks and frees the record `index`.
    pub(crate) fn remove(&mut self, blocks: &mut [BlockEntry], index: u32) {
        let record = self.records[index as usize];
        let (slot, found) = self.probe(&record);
        assert_eq!(found, Some(index));
        self.remove_slot(slot);
        match record.prev_out {
            NIL => blocks[record.source as usize].out_head = record.next_out,
            prev => self.records[prev as usize].next_out = record.next_out,
        }
        if record.next_out != NIL {
            self.records[record.next_out as usize].prev_out = record.prev_out;
        }
        match record.prev_in {
            NIL => blocks[record.target as usize].in_head = record.next_in,
            prev => self.records[prev as usize].next_in = record.next_in,
        }
        if record.next_in != NIL {
            self.records[record.next_in as usize].prev_in = record.prev_in;
        }
        self.records[index as usize] = EdgeEntry { next_out: self.free_head, ..EdgeEntry::EMPTY };
        self.free_head = index;
        self.live -= 1;
    }

    /// Linear-probing deletion by backward shift: later records of the same probe run move
    /// up, so no tombstones accumulate and probes stay short.
    fn remove_slot(&mut self, mut hole: usize) {
        let mask = self.slots.len() - 1;
        let mut slot = hole;
        for _ in 0..self.slots.len() {
            slot = (slot + 1) & mask;
            let record = self.slots[slot];
            if record == NIL {
                break;
            }
            let home = slot_of(self.records[record as usize].hash64(), self.slots.len());
            // The record may move back into the hole only if that keeps it at or after its
            // home slot, i.e. its home is at least as far behind it as the hole is.
            let probe_distance = slot.wrapping_sub(home) & mask;
            let hole_distance = slot.wrapping_sub(hole) & mask;
            if probe_distance >= hole_distance {
                self.slots[hole] = record;
                hole = slot;
            }
        }
        self.slots[hole] = NIL;
    }

    /// Removes every edge that has `entry` as source or target.
    pub(crate) fn remove_all_of(&mut self, blocks: &mut [BlockEntry], entry: u32) {
        // Each removal shortens a list by one, so each loop runs at most `live` times.
        for _ in 0..=self.records.len() {
            let head = blocks[entry as usize].out_head;
            if head == NIL {
                break;
            }
            self.remove(blocks, head);
        }
        for _ in 0..=self.records.len() {
            let head = blocks[entry as usize].in_head;
            if head == NIL {
                break;
            }
            self.remove(blocks, head);
        }
    }

    /// Calls `visit` with each matching edge of `entry` (outgoing newest first, then
    /// incoming newest first) and returns how many matched.
    pub(crate) fn visit(
        &self,
        blocks: &[BlockEntry],
        entry: u32,
        direction: Direction,
        filter: &EdgeFilter<'_>,
        mut visit: impl FnMut(Edge),
    ) -> usize {
        let mut matched = 0;
        let block = &blocks[entry as usize];
        // One endpoint is the block itself: reading its id from `block` saves a cache miss
        // per edge on the hot path of every listing.
        let id_of = |index: u32| if index == entry { block.id } else { blocks[index as usize].id };
        let mut emit = |record: &EdgeEntry| {
            if filter.accepts(record.edge_type) {
                matched += 1;
                visit(Edge {
                    source: id_of(record.source),
                    target: id_of(record.target),
                    edge_type: record.edge_type,
                });
            }
        };
        if matches!(direction, Direction::Outgoing | Direction::Both) {
            let mut cursor = block.out_head;
            // A list holds at most every record once, so this bound is never the one that ends it.
            for _ in 0..self.records.len() {
                if cursor == NIL {
                    break;
                }
                let record = &self.records[cursor as usize];
                emit(record);
                cursor = record.next_out;
            }
        }
        if matches!(direction, Direction::Incoming | Direction::Both) {
            let mut cursor = block.in_head;
            for _ in 0..self.records.len() {
                if cursor == NIL {
                    break;
                }
                let record = &self.records[cursor as usize];
                // A self-edge was already listed among the outgoing edges.
                if !(direction == Direction::Both && record.source == record.target) {
                    emit(record);
                }
                cursor = record.next_in;
            }
        }
        matched
    }

    /// Writes the matching edges of `entry` into `out` and counts all matches.
    pub(crate) fn list(
        &self,
        blocks: &[BlockEntry],
        entry: u32,
        direction: Direction,
        filter: &EdgeFilter<'_>,
        out: &mut [Edge],
    ) -> EdgeCount {
        let mut written = 0;
        let total = self.visit(blocks, entry, direction, filter, |edge| {
            if let Some(slot) = out.get_mut(written) {
                *slot = edge;
                written += 1;
            }
        });
        debug_assert!(written <= out.len() && written <= total);
        EdgeCount { written, total }
    }
}
