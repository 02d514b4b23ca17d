//! Crash schedules, exhaustively for small stores (the littlefs way, not only at random): for every
//! multi-step operation — sync, flush, a host's flush of a frozen memtable and compaction (each of
//! which replaces the manifest), close, and open's recovery — power is cut before each of its
//! storage operations in turn, and at each cut every treatment of the unsynced writes is tried: all
//! lost, each prefix landing (all of them included), each prefix followed by the next write torn at
//! each byte class (first byte, one byte, half, all but the last; with and without a garbage byte
//! after), each write landing alone (the device reordered it before the others), each write lost
//! alone, and each prefix of the unsynced creates, removes and renames. After each the store must
//! reopen with nothing dropped as damage, to the last sync plus a prefix of the writes after it —
//! all of them once the operation had completed and it makes them durable — and take a durable
//! write.
// Test code: runs on 64-bit hosts only, and a test reads top to bottom as one scenario.
#![allow(clippy::cast_possible_truncation, clippy::too_many_lines)]

mod harness;

use harness::{check_prefix, perform, small_config, Generator, Memory, Model, Op, Outcome};
use kausaldb_core::vfs::sim::{CrashPlan, CrashWrites, SimVfs};
use kausaldb_core::{BlockId, Config, Engine, SyncPolicy};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Operation {
    Sync,
    Flush,
    /// `flush_step` until a frozen memtable is written out (several steps), with writes in
    /// the memtable above it.
    FlushStep,
    Compact,
    Close,
    Open,
}

/// What a run saw where power was cut: the unsynced writes (their lengths; `None` for a
/// truncate) and namespace changes a crash then decides about.
struct Cut {
    completed: bool,
    /// Torn log bytes the cut open found and cut (for open only).
    torn_bytes: u64,
    pending_writes: Vec<Option<usize>>,
    pending_namespace: usize,
}

/// Stores (generator seeds) each schedule runs over: one by default (about 20 s for all five
/// operations in a debug build); `KAUSAL_SCHEDULE_SHAPES=N` runs N for a longer search.
fn shapes() -> std::ops::Range<u64> {
    let count = std::env::var("KAUSAL_SCHEDULE_SHAPES").ok().and_then(|text| text.parse().ok());
    7..7 + count.unwrap_or(1)
}

fn config(operation: Operation) -> Config {
    let config = Config {
        sync_policy: SyncPolicy::Explicit,
        compaction_auto: operation != Operation::Compact,
        ..small_config()
    };
    match operation {
        // A memtable a few blocks fill, frozen when full, flushed in steps of 300 bytes.
        Operation::FlushStep => Config {
            flush_auto: false,
            memtable_arena_bytes_max: 1536,
            flush_step_bytes: 300,
            ..config
        },
        _ => config,
    }
}

/// Writes the store every run starts from: a synced history (in tables for compaction:
/// three of similar size), then three unsynced writes. Returns the model as of the last
/// sync and the writes after it.
fn prepare(
    operation: Operation,
    engine: &mut Engine<'_, &mut SimVfs<'_>>,
    generator: &mut Generator,
) -> (Model, Vec<Op>) {
    let config = config(operation);
    let mut model = Model::new();
    let apply = |engine: &mut Engine<'_, &mut SimVfs<'_>>, op: Op, model: &mut Model| {
        if let Outcome::Applied(_) = perform(engine, &op) {
            model.apply(&config, &op);
        }
    };
    for _ in 0..10 {
        apply(engine, generator.write(), &mut model);
    }
    if operation == Operation::FlushStep {
        // Writes until a memtable is frozen (a few blocks fill one).
        for _ in 0..200 {
            if engine.stats().flush_pending {
                break;
            }
            apply(engine, generator.block(), &mut model);
        }
        assert!(engine.stats().flush_pending, "{:?}", engine.stats());
    }
    if operation == Operation::Compact {
        // Four tables of similar size, after the one holding the history, to merge.
        engine.flush().unwrap();
        for _ in 0..4 {
            apply(engine, generator.block(), &mut model);
            engine.flush().unwrap();
        }
    }
    engine.sync().unwrap();
    let mut since_sync = Vec::new();
    // For open, enough that the log buffer writes some of them out (unsynced) to be torn.
    let unsynced = if operation == Operation::Open { 12 } else { 3 };
    for _ in 0..unsynced {
        let op = generator.block();
        assert!(matches!(perform(engine, &op), Outcome::Applied(_)));
        since_sync.push(op);
    }
    (model, since_sync)
}

