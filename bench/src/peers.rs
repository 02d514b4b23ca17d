//! The peers KausalDB is compared with, behind one trait, each configured the way a user
//! of that store would build a code graph on it:
//!
//! - SQLite (rusqlite, bundled): WAL mode; `synchronous=OFF` when buffered, `FULL` when
//!   durable; `blocks(id PRIMARY KEY, uri, metadata, content) WITHOUT ROWID` and
//!   `edges(source, type, target)` keyed on (source, type, target) with an index on
//!   (target, type, source); prepared statements cached.
//! - LMDB (heed): one environment, `NO_SYNC` when buffered; databases `blocks`, `out`
//!   (source|type|target) and `in` (target|type|source); one write transaction per write.
//! - redb: the same three tables; `Durability::None` when buffered, `Immediate` when durable.
//! - fjall: the same three keyspaces; the journal is persisted (`SyncData`) after each write
//!   when durable, left to the OS when buffered.
//!
//! Graph queries on the key-value peers are prefix scans of `out` / `in`, the BFS in the
//! benchmark's own code, the same for every peer. KausalDB uses its own query engine.

use crate::StoreDir;
use kausaldb_core::vfs::posix::PosixVfs;
use kausaldb_core::{
    memory_bytes_required, BlockId, Config, Direction, Edge, EdgeFilter, EdgeType, Engine,
    NamedQuery, TraversalHit,
};

pub type Id = [u8; 16];

/// Most blocks one traversal returns, in every system.
pub const RESULTS_MAX: usize = 10_000;

/// What every system in the comparison can do.
pub trait Peer {
    fn name(&self) -> &'static str;
    /// Stores a block; with `durable` the call returns only once it is on disk.
    fn put_block(&mut self, id: &Id, uri: &[u8], metadata: &[u8], content: &[u8]);
    /// Bytes of the block's content, or `None` if it does not exist.
    fn get_block(&mut self, id: &Id) -> Option<usize>;
    fn put_edge(&mut self, source: &Id, target: &Id, edge_type: u16);
    /// Calls `visit` with each neighbour of `id` over `edge_type` edges.
    fn neighbours(&mut self, id: &Id, outgoing: bool, edge_type: u16, visit: &mut dyn FnMut(Id));
    /// Blocks reached within `depth` hops over `edge_type` edges, the start included, at
    /// most `RESULTS_MAX` (KausalDB's per-query cap, so every system does the same work).
    fn bfs(&mut self, start: &Id, outgoing: bool, edge_type: u16, depth: u32) -> usize {
        let mut seen = std::collections::HashSet::new();
        let mut frontier = vec![*start];
        seen.insert(*start);
        for _ in 0..depth {
            let mut next = Vec::new();
            for id in &frontier {
                self.neighbours(id, outgoing, edge_type, &mut |n| {
                    if seen.len() < RESULTS_MAX && seen.insert(n) {
                        next.push(n);
                    }
                });
            }
            frontier = next;
        }
        seen.len()
    }
    /// Makes everything written so far durable.
    fn sync(&mut self);
    /// Moves data to where cold reads find it (KausalDB: flushed to sorted tables).
    fn settle(&mut self) {}
    /// Bulk ingest the way a user of this store would do it (transactions of
    /// `INGEST_BATCH` writes where the store has them), then make it all durable.
    fn ingest(&mut self, blocks: &[(Id, Vec<u8>)], calls: &[(Id, Id)]) {
        for (id, content) in blocks {
            self.put_block(id, b"src/generated.rs", br#"{"kind":"function"}"#, content);
        }
        for (source, target) in calls {
            self.put_edge(source, target, 7);
        }
        self.sync();
    }
}

/// Writes per transaction in `Peer::ingest` for the stores that have transactions.
pub const INGEST_BATCH: usize = 10_000;

fn edge_key(first: &Id, edge_type: u16, second: &Id) -> [u8; 34] {
    let mut key = [0u8; 34];
    key[..16].copy_from_slice(first);
    key[16..18].copy_from_slice(&edge_type.to_be_bytes());
    key[18..].copy_from_slice(second);
    key
}

fn prefix(id: &Id, edge_type: u16) -> [u8; 18] {
    let mut key = [0u8; 18];
    key[..16].copy_from_slice(id);
    key[16..].copy_from_slice(&edge_type.to_be_bytes());
    key
}

fn other_end(key: &[u8]) -> Id {
    let mut id = [0u8; 16];
    id.copy_from_slice(&key[18..34]);
    id
}

/// Block values for the key-value peers: uri, metadata and content with length prefixes.
fn block_value(uri: &[u8], metadata: &[u8], content: &[u8]) -> Vec<u8> {
    let mut value = Vec::with_capacity(8 + uri.len() + metadata.len() + content.len());
    value.extend_from_slice(&(uri.len() as u32).to_le_bytes());
    value.extend_from_slice(&(metadata.len() as u32).to_le_bytes());
    value.extend_from_slice(uri);
    value.extend_from_slice(metadata);
    value.extend_from_slice(content);
    value
}

fn content_len(value: &[u8]) -> usize {
    let uri = u32::from_le_bytes([value[0], value[1], value[2], value[3]]) as usize;
    let metadata = u32::from_le_bytes([value[4], value[5], value[6], value[7]]) as usize;
    value.len() - 8 - uri - metadata
}

/// KausalDB through its Rust API, on a region the benchmark owns.
pub struct Kausal {
    engine: Engine<'static, PosixVfs>,
    durable: bool,
    hits: Vec<TraversalHit>,
}

impl Kausal {
    pub fn open(dir: &StoreDir, config: Config, durable: bool) -> Kausal {
        // The region lives as long as the benchmark process: leaked on purpose.
        let region: &'static mut [u8] =
            Box::leak(vec![0u8; memory_bytes_required(&config)].into_boxed_slice());
        let engine = Engine::open(config, region, dir.vfs()).expect("open kausaldb");
        Kausal { engine, durable, hits: vec![TraversalHit::EMPTY; 10_000] }
    }

