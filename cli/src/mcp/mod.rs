//! `kausal mcp`: the code graph as tools for coding agents, over the Model Context Protocol
//! on stdio (JSON-RPC 2.0, one message per line).
//!
//! Written over `serde_json` rather than the `rmcp` SDK: the server is one thread answering
//! one request at a time from a store it holds open, and the protocol it needs is a handful
//! of methods (`initialize` or `server/discover`, `ping`, `tools/list`, `tools/call`,
//! progress notifications). `rmcp` would bring an async runtime (tokio) and macro-generated
//! schemas to a synchronous tool, and put the handling of malformed input, oversized lines
//! and a vanishing client behind its own choices; here each is a few lines with its test.
//!
//! Both eras of the protocol are spoken: the `initialize` handshake (2024-11-05 to
//! 2025-11-25, what deployed clients use) and the per-request envelope of 2026-07-28
//! (`server/discover`, the version in each request's `_meta`).

mod fresh;
mod rpc;
mod tools;

pub use fresh::Stale;

use crate::error::Error;
use crate::indexer;
use rpc::{Incoming, Line, Refusal};
use serde_json::{json, Value};
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tools::{Arguments, Failure};

/// Protocol versions of the `initialize` handshake, oldest first.
const HANDSHAKE_VERSIONS: [&str; 4] = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"];
/// Protocol versions of the per-request envelope.
const MODERN_VERSIONS: [&str; 1] = ["2026-07-28"];

/// The `_meta` key a 2026-07-28 request names its protocol version under.
const PROTOCOL_VERSION_KEY: &str = "io.modelcontextprotocol/protocolVersion";
/// The `_meta` key a 2026-07-28 result names its server under.
const SERVER_INFO_KEY: &str = "io.modelcontextprotocol/serverInfo";

const INSTRUCTIONS: &str = "Code graph of the indexed source tree. Use find_symbol to locate \
    a definition, get_symbol for its source, callers/callees/impact for who uses what, \
    trace_path for how one function reaches another, and context for everything needed to \
    change a symbol under a token budget. Symbols are names, qualified names, or path:line.";

/// How the server is run.
#[derive(Debug)]
pub struct Options {
    /// The store directory (created if need be).
    pub store: PathBuf,
    /// The tree indexed.
    pub root: PathBuf,
    pub stale: Stale,
    /// Least time between two looks at the tree for changes.
    pub stale_check: Duration,
}

/// The server's state: the open store (its lock held for the server's life), the tree, and
/// what it last saw of the tree.
struct Server<W: Write> {
    store: kausaldb::Store,
    store_dir: PathBuf,
    root: PathBuf,
    fresh: fresh::Freshness,
    out: Mutex<W>,
}

/// Serves MCP on stdin and stdout until the client closes stdin.
pub fn serve(options: Options) -> Result<(), Error> {
    let store = crate::store::open(&options.store)?;
    let stdin = std::io::stdin();
    let mut server = Server {
        store,
        store_dir: options.store,
        root: options.root,
        fresh: fresh::Freshness::new(options.stale, options.stale_check),
        out: Mutex::new(std::io::stdout()),
    };
    server.run(&mut stdin.lock())?;
    server.store.close()?;
    Ok(())
}

impl<W: Write + Send> Server<W> {
    /// Answers messages until the input ends or the client is gone (a write fails).
    fn run(&mut self, input: &mut impl BufRead) -> Result<(), Error> {
        let io_error = |error| Error::Io { path: "stdio".into(), error };
        loop {
            let answer = match rpc::read_line(input, rpc::MESSAGE_BYTES_MAX).map_err(io_error)? {
                Line::End => return Ok(()),
                Line::TooLong => Some(rpc::error(
                    &Value::Null,
                    rpc::INVALID_REQUEST,
                    &format!("message longer than {} bytes", rpc::MESSAGE_BYTES_MAX),
                    None,
                )),
                Line::Message(bytes) => match rpc::classify(&bytes) {
                    Ok(None | Some(Incoming::Response | Incoming::Notification { .. })) => None,
                    Ok(Some(Incoming::Request { id, method, params })) => {
                        Some(self.answer(&id, &method, &params))
                    }
                    Err(Refusal { id, code, message }) => {
                        Some(rpc::error(&id, code, &message, None))
                    }
                },
            };
            if let Some(answer) = answer {
                if self.send(&answer).is_err() {
                    // The client is gone; everything it asked for is already in the store.
                    return Ok(());
                }
            }
        }
    }

