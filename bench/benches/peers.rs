//! KausalDB and its peers (SQLite, LMDB, redb, fjall) on the same workloads, in one run.
//! Each workload is a criterion group `peers_<workload>` with one function per system;
//! `cargo xtask bench peers` runs it and writes bench/RESULTS.md from criterion's output.
//!
//! Sizes: `KAUSAL_BENCH_COLD_BLOCKS` (default 1,000,000 blocks of 1 KiB) for cold reads and
//! `KAUSAL_BENCH_GRAPH_BLOCKS` (default 100,000, five calls each) for edges and traversals.
// A host tool: runs on 64-bit hosts only; its measurements cast freely.
#![allow(clippy::cast_possible_truncation, missing_debug_implementations)]

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use kausaldb_bench::peers::{
    open_peer, resident_bytes, Fjall, Id, Kausal, KausalHarnessBfs, LogSize, Peer, Sqlite, SYSTEMS,
};
use kausaldb_bench::{
    bench_config, code_graph_calls, content_1k, content_for, graph_config, id, BenchRng, StoreDir,
    METADATA,
};
use kausaldb_core::{memory_bytes_required, Config};
use std::time::{Duration, Instant};

const HOT_BLOCKS: u64 = 20_000;
const CALLS: u16 = 7;

fn env_count(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|text| text.parse().ok()).unwrap_or(default)
}

/// `KAUSAL_BENCH_ONLY` (comma-separated: `block_writes`, `block_reads`, `graph`,
/// `ingest_batch`, `open_after_crash`) runs only those workloads, to iterate on one of them;
/// RESULTS.md comes only from a full run.
fn selected(workloads: &str) -> bool {
    std::env::var("KAUSAL_BENCH_ONLY")
        .map_or(true, |only| only.split(',').any(|name| name.trim() == workloads))
}

fn key(n: u64) -> Id {
    id(n).0
}

/// One store per system, in its own directory; KausalDB with `config`.
fn open_all(workload: &str, durable: bool, config: Config) -> Vec<(Box<dyn Peer>, StoreDir)> {
    SYSTEMS
        .iter()
        .map(|system| {
            let dir = StoreDir::new(&format!("peers-{workload}-{system}"));
            (open_peer(system, &dir, config, durable), dir)
        })
        .collect()
}

fn new_group<'c>(c: &'c mut Criterion, name: &str) -> BenchmarkGroup<'c, WallTime> {
    let mut group = c.benchmark_group(format!("peers_{name}"));
    // KAUSAL_BENCH_MILLIS shortens the run for a smoke test (CI); the default is 2 s.
    let millis = env_count("KAUSAL_BENCH_MILLIS", 2000);
    group
        .warm_up_time(Duration::from_millis(millis / 4))
        .measurement_time(Duration::from_millis(millis));
    group
}

fn block_writes(c: &mut Criterion) {
    // The memory measurement re-runs this binary once per system; see `memory_child`.
    if let Ok(system) = std::env::var(MEMORY_CHILD) {
        memory_child(&system);
    }
    if let Ok(system) = std::env::var(CRASH_CHILD) {
        crash_child(&system);
    }
    if !selected("block_writes") {
        return;
    }
    let content = content_1k();
    for (name, durable) in [("block_write_buffered", false), ("block_write_durable", true)] {
        let mut stores = open_all(name, durable, bench_config());
        let mut group = new_group(c, name);
        if durable {
            group.sample_size(20);
        }
        for (peer, _) in stores.iter_mut() {
            let mut n = 0u64;
            group.bench_function(peer.name(), |b| {
                b.iter(|| {
                    // Ids cycle over a fixed set, so the store stays the same size however
                    // many iterations criterion runs.
                    n = (n + 1) % HOT_BLOCKS;
                    peer.put_block(&key(n), b"src/handler.rs", METADATA, &content);
                })
            });
        }
        group.finish();
    }
}

fn load_blocks(peer: &mut dyn Peer, count: u64) {
    let content = content_1k();
    for n in 0..count {
        peer.put_block(&key(n), b"src/handler.rs", METADATA, &content);
    }
    peer.sync();
}

