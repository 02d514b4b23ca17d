//! The engine's error type: one enum, every variant says when it happens.

use crate::sentence::Sentence;
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
    /// `Config::table_memory_bytes` (blooms and indexes of open tables) has no room for the
    /// filter and index of a table a flush must write, or of the output of a merge that
    /// must run to free a table slot. (A merge a flush only chooses to run is put off when
    /// it does not fit: the write goes on.)
    TableMemory,
    /// Too few of `Config::tables_max` table slots are free for a flush (it writes a table
    /// for its blocks and one for its edges); compaction must merge some first.
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

/// The name of a `Config` or query field, as an error reports it: a pointer to a `&str`,
/// one word where a `&str` takes two, so that an `Error` takes two words and a `Result`
/// comes back in registers (a three-word `Error` went through memory on a Cortex-M4: 2.7
/// KiB more firmware code for every `?` that passes one on).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct FieldName(&'static &'static str);

impl FieldName {
    /// The name `name` (`FieldName::new(&"tables_max")`).
    pub const fn new(name: &'static &'static str) -> FieldName {
        FieldName(name)
    }

    /// The name as text.
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

impl PartialEq<&str> for FieldName {
    fn eq(&self, other: &&str) -> bool {
        *self.0 == *other
    }
}

impl core::fmt::Debug for FieldName {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(self.0, f)
    }
}

impl core::fmt::Display for FieldName {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.0)
    }
}

/// Every error the engine returns. After an error the engine is unchanged, except where
/// the variant says it is poisoned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// A `Config` field is out of range; the name is the field's name.
    ConfigInvalid {
        /// The field to change, as named in `Config` (and `Config::FIELD_NAMES`).
        field: FieldName,
    },
    /// The region handed to `open` is smaller than `memory_bytes_required(&config)`.
    RegionTooSmall {
        /// `memory_bytes_required(&config)`.
        bytes_required: usize,
    },
    /// A block id was all zero bytes, which no block may have.
    IdZero,
    /// Text that should be a 32-character hex id is not one.
    IdHexInvalid,
    /// `source_uri` is longer than `Config::source_uri_bytes_max`.
    SourceUriTooLong {
        /// The uri's length.
        bytes: usize,
    },
    /// `source_uri` is not valid UTF-8.
    SourceUriNotUtf8,
    /// `metadata_json` is longer than `Config::metadata_bytes_max`.
    MetadataTooLong {
        /// The metadata's length.
        bytes: usize,
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
        field: FieldName,
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

// Two words, so a `Result<(), Error>` (and one of a word-sized value) is returned in
// registers on 32-bit targets (see `FieldName`).
const _: () = assert!(core::mem::size_of::<Error>() <= 2 * core::mem::size_of::<usize>());
const _: () =
    assert!(core::mem::size_of::<Result<usize, Error>>() <= 2 * core::mem::size_of::<usize>());

impl From<VfsError> for Error {
    fn from(error: VfsError) -> Self {
        Error::Io(error)
    }
}

impl Resource {
    /// What ran out, with the config field that sets it.
    pub fn text(self) -> &'static str {
        match self {
            Resource::MemtableEntries => "memtable entries (Config::memtable_entries_max)",
            Resource::MemtableEdges => "memtable edge records (Config::memtable_edges_max)",
            Resource::MemtableArenaBytes => {
                "memtable payload bytes (Config::memtable_arena_bytes_max)"
            }
            Resource::WalSegments => "WAL segments (Config::wal_segments_max)",
            Resource::TableMemory => "table memory (Config::table_memory_bytes)",
            Resource::Tables => "tables (Config::tables_max)",
            Resource::RecordBytes => "record size (the uri, metadata or content limit)",
        }
    }
}

impl core::fmt::Display for Resource {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.text())
    }
}

impl CorruptionKind {
    /// What was found damaged.
    pub fn text(self) -> &'static str {
        match self {
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
        }
    }
}

