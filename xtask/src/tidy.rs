//! The project's own rules, the ones clippy and rustc do not check, over the source tree:
//!
//! - every line fits in `LINE_COLUMNS_MAX` columns;
//! - core library code never uses `alloc`, and never `unwrap`/`expect`/`panic!`/`todo!`/
//!   `unimplemented!`/`unreachable!` unless the line says why it cannot be reached
//!   (`// INVARIANT: ...`);
//! - no library function in core/ or ffi/ is longer than `FUNCTION_LINES_MAX` lines, comments
//!   included (clippy's `too_many_lines` counts code lines only);
//! - `allow(unsafe_code)` appears only on the three module declarations lib.rs names;
//! - no two core modules import each other, directly or through others.
//!
//! Test code is exempt from the core and length rules: `#[cfg(test)]` items (a test module's
//! whole body, not the rest of the file after it) and files named `tests.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const LINE_COLUMNS_MAX: usize = 100;
const FUNCTION_LINES_MAX: usize = 70;
/// The only places `unsafe` may be allowed in the core: (file, the declaration it precedes).
const UNSAFE_EXCEPTIONS: [(&str, &str); 3] = [
    ("core/src/lib.rs", "pub mod region;"),
    ("core/src/vfs/mod.rs", "pub mod posix;"),
    ("core/src/crc32c.rs", "mod hardware {"),
];

/// One source file: its path from the root and its lines outside test code.
struct Source {
    relative: String,
    text: String,
    /// Line numbers (0-based) of lines that are test code.
    test_lines: BTreeSet<usize>,
}

impl Source {
    fn library_lines(&self) -> impl Iterator<Item = (usize, &str)> {
        self.text.lines().enumerate().filter(|(number, _)| !self.test_lines.contains(number))
    }
}

pub fn check(root: &Path) -> Result<(), String> {
    let mut files = Vec::new();
    for directory in ["core", "ffi", "xtask", "bench", "tests"] {
        collect_rust_files(&root.join(directory), &mut files);
    }
    let mut problems = Vec::new();
    let mut sources = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file)
            .map_err(|error| format!("{}: {error}", file.display()))?;
        let relative = file.strip_prefix(root).unwrap_or(file).display().to_string();
        let test_lines = test_code_lines(&relative, &text);
        sources.push(Source { relative, text, test_lines });
    }
    for source in &sources {
        check_columns(source, &mut problems);
        if source.relative.starts_with("core/src") {
            check_core_lines(source, &mut problems);
            check_unsafe_allowances(source, &mut problems);
        }
        if source.relative.starts_with("core/src") || source.relative.starts_with("ffi/src") {
            check_function_lengths(source, &mut problems);
        }
    }
    check_module_cycles(&sources, &mut problems);
    check_readme_example(root, &mut problems);
    if problems.is_empty() {
        eprintln!("xtask: tidy: {} files clean", files.len());
        Ok(())
    } else {
        Err(format!("tidy found {} problems:\n  {}", problems.len(), problems.join("\n  ")))
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

/// The lines of `text` that are test code: a `tests.rs` file whole; else each item under a
/// `#[cfg(test)]` attribute (through the line closing its block at the item's indentation,
/// or the item's one line).
fn test_code_lines(relative: &str, text: &str) -> BTreeSet<usize> {
    let lines: Vec<&str> = text.lines().collect();
    if relative.ends_with("/tests.rs") {
        return (0..lines.len()).collect();
    }
    let mut test = BTreeSet::new();
    let mut index = 0;
    while index < lines.len() {
        if lines[index].trim() != "#[cfg(test)]" {
            index += 1;
            continue;
        }
        let item = index + 1;
        let end = item_end(&lines, item);
        test.extend(index..=end);
        index = end + 1;
    }
    test
}

/// The last line of the item starting at line `start`: the line closing its block at the
/// item's indentation when the item opens one, else the item's own line.
fn item_end(lines: &[&str], start: usize) -> usize {
    let Some(first) = lines.get(start) else {
        return start;
    };
    if !first.trim_end().ends_with('{') {
        return start;
    }
    let indent = first.len() - first.trim_start().len();
    let close = format!("{}}}", " ".repeat(indent));
    (start + 1..lines.len())
        .find(|&number| lines[number].trim_end() == close)
        .unwrap_or(lines.len().saturating_sub(1))
}

fn check_columns(source: &Source, problems: &mut Vec<String>) {
    for (number, line) in source.text.lines().enumerate() {
        if line.chars().count() > LINE_COLUMNS_MAX {
            problems.push(format!(
                "{}:{}: longer than {LINE_COLUMNS_MAX} columns",
                source.relative,
                number + 1
            ));
        }
    }
}

/// No alloc; nothing that panics without a stated invariant.
fn check_core_lines(source: &Source, problems: &mut Vec<String>) {
    const BANNED: [&str; 6] =
        [".unwrap()", ".expect(", "panic!(", "todo!(", "unimplemented!(", "unreachable!("];
    for (number, line) in source.library_lines() {
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        let at = format!("{}:{}", source.relative, number + 1);
        if code.contains("extern crate alloc")
            || code.contains("alloc::") && !code.contains("core::alloc")
        {
            problems.push(format!("{at}: the core must not use alloc"));
        }
        if BANNED.iter().any(|banned| code.contains(banned)) && !code.contains("// INVARIANT:") {
            problems
                .push(format!("{at}: may panic; return an error or justify with // INVARIANT:"));
        }
    }
}

/// `allow(unsafe_code)` only on the declarations `UNSAFE_EXCEPTIONS` names.
fn check_unsafe_allowances(source: &Source, problems: &mut Vec<String>) {
    let lines: Vec<&str> = source.text.lines().collect();
    for (number, line) in lines.iter().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        if !code.contains("allow(unsafe_code)") {
            continue;
        }
        let declared = lines.get(number + 1).map_or("", |next| next.trim());
        let named = UNSAFE_EXCEPTIONS
            .iter()
            .any(|(file, declaration)| source.relative == *file && declared == *declaration);
        if !named {
            problems.push(format!(
                "{}:{}: unsafe is allowed only on the module declarations lib.rs names",
                source.relative,
                number + 1
            ));
        }
    }
}