    pub fn engine(&mut self) -> &mut Engine<'static, PosixVfs> {
        &mut self.engine
    }
}

impl Peer for Kausal {
    fn name(&self) -> &'static str {
        "kausaldb"
    }
    fn put_block(&mut self, id: &Id, uri: &[u8], metadata: &[u8], content: &[u8]) {
        self.engine.put_block(BlockId(*id), uri, metadata, content).expect("put");
        if self.durable {
            self.engine.sync().expect("sync");
        }
    }
    fn get_block(&mut self, id: &Id) -> Option<usize> {
        self.engine.find_block(BlockId(*id)).expect("find").map(|view| view.content.len())
    }
    fn put_edge(&mut self, source: &Id, target: &Id, edge_type: u16) {
        let edge_type = EdgeType::from_code(edge_type).expect("edge type");
        let edge = Edge { source: BlockId(*source), target: BlockId(*target), edge_type };
        self.engine.put_edge(edge).expect("put_edge");
        if self.durable {
            self.engine.sync().expect("sync");
        }
    }
    fn neighbours(&mut self, id: &Id, outgoing: bool, edge_type: u16, visit: &mut dyn FnMut(Id)) {
        let direction = if outgoing { Direction::Outgoing } else { Direction::Incoming };
        let filter = EdgeFilter::Only(EdgeType::from_code(edge_type).expect("edge type"));
        // One closure per direction: choosing the end inside one closure compiled to a
        // 16-byte load indexed by the direction from the edge just stored in 8-byte halves, a
        // stalled store-to-load forward for every edge (perf: a third of a cached listing).
        let listed = if outgoing {
            self.engine.visit_edges(BlockId(*id), direction, filter, |edge| visit(edge.target.0))
        } else {
            self.engine.visit_edges(BlockId(*id), direction, filter, |edge| visit(edge.source.0))
        };
        listed.expect("edges");
    }
    fn bfs(&mut self, start: &Id, outgoing: bool, edge_type: u16, depth: u32) -> usize {
        assert_eq!(edge_type, EdgeType::CALLS.code(), "the named queries follow calls");
        let query = if outgoing { NamedQuery::Callees } else { NamedQuery::Callers };
        self.engine.query(query, BlockId(*start), depth, &mut self.hits).expect("query").written
    }
    fn sync(&mut self) {
        self.engine.sync().expect("sync");
    }
    fn settle(&mut self) {
        self.engine.flush().expect("flush");
        while self.engine.compact_step().expect("compact") {}
    }
}

/// KausalDB with the benchmark's own BFS (a `HashSet` and a queue over `visit_edges`), the
/// way a host without the query engine would traverse: the native traversal must beat it.
pub struct KausalHarnessBfs(pub Kausal);

