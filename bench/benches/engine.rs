//! Engine micro-benchmarks (issue 2's targets): buffered and durable writes, reads, edge
//! listings, and WAL replay throughput, all on the real POSIX file backend.
// A host tool: runs on 64-bit hosts only; its measurements cast freely.
#![allow(clippy::cast_possible_truncation, missing_debug_implementations)]

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use kausaldb_bench::{bench_config, content_1k, id, StoreDir, METADATA};
use kausaldb_core::query::{BlockFilter, ScanCursor};
use kausaldb_core::vfs::posix::PosixVfs;
use kausaldb_core::{
    memory_bytes_required, BlockId, Config, Direction, Edge, EdgeFilter, EdgeType, Engine,
    SyncPolicy,
};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Puts per store before it is emptied: fewer than the bench config's memtable holds
/// (64 Ki entries), so the timed puts measure the write path without a flush.
const PUTS_PER_STORE: u64 = 60_000;

fn put_buffered(c: &mut Criterion) {
    let config = bench_config();
    let mut region = vec![0u8; memory_bytes_required(&config)];
    let dir = StoreDir::new("put-buffered");
    let content = content_1k();
    c.bench_function("put_block_1k_buffered", |b| {
        b.iter_custom(|iterations| {
            let mut measured = Duration::ZERO;
            let mut done = 0;
            while done < iterations {
                dir.reset();
                let mut engine = Engine::open(config, &mut region, dir.vfs()).expect("open");
                let round = (iterations - done).min(PUTS_PER_STORE);
                let start = Instant::now();
                for n in 0..round {
                    engine.put_block(id(n), b"src/handler.rs", METADATA, &content).expect("put");
                }
                measured += start.elapsed();
                done += round;
                engine.abandon();
            }
            measured
        })
    });
}

fn put_durable(c: &mut Criterion) {
    let config = Config { sync_policy: SyncPolicy::EveryWrite, ..bench_config() };
    let mut region = vec![0u8; memory_bytes_required(&config)];
    let dir = StoreDir::new("put-durable");
    let content = content_1k();
    let bare = StoreDir::new("bare-fdatasync");
    std::fs::create_dir_all(&bare.0).expect("dir");
    let file = std::fs::File::create(bare.0.join("bare.log")).expect("file");
    // Flush what earlier benchmarks left dirty, so background write-back does not land on
    // whichever of the two runs first.
    // SAFETY: sync(2) takes no arguments and cannot fail.
    unsafe { libc::sync() };
    let mut group = c.benchmark_group("durable_write_1k");
    group.sample_size(20);
    // The same bytes a 1 KiB put frames (header, ids, lengths, uri, metadata, content).
    let frame = vec![0u8; 1024 + 96];
    group.bench_function("bare_pwrite_fdatasync", |b| {
        use std::os::unix::fs::FileExt;
        let mut offset = 0u64;
        b.iter(|| {
            file.write_all_at(&frame, offset).expect("write");
            file.sync_data().expect("fdatasync");
            offset += frame.len() as u64;
        });
    });
    group.bench_function("kausaldb_put_block_sync", |b| {
        let mut engine = Engine::open(config, &mut region, dir.vfs()).expect("open");
        let mut n = 0;
        b.iter(|| {
            n = (n + 1) % 1000;
            engine.put_block(id(n), b"src/handler.rs", METADATA, &content).expect("put")
        });
        engine.abandon();
    });
    group.finish();
}

/// A store with `blocks` blocks, each with ten outgoing calls edges.
fn graph_store<'r>(region: &'r mut [u8], dir: &StoreDir, blocks: u64) -> Engine<'r, PosixVfs> {
    dir.reset();
    let mut engine = Engine::open(bench_config(), region, dir.vfs()).expect("open");
    let content = content_1k();
    for n in 0..blocks {
        engine.put_block(id(n), b"src/graph.rs", METADATA, &content[..256]).expect("put");
    }
    for n in 0..blocks {
        for k in 1..=10 {
            let edge = Edge {
                source: id(n),
                target: id((n * 7 + k * 13) % blocks),
                edge_type: EdgeType::CALLS,
            };
            engine.put_edge(edge).expect("edge");
        }
    }
    engine.sync().expect("sync");
    engine
}

