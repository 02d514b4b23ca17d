//! Which files of the tree an import names: `#include "x.h"`, `mod x;`, `import a.b`,
//! `import "./x"`, a Go package path. An import of anything outside the tree (a system
//! header, a crate, a package from a registry) names no file.

use crate::graph;
use crate::lang::Lang;
use kausaldb::BlockId;
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// The files of the tree, as import targets.
pub struct Files {
    /// Every source file's id.
    present: HashSet<BlockId>,
    /// Go packages by import path (`example.com/m/sub`): the `.go` files of one directory,
    /// under the module path of the nearest `go.mod` above it.
    go_packages: HashMap<String, Vec<BlockId>>,
}

impl Files {
    /// The files at `paths` (relative to `root`, `/`-separated) and their Go packages.
    pub fn new<'a>(root: &Path, paths: impl Iterator<Item = (&'a str, Lang)>) -> Files {
        let mut present = HashSet::new();
        let mut go_dirs: HashMap<&str, Vec<BlockId>> = HashMap::new();
        for (path, lang) in paths {
            let id = graph::file_id(path);
            present.insert(id);
            if lang == Lang::Go {
                go_dirs.entry(parent(path)).or_default().push(id);
            }
        }
        let mut modules = HashMap::new();
        let mut go_packages = HashMap::new();
        for (dir, files) in go_dirs {
            if let Some(path) = go_import_path(root, dir, &mut modules) {
                go_packages.insert(path, files);
            }
        }
        Files { present, go_packages }
    }

    /// Whether `file` is in the tree.
    pub fn contains(&self, file: &BlockId) -> bool {
        self.present.contains(file)
    }

    /// The files an import of `target` from the file at `from` names: a C `#include "x.h"`
    /// relative to the including file, then to the root; a Rust `mod x;` as `x.rs` or
    /// `x/mod.rs` beside the file (or in its directory for `lib.rs`/`main.rs`/`mod.rs`); a
    /// Python module as `a/b.py` or `a/b/__init__.py` from the root or, relative (`.x`),
    /// from the file's package; a relative JavaScript/TypeScript module with or without its
    /// extension; a Go package: every file of its directory.
    pub fn resolve(&self, from: &str, lang: Lang, target: &str) -> Vec<BlockId> {
        if lang == Lang::Go {
            return self.go_packages.get(target).cloned().unwrap_or_default();
        }
        let candidates = candidate_paths(from, lang, target);
        let found = candidates
            .into_iter()
            .map(|path| graph::file_id(&normalize(&path)))
            .find(|id| self.present.contains(id));
        found.into_iter().collect()
    }
}

/// The directory of a relative path (`""` at the root).
fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

fn join(dir: &str, rest: &str) -> String {
    if dir.is_empty() {
        rest.to_string()
    } else {
        format!("{dir}/{rest}")
    }
}

/// The paths, in order of preference, an import may name (see `Files::resolve`).
fn candidate_paths(from: &str, lang: Lang, target: &str) -> Vec<String> {
    let dir = parent(from);
    match lang {
        Lang::C | Lang::Cpp => vec![join(dir, target), target.to_string()],
        // Relative module paths only: packages resolve through a package manager.
        Lang::JavaScript | Lang::TypeScript | Lang::Tsx if target.starts_with('.') => {
            let base = join(dir, target);
            ["", ".ts", ".tsx", ".js", ".jsx", "/index.ts", "/index.js"]
                .iter()
                .map(|suffix| format!("{base}{suffix}"))
                .collect()
        }
        Lang::JavaScript | Lang::TypeScript | Lang::Tsx | Lang::Go => vec![],
        Lang::Rust => {
            let stem = from.rsplit('/').next().unwrap_or(from).trim_end_matches(".rs");
            let base = if matches!(stem, "lib" | "main" | "mod") {
                dir.to_string()
            } else {
                join(dir, stem)
            };
            if target.contains("::") {
                vec![]
            } else {
                vec![join(&base, &format!("{target}.rs")), join(&base, &format!("{target}/mod.rs"))]
            }
        }
        Lang::Python => {
            let relative = target.starts_with('.');
            let module = target.trim_start_matches('.').replace('.', "/");
            let base = if relative { join(dir, &module) } else { module };
            vec![format!("{base}.py"), join(&base, "__init__.py")]
        }
    }
}

/// The import path of the Go package in `dir`: the module path of the nearest `go.mod` at
/// or above it (within the tree), then the directories below that one. `modules` caches
/// what each directory's `go.mod` says (`None`: it has none).
fn go_import_path<'a>(
    root: &Path,
    dir: &'a str,
    modules: &mut HashMap<&'a str, Option<String>>,
) -> Option<String> {
    let mut at = dir;
    loop {
        let module = modules
            .entry(at)
            .or_insert_with(|| {
                let go_mod = std::fs::read_to_string(root.join(at).join("go.mod")).ok()?;
                go_mod.lines().find_map(|line| {
                    let rest = line.trim().strip_prefix("module")?;
                    Some(rest.trim().trim_matches('"').to_string())
                })
            })
            .clone();
        if let Some(module) = module {
            let below = dir.strip_prefix(at).unwrap_or("").trim_start_matches('/');
            return Some(if below.is_empty() { module } else { format!("{module}/{below}") });
        }
        if at.is_empty() {
            return None;
        }
        at = parent(at);
    }
}

/// `a/./b/../c` → `a/c`.
fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_go_package_path_is_its_module_path_then_its_directory() {
        let root = std::env::temp_dir().join(format!("kausal-go-mod-{}", std::process::id()));
        std::fs::create_dir_all(root.join("tools/gen")).unwrap();
        std::fs::write(root.join("go.mod"), "// the module\nmodule example.com/m\n\ngo 1.21\n")
            .unwrap();
        std::fs::write(root.join("tools/go.mod"), "module \"example.com/tools\"\n").unwrap();
        let paths = [("main.go", Lang::Go), ("a/b/x.go", Lang::Go), ("tools/gen/g.go", Lang::Go)];
        let files = Files::new(&root, paths.into_iter());
        assert_eq!(
            files.resolve("main.go", Lang::Go, "example.com/m"),
            [graph::file_id("main.go")]
        );
        assert_eq!(
            files.resolve("main.go", Lang::Go, "example.com/m/a/b"),
            [graph::file_id("a/b/x.go")]
        );
        // A nested module answers for its own directories, not the outer one's path.
        assert_eq!(
            files.resolve("main.go", Lang::Go, "example.com/tools/gen"),
            [graph::file_id("tools/gen/g.go")]
        );
        assert!(files.resolve("main.go", Lang::Go, "example.com/m/tools/gen").is_empty());
        assert!(files.resolve("main.go", Lang::Go, "fmt").is_empty());
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn relative_paths_are_normalized_before_they_are_looked_up() {
        assert_eq!(normalize("a/./b/../c"), "a/c");
        let files = Files::new(Path::new("/nonexistent"), [("src/x.h", Lang::C)].into_iter());
        assert_eq!(files.resolve("src/sub/y.c", Lang::C, "../x.h"), [graph::file_id("src/x.h")]);
        assert!(files.resolve("src/y.c", Lang::C, "stdio.h").is_empty());
    }
}
