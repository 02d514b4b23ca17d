//! The sorted-table byte layout (little-endian integers; see docs/FORMAT.md).
//!
//! ```text
//! [page]* [index page] [bloom page] [footer: 72 bytes]
//! ```
//! Every page starts with a 16-byte header: CRC32C of the rest of the page (u32), the
//! page's length including the header (u32), its section (u8), 3 zero bytes, and the
//! number of records (u32). Pages hold records of one section, in key order:
//! blocks (by id), then outgoing edges (by source, type, target), then incoming edges
//! (by target, type, source).

use crate::codec::{narrow_u32, u32_at, u64_at};
use crate::crc32c;
use crate::edge::EdgeType;
use crate::id::id_at;
use crate::id::{BlockId, ID_BYTES};
use crate::record::{BlockRecord, EdgeRecord, KEY_BYTES};
use crate::table::buckets::EdgeBuckets;
use crate::table::search::lower_bound;

pub(crate) const TABLE_MAGIC: [u8; 8] = *b"KSDBTBL1";
/// 3: block pages end with a trailer of (id, offset) per record, so a lookup
/// binary-searches the trailer alone and then reads one record. 4: the bloom filter holds
/// the incoming edges' targets. 5: edge pages may end with a bucket directory
/// (`EdgeBuckets`), which their index entries describe. 6: the bloom filter is blocked, a
/// key's bits in one 64-byte block (`bloom::BloomShape`).
pub(crate) const TABLE_VERSION: u32 = 6;
/// The version whose bloom filter first held the incoming edges' targets.
pub(crate) const TABLE_VERSION_INCOMING_BLOOM: u32 = 4;
/// The version whose edge pages may first end with a bucket directory.
pub(crate) const TABLE_VERSION_EDGE_BUCKETS: u32 = 5;
/// The version whose bloom filter was first blocked.
pub(crate) const TABLE_VERSION_BLOCKED_BLOOM: u32 = 6;

/// The oldest table version a reader accepts: version 3 differs only in that its bloom
/// filter holds no incoming edges' targets (`Footer::bloom_has_incoming`).
pub(crate) const TABLE_VERSION_OLDEST: u32 = 3;
/// Bytes of the trailer per record of a block page: the id and a u32 offset.
pub(crate) const TRAILER_BYTES_PER_RECORD: usize = ID_BYTES + 4;
pub(crate) const PAGE_HEADER_BYTES: usize = 16;
pub(crate) const FOOTER_BYTES: usize = 72;
/// A block record before its payload: id, sequence, flags, three u32 lengths.
pub(crate) const BLOCK_RECORD_FIXED_BYTES: usize = ID_BYTES + 8 + 1 + 12;
/// An edge record: key id, edge type (big-endian, so keys sort as bytes), other id, flags.
pub(crate) const EDGE_RECORD_BYTES: usize = 2 * ID_BYTES + 2 + 1;
/// An index entry: offset u64, length u32, section u8, a zero byte, the page's bucket
/// directory (bits u8, shift u8; version 5), key (34 bytes), 6 zero bytes.
pub(crate) const INDEX_ENTRY_BYTES: usize = 56;
/// Where an index entry holds its section byte and its first key.
pub(crate) const INDEX_SECTION_AT: usize = 12;
pub(crate) const INDEX_KEY_AT: usize = 16;
/// The zero byte after the section byte. On disk it is zero (a reader rejects others); the
/// table pool's copy of the index uses it as the mark `INDEX_VERIFIED`: this entry's page had
/// its CRC checked in this process.
pub(crate) const INDEX_RESERVED_AT: usize = 13;
pub(crate) const INDEX_RESERVED_BYTES: usize = 1;
pub(crate) const INDEX_VERIFIED: u8 = 1;
/// Where an index entry describes its page's bucket directory: bits, then shift (zero
/// before version 5, and for pages without one).
pub(crate) const INDEX_BUCKETS_AT: usize = 14;

pub(crate) const FLAG_TOMBSTONE: u8 = 1;

