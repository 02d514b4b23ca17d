//! Graph queries: traversal (BFS and DFS), shortest paths, the named queries users type,
//! block filters and the filtered scan. Every query reads the store through the same
//! merged views as `find_block` and `edges`, so it sees the memtable and every table, and
//! never a deleted or superseded version.
//!
//! Memory: the visited set, the BFS queue (which is the list of visited nodes itself) and
//! the DFS stack are carved from the region, sized by `Config::query_nodes_max`. Running out
//! of any of them, or of the caller's result buffer, ends the query with `truncated` set;
//! what was returned up to that point is still exact.

mod filter;
#[cfg(any(test, feature = "small-code"))]
mod number;
mod traverse;

pub use filter::{BlockFilter, MetadataValue};
pub use traverse::PathQuery;
pub(crate) use traverse::{
    frames_count, shortest_path, traverse, Frame, QueryNode, QueryParts, INDEX_UNCLEARED,
};

use crate::codec::narrow_u32;
use crate::edge::{Direction, EdgeFilter, EdgeType};
use crate::error::{Error, FieldName};
use crate::id::BlockId;

/// Depth a traversal goes to when the caller does not say.
pub const DEPTH_DEFAULT: u32 = 10;
/// Results a traversal returns when the caller does not say.
pub const RESULTS_DEFAULT: u32 = 1000;
pub use crate::limits::{DEPTH_MAX_LIMIT, EDGE_TYPES_MAX, RESULTS_MAX_LIMIT, STARTS_MAX};

const _: () = assert!(DEPTH_DEFAULT <= DEPTH_MAX_LIMIT);
const _: () = assert!(RESULTS_DEFAULT <= RESULTS_MAX_LIMIT);

/// Order in which a traversal visits blocks.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TraversalOrder {
    /// Breadth first: every block at its shortest depth, nearer blocks first.
    BreadthFirst,
    /// Depth first, preorder, neighbours in the order `edges` lists them. A block is
    /// reported at the depth of the path that first reached it, which may be longer than
    /// its shortest; with a depth bound, a block reachable only through such a detour may be
    /// missed, as with any depth-bounded DFS. Use breadth first for shortest depths.
    DepthFirst,
}

/// One traversal: where to start, which edges to follow, how far, how many results.
#[derive(Clone, Copy, Debug)]
pub struct TraversalQuery<'a> {
    /// Live blocks to start from (1..=`STARTS_MAX`); duplicates are reported once.
    pub starts: &'a [BlockId],
    /// Follow outgoing edges (to targets), incoming (to sources), or both.
    pub direction: Direction,
    /// Which edge types to follow.
    pub edge_filter: EdgeFilter<'a>,
    /// Edges from a start to the farthest result (0 returns the starts alone); at most
    /// `DEPTH_MAX_LIMIT`.
    pub depth_max: u32,
    /// Results to return at most, starts included (1..=`RESULTS_MAX_LIMIT`).
    pub results_max: u32,
    /// Breadth first (nearest first; depths are shortest distances) or depth first.
    pub order: TraversalOrder,
}

impl<'a> TraversalQuery<'a> {
    /// A breadth-first traversal over every edge type with the default bounds.
    pub fn new(starts: &'a [BlockId], direction: Direction) -> TraversalQuery<'a> {
        TraversalQuery {
            starts,
            direction,
            edge_filter: EdgeFilter::All,
            depth_max: DEPTH_DEFAULT,
            results_max: RESULTS_DEFAULT,
            order: TraversalOrder::BreadthFirst,
        }
    }

    /// Asks for as many results as an output buffer of `capacity` hits holds, within
    /// `1..=RESULTS_MAX_LIMIT`: the clamp every caller with a buffer uses.
    pub fn with_results_for(self, capacity: usize) -> TraversalQuery<'a> {
        let results_max = capacity.clamp(1, RESULTS_MAX_LIMIT as usize);
        TraversalQuery { results_max: narrow_u32(results_max), ..self }
    }

    /// `QueryInvalid` naming the first bad field, or `IdZero`.
    pub fn validate(&self) -> Result<(), Error> {
        if self.starts.is_empty() || self.starts.len() > STARTS_MAX {
            return Err(Error::QueryInvalid { field: FieldName::new(&"starts") });
        }
        if self.starts.iter().any(BlockId::is_zero) {
            return Err(Error::IdZero);
        }
        if self.depth_max > DEPTH_MAX_LIMIT {
            return Err(Error::QueryInvalid { field: FieldName::new(&"depth_max") });
        }
        if self.results_max == 0 || self.results_max > RESULTS_MAX_LIMIT {
            return Err(Error::QueryInvalid { field: FieldName::new(&"results_max") });
        }
        validate_edge_filter(&self.edge_filter)
    }
}

