//! Model-based test: seeded random sequences of writes, reads, syncs and crashes, checked
//! against a plain model after every step. After a crash the engine must equal the model
//! as of the last successful sync plus a prefix of the later writes, in both edge directions.
// Test code: runs on 64-bit hosts only, and a test reads top to bottom as one scenario.
#![allow(clippy::cast_possible_truncation, clippy::too_many_lines)]

mod harness;

use harness::{
    check_matches, check_prefix, for_each_seed_in, perform, Generator, Memory, Model, Op, Outcome,
};
use kausaldb_core::vfs::sim::SimVfs;
use kausaldb_core::{Config, Engine, Error, SyncPolicy};

#[derive(Clone, Copy)]
enum Restart {
    PowerLoss,
    ProcessDeath,
    CleanClose,
}

/// Ends the engine as `how` says, then takes the power (or the process) away from the disk.
fn restart(engine: Engine<'_, &mut SimVfs<'_>>, how: Restart) -> Result<(), String> {
    match how {
        Restart::PowerLoss | Restart::ProcessDeath => engine.abandon(),
        Restart::CleanClose => engine.close().map_err(|error| format!("close: {error:?}"))?,
    }
    Ok(())
}

/// What a run exercised, summed over seeds, so the test can prove its crashes bite.
#[derive(Default, Debug)]
struct Coverage {
    writes: u64,
    restarts: u64,
    /// Restarts after which some unsynced writes were gone.
    restarts_losing_writes: u64,
    torn_bytes_truncated: u64,
    flushes: u64,
    compactions: u64,
    tables_full: u64,
    /// Steps the host took writing out frozen memtables (`flush_step`).
    flush_steps: u64,
    /// Restarts that found a flush between two steps (the host's or the writes').
    restarts_between_steps: u64,
    /// Restarts that found a memtable frozen: the log held two memtables' writes.
    restarts_with_frozen: u64,
    /// Compaction steps that left a merge unfinished (`compaction_auto` off), and restarts
    /// that found one between steps.
    compaction_steps: u64,
    restarts_between_compaction_steps: u64,
    /// Writes that waited: for a flush, or a step of one or of a compaction.
    write_stalls: u64,
}

