//! The one place the caller's region is carved into typed parts (one of the three modules
//! allowed `unsafe`, with `vfs::posix` and `crc32c`'s hardware path). The memtable's parts
//! and the sort scratch are taken as the host's bytes are (`AnyBits`: no fill, so an open
//! costs nothing per byte of capacity); the other typed parts are filled.
//!
//! `open` aligns the region to `PART_ALIGN`, then cuts, in this order: block index slots,
//! block entries, edge index slots, edge records, payload arena, the same five for the
//! frozen memtable (of no capacity unless `Config::memtable_freezes`), WAL buffer, read buffer,
//! directory-listing buffer, segment-number list, table metadata, table pool (blooms and
//! indexes), one merge buffer per table, the lookup buffer, the sort scratch, one edge
//! cursor and one section cursor per table (a merge's state, off the stack), a delete's
//! round of edges and the bytes it is logged from, the order a flush of the frozen memtable
//! in steps writes in (none without a frozen memtable), and for
//! queries the visited index, the visited nodes, the candidate windows and the
//! depth-first frames; last, the frozen memtable's struct, where it froze, a slot for its
//! flush between steps (with a frozen memtable), and the engine's manifest. Every part
//! is a whole number of `PART_ALIGN` bytes. In debug builds a guard word precedes the
//! first part and follows every part; `Guards::check` verifies them on every public call,
//! so a stray write past a part (which safe code cannot make, but a bug in `unsafe` could)
//! is caught at the next call.
//! `memory_bytes_required` walks the same list, so the two cannot disagree.

use crate::config::Config;
use crate::edge::Edge;
use crate::error::Error;
use crate::limits::FILE_NAME_BYTES_MAX;
use crate::manifest::Manifest;
use crate::memtable::{BlockEntry, EdgeEntry, Memtable, MemtableParts};

use crate::query::{frames_count, Frame, QueryNode, QueryParts, INDEX_UNCLEARED};
use crate::store::{CompactionSteps, FrozenAt, FrozenSteps, RetiredTable, StoreParts};
use crate::table::cursor::{EdgeCursor, SectionCursor};
use crate::table::TableMeta;
use crate::wal::format::DELETED_EDGE_BYTES;
use core::mem::{align_of, size_of};

/// Alignment of every part (the largest alignment of any part's element type).
pub const PART_ALIGN: usize = 8;
/// Bytes of one guard word; zero in release builds.
pub const GUARD_BYTES: usize = if cfg!(debug_assertions) { 8 } else { 0 };
const GUARD_WORD: u64 = 0x4B41_5553_414C_4442; // "KAUSALDB"
/// Parts carved from the region.
const PARTS: usize = 35;

