//! `kausal`: index a source tree into a KausalDB store and ask it code questions.
//!
//! Layers, each testable alone: `lang` (source → definitions, calls, imports; one module
//! per language), `graph` and `indexer` (those → blocks and edges in the store), `query`
//! (finding symbols and walking from them), and the commands here.

mod context;
mod error;
mod export;
mod graph;
mod imports;
mod indexer;
mod lang;
mod mcp;
mod query;
mod store;

use clap::{Parser, Subcommand};
use error::Error;
use kausaldb::{Direction, EdgeType};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Index a source tree into KausalDB and ask it code questions.
#[derive(Parser, Debug)]
#[command(name = "kausal", version, about, long_about = None)]
struct Cli {
    /// The store directory (default: `.kausal` in the current directory or the nearest
    /// one above it; `index` creates it in the indexed tree's root).
    #[arg(long, global = true)]
    store: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// Report the store's flushes, compactions, write stalls and recovery on stderr.
    #[arg(short, long, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Index the tree at PATH (default: the current directory): full the first time, then
    /// only what changed.
    Index { path: Option<PathBuf> },
    /// Definitions by name or qualified name; if none, by case-insensitive prefix.
    Find {
        name: String,
        /// Names to list at most when searching by prefix.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// A symbol's source and metadata.
    Show { symbol: String },
    /// Who calls SYMBOL, to a depth.
    Callers(Walk),
    /// What SYMBOL calls, to a depth.
    Callees(Walk),
    /// Everything that transitively depends on SYMBOL (calls, references, extends,
    /// implements, methods of a type).
    Impact(Walk),
    /// What a language model needs to work on SYMBOL, within a token budget: its source,
    /// the signatures of what it calls, and the call sites that call it, nearest first.
    Context {
        symbol: String,
        /// Tokens at most (estimated as bytes / 4).
        #[arg(long, default_value_t = 4000)]
        tokens: usize,
    },
    /// The shortest call path from FROM to TO.
    Trace {
        from: String,
        to: String,
        /// Calls on the path at most.
        #[arg(long, default_value_t = 10)]
        depth: u32,
    },
    /// Definitions that use the type SYMBOL by name (in a signature or body), to a depth.
    Refs(Walk),
    /// The files FILE (its path from the tree's root) includes or imports, to a depth.
    Imports(Walk),
    /// The whole graph (files, definitions, external symbols, their edges) to stdout.
    Export {
        #[arg(long, value_enum, default_value = "jsonl")]
        format: export::Format,
        /// A directory to write into (neo4j-csv writes nodes.csv and relationships.csv).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Files, symbols and edges in the store.
    Status,
    /// Serve the code graph to coding agents over the Model Context Protocol (stdio).
    #[command(long_about = MCP_HELP)]
    Mcp {
        /// The tree to index and watch (default: the store's tree, or the current
        /// directory).
        #[arg(long)]
        root: Option<PathBuf>,
        /// What to do when files changed since the last index: re-index them before
        /// answering, answer and say the index may be stale, or never look.
        #[arg(long, value_enum, default_value = "reindex")]
        stale: mcp::Stale,
        /// Least milliseconds between two looks at the tree for changes.
        #[arg(long, default_value_t = 1000)]
        stale_check_ms: u64,
    },
}

/// `kausal mcp --help`: what it serves and how a client registers it.
const MCP_HELP: &str = "Serve the code graph to coding agents over the Model Context \
Protocol, on stdin and stdout (one JSON-RPC message per line).

Tools: index, find_symbol, get_symbol, callers, callees, impact, trace_path, context, status.
Answers are compact JSON within a token budget (max_tokens, default 4000) and say
\"truncated\": true when cut.

The server holds the store while it runs: another kausal on the same store is refused with
\"the store is in use by process PID\". Before answering it looks (at most once per
--stale-check-ms) for files changed since its last index: by default it re-indexes them
first (a stat of every source file, then the indexer on what changed).

Register it with a client (Claude Code, Cursor, Zed and others read this shape):

  {
    \"mcpServers\": {
      \"kausal\": {
        \"command\": \"kausal\",
        \"args\": [\"mcp\", \"--root\", \"/path/to/your/repo\"]
      }
    }
  }

or, with Claude Code: claude mcp add kausal -- kausal mcp --root /path/to/your/repo";

/// A walk's arguments.
#[derive(clap::Args, Debug)]
struct Walk {
    /// A name, a qualified name, `path:line`, or a 32-digit hex id.
    symbol: String,
    /// Edges to follow at most.
    #[arg(long, default_value_t = 3)]
    depth: u32,
    /// Results to print at most.
    #[arg(long, default_value_t = 100)]
    limit: usize,
}

