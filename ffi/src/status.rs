//! Status codes: one per error the engine or this layer can report. Codes are never
//! reused; a new error gets a new number.

use kausaldb_core::{Error, VfsError};

/// The result of every fallible call. `KAUSAL_OK` is 0; every other value is an error.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum kausal_status {
    /// Success.
    KAUSAL_OK = 0,
    /// A required pointer argument was NULL (or a buffer pointer was NULL with a non-zero length).
    KAUSAL_ERROR_NULL_ARGUMENT = 1,
    /// A `kausal_config` field is out of range; `kausal_config_check` names it.
    KAUSAL_ERROR_CONFIG_INVALID = 2,
    /// The region is smaller than `kausal_memory_required`.
    KAUSAL_ERROR_REGION_TOO_SMALL = 3,
    /// A block id was all zero bytes.
    KAUSAL_ERROR_ID_ZERO = 4,
    /// Text given as a hex id is not exactly 32 hex digits.
    KAUSAL_ERROR_ID_HEX_INVALID = 5,
    /// The source URI is longer than the config allows.
    KAUSAL_ERROR_SOURCE_URI_TOO_LONG = 6,
    /// The source URI is not valid UTF-8.
    KAUSAL_ERROR_SOURCE_URI_NOT_UTF8 = 7,
    /// The metadata is longer than the config allows.
    KAUSAL_ERROR_METADATA_TOO_LONG = 8,
    /// The metadata is not one JSON object.
    KAUSAL_ERROR_METADATA_INVALID = 9,
    /// The content is longer than the config allows.
    KAUSAL_ERROR_CONTENT_TOO_LONG = 10,
    /// An edge type code is neither built in (1..=11) nor host-defined (0x8000..=0xFFFF).
    KAUSAL_ERROR_EDGE_TYPE_UNKNOWN = 11,
    /// The block or edge does not exist (for put_edge: an endpoint does not).
    KAUSAL_ERROR_NOT_FOUND = 12,
    /// Back-pressure: the in-memory table is full; nothing was written.
    KAUSAL_ERROR_MEMTABLE_FULL = 13,
    /// The write-ahead log has its maximum number of segments. Not returned by this version
    /// (a write that finds the log full flushes first); the code stays reserved.
    KAUSAL_ERROR_WAL_FULL = 14,
    /// An output buffer is too small; the count it needs was written to the count output.
    KAUSAL_ERROR_BUFFER_TOO_SMALL = 15,
    /// The storage backend failed.
    KAUSAL_ERROR_IO = 16,
    /// An earlier log write or sync failed; writes are refused until the store is reopened.
    KAUSAL_ERROR_POISONED = 17,
    /// Stored bytes are damaged (strict recovery), or records contradict each other.
    KAUSAL_ERROR_CORRUPTION = 18,
    /// The store was written with larger limits than this config; reopen with larger ones.
    KAUSAL_ERROR_RECOVERY_CAPACITY = 19,
    /// A `struct_size` field is smaller than the first version of that struct.
    KAUSAL_ERROR_STRUCT_SIZE = 20,
    /// The handle is not an open store (never opened, or already closed).
    KAUSAL_ERROR_HANDLE_INVALID = 21,
    /// An enumerated argument (direction, filter mode, policy) has an unknown value.
    KAUSAL_ERROR_ARGUMENT_INVALID = 22,
    /// The storage device is full.
    KAUSAL_ERROR_NO_SPACE = 23,
    /// The store directory (or a file the engine expected) does not exist.
    KAUSAL_ERROR_PATH_NOT_FOUND = 24,
    /// A query argument (depth, result count, start count, filter) is out of range.
    KAUSAL_ERROR_QUERY_INVALID = 25,
    /// Another process has the store open (the store directory's lock is held).
    KAUSAL_ERROR_LOCKED = 26,
    /// The call needs a part this build of the library leaves out: `kausal_open_dir` in a
    /// build without the POSIX backend (bare-metal targets; use `kausal_open_vfs`).
    KAUSAL_ERROR_UNSUPPORTED = 27,
}

use kausal_status::*;

