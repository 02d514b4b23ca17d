//! Byte-level encoding shared by every on-disk format (WAL, tables, manifest) besides the
//! CRC32C (`crc32c`): little-endian readers at fixed offsets, and checked narrowing of
//! integers. A leaf: it imports nothing of the engine (`id::id_at` reads an id the same way).

/// The little-endian u32 at `bytes[at..at + 4]`. Callers have checked the length (a record's
/// fixed part, a header): the slicing asserts it.
pub(crate) fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(word)
}

/// The little-endian u64 at `bytes[at..at + 8]` (length checked by the caller, as `u32_at`).
pub(crate) fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

/// `value` as a u32, for lengths, counts and indexes the config bounds far below
/// `u32::MAX` (every limit is a u32 field, validated). A larger value is a bug: debug builds
/// assert; release builds saturate, so a caller's bounds check fails instead of a wrapped
/// value passing one.
pub(crate) fn narrow_u32(value: usize) -> u32 {
    debug_assert!(u32::try_from(value).is_ok(), "{value} does not fit in a u32");
    u32::try_from(value).unwrap_or(u32::MAX)
}

/// `value` as a usize, for file offsets and lengths that index memory (a window of a read
/// buffer, a count bounded by one): they fit on every target, 32-bit included. A larger value
/// is a bug: debug builds assert; release builds saturate (then fail the caller's bounds
/// check) instead of truncating.
pub(crate) fn narrow_usize(value: u64) -> usize {
    debug_assert!(usize::try_from(value).is_ok(), "{value} does not fit in a usize");
    usize::try_from(value).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_are_little_endian_and_narrowing_saturates_in_release() {
        let bytes = [1u8, 2, 3, 4, 5, 6, 7, 8, 9];
        assert_eq!(u32_at(&bytes, 1), 0x0504_0302);
        assert_eq!(u64_at(&bytes, 1), 0x0908_0706_0504_0302);
        assert_eq!(narrow_u32(7), 7);
        assert_eq!(narrow_usize(7), 7);
    }
}