/// `println!` that hands back the write's error instead of panicking: a reader that stops
/// early (`kausal callers x | head`) closes the pipe, and `println!` panicked there with a
/// backtrace. `main` ends quietly on a closed stdout, as a C tool ends on SIGPIPE.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*).map_err(Error::stdout)
    }};
}

fn main() {
    let cli = Cli::parse();
    let json = cli.json;
    if let Err(error) = run(cli) {
        if error.is_closed_pipe() {
            return; // the reader has what it wanted
        }
        if json {
            // Written as the answers are: a closed stdout cannot make the error a panic.
            let _ = out!("{}", error.to_json());
        } else {
            eprintln!("kausal: {error}");
        }
        std::process::exit(error.exit_code());
    }
}

fn run(cli: Cli) -> Result<(), Error> {
    store::VERBOSE.store(cli.verbose, std::sync::atomic::Ordering::Relaxed);
    let current = std::env::current_dir().map_err(|error| Error::Io { path: ".".into(), error })?;
    match cli.command {
        Command::Index { path } => index(cli.store.as_deref(), &path.unwrap_or(current), cli.json),
        Command::Find { name, limit } => {
            find(&mut open_store(cli.store.as_deref(), &current)?, (&name, limit), cli.json)
        }
        Command::Show { symbol } => {
            show(&mut open_store(cli.store.as_deref(), &current)?, &symbol, cli.json)
        }
        Command::Callers(walk) => {
            let store = open_store(cli.store.as_deref(), &current)?;
            walk_command(store, &walk, Direction::Incoming, &graph::CALL_TYPES, cli.json)
        }
        Command::Callees(walk) => {
            let store = open_store(cli.store.as_deref(), &current)?;
            walk_command(store, &walk, Direction::Outgoing, &graph::CALL_TYPES, cli.json)
        }
        Command::Impact(walk) => {
            let store = open_store(cli.store.as_deref(), &current)?;
            walk_command(store, &walk, Direction::Incoming, &graph::DEPENDENCY_TYPES, cli.json)
        }
        Command::Context { symbol, tokens } => {
            let mut store = open_store(cli.store.as_deref(), &current)?;
            let bundle = store.with(|db| context::build(db, &symbol, tokens))?;
            if cli.json {
                out!("{}", bundle.to_json())?;
            } else {
                use std::io::Write as _;
                std::io::stdout()
                    .lock()
                    .write_all(bundle.to_text().as_bytes())
                    .map_err(Error::stdout)?;
            }
            Ok(())
        }
        Command::Trace { from, to, depth } => {
            let store = open_store(cli.store.as_deref(), &current)?;
            trace(store, (&from, &to), depth, cli.json)
        }
        Command::Refs(walk) => {
            let store = open_store(cli.store.as_deref(), &current)?;
            walk_command(store, &walk, Direction::Incoming, &[EdgeType::REFERENCES], cli.json)
        }
        Command::Imports(walk) => {
            let store = open_store(cli.store.as_deref(), &current)?;
            walk_command(store, &walk, Direction::Outgoing, &[EdgeType::IMPORTS], cli.json)
        }
        Command::Export { format, out } => {
            let mut store = open_store(cli.store.as_deref(), &current)?;
            let stdout = std::io::stdout();
            let mut writer = std::io::BufWriter::new(stdout.lock());
            store.with(|db| export::export(db, format, &mut writer, out.as_deref()))?;
            std::io::Write::flush(&mut writer).map_err(Error::stdout)
        }
        Command::Status => status(&store::locate(cli.store.as_deref(), &current)?, cli.json),
        Command::Mcp { root, stale, stale_check_ms } => {
            let (store, root) = mcp_paths(cli.store.as_deref(), root, &current)?;
            let stale_check = std::time::Duration::from_millis(stale_check_ms);
            mcp::serve(mcp::Options { store, root, stale, stale_check })
        }
    }
}

/// The store and tree `kausal mcp` serves: `--root` (or the tree around the nearest store,
/// or the current directory) and `--store` (or `.kausal` at the tree's root).
fn mcp_paths(
    store: Option<&Path>,
    root: Option<PathBuf>,
    current: &Path,
) -> Result<(PathBuf, PathBuf), Error> {
    let root = match root {
        Some(root) => root,
        None => match store::locate(store, current) {
            Ok(found) if store.is_none() => {
                found.parent().map_or(current.to_path_buf(), Path::to_path_buf)
            }
            _ => current.to_path_buf(),
        },
    };
    let root = root
        .canonicalize()
        .map_err(|error| Error::Io { path: root.display().to_string(), error })?;
    let store = store.map_or_else(|| root.join(store::STORE_DIR), Path::to_path_buf);
    Ok((store, root))
}

