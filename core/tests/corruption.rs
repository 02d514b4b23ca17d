//! Damaged bytes on disk: every flipped bit, every truncation, garbage files, missing
//! segments and flaky reads. Recovery never panics or loops; it returns `Corruption`
//! (strict), or a prefix of the writes with the loss reported in `Stats` — never a wrong
//! answer and never a silent loss.
// Test code: runs on 64-bit hosts only, and a test reads top to bottom as one scenario.
#![allow(clippy::cast_possible_truncation, clippy::too_many_lines)]

mod harness;

use harness::{
    check_prefix, for_each_seed, perform, small_config, Generator, Memory, Model, Op, Outcome,
};
use kausaldb_core::vfs::sim::SimVfs;
use kausaldb_core::{BlockId, Config, CorruptionKind, Engine, Error, RecoveryMode, Vfs};

fn segment(number: u64) -> String {
    format!("wal-{number:016x}.log")
}

/// Writes `count` random operations, all synced, and returns them with the universe.
fn write_history(
    sim: &mut SimVfs<'_>,
    region: &mut [u8],
    config: Config,
    seed: u64,
    count: usize,
) -> (Vec<Op>, Vec<BlockId>) {
    let mut generator = Generator::new(seed, 12);
    let mut engine = Engine::open(config, region, sim).unwrap();
    let mut model = Model::new();
    let mut history = Vec::new();
    for _ in 0..count {
        let op = generator.write();
        if let Outcome::Applied(_) = perform(&mut engine, &op) {
            model.apply(&config, &op);
            history.push(op);
        }
    }
    engine.close().unwrap();
    (history, generator.all_ids())
}

/// Opens and checks the outcome against the history: a prefix, and any loss reported.
/// Returns the prefix length (`None`: strict recovery refused), and shortens `history` to
/// it, since recovery cut the rest for good.
fn open_and_check(
    sim: &mut SimVfs<'_>,
    region: &mut [u8],
    config: Config,
    history: &mut Vec<Op>,
    universe: &[BlockId],
) -> Result<Option<usize>, String> {
    let mut engine = match Engine::open(config, region, sim) {
        Ok(engine) => engine,
        Err(Error::Corruption { .. }) if config.recovery_mode == RecoveryMode::Strict => {
            return Ok(None)
        }
        Err(error) => return Err(format!("open: {error:?}")),
    };
    let kept = check_prefix(&mut engine, &config, &Model::new(), history, universe)?;
    let stats = engine.stats();
    let loss_reported = stats.wal_torn_bytes_truncated + stats.wal_corrupt_bytes_dropped > 0;
    if kept < history.len() && !loss_reported {
        return Err(format!("lost {} synced writes silently: {stats:?}", history.len() - kept));
    }
    engine.close().map_err(|error| format!("close: {error:?}"))?;
    history.truncate(kept);
    Ok(Some(kept))
}

#[test]
fn every_flipped_byte_of_the_wal_is_caught() {
    let config = small_config();
    let bump = bumpalo::Bump::new();
    let memory = Memory::new(&bump, &config);
    let mut pristine = harness::sim_vfs(memory.disk, 9);
    let (history, universe) = write_history(&mut pristine, &mut *memory.region, config, 9, 60);
    let first_len = pristine.file_bytes(&segment(1)).unwrap();
    assert!(pristine.file_bytes(&segment(2)).is_some(), "the history must span segments");
    let disk_copy = bump.alloc_slice_fill_copy(harness::SIM.memory_bytes_required(), 0u8);
    let mut checked = 0;
    for mode in [RecoveryMode::Tolerant, RecoveryMode::Strict] {
        let config = Config { recovery_mode: mode, ..config };
        for offset in (0..first_len).step_by(3) {
            // Rebuild the same store, then damage one byte of the first segment.
            let mut sim = harness::sim_vfs(&mut *disk_copy, 9);
            write_history(&mut sim, &mut *memory.region, config, 9, 60);
            assert!(sim.corrupt(&segment(1), offset, 0x40));
            let outcome = open_and_check(
                &mut sim,
                &mut *memory.region,
                config,
                &mut history.clone(),
                &universe,
            )
            .unwrap_or_else(|error| panic!("{mode:?}, byte {offset}: {error}"));
            if mode == RecoveryMode::Strict {
                assert_eq!(outcome, None, "strict recovery accepted damage at byte {offset}");
            } else {
                assert!(outcome.is_some_and(|kept| kept < history.len()), "byte {offset}");
            }
            checked += 1;
        }
    }
    assert!(checked > 100);
}

