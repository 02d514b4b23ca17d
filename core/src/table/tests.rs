//! Tests of reading tables: every written record found again after a reopen, damage at any
//! byte reported as `Corruption` (never a wrong answer), checks on first read, and bloom
//! filters folded to size.

#[cfg(test)]
mod reading {
    use crate::edge::EdgeType;
    use crate::id::BlockId;
    use crate::record::{block_key, edge_key, BlockRecord, EdgeRecord};
    use crate::table::bloom;
    use crate::table::cursor::EdgeCursor;
    use crate::table::format::{table_name, Section, TABLE_NAME_BYTES};
    use crate::table::lookup::{find_block, seek};
    use crate::table::open::open_table;
    use crate::table::writer::TableWriter;
    use crate::table::{TableMeta, TablePool, DAMAGED};
    use crate::vfs::sim::{SimConfig, SimVfs};
    use crate::vfs::Vfs;

    fn id(value: u128) -> BlockId {
        BlockId::from_u128(value)
    }

    /// Table pages of the tests: 256 bytes (7 edge records, no bucket directory) and 2 KiB
    /// (58 edge records and a directory of 16 buckets).
    const PAGE_SIZES: [usize; 2] = [256, 2048];

    /// Writes a table of 300 blocks and, for each block n, edges n -> n+1 and n -> n+2 in
    /// both sections, in pages of `page_bytes`; small pages force many of them.
    fn build(vfs: &mut SimVfs<'_>, pool: &mut TablePool<'_>, page_bytes: usize) -> TableMeta {
        build_with_filter(vfs, pool, page_bytes, true)
    }

    /// `build`, with a blocked filter (version 6) or one that is not (version 5).
    fn build_with_filter(
        vfs: &mut SimVfs<'_>,
        pool: &mut TablePool<'_>,
        page_bytes: usize,
        blocked: bool,
    ) -> TableMeta {
        let mut buffer = std::vec![0u8; 2 * page_bytes];
        let mut writer =
            TableWriter::begin(vfs, pool, 7, 300, 10, &mut buffer, page_bytes).unwrap();
        if !blocked {
            writer = writer.unblocked_filter();
        }
        for n in 1..=300u128 {
            let content = std::format!("content {n}");
            let record = BlockRecord {
                id: id(n),
                sequence: n as u64,
                tombstone: n % 50 == 0,
                source_uri: b"t.rs",
                metadata_json: b"{}",
                content: if n % 50 == 0 { b"" } else { content.as_bytes() },
            };
            writer.add_block(vfs, pool, &record).unwrap();
        }
        for section in [Section::OutEdges, Section::InEdges] {
            let mut records = std::vec::Vec::new();
            for n in 1..=300u128 {
                for k in 1..=2 {
                    let (source, target) = (id(n), id(n + k));
                    let (key_id, other) = if section == Section::OutEdges {
                        (source, target)
                    } else {
                        (target, source)
                    };
                    records.push(EdgeRecord {
                        key_id,
                        edge_type: EdgeType::CALLS,
                        other,
                        tombstone: k == 2 && n % 3 == 0,
                    });
                }
            }
            records.sort_by_key(|record| record.key());
            for record in &records {
                writer.add_edge(vfs, pool, section, record).unwrap();
            }
        }
        writer.finish(vfs, pool).unwrap()
    }

    /// The other ends of block `n`'s edges in `section`, as `build` wrote them.
    fn expected_others(section: Section, n: u128) -> std::vec::Vec<u128> {
        match section {
            Section::OutEdges if n <= 300 => std::vec![n + 1, n + 2],
            Section::InEdges => {
                (n.saturating_sub(2)..n).filter(|m| (1..=300).contains(m)).collect()
            }
            _ => std::vec![],
        }
    }

    /// The other ends of block `n`'s edges in `section`, listed through an edge cursor.
    fn list(
        vfs: &mut SimVfs<'_>,
        pool: &mut TablePool<'_>,
        table: &TableMeta,
        (section, n): (Section, u128),
        buffer: &mut [u8],
    ) -> Result<std::vec::Vec<u128>, crate::error::Error> {
        let mut cursor = EdgeCursor::seek(vfs, pool, table, section, &id(n), buffer)?;
        let mut others = std::vec::Vec::new();
        while let Some(record) = cursor.current(vfs, pool, table, buffer)? {
            others.push(record.other.to_u128());
            cursor.advance();
        }
        Ok(others)
    }