fn reads(c: &mut Criterion) {
    let mut region = vec![0u8; memory_bytes_required(&bench_config())];
    let dir = StoreDir::new("reads");
    let blocks = 50_000;
    let mut engine = graph_store(&mut region, &dir, blocks);
    let mut n = 0;
    c.bench_function("find_block_hit", |b| {
        b.iter(|| {
            n = (n + 7919) % blocks;
            black_box(engine.find_block(id(n)).expect("find").map(|view| view.content.len()))
        })
    });
    c.bench_function("find_block_miss", |b| {
        b.iter(|| {
            n += 1;
            black_box(engine.find_block(id(blocks + n)).expect("find").is_none())
        })
    });
    let mut out = [Edge::EMPTY; 16];
    c.bench_function("edges_outgoing_degree_10", |b| {
        b.iter(|| {
            n = (n + 7919) % blocks;
            let count =
                engine.edges(id(n), Direction::Outgoing, EdgeFilter::All, &mut out).expect("edges");
            black_box(count.written)
        })
    });
    engine.abandon();
}

fn replay(c: &mut Criterion) {
    let config = bench_config();
    let mut region = vec![0u8; memory_bytes_required(&config)];
    let dir = StoreDir::new("replay");
    let content = content_1k();
    let mut engine = Engine::open(config, &mut region, dir.vfs()).expect("open");
    for n in 0..PUTS_PER_STORE {
        engine.put_block(id(n), b"src/replay.rs", METADATA, &content).expect("put");
    }
    let wal_bytes = engine.stats().wal_position;
    engine.close().expect("close");
    let mut group = c.benchmark_group("wal_replay");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(wal_bytes));
    group.bench_function("open_60k_blocks_of_1k", |b| {
        b.iter_batched(
            || (),
            |()| {
                let engine = Engine::open(config, &mut region, dir.vfs()).expect("reopen");
                let frames = engine.stats().recovery_frames_replayed;
                engine.abandon();
                frames
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

/// A whole scan of 40,000 blocks in the memtable, 64 ids per call, as the C API pages
/// (`kausal_scan`): once a sort of the memtable per call, so quadratic.
fn scan_memtable(c: &mut Criterion) {
    let config = bench_config();
    let mut region = vec![0u8; memory_bytes_required(&config)];
    let dir = StoreDir::new("scan-memtable");
    let mut engine = Engine::open(config, &mut region, dir.vfs()).expect("open");
    let blocks = 40_000;
    for n in 0..blocks {
        engine.put_block(id(n), b"src/scan.rs", METADATA, b"x").expect("put");
    }
    let mut group = c.benchmark_group("scan");
    group.sample_size(10);
    group.throughput(Throughput::Elements(blocks));
    group.bench_function("memtable_40k_pages_of_64", |b| {
        b.iter(|| {
            let mut cursor = ScanCursor::START;
            let mut out = [BlockId::ZERO; 64];
            let mut seen = 0;
            while !cursor.done {
                seen += engine.scan(&BlockFilter::ALL, &mut cursor, &mut out).expect("scan");
            }
            assert_eq!(seen as u64, blocks, "every block once");
            seen
        })
    });
    group.finish();
    engine.abandon();
}

/// Opening a store of 100 blocks with the benchmarks' region (its size printed): what an
/// open costs a host that sizes its region for growth.
fn open_small_store(c: &mut Criterion) {
    let config = bench_config();
    let mut region = vec![0u8; memory_bytes_required(&config)];
    let dir = StoreDir::new("open-small");
    let mut engine = Engine::open(config, &mut region, dir.vfs()).expect("open");
    for n in 0..100 {
        engine.put_block(id(n), b"src/open.rs", METADATA, b"x").expect("put");
    }
    engine.flush().expect("flush");
    engine.close().expect("close");
    eprintln!("open: region of {} MiB", region.len() >> 20);
    let mut group = c.benchmark_group("open");
    group.sample_size(20);
    group.bench_function("store_of_100_blocks_large_region", |b| {
        b.iter(|| {
            let engine = Engine::open(config, &mut region, dir.vfs()).expect("open");
            let live = engine.stats().blocks_live;
            engine.abandon();
            live
        })
    });
    group.finish();
}

criterion_group!(
    benches,
    put_buffered,
    put_durable,
    reads,
    replay,
    scan_memtable,
    open_small_store
);
criterion_main!(benches);
