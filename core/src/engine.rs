//! The engine: validates every call, logs every write to the WAL before applying it to
//! the memtable, and answers reads from the memtable.

use crate::config::{Config, SyncPolicy};
use crate::edge::{Direction, Edge, EdgeCount, EdgeFilter};
use crate::error::{Error, Resource};
use crate::id::BlockId;
use crate::memtable::{BlockView, Memtable};
use crate::region::{carve, Guards};
use crate::vfs::Vfs;
use crate::wal::format::{edge_payload, put_block_fixed, Record, RecordKind, FRAME_HEADER_BYTES};
use crate::wal::recovery::{recover, ApplyError, RecoveryBuffers, RecoveryReport, ReplayTarget};
use crate::wal::Wal;

/// Counters describing the engine's state and what recovery found at open.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Live blocks.
    pub blocks_live: u32,
    /// Memtable block entries in use (live blocks and tombstones), of `Config::blocks_max`.
    pub block_entries_used: u32,
    /// Live edges, of `Config::edges_max`.
    pub edges_live: u32,
    /// Payload arena bytes in use, of `Config::arena_bytes_max`.
    pub arena_bytes_used: u32,
    /// The sequence the next write will get.
    pub sequence_next: u64,
    /// Log position after the last write.
    pub wal_position: u64,
    /// Log position up to which writes are durable.
    pub wal_synced_position: u64,
    /// WAL segment files in the store.
    pub wal_segments: u32,
    /// WAL frames replayed at open.
    pub recovery_frames_replayed: u64,
    /// WAL bytes replayed at open.
    pub recovery_bytes_replayed: u64,
    /// Bytes of torn, never-synced WAL tail removed at open.
    pub wal_torn_bytes_truncated: u64,
    /// Bytes of damaged, once-synced WAL dropped at open (tolerant recovery only).
    pub wal_corrupt_bytes_dropped: u64,
    /// A WAL write or sync failed; writes are refused until reopen.
    pub poisoned: bool,
}

/// An open store. Single-threaded: the host serialises every call.
pub struct Engine<'r, V: Vfs> {
    config: Config,
    vfs: V,
    memtable: Memtable<'r>,
    wal: Wal<'r>,
    guards: Guards<'r>,
    next_sequence: u64,
    recovery: RecoveryReport,
}

/// Checks a block's fields against `config`; the same checks run on write and on replay.
fn validate_block(
    config: &Config,
    id: &BlockId,
    source_uri: &[u8],
    metadata_json: &[u8],
    content: &[u8],
) -> Result<(), Error> {
    if id.is_zero() {
        return Err(Error::IdZero);
    }
    if source_uri.len() > config.source_uri_bytes_max as usize {
        return Err(Error::SourceUriTooLong {
            bytes: source_uri.len(),
            bytes_max: config.source_uri_bytes_max,
        });
    }
    if core::str::from_utf8(source_uri).is_err() {
        return Err(Error::SourceUriNotUtf8);
    }
    if metadata_json.len() > config.metadata_bytes_max as usize {
        return Err(Error::MetadataTooLong {
            bytes: metadata_json.len(),
            bytes_max: config.metadata_bytes_max,
        });
    }
    if content.len() > config.content_bytes_max as usize {
        return Err(Error::ContentTooLong {
            bytes: content.len(),
            bytes_max: config.content_bytes_max,
        });
    }
    crate::json::validate_object(metadata_json).map_err(|offset| Error::MetadataInvalid { offset })
}

fn validate_edge(edge: &Edge) -> Result<(), Error> {
    if edge.source.is_zero() || edge.target.is_zero() {
        return Err(Error::IdZero);
    }
    Ok(())
}

/// Applies replayed records to the memtable with the same checks as live writes.
struct Replayer<'a, 'r> {
    memtable: &'a mut Memtable<'r>,
    config: &'a Config,
}

