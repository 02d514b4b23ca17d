//! Every error path: bad arguments change nothing; back-pressure changes nothing; I/O
//! errors injected on each operation of put, sync and open leave a store that reopens to
//! the last sync plus a prefix of later writes.
// Test code: runs on 64-bit hosts only, and a test reads top to bottom as one scenario.
#![allow(clippy::cast_possible_truncation, clippy::too_many_lines)]

mod harness;

use harness::{
    check_matches, check_prefix, for_each_seed, perform, small_config, Generator, Memory, Model,
    Op, Outcome,
};
use kausaldb_core::{
    memory_bytes_required, BlockId, Config, Direction, Edge, EdgeFilter, EdgeType, Engine, Error,
    FieldName, Resource, Stats, SyncPolicy,
};

fn id(value: u128) -> BlockId {
    BlockId::from_u128(value)
}

const META: &[u8] = br#"{"kind":"function"}"#;

#[test]
fn invalid_arguments_are_refused_precisely_and_change_nothing() {
    let config = small_config();
    let bump = bumpalo::Bump::new();
    let memory = Memory::new(&bump, &config);
    let mut engine = Engine::open(config, memory.region, harness::sim_vfs(memory.disk, 1)).unwrap();
    engine.put_block(id(1), b"a.rs", META, b"fn a() {}").unwrap();
    let before: Stats = engine.stats();
    let long_uri = vec![b'u'; config.source_uri_bytes_max as usize + 1];
    let long_meta = format!("{{\"k\":\"{}\"}}", "x".repeat(config.metadata_bytes_max as usize));
    let long_content = vec![0u8; config.content_bytes_max as usize + 1];
    let cases: Vec<(Result<u64, Error>, Error)> = vec![
        (engine.put_block(BlockId::ZERO, b"a.rs", META, b""), Error::IdZero),
        (
            engine.put_block(id(2), &long_uri, META, b""),
            Error::SourceUriTooLong { bytes: long_uri.len() },
        ),
        (engine.put_block(id(2), b"\xff.rs", META, b""), Error::SourceUriNotUtf8),
        (
            engine.put_block(id(2), b"a.rs", long_meta.as_bytes(), b""),
            Error::MetadataTooLong { bytes: long_meta.len() },
        ),
        (engine.put_block(id(2), b"a.rs", b"[1]", b""), Error::MetadataInvalid { offset: 0 }),
        (engine.put_block(id(2), b"a.rs", b"{\"a\":}", b""), Error::MetadataInvalid { offset: 5 }),
        (
            engine.put_block(id(2), b"a.rs", META, &long_content),
            Error::ContentTooLong { bytes: long_content.len() },
        ),
        (engine.delete_block(BlockId::ZERO), Error::IdZero),
        (engine.delete_block(id(2)), Error::NotFound),
        (
            engine.delete_edge(Edge { source: id(1), target: id(1), edge_type: EdgeType::CALLS }),
            Error::NotFound,
        ),
    ];
    for (got, expected) in cases {
        assert_eq!(got, Err(expected));
    }
    let to_missing = Edge { source: id(1), target: id(9), edge_type: EdgeType::CALLS };
    assert_eq!(engine.put_edge(to_missing), Err(Error::NotFound));
    let from_zero = Edge { source: BlockId::ZERO, target: id(1), edge_type: EdgeType::CALLS };
    assert_eq!(engine.put_edge(from_zero), Err(Error::IdZero));
    assert_eq!(engine.find_block(BlockId::ZERO).err(), Some(Error::IdZero));
    let mut out = [Edge::EMPTY; 2];
    assert_eq!(
        engine.edges(id(9), Direction::Both, EdgeFilter::All, &mut out),
        Err(Error::NotFound)
    );
    assert_eq!(EdgeType::from_code(12), Err(Error::EdgeTypeUnknown { code: 12 }));
    assert_eq!(engine.stats(), before, "a refused write changed the engine");
    assert_eq!(engine.find_block(id(2)).unwrap(), None);
}

#[test]
fn config_and_region_errors_name_what_is_wrong() {
    let bump = bumpalo::Bump::new();
    let config = small_config();
    let memory = Memory::new(&bump, &config);
    let bad = Config { wal_buffer_bytes: 16, ..config };
    let vfs = harness::sim_vfs(memory.disk, 1);
    assert_eq!(
        Engine::open(bad, &mut *memory.region, vfs).err(),
        Some(Error::ConfigInvalid { field: FieldName::new(&"wal_buffer_bytes") })
    );
    let fields: [(Config, &'static &'static str); 5] = [
        (Config { memtable_entries_max: 0, ..config }, &"memtable_entries_max"),
        (Config { memtable_edges_max: u32::MAX, ..config }, &"memtable_edges_max"),
        (Config { memtable_arena_bytes_max: 10, ..config }, &"memtable_arena_bytes_max"),
        (Config { wal_segment_bytes_max: 64, ..config }, &"wal_segment_bytes_max"),
        (Config { files_max: 2, ..config }, &"files_max"),
    ];
    for (bad, field) in fields {
        assert_eq!(bad.validate(), Err(Error::ConfigInvalid { field: FieldName::new(field) }));
    }
    let required = memory_bytes_required(&config);
    let short = &mut memory.region[..required - 1];
    let vfs = harness::sim_vfs(
        &mut bump.alloc_slice_fill_copy(harness::SIM.memory_bytes_required(), 0u8)[..],
        2,
    );
    assert_eq!(
        Engine::open(config, short, vfs).err(),
        Some(Error::RegionTooSmall { bytes_required: required })
    );
}