const _: () = assert!(INDEX_KEY_AT + KEY_BYTES <= INDEX_ENTRY_BYTES);
const _: () = assert!(INDEX_SECTION_AT < INDEX_RESERVED_AT);
const _: () = assert!(INDEX_RESERVED_AT + INDEX_RESERVED_BYTES <= INDEX_BUCKETS_AT);
const _: () = assert!(INDEX_BUCKETS_AT + 2 <= INDEX_KEY_AT);

/// The sections of a table, in file order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Section {
    Blocks = 1,
    OutEdges = 2,
    InEdges = 3,
    Index = 4,
    Bloom = 5,
}

impl Section {
    pub(crate) fn from_byte(byte: u8) -> Option<Section> {
        match byte {
            1 => Some(Section::Blocks),
            2 => Some(Section::OutEdges),
            3 => Some(Section::InEdges),
            4 => Some(Section::Index),
            5 => Some(Section::Bloom),
            _ => None,
        }
    }
}

/// Binary search of a block page's body (after the header) for `id`, over the
/// trailer of `count` (id, u32 offset) entries that ends the body: the record's offset, or
/// `None` if the page does not hold the id. `Err` if the trailer does not fit or an offset
/// points outside the records. Callers decode the record and check its id.
pub(crate) fn search_records(body: &[u8], count: u32, id: &BlockId) -> Result<Option<usize>, ()> {
    // Checked: `count` is read from disk, and on a 32-bit target the product can overflow.
    let trailer_bytes = (count as usize).checked_mul(TRAILER_BYTES_PER_RECORD).ok_or(())?;
    let trailer = body.len().checked_sub(trailer_bytes).ok_or(())?;
    let entry_at = |index: usize| trailer + index * TRAILER_BYTES_PER_RECORD;
    // Ids compare as bytes, that is as big-endian integers: one comparison, no memcmp call.
    let target = u128::from_be_bytes(id.0);
    let id_of = |index: usize| u128::from_be_bytes(id_at(body, entry_at(index)).0);
    let found = lower_bound(count as usize, target, id_of);
    if found == count as usize || id_of(found) != target {
        return Ok(None);
    }
    let offset = u32_at(body, entry_at(found) + ID_BYTES) as usize;
    if offset.checked_add(ID_BYTES).is_some_and(|end| end <= trailer) {
        Ok(Some(offset))
    } else {
        Err(())
    }
}

impl EdgeRecord {
    pub(crate) fn encode(&self) -> [u8; EDGE_RECORD_BYTES] {
        let mut bytes = [0u8; EDGE_RECORD_BYTES];
        bytes[..KEY_BYTES].copy_from_slice(&self.key());
        bytes[KEY_BYTES] = if self.tombstone { FLAG_TOMBSTONE } else { 0 };
        bytes
    }

    #[cfg_attr(not(feature = "small-code"), inline(always))]
    pub(crate) fn decode(bytes: &[u8]) -> Option<EdgeRecord> {
        let bytes = bytes.get(..EDGE_RECORD_BYTES)?;
        let code = u16::from_be_bytes([bytes[ID_BYTES], bytes[ID_BYTES + 1]]);
        let flags = bytes[KEY_BYTES];
        if flags & !FLAG_TOMBSTONE != 0 {
            return None;
        }
        Some(EdgeRecord {
            key_id: id_at(bytes, 0),
            edge_type: EdgeType::from_code(code).ok()?,
            other: id_at(bytes, ID_BYTES + 2),
            tombstone: flags == FLAG_TOMBSTONE,
        })
    }
}

impl<'a> BlockRecord<'a> {
    /// Bytes of the encoded record: the fixed part, then uri, metadata and content.
    pub(crate) fn encoded_bytes(&self) -> usize {
        BLOCK_RECORD_FIXED_BYTES
            + self.source_uri.len()
            + self.metadata_json.len()
            + self.content.len()
    }

    /// The fixed part; the three payload parts follow it.
    pub(crate) fn encode_fixed(&self) -> [u8; BLOCK_RECORD_FIXED_BYTES] {
        let mut bytes = [0u8; BLOCK_RECORD_FIXED_BYTES];
        bytes[..ID_BYTES].copy_from_slice(&self.id.0);
        bytes[ID_BYTES..ID_BYTES + 8].copy_from_slice(&self.sequence.to_le_bytes());
        bytes[ID_BYTES + 8] = if self.tombstone { FLAG_TOMBSTONE } else { 0 };
        let lengths = [self.source_uri.len(), self.metadata_json.len(), self.content.len()];
        for (index, len) in lengths.iter().enumerate() {
            let at = ID_BYTES + 9 + 4 * index;
            // Bounded by the config's limits, far below u32::MAX.
            bytes[at..at + 4].copy_from_slice(&narrow_u32(*len).to_le_bytes());
        }
        bytes
    }

