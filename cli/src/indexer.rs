//! The indexer: walks a tree the way git sees it, parses the files whose content changed
//! (in parallel), and brings the store in line in one pass over them:
//!
//! 1. retire what a changed or deleted file held: definitions that are gone are deleted
//!    (their callers in other files are remembered), definitions that stay keep their id,
//!    block and incoming edges, and lose their outgoing ones, which are recomputed;
//! 2. write every changed file's blocks (file, definitions, names);
//! 3. link: imports, methods to their types, calls resolved through the name index;
//! 4. re-link the remembered callers, and move calls that went to an external symbol to a
//!    definition of that name that now exists.
//!
//! Blocks are all written before any edge, so an edge never waits for its target, and a
//! file that did not change is not read beyond its hash.

use crate::error::Error;
use crate::graph::{self, NAMES};
use crate::imports::Files;
use crate::lang::{self, CallKind, Kind, Lang, ParsedFile};
use crate::store::{edges_of, metadata_of};
use kausaldb::{BlockId, Db, Direction, Edge, EdgeFilter, EdgeType};
use rayon::prelude::*;
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// What an index run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Source files in the tree (of the languages indexed).
    pub files: usize,
    /// Files parsed because they are new or their content changed.
    pub files_parsed: usize,
    /// Files that were indexed before and are gone.
    pub files_removed: usize,
    /// Lines of the files parsed.
    pub lines_parsed: usize,
    /// Definitions written.
    pub definitions: usize,
    /// Call edges written.
    pub calls: usize,
    /// Calls whose name has several candidates (each linked, with `CALLS`).
    pub calls_ambiguous: usize,
    /// Calls to symbols defined nowhere in the tree (linked to an external symbol).
    pub calls_external: usize,
    /// Calls of a name with more than `AMBIGUOUS_LINKS_MAX` definitions (linked to the
    /// name's unresolved symbol).
    pub calls_unresolved: usize,
    /// Writes the store took (puts and deletes of blocks and edges): 0 when nothing changed.
    pub writes: u64,
}

impl Summary {
    /// The summary as JSON, with the run's wall time.
    pub fn to_json(&self, seconds: f64) -> serde_json::Value {
        serde_json::json!({
            "files": self.files,
            "files_parsed": self.files_parsed,
            "files_removed": self.files_removed,
            "lines_parsed": self.lines_parsed,
            "definitions": self.definitions,
            "calls": self.calls,
            "calls_ambiguous": self.calls_ambiguous,
            "calls_external": self.calls_external,
            "calls_unresolved": self.calls_unresolved,
            "writes": self.writes,
            "seconds": seconds,
        })
    }
}

/// A source file read from the tree.
struct Source {
    path: String,
    lang: Lang,
    bytes: Vec<u8>,
    hash: u64,
}

/// A changed file, parsed.
struct Parsed {
    source: Source,
    file: ParsedFile,
    ids: Vec<BlockId>,
}

/// A call to resolve: the callee's name, how it is called, the caller's language, and the
/// qualified name the call spells out (`Type::f`), if any.
#[derive(Clone, Copy, Debug)]
struct CallSite<'a> {
    name: &'a str,
    kind: CallKind,
    lang: Lang,
    qualified: Option<&'a str>,
    /// The qualifier names a type (`Vec::new()`, `Store::open()`): a call no definition of
    /// that qualified name answers is external, not any other `new`.
    strict: bool,
}

/// A call into a definition that was deleted: re-resolved once the new blocks exist.
struct Orphan {
    caller: BlockId,
    name: String,
    lang: Lang,
    kind: CallKind,
    /// A `REFERENCES` edge rather than a call.
    reference: bool,
}

/// The block holding the tree: `CONTAINS` every file indexed.
pub fn root_id() -> BlockId {
    BlockId::derive(graph::NS, b"root")
}

/// The source files under `root` (paths relative to it, `/`-separated, sorted), walked the
/// way git sees the tree (`.gitignore`, hidden files left out).
pub fn source_files(root: &Path) -> Result<Vec<(String, Lang)>, Error> {
    let mut files = Vec::new();
    for entry in ignore::WalkBuilder::new(root).build() {
        let entry = entry.map_err(|error| Error::Io {
            path: root.display().to_string(),
            error: std::io::Error::other(error.to_string()),
        })?;
        let path = entry.path();
        let (Some(lang), true) =
            (Lang::of_path(path), entry.file_type().is_some_and(|t| t.is_file()))
        else {
            continue;
        };
        let Ok(relative) = path.strip_prefix(root) else { continue };
        let relative: Vec<_> =
            relative.components().map(|c| c.as_os_str().to_string_lossy()).collect();
        files.push((relative.join("/"), lang));
    }
    files.sort();
    Ok(files)
}

/// Reads every file and hashes it, in parallel.
fn read_all(root: &Path, files: Vec<(String, Lang)>) -> Result<Vec<Source>, Error> {
    files
        .into_par_iter()
        .map(|(path, lang)| {
            let full = root.join(&path);
            let bytes = std::fs::read(&full)
                .map_err(|error| Error::Io { path: full.display().to_string(), error })?;
            let hash = xxhash_rust::xxh3::xxh3_64(&bytes);
            Ok(Source { path, lang, bytes, hash })
        })
        .collect()
}