impl From<VfsError> for kausal_status {
    fn from(error: VfsError) -> Self {
        match error {
            VfsError::NotFound => KAUSAL_ERROR_PATH_NOT_FOUND,
            VfsError::NoSpace => KAUSAL_ERROR_NO_SPACE,
            VfsError::BufferTooSmall { .. } => KAUSAL_ERROR_BUFFER_TOO_SMALL,
            VfsError::AlreadyExists
            | VfsError::NameInvalid
            | VfsError::HandleInvalid
            | VfsError::Io { .. } => KAUSAL_ERROR_IO,
            VfsError::Locked { .. } => KAUSAL_ERROR_LOCKED,
        }
    }
}

impl From<Error> for kausal_status {
    fn from(error: Error) -> Self {
        match error {
            Error::ConfigInvalid { .. } => KAUSAL_ERROR_CONFIG_INVALID,
            Error::RegionTooSmall { .. } => KAUSAL_ERROR_REGION_TOO_SMALL,
            Error::IdZero => KAUSAL_ERROR_ID_ZERO,
            Error::IdHexInvalid => KAUSAL_ERROR_ID_HEX_INVALID,
            Error::SourceUriTooLong { .. } => KAUSAL_ERROR_SOURCE_URI_TOO_LONG,
            Error::SourceUriNotUtf8 => KAUSAL_ERROR_SOURCE_URI_NOT_UTF8,
            Error::MetadataTooLong { .. } => KAUSAL_ERROR_METADATA_TOO_LONG,
            Error::MetadataInvalid { .. } => KAUSAL_ERROR_METADATA_INVALID,
            Error::ContentTooLong { .. } => KAUSAL_ERROR_CONTENT_TOO_LONG,
            Error::EdgeTypeUnknown { .. } => KAUSAL_ERROR_EDGE_TYPE_UNKNOWN,
            Error::NotFound => KAUSAL_ERROR_NOT_FOUND,
            Error::MemtableFull { .. } => KAUSAL_ERROR_MEMTABLE_FULL,
            Error::WalFull => KAUSAL_ERROR_WAL_FULL,
            Error::BufferTooSmall { .. } => KAUSAL_ERROR_BUFFER_TOO_SMALL,
            Error::Io(error) => error.into(),
            Error::Poisoned => KAUSAL_ERROR_POISONED,
            Error::Corruption { .. } => KAUSAL_ERROR_CORRUPTION,
            Error::RecoveryCapacity { .. } => KAUSAL_ERROR_RECOVERY_CAPACITY,
            Error::QueryInvalid { .. } => KAUSAL_ERROR_QUERY_INVALID,
            Error::Locked { .. } => KAUSAL_ERROR_LOCKED,
        }
    }
}

/// Every status with its name and a one-line description, indexed by code.
const STATUS_TEXT: [(&str, &str); 28] = [
    ("KAUSAL_OK\0", "success\0"),
    ("KAUSAL_ERROR_NULL_ARGUMENT\0", "a required pointer argument was NULL\0"),
    ("KAUSAL_ERROR_CONFIG_INVALID\0", "a config field is out of range\0"),
    ("KAUSAL_ERROR_REGION_TOO_SMALL\0", "the region is smaller than kausal_memory_required\0"),
    ("KAUSAL_ERROR_ID_ZERO\0", "the all-zero block id is invalid\0"),
    ("KAUSAL_ERROR_ID_HEX_INVALID\0", "a hex id must be exactly 32 hex digits\0"),
    ("KAUSAL_ERROR_SOURCE_URI_TOO_LONG\0", "the source URI is longer than the config allows\0"),
    ("KAUSAL_ERROR_SOURCE_URI_NOT_UTF8\0", "the source URI is not valid UTF-8\0"),
    ("KAUSAL_ERROR_METADATA_TOO_LONG\0", "the metadata is longer than the config allows\0"),
    ("KAUSAL_ERROR_METADATA_INVALID\0", "the metadata is not one JSON object\0"),
    ("KAUSAL_ERROR_CONTENT_TOO_LONG\0", "the content is longer than the config allows\0"),
    ("KAUSAL_ERROR_EDGE_TYPE_UNKNOWN\0", "unknown edge type code\0"),
    ("KAUSAL_ERROR_NOT_FOUND\0", "no such block or edge\0"),
    ("KAUSAL_ERROR_MEMTABLE_FULL\0", "the in-memory table is full (back-pressure)\0"),
    ("KAUSAL_ERROR_WAL_FULL\0", "the write-ahead log is full (back-pressure)\0"),
    ("KAUSAL_ERROR_BUFFER_TOO_SMALL\0", "an output buffer is too small\0"),
    ("KAUSAL_ERROR_IO\0", "the storage backend failed\0"),
    ("KAUSAL_ERROR_POISONED\0", "a log write failed earlier; reopen the store\0"),
    ("KAUSAL_ERROR_CORRUPTION\0", "stored bytes are damaged\0"),
    ("KAUSAL_ERROR_RECOVERY_CAPACITY\0", "the store needs larger limits than this config\0"),
    ("KAUSAL_ERROR_STRUCT_SIZE\0", "a struct_size field is too small\0"),
    ("KAUSAL_ERROR_HANDLE_INVALID\0", "the handle is not an open store\0"),
    ("KAUSAL_ERROR_ARGUMENT_INVALID\0", "an enumerated argument has an unknown value\0"),
    ("KAUSAL_ERROR_NO_SPACE\0", "the storage device is full\0"),
    ("KAUSAL_ERROR_PATH_NOT_FOUND\0", "the store directory does not exist\0"),
    ("KAUSAL_ERROR_QUERY_INVALID\0", "a query argument is out of range\0"),
    ("KAUSAL_ERROR_LOCKED\0", "another process has the store open\0"),
    ("KAUSAL_ERROR_UNSUPPORTED\0", "this build of the library leaves that call out\0"),
];