    fn send(&self, message: &Value) -> std::io::Result<()> {
        send(&self.out, message)
    }

    /// The answer to one request.
    fn answer(&mut self, id: &Value, method: &str, params: &Value) -> Value {
        let meta = &params["_meta"];
        let modern = meta.get(PROTOCOL_VERSION_KEY).and_then(Value::as_str);
        if let Some(version) = modern {
            if !MODERN_VERSIONS.contains(&version) {
                let supported = json!({ "supported": supported_versions(), "requested": version });
                let message = "unsupported protocol version";
                return rpc::error(id, rpc::UNSUPPORTED_PROTOCOL_VERSION, message, Some(supported));
            }
        }
        let mut result = match method {
            "initialize" => Ok(initialize(params)),
            "server/discover" => Ok(discover()),
            "ping" => Ok(json!({})),
            "tools/list" => Ok(json!({
                "tools": tools::list(), "resultType": "complete", "ttlMs": 0, "cacheScope": "private",
            })),
            "tools/call" => self.call(params, meta.get("progressToken")),
            _ => Err((rpc::METHOD_NOT_FOUND, format!("no method {method:?}"))),
        };
        if let (Ok(result), Some(_)) = (&mut result, modern) {
            result["_meta"] = json!({ SERVER_INFO_KEY: server_info() });
        }
        match result {
            Ok(result) => rpc::result(id, result),
            Err((code, message)) => rpc::error(id, code, &message, None),
        }
    }

    /// `tools/call`: a tool's answer, or its error as a tool error the agent reads.
    fn call(&mut self, params: &Value, progress: Option<&Value>) -> Result<Value, (i64, String)> {
        let Some(name) = params["name"].as_str() else {
            return Err((rpc::INVALID_PARAMS, "tools/call needs a tool name".into()));
        };
        let arguments = &params["arguments"];
        let answer = match name {
            "index" => self.index(arguments, progress),
            "status" => {
                let dir = self.store_dir.clone();
                self.query(|db, _| Ok(crate::export::status(db, &dir)?), arguments, &[])
            }
            "find_symbol" => {
                self.query(tools::find_symbol, arguments, &["name", "limit", "max_tokens"])
            }
            "get_symbol" => self.query(tools::get_symbol, arguments, &["symbol", "max_tokens"]),
            "trace_path" => self.query(tools::trace_path, arguments, &["from", "to", "max_depth"]),
            "context" => self.query(tools::context, arguments, &["symbol", "max_tokens"]),
            _ => match tools::walks().into_iter().find(|walk| walk.name == name) {
                Some(walk) => self.query(
                    |db, arguments| tools::walk(db, arguments, walk),
                    arguments,
                    &["symbol", "depth", "limit", "max_tokens"],
                ),
                None => return Err((rpc::INVALID_PARAMS, format!("no tool {name:?}"))),
            },
        };
        match answer {
            Ok(value) => Ok(tool_result(&value, false)),
            Err(Failure::Arguments(message)) => Ok(tool_result(&json!({ "error": message }), true)),
            Err(Failure::Answer(error)) => Ok(tool_result(&error.to_json(), true)),
            Err(Failure::Server(error)) => Err((rpc::INTERNAL_ERROR, error.to_string())),
        }
    }

    /// Runs a query tool on a fresh index: what changed is re-indexed first, or the answer
    /// says it may be stale (see `Stale`).
    fn query(
        &mut self,
        tool: impl FnOnce(&mut kausaldb::Db<'_>, &Arguments<'_>) -> Result<Value, Failure>,
        arguments: &Value,
        allowed: &[&str],
    ) -> Result<Value, Failure> {
        let arguments = Arguments::new(arguments, allowed)?;
        let stale = self.freshen()?;
        let mut answer = self.store.with(|db| tool(db, &arguments))?;
        if let Some(files) = stale {
            answer["stale"] = json!({
                "files_changed": files,
                "note": "the tree changed since the last index: call index to bring it up to date",
            });
        }
        Ok(answer)
    }

