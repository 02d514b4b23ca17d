//! Graph queries against a model graph computed here (plain BFS and DFS over maps), on
//! seeded random graphs with cycles, self-loops, parallel edges of different types and
//! deletes, across flushes, compaction and reopen. Plus the filtered scan, batch lookups,
//! and the bounds that make a query report `truncated`.
// Test code: runs on 64-bit hosts only, and a test reads top to bottom as one scenario.
#![allow(clippy::cast_possible_truncation, clippy::too_many_lines)]

mod harness;

use harness::{for_each_seed, perform, Generator, Memory, Model, Outcome};
use kausaldb_core::query::{DEPTH_MAX_LIMIT, RESULTS_MAX_LIMIT};
use kausaldb_core::vfs::sim::SimVfs;
use kausaldb_core::{
    BlockFilter, BlockId, Config, Direction, Edge, EdgeFilter, EdgeType, Engine, Error, FieldName,
    MetadataValue, PathOutcome, PathQuery, PathStep, ScanCursor, TraversalHit, TraversalOrder,
    TraversalQuery, Vfs, Via,
};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

const UNIVERSE: u64 = 24;

/// Hits a check collects: far more than `config().query_nodes_max` lets a query visit.
const HITS_MAX: usize = 10_000;

fn config() -> Config {
    Config { query_nodes_max: 64, ..harness::small_config() }
}

const INCLUDE: [EdgeType; 2] = [EdgeType::CALLS, EdgeType::IMPORTS];
const EXCLUDE: [EdgeType; 1] = [EdgeType::IMPORTS];

fn edge_filter(choice: u64) -> EdgeFilter<'static> {
    match choice % 4 {
        0 => EdgeFilter::All,
        1 => EdgeFilter::Only(EdgeType::CALLS),
        2 => EdgeFilter::Include(&INCLUDE),
        _ => EdgeFilter::Exclude(&EXCLUDE),
    }
}

/// Neighbours of `id` in the model: (neighbour, type, reached through an incoming edge).
fn model_neighbours(
    model: &Model,
    id: BlockId,
    direction: Direction,
    filter: &EdgeFilter<'_>,
) -> BTreeSet<(BlockId, EdgeType, bool)> {
    let mut out = BTreeSet::new();
    for &(source, target, edge_type) in &model.edges {
        if !filter.accepts(edge_type) {
            continue;
        }
        if source == id && direction != Direction::Incoming {
            out.insert((target, edge_type, false));
        }
        // A self-loop in both directions is one edge, listed as outgoing.
        if target == id
            && direction != Direction::Outgoing
            && !(source == id && direction == Direction::Both)
        {
            out.insert((source, edge_type, true));
        }
    }
    out
}

/// Shortest depths from `starts`, up to `depth_max`.
fn model_bfs(
    model: &Model,
    starts: &[BlockId],
    direction: Direction,
    filter: &EdgeFilter<'_>,
    depth_max: u32,
) -> BTreeMap<BlockId, u32> {
    let mut depth = BTreeMap::new();
    let mut queue = VecDeque::new();
    for start in starts {
        if depth.insert(*start, 0).is_none() {
            queue.push_back(*start);
        }
    }
    while let Some(id) = queue.pop_front() {
        let here = depth[&id];
        if here >= depth_max {
            continue;
        }
        for (neighbour, _, _) in model_neighbours(model, id, direction, filter) {
            if let std::collections::btree_map::Entry::Vacant(slot) = depth.entry(neighbour) {
                slot.insert(here + 1);
                queue.push_back(neighbour);
            }
        }
    }
    depth
}

/// The engine's neighbour order for `id`, after checking it lists exactly the model's.
fn engine_neighbours<V: Vfs>(
    engine: &mut Engine<'_, V>,
    model: &Model,
    id: BlockId,
    direction: Direction,
    filter: &EdgeFilter<'_>,
) -> Result<Vec<(BlockId, EdgeType, bool)>, String> {
    let mut edges = vec![Edge::EMPTY; model.edges.len() + 1];
    let count = engine.edges(id, direction, *filter, &mut edges).map_err(|e| format!("{e:?}"))?;
    let listed: Vec<_> = edges[..count.written]
        .iter()
        .map(|edge| {
            let incoming = match direction {
                Direction::Outgoing => false,
                Direction::Incoming => true,
                Direction::Both => edge.source != id,
            };
            (if incoming { edge.source } else { edge.target }, edge.edge_type, incoming)
        })
        .collect();
    let as_set: BTreeSet<_> = listed.iter().copied().collect();
    if as_set != model_neighbours(model, id, direction, filter) || as_set.len() != listed.len() {
        return Err(format!("edges of {id:?} differ from the model: {listed:?}"));
    }
    Ok(listed)
}

/// Recursive preorder DFS in the engine's neighbour order, the definition the engine's
/// iterative DFS must reproduce exactly.
#[allow(clippy::too_many_arguments)]
fn model_dfs<V: Vfs>(
    engine: &mut Engine<'_, V>,
    model: &Model,
    id: BlockId,
    depth: u32,
    via: Option<Via>,
    query: &TraversalQuery<'_>,
    visited: &mut BTreeSet<BlockId>,
    out: &mut Vec<TraversalHit>,
) -> Result<(), String> {
    if !visited.insert(id) {
        return Ok(());
    }
    out.push(TraversalHit { id, depth, via });
    if depth >= query.depth_max {
        return Ok(());
    }
    for (neighbour, edge_type, incoming) in
        engine_neighbours(engine, model, id, query.direction, &query.edge_filter)?
    {
        if !visited.contains(&neighbour) {
            let direction = if incoming { Direction::Incoming } else { Direction::Outgoing };
            let via = Some(Via { parent: id, edge_type, direction });
            model_dfs(engine, model, neighbour, depth + 1, via, query, visited, out)?;
        }
    }
    Ok(())
}

/// The edge `via` claims exists in the model, passes the query's filter and direction.
fn check_via(model: &Model, id: BlockId, via: &Via, query_direction: Direction) -> bool {
    let key = match via.direction {
        Direction::Outgoing => (via.parent, id, via.edge_type),
        _ => (id, via.parent, via.edge_type),
    };
    let allowed = match query_direction {
        Direction::Both => true,
        other => other == via.direction,
    };
    allowed && model.edges.contains(&key)
}