#[test]
fn a_full_memtable_flushes_and_full_tables_are_back_pressure_that_changes_nothing() {
    let config = Config {
        memtable_entries_max: 2,
        memtable_edges_max: 1,
        tables_max: 4,
        compaction_auto: false,
        ..small_config()
    };
    let bump = bumpalo::Bump::new();
    let memory = Memory::new(&bump, &config);
    let mut sim = harness::sim_vfs(memory.disk, 3);
    let mut engine = Engine::open(config, &mut *memory.region, &mut sim).unwrap();
    engine.put_block(id(1), b"a", META, b"").unwrap();
    engine.put_block(id(2), b"b", META, b"").unwrap();
    assert_eq!(engine.stats().tables_count, 0);
    // The memtable holds two entries: the third block flushes them to a table first.
    engine.put_block(id(3), b"c", META, b"").unwrap();
    let stats = engine.stats();
    assert_eq!((stats.tables_count, stats.flush_count, stats.blocks_live), (1, 1, 3));
    assert_eq!(engine.find_block(id(1)).unwrap().unwrap().source_uri, b"a");
    let edges = [(1, 3), (3, 2), (2, 1), (1, 1)];
    // What a refused write may change: the work it did before it was refused (table pages
    // read while planning it, the stall of the flush it asked for), not the store.
    let state = |stats: Stats| Stats {
        table_pages_read: 0,
        write_stalls: 0,
        write_stall_ns_total: 0,
        write_stall_ns_max: 0,
        ..stats
    };
    let mut pressured = false;
    for (source, target) in edges {
        let edge = Edge { source: id(source), target: id(target), edge_type: EdgeType::CALLS };
        let full = Error::MemtableFull { resource: Resource::Tables };
        match engine.put_edge(edge) {
            Ok(_) => {}
            Err(error) => {
                // Back-pressure once a flush's tables (one for blocks, one for edges) no
                // longer fit: the write changed nothing.
                assert_eq!(error, full);
                pressured = true;
                let before = engine.stats();
                assert!(before.tables_count + 1 >= config.tables_max, "{before:?}");
                assert_eq!(engine.put_edge(edge), Err(full));
                assert_eq!(engine.flush(), Err(full));
                assert_eq!(state(engine.stats()), state(before), "back-pressure changed the store");
                // The host's way out: compaction merges the tables of a kind into one, until
                // the write is taken.
                let accepted = (0..config.tables_max).any(|_| match engine.put_edge(edge) {
                    Ok(_) => true,
                    Err(error) => {
                        assert_eq!(error, full);
                        assert_eq!(engine.compact_step(), Ok(true));
                        false
                    }
                });
                assert!(accepted, "compaction did not make room: {:?}", engine.stats());
                assert!(engine.stats().compaction_count > before.compaction_count);
            }
        }
    }
    assert!(pressured, "the writes never met back-pressure");
    let mut out = [Edge::EMPTY; 8];
    let count = engine.edges(id(1), Direction::Both, EdgeFilter::All, &mut out).unwrap();
    assert_eq!(count.total, 3, "edges across levels merge: {:?}", &out[..count.written]);
    engine.close().unwrap();
    let mut engine = Engine::open(config, &mut *memory.region, &mut sim).unwrap();
    assert_eq!((engine.stats().blocks_live, engine.stats().edges_live), (3, 4));
    assert_eq!(engine.find_block(id(2)).unwrap().unwrap().source_uri, b"b");
}

/// A compaction step that cannot reserve table memory for its output is put off, not made
/// the write's error: the flush before it succeeded, and the memtable has room again. A
/// write is refused for table memory only when its own flush's table does not fit, and then
/// it changes nothing. (A million-block scale run stopped at such a refusal with room left
/// for the flushes of 100,000 more blocks' edges.)
#[test]
fn a_merge_without_table_memory_waits_and_only_a_flush_that_cannot_fit_refuses_a_write() {
    let config = Config {
        memtable_entries_max: 8,
        memtable_edges_max: 8,
        table_memory_bytes: 3 << 10,
        ..small_config()
    };
    let bump = bumpalo::Bump::new();
    let memory = Memory::new(&bump, &config);
    let mut sim = harness::sim_vfs(memory.disk, 5);
    let mut engine = Engine::open(config, &mut *memory.region, &mut sim).unwrap();
    let table_memory = Error::MemtableFull { resource: Resource::TableMemory };
    let mut refused_at = None;
    for n in 1..=2_000u32 {
        let (id, content) = (id(u128::from(n)), [n as u8; 100]);
        match engine.put_block(id, b"a.rs", META, &content) {
            Ok(_) => {}
            Err(error) => {
                assert_eq!(error, table_memory);
                refused_at = Some(n);
                break;
            }
        }
    }
    let refused_at = refused_at.expect("the table memory never filled");
    let before = engine.stats();
    // Refused because the memtable's own table does not fit: it is full, not flushed.
    assert_eq!(before.memtable_entries_used, config.memtable_entries_max, "{before:?}");
    assert!(before.tables_count >= 4, "merges were put off, so tables gathered: {before:?}");
    let next = id(u128::from(refused_at));
    assert_eq!(engine.put_block(next, b"a.rs", META, b"x"), Err(table_memory));
    assert_eq!(engine.flush(), Err(table_memory));
    let after = engine.stats();
    assert_eq!(
        (after.blocks_live, after.tables_count, after.table_memory_bytes_used),
        (before.blocks_live, before.tables_count, before.table_memory_bytes_used),
        "a refused write changed the store"
    );
    for n in 1..refused_at {
        let found = engine.find_block(id(u128::from(n))).unwrap().map(|view| view.content[0]);
        assert_eq!(found, Some(n as u8), "block {n}");
    }
    assert_eq!(engine.find_block(next).unwrap(), None);
}

