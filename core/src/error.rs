//! The engine's error type: one enum, every variant says when it happens.

use crate::vfs::VfsError;

/// Which memtable resource a write would have exceeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    /// `Config::memtable_entries_max` entries are in use (block versions, tombstones, and
    /// stubs: an edge whose end is not in the memtable takes an entry for that end).
    MemtableEntries,
    /// `Config::memtable_edges_max` edge records (live or tombstones) are in use.
    MemtableEdges,
    /// `Config::memtable_arena_bytes_max` payload bytes are in use.
    MemtableArenaBytes,
    /// `Config::wal_segments_max` WAL segments exist.
    WalSegments,
    /// `Config::table_memory_bytes` (blooms and indexes of open tables) is in use.
    TableMemory,
    /// `Config::tables_max` tables exist; compaction must merge some first.
    Tables,
    /// A logged record is longer than this config's uri, metadata or content limits allow
    /// (recovery only: the store was written with larger limits).
    RecordBytes,
}

/// What was wrong with bytes read back from storage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CorruptionKind {
    /// A WAL frame that was provably synced (a later frame records a durable position past
    /// it) fails its checksum or does not decode: bit rot or a lost write, not a torn tail.
    WalFrame,
    /// A WAL segment header is damaged, yet later segments prove it was synced.
    WalSegmentHeader,
    /// The WAL segment files do not form one contiguous log (a segment is missing).
    WalSegmentGap,
    /// The log ends before the durable end the last clean close recorded in the manifest:
    /// synced frames at its end are gone (cut, zeroed, or their segment deleted).
    WalTail,
    /// A file name in the store directory is not valid UTF-8 or is too long.
    DirectoryListing,
    /// A table file's footer, index, bloom filter or a page fails its checks.
    Table,
    /// The manifest fails its checks, or names a table that is missing.
    Manifest,
}

/// Every error the engine returns. After an error the engine is unchanged, except where
/// the variant says it is poisoned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// A `Config` field is out of range; the name is the field's name.
    ConfigInvalid {
        /// The field to change, as named in `Config` (and `Config::FIELD_NAMES`).
        field: &'static str,
    },
    /// The region handed to `open` is smaller than `memory_bytes_required(&config)`.
    RegionTooSmall {
        /// `memory_bytes_required(&config)`.
        bytes_required: usize,
        /// The region's length.
        bytes_given: usize,
    },
    /// A block id was all zero bytes, which no block may have.
    IdZero,
    /// Text that should be a 32-character hex id is not one.
    IdHexInvalid,
    /// `source_uri` is longer than `Config::source_uri_bytes_max`.
    SourceUriTooLong {
        /// The uri's length.
        bytes: usize,
        /// `Config::source_uri_bytes_max`.
        bytes_max: u32,
    },
    /// `source_uri` is not valid UTF-8.
    SourceUriNotUtf8,
    /// `metadata_json` is longer than `Config::metadata_bytes_max`.
    MetadataTooLong {
        /// The metadata's length.
        bytes: usize,
        /// `Config::metadata_bytes_max`.
        bytes_max: u32,
    },
    /// `metadata_json` is not one JSON object; `offset` is the first bad byte.
    MetadataInvalid {
        /// Byte offset of the first byte that breaks the JSON grammar.
        offset: usize,
    },
    /// `content` is longer than `Config::content_bytes_max`.
    ContentTooLong {
        /// The content's length.
        bytes: usize,
        /// `Config::content_bytes_max`.
        bytes_max: u32,
    },
    /// An edge type code is neither a built-in type nor in the host-defined range.
    EdgeTypeUnknown {
        /// The code given.
        code: u16,
    },
    /// A query argument is out of range; the name is the field's name (see the query's
    /// documentation for each field's range).
    QueryInvalid {
        /// The query field out of range (`depth_max`, `results_max`, `starts`, ...).
        field: &'static str,
    },
    /// The block (or, for `delete_edge`, the edge) does not exist; for `put_edge`, one of
    /// its endpoints does not exist.
    NotFound,
    /// Back-pressure: the memtable has no room for this write. Nothing was written.
    MemtableFull {
        /// What ran out.
        resource: Resource,
    },
    /// The WAL has `Config::wal_segments_max` full segments. Not returned by this version:
    /// a write that finds the log full flushes the memtable first, which empties the log
    /// (tests: `a_full_wal_flushes_instead_of_refusing`, and the every-variant test). Kept
    /// so that hosts' exhaustive matches and the C status code stay stable.
    WalFull,
    /// An output buffer is too small; `needed` is the number of elements or bytes it needs.
    BufferTooSmall {
        /// Elements or bytes the output needs.
        needed: usize,
    },
    /// Another process holds the store (its backend's lock: `Vfs::lock`); `pid` is the
    /// holder's, 0 if the backend cannot tell. Nothing was read or changed.
    Locked {
        /// The holder's process id; 0 if the backend cannot tell.
        pid: u32,
    },
    /// The storage backend failed. If it failed while writing or syncing the WAL, the
    /// engine is poisoned as well (see `Poisoned`).
    Io(VfsError),
    /// An earlier WAL write or sync failed, so writes since the last successful `sync` may
    /// or may not be on disk. Reads still answer from memory; every write returns this.
    /// Close and reopen: recovery then shows exactly what survived.
    Poisoned,
    /// Bytes on storage are damaged in a way recovery may not silently repair (strict
    /// mode), or an invariant between records does not hold.
    Corruption {
        /// What is damaged.
        kind: CorruptionKind,
    },
    /// Replaying the WAL needs more memtable room than this `Config` provides: the store
    /// was written with larger limits. Reopen with limits at least as large.
    RecoveryCapacity {
        /// The limit the log needs raised.
        resource: Resource,
    },
}

