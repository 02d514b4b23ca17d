//! The engine: validates every call, plans it against the levels (memtable and tables),
//! logs it to the WAL, then applies it; flushes the memtable to a sorted table when it
//! fills; answers reads by merging the levels.

use crate::codec::{narrow_u32, narrow_usize};
use crate::config::{Config, RecoveryMode, SyncPolicy};
use crate::edge::{Direction, Edge, EdgeCount, EdgeFilter};
use crate::error::{Error, Resource};
use crate::event::{EventHook, EventKind, Events};
use crate::id::BlockId;
use crate::limits::FLUSH_TABLES_MAX;
use crate::manifest::Manifest;
use crate::memtable::{BlockView, Memtable};
use crate::query::{
    self, BlockFilter, NamedQuery, PathOutcome, PathQuery, PathStep, QueryParts, ScanCursor,
    TraversalCount, TraversalHit, TraversalQuery,
};
use crate::region::{carve, Guards};
use crate::store::Replayer;
use crate::store::{gather_run, Flushed, FrozenAt, Plan, Store};
use crate::table::format::{table_name, TABLE_NAME_BYTES};
use crate::table::DAMAGED;
use crate::validate::{validate_block, validate_edge, Rules};
use crate::vfs::{Vfs, VfsError};
use crate::wal::format::{
    delete_block_payload, delete_log_bytes, deleted_edge_entry, edge_payload, padded_bytes,
    put_block_fixed, RecordKind, DELETED_EDGE_BYTES, EDGE_PAYLOAD_BYTES, FLAG_CREATED,
    FRAME_HEADER_BYTES, PUT_BLOCK_FIXED_BYTES,
};
use crate::wal::recovery::{recover, Checkpoint, RecoveryBuffers, RecoveryReport};
use crate::wal::{LogTail, Wal};

/// Counters describing the engine's state and what recovery found at open.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Live blocks in the whole store.
    pub blocks_live: u64,
    /// Live edges in the whole store.
    pub edges_live: u64,
    /// Memtable entries in use (block versions, tombstones, stubs), of
    /// `Config::memtable_entries_max`.
    pub memtable_entries_used: u32,
    /// Memtable edge records in use (live and tombstones), of `Config::memtable_edges_max`.
    pub memtable_edges_used: u32,
    /// Memtable arena bytes in use, of `Config::memtable_arena_bytes_max`.
    pub memtable_arena_bytes_used: u32,
    /// Sorted tables, of `Config::tables_max`.
    pub tables_count: u32,
    /// Of them, the tables that hold edges: the most an edge listing reads (block tables
    /// hold none; filters turn a listing away from most edge tables).
    pub tables_with_edges: u32,
    /// Table memory (blooms and indexes) in use, of `Config::table_memory_bytes`.
    pub table_memory_bytes_used: u64,
    /// Memtable flushes since open.
    pub flush_count: u64,
    /// Compaction steps since open.
    pub compaction_count: u64,
    /// Bytes written to tables by flushes and compactions since open (write amplification
    /// is this plus the WAL's bytes, over the bytes of user data).
    pub table_bytes_written: u64,
    /// The sequence the next write will get.
    pub sequence_next: u64,
    /// Log position after the last write.
    pub wal_position: u64,
    /// Log position up to which writes are durable.
    pub wal_synced_position: u64,
    /// WAL segment files in the store.
    pub wal_segments_count: u32,
    /// WAL frames replayed at open.
    pub recovery_frames_replayed: u64,
    /// WAL bytes replayed at open.
    pub recovery_bytes_replayed: u64,
    /// Bytes of torn, never-synced WAL tail removed at open.
    pub wal_torn_bytes_truncated: u64,
    /// Bytes of damaged, once-synced WAL dropped at open (tolerant recovery only).
    pub wal_corrupt_bytes_dropped: u64,
    /// A write or sync failed in a way that leaves the disk state unknown; writes are
    /// refused until reopen.
    pub poisoned: bool,
    /// Writes since open that found the memtable or the log full and waited for a flush
    /// (and the compaction it triggers) before being applied.
    pub write_stalls: u64,
    /// Their total time, in nanoseconds of the event hook's clock (0 without one).
    pub write_stall_ns_total: u64,
    /// The longest of them, in nanoseconds of the event hook's clock (0 without one).
    pub write_stall_ns_max: u64,
    /// Table data pages read or viewed since open: point reads, edge listings, scans and
    /// compaction (a view of a memory-mapped page counts: it is the page the call touched).
    pub table_pages_read: u64,
    /// Log segment syncs since open (each an fsync).
    pub wal_syncs: u64,
    /// A memtable is frozen, waiting for `Engine::flush_step` (`Config::flush_auto` off) or
    /// for the next writes' steps (`Config::flush_in_steps`).
    pub flush_pending: bool,
    /// A compaction is between steps, waiting for `Engine::compact_step` (or, with
    /// `Config::compaction_auto`, for the next writes): it holds the table buffer, so a
    /// flush finishes it first. Or the last merge's input tables are still being removed, a
    /// piece a step.
    pub compaction_pending: bool,
}

/// An open store. Single-threaded: the host serialises every call.
///
/// The host hands `open` a config, a region of `memory_bytes_required(&config)` bytes (the
/// engine carves everything it uses from it and allocates nothing), and a storage backend
/// (`vfs::posix::PosixVfs` for a directory, a host's own `Vfs`, or the simulation):
///
/// ```
/// use kausaldb_core::vfs::sim::{SimConfig, SimVfs};
/// use kausaldb_core::{memory_bytes_required, BlockId, Config, Direction, Edge, EdgeFilter};
/// use kausaldb_core::{EdgeType, Engine};
///
/// # fn main() -> Result<(), kausaldb_core::Error> {
/// let config = Config {
///     memtable_entries_max: 1024,
///     memtable_edges_max: 1024,
///     content_bytes_max: 4096,
///     wal_segment_bytes_max: 1 << 18,
///     ..Config::DEFAULT // every limit is a field, unit last
/// };
/// let mut region = vec![0u8; memory_bytes_required(&config)];
/// let sim = SimConfig { files_max: 16, file_bytes_max: 1 << 18, pending_bytes_max: 1 << 16 };
/// let mut disk = vec![0u8; sim.memory_bytes_required()];
/// let mut vfs = SimVfs::new(&mut disk, sim, 42)?; // an in-memory disk that can crash
/// let mut db = Engine::open(config, &mut region, &mut vfs)?;
/// let (main, parse) = (BlockId::derive(b"repo", b"main"), BlockId::derive(b"repo", b"parse"));
/// db.put_block(main, b"src/main.rs", br#"{"kind":"function"}"#, b"fn main() { parse() }")?;
/// db.put_block(parse, b"src/parse.rs", b"{}", b"fn parse() {}")?;
/// db.put_edge(Edge { source: main, target: parse, edge_type: EdgeType::CALLS })?;
/// db.sync()?; // every write so far survives any crash from here on
/// let mut callers = [Edge::EMPTY; 8];
/// let calls = EdgeFilter::Only(EdgeType::CALLS);
/// let count = db.edges(parse, Direction::Incoming, calls, &mut callers)?;
/// assert_eq!((count.written, callers[0].source), (1, main));
/// db.close()?;
/// # Ok(())
/// # }
/// ```
pub struct Engine<'r, V: Vfs> {
    config: Config,
    vfs: V,
    store: Store<'r>,
    wal: Wal<'r>,
    /// In the region (see `Manifest::add_flushed_tables`).
    manifest: &'r mut Manifest,
    /// Where flushes assemble table pages (the recovery read buffer, free after open).
    table_buffer: &'r mut [u8],
    /// Visited set, node list and DFS stack of graph queries.
    query: QueryParts<'r>,
    guards: Guards<'r>,
    next_sequence: u64,
    flushes: u64,
    compactions: u64,
    table_bytes_written: u64,
    recovery: RecoveryReport,
    /// The host's event hook and the stalls it timed.
    events: Events<'r>,
    /// A flush with `Config::compaction_auto` left a compaction to the next writes' steps.
    compaction_due: bool,
    /// With `Config::flush_in_steps`, a write froze the memtable: the next writes take its
    /// flush's steps.
    flush_due: bool,
    /// `close` or `abandon` ran: dropping the engine has nothing left to do.
    closed: bool,
}

/// Dropping an open engine closes it as `close` does (sync, close marker, handles), best
/// effort: a Rust host that forgets `close` loses no buffered write (100 puts, drop, reopen
/// used to find none). An error cannot be reported here; `close` reports it, and `abandon`
/// skips the sync on purpose.
impl<V: Vfs> Drop for Engine<'_, V> {
    fn drop(&mut self) {
        if !self.closed {
            let _ = self.close_files();
        }
    }
}

impl<V: Vfs> core::fmt::Debug for Engine<'_, V> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.config)
            .field("stats", &self.stats())
            .finish()
    }
}

/// Opens the store's levels: the manifest and its tables, then the WAL replayed into the
/// memtable. Only once recovery has decided the store opens are the leftovers of a crashed
/// flush or compaction removed: a refused open (strict mode, a lost manifest) deletes
/// nothing.
fn recover_store<V: Vfs>(
    config: &Config,
    vfs: &mut V,
    store: &mut Store<'_>,
    manifest: &mut Manifest,
    buffers: RecoveryBuffers<'_>,
) -> Result<(LogTail, RecoveryReport), Error> {
    let RecoveryBuffers { list, segment_numbers, read } = buffers;
    let recorded = manifest.load_into(vfs)?;
    let flush_began = !recorded && Manifest::check_never_flushed(vfs, list)?;
    store.load(vfs, manifest)?;
    let checkpoint = Checkpoint {
        position: manifest.checkpoint_position,
        sequence: manifest.checkpoint_sequence,
        recorded,
        durable_end: manifest.durable_end,
        flush_began,
    };
    let payload_max = config.frame_bytes_max() - FRAME_HEADER_BYTES;
    let strict = config.recovery_mode == RecoveryMode::Strict;
    let mut replayer = Replayer { store, config };
    let buffers = RecoveryBuffers { list: &mut *list, segment_numbers, read };
    let (tail, recovery) = recover(vfs, buffers, strict, payload_max, &mut replayer, checkpoint)?;
    // Tolerant recovery accepted a log shorter than the last clean close recorded: the
    // record moves down to the log's new end, so a later crash is not read as that loss
    // again. (If storing it fails, the open fails: the manifest in memory is dropped.)
    let stored = if manifest.durable_end > tail.position {
        manifest.durable_end = tail.position;
        manifest.store(vfs)
    } else {
        Ok(())
    };
    if let Err(error) = stored.and_then(|()| manifest.remove_orphans(vfs, list)) {
        if let Some(segment) = tail.segment {
            vfs.close(segment.file);
        }
        return Err(error);
    }
    Ok((tail, recovery))
}

/// Bytes of a frame with a payload of `payload_bytes`.
fn frame_bytes(payload_bytes: usize) -> usize {
    FRAME_HEADER_BYTES + padded_bytes(payload_bytes)
}

impl<'r, V: Vfs> Engine<'r, V> {
    /// Opens (or creates) the store in `vfs`, with every part of its memory carved from
    /// `region` (at least `memory_bytes_required(&config)` bytes): loads the manifest and
    /// its tables, removes orphans, and replays the WAL after the checkpoint.
    pub fn open(config: Config, region: &'r mut [u8], vfs: V) -> Result<Engine<'r, V>, Error> {
        Self::open_or_give_back(config, region, vfs).map_err(|(error, _)| error)
    }

    /// As `open`, but a refused open hands the backend back with the error, as the failed
    /// open left it (holding the store's lock, if it took it, until it is dropped): for a
    /// host that reads its own record of what failed, as the C API does for
    /// `kausal_error_detail`.
    pub fn open_or_give_back(
        config: Config,
        region: &'r mut [u8],
        vfs: V,
    ) -> Result<Engine<'r, V>, (Error, V)> {
        Engine::open_inner(config, region, vfs, None)
    }