fn read_group(c: &mut Criterion, name: &str, stores: &mut [(Box<dyn Peer>, StoreDir)], ids: &[Id]) {
    let mut group = new_group(c, name);
    for (peer, _) in stores.iter_mut() {
        let mut at = 0;
        group.bench_function(peer.name(), |b| {
            b.iter(|| {
                at = (at + 1) % ids.len();
                std::hint::black_box(peer.get_block(&ids[at]));
            })
        });
    }
    group.finish();
}

fn block_reads(c: &mut Criterion) {
    if !selected("block_reads") {
        return;
    }
    let mut rng = BenchRng::new(11);
    let mut hot = open_all("hot", false, bench_config());
    for (peer, _) in hot.iter_mut() {
        load_blocks(peer.as_mut(), HOT_BLOCKS);
    }
    let hot_ids: Vec<Id> = (0..4096).map(|_| key(rng.below(HOT_BLOCKS))).collect();
    read_group(c, "block_read_hot", &mut hot, &hot_ids);
    let missing: Vec<Id> = (0..4096).map(|n| key(1_000_000_000 + n)).collect();
    read_group(c, "block_read_missing", &mut hot, &missing);
    drop(hot);

    let blocks = env_count("KAUSAL_BENCH_COLD_BLOCKS", 1_000_000);
    let mut cold = open_all("cold", false, bench_config());
    let content = content_1k();
    for chunk in (0..blocks).collect::<Vec<u64>>().chunks(100_000) {
        let data: Vec<(Id, Vec<u8>)> = chunk.iter().map(|&n| (key(n), content.clone())).collect();
        for (peer, _) in cold.iter_mut() {
            peer.ingest(&data, &[]);
        }
    }
    for (peer, _) in cold.iter_mut() {
        peer.settle();
    }
    // As many random ids as blocks, so the reads range over the whole store rather than
    // a small set that would stay in the CPU caches after its first pass.
    let cold_ids: Vec<Id> = (0..blocks).map(|_| key(rng.below(blocks))).collect();
    read_group(c, "block_read_cold", &mut cold, &cold_ids);
}

/// Opens `system` in `dir`, KausalDB sized to hold the graph in its memtable; also the
/// region KausalDB uses (0 for the peers).
fn open_graph_peer(
    system: &str,
    dir: &StoreDir,
    blocks: u64,
    edges: u64,
) -> (Box<dyn Peer>, usize) {
    let config = graph_config(blocks, edges);
    let region = if system == "kausaldb" { memory_bytes_required(&config) } else { 0 };
    (open_peer(system, dir, config, false), region)
}

fn load_graph(peer: &mut dyn Peer, blocks: u64, calls: &[(u64, u64)]) {
    load_graph_with(peer, blocks, calls, content_for);
}

/// `load_graph` with each block's content from `content`.
fn load_graph_with(
    peer: &mut dyn Peer,
    blocks: u64,
    calls: &[(u64, u64)],
    content: impl Fn(u64) -> Vec<u8>,
) {
    for n in 0..blocks {
        peer.put_block(&key(n), b"src/generated.rs", METADATA, &content(n));
    }
    for &(caller, callee) in calls {
        peer.put_edge(&key(caller), &key(callee), CALLS);
    }
    peer.sync();
}

const MEMORY_CHILD: &str = "KAUSAL_PEERS_MEMORY_CHILD";

/// In a child process (this benchmark run again with `MEMORY_CHILD` set): loads the graph
/// into one system, answers a few traversals, and prints the growth of the peak resident
/// set over the resident set before opening, so each system is measured alone.
fn memory_child(system: &str) -> ! {
    let blocks = env_count("KAUSAL_BENCH_GRAPH_BLOCKS", 100_000);
    let calls = code_graph_calls(blocks, 5, 42);
    let before = resident_bytes("VmRSS:");
    let dir = StoreDir::new(&format!("peers-memory-{system}"));
    let (mut peer, region) = open_graph_peer(system, &dir, blocks, calls.len() as u64);
    load_graph(peer.as_mut(), blocks, &calls);
    for n in 0..64 {
        std::hint::black_box(peer.bfs(&key(n * 997 % blocks), n % 2 == 0, CALLS, 3));
    }
    let grown = resident_bytes("VmHWM:").saturating_sub(before);
    println!("memory\t{system}\t{grown}\t{region}");
    drop(peer);
    drop(dir);
    std::process::exit(0);
}