const UNKNOWN: (&str, &str) = ("KAUSAL_STATUS_UNKNOWN\0", "unknown status code\0");

/// The name and description of a raw status code (NUL-terminated).
pub(crate) fn status_text(code: i32) -> (&'static str, &'static str) {
    usize::try_from(code).ok().and_then(|index| STATUS_TEXT.get(index)).copied().unwrap_or(UNKNOWN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_its_own_name_in_order() {
        let statuses = [
            KAUSAL_OK,
            KAUSAL_ERROR_NULL_ARGUMENT,
            KAUSAL_ERROR_CONFIG_INVALID,
            KAUSAL_ERROR_REGION_TOO_SMALL,
            KAUSAL_ERROR_ID_ZERO,
            KAUSAL_ERROR_ID_HEX_INVALID,
            KAUSAL_ERROR_SOURCE_URI_TOO_LONG,
            KAUSAL_ERROR_SOURCE_URI_NOT_UTF8,
            KAUSAL_ERROR_METADATA_TOO_LONG,
            KAUSAL_ERROR_METADATA_INVALID,
            KAUSAL_ERROR_CONTENT_TOO_LONG,
            KAUSAL_ERROR_EDGE_TYPE_UNKNOWN,
            KAUSAL_ERROR_NOT_FOUND,
            KAUSAL_ERROR_MEMTABLE_FULL,
            KAUSAL_ERROR_WAL_FULL,
            KAUSAL_ERROR_BUFFER_TOO_SMALL,
            KAUSAL_ERROR_IO,
            KAUSAL_ERROR_POISONED,
            KAUSAL_ERROR_CORRUPTION,
            KAUSAL_ERROR_RECOVERY_CAPACITY,
            KAUSAL_ERROR_STRUCT_SIZE,
            KAUSAL_ERROR_HANDLE_INVALID,
            KAUSAL_ERROR_ARGUMENT_INVALID,
            KAUSAL_ERROR_NO_SPACE,
            KAUSAL_ERROR_PATH_NOT_FOUND,
            KAUSAL_ERROR_QUERY_INVALID,
            KAUSAL_ERROR_LOCKED,
            KAUSAL_ERROR_UNSUPPORTED,
        ];
        assert_eq!(statuses.len(), STATUS_TEXT.len());
        for (index, status) in statuses.into_iter().enumerate() {
            assert_eq!(status as usize, index, "codes are dense and in order");
            let (name, _) = status_text(status as i32);
            assert_eq!(name.trim_end_matches('\0'), format!("{status:?}"));
        }
        for (index, (name, text)) in STATUS_TEXT.iter().enumerate() {
            assert!(name.ends_with('\0') && text.ends_with('\0'), "{index}");
        }
        assert_eq!(status_text(-1), UNKNOWN);
        assert_eq!(status_text(STATUS_TEXT.len() as i32), UNKNOWN);
    }
}