#[test]
fn a_full_wal_flushes_instead_of_refusing() {
    let config = Config {
        wal_segments_max: 2,
        files_max: 16,
        memtable_arena_bytes_max: 1 << 20,
        ..small_config()
    };
    let bump = bumpalo::Bump::new();
    let memory = Memory::new(&bump, &config);
    let mut engine = Engine::open(config, memory.region, harness::sim_vfs(memory.disk, 4)).unwrap();
    let content = vec![1u8; 400];
    for round in 0..60u8 {
        engine.put_block(id(1), b"a", META, &content).unwrap();
        assert!(engine.stats().wal_segments_count <= 2, "round {round}");
    }
    let stats = engine.stats();
    assert!(stats.flush_count >= 1 && stats.tables_count >= 1, "{stats:?}");
    assert_eq!(engine.find_block(id(1)).unwrap().unwrap().content.len(), 400);
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Target {
    Put,
    Sync,
    Flush,
    /// `flush_step` until a frozen memtable is written out (`Config::flush_auto` off).
    FlushStep,
    /// Writes until the frozen memtable, its flush taken in steps by the writes
    /// (`Config::flush_in_steps`), is written out.
    WriteSteps,
    Compact,
    /// `compact_step` until the merge is installed, a few records a step
    /// (`Config::compaction_step_bytes`).
    CompactSteps,
    Open,
}

/// Builds a store (30 random writes, synced, then a few unsynced), then runs `target` with
/// an I/O error injected at its n-th storage operation, for every n until `target` runs
/// with no fault left to hit. After each failure: the error is `Io`, later writes are
/// `Poisoned`, and after a power loss the store reopens to the last sync plus a prefix of
/// the writes after it (the failed one included as a maybe).
fn inject_at_every_operation(target: Target, shape: u64) -> u64 {
    // A buffered put does no I/O until its buffer fills; syncing every write makes each put
    // write, sync, and sometimes roll a segment.
    let sync_policy =
        if target == Target::Put { SyncPolicy::EveryWrite } else { SyncPolicy::Explicit };
    let compacts = matches!(target, Target::Compact | Target::CompactSteps);
    let config = Config { sync_policy, compaction_auto: !compacts, ..small_config() };
    // A memtable a few blocks fill, frozen when full, flushed in steps of 300 bytes.
    let config = match target {
        Target::FlushStep => Config {
            flush_auto: false,
            memtable_arena_bytes_max: 1536,
            flush_step_bytes: 300,
            ..config
        },
        Target::WriteSteps => Config {
            flush_in_steps: true,
            memtable_arena_bytes_max: 1536,
            flush_step_bytes: 300,
            ..config
        },
        Target::CompactSteps => Config { compaction_step_bytes: 300, ..config },
        _ => config,
    };
    let flushes = matches!(target, Target::Flush | Target::FlushStep | Target::WriteSteps);
    let freezes = matches!(target, Target::FlushStep | Target::WriteSteps);
    for fail_at in 0..10_000u64 {
        let bump = bumpalo::Bump::new();
        let memory = Memory::new(&bump, &config);
        let mut generator = Generator::new(shape, 8);
        let universe = generator.all_ids();
        let mut sim = harness::sim_vfs(memory.disk, fail_at);
        let mut engine = Engine::open(config, &mut *memory.region, &mut sim).unwrap();
        let mut model = Model::new();
        // Shapes put the log's end at offsets spread over more than one segment.
        for index in 0..shape * 2 {
            let content = vec![index as u8; 200];
            let op = Op::Put {
                id: generator.id(),
                source_uri: b"s".to_vec(),
                metadata_json: META.to_vec(),
                content,
            };
            if let Outcome::Applied(_) = perform(&mut engine, &op) {
                model.apply(&config, &op);
            }
        }
        for _ in 0..20 {
            let op = generator.write();
            if let Outcome::Applied(_) = perform(&mut engine, &op) {
                model.apply(&config, &op);
            }
        }
        // Writes until a memtable is frozen (a few blocks fill one).
        for _ in 0..200 {
            if !freezes || engine.stats().flush_pending {
                break;
            }
            let op = generator.block();
            if let Outcome::Applied(_) = perform(&mut engine, &op) {
                model.apply(&config, &op);
            }
        }
        if compacts {
            // Four tables of similar size (after one holding the writes so far) to merge.
            engine.flush().unwrap();
            for _ in 0..4 {
                let op = generator.block();
                if let Outcome::Applied(_) = perform(&mut engine, &op) {
                    model.apply(&config, &op);
                }
                engine.flush().unwrap();
            }
        }
        engine.sync().unwrap();
        let mut since_sync = Vec::new();
        if target != Target::Open {
            for _ in 0..3 {
                let op = generator.block();
                assert!(matches!(perform(&mut engine, &op), Outcome::Applied(_)));
                since_sync.push(op);
            }
        }
        if sync_policy == SyncPolicy::EveryWrite {
            for op in since_sync.drain(..) {
                model.apply(&config, &op);
            }
        }
        let synced = if sync_policy == SyncPolicy::EveryWrite { model.clone() } else { model };
        let (result, armed) = match target {
            Target::Put
            | Target::Sync
            | Target::Flush
            | Target::FlushStep
            | Target::WriteSteps
            | Target::Compact
            | Target::CompactSteps => {
                let armed = engine.vfs_mut().ops_count() + fail_at;
                engine.vfs_mut().faults.fail_at_op = Some(armed);
                let result = if target == Target::Put {
                    let content = vec![0x5a; 512 - shape as usize];
                    let op = Op::Put {
                        id: generator.id(),
                        source_uri: b"t".to_vec(),
                        metadata_json: META.to_vec(),
                        content,
                    };
                    let outcome = perform(&mut engine, &op);
                    since_sync.push(op);
                    match outcome {
                        Outcome::Applied(_) => Ok(()),
                        Outcome::Refused(error) => Err(error),
                        Outcome::NoOp => Err(Error::NotFound),
                    }
                } else if target == Target::Sync {
                    engine.sync()
                } else if target == Target::Flush {
                    engine.flush()
                } else if target == Target::FlushStep {
                    harness::flush_in_steps(&mut engine)
                } else if target == Target::WriteSteps {
                    write_until_flushed(&mut engine, &mut generator, &mut since_sync)
                } else if target == Target::CompactSteps {
                    harness::compact_in_steps(&mut engine)
                } else {
                    engine.compact_step().map(|merged| assert!(merged, "four tables to merge"))
                };
                if let Err(error) = result {
                    assert!(matches!(error, Error::Io(_)), "{target:?} at {fail_at}: {error:?}");
                    // A flush that fails before its manifest is written changes nothing and
                    // leaves the engine usable; any failure that leaves the disk unknown
                    // poisons it.
                    if !flushes && !compacts {
                        assert!(engine.stats().poisoned, "{target:?} at {fail_at}: not poisoned");
                    }
                    if engine.stats().poisoned {
                        let later = engine.put_block(BlockId::from_u128(1), b"x", META, b"");
                        assert_eq!(later, Err(Error::Poisoned));
                        assert_eq!(engine.sync(), Err(Error::Poisoned));
                    } else if flushes || compacts {
                        // A transient fault on healthy storage: the next attempt succeeds.
                        engine.vfs_mut().faults.fail_at_op = None;
                        let retried = match target {
                            Target::Flush => engine.flush(),
                            // Written now, or before a failure in the compaction after it.
                            Target::FlushStep if !engine.stats().flush_pending => Ok(()),
                            Target::FlushStep => harness::flush_in_steps(&mut engine),
                            Target::WriteSteps => {
                                write_until_flushed(&mut engine, &mut generator, &mut since_sync)
                            }
                            // A failed step gave its merge up: it starts over.
                            Target::CompactSteps => harness::compact_in_steps(&mut engine),
                            _ => engine.compact_step().map(|merged| assert!(merged)),
                        };
                        assert_eq!(
                            retried,
                            Ok(()),
                            "{target:?} retried after a fault at {fail_at}"
                        );
                        // (The writes after a flush in steps may have frozen the next one.)
                        let pending = engine.stats().flush_pending;
                        assert!(!pending || target == Target::WriteSteps, "{target:?} {fail_at}");
                    }
                }
                // Whatever failed, closing releases every handle (close's own result may be
                // an error: the engine may be poisoned).
                let _ = engine.close();
                assert_eq!(sim.open_handles_count(), 0, "{target:?} at {fail_at}: a handle leaked");
                (result, armed)
            }
            Target::Open => {
                engine.close().unwrap();
                let armed = sim.ops_count() + fail_at;
                sim.faults.fail_at_op = Some(armed);
                let result = Engine::open(config, &mut *memory.region, &mut sim).map(|engine| {
                    engine.abandon();
                });
                if let Err(error) = result {
                    assert!(matches!(error, Error::Io(_)), "open at {fail_at}: {error:?}");
                    assert_eq!(sim.open_handles_count(), 0, "a failed open at {fail_at} leaked");
                }
                (result, armed)
            }
        };
        let hit = sim.ops_count() > armed;
        sim.faults.fail_at_op = None;
        sim.crash();
        let mut engine = Engine::open(config, &mut *memory.region, &mut sim).unwrap();
        let kept = check_prefix(&mut engine, &config, &synced, &since_sync, &universe)
            .unwrap_or_else(|error| panic!("{target:?} with a fault at op {fail_at}: {error}"));
        // Put (syncing every write), sync and flush make the writes before them durable;
        // compaction and open do not touch the log.
        // (The writes that took a flush's steps are not: they went to the other memtable.)
        let durable = flushes && target != Target::WriteSteps;
        if result.is_ok() && (durable || matches!(target, Target::Put | Target::Sync)) {
            assert_eq!(kept, since_sync.len(), "a successful {target:?} lost synced writes");
        }
        if !hit {
            assert!(result.is_ok(), "{target:?}: failed with no fault left to hit: {result:?}");
            return fail_at;
        }
    }
    panic!("{target:?} still hit a fault after 10,000 operations");
}

/// Writes blocks (each kept in `since_sync`, as the writes after the last sync) until the
/// frozen memtable is written out, its flush's steps taken by the writes: a write whose
/// step failed goes on (the flush is then the write's that finds both memtables full), or
/// fails with the step's error if it left the engine poisoned.
fn write_until_flushed<V: kausaldb_core::vfs::Vfs>(
    engine: &mut Engine<'_, V>,
    generator: &mut Generator,
    since_sync: &mut Vec<Op>,
) -> Result<(), Error> {
    let flushes = engine.stats().flush_count;
    for _ in 0..1000 {
        if engine.stats().flush_count > flushes {
            return Ok(());
        }
        let op = generator.block();
        let outcome = perform(engine, &op);
        if let Outcome::Refused(error) = outcome {
            // A write that failed and left the engine usable changed nothing; one that
            // poisoned it may have reached the log (and is the last).
            if engine.stats().poisoned {
                since_sync.push(op);
            }
            return Err(error);
        }
        since_sync.push(op);
    }
    panic!("the writes never flushed: {:?}", engine.stats());
}

/// Runs the injection over 16 store shapes; returns (fault points, most in one shape).
fn inject_over_shapes(target: Target) -> (u64, u64) {
    let points: Vec<u64> = (0..16).map(|shape| inject_at_every_operation(target, shape)).collect();
    let total = points.iter().sum();
    let most = points.iter().copied().max().unwrap_or(0);
    eprintln!(
        "{target:?}: I/O error injected at each of {total} storage operations over 16 stores"
    );
    (total, most)
}

#[test]
fn io_errors_injected_on_each_operation_of_put() {
    let (_, most) = inject_over_shapes(Target::Put);
    assert!(most >= 4, "some put must write, sync, create a segment and sync the directory");
}

#[test]
fn io_errors_injected_on_each_operation_of_sync() {
    let (_, most) = inject_over_shapes(Target::Sync);
    assert!(most >= 2, "sync writes and syncs at least");
}

#[test]
fn io_errors_injected_on_each_operation_of_flush() {
    let (_, most) = inject_over_shapes(Target::Flush);
    assert!(most >= 10, "a flush writes, syncs, renames and removes: {most}");
}

#[test]
#[cfg(not(feature = "small-code"))]
fn io_errors_injected_on_each_operation_of_a_hosts_flush_of_a_frozen_memtable() {
    let (_, most) = inject_over_shapes(Target::FlushStep);
    assert!(most >= 10, "a flush step writes, syncs, renames and removes: {most}");
}

#[test]
#[cfg(not(feature = "small-code"))]
fn io_errors_injected_on_each_operation_of_the_writes_flush_in_steps() {
    let (_, most) = inject_over_shapes(Target::WriteSteps);
    assert!(most >= 10, "the steps write, sync, rename and remove: {most}");
}

#[test]
fn io_errors_injected_on_each_operation_of_compaction() {
    let (_, most) = inject_over_shapes(Target::Compact);
    assert!(most >= 10, "a compaction reads, writes, syncs, renames and removes: {most}");
}

#[test]
#[cfg(not(feature = "small-code"))]
fn io_errors_injected_on_each_operation_of_a_compaction_in_steps() {
    let (_, most) = inject_over_shapes(Target::CompactSteps);
    assert!(most >= 10, "compaction steps read, write, sync, rename and remove: {most}");
}

#[test]
fn io_errors_injected_on_each_operation_of_open() {
    let (_, most) = inject_over_shapes(Target::Open);
    assert!(most >= 5, "open lists, reads, and syncs every segment and the directory");
}

#[test]
fn random_io_errors_never_break_the_prefix_contract() {
    for_each_seed("random_io_errors_never_break_the_prefix_contract", 48, |seed| {
        // Odd seeds freeze a small memtable, its flush taken in steps by the writes.
        let config = match seed % 2 {
            0 => small_config(),
            _ => Config {
                flush_in_steps: !cfg!(feature = "small-code"),
                memtable_arena_bytes_max: 4 << 10,
                flush_step_bytes: 200,
                ..small_config()
            },
        };
        let bump = bumpalo::Bump::new();
        let memory = Memory::new(&bump, &config);
        let mut generator = Generator::new(seed, 16);
        let universe = generator.all_ids();
        let mut sim = harness::sim_vfs(memory.disk, seed);
        let mut synced = Model::new();
        for _round in 0..6 {
            sim.faults.fail_ppm = 0;
            let mut engine = match Engine::open(config, &mut *memory.region, &mut sim) {
                Ok(engine) => engine,
                Err(error) => return Err(format!("open without faults: {error:?}")),
            };
            check_matches(&mut engine, &synced, &universe)?;
            engine.vfs_mut().faults.fail_ppm = 20_000;
            let mut model = synced.clone();
            let mut since_sync = Vec::new();
            for _ in 0..60 {
                let op = generator.write();
                let expected = model.clone().apply(&config, &op);
                let got = perform(&mut engine, &op);
                if matches!(got, Outcome::Refused(Error::Io(_))) {
                    since_sync.push(op);
                    break;
                }
                if got != expected {
                    return Err(format!("{op:?}: engine {got:?}, model {expected:?}"));
                }
                if let Outcome::Applied(_) = got {
                    model.apply(&config, &op);
                    since_sync.push(op);
                }
                if generator.rng.below(8) == 0 {
                    match engine.sync() {
                        Ok(()) => {
                            synced = model.clone();
                            since_sync.clear();
                        }
                        Err(Error::Io(_)) => break,
                        Err(error) => return Err(format!("sync: {error:?}")),
                    }
                }
            }
            engine.abandon();
            sim.faults.fail_ppm = 0;
            sim.crash();
            let mut engine = Engine::open(config, &mut *memory.region, &mut sim)
                .map_err(|error| format!("reopen: {error:?}"))?;
            let kept = check_prefix(&mut engine, &config, &synced, &since_sync, &universe)?;
            for op in &since_sync[..kept] {
                synced.apply(&config, op);
            }
            engine.close().map_err(|error| format!("close: {error:?}"))?;
        }
        Ok(())
    });
}

#[test]
fn reopening_with_smaller_limits_is_refused_and_loses_nothing() {
    let config = small_config();
    let bump = bumpalo::Bump::new();
    let memory = Memory::new(&bump, &config);
    let mut sim = harness::sim_vfs(memory.disk, 21);
    let mut engine = Engine::open(config, &mut *memory.region, &mut sim).unwrap();
    engine.put_block(id(1), b"a", META, &[1u8; 300]).unwrap();
    engine.put_block(id(2), b"b", META, b"").unwrap();
    engine.put_block(id(3), b"c", META, b"").unwrap();
    engine.close().unwrap();
    let shrinks: [(Config, Resource); 3] = [
        // The 300-byte content's frame is larger than this config's largest frame.
        (Config { content_bytes_max: 64, ..config }, Resource::RecordBytes),
        // The frame fits, but the content exceeds the limit.
        (
            Config { content_bytes_max: 256, source_uri_bytes_max: 128, ..config },
            Resource::RecordBytes,
        ),
        (Config { memtable_entries_max: 2, ..config }, Resource::MemtableEntries),
    ];
    for (smaller, resource) in shrinks {
        smaller.validate().unwrap();
        let result = Engine::open(smaller, &mut *memory.region, &mut sim).err();
        assert_eq!(result, Some(Error::RecoveryCapacity { resource }), "{smaller:?}");
    }
    let mut engine = Engine::open(config, &mut *memory.region, &mut sim).unwrap();
    assert_eq!(engine.stats().blocks_live, 3);
    assert_eq!(engine.find_block(id(1)).unwrap().unwrap().content.len(), 300);
}

/// Every config `validate` accepts can make progress: after a flush empties the memtable,
/// any single write fits. An edge between two blocks that live only in tables needs two
/// memtable entries (one stub for each end), so one entry is refused; with two, the edge
/// goes in. (One entry used to validate and leave such edges MemtableFull forever.)
#[test]
fn every_valid_config_can_insert_an_edge_between_table_blocks() {
    let one = Config { memtable_entries_max: 1, ..small_config() };
    assert_eq!(
        one.validate(),
        Err(Error::ConfigInvalid { field: FieldName::new(&"memtable_entries_max") })
    );
    let config = Config { memtable_entries_max: 2, ..small_config() };
    let bump = bumpalo::Bump::new();
    let memory = Memory::new(&bump, &config);
    let mut sim = harness::sim_vfs(memory.disk, 3);
    let mut engine = Engine::open(config, &mut *memory.region, &mut sim).unwrap();
    let (a, b) = (BlockId::from_u128(1), BlockId::from_u128(2));
    engine.put_block(a, b"a.rs", META, b"").unwrap();
    engine.put_block(b, b"b.rs", META, b"").unwrap();
    engine.flush().unwrap();
    let edge =
        kausaldb_core::Edge { source: a, target: b, edge_type: kausaldb_core::EdgeType::CALLS };
    assert_eq!(engine.put_edge(edge).map(|inserted| inserted.is_some()), Ok(true));
    engine.close().unwrap();
}

/// Errors read as sentences, not their Debug form, and convert with `?` into
/// `Box<dyn Error>`, keeping the storage error as the source.
#[test]
fn errors_display_as_sentences_and_work_with_question_mark() {
    fn failing() -> Result<(), Box<dyn std::error::Error>> {
        Err(Error::Io(kausaldb_core::VfsError::NotFound))?;
        Ok(())
    }
    let error = failing().unwrap_err();
    assert_eq!(error.to_string(), "storage failed: no such file or directory");
    assert_eq!(
        error.source().map(ToString::to_string).as_deref(),
        Some("no such file or directory")
    );
    let samples = [
        (
            Error::ConfigInvalid { field: FieldName::new(&"tables_max") },
            "config field tables_max is out of range",
        ),
        (
            Error::MemtableFull { resource: Resource::MemtableEntries },
            "the memtable is full: memtable entries (Config::memtable_entries_max)",
        ),
        (
            Error::Corruption { kind: kausaldb_core::CorruptionKind::WalTail },
            "the store is damaged: the WAL ends before the durable end its last clean close \
             recorded",
        ),
        (Error::Locked { pid: 42 }, "the store is in use by process 42"),
        (Error::MetadataInvalid { offset: 3 }, "the metadata is not one JSON object (at byte 3)"),
        (
            Error::RegionTooSmall { bytes_required: 16_384 },
            "the region is smaller than the 16384 bytes this config needs",
        ),
        (
            Error::ContentTooLong { bytes: usize::MAX },
            &format!(
                "the content has {} bytes, more than Config::content_bytes_max accepts",
                usize::MAX
            ),
        ),
        (Error::EdgeTypeUnknown { code: 0x0a0f }, "edge type 0x0a0f is not known"),
        (Error::EdgeTypeUnknown { code: 0xffff }, "edge type 0xffff is not known"),
        (Error::BufferTooSmall { needed: 10 }, "the output buffer needs 10"),
        (
            Error::Io(kausaldb_core::VfsError::Io { code: -5 }),
            "storage failed: I/O error (code -5)",
        ),
        (
            Error::Io(kausaldb_core::VfsError::Io { code: i32::MIN }),
            "storage failed: I/O error (code -2147483648)",
        ),
        (
            Error::Io(kausaldb_core::VfsError::BufferTooSmall { needed: 9 }),
            "storage failed: the listing needs a buffer of 9 bytes",
        ),
        (
            Error::RecoveryCapacity { resource: Resource::Tables },
            "replaying the WAL needs more than this config allows: tables (Config::tables_max)",
        ),
    ];
    for (error, text) in samples {
        assert_eq!(error.to_string(), *text);
    }
}

/// A delete is one crash-atomic write, so a block with more edges than the memtable holds at
/// once cannot be deleted in one call: `MemtableFull`, every time, and nothing changes (its
/// log group would not fit a segment either, and asking so must not overflow). Deleting its
/// edges first, then the block, works.
#[test]
fn a_block_with_more_edges_than_the_memtable_holds_is_deleted_edges_first() {
    let config = Config { compaction_auto: true, ..small_config() };
    let bump = bumpalo::Bump::new();
    let memory = Memory::with_sim(&bump, &config, &harness::SIM_LARGE);
    let mut sim = harness::sim_vfs(memory.disk, 5);
    let mut engine = Engine::open(config, &mut *memory.region, &mut sim).unwrap();
    let hub = id(1000);
    engine.put_block(hub, b"hub.c", b"{}", b"").unwrap();
    let callers: Vec<BlockId> = (1..=150).map(id).collect();
    for caller in &callers {
        engine.put_block(*caller, b"c.c", b"{}", b"").unwrap();
        engine.put_edge(Edge { source: *caller, target: hub, edge_type: EdgeType::CALLS }).unwrap();
    }
    let before = engine.stats();
    for _ in 0..2 {
        match engine.delete_block(hub) {
            Err(Error::MemtableFull { resource }) => {
                assert!(matches!(resource, Resource::MemtableEntries | Resource::MemtableEdges));
            }
            other => panic!("delete of a hub with 150 edges: {other:?}"),
        }
        let after = engine.stats();
        assert_eq!((after.blocks_live, after.edges_live), (before.blocks_live, before.edges_live));
    }
    for caller in &callers {
        engine
            .delete_edge(Edge { source: *caller, target: hub, edge_type: EdgeType::CALLS })
            .unwrap();
    }
    engine.delete_block(hub).unwrap();
    assert!(engine.find_block(hub).unwrap().is_none());
    assert_eq!(engine.stats().edges_live, 0);
    engine.close().unwrap();
}

/// A backend that refuses the store's lock, as a backend does when another process holds
/// it (the POSIX backend's real lock is tested across processes in kill.rs). Everything
/// else goes to the simulation.
struct LockedVfs<'m>(kausaldb_core::vfs::sim::SimVfs<'m>);