/// Runs `memory_child` for every system and writes the rows for RESULTS.md.
fn measure_memory() {
    let mut rows = String::from("system\tpeak_rss_growth_bytes\tregion_bytes\n");
    let exe = std::env::current_exe().expect("current exe");
    for system in SYSTEMS {
        let output = std::process::Command::new(&exe)
            .arg("--bench")
            .env(MEMORY_CHILD, system)
            .output()
            .expect("memory child");
        let text = String::from_utf8_lossy(&output.stdout);
        let line = text.lines().find(|line| line.starts_with("memory\t"));
        let fields: Vec<&str> = line.map(|line| line.split('\t').collect()).unwrap_or_default();
        if let [_, system, grown, region] = fields[..] {
            rows.push_str(&format!("{system}\t{grown}\t{region}\n"));
        }
    }
    write_rows("peers-memory.tsv", &rows);
}

/// Loads the synthetic code graph into every system.
fn graph_stores(blocks: u64) -> Vec<(Box<dyn Peer>, StoreDir)> {
    let calls = code_graph_calls(blocks, 5, 42);
    let mut stores = Vec::new();
    for system in SYSTEMS {
        let dir = StoreDir::new(&format!("peers-graph-{system}"));
        let (mut peer, _) = open_graph_peer(system, &dir, blocks, calls.len() as u64);
        load_graph(peer.as_mut(), blocks, &calls);
        stores.push((peer, dir));
    }
    stores
}

/// Every system must reach the same blocks, or the timings compare different work.
fn check_same_answers(stores: &mut [(Box<dyn Peer>, StoreDir)], starts: &[Id]) {
    for (outgoing, depth) in [(true, 3), (false, 3), (true, 5), (false, 5)] {
        for start in &starts[..16] {
            let counts: Vec<usize> = stores
                .iter_mut()
                .map(|(peer, _)| peer.bfs(start, outgoing, CALLS, depth))
                .collect();
            assert!(
                counts.iter().all(|&count| count == counts[0]),
                "bfs counts differ: {counts:?}"
            );
        }
    }
}

fn graph(c: &mut Criterion) {
    if !selected("graph") {
        return;
    }
    measure_memory();
    let blocks = env_count("KAUSAL_BENCH_GRAPH_BLOCKS", 100_000);
    let mut stores = graph_stores(blocks);
    let mut rng = BenchRng::new(5);
    let starts: Vec<Id> = (0..1024).map(|_| key(rng.below(blocks))).collect();
    check_same_answers(&mut stores, &starts);
    graph_reads(c, &mut stores, &starts, "");
    // Then each store settles (KausalDB flushes its memtable into a sorted table and
    // compacts, fjall flushes and major-compacts; the B-trees have nothing to do) and the
    // same reads run again: KausalDB reads the graph from its table, as it would a graph
    // larger than its memtable.
    for (peer, _) in stores.iter_mut() {
        peer.settle();
    }
    graph_reads(c, &mut stores, &starts, "_settled");
    // Inserts go last: they change the stores (how much depends on how many iterations
    // criterion runs), and the lookups and traversals above must see the loaded graph.
    let fresh: Vec<(Id, Id)> =
        (0..200_000).map(|_| (key(rng.below(blocks)), key(rng.below(blocks)))).collect();
    let mut group = new_group(c, "edge_insert");
    for (peer, _) in stores.iter_mut() {
        let mut at = 0;
        group.bench_function(peer.name(), |b| {
            b.iter(|| {
                at = (at + 1) % fresh.len();
                peer.put_edge(&fresh[at].0, &fresh[at].1, CALLS);
            })
        });
    }
    group.finish();
}

/// 1 KiB of content, distinct per block (its number in the first bytes).
fn content_1k_of(n: u64) -> Vec<u8> {
    let mut content = content_1k();
    content[..8].copy_from_slice(&n.to_le_bytes());
    content
}

