//! The records the engine keeps and orders, whatever holds them: a block version or
//! tombstone, and one direction of an edge, with the sort keys every level agrees on. The
//! memtable produces them, table pages store them (`table::format` encodes them), and
//! merges compare their keys, so no layer has to import another's format to talk.

use crate::edge::EdgeType;
use crate::id::{BlockId, ID_BYTES};

/// A sort key: a block id, or (key id, type, other id) for edges.
pub(crate) const KEY_BYTES: usize = 2 * ID_BYTES + 2;

/// The sort key of a block record: its id, zero-padded.
pub(crate) fn block_key(id: &BlockId) -> [u8; KEY_BYTES] {
    let mut key = [0u8; KEY_BYTES];
    key[..ID_BYTES].copy_from_slice(&id.0);
    key
}

/// The sort key of an edge record: (key id, type big-endian, other id).
pub(crate) fn edge_key(key_id: &BlockId, edge_type: EdgeType, other: &BlockId) -> [u8; KEY_BYTES] {
    let mut key = [0u8; KEY_BYTES];
    key[..ID_BYTES].copy_from_slice(&key_id.0);
    key[ID_BYTES..ID_BYTES + 2].copy_from_slice(&edge_type.code().to_be_bytes());
    key[ID_BYTES + 2..].copy_from_slice(&other.0);
    key
}

/// One direction of an edge: the key id is the source (outgoing) or the target (incoming).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct EdgeRecord {
    pub(crate) key_id: BlockId,
    pub(crate) edge_type: EdgeType,
    pub(crate) other: BlockId,
    pub(crate) tombstone: bool,
}

impl EdgeRecord {
    /// The record's sort key: (key id, type big-endian, other id).
    pub(crate) fn key(&self) -> [u8; KEY_BYTES] {
        edge_key(&self.key_id, self.edge_type, &self.other)
    }
}

/// A record's sort key as integers: the 34-byte key's key id, type and other id, each read
/// big-endian, so it orders exactly as the bytes do (a block record's key is its id and
/// zeros). Every merge (compaction, scans, edge listings) compares keys several times per
/// record; comparing 34 bytes took a `memcmp` call each time (5% of `cargo xtask scale`'s
/// profile, half of it merges; compaction steps took 35% less time without, and building
/// and comparing byte keys was a third of an incoming listing). With `small-code` it is the
/// bytes: 128-bit comparisons cost a 32-bit target more code than they save.
#[cfg(not(feature = "small-code"))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct SortKey {
    key_id: u128,
    edge_type: u16,
    other: u128,
}

#[cfg(not(feature = "small-code"))]
impl SortKey {
    /// The sort key of block `id`'s record.
    pub(crate) fn of_block(id: &BlockId) -> SortKey {
        SortKey { key_id: id.to_u128(), edge_type: 0, other: 0 }
    }

    /// The sort key of an edge record.
    pub(crate) fn of_edge(record: &EdgeRecord) -> SortKey {
        let (key_id, other) = (record.key_id.to_u128(), record.other.to_u128());
        SortKey { key_id, edge_type: record.edge_type.code(), other }
    }

    /// The key id, which orders keys first.
    pub(crate) fn key_id(&self) -> u128 {
        self.key_id
    }
}

/// A record's sort key: its 34 key bytes (see the other configuration's note).
#[cfg(feature = "small-code")]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct SortKey([u8; KEY_BYTES]);

#[cfg(feature = "small-code")]
impl SortKey {
    /// The sort key of block `id`'s record.
    pub(crate) fn of_block(id: &BlockId) -> SortKey {
        SortKey(block_key(id))
    }

    /// The sort key of an edge record.
    pub(crate) fn of_edge(record: &EdgeRecord) -> SortKey {
        SortKey(record.key())
    }

    /// The key id, which orders keys first.
    pub(crate) fn key_id(&self) -> u128 {
        let mut key_id = [0u8; ID_BYTES];
        key_id.copy_from_slice(&self.0[..ID_BYTES]);
        u128::from_be_bytes(key_id)
    }
}

/// A block version or tombstone, its payload borrowed (from the memtable arena or a page).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BlockRecord<'a> {
    pub(crate) id: BlockId,
    pub(crate) sequence: u64,
    pub(crate) tombstone: bool,
    pub(crate) source_uri: &'a [u8],
    pub(crate) metadata_json: &'a [u8],
    pub(crate) content: &'a [u8],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edge_keys_sort_by_key_then_type_then_other() {
        let (a, b) = (BlockId::from_u128(1), BlockId::from_u128(2));
        assert!(edge_key(&a, EdgeType::CALLS, &b) < edge_key(&b, EdgeType::IMPORTS, &a));
        assert!(edge_key(&a, EdgeType::IMPORTS, &b) < edge_key(&a, EdgeType::CALLS, &a));
        let host = EdgeType::from_code(0x8001).unwrap();
        assert!(edge_key(&a, EdgeType::CALLS, &b) < edge_key(&a, host, &a));
        assert!(block_key(&a) < block_key(&b));
    }

    /// Sort keys order as the 34-byte keys do, for block and edge records alike: ids that
    /// differ only in their low or high bytes, every type, and equal key ids.
    #[test]
    fn sort_keys_order_as_the_byte_keys_do() {
        let ids = [1u128, 2, 1 << 64, (1 << 64) + 1, 1 << 127, u128::MAX].map(BlockId::from_u128);
        let types = [EdgeType::CALLS, EdgeType::IMPORTS, EdgeType::from_code(0x8001).unwrap()];
        let mut keys = std::vec::Vec::new();
        for key_id in ids {
            keys.push((block_key(&key_id), SortKey::of_block(&key_id)));
            for (edge_type, other) in types.iter().flat_map(|&t| ids.map(|other| (t, other))) {
                let record = EdgeRecord { key_id, edge_type, other, tombstone: false };
                keys.push((record.key(), SortKey::of_edge(&record)));
            }
        }
        for (bytes, key) in &keys {
            for (other_bytes, other_key) in &keys {
                assert_eq!(bytes.cmp(other_bytes), key.cmp(other_key), "{key:?} vs {other_key:?}");
            }
        }
    }
}