/// Functions outside test code, from their `fn` line to their closing brace.
fn check_function_lengths(source: &Source, problems: &mut Vec<String>) {
    let lines: Vec<&str> = source.text.lines().collect();
    for (number, line) in source.library_lines() {
        let Some(name) = function_name(line) else {
            continue;
        };
        let end = function_end(&lines, number);
        let length = end - number + 1;
        if length > FUNCTION_LINES_MAX {
            problems.push(format!(
                "{}:{}: fn {name} is {length} lines (at most {FUNCTION_LINES_MAX})",
                source.relative,
                number + 1
            ));
        }
    }
}

/// The last line of the function declared at line `start`: its closing brace at the
/// declaration's indentation, or the end of its signature when it has no body (a trait
/// method) or a body on the same line.
fn function_end(lines: &[&str], start: usize) -> usize {
    let signature_end = (start..lines.len()).find(|&at| {
        let line = lines[at].trim_end();
        line.ends_with('{') || line.ends_with(';') || line.ends_with('}')
    });
    let Some(signature_end) = signature_end else {
        return start;
    };
    if !lines[signature_end].trim_end().ends_with('{') {
        return signature_end;
    }
    let indent = lines[start].len() - lines[start].trim_start().len();
    let close = format!("{}}}", " ".repeat(indent));
    (signature_end + 1..lines.len())
        .find(|&at| lines[at].trim_end() == close)
        .unwrap_or(lines.len().saturating_sub(1))
}

/// The function a line declares, if it starts one.
fn function_name(line: &str) -> Option<&str> {
    let code = line.trim_start();
    if code.starts_with("//") {
        return None;
    }
    let at = code.find("fn ")?;
    let before = &code[..at];
    let qualifiers = ["pub", "pub(crate)", "const", "unsafe", "extern", "\"C\"", "async"];
    if !before.split_whitespace().all(|word| qualifiers.contains(&word)) {
        return None;
    }
    let name = &code[at + 3..];
    let end = name.find(|c: char| !(c.is_alphanumeric() || c == '_'))?;
    Some(&name[..end])
}