const _: () = assert!(align_of::<BlockEntry>() <= PART_ALIGN);
const _: () = assert!(align_of::<EdgeEntry>() <= PART_ALIGN);
const _: () = assert!(align_of::<u64>() <= PART_ALIGN);
const _: () = assert!(align_of::<TableMeta>() <= PART_ALIGN);
const _: () = assert!(align_of::<QueryNode>() <= PART_ALIGN);
const _: () = assert!(align_of::<EdgeCursor>() <= PART_ALIGN);
const _: () = assert!(align_of::<SectionCursor>() <= PART_ALIGN);
const _: () = assert!(align_of::<Edge>() <= PART_ALIGN);
const _: () = assert!(align_of::<Frame>() <= PART_ALIGN);
const _: () = assert!(align_of::<Manifest>() <= PART_ALIGN);
const _: () = assert!(align_of::<Memtable<'_>>() <= PART_ALIGN);
const _: () = assert!(align_of::<Option<FrozenAt>>() <= PART_ALIGN);
const _: () = assert!(align_of::<FrozenSteps<'_>>() <= PART_ALIGN);
const _: () = assert!(align_of::<CompactionSteps<'_>>() <= PART_ALIGN);
const _: () = assert!(GUARD_BYTES.is_multiple_of(PART_ALIGN));
// The README's memory section states these sizes: an entry is 56 bytes where a u64 aligns
// to 8 (64-bit hosts, Cortex-M), 52 where it aligns to 4 (i686).
const _: () = assert!(size_of::<BlockEntry>() == if align_of::<u64>() == 8 { 56 } else { 52 });
const _: () = assert!(size_of::<EdgeEntry>() == 24);

/// Slots of an open-addressing table for `entries` entries: a power of two, at least twice
/// the entries (load factor <= 1/2).
pub(crate) fn slot_count(entries: u32) -> usize {
    (entries as usize * 2).next_power_of_two()
}

/// A memtable's block index: its slots, then one back link per entry (see `memtable`).
fn block_index_bytes(entries: u32) -> usize {
    (slot_count(entries) + entries as usize) * size_of::<u32>()
}

/// The capacity of the second, frozen memtable: the memtable's if a full one is frozen
/// (`Config::memtable_freezes`), else none (entries, edges, arena bytes).
pub(crate) fn frozen_capacity(config: &Config) -> (u32, u32, u32) {
    match !config.memtable_freezes() {
        true => (0, 0, 0),
        false => (
            config.memtable_entries_max,
            config.memtable_edges_max,
            config.memtable_arena_bytes_max,
        ),
    }
}

/// Slots for a flush of the frozen memtable between steps: one if there is a frozen memtable.
fn frozen_flush_slots(config: &Config) -> usize {
    usize::from(frozen_capacity(config) != (0, 0, 0))
}

/// Slots for a compaction between steps: one (the host's steps, or with `compaction_auto`
/// the writes'); none in `small-code`, whose compactions run in one call.
fn compaction_step_slots() -> usize {
    usize::from(!cfg!(feature = "small-code"))
}

/// Elements of the sort scratch: a memtable's entries or edges, whichever is more, for each
/// memtable (a listing sorts a block's edges in both), and two for each of a memtable's
/// edge records (a flush sorts them through (key prefix, index) pairs; see
/// `Memtable::sorted_edges`).
fn sort_scratch_count(config: &Config) -> usize {
    let (frozen_entries, frozen_edges, _) = frozen_capacity(config);
    let memtable = config.memtable_entries_max.max(config.memtable_edges_max) as usize;
    let listing = memtable + frozen_entries.max(frozen_edges) as usize;
    listing.max(edge_sort_words(config.memtable_edges_max))
}

/// Words a sort of `edges` edge records takes: two each, for the (key prefix, index) pairs
/// (`small-code` sorts the indices alone: one each).
fn edge_sort_words(edges: u32) -> usize {
    let words = if cfg!(feature = "small-code") { 1 } else { 2 };
    words * edges as usize
}

/// Elements of the order a flush of the frozen memtable writes in: its block entries or
/// the words its edges' sort takes, whichever is more.
fn frozen_order_count(config: &Config) -> usize {
    let (frozen_entries, frozen_edges, _) = frozen_capacity(config);
    (frozen_entries as usize).max(edge_sort_words(frozen_edges))
}

/// Bytes for each part, in carving order.
fn part_bytes(config: &Config) -> [usize; PARTS] {
    let (frozen_entries, frozen_edges, frozen_arena_bytes) = frozen_capacity(config);
    [
        block_index_bytes(config.memtable_entries_max),
        config.memtable_entries_max as usize * size_of::<BlockEntry>(),
        slot_count(config.memtable_edges_max) * size_of::<u32>(),
        config.memtable_edges_max as usize * size_of::<EdgeEntry>(),
        config.memtable_arena_bytes_max as usize,
        block_index_bytes(frozen_entries),
        frozen_entries as usize * size_of::<BlockEntry>(),
        slot_count(frozen_edges) * size_of::<u32>(),
        frozen_edges as usize * size_of::<EdgeEntry>(),
        frozen_arena_bytes as usize,
        config.wal_buffer_bytes as usize,
        config.read_buffer_bytes as usize,
        list_buffer_bytes(config),
        config.wal_segments_max as usize * size_of::<u64>(),
        config.tables_max as usize * size_of::<TableMeta>(),
        config.table_memory_bytes as usize,
        config.tables_max as usize * config.merge_buffer_bytes(),
        config.read_buffer_bytes as usize,
        sort_scratch_count(config) * size_of::<u32>(),
        config.tables_max as usize * size_of::<EdgeCursor>(),
        config.tables_max as usize * size_of::<SectionCursor>(),
        config.deleted_edges_per_frame() * size_of::<Edge>(),
        config.deleted_edges_per_frame() * DELETED_EDGE_BYTES,
        frozen_order_count(config) * size_of::<u32>(),
        slot_count(config.query_nodes_max) * size_of::<u32>(),
        config.query_nodes_max as usize * size_of::<QueryNode>(),
        config.query_nodes_max as usize * size_of::<QueryNode>(),
        frames_count(config.query_nodes_max) * size_of::<Frame>(),
        size_of::<Memtable<'_>>(),
        size_of::<Option<FrozenAt>>(),
        frozen_flush_slots(config) * size_of::<FrozenSteps<'_>>(),
        compaction_step_slots() * config.tables_max as usize * size_of::<SectionCursor>(),
        compaction_step_slots() * config.tables_max as usize * size_of::<RetiredTable>(),
        compaction_step_slots() * size_of::<CompactionSteps<'_>>(),
        size_of::<Manifest>(),
    ]
}

pub(crate) fn list_buffer_bytes(config: &Config) -> usize {
    config.files_max as usize * (FILE_NAME_BYTES_MAX + 1)
}

fn round_up(bytes: usize) -> usize {
    bytes.div_ceil(PART_ALIGN) * PART_ALIGN
}

/// Bytes of region `open` needs for `config` (including worst-case alignment slack).
/// The config must be valid.
pub fn memory_bytes_required(config: &Config) -> usize {
    let parts: usize = part_bytes(config).iter().map(|&bytes| round_up(bytes) + GUARD_BYTES).sum();
    PART_ALIGN - 1 + GUARD_BYTES + parts
}

/// Every part of the region, typed.
pub(crate) struct Parts<'r> {
    pub(crate) memtable: MemtableParts<'r>,
    /// The frozen memtable (of no capacity unless `Config::memtable_freezes`), and where it
    /// froze.
    pub(crate) frozen: &'r mut Memtable<'r>,
    pub(crate) frozen_at: &'r mut Option<FrozenAt>,
    pub(crate) wal_buffer: &'r mut [u8],
    pub(crate) read_buffer: &'r mut [u8],
    pub(crate) list_buffer: &'r mut [u8],
    pub(crate) segment_numbers: &'r mut [u64],
    pub(crate) store: StoreParts<'r>,
    pub(crate) query: QueryParts<'r>,
    pub(crate) manifest: &'r mut Manifest,
    pub(crate) guards: Guards<'r>,
}

/// Guard words the region holds: one before the first part and one after each, in debug
/// builds; none in release builds, where `Guards` then has no room either (it lives in the
/// engine, and every copy of the engine in `open` carried 33 empty slots: 264 bytes of a
/// firmware's stack).
const GUARD_SLOTS: usize = if GUARD_BYTES > 0 { PARTS + 1 } else { 0 };

/// The guard words (debug builds; empty in release builds).
pub(crate) struct Guards<'r> {
    words: heapless::Vec<&'r mut [u64], GUARD_SLOTS>,
}

impl Guards<'_> {
    /// Panics if any guard word was overwritten: memory corruption inside the engine, which
    /// must never be ignored.
    pub(crate) fn check(&self) {
        for (index, word) in self.words.iter().enumerate() {
            assert!(word.first() == Some(&GUARD_WORD), "region guard {index} overwritten");
        }
    }
}