/// The content hash the store holds for a file, if it indexed it.
fn stored_hash(db: &mut Db<'_>, path: &str) -> Result<Option<u64>, Error> {
    let metadata = metadata_of(db, graph::file_id(path))?;
    let hash = metadata
        .as_ref()
        .and_then(|m| m["hash"].as_str())
        .and_then(|h| u64::from_str_radix(h, 16).ok());
    Ok(hash)
}

/// Metadata of the root block: `state` is `indexing` from a run's first write to its last,
/// so a run that finds it so knows the last one was interrupted.
fn root_metadata(state: &str, files: usize) -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    serde_json::json!({
        "kind": "root",
        "state": state,
        "files": files,
        "indexed_at": seconds,
        "version": graph::INDEX_VERSION,
    })
    .to_string()
}

/// The files to parse and the files gone: those whose content hash differs from the one
/// stored, or every file if the last run was interrupted (its links may be incomplete).
fn plan(db: &mut Db<'_>, sources: Vec<Source>) -> Result<(Vec<Source>, Vec<BlockId>), Error> {
    let present: HashSet<BlockId> =
        sources.iter().map(|source| graph::file_id(&source.path)).collect();
    let root = metadata_of(db, root_id())?;
    // Interrupted, or written by another version of the extraction: every file again.
    let interrupted = root.as_ref().is_some_and(|m| {
        m["state"] == "indexing" || m["version"].as_u64() != Some(graph::INDEX_VERSION)
    });
    let mut changed = Vec::new();
    for source in sources {
        if interrupted || stored_hash(db, &source.path)? != Some(source.hash) {
            changed.push(source);
        }
    }
    let removed =
        edges_of(db, root_id(), Direction::Outgoing, EdgeFilter::Only(EdgeType::CONTAINS))?
            .into_iter()
            .map(|edge| edge.target)
            .filter(|file| !present.contains(file))
            .collect();
    Ok((changed, removed))
}

/// What an index run reports while it works: the phase (`parse`, `write`, `link`), files
/// done and files in all. Called from parsing threads too.
pub type Progress<'a> = &'a (dyn Fn(&str, u64, u64) + Sync);

/// Indexes the tree at `root` into `db`. `content_bytes_max` bounds a definition's stored
/// source (longer ones are cut and marked `truncated`). An interrupted run leaves the root
/// block marked `indexing`, and the next run redoes every file (ids are stable, so that
/// updates in place), so no state between two runs is ever taken for a finished index.
pub fn index(
    db: &mut Db<'_>,
    root: &Path,
    content_bytes_max: usize,
    progress: Progress<'_>,
) -> Result<Summary, Error> {
    let sequence_before = db.stats().sequence_next;
    let sources = read_all(root, source_files(root)?)?;
    let files = sources.len();
    let tree = Files::new(root, sources.iter().map(|source| (source.path.as_str(), source.lang)));
    let (changed, removed) = plan(db, sources)?;
    if changed.is_empty() && removed.is_empty() {
        return Ok(Summary { files, ..Summary::default() });
    }
    // First: any later write of this run that survives a crash implies this one did.
    db.put_block(root_id(), b"kausal:root", root_metadata("indexing", files).as_bytes(), b"")?;
    let total = changed.len() as u64;
    let done = std::sync::atomic::AtomicU64::new(0);
    let mut parsed: Vec<Parsed> = changed
        .into_par_iter()
        .map(|source| {
            let file = lang::parse(source.lang, &source.bytes);
            let count = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            progress("parse", count, total);
            let ids = graph::definition_ids(source.lang, &source.path, &file.definitions);
            Parsed { source, file, ids }
        })
        .collect();
    let mut summary = Summary {
        files,
        files_parsed: parsed.len(),
        files_removed: removed.len(),
        lines_parsed: parsed.iter().map(|p| p.file.lines).sum(),
        ..Summary::default()
    };
    let mut orphans = Vec::new();
    for file in &removed {
        retire(db, *file, &HashSet::new(), &mut orphans)?;
        db.delete_block(*file)?;
    }
    for parsed in &parsed {
        let keep: HashSet<BlockId> = parsed.ids.iter().copied().collect();
        retire(db, graph::file_id(&parsed.source.path), &keep, &mut orphans)?;
    }
    let mut linker = Linker::new(&tree);
    for (index, parsed) in parsed.iter_mut().enumerate() {
        write_file(db, parsed, content_bytes_max, &mut linker)?;
        summary.definitions += parsed.ids.len();
        // The source is in the store now; linking needs only what was parsed.
        parsed.source.bytes = Vec::new();
        progress("write", index as u64 + 1, total);
    }
    for (index, parsed) in parsed.iter().enumerate() {
        linker.link_file(db, parsed, &mut summary)?;
        progress("link", index as u64 + 1, total);
    }
    linker.relink(db, orphans, &mut summary)?;
    linker.adopt_externals(db, &parsed, &mut summary)?;
    db.put_block(root_id(), b"kausal:root", root_metadata("clean", files).as_bytes(), b"")?;
    summary.writes = db.stats().sequence_next - sequence_before;
    Ok(summary)
}