    /// `list` through a `RunReader`: each page's run from the view of it, or read into
    /// `buffer` when the backend has no views.
    #[cfg(not(feature = "small-code"))]
    fn list_run(
        vfs: &mut SimVfs<'_>,
        pool: &mut TablePool<'_>,
        table: &TableMeta,
        (section, n): (Section, u128),
        buffer: &mut [u8],
    ) -> Result<std::vec::Vec<u128>, crate::error::Error> {
        let mut reader = crate::table::cursor::RunReader::seek(pool, table, section, &id(n));
        let mut others = std::vec::Vec::new();
        for _ in 0..=table.index_entries {
            if reader.is_done() {
                return Ok(others);
            }
            let run = match reader.view_next(&mut *vfs, pool, table)? {
                Some(run) => run,
                None => reader.read_next(&mut *vfs, pool, table, &mut *buffer)?,
            };
            for bytes in run.chunks_exact(crate::table::format::EDGE_RECORD_BYTES) {
                let record = EdgeRecord::decode(bytes).ok_or(DAMAGED)?;
                assert_eq!(record.key_id, id(n), "a run holds its key id's records alone");
                others.push(record.other.to_u128());
            }
        }
        panic!("the run of {n} did not end within the table's pages")
    }

    /// Both ways of listing (a cursor, a run reader) give `list`'s answer.
    fn list_both(
        vfs: &mut SimVfs<'_>,
        pool: &mut TablePool<'_>,
        table: &TableMeta,
        (section, n): (Section, u128),
        buffer: &mut [u8],
    ) -> Result<std::vec::Vec<u128>, crate::error::Error> {
        let listed = list(vfs, pool, table, (section, n), buffer);
        #[cfg(not(feature = "small-code"))]
        assert_eq!(list_run(vfs, pool, table, (section, n), buffer), listed, "{section:?} of {n}");
        listed
    }

    const SIM: SimConfig =
        SimConfig { files_max: 4, file_bytes_max: 256 << 10, pending_bytes_max: 64 << 10 };

    /// Writes `build`'s table 7 (its pool is dropped) and closes it; returns its size and
    /// file name.
    fn write_closed_table(vfs: &mut SimVfs<'_>, page_bytes: usize) -> (u64, std::string::String) {
        let mut pool_bytes = std::vec![0u8; 64 << 10];
        let mut pool = TablePool { bytes: &mut pool_bytes, used: 0, pages_read: 0 };
        let written = build(vfs, &mut pool, page_bytes);
        vfs.close(written.file);
        let mut name = [0u8; TABLE_NAME_BYTES];
        (written.file_bytes, std::string::String::from(table_name(7, &mut name)))
    }

    #[test]
    fn written_tables_answer_lookups_and_edge_ranges_after_reopen() {
        for (page_bytes, views) in PAGE_SIZES.into_iter().flat_map(|p| [(p, false), (p, true)]) {
            std::println!("pages of {page_bytes} bytes, views {views}");
            answer_lookups_and_edge_ranges_after_reopen(page_bytes, views);
        }
    }

    fn answer_lookups_and_edge_ranges_after_reopen(page_bytes: usize, views: bool) {
        let mut disk = std::vec![0u8; SIM.memory_bytes_required()];
        let mut vfs = SimVfs::new(&mut disk, SIM, 1).unwrap();
        vfs.views = views;
        let mut pool_bytes = std::vec![0u8; 64 << 10];
        let mut pool = TablePool { bytes: &mut pool_bytes, used: 0, pages_read: 0 };
        let written = build(&mut vfs, &mut pool, page_bytes);
        assert!(written.index_entries > 20, "small pages make many: {}", written.index_entries);
        let directories = (0..written.index_entries)
            .filter(|index| pool.index_entry(&written, *index).unwrap().buckets.bits > 0)
            .count();
        assert_eq!(directories > 0, page_bytes > 256, "{directories} pages with a directory");
        vfs.close(written.file);
        let mut pool_bytes = std::vec![0u8; 64 << 10];
        let mut pool = TablePool { bytes: &mut pool_bytes, used: 0, pages_read: 0 };
        let table = open_table(&mut vfs, &mut pool, 7).unwrap();
        assert_eq!((table.block_records, table.edge_records), (300, 1200));
        let mut buffer = std::vec![0u8; 2 * page_bytes];
        for n in 1..=300u128 {
            let record =
                find_block(&mut vfs, &mut pool, &table, &id(n), &mut buffer).unwrap().unwrap();
            assert_eq!((record.sequence, record.tombstone), (n as u64, n % 50 == 0));
        }
        assert_eq!(find_block(&mut vfs, &mut pool, &table, &id(301), &mut buffer).unwrap(), None);
        for n in [1u128, 2, 150, 299, 300, 301, 302] {
            for section in [Section::OutEdges, Section::InEdges] {
                let others = list_both(&mut vfs, &mut pool, &table, (section, n), &mut buffer);
                assert_eq!(others, Ok(expected_others(section, n)), "{section:?} of {n}");
            }
        }
    }