struct Carver<'r> {
    rest: &'r mut [u8],
    guards: Guards<'r>,
}

impl<'r> Carver<'r> {
    /// Cuts the next part as `count` elements of `T`, each initialised to `fill`, followed by
    /// a guard word in debug builds.
    fn take<T: Copy>(&mut self, count: usize, fill: T) -> &'r mut [T] {
        let part = self.take_initialised(count, fill);
        self.push_guard();
        part
    }

    /// Cuts a guard word (debug builds only).
    fn push_guard(&mut self) {
        if GUARD_BYTES > 0 {
            let guard = self.take_initialised(1, GUARD_WORD);
            // Capacity is GUARD_SLOTS (PARTS + 1 here) and carve() takes PARTS parts plus one
            // leading guard.
            let pushed = self.guards.words.push(guard);
            debug_assert!(pushed.is_ok());
        }
    }

    /// The bytes of the next part: `count` elements of `T`, rounded up to `PART_ALIGN`,
    /// starting aligned for `T` (checked).
    #[inline]
    fn cut<T>(&mut self, count: usize) -> &'r mut [u8] {
        const { assert!(align_of::<T>() <= PART_ALIGN && size_of::<T>() > 0) };
        self.cut_bytes(count * size_of::<T>(), align_of::<T>())
    }

    /// `cut` for any type: one copy of its checks, not one per part type (the firmware's
    /// engine code was 286 bytes larger with the checks in the generic `cut`).
    fn cut_bytes(&mut self, bytes: usize, align: usize) -> &'r mut [u8] {
        let bytes = round_up(bytes);
        let rest = core::mem::take(&mut self.rest);
        // memory_bytes_required() sized the region for exactly these parts.
        assert!(rest.len() >= bytes, "region smaller than memory_bytes_required");
        let (part, rest) = rest.split_at_mut(bytes);
        self.rest = rest;
        // Every part starts at a PART_ALIGN boundary; `carve` aligned the region's start.
        assert!((part.as_ptr() as usize).is_multiple_of(align));
        part
    }

    /// Cuts the next part as bytes. The region is already initialised memory (`&mut [u8]`),
    /// so byte parts need no fill: opening with a large arena costs nothing per byte.
    fn take_bytes(&mut self, count: usize) -> &'r mut [u8] {
        let part = self.cut::<u8>(count);
        self.push_guard();
        &mut part[..count]
    }

    /// Cuts the next part as `count` elements of `T` *as the bytes already are*, without
    /// writing them: opening a store then costs nothing per element of the memtable's
    /// capacity (136 MiB of benchmark region took 2.4 ms to fill at every open). Sound
    /// because any bytes are a valid `T` (`AnyBits`), and the memtable reads only elements
    /// it wrote (its indexes are sparse sets: see `memtable`).
    fn take_as_is<T: AnyBits>(&mut self, count: usize) -> &'r mut [T] {
        let part = self.cut::<T>(count);
        let pointer = part.as_mut_ptr().cast::<T>();
        // SAFETY: `part` is an exclusive borrow of at least `count * size_of::<T>()`
        // initialised bytes (the region is a `&mut [u8]`) for 'r, aligned for `T` (checked
        // in `cut`); every bit pattern of those bytes is a valid `T` (`T: AnyBits`); `part`
        // is consumed, so no other reference to the bytes exists for 'r.
        let slice = unsafe { core::slice::from_raw_parts_mut(pointer, count) };
        self.push_guard();
        slice
    }

    /// Cuts a memtable's five parts (`sizes` in bytes: block index (slots and back links),
    /// entries, edge slots, edge records, arena), taken as the bytes are: its indexes are
    /// sparse sets that read only what the memtable wrote (see `memtable`).
    fn take_memtable(&mut self, sizes: &[usize], entries: u32, edges: u32) -> MemtableParts<'r> {
        let index = self.take_as_is::<u32>(sizes[0] / size_of::<u32>());
        let (block_slots, entry_slots) = index.split_at_mut(slot_count(entries));
        MemtableParts {
            block_slots,
            entry_slots,
            blocks: self.take_as_is(entries as usize),
            edge_slots: self.take_as_is(sizes[2] / size_of::<u32>()),
            edges: self.take_as_is(edges as usize),
            arena: self.take_bytes(sizes[4]),
        }
    }

    /// Cuts the next part as a slice of `value` alone, or of nothing (no bytes) for `None`.
    fn take_slot<T>(&mut self, value: Option<T>) -> &'r mut [T] {
        let count = usize::from(value.is_some());
        let part = self.cut::<T>(count);
        let pointer = part.as_mut_ptr().cast::<T>();
        // SAFETY: as `take_value`: `part` is an exclusive borrow of at least
        // `count * size_of::<T>()` bytes for 'r, aligned for `T` (checked in `cut`); the value
        // is written before the slice is formed, and the bytes written over need no drop.
        // `part` is consumed here. Nothing placed here is ever dropped, as in `take_value`.
        let slot = unsafe {
            if let Some(value) = value {
                pointer.write(value);
            }
            core::slice::from_raw_parts_mut(pointer, count)
        };
        self.push_guard();
        slot
    }

    /// Cuts the next part as one `value` (the engine's manifest; the frozen memtable's
    /// struct): state that would otherwise sit in the engine, whose every move in `open`
    /// costs its size again on the stack.
    fn take_value<T>(&mut self, value: T) -> &'r mut T {
        let part = self.cut::<T>(1);
        let pointer = part.as_mut_ptr().cast::<T>();
        // SAFETY: `part` is an exclusive borrow of at least `size_of::<T>()` bytes for 'r,
        // aligned for `T` (checked in `cut`); the value is written before the reference is
        // formed, and the bytes it replaces need no drop. `part` is consumed here, so no
        // other reference to them exists for 'r. The value is never dropped (nor is the
        // region): the types placed here own nothing (integers, a heapless Vec of u64, and
        // borrows of other parts of the region), so that leaks nothing.
        let value = unsafe {
            pointer.write(value);
            &mut *pointer
        };
        self.push_guard();
        value
    }

    fn take_initialised<T: Copy>(&mut self, count: usize, fill: T) -> &'r mut [T] {
        let part = self.cut::<T>(count);
        let pointer = part.as_mut_ptr().cast::<T>();
        // SAFETY: `part` is an exclusive borrow of at least `count * size_of::<T>()` bytes
        // for 'r, so the pointer is valid for writes of `count` elements, aligned for `T`
        // (checked in `cut`). Each element is written before the slice is formed, so the
        // slice only ever holds initialised `T`s, and `T: Copy` has no drop glue to run on
        // the overwritten bytes. `part` is consumed here, so no other reference to those
        // bytes exists for 'r.
        unsafe {
            for index in 0..count {
                pointer.add(index).write(fill);
            }
            core::slice::from_raw_parts_mut(pointer, count)
        }
    }
}

