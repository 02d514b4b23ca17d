//! The bucket directory at the end of an edge page (table version 5): where the run of a key
//! id starts, found with one read of the directory instead of a search over the page.
//!
//! Every edge listing from a table finds one key id's run of records in a page of hundreds.
//! A search over the page costs a cache miss per probe, one after the other (the first and
//! last ids, then two or three guesses, then a binary search over what they leave): on the
//! realistic-config benchmark (100,000 blocks, the graph in a table and the memtable) that
//! search was a fifth of a listing's time. The directory maps a key id to a small range of
//! records by the id's offset from the page's first key id (which the page's index entry
//! holds, in memory), so a listing reads one directory entry, which the CPU can load together
//! with the page header, and then the records.
//!
//! Layout: `1 << bits` little-endian u16 record indexes at the very end of the page. Entry
//! `j` is the index of the first record whose key id `k` has `(k - first) >> shift >= j`,
//! `first` being the key id of the page's first record. The index entry of the page holds
//! `bits` and `shift` (zero bits: no directory). Ids derived by hashing are uniform, so the
//! buckets hold about the same number of records; ids a host chose need not be, so a range
//! longer than `SCAN_RECORDS_MAX` is searched, never walked.

use super::search::lower_bound;

/// A page's directory, as its index entry describes it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct EdgeBuckets {
    /// log2 of the number of buckets; 0: the page has no directory.
    pub(crate) bits: u8,
    /// How far a key id's offset from the page's first key id is shifted right.
    pub(crate) shift: u8,
}

/// At most 4,096 buckets (8 KiB of directory), enough for pages of 512 KiB of edge records.
pub(crate) const BUCKET_BITS_MAX: u8 = 12;

/// Bytes of one directory entry.
pub(crate) const BUCKET_ENTRY_BYTES: usize = 2;

/// About this many records per bucket: the directory costs 1.6% of a page at 4, and a
/// listing walks about 2 records before its run.
const RECORDS_PER_BUCKET: usize = 4;

/// Pages that hold fewer records than this get no directory: their search is short anyway
/// (a firmware's 256-byte pages hold 7 edge records).
const DIRECTORY_RECORDS_MIN: usize = 32;

/// A range of a bucket longer than this is searched (ids a host chose, clustered in one
/// bucket), not walked.
const SCAN_RECORDS_MAX: usize = 16;

/// Bucket indexes are u16: record indexes of a page that holds more do not fit.
const RECORDS_MAX: usize = u16::MAX as usize;

impl EdgeBuckets {
    /// No directory (block pages, small pages, tables before version 5).
    pub(crate) const NONE: EdgeBuckets = EdgeBuckets { bits: 0, shift: 0 };

    /// The directory's bucket bits for edge pages of `records_fit` records (without it).
    pub(crate) fn bits_for(records_fit: usize) -> u8 {
        if !(DIRECTORY_RECORDS_MIN..=RECORDS_MAX).contains(&records_fit) {
            return 0;
        }
        let buckets = records_fit.div_ceil(RECORDS_PER_BUCKET).next_power_of_two();
        // At most 16 (buckets <= RECORDS_MAX / 4 + 1, a power of two).
        u8::try_from(buckets.trailing_zeros()).map_or(0, |bits| bits.min(BUCKET_BITS_MAX))
    }

    /// Bytes of the directory at the end of a page with `bits` bucket bits.
    pub(crate) fn directory_bytes(bits: u8) -> usize {
        if bits == 0 {
            0
        } else {
            BUCKET_ENTRY_BYTES << bits
        }
    }

    fn buckets(self) -> usize {
        Self::directory_bytes(self.bits) / BUCKET_ENTRY_BYTES
    }

    /// Whether an index entry may describe this directory for a page of `page_bytes` (the
    /// header included) in a table of `version_allows` directories.
    pub(crate) fn valid_for(self, edge_page: bool, page_bytes: usize, allowed: bool) -> bool {
        if self.bits == 0 {
            return self.shift == 0;
        }
        allowed
            && edge_page
            && self.bits <= BUCKET_BITS_MAX
            && self.shift < 128
            && Self::directory_bytes(self.bits) < page_bytes.saturating_sub(16)
    }

