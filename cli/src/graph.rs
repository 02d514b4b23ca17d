//! The store layer's vocabulary: how files, definitions, external symbols and names become
//! blocks (ids, uris, metadata, content) and which edges join them. Everything here is
//! deterministic, so a re-index updates blocks in place and ids agree across machines.
//!
//! Blocks:
//! - a file: id `derive(NS, "file\0" path)`, uri `path`, content a one-line header;
//! - a definition: id `derive(NS, "def\0" lang "\0" path "\0" qualified_name "\0" n)`, where
//!   `n` counts earlier definitions of the same qualified name in the file (redefinitions,
//!   overloads, `#ifdef` branches); uri `path:start-end`; content its source text;
//! - an external symbol, called but defined nowhere in the tree (libc, std, a dependency):
//!   id `derive(NS, "ext\0" lang "\0" name)`;
//! - an unresolved name: id `derive(NS, "unresolved\0" lang "\0" name)`, for calls of a
//!   name with more definitions than the indexer links (`AMBIGUOUS_LINKS_MAX`);
//! - a name: id `derive(NS, "name\0" name)`, with a `NAMES` edge to every definition or
//!   external symbol of that name or qualified name: the name index, so finding a symbol
//!   never scans the store.
//!
//! Edges (source → target): file `CONTAINS` definition, definition `DEFINED_IN` file,
//! caller `CALLS_FUNCTION` / `CALLS_METHOD` / `CALLS` callee (by what the callee is: a
//! function or a constructed type, a method, a macro; `CALLS` also for an ambiguous call,
//! and to an external symbol as the call's syntax says), file `IMPORTS` file, method
//! `METHOD_OF` type, type `EXTENDS` / `IMPLEMENTS` type, definition `REFERENCES` type,
//! name `NAMES` symbol.

use crate::lang::{CallKind, Definition, Lang};
use kausaldb::{BlockId, EdgeType};

/// The namespace every id of the tool is derived in (versioned: a change of scheme is a new
/// namespace, never a silent collision).
pub const NS: &[u8] = b"kausal-cli/v1";

/// The version of what the indexer extracts. A store indexed by another version is
/// re-indexed whole (every file re-parsed), whatever the hashes say: a new kind of edge
/// must reach unchanged files too. Raise it whenever extraction or resolution changes.
pub const INDEX_VERSION: u64 = 7;

/// A name block → a definition or external symbol with that (qualified) name. Host code.
pub const NAMES: EdgeType = match EdgeType::from_code(0x8001) {
    Ok(edge_type) => edge_type,
    Err(_) => panic!("0x8001 is in the host range"),
};

/// The edge type of a call.
pub fn call_type(kind: CallKind) -> EdgeType {
    match kind {
        CallKind::Function => EdgeType::CALLS_FUNCTION,
        CallKind::Method => EdgeType::CALLS_METHOD,
        CallKind::Unknown => EdgeType::CALLS,
    }
}

/// The edge types `callers` and `callees` follow.
pub const CALL_TYPES: [EdgeType; 3] =
    [EdgeType::CALLS, EdgeType::CALLS_METHOD, EdgeType::CALLS_FUNCTION];

/// The edge types that make a symbol depend on another (`impact` follows them backwards).
pub const DEPENDENCY_TYPES: [EdgeType; 7] = [
    EdgeType::CALLS,
    EdgeType::CALLS_METHOD,
    EdgeType::CALLS_FUNCTION,
    EdgeType::REFERENCES,
    EdgeType::EXTENDS,
    EdgeType::IMPLEMENTS,
    EdgeType::METHOD_OF,
];

fn derive(parts: &[&[u8]]) -> BlockId {
    BlockId::derive(NS, &parts.join(&b"\0"[..]))
}

pub fn file_id(path: &str) -> BlockId {
    derive(&[b"file", path.as_bytes()])
}

pub fn definition_id(lang: Lang, path: &str, qualified_name: &str, occurrence: usize) -> BlockId {
    let occurrence = occurrence.to_string();
    derive(&[
        b"def",
        lang.name().as_bytes(),
        path.as_bytes(),
        qualified_name.as_bytes(),
        occurrence.as_bytes(),
    ])
}

pub fn external_id(lang: Lang, name: &str) -> BlockId {
    derive(&[b"ext", lang.name().as_bytes(), name.as_bytes()])
}

/// The symbol for calls of `name` that have too many candidates to link (see the indexer).
pub fn unresolved_id(lang: Lang, name: &str) -> BlockId {
    derive(&[b"unresolved", lang.name().as_bytes(), name.as_bytes()])
}

pub fn name_id(name: &str) -> BlockId {
    derive(&[b"name", name.as_bytes()])
}

