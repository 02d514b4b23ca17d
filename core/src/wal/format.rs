//! The WAL's byte layout (all integers little-endian; see docs/FORMAT.md).
//!
//! A segment file `wal-<16 hex digits>.log` starts with a 32-byte header:
//!
//! | bytes  | field                                                    |
//! |--------|----------------------------------------------------------|
//! | 0..8   | magic `KSDBWAL1`                                          |
//! | 8..12  | format version (2; 1 is still read)                      |
//! | 12..16 | CRC32C of bytes 0..12 and 16..32                          |
//! | 16..24 | segment number (the number in the file name)             |
//! | 24..32 | log position of the segment's first frame                |
//!
//! Then frames, back to back, each a 32-byte header and a payload padded with zeros to a
//! multiple of 8 bytes:
//!
//! | bytes  | field                                                    |
//! |--------|----------------------------------------------------------|
//! | 0..4   | CRC32C of header bytes 4..32                              |
//! | 4..8   | CRC32C of the padded payload                              |
//! | 8..12  | payload length (unpadded)                                |
//! | 12     | record kind: 1 put block, 2 delete block, 3 put edge, 4 delete edge,  |
//! |        | 5 close marker, 6 deleted edges                          |
//! | 13     | flags (format 2): bit 0 of a put block = it created the block; else zero |
//! | 14..16 | zero                                                     |
//! | 16..24 | sequence (the write's engine-assigned sequence, +1 per write) |
//! | 24..32 | synced position: log position durable when this frame was written |
//!
//! The header CRC covers the payload CRC, so together they cover header and payload.
//! A log position counts frame bytes from the first frame ever written; segment headers do
//! not count. The synced position lets recovery tell a torn tail (nothing later claims the
//! damaged bytes were durable) from damage to synced data (a later frame does).
//!
//! Format 2 logs what each write *did*, not only what it asked for, so replay never reads
//! a table (a damaged page then fails only the reads that need it): a put says whether it
//! created its block, and a delete logs every edge it removed, in "deleted edges" frames
//! that come before its delete-block frame, carry its sequence, and lie in one segment with
//! it. Such a group counts only once its delete-block frame is read; a log that ends inside
//! one ends before it. Format 1 segments (no flags, no deleted-edge frames) are replayed by
//! reading the tables, as format 1 engines did.

use crate::codec::{narrow_u32, u32_at, u64_at};
use crate::crc32c;
use crate::edge::{Edge, EdgeType};
use crate::id::id_at;
use crate::id::{BlockId, ID_BYTES};

pub(crate) const SEGMENT_MAGIC: [u8; 8] = *b"KSDBWAL1";
/// The format this engine writes.
pub(crate) const FORMAT_VERSION: u32 = 2;
/// The oldest format this engine reads.
pub(crate) const FORMAT_VERSION_MIN: u32 = 1;
pub(crate) const SEGMENT_HEADER_BYTES: usize = 32;
pub(crate) const FRAME_HEADER_BYTES: usize = 32;
/// Frames start at multiples of this within a segment.
pub(crate) const FRAME_ALIGN: usize = 8;
/// Put-block payload before the variable parts: id and three u32 lengths.
pub(crate) const PUT_BLOCK_FIXED_BYTES: usize = ID_BYTES + 12;
/// Edge payload: source id, target id, u16 type.
pub(crate) const EDGE_PAYLOAD_BYTES: usize = 2 * ID_BYTES + 2;
/// Delete-block payload in format 2: id, u32 count of the edges its group removed.
pub(crate) const DELETE_BLOCK_BYTES: usize = ID_BYTES + 4;
/// Deleted-edges payload before its entries: the deleted block's id.
pub(crate) const DELETED_EDGES_FIXED_BYTES: usize = ID_BYTES;
/// One deleted edge: the other end's id, u16 type, u8 direction (1: the deleted block is
/// the source), a zero byte.
pub(crate) const DELETED_EDGE_BYTES: usize = ID_BYTES + 4;
/// Flag of a format-2 put block: the put created its block (none was live).
pub(crate) const FLAG_CREATED: u8 = 1;
/// Length of a segment file name: `wal-` + 16 hex digits + `.log`.
pub(crate) const SEGMENT_NAME_BYTES: usize = 24;