impl From<VfsError> for Error {
    fn from(error: VfsError) -> Self {
        Error::Io(error)
    }
}

impl core::fmt::Display for Resource {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Resource::MemtableEntries => "memtable entries (Config::memtable_entries_max)",
            Resource::MemtableEdges => "memtable edge records (Config::memtable_edges_max)",
            Resource::MemtableArenaBytes => {
                "memtable payload bytes (Config::memtable_arena_bytes_max)"
            }
            Resource::WalSegments => "WAL segments (Config::wal_segments_max)",
            Resource::TableMemory => "table memory (Config::table_memory_bytes)",
            Resource::Tables => "tables (Config::tables_max)",
            Resource::RecordBytes => "record size (the uri, metadata or content limit)",
        })
    }
}

impl core::fmt::Display for CorruptionKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            CorruptionKind::WalFrame => "a synced WAL frame is damaged",
            CorruptionKind::WalSegmentHeader => "a WAL segment header is damaged",
            CorruptionKind::WalSegmentGap => "the WAL segments do not join up (one is missing)",
            CorruptionKind::WalTail => {
                "the WAL ends before the durable end its last clean close recorded"
            }
            CorruptionKind::DirectoryListing => "a file name in the store directory is invalid",
            CorruptionKind::Table => "a table file fails its checks",
            CorruptionKind::Manifest => {
                "the manifest is damaged, missing, or names a missing table"
            }
        })
    }
}

/// One sentence per error, with its details: what a host logs or shows a user.
impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Error::ConfigInvalid { field } => write!(f, "config field {field} is out of range"),
            Error::RegionTooSmall { bytes_required, bytes_given } => {
                write!(f, "the region has {bytes_given} bytes; this config needs {bytes_required}")
            }
            Error::IdZero => f.write_str("the all-zero block id is not a valid id"),
            Error::IdHexInvalid => f.write_str("the text is not a 32-digit hex block id"),
            Error::SourceUriTooLong { bytes, bytes_max } => {
                write!(f, "the source uri has {bytes} bytes; at most {bytes_max} are accepted")
            }
            Error::SourceUriNotUtf8 => f.write_str("the source uri is not valid UTF-8"),
            Error::MetadataTooLong { bytes, bytes_max } => {
                write!(f, "the metadata has {bytes} bytes; at most {bytes_max} are accepted")
            }
            Error::MetadataInvalid { offset } => {
                write!(f, "the metadata is not one JSON object (at byte {offset})")
            }
            Error::ContentTooLong { bytes, bytes_max } => {
                write!(f, "the content has {bytes} bytes; at most {bytes_max} are accepted")
            }
            Error::EdgeTypeUnknown { code } => write!(f, "edge type {code:#06x} is not known"),
            Error::QueryInvalid { field } => write!(f, "query argument {field} is out of range"),
            Error::NotFound => f.write_str("no such block or edge"),
            Error::MemtableFull { resource } => write!(f, "the memtable is full: {resource}"),
            Error::WalFull => f.write_str("the WAL has no free segment (Config::wal_segments_max)"),
            Error::BufferTooSmall { needed } => write!(f, "the output buffer needs {needed}"),
            Error::Locked { pid: 0 } => f.write_str("another process has the store open"),
            Error::Locked { pid } => write!(f, "the store is in use by process {pid}"),
            Error::Io(error) => write!(f, "storage failed: {error}"),
            Error::Poisoned => f.write_str(
                "an earlier WAL write or sync failed; reopen the store to see what is durable",
            ),
            Error::Corruption { kind } => write!(f, "the store is damaged: {kind}"),
            Error::RecoveryCapacity { resource } => {
                write!(f, "replaying the WAL needs more than this config allows: {resource}")
            }
        }
    }
}

impl core::error::Error for Error {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Error::Io(error) => Some(error),
            _ => None,
        }
    }
}
