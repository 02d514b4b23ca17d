//! Shared set-up for the benchmarks: store directories, configs and data generation.

use kausaldb_core::vfs::posix::PosixVfs;
use kausaldb_core::{BlockId, Config};
use std::path::PathBuf;

/// A config for benchmarks: room for 64 Ki blocks of 1 KiB and 512 Ki edges.
pub fn bench_config() -> Config {
    Config {
        blocks_max: 1 << 16,
        edges_max: 1 << 19,
        arena_bytes_max: 96 << 20,
        wal_segment_bytes_max: 64 << 20,
        wal_segments_max: 64,
        wal_buffer_bytes: 1 << 20,
        read_buffer_bytes: 1 << 20,
        ..Config::DEFAULT
    }
}

/// A fresh, empty directory under the system temp dir, removed on drop.
pub struct StoreDir(pub PathBuf);

impl StoreDir {
    pub fn new(name: &str) -> StoreDir {
        let path =
            std::env::temp_dir().join(format!("kausaldb-bench-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        StoreDir(path)
    }

    pub fn vfs(&self) -> PosixVfs {
        PosixVfs::open_dir(self.0.to_str().expect("UTF-8 temp path"))
            .expect("bench store directory")
    }

    /// Empties the directory for the next round.
    pub fn reset(&self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Drop for StoreDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The id of the n-th benchmark block.
pub fn id(n: u64) -> BlockId {
    BlockId::derive(b"bench", &n.to_le_bytes())
}

pub const METADATA: &[u8] = br#"{"kind":"function","lang":"rust"}"#;

/// 1 KiB of source-like content.
pub fn content_1k() -> Vec<u8> {
    b"fn handler(request: &Request) -> Response { let body = request.body(); route(body) }\n"
        .iter()
        .cycle()
        .take(1024)
        .copied()
        .collect()
}
