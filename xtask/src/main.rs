//! `cargo xtask <task>`: the one entry point for every developer task.
//!
//! - `test [--filter X] [--seed N] [--iterations N]`: every test of the workspace; a seed
//!   replays one randomised case, iterations sets how many seeds randomised tests run.
//! - `check [--fix]`: formatting, clippy (warnings are errors), the no_std build for
//!   thumbv7em-none-eabihf with a link that has no allocator, and the tidy rules.
//! - `header`: regenerates include/kausaldb.h from ffi/ with the pinned cbindgen.
//! - `miri`: the unit tests of the core (region carving included) under Miri.
//! - `bench [name]`: the criterion benchmarks.
//! - `demo [directory]`: the main job — ingest a small code graph, reopen, query.
//! - `ci`: exactly what CI runs: set-up, check, test with 1,000 seeds, miri, demo,
//!   benchmark build.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

const NO_STD_TARGET: &str = "thumbv7em-none-eabihf";
const CI_ITERATIONS: &str = "1000";
const LINE_COLUMNS_MAX: usize = 100;

type Result<T = ()> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let started = Instant::now();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(&args[1..]),
        Some("check") => check(args.iter().any(|arg| arg == "--fix")),
        Some("miri") => miri(),
        Some("header") => header(false),
        Some("bench") => bench(&args[1..]),
        Some("demo") => demo(&args[1..]),
        Some("ci") => ci(),
        _ => Err(usage()),
    };
    match result {
        Ok(()) => {
            eprintln!("xtask: done in {:.1} s", started.elapsed().as_secs_f64());
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

fn usage() -> String {
    "usage: cargo xtask <test [--filter X] [--seed N] [--iterations N] | check [--fix] | header \
     | miri | bench [name] | demo [dir] | ci>"
        .to_string()
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// Runs a command from the workspace root; fails with the command line if it fails.
fn run(program: &str, args: &[&str], envs: &[(&str, &str)]) -> Result {
    eprintln!("xtask: $ {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .envs(envs.iter().copied())
        .current_dir(root())
        .status()
        .map_err(|error| format!("cannot start {program}: {error}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("failed ({status}): {program} {}", args.join(" ")))
    }
}

fn flag_value<'a>(args: &'a [String], flag: &str) -> Result<Option<&'a str>> {
    match args.iter().position(|arg| arg == flag) {
        None => Ok(None),
        Some(index) => args
            .get(index + 1)
            .map(|value| Some(value.as_str()))
            .ok_or(format!("{flag} needs a value")),
    }
}

fn test(args: &[String]) -> Result {
    let filter = flag_value(args, "--filter")?;
    let seed = flag_value(args, "--seed")?;
    let iterations = flag_value(args, "--iterations")?;
    let mut envs = Vec::new();
    if let Some(seed) = seed {
        seed.parse::<u64>().map_err(|_| format!("--seed {seed}: not a number"))?;
        envs.push(("KAUSAL_SEED", seed));
    }
    if let Some(iterations) = iterations {
        iterations
            .parse::<u64>()
            .map_err(|_| format!("--iterations {iterations}: not a number"))?;
        envs.push(("KAUSAL_ITERATIONS", iterations));
    }
    run_tests(filter, &envs)
}

/// Every test of the workspace (unit, integration, model, fault, POSIX).
fn run_tests(filter: Option<&str>, envs: &[(&str, &str)]) -> Result {
    let mut cargo_args = vec!["test", "--workspace", "--exclude", "xtask"];
    cargo_args.extend(["--features", "kausaldb-core/posix", "--", "--test-threads", "2"]);
    cargo_args.extend(filter);
    run("cargo", &cargo_args, envs)
}

fn check(fix: bool) -> Result {
    if fix {
        run("cargo", &["fmt", "--all"], &[])?;
    } else {
        run("cargo", &["fmt", "--all", "--", "--check"], &[])?;
    }
    let clippy = [
        "clippy",
        "--workspace",
        "--all-targets",
        "--features",
        "kausaldb-core/posix",
        "--",
        "-D",
        "warnings",
    ];
    run("cargo", &clippy, &[])?;
    no_std_build()?;
    header(!fix)?;
    tidy()
}

/// Generates the C header from ffi/ with cbindgen; with `check_only`, fails if the committed
/// header differs instead of writing it.
fn header(check_only: bool) -> Result {
    let config = cbindgen::Config::from_file(root().join("cbindgen.toml"))
        .map_err(|error| format!("cbindgen.toml: {error}"))?;
    let bindings = cbindgen::Builder::new()
        .with_crate(root().join("ffi"))
        .with_config(config)
        .generate()
        .map_err(|error| format!("cbindgen: {error}"))?;
    let mut generated = Vec::new();
    bindings.write(&mut generated);
    let path = root().join("include/kausaldb.h");
    let committed = std::fs::read(&path).unwrap_or_default();
    if committed == generated {
        eprintln!("xtask: include/kausaldb.h is up to date");
        return Ok(());
    }
    if check_only {
        return Err(
            "include/kausaldb.h is stale: run cargo xtask header (or check --fix)".to_string()
        );
    }
    std::fs::create_dir_all(root().join("include")).map_err(|error| error.to_string())?;
    std::fs::write(&path, generated).map_err(|error| format!("{}: {error}", path.display()))?;
    eprintln!("xtask: wrote include/kausaldb.h");
    Ok(())
}

/// Builds the core for a bare-metal target, then links a `no_main` binary that opens an
/// engine on a static region: with no `#[global_allocator]` anywhere, any allocation in the
/// core would fail to link.
fn no_std_build() -> Result {
    run("cargo", &["build", "-p", "kausaldb-core", "--target", NO_STD_TARGET], &[])?;
    let manifest = root().join("tests/nostd/Cargo.toml");
    let manifest = manifest.to_str().ok_or("non-UTF-8 path")?;
    let target_dir = root().join("target/nostd");
    let target_dir = target_dir.to_str().ok_or("non-UTF-8 path")?;
    let args = [
        "build",
        "--release",
        "--manifest-path",
        manifest,
        "--target",
        NO_STD_TARGET,
        "--target-dir",
        target_dir,
    ];
    run("cargo", &args, &[])
}

/// The project's own rules, checked over the source tree.
fn tidy() -> Result {
    let mut problems = Vec::new();
    let mut files = Vec::new();
    for directory in ["core", "ffi", "xtask", "bench", "tests"] {
        collect_rust_files(&root().join(directory), &mut files);
    }
    for file in &files {
        let text = std::fs::read_to_string(file)
            .map_err(|error| format!("{}: {error}", file.display()))?;
        let relative = file.strip_prefix(root()).unwrap_or(file).display().to_string();
        for (number, line) in text.lines().enumerate() {
            if line.chars().count() > LINE_COLUMNS_MAX {
                problems.push(format!(
                    "{relative}:{}: longer than {LINE_COLUMNS_MAX} columns",
                    number + 1
                ));
            }
        }
        if relative.starts_with("core/src") {
            tidy_core_file(&relative, &text, &mut problems);
        }
    }
    if problems.is_empty() {
        eprintln!("xtask: tidy: {} files clean", files.len());
        Ok(())
    } else {
        Err(format!("tidy found {} problems:\n  {}", problems.len(), problems.join("\n  ")))
    }
}

/// Core rules: no alloc; no unwrap/expect/panic!/todo!/unimplemented!/unreachable! outside
/// test code, unless the line says why it cannot be reached (`// INVARIANT: ...`).
fn tidy_core_file(relative: &str, text: &str, problems: &mut Vec<String>) {
    const BANNED: [&str; 6] =
        [".unwrap()", ".expect(", "panic!(", "todo!(", "unimplemented!(", "unreachable!("];
    for (number, line) in text.lines().enumerate() {
        if line.contains("#[cfg(test)]") {
            break;
        }
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        if code.contains("extern crate alloc")
            || code.contains("alloc::") && !code.contains("core::alloc")
        {
            problems.push(format!("{relative}:{}: the core must not use alloc", number + 1));
        }
        if BANNED.iter().any(|banned| code.contains(banned)) && !code.contains("// INVARIANT:") {
            problems.push(format!(
                "{relative}:{}: may panic; return an error or justify with // INVARIANT:",
                number + 1
            ));
        }
    }
}

fn collect_rust_files(directory: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(directory) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.file_name().is_some_and(|name| name == "target") {
            continue;
        }
        if path.is_dir() {
            collect_rust_files(&path, files);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            files.push(path);
        }
    }
}

fn miri() -> Result {
    // Miri runs the unit tests of the core: region carving (the unsafe), memtable, WAL format.
    let envs = [("MIRIFLAGS", "-Zmiri-strict-provenance")];
    run("cargo", &["+nightly", "miri", "test", "-p", "kausaldb-core", "--lib"], &envs)
}

fn bench(args: &[String]) -> Result {
    let mut cargo_args = vec!["bench", "-p", "kausaldb-bench"];
    if let Some(name) = args.first() {
        cargo_args.extend(["--", name.as_str()]);
    }
    run("cargo", &cargo_args, &[])
}

fn demo(args: &[String]) -> Result {
    let mut cargo_args = vec!["run", "--release", "-p", "kausaldb-core", "--features", "posix"];
    cargo_args.extend(["--example", "codegraph"]);
    if let Some(directory) = args.first() {
        cargo_args.extend(["--", directory.as_str()]);
    }
    run("cargo", &cargo_args, &[])
}

/// Installs what the checks and tests need: idempotent, so every run may call it.
/// Returns whether a nightly toolchain (for Miri) is available.
fn set_up() -> Result<bool> {
    run("rustup", &["target", "add", NO_STD_TARGET], &[])?;
    run("rustup", &["component", "add", "clippy", "rustfmt"], &[])?;
    let nightly = Command::new("rustup")
        .args(["run", "nightly", "rustc", "--version"])
        .output()
        .is_ok_and(|output| output.status.success());
    if nightly {
        run("rustup", &["+nightly", "component", "add", "miri", "rust-src"], &[])?;
        run("cargo", &["+nightly", "miri", "setup"], &[])?;
    }
    Ok(nightly)
}

fn ci() -> Result {
    let nightly = set_up()?;
    check(false)?;
    run_tests(None, &[("KAUSAL_ITERATIONS", CI_ITERATIONS)])?;
    if nightly {
        miri()?;
    } else {
        // Only a machine without any nightly toolchain gets here; say so loudly.
        eprintln!("xtask: WARNING: no nightly toolchain, Miri NOT run");
    }
    demo(&[])?;
    run("cargo", &["bench", "-p", "kausaldb-bench", "--no-run"], &[])
}
