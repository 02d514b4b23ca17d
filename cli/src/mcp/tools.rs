//! The tools: each one's JSON schema and one-line description (what `tools/list` says),
//! and its answer, compact JSON cut to a token budget with `truncated` said when cut.

use crate::error::Error;
use crate::query::{self, SymbolRecord, Walked};
use crate::{context, graph};
use kausaldb::{Db, Direction, EdgeType};
use serde_json::{json, Map, Value};

/// Bytes per estimated token: the estimate `kausal context` uses (English and code average
/// about four bytes a token in the tokenizers agents use).
pub const BYTES_PER_TOKEN: usize = 4;

/// Default and largest token budget of one answer.
pub const ANSWER_TOKENS_DEFAULT: u64 = 4000;
pub const ANSWER_TOKENS_MAX: u64 = 100_000;

/// Largest `limit` and `depth` a walk takes: a bound on one call's work.
pub const LIMIT_MAX: u64 = 1000;
pub const DEPTH_MAX: u64 = 10;

/// What a tool call can fail with.
#[derive(Debug)]
pub enum Failure {
    /// The agent's arguments (a tool error: the agent can correct them).
    Arguments(String),
    /// The question has no answer as asked: no such symbol, or several (a tool error).
    Answer(Error),
    /// The server's own failure (a JSON-RPC error).
    Server(Error),
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        match error {
            Error::NotFound { .. } | Error::Ambiguous { .. } => Failure::Answer(error),
            other => Failure::Server(other),
        }
    }
}

fn symbol_schema() -> Value {
    json!({
        "type": "string",
        "description": "A name (parse), a qualified name (Parser::parse, Parser.parse), \
                        path:line (src/parse.c:17) or a 32-digit hex id",
    })
}

fn tokens_schema() -> Value {
    json!({
        "type": "integer", "minimum": 100, "maximum": ANSWER_TOKENS_MAX,
        "description": "Token budget of the answer (estimated as bytes / 4); default 4000",
    })
}

fn walk_schema(depth_default: u64, limit_default: u64) -> Value {
    json!({
        "type": "object",
        "properties": {
            "symbol": symbol_schema(),
            "depth": { "type": "integer", "minimum": 1, "maximum": DEPTH_MAX,
                       "description": format!("Edges to follow at most; default {depth_default}") },
            "limit": { "type": "integer", "minimum": 1, "maximum": LIMIT_MAX,
                       "description": format!("Results at most; default {limit_default}") },
            "max_tokens": tokens_schema(),
        },
        "required": ["symbol"],
        "additionalProperties": false,
    })
}

/// A tool's entry in `tools/list`.
fn tool(name: &str, description: &str, input_schema: Value, read_only: bool) -> Value {
    json!({
        "name": name,
        "description": description,
        "inputSchema": input_schema,
        "annotations": { "readOnlyHint": read_only, "idempotentHint": true, "openWorldHint": false },
    })
}

/// Every tool, as `tools/list` answers.
pub fn list() -> Vec<Value> {
    let mut tools = lookup_tools();
    tools.extend(walks().iter().map(|walk| {
        tool(walk.name, walk.description, walk_schema(walk.depth_default, walk.limit_default), true)
    }));
    tools.extend(answer_tools());
    tools
}

/// `index`, `find_symbol`, `get_symbol`.
fn lookup_tools() -> Vec<Value> {
    vec![
        tool(
            "index",
            "Index the source tree (only files that changed; full: every file) so \
              the other tools answer from the current code; reports progress.",
            json!({ "type": "object", "properties": { "full": { "type": "boolean",
                 "description": "Parse every file again, not only changed ones" } },
                 "additionalProperties": false }),
            false,
        ),
        tool(
            "find_symbol",
            "Find definitions by name, qualified name, or case-insensitive \
              prefix: kind, qualified name, file:line, signature.",
            json!({ "type": "object", "properties": {
                 "name": { "type": "string", "description": "A name, qualified name or prefix" },
                 "limit": { "type": "integer", "minimum": 1, "maximum": LIMIT_MAX,
                            "description": "Symbols at most; default 20" },
                 "max_tokens": tokens_schema() },
                 "required": ["name"], "additionalProperties": false }),
            true,
        ),
        tool(
            "get_symbol",
            "A symbol's source code and metadata (kind, file, lines, signature).",
            json!({ "type": "object", "properties": { "symbol": symbol_schema(),
                 "max_tokens": tokens_schema() },
                 "required": ["symbol"], "additionalProperties": false }),
            true,
        ),
    ]
}