/// Indexes the tree at `root` into `store` (see `index`) and makes it durable: flushed to
/// the tables when anything changed (a later open then replays no log), then synced.
pub fn index_store(
    store: &mut kausaldb::Store,
    root: &Path,
    progress: Progress<'_>,
) -> Result<Summary, Error> {
    let content_bytes_max = crate::store::config().content_bytes_max as usize;
    store.with(|db| {
        let summary = index(db, root, content_bytes_max, progress)?;
        if summary.writes > 0 {
            db.flush()?;
        }
        db.sync()?;
        Ok(summary)
    })
}

/// Marks the store so that the next index parses every file again (a full index): as a
/// run that was interrupted does.
pub fn mark_for_full_index(db: &mut Db<'_>) -> Result<(), Error> {
    let files = edges_of(db, root_id(), Direction::Outgoing, EdgeFilter::Only(EdgeType::CONTAINS))?;
    let metadata = root_metadata("indexing", files.len());
    db.put_block(root_id(), b"kausal:root", metadata.as_bytes(), b"")?;
    Ok(())
}

/// Removes what `file` held that does not survive: definitions not in `keep` (their callers
/// elsewhere go to `orphans`), and the outgoing edges of those that do and of the file,
/// which are recomputed.
fn retire(
    db: &mut Db<'_>,
    file: BlockId,
    keep: &HashSet<BlockId>,
    orphans: &mut Vec<Orphan>,
) -> Result<(), Error> {
    let defined = edges_of(db, file, Direction::Outgoing, EdgeFilter::Only(EdgeType::CONTAINS))?;
    for definition in defined.iter().map(|edge| edge.target) {
        if keep.contains(&definition) {
            drop_outgoing(db, definition)?;
            continue;
        }
        let metadata = metadata_of(db, definition)?;
        let name = metadata.as_ref().and_then(|m| m["name"].as_str()).unwrap_or("").to_string();
        let lang = metadata.as_ref().and_then(|m| m["lang"].as_str()).and_then(lang_named);
        // Calls and type uses from elsewhere: re-resolved once the new blocks exist.
        const INCOMING: [EdgeType; 4] = [
            EdgeType::CALLS,
            EdgeType::CALLS_METHOD,
            EdgeType::CALLS_FUNCTION,
            EdgeType::REFERENCES,
        ];
        for edge in edges_of(db, definition, Direction::Incoming, EdgeFilter::Include(&INCOMING))? {
            if let (Some(lang), false) = (lang, edge.source == definition) {
                let kind = call_kind_of(edge.edge_type);
                let reference = edge.edge_type == EdgeType::REFERENCES;
                orphans.push(Orphan {
                    caller: edge.source,
                    name: name.clone(),
                    lang,
                    kind,
                    reference,
                });
            }
        }
        db.delete_block(definition)?;
    }
    drop_outgoing(db, file)
}

/// Deletes the edges a re-index recomputes: calls, imports and `METHOD_OF` out of `id`.
fn drop_outgoing(db: &mut Db<'_>, id: BlockId) -> Result<(), Error> {
    const RECOMPUTED: [EdgeType; 8] = [
        EdgeType::CALLS,
        EdgeType::CALLS_METHOD,
        EdgeType::CALLS_FUNCTION,
        EdgeType::REFERENCES,
        EdgeType::EXTENDS,
        EdgeType::IMPLEMENTS,
        EdgeType::IMPORTS,
        EdgeType::METHOD_OF,
    ];
    for edge in edges_of(db, id, Direction::Outgoing, EdgeFilter::Include(&RECOMPUTED))? {
        db.delete_edge(edge)?;
    }
    Ok(())
}

fn call_kind_of(edge_type: EdgeType) -> CallKind {
    match edge_type {
        EdgeType::CALLS_FUNCTION => CallKind::Function,
        EdgeType::CALLS_METHOD => CallKind::Method,
        _ => CallKind::Unknown,
    }
}

/// A hash of a definition's file and qualified name, to compare them without keeping them
/// (within one run: any hash does).
fn symbol_hash(path: &str, qualified_name: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(format!("{path}\0{qualified_name}").as_bytes())
}

fn lang_named(name: &str) -> Option<Lang> {
    Lang::named(name)
}

