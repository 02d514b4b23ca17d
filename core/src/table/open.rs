//! Opening a table: the footer, then the index and bloom pages straight into the table pool,
//! every byte checked (CRCs, layout, index order and tiling). Pages are not read here: each
//! page's CRC is checked the first time it is read (`lookup::view_checked_page`).

use super::bloom::BloomShape;
use super::format::{
    table_name, Footer, IndexEntry, Section, FOOTER_BYTES, INDEX_ENTRY_BYTES, INDEX_RESERVED_AT,
    INDEX_RESERVED_BYTES, PAGE_HEADER_BYTES, TABLE_NAME_BYTES,
};
use super::{TableMeta, TablePool, DAMAGED, INDEX_PREFIX_BYTES};
use crate::codec::u32_at;
use crate::crc32c;
use crate::error::{CorruptionKind, Error, Resource};
use crate::record::KEY_BYTES;
use crate::vfs::{read_fully, FileHandle, Vfs};

/// Reads exactly `buffer.len()` bytes at `offset`, or `Corruption` if the file is shorter.
pub(crate) fn read_exact<V: Vfs>(
    vfs: &mut V,
    file: FileHandle,
    offset: u64,
    buffer: &mut [u8],
) -> Result<(), Error> {
    if read_fully(vfs, file, offset, buffer)? != buffer.len() {
        return Err(DAMAGED);
    }
    Ok(())
}

/// Reads a pool-resident page (index or bloom) of `len` bytes at `offset` straight into
/// `body` (its length minus the header), checking its CRC and section.
fn read_pool_page<V: Vfs>(
    vfs: &mut V,
    file: FileHandle,
    offset: u64,
    len: u32,
    section: Section,
    body: &mut [u8],
) -> Result<u32, Error> {
    let mut header = [0u8; PAGE_HEADER_BYTES];
    read_exact(vfs, file, offset, &mut header)?;
    read_exact(vfs, file, offset + PAGE_HEADER_BYTES as u64, body)?;
    let mut digest = crc32c::Digest::new();
    digest.update(&header[4..]);
    digest.update(body);
    let valid = u32_at(&header, 0) == digest.finalize()
        && u32_at(&header, 4) == len
        && header[8] == section as u8
        && header[9..12] == [0, 0, 0];
    if !valid {
        return Err(DAMAGED);
    }
    Ok(u32_at(&header, 12))
}

/// Opens table `number`, loading its bloom filter and index into the pool.
pub(crate) fn open_table<V: Vfs>(
    vfs: &mut V,
    pool: &mut TablePool<'_>,
    number: u64,
) -> Result<TableMeta, Error> {
    let mut name = [0u8; TABLE_NAME_BYTES];
    let file = vfs.open(table_name(number, &mut name)).map_err(|error| match error {
        crate::vfs::VfsError::NotFound => Error::Corruption { kind: CorruptionKind::Manifest },
        other => Error::Io(other),
    })?;
    let result = load_table(vfs, pool, number, file);
    if result.is_err() {
        vfs.close(file);
    }
    result
}

/// The footer of table `number` (open as `file`), checked, and the file's length.
fn read_footer<V: Vfs>(vfs: &mut V, file: FileHandle, number: u64) -> Result<(Footer, u64), Error> {
    let file_bytes = vfs.len(file)?;
    let footer_offset = file_bytes.checked_sub(FOOTER_BYTES as u64).ok_or(DAMAGED)?;
    let mut footer = [0u8; FOOTER_BYTES];
    read_exact(vfs, file, footer_offset, &mut footer)?;
    let footer =
        Footer::decode(&footer).filter(|footer| footer.table_number == number).ok_or(DAMAGED)?;
    Ok((footer, file_bytes))
}

