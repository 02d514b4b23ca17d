//! Finding symbols (through the name index, never a scan) and walking the graph from them.

use crate::error::Error;
use crate::graph::{self, NAMES};
use crate::store::{edges_of, metadata_of};
use kausaldb::core::TraversalQuery;
use kausaldb::{BlockId, Db, Direction, EdgeFilter, EdgeType};

/// A symbol as the commands print it.
#[derive(Clone, Debug, PartialEq)]
pub struct SymbolRecord {
    pub id: BlockId,
    pub metadata: serde_json::Value,
}

impl SymbolRecord {
    pub fn qualified_name(&self) -> &str {
        self.metadata["qualified_name"].as_str().unwrap_or("?")
    }

    pub fn kind(&self) -> &str {
        self.metadata["kind"].as_str().unwrap_or("?")
    }

    /// `path:line`, or `(external)` for a symbol outside the tree.
    pub fn location(&self) -> String {
        match (self.metadata["path"].as_str(), self.metadata["line_start"].as_u64()) {
            (Some(path), Some(line)) if !path.is_empty() => format!("{path}:{line}"),
            _ => "(external)".to_string(),
        }
    }

    /// The record as JSON: the id in hex and the metadata's fields.
    pub fn to_json(&self) -> serde_json::Value {
        let mut value = self.metadata.clone();
        value["id"] = hex(&self.id).into();
        value
    }
}

/// The 32 hex digits of an id.
pub fn hex(id: &BlockId) -> String {
    let mut text = [0u8; 32];
    // The buffer is exactly 32 bytes: to_hex cannot fail.
    let _ = id.to_hex(&mut text);
    String::from_utf8_lossy(&text).into_owned()
}

fn record(db: &mut Db<'_>, id: BlockId) -> Result<Option<SymbolRecord>, Error> {
    Ok(metadata_of(db, id)?.map(|metadata| SymbolRecord { id, metadata }))
}

/// The symbols named `name` (a name or a qualified name), definitions first.
pub fn by_name(db: &mut Db<'_>, name: &str) -> Result<Vec<SymbolRecord>, Error> {
    let mut found = Vec::new();
    for edge in edges_of(db, graph::name_id(name), Direction::Outgoing, EdgeFilter::Only(NAMES))? {
        if let Some(record) = record(db, edge.target)? {
            found.push(record);
        }
    }
    found.sort_by(|a, b| {
        let external = |r: &SymbolRecord| r.kind() == "external";
        (external(a), a.location()).cmp(&(external(b), b.location()))
    });
    Ok(found)
}

/// Symbols whose name or qualified name starts with `prefix`, ignoring case, in name
/// order: a scan of one range of name keys (see `graph`), not of the store. At most
/// `limit` names are looked at.
pub fn by_prefix(db: &mut Db<'_>, prefix: &str, limit: usize) -> Result<Vec<SymbolRecord>, Error> {
    use kausaldb::core::{BlockFilter, ScanCursor};
    let uri = graph::key_uri(prefix);
    let filter = BlockFilter { source_uri_prefix: Some(uri.as_bytes()), ..BlockFilter::ALL };
    let mut cursor = ScanCursor { after: graph::key_range_start(prefix), done: false };
    let mut keys = vec![BlockId::ZERO; limit.clamp(1, 1024)];
    let mut names = Vec::new();
    while !cursor.done && names.len() < limit {
        let written = db.scan(&filter, &mut cursor, &mut keys)?;
        for key in &keys[..written] {
            if let Some(name) =
                metadata_of(db, *key)?.and_then(|m| m["name"].as_str().map(String::from))
            {
                names.push(name);
            }
        }
        // Keys sort by their first bytes: past the prefix's range, nothing more matches.
        if keys[..written].last().is_some_and(|last| last.0[0] != graph::KEY_TAG) {
            break;
        }
    }
    // Keys sort by their first bytes, then by hash: put the names in order.
    names.sort_by_key(|name| name.to_lowercase());
    let mut found = Vec::new();
    for name in names.iter().take(limit) {
        found.extend(by_name(db, name)?);
    }
    found.dedup_by_key(|record| record.id);
    Ok(found)
}

/// The innermost definition at `path:line`.
fn at_line(db: &mut Db<'_>, path: &str, line: u64) -> Result<Option<SymbolRecord>, Error> {
    let mut best: Option<SymbolRecord> = None;
    for edge in edges_of(
        db,
        graph::file_id(path),
        Direction::Outgoing,
        EdgeFilter::Only(EdgeType::CONTAINS),
    )? {
        let Some(record) = record(db, edge.target)? else { continue };
        let (Some(start), Some(end)) =
            (record.metadata["line_start"].as_u64(), record.metadata["line_end"].as_u64())
        else {
            continue;
        };
        let span = |r: &SymbolRecord| {
            r.metadata["line_end"].as_u64().unwrap_or(0)
                - r.metadata["line_start"].as_u64().unwrap_or(0)
        };
        if (start..=end).contains(&line) && best.as_ref().is_none_or(|b| span(&record) < span(b)) {
            best = Some(record);
        }
    }
    Ok(best)
}