    /// A store upgraded to version 6 keeps its version-5 tables until compaction rewrites
    /// them: each is read with the filter layout it was written with. Read as blocked, a
    /// version-5 filter would deny most of its blocks and edges (a wrong answer, not an
    /// error), so every block, source and target must be admitted and found.
    #[test]
    fn tables_of_either_filter_layout_admit_and_find_everything_after_reopen() {
        for blocked in [true, false] {
            let mut disk = std::vec![0u8; SIM.memory_bytes_required()];
            let mut vfs = SimVfs::new(&mut disk, SIM, 1).unwrap();
            let mut pool_bytes = std::vec![0u8; 64 << 10];
            let mut pool = TablePool { bytes: &mut pool_bytes, used: 0, pages_read: 0 };
            let written = build_with_filter(&mut vfs, &mut pool, 2048, blocked);
            vfs.close(written.file);
            let mut pool_bytes = std::vec![0u8; 64 << 10];
            let mut pool = TablePool { bytes: &mut pool_bytes, used: 0, pages_read: 0 };
            let table = open_table(&mut vfs, &mut pool, 7).unwrap();
            assert_eq!(table.bloom, written.bloom, "blocked {blocked}");
            assert_eq!(table.bloom.blocked, blocked);
            let filter = pool.bloom(&table);
            for n in 1..=300u128 {
                assert!(bloom::may_contain(filter, table.bloom, &id(n)), "{n}, blocked {blocked}");
            }
            for n in 2..=302u128 {
                let target = bloom::may_contain_incoming(filter, table.bloom, &id(n));
                assert!(target, "target {n}, blocked {blocked}");
            }
            let mut buffer = std::vec![0u8; 4096];
            for n in 1..=300u128 {
                let found = find_block(&mut vfs, &mut pool, &table, &id(n), &mut buffer).unwrap();
                assert_eq!(
                    found.map(|record| record.sequence),
                    Some(n as u64),
                    "blocked {blocked}"
                );
            }
        }
    }

    #[test]
    fn any_damaged_byte_is_corruption_or_a_correct_answer() {
        for (page_bytes, views) in PAGE_SIZES.into_iter().flat_map(|p| [(p, false), (p, true)]) {
            std::println!("pages of {page_bytes} bytes, views {views}");
            let mut disk = std::vec![0u8; SIM.memory_bytes_required()];
            let mut vfs = SimVfs::new(&mut disk, SIM, 1).unwrap();
            vfs.views = views;
            let (file_bytes, name) = write_closed_table(&mut vfs, page_bytes);
            let step = if cfg!(miri) { 997 } else { 7 };
            for offset in (0..file_bytes as usize).step_by(step) {
                assert!(vfs.corrupt(&name, offset, 0x20));
                let mut pool_bytes = std::vec![0u8; 64 << 10];
                let mut pool = TablePool { bytes: &mut pool_bytes, used: 0, pages_read: 0 };
                let mut buffer = std::vec![0u8; 2 * page_bytes];
                match open_table(&mut vfs, &mut pool, 7) {
                    Err(error) => assert_eq!(error, DAMAGED, "byte {offset}"),
                    Ok(table) => {
                        for n in (1..=302u128).step_by(11) {
                            for section in [Section::OutEdges, Section::InEdges] {
                                let listed = list_both(
                                    &mut vfs,
                                    &mut pool,
                                    &table,
                                    (section, n),
                                    &mut buffer,
                                );
                                match listed {
                                    Err(error) => assert_eq!(error, DAMAGED, "byte {offset}"),
                                    Ok(others) => assert_eq!(
                                        others,
                                        expected_others(section, n),
                                        "byte {offset}: {section:?} of {n}"
                                    ),
                                }
                            }
                        }
                        for n in (1..=300u128).step_by(13) {
                            match find_block(&mut vfs, &mut pool, &table, &id(n), &mut buffer) {
                                Err(error) => assert_eq!(error, DAMAGED),
                                Ok(Some(record)) => {
                                    assert_eq!(record.sequence, n as u64, "byte {offset}")
                                }
                                Ok(None) => {
                                    panic!("byte {offset}: block {n} vanished without an error")
                                }
                            }
                        }
                        vfs.close(table.file);
                    }
                }
                assert!(vfs.corrupt(&name, offset, 0x20));
            }
        }
    }

