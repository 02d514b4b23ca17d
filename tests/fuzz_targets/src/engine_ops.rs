//! The engine on an operation sequence decoded from the input (writes, syncs, flushes, a host's
//! flushes of a frozen memtable, compaction steps, reads, crashes of three kinds, injected I/O
//! failures), on the simulation backend, checked against the test suite's model: after every reopen
//! the store must equal the model as of the last sync plus a prefix of the later writes.
use crate::harness::{self, check_matches, check_prefix, perform, Memory, Model, Op, Outcome};
use crate::Choices;
use kausaldb_core::vfs::sim::{SimConfig, SimVfs};
use kausaldb_core::{BlockId, Config, Edge, Engine, Error};

/// Ids 1..=UNIVERSE: few enough that updates, duplicates, cycles and deletes of linked
/// blocks are common.
const UNIVERSE: u16 = 12;

/// Files of 48 KiB: a fresh simulated disk per input costs 3 MiB, not SIM_LARGE's 10 MiB
/// (which held the fuzzer to ~100 runs/s). A full disk is a failed write like any other.
const SIM: SimConfig =
    SimConfig { files_max: 32, file_bytes_max: 48 << 10, pending_bytes_max: 16 << 10 };

/// One input: panics on a finding.
pub fn run(bytes: &[u8]) {
    let mut choices = Choices::new(bytes);
    let seed = u64::from(choices.u16());
    if let Err(message) = run_store(&mut choices, seed) {
        panic!("{message}");
    }
}

fn id(choices: &mut Choices<'_>) -> BlockId {
    BlockId::from_u128(u128::from(1 + choices.below(UNIVERSE)))
}

fn write(choices: &mut Choices<'_>, kind: u8) -> Op {
    match kind {
        0..=8 => {
            let id = id(choices);
            let file = choices.below(4);
            let len = usize::from(choices.byte().unwrap_or(0)) * 2;
            let content = choices.take(len).to_vec();
            let metadata_json = format!("{{\"line\":{len}}}").into_bytes();
            Op::Put {
                id,
                source_uri: format!("src/{file}.rs").into_bytes(),
                metadata_json,
                content,
            }
        }
        9..=10 => Op::Delete { id: id(choices) },
        _ => {
            let edge_type = harness::EDGE_TYPES[usize::from(choices.below(3))];
            let edge = Edge { source: id(choices), target: id(choices), edge_type };
            if kind < 19 {
                Op::PutEdge(edge)
            } else {
                Op::DeleteEdge(edge)
            }
        }
    }
}

/// Open, replay the checks, then run operations until a crash or the end of the input.
fn run_store(choices: &mut Choices<'_>, seed: u64) -> Result<(), String> {
    let config = Config { tables_max: 6, ..harness::small_config() };
    // A quarter of the inputs freeze full memtables (a small one) and flush them in steps of
    // a few records, half of those by the host and half by the writes (`flush_in_steps`); a
    // quarter compact by hand, in steps of a few records.
    let frozen = Config { memtable_arena_bytes_max: 4096, flush_step_bytes: 200, ..config };
    let config = match seed % 8 {
        0 => Config { flush_auto: false, ..frozen },
        4 => Config { flush_in_steps: true, ..frozen },
        1 | 5 => Config { compaction_auto: false, compaction_step_bytes: 150, ..config },
        _ => config,
    };
    let bump = bumpalo::Bump::new();
    let memory = Memory::with_sim(&bump, &config, &SIM);
    let mut sim = SimVfs::new(memory.disk, SIM, seed).map_err(|e| format!("{e:?}"))?;
    sim.views = seed % 2 == 1;
    let universe: Vec<BlockId> = (1..=UNIVERSE).map(|n| BlockId::from_u128(n.into())).collect();
    let (mut synced, mut since_sync) = (Model::new(), Vec::<Op>::new());
    let region = memory.region;
    loop {
        sim.faults.fail_at_op = None;
        let mut engine =
            Engine::open(config, &mut *region, &mut sim).map_err(|e| format!("open: {e:?}"))?;
        let kept = check_prefix(&mut engine, &config, &synced, &since_sync, &universe)?;
        for op in &since_sync[..kept] {
            synced.apply(&config, op);
        }
        since_sync.clear();
        let mut model = synced.clone();
        let Some(how) = steps(
            choices,
            &mut engine,
            &config,
            &mut model,
            &mut synced,
            &mut since_sync,
            &universe,
        )?
        else {
            return Ok(());
        };
        match how {
            0 => engine.abandon(),
            _ => {
                let closed = engine.close();
                if closed.is_ok() {
                    synced = model.clone();
                    since_sync.clear();
                }
            }
        }
        if how == 1 {
            sim.crash_process()
        } else {
            sim.crash()
        }
    }
}