#[test]
fn damage_to_synced_frames_is_corruption_in_strict_and_reported_in_tolerant_mode() {
    let config = small_config();
    let bump = bumpalo::Bump::new();
    let memory = Memory::new(&bump, &config);
    let mut sim = harness::sim_vfs(memory.disk, 5);
    let (history, universe) = write_history(&mut sim, &mut *memory.region, config, 5, 60);
    // Byte 40 is inside the first frame's header (the segment header is 32 bytes).
    assert!(sim.corrupt(&segment(1), 40, 0x01));
    let strict = Config { recovery_mode: RecoveryMode::Strict, ..config };
    let result = Engine::open(strict, &mut *memory.region, &mut sim).err();
    assert_eq!(result, Some(Error::Corruption { kind: CorruptionKind::WalFrame }));
    // Strict recovery changed nothing: a second strict open says the same.
    let result = Engine::open(strict, &mut *memory.region, &mut sim).err();
    assert_eq!(result, Some(Error::Corruption { kind: CorruptionKind::WalFrame }));
    let mut engine = Engine::open(config, &mut *memory.region, &mut sim).unwrap();
    let kept = check_prefix(&mut engine, &config, &Model::new(), &history, &universe).unwrap();
    assert_eq!(kept, 0);
    assert!(engine.stats().wal_corrupt_bytes_dropped > 0);
    assert_eq!(engine.stats().wal_torn_bytes_truncated, 0);
}

#[test]
fn a_missing_middle_segment_is_a_gap() {
    let config = small_config();
    let bump = bumpalo::Bump::new();
    let memory = Memory::new(&bump, &config);
    let mut sim = harness::sim_vfs(memory.disk, 6);
    let (history, universe) = write_history(&mut sim, &mut *memory.region, config, 6, 120);
    assert!(sim.file_bytes(&segment(3)).is_some(), "needs three segments");
    sim.remove(&segment(2)).unwrap();
    sim.sync_dir().unwrap();
    let strict = Config { recovery_mode: RecoveryMode::Strict, ..config };
    let result = Engine::open(strict, &mut *memory.region, &mut sim).err();
    assert_eq!(result, Some(Error::Corruption { kind: CorruptionKind::WalSegmentGap }));
    let kept =
        open_and_check(&mut sim, &mut *memory.region, config, &mut history.clone(), &universe)
            .unwrap();
    assert!(kept.is_some_and(|kept| kept > 0 && kept < history.len()));
}

#[test]
fn a_wal_cut_at_every_length_recovers_a_prefix() {
    let config = small_config();
    let bump = bumpalo::Bump::new();
    let memory = Memory::new(&bump, &config);
    let disk = bump.alloc_slice_fill_copy(harness::SIM.memory_bytes_required(), 0u8);
    let (history, universe, len) = {
        let mut sim = harness::sim_vfs(&mut *disk, 8);
        let (history, universe) = write_history(&mut sim, &mut *memory.region, config, 8, 30);
        assert!(sim.file_bytes(&segment(2)).is_none(), "one segment keeps the cut simple");
        (history, universe, sim.file_bytes(&segment(1)).unwrap())
    };
    // A cut log looks exactly like a crash that lost unsynced writes: nothing on disk tells
    // them apart, so the loss here is the torn tail's, which is only reported mid-frame.
    let mut previous = 0;
    for cut in 0..=len {
        let mut sim = harness::sim_vfs(&mut *disk, 8);
        write_history(&mut sim, &mut *memory.region, config, 8, 30);
        let file = sim.open(&segment(1)).unwrap();
        sim.truncate(file, cut as u64).unwrap();
        sim.sync(file).unwrap();
        sim.close(file);
        let mut engine = Engine::open(config, &mut *memory.region, &mut sim).unwrap();
        let kept = check_prefix(&mut engine, &config, &Model::new(), &history, &universe)
            .unwrap_or_else(|error| panic!("cut at {cut}: {error}"));
        assert!(kept >= previous, "a longer log recovered fewer writes");
        previous = kept;
    }
    assert_eq!(previous, history.len());
}

