//! Recovery of a damaged store: start from one of a few valid store images (built once per
//! process from synced, cleanly closed histories), apply input-chosen damage (flipped
//! bytes, cuts, zeroed runs, removed files), open in strict or tolerant mode. Open must
//! give a store or `Corruption`; every answer of the store must be `Corruption` or the
//! answer of one prefix of the history, the same prefix for every id (never other bytes,
//! never a delete undone), and losing synced writes must be reported.
use std::sync::OnceLock;

use crate::harness::{self, perform, Generator, Memory, Model, Outcome};
use crate::Choices;
use kausaldb_core::vfs::sim::SimVfs;
use kausaldb_core::{
    BlockId, Config, Direction, Edge, EdgeFilter, Engine, Error, RecoveryMode, Vfs,
};

/// A valid store: its files and the writes it holds, and the model after each prefix.
struct Image {
    files: Vec<(String, Vec<u8>)>,
    prefixes: Vec<Model>,
}

const UNIVERSE: u64 = 12;

fn config() -> Config {
    Config { tables_max: 6, ..harness::small_config() }
}

/// Images of 20 to 200 writes: the longer ones span WAL segments and tables.
fn images() -> &'static [Image] {
    static IMAGES: OnceLock<Vec<Image>> = OnceLock::new();
    IMAGES.get_or_init(|| (0..4).map(|index| build(index, 20 + 60 * index as usize)).collect())
}

fn build(seed: u64, count: usize) -> Image {
    let config = config();
    let bump = bumpalo::Bump::new();
    let memory = Memory::new(&bump, &config);
    let mut sim = harness::sim_vfs(memory.disk, seed);
    let mut engine = Engine::open(config, memory.region, &mut sim).expect("a fresh store opens");
    let mut generator = Generator::new(seed, UNIVERSE);
    let mut prefixes = vec![Model::new()];
    for step in 0..count {
        let op = generator.write();
        if let Outcome::Applied(_) = perform(&mut engine, &op) {
            let mut model = prefixes.last().cloned().unwrap_or_default();
            model.apply(&config, &op);
            prefixes.push(model);
        }
        if step % 50 == 49 {
            engine.flush().expect("flush");
        }
    }
    engine.close().expect("close");
    let files = read_files(&mut sim);
    Image { files, prefixes }
}

/// Every file of a simulated store, by name, sorted.
pub fn read_files(sim: &mut SimVfs<'_>) -> Vec<(String, Vec<u8>)> {
    let mut names = vec![0u8; 4096];
    let len = sim.list(&mut names).expect("list");
    let mut files = Vec::new();
    for name in names[..len].split(|byte| *byte == 0).filter(|name| !name.is_empty()) {
        let name = String::from_utf8(name.to_vec()).expect("names are UTF-8");
        let file = sim.open(&name).expect("open");
        let mut bytes = vec![0u8; sim.len(file).expect("len") as usize];
        let read = sim.read_at(file, 0, &mut bytes).expect("read");
        assert_eq!(read, bytes.len());
        sim.close(file);
        files.push((name, bytes));
    }
    files.sort();
    files
}

/// Applies the input's damage to a copy of the image's files.
/// What the damage did that changes what can be checked.
#[derive(Debug, Default)]
struct Damage {
    /// A file was sealed (given valid checksums after its damage): its records may hold
    /// other bytes that no checksum can catch, so only the readers' robustness is checked.
    sealed: bool,
    /// The manifest was removed: with it went the record of the log's durable end (a clean
    /// close's), so a log then cut at a frame boundary looks like one that crashed after
    /// syncing its last frame, and the loss cannot be reported. (The first table without
    /// a manifest is still caught: `check_never_flushed`, and the lone-table regressions.)
    manifest_removed: bool,
}