impl Peer for KausalHarnessBfs {
    fn name(&self) -> &'static str {
        "kausaldb_harness_bfs"
    }
    fn put_block(&mut self, id: &Id, uri: &[u8], metadata: &[u8], content: &[u8]) {
        self.0.put_block(id, uri, metadata, content);
    }
    fn get_block(&mut self, id: &Id) -> Option<usize> {
        self.0.get_block(id)
    }
    fn put_edge(&mut self, source: &Id, target: &Id, edge_type: u16) {
        self.0.put_edge(source, target, edge_type);
    }
    fn neighbours(&mut self, id: &Id, outgoing: bool, edge_type: u16, visit: &mut dyn FnMut(Id)) {
        self.0.neighbours(id, outgoing, edge_type, visit);
    }
    fn sync(&mut self) {
        self.0.sync();
    }
}

pub struct Sqlite {
    connection: rusqlite::Connection,
}

impl Sqlite {
    pub fn open(dir: &StoreDir, durable: bool) -> Sqlite {
        Sqlite::open_with(dir, durable, LogSize::Default)
    }

    /// `LogSize::HoldsAll` turns off automatic checkpoints, so the WAL keeps every write.
    pub fn open_with(dir: &StoreDir, durable: bool, log: LogSize) -> Sqlite {
        std::fs::create_dir_all(&dir.0).expect("dir");
        let connection = rusqlite::Connection::open(dir.0.join("sqlite.db")).expect("sqlite");
        let synchronous = if durable { "FULL" } else { "OFF" };
        connection
            .execute_batch(&format!(
                "PRAGMA journal_mode=WAL; PRAGMA synchronous={synchronous};
                 CREATE TABLE IF NOT EXISTS blocks (id BLOB PRIMARY KEY, uri BLOB,
                     metadata BLOB, content BLOB) WITHOUT ROWID;
                 CREATE TABLE IF NOT EXISTS edges (source BLOB, type INTEGER, target BLOB,
                     PRIMARY KEY (source, type, target)) WITHOUT ROWID;
                 CREATE INDEX IF NOT EXISTS edges_by_target ON edges (target, type, source);"
            ))
            .expect("schema");
        if log == LogSize::HoldsAll {
            connection.execute_batch("PRAGMA wal_autocheckpoint=0;").expect("no checkpoints");
        }
        Sqlite { connection }
    }
}

impl Peer for Sqlite {
    fn name(&self) -> &'static str {
        "sqlite"
    }
    fn put_block(&mut self, id: &Id, uri: &[u8], metadata: &[u8], content: &[u8]) {
        let mut statement = self
            .connection
            .prepare_cached("INSERT OR REPLACE INTO blocks VALUES (?1, ?2, ?3, ?4)")
            .expect("prepare");
        statement.execute((&id[..], uri, metadata, content)).expect("insert");
    }
    fn get_block(&mut self, id: &Id) -> Option<usize> {
        let mut statement = self
            .connection
            .prepare_cached("SELECT length(content) FROM blocks WHERE id = ?1")
            .expect("prepare");
        let mut rows = statement.query([&id[..]]).expect("query");
        rows.next().expect("row").map(|row| row.get::<_, i64>(0).expect("len") as usize)
    }
    fn put_edge(&mut self, source: &Id, target: &Id, edge_type: u16) {
        let mut statement = self
            .connection
            .prepare_cached("INSERT OR IGNORE INTO edges VALUES (?1, ?2, ?3)")
            .expect("prepare");
        statement.execute((&source[..], edge_type, &target[..])).expect("insert");
    }
    fn neighbours(&mut self, id: &Id, outgoing: bool, edge_type: u16, visit: &mut dyn FnMut(Id)) {
        let sql = if outgoing {
            "SELECT target FROM edges WHERE source = ?1 AND type = ?2"
        } else {
            "SELECT source FROM edges WHERE target = ?1 AND type = ?2"
        };
        let mut statement = self.connection.prepare_cached(sql).expect("prepare");
        let mut rows = statement.query((&id[..], edge_type)).expect("query");
        while let Some(row) = rows.next().expect("row") {
            let bytes = row.get_ref(0).expect("column").as_blob().expect("blob");
            let mut other = [0u8; 16];
            other.copy_from_slice(bytes);
            visit(other);
        }
    }
    fn sync(&mut self) {
        self.connection.execute_batch("PRAGMA wal_checkpoint(FULL)").expect("checkpoint");
    }
    fn ingest(&mut self, blocks: &[(Id, Vec<u8>)], calls: &[(Id, Id)]) {
        for chunk in blocks.chunks(INGEST_BATCH) {
            self.connection.execute_batch("BEGIN").expect("begin");
            for (id, content) in chunk {
                self.put_block(id, b"src/generated.rs", br#"{"kind":"function"}"#, content);
            }
            self.connection.execute_batch("COMMIT").expect("commit");
        }
        for chunk in calls.chunks(INGEST_BATCH) {
            self.connection.execute_batch("BEGIN").expect("begin");
            for (source, target) in chunk {
                self.put_edge(source, target, 7);
            }
            self.connection.execute_batch("COMMIT").expect("commit");
        }
        self.sync();
    }
}

