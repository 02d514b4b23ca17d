//! The one shared test harness: configs, seeded generation of blocks and edges, simulation
//! VFS set-up, a plain in-test model of the store, and the check that an engine equals it.
#![allow(dead_code)]

use kausaldb_core::vfs::sim::{SimConfig, SimRng, SimVfs};
use kausaldb_core::{
    memory_bytes_required, BlockFilter, BlockId, Config, Direction, Edge, EdgeFilter, EdgeType,
    Engine, Error, Resource, Vfs,
};

/// Back-pressure when every table slot is taken and compaction is the host's to call
/// (`compaction_auto: false`): a randomised case then compacts, as such a host would.
pub const TABLES_FULL: Error = Error::MemtableFull { resource: Resource::Tables };
use std::collections::{BTreeMap, BTreeSet};
use std::time::{SystemTime, UNIX_EPOCH};

/// A small config whose limits a short random run reaches: many segments, a tiny WAL buffer.
pub fn small_config() -> Config {
    Config {
        memtable_entries_max: 48,
        memtable_edges_max: 96,
        memtable_arena_bytes_max: 24 << 10,
        source_uri_bytes_max: 64,
        metadata_bytes_max: 96,
        content_bytes_max: 512,
        wal_segment_bytes_max: 4096,
        wal_segments_max: 16,
        wal_buffer_bytes: 1024,
        read_buffer_bytes: 1024,
        files_max: 30,
        tables_max: 12,
        table_memory_bytes: 64 << 10,
        table_page_bytes: 256,
        ..Config::DEFAULT
    }
}

/// Files of 16 KiB: enough for the short runs of most tests.
pub const SIM: SimConfig =
    SimConfig { files_max: 32, file_bytes_max: 16 << 10, pending_bytes_max: 16 << 10 };

/// Files of 160 KiB hold the largest table a long run over 24 ids can make (every edge of
/// three types, both sections: about 120 KiB), so the model test never sees a full disk.
pub const SIM_LARGE: SimConfig =
    SimConfig { files_max: 32, file_bytes_max: 160 << 10, pending_bytes_max: 16 << 10 };

/// Owns the memory a simulated store lives in, allocated from a bump arena.
pub struct Memory<'b> {
    pub region: &'b mut [u8],
    pub disk: &'b mut [u8],
}

impl<'b> Memory<'b> {
    pub fn new(bump: &'b bumpalo::Bump, config: &Config) -> Memory<'b> {
        Memory::with_sim(bump, config, &SIM)
    }

    pub fn with_sim(bump: &'b bumpalo::Bump, config: &Config, sim: &SimConfig) -> Memory<'b> {
        Memory {
            region: bump.alloc_slice_fill_copy(memory_bytes_required(config), 0u8),
            disk: bump.alloc_slice_fill_copy(sim.memory_bytes_required(), 0u8),
        }
    }
}

/// Seeds for a randomised test: `KAUSAL_SEED` alone if set, else `KAUSAL_ITERATIONS`
/// (default `default_count`) seeds from a base printed up front so any failure replays.
pub fn seeds(test: &str, default_count: u64) -> std::ops::Range<u64> {
    seeds_at_most(test, default_count, u64::MAX)
}

/// `seeds`, but at most `count_max` of them whatever `KAUSAL_ITERATIONS` asks (for tests
/// whose seed costs too much for CI's count); the range printed is the one run.
pub fn seeds_at_most(test: &str, default_count: u64, count_max: u64) -> std::ops::Range<u64> {
    if let Some(seed) = std::env::var("KAUSAL_SEED").ok().and_then(|text| text.parse().ok()) {
        eprintln!("{test}: replaying seed {seed}");
        return seed..seed + 1;
    }
    let count = std::env::var("KAUSAL_ITERATIONS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(default_count)
        .min(count_max);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |time| time.as_nanos());
    let base = (nanos as u64 % 1_000_000_000) * 1000;
    eprintln!("{test}: seeds {base}..{} (replay one: cargo xtask test --seed N)", base + count);
    base..base + count
}

/// Runs `case` for every seed; a failure names the seed and how to replay it.
pub fn for_each_seed(test: &str, default_count: u64, case: impl FnMut(u64) -> Result<(), String>) {
    for_each_seed_in(seeds(test, default_count), test, case);
}

/// `for_each_seed` over a range the caller already chose.
pub fn for_each_seed_in(
    range: std::ops::Range<u64>,
    test: &str,
    mut case: impl FnMut(u64) -> Result<(), String>,
) {
    let count = range.end - range.start;
    for seed in range {
        if let Err(message) = case(seed) {
            let replay = format!("cargo xtask test --filter {test} --seed {seed}");
            panic!("{test} failed for seed {seed}: {message}\nreplay: {replay}");
        }
    }
    eprintln!("{test}: {count} seeds passed");
}

pub const EDGE_TYPES: [EdgeType; 3] = [EdgeType::CALLS, EdgeType::IMPORTS, EdgeType::CALLS_METHOD];

/// One write the model and the engine both perform.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    Put { id: BlockId, source_uri: Vec<u8>, metadata_json: Vec<u8>, content: Vec<u8> },
    Delete { id: BlockId },
    PutEdge(Edge),
    DeleteEdge(Edge),
}

/// What a write should do.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Outcome {
    /// Applied with this sequence.
    Applied(u64),
    /// A duplicate edge: no change.
    NoOp,
    Refused(Error),
}

