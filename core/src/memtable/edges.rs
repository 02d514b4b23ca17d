//! The memtable's edge store: one record per (source, target, type), found through a hash
//! set and linked into the source's outgoing and the target's incoming list. A deleted
//! edge stays as a tombstone record: it must shadow the same edge in older tables until
//! the next flush. Records are only ever freed all at once, by `reset` after a flush.

use super::{slot_of, BlockEntry, NIL};
use crate::codec::narrow_u32;
use crate::edge::EdgeType;

/// One stored edge version. Endpoints are entry indices into the memtable's block entries.
/// Every field is a plain integer (as `BlockEntry`'s): any bytes are an `EdgeEntry`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct EdgeEntry {
    pub(crate) source: u32,
    pub(crate) target: u32,
    pub(crate) next_out: u32,
    pub(crate) next_in: u32,
    /// The index slot naming this record (the sparse set's back link, as for blocks).
    pub(crate) slot: u32,
    pub(crate) edge_type: EdgeType,
    /// 1 for a tombstone, 0 for a live edge.
    tombstone: u8,
}

impl EdgeEntry {
    pub(crate) const fn new(source: u32, target: u32, edge_type: EdgeType) -> EdgeEntry {
        EdgeEntry {
            source,
            target,
            next_out: NIL,
            next_in: NIL,
            slot: NIL,
            edge_type,
            tombstone: 0,
        }
    }

    pub(crate) fn tombstone(&self) -> bool {
        self.tombstone != 0
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
    records_used: u32,
}

impl<'r> EdgeStore<'r> {
    pub(crate) fn new(slots: &'r mut [u32], records: &'r mut [EdgeEntry]) -> EdgeStore<'r> {
        assert!(slots.len().is_power_of_two());
        assert!(slots.len() >= 2 * records.len());
        EdgeStore { slots, records, records_used: 0 }
    }

    pub(crate) fn used(&self) -> u32 {
        self.records_used
    }

    pub(crate) fn capacity(&self) -> usize {
        self.records.len()
    }

    pub(crate) fn free(&self) -> usize {
        self.records.len() - self.records_used as usize
    }

    pub(crate) fn record(&self, index: u32) -> &EdgeEntry {
        &self.records[index as usize]
    }

    /// The slot holding a record equal to `key`, or the empty slot where it would go.
    fn probe(&self, key: &EdgeEntry) -> (usize, Option<u32>) {
        let slot_count = self.slots.len();
        let mut slot = slot_of(key.hash64(), slot_count);
        for _ in 0..slot_count {
            let record = self.slots[slot];
            // Full only if it names a record in use that names this slot back.
            let full = record < self.records_used
                && self.records[record as usize].slot == narrow_u32(slot);
            if !full {
                return (slot, None);
            }
            if self.records[record as usize].same_key(key) {
                return (slot, Some(record));
            }
            slot = (slot + 1) & (slot_count - 1);
        }
        // A full slot names a distinct one of the records in use (the sparse set's back link).
        unreachable!("full edge index") // INVARIANT: full slots <= records <= slots / 2 (new())
    }

    pub(crate) fn find(&self, key: &EdgeEntry) -> Option<u32> {
        self.probe(key).1
    }

    /// Stores `key` as live or tombstone: updates the record if there is one, else links a
    /// new one at the head of both endpoint lists. The caller checked there is room.
    pub(crate) fn set(&mut self, blocks: &mut [BlockEntry], key: EdgeEntry, tombstone: bool) {
        let (slot, existing) = self.probe(&key);
        if let Some(index) = existing {
            self.records[index as usize].tombstone = u8::from(tombstone);
            return;
        }
        assert!(self.free() > 0, "edge store full: the caller checks room first");
        let index = self.records_used;
        self.records_used += 1;
        let source = &mut blocks[key.source as usize];
        let next_out = source.out_head;
        source.out_head = index;
        let target = &mut blocks[key.target as usize];
        let next_in = target.in_head;
        target.in_head = index;
        let (slot_number, tombstone) = (narrow_u32(slot), u8::from(tombstone));
        self.records[index as usize] =
            EdgeEntry { next_out, next_in, slot: slot_number, tombstone, ..key };
        self.slots[slot] = index;
    }

    /// Writes the indices of `entry`'s outgoing (or incoming) records into `out`; returns
    /// how many there are (all of them fit: `out` holds every record).
    pub(crate) fn list(
        &self,
        blocks: &[BlockEntry],
        entry: u32,
        outgoing: bool,
        out: &mut [u32],
    ) -> usize {
        let block = &blocks[entry as usize];
        let mut cursor = if outgoing { block.out_head } else { block.in_head };
        let mut count = 0;
        // A list holds each record at most once, so the bound is never what ends it.
        for _ in 0..self.records.len() {
            if cursor == NIL {
                break;
            }
            if let Some(slot) = out.get_mut(count) {
                *slot = cursor;
                count += 1;
            }
            let record = &self.records[cursor as usize];
            cursor = if outgoing { record.next_out } else { record.next_in };
        }
        count
    }

    /// Calls `visit` with each record index of `entry`'s outgoing (or incoming) list,
    /// newest first, until it returns false.
    pub(crate) fn walk(
        &self,
        blocks: &[BlockEntry],
        entry: u32,
        outgoing: bool,
        mut visit: impl FnMut(u32) -> bool,
    ) {
        let block = &blocks[entry as usize];
        let mut cursor = if outgoing { block.out_head } else { block.in_head };
        // A list holds each record at most once, so the bound is never what ends it.
        for _ in 0..self.records.len() {
            if cursor == NIL || !visit(cursor) {
                return;
            }
            let record = &self.records[cursor as usize];
            cursor = if outgoing { record.next_out } else { record.next_in };
        }
    }

    /// Forgets every record (after a flush).
    pub(crate) fn reset(&mut self) {
        // No record in use: every slot reads empty, no clearing.
        self.records_used = 0;
    }
}