fn check_bfs<V: Vfs>(
    engine: &mut Engine<'_, V>,
    model: &Model,
    query: &TraversalQuery<'_>,
) -> Result<(), String> {
    let mut hits = vec![TraversalHit::EMPTY; HITS_MAX];
    let count = engine.traverse(query, &mut hits).map_err(|e| format!("traverse: {e:?}"))?;
    let hits = &hits[..count.written];
    if count.truncated {
        return Err(format!("truncated with {} hits under every bound", hits.len()));
    }
    let expected =
        model_bfs(model, query.starts, query.direction, &query.edge_filter, query.depth_max);
    let got: BTreeMap<BlockId, u32> = hits.iter().map(|hit| (hit.id, hit.depth)).collect();
    if got.len() != hits.len() {
        return Err(format!("duplicate hits: {hits:?}"));
    }
    if got != expected {
        return Err(format!("{query:?}: engine {got:?}, model {expected:?}"));
    }
    let mut seen: BTreeMap<BlockId, u32> = BTreeMap::new();
    for (position, hit) in hits.iter().enumerate() {
        if position > 0 && hit.depth < hits[position - 1].depth {
            return Err(format!("breadth-first hits out of depth order: {hits:?}"));
        }
        match &hit.via {
            None if hit.depth == 0 => {}
            Some(via) if seen.get(&via.parent) == Some(&(hit.depth - 1)) => {
                if !check_via(model, hit.id, via, query.direction)
                    || !query.edge_filter.accepts(via.edge_type)
                {
                    return Err(format!("hit {hit:?} names an edge the model lacks"));
                }
            }
            _ => return Err(format!("hit {hit:?} has no valid parent before it")),
        }
        seen.insert(hit.id, hit.depth);
    }
    // Every smaller result bound returns an exact prefix and says it was truncated.
    let full = hits.to_vec();
    for results_max in [1u32, 2, 5] {
        let bounded = TraversalQuery { results_max, ..*query };
        let mut small = vec![TraversalHit::EMPTY; 8];
        let count = engine.traverse(&bounded, &mut small).map_err(|e| format!("{e:?}"))?;
        let keep = full.len().min(results_max as usize);
        if small[..count.written] != full[..keep] || count.truncated != (full.len() > keep) {
            return Err(format!(
                "results_max {results_max}: {count:?} {:?}",
                &small[..count.written]
            ));
        }
    }
    Ok(())
}

fn check_dfs<V: Vfs>(
    engine: &mut Engine<'_, V>,
    model: &Model,
    query: &TraversalQuery<'_>,
) -> Result<(), String> {
    let mut hits = vec![TraversalHit::EMPTY; HITS_MAX];
    let count = engine.traverse(query, &mut hits).map_err(|e| format!("traverse: {e:?}"))?;
    let mut expected = Vec::new();
    let mut visited = BTreeSet::new();
    for start in query.starts {
        model_dfs(engine, model, *start, 0, None, query, &mut visited, &mut expected)?;
    }
    if count.truncated || hits[..count.written] != expected[..] {
        return Err(format!(
            "{query:?}: engine {:?} (truncated {}), model {expected:?}",
            &hits[..count.written],
            count.truncated
        ));
    }
    if query.depth_max >= UNIVERSE as u32 {
        // Unbounded depth: DFS reaches exactly what BFS reaches.
        let reachable = model_bfs(model, query.starts, query.direction, &query.edge_filter, 1000);
        let got: BTreeSet<_> = expected.iter().map(|hit| hit.id).collect();
        if got != reachable.keys().copied().collect() {
            return Err(format!("DFS set {got:?} is not the reachable set {reachable:?}"));
        }
    }
    Ok(())
}

fn check_path<V: Vfs>(
    engine: &mut Engine<'_, V>,
    model: &Model,
    query: &PathQuery<'_>,
) -> Result<(), String> {
    let mut steps = vec![PathStep::EMPTY; DEPTH_MAX_LIMIT as usize + 1];
    let outcome = engine.shortest_path(query, &mut steps).map_err(|e| format!("path: {e:?}"))?;
    let distances =
        model_bfs(model, &[query.from], query.direction, &query.edge_filter, query.depth_max);
    match (outcome, distances.get(&query.to)) {
        (PathOutcome::NoPath, None) => Ok(()),
        (PathOutcome::Found { steps: count }, Some(&distance))
            if count == distance as usize + 1 =>
        {
            let path = &steps[..count];
            if path[0].id != query.from || path[count - 1].id != query.to || path[0].via.is_some() {
                return Err(format!("path ends wrong: {path:?}"));
            }
            for pair in path.windows(2) {
                let via = pair[1].via.ok_or("step without via")?;
                if via.parent != pair[0].id
                    || !check_via(model, pair[1].id, &via, query.direction)
                    || !query.edge_filter.accepts(via.edge_type)
                {
                    return Err(format!("path step {pair:?} is not a model edge"));
                }
            }
            if count > 1 {
                let mut short = vec![PathStep::EMPTY; count - 1];
                let error = engine.shortest_path(query, &mut short).err();
                if error != Some(Error::BufferTooSmall { needed: count }) {
                    return Err(format!("short path buffer: {error:?}"));
                }
            }
            Ok(())
        }
        (outcome, distance) => Err(format!("{query:?}: engine {outcome:?}, model {distance:?}")),
    }
}

fn model_filter(model: &Model, filter: &BlockFilter<'_>) -> Vec<BlockId> {
    model
        .blocks
        .iter()
        .filter(|(_, block)| {
            filter.matches(&block.source_uri, &block.metadata_json, &block.content)
        })
        .map(|(id, _)| *id)
        .collect()
}

fn check_scan<V: Vfs>(
    engine: &mut Engine<'_, V>,
    model: &Model,
    filter: &BlockFilter<'_>,
    page: usize,
) -> Result<(), String> {
    let mut cursor = ScanCursor::START;
    let mut got = Vec::new();
    let mut out = vec![BlockId::ZERO; page];
    for _ in 0..=model.blocks.len() + 1 {
        let written =
            engine.scan(filter, &mut cursor, &mut out).map_err(|e| format!("scan: {e:?}"))?;
        got.extend_from_slice(&out[..written]);
        if cursor.done {
            let expected = model_filter(model, filter);
            return if got == expected {
                Ok(())
            } else {
                Err(format!("scan {filter:?}: engine {got:?}, model {expected:?}"))
            };
        }
        if written < page {
            return Err(format!("a page of {written} < {page} that is not the last"));
        }
    }
    Err("scan did not finish".into())
}

