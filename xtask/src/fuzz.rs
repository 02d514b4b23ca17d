//! `cargo xtask fuzz [TARGET] [--seconds N] [--seeds]`: the coverage-guided fuzz targets in
//! fuzz/ (cargo-fuzz, libFuzzer, AddressSanitizer; nightly), each for N seconds (default
//! 60), from its committed seeds (fuzz/seeds/TARGET) and its growing local corpus
//! (fuzz/corpus/TARGET, not committed). Prints the executions per target and appends them
//! to target/fuzz-executions.log. A finding stops the run with the input's path and the
//! command that replays it. `--seeds` rewrites the seed corpora from a fresh store (after a
//! format change); `--minimize` folds the local corpora into the committed minimized ones
//! (fuzz/minimized/TARGET), which the normal tests replay.

use std::process::Command;
use std::time::Instant;

use crate::{root, run, Result};

/// Every target, in the order CI runs them (fuzz/Cargo.toml lists what each one checks).
pub const TARGETS: [&str; 7] =
    ["decode_wal", "decode_table", "decode_manifest", "json", "engine_ops", "recovery", "c_api"];

/// cargo-fuzz is a cargo subcommand from crates.io; installing takes ~40 s on 2 cores.
fn set_up() -> Result {
    crate::install_cargo_subcommand("fuzz", "cargo-fuzz")
}

pub fn fuzz(args: &[String]) -> Result {
    let value = |flag: &str| {
        args.iter().position(|arg| arg == flag).and_then(|at| args.get(at + 1)).cloned()
    };
    let seconds: u64 = match value("--seconds") {
        Some(text) => text.parse().map_err(|_| format!("--seconds {text}: not a number"))?,
        None => 60,
    };
    if args.iter().any(|arg| arg == "--minimize") {
        set_up()?;
        return minimize();
    }
    if args.iter().any(|arg| arg == "--seeds") {
        let _ = std::fs::remove_dir_all(root().join("fuzz/seeds"));
        let example = ["run", "-q", "-p", "kausaldb-fuzz-targets", "--example", "seeds"];
        return run("cargo", &example, &[]);
    }
    set_up()?;
    let named: Vec<&str> = args
        .iter()
        .enumerate()
        .filter(|(at, arg)| !arg.starts_with("--") && (*at == 0 || args[at - 1] != "--seconds"))
        .map(|(_, arg)| arg.as_str())
        .collect();
    let targets: Vec<&str> = if named.is_empty() { TARGETS.to_vec() } else { named };
    if let Some(unknown) = targets.iter().find(|target| !TARGETS.contains(target)) {
        return Err(format!("no fuzz target {unknown}; targets: {}", TARGETS.join(", ")));
    }
    run("cargo", &["+nightly", "fuzz", "build", "--fuzz-dir", "fuzz"], &[])?;
    let mut total = 0u64;
    for target in targets {
        total += run_target(target, seconds)?;
    }
    eprintln!("xtask: fuzz: {total} executions in all");
    Ok(())
}

/// Targets whose minimized corpora are committed (fuzz/minimized/): all but `json`, whose
/// corpus is large (1,600 inputs) and whose module the unit tests and seeds already cover.
const MINIMIZED: [&str; 6] =
    ["decode_wal", "decode_table", "decode_manifest", "engine_ops", "recovery", "c_api"];

/// `--minimize`: merges each target's committed minimized corpus into its local one, keeps
/// the inputs that add coverage (`cargo fuzz cmin`), and commits-ready copies them back to
/// fuzz/minimized/TARGET, which `cargo xtask test` replays and coverage counts.
fn minimize() -> Result {
    for target in MINIMIZED {
        let corpus = root().join("fuzz/corpus").join(target);
        let minimized = root().join("fuzz/minimized").join(target);
        std::fs::create_dir_all(&corpus).map_err(|error| format!("{target}: {error}"))?;
        for entry in std::fs::read_dir(&minimized).into_iter().flatten().flatten() {
            let _ = std::fs::copy(entry.path(), corpus.join(entry.file_name()));
        }
        let corpus_text = corpus.to_str().ok_or("non-UTF-8 path")?;
        run(
            "cargo",
            &["+nightly", "fuzz", "cmin", "--fuzz-dir", "fuzz", target, corpus_text],
            &[],
        )?;
        let _ = std::fs::remove_dir_all(&minimized);
        std::fs::create_dir_all(&minimized).map_err(|error| format!("{target}: {error}"))?;
        for entry in std::fs::read_dir(&corpus).map_err(|error| format!("{target}: {error}"))? {
            let entry = entry.map_err(|error| format!("{target}: {error}"))?;
            std::fs::copy(entry.path(), minimized.join(entry.file_name()))
                .map_err(|error| format!("{target}: {error}"))?;
        }
    }
    Ok(())
}

/// Runs one target for `seconds`; returns how many inputs it ran.
fn run_target(target: &str, seconds: u64) -> Result<u64> {
    let corpus = format!("fuzz/corpus/{target}");
    let seeds = format!("fuzz/seeds/{target}");
    let minimized = format!("fuzz/minimized/{target}");
    std::fs::create_dir_all(root().join(&corpus)).map_err(|error| format!("{corpus}: {error}"))?;
    let time = format!("-max_total_time={seconds}");
    let mut args = vec!["+nightly", "fuzz", "run", "--fuzz-dir", "fuzz", target, &corpus, &seeds];
    if root().join(&minimized).is_dir() {
        args.push(&minimized);
    }
    args.push("--");
    // An input that runs 10 s is a finding too: the engine must never loop on bad bytes.
    let options = [time.as_str(), "-timeout=10", "-print_final_stats=1"];
    let args: Vec<&str> = args.into_iter().chain(options).collect();
    eprintln!("xtask: $ cargo {}", args.join(" "));
    let started = Instant::now();
    let output = Command::new("cargo")
        .args(&args)
        .current_dir(root())
        .output()
        .map_err(|error| format!("cannot start cargo fuzz: {error}"))?;
    let log = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        let tail: Vec<&str> = log.lines().rev().take(60).collect();
        eprintln!("{}", tail.into_iter().rev().collect::<Vec<_>>().join("\n"));
        return Err(format!(
            "fuzz target {target} found a failure (above: the input's path under \
             fuzz/artifacts/{target}/; replay: cargo +nightly fuzz run --fuzz-dir fuzz \
             {target} <input>; then copy it to fuzz/regressions/{target}/, named for the bug)"
        ));
    }
    let executions = log
        .lines()
        .find_map(|line| line.strip_prefix("stat::number_of_executed_units:"))
        .and_then(|count| count.trim().parse::<u64>().ok())
        .ok_or_else(|| format!("fuzz target {target}: no execution count in its output"))?;
    let elapsed = started.elapsed().as_secs_f64();
    let line = format!("{target}: {executions} executions in {elapsed:.0} s ({seconds} s asked)");
    eprintln!("xtask: fuzz: {line}");
    let log_path = root().join("target/fuzz-executions.log");
    let mut previous = std::fs::read_to_string(&log_path).unwrap_or_default();
    previous.push_str(&line);
    previous.push('\n');
    let _ = std::fs::write(&log_path, previous);
    Ok(executions)
}
