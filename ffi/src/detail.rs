//! The detail of an error, for C: what the status code alone does not say (the config
//! field, the lengths and limits, the resource, the corruption kind, the OS error, the
//! storage call and file), gathered from the engine's `Error` and the storage record.

use crate::host_vfs::StorageFailure;
use crate::status::{kausal_status, status_text};
use core::ffi::c_char;
use kausaldb_core::{Config, CorruptionKind, Error, Resource, Sentence, VfsError};

/// No resource (the error is not a capacity error).
pub const KAUSAL_RESOURCE_NONE: u32 = 0;
/// `memtable_entries_max` entries are in use (block versions, tombstones, stubs).
pub const KAUSAL_RESOURCE_MEMTABLE_ENTRIES: u32 = 1;
/// `memtable_edges_max` edge records are in use.
pub const KAUSAL_RESOURCE_MEMTABLE_EDGES: u32 = 2;
/// `memtable_arena_bytes_max` payload bytes are in use.
pub const KAUSAL_RESOURCE_MEMTABLE_ARENA_BYTES: u32 = 3;
/// `wal_segments_max` log segments exist.
pub const KAUSAL_RESOURCE_WAL_SEGMENTS: u32 = 4;
/// `table_memory_bytes` (blooms and indexes of open tables) is in use.
pub const KAUSAL_RESOURCE_TABLE_MEMORY: u32 = 5;
/// Too few of `tables_max` table slots are free for a flush (it writes a table for its blocks
/// and one for its edges); `kausal_compact_step` must merge some first.
pub const KAUSAL_RESOURCE_TABLES: u32 = 6;
/// A logged record is longer than this config's limits (the store was written with larger).
pub const KAUSAL_RESOURCE_RECORD_BYTES: u32 = 7;

/// No corruption (the error is not `KAUSAL_ERROR_CORRUPTION`).
pub const KAUSAL_CORRUPTION_NONE: u32 = 0;
/// A log frame that was provably synced fails its checks.
pub const KAUSAL_CORRUPTION_WAL_FRAME: u32 = 1;
/// A log segment header is damaged, yet later segments prove it was synced.
pub const KAUSAL_CORRUPTION_WAL_SEGMENT_HEADER: u32 = 2;
/// The log segments do not join up (one is missing).
pub const KAUSAL_CORRUPTION_WAL_SEGMENT_GAP: u32 = 3;
/// The log ends before the durable end the last clean close recorded.
pub const KAUSAL_CORRUPTION_WAL_TAIL: u32 = 4;
/// A file name in the store directory is not valid UTF-8 or is too long.
pub const KAUSAL_CORRUPTION_DIRECTORY_LISTING: u32 = 5;
/// A table's footer, index, bloom filter or a page fails its checks.
pub const KAUSAL_CORRUPTION_TABLE: u32 = 6;
/// The manifest fails its checks, names a missing table, or is missing after a flush.
pub const KAUSAL_CORRUPTION_MANIFEST: u32 = 7;

/// Bytes of `kausal_error_detail::field`, NUL included.
pub const KAUSAL_ERROR_FIELD_BYTES: usize = 40;
/// Bytes of `kausal_error_detail::file`, NUL included.
pub const KAUSAL_ERROR_FILE_BYTES: usize = 72;
/// Bytes of `kausal_error_detail::message`, NUL included.
pub const KAUSAL_ERROR_MESSAGE_BYTES: usize = 256;
const _: () = assert!(kausaldb_core::config::FILE_NAME_BYTES_MAX < KAUSAL_ERROR_FILE_BYTES);

/// What a failed call knew about its error (`kausal_error` for a handle's last call, or
/// the `out_error` of `kausal_open_*`). Fields that do not apply to the error are 0, NULL
/// or "". Set `struct_size` to `sizeof(kausal_error_detail)` before passing it.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug)]
pub struct kausal_error_detail {
    /// `sizeof(kausal_error_detail)`, set by the caller.
    pub struct_size: u32,
    /// The status the call returned (`KAUSAL_OK` if it succeeded).
    pub status: kausal_status,
    /// The operating system's error (`errno`) or the host backend's status code of the
    /// storage call that failed, for `KAUSAL_ERROR_IO` and the other storage errors.
    pub os_error: i32,
    /// `KAUSAL_RESOURCE_*`: what ran out, for `KAUSAL_ERROR_MEMTABLE_FULL` and
    /// `KAUSAL_ERROR_RECOVERY_CAPACITY`.
    pub resource: u32,
    /// `KAUSAL_CORRUPTION_*`: what was damaged, for `KAUSAL_ERROR_CORRUPTION`.
    pub corruption: u32,
    /// The process that holds the store, for `KAUSAL_ERROR_LOCKED` (0 if unknown).
    pub pid: u32,
    /// The length given, for the `*_TOO_LONG` errors and `KAUSAL_ERROR_REGION_TOO_SMALL`;
    /// the count needed, for `KAUSAL_ERROR_BUFFER_TOO_SMALL`; the offset of the first bad
    /// byte, for `KAUSAL_ERROR_METADATA_INVALID`; the code, for
    /// `KAUSAL_ERROR_EDGE_TYPE_UNKNOWN`.
    pub value: u64,
    /// The limit it broke, for the `*_TOO_LONG` errors (the config field's value) and
    /// `KAUSAL_ERROR_REGION_TOO_SMALL` (the bytes required).
    pub limit: u64,
    /// The storage call that failed ("open", "read", "write", "sync", "sync_dir",
    /// "rename", ...): static, NUL-terminated; NULL if no storage call failed.
    pub operation: *const c_char,
    /// The config field (`KAUSAL_ERROR_CONFIG_INVALID`) or query argument
    /// (`KAUSAL_ERROR_QUERY_INVALID`) to change, NUL-terminated; "" otherwise.
    pub field: [c_char; KAUSAL_ERROR_FIELD_BYTES],
    /// The store file that call was on, e.g. "wal-0000000000000003.log"; "" if none or
    /// unknown. NUL-terminated.
    pub file: [c_char; KAUSAL_ERROR_FILE_BYTES],
    /// The whole error as one sentence, NUL-terminated (cut to fit).
    pub message: [c_char; KAUSAL_ERROR_MESSAGE_BYTES],
}