fn check_find_blocks<V: Vfs>(
    engine: &mut Engine<'_, V>,
    model: &Model,
    ids: &[BlockId],
) -> Result<(), String> {
    let mut seen = Vec::new();
    let found = engine
        .find_blocks(ids, |position, view| {
            seen.push((position, view.map(|view| (view.sequence, view.content.to_vec()))));
        })
        .map_err(|e| format!("find_blocks: {e:?}"))?;
    let expected: Vec<_> = ids
        .iter()
        .enumerate()
        .map(|(position, id)| {
            (position, model.blocks.get(id).map(|b| (b.sequence, b.content.clone())))
        })
        .collect();
    let live = expected.iter().filter(|(_, block)| block.is_some()).count();
    if seen != expected || found != live {
        return Err(format!("find_blocks: engine {seen:?}, model {expected:?}"));
    }
    Ok(())
}

/// One random query of every kind against the model.
fn check_queries<V: Vfs>(
    engine: &mut Engine<'_, V>,
    model: &Model,
    generator: &mut Generator,
) -> Result<(), String> {
    let live: Vec<BlockId> = model.blocks.keys().copied().collect();
    let ids: Vec<BlockId> = (0..4).map(|_| generator.id()).collect();
    check_find_blocks(engine, model, &ids)?;
    let kind = if generator.rng.below(2) == 0 { &b"function"[..] } else { b"class" };
    let line = generator.rng.below(10_000) as f64;
    let needle = [generator.rng.next_u64() as u8];
    let prefix = format!("src/module_{}", generator.rng.below(8));
    let filters = [
        BlockFilter::ALL,
        BlockFilter { source_uri_prefix: Some(prefix.as_bytes()), ..BlockFilter::ALL },
        BlockFilter {
            metadata_equals: Some((b"kind", MetadataValue::String(kind))),
            ..BlockFilter::ALL
        },
        BlockFilter {
            metadata_equals: Some((b"line", MetadataValue::Number(line))),
            ..BlockFilter::ALL
        },
        BlockFilter { content_contains: Some(&needle), ..BlockFilter::ALL },
    ];
    let filter = filters[generator.rng.below(filters.len() as u64) as usize];
    check_scan(engine, model, &filter, 1 + generator.rng.below(5) as usize)?;
    if live.is_empty() {
        return Ok(());
    }
    let starts: Vec<BlockId> = (0..1 + generator.rng.below(3))
        .map(|_| live[generator.rng.below(live.len() as u64) as usize])
        .collect();
    let direction = [Direction::Outgoing, Direction::Incoming, Direction::Both]
        [generator.rng.below(3) as usize];
    let depth_max =
        if generator.rng.below(4) == 0 { DEPTH_MAX_LIMIT } else { generator.rng.below(5) as u32 };
    let query = TraversalQuery {
        edge_filter: edge_filter(generator.rng.below(4)),
        depth_max,
        results_max: RESULTS_MAX_LIMIT,
        ..TraversalQuery::new(&starts, direction)
    };
    check_bfs(engine, model, &query)?;
    check_dfs(engine, model, &TraversalQuery { order: TraversalOrder::DepthFirst, ..query })?;
    let to = live[generator.rng.below(live.len() as u64) as usize];
    let path = PathQuery {
        from: starts[0],
        to,
        direction,
        edge_filter: query.edge_filter,
        depth_max: if depth_max == 0 { 1 } else { depth_max },
    };
    check_path(engine, model, &path)?;
    let missing = generator.all_ids().into_iter().find(|id| !model.blocks.contains_key(id));
    if let Some(missing) = missing {
        let error = engine
            .traverse(&TraversalQuery::new(&[missing], direction), &mut [TraversalHit::EMPTY; 4])
            .err();
        if error != Some(Error::NotFound) {
            return Err(format!("traversal from a missing block: {error:?}"));
        }
    }
    Ok(())
}

fn run_case(seed: u64, queries: &mut u64) -> Result<(), String> {
    let config = config();
    let bump = bumpalo::Bump::new();
    let memory = Memory::with_sim(&bump, &config, &harness::SIM_LARGE);
    let mut generator = Generator::new(seed, UNIVERSE);
    let mut sim = SimVfs::new(memory.disk, harness::SIM_LARGE, seed ^ 0x9e37)
        .map_err(|error| format!("sim: {error:?}"))?;
    sim.views = seed % 2 == 1;
    let region = memory.region;
    let mut model = Model::new();
    for _ in 0..4 {
        let opened = Engine::open(config, &mut *region, &mut sim);
        let mut engine = opened.map_err(|error| format!("open: {error:?}"))?;
        for step in 0..160 {
            let op = generator.write();
            let expected = model.clone().apply(&config, &op);
            let got = perform(&mut engine, &op);
            if got == Outcome::Refused(harness::TABLES_FULL) {
                engine.compact_step().map_err(|e| format!("compact_step: {e:?}"))?;
                continue;
            }
            if got != expected {
                return Err(format!("{op:?}: engine {got:?}, model {expected:?}"));
            }
            model.apply(&config, &op);
            match generator.rng.below(40) {
                0 => engine
                    .flush()
                    .or_else(|e| match e {
                        harness::TABLES_FULL => engine.compact_step().map(|_| ()),
                        other => Err(other),
                    })
                    .map_err(|e| format!("flush: {e:?}"))?,
                1 => {
                    engine.compact_step().map_err(|e| format!("compact_step: {e:?}"))?;
                }
                _ => {}
            }
            if step % 16 == 15 {
                check_queries(&mut engine, &model, &mut generator)?;
                *queries += 1;
            }
        }
        engine.close().map_err(|error| format!("close: {error:?}"))?;
    }
    Ok(())
}

#[test]
fn queries_match_a_model_graph_across_flushes_and_reopen() {
    let mut queries = 0;
    for_each_seed("queries_match_a_model_graph_across_flushes_and_reopen", 24, |seed| {
        run_case(seed, &mut queries)
    });
    eprintln!("{queries} rounds of queries checked");
    assert!(queries > 0);
}

/// A small code graph written by hand: four files, ten symbols, every named query's answer
/// worked out on paper.
mod golden {
    use super::*;
    use kausaldb_core::NamedQuery;