    /// `open_or_give_back` with an event hook: `hook` receives the recovery of this open
    /// and every later flush, compaction and write stall (see `event`), and its clock times
    /// them (`Stats::write_stall_ns_max`).
    pub fn open_observed(
        config: Config,
        region: &'r mut [u8],
        vfs: V,
        hook: &'r mut (dyn EventHook + Send),
    ) -> Result<Engine<'r, V>, (Error, V)> {
        Engine::open_inner(config, region, vfs, Some(hook))
    }

    fn open_inner(
        config: Config,
        region: &'r mut [u8],
        mut vfs: V,
        hook: Option<&'r mut (dyn EventHook + Send)>,
    ) -> Result<Engine<'r, V>, (Error, V)> {
        let parts = match config.validate().and_then(|()| carve(&config, region)) {
            Ok(parts) => parts,
            Err(error) => return Err((error, vfs)),
        };
        if let Err(error) = vfs.lock() {
            let error = match error {
                VfsError::Locked { pid } => Error::Locked { pid },
                other => Error::Io(other),
            };
            return Err((error, vfs));
        }
        let frozen = (parts.frozen, parts.frozen_at);
        let mut store = Store::new(Memtable::new(parts.memtable), frozen, parts.store, &config);
        let buffers = RecoveryBuffers {
            list: parts.list_buffer,
            segment_numbers: parts.segment_numbers,
            read: &mut *parts.read_buffer,
        };
        let mut events = Events::new(hook);
        let started = events.start(EventKind::RecoveryStart, 0, 0);
        let manifest = parts.manifest;
        let recovered = recover_store(&config, &mut vfs, &mut store, manifest, buffers);
        let (tail, recovery) = match recovered {
            Ok(recovered) => recovered,
            Err(error) => {
                store.close(&mut vfs);
                return Err((error, vfs));
            }
        };
        let tables = narrow_u32(store.tables().len());
        events.end(EventKind::RecoveryEnd, recovery.bytes_replayed, tables, started);
        let wal =
            Wal::new(parts.wal_buffer, config.wal_segment_bytes_max, config.wal_segments_max, tail);
        let next_sequence = recovery.sequence_next.max(manifest.checkpoint_sequence).max(1);
        let flush_due = config.flush_auto && config.memtable_freezes() && store.flushing_frozen();
        let engine = Engine {
            config,
            vfs,
            store,
            wal,
            manifest,
            table_buffer: parts.read_buffer,
            query: parts.query,
            guards: parts.guards,
            next_sequence,
            flushes: 0,
            compactions: 0,
            table_bytes_written: 0,
            recovery,
            events,
            compaction_due: false,
            flush_due,
            closed: false,
        };
        engine.check_invariants();
        Ok(engine)
    }

    /// Debug-build checks run on every public call: region guard words intact, counters
    /// within their limits.
    fn check_invariants(&self) {
        if cfg!(debug_assertions) {
            self.guards.check();
            for memtable in [&self.store.memtable, &*self.store.frozen] {
                assert!(memtable.entries_used() <= self.config.memtable_entries_max);
                assert!(memtable.edges_used() <= self.config.memtable_edges_max);
                assert!(memtable.arena_bytes_used() <= self.config.memtable_arena_bytes_max);
            }
            assert_eq!(self.store.flushing_frozen(), self.store.frozen_at.is_some());
            // The table buffer is lent only to a flush or a compaction in steps (to the table
            // it has open: between its tables a flush has none); never to both.
            let between = self.store.compaction_between_steps().is_some();
            assert!(!(between && self.store.frozen_flush_started()));
            assert!(!self.table_buffer.is_empty() || self.store.frozen_flush_started() || between);
            assert!(self.config.memtable_freezes() || !self.store.flushing_frozen());
            assert!(self.store.tables().len() <= self.config.tables_max as usize);
            assert!(self.wal.synced_position() <= self.wal.position());
        }
    }

    /// Refuses to work once a failure left the disk state unknown.
    fn writable(&self) -> Result<(), Error> {
        if self.wal.is_poisoned() {
            return Err(Error::Poisoned);
        }
        Ok(())
    }

    /// Plans a write; if the memtable (or the WAL) has no room, flushes and plans again.
    /// `log_bytes`: the bytes of log the planned write takes. Both are `dyn`: one copy of
    /// this for the four writes (a generic one was 250 bytes of firmware code each).
    fn plan_with_room(
        &mut self,
        log_bytes: &dyn Fn(&Plan) -> usize,
        plan: &dyn Fn(&mut Store<'r>, &mut V) -> Result<Plan, Error>,
    ) -> Result<Plan, Error> {
        self.step_on_write()?;
        self.writable()?;
        let first = plan(&mut self.store, &mut self.vfs)?;
        let wal_full = self.wal.check_room(log_bytes(&first)) == Err(Error::WalFull);
        if self.store.room_for(&first).is_ok() && !wal_full {
            return Ok(first);
        }
        if self.config.memtable_freezes() && !wal_full && !self.store.flushing_frozen() {
            // The other memtable takes the writes: no flush, no stall.
            self.freeze();
        } else {
            let started = self.events.start(EventKind::WriteStallStart, 0, 0);
            let made = self.make_room(wal_full);
            let tables = narrow_u32(self.store.tables().len());
            let stalled = self.events.end(EventKind::WriteStallEnd, 0, tables, started);
            self.events.count_stall(stalled);
            made?;
        }
        let second = plan(&mut self.store, &mut self.vfs)?;
        self.store.room_for(&second).map_err(|resource| Error::MemtableFull { resource })?;
        Ok(second)
    }

    /// A write's back-pressure: with one memtable (or a full log, which only a checkpoint
    /// empties) the memtables are flushed; with a frozen one (`Config::memtable_freezes`),
    /// the frozen memtable's flush is finished and the memtable frozen in its place.
    fn make_room(&mut self, wal_full: bool) -> Result<(), Error> {
        if !self.config.memtable_freezes() || wal_full {
            return self.flush_memtables();
        }
        if self.store.flushing_frozen() {
            self.flush_frozen(usize::MAX)?;
        }
        self.freeze();
        Ok(())
    }

    /// Freezes the memtable (the frozen one is empty) where the log stands now; nothing if it
    /// holds nothing. With `Config::flush_in_steps` the next writes take its flush's steps.
    fn freeze(&mut self) {
        if self.store.memtable.is_empty() {
            return;
        }
        self.store.freeze(self.log_now());
        self.flush_due = self.config.flush_auto;
    }

    /// Syncs after a write when the policy says so.
    fn finish_write(&mut self, sequence: u64) -> Result<u64, Error> {
        self.next_sequence = sequence + 1;
        if self.config.sync_policy == SyncPolicy::EveryWrite {
            self.wal.sync(&mut self.vfs)?;
        }
        self.check_invariants();
        Ok(sequence)
    }

    /// Stores a block, replacing any earlier version of `id` (its edges stay). Returns the
    /// sequence assigned to the write.
    pub fn put_block(
        &mut self,
        id: BlockId,
        source_uri: &[u8],
        metadata_json: &[u8],
        content: &[u8],
    ) -> Result<u64, Error> {
        self.check_invariants();
        validate_block(Rules::Write, &self.config, &id, source_uri, metadata_json, content)?;
        let payload = source_uri.len() + metadata_json.len() + content.len();
        let frame = frame_bytes(PUT_BLOCK_FIXED_BYTES + payload);
        let plan =
            self.plan_with_room(&|_| frame, &|store, vfs| store.plan_put_block(vfs, &id, payload))?;
        let sequence = self.next_sequence;
        let fixed = put_block_fixed(&id, [source_uri.len(), metadata_json.len(), content.len()]);
        let parts: [&[u8]; 4] = [&fixed, source_uri, metadata_json, content];
        let flags = if plan.new_block { FLAG_CREATED } else { 0 };
        self.wal.append(&mut self.vfs, (RecordKind::PutBlock, flags), sequence, &parts)?;
        // The manifest bounds the counts far below overflow.
        let parts = [source_uri, metadata_json, content];
        self.store.apply_put_block(&plan, &id, sequence, parts).ok_or(DAMAGED)?;
        self.finish_write(sequence)
    }

    /// Deletes a live block and every edge into or out of it. `NotFound` if it is not live.
    /// The delete is one write (a crash keeps all of it or none), so its edge tombstones must
    /// fit the memtable at once: a block with more edges than `memtable_edges_max` or than
    /// `memtable_entries_max - 1` gets `MemtableFull` every time, and
    /// is deleted by removing its edges first (`delete_edge`), then the block.
    pub fn delete_block(&mut self, id: BlockId) -> Result<u64, Error> {
        self.check_invariants();
        if id.is_zero() {
            return Err(Error::IdZero);
        }
        // At most DELETE_ROUND_EDGES: nothing saturates.
        let per_frame = u32::try_from(self.config.deleted_edges_per_frame()).unwrap_or(u32::MAX);
        // A plan the memtable has room for fits a segment (config validation). A first plan
        // made before a flush may count more edges than that; saturating keeps its answer
        // (the log needs a new segment) and the memtable check refuses it.
        let log_bytes = |plan: &Plan| {
            let edges = u32::try_from(plan.edge_records).unwrap_or(u32::MAX);
            let bytes = delete_log_bytes(edges, per_frame);
            usize::try_from(bytes).unwrap_or(usize::MAX)
        };
        let plan =
            self.plan_with_room(&log_bytes, &|store, vfs| store.plan_delete_block(vfs, &id))?;
        let sequence = self.next_sequence;
        self.wal.begin_group(&mut self.vfs, log_bytes(&plan))?;
        self.log_and_apply_delete(&id, &plan, sequence)?;
        self.finish_write(sequence)
    }

    /// A delete's group: each round of its edges logged in a deleted-edges frame, then
    /// tombstoned; then the delete-block frame, which makes the group count at replay, and
    /// the block's tombstone. Once anything is logged, a failure poisons the engine: the
    /// log and the memtable may differ until a reopen replays the log.
    fn log_and_apply_delete(
        &mut self,
        id: &BlockId,
        plan: &Plan,
        sequence: u64,
    ) -> Result<(), Error> {
        let per_frame = self.config.deleted_edges_per_frame();
        let mut logged = false;
        let wal = &mut self.wal;
        let removed = self.store.remove_edges_of(
            &mut self.vfs,
            id,
            plan,
            per_frame,
            &mut |vfs, round, entries| {
                let entries = entries.get_mut(..round.len() * DELETED_EDGE_BYTES).ok_or(DAMAGED)?;
                for (entry, edge) in entries.chunks_exact_mut(DELETED_EDGE_BYTES).zip(round) {
                    entry.copy_from_slice(&deleted_edge_entry(id, edge));
                }
                logged = true;
                let parts: [&[u8]; 2] = [&id.0, entries];
                wal.append(vfs, (RecordKind::DeletedEdges, 0), sequence, &parts)
            },
        );
        let finished = removed.and_then(|removed| {
            logged = true;
            // At most the planned edges, which the memtable's u32 limit bounds.
            let payload = delete_block_payload(id, narrow_u32(narrow_usize(removed)));
            self.wal.append(&mut self.vfs, (RecordKind::DeleteBlock, 0), sequence, &[&payload])?;
            self.store.finish_delete_block(id, sequence, removed).ok_or(DAMAGED)
        });
        if finished.is_err() && logged {
            self.wal.poison();
        }
        finished
    }

    /// Stores an edge between two live blocks (`NotFound` otherwise). Returns `Ok(None)` if
    /// the edge already exists (a no-op), else the write's sequence.
    pub fn put_edge(&mut self, edge: Edge) -> Result<Option<u64>, Error> {
        self.check_invariants();
        validate_edge(&edge)?;
        // A duplicate plans as needing nothing, so it never triggers a flush.
        let plan = self.plan_with_room(&|_| frame_bytes(EDGE_PAYLOAD_BYTES), &|store, vfs| {
            Ok(store
                .plan_put_edge(vfs, &edge)?
                .unwrap_or(Plan { duplicate: true, ..Plan::default() }))
        })?;
        if plan.duplicate {
            return Ok(None);
        }
        let sequence = self.next_sequence;
        let payload = edge_payload(&edge);
        self.wal.append(&mut self.vfs, (RecordKind::PutEdge, 0), sequence, &[&payload])?;
        self.store.apply_put_edge(&edge).ok_or(DAMAGED)?;
        self.finish_write(sequence).map(Some)
    }

    /// Deletes an edge; `NotFound` if it does not exist.
    pub fn delete_edge(&mut self, edge: Edge) -> Result<u64, Error> {
        self.check_invariants();
        validate_edge(&edge)?;
        let frame = frame_bytes(EDGE_PAYLOAD_BYTES);
        self.plan_with_room(&|_| frame, &|store, vfs| store.plan_delete_edge(vfs, &edge))?;
        let sequence = self.next_sequence;
        let payload = edge_payload(&edge);
        self.wal.append(&mut self.vfs, (RecordKind::DeleteEdge, 0), sequence, &[&payload])?;
        // Planning proved the edge visible, so the live count covers it.
        self.store.apply_delete_edge(&edge).ok_or(DAMAGED)?;
        self.finish_write(sequence)
    }

    /// The live block `id`, valid until the next call on the engine: a borrow of the
    /// memtable, or of a table in place when the backend has views (neither copies), or of
    /// the engine's lookup buffer (one table page read).
    pub fn find_block(&mut self, id: BlockId) -> Result<Option<BlockView<'_>>, Error> {
        self.check_invariants();
        if id.is_zero() {
            return Err(Error::IdZero);
        }
        self.store.find_block(&mut self.vfs, &id)
    }

    /// Writes the edges of the live block `id` in `direction` that pass `filter` into `out`
    /// and counts every match; `NotFound` if the block is not live. Outgoing edges come
    /// before incoming ones; within each the order is deterministic for a given store state
    /// (key order when edges come from several levels, newest first from the memtable
    /// alone) but not otherwise specified.
    pub fn edges(
        &mut self,
        id: BlockId,
        direction: Direction,
        filter: EdgeFilter<'_>,
        out: &mut [Edge],
    ) -> Result<EdgeCount, Error> {
        let mut written = 0;
        let total = self.visit_edges(id, direction, filter, |edge| {
            if let Some(slot) = out.get_mut(written) {
                *slot = edge;
                written += 1;
            }
        })?;
        Ok(EdgeCount { written, total })
    }

    /// Calls `visit` with each edge of the live block `id` in `direction` that passes
    /// `filter` (the order of `edges`), and returns how many there were.
    pub fn visit_edges(
        &mut self,
        id: BlockId,
        direction: Direction,
        filter: EdgeFilter<'_>,
        visit: impl FnMut(Edge),
    ) -> Result<usize, Error> {
        self.check_invariants();
        if id.is_zero() {
            return Err(Error::IdZero);
        }
        // The store answers NotFound for a block that is not live.
        self.store.visit_edges(&mut self.vfs, &id, direction, &filter, visit)
    }

    /// Looks up every id of `ids` and calls `visit(position, view)` for each, in order:
    /// `None` if that block is not live. Each view is valid only during its call (a
    /// table-resident block may be read into the lookup buffer the next one reuses). Returns how
    /// many were live. `IdZero` before any lookup if an id is zero.
    pub fn find_blocks(
        &mut self,
        ids: &[BlockId],
        mut visit: impl FnMut(usize, Option<BlockView<'_>>),
    ) -> Result<usize, Error> {
        self.check_invariants();
        if ids.iter().any(BlockId::is_zero) {
            return Err(Error::IdZero);
        }
        let mut found = 0;
        for (position, id) in ids.iter().enumerate() {
            let view = self.store.find_block(&mut self.vfs, id)?;
            found += usize::from(view.is_some());
            visit(position, view);
        }
        Ok(found)
    }

    /// Runs a traversal and writes its hits into `out`: the starts first (depth 0), then
    /// each block reached, once, with the edge it was first reached by. Breadth-first
    /// results come in depth order; both orders are deterministic for a given store state.
    /// `NotFound` if a start is not live; `QueryInvalid` for an out-of-range field.
    pub fn traverse(
        &mut self,
        query: &TraversalQuery<'_>,
        out: &mut [TraversalHit],
    ) -> Result<TraversalCount, Error> {
        let capacity = out.len();
        self.traverse_with(query, capacity, |position, hit| out[position] = hit)
    }

    /// `traverse` handing each hit to `emit(position, hit)` instead of a slice: at most
    /// `capacity` hits, positions 0, 1, ... in order (for hosts with their own hit layout).
    pub fn traverse_with(
        &mut self,
        query: &TraversalQuery<'_>,
        capacity: usize,
        emit: impl FnMut(usize, TraversalHit),
    ) -> Result<TraversalCount, Error> {
        self.check_invariants();
        let (store, vfs, parts) = (&mut self.store, &mut self.vfs, &mut self.query);
        let count = query::traverse(store, vfs, parts, query, capacity, emit)?;
        debug_assert!(count.written <= capacity.min(query.results_max as usize));
        Ok(count)
    }

    /// Runs a named query (callers, callees, ...) from `id` to `depth_max` edges away.
    pub fn query(
        &mut self,
        named: NamedQuery,
        id: BlockId,
        depth_max: u32,
        out: &mut [TraversalHit],
    ) -> Result<TraversalCount, Error> {
        let starts = [id];
        let query = named.traversal(&starts, depth_max).with_results_for(out.len());
        self.traverse(&query, out)
    }

    /// A shortest path from `query.from` to `query.to` (breadth first, same filters as a
    /// traversal), written into `out` from `from` to `to`. `BufferTooSmall` with the steps
    /// needed if `out` is too short; `NotFound` if either end is not live.
    pub fn shortest_path(
        &mut self,
        query: &PathQuery<'_>,
        out: &mut [PathStep],
    ) -> Result<PathOutcome, Error> {
        self.shortest_path_with(query, out.len(), |step, path_step| out[step] = path_step)
    }

    /// `shortest_path` without an output array: hands step `i` of the path (`i <
    /// capacity`, from the last step back to the first) to `emit(i, step)`, so a host
    /// writes them where it keeps them (the C API into the caller's array: a stack copy of
    /// the longest path was 3.6 KiB). `BufferTooSmall` if the path has more steps than
    /// `capacity`.
    pub fn shortest_path_with(
        &mut self,
        query: &PathQuery<'_>,
        capacity: usize,
        emit: impl FnMut(usize, PathStep),
    ) -> Result<PathOutcome, Error> {
        self.check_invariants();
        let (store, vfs, parts) = (&mut self.store, &mut self.vfs, &mut self.query);
        query::shortest_path(store, vfs, parts, query, capacity, emit)
    }

    /// Writes the ids of live blocks that pass `filter`, in id order after `cursor`, into
    /// `out`; returns how many. Call again with the same cursor until `cursor.done`. Costs
    /// the records passed over, plus a sort of the memtable's ids when the memtable changed
    /// since the last scan call (or an edge listing merged levels in between): paging
    /// through a store costs about what it returns (40,000 memtable blocks, 64 per call:
    /// 1.2 ms). `BufferTooSmall` for an empty `out`.
    pub fn scan(
        &mut self,
        filter: &BlockFilter<'_>,
        cursor: &mut ScanCursor,
        out: &mut [BlockId],
    ) -> Result<usize, Error> {
        self.check_invariants();
        filter.validate()?;
        if cursor.done {
            return Ok(0);
        }
        if out.is_empty() {
            return Err(Error::BufferTooSmall { needed: 1 });
        }
        let mut written = 0;
        let after = cursor.after;
        let examined_all = self.store.scan_blocks(&mut self.vfs, &after, |record| {
            if filter.matches(record.source_uri, record.metadata_json, record.content) {
                out[written] = record.id;
                written += 1;
            }
            // The cursor moves past every live block examined (tombstones are passed over
            // between them, so they are behind it too).
            cursor.after = record.id;
            written < out.len()
        })?;
        cursor.done = examined_all;
        debug_assert!(written <= out.len());
        Ok(written)
    }

    /// Makes every earlier write durable.
    pub fn sync(&mut self) -> Result<(), Error> {
        self.check_invariants();
        self.wal.sync(&mut self.vfs)
    }

    /// Writes the memtable to new sorted tables (its edges and its blocks, each kind in a
    /// table of its own) and empties it (also done automatically when a write finds the
    /// memtable or the WAL full); a frozen memtable (see `Config::flush_auto`) is written
    /// first. Crash-safe at every step: the tables are synced, then named in a new manifest
    /// (atomic replace), then the WAL they cover is removed.
    /// `MemtableFull { resource: Tables }` when too few of `Config::tables_max` table slots
    /// are free (and compaction is not automatic); `MemtableFull { resource: TableMemory }`
    /// when its tables' filters and indexes do not fit `Config::table_memory_bytes`.
    pub fn flush(&mut self) -> Result<(), Error> {
        self.check_invariants();
        self.writable()?;
        self.flush_memtables()?;
        // Asked for, a flush ends with the compaction it calls for done (`compaction_auto`).
        if self.compaction_due() {
            self.compact_after_flush()?;
        }
        self.check_invariants();
        Ok(())
    }

    /// The frozen memtable, then the memtable, written to tables (those holding anything).
    fn flush_memtables(&mut self) -> Result<(), Error> {
        if self.store.flushing_frozen() {
            self.flush_next()?;
        }
        if !self.store.memtable.is_empty() {
            self.flush_next()?;
        }
        Ok(())
    }

    /// Without `Config::flush_auto`: one step of writing the frozen memtable to tables, as
    /// `flush` does, while the memtable keeps taking writes: at most `flush_step_bytes` of
    /// records (plus the sort a pass over the memtable begins with, and the index and filter
    /// a table ends with); a step that finishes a table ends with its sync. A last step
    /// installs the tables and removes the log they cover. (With `Config::flush_in_steps`
    /// the writes take these steps.) The host calls it while `Stats::flush_pending` says a
    /// memtable is frozen (say, between write batches); the first step of a flush syncs the
    /// log, so every write before it is then durable. Returns whether there was a frozen
    /// memtable to work on.
    /// A write that finds both memtables full, `flush`, `compact_step` and `close` finish a
    /// flush in steps at once. Its errors are `flush`'s; after one, the next step starts the
    /// flush over.
    pub fn flush_step(&mut self) -> Result<bool, Error> {
        self.check_invariants();
        self.writable()?;
        if !self.store.flushing_frozen() {
            return Ok(false);
        }
        // The last merge's inputs go first, as bounded (the flush will create tables).
        if self.store.retire_step(&mut self.vfs, self.config.compaction_step_bytes as usize) {
            self.check_invariants();
            return Ok(true);
        }
        if self.store.compaction_between_steps().is_some() {
            // The flush begins once the merge ends (one writer of tables at a time): this
            // step is one of the merge's, as bounded.
            self.merge_step(self.config.compaction_step_bytes as usize)?;
            self.check_invariants();
            return Ok(true);
        }
        self.flush_frozen(self.config.flush_step_bytes as usize)?;
        self.check_invariants();
        Ok(true)
    }

    /// Writes the next flushed memtable (the frozen one if it holds anything, its steps not
    /// yet taken all at once) to tables, checkpoints the log it covers, and compacts after it
    /// with `compaction_auto`.
    fn flush_next(&mut self) -> Result<(), Error> {
        if self.store.flushing_frozen() {
            return self.flush_frozen(usize::MAX);
        }
        self.begin_flush()?;
        let payload = u64::from(self.store.memtable.arena_bytes_used());
        let started = self.events.start(EventKind::FlushStart, payload, 0);
        let number = self.manifest.next_table_number;
        let flushed = self
            .store
            .write_tables(&mut self.vfs, number, self.table_buffer)
            .inspect_err(|_| self.forget_flush_tables(number))?;
        self.install_flush(&flushed, self.log_now())?;
        self.finish_flush(&flushed, started);
        self.wal.checkpoint(&mut self.vfs)?;
        self.compact_after_flush_if_auto()
    }

    /// Up to `budget` bytes more of the frozen memtable's tables (`flush_step_bytes` for a
    /// host's `flush_step`); once all are written, they are installed and the log before the
    /// freeze checkpointed. The first step compacts if it must and syncs the log.
    fn flush_frozen(&mut self, budget: usize) -> Result<(), Error> {
        let mut began = 0;
        if !self.store.frozen_flush_started() {
            self.begin_flush()?;
            let payload = u64::from(self.store.frozen.arena_bytes_used());
            began = self.events.start(EventKind::FlushStart, payload, 0);
        }
        let number = self.manifest.next_table_number;
        let buffer = &mut self.table_buffer;
        let step = self
            .store
            .flush_frozen_step(&mut self.vfs, (number, began), buffer, budget)
            .inspect_err(|_| self.forget_flush_tables(number))?;
        let Some((flushed, began)) = step else {
            return Ok(());
        };
        let frozen_at = (*self.store.frozen_at).ok_or(DAMAGED)?;
        self.install_flush(&flushed, frozen_at)?;
        self.finish_flush(&flushed, began);
        self.wal.checkpoint_before(&mut self.vfs, frozen_at.segment)?;
        self.compact_after_flush_if_auto()
    }

    /// Before a flush writes anything: compaction until its tables fit (`compaction_auto`),
    /// a free table slot for each, and the log synced.
    fn begin_flush(&mut self) -> Result<(), Error> {
        // One writer of tables at a time: a compaction between steps ends first.
        if self.store.compaction_between_steps().is_some() {
            self.merge_step(usize::MAX)?;
        }
        // New table files only once no retired one is left (see `store::retire`).
        self.store.retire_all(&mut self.vfs);
        self.compact_until_flush_fits()?;
        if self.store.tables_full() {
            return Err(Error::MemtableFull { resource: Resource::Tables });
        }
        self.wal.sync(&mut self.vfs)
    }

    /// After a flush's tables are installed: its count and its end event.
    fn finish_flush(&mut self, flushed: &Flushed, started: u64) {
        self.flushes += 1;
        let bytes = flushed.tables().iter().map(|table| table.file_bytes).sum();
        let tables = narrow_u32(self.store.tables().len());
        self.events.end(EventKind::FlushEnd, bytes, tables, started);
    }

    /// Where the log stands now, with the live counts: a freeze's place, and a flush of the
    /// memtable's checkpoint.
    fn log_now(&self) -> FrozenAt {
        FrozenAt {
            position: self.wal.position(),
            sequence: self.next_sequence,
            segment: self.wal.current_segment(),
            live: (self.store.blocks_live, self.store.edges_live),
        }
    }

    /// After a flush, with `Config::compaction_auto`: the compaction it calls for is left to
    /// the next writes, a step each (see `step_on_write`), where the region has a
    /// place for a merge between steps; `small-code` builds have none and merge at once.
    fn compact_after_flush_if_auto(&mut self) -> Result<(), Error> {
        if self.config.compaction_auto {
            if self.store.has_compaction_steps() {
                self.compaction_due = true;
            } else {
                self.compact_after_flush()?;
            }
        }
        Ok(())
    }

    /// Whole merges until no run is left, then the merged tables removed: what a flush in
    /// a `small-code` build runs with `Config::compaction_auto`, and what `flush` runs. A
    /// merge whose output does not fit the table memory is put off, not the write's error:
    /// the flush is done and the memtable has room. A later flush tries again; once the
    /// table slots are full, `compact_until_flush_fits` must merge, and then its error
    /// refuses the write.
    fn compact_after_flush(&mut self) -> Result<(), Error> {
        self.compaction_due = false;
        // Each merge removes at least one table, so this ends within tables_max merges.
        for _ in 0..self.config.tables_max {
            match self.merge_step(usize::MAX) {
                Ok(true) => {}
                Ok(false) | Err(Error::MemtableFull { resource: Resource::TableMemory }) => break,
                Err(error) => return Err(error),
            }
        }
        self.store.retire_all(&mut self.vfs);
        Ok(())
    }

    /// With `Config::compaction_auto`, merges (whole) until a flush's tables fit.
    fn compact_until_flush_fits(&mut self) -> Result<(), Error> {
        if self.config.compaction_auto {
            // Each merge removes at least one table, so this ends within tables_max merges.
            for _ in 0..self.config.tables_max {
                if !self.store.tables_full() || !self.merge_step(usize::MAX)? {
                    break;
                }
            }
            self.store.retire_all(&mut self.vfs);
        }
        Ok(())
    }

    /// A compaction left to the writes' steps; never in `small-code` builds, which merge at
    /// once (so the code for the steps compiles away there).
    fn compaction_due(&self) -> bool {
        !cfg!(feature = "small-code") && self.compaction_due
    }

    /// A frozen memtable whose flush the writes take in steps (`Config::flush_in_steps`; not
    /// once a flush or a write that found both memtables full wrote it out); never in
    /// `small-code` builds, which have no frozen memtable.
    fn flush_due(&self) -> bool {
        self.config.memtable_freezes() && self.flush_due && self.store.flushing_frozen()
    }

    /// Before a write plans, one step of the work a flush left to the writes, so no write
    /// waits for a whole flush or merge (up to 19 ms and 0.3 s in the scale run): with
    /// `Config::flush_in_steps`, of the frozen memtable's flush (a `flush_step`: at most
    /// `flush_step_bytes` written, or first a merge between steps or its old tables'
    /// removal taken on, as bounded); else, with `Config::compaction_auto`, of the
    /// compaction the last flush called for (at most `compaction_step_bytes` merged, or
    /// that much of a merge's old tables removed). A write stall, counted and reported as
    /// one. An error puts the work off, the flush to the write that finds both memtables
    /// full, the compaction to the next flush, which report an error then: this write has
    /// changed nothing yet and goes on, unless the error left the engine poisoned, when the
    /// write fails with it. A host's flush in steps (`Config::flush_auto` off) is not
    /// finished here.
    fn step_on_write(&mut self) -> Result<(), Error> {
        let flush = self.flush_due();
        if !flush && (!self.compaction_due() || self.store.frozen_flush_started()) {
            return Ok(());
        }
        if !flush && !self.store.compaction_work_left() {
            self.compaction_due = false;
            return Ok(());
        }
        let started = self.events.start(EventKind::WriteStallStart, 0, 0);
        let stepped = match flush {
            true => self.flush_step(),
            false => self.compact_step(),
        };
        let tables = narrow_u32(self.store.tables().len());
        let stalled = self.events.end(EventKind::WriteStallEnd, 0, tables, started);
        self.events.count_stall(stalled);
        match flush {
            true => self.flush_due = stepped.is_ok() && self.store.flushing_frozen(),
            false => self.compaction_due = stepped == Ok(true),
        }
        match stepped {
            // The step's own error says what failed; the next calls say `Poisoned`.
            Err(error) if self.wal.is_poisoned() && error != Error::Poisoned => Err(error),
            _ => Ok(()),
        }
    }

    /// Names a flush's synced tables in a new manifest, with the checkpoint `at` (where the
    /// log stood at the freeze, for the frozen memtable, or stands now) and the live counts
    /// as of then, and installs them; on failure they are discarded.
    fn install_flush(&mut self, flushed: &Flushed, at: FrozenAt) -> Result<(), Error> {
        let checkpoint = Checkpoint {
            position: at.position,
            sequence: at.sequence,
            recorded: true,
            durable_end: self.manifest.durable_end,
            flush_began: false,
        };
        if let Err(error) = self.vfs.sync_dir() {
            self.store.discard_flushed(&mut self.vfs, flushed);
            for table in flushed.tables() {
                self.forget_table(table.number);
            }
            return Err(Error::Io(error));
        }
        let mut numbers = [0u64; FLUSH_TABLES_MAX];
        for (slot, table) in numbers.iter_mut().zip(flushed.tables()) {
            *slot = table.number;
        }
        self.manifest.add_flushed_tables(&numbers[..flushed.count], checkpoint, at.live);
        if let Err(error) = self.manifest.store(&mut self.vfs) {
            // The manifest on disk is the old or the new one: only a reopen can tell (the
            // poisoned engine stores no manifest again, so the one in memory stays unused).
            self.store.discard_flushed(&mut self.vfs, flushed);
            self.wal.poison();
            return Err(error);
        }
        self.table_bytes_written +=
            flushed.tables().iter().map(|table| table.file_bytes).sum::<u64>();
        self.store.install(flushed);
        Ok(())
    }

    /// `forget_table` for every number a flush from `number` may have used.
    fn forget_flush_tables(&mut self, number: u64) {
        for number in number..number + FLUSH_TABLES_MAX as u64 {
            self.forget_table(number);
        }
    }

    /// One size-tiered compaction step: merges the newest run of similar-sized tables of one
    /// kind (or every table of a kind, when no further flush would fit) into one, streaming
    /// through fixed buffers. A step merges at most `compaction_step_bytes` of records and
    /// keeps its place in the region for the next, and the last step installs the table
    /// (with `Config::compaction_auto` the writes after a flush take these steps
    /// themselves; a `small-code` build has no place to keep a merge: a step is a whole
    /// one). Reads between steps see the inputs; a flush (or a write that must flush)
    /// finishes the merge first, and a `flush_step` then takes a step of it. Crash-safe: the
    /// merged table is synced, then named in a new manifest, then the inputs are removed (a
    /// crash or a close between steps leaves the inputs, and the merge starts over). In steps
    /// the inputs are removed by the next steps, `compaction_step_bytes` of file a step,
    /// before they merge anything (one unlink of a 100 MiB table took 103 ms; see
    /// `store::retire`). Returns false when there is nothing to merge or remove. After an
    /// error the next step starts the merge over.
    pub fn compact_step(&mut self) -> Result<bool, Error> {
        self.check_invariants();
        self.writable()?;
        if self.store.frozen_flush_started() {
            // Its tables' filters and indexes sit last in the pool, where a merge would
            // build its own: the flush in steps ends first.
            self.flush_frozen(usize::MAX)?;
        }
        let budget = self.config.compaction_step_bytes as usize;
        if self.store.retire_step(&mut self.vfs, budget) {
            self.check_invariants();
            return Ok(true);
        }
        let merged = self.merge_step(budget)?;
        self.check_invariants();
        Ok(merged)
    }

    /// Up to `budget` bytes of records more of the compaction between steps, or of a new one
    /// (the next run picked and gathered); false if there is nothing to merge.
    fn merge_step(&mut self, budget: usize) -> Result<bool, Error> {
        let (run, number, began) = match self.store.compaction_between_steps() {
            Some(between) => between,
            None => {
                let Some(run) = self.store.compaction_pick() else {
                    return Ok(false);
                };
                // The run's members are made adjacent in the tables and in the manifest alike.
                let (start, end) = self.store.gather(run);
                let listed = gather_run(&mut self.manifest.tables[..], run);
                debug_assert_eq!(listed, (start, end));
                let inputs = &self.store.tables()[start..end];
                let bytes = inputs.iter().map(|table| table.file_bytes).sum();
                let count = narrow_u32(end - start);
                let began = self.events.start(EventKind::CompactionStart, bytes, count);
                ((start, end), self.manifest.next_table_number, began)
            }
        };
        let buffer = &mut self.table_buffer;
        let step = self
            .store
            .merge_step(&mut self.vfs, (run, number, began), buffer, budget)
            .inspect_err(|_| self.forget_table(number))?;
        if let Some(merged) = step {
            self.install_merge(run, number, merged, began)?;
        }
        Ok(true)
    }

    /// Names a merged table in a new manifest in place of its inputs `start..end`, then
    /// removes them; on failure it is discarded.
    fn install_merge(
        &mut self,
        (start, end): (usize, usize),
        number: u64,
        merged: crate::table::TableMeta,
        began: u64,
    ) -> Result<(), Error> {
        if let Err(error) = self.vfs.sync_dir() {
            self.store.discard(&mut self.vfs, &merged);
            self.forget_table(number);
            return Err(Error::Io(error));
        }
        self.manifest.merge_tables(start, end, number);
        if let Err(error) = self.manifest.store(&mut self.vfs) {
            // The manifest on disk is the old or the new one: only a reopen can tell (as in
            // `flush`).
            self.store.discard(&mut self.vfs, &merged);
            self.wal.poison();
            return Err(error);
        }
        self.table_bytes_written += merged.file_bytes;
        self.store.replace_tables(&mut self.vfs, start, end, merged);
        self.compactions += 1;
        let tables = narrow_u32(self.store.tables().len());
        self.events.end(EventKind::CompactionEnd, merged.file_bytes, tables, began);
        Ok(())
    }

    /// After a flush or compaction failed before any manifest named its table `number`:
    /// removes the file if it was created, or, if it cannot be removed, never uses the number
    /// again. Either way the next attempt does not find the name taken (a leftover is an orphan
    /// the next open removes); before, every later flush failed with `AlreadyExists`.
    fn forget_table(&mut self, number: u64) {
        let mut name = [0u8; TABLE_NAME_BYTES];
        match self.vfs.remove(table_name(number, &mut name)) {
            Ok(()) | Err(VfsError::NotFound) => {}
            Err(_) => self.manifest.next_table_number = number + 1,
        }
    }

    /// The engine's counters: what is stored, how full each limit is, what recovery found.
    pub fn stats(&self) -> Stats {
        self.check_invariants();
        let memtable = &self.store.memtable;
        Stats {
            blocks_live: self.store.blocks_live,
            edges_live: self.store.edges_live,
            memtable_entries_used: memtable.entries_used(),
            memtable_edges_used: memtable.edges_used(),
            memtable_arena_bytes_used: memtable.arena_bytes_used(),
            tables_count: narrow_u32(self.store.tables().len()),
            tables_with_edges: narrow_u32(
                self.store.tables().iter().filter(|table| table.holds_edges()).count(),
            ),
            table_memory_bytes_used: self.store.table_memory_used() as u64,
            flush_count: self.flushes,
            compaction_count: self.compactions,
            table_bytes_written: self.table_bytes_written,
            sequence_next: self.next_sequence,
            wal_position: self.wal.position(),
            wal_synced_position: self.wal.synced_position(),
            wal_segments_count: self.wal.segments_count(),
            recovery_frames_replayed: self.recovery.frames_replayed,
            recovery_bytes_replayed: self.recovery.bytes_replayed,
            wal_torn_bytes_truncated: self.recovery.torn_bytes_truncated,
            wal_corrupt_bytes_dropped: self.recovery.corrupt_bytes_dropped,
            poisoned: self.wal.is_poisoned(),
            write_stalls: self.events.write_stalls,
            write_stall_ns_total: self.events.write_stall_ns_total,
            write_stall_ns_max: self.events.write_stall_ns_max,
            table_pages_read: self.store.pages_read(),
            wal_syncs: self.wal.syncs(),
            flush_pending: self.store.flushing_frozen(),
            compaction_pending: self.store.compaction_between_steps().is_some()
                || self.store.retiring(),
        }
    }

    /// The storage backend, e.g. to change a simulation's fault settings mid-test. Writing
    /// to the store's files through it voids the durability contract.
    pub fn vfs_mut(&mut self) -> &mut V {
        &mut self.vfs
    }

    /// Sets (or, with `None`, removes) the event hook, as `open_observed` gives it.
    pub fn set_event_hook(&mut self, hook: Option<&'r mut (dyn EventHook + Send)>) {
        self.events.set_hook(hook);
    }

    /// The config the engine was opened with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Syncs and closes the store; the result says whether everything written is durable.
    /// If anything was written since open, a close marker is logged first: it vouches that
    /// every earlier frame was durable, so later damage to them is reported as corruption
    /// instead of being mistaken for a torn tail. Dropping an engine does the same, but can
    /// report no error: call `close` to see one. The backend is dropped with the engine (open
    /// with `&mut backend` to keep it).
    pub fn close(mut self) -> Result<(), Error> {
        self.check_invariants();
        self.close_files()
    }

    /// `close`'s work, run once (by `close` or by `drop`).
    fn close_files(&mut self) -> Result<(), Error> {
        self.closed = true;
        // A compaction between steps is given up, its table removed: its inputs hold all it
        // merged, and a close should not wait for the rest of it.
        self.store.abandon_compaction_between_steps(&mut self.vfs, &mut self.table_buffer);
        // A frozen memtable is written out if the tables have room, so the log a clean close
        // leaves holds at most one memtable's writes (any config with this memtable reopens
        // it). If they have none (the host compacts), it stays in the synced log, and a
        // reopen without `flush_auto` freezes it again.
        let flushed = match self.store.flushing_frozen() && !self.wal.is_poisoned() {
            true => match self.flush_next() {
                Err(Error::MemtableFull { .. }) => Ok(()),
                flushed => flushed,
            },
            false => Ok(()),
        };
        let mut result = flushed.and_then(|()| self.wal.sync(&mut self.vfs));
        if result.is_ok() && self.wal.appended_since_open() {
            // The marker is framed after the sync, so its synced position covers every
            // earlier frame. Best effort: a full log closes without one.
            let next = self.next_sequence;
            result = match self.wal.append(&mut self.vfs, (RecordKind::CloseMarker, 0), next, &[]) {
                Ok(()) => self.wal.sync(&mut self.vfs),
                Err(Error::WalFull) => Ok(()),
                Err(error) => Err(error),
            };
        }
        if result.is_ok() {
            result = self.record_durable_end();
        }
        // A clean close leaves no table of a merge behind (an abandoned engine leaves them to
        // the next open).
        self.store.retire_all(&mut self.vfs);
        self.close_handles();
        result
    }

    /// Closes every file handle: the log's, the tables', and a flush's between steps.
    fn close_handles(&mut self) {
        self.store.abandon_frozen_flush_between_steps(&mut self.vfs, &mut self.table_buffer);
        self.store.abandon_compaction_between_steps(&mut self.vfs, &mut self.table_buffer);
        self.store.leave_retired(&mut self.vfs);
        self.wal.close(&mut self.vfs);
        self.store.close(&mut self.vfs);
    }

    /// At a clean close, after the final sync: the manifest records how far the log is
    /// durable, where damage to the log's end cannot take the record with it (the close
    /// marker goes with the frames it vouched for).
    fn record_durable_end(&mut self) -> Result<(), Error> {
        let durable_end = self.wal.synced_position();
        if self.manifest.durable_end == durable_end {
            return Ok(());
        }
        let before = self.manifest.durable_end;
        self.manifest.durable_end = durable_end;
        self.manifest.store(&mut self.vfs).inspect_err(|_| self.manifest.durable_end = before)
    }

    /// Abandons the engine without syncing: buffered writes are lost, as if the process died
    /// here (handles are closed). For crash tests.
    pub fn abandon(mut self) {
        self.closed = true;
        self.close_handles();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edge::EdgeType;
    use crate::region::memory_bytes_required;
    use crate::vfs::sim::{SimConfig, SimVfs};

    /// The whole engine on a small region: write, read zero-copy, delete, reopen from the
    /// WAL. Small enough to run under Miri, which checks every access to the carved parts.
    #[test]
    fn writes_survive_reopen_on_a_small_region() {
        let config = Config {
            memtable_entries_max: 8,
            memtable_edges_max: 8,
            memtable_arena_bytes_max: 1024,
            source_uri_bytes_max: 16,
            metadata_bytes_max: 32,
            content_bytes_max: 64,
            wal_segment_bytes_max: 512,
            wal_segments_max: 8,
            wal_buffer_bytes: 256,
            read_buffer_bytes: 256,
            files_max: 14,
            tables_max: 4,
            table_memory_bytes: 4096,
            table_page_bytes: 256,
            ..Config::DEFAULT
        };
        let sim = SimConfig { files_max: 14, file_bytes_max: 2048, pending_bytes_max: 1024 };
        let mut disk = std::vec![0u8; sim.memory_bytes_required()];
        let mut region = std::vec![0u8; memory_bytes_required(&config)];
        let mut vfs = SimVfs::new(&mut disk, sim, 1).unwrap();
        let (a, b) = (BlockId::from_u128(1), BlockId::from_u128(2));
        let calls = Edge { source: a, target: b, edge_type: EdgeType::CALLS };
        {
            let mut engine = Engine::open(config, &mut region, &mut vfs).unwrap();
            engine.put_block(a, b"a.rs", b"{}", b"fn a() { b() }").unwrap();
            engine.put_block(b, b"b.rs", b"{}", b"fn b() {}").unwrap();
            assert_eq!(engine.put_edge(calls), Ok(Some(3)));
            assert_eq!(engine.put_edge(calls), Ok(None));
            engine.put_block(a, b"a.rs", b"{\"v\":2}", b"fn a() { b(); b() }").unwrap();
            let view = engine.find_block(a).unwrap().unwrap();
            assert_eq!((view.sequence, view.content), (4, &b"fn a() { b(); b() }"[..]));
            engine.close().unwrap();
        }
        let mut engine = Engine::open(config, &mut region, &mut vfs).unwrap();
        assert_eq!(engine.find_block(a).unwrap().unwrap().metadata_json, b"{\"v\":2}");
        let mut out = [Edge::EMPTY; 2];
        let count = engine.edges(b, Direction::Incoming, EdgeFilter::All, &mut out).unwrap();
        assert_eq!((count.written, out[0]), (1, calls));
        engine.delete_block(b).unwrap();
        let count = engine.edges(a, Direction::Outgoing, EdgeFilter::All, &mut out).unwrap();
        assert_eq!(count.total, 0, "deleting a block removes its edges");
        assert_eq!(engine.stats().sequence_next, 6);
    }

    /// Bytes of a format-1 frame (no flags; a delete block is the id alone).
    fn format_1_frame(kind: RecordKind, sequence: u64, payload: &[u8]) -> std::vec::Vec<u8> {
        use crate::crc32c;
        use crate::wal::format::FrameHeader;
        let mut padded = payload.to_vec();
        padded.resize(padded_bytes(payload.len()), 0);
        let header = FrameHeader {
            payload_crc: crc32c::checksum(&padded),
            payload_bytes: narrow_u32(payload.len()),
            kind,
            flags: 0,
            sequence,
            synced_position: 0,
        };
        let mut bytes = header.encode().to_vec();
        bytes.extend_from_slice(&padded);
        bytes
    }

    /// Stores written by 0.2 logged format 1, which replay resolves by reading the tables: a
    /// put over a block in a table is not a new block, and a delete removes its edges in
    /// the tables and in the log. (Format 2 logs both facts instead.)
    #[test]
    fn a_format_1_log_still_replays_by_reading_the_tables() {
        use crate::wal::format::{SegmentHeader, SEGMENT_HEADER_BYTES};
        let config = Config {
            memtable_entries_max: 16,
            memtable_edges_max: 16,
            memtable_arena_bytes_max: 8192,
            wal_segment_bytes_max: 16 << 10,
            wal_segments_max: 4,
            wal_buffer_bytes: 8192,
            read_buffer_bytes: 8192,
            files_max: 14,
            tables_max: 4,
            table_memory_bytes: 8192,
            table_page_bytes: 256,
            content_bytes_max: 1024,
            metadata_bytes_max: 256,
            ..Config::DEFAULT
        };
        let sim =
            SimConfig { files_max: 14, file_bytes_max: 32 << 10, pending_bytes_max: 16 << 10 };
        let mut disk = std::vec![0u8; sim.memory_bytes_required()];
        let mut region = std::vec![0u8; memory_bytes_required(&config)];
        let mut vfs = SimVfs::new(&mut disk, sim, 1).unwrap();
        let [a, b, c] = [1, 2, 3].map(BlockId::from_u128);
        let edge = |source, target| Edge { source, target, edge_type: EdgeType::CALLS };
        let (position, sequence) = {
            let mut engine = Engine::open(config, &mut region, &mut vfs).unwrap();
            for id in [b, c] {
                engine.put_block(id, b"t.rs", b"{}", b"in a table").unwrap();
            }
            engine.put_edge(edge(c, b)).unwrap();
            engine.flush().unwrap();
            let stats = engine.stats();
            engine.abandon();
            (stats.wal_position, stats.sequence_next)
        };
        // The log after the checkpoint, as format 1 wrote it: put a, put b again, a -> c,
        // delete c (which must remove c -> b from the table and a -> c from the log).
        let header = SegmentHeader { version: 1, segment_number: 9, start_position: position };
        let mut segment = header.encode().to_vec();
        let put = |id: BlockId| {
            let fixed = put_block_fixed(&id, [4, 2, 6]);
            [&fixed[..], b"l.rs", b"{}", b"in log"].concat()
        };
        segment.extend(format_1_frame(RecordKind::PutBlock, sequence, &put(a)));
        segment.extend(format_1_frame(RecordKind::PutBlock, sequence + 1, &put(b)));
        segment.extend(format_1_frame(
            RecordKind::PutEdge,
            sequence + 2,
            &edge_payload(&edge(a, c)),
        ));
        segment.extend(format_1_frame(RecordKind::DeleteBlock, sequence + 3, &c.0));
        assert_eq!(segment.len() % 8, SEGMENT_HEADER_BYTES % 8);
        let file = vfs.create("wal-0000000000000009.log").unwrap();
        vfs.write_at(file, 0, &segment).unwrap();
        vfs.sync(file).unwrap();
        vfs.close(file);
        vfs.sync_dir().unwrap();
        let mut engine = Engine::open(config, &mut region, &mut vfs).unwrap();
        let stats = engine.stats();
        assert_eq!((stats.blocks_live, stats.edges_live), (2, 0), "{stats:?}");
        assert_eq!((stats.recovery_frames_replayed, stats.sequence_next), (4, sequence + 4));
        assert_eq!(engine.find_block(b).unwrap().unwrap().content, b"in log");
        assert!(engine.find_block(c).unwrap().is_none());
        let mut out = [Edge::EMPTY; 2];
        for (id, direction) in [(a, Direction::Outgoing), (b, Direction::Incoming)] {
            let count = engine.edges(id, direction, EdgeFilter::All, &mut out).unwrap();
            assert_eq!(count.total, 0, "{id:?} {direction:?}");
        }
        // The engine appends format 2 after it, and both replay together.
        engine.put_block(c, b"c.rs", b"{}", b"back").unwrap();
        engine.put_edge(edge(c, a)).unwrap();
        engine.delete_block(a).unwrap();
        engine.close().unwrap();
        let mut engine = Engine::open(config, &mut region, &mut vfs).unwrap();
        let stats = engine.stats();
        assert_eq!((stats.blocks_live, stats.edges_live), (2, 0), "{stats:?}");
        assert!(engine.find_block(a).unwrap().is_none());
        engine.close().unwrap();
    }

    /// Paging through a memtable sorts it once, not once per page (a C host pages 64 ids at
    /// a time: 40,000 blocks took seconds); a write, or an edge listing that merges levels
    /// through the same scratch, makes the next page sort again; every page is right.
    #[test]
    fn a_scan_of_the_memtable_sorts_it_once_until_it_changes() {
        let config = Config {
            memtable_entries_max: 256,
            memtable_edges_max: 8,
            memtable_arena_bytes_max: 8192,
            source_uri_bytes_max: 16,
            metadata_bytes_max: 32,
            content_bytes_max: 64,
            wal_segment_bytes_max: 32 << 10,
            wal_segments_max: 4,
            wal_buffer_bytes: 4096,
            read_buffer_bytes: 4096,
            files_max: 14,
            tables_max: 4,
            table_memory_bytes: 8192,
            table_page_bytes: 512,
            ..Config::DEFAULT
        };
        let sim =
            SimConfig { files_max: 14, file_bytes_max: 64 << 10, pending_bytes_max: 64 << 10 };
        let mut disk = std::vec![0u8; sim.memory_bytes_required()];
        let mut region = std::vec![0u8; memory_bytes_required(&config)];
        let mut vfs = SimVfs::new(&mut disk, sim, 1).unwrap();
        let mut engine = Engine::open(config, &mut region, &mut vfs).unwrap();
        // A block with an edge in a table and one in the memtable: listing its edges merges
        // the two levels, through the sort scratch.
        let hub = BlockId::from_u128(500);
        engine.put_block(hub, b"u", b"{}", b"").unwrap();
        engine.put_block(BlockId::from_u128(501), b"u", b"{}", b"").unwrap();
        let edge = |target| Edge { source: hub, target, edge_type: EdgeType::CALLS };
        engine.put_edge(edge(BlockId::from_u128(501))).unwrap();
        engine.flush().unwrap();
        // Written in an order unlike id order (fewer under Miri, which is slow).
        let blocks: u128 = if cfg!(miri) { 50 } else { 200 };
        for n in (0..blocks).rev() {
            engine.put_block(BlockId::from_u128(n * 7 % blocks + 1), b"u", b"{}", b"").unwrap();
        }
        engine.put_edge(edge(BlockId::from_u128(1))).unwrap();
        let page = |engine: &mut Engine<'_, _>, cursor: &mut ScanCursor| {
            let mut out = [BlockId::ZERO; 10];
            let written = engine.scan(&BlockFilter::ALL, cursor, &mut out).unwrap();
            out[..written].to_vec()
        };
        let mut cursor = ScanCursor::START;
        let mut seen = std::vec::Vec::new();
        seen.extend(page(&mut engine, &mut cursor));
        seen.extend(page(&mut engine, &mut cursor));
        assert_eq!(engine.store.scan_sorts, 1, "two pages, one sort");
        engine.put_block(BlockId::from_u128(1000), b"u", b"{}", b"").unwrap();
        seen.extend(page(&mut engine, &mut cursor));
        assert_eq!(engine.store.scan_sorts, 2, "a write changes the memtable: sorted again");
        let mut edges = [Edge { source: hub, target: hub, edge_type: EdgeType::CALLS }; 4];
        let listed = engine.edges(hub, Direction::Outgoing, EdgeFilter::All, &mut edges).unwrap();
        assert_eq!(listed.total, 2, "one edge from the table, one from the memtable");
        seen.extend(page(&mut engine, &mut cursor));
        assert_eq!(engine.store.scan_sorts, 3, "the listing used the scratch: sorted again");
        while !cursor.done {
            seen.extend(page(&mut engine, &mut cursor));
        }
        assert_eq!(engine.store.scan_sorts, 3, "the rest of the pages: no more sorts");
        let mut expected: std::vec::Vec<BlockId> = (1..=blocks).map(BlockId::from_u128).collect();
        expected.extend([500, 501, 1000].map(BlockId::from_u128));
        assert_eq!(seen, expected, "every block once, in id order");
    }

    /// The memtable's parts are carved as the host left its region (not cleared): whatever
    /// the bytes, every write reads back, every edge lists, and a flush and more writes
    /// leave it right. Patterns: zeros, ones, a byte pattern, and noise.
    #[test]
    fn the_engine_works_on_a_region_holding_any_bytes() {
        let config = Config {
            memtable_entries_max: 16,
            memtable_edges_max: 16,
            memtable_arena_bytes_max: 2048,
            source_uri_bytes_max: 16,
            metadata_bytes_max: 32,
            content_bytes_max: 64,
            wal_segment_bytes_max: 4096,
            wal_segments_max: 8,
            wal_buffer_bytes: 512,
            read_buffer_bytes: 512,
            files_max: 14,
            tables_max: 4,
            table_memory_bytes: 4096,
            table_page_bytes: 256,
            query_nodes_max: 16,
            ..Config::DEFAULT
        };
        let sim = SimConfig { files_max: 14, file_bytes_max: 8192, pending_bytes_max: 4096 };
        let mut noise = 0x9E37_79B9_7F4A_7C15u64;
        // Under Miri (slow): the noise alone.
        let patterns: &[Option<u8>] =
            if cfg!(miri) { &[None] } else { &[Some(0x00), Some(0xFF), Some(0xA5), None] };
        for &pattern in patterns {
            let mut region = std::vec![0u8; memory_bytes_required(&config)];
            for byte in &mut region {
                noise = noise.rotate_left(7).wrapping_mul(0x2545_F491_4F6C_DD1D) ^ 0x5A;
                *byte = pattern.unwrap_or(noise as u8);
            }
            let mut disk = std::vec![0u8; sim.memory_bytes_required()];
            let mut vfs = SimVfs::new(&mut disk, sim, 1).unwrap();
            let mut engine = Engine::open(config, &mut region, &mut vfs).unwrap();
            let id = |n: u128| BlockId::from_u128(n + 1);
            for round in 0..2u128 {
                for n in 0..12 {
                    engine.put_block(id(round * 12 + n), b"u", b"{}", b"x").unwrap();
                }
                for n in 1..12 {
                    let (source, target) = (id(round * 12), id(round * 12 + n));
                    engine.put_edge(Edge { source, target, edge_type: EdgeType::CALLS }).unwrap();
                }
                for n in 0..12 {
                    assert!(
                        engine.find_block(id(round * 12 + n)).unwrap().is_some(),
                        "{pattern:?}"
                    );
                }
                let mut out = [Edge::EMPTY; 16];
                let hub = id(round * 12);
                let count = engine.edges(hub, Direction::Outgoing, EdgeFilter::All, &mut out);
                assert_eq!(count.unwrap().total, 11, "pattern {pattern:?}, round {round}");
                engine.flush().unwrap();
            }
            assert_eq!(engine.stats().blocks_live, 24, "pattern {pattern:?}");
        }
    }

    /// The simulated disk of the frozen-memtable tests.
    #[cfg(not(feature = "small-code"))]
    const FROZEN_SIM: SimConfig =
        SimConfig { files_max: 30, file_bytes_max: 16 << 10, pending_bytes_max: 8192 };

    /// A disk for `FROZEN_SIM` and a region for `config`.
    #[cfg(not(feature = "small-code"))]
    fn frozen_memory(config: &Config) -> (std::vec::Vec<u8>, std::vec::Vec<u8>) {
        let disk = std::vec![0u8; FROZEN_SIM.memory_bytes_required()];
        (disk, std::vec![0u8; memory_bytes_required(config)])
    }

    /// A config without `flush_auto`: a memtable of 16 edge records, frozen when full.
    #[cfg(not(feature = "small-code"))]
    fn frozen_config() -> Config {
        Config {
            memtable_entries_max: 48,
            memtable_edges_max: 16,
            memtable_arena_bytes_max: 4096,
            source_uri_bytes_max: 16,
            metadata_bytes_max: 32,
            content_bytes_max: 64,
            wal_segment_bytes_max: 4096,
            wal_segments_max: 16,
            wal_buffer_bytes: 1024,
            read_buffer_bytes: 1024,
            files_max: 30,
            tables_max: 8,
            table_memory_bytes: 16 << 10,
            table_page_bytes: 256,
            flush_auto: false,
            ..Config::DEFAULT
        }
    }

    /// Without `flush_auto`, a write that finds the memtable full freezes it and goes on
    /// without a flush or a stall; `flush_step` writes the frozen one out; a write that finds
    /// both full flushes the frozen one itself (one stall). Reads see all three levels.
    #[test]
    #[cfg(not(feature = "small-code"))]
    fn a_full_memtable_is_frozen_and_the_host_flushes_it() {
        let config = frozen_config();
        let (mut disk, mut region) = frozen_memory(&config);
        let mut vfs = SimVfs::new(&mut disk, FROZEN_SIM, 1).unwrap();
        let mut engine = Engine::open(config, &mut region, &mut vfs).unwrap();
        let ids: std::vec::Vec<BlockId> = (1..=40).map(BlockId::from_u128).collect();
        for id in &ids {
            engine.put_block(*id, b"u", b"{}", b"").unwrap();
        }
        let edge = |n: usize| Edge { source: ids[0], target: ids[n], edge_type: EdgeType::CALLS };
        for n in 1..=16 {
            engine.put_edge(edge(n)).unwrap();
        }
        assert!(!engine.stats().flush_pending);
        // The 17th edge finds the memtable full: frozen, no flush, no stall.
        engine.put_edge(edge(17)).unwrap();
        let stats = engine.stats();
        assert!(stats.flush_pending, "{stats:?}");
        assert_eq!((stats.flush_count, stats.write_stalls, stats.memtable_edges_used), (0, 0, 1));
        // Reads see the frozen memtable under the new one.
        let mut out = [Edge::EMPTY; 40];
        let listed = engine.edges(ids[0], Direction::Outgoing, EdgeFilter::All, &mut out).unwrap();
        assert_eq!(listed.total, 17);
        assert!(engine.find_block(ids[39]).unwrap().is_some());
        // Steps of 256 KiB: one a table (each ends with its sync), then one that installs.
        for step in ["blocks table", "edge table", "install"] {
            assert!(engine.flush_step().unwrap(), "{step}");
        }
        assert!(!engine.flush_step().unwrap(), "nothing left to write");
        let stats = engine.stats();
        assert!(!stats.flush_pending && stats.flush_count == 1, "{stats:?}");
        // Fill the memtable, freeze it, fill the next: the write after that stalls once.
        for n in 18..=39 {
            engine.put_edge(Edge { source: ids[1], ..edge(n) }).unwrap();
        }
        assert!(engine.stats().flush_pending);
        for source in &ids[2..=16] {
            engine.put_edge(Edge { source: *source, ..edge(1) }).unwrap();
        }
        let stats = engine.stats();
        assert_eq!((stats.flush_count, stats.write_stalls), (2, 1), "{stats:?}");
        assert_eq!(stats.edges_live, 17 + 22 + 15);
        let listed = engine.edges(ids[1], Direction::Incoming, EdgeFilter::All, &mut out).unwrap();
        assert_eq!(listed.total, 16, "ids[0] and ids[2..=16]");
        engine.close().unwrap();
    }

    /// With `flush_in_steps` the write that finds the memtable full freezes it (no stall)
    /// and the writes after it each take one step of its flush (at most `flush_step_bytes`),
    /// so a flush's tables are installed by a write that goes on into the memtable, never
    /// by one that found both memtables full and flushed the frozen one whole; every block
    /// reads back at every write and after a reopen.
    #[test]
    #[cfg(not(feature = "small-code"))]
    fn with_flush_in_steps_the_writes_after_a_freeze_flush_it_in_steps() {
        let config = Config {
            flush_auto: true,
            flush_in_steps: true,
            flush_step_bytes: 200,
            compaction_auto: false,
            ..frozen_config()
        };
        let (mut disk, mut region) = frozen_memory(&config);
        let mut vfs = SimVfs::new(&mut disk, FROZEN_SIM, 1).unwrap();
        let ids: std::vec::Vec<BlockId> = (1..=200).map(BlockId::from_u128).collect();
        let mut engine = Engine::open(config, &mut region, &mut vfs).unwrap();
        let (mut freezes, mut steps, mut ops_max) = (0, 0, 0);
        for (n, id) in ids.iter().enumerate() {
            let (before, ops) = (engine.stats(), engine.vfs_mut().ops_count());
            engine.put_block(*id, b"u", b"{}", b"content").unwrap();
            let after = engine.stats();
            if after.flush_pending && !before.flush_pending {
                assert_eq!(after.write_stalls, before.write_stalls, "write {n}: froze, no stall");
                freezes += 1;
            }
            if after.flush_count > before.flush_count {
                // The memtable kept this write and the ones before it: no freeze here.
                assert!(after.memtable_entries_used > 1, "write {n} flushed whole: {after:?}");
            }
            if before.flush_pending {
                assert_eq!(after.write_stalls, before.write_stalls + 1, "write {n}: one step");
                steps += 1;
                ops_max = ops_max.max(engine.vfs_mut().ops_count() - ops);
            }
            assert!(engine.find_block(ids[n / 2]).unwrap().is_some(), "write {n}");
        }
        let stats = engine.stats();
        assert!(freezes >= 3 && stats.flush_count >= 3, "{freezes} freezes, {stats:?}");
        assert!(steps >= 3 * stats.flush_count, "{steps} steps for {} flushes", stats.flush_count);
        std::println!("{steps} steps, at most {ops_max} storage operations a write");
        assert!(ops_max <= 24, "a write's step made {ops_max} storage operations");
        // A flush asked for writes a frozen memtable out: the writes after it have no step.
        for id in ids.iter().cycle().take(100) {
            if engine.stats().flush_pending {
                break;
            }
            engine.put_block(*id, b"u", b"{}", b"again").unwrap();
        }
        assert!(engine.stats().flush_pending);
        engine.flush().unwrap();
        let stalls = engine.stats().write_stalls;
        engine.put_block(ids[0], b"u", b"{}", b"after").unwrap();
        assert_eq!(engine.stats().write_stalls, stalls, "no step left after a flush");
        drop(engine);
        let mut engine = Engine::open(config, &mut region, &mut vfs).unwrap();
        for id in &ids {
            assert!(engine.find_block(*id).unwrap().is_some());
        }
        engine.close().unwrap();
    }

    /// `flush_step` writes at most `flush_step_bytes` of records a call (a record at least):
    /// many calls for a memtable, with writes and reads between them that see every level,
    /// the tables installed only after the last; `compact_step` finishes a flush in steps
    /// before it merges.
    #[test]
    #[cfg(not(feature = "small-code"))]
    fn a_frozen_memtable_is_flushed_in_bounded_steps_with_writes_and_reads_between() {
        let config = Config { flush_step_bytes: 100, ..frozen_config() };
        let (mut disk, mut region) = frozen_memory(&config);
        let mut vfs = SimVfs::new(&mut disk, FROZEN_SIM, 1).unwrap();
        let mut engine = Engine::open(config, &mut region, &mut vfs).unwrap();
        let ids: std::vec::Vec<BlockId> = (1..=60).map(BlockId::from_u128).collect();
        for id in &ids[..40] {
            engine.put_block(*id, b"u", b"{}", b"").unwrap();
        }
        let edge = |n: usize| Edge { source: ids[0], target: ids[n], edge_type: EdgeType::CALLS };
        for n in 1..=17 {
            engine.put_edge(edge(n)).unwrap();
        }
        assert!(engine.stats().flush_pending);
        let mut out = [Edge::EMPTY; 40];
        let mut steps = 0;
        while engine.stats().flush_pending {
            assert!(engine.flush_step().unwrap());
            steps += 1;
            assert!(steps <= 100, "a step writes at least one record");
            // Between steps: a write, and reads of the frozen memtable and the new one.
            engine.put_block(ids[40 + (steps - 1) % 20], b"u", b"{}", b"").unwrap();
            let listed = engine.edges(ids[0], Direction::Outgoing, EdgeFilter::All, &mut out);
            assert_eq!(listed.unwrap().total, 17);
            assert!(engine.find_block(ids[20]).unwrap().is_some());
            let tables = engine.stats().tables_count;
            assert!(tables == 0 || !engine.stats().flush_pending, "installed only at the end");
        }
        // 40 blocks and 17 edges of two sections, 100 bytes a step: many steps.
        assert!(steps >= 10, "{steps} steps");
        let stats = engine.stats();
        assert_eq!((stats.flush_count, stats.tables_count), (1, 2), "{stats:?}");
        // A flush in steps, finished by a compaction step before it merges.
        for n in 18..=39 {
            engine.put_edge(edge(n)).unwrap();
        }
        assert!(engine.stats().flush_pending);
        assert!(engine.flush_step().unwrap());
        assert!(engine.stats().flush_pending, "one step of 100 bytes does not finish it");
        engine.compact_step().unwrap();
        assert!(!engine.stats().flush_pending);
        let listed = engine.edges(ids[0], Direction::Outgoing, EdgeFilter::All, &mut out).unwrap();
        assert_eq!(listed.total, 39);
        engine.close().unwrap();
        let mut engine = Engine::open(config, &mut region, &mut vfs).unwrap();
        let listed = engine.edges(ids[0], Direction::Outgoing, EdgeFilter::All, &mut out).unwrap();
        assert_eq!(listed.total, 39);
        assert_eq!(engine.stats().blocks_live, 40 + steps.min(20) as u64);
        engine.close().unwrap();
    }

    /// The config of a store whose host compacts in steps of `step_bytes` (room for the
    /// eight tables `write_four_flushed_rounds` leaves, and more), and 60 ids.
    #[cfg(not(feature = "small-code"))]
    fn compaction_steps_store(step_bytes: u32) -> (Config, std::vec::Vec<BlockId>) {
        let config = Config {
            flush_auto: true,
            compaction_auto: false,
            compaction_step_bytes: step_bytes,
            tables_max: 12,
            ..frozen_config()
        };
        (config, (1..=60).map(BlockId::from_u128).collect())
    }

    /// Writes four rounds of five blocks and three edges from `ids[0]`, each flushed; round
    /// 2 deletes a block of round 0 (a tombstone the merge drops: no older table).
    #[cfg(not(feature = "small-code"))]
    fn write_four_flushed_rounds<V: Vfs>(engine: &mut Engine<'_, V>, ids: &[BlockId]) {
        for round in 0..4 {
            for id in &ids[round * 5..round * 5 + 5] {
                engine.put_block(*id, b"u", b"{}", b"content").unwrap();
            }
            for n in 1..=3 {
                let edge =
                    Edge { source: ids[0], target: ids[round * 5 + n], edge_type: EdgeType::CALLS };
                engine.put_edge(edge).unwrap();
            }
            if round == 2 {
                engine.delete_block(ids[4]).unwrap();
            }
            engine.flush().unwrap();
        }
        assert_eq!(engine.stats().tables_count, 8);
    }

    /// What the store written by `write_four_flushed_rounds` answers, checked: blocks 0..20
    /// live but the deleted one (which had no edges), ids[0]'s 12 edges, one into ids[16].
    #[cfg(not(feature = "small-code"))]
    fn check_four_rounds<V: Vfs>(engine: &mut Engine<'_, V>, ids: &[BlockId]) {
        for (n, id) in ids[..20].iter().enumerate() {
            assert_eq!(engine.find_block(*id).unwrap().is_some(), n != 4, "block {n}");
        }
        let mut out = [Edge::EMPTY; 16];
        let listed = engine.edges(ids[0], Direction::Outgoing, EdgeFilter::All, &mut out);
        assert_eq!(listed.unwrap().total, 12);
        let listed = engine.edges(ids[16], Direction::Incoming, EdgeFilter::All, &mut out);
        assert_eq!(listed.unwrap().total, 1);
    }

    /// With `compaction_auto` the write whose flush makes a run to merge does not merge it:
    /// the writes after it each take one step (1,000 bytes of records here, or a piece of the
    /// old tables' removal), a stall each, and a write that does not flush installs the
    /// merged table; every block stays readable throughout. (A whole merge inside the
    /// flushing write made writes wait up to 0.3 s in the scale run.)
    #[test]
    #[cfg_attr(miri, ignore)]
    #[cfg(not(feature = "small-code"))]
    fn with_compaction_auto_the_writes_after_a_flush_merge_in_steps() {
        // 24 blocks a flush: four tables merged fit the simulated disk's 16 KiB files; steps
        // of 1,000 bytes end a merge and its removals within the 24 writes to the next flush
        // (which would otherwise finish the merge first).
        let config = Config {
            compaction_auto: true,
            memtable_entries_max: 24,
            ..compaction_steps_store(1000).0
        };
        let ids: std::vec::Vec<BlockId> = (1..=200).map(BlockId::from_u128).collect();
        let (mut disk, mut region) = frozen_memory(&config);
        let mut vfs = SimVfs::new(&mut disk, FROZEN_SIM, 1).unwrap();
        let mut engine = Engine::open(config, &mut region, &mut vfs).unwrap();
        let (mut installed_by, mut steps, mut ops_max) = (None, 0, 0);
        for (n, id) in ids.iter().enumerate() {
            let (before, ops) = (engine.stats(), engine.vfs_mut().ops_count());
            engine.put_block(*id, b"u", b"{}", b"content").unwrap();
            let after = engine.stats();
            let flushed = after.flush_count > before.flush_count;
            if after.compaction_count > before.compaction_count {
                assert!(!flushed, "write {n}: the flushing write merged");
                installed_by.get_or_insert(n);
            }
            if !flushed && after.write_stalls > before.write_stalls {
                steps += 1;
                ops_max = ops_max.max(engine.vfs_mut().ops_count() - ops);
            }
            assert!(engine.find_block(ids[n / 2]).unwrap().is_some(), "write {n}");
        }
        let stats = engine.stats();
        assert!(installed_by.is_some() && stats.compaction_count >= 1, "{stats:?}");
        assert!(steps > 4, "{steps} steps");
        std::println!("{steps} steps, at most {ops_max} storage operations a write");
        assert!(ops_max <= 24, "a write's step made {ops_max} storage operations");
        for id in &ids {
            assert!(engine.find_block(*id).unwrap().is_some());
        }
        engine.close().unwrap();
    }

    /// How many of the tables numbered `numbers` have a file in `vfs`, and their bytes.
    #[cfg(not(feature = "small-code"))]
    fn table_files(vfs: &SimVfs<'_>, numbers: &[u64]) -> (usize, usize) {
        let mut name = [0u8; crate::table::format::TABLE_NAME_BYTES];
        let sizes = numbers.iter().filter_map(|&number| {
            vfs.file_bytes(crate::table::format::table_name(number, &mut name))
        });
        sizes.fold((0, 0), |(files, bytes), size| (files + 1, bytes + size))
    }

    /// The tables `write_four_flushed_rounds` wrote, merged in steps of 100 bytes until the
    /// edge run's table is installed; returns the tables' numbers.
    #[cfg(not(feature = "small-code"))]
    fn merge_the_edge_run<V: Vfs>(
        engine: &mut Engine<'_, V>,
        ids: &[BlockId],
        files: impl Fn(&mut Engine<'_, V>, &[u64]) -> (usize, usize),
    ) -> std::vec::Vec<u64> {
        write_four_flushed_rounds(engine, ids);
        let numbers: std::vec::Vec<u64> = (0..64).filter(|&n| files(engine, &[n]).0 == 1).collect();
        assert_eq!(numbers.len(), 8);
        for step in 1..=100 {
            let before = files(engine, &numbers);
            assert!(engine.compact_step().unwrap());
            // Neither a merge step nor the step that installs the table removes an input.
            assert_eq!(files(engine, &numbers), before, "step {step}");
            if engine.stats().compaction_count == 1 {
                return numbers;
            }
        }
        panic!("a step merges at least one record");
    }

    /// A merge in steps leaves its inputs' files to the steps after it (one unlink of a
    /// 100 MiB table took 103 ms of a host's step in the scale run): each frees at most
    /// `compaction_step_bytes` of them, cut from a file's end or the file removed when what
    /// is left fits, until the four edge tables are gone; the block tables stay.
    #[test]
    #[cfg_attr(miri, ignore)]
    #[cfg(not(feature = "small-code"))]
    fn a_merged_run_s_tables_are_removed_a_step_s_bytes_at_a_time() {
        let (config, ids) = compaction_steps_store(100);
        let (mut disk, mut region) = frozen_memory(&config);
        let mut vfs = SimVfs::new(&mut disk, FROZEN_SIM, 1).unwrap();
        let mut engine = Engine::open(config, &mut region, &mut vfs).unwrap();
        let files = |engine: &mut Engine<'_, &mut SimVfs<'_>>, numbers: &[u64]| {
            table_files(engine.vfs_mut(), numbers)
        };
        let numbers = merge_the_edge_run(&mut engine, &ids, files);
        let (_, bytes_installed) = files(&mut engine, &numbers);
        let mut steps = 0;
        while engine.stats().compaction_pending {
            let (files_before, bytes_before) = files(&mut engine, &numbers);
            assert!(engine.compact_step().unwrap());
            let (files_after, bytes_after) = files(&mut engine, &numbers);
            let freed = bytes_before - bytes_after;
            assert!((1..=100).contains(&freed), "step {steps} freed {freed} bytes");
            assert!(files_before - files_after <= 1);
            steps += 1;
            assert!(steps <= 1000);
        }
        let (files_left, bytes_left) = files(&mut engine, &numbers);
        assert_eq!(files_left, 4, "the block tables");
        assert!(steps >= (bytes_installed - bytes_left).div_ceil(100), "{steps} steps");
        check_four_rounds(&mut engine, &ids);
        // The next step begins the block run's merge.
        assert!(engine.compact_step().unwrap() && engine.stats().compaction_count == 1);
        engine.close().unwrap();
        assert_eq!(vfs.open_handles_count(), 0);
    }

    /// A crash while a merged run's tables are being removed: the reopened store holds what
    /// was written, and the open removes the tables no manifest names (their files cut or
    /// not, their removal kept or not by the crash).
    #[test]
    #[cfg_attr(miri, ignore)]
    #[cfg(not(feature = "small-code"))]
    fn a_crash_while_a_merged_run_s_tables_are_removed_leaves_them_to_the_next_open() {
        let (config, ids) = compaction_steps_store(100);
        for seed in 1..=8 {
            let (mut disk, mut region) = frozen_memory(&config);
            let mut vfs = SimVfs::new(&mut disk, FROZEN_SIM, seed).unwrap();
            let mut engine = Engine::open(config, &mut region, &mut vfs).unwrap();
            let files = |engine: &mut Engine<'_, &mut SimVfs<'_>>, numbers: &[u64]| {
                table_files(engine.vfs_mut(), numbers)
            };
            let numbers = merge_the_edge_run(&mut engine, &ids, files);
            // Some of the removal done: a file cut, perhaps one removed.
            for _ in 0..seed {
                assert!(engine.compact_step().unwrap() && engine.stats().compaction_pending);
            }
            engine.abandon();
            vfs.crash();
            std::println!("seed {seed} (all eight run every time)");
            let mut engine = Engine::open(config, &mut region, &mut vfs).unwrap();
            assert_eq!(files(&mut engine, &numbers).0, 4, "seed {seed}: the block tables only");
            let stats = engine.stats();
            assert_eq!((stats.tables_count, stats.compaction_pending), (5, false), "seed {seed}");
            check_four_rounds(&mut engine, &ids);
            engine.close().unwrap();
        }
    }

    /// A merge sizes its filter for the union of its inputs' keys, not their sum: four edge
    /// tables over the same 40 ids (80 filter keys each: sources and tagged targets) reserve
    /// a filter for about 80 keys, where the sum (320) reserved four times as much.
    #[test]
    // 38 to 47 s each under Miri (CI's budget); the region test carves the same parts there.
    #[cfg_attr(miri, ignore)]
    #[cfg(not(feature = "small-code"))]
    fn a_merge_of_tables_sharing_their_ids_reserves_a_filter_for_their_union() {
        use crate::table::bloom::filter_bytes;
        let (config, ids) = compaction_steps_store(100);
        let config = Config { memtable_entries_max: 64, memtable_edges_max: 64, ..config };
        let (mut disk, mut region) = frozen_memory(&config);
        let mut vfs = SimVfs::new(&mut disk, FROZEN_SIM, 1).unwrap();
        let mut engine = Engine::open(config, &mut region, &mut vfs).unwrap();
        for id in &ids[..40] {
            engine.put_block(*id, b"u", b"{}", b"").unwrap();
        }
        engine.flush().unwrap();
        let types = [EdgeType::CALLS, EdgeType::IMPORTS, EdgeType::REFERENCES, EdgeType::CONTAINS];
        for edge_type in types {
            for n in 0..40 {
                let edge = Edge { source: ids[n], target: ids[(n + 1) % 40], edge_type };
                engine.put_edge(edge).unwrap();
            }
            engine.flush().unwrap();
        }
        let before = engine.stats().table_memory_bytes_used;
        assert!(engine.compact_step().unwrap() && engine.stats().compaction_pending);
        let reserved = engine.stats().table_memory_bytes_used - before;
        // The filter, and an index entry (64 bytes) per page sealed in the first step.
        let union_bytes = filter_bytes(80 + 80 / 8, config.bloom_bits_per_key) as u64;
        assert!(reserved <= union_bytes + 2 * 64, "{reserved} bytes reserved");
        assert!(filter_bytes(4 * 80, config.bloom_bits_per_key) as u64 > union_bytes + 2 * 64);
        while engine.compact_step().unwrap() {}
        let mut out = [Edge::EMPTY; 8];
        let listed = engine.edges(ids[3], Direction::Outgoing, EdgeFilter::All, &mut out);
        assert_eq!(listed.unwrap().total, 4);
        engine.close().unwrap();
    }

    /// Without `compaction_auto` a step merges at most `compaction_step_bytes` of records (a
    /// record at least), its place kept in the region between calls: reads between steps
    /// see the inputs, writes go on, the table is installed by the last step and holds the
    /// bytes a merge in one call writes; a flush finishes a merge between steps first, and a
    /// close gives one up (the reopened store holds the same, and merges again).
    #[test]
    // 38 to 47 s each under Miri (CI's budget); the region test carves the same parts there.
    #[cfg_attr(miri, ignore)]
    #[cfg(not(feature = "small-code"))]
    fn a_compaction_by_the_host_is_merged_in_bounded_steps_with_writes_and_reads_between() {
        let (config, ids) = compaction_steps_store(1 << 20);
        let (mut disk, mut region) = frozen_memory(&config);
        let mut vfs = SimVfs::new(&mut disk, FROZEN_SIM, 1).unwrap();
        let mut engine = Engine::open(config, &mut region, &mut vfs).unwrap();
        write_four_flushed_rounds(&mut engine, &ids);
        assert!(engine.compact_step().unwrap() && engine.stats().compaction_count == 1);
        let one_call = engine.stats();
        engine.close().unwrap();

        let (config, ids) = compaction_steps_store(100);
        let (mut disk, mut region) = frozen_memory(&config);
        let mut vfs = SimVfs::new(&mut disk, FROZEN_SIM, 1).unwrap();
        let mut engine = Engine::open(config, &mut region, &mut vfs).unwrap();
        write_four_flushed_rounds(&mut engine, &ids);
        let mut steps = 0;
        while engine.compact_step().unwrap() {
            steps += 1;
            assert!(steps <= 100, "a step merges at least one record");
            let stats = engine.stats();
            if stats.compaction_count == 1 {
                break;
            }
            assert!(stats.compaction_pending, "{stats:?}");
            assert_eq!((stats.tables_count, stats.compaction_count), (8, 0), "{stats:?}");
            check_four_rounds(&mut engine, &ids);
            engine.put_block(ids[40 + steps % 10], b"u", b"{}", b"").unwrap();
        }
        // The edge run: 4 tables of 3 edges in two sections, 24 records of 35 bytes, three a
        // step (105 bytes >= 100): 8 steps, and a 9th finds the last section ended and
        // installs the table.
        assert_eq!(steps, 9);
        let stats = engine.stats();
        assert_eq!((stats.tables_count, stats.compaction_count), (5, 1), "{stats:?}");
        assert_eq!(stats.table_bytes_written, one_call.table_bytes_written);
        check_four_rounds(&mut engine, &ids);
        // The next steps remove the run's four tables (see the retiring test), then the block
        // run begins; between its steps a flush: it finishes the merge first.
        for _ in 0..100 {
            if engine.stats().compaction_count == 1 && !engine.stats().compaction_pending {
                break;
            }
            assert!(engine.compact_step().unwrap());
        }
        assert!(!engine.stats().compaction_pending, "{:?}", engine.stats());
        assert!(engine.compact_step().unwrap() && engine.stats().compaction_pending);
        assert_eq!(engine.stats().compaction_count, 1);
        engine.flush().unwrap();
        let stats = engine.stats();
        assert!(!stats.compaction_pending && stats.compaction_count == 2, "{stats:?}");
        check_four_rounds(&mut engine, &ids);
        // A merge between steps at a close is given up; the reopened store merges again.
        for id in &ids[50..] {
            engine.put_block(*id, b"u", b"{}", b"").unwrap();
            engine.flush().unwrap();
            if engine.compact_step().unwrap() {
                break;
            }
        }
        assert!(engine.stats().compaction_pending, "{:?}", engine.stats());
        let tables = engine.stats().tables_count;
        engine.close().unwrap();
        let mut engine = Engine::open(config, &mut region, &mut vfs).unwrap();
        assert_eq!(engine.stats().tables_count, tables);
        check_four_rounds(&mut engine, &ids);
        while engine.compact_step().unwrap() {}
        assert!(engine.stats().tables_count < tables);
        check_four_rounds(&mut engine, &ids);
        engine.close().unwrap();
    }

    /// A replayed delete lands whole in one memtable, as the live one did: replay freezes
    /// before its group of frames, not between them, though its first frames would fit.
    #[test]
    #[cfg(not(feature = "small-code"))]
    fn a_replayed_delete_is_never_split_between_two_memtables() {
        let config = frozen_config();
        let (mut disk, mut region) = frozen_memory(&config);
        let mut vfs = SimVfs::new(&mut disk, FROZEN_SIM, 1).unwrap();
        let ids: std::vec::Vec<BlockId> = (1..=20).map(BlockId::from_u128).collect();
        let edge = |source: usize, target: usize| Edge {
            source: ids[source],
            target: ids[target],
            edge_type: EdgeType::CALLS,
        };
        let mut engine = Engine::open(config, &mut region, &mut vfs).unwrap();
        for id in &ids {
            engine.put_block(*id, b"u", b"{}", b"").unwrap();
        }
        for n in 1..=6 {
            engine.put_edge(edge(0, n)).unwrap();
        }
        engine.flush().unwrap();
        // 12 of the 16 records; the delete of ids[0] plans 6 more: it freezes them first.
        for n in 7..=18 {
            engine.put_edge(edge(n, n + 1)).unwrap();
        }
        engine.delete_block(ids[0]).unwrap();
        let live = (engine.store.frozen.edges_used(), engine.store.memtable.edges_used());
        assert_eq!(live, (12, 6), "frozen before the delete, its 6 tombstones after");
        engine.sync().unwrap();
        engine.abandon();
        vfs.crash();
        let engine = Engine::open(config, &mut region, &mut vfs).unwrap();
        let replayed = (engine.store.frozen.edges_used(), engine.store.memtable.edges_used());
        assert_eq!(replayed, live, "replay froze where the live engine did");
        assert_eq!(engine.stats().edges_live, 12);
        engine.close().unwrap();
    }
}
