//! Where the store lives (`.kausal/` at the root of the indexed tree, found by walking up
//! like git), the config it is opened with, and small helpers over the engine.

use crate::error::Error;
use kausaldb::Store;
use kausaldb::{BlockId, Config, Db, Direction, Edge, EdgeFilter, Event, EventHook, EventKind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// `-v`: stores opened from here on report the engine's events on stderr.
pub static VERBOSE: AtomicBool = AtomicBool::new(false);

/// Blocks one `callers`/`callees`/`impact` walk may visit: a hub of a large code base
/// reaches hundreds of thousands within a few calls (the engine's default of 10,000
/// truncated a depth-3 callers query from a hub of the Rust standard library). 72 to 80
/// bytes of region each: 72 MiB, touched only as far as a walk goes.
pub const QUERY_NODES_MAX: u32 = 1 << 20;

/// The store directory's name at the root of an indexed tree.
pub const STORE_DIR: &str = ".kausal";

/// The config the tool opens stores with, sized for a code base of a million lines
/// (about 100,000 definitions and 500,000 edges): a memtable of 64 Ki entries and 256 Ki
/// edges, so an index of that size flushes a few dozen times; definitions up to 256 KiB of
/// source (longer ones are cut, and say so); traversals of up to `QUERY_NODES_MAX` blocks;
/// about 140 MiB of region in all, of which a command touches what it uses.
pub fn config() -> Config {
    Config {
        query_nodes_max: QUERY_NODES_MAX,
        memtable_entries_max: 64 << 10,
        memtable_edges_max: 256 << 10,
        memtable_arena_bytes_max: 32 << 20,
        source_uri_bytes_max: 1024,
        metadata_bytes_max: 4096,
        content_bytes_max: 256 << 10,
        wal_segment_bytes_max: 16 << 20,
        wal_buffer_bytes: 512 << 10,
        read_buffer_bytes: 512 << 10,
        table_memory_bytes: 16 << 20,
        table_page_bytes: 16 << 10,
        ..Config::DEFAULT
    }
}

/// The store for `--store DIR`, or the nearest `.kausal` at or above `from`.
pub fn locate(store: Option<&Path>, from: &Path) -> Result<PathBuf, Error> {
    if let Some(store) = store {
        return Ok(store.to_path_buf());
    }
    let start = from
        .canonicalize()
        .map_err(|error| Error::Io { path: from.display().to_string(), error })?;
    start
        .ancestors()
        .map(|dir| dir.join(STORE_DIR))
        .find(|candidate| candidate.is_dir())
        .ok_or_else(|| Error::NoStore { from: start.display().to_string() })
}

/// Opens (creating the directory if needed) the store at `dir`; with `-v`, its events go
/// to stderr.
pub fn open(dir: &Path) -> Result<Store, Error> {
    std::fs::create_dir_all(dir)
        .map_err(|error| Error::Io { path: dir.display().to_string(), error })?;
    if VERBOSE.load(Ordering::Relaxed) {
        let hook = Box::new(StderrHook { epoch: Instant::now(), started_bytes: 0 });
        return Ok(Store::open_observed(dir, config(), hook)?);
    }
    Ok(Store::open_with(dir, config())?)
}

/// The engine's events as lines on stderr (`-v`): each step when it ends, with its size
/// and time.
struct StderrHook {
    epoch: Instant,
    /// The bytes of the last start event (its end reports what came out).
    started_bytes: u64,
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

impl EventHook for StderrHook {
    fn event(&mut self, event: &Event) {
        let ms = event.duration_ns as f64 / 1e6;
        let (bytes, tables, before) = (event.bytes, event.tables, self.started_bytes);
        let line = match event.kind {
            EventKind::RecoveryStart
            | EventKind::FlushStart
            | EventKind::CompactionStart
            | EventKind::WriteStallStart => {
                self.started_bytes = bytes;
                return;
            }
            EventKind::RecoveryEnd => {
                format!(
                    "open: {:.1} MiB of log replayed in {ms:.1} ms, {tables} tables",
                    mib(bytes)
                )
            }
            EventKind::FlushEnd => format!(
                "flush: {:.1} MiB in memory to {:.1} MiB of tables in {ms:.1} ms, {tables} tables",
                mib(before),
                mib(bytes)
            ),
            EventKind::CompactionEnd => format!(
                "compaction: {:.1} MiB of tables to {:.1} MiB in {ms:.1} ms, {tables} tables",
                mib(before),
                mib(bytes)
            ),
            EventKind::WriteStallEnd => format!("a write waited {ms:.1} ms for the flush"),
        };
        eprintln!("kausal: {line}");
    }

    fn now_ns(&mut self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

/// Every edge of `id` in `direction` that passes `filter`; none if `id` is not live.
pub fn edges_of(
    db: &mut Db<'_>,
    id: BlockId,
    direction: Direction,
    filter: EdgeFilter<'_>,
) -> Result<Vec<Edge>, Error> {
    let mut edges = Vec::new();
    match db.visit_edges(id, direction, filter, |edge| edges.push(edge)) {
        Ok(_) | Err(kausaldb::Error::NotFound) => Ok(edges),
        Err(error) => Err(error.into()),
    }
}

/// The metadata of block `id` as JSON, if it is live.
pub fn metadata_of(db: &mut Db<'_>, id: BlockId) -> Result<Option<serde_json::Value>, Error> {
    let Some(view) = db.find_block(id)? else {
        return Ok(None);
    };
    Ok(serde_json::from_slice(view.metadata_json).ok())
}
