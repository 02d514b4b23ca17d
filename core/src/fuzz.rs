//! Entry points for the fuzz targets in `fuzz/`: every decoder of bytes read from disk, run
//! on arbitrary input. Checksums in front of a decoder are made valid first, so the fuzzer
//! reaches the structure behind them instead of stopping at a CRC mismatch; where an encoder
//! exists, whatever decodes must encode back to the same bytes, so a decoder that accepts
//! too much (or reads a field from the wrong place) fails as surely as one that panics.
//!
//! Built only with the `fuzzing` feature; not part of the API. Panics here are the oracle:
//! the fuzzer reports them as findings.
#![allow(clippy::missing_panics_doc)]

use crate::crc32c;
use crate::id::BlockId;
use crate::manifest::{Manifest, MANIFEST_BYTES_MAX};
use crate::record::{BlockRecord, EdgeRecord};
use crate::table::bloom;
use crate::table::format::{
    open_page, parse_table_name, search_records, table_name, Footer, IndexEntry, Section,
    EDGE_RECORD_BYTES, FOOTER_BYTES, INDEX_ENTRY_BYTES, PAGE_HEADER_BYTES, TABLE_NAME_BYTES,
    TRAILER_BYTES_PER_RECORD,
};
use crate::wal::format::{
    decode_record, delete_block_payload, deleted_edge_entry, edge_payload, padded_bytes,
    parse_segment_name, put_block_fixed, segment_name, FrameHeader, Record, SegmentHeader,
    DELETED_EDGES_FIXED_BYTES, DELETED_EDGE_BYTES, FRAME_HEADER_BYTES, SEGMENT_HEADER_BYTES,
    SEGMENT_NAME_BYTES,
};

/// Pages longer than this are cut: the copy that gets a valid CRC lives on the stack.
pub const PAGE_BYTES_MAX: usize = 4096;

/// A WAL segment's bytes: the first byte picks the record format (1 or 2); then a segment
/// header and frames, each header given a valid CRC, each payload decoded as a record.
pub fn wal_segment(bytes: &[u8]) {
    let Some((&format, rest)) = bytes.split_first() else { return };
    let version = 1 + u32::from(format & 1);
    let Some((header, mut frames)) = rest.split_first_chunk::<SEGMENT_HEADER_BYTES>() else {
        return;
    };
    let mut header = *header;
    fix_segment_crc(&mut header);
    if let Some(decoded) = SegmentHeader::decode(&header) {
        assert_eq!(decoded.encode(), header, "a segment header must round-trip");
    }
    while let Some((frame, rest)) = frames.split_first_chunk::<FRAME_HEADER_BYTES>() {
        let mut frame = *frame;
        let crc = crc32c::checksum(&frame[4..]);
        frame[..4].copy_from_slice(&crc.to_le_bytes());
        let Some(header) = FrameHeader::decode(&frame) else { return };
        assert_eq!(header.encode(), frame, "a frame header must round-trip");
        let Some(payload) = rest.get(..header.payload_bytes as usize) else { return };
        if let Some(record) = decode_record(version, &header, payload) {
            check_record_encodes_back(&record, payload);
        }
        let skip = padded_bytes(payload.len());
        frames = rest.get(skip..).unwrap_or(&[]);
    }
}

fn fix_segment_crc(header: &mut [u8; SEGMENT_HEADER_BYTES]) {
    let crc = SegmentHeader::checksum(header);
    header[12..16].copy_from_slice(&crc.to_le_bytes());
}

fn fix_footer_crc(footer: &mut [u8; FOOTER_BYTES]) {
    let crc = Footer::checksum(footer);
    footer[12..16].copy_from_slice(&crc.to_le_bytes());
}