/// One run: prepare, cut power before the operation's `stop_at`-th storage operation, and
/// with a `plan`, crash as it says, reopen and check. Returns what the cut saw and, with a
/// plan, how many of the writes since the sync survived.
fn run(
    operation: Operation,
    shape: u64,
    stop_at: u64,
    plan: Option<CrashPlan>,
) -> Result<(Cut, usize), String> {
    let config = config(operation);
    let bump = bumpalo::Bump::new();
    let memory = Memory::new(&bump, &config);
    let mut generator = Generator::new(shape, 6);
    let universe = generator.all_ids();
    let mut sim = harness::sim_vfs(memory.disk, shape);
    let mut engine = Engine::open(config, &mut *memory.region, &mut sim).unwrap();
    let (synced, since_sync) = prepare(operation, &mut engine, &mut generator);
    let mut torn_bytes = 0;
    let completed = if operation == Operation::Open {
        // The session before lost power with its last writes unsynced, the middle one torn:
        // open has a torn tail to cut, a log to sync, files to settle.
        engine.abandon();
        let pending = sim.pending_writes_count();
        // The last write lands torn, every earlier entry whole.
        let torn_at = (0..pending).rev().find(|&i| sim.pending_write_bytes(i).is_some());
        let torn_at = torn_at.expect("the unsynced writes reached the file");
        let tear = sim.pending_write_bytes(torn_at).map(|len| (len / 2, true));
        sim.crash_as(CrashPlan {
            writes: CrashWrites::Prefix { kept: torn_at, tear },
            namespace_kept: 0,
        });
        let stop = sim.ops_count().saturating_add(stop_at);
        sim.faults.stop_at_op = Some(stop);
        if let Ok(engine) = Engine::open(config, &mut *memory.region, &mut sim) {
            torn_bytes = engine.stats().wal_torn_bytes_truncated;
            engine.abandon();
        }
        sim.ops_count() <= stop
    } else {
        let stop = engine.vfs_mut().ops_count().saturating_add(stop_at);
        engine.vfs_mut().faults.stop_at_op = Some(stop);
        let result = match operation {
            Operation::Sync => engine.sync(),
            Operation::Flush => engine.flush(),
            Operation::FlushStep => harness::flush_in_steps(&mut engine),
            Operation::Compact => engine.compact_step().map(|merged| assert!(merged)),
            _ => Ok(()),
        };
        if operation == Operation::Close {
            let _ = engine.close();
        } else {
            engine.abandon();
        }
        let completed = sim.ops_count() <= stop;
        if completed {
            result.map_err(|error| format!("{operation:?} failed with no cut: {error:?}"))?;
        }
        completed
    };
    sim.faults.stop_at_op = None;
    let pending_writes =
        (0..sim.pending_writes_count()).map(|i| sim.pending_write_bytes(i)).collect();
    let pending_namespace = sim.pending_namespace_count();
    let cut = Cut { completed, torn_bytes, pending_writes, pending_namespace };
    let Some(plan) = plan else { return Ok((cut, 0)) };
    sim.crash_as(plan);
    let mut engine = Engine::open(config, &mut *memory.region, &mut sim)
        .map_err(|error| format!("reopen: {error:?}"))?;
    if engine.stats().wal_corrupt_bytes_dropped != 0 {
        return Err(format!("a crash alone made recovery drop bytes: {:?}", engine.stats()));
    }
    let kept = check_prefix(&mut engine, &config, &synced, &since_sync, &universe)?;
    // A flush step syncs the log before it writes the frozen memtable's tables.
    let durable = matches!(
        operation,
        Operation::Sync | Operation::Flush | Operation::FlushStep | Operation::Close
    );
    if completed && durable && kept != since_sync.len() {
        return Err(format!("{operation:?} completed, yet {kept} of {} writes", since_sync.len()));
    }
    // The store takes a write after it, which survives the next power loss.
    let id = BlockId::from_u128(99);
    engine.put_block(id, b"after.rs", b"{}", b"after").map_err(|e| format!("put: {e:?}"))?;
    engine.sync().map_err(|error| format!("sync after reopen: {error:?}"))?;
    engine.abandon();
    sim.crash();
    let mut engine = Engine::open(config, &mut *memory.region, &mut sim)
        .map_err(|error| format!("second reopen: {error:?}"))?;
    let found = engine.find_block(id).map_err(|e| format!("{e:?}"))?.map(|v| v.content.to_vec());
    if found.as_deref() != Some(b"after".as_slice()) {
        return Err(format!("a synced write after the reopen reads back as {found:?}"));
    }
    engine.abandon();
    Ok((cut, kept))
}

/// Every treatment of the unsynced writes and namespace changes a cut left.
fn plans(cut: &Cut) -> Vec<CrashPlan> {
    let (writes, namespace) = (cut.pending_writes.len(), cut.pending_namespace);
    let plan = |writes, namespace_kept| CrashPlan { writes, namespace_kept };
    let mut plans = Vec::new();
    for kept in 0..=writes {
        plans.push(plan(CrashWrites::Prefix { kept, tear: None }, namespace));
    }
    for (index, len) in cut.pending_writes.iter().enumerate() {
        let Some(len) = *len else { continue };
        let mut classes = vec![0, 1, len / 2, len.saturating_sub(1)];
        classes.retain(|keep| *keep < len);
        classes.dedup();
        for keep in classes {
            for garbage in [false, true] {
                let tear = Some((keep, garbage));
                plans.push(plan(CrashWrites::Prefix { kept: index, tear }, namespace));
            }
        }
        plans.push(plan(CrashWrites::Only(index), namespace));
        plans.push(plan(CrashWrites::AllBut(index), namespace));
    }
    for namespace_kept in 0..namespace {
        plans.push(plan(CrashWrites::Prefix { kept: 0, tear: None }, namespace_kept));
        plans.push(plan(CrashWrites::Prefix { kept: writes, tear: None }, namespace_kept));
    }
    plans
}

