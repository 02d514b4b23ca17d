//! The scale check of the sorted-tables work: a store far larger than its region.
//! Ingests N blocks of ~1 KiB and K outgoing calls edges per block into a POSIX store
//! whose whole region is 16 MiB, then checks sampled reads against what was written,
//! "crashes" (drops the engine without closing), reopens, and checks again.
//!
//! `cargo xtask scale [blocks] [edges_per_block] [--host-compaction] [--host-flush]
//! [--flush-in-steps]` (default 300,000 and 5; with `--host-compaction` the host runs the
//! compaction steps between its writes, so writes stall only for flushes; with `--host-flush`
//! too a full memtable is frozen and the host writes it out between its writes
//! (`Config::flush_auto` off, two memtables of half the size in the same region), so writes
//! stall only when the host falls behind; with `--flush-in-steps` instead the writes after a
//! freeze take the flush's steps (`Config::flush_in_steps`, the same two half memtables);
//! README "Write stalls" has the figures). A million blocks
//! with five calls each to uniformly random blocks do not fit a 16 MiB region: the edge
//! tables' filters (each holds every source and target it has, ~1.25 bytes per id at 10
//! bits, up to twice that with a filter's power-of-two size) filled 11.5 MiB of table
//! memory after 700,000 blocks' edges, 10 MiB after 300,000.
// A host tool: runs on 64-bit hosts only; its measurements cast freely.
#![allow(clippy::cast_possible_truncation, missing_debug_implementations)]

use kausaldb_bench::{content_1k, id, scale_config, target_of, StoreDir, METADATA};
use kausaldb_core::vfs::posix::PosixVfs;
use kausaldb_core::{
    memory_bytes_required, BlockId, Config, Direction, Edge, EdgeFilter, EdgeType, Engine, Error,
    EventHook, EventKind, Stats,
};
use std::time::Instant;

fn content_of(n: u64, base: &[u8]) -> Vec<u8> {
    let mut content = base.to_vec();
    content[..8].copy_from_slice(&n.to_le_bytes());
    content
}