#[test]
fn garbage_segment_files_never_panic_or_loop() {
    for_each_seed("garbage_segment_files_never_panic_or_loop", 64, |seed| {
        let config = Config { recovery_mode: RecoveryMode::Strict, ..small_config() };
        let bump = bumpalo::Bump::new();
        let memory = Memory::new(&bump, &config);
        let mut sim = harness::sim_vfs(memory.disk, seed);
        let (history, universe) = write_history(&mut sim, &mut *memory.region, config, seed, 40);
        let mut rng = kausaldb_core::vfs::sim::SimRng::new(seed);
        // Overwrite a random stretch of a real segment with random bytes, or add a garbage one.
        let name = if rng.below(2) == 0 { segment(1) } else { segment(1 + rng.below(3)) };
        let file =
            sim.open(&name).or_else(|_| sim.create(&name)).map_err(|error| format!("{error:?}"))?;
        let len = sim.len(file).unwrap_or(0);
        let start = rng.below(len + 1);
        let garbage: Vec<u8> = (0..1 + rng.below(600)).map(|_| rng.next_u64() as u8).collect();
        let fits =
            (start as usize + garbage.len()).min(harness::SIM.file_bytes_max) - start as usize;
        sim.write_at(file, start, &garbage[..fits]).map_err(|error| format!("{error:?}"))?;
        sim.sync(file).unwrap();
        sim.close(file);
        sim.sync_dir().unwrap();
        let mut history = history;
        open_and_check(&mut sim, &mut *memory.region, config, &mut history, &universe)?;
        let tolerant = Config { recovery_mode: RecoveryMode::Tolerant, ..config };
        open_and_check(&mut sim, &mut *memory.region, tolerant, &mut history, &universe)?
            .ok_or("tolerant refused")?;
        Ok(())
    });
}

#[test]
fn flaky_reads_never_lose_data_silently() {
    for_each_seed("flaky_reads_never_lose_data_silently", 64, |seed| {
        let config = small_config();
        let bump = bumpalo::Bump::new();
        let memory = Memory::new(&bump, &config);
        let mut sim = harness::sim_vfs(memory.disk, seed);
        let (history, universe) = write_history(&mut sim, &mut *memory.region, config, seed, 60);
        let mut history = history;
        let mut cut_writes = 0;
        for _ in 0..8 {
            sim.faults.read_bitflip_ppm = 200_000;
            let engine = match Engine::open(config, &mut *memory.region, &mut sim) {
                Ok(engine) => engine,
                Err(Error::Io(_) | Error::Corruption { .. }) => continue,
                Err(error) => return Err(format!("open with flaky reads: {error:?}")),
            };
            let mut engine = engine;
            let kept = check_prefix(&mut engine, &config, &Model::new(), &history, &universe)?;
            let stats = engine.stats();
            if kept < history.len()
                && stats.wal_torn_bytes_truncated + stats.wal_corrupt_bytes_dropped == 0
            {
                return Err(format!("a flaky open lost {} writes silently", history.len() - kept));
            }
            cut_writes += history.len() - kept;
            history.truncate(kept);
            engine.abandon();
        }
        sim.faults.read_bitflip_ppm = 0;
        open_and_check(&mut sim, &mut *memory.region, config, &mut history, &universe)?;
        if cut_writes > 0 {
            eprintln!(
                "seed {seed}: flips hit one frame on 3 reads running; {cut_writes} writes cut"
            );
        }
        Ok(())
    });
}