/// Types every bit pattern of which is a valid value: integers, and structs of them with no
/// invariant on their bytes.
///
/// # Safety
/// An implementor must have no invalid bit patterns (no `bool`, `char`, enum, reference or
/// `NonZero` anywhere in it).
pub(crate) unsafe trait AnyBits: Copy {}

// SAFETY: every bit pattern is a u32.
unsafe impl AnyBits for u32 {}
// SAFETY: `BlockEntry` is a `BlockId` ([u8; 16]), a u64, seven u32 and a u8 (the state,
// read through `BlockEntry::state`, which maps every byte to a state): no invalid patterns.
unsafe impl AnyBits for BlockEntry {}
// SAFETY: `EdgeEntry` is five u32, an `EdgeType` (a u16) and a u8 (the tombstone flag,
// read as `!= 0`): no invalid patterns.
unsafe impl AnyBits for EdgeEntry {}
// SAFETY: `QueryNode` is a `BlockId` ([u8; 16]), two u32, a u16, an `EdgeType` (a u16) and
// a u8 (the direction, read as `!= 0`): no invalid patterns.
unsafe impl AnyBits for QueryNode {}

/// Cuts `region` into the parts `config` needs. The config must be valid.
pub(crate) fn carve<'r>(config: &Config, region: &'r mut [u8]) -> Result<Parts<'r>, Error> {
    let bytes_required = memory_bytes_required(config);
    if region.len() < bytes_required {
        return Err(Error::RegionTooSmall { bytes_required });
    }
    let misalignment = region.as_ptr().align_offset(PART_ALIGN);
    let region = &mut region[misalignment.min(PART_ALIGN - 1)..];
    let mut carver = Carver { rest: region, guards: Guards { words: heapless::Vec::new() } };
    carver.push_guard();
    let sizes = part_bytes(config);
    let (entries, edges) = (config.memtable_entries_max, config.memtable_edges_max);
    let memtable = carver.take_memtable(&sizes[..5], entries, edges);
    let (frozen_entries, frozen_edges, _) = frozen_capacity(config);
    let frozen = carver.take_memtable(&sizes[5..10], frozen_entries, frozen_edges);
    let wal_buffer = carver.take_bytes(sizes[10]);
    let read_buffer = carver.take_bytes(sizes[11]);
    let list_buffer = carver.take_bytes(sizes[12]);
    let segment_numbers = carver.take(config.wal_segments_max as usize, 0u64);
    let mut store = StoreParts {
        tables: carver.take(config.tables_max as usize, TableMeta::EMPTY),
        pool: carver.take_bytes(sizes[15]),
        merge_buffers: carver.take_bytes(sizes[16]),
        lookup_buffer: carver.take_bytes(sizes[17]),
        // Written before it is read, by every sort.
        sort_scratch: carver.take_as_is(sizes[18] / size_of::<u32>()),
        edge_cursors: carver.take(config.tables_max as usize, EdgeCursor::EMPTY),
        section_cursors: carver.take(config.tables_max as usize, SectionCursor::EMPTY),
        delete_round: carver.take(config.deleted_edges_per_frame(), Edge::EMPTY),
        delete_scratch: carver.take_bytes(sizes[22]),
        frozen_steps: &mut [],
        compaction_steps: &mut [],
    };
    // Written before it is read, by each pass's sort.
    let flush_order = carver.take_as_is(sizes[23] / size_of::<u32>());
    let query = QueryParts {
        index: carver.take_as_is(sizes[24] / size_of::<u32>()),
        nodes: carver.take_as_is(config.query_nodes_max as usize),
        pending: carver.take_as_is(config.query_nodes_max as usize),
        frames: carver.take(frames_count(config.query_nodes_max), Frame::EMPTY),
        used: INDEX_UNCLEARED,
    };
    let frozen = carver.take_value(Memtable::new(frozen));
    let frozen_at = carver.take_value(None);
    let steps = (frozen_flush_slots(config) > 0).then(|| FrozenSteps::new(flush_order));
    store.frozen_steps = carver.take_slot(steps);
    let slots = compaction_step_slots();
    let cursors = carver.take(slots * config.tables_max as usize, SectionCursor::EMPTY);
    let retired = carver.take(slots * config.tables_max as usize, RetiredTable::EMPTY);
    let steps = (slots > 0).then(|| CompactionSteps::new(cursors, retired));
    store.compaction_steps = carver.take_slot(steps);
    let manifest = carver.take_value(Manifest::empty());
    let parts = Parts {
        memtable,
        frozen,
        frozen_at,
        wal_buffer,
        read_buffer,
        list_buffer,
        segment_numbers,
        store,
        query,
        manifest,
        guards: carver.guards,
    };
    parts.guards.check();
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small_config() -> Config {
        Config {
            memtable_entries_max: 4,
            memtable_edges_max: 4,
            memtable_arena_bytes_max: 1024,
            source_uri_bytes_max: 64,
            metadata_bytes_max: 64,
            content_bytes_max: 256,
            wal_segment_bytes_max: 4096,
            wal_segments_max: 2,
            wal_buffer_bytes: 512,
            read_buffer_bytes: 512,
            files_max: 8,
            tables_max: 4,
            table_memory_bytes: 1024,
            table_page_bytes: 256,
            // Small, so Miri's byte-by-byte fills of the region stay quick.
            query_nodes_max: 16,
            ..Config::DEFAULT
        }
    }

    #[test]
    fn carving_fits_the_required_size_at_every_alignment() {
        let config = small_config();
        config.validate().unwrap();
        let required = memory_bytes_required(&config);
        // Whatever the host left in its region: the memtable's parts are taken as they are.
        let mut backing = std::vec![0xA5u8; required + PART_ALIGN];
        for shift in 0..PART_ALIGN {
            backing.fill(0xA5);
            let region = &mut backing[shift..shift + required];
            let parts = carve(&config, region).unwrap();
            assert_eq!(parts.memtable.blocks.len(), 4);
            assert_eq!(parts.memtable.block_slots.len(), 8);
            assert!(parts.memtable.block_slots.iter().all(|&slot| slot == 0xA5A5_A5A5));
            assert_eq!(parts.memtable.entry_slots.len(), 4);
            parts.memtable.entry_slots[3] = 0;
            parts.memtable.blocks[3] = BlockEntry::EMPTY;
            parts.memtable.edge_slots[parts.memtable.edge_slots.len() - 1] = 0;
            parts.store.sort_scratch[parts.store.sort_scratch.len() - 1] = 0;
            assert_eq!(parts.memtable.arena.len(), 1024);
            assert_eq!(parts.segment_numbers.len(), 2);
            assert_eq!(parts.list_buffer.len(), 8 * (FILE_NAME_BYTES_MAX + 1));
            assert_eq!(parts.store.tables.len(), 4);
            assert_eq!(parts.store.merge_buffers.len(), 4 * config.merge_buffer_bytes());
            parts.memtable.arena[1023] = 0xff;
            parts.segment_numbers[1] = u64::MAX;
            parts.guards.check();
        }
    }

    /// Every host build gets the place a merge keeps between its steps (the host's, or with
    /// `compaction_auto` the writes'), carved (and checked by Miri) at every alignment;
    /// `small-code` builds none.
    #[test]
    fn a_host_build_gets_a_place_for_a_merge_between_steps() {
        for compaction_auto in [false, true] {
            let config = Config { compaction_auto, ..small_config() };
            let required = memory_bytes_required(&config);
            let mut backing = std::vec![0x5Au8; required + PART_ALIGN];
            for shift in 0..PART_ALIGN {
                let region = &mut backing[shift..shift + required];
                let parts = carve(&config, region).unwrap();
                let slots = usize::from(!cfg!(feature = "small-code"));
                assert_eq!(parts.store.compaction_steps.len(), slots);
                parts.guards.check();
            }
        }
    }

    #[test]
    fn a_region_one_byte_short_is_refused_with_the_size_required() {
        let config = small_config();
        let required = memory_bytes_required(&config);
        let mut backing = std::vec![0u8; required - 1];
        let error = carve(&config, &mut backing).err();
        assert_eq!(error, Some(Error::RegionTooSmall { bytes_required: required }));
    }

    #[test]
    #[cfg(debug_assertions)]
    fn an_overwritten_guard_is_detected() {
        let config = small_config();
        let mut backing = std::vec![0u8; memory_bytes_required(&config)];
        let parts = carve(&config, &mut backing).unwrap();
        let Parts { guards, .. } = parts;
        guards.check();
        let mut guards = guards;
        guards.words[3][0] ^= 1;
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| guards.check()));
        assert!(result.is_err());
    }
}
