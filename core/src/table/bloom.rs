//! Bloom filters over block ids, stored in the table file and held in the region: a miss
//! in a table costs a few bit tests instead of a disk read. One filter per table holds its
//! block ids, its outgoing edges' sources and (tagged, from table version 4) its incoming
//! edges' targets, so a point read and both edge listings skip the tables that cannot
//! answer.
//!
//! From table version 6 a key's bits all lie in one 64-byte block of the filter (a cache
//! line), the block chosen by the key (a blocked bloom filter): a question costs one cache
//! miss, not one per bit. Every edge listing asks the filter of each table holding edges;
//! with the 6 bits of 10 bits a key scattered over it, a listing had 18.5 L1 misses, blocked
//! 14.5 (`cargo xtask listing-cost`), and in a store larger than the caches each was a miss
//! to memory. The price is a higher false-positive rate at the same size, as blocks fill
//! unevenly: at 10 bits a key 1.09% instead of 0.84% (a million questions), at 16 bits
//! 0.23% instead of 0.05%; a false positive costs a page read.

use crate::codec::narrow_usize;
use crate::id::BlockId;

/// How a table's filter places a key's bits: the bloom page's count and the table's version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BloomShape {
    /// Bits set per key (the hash functions, k).
    pub(crate) hashes: u32,
    /// All of a key's bits in one `BLOCK_BITS` block (version 6 on), else anywhere.
    pub(crate) blocked: bool,
}

impl BloomShape {
    /// A filter of `hashes` bits a key, blocked: how a writer builds every filter.
    pub(crate) fn blocked(hashes: u32) -> BloomShape {
        BloomShape { hashes, blocked: true }
    }
}

/// Bits of a block of a blocked filter: a 64-byte cache line.
const BLOCK_BITS: u64 = 512;

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

/// What enters a filter for an incoming edge's key id (its target) is the id's hash with
/// these bits flipped, so "has incoming edges here" and "is a block or a source here" are
/// different keys: a table holding a block does not admit every incoming listing of it.
const INCOMING_TAG: u64 = 0x6b61_7573_616c_2d69;

/// The filter key of block ids and outgoing edges' key ids (sources).
fn key_of(id: &BlockId) -> u64 {
    id.hash64()
}

/// The filter key of incoming edges' key ids (targets).
fn incoming_key_of(id: &BlockId) -> u64 {
    id.hash64() ^ INCOMING_TAG
}

/// MurmurHash3's 64-bit finalizer.
fn fmix64(key: u64) -> u64 {
    let mut mixed = key;
    mixed ^= mixed >> 33;
    mixed = mixed.wrapping_mul(0xff51_afd7_ed55_8ccd);
    mixed ^= mixed >> 33;
    mixed = mixed.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    mixed ^= mixed >> 33;
    mixed
}

/// The bit positions of a key: double hashing. The key goes through MurmurHash3's 64-bit
/// finalizer so that its low bits (all a power-of-two modulus keeps) are well mixed; the
/// step is odd, so the probes of one key are distinct. Blocked: the high 32 bits choose the
/// block, the low 32 the bits in it (double hashing modulo `BLOCK_BITS`, the step from bits
/// 9..32). Either way a position is taken modulo the filter's bits, a power of two, so a
/// filter folded in half is the filter built at half the size (`fold`).
fn probes(key: u64, bits: u64, shape: BloomShape) -> impl Iterator<Item = u64> {
    let mixed = fmix64(key);
    // Filters are a power of two bits long (`filter_bytes`, `fold`, and checked at open),
    // so the modulus is a mask.
    debug_assert!(bits.is_power_of_two());
    let mask = bits.wrapping_sub(1);
    let (start, step, within) = if shape.blocked {
        let low = mixed & 0xFFFF_FFFF;
        ((mixed >> 32) * BLOCK_BITS, (low >> 9) | 1, (low, BLOCK_BITS - 1))
    } else {
        (0, (mixed >> 32) | 1, (mixed, u64::MAX))
    };
    let (first, within_mask) = within;
    (0..u64::from(shape.hashes)).map(move |index| {
        let offset = first.wrapping_add(index.wrapping_mul(step)) & within_mask;
        start.wrapping_add(offset) & mask
    })
}

fn insert_key(filter: &mut [u8], shape: BloomShape, key: u64) {
    let bits = filter.len() as u64 * 8;
    for bit in probes(key, bits, shape) {
        filter[(bit / 8) as usize] |= 1 << (bit % 8);
    }
}