type Bytes = heed::types::Bytes;

pub struct Lmdb {
    env: heed::Env,
    blocks: heed::Database<Bytes, Bytes>,
    out: heed::Database<Bytes, Bytes>,
    incoming: heed::Database<Bytes, Bytes>,
}

impl Lmdb {
    pub fn open(dir: &StoreDir, durable: bool) -> Lmdb {
        std::fs::create_dir_all(&dir.0).expect("dir");
        let mut options = heed::EnvOpenOptions::new();
        options.map_size(16 << 30).max_dbs(4);
        if !durable {
            // SAFETY: NO_SYNC trades durability for speed, which is what "buffered" means;
            // no other process opens this environment.
            unsafe { options.flags(heed::EnvFlags::NO_SYNC) };
        }
        // SAFETY: the directory is this benchmark's alone, opened once.
        let env = unsafe { options.open(&dir.0) }.expect("lmdb");
        let mut txn = env.write_txn().expect("txn");
        let blocks = env.create_database(&mut txn, Some("blocks")).expect("db");
        let out = env.create_database(&mut txn, Some("out")).expect("db");
        let incoming = env.create_database(&mut txn, Some("in")).expect("db");
        txn.commit().expect("commit");
        Lmdb { env, blocks, out, incoming }
    }
}

impl Peer for Lmdb {
    fn name(&self) -> &'static str {
        "lmdb"
    }
    fn put_block(&mut self, id: &Id, uri: &[u8], metadata: &[u8], content: &[u8]) {
        let mut txn = self.env.write_txn().expect("txn");
        self.blocks.put(&mut txn, id, &block_value(uri, metadata, content)).expect("put");
        txn.commit().expect("commit");
    }
    fn get_block(&mut self, id: &Id) -> Option<usize> {
        let txn = self.env.read_txn().expect("txn");
        self.blocks.get(&txn, id).expect("get").map(content_len)
    }
    fn put_edge(&mut self, source: &Id, target: &Id, edge_type: u16) {
        let mut txn = self.env.write_txn().expect("txn");
        self.out.put(&mut txn, &edge_key(source, edge_type, target), &[]).expect("put");
        self.incoming.put(&mut txn, &edge_key(target, edge_type, source), &[]).expect("put");
        txn.commit().expect("commit");
    }
    fn neighbours(&mut self, id: &Id, outgoing: bool, edge_type: u16, visit: &mut dyn FnMut(Id)) {
        let txn = self.env.read_txn().expect("txn");
        let db = if outgoing { self.out } else { self.incoming };
        for entry in db.prefix_iter(&txn, &prefix(id, edge_type)).expect("iter") {
            visit(other_end(entry.expect("entry").0));
        }
    }
    fn sync(&mut self) {
        self.env.force_sync().expect("sync");
    }
    fn ingest(&mut self, blocks: &[(Id, Vec<u8>)], calls: &[(Id, Id)]) {
        for chunk in blocks.chunks(INGEST_BATCH) {
            let mut txn = self.env.write_txn().expect("txn");
            for (id, content) in chunk {
                let value = block_value(b"src/generated.rs", br#"{"kind":"function"}"#, content);
                self.blocks.put(&mut txn, id, &value).expect("put");
            }
            txn.commit().expect("commit");
        }
        for chunk in calls.chunks(INGEST_BATCH) {
            let mut txn = self.env.write_txn().expect("txn");
            for (source, target) in chunk {
                self.out.put(&mut txn, &edge_key(source, 7, target), &[]).expect("put");
                self.incoming.put(&mut txn, &edge_key(target, 7, source), &[]).expect("put");
            }
            txn.commit().expect("commit");
        }
        self.sync();
    }
}