fn validate_edge_filter(filter: &EdgeFilter<'_>) -> Result<(), Error> {
    match filter {
        EdgeFilter::Include(types) | EdgeFilter::Exclude(types) if types.len() > EDGE_TYPES_MAX => {
            Err(Error::QueryInvalid { field: FieldName::new(&"edge_filter") })
        }
        _ => Ok(()),
    }
}

/// The edge by which a traversal first reached a block.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Via {
    /// The block the traversal came from (reported earlier in the results).
    pub parent: BlockId,
    /// The type of the edge followed from the parent.
    pub edge_type: EdgeType,
    /// `Outgoing`: the edge is parent -> block. `Incoming`: the edge is block -> parent.
    pub direction: Direction,
}

/// One block a traversal reached.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TraversalHit {
    /// The block reached.
    pub id: BlockId,
    /// Edges between the block and the start its path began at (0 for a start).
    pub depth: u32,
    /// How it was first reached; `None` for a start.
    pub via: Option<Via>,
}

impl TraversalHit {
    /// A placeholder for initialising caller buffers.
    pub const EMPTY: TraversalHit = TraversalHit { id: BlockId::ZERO, depth: 0, via: None };
}

/// What a traversal returned.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TraversalCount {
    /// Hits written to the front of the caller's buffer.
    pub written: usize,
    /// A bound (results_max, the buffer, `Config::query_nodes_max`) stopped the traversal
    /// before it had reached every block it would have: the hits are exact but incomplete.
    pub truncated: bool,
}

/// One step of a path: the block, and the edge type that led to it from the step before.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PathStep {
    /// The block at this step.
    pub id: BlockId,
    /// `None` for the first step.
    pub via: Option<Via>,
}

impl PathStep {
    /// A placeholder for initialising caller buffers.
    pub const EMPTY: PathStep = PathStep { id: BlockId::ZERO, via: None };
}

/// What a shortest-path query found.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PathOutcome {
    /// A shortest path of this many steps (edges + 1) is at the front of the buffer.
    Found {
        /// Blocks on the path, both ends included.
        steps: usize,
    },
    /// No path of at most `depth_max` edges exists.
    NoPath,
    /// `Config::query_nodes_max` blocks were visited without reaching the target, so the
    /// answer is unknown (not "no path").
    Truncated,
}

/// The graph questions users type, each a preset traversal.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum NamedQuery {
    /// Blocks that call the start (incoming calls, calls_method, calls_function).
    Callers,
    /// Blocks the start calls (outgoing calls, calls_method, calls_function).
    Callees,
    /// Blocks that reference the start (incoming references).
    References,
    /// Blocks the start imports (outgoing imports).
    Imports,
    /// Blocks that import the start (incoming imports).
    ImportedBy,
    /// Everything that depends on the start: incoming edges of every type, transitively.
    Impact,
}

/// Edge types that count as a call.
pub const CALL_TYPES: [EdgeType; 3] =
    [EdgeType::CALLS, EdgeType::CALLS_METHOD, EdgeType::CALLS_FUNCTION];

impl NamedQuery {
    /// The traversal this query runs from `starts` to `depth_max` (breadth first).
    pub fn traversal<'a>(self, starts: &'a [BlockId], depth_max: u32) -> TraversalQuery<'a> {
        let (direction, edge_filter) = match self {
            NamedQuery::Callers => (Direction::Incoming, EdgeFilter::Include(&CALL_TYPES)),
            NamedQuery::Callees => (Direction::Outgoing, EdgeFilter::Include(&CALL_TYPES)),
            NamedQuery::References => (Direction::Incoming, EdgeFilter::Only(EdgeType::REFERENCES)),
            NamedQuery::Imports => (Direction::Outgoing, EdgeFilter::Only(EdgeType::IMPORTS)),
            NamedQuery::ImportedBy => (Direction::Incoming, EdgeFilter::Only(EdgeType::IMPORTS)),
            NamedQuery::Impact => (Direction::Incoming, EdgeFilter::All),
        };
        TraversalQuery { edge_filter, depth_max, ..TraversalQuery::new(starts, direction) }
    }
}

/// Where a filtered scan resumes. Start with `ScanCursor::START`; pass the same cursor to
/// each call until `done`. Blocks are visited in id order, each live block at most once per
/// pass; writes between calls are seen if their ids lie after the cursor.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ScanCursor {
    /// The last id examined; `ZERO` before the first call (no block has id zero).
    pub after: BlockId,
    /// Every live block has been examined.
    pub done: bool,
}

impl ScanCursor {
    /// A cursor before the first block: where every scan starts.
    pub const START: ScanCursor = ScanCursor { after: BlockId::ZERO, done: false };
}