/// `trace_path`, `context`, `status`.
fn answer_tools() -> Vec<Value> {
    let no_arguments = json!({ "type": "object", "properties": {}, "additionalProperties": false });
    vec![
        tool(
            "trace_path",
            "The shortest call path from one symbol to another, if any.",
            json!({ "type": "object", "properties": {
                 "from": symbol_schema(), "to": symbol_schema(),
                 "max_depth": { "type": "integer", "minimum": 1, "maximum": 20,
                                "description": "Calls on the path at most; default 10" } },
                 "required": ["from", "to"], "additionalProperties": false }),
            true,
        ),
        tool(
            "context",
            "What you need to work on a symbol, within a token budget: its \
              source, the signatures of what it calls, and its call sites, nearest first.",
            json!({ "type": "object", "properties": { "symbol": symbol_schema(),
                 "max_tokens": tokens_schema() },
                 "required": ["symbol"], "additionalProperties": false }),
            true,
        ),
        tool(
            "status",
            "What the index holds: files, symbols by kind and language, edges by \
              type, and when it was last indexed.",
            no_arguments,
            true,
        ),
    ]
}

/// A tool that walks the graph from a symbol.
#[derive(Clone, Copy, Debug)]
pub struct WalkTool {
    pub name: &'static str,
    description: &'static str,
    direction: Direction,
    types: &'static [EdgeType],
    depth_default: u64,
    limit_default: u64,
}

/// `callers`, `callees` and `impact`.
pub fn walks() -> [WalkTool; 3] {
    let calls = |name, description, direction| WalkTool {
        name,
        description,
        direction,
        types: &graph::CALL_TYPES,
        depth_default: 2,
        limit_default: 50,
    };
    [
        calls(
            "callers",
            "Who calls a function or method, transitively to a depth, nearest first, with \
             file:line of each caller.",
            Direction::Incoming,
        ),
        calls(
            "callees",
            "What a function or method calls, transitively to a depth, nearest first; calls \
             outside the tree are external symbols.",
            Direction::Outgoing,
        ),
        WalkTool {
            name: "impact",
            description: "Everything that transitively depends on a symbol (callers, users \
                          of a type, subclasses, implementors): what a change to it can break.",
            direction: Direction::Incoming,
            types: &graph::DEPENDENCY_TYPES,
            depth_default: 3,
            limit_default: 100,
        },
    ]
}

/// Reads a tool's arguments, checking names and types against its schema's rules.
pub struct Arguments<'a> {
    map: &'a Map<String, Value>,
}

impl<'a> Arguments<'a> {
    pub fn new(value: &'a Value, allowed: &[&str]) -> Result<Arguments<'a>, Failure> {
        static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
        let map = match value {
            Value::Object(map) => map,
            Value::Null => EMPTY.get_or_init(Map::new),
            _ => return Err(Failure::Arguments("arguments must be an object".into())),
        };
        if let Some(unknown) = map.keys().find(|key| !allowed.contains(&key.as_str())) {
            let allowed = allowed.join(", ");
            return Err(Failure::Arguments(format!(
                "unknown argument {unknown:?}; takes {allowed}"
            )));
        }
        Ok(Arguments { map })
    }

    pub fn text(&self, name: &str) -> Result<&'a str, Failure> {
        match self.map.get(name) {
            Some(Value::String(text)) if !text.is_empty() => Ok(text),
            Some(Value::String(_)) => Err(Failure::Arguments(format!("{name} is empty"))),
            Some(_) => Err(Failure::Arguments(format!("{name} must be a string"))),
            None => Err(Failure::Arguments(format!("{name} is required"))),
        }
    }