    /// Decodes the record at the start of `bytes`; returns it and its length.
    pub(crate) fn decode(bytes: &'a [u8]) -> Option<(BlockRecord<'a>, usize)> {
        let fixed = bytes.get(..BLOCK_RECORD_FIXED_BYTES)?;
        let flags = fixed[ID_BYTES + 8];
        if flags & !FLAG_TOMBSTONE != 0 {
            return None;
        }
        let uri_len = u32_at(fixed, ID_BYTES + 9) as usize;
        let metadata_len = u32_at(fixed, ID_BYTES + 13) as usize;
        let content_len = u32_at(fixed, ID_BYTES + 17) as usize;
        let mut at = BLOCK_RECORD_FIXED_BYTES;
        let mut part = |len: usize| {
            let slice = bytes.get(at..at.checked_add(len)?)?;
            at += len;
            Some(slice)
        };
        let source_uri = part(uri_len)?;
        let metadata_json = part(metadata_len)?;
        let content = part(content_len)?;
        let record = BlockRecord {
            id: id_at(fixed, 0),
            sequence: u64_at(fixed, ID_BYTES),
            tombstone: flags == FLAG_TOMBSTONE,
            source_uri,
            metadata_json,
            content,
        };
        Some((record, at))
    }
}

/// Fills in a page header over `page` (whose first 16 bytes are reserved for it).
pub(crate) fn seal_page(page: &mut [u8], section: Section, count: u32) {
    let len = narrow_u32(page.len());
    page[4..8].copy_from_slice(&len.to_le_bytes());
    page[8] = section as u8;
    page[9..12].fill(0);
    page[12..16].copy_from_slice(&count.to_le_bytes());
    let crc = crc32c::checksum(&page[4..]);
    page[..4].copy_from_slice(&crc.to_le_bytes());
}

/// Checks a page read from disk; returns its section and record count.
pub(crate) fn open_page(page: &[u8]) -> Option<(Section, u32)> {
    let opened = open_page_header(page)?;
    (u32_at(page, 0) == crc32c::checksum(&page[4..])).then_some(opened)
}

/// `open_page` without the CRC, for a page whose CRC was already checked (a verified
/// table read through a view): still checks the length, the zero bytes and the section.
pub(crate) fn open_page_header(page: &[u8]) -> Option<(Section, u32)> {
    let header = page.get(..PAGE_HEADER_BYTES)?;
    let valid = u32_at(header, 4) as usize == page.len() && header[9..12] == [0, 0, 0];
    if !valid {
        return None;
    }
    Some((Section::from_byte(header[8])?, u32_at(header, 12)))
}

/// Where the index and bloom pages are, and what the table holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Footer {
    pub(crate) index_offset: u64,
    pub(crate) index_page_bytes: u32,
    pub(crate) bloom_offset: u64,
    pub(crate) bloom_page_bytes: u32,
    pub(crate) block_records: u64,
    pub(crate) edge_records: u64,
    pub(crate) table_number: u64,
    /// The distinct-id count the bloom filter was sized for.
    pub(crate) bloom_keys: u64,
    /// `TABLE_VERSION_OLDEST..=TABLE_VERSION`: what the bloom filter holds and whether edge
    /// pages may have bucket directories.
    pub(crate) version: u32,
}

