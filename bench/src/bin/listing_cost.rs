//! The cost of an edge listing at the benchmarks' realistic config, counted rather than
//! timed: `cargo xtask listing-cost` runs this under callgrind and reports instructions and
//! cache misses per listing, the same on every run, so a change to the read path can be
//! judged on a shared machine whose timings vary by a quarter from run to run.
//!
//! `listing_cost DIR build` writes the graph of the benchmarks' realistic rows (100,000
//! blocks of 1 KiB, 500,000 calls; `load_realistic_graph`) into DIR once; `listing_cost DIR
//! out|in` reopens it and lists the callees (or callers) of 20,000 random blocks twice: a
//! pass that brings the pages in, then the measured pass (`measured`, the function
//! callgrind counts).
// A host tool: runs on 64-bit hosts only; its measurements cast freely.
#![allow(clippy::cast_possible_truncation, missing_debug_implementations)]

use kausaldb_bench::{bench_config, id, load_realistic_graph, BenchRng};
use kausaldb_core::vfs::posix::PosixVfs;
use kausaldb_core::{memory_bytes_required, BlockId, Direction, EdgeFilter, EdgeType, Engine};

const BLOCKS: u64 = 100_000;
const OUT_DEGREE: u64 = 5;
/// Listings of the measured pass (`COST_LISTINGS` in xtask divides callgrind's totals).
const LISTINGS: usize = 20_000;

fn list(engine: &mut Engine<'_, PosixVfs>, starts: &[BlockId], direction: Direction) -> usize {
    let mut listed = 0;
    for start in starts {
        let filter = EdgeFilter::Only(EdgeType::CALLS);
        engine.visit_edges(*start, direction, filter, |_| listed += 1).expect("edges");
    }
    listed
}

/// The pass callgrind counts (`--toggle-collect=*measured*`).
#[inline(never)]
fn measured(engine: &mut Engine<'_, PosixVfs>, starts: &[BlockId], direction: Direction) -> usize {
    list(engine, starts, direction)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, what] = &args[..] else {
        eprintln!("usage: listing_cost DIR build|out|in");
        std::process::exit(2);
    };
    let config = bench_config();
    let mut region = vec![0u8; memory_bytes_required(&config)];
    std::fs::create_dir_all(dir).expect("store directory");
    let vfs = PosixVfs::open_dir(dir).expect("store directory");
    let mut engine = Engine::open(config, &mut region, vfs).expect("open");
    let direction = match what.as_str() {
        "build" => {
            load_realistic_graph(&mut engine, BLOCKS, OUT_DEGREE).expect("load");
            return engine.close().expect("close");
        }
        "out" => Direction::Outgoing,
        "in" => Direction::Incoming,
        _ => panic!("{what}: build, out or in"),
    };
    let stats = engine.stats();
    assert!(
        stats.blocks_live == BLOCKS,
        "{dir} holds {} blocks: build it first",
        stats.blocks_live
    );
    let mut rng = BenchRng::new(5);
    let starts: Vec<_> = (0..LISTINGS).map(|_| id(rng.below(BLOCKS))).collect();
    list(&mut engine, &starts, direction);
    let listed = measured(&mut engine, &starts, direction);
    println!(
        "{what}: {LISTINGS} listings, {listed} edges; {} tables ({} with edges), {} edge records \
         in the memtable",
        stats.tables_count, stats.tables_with_edges, stats.memtable_edges_used,
    );
}
