//! `cargo xtask <task>`: the one entry point for every developer task.
//!
//! - `test [--filter X] [--seed N] [--iterations N] [--valgrind]`: every Rust test and the C
//!   harness; a seed replays one randomised case, iterations sets how many seeds randomised
//!   tests run, `--valgrind` adds the C programs under valgrind (always on in `ci`); and
//!   tests/server, `kausal mcp` driven by the reference MCP client (the Python SDK).
//! - `check [--fix]`: formatting, clippy (warnings are errors), the no_std build for
//!   thumbv7em-none-eabihf with a link that has no allocator, and the tidy rules.
//! - `header`: regenerates include/kausaldb.h from ffi/ with the pinned cbindgen.
//! - `miri`: the unit tests of the core (region carving included) under Miri.
//! - `fuzz [target...] [--seconds N] [--seeds]`: the coverage-guided fuzz targets in fuzz/
//!   (cargo-fuzz, nightly), N seconds each (default 60); see xtask/src/fuzz.rs.
//! - `firmware [--first S] [--seeds N]`: the C firmware of examples/firmware on QEMU's
//!   Cortex-M4 (mps2-an386) over N power-cut seeds from S; it reports its region, the stack
//!   of every public call and the flash wear. `size`: the engine's code in that image and
//!   by group of calls, the storage calls' checked against the budget. See
//!   xtask/src/firmware.rs.
//! - `coverage`: line and branch coverage of core/src from its tests and the fuzz corpora
//!   (cargo-llvm-cov, nightly), with floors; see xtask/src/coverage.rs.
//! - `bench [name]`: the criterion benchmarks (`engine`, `tables`, `graph`, `peers`); `peers`
//!   compares KausalDB with SQLite, LMDB, redb and fjall and writes bench/RESULTS.md;
//!   `report` rewrites RESULTS.md from the last run; `mcp` times `kausal mcp` round trips
//!   from a client on the SQLite amalgamation and on this repository.
//! - `scale [blocks] [edges_per_block] [--host-compaction] [--host-flush]
//!   [--flush-in-steps]`: a store far larger than its 16 MiB region (default 300,000 blocks
//!   of 1 KiB and 5 edges each), checked before and after a crash; with `--host-compaction`
//!   the host runs compaction between its writes, with `--host-flush` it writes out frozen
//!   memtables there too; with `--flush-in-steps` the writes take a frozen memtable's steps.
//! - `listing-cost`: instructions and cache misses per edge listing and per 3-hop traversal
//!   at the benchmarks' realistic config, counted under callgrind (the same on every run,
//!   unlike timings on a shared machine); see bench/src/bin/listing_cost.rs.
//! - `merge-cost`: the same counts per record of a compaction's merge (four block tables;
//!   four edge tables); see bench/src/bin/merge_cost.rs.
//! - `ingest-cost`: the same counts per edge written into the scale run's 16 MiB region,
//!   its flushes and compactions included; see bench/src/bin/ingest_cost.rs.
//! - `demo [tree]`: the main job — build `kausal`, index a source tree (default: this
//!   repository) into target/kausal-demo, and ask who calls `Engine::open`.
//! - `accuracy`: `kausal`'s calls against extractors it did not write, on real code: the C
//!   compiler's call graph (SQLite, LMDB, tree-sitter) and Python's `ast` (its stdlib).
//! - `install --prefix P [--destdir D]`: the C library, header and `kausaldb.pc` under `D/P`.
//! - `ci`: exactly what CI runs: set-up, check, test with 1,000 seeds, an install into a
//!   scratch prefix built against with pkg-config, the firmware on QEMU, the CRC tests on
//!   aarch64 (qemu-aarch64), miri, every fuzz target for 10 s, demo, the README program,
//!   benchmark build.
// A host tool: runs on 64-bit hosts only; its measurements cast freely.
#![allow(clippy::cast_possible_truncation, missing_debug_implementations)]

mod accuracy;
mod coverage;
mod firmware;
mod fuzz;
mod results;
mod tidy;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

const NO_STD_TARGET: &str = "thumbv7em-none-eabihf";
const CI_ITERATIONS: &str = "1000";
/// Seconds each fuzz target runs in CI: 7 targets, about 1.5 minutes with the build's 2.
const CI_FUZZ_SECONDS: u32 = 10;

type Result<T = ()> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let started = Instant::now();
    let result = run_task(&args);
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

/// The flags each task takes: with a value, without one, and how many positional arguments.
/// Anything else is refused, so a mistyped flag never runs a different job than asked.
fn accepted(task: &str) -> Option<(&'static [&'static str], &'static [&'static str], usize)> {
    Some(match task {
        "test" => (&["--filter", "--seed", "--iterations"], &["--valgrind"], 0),
        "check" => (&[], &["--fix"], 0),
        "miri" | "header" | "ci" | "accuracy" | "coverage" => (&[], &[], 0),
        "bench" | "demo" => (&[], &[], 1),
        "install" => (&["--prefix", "--destdir"], &[], 0),
        "scale" => (&[], &["--host-compaction", "--host-flush", "--flush-in-steps"], 2),
        "firmware" => (&["--first", "--seeds"], &[], 0),
        "size" | "listing-cost" | "merge-cost" | "ingest-cost" => (&[], &[], 0),
        "fuzz" => (&["--seconds"], &["--seeds", "--minimize"], fuzz::TARGETS.len()),
        _ => return None,
    })
}