impl ReplayTarget for Replayer<'_, '_> {
    fn apply(&mut self, sequence: u64, record: Record<'_>) -> Result<(), ApplyError> {
        match record {
            Record::PutBlock { id, source_uri, metadata_json, content } => {
                validate_block(self.config, &id, source_uri, metadata_json, content).map_err(
                    |error| match error {
                        // Written under larger limits: this config cannot hold it.
                        Error::SourceUriTooLong { .. }
                        | Error::MetadataTooLong { .. }
                        | Error::ContentTooLong { .. } => {
                            ApplyError::Capacity(Resource::RecordBytes)
                        }
                        _ => ApplyError::Invalid,
                    },
                )?;
                let payload_bytes = source_uri.len() + metadata_json.len() + content.len();
                self.memtable.check_put(&id, payload_bytes).map_err(ApplyError::Capacity)?;
                self.memtable.apply_put(&id, sequence, [source_uri, metadata_json, content]);
            }
            Record::DeleteBlock { id } => {
                let entry = self.memtable.live_entry_of(&id).ok_or(ApplyError::Invalid)?;
                self.memtable.apply_delete(entry, sequence);
            }
            Record::PutEdge(edge) => match self.memtable.check_put_edge(&edge) {
                Ok(Some(record)) => self.memtable.apply_put_edge(record),
                // A logged put is never a duplicate, and its endpoints existed when it was logged.
                Ok(None) | Err(None) => return Err(ApplyError::Invalid),
                Err(Some(resource)) => return Err(ApplyError::Capacity(resource)),
            },
            Record::DeleteEdge(edge) => {
                let index = self.memtable.find_edge(&edge).ok_or(ApplyError::Invalid)?;
                self.memtable.apply_delete_edge(index);
            }
            // Recovery consumes markers itself.
            Record::CloseMarker => return Err(ApplyError::Invalid),
        }
        Ok(())
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

impl<'r, V: Vfs> Engine<'r, V> {
    /// Opens (or creates) the store in `vfs`, with every part of its memory carved from
    /// `region` (at least `memory_bytes_required(&config)` bytes), and replays the WAL.
    pub fn open(config: Config, region: &'r mut [u8], mut vfs: V) -> Result<Engine<'r, V>, Error> {
        config.validate()?;
        let parts = carve(&config, region)?;
        let mut memtable = Memtable::new(parts.memtable);
        let buffers = RecoveryBuffers {
            list: parts.list_buffer,
            segment_numbers: parts.segment_numbers,
            read: parts.read_buffer,
        };
        let payload_max = config.frame_bytes_max() - FRAME_HEADER_BYTES;
        let mut replayer = Replayer { memtable: &mut memtable, config: &config };
        let (tail, recovery) =
            recover(&mut vfs, buffers, config.recovery_mode, payload_max, &mut replayer)?;
        let wal =
            Wal::new(parts.wal_buffer, config.wal_segment_bytes_max, config.wal_segments_max, tail);
        let engine = Engine {
            config,
            vfs,
            memtable,
            wal,
            guards: parts.guards,
            next_sequence: recovery.sequence_next.max(1),
            recovery,
        };
        engine.check_invariants();
        Ok(engine)
    }

    /// Debug-build checks run on every public call: region guard words intact, counters
    /// within their limits.
    fn check_invariants(&self) {
        if cfg!(debug_assertions) {
            self.guards.check();
            assert!(self.memtable.blocks_used() <= self.config.blocks_max);
            assert!(self.memtable.blocks_live() <= self.memtable.blocks_used());
            assert!(self.memtable.edges_live() <= self.config.edges_max);
            assert!(self.memtable.arena_bytes_used() <= self.config.arena_bytes_max);
            assert!(self.wal.synced_position() <= self.wal.position());
        }
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
        validate_block(&self.config, &id, source_uri, metadata_json, content)?;
        let payload_bytes = source_uri.len() + metadata_json.len() + content.len();
        self.memtable
            .check_put(&id, payload_bytes)
            .map_err(|resource| Error::MemtableFull { resource })?;
        let sequence = self.next_sequence;
        let fixed = put_block_fixed(&id, [source_uri.len(), metadata_json.len(), content.len()]);
        let parts: [&[u8]; 4] = [&fixed, source_uri, metadata_json, content];
        self.wal.append(&mut self.vfs, RecordKind::PutBlock, sequence, &parts)?;
        self.memtable.apply_put(&id, sequence, [source_uri, metadata_json, content]);
        self.finish_write(sequence)
    }

    /// Deletes a live block and every edge into or out of it. `NotFound` if it is not live.
    pub fn delete_block(&mut self, id: BlockId) -> Result<u64, Error> {
        self.check_invariants();
        if id.is_zero() {
            return Err(Error::IdZero);
        }
        let entry = self.memtable.live_entry_of(&id).ok_or(Error::NotFound)?;
        let sequence = self.next_sequence;
        self.wal.append(&mut self.vfs, RecordKind::DeleteBlock, sequence, &[&id.0])?;
        self.memtable.apply_delete(entry, sequence);
        self.finish_write(sequence)
    }

    /// Stores an edge between two live blocks (`NotFound` otherwise). Returns `Ok(None)` if
    /// the edge already exists (a no-op), else the write's sequence.
    pub fn put_edge(&mut self, edge: Edge) -> Result<Option<u64>, Error> {
        self.check_invariants();
        validate_edge(&edge)?;
        let record = match self.memtable.check_put_edge(&edge) {
            Ok(Some(record)) => record,
            Ok(None) => return Ok(None),
            Err(None) => return Err(Error::NotFound),
            Err(Some(resource)) => return Err(Error::MemtableFull { resource }),
        };
        let sequence = self.next_sequence;
        self.wal.append(&mut self.vfs, RecordKind::PutEdge, sequence, &[&edge_payload(&edge)])?;
        self.memtable.apply_put_edge(record);
        self.finish_write(sequence).map(Some)
    }

    /// Deletes an edge; `NotFound` if it does not exist.
    pub fn delete_edge(&mut self, edge: Edge) -> Result<u64, Error> {
        self.check_invariants();
        validate_edge(&edge)?;
        let index = self.memtable.find_edge(&edge).ok_or(Error::NotFound)?;
        let sequence = self.next_sequence;
        self.wal.append(
            &mut self.vfs,
            RecordKind::DeleteEdge,
            sequence,
            &[&edge_payload(&edge)],
        )?;
        self.memtable.apply_delete_edge(index);
        self.finish_write(sequence)
    }

    /// The live block `id`, borrowed from the engine (no copy), or `None`.
    pub fn find_block(&mut self, id: BlockId) -> Result<Option<BlockView<'_>>, Error> {
        self.check_invariants();
        if id.is_zero() {
            return Err(Error::IdZero);
        }
        Ok(self.memtable.find(&id))
    }

    /// Writes the edges of the live block `id` in `direction` that pass `filter` into `out`
    /// (newest first) and counts every match; `NotFound` if the block is not live.
    pub fn edges(
        &mut self,
        id: BlockId,
        direction: Direction,
        filter: EdgeFilter<'_>,
        out: &mut [Edge],
    ) -> Result<EdgeCount, Error> {
        self.check_invariants();
        if id.is_zero() {
            return Err(Error::IdZero);
        }
        let entry = self.memtable.live_entry_of(&id).ok_or(Error::NotFound)?;
        Ok(self.memtable.edges_of(entry, direction, &filter, out))
    }

    /// Calls `visit` with each edge of the live block `id` in `direction` that passes
    /// `filter` (the order of `edges`), and returns how many there were. For hosts that
    /// keep edges in their own layout (the C API does).
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
        let entry = self.memtable.live_entry_of(&id).ok_or(Error::NotFound)?;
        Ok(self.memtable.visit_edges(entry, direction, &filter, visit))
    }

    /// Makes every earlier write durable.
    pub fn sync(&mut self) -> Result<(), Error> {
        self.check_invariants();
        self.wal.sync(&mut self.vfs)
    }

    pub fn stats(&self) -> Stats {
        self.check_invariants();
        Stats {
            blocks_live: self.memtable.blocks_live(),
            block_entries_used: self.memtable.blocks_used(),
            edges_live: self.memtable.edges_live(),
            arena_bytes_used: self.memtable.arena_bytes_used(),
            sequence_next: self.next_sequence,
            wal_position: self.wal.position(),
            wal_synced_position: self.wal.synced_position(),
            wal_segments: self.wal.segments_count(),
            recovery_frames_replayed: self.recovery.frames_replayed,
            recovery_bytes_replayed: self.recovery.bytes_replayed,
            wal_torn_bytes_truncated: self.recovery.torn_bytes_truncated,
            wal_corrupt_bytes_dropped: self.recovery.corrupt_bytes_dropped,
            poisoned: self.wal.is_poisoned(),
        }
    }

    /// The storage backend, e.g. to change a simulation's fault settings mid-test. Writing
    /// to the store's files through it voids the durability contract.
    pub fn vfs_mut(&mut self) -> &mut V {
        &mut self.vfs
    }

    /// The config the engine was opened with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Syncs and closes the store, handing the storage backend back with the sync's result.
    /// If anything was written since open, a close marker is logged first: it vouches that
    /// every earlier frame was durable, so later damage to them is reported as corruption
    /// instead of being mistaken for a torn tail.
    pub fn close(mut self) -> (V, Result<(), Error>) {
        self.check_invariants();
        let mut result = self.wal.sync(&mut self.vfs);
        if result.is_ok() && self.wal.appended_since_open() {
            // The marker is framed after the sync, so its synced position covers every
            // earlier frame. Best effort: a full log closes without one.
            let next = self.next_sequence;
            result = match self.wal.append(&mut self.vfs, RecordKind::CloseMarker, next, &[]) {
                Ok(()) => self.wal.sync(&mut self.vfs),
                Err(Error::WalFull) => Ok(()),
                Err(error) => Err(error),
            };
        }
        self.wal.close(&mut self.vfs);
        (self.vfs, result)
    }

    /// Abandons the engine without syncing: buffered writes are lost, as if the process died
    /// here. For crash tests.
    pub fn abandon(mut self) -> V {
        self.wal.close(&mut self.vfs);
        self.vfs
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
            blocks_max: 8,
            edges_max: 8,
            arena_bytes_max: 1024,
            source_uri_bytes_max: 16,
            metadata_bytes_max: 32,
            content_bytes_max: 64,
            wal_segment_bytes_max: 512,
            wal_segments_max: 8,
            wal_buffer_bytes: 256,
            read_buffer_bytes: 256,
            files_max: 9,
            ..Config::DEFAULT
        };
        let sim = SimConfig { files_max: 9, file_bytes_max: 512, pending_bytes_max: 1024 };
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
            engine.close().1.unwrap();
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
}
