//! XXH3-128 (seed 0, the default secret) over an input given in parts, written for code
//! size: `BlockId::derive` under `small-code` hashes with it instead of `xxhash-rust`'s
//! streaming hasher (4.4 KiB of code in the firmware image; this is about a third of
//! that). Bytes are gathered one at a time across the parts, so it is slower (ids hash a
//! few dozen bytes: it does not matter there), and it returns the same value as
//! `xxhash_rust::xxh3::xxh3_128` of the parts joined, for every length (tested: every
//! length to 2,200 bytes, every regime of the algorithm, parts split anywhere).

const PRIME32_1: u64 = 0x9E37_79B1;
const PRIME32_2: u64 = 0x85EB_CA77;
const PRIME32_3: u64 = 0xC2B2_AE3D;
const PRIME64_1: u64 = 0x9E37_79B1_85EB_CA87;
const PRIME64_2: u64 = 0xC2B2_AE3D_27D4_EB4F;
const PRIME64_3: u64 = 0x1656_67B1_9E37_79F9;
const PRIME64_4: u64 = 0x85EB_CA77_C2B2_AE63;
const PRIME64_5: u64 = 0x27D4_EB2F_1656_67C5;
const PRIME_MX1: u64 = 0x1656_6791_9E37_79F9;
const PRIME_MX2: u64 = 0x9FB2_1C65_1E98_DF25;

/// The algorithm's default secret (its specification's constant).
const SECRET: [u8; 192] = [
    0xb8, 0xfe, 0x6c, 0x39, 0x23, 0xa4, 0x4b, 0xbe, 0x7c, 0x01, 0x81, 0x2c, 0xf7, 0x21, 0xad, 0x1c,
    0xde, 0xd4, 0x6d, 0xe9, 0x83, 0x90, 0x97, 0xdb, 0x72, 0x40, 0xa4, 0xa4, 0xb7, 0xb3, 0x67, 0x1f,
    0xcb, 0x79, 0xe6, 0x4e, 0xcc, 0xc0, 0xe5, 0x78, 0x82, 0x5a, 0xd0, 0x7d, 0xcc, 0xff, 0x72, 0x21,
    0xb8, 0x08, 0x46, 0x74, 0xf7, 0x43, 0x24, 0x8e, 0xe0, 0x35, 0x90, 0xe6, 0x81, 0x3a, 0x26, 0x4c,
    0x3c, 0x28, 0x52, 0xbb, 0x91, 0xc3, 0x00, 0xcb, 0x88, 0xd0, 0x65, 0x8b, 0x1b, 0x53, 0x2e, 0xa3,
    0x71, 0x64, 0x48, 0x97, 0xa2, 0x0d, 0xf9, 0x4e, 0x38, 0x19, 0xef, 0x46, 0xa9, 0xde, 0xac, 0xd8,
    0xa8, 0xfa, 0x76, 0x3f, 0xe3, 0x9c, 0x34, 0x3f, 0xf9, 0xdc, 0xbb, 0xc7, 0xc7, 0x0b, 0x4f, 0x1d,
    0x8a, 0x51, 0xe0, 0x4b, 0xcd, 0xb4, 0x59, 0x31, 0xc8, 0x9f, 0x7e, 0xc9, 0xd9, 0x78, 0x73, 0x64,
    0xea, 0xc5, 0xac, 0x83, 0x34, 0xd3, 0xeb, 0xc3, 0xc5, 0x81, 0xa0, 0xff, 0xfa, 0x13, 0x63, 0xeb,
    0x17, 0x0d, 0xdd, 0x51, 0xb7, 0xf0, 0xda, 0x49, 0xd3, 0x16, 0x55, 0x26, 0x29, 0xd4, 0x68, 0x9e,
    0x2b, 0x16, 0xbe, 0x58, 0x7d, 0x47, 0xa1, 0xfc, 0x8f, 0xf8, 0xb8, 0xd1, 0x7a, 0xd0, 0x31, 0xce,
    0x45, 0xcb, 0x3a, 0x8f, 0x95, 0x16, 0x04, 0x28, 0xaf, 0xd7, 0xfb, 0xca, 0xbb, 0x4b, 0x40, 0x7e,
];
/// Bytes of input in one stripe of the long regime, and of secret each stripe moves on.
const STRIPE_BYTES: usize = 64;
const SECRET_STEP_BYTES: usize = 8;
/// Stripes per block of the long regime: (192 - 64) / 8.
const STRIPES_PER_BLOCK: usize = (SECRET.len() - STRIPE_BYTES) / SECRET_STEP_BYTES;

/// The input: its parts, joined.
pub(crate) struct Parts<'a> {
    parts: &'a [&'a [u8]],
    len: usize,
}