    /// Opening reads no page, so damage that happens after the open is found by the
    /// first read of the damaged page (through a view), on every read of it, and only there.
    #[test]
    fn a_page_damaged_after_open_is_corruption_on_every_read_of_it() {
        let mut disk = std::vec![0u8; SIM.memory_bytes_required()];
        let mut vfs = SimVfs::new(&mut disk, SIM, 1).unwrap();
        vfs.views = true;
        let (_, name) = write_closed_table(&mut vfs, 256);
        let mut pool_bytes = std::vec![0u8; 64 << 10];
        let mut pool = TablePool { bytes: &mut pool_bytes, used: 0, pages_read: 0 };
        let table = open_table(&mut vfs, &mut pool, 7).unwrap();
        assert!((0..table.index_entries).all(|index| !pool.page_verified(&table, index)));
        let mut buffer = std::vec![0u8; 512];
        // Damage the last byte of block 100's page (its trailer), which the open
        // has not read.
        let damaged = seek(&pool, &table, Section::Blocks, &block_key(&id(100))).unwrap();
        let entry = pool.index_entry(&table, damaged).unwrap();
        assert!(vfs.corrupt(&name, (entry.offset + u64::from(entry.len) - 1) as usize, 0x04));
        for _ in 0..2 {
            let found = find_block(&mut vfs, &mut pool, &table, &id(100), &mut buffer);
            assert_eq!(found.unwrap_err(), DAMAGED);
            assert!(!pool.page_verified(&table, damaged));
        }
        // Every other page answers, and is marked as checked once read.
        let elsewhere: std::vec::Vec<u128> = (1..=300u128)
            .filter(|n| seek(&pool, &table, Section::Blocks, &block_key(&id(*n))) != Some(damaged))
            .collect();
        for n in elsewhere {
            let record = find_block(&mut vfs, &mut pool, &table, &id(n), &mut buffer).unwrap();
            assert_eq!(record.unwrap().sequence, n as u64);
        }
        let checked =
            (0..table.index_entries).filter(|index| pool.page_verified(&table, *index)).count();
        let block_pages = (0..table.index_entries)
            .filter(|index| pool.index_entry(&table, *index).unwrap().section == Section::Blocks)
            .count();
        assert_eq!(checked, block_pages - 1, "every page of the block section but the damaged one");
        // An edge page damaged after the open is found by a listing the same way.
        let edge_page =
            seek(&pool, &table, Section::OutEdges, &edge_key(&id(5), EdgeType::CALLS, &id(6)))
                .unwrap();
        let entry = pool.index_entry(&table, edge_page).unwrap();
        assert!(vfs.corrupt(&name, (entry.offset + u64::from(entry.len) - 1) as usize, 0x04));
        let listed =
            EdgeCursor::seek(&mut vfs, &mut pool, &table, Section::OutEdges, &id(5), &mut buffer);
        assert_eq!(listed.unwrap_err(), DAMAGED);
    }
}

#[cfg(test)]
mod seeking {
    use crate::edge::EdgeType;
    use crate::id::BlockId;
    use crate::record::{edge_key, EdgeRecord, KEY_BYTES};
    use crate::table::format::Section;
    use crate::table::lookup::seek;
    use crate::table::writer::TableWriter;
    use crate::table::{TableMeta, TablePool};
    use crate::vfs::sim::{SimConfig, SimVfs};
    use std::vec::Vec;