/// Refuses flags the task does not take and positional arguments beyond its count.
fn check_arguments(task: &str, args: &[String]) -> Result {
    let (valued, switches, positional_max) = accepted(task).ok_or_else(usage)?;
    let (mut positional, mut index) = (0, 0);
    while index < args.len() {
        let arg = args[index].as_str();
        if valued.contains(&arg) {
            index += 1;
            if index == args.len() {
                return Err(format!("{arg} needs a value"));
            }
        } else if switches.contains(&arg) {
        } else if arg.starts_with('-') {
            return Err(format!("{task} does not take {arg}\n{}", usage()));
        } else {
            positional += 1;
            if positional > positional_max {
                return Err(format!("{task}: unexpected argument {arg}\n{}", usage()));
            }
        }
        index += 1;
    }
    Ok(())
}

fn run_task(args: &[String]) -> Result {
    let task = args.first().map(String::as_str).ok_or_else(usage)?;
    let rest = &args[1..];
    check_arguments(task, rest)?;
    match task {
        "test" => test(rest),
        "check" => check(rest.iter().any(|arg| arg == "--fix")),
        "miri" => miri(),
        "header" => header(false),
        "bench" => bench(rest),
        "demo" => demo(rest),
        "accuracy" => accuracy::accuracy(),
        "scale" => scale(rest),
        "listing-cost" => listing_cost(),
        "merge-cost" => merge_cost(),
        "ingest-cost" => ingest_cost(),
        "fuzz" => fuzz::fuzz(rest),
        "coverage" => coverage::coverage(),
        "firmware" => firmware::firmware(rest),
        "size" => firmware::size(),
        "ci" => ci(),
        "install" => install(rest),
        _ => Err(usage()),
    }
}

