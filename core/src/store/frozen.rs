//! The frozen memtable's flush in bounded steps (`Engine::flush_step`): the same tables a
//! one-call flush writes (its blocks, then its edges' two sections), but written at most
//! `Config::flush_step_bytes` of records per call, the table writer and the place in the frozen
//! memtable's order kept between calls. The frozen memtable cannot change while it is
//! written, so its order, sorted once per pass into a part of the region, stays
//! right; reads between steps see the frozen memtable, not the tables being written (they
//! are installed, all at once, when the last is synced). Nothing else writes tables while a
//! flush is in steps: a compaction or another flush finishes it first.

use super::{Flushed, Store};
use crate::error::Error;
use crate::limits::FLUSH_TABLES_MAX;
use crate::table::format::Section;
use crate::table::writer::TableWriter;
use crate::table::{TableMeta, DAMAGED};
use crate::vfs::Vfs;

/// Which of the frozen memtable's orders a step walks: its blocks (the block table), then
/// its edges by source and by target (the edge table's two sections).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pass {
    Blocks,
    OutEdges,
    InEdges,
    Done,
}

/// What a flush in steps keeps between calls, in the region (none without a frozen
/// memtable, see `Config::memtable_freezes`): the writer's state is a few hundred bytes, and
/// every copy of the engine in `open` would carry it on the stack.
pub(crate) struct FrozenSteps<'r> {
    /// The flush between two steps, if one is.
    flush: Option<FrozenFlush<'r>>,
    /// The order a pass writes the frozen memtable's records in (its capacity).
    order: &'r mut [u32],
}

impl<'r> FrozenSteps<'r> {
    pub(crate) fn new(order: &'r mut [u32]) -> FrozenSteps<'r> {
        FrozenSteps { flush: None, order }
    }
}

/// A flush of the frozen memtable between two steps.
struct FrozenFlush<'r> {
    /// The table being written, if one is open (it holds the engine's table buffer).
    writer: Option<TableWriter<'r>>,
    pass: Pass,
    /// The next record of `order[..count]` to write, once the pass's order is sorted.
    next: usize,
    count: usize,
    sorted: bool,
    /// The tables finished so far, and the number the first took.
    flushed: Flushed,
    number: u64,
    /// Per kind (blocks, edges): whether it has records to write, and whether tombstones
    /// are written (an older table may hold a version they hide).
    needed: [bool; 2],
    keep_tombstones: [bool; 2],
    /// When it began (its first step), by the event hook's clock.
    began: u64,
}

impl<'r> Store<'r> {
    /// Whether a flush of the frozen memtable is between steps (never in `small-code`, which
    /// has no frozen memtable: see `flushing_frozen`).
    pub(crate) fn frozen_flush_started(&self) -> bool {
        !cfg!(feature = "small-code") && self.frozen_steps.iter().any(|steps| steps.flush.is_some())
    }

    /// Writes up to `budget` bytes more of the frozen memtable's tables (numbered from
    /// `number`), through `buffer` (the engine's table buffer, lent to the writer until the
    /// flush ends). `Some` with the synced tables once all are written; `None` while there is
    /// more. On error every table of this flush is closed, removed and its pool bytes freed
    /// (the buffer given back), and the next step starts over.
    /// With the tables, `began` as the first step passed it.
    pub(crate) fn flush_frozen_step<V: Vfs>(
        &mut self,
        vfs: &mut V,
        (number, began): (u64, u64),
        buffer: &mut &'r mut [u8],
        budget: usize,
    ) -> Result<Option<(Flushed, u64)>, Error> {
        debug_assert!(self.flushing_frozen());
        let mut flush = match self.frozen_steps.first_mut().and_then(|steps| steps.flush.take()) {
            Some(flush) => flush,
            None => self.begin_frozen_flush(number, began),
        };
        // Without a place to keep it (the region has one with a frozen memtable only) the
        // flush is done in one call.
        let budget = if self.frozen_steps.is_empty() { usize::MAX } else { budget };
        let written = self.write_frozen(vfs, &mut flush, buffer, budget).and_then(|done| {
            match &flush.writer {
                Some(writer) if !done => writer.write_back(vfs).map(|()| done),
                _ => Ok(done),
            }
        });
        match written {
            Ok(true) => Ok(Some((flush.flushed, flush.began))),
            Ok(false) => {
                if let Some(steps) = self.frozen_steps.first_mut() {
                    steps.flush = Some(flush);
                }
                Ok(None)
            }
            Err(error) => {
                self.abandon_frozen_flush(vfs, flush, buffer);
                Err(error)
            }
        }
    }

