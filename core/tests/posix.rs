//! The real file backend: a store in a temporary directory, written, closed, reopened;
//! a torn tail appended by hand; bad directories.
#![cfg(feature = "posix")]
// Test code: runs on 64-bit hosts only, and a test reads top to bottom as one scenario.
#![allow(clippy::cast_possible_truncation, clippy::too_many_lines)]

mod harness;

use harness::{check_matches, check_prefix, perform, small_config, Generator, Model, Outcome};
use kausaldb_core::vfs::posix::PosixVfs;
use kausaldb_core::{memory_bytes_required, Config, Direction, EdgeFilter, Engine, Vfs, VfsError};
use std::path::PathBuf;

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let path =
            std::env::temp_dir().join(format!("kausaldb-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        TempDir(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("temp paths are UTF-8 here")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn a_store_on_disk_survives_close_and_reopen() {
    let dir = TempDir::new("reopen");
    let config = Config { wal_segments_max: 64, files_max: 80, ..small_config() };
    let mut region = vec![0u8; memory_bytes_required(&config)];
    let mut generator = Generator::new(11, 20);
    let universe = generator.all_ids();
    let mut model = Model::new();
    for round in 0..3 {
        let vfs = PosixVfs::open_dir(dir.path()).unwrap();
        let mut engine = Engine::open(config, &mut region, vfs).unwrap();
        check_matches(&mut engine, &model, &universe)
            .unwrap_or_else(|error| panic!("round {round}: {error}"));
        for _ in 0..150 {
            let op = generator.write();
            let expected = model.clone().apply(&config, &op);
            assert_eq!(perform(&mut engine, &op), expected);
            model.apply(&config, &op);
        }
        engine.close().unwrap();
    }
    let segments = std::fs::read_dir(&dir.0).unwrap().count();
    assert!(segments > 1, "the history should span segments: {segments}");
}

#[test]
fn a_torn_tail_on_disk_is_truncated_and_counted() {
    let dir = TempDir::new("torn");
    let config = small_config();
    let mut region = vec![0u8; memory_bytes_required(&config)];
    let mut generator = Generator::new(12, 10);
    let universe = generator.all_ids();
    let mut model = Model::new();
    let mut engine =
        Engine::open(config, &mut region, PosixVfs::open_dir(dir.path()).unwrap()).unwrap();
    let mut history = Vec::new();
    for _ in 0..20 {
        let op = generator.write();
        if let Outcome::Applied(_) = perform(&mut engine, &op) {
            model.apply(&config, &op);
            history.push(op);
        }
    }
    engine.sync().unwrap();
    engine.abandon();
    // The segment was preallocated: zeros follow its last frame, and they are the end of
    // the log, not a torn tail.
    let path = dir.0.join("wal-0000000000000001.log");
    let preallocated = std::fs::read(&path).unwrap();
    assert_eq!(preallocated.last(), Some(&0), "the segment ends in preallocated zeros");
    let mut vfs = PosixVfs::open_dir(dir.path()).unwrap();
    let engine = Engine::open(config, &mut region, &mut vfs).unwrap();
    assert_eq!(engine.stats().wal_torn_bytes_truncated, 0);
    engine.abandon();
    assert_eq!(std::fs::read(&path).unwrap(), preallocated, "a clean tail is left alone");
    // Bytes of a lost later write after the zeros make the whole rest a torn tail.
    let file = vfs.open("wal-0000000000000001.log").unwrap();
    let len = vfs.len(file).unwrap();
    vfs.write_at(file, len, &[0xAB; 37]).unwrap();
    vfs.close(file);
    drop(vfs);
    let mut engine =
        Engine::open(config, &mut region, PosixVfs::open_dir(dir.path()).unwrap()).unwrap();
    assert_eq!(
        check_prefix(&mut engine, &config, &Model::new(), &history, &universe),
        Ok(history.len())
    );
    let file_bytes = std::fs::metadata(&path).unwrap().len();
    assert!(file_bytes < len, "the torn bytes are gone from the file");
    let zeros_cut = &preallocated[file_bytes as usize..];
    assert!(!zeros_cut.is_empty() && zeros_cut.iter().all(|&byte| byte == 0));
    assert_eq!(engine.stats().wal_torn_bytes_truncated, len - file_bytes + 37);
}

#[test]
fn bad_directories_and_names_are_errors() {
    let dir = TempDir::new("bad");
    let missing_parent = format!("{}/no/such/dir", dir.path());
    assert_eq!(PosixVfs::open_dir(&missing_parent).err(), Some(VfsError::NotFound));
    std::fs::create_dir_all(&dir.0).unwrap();
    let file_path = dir.0.join("plain-file");
    std::fs::write(&file_path, b"x").unwrap();
    assert!(matches!(PosixVfs::open_dir(file_path.to_str().unwrap()), Err(VfsError::Io { .. })));
    assert_eq!(PosixVfs::open_dir("").err(), Some(VfsError::NameInvalid));
    let mut vfs = PosixVfs::open_dir(dir.path()).unwrap();
    let too_long = "n".repeat(200);
    for name in ["a/b", "", ".", "..", "a\0b", too_long.as_str()] {
        assert_eq!(vfs.create(name).err(), Some(VfsError::NameInvalid), "{name:?}");
    }
    assert_eq!(vfs.open("missing").err(), Some(VfsError::NotFound));
    let file = vfs.create("x").unwrap();
    assert_eq!(vfs.create("x").err(), Some(VfsError::AlreadyExists));
    vfs.close(file);
    let mut names = [0u8; 64];
    let used = vfs.list(&mut names).unwrap();
    let mut listed: Vec<&[u8]> =
        names[..used].split(|&b| b == 0).filter(|n| !n.is_empty()).collect();
    listed.sort();
    assert_eq!(listed, vec![&b"plain-file"[..], b"x"]);
    assert_eq!(vfs.list(&mut names[..3]), Err(VfsError::BufferTooSmall { needed: 13 }));
    vfs.rename("x", "y").unwrap();
    vfs.sync_dir().unwrap();
    assert_eq!(vfs.remove("x"), Err(VfsError::NotFound));
    vfs.remove("y").unwrap();
}

/// `write_back` starts the writeback of a file's written pages (Linux's `sync_file_range`)
/// and makes nothing fail: the file then syncs and reads back whole; on a descriptor that is
/// not open it is the system's error, so the call is really made (elsewhere it is the
/// trait's no-op).
#[test]
fn write_back_starts_the_writeback_and_a_sync_follows() {
    let dir = TempDir::new("write-back");
    std::fs::create_dir_all(&dir.0).unwrap();
    let mut vfs = PosixVfs::open_dir(dir.path()).unwrap();
    let file = vfs.create("t").unwrap();
    let page = vec![0xa5u8; 64 << 10];
    for index in 0..16u64 {
        vfs.write_at(file, index * page.len() as u64, &page).unwrap();
    }
    vfs.write_back(file).unwrap();
    vfs.sync(file).unwrap();
    let mut read = vec![0u8; page.len()];
    assert_eq!(vfs.read_at(file, 15 * page.len() as u64, &mut read), Ok(page.len()));
    assert_eq!(read, page);
    vfs.close(file);
    // A descriptor number far above any open one (a closed one could be reused at once by
    // a test running alongside).
    let never_open = kausaldb_core::FileHandle(0x7fff_fff0);
    let refused = vfs.write_back(never_open);
    assert_eq!(refused.is_err(), cfg!(target_os = "linux"), "{refused:?}");
}

/// Tables read through memory maps: right answers after flushes and compaction, after a
/// reopen (which checks every block once), and `Corruption`, never a wrong answer, for a
/// block damaged on disk before the reopen. The views themselves: exact bytes, declined
/// past the end of a file.
#[test]
fn mapped_tables_read_right_and_damage_is_still_caught() {
    let dir = TempDir::new("mapped");
    let config = Config { wal_segments_max: 64, files_max: 80, ..small_config() };
    let mut region = vec![0u8; memory_bytes_required(&config)];
    let mut generator = Generator::new(23, 20);
    let universe = generator.all_ids();
    let mut model = Model::new();
    {
        let vfs = PosixVfs::open_dir(dir.path()).unwrap();
        let mut engine = Engine::open(config, &mut region, vfs).unwrap();
        for step in 0..400 {
            let op = generator.write();
            if perform(&mut engine, &op) != Outcome::Refused(harness::TABLES_FULL) {
                model.apply(&config, &op);
            }
            if step % 50 == 49 {
                engine.flush().unwrap();
                check_matches(&mut engine, &model, &universe).unwrap();
            }
        }
        engine.flush().unwrap();
        assert!(engine.stats().tables_count > 0);
        let closed = engine.close();
        closed.unwrap();
    }
    {
        let vfs = PosixVfs::open_dir(dir.path()).unwrap();
        let mut engine = Engine::open(config, &mut region, vfs).unwrap();
        check_matches(&mut engine, &model, &universe).unwrap();
        let vfs = engine.vfs_mut();
        let file = vfs.open("MANIFEST").unwrap();
        let len = vfs.len(file).unwrap();
        let mut direct = vec![0u8; len as usize];
        assert_eq!(vfs.read_at(file, 0, &mut direct).unwrap(), len as usize);
        assert_eq!(vfs.view_at(file, 0, len as usize).unwrap(), Some(&direct[..]));
        assert_eq!(vfs.view_at(file, 1, len as usize).unwrap(), None, "past the end");
        vfs.close(file);
        let closed = engine.close();
        closed.unwrap();
    }
    // Damage every 97th byte of each table's data area (before its index, whose offset is
    // at bytes 16..24 of the 72-byte footer; docs/FORMAT.md), so some block content is hit.
    for entry in std::fs::read_dir(&dir.0).unwrap().flatten() {
        let name = entry.file_name().into_string().unwrap();
        if name.starts_with("table-") {
            let mut bytes = std::fs::read(entry.path()).unwrap();
            let footer = bytes.len() - 72;
            let data_end = u64::from_le_bytes(bytes[footer + 16..footer + 24].try_into().unwrap());
            for at in (50..data_end as usize).step_by(97) {
                bytes[at] ^= 0x40;
            }
            std::fs::write(entry.path(), bytes).unwrap();
        }
    }
    let vfs = PosixVfs::open_dir(dir.path()).unwrap();
    // Pages are not read to open (only footers, indexes and blooms are), so the store
    // opens; each read checks its page's CRC the first time, so damage is found there.
    let mut engine = Engine::open(config, &mut region, vfs).unwrap();
    let mut corruption_seen = false;
    for id in &universe {
        match engine.find_block(*id) {
            Ok(found) => {
                let expected = model.blocks.get(id).map(|block| block.content.clone());
                assert_eq!(found.map(|view| view.content.to_vec()), expected, "wrong answer");
            }
            Err(error) => {
                assert!(matches!(error, kausaldb_core::Error::Corruption { .. }), "{error:?}");
                corruption_seen = true;
            }
        }
        if !model.blocks.contains_key(id) {
            continue;
        }
        let mut edges = [kausaldb_core::Edge::EMPTY; 256];
        let listed = engine.edges(*id, Direction::Outgoing, EdgeFilter::All, &mut edges);
        match listed {
            Ok(count) => {
                let mut got: Vec<_> = edges[..count.written]
                    .iter()
                    .map(|e| (e.source, e.target, e.edge_type))
                    .collect();
                got.sort();
                let expected: Vec<_> =
                    model.edges.iter().filter(|edge| edge.0 == *id).copied().collect();
                assert_eq!(got, expected, "wrong edges");
            }
            Err(error) => {
                assert!(matches!(error, kausaldb_core::Error::Corruption { .. }), "{error:?}");
                corruption_seen = true;
            }
        }
    }
    assert!(corruption_seen, "a damaged page must be reported");
}

/// A Rust host that drops its engine without `close` loses nothing it wrote: dropping closes
/// as `close` does (100 puts, drop, reopen found none before). `abandon` is the deliberate
/// crash, and loses the buffered writes.
#[test]
fn dropping_an_engine_closes_it_and_abandon_does_not() {
    let dir = TempDir::new("drop");
    let config = Config { memtable_entries_max: 256, ..Config::DEFAULT };
    let mut region = vec![0u8; memory_bytes_required(&config)];
    let id = |n: u128| kausaldb_core::BlockId::from_u128(n);
    for (round, abandon) in [(0u128, false), (1, true)] {
        let mut engine =
            Engine::open(config, &mut region, PosixVfs::open_dir(dir.path()).unwrap()).unwrap();
        for n in 1..=100 {
            engine.put_block(id(round * 1000 + n), b"a.rs", b"{}", b"buffered").unwrap();
        }
        if abandon {
            engine.abandon();
        } else {
            drop(engine);
        }
    }
    let mut engine =
        Engine::open(config, &mut region, PosixVfs::open_dir(dir.path()).unwrap()).unwrap();
    for n in 1..=100 {
        assert!(engine.find_block(id(n)).unwrap().is_some(), "dropped engine lost block {n}");
        assert!(engine.find_block(id(1000 + n)).unwrap().is_none(), "abandon synced {n}");
    }
    engine.close().unwrap();
}
