//! Numbered file names: a prefix, the number as 16 lowercase hex digits, a suffix
//! (`wal-000000000000002a.log`, `table-000000000000002a.kdb`).

/// Writes `prefix`, the 16 hex digits of `number` and `suffix` into `buffer` (exactly
/// their combined length) and returns it as text.
pub(crate) fn numbered_name<'b>(
    prefix: &[u8],
    number: u64,
    suffix: &[u8],
    buffer: &'b mut [u8],
) -> &'b str {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    debug_assert_eq!(buffer.len(), prefix.len() + 16 + suffix.len());
    buffer[..prefix.len()].copy_from_slice(prefix);
    for index in 0..16 {
        let nibble = (number >> (60 - 4 * index)) & 0xf;
        buffer[prefix.len() + index] = DIGITS[nibble as usize];
    }
    buffer[prefix.len() + 16..].copy_from_slice(suffix);
    // Only ASCII was written.
    core::str::from_utf8(buffer).unwrap_or("")
}

/// The number in a name of that shape, or `None` for any other name.
pub(crate) fn parse_numbered_name(name: &[u8], prefix: &[u8], suffix: &[u8]) -> Option<u64> {
    if name.len() != prefix.len() + 16 + suffix.len()
        || !name.starts_with(prefix)
        || !name.ends_with(suffix)
    {
        return None;
    }
    let mut number = 0u64;
    for &digit in &name[prefix.len()..prefix.len() + 16] {
        let value = match digit {
            b'0'..=b'9' => digit - b'0',
            b'a'..=b'f' => digit - b'a' + 10,
            _ => return None,
        };
        number = number << 4 | u64::from(value);
    }
    Some(number)
}