/// The graph at a realistic config: blocks of 1 KiB (100 MiB for 100k), KausalDB with
/// `bench_config` (a 64 Ki-block memtable, default compaction), so the graph spans several
/// tables and the memtable, as a code graph larger than a host's memtable does. Also
/// KausalDB with the benchmark's hash-set BFS over its edge listings, to compare with the
/// native traversal. Writes how many tables the graph spans to `peers-graph-tables.tsv`.
fn graph_tables(c: &mut Criterion) {
    if !selected("graph_tables") {
        return;
    }
    let blocks = env_count("KAUSAL_BENCH_GRAPH_BLOCKS", 100_000);
    let calls = code_graph_calls(blocks, 5, 42);
    let mut stores: Vec<(Box<dyn Peer>, StoreDir)> = Vec::new();
    for system in SYSTEMS.iter().chain(["kausaldb_harness_bfs"].iter()) {
        let dir = StoreDir::new(&format!("peers-graph-tables-{system}"));
        let mut peer: Box<dyn Peer> = match *system {
            "kausaldb" | "kausaldb_harness_bfs" => {
                let mut kausal = Kausal::open(&dir, bench_config(), false);
                load_graph_with(&mut kausal, blocks, &calls, content_1k_of);
                let stats = kausal.engine().stats();
                let region = memory_bytes_required(&bench_config());
                eprintln!(
                    "graph_tables/{system}: {} tables ({} with edges), {} edges in the memtable, \
                     region {} MiB",
                    stats.tables_count,
                    stats.tables_with_edges,
                    stats.memtable_edges_used,
                    region >> 20
                );
                write_rows(
                    "peers-graph-tables.tsv",
                    &format!(
                        "tables\ttables_with_edges\tmemtable_edges\tregion_bytes\n\
                         {}\t{}\t{}\t{region}\n",
                        stats.tables_count, stats.tables_with_edges, stats.memtable_edges_used
                    ),
                );
                if *system == "kausaldb" {
                    Box::new(kausal)
                } else {
                    Box::new(KausalHarnessBfs(kausal))
                }
            }
            _ => {
                let mut peer = open_peer(system, &dir, bench_config(), false);
                load_graph_with(peer.as_mut(), blocks, &calls, content_1k_of);
                peer
            }
        };
        peer.sync();
        stores.push((peer, dir));
    }
    let mut rng = BenchRng::new(5);
    let starts: Vec<Id> = (0..1024).map(|_| key(rng.below(blocks))).collect();
    check_same_answers(&mut stores, &starts);
    graph_reads(c, &mut stores, &starts, "_tables");
}

/// The edge lookups and traversals of the graph workload, in groups named with `suffix`.
fn graph_reads(
    c: &mut Criterion,
    stores: &mut [(Box<dyn Peer>, StoreDir)],
    starts: &[Id],
    suffix: &str,
) {
    for (name, outgoing) in [("edge_lookup_outgoing", true), ("edge_lookup_incoming", false)] {
        let mut group = new_group(c, &format!("{name}{suffix}"));
        for (peer, _) in stores.iter_mut() {
            let mut at = 0;
            group.bench_function(peer.name(), |b| {
                b.iter(|| {
                    at = (at + 1) % starts.len();
                    let mut found = 0;
                    peer.neighbours(&starts[at], outgoing, CALLS, &mut |_| found += 1);
                    std::hint::black_box(found);
                })
            });
        }
        group.finish();
    }
    for (name, outgoing, depth) in [
        ("callees_3hop", true, 3),
        ("callers_3hop", false, 3),
        ("callees_5hop", true, 5),
        ("callers_5hop", false, 5),
    ] {
        let mut group = new_group(c, &format!("{name}{suffix}"));
        for (peer, _) in stores.iter_mut() {
            let mut at = 0;
            group.bench_function(peer.name(), |b| {
                b.iter(|| {
                    at = (at + 1) % starts.len();
                    std::hint::black_box(peer.bfs(&starts[at], outgoing, CALLS, depth));
                })
            });
        }
        group.finish();
    }
}

/// Where the workloads timed outside criterion (whole runs of seconds) write their rows.
fn write_rows(file: &str, rows: &str) {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/criterion").join(file);
    let _ = std::fs::create_dir_all(path.parent().expect("parent"));
    std::fs::write(&path, rows).expect("write rows");
}

/// Median and largest of a few timed runs, in nanoseconds.
fn median_max(mut runs: Vec<u128>) -> (u128, u128) {
    runs.sort_unstable();
    (runs[runs.len() / 2], runs[runs.len() - 1])
}

const RUNS: usize = 3;