impl kausaldb_core::Vfs for LockedVfs<'_> {
    fn lock(&mut self) -> Result<(), kausaldb_core::VfsError> {
        Err(kausaldb_core::VfsError::Locked { pid: 42 })
    }
    fn create(&mut self, name: &str) -> Result<kausaldb_core::FileHandle, kausaldb_core::VfsError> {
        self.0.create(name)
    }
    fn open(&mut self, name: &str) -> Result<kausaldb_core::FileHandle, kausaldb_core::VfsError> {
        self.0.open(name)
    }
    fn close(&mut self, file: kausaldb_core::FileHandle) {
        self.0.close(file);
    }
    fn read_at(
        &mut self,
        file: kausaldb_core::FileHandle,
        offset: u64,
        buffer: &mut [u8],
    ) -> Result<usize, kausaldb_core::VfsError> {
        self.0.read_at(file, offset, buffer)
    }
    fn write_at(
        &mut self,
        file: kausaldb_core::FileHandle,
        offset: u64,
        data: &[u8],
    ) -> Result<(), kausaldb_core::VfsError> {
        self.0.write_at(file, offset, data)
    }
    fn sync(&mut self, file: kausaldb_core::FileHandle) -> Result<(), kausaldb_core::VfsError> {
        self.0.sync(file)
    }
    fn len(&mut self, file: kausaldb_core::FileHandle) -> Result<u64, kausaldb_core::VfsError> {
        self.0.len(file)
    }
    fn truncate(
        &mut self,
        file: kausaldb_core::FileHandle,
        len: u64,
    ) -> Result<(), kausaldb_core::VfsError> {
        self.0.truncate(file, len)
    }
    fn remove(&mut self, name: &str) -> Result<(), kausaldb_core::VfsError> {
        self.0.remove(name)
    }
    fn rename(&mut self, from: &str, to: &str) -> Result<(), kausaldb_core::VfsError> {
        self.0.rename(from, to)
    }
    fn sync_dir(&mut self) -> Result<(), kausaldb_core::VfsError> {
        self.0.sync_dir()
    }
    fn list(&mut self, buffer: &mut [u8]) -> Result<usize, kausaldb_core::VfsError> {
        self.0.list(buffer)
    }
}