fn damage(choices: &mut Choices<'_>, files: &mut Vec<(String, Vec<u8>)>) -> Damage {
    let mut damage = Damage::default();
    while let Some(kind) = choices.byte() {
        if files.is_empty() {
            return damage;
        }
        let index = usize::from(choices.below(files.len() as u16));
        let bytes = &mut files[index].1;
        let at = if bytes.is_empty() { 0 } else { usize::from(choices.u16()) % bytes.len() };
        match kind % 10 {
            0..=3 => {
                if let Some(byte) = bytes.get_mut(at) {
                    *byte ^= choices.byte().unwrap_or(1).max(1);
                }
            }
            4 => bytes.truncate(at),
            5 => {
                let end = bytes.len().min(at + usize::from(choices.byte().unwrap_or(0)));
                bytes[at..end].fill(0);
            }
            6 => {
                let end = bytes.len().min(at + usize::from(choices.byte().unwrap_or(0)));
                bytes[at..end].fill(0xff);
            }
            7 => {
                damage.manifest_removed |= files[index].0 == "MANIFEST";
                files.remove(index);
            }
            _ => {
                let (name, bytes) = &mut files[index];
                if name.starts_with("table-") {
                    kausaldb_core::fuzz::seal_table(bytes);
                } else if name.starts_with("wal-") {
                    kausaldb_core::fuzz::seal_wal_segment(bytes);
                } else {
                    kausaldb_core::fuzz::seal_manifest(bytes);
                }
                damage.sealed = true;
            }
        }
    }
    damage
}

/// What the store answers for one id: the block (None: absent) and both edge listings;
/// `None` for the whole id if any of its reads said `Corruption`.
type Answer = Option<(Option<(u64, Vec<u8>, Vec<u8>, Vec<u8>)>, Vec<Edge>, Vec<Edge>)>;

fn answer<V: Vfs>(engine: &mut Engine<'_, V>, id: BlockId) -> Result<Answer, String> {
    let corrupt = |error: &Error| matches!(error, Error::Corruption { .. });
    let block = match engine.find_block(id) {
        Ok(view) => view.map(|v| {
            (v.sequence, v.source_uri.to_vec(), v.metadata_json.to_vec(), v.content.to_vec())
        }),
        Err(error) if corrupt(&error) => return Ok(None),
        Err(error) => return Err(format!("find {id:?}: {error:?}")),
    };
    let mut lists = [Vec::new(), Vec::new()];
    if block.is_none() {
        // An absent block has no edges (they went with its delete): listings say NotFound.
        return Ok(Some((None, Vec::new(), Vec::new())));
    }
    for (list, direction) in lists.iter_mut().zip([Direction::Outgoing, Direction::Incoming]) {
        let mut buffer = vec![Edge::EMPTY; 256];
        match engine.edges(id, direction, EdgeFilter::All, &mut buffer) {
            Ok(count) => {
                *list = buffer[..count.written].to_vec();
                list.sort_by_key(|e| (e.source, e.target, e.edge_type));
            }
            Err(error) if corrupt(&error) => return Ok(None),
            Err(error) => return Err(format!("edges {id:?}: {error:?}")),
        }
    }
    let [outgoing, incoming] = lists;
    Ok(Some((block, outgoing, incoming)))
}

/// Traversals from every id and a scan of every block: each ends in an answer or
/// `Corruption` (or `NotFound` for a start that is not live).
fn walk_everything<V: Vfs>(engine: &mut Engine<'_, V>, ids: &[BlockId]) -> Result<(), String> {
    let allowed = |error: &Error| matches!(error, Error::Corruption { .. } | Error::NotFound);
    let mut hits = vec![kausaldb_core::TraversalHit::EMPTY; 64];
    for id in ids {
        let start = [*id];
        for direction in [Direction::Outgoing, Direction::Incoming] {
            let query = kausaldb_core::TraversalQuery {
                depth_max: 3,
                ..kausaldb_core::TraversalQuery::new(&start, direction)
            };
            match engine.traverse(&query, &mut hits) {
                Err(error) if !allowed(&error) => return Err(format!("traverse: {error:?}")),
                _ => {}
            }
        }
    }
    let mut cursor = kausaldb_core::ScanCursor::START;
    let mut out = [BlockId::ZERO; 8];
    for _ in 0..64 {
        match engine.scan(&kausaldb_core::BlockFilter::ALL, &mut cursor, &mut out) {
            Ok(0) => break,
            Ok(_) => {}
            Err(error) if allowed(&error) => break,
            Err(error) => return Err(format!("scan: {error:?}")),
        }
    }
    Ok(())
}

