//! # KausalDB core
//!
//! An embedded code-graph store: *context blocks* (a 128-bit id, a source URI, JSON
//! metadata, content) and typed, directed *edges* between them, answered in microseconds.
//! This crate is `#![no_std]` and never allocates: the host hands [`Engine::open`] one
//! region of memory and a storage backend, and everything the engine keeps lives there.
//!
//! ## Words
//!
//! - **block**: a context block, the unit of data: an id, a source URI, JSON metadata and
//!   content. Only ever this.
//! - **page**: the unit of a table file (16-byte header, CRC, `table_page_bytes` target):
//!   data pages hold sorted records of one section; the index and the bloom filter are
//!   pages too. Never called a block.
//! - **record**: one encoded block version, tombstone or edge, in the WAL or a table page.
//!   An **entry** is a slot of an in-memory index: a memtable entry (one per block id the
//!   memtable knows: version, tombstone or stub), an index entry (one per table page).
//! - **level**: the memtable or one table, in the newest-first order reads merge them in.
//!   Nothing else is a level (a depth-first query keeps a *window* per depth).
//! - **position** vs **offset**: a position is a place in the whole WAL, counted from its
//!   first byte across segments; an offset is a place within one file or buffer.
//! - **view**: a borrowed slice into memory the engine or the backend owns (a memtable
//!   version, a mapped table page), valid until the next call that may change it.
//! - Units come last in names: `_bytes` for sizes, `_count` for how many there are, `_max`
//!   for a limit on a count or size; `_len` only for the length of a slice or file.
//!
//! ## Layers
//!
//! ```text
//!   Engine (engine.rs)        validate -> plan -> log -> apply; flush; compact; stats
//!     ├── queries (query/)        BFS/DFS, shortest path, named queries, block filters
//!     ├── Store (store/)          the levels: memtable over tables, one concern a file:
//!     │     │                     visibility, listing, writes (plan/apply), flush,
//!     │     │                     compaction, scan, replay; all k-way merges in merge.rs
//!     │     ├── Memtable (memtable/)  block index + payload arena + edge store
//!     │     └── tables (table/)       sorted files: format, writer, open, lookup, cursor,
//!     │                               bloom filters
//!     ├── Manifest (manifest.rs)  which tables are live; the WAL checkpoint; orphans
//!     ├── Wal (wal/)              framing, group commit, recovery from the checkpoint
//!     └── Vfs (vfs/)              the storage trait; SimVfs (feature sim); PosixVfs (posix)
//!   region.rs                 the one place the region is carved into typed parts
//!   config.rs, error.rs       every limit a host sets; every error
//!   validate.rs               argument checks shared by writes and replay
//!   leaves (import no other engine module but id/edge/error):
//!     limits.rs                 every hard ceiling
//!     codec.rs                  CRC32C, little-endian readers, checked narrowing
//!     record.rs                 block and edge records, the sort keys every level uses
//!     id.rs, edge.rs, json.rs   the data model and metadata validation
//! ```
//!
//! Dependencies point down this picture: no module imports one above it, and no two modules
//! import each other (`cargo xtask check` fails on a cycle).
//!
//! ## Where every byte of memory comes from
//!
//! [`memory_bytes_required`] computes, from a [`Config`], the size of the region; `open`
//! carves it once (see `region.rs`) into: the block index slots and block entries, the edge
//! index slots and edge records, the payload arena, the WAL buffer, the recovery read
//! buffer (which later assembles table pages), the directory-listing buffer, the
//! segment-number list, the table metadata, the table pool (every table's bloom filter and
//! sparse index), one merge buffer per table, a lookup buffer and a sort scratch. The data
//! on disk can be far larger than the region: it is a write buffer and an index cache.
//! Nothing else is used:
//! no heap, no hidden static buffers; the stack holds only fixed-size locals. In debug
//! builds guard words between the parts are checked on every public call.
//!
//! ## The path of one write
//!
//! `put_block(id, uri, metadata, content)`: (1) the arguments are validated (non-zero id,
//! lengths within the config, UTF-8 URI, metadata one JSON object); (2) the memtable checks
//! it has room (else `MemtableFull`: back-pressure, nothing changed); (3) the WAL frames
//! the write into its buffer with a CRC32C and the next sequence number, writing the buffer
//! out when full; (4) the memtable copies the payload into the arena and points the block
//! index at it. With `SyncPolicy::EveryWrite` the WAL is synced before returning;
//! otherwise `sync()` makes every earlier write durable at once (group commit). Edges take
//! the same path and are linked into the source's outgoing and the target's incoming
//! list, so both directions are visible immediately and after every replay.
//!
//! ## The path of one read
//!
//! `find_block(id)`: hash the id and probe the memtable; a version there answers with a
//! [`BlockView`] into the arena (no copy, no I/O). Otherwise the tables, newest first: a
//! bloom filter test, a binary search of the sparse index, one page read into the
//! lookup buffer. `edges(id, ...)` merges the memtable's list with one cursor per table
//! (each in its merge buffer), newest version of each edge winning, tombstones hiding.
//! When the memtable (or the WAL) fills, a write first flushes it to a new table, and
//! compaction merges tables of similar size.
//!
//! ## Durability contract
//!
//! - After `sync()` returns `Ok`, every earlier write survives any crash.
//! - A crash at any other moment leaves a *prefix* of the writes: never a reordering, never
//!   a half-written block, never a deleted block or edge that comes back.
//! - At open, a torn WAL tail (writes that were never synced) is truncated and counted.
//!   Damage to synced bytes is `Error::Corruption` in strict mode; tolerant mode (the
//!   default) keeps the longest valid prefix and reports the dropped bytes. Damage to the
//!   very last synced frames, with nothing written after them and no clean close since,
//!   cannot be told apart from a torn tail and is treated as one; a clean close records
//!   the log's durable end in the manifest, so after one any loss of the log's end is
//!   damage, never a torn tail.
//! - If a WAL write or sync fails, the engine is poisoned: writes return `Poisoned` until it
//!   is reopened, because what reached the disk is unknown until recovery reads it back.
// Unit tests (compiled only with cfg(test)) read as scenarios and run on 64-bit hosts.
#![cfg_attr(test, allow(clippy::cast_possible_truncation, clippy::too_many_lines))]
#![no_std]
// `unsafe` is refused everywhere but in the three modules that cannot do without it, each
// marked where it is declared: `region` (carving typed parts out of the host's bytes),
// `vfs::posix` (libc calls and memory maps) and `crc32c::hardware` (the CPU's CRC32C
// instruction). `cargo xtask check` refuses any other
// `allow(unsafe_code)`, and clippy any unsafe block without a `// SAFETY:` comment.
#![deny(unsafe_code)]
#![deny(missing_docs)]