fn open_store(store: Option<&Path>, current: &Path) -> Result<kausaldb::Store, Error> {
    store::open(&store::locate(store, current)?)
}

fn index(store: Option<&Path>, root: &Path, json: bool) -> Result<(), Error> {
    let root = root
        .canonicalize()
        .map_err(|error| Error::Io { path: root.display().to_string(), error })?;
    let dir = store.map_or_else(|| root.join(store::STORE_DIR), Path::to_path_buf);
    let mut db = store::open(&dir)?;
    let started = Instant::now();
    let bar = progress_bar();
    let report = |phase: &str, done: u64, total: u64| {
        if let Some(bar) = &bar {
            bar.set_length(total);
            bar.set_position(done);
            bar.set_message(phase.to_string());
        }
    };
    let summary = indexer::index_store(&mut db, &root, &report)?;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let seconds = started.elapsed().as_secs_f64();
    if store::VERBOSE.load(std::sync::atomic::Ordering::Relaxed) {
        let stats = db.stats();
        eprintln!(
            "kausal: {} flushes, {} compactions, {} write stalls (longest {:.1} ms, {:.1} ms in \
             all), {} tables ({} with edges), {:.1} MiB written to tables, {} table pages read, \
             {} log syncs",
            stats.flush_count,
            stats.compaction_count,
            stats.write_stalls,
            stats.write_stall_ns_max as f64 / 1e6,
            stats.write_stall_ns_total as f64 / 1e6,
            stats.tables_count,
            stats.tables_with_edges,
            stats.table_bytes_written as f64 / (1024.0 * 1024.0),
            stats.table_pages_read,
            stats.wal_syncs,
        );
    }
    db.close()?;
    if json {
        out!("{}", summary.to_json(seconds))?;
    } else {
        let rate = summary.lines_parsed as f64 / seconds.max(1e-9);
        eprintln!(
            "indexed {} files ({} parsed, {} removed): {} definitions, {} calls ({} ambiguous, \
             {} external, {} unresolved), {} writes in {seconds:.2} s, {rate:.0} lines/s",
            summary.files,
            summary.files_parsed,
            summary.files_removed,
            summary.definitions,
            summary.calls,
            summary.calls_ambiguous,
            summary.calls_external,
            summary.calls_unresolved,
            summary.writes,
        );
    }
    Ok(())
}

/// A progress bar on stderr when it is a terminal (files, rate, ETA); none otherwise, where
/// the one-line summary is all that is printed.
fn progress_bar() -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(0);
    let style = indicatif::ProgressStyle::with_template(
        "{msg:>5} [{bar:30}] {pos}/{len} files, {per_sec}, ETA {eta}",
    )
    .map(|style| style.progress_chars("=> "));
    if let Ok(style) = style {
        bar.set_style(style);
    }
    Some(bar)
}

fn find(
    store: &mut kausaldb::Store,
    (name, limit): (&str, usize),
    json: bool,
) -> Result<(), Error> {
    let found = store.with(|db| {
        let exact = query::by_name(db, name)?;
        if exact.is_empty() {
            return query::by_prefix(db, name, limit);
        }
        Ok(exact)
    })?;
    if found.is_empty() {
        return Err(Error::NotFound { symbol: name.to_string() });
    }
    if json {
        let list: Vec<_> = found.iter().map(query::SymbolRecord::to_json).collect();
        out!("{}", serde_json::Value::from(list))?;
        return Ok(());
    }
    let width = found.iter().map(|r| r.kind().len()).max().unwrap_or(0);
    for record in &found {
        out!("{:width$}  {}  {}", record.kind(), record.qualified_name(), record.location())?;
    }
    Ok(())
}

fn show(store: &mut kausaldb::Store, symbol: &str, json: bool) -> Result<(), Error> {
    let (record, content) = store.with(|db| {
        let record = query::resolve(db, symbol)?;
        let content =
            db.find_block(record.id)?.map(|view| view.content.to_vec()).unwrap_or_default();
        Ok::<_, Error>((record, content))
    })?;
    let content = String::from_utf8_lossy(&content);
    if json {
        let mut value = record.to_json();
        value["content"] = content.as_ref().into();
        out!("{value}")?;
    } else {
        out!("{} {}  {}", record.kind(), record.qualified_name(), record.location())?;
        out!("{content}")?;
    }
    Ok(())
}