fn may_contain_key(filter: &[u8], shape: BloomShape, key: u64) -> bool {
    let bits = filter.len() as u64 * 8;
    if bits == 0 {
        return true;
    }
    // `small-code`: through `probes` alone (84 bytes less code).
    if cfg!(not(feature = "small-code")) && shape.blocked && bits >= BLOCK_BITS {
        return block_holds_key(filter, shape.hashes, key);
    }
    // Every probe is loaded, without an early exit: a negative answer's first clear bit is
    // a coin toss, and the mispredicted branch costs more than the loads, which overlap.
    probes(key, bits, shape)
        .fold(true, |all_set, bit| all_set & (filter[(bit / 8) as usize] & (1 << (bit % 8)) != 0))
}

/// `may_contain_key` for a blocked filter of one block or more: the positions `probes`
/// gives, found as the key's block of the filter (one bounds check) and 9-bit offsets into
/// it. Through `probes`, each position masked and bounds-checked, a listing's question took
/// 11 instructions more (`cargo xtask listing-cost`).
#[expect(clippy::cast_possible_truncation, reason = "the offsets are the hash's low 32 bits")]
fn block_holds_key(filter: &[u8], hashes: u32, key: u64) -> bool {
    const BLOCK_BYTES: usize = (BLOCK_BITS / 8) as usize;
    let mixed = fmix64(key);
    // Filters are a power of two bytes long, at least a block here.
    debug_assert!(filter.len().is_power_of_two() && filter.len() >= BLOCK_BYTES);
    let blocks_mask = (filter.len() / BLOCK_BYTES - 1) as u64;
    let start = ((mixed >> 32) & blocks_mask) as usize * BLOCK_BYTES;
    let Some(block) = filter.get(start..start + BLOCK_BYTES) else {
        return true;
    };
    let low = mixed as u32;
    let step = (low >> 9) | 1;
    let mut offset = low;
    let mut all_set = true;
    for _ in 0..hashes {
        let bit = offset as usize % (BLOCK_BYTES * 8);
        all_set &= block.get(bit / 8).is_none_or(|byte| byte & (1 << (bit % 8)) != 0);
        offset = offset.wrapping_add(step);
    }
    all_set
}

/// Adds a block id or an outgoing edge's source.
pub(crate) fn insert(filter: &mut [u8], shape: BloomShape, id: &BlockId) {
    insert_key(filter, shape, key_of(id));
}

/// Adds an incoming edge's key id (its target).
pub(crate) fn insert_incoming(filter: &mut [u8], shape: BloomShape, id: &BlockId) {
    insert_key(filter, shape, incoming_key_of(id));
}

/// False means `id` is certainly neither a block nor a source of outgoing edges here.
pub(crate) fn may_contain(filter: &[u8], shape: BloomShape, id: &BlockId) -> bool {
    may_contain_key(filter, shape, key_of(id))
}

/// False means the table certainly holds no incoming edge of `id`.
pub(crate) fn may_contain_incoming(filter: &[u8], shape: BloomShape, id: &BlockId) -> bool {
    may_contain_key(filter, shape, incoming_key_of(id))
}

/// Clear bits the union must keep for `union_keys` to estimate from them: fewer, and the
/// union is too full to tell.
const UNION_CLEAR_BITS_MIN: u64 = 64;

/// An estimate of the distinct keys in the union of `filters` (all of one `shape`;
/// power-of-two sizes, as every table's): the filters folded to the smallest
/// one's size and OR-ed (a folded filter is exactly the filter of its keys at that size, so
/// the result is the union's), then the keys read back from the share of bits still clear,
/// about e^(-hashes * keys / bits). `None` if a filter is empty or the union is too full.
/// Why: a merge's filter is sized before its keys are known, and the sum of its inputs'
/// counts an id once per input holding it: inputs sharing their ids (versions of the same
/// blocks, edge tables over the same functions) reserved up to once per input the filter
/// their merge keeps.
pub(crate) fn union_keys<'f>(
    filters: impl Iterator<Item = &'f [u8]> + Clone,
    shape: BloomShape,
) -> Option<u64> {
    let hashes = shape.hashes;
    let bytes = filters.clone().map(<[u8]>::len).min()?;
    if bytes < 8 || !bytes.is_power_of_two() || hashes == 0 {
        return None;
    }
    let mut set_bits = 0u64;
    for word in (0..bytes).step_by(8) {
        let mut union = 0u64;
        for filter in filters.clone() {
            // Every byte of `filter` whose position modulo `bytes` is in this word.
            for chunk in (word..filter.len()).step_by(bytes) {
                let eight: [u8; 8] = filter.get(chunk..chunk + 8)?.try_into().ok()?;
                union |= u64::from_le_bytes(eight);
            }
        }
        set_bits += u64::from(union.count_ones());
    }
    let bits = bytes as u64 * 8;
    let clear = bits - set_bits;
    if clear < UNION_CLEAR_BITS_MIN {
        return None;
    }
    // keys = bits / hashes * ln(bits / clear), with ln x = log2 x * ln 2 (16-bit fractions).
    let log2_ratio = log2_fixed(bits) - log2_fixed(clear);
    let scaled = u128::from(bits) * u128::from(log2_ratio) * LN_2_FIXED;
    u64::try_from(scaled >> 32).ok().map(|keys| keys / u64::from(hashes))
}

