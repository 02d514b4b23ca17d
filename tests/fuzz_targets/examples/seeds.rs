//! Writes the committed seed corpora (`fuzz/seeds/<target>/`): real files of a small store
//! (WAL segments, tables, the manifest) for the decoders, and short inputs for the others.
//! Run by `cargo xtask fuzz --seeds`; rerun when a format changes.
// A host tool: runs on 64-bit hosts only.
#![allow(clippy::cast_possible_truncation)]

use std::path::Path;

use kausaldb_core::Engine;
use kausaldb_fuzz_targets::harness::{self, perform, Generator, Memory};

fn store_files() -> Vec<(String, Vec<u8>)> {
    let config = harness::small_config();
    let bump = bumpalo::Bump::new();
    let memory = Memory::new(&bump, &config);
    let mut sim = harness::sim_vfs(memory.disk, 3);
    let mut engine = Engine::open(config, memory.region, &mut sim).expect("open");
    let mut generator = Generator::new(3, 12);
    for step in 0..90 {
        let _ = perform(&mut engine, &generator.write());
        if step == 59 {
            engine.flush().expect("flush");
        }
    }
    engine.close().expect("close");
    kausaldb_fuzz_targets::recovery::read_files(&mut sim)
}

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds").join(target);
    std::fs::create_dir_all(&dir).expect("seed directory");
    std::fs::write(dir.join(name), bytes).expect("seed file");
}

fn main() {
    for (name, bytes) in store_files() {
        if name.starts_with("wal-") {
            // The first byte picks the record format: odd is format 2, the current one.
            write("decode_wal", &name, &[&[1u8][..], &bytes].concat());
        } else if name.starts_with("table-") {
            write("decode_table", &format!("{name}.footer"), &bytes[bytes.len() - 72..]);
            for (index, page) in bytes.chunks(256).take(8).enumerate() {
                write("decode_table", &format!("{name}.{index}"), page);
            }
        } else if name == "MANIFEST" {
            write("decode_manifest", &name, &bytes);
        }
        write("decode_manifest", &format!("name-{name}"), name.as_bytes());
    }
    let objects: [&[u8]; 4] = [
        br#"{"kind":"function","line":12,"exported":true}"#,
        br#"{"a":{"b":[1,2.5e-3,null,"\u00e9\n"]},"c":"d"}"#,
        br#" { } "#,
        br#"{"nested":[[[[{"deep":"x"}]]]],"k":false}"#,
    ];
    for (index, object) in objects.iter().enumerate() {
        write("json", &format!("object-{index}"), object);
    }
    // Operation streams: a seed (2 bytes), then operations (see each target's decoding).
    let mut rng = kausaldb_core::vfs::sim::SimRng::new(11);
    for index in 0..8 {
        let len = 64 + 64 * index;
        let bytes: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        write("engine_ops", &format!("ops-{index}"), &bytes);
        let mut c_api = vec![0u8, 0, 0];
        c_api.extend(&bytes);
        write("c_api", &format!("calls-{index}"), &c_api);
        write("recovery", &format!("damage-{index}"), &bytes[..4 + 2 * index]);
    }
}