impl<'a> Parts<'a> {
    pub(crate) fn new(parts: &'a [&'a [u8]]) -> Parts<'a> {
        Parts { parts, len: parts.iter().map(|part| part.len()).sum() }
    }

    /// Byte `at` of the joined input (`at < len`: callers read within the input).
    fn byte(&self, mut at: usize) -> u8 {
        for part in self.parts {
            match part.get(at) {
                Some(&byte) => return byte,
                None => at -= part.len(),
            }
        }
        debug_assert!(false, "read past the input");
        0
    }

    /// `N` little-endian bytes from `at`, as an integer.
    fn read<const N: usize>(&self, at: usize) -> u64 {
        (0..N).rev().fold(0, |value, index| value << 8 | u64::from(self.byte(at + index)))
    }
}

fn secret64(at: usize) -> u64 {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&SECRET[at..at + 8]);
    u64::from_le_bytes(bytes)
}

fn secret32(at: usize) -> u64 {
    secret64(at) & 0xFFFF_FFFF
}

/// The 128-bit product of `left` and `right`, as its low and high halves.
fn multiply(left: u64, right: u64) -> (u64, u64) {
    let product = u128::from(left) * u128::from(right);
    let half = |bits: u128| u64::try_from(bits & u128::from(u64::MAX)).unwrap_or(0);
    (half(product), half(product >> 64))
}

fn fold64(left: u64, right: u64) -> u64 {
    let (low, high) = multiply(left, right);
    low ^ high
}

fn avalanche_xxh64(mut hash: u64) -> u64 {
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(PRIME64_2);
    hash ^= hash >> 29;
    hash = hash.wrapping_mul(PRIME64_3);
    hash ^ (hash >> 32)
}

fn avalanche(hash: u64) -> u64 {
    let hash = (hash ^ (hash >> 37)).wrapping_mul(PRIME_MX1);
    hash ^ (hash >> 32)
}

/// XXH3-128 of `input` (seed 0, the default secret).
pub(crate) fn hash128(input: &Parts<'_>) -> u128 {
    let (low, high) = match input.len {
        0 => (
            avalanche_xxh64(secret64(64) ^ secret64(72)),
            avalanche_xxh64(secret64(80) ^ secret64(88)),
        ),
        1..=3 => hash_1_to_3(input),
        4..=8 => hash_4_to_8(input),
        9..=16 => hash_9_to_16(input),
        17..=240 => hash_17_to_240(input),
        _ => hash_long(input),
    };
    u128::from(high) << 64 | u128::from(low)
}

fn hash_1_to_3(input: &Parts<'_>) -> (u64, u64) {
    let len = input.len;
    let combined = u32::from(input.byte(0)) << 16
        | u32::from(input.byte(len >> 1)) << 24
        | u32::from(input.byte(len - 1))
        | crate::codec::narrow_u32(len) << 8;
    let combined_high = combined.swap_bytes().rotate_left(13);
    let low = u64::from(combined) ^ (secret32(0) ^ secret32(4));
    let high = u64::from(combined_high) ^ (secret32(8) ^ secret32(12));
    (avalanche_xxh64(low), avalanche_xxh64(high))
}

fn hash_4_to_8(input: &Parts<'_>) -> (u64, u64) {
    let len = input.len as u64;
    let joined = input.read::<4>(0) | input.read::<4>(input.len - 4) << 32;
    let keyed = joined ^ (secret64(16) ^ secret64(24));
    let (mut low, mut high) = multiply(keyed, PRIME64_1.wrapping_add(len << 2));
    high = high.wrapping_add(low << 1);
    low ^= high >> 3;
    low ^= low >> 35;
    low = low.wrapping_mul(PRIME_MX2);
    low ^= low >> 28;
    (low, avalanche(high))
}

fn hash_9_to_16(input: &Parts<'_>) -> (u64, u64) {
    let len = input.len as u64;
    let first = input.read::<8>(0);
    let last = input.read::<8>(input.len - 8);
    let (mut low, mut high) = multiply(first ^ last ^ (secret64(32) ^ secret64(40)), PRIME64_1);
    let last = last ^ (secret64(48) ^ secret64(56));
    low = low.wrapping_add((len - 1) << 54);
    high = high.wrapping_add(last).wrapping_add((last & 0xFFFF_FFFF) * (PRIME32_2 - 1));
    low ^= high.swap_bytes();
    let (final_low, final_high) = multiply(low, PRIME64_2);
    let final_high = final_high.wrapping_add(high.wrapping_mul(PRIME64_2));
    (avalanche(final_low), avalanche(final_high))
}

fn mix16(input: &Parts<'_>, at: usize, secret: usize) -> u64 {
    fold64(input.read::<8>(at) ^ secret64(secret), input.read::<8>(at + 8) ^ secret64(secret + 8))
}

/// Mixes the 16 bytes at `first` and at `second` into the pair of accumulators.
fn mix32(acc: &mut (u64, u64), input: &Parts<'_>, (first, second): (usize, usize), secret: usize) {
    acc.0 = acc.0.wrapping_add(mix16(input, first, secret));
    acc.0 ^= input.read::<8>(second).wrapping_add(input.read::<8>(second + 8));
    acc.1 = acc.1.wrapping_add(mix16(input, second, secret + 16));
    acc.1 ^= input.read::<8>(first).wrapping_add(input.read::<8>(first + 8));
}