/// Every answer from a store with damaged tables is the right one or `Corruption`.
fn check_or_corruption(
    engine: &mut Engine<'_, &mut SimVfs<'_>>,
    model: &Model,
    universe: &[BlockId],
) -> Result<(), String> {
    for id in universe {
        match engine.find_block(*id) {
            Err(Error::Corruption { .. }) => continue,
            Err(error) => return Err(format!("find {id:?}: {error:?}")),
            Ok(found) => {
                let found = found.map(|view| (view.sequence, view.content.to_vec()));
                let expected =
                    model.blocks.get(id).map(|block| (block.sequence, block.content.clone()));
                if found != expected {
                    return Err(format!(
                        "block {id:?}: wrong answer {found:?}, expected {expected:?}"
                    ));
                }
            }
        }
        let mut out = [kausaldb_core::Edge::EMPTY; 64];
        match engine.edges(
            *id,
            kausaldb_core::Direction::Outgoing,
            kausaldb_core::EdgeFilter::All,
            &mut out,
        ) {
            Err(Error::Corruption { .. }) | Err(Error::NotFound) => {}
            Err(error) => return Err(format!("edges {id:?}: {error:?}")),
            Ok(count) => {
                let mut got: Vec<_> = out[..count.written]
                    .iter()
                    .map(|e| (e.source, e.target, e.edge_type))
                    .collect();
                got.sort();
                let expected: Vec<_> =
                    model.edges.iter().filter(|(s, _, _)| s == id).copied().collect();
                if got != expected {
                    return Err(format!(
                        "edges of {id:?}: wrong answer {got:?}, expected {expected:?}"
                    ));
                }
            }
        }
    }
    Ok(())
}

#[test]
fn damaged_tables_and_manifests_give_corruption_never_a_wrong_answer() {
    let config = Config { recovery_mode: RecoveryMode::Strict, ..small_config() };
    let bump = bumpalo::Bump::new();
    let memory = Memory::new(&bump, &config);
    let disk = bump.alloc_slice_fill_copy(harness::SIM.memory_bytes_required(), 0u8);
    // A store whose data is all in one table (flushed, then closed with an empty memtable).
    let build = |sim: &mut SimVfs<'_>, region: &mut [u8]| {
        let mut generator = Generator::new(31, 12);
        let mut engine = Engine::open(config, region, sim).unwrap();
        let mut model = Model::new();
        for _ in 0..80 {
            let op = generator.write();
            if let Outcome::Applied(_) = perform(&mut engine, &op) {
                model.apply(&config, &op);
            }
        }
        engine.flush().unwrap();
        engine.close().unwrap();
        (model, generator.all_ids())
    };
    let table = "table-0000000000000001.kdb";
    let (table_len, model, universe) = {
        let mut sim = harness::sim_vfs(&mut *disk, 1);
        let (model, universe) = build(&mut sim, &mut *memory.region);
        (sim.file_bytes(table).expect("the flush wrote table 1"), model, universe)
    };
    let mut outcomes = [0usize; 2];
    for (file, len) in [(table, table_len), ("MANIFEST", 0)] {
        let len = if len == 0 { 80 } else { len };
        for offset in (0..len).step_by(5) {
            let mut sim = harness::sim_vfs(&mut *disk, 1);
            build(&mut sim, &mut *memory.region);
            if !sim.corrupt(file, offset, 0x08) {
                continue;
            }
            match Engine::open(config, &mut *memory.region, &mut sim) {
                Err(Error::Corruption { .. }) => outcomes[0] += 1,
                Err(error) => panic!("{file} byte {offset}: {error:?}"),
                Ok(mut engine) => {
                    check_or_corruption(&mut engine, &model, &universe)
                        .unwrap_or_else(|error| panic!("{file} byte {offset}: {error}"));
                    outcomes[1] += 1;
                }
            };
        }
    }
    eprintln!(
        "damaged bytes: {} refused at open, {} opened and answered right or Corruption",
        outcomes[0], outcomes[1]
    );
    assert!(outcomes[0] > 0 && outcomes[1] > 0, "{outcomes:?}");
    // A table cut short at any length is refused at open.
    for cut in (0..table_len).step_by(97) {
        let mut sim = harness::sim_vfs(&mut *disk, 1);
        build(&mut sim, &mut *memory.region);
        let file = sim.open(table).unwrap();
        sim.truncate(file, cut as u64).unwrap();
        sim.sync(file).unwrap();
        sim.close(file);
        let result = Engine::open(config, &mut *memory.region, &mut sim).err();
        assert!(matches!(result, Some(Error::Corruption { .. })), "cut at {cut}: {result:?}");
    }
}

/// The names in the store directory, sorted.
fn listing(sim: &mut SimVfs<'_>) -> Vec<String> {
    let mut buffer = vec![0u8; 4096];
    let listed = sim.list(&mut buffer).unwrap();
    let mut names: Vec<String> = buffer[..listed]
        .split(|&byte| byte == 0)
        .filter(|name| !name.is_empty())
        .map(|name| String::from_utf8(name.to_vec()).unwrap())
        .collect();
    names.sort();
    names
}