    /// A flush of the frozen memtable, before its first step.
    fn begin_frozen_flush(&self, number: u64, began: u64) -> FrozenFlush<'r> {
        let tables = self.tables();
        let keep_tombstones =
            [tables.iter().any(TableMeta::holds_blocks), tables.iter().any(TableMeta::holds_edges)];
        let needed = [
            self.frozen.has_block_records(keep_tombstones[0]),
            self.frozen.has_edge_records(keep_tombstones[1]),
        ];
        FrozenFlush {
            writer: None,
            pass: Pass::Blocks,
            next: 0,
            count: 0,
            sorted: false,
            flushed: Flushed { tables: [TableMeta::EMPTY; FLUSH_TABLES_MAX], count: 0 },
            number,
            needed,
            keep_tombstones,
            began,
        }
    }

    /// Closes and removes every table of `flush` (pool bytes freed), giving the buffer back.
    fn abandon_frozen_flush<V: Vfs>(
        &mut self,
        vfs: &mut V,
        flush: FrozenFlush<'r>,
        buffer: &mut &'r mut [u8],
    ) {
        if let Some(writer) = flush.writer {
            *buffer = writer.abandon_into_buffer(vfs, &mut self.pool);
        }
        // Their files are the engine's to remove (`Engine::forget_flush_tables`), or the next
        // open's (orphans).
        self.discard_flushed(vfs, &flush.flushed);
    }

    /// Ends a flush between steps, if one is (a close that could not finish it, or an
    /// abandon): its files are left for the next open to remove, the buffer given back.
    pub(crate) fn abandon_frozen_flush_between_steps<V: Vfs>(
        &mut self,
        vfs: &mut V,
        buffer: &mut &'r mut [u8],
    ) {
        if !self.frozen_flush_started() {
            return;
        }
        if let Some(flush) = self.frozen_steps.first_mut().and_then(|steps| steps.flush.take()) {
            self.abandon_frozen_flush(vfs, flush, buffer);
        }
    }

    /// Writes the passes of `flush` until all are done (true), or `budget` bytes are spent or
    /// a table was finished and synced (false; an unbounded budget goes on to the end).
    fn write_frozen<V: Vfs>(
        &mut self,
        vfs: &mut V,
        flush: &mut FrozenFlush<'r>,
        buffer: &mut &'r mut [u8],
        budget: usize,
    ) -> Result<bool, Error> {
        let mut spent = 0usize;
        // Each round ends a pass (there are three) or returns.
        for _ in 0..4 {
            let kind = usize::from(flush.pass != Pass::Blocks);
            match flush.pass {
                Pass::Done => return Ok(true),
                Pass::Blocks if !flush.needed[0] => flush.pass = Pass::OutEdges,
                Pass::OutEdges | Pass::InEdges if !flush.needed[1] => flush.pass = Pass::Done,
                _ => {
                    if flush.writer.is_none() {
                        flush.writer = Some(self.begin_frozen_table(vfs, flush, buffer)?);
                    }
                    if !flush.sorted {
                        self.sort_frozen_pass(flush);
                    }
                    spent += self.write_frozen_records(vfs, flush, kind, budget - spent)?;
                    if flush.next < flush.count {
                        return Ok(false);
                    }
                    let synced_table = self.end_frozen_pass(vfs, flush, buffer)?;
                    // A bounded step ends with a table it synced (the sync is most of such a
                    // step's time: up to 6 ms in the scale run), so the install is a step of
                    // its own.
                    if budget != usize::MAX && (spent >= budget || synced_table) {
                        return Ok(false);
                    }
                }
            }
        }
        Err(DAMAGED)
    }

    /// Opens the table of the pass's kind, the engine's buffer lent to its writer.
    fn begin_frozen_table<V: Vfs>(
        &mut self,
        vfs: &mut V,
        flush: &FrozenFlush<'r>,
        buffer: &mut &'r mut [u8],
    ) -> Result<TableWriter<'r>, Error> {
        // The filter holds the block ids, or the key ids of both edge sections.
        let keys = match flush.pass {
            Pass::Blocks => u64::from(self.frozen.entries_used()),
            _ => 2 * u64::from(self.frozen.edges_used()),
        };
        let number = flush.number + flush.flushed.count as u64;
        let (bits, page_bytes) = (self.bloom_bits_per_key, self.table_page_bytes);
        TableWriter::begin_in(vfs, &mut self.pool, number, (keys, bits), buffer, page_bytes)
    }

    /// Sorts the frozen memtable's records for the pass into the region's order part.
    fn sort_frozen_pass(&mut self, flush: &mut FrozenFlush<'r>) {
        let Some(steps) = self.frozen_steps.first_mut() else {
            // No place to sort into (no frozen memtable): the pass writes nothing; unreachable,
            // as only a config with one freezes a memtable.
            (flush.next, flush.count, flush.sorted) = (0, 0, true);
            return;
        };
        let order = &mut *steps.order;
        flush.count = match flush.pass {
            Pass::Blocks => self.frozen.sorted_blocks(order).len(),
            Pass::OutEdges => self.frozen.sorted_edges(order, true).len(),
            _ => self.frozen.sorted_edges(order, false).len(),
        };
        (flush.next, flush.sorted) = (0, true);
    }

    /// Writes the pass's records from `flush.next` until `budget` bytes are written (at
    /// least one record) or the pass ends. Returns the bytes written.
    fn write_frozen_records<V: Vfs>(
        &mut self,
        vfs: &mut V,
        flush: &mut FrozenFlush<'r>,
        kind: usize,
        budget: usize,
    ) -> Result<usize, Error> {
        let writer = flush.writer.as_mut().ok_or(DAMAGED)?;
        let keep = flush.keep_tombstones[kind];
        let steps = self.frozen_steps.first().ok_or(DAMAGED)?;
        let order = steps.order.get(..flush.count).ok_or(DAMAGED)?;
        let mut written = 0;
        while let Some(&index) = order.get(flush.next) {
            if written >= budget && written > 0 {
                break;
            }
            flush.next += 1;
            written += match flush.pass {
                Pass::Blocks => {
                    let record = self.frozen.block_record(index);
                    if !keep && record.tombstone {
                        continue;
                    }
                    writer.add_block(vfs, &mut self.pool, &record)?;
                    record.encoded_bytes()
                }
                pass => {
                    let outgoing = pass == Pass::OutEdges;
                    let record = self.frozen.edge_record(index, outgoing);
                    if !keep && record.tombstone {
                        continue;
                    }
                    let section = if outgoing { Section::OutEdges } else { Section::InEdges };
                    writer.add_edge(vfs, &mut self.pool, section, &record)?;
                    crate::table::format::EDGE_RECORD_BYTES
                }
            };
        }
        Ok(written)
    }

    /// After a pass's last record: the next pass, the block table or the edge table (after
    /// its incoming section) finished and synced, the buffer back from its writer. Whether
    /// it finished a table.
    fn end_frozen_pass<V: Vfs>(
        &mut self,
        vfs: &mut V,
        flush: &mut FrozenFlush<'r>,
        buffer: &mut &'r mut [u8],
    ) -> Result<bool, Error> {
        flush.sorted = false;
        let (ends_table, next) = match flush.pass {
            Pass::Blocks => (true, Pass::OutEdges),
            Pass::OutEdges => (false, Pass::InEdges),
            Pass::InEdges | Pass::Done => (true, Pass::Done),
        };
        flush.pass = next;
        if !ends_table {
            return Ok(false);
        }
        let writer = flush.writer.take().ok_or(DAMAGED)?;
        let (table, given_back) = writer.finish_into_buffer(vfs, &mut self.pool);
        *buffer = given_back;
        let slot = flush.flushed.tables.get_mut(flush.flushed.count).ok_or(DAMAGED)?;
        *slot = table?;
        flush.flushed.count += 1;
        Ok(true)
    }
}
