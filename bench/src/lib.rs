//! Shared set-up for the benchmarks: store directories, configs and data generation.
// A host tool: runs on 64-bit hosts only; its measurements cast freely.
#![allow(clippy::cast_possible_truncation, missing_debug_implementations)]

pub mod peers;

use kausaldb_core::vfs::posix::PosixVfs;
use kausaldb_core::{BlockId, Config};
use std::path::PathBuf;

/// A config for benchmarks: room for 64 Ki blocks of 1 KiB and 512 Ki edges.
pub fn bench_config() -> Config {
    Config {
        memtable_entries_max: 1 << 16,
        memtable_edges_max: 1 << 19,
        memtable_arena_bytes_max: 96 << 20,
        wal_segment_bytes_max: 64 << 20,
        wal_segments_max: 64,
        wal_buffer_bytes: 1 << 20,
        read_buffer_bytes: 1 << 20,
        // Indexes and blooms of a 1 GiB store (the peers' cold-read store).
        table_memory_bytes: 16 << 20,
        ..Config::DEFAULT
    }
}

/// A fresh, empty directory under the system temp dir, removed on drop.
pub struct StoreDir(pub PathBuf);

impl StoreDir {
    pub fn new(name: &str) -> StoreDir {
        let path =
            std::env::temp_dir().join(format!("kausaldb-bench-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        StoreDir(path)
    }

    pub fn vfs(&self) -> PosixVfs {
        PosixVfs::open_dir(self.0.to_str().expect("UTF-8 temp path"))
            .expect("bench store directory")
    }

    /// Empties the directory for the next round.
    pub fn reset(&self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Drop for StoreDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The id of the n-th benchmark block.
pub fn id(n: u64) -> BlockId {
    BlockId::derive(b"bench", &n.to_le_bytes())
}

pub const METADATA: &[u8] = br#"{"kind":"function","lang":"rust"}"#;

/// 1 KiB of source-like content.
pub fn content_1k() -> Vec<u8> {
    b"fn handler(request: &Request) -> Response { let body = request.body(); route(body) }\n"
        .iter()
        .cycle()
        .take(1024)
        .copied()
        .collect()
}

/// A small deterministic generator (xorshift64*), so every system in a benchmark sees the
/// same data without a dependency.
pub struct BenchRng(u64);

impl BenchRng {
    pub fn new(seed: u64) -> BenchRng {
        BenchRng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..bound` (bound > 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound
    }

    /// In `0..bound`, skewed towards 0: index = bound * u^3 for uniform u, so a few blocks
    /// (utility functions, logging) get most of the incoming calls, as in real code.
    pub fn skewed_below(&mut self, bound: u64) -> u64 {
        let unit = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        ((bound as f64 * unit * unit * unit) as u64).min(bound - 1)
    }
}

/// A synthetic code graph: `blocks` functions, each calling `out_degree` distinct others
/// chosen with skewed in-degree. Returns (caller, callee) index pairs; no self-calls.
pub fn code_graph_calls(blocks: u64, out_degree: u64, seed: u64) -> Vec<(u64, u64)> {
    let mut rng = BenchRng::new(seed);
    let mut calls = Vec::with_capacity((blocks * out_degree) as usize);
    for caller in 0..blocks {
        let mut chosen: Vec<u64> = Vec::with_capacity(out_degree as usize);
        while (chosen.len() as u64) < out_degree.min(blocks - 1) {
            let callee = rng.skewed_below(blocks);
            if callee != caller && !chosen.contains(&callee) {
                chosen.push(callee);
            }
        }
        calls.extend(chosen.into_iter().map(|callee| (caller, callee)));
    }
    calls
}

/// Writes the graph of the realistic-config rows into `engine`: `blocks` blocks of 1 KiB and
/// `out_degree` calls from each (`code_graph_calls`, seed 42), then syncs. At `bench_config`
/// the graph ends in tables and the memtable, as a host's would.
pub fn load_realistic_graph<V: kausaldb_core::vfs::Vfs>(
    engine: &mut kausaldb_core::Engine<'_, V>,
    blocks: u64,
    out_degree: u64,
) -> Result<(), kausaldb_core::Error> {
    for n in 0..blocks {
        let mut content = content_1k();
        content[..8].copy_from_slice(&n.to_le_bytes());
        engine.put_block(id(n), b"src/generated.rs", br#"{"kind":"function"}"#, &content)?;
    }
    for (caller, callee) in code_graph_calls(blocks, out_degree, 42) {
        let edge = kausaldb_core::Edge {
            source: id(caller),
            target: id(callee),
            edge_type: kausaldb_core::EdgeType::CALLS,
        };
        engine.put_edge(edge)?;
    }
    engine.sync()
}

/// Short source-like content for graph blocks (about 100 bytes).
pub fn content_for(n: u64) -> Vec<u8> {
    format!(
        "fn function_{n}(input: &Input) -> Output {{ let value = step_{n}(input); finish(value) }}"
    )
    .into_bytes()
}

/// A config that holds a whole synthetic code graph of `blocks` blocks and
/// `blocks * out_degree` edges in the memtable.
pub fn graph_config(blocks: u64, edges: u64) -> Config {
    Config {
        memtable_entries_max: (blocks + 1024) as u32,
        memtable_edges_max: (edges + 1024) as u32,
        memtable_arena_bytes_max: (blocks * 256).max(1 << 20) as u32,
        wal_segment_bytes_max: 64 << 20,
        wal_segments_max: 64,
        wal_buffer_bytes: 1 << 20,
        read_buffer_bytes: 1 << 20,
        table_memory_bytes: 16 << 20,
        ..Config::DEFAULT
    }
}

/// The scale run's configuration (`cargo xtask scale`; `ingest-cost` counts its ingest),
/// which fits in 16 MiB. The memtable holds 24 Ki entries: an edge takes an entry for each
/// end the memtable does not hold yet (here a new target each, a new source every fifth),
/// so with 2,048 (the arena's count of 1 KiB blocks) a flush carried about 1,700 edges,
/// 1,031 flushes in the run at 98k edges/s; with 24 Ki, about 20k edges per flush, 224
/// flushes, 165k to 220k edges/s. Traversals are not run there, so their part is small.
pub fn scale_config() -> Config {
    Config {
        memtable_entries_max: 24 << 10,
        memtable_edges_max: 32 << 10,
        memtable_arena_bytes_max: 2 << 20,
        content_bytes_max: 2048,
        wal_segment_bytes_max: 8 << 20,
        wal_buffer_bytes: 256 << 10,
        read_buffer_bytes: 64 << 10,
        tables_max: 24,
        table_memory_bytes: 9 << 20,
        table_page_bytes: 32 << 10,
        bloom_bits_per_key: 10,
        query_nodes_max: 1000,
        ..Config::DEFAULT
    }
}

/// The target of block `n`'s `k`th call among `blocks` blocks in the scale run: spread over
/// every block, so nearly every call brings the memtable a new target.
pub fn target_of(n: u64, k: u64, blocks: u64) -> u64 {
    (n * 7 + k * 7919) % blocks
}