/// Runs operations on an open engine; `Some(how)` ends it (0 power loss, 1 process death,
/// 2 close, then power loss), `None` at the end of the input.
#[allow(clippy::too_many_arguments)]
fn steps(
    choices: &mut Choices<'_>,
    engine: &mut Engine<'_, &mut SimVfs<'_>>,
    config: &Config,
    model: &mut Model,
    synced: &mut Model,
    since_sync: &mut Vec<Op>,
    universe: &[BlockId],
) -> Result<Option<u8>, String> {
    loop {
        let Some(kind) = choices.byte() else { return Ok(None) };
        let kind = kind % 32;
        let failed = |error: Error| matches!(error, Error::Io(_) | Error::Poisoned);
        match kind {
            0..=20 => {
                let op = write(choices, kind);
                let expected = model.clone().apply(config, &op);
                match perform(engine, &op) {
                    Outcome::Refused(error) if failed(error) => {
                        // Unknown whether it reached the disk: the reopen decides.
                        since_sync.push(op);
                        return Ok(Some(0));
                    }
                    Outcome::Refused(harness::TABLES_FULL) => return Ok(Some(2)),
                    got if got != expected => {
                        return Err(format!("{op:?}: engine {got:?}, model {expected:?}"))
                    }
                    Outcome::Applied(_) => {
                        model.apply(config, &op);
                        since_sync.push(op);
                    }
                    _ => {}
                }
            }
            21..=23 => match engine.sync() {
                Ok(()) => {
                    *synced = model.clone();
                    since_sync.clear();
                }
                Err(error) if failed(error) => return Ok(Some(0)),
                Err(error) => return Err(format!("sync: {error:?}")),
            },
            24 if !config.flush_auto && choices.below(2) == 0 => match engine.flush_step() {
                // A flush's first step syncs the log, its later ones do not: no durability
                // is claimed (a longer prefix may survive).
                Ok(_) => {}
                Err(error) if failed(error) || error == harness::TABLES_FULL => return Ok(Some(0)),
                Err(error) => return Err(format!("flush_step: {error:?}")),
            },
            24 => match engine.flush() {
                Ok(()) => {
                    *synced = model.clone();
                    since_sync.clear();
                }
                Err(error) if failed(error) || error == harness::TABLES_FULL => return Ok(Some(0)),
                Err(error) => return Err(format!("flush: {error:?}")),
            },
            25 => match engine.compact_step() {
                Ok(_) => {}
                Err(error) if failed(error) => return Ok(Some(0)),
                Err(error) => return Err(format!("compact_step: {error:?}")),
            },
            26..=27 => {
                if let Err(message) = check_matches(engine, model, universe) {
                    // A read may meet the injected failure; then the reopen checks.
                    let vfs = engine.vfs_mut();
                    if vfs.faults.fail_at_op.is_some_and(|at| vfs.ops_count() > at) {
                        return Ok(Some(0));
                    }
                    return Err(message);
                }
            }
            28 => return Ok(Some(0)),
            29 => return Ok(Some(1)),
            30 => return Ok(Some(2)),
            _ => {
                // An injected I/O failure, some operations from now.
                let after = u64::from(choices.below(16));
                let vfs = engine.vfs_mut();
                vfs.faults.fail_at_op = Some(vfs.ops_count() + after);
            }
        }
    }
}