    pub const FILES: [&str; 4] = ["main.rs", "parse.rs", "eval.rs", "util.rs"];
    /// (name, file, kind, content)
    pub const SYMBOLS: [(&str, &str, &str, &str); 10] = [
        ("main", "main.rs", "function", "fn main() { eval(parse()) }"),
        ("parse", "parse.rs", "function", "fn parse() -> Ast"),
        ("tokenize", "parse.rs", "function", "fn tokenize(text: &str)"),
        ("parse_expr", "parse.rs", "function", "fn parse_expr() // recursion"),
        ("eval", "eval.rs", "function", "fn eval(ast: Ast)"),
        ("apply", "eval.rs", "function", "fn apply(f: Fn)"),
        ("lookup", "eval.rs", "method", "fn lookup(&self, name: &str)"),
        ("log", "util.rs", "function", "fn log(line: &str)"),
        ("format", "util.rs", "function", "fn format(args: Args)"),
        ("MAX_DEPTH", "util.rs", "const", "const MAX_DEPTH: u32 = 64;"),
    ];
    pub const EDGES: [(&str, &str, EdgeType); 19] = [
        ("main", "parse", EdgeType::CALLS),
        ("main", "eval", EdgeType::CALLS),
        ("parse", "tokenize", EdgeType::CALLS),
        ("parse", "parse_expr", EdgeType::CALLS),
        ("parse_expr", "parse_expr", EdgeType::CALLS),
        ("parse_expr", "tokenize", EdgeType::CALLS),
        ("eval", "log", EdgeType::CALLS),
        ("tokenize", "log", EdgeType::CALLS),
        ("log", "format", EdgeType::CALLS),
        ("eval", "lookup", EdgeType::CALLS_METHOD),
        ("apply", "eval", EdgeType::CALLS_FUNCTION),
        ("eval", "apply", EdgeType::CALLS_FUNCTION),
        ("apply", "MAX_DEPTH", EdgeType::REFERENCES),
        ("parse_expr", "MAX_DEPTH", EdgeType::REFERENCES),
        ("main.rs", "parse.rs", EdgeType::IMPORTS),
        ("main.rs", "eval.rs", EdgeType::IMPORTS),
        ("eval.rs", "util.rs", EdgeType::IMPORTS),
        ("parse.rs", "util.rs", EdgeType::IMPORTS),
        ("lookup", "eval.rs", EdgeType::DEFINED_IN),
    ];

    pub fn id(name: &str) -> BlockId {
        BlockId::derive(b"golden", name.as_bytes())
    }