fn expected(model: &Model, id: BlockId) -> Answer {
    let block = model
        .blocks
        .get(&id)
        .map(|b| (b.sequence, b.source_uri.clone(), b.metadata_json.clone(), b.content.clone()));
    let edges = |outgoing: bool| -> Vec<Edge> {
        let mut list: Vec<Edge> = model
            .edges
            .iter()
            .filter(|(s, t, _)| if outgoing { *s == id } else { *t == id })
            .map(|&(source, target, edge_type)| Edge { source, target, edge_type })
            .collect();
        list.sort_by_key(|e| (e.source, e.target, e.edge_type));
        list
    };
    if block.is_none() {
        assert!(
            edges(true).is_empty() && edges(false).is_empty(),
            "the model keeps no edge of an absent block"
        );
    }
    Some((block, edges(true), edges(false)))
}

fn check(image: &Image, bytes: &[u8]) -> Result<(), String> {
    let mut choices = Choices::new(bytes);
    let strict = choices.byte().unwrap_or(0) & 1 == 1;
    let mut files = image.files.clone();
    let damage = damage(&mut choices, &mut files);
    let sealed = damage.sealed;
    if files.iter().all(|(_, bytes)| bytes.is_empty()) {
        // No byte left: what a store that crashed while creating its first segment leaves
        // (or no store at all). Nothing can tell a loss from it.
        return Ok(());
    }
    let recovery_mode = if strict { RecoveryMode::Strict } else { RecoveryMode::Tolerant };
    let config = Config { recovery_mode, ..config() };
    let bump = bumpalo::Bump::new();
    let memory = Memory::new(&bump, &config);
    let mut sim = harness::sim_vfs(memory.disk, 1);
    for (name, bytes) in &files {
        let file = sim.create(name).map_err(|e| format!("{e:?}"))?;
        sim.write_at(file, 0, bytes).map_err(|e| format!("{e:?}"))?;
        sim.sync(file).map_err(|e| format!("{e:?}"))?;
        sim.close(file);
    }
    sim.sync_dir().map_err(|e| format!("{e:?}"))?;
    let mut engine = match Engine::open(config, memory.region, &mut sim) {
        Ok(engine) => engine,
        Err(Error::Corruption { .. }) => return Ok(()),
        // A sealed frame may claim a payload larger than this config writes: what a log
        // from a larger config looks like.
        Err(Error::RecoveryCapacity { .. }) if sealed => return Ok(()),
        Err(error) => return Err(format!("open: {error:?}")),
    };
    let ids: Vec<BlockId> = (1..=UNIVERSE).map(|n| BlockId::from_u128(n.into())).collect();
    let answers: Vec<Answer> =
        ids.iter().map(|&id| answer(&mut engine, id)).collect::<Result<_, _>>()?;
    if sealed {
        // Sealed damage can change a record's bytes undetectably: every read gives an
        // answer or Corruption (checked in `answer`), without a panic or a hang.
        return walk_everything(&mut engine, &ids);
    }

    let stats = engine.stats();
    let any_corrupt = answers.iter().any(Option::is_none);
    let loss_reported = stats.wal_torn_bytes_truncated + stats.wal_corrupt_bytes_dropped > 0;
    let full = image.prefixes.len() - 1;
    let matching = (0..=full).rev().find(|&k| {
        ids.iter()
            .zip(&answers)
            .all(|(&id, got)| got.is_none() || *got == expected(&image.prefixes[k], id))
    });
    match matching {
        None => Err(format!(
            "answers match no prefix of the history: {answers:?}; files {}",
            listing(&files)
        )),
        Some(k) if k < full && !loss_reported && !any_corrupt && !damage.manifest_removed => {
            Err(format!(
                "recovered {k} of {full} synced writes, no loss reported: {stats:?}; files {}",
                listing(&files)
            ))
        }
        Some(_) => Ok(()),
    }
}

/// Names and lengths, against the image's, for a finding's message.
fn listing(files: &[(String, Vec<u8>)]) -> String {
    files.iter().map(|(name, bytes)| format!("{name}:{} ", bytes.len())).collect()
}

/// One input: panics on a finding.
pub fn run(bytes: &[u8]) {
    let Some((&pick, rest)) = bytes.split_first() else { return };
    let image = &images()[usize::from(pick) % images().len()];
    if let Err(message) = check(image, rest) {
        panic!("{message}");
    }
}
