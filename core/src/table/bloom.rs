//! Bloom filters over block ids, stored in the table file and held in the region: a miss
//! in a table costs a few bit tests instead of a disk read.

use crate::codec::narrow_usize;
use crate::id::BlockId;

/// Hash functions per key for `bits_per_key` bits (k = bits * ln 2, at least 1, at most 16).
pub(crate) fn hash_count(bits_per_key: u32) -> u32 {
    (bits_per_key * 69 / 100).clamp(1, 16)
}

/// Bytes of filter for `keys` keys at `bits_per_key`: a power of two, at least 8, so a
/// filter can be folded in half (see `fold`).
pub(crate) fn filter_bytes(keys: u64, bits_per_key: u32) -> usize {
    let bits = keys.saturating_mul(u64::from(bits_per_key)).max(64);
    narrow_usize(bits.div_ceil(8)).next_power_of_two()
}

/// Halves a filter in place: bit `b` of the result is bit `b` or bit `b + half` of the
/// input. Positions are taken modulo a power of two, so the result is exactly the filter
/// of the same keys at half the size. Returns the new length.
pub(crate) fn fold(filter: &mut [u8]) -> usize {
    let half = filter.len() / 2;
    debug_assert!(filter.len().is_power_of_two() && half >= 8);
    let (low, high) = filter.split_at_mut(half);
    for (byte, other) in low.iter_mut().zip(high.iter()) {
        *byte |= *other;
    }
    half
}

/// The bit positions of `id`: double hashing. The id hash goes through MurmurHash3's
/// 64-bit finalizer so that its low bits (all a power-of-two modulus keeps) are well mixed;
/// the step is odd, so the probes of one key are distinct.
fn probes(id: &BlockId, bits: u64, hashes: u32) -> impl Iterator<Item = u64> {
    let mut mixed = id.hash64();
    mixed ^= mixed >> 33;
    mixed = mixed.wrapping_mul(0xff51_afd7_ed55_8ccd);
    mixed ^= mixed >> 33;
    mixed = mixed.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    mixed ^= mixed >> 33;
    let step = (mixed >> 32) | 1;
    // Filters are a power of two bits long (`filter_bytes`, `fold`, and checked at open),
    // so the modulus is a mask.
    debug_assert!(bits.is_power_of_two());
    let mask = bits.wrapping_sub(1);
    (0..u64::from(hashes)).map(move |index| mixed.wrapping_add(index.wrapping_mul(step)) & mask)
}

pub(crate) fn insert(filter: &mut [u8], hashes: u32, id: &BlockId) {
    let bits = filter.len() as u64 * 8;
    for bit in probes(id, bits, hashes) {
        filter[(bit / 8) as usize] |= 1 << (bit % 8);
    }
}

/// False means `id` is certainly not in the set.
pub(crate) fn may_contain(filter: &[u8], hashes: u32, id: &BlockId) -> bool {
    let bits = filter.len() as u64 * 8;
    if bits == 0 {
        return true;
    }
    // Every probe is loaded, without an early exit: a negative answer's first clear bit is
    // a coin toss, and the mispredicted branch costs more than the loads, which overlap.
    probes(id, bits, hashes)
        .fold(true, |all_set, bit| all_set & (filter[(bit / 8) as usize] & (1 << (bit % 8)) != 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folded_filter_equals_the_filter_built_at_half_size() {
        let hashes = hash_count(10);
        let mut big = std::vec![0u8; 512];
        let mut small = std::vec![0u8; 256];
        for value in 1..=100u128 {
            insert(&mut big, hashes, &BlockId::from_u128(value));
            insert(&mut small, hashes, &BlockId::from_u128(value));
        }
        assert_eq!(fold(&mut big), 256);
        assert_eq!(&big[..256], &small[..]);
    }

    #[test]
    fn no_false_negatives_and_few_false_positives() {
        let keys = 2000u64;
        let mut filter = std::vec![0u8; filter_bytes(keys, 10)];
        let hashes = hash_count(10);
        for value in 0..keys {
            insert(&mut filter, hashes, &BlockId::from_u128(u128::from(value) + 1));
        }
        for value in 0..keys {
            assert!(may_contain(&filter, hashes, &BlockId::from_u128(u128::from(value) + 1)));
        }
        let false_positives = (keys..keys * 11)
            .filter(|&value| {
                may_contain(&filter, hashes, &BlockId::from_u128(u128::from(value) + 1))
            })
            .count();
        // 10 bits per key gives about 1%; allow 3% over 20,000 probes.
        assert!(false_positives < 600, "{false_positives}");
    }
}