    pub fn number(&self, name: &str, default: u64, range: (u64, u64)) -> Result<u64, Failure> {
        let Some(value) = self.map.get(name) else { return Ok(default) };
        match value.as_u64() {
            Some(number) if (range.0..=range.1).contains(&number) => Ok(number),
            _ => Err(Failure::Arguments(format!(
                "{name} must be an integer from {} to {}",
                range.0, range.1
            ))),
        }
    }

    pub fn flag(&self, name: &str) -> Result<bool, Failure> {
        match self.map.get(name) {
            None => Ok(false),
            Some(Value::Bool(flag)) => Ok(*flag),
            Some(_) => Err(Failure::Arguments(format!("{name} must be true or false"))),
        }
    }

    pub fn budget(&self) -> Result<usize, Failure> {
        let tokens = self.number("max_tokens", ANSWER_TOKENS_DEFAULT, (100, ANSWER_TOKENS_MAX))?;
        Ok(usize::try_from(tokens).unwrap_or(usize::MAX))
    }
}

/// A symbol in an answer: its qualified name, kind and where it is.
pub fn compact(record: &SymbolRecord) -> Value {
    json!({ "name": record.qualified_name(), "kind": record.kind(), "at": record.location() })
}

/// `answer` with `items` under `key`, as many as fit `tokens` (estimated on the compact
/// JSON), and `truncated` true if any were left out (or `cut` already says so).
pub fn fit(mut answer: Value, key: &str, items: Vec<Value>, tokens: usize, cut: bool) -> Value {
    let mut bytes = answer.to_string().len() + key.len() + 32;
    let bytes_max = tokens.saturating_mul(BYTES_PER_TOKEN);
    let total = items.len();
    let mut kept = Vec::new();
    for item in items {
        let size = item.to_string().len() + 1;
        if bytes + size > bytes_max {
            break;
        }
        bytes += size;
        kept.push(item);
    }
    let truncated = cut || kept.len() < total;
    answer[key] = Value::Array(kept);
    answer["truncated"] = truncated.into();
    answer
}

pub fn find_symbol(db: &mut Db<'_>, arguments: &Arguments<'_>) -> Result<Value, Failure> {
    let name = arguments.text("name")?;
    let limit = arguments.number("limit", 20, (1, LIMIT_MAX))?;
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let mut found = query::by_name(db, name)?;
    if found.is_empty() {
        found = query::by_prefix(db, name, limit)?;
    }
    let cut = found.len() > limit;
    let items: Vec<Value> = found
        .iter()
        .take(limit)
        .map(|record| {
            let mut item = compact(record);
            item["signature"] = record.metadata["signature"].clone();
            item
        })
        .collect();
    Ok(fit(json!({}), "symbols", items, arguments.budget()?, cut))
}

pub fn get_symbol(db: &mut Db<'_>, arguments: &Arguments<'_>) -> Result<Value, Failure> {
    let record = query::resolve(db, arguments.text("symbol")?)?;
    let content = db.find_block(record.id).map_err(Error::from)?;
    let content = content.map(|view| view.content.to_vec()).unwrap_or_default();
    let mut source = String::from_utf8_lossy(&content).into_owned();
    let mut symbol = record.to_json();
    if let Some(map) = symbol.as_object_mut() {
        map.remove("name");
    }
    let bytes_max = arguments.budget()?.saturating_mul(BYTES_PER_TOKEN);
    let room = bytes_max.saturating_sub(symbol.to_string().len() + 64);
    let truncated = source.len() > room;
    if truncated {
        let mut cut = room;
        while !source.is_char_boundary(cut) {
            cut -= 1;
        }
        source.truncate(source[..cut].rfind('\n').unwrap_or(cut));
    }
    Ok(json!({ "symbol": symbol, "source": source, "truncated": truncated }))
}

