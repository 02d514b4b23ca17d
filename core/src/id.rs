//! Block ids: 16 raw bytes, all-zero invalid, a 32-character lowercase hex form, and a
//! deterministic derivation from a namespace and a name.

use crate::error::Error;

/// Bytes in a `BlockId`.
pub const ID_BYTES: usize = 16;
/// Characters in the hex form of a `BlockId`.
pub const ID_HEX_BYTES: usize = 32;

/// The identity of a context block. All-zero is invalid and rejected by every write.
/// Laid out as its 16 bytes (`repr(transparent)`), so the C API reads a caller's array of
/// ids in place.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[repr(transparent)]
pub struct BlockId(pub [u8; ID_BYTES]);

impl BlockId {
    /// The all-zero id, which no block may have.
    pub const ZERO: BlockId = BlockId([0; ID_BYTES]);

    /// True for the all-zero id.
    pub fn is_zero(&self) -> bool {
        self.0 == [0; ID_BYTES]
    }

    /// The id with the given big-endian numeric value (handy for tests and hosts that
    /// number their symbols).
    pub const fn from_u128(value: u128) -> BlockId {
        BlockId(value.to_be_bytes())
    }

    /// The id's big-endian numeric value.
    pub const fn to_u128(self) -> u128 {
        u128::from_be_bytes(self.0)
    }

    /// Derives the id of `name` within `namespace`, so ingesting the same symbol twice
    /// yields the same id.
    ///
    /// Definition (stable, part of the format): XXH3-128 with seed 0 over
    /// `"kausal.id.v1" || u32_le(namespace.len()) || namespace || name`, the 128-bit result
    /// written big-endian. Should that be all zero, the id is 1 instead.
    ///
    /// ```
    /// use kausaldb_core::BlockId;
    /// let id = BlockId::derive(b"github.com/acme/app", b"src/main.rs:main");
    /// assert_eq!(id, BlockId::derive(b"github.com/acme/app", b"src/main.rs:main"));
    /// assert_ne!(id, BlockId::derive(b"github.com/acme/lib", b"src/main.rs:main"));
    /// assert!(!id.is_zero());
    /// ```
    pub fn derive(namespace: &[u8], name: &[u8]) -> BlockId {
        // A namespace longer than u32::MAX bytes is impossible in practice; saturating keeps
        // the function total.
        let namespace_len = u32::try_from(namespace.len()).unwrap_or(u32::MAX).to_le_bytes();
        let parts: [&[u8]; 4] = [b"kausal.id.v1", &namespace_len, namespace, name];
        let value = hash128(&parts);
        let id = BlockId::from_u128(if value == 0 { 1 } else { value });
        debug_assert!(!id.is_zero());
        id
    }

    /// Writes the 32 lowercase hex characters of the id into `out`.
    pub fn to_hex(&self, out: &mut [u8]) -> Result<(), Error> {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let out =
            out.get_mut(..ID_HEX_BYTES).ok_or(Error::BufferTooSmall { needed: ID_HEX_BYTES })?;
        for (pair, byte) in out.chunks_exact_mut(2).zip(self.0.iter()) {
            pair[0] = DIGITS[usize::from(byte >> 4)];
            pair[1] = DIGITS[usize::from(byte & 0x0f)];
        }
        Ok(())
    }

    /// Parses exactly 32 hex characters (either case). The zero id parses; writes reject it.
    pub fn from_hex(text: &[u8]) -> Result<BlockId, Error> {
        if text.len() != ID_HEX_BYTES {
            return Err(Error::IdHexInvalid);
        }
        let mut bytes = [0u8; ID_BYTES];
        for (byte, pair) in bytes.iter_mut().zip(text.chunks_exact(2)) {
            let high = hex_digit_value(pair[0]).ok_or(Error::IdHexInvalid)?;
            let low = hex_digit_value(pair[1]).ok_or(Error::IdHexInvalid)?;
            *byte = (high << 4) | low;
        }
        Ok(BlockId(bytes))
    }