fn usage() -> String {
    "usage: cargo xtask <test [--filter X] [--seed N] [--iterations N] [--valgrind] \
     | check [--fix] | header | miri | coverage | firmware [--first S] [--seeds N] | size \
     | fuzz [target...] [--seconds N] [--seeds] [--minimize] | bench [name] \
     | scale [blocks] [edges] [--host-compaction] [--host-flush] [--flush-in-steps] \
     | listing-cost | merge-cost | ingest-cost | demo [tree] | accuracy \
     | install --prefix P [--destdir D] | ci>"
        .to_string()
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// Installs the cargo subcommand `name` from crates.io (`package`) unless it runs already.
fn install_cargo_subcommand(name: &str, package: &str) -> Result {
    let installed = Command::new("cargo")
        .args([name, "--version"])
        .output()
        .is_ok_and(|output| output.status.success());
    if installed {
        return Ok(());
    }
    run("cargo", &["install", package, "--locked"], &[])
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
    run_tests(filter, &envs)?;
    if filter.is_none_or(|filter| "c_api".contains(filter) || filter.starts_with("test_")) {
        // valgrind takes most of a minute; the fast loop leaves it to `ci` and `--valgrind`.
        c_tests(&envs, args.iter().any(|arg| arg == "--valgrind"))?;
    }
    if filter.is_none_or(|filter| "server mcp".contains(filter)) {
        server_tests()?;
    }
    Ok(())
}

/// The seed's tests/server: `kausal mcp` driven by the reference MCP client (the Python
/// SDK, pinned in tests/server/requirements.txt, installed into target/server-venv) and by
/// raw JSON-RPC lines. Runs the binary the workspace tests built.
fn server_tests() -> Result {
    let venv = root().join("target/server-venv");
    let python = venv.join("bin/python");
    if !python.exists() {
        run("python3", &["-m", "venv", venv.to_str().ok_or("non-UTF-8 path")?], &[])?;
    }
    let python = python.to_str().ok_or("non-UTF-8 path")?;
    let requirements = "tests/server/requirements.txt";
    run(python, &["-m", "pip", "install", "-q", "-r", requirements], &[])?;
    run("cargo", &["build", "-p", "kausaldb-cli"], &[])?;
    let kausal = root().join("target/debug/kausal");
    let kausal = kausal.to_str().ok_or("non-UTF-8 path")?;
    run(python, &["tests/server/test_sdk.py", kausal], &[])?;
    run(python, &["tests/server/test_raw.py", kausal], &[])
}

/// Every test of the workspace (unit, integration, model, fault, POSIX), then the core's
/// unit, model, query and cost tests again with `small-code` (its heapsort, exact number
/// filter, single edge listing and compact XXH3 are what the firmware runs; the fault,
/// crash and POSIX suites exercise no code of its own and took 64 s more). The second pass
/// runs the randomised tests at their default seed counts: `KAUSAL_ITERATIONS` is for the
/// first (at CI's 1,000 seeds the second pass took 556 s on 2 cores), `KAUSAL_SEED` replays
/// both.
fn run_tests(filter: Option<&str>, envs: &[(&str, &str)]) -> Result {
    let mut cargo_args = vec!["test", "--workspace", "--exclude", "xtask"];
    cargo_args.extend(["--features", "kausaldb-core/posix", "--", "--test-threads", "2"]);
    cargo_args.extend(filter);
    run("cargo", &cargo_args, envs)?;
    let mut small_code = vec!["test", "-p", "kausaldb-core", "--features", "posix,small-code"];
    small_code.extend(["--lib", "--test", "model", "--test", "query", "--test", "costs"]);
    small_code.extend(["--", "--test-threads", "2"]);
    small_code.extend(filter);
    let small_envs: Vec<(&str, &str)> =
        envs.iter().copied().filter(|(name, _)| *name != "KAUSAL_ITERATIONS").collect();
    run("cargo", &small_code, &small_envs)
}

/// Flags every C test and example is compiled with.
const C_FLAGS: [&str; 7] =
    ["-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-Iinclude", "-Itests/c"];
/// What a program linked against libkausaldb.a needs (rustc --print native-static-libs).
const STATIC_LIBS: [&str; 6] = ["-lpthread", "-ldl", "-lm", "-lrt", "-lutil", "-lgcc_s"];
const SANITIZERS: [&str; 3] =
    ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"];

/// How one C program is built and run.
#[derive(Clone, Copy, PartialEq)]
enum CBuild {
    Shared,
    Static,
    Sanitized,
    Valgrind,
}

/// The C harness: every test in tests/c and every example in examples/c, compiled with
/// warnings as errors against the shared and the static library, run plain, under ASan and
/// UBSan, and under valgrind memcheck; the header also compiled and linked as C++.
fn c_tests(envs: &[(&str, &str)], valgrind: bool) -> Result {
    run("cargo", &["build", "-p", "kausaldb-ffi"], &[])?;
    // Programs linked against the library load it by its soname.
    link_soname(&root().join("target/debug"))?;
    let out = root().join("target/c");
    std::fs::create_dir_all(&out).map_err(|error| error.to_string())?;
    let mut programs: Vec<PathBuf> = Vec::new();
    for directory in ["tests/c", "examples/c"] {
        let entries =
            std::fs::read_dir(root().join(directory)).map_err(|error| error.to_string())?;
        programs.extend(
            entries
                .flatten()
                .map(|entry| entry.path())
                .filter(|path| path.extension().is_some_and(|extension| extension == "c")),
        );
    }
    programs.sort();
    sanitizer_canary(&out)?;
    for program in &programs {
        for build in [CBuild::Shared, CBuild::Static, CBuild::Sanitized, CBuild::Valgrind] {
            if build != CBuild::Valgrind || valgrind {
                c_program(program, build, &out, envs)?;
            }
        }
    }
    // The header in C++ at the oldest and a current standard hosts use.
    for standard in ["-std=c++11", "-std=c++17"] {
        let cpp = out.join(format!("header_cpp{}", &standard[5..]));
        let cpp_path = cpp.to_str().ok_or("non-UTF-8 path")?;
        let args = [standard, "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-Iinclude"];
        let mut args: Vec<&str> = args.to_vec();
        let rpath = format!("-Wl,-rpath,{}", root().join("target/debug").display());
        args.extend(["tests/c/header_cpp.cpp", "-Ltarget/debug", "-lkausaldb", &rpath]);
        args.extend(["-o", cpp_path]);
        run("g++", &args, &[])?;
        run(cpp_path, &[], envs)?;
    }
    let builds = if valgrind {
        "shared, static, ASan+UBSan, valgrind"
    } else {
        "shared, static, ASan+UBSan"
    };
    eprintln!(
        "xtask: C harness: {} programs passed ({builds}); header compiles as C++11 and C++17",
        programs.len()
    );
    Ok(())
}

/// The library's major version, its soname and its file name with the full version.
fn library_names() -> (String, String) {
    let version = env!("CARGO_PKG_VERSION");
    let major = version.split('.').next().unwrap_or("0");
    (format!("libkausaldb.so.{major}"), format!("libkausaldb.so.{version}"))
}

/// Points `libkausaldb.so.<major>` (the soname programs load) at the built library.
fn link_soname(directory: &Path) -> Result {
    let (soname, _) = library_names();
    let link = directory.join(&soname);
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink("libkausaldb.so", &link)
        .map_err(|error| format!("{}: {error}", link.display()))
}

/// Proves the sanitizers are really linked: a deliberate heap overflow must be caught.
fn sanitizer_canary(out: &Path) -> Result {
    let source = out.join("canary.c");
    let text = "#include <stdlib.h>\nint main(void) { volatile char *p = malloc(8); p[8] = 1; \
                free((void *)p); return 0; }\n";
    std::fs::write(&source, text).map_err(|error| error.to_string())?;
    let binary = out.join("canary");
    let (source, binary) = (source.to_str().ok_or("path")?, binary.to_str().ok_or("path")?);
    let mut args = SANITIZERS.to_vec();
    args.extend([source, "-o", binary]);
    run("gcc", &args, &[])?;
    let output = Command::new(binary).output().map_err(|error| error.to_string())?;
    let report = String::from_utf8_lossy(&output.stderr);
    if output.status.success() || !report.contains("heap-buffer-overflow") {
        return Err("AddressSanitizer did not catch the canary overflow".to_string());
    }
    eprintln!("xtask: AddressSanitizer caught the canary overflow: sanitizers are live");
    Ok(())
}

fn c_program(source: &Path, build: CBuild, out: &Path, envs: &[(&str, &str)]) -> Result {
    let stem = source.file_stem().and_then(|stem| stem.to_str()).ok_or("bad C file name")?;
    let suffix = match build {
        CBuild::Shared | CBuild::Valgrind => "shared",
        CBuild::Static => "static",
        CBuild::Sanitized => "asan",
    };
    let binary = out.join(format!("{stem}-{suffix}"));
    let binary_text = binary.to_str().ok_or("non-UTF-8 path")?.to_string();
    let source_text =
        source.strip_prefix(root()).unwrap_or(source).to_str().ok_or("non-UTF-8 path")?;
    let mut args: Vec<String> = C_FLAGS.iter().map(|flag| flag.to_string()).collect();
    if build == CBuild::Sanitized {
        args.extend(SANITIZERS.iter().map(|flag| flag.to_string()));
    }
    args.push(source_text.to_string());
    match build {
        CBuild::Shared | CBuild::Valgrind => {
            let rpath = format!("-Wl,-rpath,{}", root().join("target/debug").display());
            args.extend(["-Ltarget/debug".to_string(), "-lkausaldb".to_string(), rpath]);
        }
        CBuild::Static | CBuild::Sanitized => {
            args.push("target/debug/libkausaldb.a".to_string());
            args.extend(STATIC_LIBS.iter().map(|flag| flag.to_string()));
        }
    }
    args.extend(["-o".to_string(), binary_text.clone()]);
    if build != CBuild::Valgrind {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run("gcc", &args, &[])?;
    }
    let store =
        std::env::temp_dir().join(format!("kausaldb-c-{stem}-{suffix}-{}", std::process::id()));
    let store_text = store.to_str().ok_or("non-UTF-8 path")?.to_string();
    let _ = std::fs::remove_dir_all(&store);
    let output = if build == CBuild::Valgrind {
        let valgrind = [
            "--error-exitcode=99",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect,possible",
            "-q",
            binary_text.as_str(),
            store_text.as_str(),
        ];
        run_capturing("valgrind", &valgrind, envs)?
    } else {
        run_capturing(&binary_text, &[&store_text], envs)?
    };
    let _ = std::fs::remove_dir_all(&store);
    if build == CBuild::Sanitized
        && stem.starts_with("test_")
        && !output.contains("built with AddressSanitizer")
    {
        return Err(format!("{stem}: the sanitized build does not report AddressSanitizer"));
    }
    Ok(())
}

/// Runs a program, echoes its output, and returns it; fails if the program fails.
fn run_capturing(program: &str, args: &[&str], envs: &[(&str, &str)]) -> Result<String> {
    eprintln!("xtask: $ {program} {}", args.join(" "));
    let output = Command::new(program)
        .args(args)
        .envs(envs.iter().copied())
        .current_dir(root())
        .output()
        .map_err(|error| format!("cannot start {program}: {error}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    eprint!("{stdout}{}", String::from_utf8_lossy(&output.stderr));
    if output.status.success() {
        Ok(stdout)
    } else {
        Err(format!("failed ({}): {program} {}", output.status, args.join(" ")))
    }
}

fn check(fix: bool) -> Result {
    // The bare-metal build needs its target; adding an installed one is a no-op.
    run("rustup", &["target", "add", NO_STD_TARGET], &[])?;
    // fuzz/ is a workspace of its own (nightly only): formatted here, built by `fuzz`.
    let fuzz_manifest = root().join("fuzz/Cargo.toml");
    let fuzz_manifest = fuzz_manifest.to_str().ok_or("non-UTF-8 path")?;
    if fix {
        run("cargo", &["fmt", "--all"], &[])?;
        run("cargo", &["fmt", "--manifest-path", fuzz_manifest], &[])?;
    } else {
        run("cargo", &["fmt", "--all", "--", "--check"], &[])?;
        run("cargo", &["fmt", "--manifest-path", fuzz_manifest, "--", "--check"], &[])?;
    }
    let clippy = [
        "clippy",
        "--workspace",
        "--all-targets",
        "--features",
        "kausaldb-core/posix,kausaldb-core/fuzzing",
        "--",
        "-D",
        "warnings",
    ];
    run("cargo", &clippy, &[])?;
    // The core's `small-code` paths are other code: linted too.
    let small_code = ["--features", "posix,small-code", "--", "-D", "warnings"];
    let clippy_small: Vec<&str> =
        ["clippy", "-p", "kausaldb-core", "--all-targets"].into_iter().chain(small_code).collect();
    run("cargo", &clippy_small, &[])?;
    no_std_build()?;
    header(!fix)?;
    // The rules' own tests (xtask is not part of `cargo xtask test`'s workspace run).
    run("cargo", &["test", "-q", "-p", "xtask"], &[])?;
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
/// engine on a static region (with no `#[global_allocator]` anywhere, any allocation in the
/// core would fail to link) and runs it on QEMU's Cortex-M4.
fn no_std_build() -> Result {
    run("cargo", &["build", "-p", "kausaldb-core", "--target", NO_STD_TARGET], &[])?;
    // The C library for firmware (the static library: bare metal has no cdylib): no_std, no
    // POSIX backend, no allocator; and with the smaller code paths too (`small-code`).
    let ffi = ["rustc", "-p", "kausaldb-ffi", "--target", NO_STD_TARGET, "--no-default-features"];
    let ffi: Vec<&str> = ffi.into_iter().chain(["--crate-type", "staticlib"]).collect();
    run("cargo", &ffi, &[])?;
    let small: Vec<&str> = ffi.into_iter().chain(["--features", "small-code"]).collect();
    run("cargo", &small, &[])?;
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
    run("cargo", &args, &[])?;
    // Runs it: it exits 0 only if the engine answered every read right after a crash.
    firmware::install_tools()?;
    let binary = root().join("target/nostd/thumbv7em-none-eabihf/release/kausaldb-nostd-check");
    firmware::run_on_qemu(binary.to_str().ok_or("non-UTF-8 path")?, &[])
}

/// The project's own rules, checked over the source tree (see `tidy.rs`).
fn tidy() -> Result {
    tidy::check(&root())
}

/// Installs Miri and its sysroot on the nightly toolchain (idempotent).
fn miri_set_up() -> Result {
    run("rustup", &["+nightly", "component", "add", "miri", "rust-src"], &[])?;
    run("cargo", &["+nightly", "miri", "setup"], &[])
}

fn miri() -> Result {
    miri_set_up()?;
    // Miri runs the unit tests that use the carved parts: the carving itself (the unsafe),
    // the memtable on them, and the whole engine (WAL, recovery, tables) on a small region.
    // The rest of the unit tests have no unsafe to check and take minutes under Miri.
    let envs = [("MIRIFLAGS", "-Zmiri-strict-provenance")];
    let args = [
        "+nightly",
        "miri",
        "test",
        "-p",
        "kausaldb-core",
        "--lib",
        "--",
        "region",
        "memtable",
        "engine",
    ];
    run("cargo", &args, &envs)?;
    // The decoders of bytes read from disk on a 32-bit target (thumbv7em's pointer width),
    // where arithmetic on lengths read from disk can overflow and a 64-bit host cannot.
    let narrow = ["+nightly", "miri", "test", "-p", "kausaldb-core", "--lib", "--target"];
    let narrow: Vec<&str> = narrow
        .into_iter()
        .chain(["i686-unknown-linux-gnu", "--", "table::format", "manifest", "wal::format"])
        .collect();
    run("cargo", &narrow, &envs)?;
    // The CRC instruction's unsafe: the CRC tests again, built for a CPU with SSE4.2 (Miri
    // cannot run `cpuid`, so only the compile-time feature reaches that path under it).
    let target_dir = root().join("target/miri-sse42");
    let target_dir = target_dir.to_str().ok_or("non-UTF-8 path")?;
    let envs =
        [("MIRIFLAGS", "-Zmiri-strict-provenance"), ("RUSTFLAGS", "-C target-feature=+sse4.2")];
    let crc =
        ["+nightly", "miri", "test", "-p", "kausaldb-core", "--lib", "--target-dir", target_dir];
    let crc: Vec<&str> = crc.into_iter().chain(["--", "crc32c"]).collect();
    run("cargo", &crc, &envs)
}

/// `bench peers` runs the side-by-side comparison and writes bench/RESULTS.md; any other
/// name runs that criterion benchmark target (`engine`, `tables`, `graph`); none runs all.
fn bench(args: &[String]) -> Result {
    if args.first().is_some_and(|name| name == "report") {
        // Rewrites RESULTS.md from the last `bench peers` run without running it again.
        return results::write(&root());
    }
    if args.first().is_some_and(|name| name == "mcp") {
        return accuracy::mcp_round_trip();
    }
    let mut cargo_args = vec!["bench", "-p", "kausaldb-bench"];
    if let Some(name) = args.first() {
        cargo_args.extend(["--bench", name.as_str()]);
    }
    run("cargo", &cargo_args, &[])?;
    if args.is_empty() || args.first().is_some_and(|name| name == "peers") {
        results::write(&root())?;
    }
    Ok(())
}

fn scale(args: &[String]) -> Result {
    let mut cargo_args = vec!["run", "--release", "-p", "kausaldb-bench", "--bin", "scale", "--"];
    cargo_args.extend(args.iter().map(String::as_str));
    run("cargo", &cargo_args, &[])
}

/// Listings of `listing_cost`'s measured pass.
const COST_LISTINGS: f64 = 20_000.0;
/// Traversals of its measured pass (`callees`, `callers`).
const COST_TRAVERSALS: f64 = 2_000.0;

/// `listing-cost`: builds the realistic graph's store once (target/listing-cost-store), then
/// counts each direction's measured listings and 3-hop traversals under callgrind and
/// prints the counts per listing and per traversal.
fn listing_cost() -> Result {
    let binary = cost_binary("listing_cost")?;
    let store = cost_store("listing-cost-store")?;
    run(&binary, &[&store, "build"], &[])?;
    for direction in ["out", "in"] {
        let (output, counts) = count_under_callgrind(&binary, &[&store, direction])?;
        print!("{output}");
        println!("{direction}: per listing {}", counts.per(COST_LISTINGS));
    }
    for query in ["callees", "callers"] {
        let (output, counts) = count_under_callgrind(&binary, &[&store, query])?;
        print!("{output}");
        println!("{query}: per 3-hop traversal {}", counts.per(COST_TRAVERSALS));
    }
    Ok(())
}

/// `merge-cost`: builds a store of four block tables and one of four edge tables
/// (target/merge-cost-store), then counts each one's compaction under callgrind and prints
/// the counts per merged record (the program says how many it merged).
fn merge_cost() -> Result {
    let binary = cost_binary("merge_cost")?;
    let store = cost_store("merge-cost-store")?;
    run(&binary, &[&store, "build"], &[])?;
    for kind in ["blocks", "edges"] {
        let (output, counts) = count_under_callgrind(&binary, &[&store, kind])?;
        print!("{output}");
        let records = printed_count(&output, "records: ")?;
        println!("{kind}: per merged record {}", counts.per(records));
    }
    Ok(())
}

/// `ingest-cost`: writes the scale run's edges (60,000 blocks of 1 KiB, 10 calls each) into
/// a new store at its 16 MiB config (target/ingest-cost-store), counting the calls' writes
/// under callgrind (their flushes and compactions included), and prints the counts per edge.
fn ingest_cost() -> Result {
    let binary = cost_binary("ingest_cost")?;
    let store = cost_store("ingest-cost-store")?;
    let (output, counts) = count_under_callgrind(&binary, &[&store])?;
    print!("{output}");
    let edges = printed_count(&output, "edges: ")?;
    println!("per edge written {}", counts.per(edges));
    Ok(())
}

/// The number a cost program printed after `label` on a line of its own.
fn printed_count(output: &str, label: &str) -> Result<f64> {
    let count = output.lines().find_map(|line| line.strip_prefix(label));
    count.and_then(|n| n.trim().parse().ok()).ok_or(format!("the program printed no {label:?}"))
}

/// Builds bench's `name` program; its path.
fn cost_binary(name: &str) -> Result<String> {
    run("cargo", &["build", "--release", "-p", "kausaldb-bench", "--bin", name], &[])?;
    let binary = root().join("target/release").join(name);
    Ok(binary.to_str().ok_or("non-UTF-8 path")?.to_string())
}

/// target/`name`, removed: a store of another build of the format would be read as it is,
/// so the cost programs always build theirs afresh.
fn cost_store(name: &str) -> Result<String> {
    let store = root().join("target").join(name);
    let _ = std::fs::remove_dir_all(&store);
    Ok(store.to_str().ok_or("non-UTF-8 path")?.to_string())
}

/// Callgrind's totals over a program's `measured` function.
struct Counts {
    instructions: f64,
    d1_misses: f64,
    ll_misses: f64,
}

impl Counts {
    /// The counts per one of `units`, as a phrase.
    fn per(&self, units: f64) -> String {
        format!(
            "{:.0} instructions, {:.2} L1 data misses, {:.2} last-level data misses",
            self.instructions / units,
            self.d1_misses / units,
            self.ll_misses / units
        )
    }
}

/// Runs `binary args` under callgrind, counting only inside its `measured` function, with a
/// last-level cache of 8 MiB (a 2-core share of a server's): what it printed, and the counts.
fn count_under_callgrind(binary: &str, args: &[&str]) -> Result<(String, Counts)> {
    let counts = std::env::temp_dir().join(format!("kausaldb-cost-{}", std::process::id()));
    let output = Command::new("valgrind")
        .args(["--tool=callgrind", "--cache-sim=yes", "--LL=8388608,16,64"])
        .arg("--toggle-collect=*measured*")
        .arg(format!("--callgrind-out-file={}", counts.display()))
        .arg(binary)
        .args(args)
        .output()
        .map_err(|error| format!("valgrind: {error} (apt-get install valgrind)"))?;
    let _ = std::fs::remove_file(&counts);
    if !output.status.success() {
        return Err(format!("valgrind: {}", String::from_utf8_lossy(&output.stderr)));
    }
    let report = String::from_utf8_lossy(&output.stderr);
    let total = |label: &str| -> Result<f64> {
        let line = report.lines().find(|line| line.contains(label));
        let number = line.and_then(|line| line.split(':').nth(1)?.split_whitespace().next());
        let number = number.ok_or(format!("no {label} in callgrind's report"))?;
        number.replace(',', "").parse().map_err(|_| format!("{label}: {number}"))
    };
    let counts = Counts {
        instructions: total("I   refs")?,
        d1_misses: total("D1  misses")?,
        ll_misses: total("LLd misses")?,
    };
    Ok((String::from_utf8_lossy(&output.stdout).into_owned(), counts))
}

fn demo(args: &[String]) -> Result {
    run("cargo", &["build", "--release", "-p", "kausaldb-cli"], &[])?;
    let kausal = root().join("target/release/kausal");
    let kausal = kausal.to_str().ok_or("non-UTF-8 path")?;
    let tree = args.first().map_or_else(|| root().display().to_string(), String::clone);
    let store = root().join("target/kausal-demo");
    let store = store.to_str().ok_or("non-UTF-8 path")?;
    run(kausal, &["--store", store, "index", &tree], &[])?;
    if args.is_empty() {
        // A question about this repository: who reaches the engine's open, two calls deep.
        run(kausal, &["--store", store, "callers", "Engine::open", "--depth", "2"], &[])?;
        run(kausal, &["--store", store, "status"], &[])?;
    }
    Ok(())
}

/// `install --prefix P [--destdir D]`: the release library as a C library is installed, under
/// `D/P` (`D` for staging, as packagers use it): `lib/libkausaldb.so.X.Y.Z` with the links
/// `libkausaldb.so.X` (its soname) and `libkausaldb.so`, `lib/libkausaldb.a`,
/// `include/kausaldb.h` and `lib/pkgconfig/kausaldb.pc` (which names `P`).
fn install(args: &[String]) -> Result {
    let prefix = flag_value(args, "--prefix")?.ok_or("install needs --prefix P")?;
    if !prefix.starts_with('/') {
        return Err(format!("--prefix {prefix}: give an absolute path"));
    }
    let destination = match flag_value(args, "--destdir")? {
        Some(destdir) => Path::new(destdir).join(prefix.trim_start_matches('/')),
        None => PathBuf::from(prefix),
    };
    run("cargo", &["build", "--release", "-p", "kausaldb-ffi"], &[])?;
    let (lib, include) = (destination.join("lib"), destination.join("include"));
    for directory in [lib.join("pkgconfig"), include.clone()] {
        std::fs::create_dir_all(&directory).map_err(|e| format!("{}: {e}", directory.display()))?;
    }
    let built = root().join("target/release");
    let (soname, file_name) = library_names();
    let copies = [
        (built.join("libkausaldb.so"), lib.join(&file_name)),
        (built.join("libkausaldb.a"), lib.join("libkausaldb.a")),
        (root().join("include/kausaldb.h"), include.join("kausaldb.h")),
    ];
    for (from, to) in &copies {
        std::fs::copy(from, to)
            .map_err(|e| format!("{} -> {}: {e}", from.display(), to.display()))?;
    }
    for (link, target) in [(soname.as_str(), file_name.as_str()), ("libkausaldb.so", &soname)] {
        let path = lib.join(link);
        let _ = std::fs::remove_file(&path);
        std::os::unix::fs::symlink(target, &path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let pc = lib.join("pkgconfig/kausaldb.pc");
    std::fs::write(&pc, pkg_config_file(prefix)).map_err(|e| format!("{}: {e}", pc.display()))?;
    eprintln!(
        "xtask: installed libkausaldb {} into {}",
        env!("CARGO_PKG_VERSION"),
        destination.display()
    );
    Ok(())
}

/// `kausaldb.pc`: the flags to build against the installed library; `--static` adds what a
/// program linked with `libkausaldb.a` needs (`rustc --print native-static-libs`).
fn pkg_config_file(prefix: &str) -> String {
    format!(
        "prefix={prefix}\nlibdir=${{prefix}}/lib\nincludedir=${{prefix}}/include\n\n\
         Name: kausaldb\nDescription: An embeddable code-graph database\nVersion: {}\n\
         Libs: -L${{libdir}} -lkausaldb\nLibs.private: {}\nCflags: -I${{includedir}}\n",
        env!("CARGO_PKG_VERSION"),
        STATIC_LIBS.join(" ")
    )
}

/// CI's packaging check: install into a scratch prefix, then build the quickstart the way a
/// C user would (`pkg-config --cflags --libs kausaldb`) and run it against the installed
/// library (found through its soname).
fn install_check() -> Result {
    let prefix = root().join("target/install-check");
    let _ = std::fs::remove_dir_all(&prefix);
    let prefix_text = prefix.to_str().ok_or("non-UTF-8 path")?.to_string();
    install(&["--prefix".to_string(), prefix_text.clone()])?;
    let pkg_config_path = format!("{prefix_text}/lib/pkgconfig");
    let output = Command::new("pkg-config")
        .args(["--cflags", "--libs", "kausaldb"])
        .env("PKG_CONFIG_PATH", &pkg_config_path)
        .output()
        .map_err(|error| format!("cannot start pkg-config: {error}"))?;
    if !output.status.success() {
        return Err(format!("pkg-config: {}", String::from_utf8_lossy(&output.stderr)));
    }
    let flags = String::from_utf8_lossy(&output.stdout).to_string();
    let binary = prefix.join("quickstart");
    let binary_text = binary.to_str().ok_or("non-UTF-8 path")?.to_string();
    let rpath = format!("-Wl,-rpath,{prefix_text}/lib");
    let mut args = vec!["-std=c99", "-Wall", "-Wextra", "-Werror", "examples/c/quickstart.c"];
    args.extend(flags.split_whitespace());
    args.extend([rpath.as_str(), "-o", binary_text.as_str()]);
    run("gcc", &args, &[])?;
    let store = prefix.join("store");
    run_capturing(&binary_text, &[store.to_str().ok_or("non-UTF-8 path")?], &[])?;
    eprintln!("xtask: the quickstart built with pkg-config against the installed library runs");
    Ok(())
}

/// Installs what the checks and tests need: idempotent, so every run may call it.
/// Returns whether a nightly toolchain (for Miri) is available.
fn set_up() -> Result<bool> {
    run("rustup", &["target", "add", NO_STD_TARGET], &[])?;
    run("rustup", &["component", "add", "clippy", "rustfmt"], &[])?;
    let mut missing: Vec<&str> = ["gcc", "g++", "valgrind", "pkg-config"]
        .into_iter()
        .filter(|tool| !runs(tool, &["--version"]))
        .collect();
    // tests/server makes a virtual environment for the MCP SDK.
    if !runs("python3", &["-c", "import ensurepip, venv"]) {
        missing.extend(["python3", "python3-venv"]);
    }
    apt_install(&missing)?;
    let nightly = Command::new("rustup")
        .args(["run", "nightly", "rustc", "--version"])
        .output()
        .is_ok_and(|output| output.status.success());
    Ok(nightly)
}

/// Whether `program args` starts and succeeds.
fn runs(program: &str, args: &[&str]) -> bool {
    Command::new(program).args(args).output().is_ok_and(|out| out.status.success())
}

/// Installs Debian's `packages` with apt (none: nothing to do).
fn apt_install(packages: &[&str]) -> Result {
    if packages.is_empty() {
        return Ok(());
    }
    run("apt-get", &["update"], &[])?;
    let mut args = vec!["install", "-y", "--no-install-recommends"];
    args.extend(packages.iter().copied());
    run("apt-get", &args, &[])
}

fn ci() -> Result {
    // Each phase's time is printed at the end (also after a failure): CI has 30 minutes on
    // two cores, and this says where they go.
    let mut phases = Phases(Vec::new());
    let result = ci_phases(&mut phases);
    phases.report();
    result
}

/// `ci`'s phases, each timed into `phases`.
fn ci_phases(phases: &mut Phases) -> Result {
    let nightly = phases.time("set-up", set_up)?;
    phases.time("check", || check(false))?;
    phases.time("Rust tests", || run_tests(None, &[("KAUSAL_ITERATIONS", CI_ITERATIONS)]))?;
    phases.time("C tests", || c_tests(&[], true))?;
    phases.time("server tests", server_tests)?;
    phases.time("install check", install_check)?;
    phases.time("firmware", || firmware::firmware(&[]))?;
    phases.time("CRC on aarch64", firmware::crc_on_aarch64)?;
    if nightly {
        phases.time("Miri", miri)?;
        // Every fuzz target for a short fixed time from its seeds (long runs: `cargo xtask
        // fuzz --seconds N`); the seeds and past findings also run in the tests above.
        let seconds = CI_FUZZ_SECONDS.to_string();
        phases.time("fuzz", || fuzz::fuzz(&["--seconds".to_string(), seconds]))?;
    } else {
        // Only a machine without any nightly toolchain gets here; say so loudly.
        eprintln!("xtask: WARNING: no nightly toolchain, Miri and the fuzzers NOT run");
    }
    phases.time("demo", || demo(&[]))?;
    // The benchmarks are not built: `check`'s clippy compiles them (all targets) already,
    // and building them in the bench profile took 186 s of CI's 1,392.
    phases.time("README program", || {
        // The README's Rust program runs as a user would copy it (tidy keeps the two equal).
        let _ = std::fs::remove_dir_all(root().join("target/readme-store"));
        let readme =
            ["run", "-q", "-p", "kausaldb-core", "--features", "posix", "--example", "readme"];
        run("cargo", &readme, &[])
    })
}

/// How long each phase of a command took, in seconds.
struct Phases(Vec<(&'static str, f64)>);

impl Phases {
    /// Runs `phase` and notes its time, whatever its outcome.
    fn time<T>(&mut self, name: &'static str, phase: impl FnOnce() -> Result<T>) -> Result<T> {
        let started = Instant::now();
        let outcome = phase();
        self.0.push((name, started.elapsed().as_secs_f64()));
        outcome
    }

    fn report(&self) {
        for (name, seconds) in &self.0 {
            eprintln!("xtask: {seconds:>7.1} s  {name}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `cargo xtask` commands in `text`: the lines of its code blocks that start with
    /// one (up to a `#` comment), and its inline code spans that hold one.
    fn documented_commands(text: &str) -> Vec<String> {
        let (mut commands, mut prose, mut in_block) = (Vec::new(), String::new(), false);
        for line in text.lines() {
            if line.starts_with("```") {
                in_block = !in_block;
            } else if in_block {
                let command = line.split('#').next().unwrap_or_default();
                if command.starts_with("cargo xtask ") {
                    commands.push(command.to_string());
                }
            } else {
                prose.push_str(line);
                prose.push('\n');
            }
        }
        let spans = prose.split('`').skip(1).step_by(2);
        commands.extend(
            spans
                .filter_map(|span| span.find("cargo xtask").map(|at| &span[at..]))
                .map(String::from),
        );
        commands
    }

    /// Every command the README shows is one `cargo xtask` takes (placeholders such as
    /// `[--fix]` or `[target...]` read as the flag or argument they stand for):
    /// `scale --host-compaction` was documented and refused.
    #[test]
    fn every_xtask_command_the_readme_shows_is_accepted() {
        let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
        let commands = documented_commands(&readme);
        assert!(commands.len() >= 20, "found only {commands:?}");
        for command in commands {
            let words: Vec<String> = command
                .split_whitespace()
                .skip(2)
                .map(|word| word.trim_matches(['[', ']']).trim_end_matches("...").to_string())
                .filter(|word| !word.is_empty())
                .collect();
            let Some((task, rest)) = words.split_first() else { continue };
            if let Err(message) = check_arguments(task, rest) {
                panic!("README's `{command}`: {message}");
            }
        }
    }
}