#[cfg(test)]
extern crate std;

mod codec;
pub mod config;
mod crc32c;
pub mod edge;
pub mod engine;
pub mod error;
pub mod event;
// The fuzz targets' entry points into the decoders (`fuzz/`); not part of the API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzz;
pub mod id;
pub mod json;
pub mod limits;
mod manifest;
mod memtable;
mod names;
pub mod query;
mod record;
#[allow(unsafe_code)] // Exception 1 of 3: the region carving.
pub mod region;
mod sentence;
mod sort;
mod store;
mod table;
mod validate;
pub mod vfs;
mod wal;
#[cfg(any(test, feature = "small-code"))]
mod xxh3;

pub use config::{Config, RecoveryMode, SyncPolicy};
pub use edge::{Direction, Edge, EdgeCount, EdgeFilter, EdgeType};
pub use engine::{Engine, Stats};
pub use error::{CorruptionKind, Error, FieldName, Resource};
pub use event::{Event, EventHook, EventKind};
pub use id::BlockId;
pub use memtable::BlockView;
pub use query::{
    BlockFilter, MetadataValue, NamedQuery, PathOutcome, PathQuery, PathStep, ScanCursor,
    TraversalCount, TraversalHit, TraversalOrder, TraversalQuery, Via,
};
pub use region::memory_bytes_required;
pub use sentence::Sentence;
pub use vfs::{FileHandle, Vfs, VfsError};