fn check(
    engine: &mut Engine<'_, kausaldb_core::vfs::posix::PosixVfs>,
    blocks: u64,
    per_block: u64,
) -> Result<u64, Error> {
    let base = content_1k();
    let mut checked = 0;
    let mut out = vec![Edge::EMPTY; per_block as usize + 1];
    for sample in 0..20_000u64 {
        let n = (sample * 104_729) % blocks;
        let view = engine.find_block(id(n))?.expect("every written block is there");
        assert_eq!(view.content, &content_of(n, &base)[..], "block {n}");
        let count = engine.edges(
            id(n),
            Direction::Outgoing,
            EdgeFilter::Only(EdgeType::CALLS),
            &mut out,
        )?;
        let mut got: Vec<_> = out[..count.written].iter().map(|edge| edge.target).collect();
        let mut expected: Vec<_> = (1..=per_block).map(|k| id(target_of(n, k, blocks))).collect();
        got.sort();
        expected.sort();
        expected.dedup();
        assert_eq!(got, expected, "edges of {n}");
        checked += 1;
    }
    assert!(engine.find_block(id(blocks + 1))?.is_none());
    Ok(checked)
}

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let host_compaction = args.iter().any(|arg| arg == "--host-compaction");
    let host_flush = args.iter().any(|arg| arg == "--host-flush");
    let flush_in_steps = args.iter().any(|arg| arg == "--flush-in-steps");
    let mut numbers = args.iter().filter_map(|text| text.parse::<u64>().ok());
    let blocks: u64 = numbers.next().unwrap_or(300_000);
    let per_block: u64 = numbers.next().unwrap_or(5);
    // With the host compacting, writes stall for flushes only (`Config::compaction_auto`);
    // with the host flushing too, for neither, unless it falls behind (`Config::flush_auto`);
    // with `flush_in_steps`, for a flush's steps, not a whole flush.
    let config = Config { compaction_auto: !host_compaction, ..scale_config() };
    let config = match (host_flush, flush_in_steps) {
        (true, _) => two_memtables(Config { flush_auto: false, ..config }),
        // Compaction steps of a quarter of the default: a step of 1 MiB of edge records took
        // 7 to 14 ms here; of 512 KiB, 10 to 16 ms on a slower day (p99 of all stalls 8.3 to
        // 9.9 ms); of 256 KiB, p99 2.5 to 3.0 ms. The longest stalls left (10 to 80 ms, one
        // to three in 36,000) spent at most 3 ms on the CPU: they wait on their step's
        // storage calls (the log's sync that begins a flush, a finished table's sync).
        (false, true) => two_memtables(Config {
            flush_in_steps: true,
            compaction_step_bytes: 256 << 10,
            ..config
        }),
        (false, false) => config,
    };
    let region_bytes = memory_bytes_required(&config);
    assert!(region_bytes <= 16 << 20, "region {region_bytes} > 16 MiB");
    let mut region = vec![0u8; region_bytes];
    let dir = StoreDir::new("scale");
    println!(
        "scale: {blocks} blocks of 1 KiB, {per_block} edges each, region {} KiB",
        region_bytes / 1024
    );
    // The hook's clock times every write stall (a flush and its compactions inline).
    let mut clock = Clock {
        started: Instant::now(),
        flush_ns: Vec::new(),
        compaction_ns: Vec::new(),
        stall_ns: Vec::new(),
    };
    let mut engine = Engine::open_observed(config, &mut region, dir.vfs(), &mut clock)
        .map_err(|(error, _)| error)?;
    let mut host =
        HostSteps { compaction: host_compaction, flush: host_flush, ..HostSteps::default() };
    let user_bytes = ingest_blocks(&mut engine, blocks, &mut host)?;
    ingest_edges(&mut engine, blocks, per_block, &mut host)?;
    engine.sync()?;
    let stats = engine.stats();
    report(&stats, user_bytes);
    host.report();
    let started = Instant::now();
    let checked = check(&mut engine, blocks, per_block)?;
    println!(
        "checked {checked} sampled blocks and their edges in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // A crash: the engine is dropped without close; everything synced must come back.
    engine.abandon();
    clock.report();
    let started = Instant::now();
    let mut engine = Engine::open(config, &mut region, dir.vfs())?;
    println!(
        "reopened after the crash in {:.2} s: {:?}",
        started.elapsed().as_secs_f64(),
        engine.stats().blocks_live
    );
    assert_eq!(
        (engine.stats().blocks_live, engine.stats().edges_live),
        (stats.blocks_live, stats.edges_live)
    );
    check(&mut engine, blocks, per_block)?;
    println!("scale: all checks passed after reopen");
    Ok(())
}

/// The scale config with a frozen memtable (without `flush_auto`, or with `flush_in_steps`):
/// the same region, two memtables of half the size.
fn two_memtables(config: Config) -> Config {
    Config {
        memtable_entries_max: config.memtable_entries_max / 2,
        memtable_edges_max: config.memtable_edges_max / 2,
        memtable_arena_bytes_max: config.memtable_arena_bytes_max / 2,
        ..config
    }
}

/// The host's own steps between its writes (every `HOST_CHECK_WRITES` writes), timed apart
/// from the writes: `--host-flush` writes out a frozen memtable, `--host-compaction` runs
/// compaction steps once the store holds `HOST_COMPACT_TABLES` tables. A write then stalls
/// only for what the host left undone.
#[derive(Default)]
struct HostSteps {
    compaction: bool,
    flush: bool,
    /// Compaction steps: how many, the longest, all (ns).
    steps: (u64, u64, u64),
    /// Flush steps, likewise, and each one's time (ns) for the median.
    flushes: (u64, u64, u64),
    flush_ns: Vec<u64>,
    /// Each compaction step's time (ns), and of those the steps that installed a merge.
    compaction_ns: Vec<u64>,
    install_ns: Vec<u64>,
    /// The most table memory seen after a compaction step (a merge between steps holds its
    /// inputs' filters and indexes and its own).
    table_memory_peak: u64,
}