    /// Writes the directory of a page whose records' key ids are `key_id(0..count)`, in
    /// ascending order, into `directory` (`directory_bytes(bits)` long); returns the
    /// description its index entry keeps.
    pub(crate) fn write(
        bits: u8,
        count: usize,
        key_id: impl Fn(usize) -> u128,
        directory: &mut [u8],
    ) -> EdgeBuckets {
        debug_assert!(bits > 0 && count > 0 && count <= RECORDS_MAX);
        debug_assert_eq!(directory.len(), Self::directory_bytes(bits));
        let first = key_id(0);
        let span = key_id(count - 1) - first;
        // The fewest bits to shift so that the last record lands in the last bucket or before.
        let span_bits = 128 - span.leading_zeros();
        // At most 127: a span has at most 128 bits, and `bits` is at least 1.
        let shift = u8::try_from(span_bits.saturating_sub(u32::from(bits))).unwrap_or(u8::MAX);
        let buckets = EdgeBuckets { bits, shift };
        let mut record = 0usize;
        for (bucket, entry) in directory.chunks_exact_mut(BUCKET_ENTRY_BYTES).enumerate() {
            while record < count && buckets.bucket_of(first, key_id(record)) < bucket {
                record += 1;
            }
            // `record <= count <= RECORDS_MAX`.
            entry.copy_from_slice(&u16::try_from(record).unwrap_or(u16::MAX).to_le_bytes());
        }
        buckets
    }

    /// The bucket of key id `id` in a page whose first key id is `first` (`id >= first`),
    /// `usize::MAX` when past every bucket.
    fn bucket_of(self, first: u128, id: u128) -> usize {
        usize::try_from((id - first) >> self.shift).unwrap_or(usize::MAX)
    }