/// Every `crate::module` a core file imports, by top-level module; fails on a cycle.
fn check_module_cycles(sources: &[Source], problems: &mut Vec<String>) {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for source in sources.iter().filter(|source| source.relative.starts_with("core/src/")) {
        let Some(module) = top_module(&source.relative) else {
            continue;
        };
        let imports = graph.entry(module.clone()).or_default();
        for (_, line) in source.library_lines() {
            let code = line.split("//").next().unwrap_or("");
            for (at, _) in code.match_indices("crate::") {
                let rest = &code[at + "crate::".len()..];
                let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_'));
                let target = &rest[..end.unwrap_or(rest.len())];
                if !target.is_empty() && target != module {
                    imports.insert(target.to_string());
                }
            }
        }
    }
    if let Some(cycle) = find_cycle(&graph) {
        problems.push(format!("core modules import each other: {}", cycle.join(" -> ")));
    }
}

/// The README's Rust block is `core/examples/readme.rs` between its markers, so the snippet
/// users copy compiles and runs (it rotted before: 19 errors).
fn check_readme_example(root: &Path, problems: &mut Vec<String>) {
    let read = |path: &str| std::fs::read_to_string(root.join(path)).unwrap_or_default();
    let readme = read("README.md");
    let examples = [
        ("## Using it from Rust", "```rust\n", "core/examples/readme.rs", "// README: "),
        ("## From C", "```c\n", "examples/c/readme.c", "/* README: "),
    ];
    for (section, fence, path, marker) in examples {
        let block = readme
            .split_once(section)
            .and_then(|(_, rest)| rest.split_once(fence))
            .and_then(|(_, rest)| rest.split_once("```"))
            .map(|(block, _)| block);
        let example = read(path);
        let (begin, end) = (format!("{marker}begin"), format!("{marker}end"));
        let program = example
            .split_once(begin.as_str())
            .and_then(|(_, rest)| rest.split_once('\n'))
            .and_then(|(_, rest)| rest.split_once(end.as_str()))
            .map(|(program, _)| program);
        if block.is_none() || block != program {
            problems.push(format!("README.md's block under {section} differs from {path}"));
        }
    }
}

/// `core/src/table/lookup.rs` -> `table`; `core/src/lib.rs` -> none (the crate root).
fn top_module(relative: &str) -> Option<String> {
    let path = relative.strip_prefix("core/src/")?;
    let first = path.split('/').next()?;
    let module = first.strip_suffix(".rs").unwrap_or(first);
    (module != "lib").then(|| module.to_string())
}

/// A cycle in `graph`, as the modules along it (the first repeated at the end), if any.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|step| step == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if !done.insert(node.to_string()) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    graph.keys().find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_modules_are_skipped_but_code_after_them_is_not() {
        let text =
            "fn a() {}\n#[cfg(test)]\nmod tests {\n    fn b() { x.unwrap() }\n}\nfn c() {}\n";
        let test = test_code_lines("core/src/x.rs", text);
        assert_eq!(test, (1..=4).collect());
        assert!(test_code_lines("core/src/table/tests.rs", text).len() == 6);
    }

    #[test]
    fn a_cycle_is_found_and_named() {
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        graph.entry("a".into()).or_default().insert("b".into());
        graph.entry("b".into()).or_default().insert("c".into());
        assert_eq!(find_cycle(&graph), None);
        graph.entry("c".into()).or_default().insert("a".into());
        assert_eq!(find_cycle(&graph), Some(vec!["a".into(), "b".into(), "c".into(), "a".into()]));
    }

    #[test]
    fn function_names_are_read_from_declarations_only() {
        assert_eq!(
            function_name("    pub(crate) fn seal_page(page: &mut [u8]) {"),
            Some("seal_page")
        );
        assert_eq!(function_name("pub unsafe extern \"C\" fn kausal_open("), Some("kausal_open"));
        assert_eq!(function_name("    let f = |x| x; // fn not"), None);
        assert_eq!(function_name("    // fn commented()"), None);
        let lines = ["    fn apply(&mut self,", "        x: u8) -> u8;", "    fn b() {", "    }"];
        assert_eq!((function_end(&lines, 0), function_end(&lines, 2)), (1, 3));
    }
}
