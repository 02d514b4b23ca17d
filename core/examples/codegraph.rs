//! The main job on a built-in default: ingest a small code graph into a store directory,
//! close it, reopen it (replaying the WAL), and answer "who calls `parse_config`?".
//!
//! Run: `cargo xtask demo [directory]` (default: target/kausaldb-demo).
// A host tool: runs on 64-bit hosts only; its measurements cast freely.
#![allow(clippy::cast_possible_truncation, missing_debug_implementations)]

use kausaldb_core::vfs::posix::PosixVfs;
use kausaldb_core::{
    memory_bytes_required, BlockId, Config, Direction, Edge, EdgeFilter, EdgeType, Engine, Error,
};

/// (file, function, calls)
const GRAPH: &[(&str, &str, &[&str])] = &[
    ("src/main.rs", "main", &["load_settings", "run_server"]),
    ("src/settings.rs", "load_settings", &["read_file", "parse_config"]),
    ("src/settings.rs", "reload_settings", &["read_file", "parse_config", "notify_workers"]),
    ("src/config.rs", "parse_config", &["tokenize", "validate_config"]),
    ("src/config.rs", "validate_config", &["report_error"]),
    ("src/config.rs", "tokenize", &[]),
    ("src/fs.rs", "read_file", &["report_error"]),
    ("src/server.rs", "run_server", &["accept_loop", "reload_settings"]),
    ("src/server.rs", "accept_loop", &["handle_request"]),
    ("src/server.rs", "handle_request", &["parse_config", "report_error"]),
    ("src/workers.rs", "notify_workers", &[]),
    ("src/errors.rs", "report_error", &[]),
];

fn id_of(function: &str) -> BlockId {
    BlockId::derive(b"demo", function.as_bytes())
}

fn ingest(engine: &mut Engine<'_, PosixVfs>) -> Result<(), Error> {
    for (file, function, _) in GRAPH {
        let metadata = format!("{{\"kind\":\"function\",\"name\":\"{function}\"}}");
        let content = format!("fn {function}() {{ /* ... */ }}");
        engine.put_block(
            id_of(function),
            file.as_bytes(),
            metadata.as_bytes(),
            content.as_bytes(),
        )?;
    }
    for (_, function, callees) in GRAPH {
        for callee in *callees {
            let edge =
                Edge { source: id_of(function), target: id_of(callee), edge_type: EdgeType::CALLS };
            engine.put_edge(edge)?;
        }
    }
    engine.sync()
}

fn print_callers(engine: &mut Engine<'_, PosixVfs>, function: &str) -> Result<(), Error> {
    let mut edges = [Edge::EMPTY; 16];
    let count = engine.edges(
        id_of(function),
        Direction::Incoming,
        EdgeFilter::Only(EdgeType::CALLS),
        &mut edges,
    )?;
    println!("callers of {function} ({}):", count.total);
    for edge in &edges[..count.written] {
        if let Some(caller) = engine.find_block(edge.source)? {
            let file = caller.source_uri_str().unwrap_or("?");
            let name = String::from_utf8_lossy(caller.content);
            println!("  {file:<18} {name}");
        }
    }
    Ok(())
}

fn main() {
    let directory = std::env::args().nth(1).unwrap_or_else(|| "target/kausaldb-demo".to_string());
    let _ = std::fs::remove_dir_all(&directory);
    let config = Config::DEFAULT;
    let mut region = vec![0u8; memory_bytes_required(&config)];
    println!("region: {} KiB (Config::DEFAULT)", region.len() / 1024);

    let vfs = PosixVfs::open_dir(&directory).expect("store directory");
    let mut engine = Engine::open(config, &mut region, vfs).expect("open");
    ingest(&mut engine).expect("ingest");
    let written = engine.stats();
    let closed = engine.close();
    closed.expect("close");
    println!(
        "wrote {} blocks and {} edges to {directory}",
        written.blocks_live, written.edges_live
    );

    let vfs = PosixVfs::open_dir(&directory).expect("store directory");
    let mut engine = Engine::open(config, &mut region, vfs).expect("reopen");
    let stats = engine.stats();
    println!(
        "reopened: replayed {} WAL frames ({} bytes)",
        stats.recovery_frames_replayed, stats.recovery_bytes_replayed
    );
    print_callers(&mut engine, "parse_config").expect("query");
    engine.close().expect("close");
}
