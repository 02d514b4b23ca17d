//! Graph-query benchmarks on a synthetic code graph: 100,000 functions, five calls each,
//! skewed in-degree. Each query runs twice: with the graph in the memtable, and after it was
//! flushed to a sorted table (page cache warm). Starts rotate over a fixed random list.
// A host tool: runs on 64-bit hosts only; its measurements cast freely.
#![allow(clippy::cast_possible_truncation, missing_debug_implementations)]

use criterion::{criterion_group, criterion_main, Criterion};
use kausaldb_bench::{
    bench_config, code_graph_calls, content_for, graph_config, id, load_realistic_graph, BenchRng,
    StoreDir,
};
use kausaldb_core::vfs::posix::PosixVfs;
use kausaldb_core::{
    memory_bytes_required, Direction, Edge, EdgeFilter, EdgeType, Engine, NamedQuery, PathOutcome,
    PathQuery, PathStep, TraversalHit,
};

const BLOCKS: u64 = 100_000;
const OUT_DEGREE: u64 = 5;

fn blocks() -> u64 {
    std::env::var("KAUSAL_BENCH_BLOCKS").ok().and_then(|text| text.parse().ok()).unwrap_or(BLOCKS)
}

fn load<'r>(region: &'r mut [u8], dir: &StoreDir, blocks: u64) -> Engine<'r, PosixVfs> {
    let config = graph_config(blocks, blocks * OUT_DEGREE);
    let mut engine = Engine::open(config, region, dir.vfs()).expect("open");
    for n in 0..blocks {
        engine
            .put_block(id(n), b"src/generated.rs", br#"{"kind":"function"}"#, &content_for(n))
            .expect("put");
    }
    for (caller, callee) in code_graph_calls(blocks, OUT_DEGREE, 42) {
        let edge = Edge { source: id(caller), target: id(callee), edge_type: EdgeType::CALLS };
        engine.put_edge(edge).expect("put_edge");
    }
    engine.sync().expect("sync");
    engine
}

fn queries(c: &mut Criterion, engine: &mut Engine<'_, PosixVfs>, level: &str) {
    let blocks = blocks();
    let mut rng = BenchRng::new(7);
    let starts: Vec<_> = (0..1024).map(|_| id(rng.below(blocks))).collect();
    let mut hits = vec![TraversalHit::EMPTY; 10_000];
    let mut group = c.benchmark_group(format!("graph_{level}"));
    for (name, query) in
        [("callees_3hop_bfs", NamedQuery::Callees), ("callers_3hop_bfs", NamedQuery::Callers)]
    {
        let mut at = 0;
        let mut reached = 0usize;
        let mut runs = 0usize;
        group.bench_function(name, |b| {
            b.iter(|| {
                at = (at + 1) % starts.len();
                let count = engine.query(query, starts[at], 3, &mut hits).expect("query");
                reached += count.written;
                runs += 1;
            })
        });
        eprintln!(
            "{level}/{name}: {:.1} blocks reached per query",
            reached as f64 / runs.max(1) as f64
        );
        per_query_latency(engine, query, &starts, level, name, &mut hits);
    }
    let mut steps = [PathStep::EMPTY; 101];
    let mut at = 0;
    let (mut found, mut runs) = (0usize, 0usize);
    group.bench_function("shortest_path_random_pairs", |b| {
        b.iter(|| {
            at = (at + 2) % starts.len();
            let query = PathQuery {
                from: starts[at],
                to: starts[at + 1],
                direction: Direction::Outgoing,
                edge_filter: EdgeFilter::Only(EdgeType::CALLS),
                depth_max: 10,
            };
            let outcome = engine.shortest_path(&query, &mut steps).expect("path");
            found += usize::from(matches!(outcome, PathOutcome::Found { .. }));
            runs += 1;
        })
    });
    eprintln!("{level}/shortest_path: a path found in {found} of {runs} pairs");
    group.finish();
}

/// Criterion's estimate is a mean over the rotating starts, and with a skewed graph a few
/// starts near hubs dominate it; this times each start alone (best of 5 runs, so a cold
/// first run does not count) and prints the median, p90 and p99.
fn per_query_latency(
    engine: &mut Engine<'_, PosixVfs>,
    query: NamedQuery,
    starts: &[kausaldb_core::BlockId],
    level: &str,
    name: &str,
    hits: &mut [TraversalHit],
) {
    let mut times: Vec<u128> = starts
        .iter()
        .map(|start| {
            (0..5)
                .map(|_| {
                    let began = std::time::Instant::now();
                    engine.query(query, *start, 3, hits).expect("query");
                    began.elapsed().as_nanos()
                })
                .min()
                .unwrap_or(0)
        })
        .collect();
    times.sort_unstable();
    let at = |fraction: f64| {
        times[((times.len() as f64 * fraction) as usize).min(times.len() - 1)] as f64 / 1e3
    };
    eprintln!(
        "{level}/{name}: per-query latency over {} starts: median {:.2} us, p90 {:.2} us, \
         p99 {:.2} us",
        times.len(),
        at(0.5),
        at(0.9),
        at(0.99)
    );
}

/// Edge listings at a realistic config (`bench_config`: a 64 Ki-block memtable) with blocks
/// of 1 KiB, so the graph spans several tables and the memtable (the count is printed).
fn listings(c: &mut Criterion, engine: &mut Engine<'_, PosixVfs>, level: &str) {
    let blocks = blocks();
    let mut rng = BenchRng::new(5);
    let starts: Vec<_> = (0..1024).map(|_| id(rng.below(blocks))).collect();
    let mut group = c.benchmark_group(format!("graph_{level}"));
    for (name, direction) in
        [("edges_outgoing", Direction::Outgoing), ("edges_incoming", Direction::Incoming)]
    {
        let mut at = 0;
        group.bench_function(name, |b| {
            b.iter(|| {
                at = (at + 1) % starts.len();
                let mut found = 0;
                let filter = EdgeFilter::Only(EdgeType::CALLS);
                engine.visit_edges(starts[at], direction, filter, |_| found += 1).expect("edges");
                found
            })
        });
    }
    group.finish();
}

fn graph_realistic(c: &mut Criterion) {
    let blocks = blocks();
    let config = bench_config();
    let mut region = vec![0u8; memory_bytes_required(&config)];
    let dir = StoreDir::new("graph-realistic");
    let mut engine = Engine::open(config, &mut region, dir.vfs()).expect("open");
    load_realistic_graph(&mut engine, blocks, OUT_DEGREE).expect("load");
    let stats = engine.stats();
    eprintln!(
        "realistic: {} tables after {} flushes and {} compactions; memtable {} entries, {} edges",
        stats.tables_count,
        stats.flush_count,
        stats.compaction_count,
        stats.memtable_entries_used,
        stats.memtable_edges_used
    );
    listings(c, &mut engine, "realistic");
    queries(c, &mut engine, "realistic");
}

fn graph(c: &mut Criterion) {
    let blocks = blocks();
    let config = graph_config(blocks, blocks * OUT_DEGREE);
    let mut region = vec![0u8; memory_bytes_required(&config)];
    let dir = StoreDir::new("graph");
    let mut engine = load(&mut region, &dir, blocks);
    queries(c, &mut engine, "memtable");
    engine.flush().expect("flush");
    queries(c, &mut engine, "tables");
}

criterion_group!(benches, graph, graph_realistic);
criterion_main!(benches);