/// Cuts power before each storage operation of `operation` in turn, until it completes,
/// and tries every plan at each cut. Returns (cuts, crashes) for the report.
fn every_cut_every_plan(operation: Operation) -> (u64, u64) {
    let (mut cuts, mut crashes, mut torn) = (0, 0, 0);
    for shape in shapes() {
        let (shape_cuts, shape_crashes, torn_bytes) = every_cut_every_plan_of(operation, shape);
        cuts += shape_cuts;
        crashes += shape_crashes;
        torn += u64::from(torn_bytes > 0);
    }
    if operation == Operation::Open {
        // Not every store's torn write shows (a tear in a frame's zero padding changes
        // nothing), but the first store's does, so recovery had a tail to cut.
        assert!(torn > 0, "no store gave open a torn tail to recover");
    }
    eprintln!("{operation:?}: power cut at each of {cuts} points, {crashes} crashes checked");
    (cuts, crashes)
}

/// Returns (cuts, crashes, torn bytes the uncut open found).
fn every_cut_every_plan_of(operation: Operation, shape: u64) -> (u64, u64, u64) {
    let (mut cuts, mut crashes) = (0, 0);
    let (uncut, baseline) = run(
        operation,
        shape,
        u64::MAX,
        Some(CrashPlan { writes: CrashWrites::Prefix { kept: 0, tear: None }, namespace_kept: 0 }),
    )
    .unwrap_or_else(|error| panic!("{operation:?} with no cut: {error}"));
    for stop_at in 0..10_000 {
        let (cut, _) = run(operation, shape, stop_at, None).unwrap();
        for plan in plans(&cut) {
            let (_, kept) = run(operation, shape, stop_at, Some(plan)).unwrap_or_else(|error| {
                let at = format!("store {shape}, power cut before storage operation {stop_at}");
                panic!("{operation:?} of {at}, {plan:?}: {error}")
            });
            // Recovery is idempotent: a crash during it changes nothing it had decided.
            if operation == Operation::Open {
                assert_eq!(kept, baseline, "open cut at {stop_at}, {plan:?}: another prefix");
            }
            crashes += 1;
        }
        cuts += 1;
        if cut.completed {
            return (cuts, crashes, uncut.torn_bytes);
        }
    }
    panic!("{operation:?} never completed");
}

#[test]
fn a_power_cut_anywhere_in_a_sync_treats_its_writes_every_way_and_loses_no_synced_one() {
    let (cuts, crashes) = every_cut_every_plan(Operation::Sync);
    assert!(cuts >= 2 && crashes > cuts, "{cuts} cuts, {crashes} crashes");
}

#[test]
fn a_power_cut_anywhere_in_a_flush_and_its_manifest_replacement_keeps_a_prefix() {
    let (cuts, crashes) = every_cut_every_plan(Operation::Flush);
    assert!(cuts >= 6 && crashes > cuts, "{cuts} cuts, {crashes} crashes");
}

#[test]
#[cfg(not(feature = "small-code"))]
fn a_power_cut_anywhere_in_a_hosts_flush_of_a_frozen_memtable_keeps_a_prefix() {
    let (cuts, crashes) = every_cut_every_plan(Operation::FlushStep);
    assert!(cuts >= 6 && crashes > cuts, "{cuts} cuts, {crashes} crashes");
}

#[test]
fn a_power_cut_anywhere_in_a_compaction_keeps_a_prefix() {
    let (cuts, crashes) = every_cut_every_plan(Operation::Compact);
    assert!(cuts >= 6 && crashes > cuts, "{cuts} cuts, {crashes} crashes");
}

#[test]
fn a_power_cut_anywhere_in_a_close_keeps_a_prefix() {
    let (cuts, crashes) = every_cut_every_plan(Operation::Close);
    assert!(cuts >= 2 && crashes > cuts, "{cuts} cuts, {crashes} crashes");
}

#[test]
fn a_power_cut_anywhere_in_recovery_changes_nothing_recovery_decided() {
    // Recovery syncs each change as it makes it: its cuts leave nothing pending to treat.
    let (cuts, crashes) = every_cut_every_plan(Operation::Open);
    assert!(cuts >= 2 && crashes >= cuts, "{cuts} cuts, {crashes} crashes");
}
