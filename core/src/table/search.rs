//! Searches over the sorted ids of one page: interpolation first, then binary search.
//!
//! Ids derived by hashing (`BlockId::derive`) are uniform over the 128-bit space, so the
//! position of an id among a page's sorted ids is predicted by its value: a guess from the
//! page's first and last ids lands within a few dozen records of the answer, and a second
//! guess within a few. Each probe of a page not in the CPU caches is a cache miss, and a
//! binary search over a 16 KiB page of 24-byte edge records takes ten of them: the edge
//! listing from a five-table store spent 39% of its time there (measured: perf, 1.39 µs per
//! listing). Ids a host chose itself need not be uniform, so the guesses are few and bounded
//! (`INTERPOLATION_STEPS`) and a binary search finishes the range they leave: the worst case
//! is a binary search plus those probes, never worse in order.

/// Interpolation guesses before the binary search takes over.
const INTERPOLATION_STEPS: u32 = 3;

/// Ranges this short go to binary search directly: a guess saves little there.
const INTERPOLATION_RANGE_MIN: usize = 16;

/// The top 64 bits of an id read as a big-endian integer: enough to place it in any page.
fn top(id: u128) -> u64 {
    (id >> 64) as u64
}

/// About `part / whole * count` (`part <= whole`, `whole > 0`), in 64-bit arithmetic: both
/// are cut to their top 32 bits first, so the product fits. A 128-bit division was a call to
/// a library routine (2% of an edge listing with its pages cached); a guess needs no more
/// precision than this.
fn interpolate(part: u64, whole: u64, count: usize) -> usize {
    let shift = (64 - whole.leading_zeros()).saturating_sub(32);
    let (part, whole) = (part.min(whole) >> shift, (whole >> shift).max(1));
    let count = u64::try_from(count).unwrap_or(u64::MAX).min(u64::from(u32::MAX));
    usize::try_from(part * count / whole).unwrap_or(usize::MAX)
}

/// The first index in `0..count` whose id is >= `target`, or `count` if none is, where
/// `id_at(index)` is ascending in `index` (ids as big-endian integers).
// Inlined into each search (a call per seek and per page lost 50 instructions a listing:
// `cargo xtask listing-cost`).
#[inline]
pub(crate) fn lower_bound(count: usize, target: u128, id_at: impl Fn(usize) -> u128) -> usize {
    // Invariant: ids below `low` are < target; ids from `high` on are >= target.
    let (mut low, mut high) = (0usize, count);
    // `small-code`: binary search alone. The guesses' 128-bit division links a 32-bit
    // target's division routine (1,058 bytes of code with the guesses), and small targets
    // have small pages: the firmware's 256-byte pages hold 7 edge records.
    if cfg!(not(feature = "small-code")) && count >= INTERPOLATION_RANGE_MIN {
        let (first, last) = (id_at(0), id_at(count - 1));
        if target <= first {
            return 0;
        }
        if target > last {
            return count;
        }
        // Here id_at(0) < target <= id_at(count - 1): the answer is in 1..count.
        (low, high) = (1, count - 1);
        let (mut low_id, mut high_id) = (top(first), top(last));
        for _ in 0..INTERPOLATION_STEPS {
            if high - low < INTERPOLATION_RANGE_MIN || high_id <= low_id {
                break;
            }
            let offset =
                interpolate(top(target).saturating_sub(low_id), high_id - low_id, high - low);
            let guess = low + offset.min(high - low - 1);
            let id = id_at(guess);
            if id < target {
                (low, low_id) = (guess + 1, top(id));
            } else {
                (high, high_id) = (guess, top(id));
            }
        }
    }
    while low < high {
        let middle = low + (high - low) / 2;
        if id_at(middle) < target {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    debug_assert!(low == count || id_at(low) >= target);
    debug_assert!(low == 0 || id_at(low - 1) < target);
    low
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn binary(ids: &[u128], target: u128) -> usize {
        ids.partition_point(|&id| id < target)
    }

    /// xorshift64*, seeded: the ids of one case.
    fn next(state: &mut u64) -> u64 {
        *state ^= *state >> 12;
        *state ^= *state << 25;
        *state ^= *state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn check(ids: &mut [u128], state: &mut u64, seed: u64) {
        ids.sort_unstable();
        let mut targets: Vec<u128> = ids.to_vec();
        targets.extend(ids.iter().map(|id| id.wrapping_add(1)));
        targets.extend(ids.iter().map(|id| id.wrapping_sub(1)));
        targets.extend([0, u128::MAX]);
        targets.extend((0..64).map(|_| u128::from(next(state)) << 64 | u128::from(next(state))));
        for target in targets {
            let found = lower_bound(ids.len(), target, |index| ids[index]);
            assert_eq!(
                found,
                binary(ids, target),
                "target {target:#x}, {} ids; replay: seed {seed}",
                ids.len()
            );
        }
    }

    #[test]
    fn the_interpolated_search_finds_what_a_binary_search_finds_for_any_distribution() {
        for seed in 1..=200u64 {
            std::println!("seed {seed}");
            let mut state = seed;
            let count = (next(&mut state) % 1200) as usize;
            let shape = seed % 5;
            let mut ids: Vec<u128> = (0..count)
                .map(|index| {
                    let random = u128::from(next(&mut state)) << 64 | u128::from(next(&mut state));
                    match shape {
                        // Uniform, as derived ids are.
                        0 => random,
                        // Sequential ids a host numbered itself.
                        1 => index as u128 + 1,
                        // Clustered: a few distinct high halves, random low halves.
                        2 => {
                            (u128::from(next(&mut state) % 3) << 64)
                                | (random & u128::from(u64::MAX))
                        }
                        // Skewed: most ids tiny, a few huge.
                        3 => {
                            if index % 50 == 0 {
                                random | 1 << 127
                            } else {
                                random >> 100
                            }
                        }
                        // Duplicates: edge pages repeat a key id once per edge.
                        _ => random >> 120 << 120,
                    }
                })
                .collect();
            check(&mut ids, &mut state, seed);
        }
    }
}
