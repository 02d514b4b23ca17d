//! The WAL's byte layout (all integers little-endian; see docs/FORMAT.md).
//!
//! A segment file `wal-<16 hex digits>.log` starts with a 32-byte header:
//!
//! | bytes  | field                                                    |
//! |--------|----------------------------------------------------------|
//! | 0..8   | magic `KSDBWAL1`                                          |
//! | 8..12  | format version (1)                                       |
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
//! | 12     | record kind: 1 put block, 2 delete block, 3 put edge, 4 delete edge, 5 close marker |
//! | 13..16 | zero                                                     |
//! | 16..24 | sequence (each write's engine-assigned sequence, +1 per frame) |
//! | 24..32 | synced position: log position durable when this frame was written |
//!
//! The header CRC covers the payload CRC, so together they cover header and payload.
//! A log position counts frame bytes from the first frame ever written; segment headers do
//! not count. The synced position lets recovery tell a torn tail (nothing later claims the
//! damaged bytes were durable) from damage to synced data (a later frame does).

use crate::codec::{narrow_u32, u32_at, u64_at, CASTAGNOLI};
use crate::edge::{Edge, EdgeType};
use crate::id::id_at;
use crate::id::{BlockId, ID_BYTES};

pub(crate) const SEGMENT_MAGIC: [u8; 8] = *b"KSDBWAL1";
pub(crate) const FORMAT_VERSION: u32 = 1;
pub(crate) const SEGMENT_HEADER_BYTES: usize = 32;
pub(crate) const FRAME_HEADER_BYTES: usize = 32;
/// Frames start at multiples of this within a segment.
pub(crate) const FRAME_ALIGN: usize = 8;
/// Put-block payload before the variable parts: id and three u32 lengths.
pub(crate) const PUT_BLOCK_FIXED_BYTES: usize = ID_BYTES + 12;
/// Edge payload: source id, target id, u16 type.
pub(crate) const EDGE_PAYLOAD_BYTES: usize = 2 * ID_BYTES + 2;
/// Length of a segment file name: `wal-` + 16 hex digits + `.log`.
pub(crate) const SEGMENT_NAME_BYTES: usize = 24;

const _: () = assert!(SEGMENT_HEADER_BYTES % FRAME_ALIGN == 0);
const _: () = assert!(FRAME_HEADER_BYTES % FRAME_ALIGN == 0);
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
}

