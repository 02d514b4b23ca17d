//! The memtable: every block and edge version written since the last flush, held in parts
//! of the caller's region.
//!
//! - `block_slots` is an open-addressing (linear probing) index from id hash to an entry in
//!   `blocks`; it has at least twice as many slots as entries, so probes stay short and an
//!   empty slot always ends a probe. A slot is full only if it names an entry in use that
//!   names the slot back (a sparse set): so the index needs no clearing, neither at open
//!   (the region's bytes may be anything) nor at reset (no entry is in use), and opening a
//!   store costs what the store holds, not the memtable's capacity. The back links are an
//!   array of their own (`entry_slots`, 4 bytes an entry, not a field of the 56-byte
//!   entries), and a slot holds some bits of its id's hash beside the entry number (a tag):
//!   a probe for an id the memtable does not hold (most probes of a traversal over tables)
//!   reads two small arrays and no entry, where it read an entry for every full slot it
//!   passed (the memtable probe was a quarter of a 3-hop traversal's time). An entry is a live
//!   block, a tombstone (a delete that must shadow older tables), or a stub (an id that
//!   only anchors edge lists: its block lives in a table).
//! - Payloads (uri, metadata, content, contiguous) are appended to `arena`; a replaced
//!   block's old payload stays until the next flush empties the memtable.
//! - Edges live in `edges` (see `edges.rs`): one record per edge version, live or
//!   tombstone, in a hash set and in the source's outgoing and the target's incoming list.
//!
//! The memtable knows only its own versions; `store.rs` merges it with the tables. Every
//! change is made only after the caller checked `room_for`, so a logged write always applies.

mod edges;

use crate::codec::narrow_u32;
use crate::edge::Edge;
use crate::error::Resource;
use crate::id::BlockId;
use crate::record::{BlockRecord, EdgeRecord};
pub(crate) use edges::{EdgeEntry, EdgeStore};

/// Words of one record's sort key in `edges_of`'s scratch: its type, the other end's id
/// (four big-endian words: their order is the id's byte order) and the record's index.
#[cfg(not(feature = "small-code"))]
const KEYED_WORDS: usize = 6;

/// A record's sort key as `KEYED_WORDS` words, which order as the table key (type, then
/// other id) and then by index.
#[cfg(not(feature = "small-code"))]
fn keyed_words(edge_type: u16, other: &BlockId, index: u32) -> [u32; KEYED_WORDS] {
    let id = &other.0;
    let word = |at: usize| u32::from_be_bytes([id[at], id[at + 1], id[at + 2], id[at + 3]]);
    [u32::from(edge_type), word(0), word(4), word(8), word(12), index]
}

/// Marks an empty slot or the end of a list.
pub(crate) const NIL: u32 = u32::MAX;
/// Degree up to which a block's memtable edges are sorted through a stack array.
#[cfg_attr(feature = "small-code", allow(dead_code))]
const SMALL_DEGREE: usize = 64;
/// Degree up to which that array is a small one: the 64-record array is 1.5 KiB to fill
/// before the sort, and most listings have a handful of memtable edges or none (with one
/// or none there is nothing to sort). Measured at the benchmarks' realistic config
/// (callgrind, 20,000 incoming listings): 2,790 -> 2,726 instructions a listing.
#[cfg_attr(feature = "small-code", allow(dead_code))]
const FEW_DEGREE: usize = 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum EntryState {
    Live = 0,
    Tombstone = 1,
    /// No version of the block here; the entry anchors edge lists only.
    Stub = 2,
}

/// One block version, tombstone or stub. Every field is a plain integer (the state too),
/// so any bytes are a `BlockEntry`: the region is carved into entries without writing them
/// (see `region`), and only entries in use are ever read.
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
    /// `EntryState` as a byte.
    state: u8,
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
        state: EntryState::Stub as u8,
    };

    pub(crate) fn state(&self) -> EntryState {
        match self.state {
            0 => EntryState::Live,
            1 => EntryState::Tombstone,
            _ => EntryState::Stub,
        }
    }

    fn set_state(&mut self, state: EntryState) {
        self.state = state as u8;
    }
}

/// A borrowed, zero-copy view of a stored block. It borrows the engine, so the borrow
/// checker ends it before the next write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockView<'a> {
    /// The block's id.
    pub id: BlockId,
    /// Engine-assigned; a newer write of the same id has a higher sequence.
    pub sequence: u64,
    /// Validated UTF-8 (see `source_uri_str`).
    pub source_uri: &'a [u8],
    /// One validated JSON object.
    pub metadata_json: &'a [u8],
    /// The block's content: any bytes, up to `Config::content_bytes_max`.
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
    /// Per entry, the slot naming it (the sparse set's back link).
    pub(crate) entry_slots: &'r mut [u32],
    pub(crate) blocks: &'r mut [BlockEntry],
    pub(crate) edge_slots: &'r mut [u32],
    pub(crate) edges: &'r mut [EdgeEntry],
    pub(crate) arena: &'r mut [u8],
}

pub(crate) struct Memtable<'r> {
    /// Per slot: an entry number in the low `entry_bits` bits, a tag (hash bits) above.
    block_slots: &'r mut [u32],
    entry_slots: &'r mut [u32],
    entry_bits: u32,
    blocks: &'r mut [BlockEntry],
    entries_used: u32,
    arena: &'r mut [u8],
    arena_bytes_used: u32,
    edges: EdgeStore<'r>,
    /// Counts changes: an order computed at one generation holds until the next change.
    generation: u64,
}

