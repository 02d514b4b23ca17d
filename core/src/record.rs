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
}