/// `sizeof(kausal_error_detail)` in this version, the smallest `struct_size` accepted.
pub const KAUSAL_ERROR_DETAIL_SIZE_V1: u32 = 416;
const _: () =
    assert!(core::mem::size_of::<kausal_error_detail>() == KAUSAL_ERROR_DETAIL_SIZE_V1 as usize);

/// An error on its way to C: the status, and the engine's error it came from, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Failure {
    pub(crate) status: kausal_status,
    pub(crate) error: Option<Error>,
}

impl From<kausal_status> for Failure {
    fn from(status: kausal_status) -> Self {
        Failure { status, error: None }
    }
}

impl From<Error> for Failure {
    #[cfg_attr(feature = "small-code", inline(never))]
    fn from(error: Error) -> Self {
        Failure { status: error.into(), error: Some(error) }
    }
}

impl From<VfsError> for Failure {
    fn from(error: VfsError) -> Self {
        Failure::from(Error::Io(error))
    }
}

/// `text` up to its first NUL (a C string's static text), found by bytes: `trim_end_matches`
/// decodes characters, 0.2 KiB of firmware code.
fn before_nul(text: &str) -> &str {
    let end = text.bytes().position(|byte| byte == 0).unwrap_or(text.len());
    text.get(..end).unwrap_or(text)
}

/// 10^19 down to 1: every power of ten a u64 holds, largest first.
const POWERS_OF_TEN: [u64; 20] = {
    let mut powers = [1u64; 20];
    let mut place = 19;
    while place > 0 {
        place -= 1;
        powers[place] = powers[place + 1] * 10;
    }
    powers
};

/// Writes text into a fixed C buffer, cutting it to leave room for the NUL.
struct TextBuffer<'a> {
    bytes: &'a mut [c_char],
    len: usize,
}

impl Sentence for TextBuffer<'_> {
    fn text(&mut self, text: &str) {
        for &byte in text.as_bytes() {
            if self.len + 1 >= self.bytes.len() {
                break;
            }
            // c_char is i8 or u8 by target: the byte's bits, either way.
            self.bytes[self.len] = byte as c_char;
            self.len += 1;
        }
    }

    /// Decimal digits by hand: `core::fmt` would add 3 KiB of code to a firmware image,
    /// and dividing a u64 by ten 0.9 KiB more (the library's 64-bit division): a digit
    /// counts the subtractions of its power of ten.
    fn number(&mut self, mut value: u64) {
        let mut started = false;
        for (place, &power) in POWERS_OF_TEN.iter().enumerate() {
            let mut digit = 0u8;
            while value >= power {
                value -= power;
                digit += 1;
            }
            started |= digit != 0 || place + 1 == POWERS_OF_TEN.len();
            if started {
                // One ASCII digit (`value` was below ten times `power`): the fallback cannot
                // happen.
                let digit = [b'0' + digit];
                self.text(core::str::from_utf8(&digit).unwrap_or("?"));
            }
        }
    }
}

fn resource_code(resource: Resource) -> u32 {
    match resource {
        Resource::MemtableEntries => KAUSAL_RESOURCE_MEMTABLE_ENTRIES,
        Resource::MemtableEdges => KAUSAL_RESOURCE_MEMTABLE_EDGES,
        Resource::MemtableArenaBytes => KAUSAL_RESOURCE_MEMTABLE_ARENA_BYTES,
        Resource::WalSegments => KAUSAL_RESOURCE_WAL_SEGMENTS,
        Resource::TableMemory => KAUSAL_RESOURCE_TABLE_MEMORY,
        Resource::Tables => KAUSAL_RESOURCE_TABLES,
        Resource::RecordBytes => KAUSAL_RESOURCE_RECORD_BYTES,
    }
}