    pub fn load<V: Vfs>(engine: &mut Engine<'_, V>) {
        for file in FILES {
            let uri = format!("src/{file}");
            engine.put_block(id(file), uri.as_bytes(), br#"{"kind":"file"}"#, b"").unwrap();
        }
        for (name, file, kind, content) in SYMBOLS {
            let uri = format!("src/{file}");
            let metadata = format!(r#"{{"kind":"{kind}","name":"{name}"}}"#);
            engine
                .put_block(id(name), uri.as_bytes(), metadata.as_bytes(), content.as_bytes())
                .unwrap();
        }
        for (source, target, edge_type) in EDGES {
            engine.put_edge(Edge { source: id(source), target: id(target), edge_type }).unwrap();
        }
        // Every symbol is defined in its file (lookup's edge is in EDGES already).
        for (name, file, _, _) in SYMBOLS.iter().filter(|symbol| symbol.0 != "lookup") {
            let edge = Edge { source: id(name), target: id(file), edge_type: EdgeType::DEFINED_IN };
            engine.put_edge(edge).unwrap();
        }
    }

    pub fn answer<V: Vfs>(
        engine: &mut Engine<'_, V>,
        query: NamedQuery,
        start: &str,
        depth: u32,
    ) -> BTreeMap<BlockId, u32> {
        let mut hits = [TraversalHit::EMPTY; 64];
        let count = engine.query(query, id(start), depth, &mut hits).unwrap();
        assert!(!count.truncated);
        let got: BTreeMap<_, _> = hits[..count.written].iter().map(|h| (h.id, h.depth)).collect();
        assert_eq!(got.len(), count.written, "duplicates in {query:?} of {start}");
        got
    }

    pub fn expect(pairs: &[(&str, u32)]) -> BTreeMap<BlockId, u32> {
        pairs.iter().map(|&(name, depth)| (id(name), depth)).collect()
    }

    /// A named query, its start and depth, and the (block, depth) pairs it must return.
    type NamedCase = (NamedQuery, &'static str, u32, &'static [(&'static str, u32)]);

    pub fn check_every_query<V: Vfs>(engine: &mut Engine<'_, V>, state: &str) {
        use NamedQuery::*;
        let cases: [NamedCase; 9] = [
            (Callers, "log", 1, &[("log", 0), ("eval", 1), ("tokenize", 1)]),
            (
                Callers,
                "log",
                3,
                &[
                    ("log", 0),
                    ("eval", 1),
                    ("tokenize", 1),
                    ("main", 2),
                    ("apply", 2),
                    ("parse", 2),
                    ("parse_expr", 2),
                ],
            ),
            (
                Callees,
                "main",
                2,
                &[
                    ("main", 0),
                    ("parse", 1),
                    ("eval", 1),
                    ("tokenize", 2),
                    ("parse_expr", 2),
                    ("log", 2),
                    ("lookup", 2),
                    ("apply", 2),
                ],
            ),
            (Callees, "parse_expr", 0, &[("parse_expr", 0)]),
            (References, "MAX_DEPTH", 1, &[("MAX_DEPTH", 0), ("apply", 1), ("parse_expr", 1)]),
            (
                Imports,
                "main.rs",
                2,
                &[("main.rs", 0), ("parse.rs", 1), ("eval.rs", 1), ("util.rs", 2)],
            ),
            (
                ImportedBy,
                "util.rs",
                5,
                &[("util.rs", 0), ("eval.rs", 1), ("parse.rs", 1), ("main.rs", 2)],
            ),
            (
                Impact,
                "format",
                10,
                &[
                    ("format", 0),
                    ("log", 1),
                    ("eval", 2),
                    ("tokenize", 2),
                    ("main", 3),
                    ("apply", 3),
                    ("parse", 3),
                    ("parse_expr", 3),
                ],
            ),
            (
                Impact,
                "util.rs",
                1,
                &[
                    ("util.rs", 0),
                    ("eval.rs", 1),
                    ("parse.rs", 1),
                    ("log", 1),
                    ("format", 1),
                    ("MAX_DEPTH", 1),
                ],
            ),
        ];
        for (query, start, depth, expected) in cases {
            assert_eq!(
                answer(engine, query, start, depth),
                expect(expected),
                "{state}: {query:?} {start}"
            );
        }
        let mut path = [PathStep::EMPTY; 8];
        let query = PathQuery {
            from: id("main"),
            to: id("format"),
            direction: Direction::Outgoing,
            edge_filter: EdgeFilter::Only(EdgeType::CALLS),
            depth_max: 10,
        };
        assert_eq!(engine.shortest_path(&query, &mut path), Ok(PathOutcome::Found { steps: 4 }));
        let names: Vec<_> = path[..4].iter().map(|step| step.id).collect();
        assert_eq!(names, [id("main"), id("eval"), id("log"), id("format")], "{state}");
        assert!(path[1..4].iter().all(|s| s.via.unwrap().edge_type == EdgeType::CALLS));
        let backwards = PathQuery { from: id("format"), to: id("main"), ..query };
        assert_eq!(engine.shortest_path(&backwards, &mut path), Ok(PathOutcome::NoPath));
        let both = PathQuery { direction: Direction::Both, ..backwards };
        assert_eq!(engine.shortest_path(&both, &mut path), Ok(PathOutcome::Found { steps: 4 }));
        assert_eq!(path[1].via.unwrap().direction, Direction::Incoming, "format <- log");
        let scans: [(BlockFilter<'_>, &[&str]); 4] = [
            (
                BlockFilter {
                    source_uri_prefix: Some(b"src/parse"),
                    metadata_equals: Some((b"kind", MetadataValue::String(b"function"))),
                    ..BlockFilter::ALL
                },
                &["parse", "tokenize", "parse_expr"],
            ),
            (
                BlockFilter {
                    metadata_equals: Some((b"kind", MetadataValue::String(b"method"))),
                    ..BlockFilter::ALL
                },
                &["lookup"],
            ),
            (
                BlockFilter { content_contains: Some(b"recursion"), ..BlockFilter::ALL },
                &["parse_expr"],
            ),
            (
                BlockFilter {
                    metadata_equals: Some((b"name", MetadataValue::String(b"log"))),
                    ..BlockFilter::ALL
                },
                &["log"],
            ),
        ];
        for (filter, names) in scans {
            let mut expected: Vec<_> = names.iter().map(|name| id(name)).collect();
            expected.sort();
            let mut cursor = ScanCursor::START;
            let mut out = [BlockId::ZERO; 2];
            let mut got = Vec::new();
            while !cursor.done {
                let written = engine.scan(&filter, &mut cursor, &mut out).unwrap();
                got.extend_from_slice(&out[..written]);
            }
            assert_eq!(got, expected, "{state}: scan {filter:?}");
        }
    }
}

fn golden_config() -> Config {
    Config { query_nodes_max: 64, ..Config::DEFAULT }
}

#[test]
fn golden_code_graph_answers_every_named_query_in_memory_in_tables_and_after_reopen() {
    let config = golden_config();
    let bump = bumpalo::Bump::new();
    let sim = kausaldb_core::vfs::sim::SimConfig {
        files_max: 32,
        file_bytes_max: 1 << 20,
        pending_bytes_max: 1 << 20,
    };
    let memory = Memory::with_sim(&bump, &config, &sim);
    let mut vfs = SimVfs::new(memory.disk, sim, 7).unwrap();
    let mut engine = Engine::open(config, &mut *memory.region, &mut vfs).unwrap();
    golden::load(&mut engine);
    golden::check_every_query(&mut engine, "memtable");
    engine.flush().unwrap();
    golden::check_every_query(&mut engine, "one table");
    // An unrelated write and a replaced block put the memtable over the table.
    let file = golden::id("util.rs");
    engine.put_block(file, b"src/util.rs", br#"{"kind":"file"}"#, b"// v2").unwrap();
    golden::check_every_query(&mut engine, "memtable over a table");
    engine.close().unwrap();
    let mut engine = Engine::open(config, &mut *memory.region, &mut vfs).unwrap();
    golden::check_every_query(&mut engine, "after reopen");
}

/// A star: a hub with `leaves` outgoing calls, plus a chain 1 -> 2 -> ... -> `chain`.
fn star_and_chain<V: Vfs>(engine: &mut Engine<'_, V>, leaves: u128, chain: u128) {
    let hub = BlockId::from_u128(1000);
    engine.put_block(hub, b"", b"{}", b"").unwrap();
    for leaf in 1..=leaves {
        engine.put_block(BlockId::from_u128(1000 + leaf), b"", b"{}", b"").unwrap();
        let edge = Edge {
            source: hub,
            target: BlockId::from_u128(1000 + leaf),
            edge_type: EdgeType::CALLS,
        };
        engine.put_edge(edge).unwrap();
    }
    for link in 1..=chain {
        engine.put_block(BlockId::from_u128(link), b"", b"{}", b"").unwrap();
        if link > 1 {
            let edge = Edge {
                source: BlockId::from_u128(link - 1),
                target: BlockId::from_u128(link),
                edge_type: EdgeType::CALLS,
            };
            engine.put_edge(edge).unwrap();
        }
    }
}

#[test]
fn bounds_truncate_with_exact_hits_and_bad_arguments_are_refused() {
    let config = Config { query_nodes_max: 4, ..harness::small_config() };
    let bump = bumpalo::Bump::new();
    let memory = Memory::new(&bump, &config);
    let mut engine = Engine::open(config, memory.region, harness::sim_vfs(memory.disk, 3)).unwrap();
    star_and_chain(&mut engine, 10, 10);
    let hub = [BlockId::from_u128(1000)];
    let mut hits = [TraversalHit::EMPTY; 16];
    // The visited set (4 nodes) runs out: four exact hits, truncated.
    let count =
        engine.traverse(&TraversalQuery::new(&hub, Direction::Outgoing), &mut hits).unwrap();
    assert!(count.truncated && count.written == 4, "{count:?}");
    assert_eq!(hits[0], TraversalHit { id: hub[0], depth: 0, via: None });
    for hit in &hits[1..4] {
        let value = hit.id.to_u128();
        assert!(hit.depth == 1 && (1001..=1010).contains(&value), "{hit:?}");
        assert_eq!(hit.via.unwrap().parent, hub[0]);
    }
    // The caller's buffer runs out first.
    let count =
        engine.traverse(&TraversalQuery::new(&hub, Direction::Outgoing), &mut hits[..2]).unwrap();
    assert!(count.truncated && count.written == 2, "{count:?}");
    // Depth first, the hub's 10 children go through candidate windows of one (4 pending
    // slots over 4 levels); the visited set of 4 is what ends it: the hub, then its first
    // three children in listing order.
    let dfs = TraversalQuery {
        order: TraversalOrder::DepthFirst,
        ..TraversalQuery::new(&hub, Direction::Outgoing)
    };
    let count = engine.traverse(&dfs, &mut hits).unwrap();
    assert!(count.truncated && count.written == 4, "{count:?}");
    let mut listed = [Edge::EMPTY; 16];
    engine.edges(hub[0], Direction::Outgoing, EdgeFilter::All, &mut listed).unwrap();
    let children: Vec<_> = hits[1..4].iter().map(|hit| hit.id).collect();
    let first_three: Vec<_> = listed[..3].iter().map(|edge| edge.target).collect();
    assert_eq!(children, first_three);
    // Exactly enough room is not a truncation: the chain's head reaches 3 more in 3 hops.
    let head = [BlockId::from_u128(1)];
    let chain = TraversalQuery { depth_max: 3, ..TraversalQuery::new(&head, Direction::Outgoing) };
    let count = engine.traverse(&chain, &mut hits).unwrap();
    assert!(!count.truncated && count.written == 4, "{count:?}");
    let depths: Vec<_> = hits[..4].iter().map(|hit| (hit.id.to_u128(), hit.depth)).collect();
    assert_eq!(depths, [(1, 0), (2, 1), (3, 2), (4, 3)]);
    // A path longer than the visited set allows is unknown, not absent.
    let mut steps = [PathStep::EMPTY; 16];
    let path = PathQuery {
        from: head[0],
        to: BlockId::from_u128(10),
        direction: Direction::Outgoing,
        edge_filter: EdgeFilter::All,
        depth_max: 20,
    };
    assert_eq!(engine.shortest_path(&path, &mut steps), Ok(PathOutcome::Truncated));
    let near = PathQuery { to: BlockId::from_u128(3), ..path };
    assert_eq!(engine.shortest_path(&near, &mut steps), Ok(PathOutcome::Found { steps: 3 }));
    assert_eq!(
        engine.shortest_path(&near, &mut steps[..2]),
        Err(Error::BufferTooSmall { needed: 3 })
    );
    let to_self = PathQuery { to: head[0], ..path };
    assert_eq!(engine.shortest_path(&to_self, &mut steps), Ok(PathOutcome::Found { steps: 1 }));

    let invalid = |field| Err(Error::QueryInvalid { field: FieldName::new(field) });
    let base = TraversalQuery::new(&head, Direction::Outgoing);
    let too_many_types = [EdgeType::CALLS; 65];
    let many_starts = [head[0]; 257];
    let cases: [(TraversalQuery<'_>, Result<(), Error>); 7] = [
        (TraversalQuery { depth_max: DEPTH_MAX_LIMIT + 1, ..base }, invalid(&"depth_max")),
        (TraversalQuery { results_max: 0, ..base }, invalid(&"results_max")),
        (TraversalQuery { results_max: RESULTS_MAX_LIMIT + 1, ..base }, invalid(&"results_max")),
        (TraversalQuery { starts: &[], ..base }, invalid(&"starts")),
        (TraversalQuery { starts: &many_starts, ..base }, invalid(&"starts")),
        (TraversalQuery { starts: &[BlockId::ZERO], ..base }, Err(Error::IdZero)),
        (
            TraversalQuery { edge_filter: EdgeFilter::Include(&too_many_types), ..base },
            invalid(&"edge_filter"),
        ),
    ];
    for (query, expected) in cases {
        assert_eq!(engine.traverse(&query, &mut hits).map(|_| ()), expected, "{query:?}");
    }
    let missing = [BlockId::from_u128(999)];
    let error = engine.traverse(&TraversalQuery::new(&missing, Direction::Both), &mut hits).err();
    assert_eq!(error, Some(Error::NotFound));
    let error = engine.shortest_path(&PathQuery { to: missing[0], ..path }, &mut steps).err();
    assert_eq!(error, Some(Error::NotFound));
    let mut ids = [BlockId::ZERO; 4];
    let mut cursor = ScanCursor::START;
    let error = engine.scan(&BlockFilter::ALL, &mut cursor, &mut ids[..0]).err();
    assert_eq!(error, Some(Error::BufferTooSmall { needed: 1 }));
    let nan = BlockFilter {
        metadata_equals: Some((b"line", MetadataValue::Number(f64::NAN))),
        ..BlockFilter::ALL
    };
    assert_eq!(
        engine.scan(&nan, &mut cursor, &mut ids).err(),
        Some(Error::QueryInvalid { field: FieldName::new(&"metadata_equals") })
    );
    assert_eq!(engine.find_blocks(&[head[0], BlockId::ZERO], |_, _| {}), Err(Error::IdZero));
}

/// A config for graphs of thousands of blocks in the memtable: `(entries, edges)` of it, and
/// `query_nodes_max`.
fn large_graph_config((entries, edges): (u32, u32), query_nodes_max: u32) -> Config {
    Config {
        memtable_entries_max: entries,
        memtable_edges_max: edges,
        memtable_arena_bytes_max: 1 << 20,
        wal_segment_bytes_max: 1 << 20,
        wal_segments_max: 8,
        wal_buffer_bytes: 64 << 10,
        read_buffer_bytes: 64 << 10,
        content_bytes_max: 1024,
        table_memory_bytes: 1 << 20,
        query_nodes_max,
        ..Config::DEFAULT
    }
}

/// The simulated disk of `large_graph_config`'s stores.
const LARGE_GRAPH_SIM: kausaldb_core::vfs::sim::SimConfig = kausaldb_core::vfs::sim::SimConfig {
    files_max: 32,
    file_bytes_max: 1 << 20,
    pending_bytes_max: 1 << 20,
};

/// A traversal larger than the old hard cap (10,000): a binary tree of 30,000 blocks, the
/// whole tree from its root, streamed by `traverse_with` with no buffer of hits, each block
/// once, breadth first, with its parent before it.
#[test]
fn a_traversal_past_the_old_cap_streams_every_block_to_the_host() {
    const NODES: u128 = 30_000;
    let config = large_graph_config((32 << 10, 32 << 10), 40_000);
    let bump = bumpalo::Bump::new();
    let memory = Memory::with_sim(&bump, &config, &LARGE_GRAPH_SIM);
    let vfs = SimVfs::new(memory.disk, LARGE_GRAPH_SIM, 1).unwrap();
    let mut engine = Engine::open(config, memory.region, vfs).unwrap();
    let id = |n: u128| BlockId::from_u128(n + 1);
    for n in 0..NODES {
        engine.put_block(id(n), b"t.rs", b"{}", b"fn").unwrap();
        if n > 0 {
            let edge = Edge { source: id((n - 1) / 2), target: id(n), edge_type: EdgeType::CALLS };
            engine.put_edge(edge).unwrap();
        }
    }
    let root = [id(0)];
    let query = TraversalQuery {
        depth_max: 20,
        results_max: 40_000,
        ..TraversalQuery::new(&root, Direction::Outgoing)
    };
    let mut depth_of: BTreeMap<BlockId, u32> = BTreeMap::new();
    let mut last_depth = 0;
    let count = engine
        .traverse_with(&query, usize::MAX, |position, hit| {
            assert_eq!(position, depth_of.len(), "positions in order");
            assert!(hit.depth >= last_depth, "breadth first: {hit:?}");
            last_depth = hit.depth;
            if let Some(via) = hit.via {
                assert_eq!(depth_of.get(&via.parent), Some(&(hit.depth - 1)), "{hit:?}");
            }
            assert!(depth_of.insert(hit.id, hit.depth).is_none(), "{hit:?} twice");
        })
        .unwrap();
    assert_eq!((count.written, count.truncated), (NODES as usize, false));
    assert_eq!(depth_of.len() as u128, NODES);
    // The config's visited set, not a compile-time cap, bounds it.
    let small = TraversalQuery { results_max: 12_345, ..query };
    let count = engine.traverse_with(&small, usize::MAX, |_, _| {}).unwrap();
    assert_eq!((count.written, count.truncated), (12_345, true));
}

/// Most graphs `traversals_that_outgrow_the_first_index_slots_match_a_model_bfs` builds in
/// one run, whatever `KAUSAL_ITERATIONS` asks.
const LARGE_GRAPH_SEEDS: u64 = 40;

/// Blocks of `traversals_that_outgrow_the_first_index_slots_match_a_model_bfs`'s graphs.
const LARGE_GRAPH_BLOCKS: u64 = 3_000;

/// Shortest depths from `starts` up to `depth_max` over adjacency lists (the model of the
/// large graphs; `model_bfs` walks every edge per node).
fn adjacency_bfs(
    next: &BTreeMap<BlockId, Vec<BlockId>>,
    starts: &[BlockId],
    depth_max: u32,
) -> BTreeMap<BlockId, u32> {
    let mut depth: BTreeMap<BlockId, u32> = starts.iter().map(|start| (*start, 0)).collect();
    let mut queue: VecDeque<BlockId> = depth.keys().copied().collect();
    while let Some(id) = queue.pop_front() {
        let here = depth[&id];
        for neighbour in next.get(&id).filter(|_| here < depth_max).into_iter().flatten() {
            if let std::collections::btree_map::Entry::Vacant(slot) = depth.entry(*neighbour) {
                slot.insert(here + 1);
                queue.push_back(*neighbour);
            }
        }
    }
    depth
}

/// A traversal's visited index starts on a few of its slots and grows as the traversal
/// does, moving every node visited so far: traversals of hundreds to thousands of blocks
/// (a random graph of 3,000 blocks, 3 calls from each, part in a table) reach exactly the
/// model's blocks at the model's depths, each once, breadth first, each after its parent;
/// depth-first ones reach each block once, never nearer than the model's depth.
#[test]
fn traversals_that_outgrow_the_first_index_slots_match_a_model_bfs() {
    let test = "traversals_that_outgrow_the_first_index_slots_match_a_model_bfs";
    let config = large_graph_config((8 << 10, 16 << 10), 4_096);
    // A seed's graph takes a debug build 0.35 s to write: CI's 1,000 seeds took 380 s, so
    // at most `LARGE_GRAPH_SEEDS` graphs a run (each traverses twelve times).
    let seeds = harness::seeds_at_most(test, 4, LARGE_GRAPH_SEEDS);
    harness::for_each_seed_in(seeds, test, |seed| {
        let bump = bumpalo::Bump::new();
        let memory = Memory::with_sim(&bump, &config, &LARGE_GRAPH_SIM);
        memory.region.fill(0xA5);
        let mut sim =
            SimVfs::new(memory.disk, LARGE_GRAPH_SIM, seed).map_err(|e| format!("{e:?}"))?;
        sim.views = seed % 2 == 1;
        let mut engine = Engine::open(config, memory.region, sim).map_err(|e| format!("{e:?}"))?;
        let mut rng = Generator::new(seed, LARGE_GRAPH_BLOCKS).rng;
        let id = |n: u64| BlockId::from_u128(u128::from(n) + 1);
        let (mut callees, mut callers) = (BTreeMap::new(), BTreeMap::new());
        for n in 0..LARGE_GRAPH_BLOCKS {
            engine.put_block(id(n), b"g.rs", b"{}", b"fn").map_err(|e| format!("{e:?}"))?;
        }
        for n in 0..LARGE_GRAPH_BLOCKS {
            for _ in 0..3 {
                let (source, target) = (id(n), id(rng.below(LARGE_GRAPH_BLOCKS)));
                let edge = Edge { source, target, edge_type: EdgeType::CALLS };
                engine.put_edge(edge).map_err(|e| format!("put_edge: {e:?}"))?;
                callees.entry(source).or_insert_with(Vec::new).push(target);
                callers.entry(target).or_insert_with(Vec::new).push(source);
            }
            if n == LARGE_GRAPH_BLOCKS / 2 {
                engine.flush().map_err(|e| format!("flush: {e:?}"))?;
            }
        }
        let mut hits = vec![TraversalHit::EMPTY; 4_096];
        for round in 0..12 {
            let starts: Vec<BlockId> =
                (0..1 + rng.below(3)).map(|_| id(rng.below(LARGE_GRAPH_BLOCKS))).collect();
            let outgoing = round % 2 == 0;
            let (direction, next) = if outgoing {
                (Direction::Outgoing, &callees)
            } else {
                (Direction::Incoming, &callers)
            };
            let depth_max = 2 + rng.below(5) as u32;
            let expected = adjacency_bfs(next, &starts, depth_max);
            let query = TraversalQuery { depth_max, ..TraversalQuery::new(&starts, direction) }
                .with_results_for(hits.len());
            let count =
                engine.traverse(&query, &mut hits).map_err(|e| format!("traverse: {e:?}"))?;
            let context =
                format!("round {round}: {direction:?} from {starts:?} to depth {depth_max}");
            if count.truncated || count.written != expected.len() {
                return Err(format!("{context}: {count:?}, the model reached {}", expected.len()));
            }
            let mut seen = BTreeMap::new();
            for hit in &hits[..count.written] {
                let parent_depth = hit.via.map(|via| seen.get(&via.parent).copied());
                let ordered = parent_depth.is_none_or(|depth| depth == Some(hit.depth - 1));
                if expected.get(&hit.id) != Some(&hit.depth)
                    || !ordered
                    || seen.insert(hit.id, hit.depth).is_some()
                {
                    return Err(format!(
                        "{context}: {hit:?} (model depth {:?})",
                        expected.get(&hit.id)
                    ));
                }
            }
            let query = TraversalQuery { order: TraversalOrder::DepthFirst, ..query };
            let count = engine.traverse(&query, &mut hits).map_err(|e| format!("dfs: {e:?}"))?;
            let mut seen = BTreeSet::new();
            for hit in &hits[..count.written] {
                let nearest = expected.get(&hit.id).copied();
                if nearest.is_none_or(|depth| hit.depth < depth) || !seen.insert(hit.id) {
                    return Err(format!(
                        "{context}, depth first: {hit:?} (model depth {nearest:?})"
                    ));
                }
            }
        }
        Ok(())
    });
}

/// The query parts are carved as the region's bytes were (no fill at open): whatever a
/// host's region held, and whatever earlier queries left, every traversal sees an empty
/// visited set.
#[test]
fn traversals_are_exact_in_a_region_full_of_old_bytes() {
    let config = Config { query_nodes_max: 64, ..harness::small_config() };
    for fill in [0x00u8, 0xFF, 0xA5, 0x01] {
        let bump = bumpalo::Bump::new();
        let memory = Memory::new(&bump, &config);
        memory.region.fill(fill);
        let vfs = harness::sim_vfs(memory.disk, 5);
        let mut engine = Engine::open(config, memory.region, vfs).unwrap();
        star_and_chain(&mut engine, 10, 10);
        let hub = [BlockId::from_u128(1000)];
        let head = [BlockId::from_u128(1)];
        let mut hits = [TraversalHit::EMPTY; 32];
        // Alternate queries, so each starts over what the previous one left.
        for round in 0..3 {
            let star = engine.traverse(&TraversalQuery::new(&hub, Direction::Outgoing), &mut hits);
            assert_eq!(star.unwrap().written, 11, "fill {fill:#x}, round {round}");
            let chain =
                engine.traverse(&TraversalQuery::new(&head, Direction::Outgoing), &mut hits);
            assert_eq!(chain.unwrap().written, 10, "fill {fill:#x}, round {round}");
            let ids: BTreeSet<BlockId> = hits[..10].iter().map(|hit| hit.id).collect();
            assert_eq!(ids.len(), 10, "each block once");
        }
    }
}

/// The listing of a block whose edges lie in tables and in the memtable merges them in key
/// order (type, then the other end's id), the newest level's version of a key winning: a
/// delete hides an older level's edge, a put of an edge an older level holds lists it once.
/// One table and the memtable is the listing's two-way path; two or three tables the
/// general merge. Tables of 256-byte pages, so a block's run of edges spans pages.
#[test]
fn a_listing_merges_the_tables_edges_with_the_memtables_in_key_order() {
    let test = "a_listing_merges_the_tables_edges_with_the_memtables_in_key_order";
    let config = Config { compaction_auto: false, ..harness::small_config() };
    for_each_seed(test, 300, |seed| {
        let bump = bumpalo::Bump::new();
        let memory = Memory::new(&bump, &config);
        let vfs = harness::sim_vfs(memory.disk, seed);
        let mut engine =
            Engine::open(config, memory.region, vfs).map_err(|error| format!("open: {error:?}"))?;
        let mut generator = Generator::new(seed, UNIVERSE);
        let hub = BlockId::from_u128(1);
        for id in generator.all_ids() {
            engine.put_block(id, b"src/a.rs", b"{}", b"x").map_err(|e| format!("{e:?}"))?;
        }
        // Edges of the hub, both directions, into 1 to 3 tables, then the memtable: puts and
        // deletes over the same keys and new ones.
        let tables = 1 + seed % 3;
        let mut expected: BTreeSet<Edge> = BTreeSet::new();
        for round in 0..=tables {
            hub_edges(&mut engine, &mut generator, hub, round > 0, &mut expected)?;
            if round < tables {
                engine.flush().map_err(|error| format!("flush: {error:?}"))?;
            }
        }
        let stats = engine.stats();
        if u64::from(stats.tables_with_edges) != tables || stats.memtable_edges_used == 0 {
            return Err(format!("not {tables} edge tables and the memtable: {stats:?}"));
        }
        for direction in [Direction::Outgoing, Direction::Incoming] {
            let outgoing = direction == Direction::Outgoing;
            let key = |edge: &Edge| {
                (edge.edge_type.code(), if outgoing { edge.target } else { edge.source })
            };
            let mut want: Vec<_> = expected
                .iter()
                .filter(|edge| if outgoing { edge.source == hub } else { edge.target == hub })
                .map(key)
                .collect();
            want.sort();
            let mut out = [Edge::EMPTY; 128];
            let count = engine
                .edges(hub, direction, EdgeFilter::All, &mut out)
                .map_err(|error| format!("edges: {error:?}"))?;
            let listed: Vec<_> = out[..count.written].iter().map(key).collect();
            if listed != want {
                return Err(format!("{direction:?}: listed {listed:?}, expected {want:?}"));
            }
        }
        Ok(())
    });
}

/// Puts 24 random edges from or to `hub` (a third of them deletes of edges in `expected`
/// when `deletes`), keeping `expected` the edges that should be live.
fn hub_edges<V: Vfs>(
    engine: &mut Engine<'_, V>,
    generator: &mut Generator,
    hub: BlockId,
    deletes: bool,
    expected: &mut BTreeSet<Edge>,
) -> Result<(), String> {
    for _ in 0..24 {
        let mut edge = generator.edge();
        if generator.rng.below(2) == 0 {
            edge.source = hub;
        } else {
            edge.target = hub;
        }
        if deletes && !expected.is_empty() && generator.rng.below(3) == 0 {
            let at = generator.rng.below(expected.len() as u64) as usize;
            let edge = *expected.iter().nth(at).ok_or("in range")?;
            engine.delete_edge(edge).map_err(|e| format!("delete {edge:?}: {e:?}"))?;
            expected.remove(&edge);
        } else {
            engine.put_edge(edge).map_err(|e| format!("put {edge:?}: {e:?}"))?;
            expected.insert(edge);
        }
    }
    Ok(())
}