/// A store that flushed keeps its tables and the log after the checkpoint only through its
/// MANIFEST. Without it, open must refuse in both modes and change nothing: putting the
/// manifest back must bring every write back. (It used to open tolerant with an empty store,
/// after deleting every table and segment; strict refused, but had deleted the tables.)
#[test]
fn a_missing_manifest_after_a_flush_is_corruption_and_deletes_nothing() {
    let config = small_config();
    let bump = bumpalo::Bump::new();
    let memory = Memory::new(&bump, &config);
    let mut sim = harness::sim_vfs(memory.disk, 13);
    let id = |n: u64| BlockId::from_u128(u128::from(n));
    let mut engine = Engine::open(config, &mut *memory.region, &mut sim).unwrap();
    for n in 1..=6 {
        engine.put_block(id(n), b"a.rs", b"{}", b"flushed").unwrap();
    }
    engine.flush().unwrap();
    for n in 7..=9 {
        engine.put_block(id(n), b"a.rs", b"{}", b"in the log").unwrap();
    }
    engine.close().unwrap();
    let before = listing(&mut sim);
    assert!(before.iter().any(|name| name.starts_with("table-")), "{before:?}");
    sim.rename("MANIFEST", "MANIFEST.aside").unwrap();
    sim.sync_dir().unwrap();
    let aside = listing(&mut sim);
    for mode in [RecoveryMode::Tolerant, RecoveryMode::Strict] {
        let config = Config { recovery_mode: mode, ..config };
        let opened = Engine::open(config, &mut *memory.region, &mut sim).map(|_| ());
        let expected = Err(Error::Corruption { kind: CorruptionKind::Manifest });
        assert_eq!(opened, expected, "{mode:?}");
        assert_eq!(listing(&mut sim), aside, "{mode:?}: open changed the directory");
    }
    sim.rename("MANIFEST.aside", "MANIFEST").unwrap();
    sim.sync_dir().unwrap();
    let mut engine = Engine::open(config, &mut *memory.region, &mut sim).unwrap();
    for n in 1..=9 {
        assert!(engine.find_block(id(n)).unwrap().is_some(), "block {n} lost");
    }
    engine.close().unwrap();
}

/// The tables' half of a lost manifest: with the log gone too, a table numbered after the
/// first still proves a manifest named it, so open refuses and removes nothing.
#[test]
fn a_missing_manifest_is_found_from_the_tables_alone() {
    let config = Config { compaction_auto: false, ..small_config() };
    let bump = bumpalo::Bump::new();
    let memory = Memory::new(&bump, &config);
    let mut sim = harness::sim_vfs(memory.disk, 14);
    let mut engine = Engine::open(config, &mut *memory.region, &mut sim).unwrap();
    for round in 0..2u128 {
        engine.put_block(BlockId::from_u128(round + 1), b"a.rs", b"{}", b"x").unwrap();
        engine.flush().unwrap();
    }
    engine.close().unwrap();
    let names = listing(&mut sim);
    for name in names.iter().filter(|name| name.starts_with("wal-") || *name == "MANIFEST") {
        sim.remove(name).unwrap();
    }
    sim.sync_dir().unwrap();
    let left = listing(&mut sim);
    assert!(left.iter().filter(|name| name.starts_with("table-")).count() == 2, "{left:?}");
    let opened = Engine::open(config, &mut *memory.region, &mut sim).map(|_| ());
    assert_eq!(opened, Err(Error::Corruption { kind: CorruptionKind::Manifest }));
    assert_eq!(listing(&mut sim), left, "a refused open removed files");
}