    /// xorshift64*, seeded.
    fn next(state: &mut u64) -> u64 {
        *state ^= *state >> 12;
        *state ^= *state << 25;
        *state ^= *state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// The reference: the last page of `section` whose (section, first key) is <= the key's.
    fn last_page_at_or_below(
        pool: &TablePool<'_>,
        table: &TableMeta,
        section: Section,
        key: &[u8; KEY_BYTES],
    ) -> Option<usize> {
        (0..table.index_entries).rev().find(|&index| {
            let entry = pool.index_entry(table, index).unwrap();
            entry.section == section && entry.first_key <= *key
        })
    }

    /// Pages in both edge sections whose key ids are uniform (as derived ids are), share
    /// their first 7 bytes (ties of every search prefix), or are hubs whose runs span pages:
    /// the prefix search finds the page a search over whole keys finds, for keys at, between
    /// and around the pages' first keys.
    #[test]
    fn seek_finds_the_last_page_at_or_below_any_key_whatever_the_ids() {
        let sim = SimConfig { files_max: 2, file_bytes_max: 1 << 20, pending_bytes_max: 1 << 20 };
        for seed in 1..=30u64 {
            std::println!("seed {seed}");
            let mut state = seed;
            let mut disk = std::vec![0u8; sim.memory_bytes_required()];
            let mut vfs = SimVfs::new(&mut disk, sim, seed).unwrap();
            let mut pool_bytes = std::vec![0u8; 256 << 10];
            let mut pool = TablePool { bytes: &mut pool_bytes, used: 0, pages_read: 0 };
            let key_id = |state: &mut u64| -> u128 {
                let random = u128::from(next(state)) << 64 | u128::from(next(state));
                match seed % 3 {
                    0 => random,
                    1 => random >> 72,
                    _ => random % 5,
                }
            };
            let mut records: Vec<EdgeRecord> = (0..3000)
                .map(|_| EdgeRecord {
                    key_id: BlockId::from_u128(key_id(&mut state)),
                    edge_type: EdgeType::CALLS,
                    other: BlockId::from_u128(u128::from(next(&mut state))),
                    tombstone: false,
                })
                .collect();
            records.sort_by_key(|record| record.key());
            records.dedup_by_key(|record| record.key());
            let mut buffer = std::vec![0u8; 2048];
            let mut writer =
                TableWriter::begin(&mut vfs, &mut pool, 1, 8000, 10, &mut buffer, 1024).unwrap();
            for section in [Section::OutEdges, Section::InEdges] {
                for record in &records {
                    writer.add_edge(&mut vfs, &mut pool, section, record).unwrap();
                }
            }
            let table = writer.finish(&mut vfs, &mut pool).unwrap();
            let mut keys: Vec<[u8; KEY_BYTES]> = Vec::new();
            for index in 0..table.index_entries {
                let first = pool.index_entry(&table, index).unwrap().first_key;
                let mut before = first;
                before[KEY_BYTES - 1] = before[KEY_BYTES - 1].wrapping_sub(1);
                keys.extend([first, before]);
            }
            for _ in 0..200 {
                let id = BlockId::from_u128(key_id(&mut state));
                keys.push(edge_key(&id, EdgeType::CALLS, &BlockId::ZERO));
            }
            keys.extend([[0; KEY_BYTES], [0xff; KEY_BYTES]]);
            for section in [Section::Blocks, Section::OutEdges, Section::InEdges] {
                for key in &keys {
                    let expected = last_page_at_or_below(&pool, &table, section, key);
                    assert_eq!(seek(&pool, &table, section, key), expected, "replay: seed {seed}");
                }
            }
        }
    }
}

#[cfg(test)]
mod bloom_folding {
    use crate::id::BlockId;
    use crate::record::BlockRecord;
    use crate::table::bloom;
    use crate::table::writer::TableWriter;
    use crate::table::TablePool;
    use crate::vfs::sim::{SimConfig, SimVfs};

    /// A table whose filter was sized for four times its keys and folded down keeps the
    /// false-positive rate of a filter built at its final size.
    #[test]
    fn folded_filters_keep_a_low_false_positive_rate() {
        let sim = SimConfig { files_max: 2, file_bytes_max: 1 << 20, pending_bytes_max: 64 << 10 };
        let mut disk = std::vec![0u8; sim.memory_bytes_required()];
        let mut vfs = SimVfs::new(&mut disk, sim, 1).unwrap();
        let mut pool_bytes = std::vec![0u8; 256 << 10];
        let mut pool = TablePool { bytes: &mut pool_bytes, used: 0, pages_read: 0 };
        let mut buffer = std::vec![0u8; 4096];
        let mut writer =
            TableWriter::begin(&mut vfs, &mut pool, 1, 8000, 10, &mut buffer, 4096).unwrap();
        for n in 1..=2000u128 {
            let record = BlockRecord {
                id: BlockId::from_u128(n * 7919),
                sequence: 1,
                tombstone: false,
                source_uri: b"",
                metadata_json: b"{}",
                content: b"",
            };
            writer.add_block(&mut vfs, &mut pool, &record).unwrap();
        }
        let table = writer.finish(&mut vfs, &mut pool).unwrap();
        assert_eq!(table.bloom_bytes, 4096, "folded from 16 KiB to fit 2,000 keys");
        let filter = pool.bloom(&table);
        let positives = (1..=20_000u128)
            .filter(|n| bloom::may_contain(filter, table.bloom, &BlockId::from_u128(n * 7919 + 1)))
            .count();
        assert!(positives < 400, "{positives} false positives in 20,000");
        for n in 1..=2000u128 {
            assert!(bloom::may_contain(filter, table.bloom, &BlockId::from_u128(n * 7919)));
        }
    }
}