/// The ids of a file's definitions, in order: the occurrence counter per qualified name.
pub fn definition_ids(lang: Lang, path: &str, definitions: &[Definition]) -> Vec<BlockId> {
    let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    definitions
        .iter()
        .map(|definition| {
            let occurrence = seen.entry(definition.qualified_name.as_str()).or_insert(0);
            let id = definition_id(lang, path, &definition.qualified_name, *occurrence);
            *occurrence += 1;
            id
        })
        .collect()
}

/// Metadata of a file block. `hash` is the content hash incremental indexing compares.
pub fn file_metadata(path: &str, lang: Lang, lines: usize, hash: u64) -> String {
    let name = path.rsplit('/').next().unwrap_or(path);
    serde_json::json!({
        "kind": "file",
        "name": name,
        "qualified_name": path,
        "lang": lang.name(),
        "path": path,
        "line_start": 1,
        "line_end": lines,
        "signature": "",
        "hash": format!("{hash:016x}"),
    })
    .to_string()
}

/// Metadata of a definition block.
pub fn definition_metadata(
    lang: Lang,
    path: &str,
    definition: &Definition,
    truncated: bool,
) -> String {
    let mut metadata = serde_json::json!({
        "kind": definition.kind.name(),
        "name": definition.name,
        "qualified_name": definition.qualified_name,
        "lang": lang.name(),
        "path": path,
        "line_start": definition.line_start,
        "line_end": definition.line_end,
        "signature": definition.signature,
    });
    if let Some(owner) = &definition.owner {
        metadata["owner"] = owner.as_str().into();
    }
    if truncated {
        metadata["truncated"] = true.into();
    }
    if definition.conditional {
        metadata["conditional"] = true.into();
    }
    metadata.to_string()
}

/// Metadata of a symbol outside the tree's definitions: `external` (defined nowhere in the
/// tree) or `unresolved` (a name with too many definitions to link).
fn outside_metadata(kind: &str, lang: Lang, name: &str) -> String {
    serde_json::json!({
        "kind": kind,
        "name": last_name(lang, name),
        "qualified_name": name,
        "lang": lang.name(),
        "path": "",
        "line_start": 0,
        "line_end": 0,
        "signature": "",
    })
    .to_string()
}

/// The last name of a qualified one: `new` of `Vec::new`, `sqrt` of `math.sqrt`.
pub fn last_name(lang: Lang, qualified_name: &str) -> &str {
    let separator = lang.separator();
    qualified_name.rsplit(separator).next().unwrap_or(qualified_name)
}

/// Metadata of an external symbol's block.
pub fn external_metadata(lang: Lang, name: &str) -> String {
    outside_metadata("external", lang, name)
}

/// Metadata of an unresolved symbol's block.
pub fn unresolved_metadata(lang: Lang, name: &str) -> String {
    outside_metadata("unresolved", lang, name)
}

/// Metadata of a name block.
pub fn name_metadata(name: &str) -> String {
    serde_json::json!({ "kind": "name", "name": name }).to_string()
}

/// The uri of a definition: `path:start-end`.
pub fn definition_uri(path: &str, definition: &Definition) -> String {
    format!("{path}:{}-{}", definition.line_start, definition.line_end)
}

/// First byte of every name key's id: keys cluster at the top of the id space.
pub const KEY_TAG: u8 = 0xFE;
/// Bytes of the lowercased name a key's id sorts by.
pub const KEY_NAME_BYTES: usize = 11;

/// The id of the name key of `name` (see the module documentation).
pub fn key_id(name: &str) -> BlockId {
    let mut bytes = [0u8; 16];
    bytes[0] = KEY_TAG;
    for (slot, byte) in bytes[1..=KEY_NAME_BYTES].iter_mut().zip(name.to_lowercase().bytes()) {
        *slot = byte;
    }
    let hash = xxhash_rust::xxh3::xxh3_64(name.as_bytes()).to_be_bytes();
    bytes[12..].copy_from_slice(&hash[..4]);
    BlockId(bytes)
}

/// The last id before every key whose name starts with `prefix` (case-insensitive): where
/// a prefix scan starts.
pub fn key_range_start(prefix: &str) -> BlockId {
    let mut bytes = [0u8; 16];
    bytes[0] = KEY_TAG;
    for (slot, byte) in bytes[1..=KEY_NAME_BYTES].iter_mut().zip(prefix.to_lowercase().bytes()) {
        *slot = byte;
    }
    // One below: the scan returns ids after its cursor.
    let value = u128::from_be_bytes(bytes).saturating_sub(1);
    BlockId(value.to_be_bytes())
}

/// The uri of a name key: what a prefix scan matches.
pub fn key_uri(name: &str) -> String {
    format!("key:{}", name.to_lowercase())
}

/// Metadata of a name key.
pub fn key_metadata(name: &str) -> String {
    serde_json::json!({ "kind": "name_key", "name": name }).to_string()
}
