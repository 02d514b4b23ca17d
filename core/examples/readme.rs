//! The README's "Using it from Rust" program, compiled and run: `cargo xtask check` fails
//! when the README's block differs from the lines between the markers below.
// README: begin
use kausaldb_core::vfs::posix::PosixVfs; // feature "posix"
use kausaldb_core::{
    memory_bytes_required, BlockFilter, BlockId, Config, Direction, Edge, EdgeFilter, EdgeType,
    Engine, MetadataValue, NamedQuery, ScanCursor, TraversalHit, TraversalOrder, TraversalQuery,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::DEFAULT; // every limit is a field, unit last
    let mut region = vec![0u8; memory_bytes_required(&config)]; // ~17.8 MiB for the default
    let mut db = Engine::open(config, &mut region, PosixVfs::open_dir("target/readme-store")?)?;
    let main = BlockId::derive(b"myrepo", b"main");
    let parse = BlockId::derive(b"myrepo", b"parse");
    let function = br#"{"kind":"function"}"#;
    db.put_block(main, b"src/main.rs", function, b"fn main() { parse() }")?;
    db.put_block(parse, b"src/parse.rs", function, b"fn parse() {}")?;
    db.put_edge(Edge { source: main, target: parse, edge_type: EdgeType::CALLS })?;
    db.sync()?; // durable from here on
    let mut callers = [Edge::EMPTY; 16];
    let calls = EdgeFilter::Only(EdgeType::CALLS);
    let count = db.edges(parse, Direction::Incoming, calls, &mut callers)?;
    println!("{} caller(s) of parse", count.written);

    // Graph questions: callers/callees/references/imports/impact to a depth, or any traversal.
    let mut hits = [TraversalHit::EMPTY; 64]; // caller memory; the visited set is in the region
    let found = db.query(NamedQuery::Callers, parse, 3, &mut hits)?; // starts first
    println!("{} block(s) reach parse within 3 calls", found.written);
    let starts = [main];
    let depth_first = TraversalQuery {
        order: TraversalOrder::DepthFirst,
        ..TraversalQuery::new(&starts, Direction::Outgoing)
    };
    db.traverse(&depth_first, &mut hits)?; // each hit: id, depth, parent + edge (via)

    // A filtered scan, resumable with its cursor.
    let kind = (&b"kind"[..], MetadataValue::String(b"function"));
    let only_functions = BlockFilter { metadata_equals: Some(kind), ..BlockFilter::ALL };
    let (mut cursor, mut page) = (ScanCursor::START, [BlockId::ZERO; 256]);
    while !cursor.done {
        let written = db.scan(&only_functions, &mut cursor, &mut page)?;
        println!("{written} function(s) in this page");
    }
    db.close()?; // dropping closes too; close reports errors
    Ok(())
}
// README: end