/// A decoded record must be exactly what the write path would have framed.
fn check_record_encodes_back(record: &Record<'_>, payload: &[u8]) {
    match record {
        Record::PutBlock { id, source_uri, metadata_json, content, .. } => {
            let lengths = [source_uri.len(), metadata_json.len(), content.len()];
            let fixed = put_block_fixed(id, lengths);
            let (head, parts) = payload.split_at(fixed.len());
            assert_eq!(head, fixed, "a put-block record must round-trip");
            let uri_end = source_uri.len();
            let metadata_end = uri_end + metadata_json.len();
            assert_eq!(&parts[..uri_end], *source_uri);
            assert_eq!(&parts[uri_end..metadata_end], *metadata_json);
            assert_eq!(&parts[metadata_end..], *content);
        }
        Record::DeleteBlock { id, edges_removed: Some(removed) } => {
            assert_eq!(payload, delete_block_payload(id, *removed));
        }
        Record::DeleteBlock { id, edges_removed: None } => assert_eq!(payload, id.0),
        Record::DeletedEdges(deleted) => {
            let entries = &payload[DELETED_EDGES_FIXED_BYTES..];
            let mut count = 0;
            for (edge, entry) in deleted.edges().zip(entries.chunks_exact(DELETED_EDGE_BYTES)) {
                assert_eq!(deleted_edge_entry(&deleted.id, &edge), entry);
                count += 1;
            }
            assert_eq!(count, deleted.count(), "every deleted edge must decode");
        }
        Record::PutEdge(edge) | Record::DeleteEdge(edge) => {
            assert_eq!(payload, edge_payload(edge), "an edge record must round-trip");
        }
        Record::CloseMarker => assert!(payload.is_empty()),
    }
}

/// A table's parts: the first 72 bytes as a footer, then a page (cut to `PAGE_BYTES_MAX`)
/// with a valid CRC, and the same bytes as index entries and as a bloom filter.
pub fn table_parts(bytes: &[u8]) {
    if let Some((footer, _)) = bytes.split_first_chunk::<FOOTER_BYTES>() {
        let mut footer = *footer;
        fix_footer_crc(&mut footer);
        if let Some(decoded) = Footer::decode(&footer) {
            assert_eq!(decoded.encode(), footer, "a footer must round-trip");
        }
    }
    for entry in bytes.chunks_exact(INDEX_ENTRY_BYTES) {
        if let Some(decoded) = IndexEntry::decode(entry) {
            let mut unreserved = [0u8; INDEX_ENTRY_BYTES];
            unreserved.copy_from_slice(entry);
            unreserved[13] = 0;
            unreserved[50..].fill(0);
            assert_eq!(decoded.encode(), unreserved, "an index entry must round-trip");
        }
    }
    let data_end = bytes.first_chunk::<8>().map_or(0, |word| u64::from_le_bytes(*word));
    let _ = crate::table::open::check_index(bytes, data_end, data_end % 2 == 0);
    let id = BlockId(*bytes.first_chunk::<16>().unwrap_or(&[1; 16]));
    let last = bytes.last().copied().unwrap_or(0);
    let shape = bloom::BloomShape { hashes: u32::from(last % 32), blocked: last >= 128 };
    // Filters are a power of two bytes long (checked at open).
    let filter_len = if bytes.is_empty() { 0 } else { 1 << bytes.len().ilog2() };
    let filter = &bytes[..filter_len];
    let _ = bloom::may_contain(filter, shape, &id);
    let _ = bloom::may_contain_incoming(filter, shape, &id);
    table_page(bytes);
}