/// The one symbol `symbol` names: a hex id, `path:line`, a qualified name or a name.
/// Several: `Ambiguous` with the candidates; none: `NotFound`.
pub fn resolve(db: &mut Db<'_>, symbol: &str) -> Result<SymbolRecord, Error> {
    let not_found = || Error::NotFound { symbol: symbol.to_string() };
    if let Ok(id) = BlockId::from_hex(symbol.as_bytes()) {
        return record(db, id)?.ok_or_else(not_found);
    }
    if let Some((path, line)) = symbol.rsplit_once(':') {
        if let Ok(line) = line.parse::<u64>() {
            return at_line(db, path, line)?.ok_or_else(not_found);
        }
    }
    let mut found = by_name(db, symbol)?;
    if let Some(one) = one_beside_shims(&found) {
        return Ok(one.clone());
    }
    match found.len() {
        0 => Err(not_found()),
        1 => Ok(found.remove(0)),
        _ => Err(Error::Ambiguous {
            symbol: symbol.to_string(),
            candidates: found
                .iter()
                .map(|r| format!("{} {} ({})", r.kind(), r.qualified_name(), r.location()))
                .collect(),
        }),
    }
}

/// Of several symbols of one name, the one a question means when every other is a macro
/// defined only under `#if`: such a macro stands in for it in some builds (SQLite's
/// `sqlite3ext.h` defines each API function, `#define sqlite3_step sqlite3_api->step`,
/// for extensions), and calls are linked to both. `None` if there is no such one.
fn one_beside_shims(found: &[SymbolRecord]) -> Option<&SymbolRecord> {
    let shim = |record: &&SymbolRecord| {
        record.kind() == "macro" && record.metadata["conditional"].as_bool() == Some(true)
    };
    let (mut shims, mut others) = (found.iter().filter(shim), found.iter().filter(|r| !shim(r)));
    let one = others.next()?;
    (shims.next().is_some() && others.next().is_none()).then_some(one)
}

/// One block a walk reached.
#[derive(Clone, Debug)]
pub struct Reached {
    pub symbol: SymbolRecord,
    pub depth: u32,
    /// The edge type it was reached by.
    pub edge_type: Option<EdgeType>,
    /// The block it was reached from.
    pub parent: Option<BlockId>,
}

/// A walk's answer: what it reached (starts excluded), and whether a bound cut it short.
#[derive(Clone, Debug)]
pub struct Walked {
    pub reached: Vec<Reached>,
    pub truncated: bool,
}

/// Walks from `start` along `types` in `direction`, breadth first, to `depth` edges and at
/// most `limit` results.
pub fn walk(
    db: &mut Db<'_>,
    start: BlockId,
    direction: Direction,
    types: &[EdgeType],
    depth: u32,
    limit: usize,
) -> Result<Walked, Error> {
    let starts = [start];
    // One more than the limit (the start is a hit), within what the store's config allows.
    let results = limit.saturating_add(1).min(crate::store::QUERY_NODES_MAX as usize);
    let query = TraversalQuery {
        edge_filter: EdgeFilter::Include(types),
        depth_max: depth,
        ..TraversalQuery::new(&starts, direction)
    }
    .with_results_for(results);
    // Streamed: no buffer sized for the largest walk.
    let mut hits = Vec::new();
    let count = db.traverse_with(&query, results, |_, hit| hits.push(hit))?;
    let mut reached = Vec::new();
    for hit in &hits[..count.written] {
        if hit.depth == 0 {
            continue;
        }
        if let Some(symbol) = record(db, hit.id)? {
            let (edge_type, parent) =
                hit.via.map_or((None, None), |via| (Some(via.edge_type), Some(via.parent)));
            reached.push(Reached { symbol, depth: hit.depth, edge_type, parent });
        }
    }
    Ok(Walked { reached, truncated: count.truncated })
}

/// The shortest call path from `from` to `to`, of at most `depth` calls: the symbols on it,
/// both ends included. `Ok(None)`: no such path; `truncated`: the search hit its bound first.
pub fn trace(
    db: &mut Db<'_>,
    from: BlockId,
    to: BlockId,
    depth: u32,
) -> Result<(Option<Vec<SymbolRecord>>, bool), Error> {
    use kausaldb::core::{PathOutcome, PathQuery, PathStep};
    let query = PathQuery {
        from,
        to,
        direction: Direction::Outgoing,
        edge_filter: EdgeFilter::Include(&graph::CALL_TYPES),
        depth_max: depth,
    };
    let mut steps = vec![PathStep::EMPTY; depth as usize + 1];
    match db.shortest_path(&query, &mut steps)? {
        PathOutcome::Found { steps: count } => {
            let mut path = Vec::with_capacity(count);
            for step in &steps[..count] {
                path.extend(record(db, step.id)?);
            }
            Ok((Some(path), false))
        }
        PathOutcome::NoPath => Ok((None, false)),
        PathOutcome::Truncated => Ok((None, true)),
    }
}