/// Index of the first slot to probe for `hash` in a power-of-two table: the hash's *high*
/// bits, as Fibonacci hashing requires. `hash64` ends in a multiplication, which carries
/// entropy only upwards: sequential ids (`BlockId::from_u128(n)`, as a host that numbers
/// its symbols writes them) have hashes whose low 17 bits are all zero, so taking the low
/// bits put 30,000 such ids into a handful of slots and made every insert and probe walk
/// the whole cluster (a 30,000-node test load took 130 s).
#[expect(clippy::cast_possible_truncation, reason = "the shifted hash is below slot_count")]
pub(crate) fn slot_of(hash: u64, slot_count: usize) -> usize {
    debug_assert!(slot_count.is_power_of_two());
    let bits = slot_count.trailing_zeros();
    // A one-slot table has 0 bits to take (a shift by 64 would overflow).
    hash.checked_shr(64 - bits).unwrap_or(0) as usize
}

/// Bits of a slot that hold an entry number, for a memtable of `entries` entries: the rest
/// hold a tag. Entries are at most `ENTRIES_MAX_LIMIT` (2^26), so a tag has 6 bits or more.
fn entry_bits(entries: usize) -> u32 {
    usize::BITS - entries.saturating_sub(1).leading_zeros()
}

const _: () = assert!(crate::limits::ENTRIES_MAX_LIMIT <= 1 << 26);

/// What the memtable says about one edge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EdgeState {
    Live,
    Tombstone,
    /// No version here: older tables decide.
    Unknown,
}

/// What the memtable holds of an edge's ends and of the edge (`Memtable::edge_ends`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct EdgeEnds {
    /// Each end's entry (live, tombstone or stub), if it has one.
    pub(crate) source: Option<u32>,
    pub(crate) target: Option<u32>,
    self_edge: bool,
    /// The edge's version here (`Unknown` unless both ends have entries).
    pub(crate) state: EdgeState,
}

impl EdgeEnds {
    /// What setting the edge takes (room checks count these): new entries for its ends
    /// without one (a self-edge's end counted once), and whether it needs a new record
    /// (it has none here, live or tombstone).
    pub(crate) fn room(&self) -> (u32, bool) {
        let new_entries =
            u32::from(self.source.is_none()) + u32::from(self.target.is_none() && !self.self_edge);
        (new_entries, self.state == EdgeState::Unknown)
    }
}

impl<'r> Memtable<'r> {
    pub(crate) fn new(parts: MemtableParts<'r>) -> Memtable<'r> {
        assert!(parts.block_slots.len().is_power_of_two());
        assert!(parts.block_slots.len() >= 2 * parts.blocks.len());
        assert_eq!(parts.entry_slots.len(), parts.blocks.len());
        assert!(u32::try_from(parts.arena.len()).is_ok());
        Memtable {
            entry_bits: entry_bits(parts.blocks.len()),
            block_slots: parts.block_slots,
            entry_slots: parts.entry_slots,
            blocks: parts.blocks,
            entries_used: 0,
            arena: parts.arena,
            arena_bytes_used: 0,
            edges: EdgeStore::new(parts.edge_slots, parts.edges),
            generation: 0,
        }
    }

    /// Changes so far (every put, delete, edge and reset makes one).
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    /// The slot holding `id`, or the empty slot where it would go.
    fn probe(&self, id: &BlockId) -> (usize, Option<u32>) {
        let slot_count = self.block_slots.len();
        let hash = id.hash64();
        let mut slot = slot_of(hash, slot_count);
        let (tag, entry_mask) = (self.tag_of(hash), self.entry_mask());
        // At most half the slots are full, so an empty one ends the probe within the bound.
        for _ in 0..slot_count {
            let value = self.block_slots[slot];
            let entry = value & entry_mask;
            let in_use = entry < self.entries_used;
            // An entry in use that holds `id` is its entry, whichever slot names it (an id
            // has one entry), so a hit needs no back link: a traversal's probe of a node the
            // memtable holds reads the slot and the entry, not the back links too.
            if in_use && value & !entry_mask == tag && self.blocks[entry as usize].id == *id {
                return (slot, Some(entry));
            }
            // Full only if it names an entry in use that names this slot back.
            if !in_use || self.entry_slots[entry as usize] != narrow_u32(slot) {
                return (slot, None);
            }
            slot = (slot + 1) & (slot_count - 1);
        }
        // A full slot names a distinct one of the entries in use (the sparse set's back link).
        unreachable!("full block index") // INVARIANT: full slots <= entries <= slots / 2 (new())
    }

    /// The bits of a slot that hold an entry number.
    fn entry_mask(&self) -> u32 {
        u32::MAX.checked_shr(32 - self.entry_bits).unwrap_or(0)
    }

    /// The tag of an id whose hash is `hash`, in a slot's bits above the entry number: the
    /// hash's low bits (the slot number comes from its high bits).
    #[expect(clippy::cast_possible_truncation, reason = "the tag is the hash's low bits")]
    fn tag_of(&self, hash: u64) -> u32 {
        (hash as u32).checked_shl(self.entry_bits).unwrap_or(0)
    }

    /// The entry of `id` (live, tombstone or stub).
    pub(crate) fn entry_of(&self, id: &BlockId) -> Option<u32> {
        self.probe(id).1
    }

    /// What the memtable knows of `id`: `Some(true)` live, `Some(false)` deleted, `None`
    /// unknown here. A stub counts as live: stubs are made only for the endpoints of
    /// visible edges, which are live blocks, and any later put or delete of the id turns
    /// the stub into a version; a flush clears them all.
    pub(crate) fn block_state(&self, id: &BlockId) -> Option<bool> {
        let entry = &self.blocks[self.entry_of(id)? as usize];
        match entry.state() {
            EntryState::Live | EntryState::Stub => Some(true),
            EntryState::Tombstone => Some(false),
        }
    }

    /// The state of entry `entry`.
    pub(crate) fn state_at(&self, entry: u32) -> EntryState {
        self.blocks[entry as usize].state()
    }

    /// The live block `id`, if the memtable holds it live.
    #[cfg(test)]
    pub(crate) fn find(&self, id: &BlockId) -> Option<BlockView<'_>> {
        self.view_at(self.entry_of(id)?)
    }