/// One data page with a valid CRC: its records decode within the page, encode back, and a
/// block page's search finds what a linear scan of its trailer finds.
fn table_page(bytes: &[u8]) {
    let mut page = [0u8; PAGE_BYTES_MAX];
    let len = bytes.len().min(PAGE_BYTES_MAX);
    page[..len].copy_from_slice(&bytes[..len]);
    let page = &mut page[..len];
    if len < PAGE_HEADER_BYTES {
        return;
    }
    let crc = crc32c::checksum(&page[4..]);
    page[..4].copy_from_slice(&crc.to_le_bytes());
    let Some((section, count)) = open_page(page) else { return };
    let body = &page[PAGE_HEADER_BYTES..];
    match section {
        Section::Blocks => check_block_page(body, count),
        Section::OutEdges | Section::InEdges => {
            for record in body.chunks_exact(EDGE_RECORD_BYTES).take(count as usize) {
                if let Some(decoded) = EdgeRecord::decode(record) {
                    assert_eq!(decoded.encode(), record, "an edge record must round-trip");
                }
            }
        }
        Section::Index | Section::Bloom => {}
    }
}

fn check_block_page(body: &[u8], count: u32) {
    let Some(trailer_bytes) = (count as usize).checked_mul(TRAILER_BYTES_PER_RECORD) else {
        return;
    };
    let Some(trailer_at) = body.len().checked_sub(trailer_bytes) else {
        assert!(search_records(body, count, &BlockId([7; 16])).is_err());
        return;
    };
    let entries = || body[trailer_at..].chunks_exact(TRAILER_BYTES_PER_RECORD);
    let id_of = |entry: &[u8]| BlockId(*entry.first_chunk::<16>().unwrap_or(&[0; 16]));
    let offset_of = |entry: &[u8]| {
        u32::from_le_bytes(*entry[16..].first_chunk::<4>().unwrap_or(&[0; 4])) as usize
    };
    let sorted = entries().zip(entries().skip(1)).all(|(a, b)| a[..16] <= b[..16]);
    for entry in entries() {
        let id = id_of(entry);
        let found = search_records(body, count, &id);
        if sorted {
            // The first entry with this id, as a linear scan finds it.
            let first = entries().find(|other| id_of(other) == id).unwrap_or(entry);
            let expected = offset_of(first);
            match found {
                Ok(Some(at)) => assert_eq!(at, expected, "search must find the first entry"),
                Ok(None) => panic!("search missed an id"), // INVARIANT: the oracle (fuzzing)
                Err(()) => assert!(expected + 16 > trailer_at, "search refused a valid offset"),
            }
        }
        if let Ok(Some(at)) = found {
            if let Some((record, record_bytes)) = BlockRecord::decode(&body[at..trailer_at]) {
                assert!(record_bytes <= trailer_at - at);
                assert_eq!(record.encoded_bytes(), record_bytes);
            }
        }
    }
}

/// Gives a whole table file valid checksums again after damage: the footer's, then (as far
/// as the footer and index still describe them) the index, bloom and data pages'. The
/// `recovery` target damages a table and seals it, so the table reader's checks behind the
/// checksums (lengths, sections, order, offsets) meet the damage, not the CRC in front.
pub fn seal_table(bytes: &mut [u8]) {
    let Some(footer_at) = bytes.len().checked_sub(FOOTER_BYTES) else { return };
    let Some(footer) = bytes.get_mut(footer_at..).and_then(|f| f.first_chunk_mut::<FOOTER_BYTES>())
    else {
        return;
    };
    fix_footer_crc(footer);
    let Some(footer) = Footer::decode(footer) else { return };
    let pages = [
        (footer.index_offset, footer.index_page_bytes),
        (footer.bloom_offset, footer.bloom_page_bytes),
    ];
    let index = page_range(bytes.len(), footer.index_offset, footer.index_page_bytes);
    let mut data_pages = [(0u64, 0u32); 64];
    let mut data_count = 0;
    if let Some(index) = index {
        let body = &bytes[index.start.saturating_add(PAGE_HEADER_BYTES).min(index.end)..index.end];
        for entry in body.chunks_exact(INDEX_ENTRY_BYTES).take(data_pages.len()) {
            if let Some(entry) = IndexEntry::decode(entry) {
                data_pages[data_count] = (entry.offset, entry.len);
                data_count += 1;
            }
        }
    }
    for (offset, len) in data_pages[..data_count].iter().chain(pages.iter()) {
        if let Some(range) = page_range(bytes.len(), *offset, *len) {
            let page = &mut bytes[range];
            let crc = crc32c::checksum(&page[4..]);
            page[..4].copy_from_slice(&crc.to_le_bytes());
        }
    }
}

