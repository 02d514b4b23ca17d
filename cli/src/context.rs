//! `kausal context`: what a language model needs to work on one symbol, under a token
//! budget. In order of value, each part whole or not at all: the symbol's source, the
//! signatures of what it calls, then the call sites that call it, nearest callers first
//! (each caller's signature and the lines that name the symbol).
//!
//! Tokens are estimated as bytes / 4, the usual rule of thumb for source code and English
//! with byte-pair tokenizers; an estimate, not a count.

use crate::error::Error;
use crate::graph;
use crate::query::{self, SymbolRecord};
use kausaldb::{Db, Direction};

/// Bytes per token of the estimate.
pub const BYTES_PER_TOKEN: usize = 4;
/// Callees and callers looked at, at most.
const NEIGHBOURS_MAX: usize = 200;
/// Call-site lines kept per caller.
const SITE_LINES_MAX: usize = 3;

/// One caller and where it names the symbol.
#[derive(Clone, Debug)]
pub struct CallSite {
    pub caller: SymbolRecord,
    pub depth: u32,
    /// `(line number, text)` of the caller's lines that name the symbol.
    pub lines: Vec<(u64, String)>,
}

/// The bundle, within its budget.
#[derive(Clone, Debug)]
pub struct Context {
    pub symbol: SymbolRecord,
    pub source: String,
    pub callees: Vec<SymbolRecord>,
    pub call_sites: Vec<CallSite>,
    pub tokens: usize,
    /// Something was left out to stay within the budget.
    pub truncated: bool,
}

fn tokens_of(text: &str) -> usize {
    text.len().div_ceil(BYTES_PER_TOKEN)
}

/// The lines of `caller`'s source that name `name`, with their line numbers.
fn site_lines(
    db: &mut Db<'_>,
    caller: &SymbolRecord,
    name: &str,
) -> Result<Vec<(u64, String)>, Error> {
    let Some(view) = db.find_block(caller.id)? else { return Ok(Vec::new()) };
    let source = String::from_utf8_lossy(view.content).into_owned();
    let first = caller.metadata["line_start"].as_u64().unwrap_or(1);
    let lines = source
        .lines()
        .enumerate()
        .filter(|(_, line)| line.contains(name))
        .take(SITE_LINES_MAX)
        .map(|(index, line)| (first + index as u64, line.trim().to_string()))
        .collect();
    Ok(lines)
}

/// Builds the context of `symbol` within `tokens_max` estimated tokens.
pub fn build(db: &mut Db<'_>, symbol: &str, tokens_max: usize) -> Result<Context, Error> {
    let symbol = query::resolve(db, symbol)?;
    let name = symbol.metadata["name"].as_str().unwrap_or("").to_string();
    let content = db.find_block(symbol.id)?.map(|view| view.content.to_vec()).unwrap_or_default();
    let mut source = String::from_utf8_lossy(&content).into_owned();
    let mut truncated = false;
    if tokens_of(&source) > tokens_max {
        // The source alone is over budget: its beginning, cut at a line.
        let mut cut = tokens_max * BYTES_PER_TOKEN;
        while !source.is_char_boundary(cut) {
            cut -= 1;
        }
        let at_line = source[..cut].rfind('\n').unwrap_or(cut);
        source.truncate(at_line);
        truncated = true;
    }
    let mut tokens = tokens_of(&source);
    let callees =
        query::walk(db, symbol.id, Direction::Outgoing, &graph::CALL_TYPES, 1, NEIGHBOURS_MAX)?;
    let mut kept_callees = Vec::new();
    for reached in callees.reached {
        let cost = tokens_of(reached.symbol.metadata["signature"].as_str().unwrap_or("")) + 8;
        if tokens + cost > tokens_max {
            truncated = true;
            break;
        }
        tokens += cost;
        kept_callees.push(reached.symbol);
    }
    let callers =
        query::walk(db, symbol.id, Direction::Incoming, &graph::CALL_TYPES, 2, NEIGHBOURS_MAX)?;
    let mut call_sites = Vec::new();
    // Breadth first: nearest callers come first.
    for reached in callers.reached {
        let lines = site_lines(db, &reached.symbol, &name)?;
        let cost = tokens_of(reached.symbol.metadata["signature"].as_str().unwrap_or(""))
            + lines.iter().map(|(_, text)| tokens_of(text) + 2).sum::<usize>()
            + 8;
        if tokens + cost > tokens_max {
            truncated = true;
            break;
        }
        tokens += cost;
        call_sites.push(CallSite { caller: reached.symbol, depth: reached.depth, lines });
    }
    truncated |= callees.truncated || callers.truncated;
    Ok(Context { symbol, source, callees: kept_callees, call_sites, tokens, truncated })
}

impl Context {
    /// The bundle as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        let callees: Vec<_> = self
            .callees
            .iter()
            .map(|c| serde_json::json!({ "qualified_name": c.qualified_name(), "signature": c.metadata["signature"], "location": c.location() }))
            .collect();
        let sites: Vec<_> = self
            .call_sites
            .iter()
            .map(|site| {
                let lines: Vec<_> = site
                    .lines
                    .iter()
                    .map(|(line, text)| serde_json::json!({ "line": line, "text": text }))
                    .collect();
                serde_json::json!({
                    "caller": site.caller.qualified_name(),
                    "signature": site.caller.metadata["signature"],
                    "location": site.caller.location(),
                    "depth": site.depth,
                    "lines": lines,
                })
            })
            .collect();
        serde_json::json!({
            "symbol": self.symbol.to_json(),
            "source": self.source,
            "callees": callees,
            "call_sites": sites,
            "tokens_estimated": self.tokens,
            "truncated": self.truncated,
        })
    }

    /// The bundle as text for a prompt.
    pub fn to_text(&self) -> String {
        let mut text = format!(
            "// {} {} ({})\n{}\n",
            self.symbol.kind(),
            self.symbol.qualified_name(),
            self.symbol.location(),
            self.source
        );
        if !self.callees.is_empty() {
            text.push_str("\n// It calls:\n");
            for callee in &self.callees {
                let signature = callee.metadata["signature"].as_str().filter(|s| !s.is_empty());
                let signature = signature.unwrap_or(callee.qualified_name());
                text.push_str(&format!("{signature}  // {}\n", callee.location()));
            }
        }
        if !self.call_sites.is_empty() {
            text.push_str("\n// Called from:\n");
            for site in &self.call_sites {
                let signature = site.caller.metadata["signature"].as_str().unwrap_or("");
                text.push_str(&format!(
                    "{signature}  // {}, depth {}\n",
                    site.caller.location(),
                    site.depth
                ));
                for (line, code) in &site.lines {
                    text.push_str(&format!("    {line}: {code}\n"));
                }
            }
        }
        if self.truncated {
            text.push_str("\n// (truncated to the token budget)\n");
        }
        text
    }
}
