//! The numbers a user acts on, as the documentation states them, checked against the code so
//! they cannot drift again: the default region size (README, `Config::DEFAULT`'s doc, the C
//! header) and the region a traversal's `query_nodes_max` takes.
// Test code: runs on 64-bit hosts only, and a test reads top to bottom as one scenario.
#![allow(clippy::cast_possible_truncation, clippy::too_many_lines)]

use kausaldb_core::{memory_bytes_required, Config};

const MIB: f64 = 1024.0 * 1024.0;

fn repository_file(path: &str) -> String {
    let full = format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|error| panic!("{full}: {error}"))
}

fn assert_states(path: &str, phrase: &str) {
    assert!(repository_file(path).contains(phrase), "{path} should say \"{phrase}\"");
}

#[test]
fn the_documented_default_region_size_is_the_real_one() {
    let mib = memory_bytes_required(&Config::DEFAULT) as f64 / MIB;
    let stated = format!("{mib:.1} MiB");
    assert_eq!(stated, "17.8 MiB", "update README.md, config.rs and ffi/src/lib.rs with it");
    assert_states("README.md", &format!("~{stated} for the default"));
    assert_states("core/src/config.rs", &format!("about {stated} of region"));
    assert_states("include/kausaldb.h", &format!("(a ~{stated} region)"));
}

#[test]
fn the_documented_query_memory_is_the_real_one() {
    let without = Config { query_nodes_max: 1, ..Config::DEFAULT };
    let bytes = memory_bytes_required(&Config::DEFAULT) - memory_bytes_required(&without);
    let per_node = bytes as f64 / f64::from(Config::DEFAULT.query_nodes_max - 1);
    assert!((72.0..=80.0).contains(&per_node), "{per_node} bytes per node");
    let stated = format!("{:.2} MiB", bytes as f64 / MIB);
    assert_eq!(stated, "0.74 MiB", "update README.md and config.rs with it");
    assert_states(
        "README.md",
        "72 to 80 bytes per `query_nodes_max` (10,000 by default: 0.74 MiB;",
    );
    assert_states("core/src/config.rs", "(0.74 MiB at the default 10,000;");
    // And the million-node traversal a host may configure.
    let million = Config { query_nodes_max: 1_000_000, ..Config::DEFAULT };
    let bytes = memory_bytes_required(&million) - memory_bytes_required(&without);
    let stated = format!("{:.0} MiB", bytes as f64 / MIB);
    assert_eq!(stated, "69 MiB", "update README.md, config.rs and limits.rs with it");
    assert_states("core/src/config.rs", &format!("about {stated} for 1,000,000)"));
    assert_states("core/src/limits.rs", &format!("needs about {stated}"));
    assert_states("README.md", &format!("1,000,000 nodes: {stated}"));
}