/// Writes a changed file's blocks: the file, its definitions (in place: same id, new
/// version), the tree's `CONTAINS` edge, and the name index.
fn write_file(
    db: &mut Db<'_>,
    parsed: &Parsed,
    content_bytes_max: usize,
    linker: &mut Linker,
) -> Result<(), Error> {
    let Parsed { source, file, ids } = parsed;
    let file_id = graph::file_id(&source.path);
    let metadata = graph::file_metadata(&source.path, source.lang, file.lines, source.hash);
    let header = format!(
        "{} ({}, {} lines, {} definitions)",
        source.path,
        source.lang.name(),
        file.lines,
        ids.len()
    );
    db.put_block(file_id, source.path.as_bytes(), metadata.as_bytes(), header.as_bytes())?;
    db.put_edge(Edge { source: root_id(), target: file_id, edge_type: EdgeType::CONTAINS })?;
    link_name(db, &source.path, file_id)?;
    for (definition, id) in file.definitions.iter().zip(ids) {
        let text = source.bytes.get(definition.bytes.clone()).unwrap_or(&[]);
        let truncated = text.len() > content_bytes_max;
        let content = &text[..text.len().min(content_bytes_max)];
        let metadata = graph::definition_metadata(source.lang, &source.path, definition, truncated);
        let uri = graph::definition_uri(&source.path, definition);
        db.put_block(*id, uri.as_bytes(), metadata.as_bytes(), content)?;
        db.put_edge(Edge { source: file_id, target: *id, edge_type: EdgeType::CONTAINS })?;
        db.put_edge(Edge { source: *id, target: file_id, edge_type: EdgeType::DEFINED_IN })?;
        link_name(db, &definition.name, *id)?;
        if definition.qualified_name != definition.name {
            link_name(db, &definition.qualified_name, *id)?;
        }
        let symbol = Symbol {
            file: file_id,
            lang: source.lang,
            kind: kind_class(definition.kind),
            qualified: symbol_hash(&source.path, &definition.qualified_name),
            conditional: definition.conditional,
        };
        linker.symbols.insert(*id, symbol);
    }
    Ok(())
}

/// Adds `symbol` under `name` in the name index.
fn link_name(db: &mut Db<'_>, name: &str, symbol: BlockId) -> Result<(), Error> {
    let id = graph::name_id(name);
    let edge = Edge { source: id, target: symbol, edge_type: NAMES };
    match db.put_edge(edge) {
        Err(kausaldb::Error::NotFound) => {
            let uri = format!("name:{name}");
            db.put_block(id, uri.as_bytes(), graph::name_metadata(name).as_bytes(), b"")?;
            db.put_edge(edge)?;
            let (key, key_uri) = (graph::key_id(name), graph::key_uri(name));
            db.put_block(key, key_uri.as_bytes(), graph::key_metadata(name).as_bytes(), b"")?;
            Ok(())
        }
        other => other.map(|_| ()).map_err(Error::from),
    }
}

/// What resolution needs to know of a candidate.
#[derive(Clone, Copy, Debug)]
struct Symbol {
    file: BlockId,
    lang: Lang,
    kind: SymbolClass,
    /// A hash of its file and qualified name: candidates that share one are one symbol
    /// defined more than once in a file (`#ifdef` branches, overloads), not rivals, as
    /// two `static` functions of one name in two C files are.
    qualified: u64,
    /// A macro defined under `#if`: maybe a shim for a function of its name.
    conditional: bool,
}

/// Candidates a call may resolve to, by what they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SymbolClass {
    Function,
    Method,
    /// A C macro: called like a function, linked with `CALLS`.
    Macro,
    /// A type a call can construct (a Python class, a Rust tuple struct).
    Type,
    /// Another name for a type: referenced, never called.
    Alias,
    /// Named but never called (modules, aliases, externals).
    Other,
}

fn kind_class(kind: Kind) -> SymbolClass {
    match kind {
        Kind::Function => SymbolClass::Function,
        Kind::Macro => SymbolClass::Macro,
        Kind::Method => SymbolClass::Method,
        Kind::Struct | Kind::Class | Kind::Enum | Kind::Union | Kind::Trait | Kind::Interface => {
            SymbolClass::Type
        }
        Kind::TypeAlias => SymbolClass::Alias,
        Kind::Module => SymbolClass::Other,
    }
}

fn kind_class_named(name: &str) -> SymbolClass {
    match name {
        "function" => SymbolClass::Function,
        "macro" => SymbolClass::Macro,
        "method" => SymbolClass::Method,
        "struct" | "class" | "enum" | "union" | "trait" | "interface" => SymbolClass::Type,
        "type_alias" => SymbolClass::Alias,
        _ => SymbolClass::Other,
    }
}

/// How a call was resolved.
enum Resolution {
    /// To these definitions, by scope (the same file, then what it imports) or uniqueness.
    Resolved(Vec<BlockId>),
    /// Several definitions fit equally: each is linked with `CALLS`.
    Ambiguous(Vec<BlockId>),
    /// None in the tree: an external symbol.
    External,
    /// Only macros defined under `#if` (`#define getpid() GetCurrentProcessId()` for
    /// Windows): in other configurations the name is the function, defined in the tree
    /// (`functions`) or outside it (empty). Each is linked with `CALLS`, as ambiguous.
    Shim { macros: Vec<BlockId>, functions: Vec<BlockId> },
}

/// Resolves names to definitions through the name index, with what it learnt cached.
struct Linker<'p> {
    /// Files in the tree now.
    tree: &'p Files,
    symbols: HashMap<BlockId, Symbol>,
    /// Resolved `IMPORTS` targets per file.
    imports: HashMap<BlockId, HashSet<BlockId>>,
}

