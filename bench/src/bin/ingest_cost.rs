//! The cost of edge ingest into a 16 MiB region, counted rather than timed: `cargo xtask
//! ingest-cost` runs this under callgrind and reports instructions and cache misses per
//! edge written, the flushes and compactions the writes run inline included, the same on
//! every run (the scale run's edges per second vary by a quarter between runs on a shared
//! machine, so an ingest change can be judged by this instead).
//!
//! `ingest_cost DIR` opens a new store in DIR at the scale run's config (`scale_config`:
//! one memtable, flushes and compactions in the writes), writes `BLOCKS` blocks of 1 KiB
//! (not counted), then `PER_BLOCK` calls from each block as the scale run does
//! (`target_of`: nearly every call a new target for the memtable) — the measured pass
//! (`measured`, the function callgrind counts); its edges are made before it, so the
//! count is the engine's alone. It prints the edges written and what the store did.
// A host tool: runs on 64-bit hosts only; its measurements cast freely.
#![allow(clippy::cast_possible_truncation, missing_debug_implementations)]

use kausaldb_bench::{content_1k, id, scale_config, target_of, METADATA};
use kausaldb_core::vfs::posix::PosixVfs;
use kausaldb_core::{memory_bytes_required, Edge, EdgeType, Engine, Error};

/// Blocks written before the measured pass; each has `PER_BLOCK` calls. 300,000 edges
/// make about 15 flushes and their compactions at `scale_config`, in about a minute
/// under callgrind.
const BLOCKS: u64 = 60_000;
const PER_BLOCK: u64 = 10;

/// The pass callgrind counts (`--toggle-collect=*measured*`).
#[inline(never)]
fn measured(engine: &mut Engine<'_, PosixVfs>, edges: &[Edge]) -> Result<(), Error> {
    for edge in edges {
        engine.put_edge(*edge)?;
    }
    Ok(())
}

fn main() -> Result<(), Error> {
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: ingest_cost DIR");
        std::process::exit(2);
    };
    let config = scale_config();
    let mut region = vec![0u8; memory_bytes_required(&config)];
    std::fs::create_dir_all(&dir).expect("store directory");
    let vfs = PosixVfs::open_dir(&dir).expect("store directory");
    let mut engine = Engine::open(config, &mut region, vfs)?;
    let content = content_1k();
    for n in 0..BLOCKS {
        engine.put_block(id(n), b"src/ingest.rs", METADATA, &content)?;
    }
    let before = engine.stats();
    let edges: Vec<Edge> = (0..BLOCKS)
        .flat_map(|n| (1..=PER_BLOCK).map(move |k| (n, target_of(n, k, BLOCKS))))
        .map(|(source, target)| Edge {
            source: id(source),
            target: id(target),
            edge_type: EdgeType::CALLS,
        })
        .collect();
    measured(&mut engine, &edges)?;
    engine.sync()?;
    let after = engine.stats();
    assert_eq!(after.edges_live, edges.len() as u64, "every call is a distinct edge");
    println!(
        "ingest_cost: {BLOCKS} blocks of 1 KiB, {PER_BLOCK} calls each; during the calls {} \
         flushes, {} compactions, {} MiB of tables written, {} tables at the end",
        after.flush_count - before.flush_count,
        after.compaction_count - before.compaction_count,
        (after.table_bytes_written - before.table_bytes_written) >> 20,
        after.tables_count
    );
    println!("edges: {}", edges.len());
    Ok(())
}