/// Which variant an error is. Exhaustive, with no wildcard: a new variant does not compile
/// until this test produces it (or says why it cannot).
fn variant(error: &Error) -> usize {
    match error {
        Error::ConfigInvalid { .. } => 0,
        Error::RegionTooSmall { .. } => 1,
        Error::IdZero => 2,
        Error::IdHexInvalid => 3,
        Error::SourceUriTooLong { .. } => 4,
        Error::SourceUriNotUtf8 => 5,
        Error::MetadataTooLong { .. } => 6,
        Error::MetadataInvalid { .. } => 7,
        Error::ContentTooLong { .. } => 8,
        Error::EdgeTypeUnknown { .. } => 9,
        Error::QueryInvalid { .. } => 10,
        Error::NotFound => 11,
        Error::MemtableFull { .. } => 12,
        Error::WalFull => 13,
        Error::BufferTooSmall { .. } => 14,
        Error::Locked { .. } => 15,
        Error::Io(_) => 16,
        Error::Poisoned => 17,
        Error::Corruption { .. } => 18,
        Error::RecoveryCapacity { .. } => 19,
    }
}
const VARIANTS: usize = 20;
/// `WalFull` is never returned: a write that finds the log full flushes first, which empties
/// it (`a_full_wal_flushes_instead_of_refusing`). It stays in the enum (and its C status
/// stays reserved) so that a host's exhaustive match keeps compiling.
const NEVER_RETURNED: [usize; 1] = [13];