impl<'p> Linker<'p> {
    fn new(tree: &'p Files) -> Linker<'p> {
        Linker { tree, symbols: HashMap::new(), imports: HashMap::new() }
    }

    /// What the store says about `id` (cached).
    fn symbol(&mut self, db: &mut Db<'_>, id: BlockId) -> Result<Option<Symbol>, Error> {
        if let Some(symbol) = self.symbols.get(&id) {
            return Ok(Some(*symbol));
        }
        let Some(metadata) = metadata_of(db, id)? else { return Ok(None) };
        let (Some(lang), Some(kind), Some(path), Some(qualified)) = (
            metadata["lang"].as_str().and_then(lang_named),
            metadata["kind"].as_str(),
            metadata["path"].as_str(),
            metadata["qualified_name"].as_str(),
        ) else {
            return Ok(None);
        };
        let (file, kind) = (graph::file_id(path), kind_class_named(kind));
        let symbol = Symbol {
            file,
            lang,
            kind,
            qualified: symbol_hash(path, qualified),
            conditional: metadata["conditional"].as_bool().unwrap_or(false),
        };
        self.symbols.insert(id, symbol);
        Ok(Some(symbol))
    }

    /// The files `file` imports (cached; from the store for a file not re-parsed).
    fn imports_of(&mut self, db: &mut Db<'_>, file: BlockId) -> Result<HashSet<BlockId>, Error> {
        if let Some(imports) = self.imports.get(&file) {
            return Ok(imports.clone());
        }
        let edges = edges_of(db, file, Direction::Outgoing, EdgeFilter::Only(EdgeType::IMPORTS))?;
        let imports: HashSet<BlockId> = edges.into_iter().map(|edge| edge.target).collect();
        self.imports.insert(file, imports.clone());
        Ok(imports)
    }

    /// The callable definitions of `lang` named `name` (a name or qualified name).
    fn candidates(
        &mut self,
        db: &mut Db<'_>,
        name: &str,
        lang: Lang,
    ) -> Result<Vec<(BlockId, Symbol)>, Error> {
        let mut candidates = Vec::new();
        let named =
            edges_of(db, graph::name_id(name), Direction::Outgoing, EdgeFilter::Only(NAMES))?;
        for edge in named {
            if let Some(symbol) = self.symbol(db, edge.target)? {
                let callable = !matches!(symbol.kind, SymbolClass::Other | SymbolClass::Alias);
                if symbol.lang == lang && callable {
                    candidates.push((edge.target, symbol));
                }
            }
        }
        Ok(candidates)
    }

    /// Resolves a call of `name` from a definition in `file`: by its qualified name first
    /// when the call names a type or module (`Type::f`, `self.f()`), else by name; then the
    /// same file first, the files it imports next, then a unique definition anywhere in the
    /// tree (same language); several equally good: ambiguous; none: external. A method
    /// call prefers methods.
    fn resolve(
        &mut self,
        db: &mut Db<'_>,
        call: CallSite<'_>,
        file: BlockId,
    ) -> Result<Resolution, Error> {
        let CallSite { name, kind, lang, qualified, strict } = call;
        let mut candidates = match qualified {
            Some(qualified) => self.candidates(db, qualified, lang)?,
            None => Vec::new(),
        };
        if candidates.is_empty() && strict {
            return Ok(Resolution::External);
        }
        if candidates.is_empty() {
            candidates = self.candidates(db, name, lang)?;
        }
        if kind == CallKind::Method && candidates.iter().any(|(_, s)| s.kind == SymbolClass::Method)
        {
            candidates.retain(|(_, s)| s.kind == SymbolClass::Method);
        }
        let same_file: Vec<_> = candidates.iter().filter(|(_, s)| s.file == file).collect();
        if !same_file.is_empty() {
            return Ok(settle(&same_file, &candidates));
        }
        let imports = self.imports_of(db, file)?;
        let imported: Vec<_> =
            candidates.iter().filter(|(_, s)| imports.contains(&s.file)).collect();
        if !imported.is_empty() {
            return Ok(settle(&imported, &candidates));
        }
        if candidates.is_empty() {
            return Ok(Resolution::External);
        }
        Ok(settle(&candidates.iter().collect::<Vec<_>>(), &candidates))
    }

    /// Links one call from `caller` (in `file`) and counts it.
    fn link_call(
        &mut self,
        db: &mut Db<'_>,
        call: CallSite<'_>,
        caller: BlockId,
        file: BlockId,
        summary: &mut Summary,
    ) -> Result<(), Error> {
        let CallSite { name, kind, lang, qualified, strict } = call;
        let edges: Vec<(BlockId, EdgeType)> = match self.resolve(db, call, file)? {
            Resolution::Resolved(targets) => {
                let mut typed = Vec::with_capacity(targets.len());
                for target in targets {
                    typed.push((target, call_type_to(self.symbol(db, target)?, kind)));
                }
                typed
            }
            Resolution::Ambiguous(targets) if targets.len() <= AMBIGUOUS_LINKS_MAX => {
                summary.calls_ambiguous += 1;
                targets.into_iter().map(|target| (target, EdgeType::CALLS)).collect()
            }
            Resolution::Ambiguous(_) => {
                summary.calls_unresolved += 1;
                vec![(unresolved(db, lang, name)?, EdgeType::CALLS)]
            }
            Resolution::Shim { macros, mut functions } => {
                summary.calls_ambiguous += 1;
                if functions.is_empty() {
                    functions.push(external(db, lang, name)?);
                }
                macros.into_iter().chain(functions).map(|id| (id, EdgeType::CALLS)).collect()
            }
            Resolution::External => {
                summary.calls_external += 1;
                // `Vec::new` stays `Vec::new`, so its callers are its own.
                let external_name = qualified.filter(|_| strict).unwrap_or(name);
                vec![(external(db, lang, external_name)?, graph::call_type(kind))]
            }
        };
        for (target, edge_type) in edges {
            if db.put_edge(Edge { source: caller, target, edge_type })?.is_some() {
                summary.calls += 1;
            }
        }
        Ok(())
    }

    /// Imports, methods to their types, and calls of one re-parsed file.
    fn link_file(
        &mut self,
        db: &mut Db<'_>,
        parsed: &Parsed,
        summary: &mut Summary,
    ) -> Result<(), Error> {
        let Parsed { source, file, ids } = parsed;
        let file_id = graph::file_id(&source.path);
        let mut imports = HashSet::new();
        // Names bound to modules outside the tree (`import math`, Go's `"fmt"`).
        let mut outside = HashSet::new();
        for import in &file.imports {
            let targets = self.tree.resolve(&source.path, source.lang, &import.target);
            if let (true, Some(binds)) = (targets.is_empty(), &import.binds) {
                outside.insert(binds.as_str());
            }
            for target in targets {
                db.put_edge(Edge { source: file_id, target, edge_type: EdgeType::IMPORTS })?;
                imports.insert(target);
            }
        }
        self.imports.insert(file_id, imports);
        for (definition, id) in file.definitions.iter().zip(ids) {
            let Some(owner) = &definition.owner else { continue };
            if let Resolution::Resolved(types) =
                self.resolve_type(db, owner, source.lang, file_id)?
            {
                for target in types {
                    db.put_edge(Edge { source: *id, target, edge_type: EdgeType::METHOD_OF })?;
                }
            }
        }
        for inherit in &file.inherits {
            self.link_inherit(db, inherit, source.lang, file_id)?;
        }
        for reference in &file.references {
            let Some(from) = reference.from.and_then(|index| ids.get(index).copied()) else {
                continue;
            };
            self.link_reference(db, (&reference.name, source.lang), from, file_id)?;
        }
        self.link_calls(db, parsed, &outside, summary)
    }

    /// The calls of one re-parsed file, each from its definition (or the file). A call
    /// through a name `outside` binds to a module outside the tree (`math.sqrt()`), or
    /// through a runtime's global object (`console.log()`), is that module's: external,
    /// named with its qualifier, never a method of the same name in the tree.
    fn link_calls(
        &mut self,
        db: &mut Db<'_>,
        parsed: &Parsed,
        outside: &HashSet<&str>,
        summary: &mut Summary,
    ) -> Result<(), Error> {
        let Parsed { source, file, ids } = parsed;
        let file_id = graph::file_id(&source.path);
        // Rust names types in CamelCase and modules in snake_case; module paths are not in
        // the qualified names (those come from scopes inside a file).
        let names_type = |q: &str| q.starts_with(|c: char| c.is_ascii_uppercase());
        for call in &file.calls {
            let caller = call.caller.and_then(|index| ids.get(index).copied()).unwrap_or(file_id);
            let owner = call.caller.and_then(|index| file.definitions.get(index));
            let qualifier = match call.qualifier.as_deref() {
                Some("self" | "Self") => owner.and_then(|definition| definition.owner.as_deref()),
                other => other,
            };
            let qualified =
                qualifier.map(|q| format!("{q}{}{}", source.lang.separator(), call.name));
            let rust_type = source.lang == Lang::Rust
                && call.kind == CallKind::Function
                && call.qualifier.as_deref().is_some_and(|q| q != "Self" && names_type(q));
            let module_outside = call
                .qualifier
                .as_deref()
                .is_some_and(|q| outside.contains(q) || source.lang.global_object(q));
            let strict = rust_type || module_outside;
            // `math.sqrt()`, `fmt.Println()`: a module's function, whatever the syntax says.
            let kind = match call.qualifier.as_deref() {
                Some(q) if outside.contains(q) => CallKind::Function,
                _ => call.kind,
            };
            let site = CallSite {
                name: &call.name,
                kind,
                lang: source.lang,
                qualified: qualified.as_deref(),
                strict,
            };
            self.link_call(db, site, caller, file_id, summary)?;
        }
        Ok(())
    }

    /// Links a type of `file` to the base it extends or implements: only a type defined in
    /// this file (a Rust `impl Trait for T` elsewhere is left out), so the edge is
    /// recomputed whenever the file changes.
    fn link_inherit(
        &mut self,
        db: &mut Db<'_>,
        inherit: &crate::lang::Inherit,
        lang: Lang,
        file: BlockId,
    ) -> Result<(), Error> {
        let Resolution::Resolved(types) = self.resolve_type(db, &inherit.ty, lang, file)? else {
            return Ok(());
        };
        let mut local = Vec::new();
        for ty in types {
            if self.symbol(db, ty)?.is_some_and(|symbol| symbol.file == file) {
                local.push(ty);
            }
        }
        let bases = match self.resolve_type(db, &inherit.base, lang, file)? {
            Resolution::Resolved(bases) => bases,
            Resolution::Ambiguous(bases) if bases.len() <= AMBIGUOUS_LINKS_MAX => bases,
            Resolution::Ambiguous(_) | Resolution::External | Resolution::Shim { .. } => {
                return Ok(())
            }
        };
        let edge_type = if inherit.implements { EdgeType::IMPLEMENTS } else { EdgeType::EXTENDS };
        for source in &local {
            for target in bases.iter().filter(|base| *base != source) {
                db.put_edge(Edge { source: *source, target: *target, edge_type })?;
            }
        }
        Ok(())
    }

    /// Links `from`'s use of the type `name` (in `file`): `REFERENCES` to the type, resolved
    /// as a method's type is; a type defined nowhere in the tree (or too often) is left out.
    fn link_reference(
        &mut self,
        db: &mut Db<'_>,
        (name, lang): (&str, Lang),
        from: BlockId,
        file: BlockId,
    ) -> Result<(), Error> {
        let targets = match self.resolve_type(db, name, lang, file)? {
            Resolution::Resolved(targets) => targets,
            Resolution::Ambiguous(targets) if targets.len() <= AMBIGUOUS_LINKS_MAX => targets,
            Resolution::Ambiguous(_) | Resolution::External | Resolution::Shim { .. } => {
                return Ok(())
            }
        };
        for target in targets {
            if target != from {
                db.put_edge(Edge { source: from, target, edge_type: EdgeType::REFERENCES })?;
            }
        }
        Ok(())
    }

    /// The type named `name` a method belongs to: in the same file, else unique in the tree.
    fn resolve_type(
        &mut self,
        db: &mut Db<'_>,
        name: &str,
        lang: Lang,
        file: BlockId,
    ) -> Result<Resolution, Error> {
        let mut types = Vec::new();
        for edge in
            edges_of(db, graph::name_id(name), Direction::Outgoing, EdgeFilter::Only(NAMES))?
        {
            if let Some(symbol) = self.symbol(db, edge.target)? {
                let named_type = matches!(symbol.kind, SymbolClass::Type | SymbolClass::Alias);
                if symbol.lang == lang && named_type {
                    types.push((edge.target, symbol.file == file));
                }
            }
        }
        let same_file: Vec<BlockId> =
            types.iter().filter(|(_, same)| *same).map(|(id, _)| *id).collect();
        Ok(match (same_file.is_empty(), types.len()) {
            (false, _) => Resolution::Resolved(same_file),
            (true, 1) => Resolution::Resolved(vec![types[0].0]),
            (true, 0) => Resolution::External,
            _ => Resolution::Ambiguous(types.into_iter().map(|(id, _)| id).collect()),
        })
    }

    /// The file of a caller: itself if it is a file, else the file it is defined in.
    fn file_of(&mut self, db: &mut Db<'_>, caller: BlockId) -> Result<Option<BlockId>, Error> {
        if self.tree.contains(&caller) {
            return Ok(Some(caller));
        }
        let defined =
            edges_of(db, caller, Direction::Outgoing, EdgeFilter::Only(EdgeType::DEFINED_IN))?;
        Ok(defined.first().map(|edge| edge.target))
    }

    /// Re-links calls whose target was deleted, from callers that still exist.
    fn relink(
        &mut self,
        db: &mut Db<'_>,
        orphans: Vec<Orphan>,
        summary: &mut Summary,
    ) -> Result<(), Error> {
        for orphan in orphans {
            let Some(file) = self.file_of(db, orphan.caller)? else { continue };
            if orphan.reference {
                self.link_reference(db, (&orphan.name, orphan.lang), orphan.caller, file)?;
                continue;
            }
            {
                let site = CallSite {
                    name: &orphan.name,
                    kind: orphan.kind,
                    lang: orphan.lang,
                    qualified: None,
                    strict: false,
                };
                self.link_call(db, site, orphan.caller, file, summary)?;
            }
        }
        Ok(())
    }

    /// Calls that went to an external symbol now defined in the tree move to the definition;
    /// an external symbol nobody calls any more is deleted.
    fn adopt_externals(
        &mut self,
        db: &mut Db<'_>,
        parsed: &[Parsed],
        summary: &mut Summary,
    ) -> Result<(), Error> {
        let mut names: HashSet<(Lang, &str)> = HashSet::new();
        for parsed in parsed {
            names.extend(
                parsed.file.definitions.iter().map(|d| (parsed.source.lang, d.name.as_str())),
            );
        }
        for (lang, name) in names {
            let external = graph::external_id(lang, name);
            let calls = edges_of(
                db,
                external,
                Direction::Incoming,
                EdgeFilter::Include(&graph::CALL_TYPES),
            )?;
            if calls.is_empty() {
                continue;
            }
            for edge in &calls {
                db.delete_edge(*edge)?;
                if let Some(file) = self.file_of(db, edge.source)? {
                    let kind = call_kind_of(edge.edge_type);
                    let site = CallSite { name, kind, lang, qualified: None, strict: false };
                    self.link_call(db, site, edge.source, file, summary)?;
                }
            }
            let still_called = edges_of(
                db,
                external,
                Direction::Incoming,
                EdgeFilter::Include(&graph::CALL_TYPES),
            )?;
            if still_called.is_empty() {
                db.delete_block(external)?;
            }
        }
        Ok(())
    }
}

/// The resolution of a call whose nearest candidates are `nearest`, of all `candidates`:
/// a shim when the nearest is one macro defined under `#if` (defined in several branches,
/// `#ifdef _WIN32 ... #else ...`, the name is a macro in every configuration), else as
/// `one_symbol_or_ambiguous` says.
fn settle(nearest: &[&(BlockId, Symbol)], candidates: &[(BlockId, Symbol)]) -> Resolution {
    let shim = match nearest {
        [(_, symbol)] => symbol.kind == SymbolClass::Macro && symbol.conditional,
        _ => false,
    };
    if !shim {
        return one_symbol_or_ambiguous(nearest);
    }
    let functions = candidates
        .iter()
        .filter(|(_, s)| s.kind != SymbolClass::Macro)
        .map(|(id, _)| *id)
        .collect();
    Resolution::Shim { macros: nearest.iter().map(|(id, _)| *id).collect(), functions }
}

/// The best candidates of a call, all equally near: resolved when they are one symbol
/// (defined once, or more than once under one qualified name), else ambiguous.
fn one_symbol_or_ambiguous(candidates: &[&(BlockId, Symbol)]) -> Resolution {
    let ids = candidates.iter().map(|(id, _)| *id).collect();
    match candidates.split_first() {
        Some(((_, first), rest)) if rest.iter().any(|(_, s)| s.qualified != first.qualified) => {
            Resolution::Ambiguous(ids)
        }
        _ => Resolution::Resolved(ids),
    }
}

/// The edge of a resolved call to `target`: by what the target is, which the syntax of a
/// call cannot always say (a call inside a C++ method may be a method's; Go's `x.F()` is a
/// package's function or a method).
fn call_type_to(target: Option<Symbol>, kind: CallKind) -> EdgeType {
    match target.map(|symbol| symbol.kind) {
        Some(SymbolClass::Method) => EdgeType::CALLS_METHOD,
        Some(SymbolClass::Function | SymbolClass::Type) => EdgeType::CALLS_FUNCTION,
        Some(SymbolClass::Macro) => EdgeType::CALLS,
        Some(SymbolClass::Other | SymbolClass::Alias) | None => graph::call_type(kind),
    }
}

/// Candidates an ambiguous call is linked to at most. A name with more definitions than
/// this (`new`, `get`, `len` in a large tree) is too common for its name to say anything:
/// linking every one made a 4-million-line tree hold 10 million guessed call edges. Such a
/// call goes to the name's *unresolved* symbol instead.
pub const AMBIGUOUS_LINKS_MAX: usize = 8;

/// The unresolved symbol `name` (calls of a name with too many definitions to guess),
/// written on first use.
fn unresolved(db: &mut Db<'_>, lang: Lang, name: &str) -> Result<BlockId, Error> {
    let id = graph::unresolved_id(lang, name);
    let metadata = graph::unresolved_metadata(lang, name);
    put_if_changed(db, id, &format!("unresolved:{name}"), &metadata)?;
    Ok(id)
}

/// The external symbol `name`, written (with its names) on first use.
fn external(db: &mut Db<'_>, lang: Lang, name: &str) -> Result<BlockId, Error> {
    let id = graph::external_id(lang, name);
    let metadata = graph::external_metadata(lang, name);
    if put_if_changed(db, id, &format!("external:{name}"), &metadata)? {
        link_name(db, name, id)?;
        // `find sqrt` lists `math.sqrt` too.
        let last = graph::last_name(lang, name);
        if last != name {
            link_name(db, last, id)?;
        }
    }
    Ok(id)
}

/// Writes a symbol block with no content unless the store holds it with this metadata
/// already (a store written by an older extraction is brought up to date); whether it wrote.
fn put_if_changed(db: &mut Db<'_>, id: BlockId, uri: &str, metadata: &str) -> Result<bool, Error> {
    let same = db.find_block(id)?.is_some_and(|view| view.metadata_json == metadata.as_bytes());
    if !same {
        db.put_block(id, uri.as_bytes(), metadata.as_bytes(), b"")?;
    }
    Ok(!same)
}