/// Every 1,024 writes, a host flushing its frozen memtables fell behind while loading 1 KiB
/// blocks (a half-size memtable holds about 900): 13 writes of the run waited for a flush.
const HOST_CHECK_WRITES: u64 = 256;
const HOST_COMPACT_TABLES: u32 = 16;

/// Adds a step of `ns` to (count, longest, total).
fn count_step(steps: &mut (u64, u64, u64), ns: u64) {
    *steps = (steps.0 + 1, steps.1.max(ns), steps.2 + ns);
}

impl HostSteps {
    /// Writes out a frozen memtable, then compacts until no tiered run is left (if the
    /// store holds enough tables).
    fn between_writes(
        &mut self,
        engine: &mut Engine<'_, PosixVfs>,
        written: u64,
    ) -> Result<(), Error> {
        if !written.is_multiple_of(HOST_CHECK_WRITES) {
            return Ok(());
        }
        // Each step writes at most `Config::flush_step_bytes` of records; the host takes them
        // until the frozen memtable is out (a flush is finished within the frozen memtable's
        // records, however small a step).
        while self.flush && engine.stats().flush_pending {
            let started = Instant::now();
            engine.flush_step()?;
            let ns = started.elapsed().as_nanos() as u64;
            count_step(&mut self.flushes, ns);
            self.flush_ns.push(ns);
        }
        if !self.compaction || engine.stats().tables_count < HOST_COMPACT_TABLES {
            return Ok(());
        }
        loop {
            let compactions = engine.stats().compaction_count;
            let started = Instant::now();
            let merged = engine.compact_step()?;
            if !merged {
                return Ok(());
            }
            let ns = started.elapsed().as_nanos() as u64;
            count_step(&mut self.steps, ns);
            self.compaction_ns.push(ns);
            let stats = engine.stats();
            self.table_memory_peak = self.table_memory_peak.max(stats.table_memory_bytes_used);
            if stats.compaction_count > compactions {
                self.install_ns.push(ns);
            }
        }
    }

    fn report(&mut self) {
        let steps = [
            ("flush steps", &mut self.flush_ns),
            ("compaction steps", &mut self.compaction_ns),
            ("compaction steps that installed a merge", &mut self.install_ns),
        ];
        for (kind, times) in steps {
            if let Some([median, p90, p99, _]) = spread_ms(times) {
                println!("host {kind}: median {median:.2} ms, p90 {p90:.2} ms, p99 {p99:.2} ms");
            }
        }
        if self.compaction {
            println!(
                "table memory, most seen between compaction steps: {} KiB",
                self.table_memory_peak >> 10
            );
        }
        let kinds =
            [("flush", self.flush, self.flushes), ("compaction", self.compaction, self.steps)];
        for (kind, enabled, (count, ns_max, ns_total)) in kinds {
            if enabled {
                println!(
                    "host {kind} (between writes): {count} steps, longest {:.1} ms, {:.1} s in all",
                    ns_max as f64 / 1e6,
                    ns_total as f64 / 1e9
                );
            }
        }
    }
}

/// Puts `blocks` blocks of ~1 KiB; returns the bytes of user data put.
fn ingest_blocks(
    engine: &mut Engine<'_, PosixVfs>,
    blocks: u64,
    host: &mut HostSteps,
) -> Result<u64, Error> {
    let base = content_1k();
    let started = Instant::now();
    for n in 0..blocks {
        engine.put_block(id(n), b"src/scale.rs", METADATA, &content_of(n, &base))?;
        host.between_writes(engine, n)?;
    }
    let block_seconds = started.elapsed().as_secs_f64();
    println!("blocks: {:.0} blocks/s ({block_seconds:.1} s)", blocks as f64 / block_seconds);
    Ok(blocks * (base.len() + METADATA.len() + 12) as u64)
}