impl core::fmt::Display for CorruptionKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.text())
    }
}

/// `0x` and the four lowercase hex digits of `code`, as `{code:#06x}` writes it.
fn hex_code(code: u16) -> [u8; 6] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = *b"0x0000";
    for (index, byte) in text.iter_mut().skip(2).enumerate() {
        *byte = DIGITS[usize::from((code >> (12 - 4 * index)) & 0xf)];
    }
    text
}

impl Error {
    /// Says the error as one sentence, with its details, into `out`: what a host logs or
    /// shows a user (`Display` writes the same sentence).
    pub fn describe(&self, out: &mut dyn Sentence) {
        match *self {
            Error::NotFound => out.text("no such block or edge"),
            Error::MemtableFull { resource } => {
                out.text("the memtable is full: ");
                out.text(resource.text());
            }
            Error::WalFull => out.text("the WAL has no free segment (Config::wal_segments_max)"),
            Error::BufferTooSmall { needed } => {
                out.text("the output buffer needs ");
                out.number(needed as u64);
            }
            Error::Locked { pid: 0 } => out.text("another process has the store open"),
            Error::Locked { pid } => {
                out.text("the store is in use by process ");
                out.number(u64::from(pid));
            }
            Error::Io(error) => {
                out.text("storage failed: ");
                error.describe(out);
            }
            Error::Poisoned => out.text(
                "an earlier WAL write or sync failed; reopen the store to see what is durable",
            ),
            Error::Corruption { kind } => {
                out.text("the store is damaged: ");
                out.text(kind.text());
            }
            Error::RecoveryCapacity { resource } => {
                out.text("replaying the WAL needs more than this config allows: ");
                out.text(resource.text());
            }
            _ => self.describe_argument(out),
        }
    }

    /// `describe` for the errors that reject a caller's argument.
    fn describe_argument(&self, out: &mut dyn Sentence) {
        let limit = |out: &mut dyn Sentence, what: &str, bytes: usize, field: &str| {
            out.text(what);
            out.number(bytes as u64);
            out.text(" bytes, more than Config::");
            out.text(field);
            out.text(" accepts");
        };
        match *self {
            Error::ConfigInvalid { field } => {
                out.text("config field ");
                out.text(field.as_str());
                out.text(" is out of range");
            }
            Error::RegionTooSmall { bytes_required } => {
                out.text("the region is smaller than the ");
                out.number(bytes_required as u64);
                out.text(" bytes this config needs");
            }
            Error::IdZero => out.text("the all-zero block id is not a valid id"),
            Error::IdHexInvalid => out.text("the text is not a 32-digit hex block id"),
            Error::SourceUriTooLong { bytes } => {
                limit(out, "the source uri has ", bytes, "source_uri_bytes_max");
            }
            Error::SourceUriNotUtf8 => out.text("the source uri is not valid UTF-8"),
            Error::MetadataTooLong { bytes } => {
                limit(out, "the metadata has ", bytes, "metadata_bytes_max");
            }
            Error::MetadataInvalid { offset } => {
                out.text("the metadata is not one JSON object (at byte ");
                out.number(offset as u64);
                out.text(")");
            }
            Error::ContentTooLong { bytes } => {
                limit(out, "the content has ", bytes, "content_bytes_max");
            }
            Error::EdgeTypeUnknown { code } => {
                out.text("edge type ");
                // The digits are ASCII; the fallback cannot happen.
                out.text(core::str::from_utf8(&hex_code(code)).unwrap_or("0x????"));
                out.text(" is not known");
            }
            Error::QueryInvalid { field } => {
                out.text("query argument ");
                out.text(field.as_str());
                out.text(" is out of range");
            }
            _ => debug_assert!(false, "describe_argument of {self:?}"),
        }
    }
}

/// One sentence per error, with its details: what a host logs or shows a user.
impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        crate::sentence::display_with(f, |out| self.describe(out))
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