fn load_table<V: Vfs>(
    vfs: &mut V,
    pool: &mut TablePool<'_>,
    number: u64,
    file: FileHandle,
) -> Result<TableMeta, Error> {
    let (footer, file_bytes) = read_footer(vfs, file, number)?;
    let footer_offset = file_bytes - FOOTER_BYTES as u64;
    let index_body =
        (footer.index_page_bytes as usize).checked_sub(PAGE_HEADER_BYTES).ok_or(DAMAGED)?;
    let bloom_body =
        (footer.bloom_page_bytes as usize).checked_sub(PAGE_HEADER_BYTES).ok_or(DAMAGED)?;
    let layout_ok = index_body % INDEX_ENTRY_BYTES == 0
        && footer.index_offset + u64::from(footer.index_page_bytes) == footer.bloom_offset
        && footer.bloom_offset + u64::from(footer.bloom_page_bytes) == footer_offset;
    if !layout_ok {
        return Err(DAMAGED);
    }
    let entries_claimed = index_body / INDEX_ENTRY_BYTES;
    let prefixes_bytes = entries_claimed * INDEX_PREFIX_BYTES;
    if pool.bytes.len() - pool.used < index_body + bloom_body + prefixes_bytes {
        return Err(Error::RecoveryCapacity { resource: Resource::TableMemory });
    }
    let pool_offset = pool.used;
    let (bloom_area, index_area) = pool.bytes[pool_offset..].split_at_mut(bloom_body);
    let hashes = read_pool_page(
        vfs,
        file,
        footer.bloom_offset,
        footer.bloom_page_bytes,
        Section::Bloom,
        bloom_area,
    )?;
    let index_area = &mut index_area[..index_body];
    let entries = read_pool_page(
        vfs,
        file,
        footer.index_offset,
        footer.index_page_bytes,
        Section::Index,
        index_area,
    )?;
    let bloom_ok = bloom_body.is_power_of_two() && bloom_body >= 8 && (1..=16).contains(&hashes);
    if entries as usize != index_body / INDEX_ENTRY_BYTES || !bloom_ok {
        return Err(DAMAGED);
    }
    check_index(index_area, footer.index_offset, footer.edge_buckets_allowed())?;
    let mut table = TableMeta {
        number,
        file,
        file_bytes,
        pool_offset,
        bloom_bytes: bloom_body,
        bloom: BloomShape { hashes, blocked: footer.bloom_blocked() },
        index_entries: entries as usize,
        block_records: footer.block_records,
        edge_records: footer.edge_records,
        bloom_keys: footer.bloom_keys,
        bloom_has_incoming: footer.bloom_has_incoming(),
        ..TableMeta::EMPTY
    };
    debug_assert_eq!(table.pool_bytes(), index_body + bloom_body + prefixes_bytes);
    pool.used += table.pool_bytes();
    pool.build_prefixes(&mut table);
    // Pages are not read here: each one's CRC is checked when it is first read.
    Ok(table)
}

/// Every index entry must decode, lie before the index, follow the previous page, be in
/// (section, key) order, have its reserved byte zero (the pool marks verified pages there)
/// and describe a bucket directory only where the table's version (`buckets_allowed`) and
/// the page allow one: then no lookup can read outside the data area.
pub(crate) fn check_index(index: &[u8], data_end: u64, buckets_allowed: bool) -> Result<(), Error> {
    let mut expected_offset = 0u64;
    let mut previous: Option<(Section, [u8; KEY_BYTES])> = None;
    for bytes in index.chunks_exact(INDEX_ENTRY_BYTES) {
        let entry = IndexEntry::decode(bytes).ok_or(DAMAGED)?;
        let ordered = previous.is_none_or(|last| last <= (entry.section, entry.first_key));
        let reserved = &bytes[INDEX_RESERVED_AT..INDEX_RESERVED_AT + INDEX_RESERVED_BYTES];
        let valid = entry.offset == expected_offset
            && reserved.iter().all(|byte| *byte == 0)
            && entry.len as usize > PAGE_HEADER_BYTES
            && entry.buckets.valid_for(
                entry.section != Section::Blocks,
                entry.len as usize,
                buckets_allowed,
            )
            && matches!(entry.section, Section::Blocks | Section::OutEdges | Section::InEdges)
            && ordered;
        if !valid {
            return Err(DAMAGED);
        }
        expected_offset += u64::from(entry.len);
        previous = Some((entry.section, entry.first_key));
    }
    if expected_offset != data_end {
        return Err(DAMAGED);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::KEY_BYTES;
    use crate::table::buckets::EdgeBuckets;

    /// The bytes after an index entry's section byte are zero on disk: the pool marks
    /// checked pages there, so a table that claimed a mark would skip its CRCs.
    #[test]
    fn an_index_entry_with_a_nonzero_reserved_byte_is_damage() {
        let entry = IndexEntry {
            offset: 0,
            len: 64,
            section: Section::Blocks,
            first_key: [0; KEY_BYTES],
            buckets: EdgeBuckets::NONE,
        };
        let mut bytes = entry.encode();
        assert_eq!(check_index(&bytes, 64, true), Ok(()));
        for at in INDEX_RESERVED_AT..INDEX_RESERVED_AT + INDEX_RESERVED_BYTES {
            bytes[at] = crate::table::format::INDEX_VERIFIED;
            assert_eq!(check_index(&bytes, 64, true), Err(DAMAGED), "byte {at}");
            bytes[at] = 0;
        }
    }

    /// A bucket directory is described only for an edge page of a version-5 table, and must
    /// fit in its page: otherwise a listing would read the wrong bytes as record indexes.
    #[test]
    fn an_index_entry_describes_a_bucket_directory_only_where_one_may_be() {
        let buckets = EdgeBuckets { bits: 2, shift: 100 };
        let entry = |section, len| {
            IndexEntry { offset: 0, len, section, first_key: [0; KEY_BYTES], buckets }.encode()
        };
        assert_eq!(check_index(&entry(Section::OutEdges, 64), 64, true), Ok(()));
        assert_eq!(check_index(&entry(Section::InEdges, 64), 64, true), Ok(()));
        assert_eq!(check_index(&entry(Section::OutEdges, 64), 64, false), Err(DAMAGED));
        assert_eq!(check_index(&entry(Section::Blocks, 64), 64, true), Err(DAMAGED));
        // Header (16) and directory (8) take the whole page.
        assert_eq!(check_index(&entry(Section::OutEdges, 24), 24, true), Err(DAMAGED));
    }
}