impl RecordKind {
    fn from_byte(byte: u8) -> Option<RecordKind> {
        match byte {
            1 => Some(RecordKind::PutBlock),
            2 => Some(RecordKind::DeleteBlock),
            3 => Some(RecordKind::PutEdge),
            4 => Some(RecordKind::DeleteEdge),
            5 => Some(RecordKind::CloseMarker),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SegmentHeader {
    pub(crate) segment_number: u64,
    pub(crate) start_position: u64,
}

impl SegmentHeader {
    pub(crate) fn encode(&self) -> [u8; SEGMENT_HEADER_BYTES] {
        let mut bytes = [0u8; SEGMENT_HEADER_BYTES];
        bytes[0..8].copy_from_slice(&SEGMENT_MAGIC);
        bytes[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        bytes[16..24].copy_from_slice(&self.segment_number.to_le_bytes());
        bytes[24..32].copy_from_slice(&self.start_position.to_le_bytes());
        let crc = Self::checksum(&bytes);
        bytes[12..16].copy_from_slice(&crc.to_le_bytes());
        bytes
    }

    fn checksum(bytes: &[u8; SEGMENT_HEADER_BYTES]) -> u32 {
        let mut digest = CASTAGNOLI.digest();
        digest.update(&bytes[0..12]);
        digest.update(&bytes[16..32]);
        digest.finalize()
    }

    pub(crate) fn decode(bytes: &[u8; SEGMENT_HEADER_BYTES]) -> Option<SegmentHeader> {
        let valid = bytes[0..8] == SEGMENT_MAGIC
            && u32_at(bytes, 8) == FORMAT_VERSION
            && u32_at(bytes, 12) == Self::checksum(bytes);
        valid.then(|| SegmentHeader {
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
        bytes[16..24].copy_from_slice(&self.sequence.to_le_bytes());
        bytes[24..32].copy_from_slice(&self.synced_position.to_le_bytes());
        let crc = CASTAGNOLI.checksum(&bytes[4..]);
        bytes[0..4].copy_from_slice(&crc.to_le_bytes());
        bytes
    }

    /// The header if its checksum, reserved bytes and kind are valid.
    pub(crate) fn decode(bytes: &[u8]) -> Option<FrameHeader> {
        let bytes = bytes.get(..FRAME_HEADER_BYTES)?;
        if u32_at(bytes, 0) != CASTAGNOLI.checksum(&bytes[4..]) || bytes[13..16] != [0, 0, 0] {
            return None;
        }
        Some(FrameHeader {
            payload_crc: u32_at(bytes, 4),
            payload_bytes: u32_at(bytes, 8),
            kind: RecordKind::from_byte(bytes[12])?,
            sequence: u64_at(bytes, 16),
            synced_position: u64_at(bytes, 24),
        })
    }
}

/// A decoded WAL record; slices borrow the read buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Record<'a> {
    PutBlock { id: BlockId, source_uri: &'a [u8], metadata_json: &'a [u8], content: &'a [u8] },
    DeleteBlock { id: BlockId },
    PutEdge(Edge),
    DeleteEdge(Edge),
    CloseMarker,
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

pub(crate) fn edge_payload(edge: &Edge) -> [u8; EDGE_PAYLOAD_BYTES] {
    let mut bytes = [0u8; EDGE_PAYLOAD_BYTES];
    bytes[..ID_BYTES].copy_from_slice(&edge.source.0);
    bytes[ID_BYTES..2 * ID_BYTES].copy_from_slice(&edge.target.0);
    bytes[2 * ID_BYTES..].copy_from_slice(&edge.edge_type.code().to_le_bytes());
    bytes
}

/// Decodes a payload whose checksum passed. `None` if its shape is wrong for its kind.
pub(crate) fn decode_record(kind: RecordKind, payload: &[u8]) -> Option<Record<'_>> {
    match kind {
        RecordKind::PutBlock => {
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
            Some(Record::PutBlock { id: id_at(fixed, 0), source_uri, metadata_json, content })
        }
        RecordKind::DeleteBlock if payload.len() == ID_BYTES => {
            Some(Record::DeleteBlock { id: id_at(payload, 0) })
        }
        RecordKind::PutEdge | RecordKind::DeleteEdge if payload.len() == EDGE_PAYLOAD_BYTES => {
            let code = u16::from_le_bytes([payload[2 * ID_BYTES], payload[2 * ID_BYTES + 1]]);
            let edge = Edge {
                source: id_at(payload, 0),
                target: id_at(payload, ID_BYTES),
                edge_type: EdgeType::from_code(code).ok()?,
            };
            Some(if kind == RecordKind::PutEdge {
                Record::PutEdge(edge)
            } else {
                Record::DeleteEdge(edge)
            })
        }
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
        let segment = SegmentHeader { segment_number: 7, start_position: 1 << 40 };
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
        assert_eq!(CASTAGNOLI.checksum(b"123456789"), 0xE306_9283);
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
    fn records_with_inconsistent_lengths_do_not_decode() {
        let id = BlockId::from_u128(9);
        let fixed = put_block_fixed(&id, [1, 2, 3]);
        let mut payload = [0u8; PUT_BLOCK_FIXED_BYTES + 6];
        payload[..PUT_BLOCK_FIXED_BYTES].copy_from_slice(&fixed);
        payload[PUT_BLOCK_FIXED_BYTES..].copy_from_slice(b"u{}\"c\"");
        match decode_record(RecordKind::PutBlock, &payload) {
            Some(Record::PutBlock { id: got, source_uri, metadata_json, content }) => {
                assert_eq!(
                    (got, source_uri, metadata_json, content),
                    (id, &b"u"[..], &b"{}"[..], &b"\"c\""[..])
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(decode_record(RecordKind::PutBlock, &payload[..payload.len() - 1]), None);
        assert_eq!(decode_record(RecordKind::DeleteBlock, &payload), None);
        let mut edge = [0u8; EDGE_PAYLOAD_BYTES];
        edge[2 * ID_BYTES] = 12; // a reserved edge type
        assert_eq!(decode_record(RecordKind::PutEdge, &edge), None);
    }
}