const REDB_BLOCKS: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new("blocks");
const REDB_OUT: redb::TableDefinition<&[u8], ()> = redb::TableDefinition::new("out");
const REDB_IN: redb::TableDefinition<&[u8], ()> = redb::TableDefinition::new("in");

pub struct Redb {
    db: redb::Database,
    durable: bool,
}

impl Redb {
    pub fn open(dir: &StoreDir, durable: bool) -> Redb {
        std::fs::create_dir_all(&dir.0).expect("dir");
        let db = redb::Database::create(dir.0.join("redb.db")).expect("redb");
        let txn = db.begin_write().expect("txn");
        txn.open_table(REDB_BLOCKS).expect("table");
        txn.open_table(REDB_OUT).expect("table");
        txn.open_table(REDB_IN).expect("table");
        txn.commit().expect("commit");
        Redb { db, durable }
    }

    fn write(&self, work: impl FnOnce(&redb::WriteTransaction)) {
        let mut txn = self.db.begin_write().expect("txn");
        let durability =
            if self.durable { redb::Durability::Immediate } else { redb::Durability::None };
        txn.set_durability(durability).expect("durability");
        work(&txn);
        txn.commit().expect("commit");
    }
}

impl Peer for Redb {
    fn name(&self) -> &'static str {
        "redb"
    }
    fn put_block(&mut self, id: &Id, uri: &[u8], metadata: &[u8], content: &[u8]) {
        let value = block_value(uri, metadata, content);
        self.write(|txn| {
            txn.open_table(REDB_BLOCKS)
                .expect("table")
                .insert(&id[..], &value[..])
                .expect("insert");
        });
    }
    fn get_block(&mut self, id: &Id) -> Option<usize> {
        use redb::ReadableDatabase;
        let txn = self.db.begin_read().expect("txn");
        let table = txn.open_table(REDB_BLOCKS).expect("table");
        table.get(&id[..]).expect("get").map(|value| content_len(value.value()))
    }
    fn put_edge(&mut self, source: &Id, target: &Id, edge_type: u16) {
        self.write(|txn| {
            let out_key = edge_key(source, edge_type, target);
            let in_key = edge_key(target, edge_type, source);
            txn.open_table(REDB_OUT).expect("table").insert(&out_key[..], ()).expect("insert");
            txn.open_table(REDB_IN).expect("table").insert(&in_key[..], ()).expect("insert");
        });
    }
    fn neighbours(&mut self, id: &Id, outgoing: bool, edge_type: u16, visit: &mut dyn FnMut(Id)) {
        use redb::ReadableDatabase;
        let txn = self.db.begin_read().expect("txn");
        let table = txn.open_table(if outgoing { REDB_OUT } else { REDB_IN }).expect("table");
        let low = edge_key(id, edge_type, &[0; 16]);
        let high = edge_key(id, edge_type, &[0xFF; 16]);
        for entry in table.range(&low[..]..=&high[..]).expect("range") {
            visit(other_end(entry.expect("entry").0.value()));
        }
    }
    fn sync(&mut self) {
        let mut txn = self.db.begin_write().expect("txn");
        txn.set_durability(redb::Durability::Immediate).expect("durability");
        txn.commit().expect("commit");
    }
    fn ingest(&mut self, blocks: &[(Id, Vec<u8>)], calls: &[(Id, Id)]) {
        for chunk in blocks.chunks(INGEST_BATCH) {
            self.write(|txn| {
                let mut table = txn.open_table(REDB_BLOCKS).expect("table");
                for (id, content) in chunk {
                    let value =
                        block_value(b"src/generated.rs", br#"{"kind":"function"}"#, content);
                    table.insert(&id[..], &value[..]).expect("insert");
                }
            });
        }
        for chunk in calls.chunks(INGEST_BATCH) {
            self.write(|txn| {
                let mut out = txn.open_table(REDB_OUT).expect("table");
                let mut incoming = txn.open_table(REDB_IN).expect("table");
                for (source, target) in chunk {
                    out.insert(&edge_key(source, 7, target)[..], ()).expect("insert");
                    incoming.insert(&edge_key(target, 7, source)[..], ()).expect("insert");
                }
            });
        }
        self.sync();
    }
}

pub struct Fjall {
    db: fjall::Database,
    blocks: fjall::Keyspace,
    out: fjall::Keyspace,
    incoming: fjall::Keyspace,
    durable: bool,
}