/// Batched ingest of a code graph: `KAUSAL_BENCH_INGEST_BLOCKS` (default 100,000) blocks of
/// 1 KiB with five calls each, into an empty store, made durable at the end. Whole runs
/// take seconds, so each system is timed over three runs here rather than by criterion.
fn ingest_batch(_c: &mut Criterion) {
    if !selected("ingest_batch") {
        return;
    }
    let blocks = env_count("KAUSAL_BENCH_INGEST_BLOCKS", 100_000);
    let content = content_1k();
    let data: Vec<(Id, Vec<u8>)> = (0..blocks).map(|n| (key(n), content.clone())).collect();
    let calls: Vec<(Id, Id)> =
        code_graph_calls(blocks, 5, 43).into_iter().map(|(a, b)| (key(a), key(b))).collect();
    let mut rows = String::from("system\tmedian_ns\tmax_ns\toperations\n");
    for system in SYSTEMS {
        let mut runs = Vec::new();
        for run in 0..RUNS {
            let dir = StoreDir::new(&format!("peers-ingest-{system}-{run}"));
            let mut peer = open_peer(system, &dir, bench_config(), false);
            let began = Instant::now();
            peer.ingest(&data, &calls);
            runs.push(began.elapsed().as_nanos());
        }
        let (median, max) = median_max(runs);
        eprintln!("ingest_batch/{system}: median {:.2} s", median as f64 / 1e9);
        rows.push_str(&format!("{system}\t{median}\t{max}\t{}\n", data.len() + calls.len()));
    }
    write_rows("peers-ingest.tsv", &rows);
}

const CRASH_CHILD: &str = "KAUSAL_PEERS_CRASH_CHILD";
const CRASH_DIRECTORY: &str = "KAUSAL_PEERS_CRASH_DIRECTORY";
const CRASH_LOG: &str = "KAUSAL_PEERS_CRASH_LOG";

/// The recovery workload's data: `KAUSAL_BENCH_WAL_MIB` (default 256) MiB of 1 KiB blocks.
fn recovery_data() -> Vec<(Id, Vec<u8>)> {
    let blocks = env_count("KAUSAL_BENCH_WAL_MIB", 256) * 1024;
    let content = content_1k();
    (0..blocks).map(|n| (key(n), content.clone())).collect()
}

/// Opens `system` for the recovery workload. With `LogSize::HoldsAll` every system that has
/// a log keeps all the recovery data in it: KausalDB's memtable holds it all (nothing is
/// flushed, and reopening replays the whole log), SQLite makes no automatic checkpoint,
/// fjall's memtable and journal hold 1 GiB. With `LogSize::Default` each system runs its
/// default configuration: KausalDB `Config::DEFAULT` (an 8 MiB memtable), SQLite a
/// checkpoint every 1000 pages, fjall 64 MiB memtables. `BENCH_CONFIG_KAUSALDB` is
/// KausalDB with `bench_config`, the 96 MiB memtable of the other workloads.
fn open_recovery_peer(system: &str, dir: &StoreDir, blocks: u64, log: LogSize) -> Box<dyn Peer> {
    match (system, log) {
        (BENCH_CONFIG_KAUSALDB, _) => open_peer("kausaldb", dir, bench_config(), false),
        ("kausaldb", LogSize::Default) => open_peer(system, dir, Config::DEFAULT, false),
        ("kausaldb", LogSize::HoldsAll) => {
            let log_holding = Config {
                memtable_entries_max: blocks as u32 + 1024,
                memtable_edges_max: 1024,
                memtable_arena_bytes_max: ((blocks * 1200) as u32).max(8 << 20),
                wal_segment_bytes_max: 64 << 20,
                wal_segments_max: 16,
                wal_buffer_bytes: 1 << 20,
                read_buffer_bytes: 1 << 20,
                ..Config::DEFAULT
            };
            open_peer(system, dir, log_holding, false)
        }
        ("sqlite", _) => Box::new(Sqlite::open_with(dir, false, log)),
        ("fjall", _) => Box::new(Fjall::open_with(dir, false, log)),
        _ => open_peer(system, dir, bench_config(), false),
    }
}

const LOG_SIZES: [(LogSize, &str); 2] = [(LogSize::HoldsAll, "log"), (LogSize::Default, "default")];