/// Every `Error` variant, produced through the public API, each by the call that should.
#[test]
fn every_error_variant_is_produced_by_the_call_that_should() {
    let config = Config { compaction_auto: false, tables_max: 4, ..small_config() };
    let bump = bumpalo::Bump::new();
    let memory = Memory::new(&bump, &config);
    let mut produced: Vec<Error> = Vec::new();
    let mut sim = harness::sim_vfs(memory.disk, 31);
    let region = &mut *memory.region;
    let bad = Config { memtable_entries_max: 0, ..config };
    produced.extend(Engine::open(bad, &mut *region, &mut sim).err());
    produced.extend(Engine::open(config, &mut region[..64], &mut sim).err());
    produced.extend(BlockId::from_hex(b"not hex").err());
    produced.extend(EdgeType::from_code(12).err());
    let mut engine = Engine::open(config, &mut *region, &mut sim).unwrap();
    let long = vec![b'x'; 600];
    let writes = [
        engine.put_block(BlockId::ZERO, b"a", META, b""),
        engine.put_block(id(1), &long, META, b""),
        engine.put_block(id(1), b"\xff", META, b""),
        engine.put_block(id(1), b"a", &long, b""),
        engine.put_block(id(1), b"a", b"[]", b""),
        engine.put_block(id(1), b"a", META, &long),
        engine.delete_block(id(1)),
    ];
    produced.extend(writes.into_iter().filter_map(Result::err));
    engine.put_block(id(9), b"a", META, b"").unwrap();
    let start = [id(9)];
    let query = kausaldb_core::TraversalQuery {
        results_max: 0,
        ..kausaldb_core::TraversalQuery::new(&start, Direction::Outgoing)
    };
    produced.extend(engine.traverse(&query, &mut []).err());
    let mut cursor = kausaldb_core::ScanCursor::START;
    let all = kausaldb_core::BlockFilter::ALL;
    produced.extend(engine.scan(&all, &mut cursor, &mut []).err());
    // Every other refusal of a query argument, each by its own check.
    let needle = vec![b'n'; kausaldb_core::limits::NEEDLE_BYTES_MAX + 1];
    let long_needle = kausaldb_core::BlockFilter { content_contains: Some(&needle), ..all };
    let refused = engine.scan(&long_needle, &mut cursor, &mut [BlockId::ZERO; 4]);
    assert_eq!(refused, Err(Error::QueryInvalid { field: FieldName::new(&"content_contains") }));
    let path = kausaldb_core::PathQuery {
        from: id(9),
        to: id(9),
        direction: Direction::Outgoing,
        edge_filter: EdgeFilter::All,
        depth_max: kausaldb_core::limits::DEPTH_MAX_LIMIT + 1,
    };
    let mut steps = [kausaldb_core::PathStep::EMPTY; 4];
    let too_deep = engine.shortest_path(&path, &mut steps).err();
    assert_eq!(too_deep, Some(Error::QueryInvalid { field: FieldName::new(&"depth_max") }));
    let from_zero = kausaldb_core::PathQuery { from: BlockId::ZERO, depth_max: 3, ..path };
    assert_eq!(engine.shortest_path(&from_zero, &mut steps).err(), Some(Error::IdZero));
    let to_zero = kausaldb_core::PathQuery { to: BlockId::ZERO, depth_max: 3, ..path };
    assert_eq!(engine.shortest_path(&to_zero, &mut steps).err(), Some(Error::IdZero));
    // Full tables with compaction left to the host: back-pressure.
    let full = loop {
        engine.put_block(id(2), b"a", META, b"").unwrap();
        if let Err(error) = engine.flush() {
            break error;
        }
    };
    produced.push(full);
    engine.put_block(id(3), b"a", META, b"x").unwrap();
    let armed = engine.vfs_mut().ops_count();
    engine.vfs_mut().faults.fail_at_op = Some(armed);
    produced.extend(engine.sync().err());
    produced.extend(engine.put_block(id(4), b"a", META, b"").err());
    engine.abandon();
    sim.faults.fail_at_op = None;
    sim.crash();
    let other_disk = bump.alloc_slice_fill_copy(harness::SIM.memory_bytes_required(), 0u8);
    let locked = LockedVfs(harness::sim_vfs(other_disk, 1));
    produced.extend(Engine::open(config, &mut *region, locked).err());
    // The log holds three blocks: a memtable of two cannot replay it.
    let mut engine = Engine::open(config, &mut *region, &mut sim).unwrap();
    for n in 5..8 {
        engine.put_block(id(n), b"a", META, b"").unwrap();
    }
    engine.close().unwrap();
    let small = Config { memtable_entries_max: 2, ..config };
    produced.extend(Engine::open(small, &mut *region, &mut sim).err());
    // Damage to a synced frame of a cleanly closed log: strict recovery refuses.
    let segment = harness_segment_name(&mut sim);
    assert!(sim.corrupt(&segment, 40, 0x01), "{segment} has a frame at byte 40");
    let strict = Config { recovery_mode: kausaldb_core::RecoveryMode::Strict, ..config };
    produced.extend(Engine::open(strict, &mut *region, &mut sim).err());
    let mut seen = [false; VARIANTS];
    for error in &produced {
        seen[variant(error)] = true;
        // Each says what happened in a sentence of its own, not its Debug form.
        let text = error.to_string();
        assert!(text.len() > 8 && !text.contains('{'), "{error:?} displays as {text:?}");
    }
    for (index, seen) in seen.iter().enumerate() {
        let never = NEVER_RETURNED.contains(&index);
        assert!(
            *seen != never,
            "variant {index}: produced {seen}, documented as never {never}: {produced:?}"
        );
    }
}