#[derive(Clone, Debug, PartialEq)]
pub struct StoredBlock {
    pub sequence: u64,
    pub source_uri: Vec<u8>,
    pub metadata_json: Vec<u8>,
    pub content: Vec<u8>,
}

/// The store as plain maps. Capacity is not modelled: the engine flushes when its memtable
/// fills, and a test that hits `MemtableFull { Tables }` (no compaction yet) ends its case.
#[derive(Clone, Debug, Default)]
pub struct Model {
    pub blocks: BTreeMap<BlockId, StoredBlock>,
    pub edges: BTreeSet<(BlockId, BlockId, EdgeType)>,
    pub sequence_next: u64,
}

impl Model {
    pub fn new() -> Model {
        Model { sequence_next: 1, ..Model::default() }
    }

    /// Applies `op` if the engine should accept it; returns what the engine should answer.
    pub fn apply(&mut self, _config: &Config, op: &Op) -> Outcome {
        let sequence = self.sequence_next;
        match op {
            Op::Put { id, source_uri, metadata_json, content } => {
                let block = StoredBlock {
                    sequence,
                    source_uri: source_uri.clone(),
                    metadata_json: metadata_json.clone(),
                    content: content.clone(),
                };
                self.blocks.insert(*id, block);
            }
            Op::Delete { id } => {
                if self.blocks.remove(id).is_none() {
                    return Outcome::Refused(Error::NotFound);
                }
                self.edges.retain(|&(source, target, _)| source != *id && target != *id);
            }
            Op::PutEdge(edge) => {
                if !self.blocks.contains_key(&edge.source)
                    || !self.blocks.contains_key(&edge.target)
                {
                    return Outcome::Refused(Error::NotFound);
                }
                let key = (edge.source, edge.target, edge.edge_type);
                if self.edges.contains(&key) {
                    return Outcome::NoOp;
                }
                self.edges.insert(key);
            }
            Op::DeleteEdge(edge) => {
                if !self.edges.remove(&(edge.source, edge.target, edge.edge_type)) {
                    return Outcome::Refused(Error::NotFound);
                }
            }
        }
        self.sequence_next += 1;
        Outcome::Applied(sequence)
    }
}