/// Puts `per_block` outgoing calls edges from every block, reporting the tables as it goes.
fn ingest_edges(
    engine: &mut Engine<'_, PosixVfs>,
    blocks: u64,
    per_block: u64,
    host: &mut HostSteps,
) -> Result<(), Error> {
    // The ids are derived before the clock starts: deriving two per edge (XXH3 of the
    // number) was 7.5% of the run's instructions (callgrind), which is not the engine's.
    let ids: Vec<BlockId> = (0..blocks).map(id).collect();
    let started = Instant::now();
    for n in 0..blocks {
        for k in 1..=per_block {
            let edge = Edge {
                source: ids[n as usize],
                target: ids[target_of(n, k, blocks) as usize],
                edge_type: EdgeType::CALLS,
            };
            engine.put_edge(edge)?;
            host.between_writes(engine, n * per_block + k)?;
        }
        if n % (blocks / 10).max(1) == 0 {
            let stats = engine.stats();
            println!(
                "  after {n} blocks' edges: {} tables, table memory {} KiB",
                stats.tables_count,
                stats.table_memory_bytes_used / 1024
            );
        }
    }
    let edge_seconds = started.elapsed().as_secs_f64();
    println!(
        "edges: {:.0} edges/s ({edge_seconds:.1} s)",
        (blocks * per_block) as f64 / edge_seconds
    );
    Ok(())
}

/// The event hook of the run: a clock, and each flush's, compaction step's and write stall's
/// time (ns) as the engine reports them, for their spread (the totals are in `Stats`).
struct Clock {
    started: Instant,
    flush_ns: Vec<u64>,
    compaction_ns: Vec<u64>,
    stall_ns: Vec<u64>,
}

impl EventHook for Clock {
    fn event(&mut self, event: &kausaldb_core::Event) {
        let times = match event.kind {
            EventKind::FlushEnd => &mut self.flush_ns,
            EventKind::CompactionEnd => &mut self.compaction_ns,
            EventKind::WriteStallEnd => &mut self.stall_ns,
            _ => return,
        };
        times.push(event.duration_ns);
    }
    fn now_ns(&mut self) -> u64 {
        self.started.elapsed().as_nanos() as u64
    }
}

impl Clock {
    fn report(&mut self) {
        // A flush's or a merge's time runs from its first step to the one that installs it
        // (the writes between its steps included).
        let kinds = [
            ("flushes (first step to install)", &mut self.flush_ns),
            ("compactions (first step to install)", &mut self.compaction_ns),
            ("write stalls", &mut self.stall_ns),
        ];
        for (kind, times) in kinds {
            if let Some([median, _, p99, longest]) = spread_ms(times) {
                let count = times.len();
                println!(
                    "{kind}: {count}, median {median:.2} ms, p99 {p99:.2} ms, \
                     longest {longest:.2} ms"
                );
            }
        }
    }
}

/// The median, p90, p99 and largest of `times` (ns, sorted here) in ms; `None` if empty.
fn spread_ms(times: &mut [u64]) -> Option<[f64; 4]> {
    times.sort_unstable();
    let last = times.len().checked_sub(1)?;
    Some(
        [0.5, 0.9, 0.99, 1.0].map(|fraction| times[(last as f64 * fraction) as usize] as f64 / 1e6),
    )
}

fn report(stats: &Stats, user_bytes: u64) {
    println!(
        "write stalls: {}, longest {:.1} ms, {:.1} s in all",
        stats.write_stalls,
        stats.write_stall_ns_max as f64 / 1e6,
        stats.write_stall_ns_total as f64 / 1e9
    );
    println!(
        "stats: {} blocks, {} edges, {} tables, {} flushes, {} compactions, table memory {} KiB",
        stats.blocks_live,
        stats.edges_live,
        stats.tables_count,
        stats.flush_count,
        stats.compaction_count,
        stats.table_memory_bytes_used / 1024
    );
    println!(
        "write amplification (table bytes / block bytes, WAL excluded): {:.2}",
        stats.table_bytes_written as f64 / user_bytes as f64
    );
}
