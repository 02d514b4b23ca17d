//! The cost of an edge listing and of a 3-hop traversal at the benchmarks' realistic
//! config, counted rather than timed: `cargo xtask listing-cost` runs this under callgrind
//! and reports instructions and cache misses per listing and per traversal, the same on
//! every run, so a change to the read path can be judged on a shared machine whose timings
//! vary by a quarter from run to run.
//!
//! `listing_cost DIR build` writes the graph of the benchmarks' realistic rows (100,000
//! blocks of 1 KiB, 500,000 calls; `load_realistic_graph`) into DIR once; `listing_cost DIR
//! out|in` reopens it and lists the callees (or callers) of 20,000 random blocks twice: a
//! pass that brings the pages in, then the measured pass (`measured`, the function
//! callgrind counts). `listing_cost DIR callees|callers` does the same with the native
//! 3-hop traversal (`Engine::query`, as the benchmarks' BFS rows) from 2,000 random blocks.
// A host tool: runs on 64-bit hosts only; its measurements cast freely.
#![allow(clippy::cast_possible_truncation, missing_debug_implementations)]

use kausaldb_bench::{bench_config, id, load_realistic_graph, BenchRng};
use kausaldb_core::vfs::posix::PosixVfs;
use kausaldb_core::{
    memory_bytes_required, BlockId, Direction, EdgeFilter, EdgeType, Engine, NamedQuery,
    TraversalHit,
};

const BLOCKS: u64 = 100_000;
const OUT_DEGREE: u64 = 5;
/// Listings of the measured pass (`COST_LISTINGS` in xtask divides callgrind's totals).
const LISTINGS: usize = 20_000;
/// Traversals of the measured pass (`COST_TRAVERSALS` in xtask).
const TRAVERSALS: usize = 2_000;
/// Hops of a traversal, as the benchmarks' `callees_3hop` and `callers_3hop` rows.
const HOPS: u32 = 3;

/// What one run counts.
#[derive(Clone, Copy)]
enum Reads {
    Listings(Direction),
    Traversals(NamedQuery),
}

fn list(engine: &mut Engine<'_, PosixVfs>, starts: &[BlockId], direction: Direction) -> usize {
    let mut listed = 0;
    for start in starts {
        let filter = EdgeFilter::Only(EdgeType::CALLS);
        engine.visit_edges(*start, direction, filter, |_| listed += 1).expect("edges");
    }
    listed
}

/// Nodes the traversals from `starts` reached, in all (a traversal that outgrows `hits`
/// stops there, as the benchmarks' do).
fn traverse(
    engine: &mut Engine<'_, PosixVfs>,
    starts: &[BlockId],
    query: NamedQuery,
    hits: &mut [TraversalHit],
) -> usize {
    let mut reached = 0;
    for start in starts {
        reached += engine.query(query, *start, HOPS, hits).expect("traverse").written;
    }
    reached
}

fn read(engine: &mut Engine<'_, PosixVfs>, starts: &[BlockId], reads: Reads) -> usize {
    match reads {
        Reads::Listings(direction) => list(engine, starts, direction),
        // As many hits as the benchmarks' harness has room for.
        Reads::Traversals(query) => {
            traverse(engine, starts, query, &mut vec![TraversalHit::EMPTY; 10_000])
        }
    }
}

/// The pass callgrind counts (`--toggle-collect=*measured*`).
#[inline(never)]
fn measured(engine: &mut Engine<'_, PosixVfs>, starts: &[BlockId], reads: Reads) -> usize {
    read(engine, starts, reads)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, what] = &args[..] else {
        eprintln!("usage: listing_cost DIR build|out|in|callees|callers");
        std::process::exit(2);
    };
    let config = bench_config();
    let mut region = vec![0u8; memory_bytes_required(&config)];
    std::fs::create_dir_all(dir).expect("store directory");
    let vfs = PosixVfs::open_dir(dir).expect("store directory");
    let mut engine = Engine::open(config, &mut region, vfs).expect("open");
    let (reads, count) = match what.as_str() {
        "build" => {
            load_realistic_graph(&mut engine, BLOCKS, OUT_DEGREE).expect("load");
            return engine.close().expect("close");
        }
        "out" => (Reads::Listings(Direction::Outgoing), LISTINGS),
        "in" => (Reads::Listings(Direction::Incoming), LISTINGS),
        "callees" => (Reads::Traversals(NamedQuery::Callees), TRAVERSALS),
        "callers" => (Reads::Traversals(NamedQuery::Callers), TRAVERSALS),
        _ => panic!("{what}: build, out, in, callees or callers"),
    };
    let stats = engine.stats();
    assert!(
        stats.blocks_live == BLOCKS,
        "{dir} holds {} blocks: build it first",
        stats.blocks_live
    );
    let mut rng = BenchRng::new(5);
    let starts: Vec<_> = (0..count).map(|_| id(rng.below(BLOCKS))).collect();
    read(&mut engine, &starts, reads);
    let found = measured(&mut engine, &starts, reads);
    let (unit, result) = match reads {
        Reads::Listings(_) => ("listings", "edges"),
        Reads::Traversals(_) => ("traversals of 3 hops", "nodes reached"),
    };
    println!(
        "{what}: {count} {unit}, {found} {result}; {} tables ({} with edges), {} edge records in \
         the memtable",
        stats.tables_count, stats.tables_with_edges, stats.memtable_edges_used,
    );
}