fn hash_17_to_240(input: &Parts<'_>) -> (u64, u64) {
    let len = input.len;
    let mut acc = ((len as u64).wrapping_mul(PRIME64_1), 0);
    if len <= 128 {
        // Pairs from both ends inwards, the innermost first.
        for round in (0..(len - 1) / 32 + 1).rev() {
            mix32(&mut acc, input, (16 * round, len - 16 * (round + 1)), 32 * round);
        }
    } else {
        for round in 0..4 {
            mix32(&mut acc, input, (32 * round, 32 * round + 16), 32 * round);
        }
        acc = (avalanche(acc.0), avalanche(acc.1));
        for round in 4..len / 32 {
            mix32(&mut acc, input, (32 * round, 32 * round + 16), 3 + 32 * (round - 4));
        }
        // The last 32 bytes, with the seed's negation (0 here) and the secret's tail.
        mix32(&mut acc, input, (len - 16, len - 32), 136 - 17 - 16);
    }
    let low = acc.0.wrapping_add(acc.1);
    let high = acc
        .0
        .wrapping_mul(PRIME64_1)
        .wrapping_add(acc.1.wrapping_mul(PRIME64_4))
        .wrapping_add((len as u64).wrapping_mul(PRIME64_2));
    (avalanche(low), avalanche(high).wrapping_neg())
}

fn accumulate_stripe(acc: &mut [u64; 8], input: &Parts<'_>, at: usize, secret: usize) {
    for lane in 0..8 {
        let value = input.read::<8>(at + 8 * lane);
        let keyed = value ^ secret64(secret + 8 * lane);
        acc[lane ^ 1] = acc[lane ^ 1].wrapping_add(value);
        acc[lane] = acc[lane].wrapping_add((keyed & 0xFFFF_FFFF) * (keyed >> 32));
    }
}

fn merge(acc: &[u64; 8], secret: usize, start: u64) -> u64 {
    let mut result = start;
    for pair in 0..4 {
        let (left, right) = (acc[2 * pair], acc[2 * pair + 1]);
        let at = secret + 16 * pair;
        result = result.wrapping_add(fold64(left ^ secret64(at), right ^ secret64(at + 8)));
    }
    avalanche(result)
}

fn hash_long(input: &Parts<'_>) -> (u64, u64) {
    let len = input.len;
    let mut acc =
        [PRIME32_3, PRIME64_1, PRIME64_2, PRIME64_3, PRIME64_4, PRIME32_2, PRIME64_5, PRIME32_1];
    let block_bytes = STRIPE_BYTES * STRIPES_PER_BLOCK;
    let blocks = (len - 1) / block_bytes;
    let scramble_secret = SECRET.len() - STRIPE_BYTES;
    for block in 0..blocks {
        for stripe in 0..STRIPES_PER_BLOCK {
            let at = block * block_bytes + stripe * STRIPE_BYTES;
            accumulate_stripe(&mut acc, input, at, stripe * SECRET_STEP_BYTES);
        }
        for (lane, value) in acc.iter_mut().enumerate() {
            let scrambled = (*value ^ (*value >> 47)) ^ secret64(scramble_secret + 8 * lane);
            *value = scrambled.wrapping_mul(PRIME32_1);
        }
    }
    let stripes = ((len - 1) - block_bytes * blocks) / STRIPE_BYTES;
    for stripe in 0..stripes {
        let at = blocks * block_bytes + stripe * STRIPE_BYTES;
        accumulate_stripe(&mut acc, input, at, stripe * SECRET_STEP_BYTES);
    }
    // The last stripe, always the input's last 64 bytes, with the secret's tail less 7.
    accumulate_stripe(&mut acc, input, len - STRIPE_BYTES, scramble_secret - 7);
    let low = merge(&acc, 11, (len as u64).wrapping_mul(PRIME64_1));
    let high = merge(&acc, scramble_secret - 11, !(len as u64).wrapping_mul(PRIME64_2));
    (low, high)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::eprintln;
    use std::vec::Vec;

    /// Equal to the reference crate for every length up to 2,200 bytes (every regime,
    /// and long inputs of one, two and three blocks with partial stripes), with the
    /// input split into four parts at seed-chosen places.
    #[test]
    fn equals_the_reference_for_every_length_and_split() {
        let seed = 0x5EED_0018_u64;
        eprintln!("replay: cargo test -p kausaldb-core --lib xxh3 (seed {seed:#x}, fixed)");
        let mut state = seed;
        let mut next = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as usize
        };
        let bytes: Vec<u8> = (0..2200).map(|_| next() as u8).collect();
        for len in 0..=bytes.len() {
            let input = &bytes[..len];
            let mut cuts = [next() % (len + 1), next() % (len + 1), next() % (len + 1)];
            cuts.sort_unstable();
            let parts = [
                &input[..cuts[0]],
                &input[cuts[0]..cuts[1]],
                &input[cuts[1]..cuts[2]],
                &input[cuts[2]..],
            ];
            let expected = xxhash_rust::xxh3::xxh3_128(input);
            assert_eq!(hash128(&Parts::new(&parts)), expected, "length {len}, cuts {cuts:?}");
        }
    }
}
