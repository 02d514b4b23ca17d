use kausaldb_bench::{content_1k, id, StoreDir, METADATA};
use kausaldb_core::{memory_bytes_required, Config, Engine};
use std::time::Instant;
fn main() {
    let blocks: u64 = 256 * 1024;
    let content = content_1k();
    let config = Config {
        blocks_max: blocks as u32 + 1024,
        edges_max: 1024,
        arena_bytes_max: ((blocks * 1200) as u32).max(8 << 20),
        wal_segment_bytes_max: 64 << 20,
        wal_segments_max: 16,
        wal_buffer_bytes: 1 << 20,
        read_buffer_bytes: 1 << 20,
        ..Config::DEFAULT
    };
    let mut region = vec![0u8; memory_bytes_required(&config)];
    let dir = StoreDir::new("reopen-tmp");
    if std::env::var("SKIP_WRITE").is_err() {
        let mut engine = Engine::open(config, &mut region, dir.vfs()).expect("open");
        for n in 0..blocks {
            engine.put_block(id(n), b"src/generated.rs", METADATA, &content).expect("put");
        }
        engine.sync().expect("sync");
        drop(engine.abandon());
    }
    for _ in 0..5 {
        let began = Instant::now();
        let engine = Engine::open(config, &mut region, dir.vfs()).expect("reopen");
        let t = began.elapsed();
        drop(engine.abandon());
        eprintln!("reopen {:?}", t);
    }
}