fn run_case(
    seed: u64,
    config: Config,
    steps: usize,
    coverage: &mut Coverage,
) -> Result<(), String> {
    let bump = bumpalo::Bump::new();
    let memory = Memory::with_sim(&bump, &config, &harness::SIM_LARGE);
    let mut generator = Generator::new(seed, 24);
    let universe = generator.all_ids();
    let mut sim = SimVfs::new(memory.disk, harness::SIM_LARGE, seed ^ 0x5eed)
        .map_err(|error| format!("sim: {error:?}"))?;
    // Half the seeds read tables through views (a memory-mapped backend), half by read_at.
    sim.views = seed % 2 == 1;
    let region = memory.region;
    let mut model = Model::new();
    let mut synced = model.clone();
    let mut since_sync: Vec<Op> = Vec::new();
    let mut restarts = 0;
    // The flush count when a step left a flush of the frozen memtable unfinished.
    let mut between_steps: Option<u64> = None;
    while restarts < 8 {
        let opened = Engine::open(config, &mut *region, &mut sim);
        let mut engine = opened.map_err(|error| format!("open: {error:?}"))?;
        let kept = check_prefix(&mut engine, &config, &synced, &since_sync, &universe)?;
        coverage.restarts_losing_writes += u64::from(kept < since_sync.len());
        coverage.torn_bytes_truncated += engine.stats().wal_torn_bytes_truncated;
        if engine.stats().wal_corrupt_bytes_dropped != 0 {
            return Err(format!(
                "a crash alone made recovery drop synced bytes: {:?}",
                engine.stats()
            ));
        }
        for op in &since_sync[..kept] {
            synced.apply(&config, op);
        }
        model = synced.clone();
        since_sync.clear();
        let how = loop {
            let choice = generator.rng.below(100);
            if choice < 3 {
                break [Restart::PowerLoss, Restart::ProcessDeath, Restart::CleanClose]
                    [(choice % 3) as usize];
            }
            if choice < 10 {
                engine.sync().map_err(|error| format!("sync: {error:?}"))?;
                synced = model.clone();
                since_sync.clear();
                continue;
            }
            if choice < 15 {
                check_matches(&mut engine, &model, &universe)?;
                continue;
            }
            if choice < 16 {
                match engine.flush() {
                    Ok(()) => {
                        // A flush makes everything so far durable.
                        synced = model.clone();
                        since_sync.clear();
                        coverage.flushes += 1;
                        continue;
                    }
                    Err(harness::TABLES_FULL) => break Restart::CleanClose,
                    Err(error) => return Err(format!("flush: {error:?}")),
                }
            }
            if choice < 18 {
                // The host's own compaction step (auto mode also runs it after flushes).
                engine.compact_step().map_err(|error| format!("compact_step: {error:?}"))?;
                coverage.compaction_steps += u64::from(engine.stats().compaction_pending);
                continue;
            }
            if choice < 21 && !config.flush_auto {
                // A flush's first step syncs the log, its later ones do not: the model
                // claims no durability from a step (a longer prefix may survive).
                match engine.flush_step() {
                    Ok(false) => continue,
                    Ok(true) => {
                        coverage.flush_steps += 1;
                        let stats = engine.stats();
                        // A step that left the flush unfinished: until the flush count moves.
                        between_steps = stats.flush_pending.then_some(stats.flush_count);
                        continue;
                    }
                    Err(harness::TABLES_FULL) => break Restart::CleanClose,
                    Err(error) => return Err(format!("flush_step: {error:?}")),
                }
            }
            let op = generator.write();
            let expected = model.clone().apply(&config, &op);
            let before = engine.stats();
            let got = perform(&mut engine, &op);
            let after = engine.stats();
            if config.flush_in_steps && before.flush_pending && after.flush_pending {
                // With `flush_in_steps` the write took a step that left the flush unfinished.
                between_steps = (after.flush_count == before.flush_count)
                    .then_some(after.flush_count)
                    .or(between_steps);
            }
            if got == Outcome::Refused(harness::TABLES_FULL) {
                // Too few slots for a flush's tables (at most two: blocks and edges).
                if engine.stats().tables_count + 2 <= config.tables_max {
                    return Err(format!("tables full with {:?}", engine.stats()));
                }
                coverage.tables_full += 1;
                break Restart::CleanClose;
            }
            if got == Outcome::Refused(Error::WalFull) {
                return Err(format!("WalFull despite flushing: {:?}", engine.stats()));
            }
            if got != expected {
                return Err(format!("{op:?}: engine {got:?}, model {expected:?}"));
            }
            if let Outcome::Applied(_) = got {
                coverage.writes += 1;
                model.apply(&config, &op);
                if config.sync_policy == SyncPolicy::EveryWrite {
                    synced = model.clone();
                } else {
                    since_sync.push(op);
                }
            }
            if since_sync.len() + steps / 8 > steps {
                break Restart::PowerLoss;
            }
        };
        coverage.flushes += engine.stats().flush_count;
        coverage.compactions += engine.stats().compaction_count;
        coverage.write_stalls += engine.stats().write_stalls;
        coverage.restarts_with_frozen += u64::from(engine.stats().flush_pending);
        coverage.restarts_between_compaction_steps += u64::from(engine.stats().compaction_pending);
        let unfinished = between_steps == Some(engine.stats().flush_count);
        coverage.restarts_between_steps += u64::from(unfinished && engine.stats().flush_pending);
        between_steps = None;
        restart(engine, how)?;
        match how {
            Restart::ProcessDeath => sim.crash_process(),
            Restart::PowerLoss | Restart::CleanClose => sim.crash(),
        }
        restarts += 1;
        coverage.restarts += 1;
    }
    Ok(())
}

#[test]
fn model_random_operations_with_crashes() {
    let mut coverage = Coverage::default();
    let seeds = harness::seeds("model_random_operations_with_crashes", 64);
    let many = seeds.end - seeds.start >= 32;
    for_each_seed_in(seeds, "model_random_operations_with_crashes", |seed| {
        run_case(seed, harness::small_config(), 120, &mut coverage)
    });
    eprintln!("{coverage:?}");
    if many {
        assert!(
            coverage.restarts_losing_writes > 0 && coverage.torn_bytes_truncated > 0,
            "{coverage:?}"
        );
    }
}

/// Without `flush_auto` a full memtable is frozen and the host writes it out with
/// `flush_step` (or a write finding both full does): the same model holds across freezes,
/// host flushes, crashes with a memtable frozen (replay freezes at the same write), and
/// clean closes (which write the frozen one out). Half the seeds compact by hand too.
#[test]
#[cfg(not(feature = "small-code"))]
fn model_a_frozen_memtable_flushed_by_the_host_with_crashes() {
    let (coverage, many) = model_a_frozen_memtable(
        "model_a_frozen_memtable_flushed_by_the_host_with_crashes",
        Config { flush_auto: false, ..harness::small_config() },
    );
    assert!(coverage.flush_steps > 0 || !many, "{coverage:?}");
}