const _: () = assert!(SEGMENT_HEADER_BYTES.is_multiple_of(FRAME_ALIGN));
const _: () = assert!(FRAME_HEADER_BYTES.is_multiple_of(FRAME_ALIGN));
const _: () = assert!(SEGMENT_NAME_BYTES <= crate::limits::FILE_NAME_BYTES_MAX);

pub(crate) const fn padded_bytes(len: usize) -> usize {
    len.div_ceil(FRAME_ALIGN) * FRAME_ALIGN
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RecordKind {
    PutBlock = 1,
    DeleteBlock = 2,
    PutEdge = 3,
    DeleteEdge = 4,
    /// Written by a clean close, payload empty: its synced position vouches for every frame
    /// before it, so damage to them is provably not a torn tail. Its sequence is the next
    /// write's; it consumes none.
    CloseMarker = 5,
    /// Format 2: edges a delete removed (the block's id, then `DELETED_EDGE_BYTES` each).
    DeletedEdges = 6,
}

impl RecordKind {
    fn from_byte(byte: u8) -> Option<RecordKind> {
        match byte {
            1 => Some(RecordKind::PutBlock),
            2 => Some(RecordKind::DeleteBlock),
            3 => Some(RecordKind::PutEdge),
            4 => Some(RecordKind::DeleteEdge),
            5 => Some(RecordKind::CloseMarker),
            6 => Some(RecordKind::DeletedEdges),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SegmentHeader {
    /// `FORMAT_VERSION_MIN..=FORMAT_VERSION`: how its frames are read.
    pub(crate) version: u32,
    pub(crate) segment_number: u64,
    pub(crate) start_position: u64,
}

impl SegmentHeader {
    pub(crate) fn encode(&self) -> [u8; SEGMENT_HEADER_BYTES] {
        let mut bytes = [0u8; SEGMENT_HEADER_BYTES];
        bytes[0..8].copy_from_slice(&SEGMENT_MAGIC);
        bytes[8..12].copy_from_slice(&self.version.to_le_bytes());
        bytes[16..24].copy_from_slice(&self.segment_number.to_le_bytes());
        bytes[24..32].copy_from_slice(&self.start_position.to_le_bytes());
        let crc = Self::checksum(&bytes);
        bytes[12..16].copy_from_slice(&crc.to_le_bytes());
        bytes
    }

    pub(crate) fn checksum(bytes: &[u8; SEGMENT_HEADER_BYTES]) -> u32 {
        let mut digest = crc32c::Digest::new();
        digest.update(&bytes[0..12]);
        digest.update(&bytes[16..32]);
        digest.finalize()
    }

    pub(crate) fn decode(bytes: &[u8; SEGMENT_HEADER_BYTES]) -> Option<SegmentHeader> {
        let version = u32_at(bytes, 8);
        let valid = bytes[0..8] == SEGMENT_MAGIC
            && (FORMAT_VERSION_MIN..=FORMAT_VERSION).contains(&version)
            && u32_at(bytes, 12) == Self::checksum(bytes);
        valid.then(|| SegmentHeader {
            version,
            segment_number: u64_at(bytes, 16),
            start_position: u64_at(bytes, 24),
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FrameHeader {
    pub(crate) payload_crc: u32,
    pub(crate) payload_bytes: u32,
    pub(crate) kind: RecordKind,
    /// Format 2: `FLAG_CREATED` on a put block; zero otherwise (and always in format 1).
    pub(crate) flags: u8,
    pub(crate) sequence: u64,
    pub(crate) synced_position: u64,
}

impl FrameHeader {
    pub(crate) fn frame_bytes(&self) -> usize {
        FRAME_HEADER_BYTES + padded_bytes(self.payload_bytes as usize)
    }

    pub(crate) fn encode(&self) -> [u8; FRAME_HEADER_BYTES] {
        let mut bytes = [0u8; FRAME_HEADER_BYTES];
        bytes[4..8].copy_from_slice(&self.payload_crc.to_le_bytes());
        bytes[8..12].copy_from_slice(&self.payload_bytes.to_le_bytes());
        bytes[12] = self.kind as u8;
        bytes[13] = self.flags;
        bytes[16..24].copy_from_slice(&self.sequence.to_le_bytes());
        bytes[24..32].copy_from_slice(&self.synced_position.to_le_bytes());
        let crc = crc32c::checksum(&bytes[4..]);
        bytes[0..4].copy_from_slice(&crc.to_le_bytes());
        bytes
    }

    /// The header if its checksum, reserved bytes and kind are valid.
    pub(crate) fn decode(bytes: &[u8]) -> Option<FrameHeader> {
        let bytes = bytes.get(..FRAME_HEADER_BYTES)?;
        if u32_at(bytes, 0) != crc32c::checksum(&bytes[4..]) || bytes[14..16] != [0, 0] {
            return None;
        }
        Some(FrameHeader {
            payload_crc: u32_at(bytes, 4),
            payload_bytes: u32_at(bytes, 8),
            kind: RecordKind::from_byte(bytes[12])?,
            flags: bytes[13],
            sequence: u64_at(bytes, 16),
            synced_position: u64_at(bytes, 24),
        })
    }
}

/// A decoded WAL record; slices borrow the read buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Record<'a> {
    /// `created`: whether the put created its block (format 2); `None` in format 1, where
    /// replay reads the tables to find out.
    PutBlock {
        id: BlockId,
        source_uri: &'a [u8],
        metadata_json: &'a [u8],
        content: &'a [u8],
        created: Option<bool>,
    },
    /// `edges_removed`: how many edges the delete's deleted-edges frames hold (format 2);
    /// `None` in format 1, where replay finds the edges in the tables.
    DeleteBlock {
        id: BlockId,
        edges_removed: Option<u32>,
    },
    DeletedEdges(DeletedEdges<'a>),
    PutEdge(Edge),
    DeleteEdge(Edge),
    CloseMarker,
}

/// Edges a delete of block `id` removed: its entries, each checked when decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DeletedEdges<'a> {
    pub(crate) id: BlockId,
    entries: &'a [u8],
}

impl<'a> DeletedEdges<'a> {
    /// Checks every entry: a known edge type, a direction of 0 or 1, a zero last byte, and
    /// a self-edge logged once (as outgoing).
    fn decode(payload: &'a [u8]) -> Option<DeletedEdges<'a>> {
        let id = id_at(payload.get(..DELETED_EDGES_FIXED_BYTES)?, 0);
        let entries = &payload[DELETED_EDGES_FIXED_BYTES..];
        if entries.is_empty() || !entries.len().is_multiple_of(DELETED_EDGE_BYTES) {
            return None;
        }
        let deleted = DeletedEdges { id, entries };
        for entry in entries.chunks_exact(DELETED_EDGE_BYTES) {
            let other = id_at(entry, 0);
            let code = u16::from_le_bytes([entry[ID_BYTES], entry[ID_BYTES + 1]]);
            let direction = entry[ID_BYTES + 2];
            let valid = EdgeType::from_code(code).is_ok()
                && (direction == 1 || (direction == 0 && other != id))
                && entry[ID_BYTES + 3] == 0
                && !other.is_zero();
            if !valid {
                return None;
            }
        }
        Some(deleted)
    }

    pub(crate) fn count(&self) -> usize {
        self.entries.len() / DELETED_EDGE_BYTES
    }

    /// The edges, each checked by `decode`.
    pub(crate) fn edges(&self) -> impl Iterator<Item = Edge> + 'a {
        let id = self.id;
        self.entries.chunks_exact(DELETED_EDGE_BYTES).filter_map(move |entry| {
            let other = id_at(entry, 0);
            let code = u16::from_le_bytes([entry[ID_BYTES], entry[ID_BYTES + 1]]);
            let edge_type = EdgeType::from_code(code).ok()?;
            Some(if entry[ID_BYTES + 2] == 1 {
                Edge { source: id, target: other, edge_type }
            } else {
                Edge { source: other, target: id, edge_type }
            })
        })
    }
}

/// The entry that logs `edge` as removed by deleting block `id` (one of its ends).
pub(crate) fn deleted_edge_entry(id: &BlockId, edge: &Edge) -> [u8; DELETED_EDGE_BYTES] {
    debug_assert!(edge.source == *id || edge.target == *id);
    let outgoing = edge.source == *id;
    let other = if outgoing { edge.target } else { edge.source };
    let mut bytes = [0u8; DELETED_EDGE_BYTES];
    bytes[..ID_BYTES].copy_from_slice(&other.0);
    bytes[ID_BYTES..ID_BYTES + 2].copy_from_slice(&edge.edge_type.code().to_le_bytes());
    bytes[ID_BYTES + 2] = u8::from(outgoing);
    bytes
}

/// Log bytes a delete that removes up to `edges` edges takes, `per_frame` (at least 1)
/// entries to a deleted-edges frame: those frames and the delete-block frame. The bytes in
/// u64: a config check computes them for `memtable_edges_max` on 32-bit targets too; the
/// counts divide in u32 (a u64 division is a library routine there).
pub(crate) const fn delete_log_bytes(edges: u32, per_frame: u32) -> u64 {
    const fn frame(entries: u32) -> u64 {
        let payload = DELETED_EDGES_FIXED_BYTES as u64 + entries as u64 * DELETED_EDGE_BYTES as u64;
        (FRAME_HEADER_BYTES as u64) + payload.div_ceil(FRAME_ALIGN as u64) * FRAME_ALIGN as u64
    }
    let rest = edges % per_frame;
    let rest_frame = if rest == 0 { 0 } else { frame(rest) };
    let delete_frame = FRAME_HEADER_BYTES + padded_bytes(DELETE_BLOCK_BYTES);
    (edges / per_frame) as u64 * frame(per_frame) + rest_frame + delete_frame as u64
}

/// The payload of a put-block record, before its variable parts.
pub(crate) fn put_block_fixed(id: &BlockId, lengths: [usize; 3]) -> [u8; PUT_BLOCK_FIXED_BYTES] {
    let mut bytes = [0u8; PUT_BLOCK_FIXED_BYTES];
    bytes[..ID_BYTES].copy_from_slice(&id.0);
    for (index, len) in lengths.iter().enumerate() {
        let at = ID_BYTES + 4 * index;
        // Lengths are bounded by the config limits (<= 16 MiB).
        bytes[at..at + 4].copy_from_slice(&narrow_u32(*len).to_le_bytes());
    }
    bytes
}

/// The payload of a format-2 delete-block record.
pub(crate) fn delete_block_payload(id: &BlockId, edges_removed: u32) -> [u8; DELETE_BLOCK_BYTES] {
    let mut bytes = [0u8; DELETE_BLOCK_BYTES];
    bytes[..ID_BYTES].copy_from_slice(&id.0);
    bytes[ID_BYTES..].copy_from_slice(&edges_removed.to_le_bytes());
    bytes
}

pub(crate) fn edge_payload(edge: &Edge) -> [u8; EDGE_PAYLOAD_BYTES] {
    let mut bytes = [0u8; EDGE_PAYLOAD_BYTES];
    bytes[..ID_BYTES].copy_from_slice(&edge.source.0);
    bytes[ID_BYTES..2 * ID_BYTES].copy_from_slice(&edge.target.0);
    bytes[2 * ID_BYTES..].copy_from_slice(&edge.edge_type.code().to_le_bytes());
    bytes
}

fn decode_put_block(payload: &[u8], created: Option<bool>) -> Option<Record<'_>> {
    let fixed = payload.get(..PUT_BLOCK_FIXED_BYTES)?;
    let uri_len = u32_at(fixed, ID_BYTES) as usize;
    let metadata_len = u32_at(fixed, ID_BYTES + 4) as usize;
    let content_len = u32_at(fixed, ID_BYTES + 8) as usize;
    let rest = &payload[PUT_BLOCK_FIXED_BYTES..];
    if uri_len.checked_add(metadata_len)?.checked_add(content_len)? != rest.len() {
        return None;
    }
    let (source_uri, rest) = rest.split_at(uri_len);
    let (metadata_json, content) = rest.split_at(metadata_len);
    Some(Record::PutBlock { id: id_at(fixed, 0), source_uri, metadata_json, content, created })
}

fn decode_edge(payload: &[u8]) -> Option<Edge> {
    if payload.len() != EDGE_PAYLOAD_BYTES {
        return None;
    }
    let code = u16::from_le_bytes([payload[2 * ID_BYTES], payload[2 * ID_BYTES + 1]]);
    Some(Edge {
        source: id_at(payload, 0),
        target: id_at(payload, ID_BYTES),
        edge_type: EdgeType::from_code(code).ok()?,
    })
}

/// Decodes the payload of a frame whose checksums passed, read from a segment of format
/// `version`. `None` if its shape or flags are wrong for its kind and format.
pub(crate) fn decode_record<'a>(
    version: u32,
    header: &FrameHeader,
    payload: &'a [u8],
) -> Option<Record<'a>> {
    let format_2 = version >= 2;
    let flags_valid = match header.kind {
        RecordKind::PutBlock if format_2 => header.flags & !FLAG_CREATED == 0,
        _ => header.flags == 0,
    };
    if !flags_valid {
        return None;
    }
    match header.kind {
        RecordKind::PutBlock => {
            decode_put_block(payload, format_2.then_some(header.flags & FLAG_CREATED != 0))
        }
        RecordKind::DeleteBlock if format_2 && payload.len() == DELETE_BLOCK_BYTES => {
            let edges_removed = Some(u32_at(payload, ID_BYTES));
            Some(Record::DeleteBlock { id: id_at(payload, 0), edges_removed })
        }
        RecordKind::DeleteBlock if !format_2 && payload.len() == ID_BYTES => {
            Some(Record::DeleteBlock { id: id_at(payload, 0), edges_removed: None })
        }
        RecordKind::DeletedEdges if format_2 => {
            DeletedEdges::decode(payload).map(Record::DeletedEdges)
        }
        RecordKind::PutEdge => decode_edge(payload).map(Record::PutEdge),
        RecordKind::DeleteEdge => decode_edge(payload).map(Record::DeleteEdge),
        RecordKind::CloseMarker if payload.is_empty() => Some(Record::CloseMarker),
        _ => None,
    }
}

/// Writes the segment file name for `number` into `buffer`.
pub(crate) fn segment_name(number: u64, buffer: &mut [u8; SEGMENT_NAME_BYTES]) -> &str {
    crate::names::numbered_name(b"wal-", number, b".log", buffer)
}

/// The segment number of a WAL segment file name, or `None` for any other name.
pub(crate) fn parse_segment_name(name: &[u8]) -> Option<u64> {
    crate::names::parse_numbered_name(name, b"wal-", b".log")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip_and_any_flipped_bit_is_detected() {
        let header = FrameHeader {
            payload_crc: 0xdead_beef,
            payload_bytes: 1000,
            kind: RecordKind::PutEdge,
            flags: 0,
            sequence: 42,
            synced_position: 4096,
        };
        let bytes = header.encode();
        assert_eq!(FrameHeader::decode(&bytes), Some(header));
        for bit in 0..FRAME_HEADER_BYTES * 8 {
            let mut flipped = bytes;
            flipped[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(FrameHeader::decode(&flipped), None, "bit {bit}");
        }
        let segment =
            SegmentHeader { version: FORMAT_VERSION, segment_number: 7, start_position: 1 << 40 };
        let bytes = segment.encode();
        assert_eq!(SegmentHeader::decode(&bytes), Some(segment));
        for bit in 0..SEGMENT_HEADER_BYTES * 8 {
            let mut flipped = bytes;
            flipped[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(SegmentHeader::decode(&flipped), None, "bit {bit}");
        }
        assert_eq!(FrameHeader::decode(&[0u8; 32]), None);
    }

    #[test]
    fn the_checksum_is_crc32c_as_documented() {
        assert_eq!(crc32c::checksum(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn segment_names_round_trip() {
        let mut buffer = [0u8; SEGMENT_NAME_BYTES];
        assert_eq!(segment_name(0x1f, &mut buffer), "wal-000000000000001f.log");
        assert_eq!(parse_segment_name(b"wal-000000000000001f.log"), Some(0x1f));
        assert_eq!(parse_segment_name(b"wal-000000000000001F.log"), None);
        assert_eq!(parse_segment_name(b"wal-1f.log"), None);
        assert_eq!(parse_segment_name(b"manifest"), None);
    }

    #[test]
    fn records_with_inconsistent_lengths_or_flags_do_not_decode() {
        let header = |kind: RecordKind, flags: u8| FrameHeader {
            payload_crc: 0,
            payload_bytes: 0,
            kind,
            flags,
            sequence: 1,
            synced_position: 0,
        };
        let id = BlockId::from_u128(9);
        let fixed = put_block_fixed(&id, [1, 2, 3]);
        let mut payload = [0u8; PUT_BLOCK_FIXED_BYTES + 6];
        payload[..PUT_BLOCK_FIXED_BYTES].copy_from_slice(&fixed);
        payload[PUT_BLOCK_FIXED_BYTES..].copy_from_slice(b"u{}\"c\"");
        let put = header(RecordKind::PutBlock, FLAG_CREATED);
        match decode_record(2, &put, &payload) {
            Some(Record::PutBlock { id: got, source_uri, metadata_json, content, created }) => {
                assert_eq!(
                    (got, source_uri, metadata_json, content, created),
                    (id, &b"u"[..], &b"{}"[..], &b"\"c\""[..], Some(true))
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(decode_record(2, &put, &payload[..payload.len() - 1]), None);
        // Format 1 has no flags; format 2 has only FLAG_CREATED, and only on puts.
        assert_eq!(decode_record(1, &put, &payload), None);
        assert_eq!(decode_record(2, &header(RecordKind::PutBlock, 2), &payload), None);
        assert_eq!(decode_record(2, &header(RecordKind::DeleteBlock, 1), &[0; 20]), None);
        let delete = header(RecordKind::DeleteBlock, 0);
        assert_eq!(decode_record(2, &delete, &payload), None);
        assert_eq!(decode_record(2, &delete, &[0; ID_BYTES]), None);
        assert!(decode_record(1, &delete, &[0; ID_BYTES]).is_some());
        let mut edge = [0u8; EDGE_PAYLOAD_BYTES];
        edge[2 * ID_BYTES] = 12; // a reserved edge type
        assert_eq!(decode_record(2, &header(RecordKind::PutEdge, 0), &edge), None);
    }

    #[test]
    fn deleted_edges_round_trip_and_bad_entries_do_not_decode() {
        let id = BlockId::from_u128(5);
        let other = BlockId::from_u128(6);
        let edges = [
            Edge { source: id, target: other, edge_type: EdgeType::CALLS },
            Edge { source: other, target: id, edge_type: EdgeType::IMPORTS },
            Edge { source: id, target: id, edge_type: EdgeType::CALLS },
        ];
        let mut payload = [0u8; DELETED_EDGES_FIXED_BYTES + 3 * DELETED_EDGE_BYTES];
        payload[..ID_BYTES].copy_from_slice(&id.0);
        for (index, edge) in edges.iter().enumerate() {
            let at = DELETED_EDGES_FIXED_BYTES + index * DELETED_EDGE_BYTES;
            payload[at..at + DELETED_EDGE_BYTES].copy_from_slice(&deleted_edge_entry(&id, edge));
        }
        let header = FrameHeader {
            payload_crc: 0,
            payload_bytes: 0,
            kind: RecordKind::DeletedEdges,
            flags: 0,
            sequence: 1,
            synced_position: 0,
        };
        let Some(Record::DeletedEdges(deleted)) = decode_record(2, &header, &payload) else {
            panic!("valid deleted edges did not decode");
        };
        assert_eq!((deleted.id, deleted.count()), (id, 3));
        assert!(deleted.edges().eq(edges.iter().copied()));
        assert_eq!(decode_record(1, &header, &payload), None, "format 1 has no such frames");
        assert_eq!(decode_record(2, &header, &payload[..ID_BYTES]), None, "no entries");
        assert_eq!(decode_record(2, &header, &payload[..payload.len() - 1]), None);
        for (at, value) in [(ID_BYTES + 2, 2), (ID_BYTES + 3, 1), (ID_BYTES + 1, 0x10)] {
            let mut bad = payload;
            bad[DELETED_EDGES_FIXED_BYTES + at] = value;
            assert_eq!(decode_record(2, &header, &bad), None, "byte {at} = {value}");
        }
        // The self-edge, logged as incoming, is not canonical.
        let mut bad = payload;
        bad[DELETED_EDGES_FIXED_BYTES + 2 * DELETED_EDGE_BYTES + ID_BYTES + 2] = 0;
        assert_eq!(decode_record(2, &header, &bad), None);
        assert_eq!(delete_log_bytes(0, 4), 56);
        assert_eq!(delete_log_bytes(4, 4), 32 + 96 + 56);
        assert_eq!(delete_log_bytes(5, 4), 32 + 96 + 32 + 40 + 56);
    }
}