/// Gives a WAL segment valid checksums again after damage: its header's, then each frame's
/// header and payload checksums, walking the frames as recovery does (by each header's
/// payload length) until a zero header or the end. Recovery's checks behind the checksums
/// (kinds, flags, sequences, delete groups, segment numbers) then meet the damage.
pub fn seal_wal_segment(bytes: &mut [u8]) {
    let Some(header) = bytes.first_chunk_mut::<SEGMENT_HEADER_BYTES>() else { return };
    fix_segment_crc(header);
    let mut at = SEGMENT_HEADER_BYTES;
    while let Some(frame) = bytes.get(at..at.saturating_add(FRAME_HEADER_BYTES)) {
        if frame.iter().all(|byte| *byte == 0) {
            return;
        }
        let payload_bytes = u32::from_le_bytes([frame[8], frame[9], frame[10], frame[11]]);
        let payload_at = at + FRAME_HEADER_BYTES;
        let Some(end) = payload_at.checked_add(padded_bytes(payload_bytes as usize)) else {
            return;
        };
        let Some(padded_payload) = bytes.get(payload_at..end) else { return };
        let payload_crc = crc32c::checksum(padded_payload);
        bytes[at + 4..at + 8].copy_from_slice(&payload_crc.to_le_bytes());
        let header_crc = crc32c::checksum(&bytes[at + 4..payload_at]);
        bytes[at..at + 4].copy_from_slice(&header_crc.to_le_bytes());
        at = end;
    }
}

/// Gives a manifest a valid checksum again after damage.
pub fn seal_manifest(bytes: &mut [u8]) {
    if bytes.len() >= 16 {
        let crc = crc32c::checksum(&bytes[16..]);
        bytes[12..16].copy_from_slice(&crc.to_le_bytes());
    }
}

/// The bytes of a page of `len` at `offset`, if it lies in a file of `file_len` and has a
/// header.
fn page_range(file_len: usize, offset: u64, len: u32) -> Option<core::ops::Range<usize>> {
    let start = usize::try_from(offset).ok()?;
    let end = start.checked_add(len as usize)?;
    (end <= file_len && len as usize >= PAGE_HEADER_BYTES).then_some(start..end)
}

/// Bytes as a manifest, its CRC made valid: whatever decodes encodes back to them.
pub fn manifest(bytes: &[u8]) {
    let mut copy = [0u8; MANIFEST_BYTES_MAX];
    let len = bytes.len().min(MANIFEST_BYTES_MAX);
    copy[..len].copy_from_slice(&bytes[..len]);
    if len >= 16 {
        let crc = crc32c::checksum(&copy[16..len]);
        copy[12..16].copy_from_slice(&crc.to_le_bytes());
    }
    if let Ok(decoded) = Manifest::decode(&copy[..len]) {
        let mut encoded = [0u8; MANIFEST_BYTES_MAX];
        let encoded_len = decoded.encode(&mut encoded);
        if len == encoded_len {
            assert_eq!(encoded[..len], copy[..len], "a manifest must round-trip");
        }
    }
}

/// Bytes as a file name: a parsed number names the file back.
pub fn file_name(bytes: &[u8]) {
    if let Some(number) = parse_segment_name(bytes) {
        let mut buffer = [0u8; SEGMENT_NAME_BYTES];
        assert_eq!(segment_name(number, &mut buffer).as_bytes(), bytes);
    }
    if let Some(number) = parse_table_name(bytes) {
        let mut buffer = [0u8; TABLE_NAME_BYTES];
        assert_eq!(table_name(number, &mut buffer).as_bytes(), bytes);
    }
}