/// Performs `op` on the engine and reports the outcome in the model's terms.
pub fn perform<V: Vfs>(engine: &mut Engine<'_, V>, op: &Op) -> Outcome {
    let result = match op {
        Op::Put { id, source_uri, metadata_json, content } => {
            engine.put_block(*id, source_uri, metadata_json, content).map(Some)
        }
        Op::Delete { id } => engine.delete_block(*id).map(Some),
        Op::PutEdge(edge) => engine.put_edge(*edge),
        Op::DeleteEdge(edge) => engine.delete_edge(*edge).map(Some),
    };
    match result {
        Ok(Some(sequence)) => Outcome::Applied(sequence),
        Ok(None) => Outcome::NoOp,
        Err(error) => Outcome::Refused(error),
    }
}

/// Seeded generation of ids, blocks and edges over a small universe, so that updates,
/// deletes, duplicates, self-edges and cycles are common.
pub struct Generator {
    pub rng: SimRng,
    pub universe: u64,
}

impl Generator {
    pub fn new(seed: u64, universe: u64) -> Generator {
        Generator { rng: SimRng::new(seed), universe }
    }

    pub fn id(&mut self) -> BlockId {
        BlockId::from_u128(u128::from(1 + self.rng.below(self.universe)))
    }

    pub fn all_ids(&self) -> Vec<BlockId> {
        (1..=self.universe).map(|value| BlockId::from_u128(u128::from(value))).collect()
    }

    pub fn block(&mut self) -> Op {
        let id = self.id();
        let file = self.rng.below(8);
        let source_uri = format!("src/module_{file}.rs").into_bytes();
        let line = self.rng.below(10_000);
        let metadata_json = format!("{{\"kind\":\"function\",\"line\":{line}}}").into_bytes();
        let len_max = if self.rng.below(8) == 0 { 512 } else { 96 };
        let len = self.rng.below(len_max) as usize;
        let content = (0..len).map(|_| self.rng.next_u64() as u8).collect();
        Op::Put { id, source_uri, metadata_json, content }
    }

    pub fn edge(&mut self) -> Edge {
        let edge_type = EDGE_TYPES[self.rng.below(EDGE_TYPES.len() as u64) as usize];
        Edge { source: self.id(), target: self.id(), edge_type }
    }

    /// A random write: mostly puts and edges, some deletes.
    pub fn write(&mut self) -> Op {
        match self.rng.below(20) {
            0..=6 => self.block(),
            7..=8 => Op::Delete { id: self.id() },
            9..=16 => Op::PutEdge(self.edge()),
            _ => Op::DeleteEdge(self.edge()),
        }
    }
}

/// Checks that every id of `universe` reads back from the engine exactly as in the model,
/// edges in both directions included.
pub fn check_matches<V: Vfs>(
    engine: &mut Engine<'_, V>,
    model: &Model,
    universe: &[BlockId],
) -> Result<(), String> {
    let stats = engine.stats();
    if stats.blocks_live as usize != model.blocks.len()
        || stats.edges_live as usize != model.edges.len()
    {
        return Err(format!(
            "counts differ: engine {stats:?}, model {} blocks {} edges",
            model.blocks.len(),
            model.edges.len()
        ));
    }
    if stats.sequence_next != model.sequence_next {
        return Err(format!(
            "sequence_next: engine {}, model {}",
            stats.sequence_next, model.sequence_next
        ));
    }
    check_scan(engine, model)?;
    let mut buffer = vec![Edge::EMPTY; model.edges.len() + 1];
    for id in universe {
        let found = engine.find_block(*id).map_err(|error| format!("find {id:?}: {error:?}"))?;
        let found = found.map(|view| StoredBlock {
            sequence: view.sequence,
            source_uri: view.source_uri.to_vec(),
            metadata_json: view.metadata_json.to_vec(),
            content: view.content.to_vec(),
        });
        if found.as_ref() != model.blocks.get(id) {
            return Err(format!(
                "block {id:?}: engine {found:?}, model {:?}",
                model.blocks.get(id)
            ));
        }
        if found.is_none() {
            continue;
        }
        for direction in [Direction::Outgoing, Direction::Incoming] {
            let count = engine
                .edges(*id, direction, EdgeFilter::All, &mut buffer)
                .map_err(|error| format!("edges {id:?}: {error:?}"))?;
            let mut got: Vec<_> =
                buffer[..count.written].iter().map(|e| (e.source, e.target, e.edge_type)).collect();
            got.sort();
            let expected: Vec<_> = model
                .edges
                .iter()
                .filter(|(source, target, _)| match direction {
                    Direction::Outgoing => source == id,
                    _ => target == id,
                })
                .copied()
                .collect();
            if got != expected || count.truncated() {
                return Err(format!(
                    "{direction:?} edges of {id:?}: engine {got:?}, model {expected:?}"
                ));
            }
        }
    }
    Ok(())
}