/// The same with one flush: the first table alone is what a first flush that crashed before
/// its manifest leaves, but such a flush synced its log first and leaves it (segments go
/// only after a manifest names the table). The first table with no manifest and a log that
/// replays nothing (none at all, or one empty segment) is a lost manifest and log: open
/// refuses. It opened an empty store, every write silently gone (found by the `recovery`
/// fuzz target, both variants).
#[test]
fn a_lone_first_table_without_manifest_or_log_is_corruption() {
    let config = small_config();
    for empty_segment in [false, true] {
        let bump = bumpalo::Bump::new();
        let memory = Memory::new(&bump, &config);
        let mut sim = harness::sim_vfs(memory.disk, 15);
        let mut engine = Engine::open(config, &mut *memory.region, &mut sim).unwrap();
        engine.put_block(BlockId::from_u128(1), b"a.rs", b"{}", b"flushed").unwrap();
        engine.flush().unwrap();
        engine.close().unwrap();
        let names = listing(&mut sim);
        for name in names.iter().filter(|name| name.starts_with("wal-") || *name == "MANIFEST") {
            sim.remove(name).unwrap();
        }
        if empty_segment {
            let file = sim.create(&segment(3)).unwrap();
            sim.sync(file).unwrap();
            sim.close(file);
        }
        sim.sync_dir().unwrap();
        let left = listing(&mut sim);
        assert_eq!(left.len(), 1 + usize::from(empty_segment), "{left:?}");
        for mode in [RecoveryMode::Tolerant, RecoveryMode::Strict] {
            let config = Config { recovery_mode: mode, ..config };
            let opened = Engine::open(config, &mut *memory.region, &mut sim).map(|_| ());
            let expected = Err(Error::Corruption { kind: CorruptionKind::Manifest });
            assert_eq!(opened, expected, "{mode:?}, empty segment: {empty_segment}");
            assert_eq!(listing(&mut sim), left, "{mode:?}: a refused open removed files");
        }
    }
}

/// A clean close records the log's durable end in the manifest, where a damaged log cannot
/// take the record with it. Losing the end of the last segment of a cleanly closed store
/// (cut to its header, deleted, or zeroed after its header) is `Corruption` in strict mode
/// and counted as dropped in tolerant mode. Before, both opened with the synced tail
/// silently gone: the close marker went with the data it vouched for.
#[test]
fn losing_the_end_of_a_cleanly_closed_log_is_never_silent() {
    let config = small_config();
    let id = |n: u64| BlockId::from_u128(u128::from(n));
    for damage in ["cut to the header", "deleted", "zeroed after the header"] {
        for mode in [RecoveryMode::Strict, RecoveryMode::Tolerant] {
            let bump = bumpalo::Bump::new();
            let memory = Memory::new(&bump, &config);
            let mut sim = harness::sim_vfs(memory.disk, 21);
            let mut engine = Engine::open(config, &mut *memory.region, &mut sim).unwrap();
            for n in 1..=12 {
                engine.put_block(id(n), b"a.rs", b"{}", &[n as u8; 200]).unwrap();
                engine.sync().unwrap();
            }
            engine.close().unwrap();
            let last = listing(&mut sim).into_iter().filter(|name| name.starts_with("wal-")).max();
            let last = last.expect("a log segment");
            match damage {
                "deleted" => sim.remove(&last).unwrap(),
                _ => {
                    let file = sim.open(&last).unwrap();
                    let len = sim.len(file).unwrap();
                    if damage == "cut to the header" {
                        sim.truncate(file, 32).unwrap();
                    } else {
                        sim.write_at(file, 32, &vec![0u8; len as usize - 32]).unwrap();
                    }
                    sim.sync(file).unwrap();
                    sim.close(file);
                }
            }
            sim.sync_dir().unwrap();
            let config = Config { recovery_mode: mode, ..config };
            let mut engine = match Engine::open(config, &mut *memory.region, &mut sim) {
                Err(Error::Corruption { .. }) if mode == RecoveryMode::Strict => continue,
                Ok(engine) if mode == RecoveryMode::Tolerant => engine,
                other => panic!("{damage}, {mode:?}: {:?}", other.map(|engine| engine.stats())),
            };
            let dropped = engine.stats().wal_corrupt_bytes_dropped;
            assert!(dropped > 0, "{damage}: tolerant open did not count the lost tail");
            // The loss was accepted once: a later crash is not read as it again.
            engine.put_block(id(99), b"a.rs", b"{}", b"after").unwrap();
            engine.sync().unwrap();
            engine.abandon();
            let engine = Engine::open(config, &mut *memory.region, &mut sim).unwrap();
            assert_eq!(engine.stats().wal_corrupt_bytes_dropped, 0, "{damage}");
            assert_eq!(engine.stats().blocks_live, 1, "{damage}: the later write");
        }
    }
}