impl Fjall {
    pub fn open(dir: &StoreDir, durable: bool) -> Fjall {
        Fjall::open_with(dir, durable, LogSize::Default)
    }

    /// `LogSize::HoldsAll` sizes the blocks keyspace's memtable (64 MiB by default) and the
    /// journal (512 MiB) to 1 GiB, so nothing is flushed and the journal keeps every write.
    pub fn open_with(dir: &StoreDir, durable: bool, log: LogSize) -> Fjall {
        const GIB: u64 = 1 << 30;
        let mut builder = fjall::Database::builder(&dir.0);
        if log == LogSize::HoldsAll {
            builder = builder.max_journaling_size(GIB);
        }
        let db = builder.open().expect("fjall");
        let options = fjall::KeyspaceCreateOptions::default;
        let blocks_options = || match log {
            LogSize::Default => options(),
            LogSize::HoldsAll => options().max_memtable_size(GIB),
        };
        let blocks = db.keyspace("blocks", blocks_options).expect("keyspace");
        let out = db.keyspace("out", options).expect("keyspace");
        let incoming = db.keyspace("in", options).expect("keyspace");
        Fjall { db, blocks, out, incoming, durable }
    }

    fn persist(&self) {
        if self.durable {
            self.db.persist(fjall::PersistMode::SyncData).expect("persist");
        }
    }
}

impl Peer for Fjall {
    fn name(&self) -> &'static str {
        "fjall"
    }
    fn put_block(&mut self, id: &Id, uri: &[u8], metadata: &[u8], content: &[u8]) {
        self.blocks.insert(&id[..], block_value(uri, metadata, content)).expect("insert");
        self.persist();
    }
    fn get_block(&mut self, id: &Id) -> Option<usize> {
        self.blocks.get(id).expect("get").map(|value| content_len(&value))
    }
    fn put_edge(&mut self, source: &Id, target: &Id, edge_type: u16) {
        let mut batch = self.db.batch();
        batch.insert(&self.out, &edge_key(source, edge_type, target)[..], []);
        batch.insert(&self.incoming, &edge_key(target, edge_type, source)[..], []);
        batch.commit().expect("commit");
        self.persist();
    }
    fn neighbours(&mut self, id: &Id, outgoing: bool, edge_type: u16, visit: &mut dyn FnMut(Id)) {
        let keyspace = if outgoing { &self.out } else { &self.incoming };
        for entry in keyspace.prefix(prefix(id, edge_type)) {
            visit(other_end(&entry.key().expect("key")));
        }
    }
    fn sync(&mut self) {
        self.db.persist(fjall::PersistMode::SyncAll).expect("persist");
    }
    /// Flushes every memtable and runs a major compaction, waiting for both: fjall's best
    /// state for reads, and no background thread left working while the next system is
    /// measured on this 2-core machine. (Both calls are public but hidden from fjall's docs.)
    fn settle(&mut self) {
        for keyspace in [&self.blocks, &self.out, &self.incoming] {
            keyspace.rotate_memtable_and_wait().expect("fjall flush");
            keyspace.major_compact().expect("fjall compaction");
        }
    }
}

/// How large a system's log may grow before it is folded into the store (the recovery
/// workload runs both).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogSize {
    /// Each system's default configuration (KausalDB: `Config::DEFAULT`).
    Default,
    /// Large enough to hold all the recovery data, so a reopen replays all of it (systems
    /// without a log, LMDB and redb, run as usual).
    HoldsAll,
}

/// Every system in the comparison, in the order the results list them.
pub const SYSTEMS: [&str; 5] = ["kausaldb", "sqlite", "lmdb", "redb", "fjall"];

/// Opens `system` (one of `SYSTEMS`) in `dir`, KausalDB with `config`; `durable` makes
/// every write durable before it returns.
pub fn open_peer(system: &str, dir: &StoreDir, config: Config, durable: bool) -> Box<dyn Peer> {
    match system {
        "kausaldb" => Box::new(Kausal::open(dir, config, durable)),
        "sqlite" => Box::new(Sqlite::open(dir, durable)),
        "lmdb" => Box::new(Lmdb::open(dir, durable)),
        "redb" => Box::new(Redb::open(dir, durable)),
        _ => Box::new(Fjall::open(dir, durable)),
    }
}

/// A memory figure of this process in bytes from /proc/self/status: `"VmRSS:"` (resident
/// now) or `"VmHWM:"` (peak resident).
pub fn resident_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}
