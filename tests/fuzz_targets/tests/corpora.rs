//! Every fuzz target on its committed seeds (`fuzz/seeds/TARGET/`), on every input that
//! once found a bug (`fuzz/regressions/TARGET/`, named after the bug) and on its committed
//! minimized corpus (`fuzz/minimized/TARGET/`: the inputs that reach every branch the
//! fuzzer found, `cargo xtask fuzz --minimize`), on stable, in the normal suite: a finding,
//! once fixed, is a regression test for good, and what the fuzzer explored stays explored. With
//! `KAUSAL_FUZZ_CORPUS=1` (set by `cargo xtask coverage`) the local corpora the fuzzer grew
//! (`fuzz/corpus/TARGET/`) are replayed too.

use std::path::{Path, PathBuf};

use kausaldb_fuzz_targets::TARGETS;

fn inputs(target: &str) -> Vec<PathBuf> {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut dirs = vec![
        fuzz.join("seeds").join(target),
        fuzz.join("regressions").join(target),
        fuzz.join("minimized").join(target),
    ];
    if std::env::var("KAUSAL_FUZZ_CORPUS").is_ok_and(|value| value == "1") {
        dirs.push(fuzz.join("corpus").join(target));
    }
    let mut files: Vec<PathBuf> = dirs
        .iter()
        .filter_map(|dir| std::fs::read_dir(dir).ok())
        .flatten()
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

fn replay(name: &str) {
    let (_, run) = TARGETS.iter().find(|(target, _)| *target == name).expect("a known target");
    let files = inputs(name);
    assert!(!files.is_empty(), "{name}: no seeds in fuzz/seeds/{name}");
    for file in &files {
        // A running fuzzer may replace a local corpus file while this reads the directory.
        let Ok(bytes) = std::fs::read(file) else { continue };
        if std::panic::catch_unwind(|| run(&bytes)).is_err() {
            panic!(
                "{name} fails on {} (replay under the fuzzer: cargo +nightly fuzz run \
                 --fuzz-dir fuzz {name} {})",
                file.display(),
                file.display()
            );
        }
    }
    eprintln!("{name}: {} inputs passed", files.len());
}

macro_rules! corpus_tests {
    ($($test:ident => $target:literal),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                replay($target);
            }
        )*

        #[test]
        fn every_target_has_a_replay_test() {
            let tested = [$($target),*];
            for (target, _) in TARGETS {
                assert!(tested.contains(&target), "{target} has no corpus test");
            }
        }
    };
}

corpus_tests! {
    the_wal_decoders_pass_their_corpus => "decode_wal",
    the_table_decoders_pass_their_corpus => "decode_table",
    the_manifest_and_name_decoders_pass_their_corpus => "decode_manifest",
    the_json_validator_passes_its_corpus => "json",
    the_engine_passes_its_operation_corpus => "engine_ops",
    recovery_passes_its_damage_corpus => "recovery",
    the_c_api_passes_its_call_corpus => "c_api",
}
