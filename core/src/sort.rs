//! Sorting in place without allocating: the standard library's unstable sort (pattern-
//! defeating quicksort), or, with the `small-code` feature, a heapsort: one short loop per
//! element type instead of about 2 KiB per instance (five sorts were 11 KiB of a Cortex-M4
//! image), for about twice the comparisons. Neither keeps equal elements in order; no
//! caller needs that (they sort distinct keys).

/// Sorts `items` by `key`, ascending.
#[cfg(not(feature = "small-code"))]
pub(crate) fn sort_by_key<T, K: Ord>(items: &mut [T], key: impl FnMut(&T) -> K) {
    items.sort_unstable_by_key(key);
}

/// Sorts `items` by `key`, ascending.
#[cfg(feature = "small-code")]
pub(crate) fn sort_by_key<T, K: Ord>(items: &mut [T], mut key: impl FnMut(&T) -> K) {
    heapsort_by(items, &mut |a, b| key(a) < key(b));
}

/// Sorts `items` by `order`, ascending.
#[cfg(not(feature = "small-code"))]
pub(crate) fn sort_by<T>(items: &mut [T], order: impl FnMut(&T, &T) -> core::cmp::Ordering) {
    items.sort_unstable_by(order);
}

/// Sorts `items` by `order`, ascending.
#[cfg(feature = "small-code")]
pub(crate) fn sort_by<T>(items: &mut [T], mut order: impl FnMut(&T, &T) -> core::cmp::Ordering) {
    heapsort_by(items, &mut |a, b| order(a, b).is_lt());
}

/// Sorts `items` ascending.
#[cfg(not(feature = "small-code"))]
pub(crate) fn sort<T: Ord>(items: &mut [T]) {
    items.sort_unstable();
}

/// Sorts `items` ascending.
#[cfg(feature = "small-code")]
pub(crate) fn sort<T: Ord>(items: &mut [T]) {
    heapsort_by(items, &mut |a, b| a < b);
}

/// Heapsort: builds a max-heap, then moves the largest to the end, `len` times. The order
/// is a `dyn` closure, so there is one instance per element type, not one per caller (two
/// fewer in a firmware image, 364 bytes; an indirect call per comparison).
#[cfg_attr(not(any(test, feature = "small-code")), allow(dead_code))]
fn heapsort_by<T>(items: &mut [T], is_less: &mut dyn FnMut(&T, &T) -> bool) {
    let len = items.len();
    for node in (0..len / 2).rev() {
        sift_down(items, node, len, is_less);
    }
    for end in (1..len).rev() {
        items.swap(0, end);
        sift_down(items, 0, end, is_less);
    }
}

/// Moves `node` down the heap `items[..end]` until neither child is larger.
#[cfg_attr(not(any(test, feature = "small-code")), allow(dead_code))]
fn sift_down<T>(
    items: &mut [T],
    mut node: usize,
    end: usize,
    is_less: &mut dyn FnMut(&T, &T) -> bool,
) {
    debug_assert!(end <= items.len());
    loop {
        let mut child = 2 * node + 1;
        if child >= end {
            return;
        }
        if child + 1 < end && is_less(&items[child], &items[child + 1]) {
            child += 1;
        }
        if !is_less(&items[node], &items[child]) {
            return;
        }
        items.swap(node, child);
        node = child;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    /// The heapsort orders every length up to 200 and every shape (random, sorted, reversed,
    /// few distinct values) as the standard sort does; the seed is printed on failure.
    #[test]
    fn the_heapsort_agrees_with_the_standard_sort() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for len in 0..200usize {
            for shape in 0..4 {
                let mut items: Vec<u64> = (0..len as u64)
                    .map(|i| {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        match shape {
                            0 => state,
                            1 => i,
                            2 => len as u64 - i,
                            _ => state % 3,
                        }
                    })
                    .collect();
                let mut expected = items.clone();
                expected.sort_unstable();
                heapsort_by(&mut items, &mut |a, b| a < b);
                assert_eq!(items, expected, "length {len}, shape {shape}");
            }
        }
        let mut keyed: Vec<(u32, u32)> = (0..100).map(|i| ((i * 37) % 100, i)).collect();
        heapsort_by(&mut keyed, &mut |a, b| a.0 < b.0);
        assert!(keyed.windows(2).all(|pair| pair[0].0 <= pair[1].0));
    }
}