impl Footer {
    pub(crate) fn encode(&self) -> [u8; FOOTER_BYTES] {
        let mut bytes = [0u8; FOOTER_BYTES];
        bytes[0..8].copy_from_slice(&TABLE_MAGIC);
        bytes[8..12].copy_from_slice(&self.version.to_le_bytes());
        bytes[16..24].copy_from_slice(&self.index_offset.to_le_bytes());
        bytes[24..28].copy_from_slice(&self.index_page_bytes.to_le_bytes());
        bytes[28..32].copy_from_slice(&self.bloom_page_bytes.to_le_bytes());
        bytes[32..40].copy_from_slice(&self.bloom_offset.to_le_bytes());
        bytes[40..48].copy_from_slice(&self.block_records.to_le_bytes());
        bytes[48..56].copy_from_slice(&self.edge_records.to_le_bytes());
        bytes[56..64].copy_from_slice(&self.table_number.to_le_bytes());
        bytes[64..72].copy_from_slice(&self.bloom_keys.to_le_bytes());
        let crc = Self::checksum(&bytes);
        bytes[12..16].copy_from_slice(&crc.to_le_bytes());
        bytes
    }

    pub(crate) fn checksum(bytes: &[u8; FOOTER_BYTES]) -> u32 {
        let mut digest = crc32c::Digest::new();
        digest.update(&bytes[0..12]);
        digest.update(&bytes[16..]);
        digest.finalize()
    }

    pub(crate) fn decode(bytes: &[u8; FOOTER_BYTES]) -> Option<Footer> {
        let version = u32_at(bytes, 8);
        let valid = bytes[0..8] == TABLE_MAGIC
            && (TABLE_VERSION_OLDEST..=TABLE_VERSION).contains(&version)
            && u32_at(bytes, 12) == Self::checksum(bytes);
        valid.then(|| Footer {
            index_offset: u64_at(bytes, 16),
            index_page_bytes: u32_at(bytes, 24),
            bloom_page_bytes: u32_at(bytes, 28),
            bloom_offset: u64_at(bytes, 32),
            block_records: u64_at(bytes, 40),
            edge_records: u64_at(bytes, 48),
            table_number: u64_at(bytes, 56),
            bloom_keys: u64_at(bytes, 64),
            version,
        })
    }

    /// The bloom filter holds the incoming edges' targets (version 4 on).
    pub(crate) fn bloom_has_incoming(&self) -> bool {
        self.version >= TABLE_VERSION_INCOMING_BLOOM
    }

    /// Edge pages may end with a bucket directory (version 5 on).
    pub(crate) fn edge_buckets_allowed(&self) -> bool {
        self.version >= TABLE_VERSION_EDGE_BUCKETS
    }

    /// The bloom filter is blocked: a key's bits in one 64-byte block (version 6 on).
    pub(crate) fn bloom_blocked(&self) -> bool {
        self.version >= TABLE_VERSION_BLOCKED_BLOOM
    }
}

/// One index entry: where a page is and the first key in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IndexEntry {
    pub(crate) offset: u64,
    pub(crate) len: u32,
    pub(crate) section: Section,
    pub(crate) first_key: [u8; KEY_BYTES],
    /// The page's bucket directory (edge pages of version 5; `EdgeBuckets::NONE` otherwise).
    pub(crate) buckets: EdgeBuckets,
}

impl IndexEntry {
    pub(crate) fn encode(&self) -> [u8; INDEX_ENTRY_BYTES] {
        let mut bytes = [0u8; INDEX_ENTRY_BYTES];
        bytes[0..8].copy_from_slice(&self.offset.to_le_bytes());
        bytes[8..12].copy_from_slice(&self.len.to_le_bytes());
        bytes[INDEX_SECTION_AT] = self.section as u8;
        bytes[INDEX_BUCKETS_AT] = self.buckets.bits;
        bytes[INDEX_BUCKETS_AT + 1] = self.buckets.shift;
        bytes[INDEX_KEY_AT..INDEX_KEY_AT + KEY_BYTES].copy_from_slice(&self.first_key);
        bytes
    }

    pub(crate) fn decode(bytes: &[u8]) -> Option<IndexEntry> {
        let bytes = bytes.get(..INDEX_ENTRY_BYTES)?;
        let mut first_key = [0u8; KEY_BYTES];
        first_key.copy_from_slice(&bytes[INDEX_KEY_AT..INDEX_KEY_AT + KEY_BYTES]);
        Some(IndexEntry {
            offset: u64_at(bytes, 0),
            len: u32_at(bytes, 8),
            section: Section::from_byte(bytes[INDEX_SECTION_AT])?,
            first_key,
            buckets: EdgeBuckets {
                bits: bytes[INDEX_BUCKETS_AT],
                shift: bytes[INDEX_BUCKETS_AT + 1],
            },
        })
    }
}