/// ln 2 with 16 fractional bits.
const LN_2_FIXED: u128 = 45_426;

/// log2 of `value` (> 0) with 16 fractional bits: the integer part from the leading zeros,
/// the fraction bit by bit by squaring the mantissa.
fn log2_fixed(value: u64) -> u64 {
    debug_assert!(value > 0);
    let whole = 63 - u64::from(value.leading_zeros());
    // The mantissa in [1, 2) with 62 fractional bits.
    let mut mantissa = match whole {
        0..=62 => u128::from(value) << (62 - whole),
        _ => u128::from(value) >> (whole - 62),
    };
    let mut fraction = 0u64;
    for bit in (0..16).rev() {
        mantissa = (mantissa * mantissa) >> 62;
        if mantissa >= 2 << 62 {
            mantissa >>= 1;
            fraction |= 1 << bit;
        }
    }
    whole << 16 | fraction
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log2_fixed_is_within_a_fraction_step_of_the_real_log() {
        for value in (1..5000u64).chain([1 << 20, (1 << 33) + 12_345, u64::MAX]) {
            let expected = (value as f64).log2();
            let got = log2_fixed(value) as f64 / 65536.0;
            assert!((got - expected).abs() < 2.0 / 65536.0, "{value}: {got} vs {expected}");
        }
    }

    /// Both layouts: the one tables before version 6 have and the blocked one.
    fn shapes() -> [BloomShape; 2] {
        let hashes = hash_count(10);
        [BloomShape { hashes, blocked: false }, BloomShape::blocked(hashes)]
    }

    /// Filters of overlapping sets at different sizes: the estimate of their union is within
    /// 5% of its true size, whatever the overlap, and `None` once the folded union is full.
    #[test]
    fn the_union_of_filters_is_estimated_from_its_clear_bits() {
        // (keys in each filter, first key of each): overlaps from none to almost all.
        let sets: [(&[u64], &[u64]); 4] = [
            (&[1000, 1000, 1000, 1000], &[0, 1000, 2000, 3000]),
            (&[1000, 1000, 1000, 1000], &[0, 100, 200, 300]),
            (&[4000, 1000, 2000, 500], &[0, 3000, 1000, 3900]),
            (&[3000, 3000], &[0, 0]),
        ];
        for shape in shapes() {
            for (counts, starts) in sets {
                let mut filters = std::vec::Vec::new();
                let mut union = std::collections::BTreeSet::new();
                for (&count, &start) in counts.iter().zip(starts) {
                    let mut filter = std::vec![0u8; filter_bytes(count, 10)];
                    for value in start..start + count {
                        insert(&mut filter, shape, &BlockId::from_u128(u128::from(value) + 1));
                        union.insert(value);
                    }
                    filters.push(filter);
                }
                let views: std::vec::Vec<&[u8]> = filters.iter().map(|f| &f[..]).collect();
                let estimate = union_keys(views.iter().copied(), shape).unwrap() as f64;
                let truth = union.len() as f64;
                let error = (estimate - truth).abs();
                assert!(error < truth * 0.05, "{shape:?} {counts:?}: {estimate} vs {truth}");
            }
            let mut full = std::vec![0u8; 64];
            for value in 0..1000 {
                insert(&mut full, shape, &BlockId::from_u128(value + 1));
            }
            assert_eq!(union_keys([&full[..]].into_iter(), shape), None, "full: no answer");
            assert_eq!(union_keys(core::iter::empty(), shape), None);
        }
    }

    /// Folding is exact for both layouts, from filters of many blocks down to less than one.
    #[test]
    fn a_folded_filter_equals_the_filter_built_at_half_size() {
        for shape in shapes() {
            let mut big = std::vec![0u8; 512];
            for value in 1..=300u128 {
                insert(&mut big, shape, &BlockId::from_u128(value));
            }
            let mut bytes = big.len();
            while bytes > 8 {
                bytes = fold(&mut big[..bytes]);
                let mut small = std::vec![0u8; bytes];
                for value in 1..=300u128 {
                    insert(&mut small, shape, &BlockId::from_u128(value));
                }
                assert_eq!(&big[..bytes], &small[..], "{shape:?} at {bytes} bytes");
            }
        }
    }

    /// A blocked filter sets all of a key's bits in one 64-byte block (one cache line).
    #[test]
    fn a_blocked_filters_bits_of_a_key_share_one_block() {
        let shape = BloomShape::blocked(hash_count(10));
        let bits = 1u64 << 20;
        for value in 1..=1000u64 {
            let positions: std::vec::Vec<u64> = probes(value, bits, shape).collect();
            assert_eq!(positions.len(), shape.hashes as usize);
            let block = positions[0] / BLOCK_BITS;
            assert!(positions.iter().all(|bit| bit / BLOCK_BITS == block), "{positions:?}");
            let distinct: std::collections::BTreeSet<_> = positions.iter().collect();
            assert_eq!(distinct.len(), positions.len(), "{positions:?}");
        }
    }

    /// The blocked question's own path answers as the positions `probes` defines, on filters
    /// of one block to many, half full or less.
    #[test]
    fn a_blocked_filters_question_answers_as_its_positions_say() {
        let shape = BloomShape::blocked(hash_count(10));
        for bytes in [64usize, 128, 1024, 8192] {
            let mut filter = std::vec![0u8; bytes];
            for value in 0..(bytes as u64 * 8 / 20) {
                insert(&mut filter, shape, &BlockId::from_u128(u128::from(value) * 31 + 7));
            }
            let inserted = (0..(bytes as u64 * 8 / 20))
                .map(|value| key_of(&BlockId::from_u128(u128::from(value) * 31 + 7)));
            for key in (0..20_000u64).map(|n| n.wrapping_mul(0x9E37_79B9_7F4A_7C15)).chain(inserted)
            {
                let bits = bytes as u64 * 8;
                let by_positions = probes(key, bits, shape)
                    .all(|bit| filter[(bit / 8) as usize] & (1 << (bit % 8)) != 0);
                assert_eq!(block_holds_key(&filter, shape.hashes, key), by_positions, "{key}");
            }
        }
    }

    #[test]
    fn no_false_negatives_and_few_false_positives() {
        let keys = 2000u64;
        for shape in shapes() {
            let mut filter = std::vec![0u8; filter_bytes(keys, 10)];
            for value in 0..keys {
                insert(&mut filter, shape, &BlockId::from_u128(u128::from(value) + 1));
            }
            for value in 0..keys {
                assert!(may_contain(&filter, shape, &BlockId::from_u128(u128::from(value) + 1)));
            }
            let false_positives = (keys..keys * 11)
                .filter(|&value| {
                    may_contain(&filter, shape, &BlockId::from_u128(u128::from(value) + 1))
                })
                .count();
            // 10 bits per key gives about 1%; allow 3% over 20,000 probes.
            assert!(false_positives < 600, "{shape:?}: {false_positives}");
        }
    }

    #[test]
    fn an_id_entered_as_a_target_is_not_taken_for_a_block_or_a_source() {
        for shape in shapes() {
            let mut filter = std::vec![0u8; filter_bytes(1000, 10)];
            for value in 1..=1000u128 {
                insert_incoming(&mut filter, shape, &BlockId::from_u128(value));
            }
            let admitted = (1..=1000u128)
                .filter(|&v| may_contain(&filter, shape, &BlockId::from_u128(v)))
                .count();
            let id = |v: u128| BlockId::from_u128(v);
            assert!((1..=1000u128).all(|v| may_contain_incoming(&filter, shape, &id(v))));
            // The tagged keys are other keys: about the false-positive rate (1%) of the ids pass.
            assert!(admitted < 30, "{shape:?}: {admitted} of 1000 targets read as blocks");
        }
    }
}
