//! `kausal export`: the whole graph (files, definitions, external symbols and the edges
//! between them; not the name index), streamed block by block, for graph engines and
//! notebooks: JSON lines, GraphML (networkx, Gephi), or the CSV pair `neo4j-admin import`
//! reads.

use crate::error::Error;
use crate::graph;
use crate::query::hex;
use crate::store::{edges_of, metadata_of};
use kausaldb::core::{BlockFilter, ScanCursor};
use kausaldb::{BlockId, Db, Direction, Edge, EdgeFilter, EdgeType};
use std::io::Write;

/// The formats `export` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One JSON object per line: `{"node": ...}` for each symbol, then `{"edge": ...}`.
    Jsonl,
    /// GraphML with node attributes (kind, name, qualified_name, lang, path, lines).
    Graphml,
    /// `nodes.csv` and `relationships.csv` with neo4j-admin import headers (needs `--out`).
    Neo4jCsv,
}

/// Node attributes every format writes, in order.
const FIELDS: [&str; 7] =
    ["kind", "name", "qualified_name", "lang", "path", "line_start", "line_end"];

/// Edge types exported, with the names formats give them.
const EXPORTED: [(EdgeType, &str); 10] = [
    (EdgeType::REFERENCES, "REFERENCES"),
    (EdgeType::CONTAINS, "CONTAINS"),
    (EdgeType::DEFINED_IN, "DEFINED_IN"),
    (EdgeType::CALLS, "CALLS"),
    (EdgeType::CALLS_FUNCTION, "CALLS_FUNCTION"),
    (EdgeType::CALLS_METHOD, "CALLS_METHOD"),
    (EdgeType::IMPORTS, "IMPORTS"),
    (EdgeType::METHOD_OF, "METHOD_OF"),
    (EdgeType::EXTENDS, "EXTENDS"),
    (EdgeType::IMPLEMENTS, "IMPLEMENTS"),
];

fn edge_name(edge_type: EdgeType) -> Option<&'static str> {
    EXPORTED.iter().find(|(t, _)| *t == edge_type).map(|(_, name)| *name)
}

