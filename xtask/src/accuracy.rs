//! `cargo xtask accuracy`: how right `kausal`'s call graph is on real code, measured by
//! extractors it did not write: the C compiler's own call graph (`gcc -fcallgraph-info`,
//! `tests/accuracy/c_calls.py`) on the SQLite amalgamation, LMDB and the tree-sitter
//! runtime (sources the workspace's dependencies bring into the cargo registry), and
//! Python's `ast` module (`tests/accuracy/python_calls.py`) on standard library packages.
//! Each line printed is one tree's JSON result; stores go to target/accuracy/. Also the
//! MCP server's round trips on real trees (`bench mcp`).

use crate::{root, run, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// C trees: the crate that brings them, the directory below its root, gcc flags.
const C_TREES: [(&str, &str, &[&str]); 3] = [
    ("libsqlite3-sys", "sqlite3", &[]),
    ("lmdb-master-sys", "lmdb/libraries/liblmdb", &[]),
    ("tree-sitter", "", &["-Iinclude", "-Isrc", "-D_DEFAULT_SOURCE"]),
];

/// Python packages of the standard library.
const PYTHON_PACKAGES: [&str; 4] = ["asyncio", "email", "http", "unittest"];

pub fn accuracy() -> Result {
    run("cargo", &["build", "--release", "-p", "kausaldb-cli"], &[])?;
    let metadata = output("cargo", &["metadata", "--format-version", "1"], &root())?;
    let scratch = root().join("target/accuracy");
    std::fs::create_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    for (package, below, flags) in C_TREES {
        let crate_root = crate_root(&metadata, package)?;
        let tree = crate_root.join(below);
        let export = index_and_export(&tree, &scratch.join(package))?;
        let mut args = vec![script("c_calls.py"), path_text(&tree)?, path_text(&export)?];
        args.extend(flags.iter().map(|flag| (*flag).to_string()));
        report(package, &args, &tree)?;
    }
    for package in PYTHON_PACKAGES {
        let import = format!("import os, {package}; print(os.path.dirname({package}.__file__))");
        let tree = PathBuf::from(output("python3", &["-c", &import], &root())?.trim());
        let export = index_and_export(&tree, &scratch.join(format!("python-{package}")))?;
        let args = [script("python_calls.py"), path_text(&tree)?, path_text(&export)?];
        report(&format!("python {package}"), &args, &tree)?;
    }
    Ok(())
}

/// `cargo xtask bench mcp`: `kausal mcp` round trips and answer sizes
/// (`bench/mcp_round_trip.py`) on the SQLite amalgamation (copied out of the registry:
/// the server indexes its tree in place) and on this repository.
pub fn mcp_round_trip() -> Result {
    run("cargo", &["build", "--release", "-p", "kausaldb-cli"], &[])?;
    let metadata = output("cargo", &["metadata", "--format-version", "1"], &root())?;
    let sqlite = crate_root(&metadata, "libsqlite3-sys")?.join("sqlite3");
    let tree = root().join("target/mcp-bench/sqlite");
    std::fs::create_dir_all(&tree).map_err(|e| format!("{}: {e}", tree.display()))?;
    for file in ["sqlite3.c", "sqlite3.h"] {
        std::fs::copy(sqlite.join(file), tree.join(file)).map_err(|e| format!("{file}: {e}"))?;
    }
    let kausal = path_text(&root().join("target/release/kausal"))?;
    let script = root().join("bench/mcp_round_trip.py").display().to_string();
    let sqlite_symbols = ["sqlite3VdbeMemRelease", "sqlite3BtreeNext", "sqlite3ExprCode"];
    let repository_symbols = ["Engine::open", "Memtable::put_block", "Wal::append"];
    for (tree, symbols) in [(tree, sqlite_symbols), (root(), repository_symbols)] {
        let mut args = vec![script.clone(), kausal.clone(), path_text(&tree)?, "5000".into()];
        args.extend(symbols.iter().map(|symbol| (*symbol).to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        println!("{}", output("python3", &args, &root())?.trim());
    }
    Ok(())
}

/// Indexes `tree` into the store `store` (never into the tree: registry sources are
/// read-only) and exports its graph beside the store.
fn index_and_export(tree: &Path, store: &Path) -> Result<PathBuf> {
    let kausal = root().join("target/release/kausal");
    let (kausal, store_text) = (path_text(&kausal)?, path_text(store)?);
    let _ = std::fs::remove_dir_all(store);
    run(&kausal, &["--store", &store_text, "index", &path_text(tree)?], &[])?;
    let jsonl = output(&kausal, &["--store", &store_text, "export", "--format", "jsonl"], tree)?;
    let export = store.with_extension("jsonl");
    std::fs::write(&export, jsonl).map_err(|e| format!("{}: {e}", export.display()))?;
    Ok(export)
}

fn report(name: &str, args: &[String], tree: &Path) -> Result {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = output("python3", &args, tree)?;
    println!("{name}: {}", result.trim());
    Ok(())
}

fn script(name: &str) -> String {
    root().join("tests/accuracy").join(name).display().to_string()
}

/// The source root of `package` as `cargo metadata` lists it (its first version).
fn crate_root(metadata: &str, package: &str) -> Result<PathBuf> {
    let marker = format!("/{package}-");
    metadata
        .split("\"manifest_path\":\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .find(|path| {
            path.contains(&marker)
                && path
                    .rsplit_once(&marker)
                    .is_some_and(|(_, version)| version.starts_with(|c: char| c.is_ascii_digit()))
        })
        .and_then(|manifest| Path::new(manifest).parent().map(Path::to_path_buf))
        .ok_or_else(|| format!("{package} is not among the workspace's dependencies"))
}

fn path_text(path: &Path) -> Result<String> {
    path.to_str().map(str::to_string).ok_or_else(|| format!("{}: not UTF-8", path.display()))
}

/// Runs a command in `dir` and returns what it printed; fails with its stderr.
fn output(program: &str, args: &[&str], dir: &Path) -> Result<String> {
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{program} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    String::from_utf8(output.stdout).map_err(|e| format!("{program}: {e}"))
}