    /// Brings the index up to date if the tree changed and the mode says so; the files
    /// changed when it says to warn instead.
    fn freshen(&mut self) -> Result<Option<usize>, Failure> {
        let Some(changed) = self.fresh.changed(&self.root)? else { return Ok(None) };
        match (changed, self.fresh.mode) {
            (0, _) => Ok(None),
            (_, Stale::Reindex) => {
                indexer::index_store(&mut self.store, &self.root, &|_, _, _| {})?;
                self.fresh.record(&self.root)?;
                Ok(None)
            }
            // Never indexed by this server: what the store holds is all there is to say, and
            // the tree as it is now is what later looks compare with.
            (usize::MAX, _) => {
                self.fresh.record(&self.root)?;
                Ok(None)
            }
            (files, _) => Ok(Some(files)),
        }
    }

    /// The `index` tool: an incremental (or full) index, with progress notifications when
    /// the request carries a progress token (at most one per 100 ms, and one per phase).
    fn index(&mut self, arguments: &Value, progress: Option<&Value>) -> Result<Value, Failure> {
        let arguments = Arguments::new(arguments, &["full"])?;
        if arguments.flag("full")? {
            self.store.with(indexer::mark_for_full_index)?;
        }
        let started = Instant::now();
        let last = Mutex::new((Instant::now(), String::new()));
        let out = &self.out;
        let notify = |phase: &str, done: u64, total: u64| {
            let Some(token) = progress else { return };
            let mut last = last.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let due =
                last.0.elapsed() >= Duration::from_millis(100) || last.1 != phase || done == total;
            if !due {
                return;
            }
            *last = (Instant::now(), phase.to_string());
            // One count over the three phases: progress must only grow.
            let before = match phase {
                "parse" => 0,
                "write" => total,
                _ => total.saturating_mul(2),
            };
            let params = json!({
                "progressToken": token,
                "progress": before.saturating_add(done),
                "total": total.saturating_mul(3),
                "message": format!("{phase}: {done} of {total} files"),
            });
            // A client gone mid-index: the index goes on and the store stays whole.
            let _ = send(out, &rpc::notification("notifications/progress", params));
        };
        let summary = indexer::index_store(&mut self.store, &self.root, &notify)?;
        self.fresh.record(&self.root)?;
        Ok(summary.to_json(started.elapsed().as_secs_f64()))
    }
}

/// Writes one message to the client (from any thread: progress comes from the parsers).
fn send<W: Write>(out: &Mutex<W>, message: &Value) -> std::io::Result<()> {
    let mut out = out.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    rpc::write(&mut *out, message)
}

/// A `tools/call` result: the answer as compact JSON text (what the model reads) and as
/// structured content.
fn tool_result(value: &Value, is_error: bool) -> Value {
    json!({
        "content": [{ "type": "text", "text": value.to_string() }],
        "structuredContent": value,
        "isError": is_error,
        "resultType": "complete",
    })
}

fn server_info() -> Value {
    json!({ "name": "kausal", "title": "KausalDB code graph", "version": env!("CARGO_PKG_VERSION") })
}

fn supported_versions() -> Vec<&'static str> {
    MODERN_VERSIONS.iter().chain(HANDSHAKE_VERSIONS.iter().rev()).copied().collect()
}

fn capabilities() -> Value {
    json!({ "tools": { "listChanged": false } })
}

/// `initialize`: the client's version if the server speaks it, else the newest it does.
fn initialize(params: &Value) -> Value {
    let asked = params["protocolVersion"].as_str().unwrap_or("");
    let version = HANDSHAKE_VERSIONS.iter().find(|v| **v == asked).unwrap_or(&"2025-11-25");
    json!({
        "protocolVersion": version,
        "capabilities": capabilities(),
        "serverInfo": server_info(),
        "instructions": INSTRUCTIONS,
    })
}

/// `server/discover` (2026-07-28).
fn discover() -> Value {
    json!({
        "supportedVersions": supported_versions(),
        "capabilities": capabilities(),
        "instructions": INSTRUCTIONS,
        "resultType": "complete",
        "ttlMs": 0,
        "cacheScope": "private",
    })
}