fn corruption_code(kind: CorruptionKind) -> u32 {
    match kind {
        CorruptionKind::WalFrame => KAUSAL_CORRUPTION_WAL_FRAME,
        CorruptionKind::WalSegmentHeader => KAUSAL_CORRUPTION_WAL_SEGMENT_HEADER,
        CorruptionKind::WalSegmentGap => KAUSAL_CORRUPTION_WAL_SEGMENT_GAP,
        CorruptionKind::WalTail => KAUSAL_CORRUPTION_WAL_TAIL,
        CorruptionKind::DirectoryListing => KAUSAL_CORRUPTION_DIRECTORY_LISTING,
        CorruptionKind::Table => KAUSAL_CORRUPTION_TABLE,
        CorruptionKind::Manifest => KAUSAL_CORRUPTION_MANIFEST,
    }
}

/// Fills the fields the engine's error carries.
fn fill_from_error(detail: &mut kausal_error_detail, error: &Error) {
    match *error {
        Error::ConfigInvalid { field } | Error::QueryInvalid { field } => {
            TextBuffer { bytes: &mut detail.field, len: 0 }.text(field.as_str());
        }
        // The region's length is the open's to add (`open_status`).
        Error::RegionTooSmall { bytes_required } => detail.limit = bytes_required as u64,
        // The limit is the handle's config's to add (`fill_limit`).
        Error::SourceUriTooLong { bytes }
        | Error::MetadataTooLong { bytes }
        | Error::ContentTooLong { bytes } => detail.value = bytes as u64,
        Error::MetadataInvalid { offset } => detail.value = offset as u64,
        Error::EdgeTypeUnknown { code } => detail.value = u64::from(code),
        Error::BufferTooSmall { needed } => detail.value = needed as u64,
        Error::MemtableFull { resource } | Error::RecoveryCapacity { resource } => {
            detail.resource = resource_code(resource);
        }
        Error::Corruption { kind } => detail.corruption = corruption_code(kind),
        Error::Locked { pid } | Error::Io(VfsError::Locked { pid }) => detail.pid = pid,
        Error::Io(VfsError::Io { code }) => detail.os_error = code,
        _ => {}
    }
}

/// The limit a `*_TOO_LONG` `error` broke, from the handle's `config` (the error carries
/// the length given only).
pub(crate) fn fill_limit(detail: &mut kausal_error_detail, error: Option<Error>, config: &Config) {
    detail.limit = u64::from(match error {
        Some(Error::SourceUriTooLong { .. }) => config.source_uri_bytes_max,
        Some(Error::MetadataTooLong { .. }) => config.metadata_bytes_max,
        Some(Error::ContentTooLong { .. }) => config.content_bytes_max,
        _ => return,
    });
}

/// The detail of `failure`, with the storage call that failed during it (if any).
pub(crate) fn detail_of(
    failure: &Failure,
    storage: Option<&StorageFailure>,
) -> kausal_error_detail {
    let mut detail = kausal_error_detail {
        struct_size: KAUSAL_ERROR_DETAIL_SIZE_V1,
        status: failure.status,
        os_error: 0,
        resource: KAUSAL_RESOURCE_NONE,
        corruption: KAUSAL_CORRUPTION_NONE,
        pid: 0,
        value: 0,
        limit: 0,
        operation: core::ptr::null(),
        field: [0; KAUSAL_ERROR_FIELD_BYTES],
        file: [0; KAUSAL_ERROR_FILE_BYTES],
        message: [0; KAUSAL_ERROR_MESSAGE_BYTES],
    };
    if let Some(error) = &failure.error {
        fill_from_error(&mut detail, error);
    }
    let mut message = TextBuffer { bytes: &mut detail.message, len: 0 };
    match &failure.error {
        Some(error) => error.describe(&mut message),
        None => message.text(before_nul(status_text(failure.status as i32).1)),
    }
    if let Some(storage) = storage.filter(|_| failure.status != kausal_status::KAUSAL_OK) {
        detail.operation = storage.operation.as_ptr().cast();
        if let VfsError::Io { code } = storage.error {
            detail.os_error = code;
        }
        TextBuffer { bytes: &mut detail.file, len: 0 }.text(&storage.file);
        message.text(" (during ");
        message.text(before_nul(storage.operation));
        if !storage.file.is_empty() {
            message.text(" of ");
            message.text(&storage.file);
        }
        message.text(")");
    }
    detail
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The C message is the error's `Display` sentence, numbers included, written without
    /// `core::fmt`.
    #[test]
    fn the_message_is_the_display_sentence() {
        let errors = [
            Error::RegionTooSmall { bytes_required: usize::MAX },
            Error::ContentTooLong { bytes: 4097 },
            Error::MetadataInvalid { offset: 10 },
            Error::MetadataInvalid { offset: 0 },
            Error::EdgeTypeUnknown { code: 0x7f01 },
            Error::Io(VfsError::Io { code: -1 }),
            Error::Locked { pid: 1_000_000_007 },
            Error::Corruption { kind: CorruptionKind::Table },
        ];
        for error in errors {
            let detail = detail_of(&Failure::from(error), None);
            let length = detail.message.iter().position(|&byte| byte == 0).unwrap();
            let message: Vec<u8> =
                detail.message[..length].iter().map(|&byte| byte as u8).collect();
            assert_eq!(String::from_utf8(message).unwrap(), error.to_string());
        }
    }
}