/// Replay must not need the tables: a store whose log updates, links and deletes blocks that
/// live in a table opens in both modes with any one data page of that table damaged, and
/// answers every read right or with `Corruption` (only the reads that need the damaged page).
/// It used to refuse the whole open: replaying a put, an edge or a delete read the tables
/// to decide visibility, so a damaged page that replay touched failed recovery itself.
#[test]
fn a_damaged_table_page_fails_only_the_reads_that_need_it() {
    let config = small_config();
    let bump = bumpalo::Bump::new();
    let memory = Memory::new(&bump, &config);
    let disk = bump.alloc_slice_fill_copy(harness::SIM.memory_bytes_required(), 0u8);
    let id = |n: u64| BlockId::from_u128(u128::from(n));
    let calls = |source: u64, target: u64| {
        Op::PutEdge(kausaldb_core::Edge {
            source: id(source),
            target: id(target),
            edge_type: kausaldb_core::EdgeType::CALLS,
        })
    };
    let block = |n: u64, content: &str| Op::Put {
        id: id(n),
        source_uri: format!("src/{n}.rs").into_bytes(),
        metadata_json: b"{}".to_vec(),
        content: content.as_bytes().to_vec(),
    };
    // Twelve blocks in a ring of calls, flushed to one table; then a log that puts over
    // two of them, links every one again, and deletes two with their edges.
    let mut flushed: Vec<Op> = (1..=12).map(|n| block(n, &"x".repeat(40))).collect();
    flushed.extend((1..=12).map(|n| calls(n, n % 12 + 1)));
    let mut logged = vec![block(3, "new three"), block(8, "new eight")];
    logged.extend((1..=12).map(|n| calls(n, (n + 5) % 12 + 1)));
    logged.extend([Op::Delete { id: id(5) }, Op::Delete { id: id(10) }]);
    let mut model = Model::new();
    let build = |sim: &mut SimVfs<'_>, region: &mut [u8], model: &mut Model| {
        let mut engine = Engine::open(config, region, sim).unwrap();
        for op in &flushed {
            assert_eq!(perform(&mut engine, op), model.apply(&config, op), "{op:?}");
        }
        engine.flush().unwrap();
        for op in &logged {
            assert_eq!(perform(&mut engine, op), model.apply(&config, op), "{op:?}");
        }
        engine.close().unwrap();
    };
    let table = "table-0000000000000001.kdb";
    let data_end = {
        let mut sim = harness::sim_vfs(&mut *disk, 1);
        build(&mut sim, &mut *memory.region, &mut model);
        let len = sim.file_bytes(table).expect("the flush wrote table 1");
        let file = sim.open(table).unwrap();
        let mut footer = [0u8; 72];
        sim.read_at(file, (len - 72) as u64, &mut footer).unwrap();
        sim.close(file);
        u64::from_le_bytes(footer[16..24].try_into().unwrap()) as usize
    };
    let universe: Vec<BlockId> = (1..=12).map(id).collect();
    let mut refused_reads = 0usize;
    for mode in [RecoveryMode::Strict, RecoveryMode::Tolerant] {
        let config = Config { recovery_mode: mode, ..config };
        for offset in (0..data_end).step_by(7) {
            let seed = offset as u64;
            let mut sim = harness::sim_vfs(&mut *disk, seed);
            build(&mut sim, &mut *memory.region, &mut Model::new());
            assert!(sim.corrupt(table, offset, 0x10));
            let mut engine = Engine::open(config, &mut *memory.region, &mut sim)
                .unwrap_or_else(|error| panic!("{mode:?}, data byte {offset}: open {error:?}"));
            for id in &universe {
                refused_reads += usize::from(engine.find_block(*id).is_err());
            }
            check_or_corruption(&mut engine, &model, &universe)
                .unwrap_or_else(|error| panic!("{mode:?}, data byte {offset}: {error}"));
            engine.close().unwrap();
        }
    }
    eprintln!("{data_end} bytes of data pages, {refused_reads} reads refused as Corruption");
    assert!(refused_reads > 0, "no damaged page was ever read");
}