/// `callers`, `callees` and `impact`: a walk from the symbol.
pub fn walk(db: &mut Db<'_>, arguments: &Arguments<'_>, walk: WalkTool) -> Result<Value, Failure> {
    let WalkTool { direction, types, .. } = walk;
    let start = query::resolve(db, arguments.text("symbol")?)?;
    let depth = arguments.number("depth", walk.depth_default, (1, DEPTH_MAX))?;
    let limit = arguments.number("limit", walk.limit_default, (1, LIMIT_MAX))?;
    let depth = u32::try_from(depth).unwrap_or(u32::MAX);
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let Walked { reached, truncated } = query::walk(db, start.id, direction, types, depth, limit)?;
    let items = reached
        .iter()
        .map(|reached| {
            let mut item = compact(&reached.symbol);
            item["depth"] = reached.depth.into();
            // `CALLS`: a name the indexer could not pin to one definition (or a macro).
            if reached.edge_type == Some(EdgeType::CALLS) {
                item["ambiguous"] = true.into();
            }
            item
        })
        .collect();
    Ok(fit(json!({ "symbol": compact(&start) }), "results", items, arguments.budget()?, truncated))
}

pub fn trace_path(db: &mut Db<'_>, arguments: &Arguments<'_>) -> Result<Value, Failure> {
    let from = query::resolve(db, arguments.text("from")?)?;
    let to = query::resolve(db, arguments.text("to")?)?;
    let depth = arguments.number("max_depth", 10, (1, 20))?;
    let (path, truncated) = query::trace(db, from.id, to.id, u32::try_from(depth).unwrap_or(20))?;
    let steps: Option<Vec<Value>> = path.map(|path| path.iter().map(compact).collect());
    Ok(json!({ "found": steps.is_some(), "path": steps, "truncated": truncated }))
}

/// Rounds of `context`'s fitting: each one shrinks the bundle's own budget by how far its
/// JSON went over (keys and quoting the bundle's estimate leaves out: 10-30%).
const CONTEXT_FIT_ROUNDS: usize = 4;

pub fn context(db: &mut Db<'_>, arguments: &Arguments<'_>) -> Result<Value, Failure> {
    let (symbol, budget) = (arguments.text("symbol")?, arguments.budget()?);
    let mut inner = budget;
    let mut answer = Value::Null;
    for _ in 0..CONTEXT_FIT_ROUNDS {
        let bundle = context::build(db, symbol, inner)?;
        answer = bundle.to_json();
        // The symbol as the other answers name it: what an agent needs, not every field.
        let mut named = compact(&bundle.symbol);
        named["signature"] = bundle.symbol.metadata["signature"].clone();
        answer["symbol"] = named;
        let tokens = answer.to_string().len() / BYTES_PER_TOKEN;
        answer["tokens_estimated"] = tokens.into();
        if tokens <= budget {
            return Ok(answer);
        }
        answer["truncated"] = true.into();
        inner = (inner.saturating_mul(budget) / tokens).saturating_sub(16).max(1);
    }
    // Still over: the farthest call sites, then callees, go first, then the source's end.
    for key in ["call_sites", "callees"] {
        while answer.to_string().len() / BYTES_PER_TOKEN > budget {
            let Some(list) = answer[key].as_array_mut() else { break };
            if list.pop().is_none() {
                break;
            }
        }
    }
    let over = (answer.to_string().len() / BYTES_PER_TOKEN).saturating_sub(budget);
    if let (true, Some(source)) = (over > 0, answer["source"].as_str()) {
        let mut cut = source.len().saturating_sub(over.saturating_mul(BYTES_PER_TOKEN) + 64);
        while !source.is_char_boundary(cut) {
            cut -= 1;
        }
        answer["source"] = source[..cut].into();
    }
    answer["tokens_estimated"] = (answer.to_string().len() / BYTES_PER_TOKEN).into();
    Ok(answer)
}