/// Calls `visit` with every exported symbol (id order) and its metadata.
fn for_each_symbol(
    db: &mut Db<'_>,
    mut visit: impl FnMut(&mut Db<'_>, BlockId, &serde_json::Value) -> Result<(), Error>,
) -> Result<(), Error> {
    let mut cursor = ScanCursor::START;
    let mut page = vec![BlockId::ZERO; 4096];
    while !cursor.done {
        let written = db.scan(&BlockFilter::ALL, &mut cursor, &mut page)?;
        for &id in &page[..written] {
            let Some(metadata) = metadata_of(db, id)? else { continue };
            if matches!(metadata["kind"].as_str(), Some("name" | "name_key" | "root") | None) {
                continue;
            }
            visit(db, id, &metadata)?;
        }
    }
    Ok(())
}

/// The exported edges out of `id`.
fn edges_from(db: &mut Db<'_>, id: BlockId) -> Result<Vec<(Edge, &'static str)>, Error> {
    let all = edges_of(db, id, Direction::Outgoing, EdgeFilter::All)?;
    Ok(all
        .into_iter()
        .filter_map(|edge| edge_name(edge.edge_type).map(|name| (edge, name)))
        .collect())
}

fn io(error: std::io::Error) -> Error {
    Error::Io { path: "export".to_string(), error }
}

/// Writes the graph as `format` to `out` (for `Neo4jCsv`, into the directory `dir`).
pub fn export(
    db: &mut Db<'_>,
    format: Format,
    out: &mut dyn Write,
    dir: Option<&std::path::Path>,
) -> Result<(), Error> {
    match format {
        Format::Jsonl => jsonl(db, out),
        Format::Graphml => graphml(db, out),
        Format::Neo4jCsv => {
            let dir = dir.ok_or_else(|| Error::Io {
                path: "export".to_string(),
                error: std::io::Error::other("neo4j-csv writes two files: give --out DIR"),
            })?;
            neo4j_csv(db, dir)
        }
    }
}

fn jsonl(db: &mut Db<'_>, out: &mut dyn Write) -> Result<(), Error> {
    for_each_symbol(db, |db, id, metadata| {
        let mut node = metadata.clone();
        node["id"] = hex(&id).into();
        writeln!(out, "{}", serde_json::json!({ "node": node })).map_err(io)?;
        for (edge, name) in edges_from(db, id)? {
            let edge = serde_json::json!({ "source": hex(&edge.source), "target": hex(&edge.target), "type": name });
            writeln!(out, "{}", serde_json::json!({ "edge": edge })).map_err(io)?;
        }
        Ok(())
    })
}

/// Text escaped for XML.
fn xml(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn field_text(metadata: &serde_json::Value, field: &str) -> String {
    match &metadata[field] {
        serde_json::Value::String(text) => text.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn graphml(db: &mut Db<'_>, out: &mut dyn Write) -> Result<(), Error> {
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#).map_err(io)?;
    writeln!(out, r#"<graphml xmlns="http://graphml.graphdrawing.org/xmlns">"#).map_err(io)?;
    for field in FIELDS {
        let kind = if field.starts_with("line") { "int" } else { "string" };
        writeln!(out, r#"  <key id="{field}" for="node" attr.name="{field}" attr.type="{kind}"/>"#)
            .map_err(io)?;
    }
    writeln!(out, r#"  <key id="type" for="edge" attr.name="type" attr.type="string"/>"#)
        .map_err(io)?;
    writeln!(out, r#"  <graph id="kausal" edgedefault="directed">"#).map_err(io)?;
    // GraphML readers want every node before the edges that name it: edges are kept.
    let mut edges = Vec::new();
    for_each_symbol(db, |db, id, metadata| {
        write!(out, r#"    <node id="{}">"#, hex(&id)).map_err(io)?;
        for field in FIELDS {
            write!(out, r#"<data key="{field}">{}</data>"#, xml(&field_text(metadata, field)))
                .map_err(io)?;
        }
        writeln!(out, "</node>").map_err(io)?;
        edges.extend(edges_from(db, id)?);
        Ok(())
    })?;
    for (edge, name) in edges {
        let (source, target) = (hex(&edge.source), hex(&edge.target));
        writeln!(
            out,
            r#"    <edge source="{source}" target="{target}"><data key="type">{name}</data></edge>"#
        )
        .map_err(io)?;
    }
    writeln!(out, "  </graph>\n</graphml>").map_err(io)
}

/// A CSV field, quoted when it must be.
fn csv(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

fn neo4j_csv(db: &mut Db<'_>, dir: &std::path::Path) -> Result<(), Error> {
    let create = |name: &str| {
        let path = dir.join(name);
        std::fs::File::create(&path)
            .map(std::io::BufWriter::new)
            .map_err(|error| Error::Io { path: path.display().to_string(), error })
    };
    std::fs::create_dir_all(dir)
        .map_err(|error| Error::Io { path: dir.display().to_string(), error })?;
    let mut nodes = create("nodes.csv")?;
    let mut relationships = create("relationships.csv")?;
    writeln!(nodes, "id:ID,kind,name,qualified_name,lang,path,line_start:int,line_end:int,:LABEL")
        .map_err(io)?;
    writeln!(relationships, ":START_ID,:END_ID,:TYPE").map_err(io)?;
    for_each_symbol(db, |db, id, metadata| {
        let mut row = vec![hex(&id)];
        row.extend(FIELDS.iter().map(|field| csv(&field_text(metadata, field))));
        let label = match metadata["kind"].as_str() {
            Some("file") => "File",
            Some("external") => "External",
            _ => "Definition",
        };
        row.push(label.to_string());
        writeln!(nodes, "{}", row.join(",")).map_err(io)?;
        for (edge, name) in edges_from(db, id)? {
            writeln!(relationships, "{},{},{name}", hex(&edge.source), hex(&edge.target))
                .map_err(io)?;
        }
        Ok(())
    })?;
    nodes.flush().map_err(io)?;
    relationships.flush().map_err(io)
}

// The tool's own edge type stays out of exports (it is the name index).
const _: () = assert!(graph::NAMES.code() >= EdgeType::HOST_MIN);

/// What the store holds, counted by one pass over it (for `status`).
#[derive(Clone, Debug, Default)]
pub struct Census {
    /// Symbols (files, definitions, external and unresolved symbols) by kind.
    pub kinds: std::collections::BTreeMap<String, u64>,
    /// Symbols by language.
    pub langs: std::collections::BTreeMap<String, u64>,
    /// Edges between symbols by type.
    pub edges: std::collections::BTreeMap<&'static str, u64>,
}

/// Counts every exported symbol and edge.
pub fn census(db: &mut Db<'_>) -> Result<Census, Error> {
    let mut census = Census::default();
    for_each_symbol(db, |db, id, metadata| {
        let kind = metadata["kind"].as_str().unwrap_or("?").to_string();
        *census.kinds.entry(kind).or_default() += 1;
        let lang = metadata["lang"].as_str().unwrap_or("?").to_string();
        *census.langs.entry(lang).or_default() += 1;
        for (_, name) in edges_from(db, id)? {
            *census.edges.entry(name).or_default() += 1;
        }
        Ok(())
    })?;
    Ok(census)
}

/// What `status` reports of the store in `dir`: files, symbols by kind and language, edges
/// by type, its bytes on disk, the index's state and when it was last indexed.
pub fn status(db: &mut Db<'_>, dir: &std::path::Path) -> Result<serde_json::Value, Error> {
    let filter = kausaldb::EdgeFilter::Only(kausaldb::EdgeType::CONTAINS);
    let root_id = crate::indexer::root_id();
    let files = crate::store::edges_of(db, root_id, kausaldb::Direction::Outgoing, filter)?.len();
    let root = crate::store::metadata_of(db, root_id)?.unwrap_or_default();
    let census = census(db)?;
    let entries = std::fs::read_dir(dir).into_iter().flatten().flatten();
    let bytes: u64 = entries.filter_map(|entry| entry.metadata().ok()).map(|m| m.len()).sum();
    Ok(serde_json::json!({
        "files": files,
        "symbols_by_kind": census.kinds,
        "symbols_by_lang": census.langs,
        "edges_by_type": census.edges,
        "store_bytes": bytes,
        "state": root["state"].as_str().unwrap_or("empty"),
        "indexed_at": root["indexed_at"].as_u64(),
    }))
}