/// With `flush_in_steps` a full memtable is frozen and the writes after it take its flush's
/// steps (a write finding both full flushes the frozen one whole): the same model holds
/// across freezes, those steps, crashes between them (replay freezes at the same write) and
/// clean closes. Half the seeds compact automatically, their writes taking those steps too.
#[test]
#[cfg(not(feature = "small-code"))]
fn model_a_frozen_memtable_flushed_by_the_writes_with_crashes() {
    model_a_frozen_memtable(
        "model_a_frozen_memtable_flushed_by_the_writes_with_crashes",
        Config { flush_in_steps: true, ..harness::small_config() },
    );
}

/// The frozen-memtable models: `base` (who takes the flush's steps) with a memtable a short
/// run fills many times over, half the seeds flushing in steps of a few records (so writes,
/// reads and crashes come between the steps) and half compacting by hand, half of those in
/// steps of a few records. Checks that crashes found memtables frozen and flushes between
/// steps, and lost unsynced writes (over many seeds, as the returned flag says).
#[cfg(not(feature = "small-code"))]
fn model_a_frozen_memtable(test: &str, base: Config) -> (Coverage, bool) {
    let mut coverage = Coverage::default();
    let seeds = harness::seeds(test, 64);
    let many = seeds.end - seeds.start >= 32;
    for_each_seed_in(seeds, test, |seed| {
        let config = Config {
            compaction_auto: seed % 2 == 0,
            memtable_edges_max: 16,
            memtable_arena_bytes_max: 4 << 10,
            flush_step_bytes: if seed % 4 < 2 { 160 } else { 256 << 10 },
            compaction_step_bytes: if seed % 8 < 4 { 150 } else { 1 << 20 },
            ..base
        };
        run_case(seed, config, 120, &mut coverage)
    });
    eprintln!("{coverage:?}");
    if many {
        assert!(coverage.flushes > 0 && coverage.restarts_with_frozen > 0, "{coverage:?}");
        assert!(coverage.restarts_between_steps > 0, "{coverage:?}");
        assert!(coverage.restarts_losing_writes > 0, "{coverage:?}");
    }
    (coverage, many)
}

/// Without `compaction_auto` the host compacts with `compact_step`, each step merging a few
/// records: the same model holds with reads, writes, flushes (which finish a merge between
/// steps first), crashes and clean closes (which give one up) between the steps.
#[test]
#[cfg(not(feature = "small-code"))]
fn model_a_compaction_by_the_host_in_steps_with_crashes() {
    let mut coverage = Coverage::default();
    let test = "model_a_compaction_by_the_host_in_steps_with_crashes";
    let seeds = harness::seeds(test, 64);
    let many = seeds.end - seeds.start >= 32;
    for_each_seed_in(seeds, test, |seed| {
        let config = Config {
            compaction_auto: false,
            memtable_edges_max: 16,
            memtable_arena_bytes_max: 4 << 10,
            compaction_step_bytes: [40, 150, 600][(seed % 3) as usize],
            ..harness::small_config()
        };
        run_case(seed, config, 120, &mut coverage)
    });
    eprintln!("{coverage:?}");
    if many {
        assert!(coverage.compactions > 0 && coverage.compaction_steps > 0, "{coverage:?}");
        assert!(coverage.restarts_between_compaction_steps > 0, "{coverage:?}");
        assert!(coverage.restarts_losing_writes > 0, "{coverage:?}");
    }
}

/// `small-code` builds have no frozen memtable: a config without `flush_auto` is refused, by
/// name, before anything is opened.
#[test]
#[cfg(feature = "small-code")]
fn small_code_builds_refuse_a_config_without_flush_auto() {
    let config = Config { flush_auto: false, ..harness::small_config() };
    assert_eq!(
        config.validate(),
        Err(Error::ConfigInvalid { field: kausaldb_core::FieldName::new(&"flush_auto") })
    );
}

#[test]
fn model_sync_every_write() {
    let mut coverage = Coverage::default();
    harness::for_each_seed("model_sync_every_write", 16, |seed| {
        let config = Config { sync_policy: SyncPolicy::EveryWrite, ..harness::small_config() };
        run_case(seed, config, 60, &mut coverage)
    });
    assert_eq!(coverage.restarts_losing_writes, 0, "every write was synced: {coverage:?}");
}
