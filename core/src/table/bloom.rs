//! Bloom filters over block ids, stored in the table file and held in the region: a miss
//! in a table costs a few bit tests instead of a disk read.

use crate::id::BlockId;

/// Hash functions per key for `bits_per_key` bits (k = bits * ln 2, at least 1, at most 16).
pub(crate) fn hash_count(bits_per_key: u32) -> u32 {
    (bits_per_key * 69 / 100).clamp(1, 16)
}

/// Bytes of filter for `keys` keys at `bits_per_key` (at least 8).
pub(crate) fn filter_bytes(keys: u64, bits_per_key: u32) -> usize {
    let bits = keys.saturating_mul(u64::from(bits_per_key)).max(64);
    bits.div_ceil(8) as usize
}

/// The bit positions of `id`: double hashing over the id's two 64-bit halves.
fn probes(id: &BlockId, bits: u64, hashes: u32) -> impl Iterator<Item = u64> {
    let mixed = id.hash64();
    let step = mixed.rotate_right(21) | 1;
    (0..u64::from(hashes)).map(move |index| mixed.wrapping_add(index.wrapping_mul(step)) % bits)
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
    probes(id, bits, hashes).all(|bit| filter[(bit / 8) as usize] & (1 << (bit % 8)) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

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