/// A delete is logged as a group of frames (the edges it removed, then the delete itself)
/// and counts only whole: a log cut anywhere inside the group recovers the store as before
/// the delete, edges included, and writes after the reopen are appended where the group
/// began, so a second reopen reads them (a group's leftover frames ahead of them would
/// break the log there).
#[test]
fn a_delete_cut_anywhere_in_its_frames_is_undone_whole_and_the_log_goes_on() {
    let config = small_config();
    let bump = bumpalo::Bump::new();
    let memory = Memory::new(&bump, &config);
    let disk = bump.alloc_slice_fill_copy(harness::SIM.memory_bytes_required(), 0u8);
    let id = |n: u64| BlockId::from_u128(u128::from(n));
    let edge = |source: u64, target: u64, edge_type| {
        Op::PutEdge(kausaldb_core::Edge { source: id(source), target: id(target), edge_type })
    };
    let block = |n: u64| Op::Put {
        id: id(n),
        source_uri: format!("src/{n}.rs").into_bytes(),
        metadata_json: b"{}".to_vec(),
        content: vec![],
    };
    // Hub 100 has 30 callers and 10 imports: 40 edges, two deleted-edges frames at this
    // config's largest frame (34 entries), so cuts fall between frames of the group too.
    let mut ops: Vec<Op> = (1..=40).chain([100]).map(block).collect();
    ops.extend((1..=30).map(|n| edge(n, 100, kausaldb_core::EdgeType::CALLS)));
    ops.extend((1..=10).map(|n| edge(100, n, kausaldb_core::EdgeType::IMPORTS)));
    let delete = Op::Delete { id: id(100) };
    let later = block(41);
    let mut universe: Vec<BlockId> = (1..=41).map(id).collect();
    universe.push(id(100));
    let mut before = Model::new();
    let build = |sim: &mut SimVfs<'_>, region: &mut [u8], model: &mut Model| {
        let mut engine = Engine::open(config, region, sim).unwrap();
        for op in &ops {
            assert_eq!(perform(&mut engine, op), model.apply(&config, op), "{op:?}");
        }
        engine.sync().unwrap();
        let deleted = perform(&mut engine, &delete);
        assert!(matches!(deleted, Outcome::Applied(_)), "{deleted:?}");
        engine.sync().unwrap();
        // A crash after the sync: no close marker vouches for the log's end.
        engine.abandon();
    };
    let last_segment = |sim: &mut SimVfs<'_>| {
        listing(sim).into_iter().filter(|name| name.starts_with("wal-")).max().unwrap()
    };
    let (name, len) = {
        let mut sim = harness::sim_vfs(&mut *disk, 3);
        build(&mut sim, &mut *memory.region, &mut before);
        let name = last_segment(&mut sim);
        let len = sim.file_bytes(&name).unwrap();
        (name, len)
    };
    let mut undone = 0usize;
    for cut in (32..=len).step_by(8) {
        let mut sim = harness::sim_vfs(&mut *disk, 3);
        build(&mut sim, &mut *memory.region, &mut Model::new());
        assert_eq!(last_segment(&mut sim), name);
        let file = sim.open(&name).unwrap();
        sim.truncate(file, cut as u64).unwrap();
        sim.sync(file).unwrap();
        sim.close(file);
        let mut engine = Engine::open(config, &mut *memory.region, &mut sim).unwrap();
        let kept =
            check_prefix(&mut engine, &config, &before, std::slice::from_ref(&delete), &universe)
                .unwrap_or_else(|error| panic!("cut at {cut}: {error}"));
        undone += usize::from(kept == 0);
        let mut model = before.clone();
        if kept == 1 {
            model.apply(&config, &delete);
        }
        assert_eq!(perform(&mut engine, &later), model.apply(&config, &later), "cut at {cut}");
        engine.close().unwrap();
        let mut engine = Engine::open(config, &mut *memory.region, &mut sim).unwrap();
        harness::check_matches(&mut engine, &model, &universe)
            .unwrap_or_else(|error| panic!("cut at {cut}, reopened: {error}"));
        engine.close().unwrap();
    }
    eprintln!("{} cuts, {undone} undid the delete", (32..=len).step_by(8).count());
    assert!(undone >= 2, "the cuts never fell inside the delete's frames");
}