/// A scan of the whole store, in pages of 5 ids, lists exactly the model's blocks in id order.
fn check_scan<V: Vfs>(engine: &mut Engine<'_, V>, model: &Model) -> Result<(), String> {
    let mut cursor = kausaldb_core::ScanCursor::START;
    let mut scanned = Vec::new();
    // Each page but the last returns at least one id.
    for _ in 0..=model.blocks.len() {
        if cursor.done {
            break;
        }
        let mut page = [BlockId::ZERO; 5];
        let written = engine
            .scan(&BlockFilter::ALL, &mut cursor, &mut page)
            .map_err(|error| format!("scan: {error:?}"))?;
        scanned.extend_from_slice(&page[..written]);
    }
    let expected: Vec<BlockId> = model.blocks.keys().copied().collect();
    if !cursor.done || scanned != expected {
        return Err(format!("scan: engine {scanned:?}, model {expected:?}"));
    }
    Ok(())
}

/// After a crash: the engine must equal the model as of the last sync plus some prefix of
/// the writes applied since. Returns the length of that prefix.
pub fn check_prefix<V: Vfs>(
    engine: &mut Engine<'_, V>,
    config: &Config,
    synced: &Model,
    since_sync: &[Op],
    universe: &[BlockId],
) -> Result<usize, String> {
    let mut candidate = synced.clone();
    let mut last_error = String::new();
    for length in 0..=since_sync.len() {
        if length > 0 {
            candidate.apply(config, &since_sync[length - 1]);
        }
        match check_matches(engine, &candidate, universe) {
            Ok(()) => return Ok(length),
            Err(error) => last_error = error,
        }
    }
    Err(format!(
        "state is no prefix of the {} writes since the last sync; last mismatch: {last_error}",
        since_sync.len()
    ))
}

/// A simulated directory over `disk`. Odd seeds serve table reads through views (as a
/// memory-mapped backend does), even seeds through `read_at`, so both paths are covered.
pub fn sim_vfs(disk: &mut [u8], seed: u64) -> SimVfs<'_> {
    let mut sim = SimVfs::new(disk, SIM, seed).expect("harness sizes the sim memory");
    sim.views = seed % 2 == 1;
    sim
}

/// `compact_step` until a merge is installed and its old tables removed
/// (`Config::compaction_auto` off): the first step must find a run to merge; a step merges at
/// least one record, or removes at least one byte of an old table.
pub fn compact_in_steps<V: Vfs>(engine: &mut Engine<'_, V>) -> Result<(), Error> {
    assert!(engine.compact_step()?, "a run of tables to merge");
    for _ in 0..100_000 {
        if !engine.stats().compaction_pending {
            return Ok(());
        }
        engine.compact_step()?;
    }
    panic!("compact_step never finished a merge: {:?}", engine.stats());
}

/// Calls `flush_step` until no memtable is frozen (the host's loop); the first error ends
/// it.
pub fn flush_in_steps<V: Vfs>(engine: &mut Engine<'_, V>) -> Result<(), Error> {
    assert!(engine.stats().flush_pending, "a frozen memtable to write");
    // A step writes at least one record of the frozen memtable.
    for _ in 0..100_000 {
        if !engine.stats().flush_pending {
            return Ok(());
        }
        engine.flush_step()?;
    }
    panic!("flush_step never finished: {:?}", engine.stats());
}
