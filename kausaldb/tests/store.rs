//! The owned store as a `std` program uses it: open by path, keep it in a struct, drop it
//! without `close`, reopen; one process at a time.

use kausaldb::{BlockId, Config, Edge, EdgeType, Error, FieldName, Store};
use std::path::PathBuf;

/// A fresh directory under the target directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let path =
            std::env::temp_dir().join(format!("kausaldb-store-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Scratch(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What a code tool keeps: the store beside its other state.
struct Index {
    store: Store,
    namespace: Vec<u8>,
}

impl Index {
    fn add(&mut self, name: &str, content: &str) -> Result<BlockId, Error> {
        let id = BlockId::derive(&self.namespace, name.as_bytes());
        self.store.with(|db| db.put_block(id, name.as_bytes(), b"{}", content.as_bytes()))?;
        Ok(id)
    }
}

fn small() -> Config {
    Config {
        memtable_entries_max: 1024,
        memtable_edges_max: 1024,
        memtable_arena_bytes_max: 1 << 20,
        wal_segment_bytes_max: 1 << 20,
        table_memory_bytes: 1 << 20,
        ..Config::DEFAULT
    }
}

#[test]
fn a_store_in_a_struct_keeps_its_writes_when_dropped_without_close() {
    let scratch = Scratch::new("drop");
    let (main, parse) = {
        let mut index = Index {
            store: Store::open_with(&scratch.0, small()).unwrap(),
            namespace: b"repo".to_vec(),
        };
        let main = index.add("main", "fn main() { parse() }").unwrap();
        let parse = index.add("parse", "fn parse() {}").unwrap();
        let calls = Edge { source: main, target: parse, edge_type: EdgeType::CALLS };
        assert_eq!(index.store.with(|db| db.put_edge(calls)), Ok(Some(3)));
        (main, parse)
        // Dropped here, unsynced: dropping closes, which syncs.
    };
    let mut store = Store::open_with(&scratch.0, small()).unwrap();
    assert_eq!(store.stats().blocks_live, 2);
    let content = store.with(|db| db.find_block(parse).unwrap().map(|view| view.content.to_vec()));
    assert_eq!(content.as_deref(), Some(&b"fn parse() {}"[..]));
    let mut callers = [Edge::EMPTY; 4];
    let count = store
        .with(|db| {
            db.edges(parse, kausaldb::Direction::Incoming, kausaldb::EdgeFilter::All, &mut callers)
        })
        .unwrap();
    assert_eq!((count.written, callers[0].source), (1, main));
    store.close().unwrap();
}

#[test]
fn a_second_store_on_one_directory_is_refused_until_the_first_closes() {
    let scratch = Scratch::new("lock");
    let first = Store::open_with(&scratch.0, small()).unwrap();
    match Store::open_with(&scratch.0, small()) {
        Err(Error::Locked { pid }) => assert_eq!(pid, std::process::id()),
        other => panic!("second open: {other:?}"),
    }
    first.close().unwrap();
    Store::open_with(&scratch.0, small()).unwrap().close().unwrap();
}

#[test]
fn a_bad_config_or_a_missing_directory_is_an_error_not_a_panic() {
    let scratch = Scratch::new("errors");
    let bad = Config { memtable_edges_max: 0, ..small() };
    assert_eq!(
        Store::open_with(&scratch.0, bad).err(),
        Some(Error::ConfigInvalid { field: FieldName::new(&"memtable_edges_max") })
    );
    let missing = scratch.0.join("no/such/dir");
    assert!(matches!(Store::open_with(missing, small()), Err(Error::Io(_))));
}

#[test]
fn a_store_moves_to_another_thread_and_back() {
    let scratch = Scratch::new("thread");
    let mut store = Store::open_with(&scratch.0, small()).unwrap();
    let id = BlockId::derive(b"repo", b"worker");
    let mut store = std::thread::spawn(move || {
        store.with(|db| db.put_block(id, b"w.rs", b"{}", b"fn worker() {}")).unwrap();
        store
    })
    .join()
    .unwrap();
    assert!(store.with(|db| db.find_block(id).unwrap().is_some()));
    store.close().unwrap();
}