fn walk_command(
    mut store: kausaldb::Store,
    walk: &Walk,
    direction: Direction,
    types: &[EdgeType],
    json: bool,
) -> Result<(), Error> {
    let (start, walked) = store.with(|db| {
        let start = query::resolve(db, &walk.symbol)?;
        let walked = query::walk(db, start.id, direction, types, walk.depth, walk.limit)?;
        Ok::<_, Error>((start, walked))
    })?;
    if json {
        let reached: Vec<_> = walked
            .reached
            .iter()
            .map(|r| {
                let mut value = r.symbol.to_json();
                value["depth"] = r.depth.into();
                value["edge_type"] = r.edge_type.map(edge_type_name).into();
                value["parent"] = r.parent.as_ref().map(query::hex).into();
                value
            })
            .collect();
        let value = serde_json::json!({
            "symbol": start.to_json(),
            "results": reached,
            "truncated": walked.truncated,
        });
        out!("{value}")?;
        return Ok(());
    }
    out!("{} {}  {}", start.kind(), start.qualified_name(), start.location())?;
    for reached in &walked.reached {
        let indent = "  ".repeat(reached.depth as usize);
        // `CALLS` links a name the indexer could not pin to one definition (or a macro).
        let unsure = if reached.edge_type == Some(EdgeType::CALLS) { " ?" } else { "" };
        let name = reached.symbol.qualified_name();
        out!("{indent}{name}{unsure}  {}", reached.symbol.location())?;
    }
    if walked.truncated {
        out!("(truncated: raise --limit or lower --depth)")?;
    }
    Ok(())
}

fn trace(
    mut store: kausaldb::Store,
    ends: (&str, &str),
    depth: u32,
    json: bool,
) -> Result<(), Error> {
    let (path, truncated) = store.with(|db| {
        let from = query::resolve(db, ends.0)?;
        let to = query::resolve(db, ends.1)?;
        query::trace(db, from.id, to.id, depth)
    })?;
    if json {
        let steps: Option<Vec<_>> =
            path.as_ref().map(|path| path.iter().map(query::SymbolRecord::to_json).collect());
        out!("{}", serde_json::json!({ "path": steps, "truncated": truncated }))?;
        return Ok(());
    }
    match path {
        Some(path) => {
            for (step, symbol) in path.iter().enumerate() {
                out!("{}{}  {}", "  ".repeat(step), symbol.qualified_name(), symbol.location())?;
            }
        }
        None if truncated => out!("no path found before the search bound (query_nodes_max)")?,
        None => out!("no call path of at most {depth} calls")?,
    }
    Ok(())
}

/// The name `--json` output gives an edge type.
fn edge_type_name(edge_type: EdgeType) -> &'static str {
    match edge_type {
        EdgeType::CALLS => "calls",
        EdgeType::CALLS_FUNCTION => "calls_function",
        EdgeType::CALLS_METHOD => "calls_method",
        EdgeType::REFERENCES => "references",
        EdgeType::IMPORTS => "imports",
        EdgeType::CONTAINS => "contains",
        EdgeType::DEFINED_IN => "defined_in",
        EdgeType::EXTENDS => "extends",
        EdgeType::IMPLEMENTS => "implements",
        EdgeType::METHOD_OF => "method_of",
        EdgeType::DEPENDS_ON => "depends_on",
        _ => "names",
    }
}

fn status(dir: &Path, json: bool) -> Result<(), Error> {
    let mut store = store::open(dir)?;
    let value = store.with(|db| export::status(db, dir))?;
    store.close()?;
    if json {
        out!("{value}")?;
        return Ok(());
    }
    let list = |map: &serde_json::Value| {
        let entries = map.as_object().into_iter().flatten();
        entries.map(|(name, count)| format!("{count} {name}")).collect::<Vec<_>>().join(", ")
    };
    out!(
        "{} files indexed; index {}; store {:.1} MiB",
        value["files"],
        value["state"].as_str().unwrap_or("empty"),
        value["store_bytes"].as_u64().unwrap_or(0) as f64 / f64::from(1 << 20)
    )?;
    out!("symbols: {}", list(&value["symbols_by_kind"]))?;
    out!("languages: {}", list(&value["symbols_by_lang"]))?;
    out!("edges: {}", list(&value["edges_by_type"]))?;
    if let Some(seconds) = value["indexed_at"].as_u64() {
        out!("last indexed {seconds} (seconds since 1970)")?;
    }
    Ok(())
}