/// The name of table `number`: `table-<16 hex digits>.kdb`.
pub(crate) const TABLE_NAME_BYTES: usize = 26;

pub(crate) fn table_name(number: u64, buffer: &mut [u8; TABLE_NAME_BYTES]) -> &str {
    crate::names::numbered_name(b"table-", number, b".kdb", buffer)
}

pub(crate) fn parse_table_name(name: &[u8]) -> Option<u64> {
    crate::names::parse_numbered_name(name, b"table-", b".kdb")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record count or offset read from disk that no page could hold is damage, not an
    /// overflow: on a 32-bit target (thumbv7em) `count * 20` and `offset + 16` wrapped, and
    /// with overflow checks on, panicked. A 64-bit host cannot wrap them: `cargo xtask miri`
    /// runs this test for i686 too, where it failed before the arithmetic was checked.
    #[test]
    fn a_page_claiming_impossible_counts_or_offsets_is_damage() {
        let mut body = [0u8; 64];
        assert_eq!(search_records(&body, u32::MAX, &BlockId([1; 16])), Err(()));
        // One trailer entry for id 1 whose record offset is u32::MAX.
        body[44..60].copy_from_slice(&[1; 16]);
        body[60..64].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(search_records(&body, 1, &BlockId([1; 16])), Err(()));
        body[60..64].copy_from_slice(&8u32.to_le_bytes());
        assert_eq!(search_records(&body, 1, &BlockId([1; 16])), Ok(Some(8)));
    }

    #[test]
    fn records_round_trip() {
        let record = BlockRecord {
            id: BlockId::from_u128(5),
            sequence: 9,
            tombstone: false,
            source_uri: b"a.rs",
            metadata_json: b"{}",
            content: b"fn a() {}",
        };
        let mut bytes = [0u8; 64];
        bytes[..BLOCK_RECORD_FIXED_BYTES].copy_from_slice(&record.encode_fixed());
        let mut at = BLOCK_RECORD_FIXED_BYTES;
        for part in [record.source_uri, record.metadata_json, record.content] {
            bytes[at..at + part.len()].copy_from_slice(part);
            at += part.len();
        }
        assert_eq!(BlockRecord::decode(&bytes[..at]), Some((record, at)));
        assert_eq!(BlockRecord::decode(&bytes[..at - 1]), None);
        let edge = EdgeRecord {
            key_id: BlockId::from_u128(1),
            edge_type: EdgeType::CALLS,
            other: BlockId::from_u128(2),
            tombstone: true,
        };
        assert_eq!(EdgeRecord::decode(&edge.encode()), Some(edge));
        let footer = Footer {
            index_offset: 1,
            index_page_bytes: 2,
            bloom_offset: 3,
            bloom_page_bytes: 4,
            block_records: 5,
            edge_records: 6,
            table_number: 7,
            bloom_keys: 8,
            version: TABLE_VERSION,
        };
        let encoded = footer.encode();
        assert_eq!(Footer::decode(&encoded), Some(footer));
        // Tables of every older version still open, and say what they hold.
        for version in TABLE_VERSION_OLDEST..TABLE_VERSION {
            let old = Footer { version, ..footer };
            let decoded = Footer::decode(&old.encode()).unwrap();
            assert_eq!(decoded, old);
            assert_eq!(decoded.bloom_has_incoming(), version >= 4);
            assert_eq!(decoded.edge_buckets_allowed(), version >= 5);
            assert!(!decoded.bloom_blocked());
        }
        assert_eq!(Footer::decode(&Footer { version: TABLE_VERSION + 1, ..footer }.encode()), None);
        for bit in 0..FOOTER_BYTES * 8 {
            let mut flipped = encoded;
            flipped[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(Footer::decode(&flipped), None);
        }
    }

    #[test]
    fn table_names_round_trip() {
        let mut name = [0u8; TABLE_NAME_BYTES];
        assert_eq!(parse_table_name(table_name(42, &mut name).as_bytes()), Some(42));
    }
}