/// The name of the store's one WAL segment.
fn harness_segment_name(sim: &mut kausaldb_core::vfs::sim::SimVfs<'_>) -> String {
    use kausaldb_core::Vfs;
    let mut buffer = vec![0u8; 4096];
    let listed = sim.list(&mut buffer).unwrap();
    let names: Vec<String> = buffer[..listed]
        .split(|&byte| byte == 0)
        .filter_map(|name| std::str::from_utf8(name).ok())
        .filter(|name| name.starts_with("wal-"))
        .map(str::to_string)
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    names[0].clone()
}

/// Every resource and every kind of damage names itself in a sentence (the host's log line
/// is all an operator sees). The matches are exhaustive: a new variant must be listed.
#[test]
fn every_resource_and_damage_kind_displays_as_a_sentence() {
    use kausaldb_core::CorruptionKind;
    let resources = [
        Resource::MemtableEntries,
        Resource::MemtableEdges,
        Resource::MemtableArenaBytes,
        Resource::WalSegments,
        Resource::TableMemory,
        Resource::Tables,
        Resource::RecordBytes,
    ];
    for resource in resources {
        match resource {
            Resource::MemtableEntries
            | Resource::MemtableEdges
            | Resource::MemtableArenaBytes
            | Resource::WalSegments
            | Resource::TableMemory
            | Resource::Tables
            | Resource::RecordBytes => {}
        }
        for error in [Error::MemtableFull { resource }, Error::RecoveryCapacity { resource }] {
            let text = error.to_string();
            assert!(text.len() > 24 && !text.contains('{'), "{error:?}: {text:?}");
        }
    }
    let kinds = [
        CorruptionKind::WalFrame,
        CorruptionKind::WalSegmentHeader,
        CorruptionKind::WalSegmentGap,
        CorruptionKind::WalTail,
        CorruptionKind::DirectoryListing,
        CorruptionKind::Table,
        CorruptionKind::Manifest,
    ];
    let mut texts = Vec::new();
    for kind in kinds {
        match kind {
            CorruptionKind::WalFrame
            | CorruptionKind::WalSegmentHeader
            | CorruptionKind::WalSegmentGap
            | CorruptionKind::WalTail
            | CorruptionKind::DirectoryListing
            | CorruptionKind::Table
            | CorruptionKind::Manifest => {}
        }
        let text = Error::Corruption { kind }.to_string();
        assert!(text.len() > 16 && !text.contains('{'), "{kind:?}: {text:?}");
        texts.push(text);
    }
    texts.sort();
    texts.dedup();
    assert_eq!(texts.len(), kinds.len(), "two kinds of damage read the same: {texts:?}");
}