    /// A well-mixed 64-bit hash of the id for the memtable's open-addressing index. Ids may
    /// be sequential numbers, so the halves are folded and multiplied (Fibonacci hashing).
    pub(crate) fn hash64(&self) -> u64 {
        let mut high = [0u8; 8];
        let mut low = [0u8; 8];
        high.copy_from_slice(&self.0[..8]);
        low.copy_from_slice(&self.0[8..]);
        let folded = u64::from_le_bytes(low) ^ u64::from_le_bytes(high).rotate_left(29);
        (folded ^ (folded >> 31)).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }
}

fn hex_digit_value(character: u8) -> Option<u8> {
    match character {
        b'0'..=b'9' => Some(character - b'0'),
        b'a'..=b'f' => Some(character - b'a' + 10),
        b'A'..=b'F' => Some(character - b'A' + 10),
        _ => None,
    }
}

impl core::fmt::Debug for BlockId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut hex = [0u8; ID_HEX_BYTES];
        // The buffer is exactly ID_HEX_BYTES long, so to_hex cannot fail.
        let _ = self.to_hex(&mut hex);
        let text = core::str::from_utf8(&hex).unwrap_or("?");
        write!(f, "BlockId({text})")
    }
}

/// The block id at `bytes[at..at + 16]`, as every format stores it. Callers have checked the
/// length (a record's fixed part): the slicing asserts it.
#[cfg_attr(not(feature = "small-code"), inline)]
pub(crate) fn id_at(bytes: &[u8], at: usize) -> BlockId {
    let mut id = [0u8; ID_BYTES];
    id.copy_from_slice(&bytes[at..at + ID_BYTES]);
    BlockId(id)
}

/// XXH3-128 of `parts` joined: `xxhash-rust`'s streaming hasher, or under `small-code`
/// the engine's own compact one (the same value, a third of the code).
#[cfg(not(feature = "small-code"))]
fn hash128(parts: &[&[u8]]) -> u128 {
    let mut hasher = xxhash_rust::xxh3::Xxh3Default::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.digest128()
}

#[cfg(feature = "small-code")]
fn hash128(parts: &[&[u8]]) -> u128 {
    crate::xxh3::hash128(&crate::xxh3::Parts::new(parts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_rejects_bad_text() {
        let id = BlockId::from_u128(0x0123_4567_89ab_cdef_fedc_ba98_7654_3210);
        let mut hex = [0u8; ID_HEX_BYTES];
        id.to_hex(&mut hex).unwrap();
        assert_eq!(&hex, b"0123456789abcdeffedcba9876543210");
        assert_eq!(BlockId::from_hex(&hex).unwrap(), id);
        assert_eq!(BlockId::from_hex(b"0123456789ABCDEFFEDCBA9876543210").unwrap(), id);
        assert_eq!(BlockId::from_hex(&hex[..31]), Err(Error::IdHexInvalid));
        let mut bad = hex;
        bad[5] = b'g';
        assert_eq!(BlockId::from_hex(&bad), Err(Error::IdHexInvalid));
        assert_eq!(id.to_hex(&mut [0u8; 31]), Err(Error::BufferTooSmall { needed: 32 }));
    }

    #[test]
    fn derive_is_deterministic_and_separates_namespaces() {
        let a = BlockId::derive(b"repo", b"main");
        assert_eq!(a, BlockId::derive(b"repo", b"main"));
        assert_ne!(a, BlockId::derive(b"repo", b"main2"));
        // The length prefix keeps ("ab", "c") apart from ("a", "bc").
        assert_ne!(BlockId::derive(b"ab", b"c"), BlockId::derive(b"a", b"bc"));
        assert!(!a.is_zero());
    }

    #[test]
    fn derive_matches_the_documented_definition() {
        let mut input = [0u8; 64];
        let mut len = 0;
        for part in [&b"kausal.id.v1"[..], &4u32.to_le_bytes(), b"repo", b"main"] {
            input[len..len + part.len()].copy_from_slice(part);
            len += part.len();
        }
        let expected = xxhash_rust::xxh3::xxh3_128(&input[..len]);
        assert_eq!(BlockId::derive(b"repo", b"main").to_u128(), expected);
    }
}