/// KausalDB with the memtable of the other workloads, beside its default in the
/// default-configuration recovery row.
const BENCH_CONFIG_KAUSALDB: &str = "kausaldb_bench_config";

fn log_size_named(name: &str) -> LogSize {
    LOG_SIZES.iter().find(|(_, known)| *known == name).map_or(LogSize::Default, |(log, _)| *log)
}

/// In a child process (this benchmark run again with `CRASH_CHILD` set): writes the
/// recovery data into one system with its bulk ingest, which ends with a sync, and is then
/// killed with SIGKILL: no destructor, no close, no checkpoint.
fn crash_child(system: &str) -> ! {
    let directory = std::env::var(CRASH_DIRECTORY).expect("crash directory");
    let log = log_size_named(&std::env::var(CRASH_LOG).expect("crash log size"));
    // Not a `StoreDir`: its drop would remove the store the parent is about to reopen.
    let dir = std::mem::ManuallyDrop::new(StoreDir(directory.into()));
    let data = recovery_data();
    let mut peer = open_recovery_peer(system, &dir, data.len() as u64, log);
    peer.ingest(&data, &[]);
    let pid = std::process::id().to_string();
    let _ = std::process::Command::new("kill").args(["-KILL", &pid]).status();
    unreachable!("SIGKILL ends this process");
}

fn copy_directory(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("create copy");
    for entry in std::fs::read_dir(from).expect("read crashed store") {
        let entry = entry.expect("entry");
        if entry.file_type().expect("file type").is_dir() {
            copy_directory(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy file");
        }
    }
}

/// Recovery: each system writes `KAUSAL_BENCH_WAL_MIB` (default 256) MiB of 1 KiB blocks
/// in a child process, syncs, and is killed (SIGKILL). Each timed run reopens a fresh copy
/// of the crashed store (so every run recovers the same state) and reads one block: the
/// time from the open call to that answer. The crash is a process crash, so the page cache
/// keeps the files, as it would for a host restart after a crash of the program. Run twice:
/// with every log holding all the data (`peers-reopen-log.tsv`), and with every system's
/// default configuration (`peers-reopen-default.tsv`, plus KausalDB with `bench_config`).
fn open_after_crash(_c: &mut Criterion) {
    if !selected("open_after_crash") {
        return;
    }
    let data = recovery_data();
    let blocks = data.len() as u64;
    let exe = std::env::current_exe().expect("current exe");
    for (log, log_name) in LOG_SIZES {
        let mut rows = String::from("system\tmedian_ns\tmax_ns\tbytes\n");
        let extra = (log == LogSize::Default).then_some(BENCH_CONFIG_KAUSALDB);
        for system in SYSTEMS.into_iter().chain(extra) {
            let crashed = StoreDir::new(&format!("peers-crashed-{system}"));
            std::fs::create_dir_all(&crashed.0).expect("crash directory");
            let status = std::process::Command::new(&exe)
                .arg("--bench")
                .env(CRASH_CHILD, system)
                .env(CRASH_DIRECTORY, &crashed.0)
                .env(CRASH_LOG, log_name)
                .status()
                .expect("crash child");
            assert!(!status.success(), "{system}: the writer should have been killed: {status}");
            let mut runs = Vec::new();
            for run in 0..RUNS {
                let copy = StoreDir::new(&format!("peers-recover-{system}-{run}"));
                copy_directory(&crashed.0, &copy.0);
                let began = Instant::now();
                let mut peer = open_recovery_peer(system, &copy, blocks, log);
                assert!(peer.get_block(&data[0].0).is_some(), "{system}: a synced block is lost");
                runs.push(began.elapsed().as_nanos());
                let last = &data[data.len() - 1].0;
                assert!(peer.get_block(last).is_some(), "{system}: lost the last block");
            }
            let (median, max) = median_max(runs);
            eprintln!("open_after_crash/{log_name}/{system}: median {:.1} ms", median as f64 / 1e6);
            rows.push_str(&format!("{system}\t{median}\t{max}\t{}\n", blocks * 1024));
        }
        write_rows(&format!("peers-reopen-{log_name}.tsv"), &rows);
    }
}

criterion_group!(
    benches,
    block_writes,
    block_reads,
    graph,
    graph_tables,
    ingest_batch,
    open_after_crash
);
criterion_main!(benches);