    /// The index of the first of `count` records whose key id is >= `target` (`count` if
    /// none is), where `key_id(i)` is record `i`'s key id, `first` the page's first key id as
    /// its index entry says, and `directory` the page's directory. `Err` if the directory or
    /// the index entry contradicts the records: a damaged page is never answered from.
    // Inlined into the page's run search (out of line, a listing took 40 instructions more:
    // `cargo xtask listing-cost`).
    #[inline]
    pub(crate) fn lower_bound(
        self,
        (first, target): (u128, u128),
        count: usize,
        key_id: impl Fn(usize) -> u128,
        directory: &[u8],
    ) -> Result<usize, ()> {
        // `first` comes from the index entry (in memory, so the directory's address is known
        // before the page is read); the page must agree.
        if count == 0 || key_id(0) != first {
            return if count == 0 { Ok(0) } else { Err(()) };
        }
        if target <= first {
            return Ok(0);
        }
        let bucket = self.bucket_of(first, target);
        let entry = |bucket: usize| {
            let at = bucket.checked_mul(BUCKET_ENTRY_BYTES)?;
            let bytes = directory.get(at..at + BUCKET_ENTRY_BYTES)?;
            Some(usize::from(u16::from_le_bytes([bytes[0], bytes[1]])))
        };
        if bucket >= self.buckets() {
            return Ok(count);
        }
        let start = entry(bucket).ok_or(())?;
        let end = if bucket + 1 == self.buckets() { count } else { entry(bucket + 1).ok_or(())? };
        if start > end || end > count {
            return Err(());
        }
        // The directory says every record before `start` is of an earlier bucket (smaller
        // than `target`) and every one from `end` on of a later one (greater): the two
        // records at the edges are checked, so a directory that lies is damage.
        if (start > 0 && key_id(start - 1) >= target) || (end < count && key_id(end) <= target) {
            return Err(());
        }
        let found = if end - start > SCAN_RECORDS_MAX {
            start + lower_bound(end - start, target, |index| key_id(start + index))
        } else {
            (start..end).find(|&index| key_id(index) >= target).unwrap_or(end)
        };
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    /// xorshift64*, seeded: the ids of one case.
    fn next(state: &mut u64) -> u64 {
        *state ^= *state >> 12;
        *state ^= *state << 25;
        *state ^= *state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn random_id(state: &mut u64) -> u128 {
        u128::from(next(state)) << 64 | u128::from(next(state))
    }

    /// Sorted key ids of one page (repeated: a key id has a run of records), in one of five
    /// shapes: uniform, sequential, clustered, skewed, few distinct.
    fn page_ids(state: &mut u64, shape: u64) -> Vec<u128> {
        let count = 1 + (next(state) % 2000) as usize;
        let mut ids: Vec<u128> = (0..count)
            .map(|index| match shape {
                0 => random_id(state),
                1 => index as u128 / 3 + 1,
                2 => (u128::from(next(state) % 3) << 100) | u128::from(next(state)),
                3 if index % 50 == 0 => random_id(state) | 1 << 127,
                3 => random_id(state) >> 100,
                _ => random_id(state) >> 120 << 120,
            })
            .collect();
        ids.sort_unstable();
        ids
    }

    #[test]
    fn the_bucket_directory_finds_what_a_binary_search_finds_for_any_distribution() {
        for seed in 1..=300u64 {
            std::println!("seed {seed}");
            let mut state = seed;
            let ids = page_ids(&mut state, seed % 5);
            let bits = 1 + (next(&mut state) % u64::from(BUCKET_BITS_MAX)) as u8;
            let mut directory = std::vec![0u8; EdgeBuckets::directory_bytes(bits)];
            let buckets = EdgeBuckets::write(bits, ids.len(), |at| ids[at], &mut directory);
            assert!(buckets.valid_for(true, 16 + directory.len() + 1, true));
            let mut targets: Vec<u128> = ids.clone();
            targets.extend(ids.iter().map(|id| id.wrapping_add(1)));
            targets.extend(ids.iter().map(|id| id.wrapping_sub(1)));
            targets.extend([0, u128::MAX]);
            targets.extend((0..64).map(|_| random_id(&mut state)));
            for target in targets {
                let found =
                    buckets.lower_bound((ids[0], target), ids.len(), |at| ids[at], &directory);
                let expected = ids.partition_point(|&id| id < target);
                assert_eq!(found, Ok(expected), "target {target:#x}; replay: seed {seed}");
            }
        }
    }

    /// A directory whose entries were changed (the page's CRC recomputed by whoever changed
    /// it) either answers as a search over the records does, or is refused.
    #[test]
    fn a_directory_that_contradicts_its_records_is_refused_never_believed() {
        let mut refused = 0;
        for seed in 1..=200u64 {
            std::println!("seed {seed}");
            let mut state = seed;
            let ids = page_ids(&mut state, seed % 2);
            let mut directory = std::vec![0u8; EdgeBuckets::directory_bytes(4)];
            let buckets = EdgeBuckets::write(4, ids.len(), |at| ids[at], &mut directory);
            let at = (next(&mut state) as usize) % directory.len();
            directory[at] ^= 1 << (next(&mut state) % 8);
            for target in ids.iter().copied().chain((0..32).map(|_| random_id(&mut state))) {
                let expected = ids.partition_point(|&id| id < target);
                match buckets.lower_bound((ids[0], target), ids.len(), |at| ids[at], &directory) {
                    Ok(found) => assert_eq!(found, expected, "target {target:#x}; seed {seed}"),
                    Err(()) => refused += 1,
                }
            }
        }
        // Most flipped bits move an entry across records the edge checks see.
        assert!(refused > 0, "no changed directory was refused");
    }

    #[test]
    fn small_and_huge_pages_get_no_directory() {
        assert_eq!(EdgeBuckets::bits_for(7), 0);
        assert_eq!(EdgeBuckets::bits_for(RECORDS_MAX + 1), 0);
        // A 16 KiB page of 35-byte records: 467 fit, 128 buckets (256 bytes).
        assert_eq!(EdgeBuckets::bits_for(467), 7);
        assert_eq!(EdgeBuckets::directory_bytes(7), 256);
        assert!(!EdgeBuckets { bits: 3, shift: 0 }.valid_for(false, 4096, true));
        assert!(!EdgeBuckets { bits: 3, shift: 0 }.valid_for(true, 4096, false));
        assert!(!EdgeBuckets { bits: 0, shift: 1 }.valid_for(true, 4096, true));
        assert!(!EdgeBuckets { bits: 13, shift: 0 }.valid_for(true, 1 << 20, true));
        assert!(!EdgeBuckets { bits: 3, shift: 128 }.valid_for(true, 4096, true));
    }
}