    /// The block version in entry `entry`, if it is a live version (not a stub or tombstone).
    pub(crate) fn view_at(&self, entry: u32) -> Option<BlockView<'_>> {
        let entry = &self.blocks[entry as usize];
        if entry.state() != EntryState::Live {
            return None;
        }
        let record = self.record_of(entry);
        Some(BlockView {
            id: record.id,
            sequence: record.sequence,
            source_uri: record.source_uri,
            metadata_json: record.metadata_json,
            content: record.content,
        })
    }

    fn record_of<'a>(&'a self, entry: &BlockEntry) -> BlockRecord<'a> {
        let start = entry.payload_offset as usize;
        let uri_end = start + entry.source_uri_bytes as usize;
        let metadata_end = uri_end + entry.metadata_bytes as usize;
        let content_end = metadata_end + entry.content_bytes as usize;
        debug_assert!(content_end <= self.arena_bytes_used as usize);
        BlockRecord {
            id: entry.id,
            sequence: entry.sequence,
            tombstone: entry.state() == EntryState::Tombstone,
            source_uri: &self.arena[start..uri_end],
            metadata_json: &self.arena[uri_end..metadata_end],
            content: &self.arena[metadata_end..content_end],
        }
    }

    /// How many of `ids` have no entry yet (each would need one).
    pub(crate) fn new_entries(&self, ids: &[BlockId]) -> u32 {
        let mut count = 0;
        for (index, id) in ids.iter().enumerate() {
            let repeated = ids[..index].contains(id);
            if !repeated && self.entry_of(id).is_none() {
                count += 1;
            }
        }
        count
    }

    /// Whether `entries` new block entries, `payload_bytes` of payload and `edges` new edge
    /// records fit.
    pub(crate) fn room_for(
        &self,
        entries: u32,
        payload_bytes: usize,
        edges: usize,
    ) -> Result<(), Resource> {
        if (self.entries_used + entries) as usize > self.blocks.len() {
            return Err(Resource::MemtableEntries);
        }
        if payload_bytes > self.arena.len() - self.arena_bytes_used as usize {
            return Err(Resource::MemtableArenaBytes);
        }
        if edges > self.edges.free() {
            return Err(Resource::MemtableEdges);
        }
        Ok(())
    }

    /// The entry of `id`, created as a stub if there is none. The caller checked room.
    fn ensure_entry(&mut self, id: &BlockId) -> u32 {
        let (slot, existing) = self.probe(id);
        if let Some(entry) = existing {
            return entry;
        }
        assert!((self.entries_used as usize) < self.blocks.len(), "caller checks room first");
        let entry = self.entries_used;
        self.entries_used += 1;
        self.block_slots[slot] = entry | self.tag_of(id.hash64());
        self.entry_slots[entry as usize] = narrow_u32(slot);
        self.blocks[entry as usize] = BlockEntry { id: *id, ..BlockEntry::EMPTY };
        entry
    }

    /// Stores a new version of a block (room checked). Its edge lists are untouched.
    pub(crate) fn put_block(&mut self, id: &BlockId, sequence: u64, parts: [&[u8]; 3]) {
        self.generation += 1;
        let offset = self.arena_bytes_used as usize;
        let mut end = offset;
        for part in parts {
            self.arena[end..end + part.len()].copy_from_slice(part);
            end += part.len();
        }
        // Lengths are bounded by the config limits, far below u32::MAX.
        self.arena_bytes_used = narrow_u32(end);
        let entry_index = self.ensure_entry(id);
        let entry = &mut self.blocks[entry_index as usize];
        debug_assert!(sequence > entry.sequence);
        entry.sequence = sequence;
        entry.payload_offset = narrow_u32(offset);
        entry.source_uri_bytes = narrow_u32(parts[0].len());
        entry.metadata_bytes = narrow_u32(parts[1].len());
        entry.content_bytes = narrow_u32(parts[2].len());
        entry.set_state(EntryState::Live);
    }

    /// Records the deletion of `id` (room checked). Its edges are tombstoned by the caller.
    pub(crate) fn delete_block(&mut self, id: &BlockId, sequence: u64) {
        self.generation += 1;
        let entry_index = self.ensure_entry(id);
        let entry = &mut self.blocks[entry_index as usize];
        debug_assert!(sequence > entry.sequence);
        entry.sequence = sequence;
        entry.set_state(EntryState::Tombstone);
        entry.source_uri_bytes = 0;
        entry.metadata_bytes = 0;
        entry.content_bytes = 0;
    }

    /// The memtable's version of `edge`.
    pub(crate) fn edge_state(&self, edge: &Edge) -> EdgeState {
        let (Some(source), Some(target)) =
            (self.entry_of(&edge.source), self.entry_of(&edge.target))
        else {
            return EdgeState::Unknown;
        };
        self.record_state(source, target, edge.edge_type)
    }

    /// The state of the edge of `edge_type` between entries `source` and `target`.
    fn record_state(
        &self,
        source: u32,
        target: u32,
        edge_type: crate::edge::EdgeType,
    ) -> EdgeState {
        match self.edges.find(&EdgeEntry::new(source, target, edge_type)) {
            Some(index) if self.edges.record(index).tombstone() => EdgeState::Tombstone,
            Some(_) => EdgeState::Live,
            None => EdgeState::Unknown,
        }
    }

    /// What the memtable holds of `edge`: each end's entry and the edge's state, each end
    /// probed once (a self-edge's one end once). An edge's plan reads all it needs from the
    /// memtable here: asked apart (each end's block state, the edge's state, the room it
    /// takes), an edge write probed each end three times, ten probes an edge written
    /// (`cargo xtask ingest-cost`).
    pub(crate) fn edge_ends(&self, edge: &Edge) -> EdgeEnds {
        let self_edge = edge.target == edge.source;
        let source = self.entry_of(&edge.source);
        let target = if self_edge { source } else { self.entry_of(&edge.target) };
        let state = match (source, target) {
            (Some(source), Some(target)) => self.record_state(source, target, edge.edge_type),
            _ => EdgeState::Unknown,
        };
        EdgeEnds { source, target, self_edge, state }
    }

    /// Stores `edge` as live or as a tombstone (room checked: entries for both endpoints and
    /// a record if it has none).
    pub(crate) fn set_edge(&mut self, edge: &Edge, live: bool) {
        self.generation += 1;
        let source = self.ensure_entry(&edge.source);
        let target = self.ensure_entry(&edge.target);
        self.edges.set(self.blocks, EdgeEntry::new(source, target, edge.edge_type), !live);
    }

    /// Indices of the memtable's edge records whose source (outgoing) or target (incoming)
    /// is `id` (its entry is `entry`), sorted by table key, at the start of `scratch` (which
    /// holds every record; the sort of a hub may use the rest of it).
    pub(crate) fn edges_of<'s>(
        &self,
        entry: u32,
        id: &BlockId,
        outgoing: bool,
        scratch: &'s mut [u32],
    ) -> &'s [u32] {
        debug_assert!(self.blocks[entry as usize].id == *id);
        let count = self.edges.list(self.blocks, entry, outgoing, scratch);
        // `small-code`: one sort for every degree, without the keys (1.5 KiB of stack and a
        // sort instance of its own).
        #[cfg(not(feature = "small-code"))]
        if count <= 1 {
            return &scratch[..count];
        } else if count <= FEW_DEGREE {
            self.sort_keyed_on_stack::<FEW_DEGREE>(id, outgoing, &mut scratch[..count]);
            return &scratch[..count];
        } else if count <= SMALL_DEGREE {
            self.sort_keyed_on_stack::<SMALL_DEGREE>(id, outgoing, &mut scratch[..count]);
            return &scratch[..count];
        } else if self.sort_keyed_in_scratch(id, outgoing, scratch, count) {
            return &scratch[..count];
        }
        let sorted = &mut scratch[..count];
        crate::sort::sort_by(sorted, |&a, &b| self.edge_order(a, b, outgoing));
        sorted
    }

    /// `edges_of`'s sort in the common case, at most `SMALL_DEGREE` records: (type, other
    /// id, index) triples sorted on the stack, so each record's other end is looked up once,
    /// not once per comparison.
    #[cfg(not(feature = "small-code"))]
    fn sort_keyed_on_stack<const N: usize>(
        &self,
        id: &BlockId,
        outgoing: bool,
        sorted: &mut [u32],
    ) {
        debug_assert!(sorted.len() <= N);
        let mut keyed = [(0u16, BlockId::ZERO, 0u32); N];
        for (slot, &index) in keyed.iter_mut().zip(sorted.iter()) {
            let record = self.edge_record_of(id, index, outgoing);
            *slot = (record.edge_type.code(), record.other, index);
        }
        let keyed = &mut keyed[..sorted.len()];
        crate::sort::sort(keyed);
        for (slot, &(_, _, index)) in sorted.iter_mut().zip(keyed.iter()) {
            *slot = index;
        }
    }

    /// `edges_of`'s sort of a hub's `count` records (listed in `scratch[..count]`) through
    /// keys built once in the scratch after them, if they fit there: comparing through the
    /// records (two lookups of the other ends per comparison) was a third of the listing of a
    /// block with 1,982 callers (60 µs; LMDB 24 µs). False if they do not fit.
    #[cfg(not(feature = "small-code"))]
    fn sort_keyed_in_scratch(
        &self,
        id: &BlockId,
        outgoing: bool,
        scratch: &mut [u32],
        count: usize,
    ) -> bool {
        let Some((sorted, rest)) = scratch.split_at_mut_checked(count) else {
            return false;
        };
        let Some(keyed) = rest.as_chunks_mut::<KEYED_WORDS>().0.get_mut(..count) else {
            return false;
        };
        for (slot, &index) in keyed.iter_mut().zip(sorted.iter()) {
            let record = self.edge_record_of(id, index, outgoing);
            *slot = keyed_words(record.edge_type.code(), &record.other, index);
        }
        crate::sort::sort(keyed);
        for (slot, key) in sorted.iter_mut().zip(keyed.iter()) {
            *slot = key[KEYED_WORDS - 1];
        }
        true
    }

    /// Calls `emit` with each live edge record of `id` (whose entry is `entry`) that passes
    /// `filter`, newest first, until it returns false; returns how many were emitted.
    pub(crate) fn visit_live_edges_at(
        &self,
        entry: u32,
        id: &BlockId,
        outgoing: bool,
        filter: &crate::edge::EdgeFilter<'_>,
        mut emit: impl FnMut(&EdgeRecord) -> bool,
    ) -> usize {
        debug_assert!(self.blocks[entry as usize].id == *id);
        let mut emitted = 0;
        self.edges.walk(self.blocks, entry, outgoing, |index| {
            let record = self.edge_record_of(id, index, outgoing);
            if record.tombstone || !filter.accepts(record.edge_type) {
                return true;
            }
            emitted += 1;
            emit(&record)
        });
        emitted
    }

    /// Edge record `index` of the block `key_id` (its source when `outgoing`, else its
    /// target): only the other endpoint's id is looked up.
    pub(crate) fn edge_record_of(
        &self,
        key_id: &BlockId,
        index: u32,
        outgoing: bool,
    ) -> EdgeRecord {
        let record = self.edges.record(index);
        let other = if outgoing { record.target } else { record.source };
        EdgeRecord {
            key_id: *key_id,
            edge_type: record.edge_type,
            other: self.blocks[other as usize].id,
            tombstone: record.tombstone(),
        }
    }

    /// Edge record `index` as a table record of the outgoing (or incoming) section.
    pub(crate) fn edge_record(&self, index: u32, outgoing: bool) -> EdgeRecord {
        let record = self.edges.record(index);
        let (source, target) =
            (self.blocks[record.source as usize].id, self.blocks[record.target as usize].id);
        let (key_id, other) = if outgoing { (source, target) } else { (target, source) };
        EdgeRecord { key_id, edge_type: record.edge_type, other, tombstone: record.tombstone() }
    }

    /// Whether a flush has a block record to write: a version, or a tombstone when
    /// `tombstones` are kept.
    pub(crate) fn has_block_records(&self, tombstones: bool) -> bool {
        self.blocks[..self.entries_used as usize].iter().any(|entry| match entry.state() {
            EntryState::Live => true,
            EntryState::Tombstone => tombstones,
            EntryState::Stub => false,
        })
    }

    /// Whether a flush has an edge record to write (a tombstone only if `tombstones` are
    /// kept).
    pub(crate) fn has_edge_records(&self, tombstones: bool) -> bool {
        (0..self.edges.used()).any(|index| tombstones || !self.edges.record(index).tombstone())
    }

    /// Indices of the block entries that hold a version (not stubs), sorted by id.
    pub(crate) fn sorted_blocks<'s>(&self, scratch: &'s mut [u32]) -> &'s [u32] {
        let mut count = 0;
        for (index, entry) in self.blocks[..self.entries_used as usize].iter().enumerate() {
            if entry.state() != EntryState::Stub {
                scratch[count] = narrow_u32(index);
                count += 1;
            }
        }
        let sorted = &mut scratch[..count];
        // Ids compare as big-endian integers: their byte order, without a byte comparison.
        crate::sort::sort_by_key(sorted, |&index| self.blocks[index as usize].id.to_u128());
        sorted
    }

    /// The table record of block entry `index`.
    pub(crate) fn block_record(&self, index: u32) -> BlockRecord<'_> {
        self.record_of(&self.blocks[index as usize])
    }

    /// Every edge record index, sorted by the outgoing (or incoming) key. `scratch` holds
    /// every record; with room for two words a record (`sort_scratch_count`, not in
    /// `small-code`), the sort goes through key prefixes there.
    pub(crate) fn sorted_edges<'s>(&self, scratch: &'s mut [u32], outgoing: bool) -> &'s [u32] {
        let count = self.edges.used() as usize;
        #[cfg(not(feature = "small-code"))]
        if self.sort_edges_by_prefix(scratch, outgoing) {
            return &scratch[..count];
        }
        let sorted = &mut scratch[..count];
        for (index, slot) in sorted.iter_mut().enumerate() {
            *slot = narrow_u32(index);
        }
        crate::sort::sort_by(sorted, |&a, &b| self.edge_order(a, b, outgoing));
        sorted
    }

    /// `sorted_edges` through (key prefix, index) pairs in the scratch: each record's key id
    /// is read once, to a 32-bit prefix that orders as the id does, and the pairs sort as
    /// plain integers; then each run of one prefix (a block's edges, or ids that share the
    /// prefix) is sorted by the whole key as the pairs are turned back into indices.
    /// Comparing records (four lookups of their ends per comparison) was 17% of an edge
    /// ingest's instructions (`cargo xtask ingest-cost`). False, with nothing sorted, if
    /// the scratch has no room for the pairs.
    #[cfg(not(feature = "small-code"))]
    fn sort_edges_by_prefix(&self, scratch: &mut [u32], outgoing: bool) -> bool {
        let count = self.edges.used() as usize;
        let Some(pairs) = scratch.as_chunks_mut::<2>().0.get_mut(..count) else {
            return false;
        };
        let key_id =
            |index: u32| self.blocks[self.key_entry(index, outgoing) as usize].id.to_u128();
        // The bits every entry's id shares are skipped, so the prefix is the first 32 bits in
        // which they differ (sequential ids differ in their low bits only). The entries are
        // read in order, not through the records: every key id is an entry's, so the bits
        // the entries share, the key ids share too.
        let entries = &self.blocks[..self.entries_used as usize];
        let first = entries.first().map_or(0, |entry| entry.id.to_u128());
        let differ = entries.iter().fold(0, |differ, entry| differ | (entry.id.to_u128() ^ first));
        let prefix_of = |id: u128| {
            let window = id.checked_shl(differ.leading_zeros()).unwrap_or(0);
            u32::try_from(window >> 96).unwrap_or(u32::MAX)
        };
        for (pair, index) in pairs.iter_mut().zip(0..) {
            *pair = [prefix_of(key_id(index)), index];
        }
        crate::sort::sort(pairs);
        // Each pair's index moves down to its place among the indices; a run of one prefix
        // is sorted there when it ends (the pairs after it are not written over yet: the
        // index of pair `i` goes to word `i`, below the pair's own two words).
        let mut run_start = 0;
        for position in 0..count {
            // Pairs `position` and on are still in place (words `2 * position` and on).
            let (prefix, index) = (scratch[2 * position], scratch[2 * position + 1]);
            scratch[position] = index;
            let run_ends = position + 1 == count || scratch[2 * position + 2] != prefix;
            if run_ends {
                self.sort_key_run(&mut scratch[run_start..=position], outgoing);
                run_start = position + 1;
            }
        }
        true
    }

    /// The entry of edge record `index`'s key end: its source (outgoing) or target.
    #[cfg(not(feature = "small-code"))]
    fn key_entry(&self, index: u32, outgoing: bool) -> u32 {
        let record = self.edges.record(index);
        if outgoing {
            record.source
        } else {
            record.target
        }
    }

    /// Sorts a run of record indices whose key ids share their prefix by the whole key:
    /// one block's records (the common run: a block's edges), by type and other id through
    /// keys on the stack as a listing sorts them, else by comparing the records.
    #[cfg(not(feature = "small-code"))]
    fn sort_key_run(&self, run: &mut [u32], outgoing: bool) {
        let Some((&first, rest)) = run.split_first() else {
            return;
        };
        if rest.is_empty() {
            return;
        }
        let entry = self.key_entry(first, outgoing);
        let one_block = rest.iter().all(|&index| self.key_entry(index, outgoing) == entry);
        let id = self.blocks[entry as usize].id;
        match run.len() {
            length if one_block && length <= FEW_DEGREE => {
                self.sort_keyed_on_stack::<FEW_DEGREE>(&id, outgoing, run);
            }
            length if one_block && length <= SMALL_DEGREE => {
                self.sort_keyed_on_stack::<SMALL_DEGREE>(&id, outgoing, run);
            }
            _ => crate::sort::sort_by(run, |&a, &b| self.edge_order(a, b, outgoing)),
        }
    }

    /// The order of edge records `a` and `b` by their outgoing (or incoming) table key: key
    /// id, type, other id. An entry holds one id, so equal entries are equal ids and need no
    /// lookup; ids compare as big-endian integers. Building both 34-byte keys and comparing
    /// them bytewise at every step of the flush's sort took 42% of a flush (measured: perf,
    /// `cargo xtask scale 50000 5 --host-compaction`).
    fn edge_order(&self, a: u32, b: u32, outgoing: bool) -> core::cmp::Ordering {
        let ends = |index: u32| {
            let record = self.edges.record(index);
            let (key, other) = if outgoing {
                (record.source, record.target)
            } else {
                (record.target, record.source)
            };
            (key, record.edge_type.code(), other)
        };
        let id_order = |a: u32, b: u32| {
            let id = |entry: u32| self.blocks[entry as usize].id.to_u128();
            if a == b {
                core::cmp::Ordering::Equal
            } else {
                id(a).cmp(&id(b))
            }
        };
        let ((a_key, a_type, a_other), (b_key, b_type, b_other)) = (ends(a), ends(b));
        id_order(a_key, b_key).then(a_type.cmp(&b_type)).then_with(|| id_order(a_other, b_other))
    }

    /// Empties the memtable (after its contents were flushed to a table).
    pub(crate) fn reset(&mut self) {
        self.generation += 1;
        // No entry in use: every slot reads empty (see the module's note), no clearing.
        self.entries_used = 0;
        self.arena_bytes_used = 0;
        self.edges.reset();
    }

    /// The sort scratch a sort of this memtable's blocks or edges may need: its entries or
    /// its edge records, whichever are more.
    pub(crate) fn capacity(&self) -> usize {
        self.blocks.len().max(self.edges.capacity())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries_used == 0
    }

    pub(crate) fn entries_used(&self) -> u32 {
        self.entries_used
    }

    pub(crate) fn edges_used(&self) -> u32 {
        self.edges.used()
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

    #[test]
    fn sequential_and_derived_ids_spread_over_the_index_slots() {
        // The index is twice the entries; linear probing stays short when first slots are
        // about as spread as random ones (63% distinct for n keys in 2n slots).
        let slots = 8192;
        for (name, id) in [
            ("sequential", (|n: u64| BlockId::from_u128(u128::from(n) + 1)) as fn(u64) -> BlockId),
            ("high half", |n| BlockId::from_u128(u128::from(n) << 64)),
            ("derived", |n| BlockId::derive(b"test", &n.to_le_bytes())),
        ] {
            let mut first: std::vec::Vec<usize> =
                (0..4096).map(|n| slot_of(id(n).hash64(), slots)).collect();
            first.sort_unstable();
            first.dedup();
            assert!(first.len() > 4096 / 2, "{name} ids: {} distinct first slots", first.len());
        }
        assert_eq!(slot_of(u64::MAX, 1), 0);
    }

    fn config() -> Config {
        Config {
            memtable_entries_max: 16,
            memtable_edges_max: 24,
            memtable_arena_bytes_max: 2048,
            source_uri_bytes_max: 32,
            metadata_bytes_max: 32,
            content_bytes_max: 128,
            wal_segment_bytes_max: 1024,
            wal_segments_max: 2,
            wal_buffer_bytes: 512,
            read_buffer_bytes: 512,
            files_max: 8,
            tables_max: 4,
            table_memory_bytes: 2048,
            table_page_bytes: 256,
            ..Config::DEFAULT
        }
    }

    fn id(value: u128) -> BlockId {
        BlockId::from_u128(value)
    }

    /// Versions, tombstones and stubs on carved region parts (the typed slices the unsafe
    /// in region.rs produced); runs under Miri.
    #[test]
    fn versions_tombstones_and_stubs() {
        let config = config();
        config.validate().unwrap();
        let mut region = std::vec![0u8; memory_bytes_required(&config)];
        let parts = carve(&config, &mut region).unwrap();
        let mut memtable = Memtable::new(parts.memtable);
        assert_eq!(memtable.room_for(1, 10, 1), Ok(()));
        memtable.put_block(&id(3), 1, [b"c", b"{}", b"three"]);
        memtable.put_block(&id(1), 2, [b"a", b"{}", b"one"]);
        assert_eq!(memtable.block_state(&id(3)), Some(true));
        assert_eq!(memtable.find(&id(1)).map(|view| view.content), Some(&b"one"[..]));
        memtable.delete_block(&id(3), 3);
        assert_eq!(memtable.block_state(&id(3)), Some(false));
        assert_eq!(memtable.find(&id(3)), None);
        // An edge to a block the memtable does not hold creates a stub for it.
        let to_table = Edge { source: id(1), target: id(9), edge_type: EdgeType::CALLS };
        assert_eq!(memtable.new_entries(&[id(1), id(9), id(9)]), 1);
        memtable.set_edge(&to_table, true);
        assert_eq!(memtable.block_state(&id(9)), Some(true), "a stub is a live table block");
        assert_eq!(memtable.find(&id(9)), None, "whose version the tables hold");
        assert_eq!(memtable.edge_state(&to_table), EdgeState::Live);
        let self_edge = Edge { source: id(1), target: id(1), edge_type: EdgeType::IMPORTS };
        memtable.set_edge(&self_edge, true);
        memtable.set_edge(&to_table, false);
        assert_eq!(memtable.edge_state(&to_table), EdgeState::Tombstone);
        assert_eq!(memtable.edges_used(), 2, "a tombstone reuses the record");
        let mut scratch = [0u32; 24];
        let entry = memtable.entry_of(&id(1)).unwrap();
        let outgoing: std::vec::Vec<_> = memtable
            .edges_of(entry, &id(1), true, &mut scratch)
            .to_vec()
            .into_iter()
            .map(|index| memtable.edge_record(index, true))
            .collect();
        assert_eq!(outgoing.len(), 2);
        assert!(outgoing[0].key() < outgoing[1].key(), "sorted by key");
        assert_eq!((outgoing[0].edge_type, outgoing[0].tombstone), (EdgeType::IMPORTS, false));
        assert_eq!((outgoing[1].other, outgoing[1].tombstone), (id(9), true));
        let sorted: std::vec::Vec<BlockId> = memtable
            .sorted_blocks(&mut scratch)
            .iter()
            .map(|&index| memtable.block_record(index).id)
            .collect();
        assert_eq!(sorted, std::vec![id(1), id(3)], "stubs are not blocks");
        memtable.reset();
        assert!(memtable.is_empty());
        assert_eq!(memtable.block_state(&id(1)), None);
        assert_eq!(memtable.room_for(16, 2048, 24), Ok(()));
        assert_eq!(memtable.room_for(17, 0, 0), Err(Resource::MemtableEntries));
    }

    /// A config whose memtable holds `entries` blocks and 512 edge records, for the sorts.
    fn sorting_config(entries: u32) -> Config {
        let config = Config {
            memtable_entries_max: entries,
            memtable_edges_max: 512,
            memtable_arena_bytes_max: 8192,
            wal_segment_bytes_max: 16 << 10,
            wal_segments_max: 8,
            files_max: 16,
            ..config()
        };
        config.validate().unwrap();
        config
    }

    /// Sets `count` random edges among `ids` (xorshift from `seed`), one in `hub_every`
    /// from `ids[0]`, of three types, a fifth of them tombstones.
    fn set_random_edges(
        memtable: &mut Memtable<'_>,
        ids: &[BlockId],
        (count, hub_every): (usize, usize),
        seed: u64,
    ) {
        let types = [EdgeType::CALLS, EdgeType::IMPORTS, EdgeType::from_code(0x8001).unwrap()];
        let mut state = seed;
        let mut next = |bound: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % bound as u64) as usize
        };
        for n in 0..count {
            let source = if n % hub_every == 0 { ids[0] } else { ids[next(ids.len())] };
            let edge =
                Edge { source, target: ids[next(ids.len())], edge_type: types[next(types.len())] };
            memtable.set_edge(&edge, next(5) != 0);
        }
    }

    /// An edge's ends, from one probe of each end, are what asking apart gives: each end's
    /// entry, the edge's state, and so its room: the new entries of both ends (a self-edge's
    /// one end counted once) and a record unless the edge has one, live or a tombstone; for
    /// ends with entries, without, and mixed.
    #[test]
    fn an_edges_ends_are_its_entries_its_state_and_the_room_it_takes() {
        let mut region = std::vec![0u8; memory_bytes_required(&config())];
        let mut memtable = Memtable::new(carve(&config(), &mut region).unwrap().memtable);
        let types = [EdgeType::CALLS, EdgeType::IMPORTS];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |bound: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % bound
        };
        for _ in 0..12 {
            let (source, target) = (id(u128::from(next(6) + 1)), id(u128::from(next(6) + 1)));
            let edge = Edge { source, target, edge_type: types[next(2) as usize] };
            memtable.set_edge(&edge, next(3) != 0);
        }
        // Ids 1..=6 may have entries, 7..=9 have none.
        for (source, target, edge_type) in
            (1..=9u128).flat_map(|s| (1..=9u128).flat_map(move |t| types.map(|k| (s, t, k))))
        {
            let edge = Edge { source: id(source), target: id(target), edge_type };
            let ends = memtable.edge_ends(&edge);
            let case = std::format!("{source} -> {target}, {edge_type:?}");
            assert_eq!(ends.source, memtable.entry_of(&edge.source), "{case}");
            assert_eq!(ends.target, memtable.entry_of(&edge.target), "{case}");
            assert_eq!(ends.state, memtable.edge_state(&edge), "{case}");
            let apart = (
                memtable.new_entries(&[edge.source, edge.target]),
                memtable.edge_state(&edge) == EdgeState::Unknown,
            );
            assert_eq!(ends.room(), apart, "{case}");
        }
    }

    /// A flush's sort through (key prefix, index) pairs gives the order the comparison of
    /// records gives, for key ids that differ in their high bits (hashed ids), in their low
    /// bits only (sequential ids: the prefix skips the bits they share), and in bits the
    /// prefix does not see (runs of several ids under one prefix, sorted by comparing
    /// records); with a block of more edges than the stack sort takes, and tombstones.
    #[cfg(not(feature = "small-code"))]
    #[test]
    fn flush_sorts_through_key_prefixes_as_by_comparing_records() {
        let config = sorting_config(128);
        let families: [fn(u128) -> u128; 3] = [
            |n| (n + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835),
            |n| n + 1,
            // Pairs of ids under one prefix: runs of a few records from two blocks.
            |n| ((n / 2 + 1) << 100) | (n % 2 + 1),
        ];
        for (family, make_id) in families.iter().enumerate() {
            let mut region = std::vec![0u8; memory_bytes_required(&config)];
            let mut memtable = Memtable::new(carve(&config, &mut region).unwrap().memtable);
            let ids: std::vec::Vec<BlockId> = (0..100u128).map(|n| id(make_id(n))).collect();
            // A fifth of the edges leave ids[0], more than SMALL_DEGREE of them.
            set_random_edges(&mut memtable, &ids, (480, 5), 0x2545_f491_4f6c_dd1d + family as u64);
            let count = memtable.edges_used() as usize;
            for outgoing in [true, false] {
                let key = |index: &u32| memtable.edge_record(*index, outgoing).key();
                // One word a record: too few for the pairs, so the records are compared.
                let mut compared = std::vec![0u32; count];
                assert!(!memtable.sort_edges_by_prefix(&mut compared, outgoing));
                let compared = memtable.sorted_edges(&mut compared, outgoing).to_vec();
                let mut paired = std::vec![0u32; 2 * count];
                assert!(memtable.sort_edges_by_prefix(&mut paired, outgoing));
                let paired = &paired[..count];
                assert_eq!(paired, &compared[..], "family {family}, outgoing {outgoing}");
                let keys: std::vec::Vec<_> = paired.iter().map(key).collect();
                assert!(keys.windows(2).all(|pair| pair[0] < pair[1]), "family {family}");
            }
        }
    }

    /// The flush's edge order and a block's large-degree listing order (entries compared
    /// without building keys) equal the order of the records' table keys, in both
    /// directions: ids whose byte order is not their entry order, every type, self-edges,
    /// tombstones, and one block with more edges than the stack sort takes (sorted through
    /// keys in the scratch, or by comparing records where they do not fit).
    #[test]
    fn edge_records_sort_by_their_table_keys() {
        let config = sorting_config(64);
        let mut region = std::vec![0u8; memory_bytes_required(&config)];
        let mut memtable = Memtable::new(carve(&config, &mut region).unwrap().memtable);
        // Entries are made in this order; the ids' high bytes sort them otherwise.
        let ids: std::vec::Vec<BlockId> =
            (0..40u128).map(|n| id((((n * 37) % 41) << 120) | (n + 1))).collect();
        // A third of the edges leave ids[0], so it has more than SMALL_DEGREE of them.
        set_random_edges(&mut memtable, &ids, (400, 3), 0x2545_f491_4f6c_dd1d);
        // One block with a single outgoing edge and no incoming one.
        let lone = id(u128::MAX);
        memtable.set_edge(&Edge { source: lone, target: ids[1], edge_type: EdgeType::CALLS }, true);
        let mut scratch = [0u32; 512];
        for outgoing in [true, false] {
            let keys = |indices: &[u32]| -> std::vec::Vec<[u8; crate::record::KEY_BYTES]> {
                indices.iter().map(|&index| memtable.edge_record(index, outgoing).key()).collect()
            };
            let flushed = keys(memtable.sorted_edges(&mut scratch, outgoing));
            assert_eq!(flushed.len(), memtable.edges_used() as usize);
            assert!(flushed.windows(2).all(|pair| pair[0] < pair[1]), "outgoing {outgoing}");
            let entry = memtable.entry_of(&ids[0]).unwrap();
            let listed = keys(memtable.edges_of(entry, &ids[0], outgoing, &mut scratch));
            assert!(outgoing == (listed.len() > SMALL_DEGREE), "{} edges", listed.len());
            assert!(listed.windows(2).all(|pair| pair[0] < pair[1]), "outgoing {outgoing}");
            // The hub's sort through keys in the scratch, where they fit, sorts the same; a
            // scratch one word too short for them falls back to comparing records.
            #[cfg(not(feature = "small-code"))]
            let count = listed.len();
            #[cfg(not(feature = "small-code"))]
            for (scratch_len, keyed) in
                [(count * (1 + KEYED_WORDS), true), (count * (1 + KEYED_WORDS) - 1, false)]
            {
                let mut scratch = std::vec![0u32; scratch_len];
                assert_eq!(
                    memtable.edges.list(memtable.blocks, entry, outgoing, &mut scratch),
                    count
                );
                let sorted = memtable.sort_keyed_in_scratch(&ids[0], outgoing, &mut scratch, count);
                assert_eq!(sorted, keyed, "{count} records in {scratch_len} words");
                if keyed {
                    assert_eq!(keys(&scratch[..count]), listed, "outgoing {outgoing}");
                }
                let hub = keys(memtable.edges_of(entry, &ids[0], outgoing, &mut scratch));
                assert_eq!(hub, listed, "outgoing {outgoing}, {scratch_len} words");
            }
            // Every other block's listing is in key order too, whatever its degree: none or
            // one (nothing to sort), up to FEW_DEGREE and up to SMALL_DEGREE (the two stack
            // arrays); the test fails if the edges drawn stop covering each of those.
            let mut degrees = std::collections::BTreeSet::new();
            for other in ids[1..].iter().chain([&lone]) {
                let Some(entry) = memtable.entry_of(other) else { continue };
                let listed = keys(memtable.edges_of(entry, other, outgoing, &mut scratch));
                assert!(listed.windows(2).all(|pair| pair[0] < pair[1]), "{other:?}");
                degrees.insert(match listed.len() {
                    0 | 1 => 1,
                    2..=FEW_DEGREE => FEW_DEGREE,
                    _ => SMALL_DEGREE,
                });
            }
            assert_eq!(degrees.len(), 3, "outgoing {outgoing}: degrees {degrees:?}");
        }
    }
}
