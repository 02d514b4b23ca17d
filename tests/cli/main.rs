//! End to end: the real `kausal` binary over the fixture trees in `tests/fixtures/`, with
//! `--json`, compared with the call graphs written out here by hand.
// Test code on 64-bit hosts (milliseconds and nanoseconds fit their casts), and a test
// reads top to bottom as one scenario.
#![allow(clippy::cast_possible_truncation, clippy::too_many_lines)]

use serde_json::Value;
use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A copy of a fixture tree in a scratch directory, removed when dropped.
struct Tree(PathBuf);

impl Tree {
    fn copy(fixture: &str, name: &str) -> Tree {
        let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures").join(fixture);
        let to = std::env::temp_dir().join(format!("kausal-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&to);
        copy_dir(&from, &to);
        Tree(to)
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.0.join(relative)
    }

    /// Runs `kausal --json ARGS` in the tree; the exit code and the JSON printed.
    fn kausal(&self, args: &[&str]) -> (i32, Value) {
        let output = Command::new(env!("CARGO_BIN_EXE_kausal"))
            .arg("--json")
            .args(args)
            .current_dir(&self.0)
            .output()
            .expect("kausal runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let value = serde_json::from_str(stdout.trim()).unwrap_or_else(|error| {
            panic!(
                "{args:?}: not JSON ({error}): {stdout:?}, stderr {:?}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
        (output.status.code().unwrap_or(-1), value)
    }

    fn ok(&self, args: &[&str]) -> Value {
        let (code, value) = self.kausal(args);
        assert_eq!(code, 0, "{args:?}: {value}");
        value
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// `(qualified_name, location, depth)` of a walk's results, sorted.
fn reached(walk: &Value) -> Vec<(String, String, u64)> {
    let mut list: Vec<_> = walk["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let location = match r["path"].as_str() {
                Some("") | None => "(external)".to_string(),
                Some(path) => format!("{path}:{}", r["line_start"]),
            };
            (
                r["qualified_name"].as_str().unwrap().to_string(),
                location,
                r["depth"].as_u64().unwrap(),
            )
        })
        .collect();
    list.sort();
    list
}

fn expect(list: &[(&str, &str, u64)]) -> Vec<(String, String, u64)> {
    let mut list: Vec<_> =
        list.iter().map(|(n, l, d)| (n.to_string(), l.to_string(), *d)).collect();
    list.sort();
    list
}

#[test]
fn the_c_fixture_call_graph_is_indexed_exactly() {
    let tree = Tree::copy("c_small", "graph");
    let summary = tree.ok(&["index"]);
    assert_eq!(
        (summary["files"].as_u64(), summary["definitions"].as_u64()),
        (Some(5), Some(10)),
        "{summary}"
    );
    let main_callees = tree.ok(&["callees", "main", "--depth", "1"]);
    assert_eq!(
        reached(&main_callees),
        expect(&[("run", "src/main.c:5", 1), ("log_line", "src/log.c:3", 1)])
    );
    let log_callers = tree.ok(&["callers", "log_line", "--depth", "1"]);
    assert_eq!(
        reached(&log_callers),
        expect(&[("parse", "src/parse.c:17", 1), ("main", "src/main.c:9", 1)])
    );
    // Through the static helper to main, one call level at a time.
    let deep = tree.ok(&["callers", "skip_space", "--depth", "5"]);
    assert_eq!(
        reached(&deep),
        expect(&[
            ("tokenize", "src/parse.c:10", 1),
            ("parse", "src/parse.c:17", 2),
            ("run", "src/main.c:5", 3),
            ("main", "src/main.c:9", 4),
        ])
    );
    // Functions outside the tree are external symbols, so their callers are found too.
    let printf = tree.ok(&["callers", "printf", "--depth", "1"]);
    assert_eq!(reached(&printf), expect(&[("log_line", "src/log.c:3", 1)]));
    assert_eq!(printf["symbol"]["kind"], "external");
    // Each file's run() is called from its own file.
    let tool = tree.ok(&["callers", "src/tool.c:3"]);
    assert_eq!(reached(&tool), expect(&[("tool_main", "src/tool.c:5", 1)]));
    // A name with two definitions is ambiguous: exit code 4 and the candidates, each with
    // its kind and place.
    let (code, ambiguous) = tree.kausal(&["callers", "run"]);
    let mut candidates: Vec<&str> = ambiguous["candidates"]
        .as_array()
        .map(|all| all.iter().filter_map(|c| c.as_str()).collect())
        .unwrap_or_default();
    candidates.sort_unstable();
    assert_eq!(
        (code, candidates),
        (4, vec!["function run (src/main.c:5)", "function run (src/tool.c:3)"]),
        "{ambiguous}"
    );
    let (code, _) = tree.kausal(&["callers", "no_such_function"]);
    assert_eq!(code, 3);
    let found = tree.ok(&["find", "tokenize"]);
    let found: Vec<_> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["kind"].clone(), r["line_start"].clone()))
        .collect();
    assert_eq!(found, [("function".into(), 10.into())]);
    // Who uses struct token: the functions that name it, not the header's prototype.
    let refs = tree.ok(&["refs", "token", "--depth", "1"]);
    assert_eq!(
        reached(&refs),
        expect(&[("tokenize", "src/parse.c:10", 1), ("parse", "src/parse.c:17", 1)])
    );
    // No exact name: a case-insensitive prefix, in name order.
    let prefix = tree.ok(&["find", "TOK"]);
    let names: Vec<_> = prefix.as_array().unwrap().iter().map(|r| r["name"].clone()).collect();
    assert_eq!(names, ["token", "tokenize"]);
    let trace = tree.ok(&["trace", "main", "skip_space"]);
    let path: Vec<_> =
        trace["path"].as_array().unwrap().iter().map(|s| s["qualified_name"].clone()).collect();
    assert_eq!(path, ["main", "run", "parse", "tokenize", "skip_space"]);
    let none = tree.ok(&["trace", "skip_space", "main"]);
    assert_eq!(none["path"], Value::Null);
    let imports = tree.ok(&["imports", "src/main.c", "--depth", "1"]);
    assert_eq!(reached(&imports), expect(&[("src/parse.h", "src/parse.h:1", 1)]));
    // The context of a symbol: its source, what it calls, where it is called, in budget.
    let context = tree.ok(&["context", "tokenize", "--tokens", "200"]);
    assert!(context["source"].as_str().unwrap().starts_with("int tokenize("), "{context}");
    let callees: Vec<_> = context["callees"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["qualified_name"].clone())
        .collect();
    assert_eq!(callees, ["skip_space", "strlen"]);
    let site = &context["call_sites"][0];
    assert_eq!(
        (site["caller"].as_str(), site["lines"][0]["line"].as_u64()),
        (Some("parse"), Some(19))
    );
    assert!(context["tokens_estimated"].as_u64().unwrap() <= 200);
    let small = tree.ok(&["context", "tokenize", "--tokens", "60"]);
    assert_eq!(
        (small["truncated"].as_bool(), small["call_sites"].as_array().map(Vec::len)),
        (Some(true), Some(0))
    );
    assert!(small["tokens_estimated"].as_u64().unwrap() <= 60);
    let status = tree.ok(&["status"]);
    assert_eq!(
        status["symbols_by_kind"],
        serde_json::json!({ "external": 2, "file": 5, "function": 8, "macro": 1, "struct": 1 })
    );
    assert_eq!(status["edges_by_type"]["REFERENCES"], 2);
    // Nine calls of functions, one of the macro CHECK.
    assert_eq!(
        (&status["edges_by_type"]["CALLS_FUNCTION"], &status["edges_by_type"]["CALLS"]),
        (&serde_json::json!(9), &serde_json::json!(1))
    );
    let shown = tree.ok(&["show", "skip_space"]);
    assert!(shown["content"]
        .as_str()
        .unwrap()
        .starts_with("static int skip_space(const char *text) {"));
    assert_eq!(shown["signature"], "static int skip_space(const char *text)");
}

#[test]
fn a_reindex_writes_only_what_changed_and_keeps_edges_from_unchanged_files() {
    let tree = Tree::copy("c_small", "incremental");
    tree.ok(&["index"]);
    let again = tree.ok(&["index"]);
    assert_eq!(
        (again["files_parsed"].as_u64(), again["writes"].as_u64()),
        (Some(0), Some(0)),
        "{again}"
    );
    // parse() stops logging, and a new caller of it appears in the same file.
    let parse_c = tree.path("src/parse.c");
    let source = std::fs::read_to_string(&parse_c).unwrap();
    let edited = source.replace(" + log_line(\"parsed\")", "")
        + "\nint parse_all(const char **texts) {\n    return parse(texts[0]);\n}\n";
    std::fs::write(&parse_c, edited).unwrap();
    let changed = tree.ok(&["index"]);
    assert_eq!(changed["files_parsed"].as_u64(), Some(1), "{changed}");
    let log_callers = tree.ok(&["callers", "log_line", "--depth", "1"]);
    assert_eq!(reached(&log_callers), expect(&[("main", "src/main.c:9", 1)]));
    // run() in main.c was not re-parsed; its call into the changed file survived.
    let parse_callers = tree.ok(&["callers", "parse", "--depth", "1"]);
    assert_eq!(
        reached(&parse_callers),
        expect(&[("run", "src/main.c:5", 1), ("parse_all", "src/parse.c:22", 1)])
    );
    // A deleted file's definitions go; their callers then call an external symbol...
    std::fs::remove_file(tree.path("src/log.c")).unwrap();
    let removed = tree.ok(&["index"]);
    assert_eq!(removed["files_removed"].as_u64(), Some(1), "{removed}");
    let external = tree.ok(&["callers", "log_line"]);
    assert_eq!(external["symbol"]["kind"], "external");
    assert_eq!(reached(&external), expect(&[("main", "src/main.c:9", 1)]));
    // ...until a definition of that name comes back, and the calls move to it.
    std::fs::write(tree.path("src/log2.c"), "int log_line(const char *m) { return 0; }\n").unwrap();
    tree.ok(&["index"]);
    let back = tree.ok(&["callers", "log_line"]);
    assert_eq!(back["symbol"]["kind"], "function", "{back}");
    assert_eq!(reached(&back), expect(&[("main", "src/main.c:9", 1)]));
    let (code, _) = tree.kausal(&["find", "printf_never_called"]);
    assert_eq!(code, 3);
}

/// A reader that stops early (`kausal callers x | head`) closes the pipe: `kausal` ends
/// quietly with status 0, as a C tool ends on SIGPIPE (it panicked with a backtrace). Each
/// answer is far larger than a pipe holds (64 KiB), so the write after the close fails.
#[test]
fn a_reader_that_stops_early_ends_kausal_quietly() {
    let tree = Tree::copy("c_small", "pipe");
    let callers: String = (0..3000)
        .map(|i| format!("int caller_number_{i}(void) {{ return log_line(0); }}\n"))
        .collect();
    std::fs::write(tree.path("src/callers.c"), callers).unwrap();
    tree.ok(&["index"]);
    for args in [&["callers", "log_line", "--depth", "1", "--limit", "5000"][..], &["export"]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kausal"))
            .args(args)
            .current_dir(&tree.0)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kausal runs");
        let mut first = String::new();
        let stdout = child.stdout.take().expect("piped");
        std::io::BufReader::new(stdout).read_line(&mut first).expect("a first line");
        // The reader is dropped: the pipe is closed with most of the answer unread.
        let output = child.wait_with_output().expect("kausal ends");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!first.is_empty(), "{args:?}");
        assert_eq!((output.status.code(), stderr.as_ref()), (Some(0), ""), "{args:?}");
    }
}

/// An error said to a stdout nobody reads any more is still an error, not a panic: the exit
/// code says what failed (the pipe's read end is closed before `kausal` starts).
#[test]
fn an_error_for_a_closed_stdout_keeps_its_exit_code() {
    let tree = Tree::copy("c_small", "closed");
    tree.ok(&["index"]);
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let output = Command::new(env!("CARGO_BIN_EXE_kausal"))
        .args(["--json", "callers", "no_such_function"])
        .current_dir(&tree.0)
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("kausal runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!((output.status.code(), stderr.as_ref()), (Some(3), ""));
}

/// A function whose name a header also defines as a macro under `#if` (as SQLite's
/// `sqlite3ext.h` does for every API function) is the one `callers` and `show` mean; the
/// macro is asked for by its place. Two unconditional definitions stay ambiguous.
#[test]
fn a_function_is_named_before_the_macros_that_stand_in_for_it() {
    let tree = Tree::copy("c_small", "shims");
    let header = "#ifndef EXT_H\n#define EXT_H\n#if !defined(BUILD_CORE)\n\
                  #define log_line api->log_line\n#define run api->run\n#endif\n#endif\n";
    std::fs::write(tree.path("src/ext.h"), header).unwrap();
    tree.ok(&["index"]);
    let callers = tree.ok(&["callers", "log_line", "--depth", "1"]);
    assert_eq!(callers["symbol"]["kind"], "function", "{callers}");
    assert_eq!(callers["symbol"]["path"], "src/log.c", "{callers}");
    assert_eq!(
        reached(&callers),
        expect(&[("parse", "src/parse.c:17", 1), ("main", "src/main.c:9", 1)])
    );
    let shown = tree.ok(&["show", "src/ext.h:5"]);
    assert_eq!((shown["kind"].as_str(), shown["name"].as_str()), (Some("macro"), Some("run")));
    // Two functions named run beside one macro: still ambiguous, the macro listed too.
    let (code, ambiguous) = tree.kausal(&["callers", "run"]);
    assert_eq!(
        (code, ambiguous["candidates"].as_array().map(Vec::len)),
        (4, Some(3)),
        "{ambiguous}"
    );
}

/// Rust calls that name their type (`Store::new()`, `self.check()`) resolve to that type's
/// method, though both types have methods of those names; `mod store;` imports its file.
#[test]
fn the_rust_fixture_resolves_calls_by_their_type() {
    let tree = Tree::copy("rust_small", "rust");
    let summary = tree.ok(&["index"]);
    assert_eq!(summary["calls_ambiguous"].as_u64(), Some(0), "{summary}");
    let new = tree.ok(&["callers", "Store::new", "--depth", "1"]);
    assert_eq!(reached(&new), expect(&[("Index::new", "src/lib.rs:8", 1)]));
    let index_check = tree.ok(&["callers", "Index::check", "--depth", "1"]);
    assert_eq!(reached(&index_check), expect(&[("Index::add", "src/lib.rs:12", 1)]));
    let store_check = tree.ok(&["callers", "Store::check", "--depth", "1"]);
    assert_eq!(reached(&store_check), expect(&[("Store::put", "src/store.rs:10", 1)]));
    // `self.store.put()` is on a field, not on self: resolved by name (one `put` exists).
    let put = tree.ok(&["callers", "put", "--depth", "1"]);
    assert_eq!(reached(&put), expect(&[("Index::add", "src/lib.rs:12", 1)]));
    let (code, ambiguous) = tree.kausal(&["show", "check"]);
    assert_eq!((code, ambiguous["candidates"].as_array().map(Vec::len)), (4, Some(2)));
    // `Vec::new()` is the standard library's, not `Store::new` in the same file.
    let vec_new = tree.ok(&["callers", "Vec::new", "--depth", "1"]);
    assert_eq!(vec_new["symbol"]["kind"], "external");
    assert_eq!(reached(&vec_new), expect(&[("Store::new", "src/store.rs:6", 1)]));
    let store_new_callees = tree.ok(&["callees", "Store::new", "--depth", "1"]);
    assert_eq!(reached(&store_new_callees), expect(&[("Vec::new", "(external)", 1)]));
}

/// A synthetic C tree: `files` files of 40 functions, each calling one in the next file.
fn synthetic_tree(name: &str, files: usize) -> Tree {
    let to = std::env::temp_dir().join(format!("kausal-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&to);
    std::fs::create_dir_all(&to).unwrap();
    for file in 0..files {
        let mut source = String::new();
        for function in 0..40 {
            let next = (file + 1) % files;
            let call = format!("f{next}_{function}(x) + helper_{file}(x)");
            source.push_str(&format!("int f{file}_{function}(int x) {{\n    return {call};\n}}\n"));
        }
        source.push_str(&format!("static int helper_{file}(int x) {{ return x; }}\n"));
        std::fs::write(to.join(format!("file{file}.c")), source).unwrap();
    }
    Tree(to)
}

/// `kausal index` killed at any moment (SIGKILL: nothing flushed, nothing closed) and run
/// again ends with the same graph as an index that was never interrupted: the run marks
/// the store as being indexed before anything else, and a run that finds the mark redoes
/// every file.
#[test]
fn an_index_killed_at_any_moment_and_run_again_ends_complete() {
    let clean = synthetic_tree("clean", 150);
    let started = std::time::Instant::now();
    clean.ok(&["index"]);
    // Kill points spread over a whole run's length (process start included).
    let run_ms = started.elapsed().as_millis() as u64 + 1;
    let graph = |status: Value| {
        (
            status["files"].clone(),
            status["blocks"].clone(),
            status["edges"].clone(),
            status["state"].clone(),
        )
    };
    let expected = graph(clean.ok(&["status"]));
    let mut redone = 0;
    let seed =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
            as u64;
    eprintln!("kill delays from seed {seed} (replay: KAUSAL_KILL_SEED={seed})");
    let seed = std::env::var("KAUSAL_KILL_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(seed);
    for round in 0..6u64 {
        let tree = synthetic_tree(&format!("killed{round}"), 150);
        let delay_ms =
            (seed.wrapping_mul(6364136223846793005).wrapping_add(round * 1442695040888963407)
                >> 33)
                % 150;
        let mut child = Command::new(env!("CARGO_BIN_EXE_kausal"))
            .args(["--json", "index"])
            .current_dir(&tree.0)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        let rerun = tree.ok(&["index"]);
        redone += usize::from(rerun["files_parsed"].as_u64() == Some(150));
        let status = graph(tree.ok(&["status"]));
        assert_eq!(status, expected, "round {round}: killed after {delay_ms} ms (seed {seed})");
        let callers = tree.ok(&["callers", "f3_7", "--depth", "2"]);
        assert_eq!(reached(&callers).len(), 2, "round {round}: {callers}");
    }
    eprintln!("{redone} of 6 killed runs (each {run_ms} ms long) were redone in full");
}

/// `export` writes every symbol and edge, once, in each format.
#[test]
fn export_writes_the_graph_as_jsonl_graphml_and_neo4j_csv() {
    let tree = Tree::copy("c_small", "export");
    tree.ok(&["index"]);
    let run = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_kausal"))
            .args(args)
            .current_dir(&tree.0)
            .output()
            .unwrap();
        assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    };
    let jsonl = run(&["export"]);
    let lines: Vec<Value> = jsonl.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    let nodes: Vec<_> = lines.iter().filter(|l| l.get("node").is_some()).collect();
    let edges: Vec<_> = lines.iter().filter(|l| l.get("edge").is_some()).collect();
    // 5 files, 10 definitions, 2 external symbols (strlen, printf).
    assert_eq!(nodes.len(), 17, "{jsonl}");
    let calls =
        edges.iter().filter(|e| e["edge"]["type"].as_str().unwrap().starts_with("CALLS")).count();
    // main: run, log_line; run: parse, CHECK; tokenize: skip_space, strlen; parse: tokenize,
    // log_line; log_line: printf; tool_main: run.
    assert_eq!(calls, 10, "{jsonl}");
    let graphml = run(&["export", "--format", "graphml"]);
    assert_eq!(graphml.matches("<node ").count(), 17);
    assert_eq!(graphml.matches("<edge ").count(), edges.len());
    assert!(graphml.trim_end().ends_with("</graphml>"));
    let out = tree.path("neo4j");
    run(&["export", "--format", "neo4j-csv", "--out", out.to_str().unwrap()]);
    let nodes_csv = std::fs::read_to_string(out.join("nodes.csv")).unwrap();
    let relationships = std::fs::read_to_string(out.join("relationships.csv")).unwrap();
    assert!(nodes_csv.starts_with(
        "id:ID,kind,name,qualified_name,lang,path,line_start:int,line_end:int,:LABEL\n"
    ));
    assert_eq!((nodes_csv.lines().count(), relationships.lines().count()), (18, edges.len() + 1));
}

/// A call whose name has more definitions than the indexer links (8) goes to the name's
/// unresolved symbol, not to every definition; with fewer, to each (as `calls`).
#[test]
fn a_name_defined_too_often_is_linked_to_its_unresolved_symbol() {
    let tree = synthetic_tree("common", 1);
    for (count, caller) in [(9, "common"), (3, "rare")] {
        for n in 0..count {
            std::fs::write(
                tree.path(&format!("{caller}{n}.c")),
                format!("int {caller}_fn(void) {{ return {n}; }}\n"),
            )
            .unwrap();
        }
        std::fs::write(
            tree.path(&format!("{caller}_caller.c")),
            format!("int {caller}_caller(void) {{ return {caller}_fn(); }}\n"),
        )
        .unwrap();
    }
    let summary = tree.ok(&["index"]);
    assert_eq!(
        (summary["calls_unresolved"].as_u64(), summary["calls_ambiguous"].as_u64()),
        (Some(1), Some(1)),
        "{summary}"
    );
    let common = tree.ok(&["callees", "common_caller", "--depth", "1"]);
    let kinds: Vec<_> = common["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["kind"].clone(), r["edge_type"].clone()))
        .collect();
    assert_eq!(kinds, [("unresolved".into(), "calls".into())]);
    let rare = tree.ok(&["callees", "rare_caller", "--depth", "1"]);
    assert_eq!(rare["results"].as_array().map(Vec::len), Some(3));
}

/// Class bases and `impl Trait for Type` become EXTENDS and IMPLEMENTS edges, which
/// `impact` follows: changing a base reaches the classes built on it.
#[test]
fn bases_are_extends_and_implements_edges_and_impact_follows_them() {
    let tree = synthetic_tree("bases", 1);
    std::fs::write(
        tree.path("shapes.py"),
        "class Shape:\n    pass\n\nclass Square(Shape):\n    def area(self):\n        return 1\n",
    )
    .unwrap();
    let walk = "pub trait Walk { fn step(&self); }\npub struct Dog;\nimpl Walk for Dog {}\n";
    std::fs::write(tree.path("walk.rs"), walk).unwrap();
    let summary = tree.ok(&["index"]);
    assert_eq!(summary["files"].as_u64(), Some(3), "{summary}");
    let status = tree.ok(&["status"]);
    assert_eq!(
        (
            status["edges_by_type"]["EXTENDS"].as_u64(),
            status["edges_by_type"]["IMPLEMENTS"].as_u64()
        ),
        (Some(1), Some(1)),
        "{status}"
    );
    let shape = tree.ok(&["impact", "Shape", "--depth", "2"]);
    let names: Vec<_> = reached(&shape).into_iter().map(|(name, _, depth)| (name, depth)).collect();
    assert_eq!(names, [("Square".to_string(), 1), ("Square.area".to_string(), 2)]);
    let walk = tree.ok(&["impact", "Walk", "--depth", "1"]);
    assert!(reached(&walk).iter().any(|(name, _, _)| name == "Dog"), "{walk}");
}

/// The lines of `expected.txt`'s form (see any fixture's) for the graph `kausal export`
/// prints, and every definition's `CONTAINS` and `DEFINED_IN` checked on the way.
fn graph_lines(jsonl: &str) -> Vec<String> {
    let mut nodes = std::collections::HashMap::new();
    let mut edges = Vec::new();
    for line in jsonl.lines() {
        let value: Value = serde_json::from_str(line).unwrap();
        if let Some(node) = value.get("node") {
            nodes.insert(node["id"].as_str().unwrap().to_string(), node.clone());
        } else {
            edges.push(value["edge"].clone());
        }
    }
    let label = |id: &Value| {
        let node = &nodes[id.as_str().unwrap()];
        let (kind, path) = (node["kind"].as_str().unwrap(), node["path"].as_str().unwrap());
        match (kind, path) {
            ("file", _) => path.to_string(),
            (_, "") => format!("{} ({kind})", node["qualified_name"].as_str().unwrap()),
            _ => format!(
                "{} @{path}:{}",
                node["qualified_name"].as_str().unwrap(),
                node["line_start"]
            ),
        }
    };
    let has_edge = |source: &Value, target: &Value, edge_type: &str| {
        edges
            .iter()
            .any(|e| e["source"] == *source && e["target"] == *target && e["type"] == edge_type)
    };
    let mut lines = Vec::new();
    for node in nodes.values() {
        let (kind, path) = (node["kind"].as_str().unwrap(), node["path"].as_str().unwrap());
        if kind == "file" || path.is_empty() {
            continue;
        }
        let file = nodes.values().find(|n| n["kind"] == "file" && n["path"] == path).unwrap();
        assert!(has_edge(&file["id"], &node["id"], "CONTAINS"), "{path} contains {node}");
        assert!(has_edge(&node["id"], &file["id"], "DEFINED_IN"), "{node} defined in {path}");
        lines.push(format!("{kind} {}", label(&node["id"])));
    }
    for edge in &edges {
        let edge_type = edge["type"].as_str().unwrap();
        if edge_type != "CONTAINS" && edge_type != "DEFINED_IN" {
            lines.push(format!(
                "{edge_type} {} -> {}",
                label(&edge["source"]),
                label(&edge["target"])
            ));
        }
    }
    lines.sort();
    lines
}

/// Indexes a fixture and compares the whole graph with its hand-checked `expected.txt`.
fn assert_fixture_graph(fixture: &str) {
    let tree = Tree::copy(fixture, &format!("golden-{fixture}"));
    tree.ok(&["index"]);
    let output = Command::new(env!("CARGO_BIN_EXE_kausal"))
        .args(["export", "--format", "jsonl"])
        .current_dir(&tree.0)
        .output()
        .expect("kausal runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let actual = graph_lines(&String::from_utf8_lossy(&output.stdout));
    let expected_path = tree.path("expected.txt");
    let expected_text = std::fs::read_to_string(expected_path).unwrap();
    let mut expected: Vec<String> = expected_text
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_string)
        .collect();
    expected.sort();
    let missing: Vec<_> = expected.iter().filter(|line| !actual.contains(line)).collect();
    let unexpected: Vec<_> = actual.iter().filter(|line| !expected.contains(line)).collect();
    assert!(
        missing.is_empty() && unexpected.is_empty(),
        "{fixture}: missing {missing:#?}\nunexpected {unexpected:#?}"
    );
}

#[test]
fn every_fixture_is_indexed_to_its_hand_checked_graph() {
    for fixture in
        ["c_small", "cpp_small", "rust_small", "python_small", "go_small", "js_small", "ts_small"]
    {
        assert_fixture_graph(fixture);
    }
}

/// `-v` reports the store's events on stderr: the open's recovery, each flush with its
/// sizes and time, and the totals; the JSON on stdout is unchanged.
#[test]
fn verbose_reports_recovery_flushes_and_totals_on_stderr() {
    let tree = synthetic_tree("verbose", 20);
    let output = Command::new(env!("CARGO_BIN_EXE_kausal"))
        .args(["--json", "-v", "index"])
        .current_dir(&tree.0)
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout: Value = serde_json::from_slice(&output.stdout).expect("JSON on stdout");
    assert_eq!(stdout["files"].as_u64(), Some(20));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(lines.first().is_some_and(|line| line.starts_with("kausal: open: ")), "{stderr}");
    let flush = lines.iter().find(|line| line.starts_with("kausal: flush: ")).expect(&stderr);
    assert!(flush.contains(" MiB in memory to ") && flush.contains(" ms, 2 tables"), "{flush}");
    let totals = lines.last().expect("a totals line");
    assert!(totals.starts_with("kausal: 1 flushes, 0 compactions, 0 write stalls"), "{totals}");
    // Without -v, nothing of it.
    let quiet = Command::new(env!("CARGO_BIN_EXE_kausal"))
        .args(["--json", "index"])
        .current_dir(&tree.0)
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&quiet.stderr).contains("kausal: "), "{quiet:?}");
}
