//! The cost of compaction's merge, counted rather than timed: `cargo xtask merge-cost` runs
//! this under callgrind and reports instructions and cache misses per merged record, the same
//! on every run (a merge's time on this machine varies by a quarter from run to run).
//!
//! `merge_cost DIR build` writes two stores: DIR/blocks, 40,000 blocks of 1 KiB in four
//! tables of 10,000 (derived ids: every table's interleave with every other's), and
//! DIR/edges, the realistic graph's calls from those blocks (5 each, `code_graph_calls`) in
//! four edge tables, each block's calls together in one of them as a host puts them (a
//! function's calls at once). `merge_cost DIR blocks|edges` reopens one and compacts it until
//! nothing is left to merge (`measured`, the function callgrind counts): one merge of the
//! four tables, checked. It prints `records: N`, the records merged, which xtask divides by.
// A host tool: runs on 64-bit hosts only; its measurements cast freely.
#![allow(clippy::cast_possible_truncation, missing_debug_implementations)]

use kausaldb_bench::{bench_config, code_graph_calls, content_1k, id, METADATA};
use kausaldb_core::vfs::posix::PosixVfs;
use kausaldb_core::{memory_bytes_required, Config, Edge, EdgeType, Engine, Error};

const BLOCKS: u64 = 40_000;
const OUT_DEGREE: u64 = 5;
/// Tables of each kind: one tiered compaction merges this many (`COMPACTION_FANIN`).
const TABLES: u64 = 4;

/// The benchmarks' realistic config, compacting only when asked: the tables stay as flushed.
fn config() -> Config {
    Config { compaction_auto: false, ..bench_config() }
}

/// Puts every block, flushing after each quarter when `tables_of_blocks`, else once.
fn put_blocks(engine: &mut Engine<'_, PosixVfs>, tables_of_blocks: bool) -> Result<(), Error> {
    let mut content = content_1k();
    for n in 0..BLOCKS {
        content[..8].copy_from_slice(&n.to_le_bytes());
        engine.put_block(id(n), b"src/generated.rs", METADATA, &content)?;
        if tables_of_blocks && (n + 1) % (BLOCKS / TABLES) == 0 {
            engine.flush()?;
        }
    }
    engine.flush()
}

fn build(dir: &str) -> Result<(), Error> {
    for store in ["blocks", "edges"] {
        let path = format!("{dir}/{store}");
        std::fs::create_dir_all(&path).expect("store directory");
        let mut region = vec![0u8; memory_bytes_required(&config())];
        let vfs = PosixVfs::open_dir(&path).expect("store directory");
        let mut engine = Engine::open(config(), &mut region, vfs)?;
        put_blocks(&mut engine, store == "blocks")?;
        if store == "edges" {
            let calls = code_graph_calls(BLOCKS, OUT_DEGREE, 42);
            let per_table = calls.len() / TABLES as usize;
            for chunk in calls.chunks(per_table) {
                for &(caller, callee) in chunk {
                    let edge =
                        Edge { source: id(caller), target: id(callee), edge_type: EdgeType::CALLS };
                    engine.put_edge(edge)?;
                }
                engine.flush()?;
            }
        }
        engine.close()?;
    }
    Ok(())
}

/// The pass callgrind counts (`--toggle-collect=*measured*`): every compaction step.
#[inline(never)]
fn measured(engine: &mut Engine<'_, PosixVfs>) -> Result<u64, Error> {
    let mut steps = 0;
    while engine.compact_step()? {
        steps += 1;
    }
    Ok(steps)
}

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, what] = &args[..] else {
        eprintln!("usage: merge_cost DIR build|blocks|edges");
        std::process::exit(2);
    };
    if what == "build" {
        return build(dir);
    }
    let path = format!("{dir}/{what}");
    let (tables_after, records) = match what.as_str() {
        "blocks" => (1, BLOCKS),
        // Each edge is two records: its source's outgoing one and its target's incoming one.
        "edges" => (2, 2 * BLOCKS * OUT_DEGREE),
        _ => panic!("{what}: build, blocks or edges"),
    };
    let mut region = vec![0u8; memory_bytes_required(&config())];
    let vfs = PosixVfs::open_dir(&path).expect("store directory");
    let mut engine = Engine::open(config(), &mut region, vfs)?;
    let before = engine.stats();
    assert_eq!(before.tables_count, tables_after - 1 + TABLES as u32, "{path}: build it first");
    let steps = measured(&mut engine)?;
    let after = engine.stats();
    assert_eq!(after.compaction_count - before.compaction_count, 1, "one merge of the run");
    assert_eq!(after.tables_count, tables_after, "the four tables merged into one");
    assert_eq!((after.blocks_live, after.edges_live), (before.blocks_live, before.edges_live));
    println!("{what}: {TABLES} tables merged in {steps} steps");
    println!("records: {records}");
    Ok(())
}
