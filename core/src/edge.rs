//! Edge types, edges, directions and edge-type filters.

use crate::error::Error;
use crate::id::BlockId;

/// The type of a directed edge. Codes 1..=11 are KausalDB's built-in types; codes
/// `HOST_MIN..=HOST_MAX` belong to the host; every other code is rejected.
///
/// Each built-in type points one way, written here as *source → target*; queries follow
/// that direction (`NamedQuery::Callers` walks `CALLS` edges backwards, from target to
/// source). A code graph usually stores `CONTAINS` and `DEFINED_IN` both, so either way
/// is one hop.
///
/// ```
/// use kausaldb_core::{BlockId, Edge, EdgeType};
/// let (main, parse) = (BlockId::derive(b"repo", b"main"), BlockId::derive(b"repo", b"parse"));
/// // main() calls parse(): the caller is the source.
/// let call = Edge { source: main, target: parse, edge_type: EdgeType::CALLS };
/// assert_eq!(EdgeType::from_code(7), Ok(EdgeType::CALLS));
/// assert!(EdgeType::from_code(12).is_err()); // reserved
/// assert!(EdgeType::from_code(0x8001).is_ok()); // the host's own
/// # let _ = call;
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct EdgeType(u16);

impl EdgeType {
    /// A file or module → what it imports (a module, a file, a symbol). Code 1.
    pub const IMPORTS: EdgeType = EdgeType(1);
    /// A definition → the file or module it is defined in (the reverse of `CONTAINS`). Code 2.
    pub const DEFINED_IN: EdgeType = EdgeType(2);
    /// A definition → a symbol it names without calling it (a type, a constant, a field).
    /// Code 3.
    pub const REFERENCES: EdgeType = EdgeType(3);
    /// A file, module or type → a definition inside it. Code 4.
    pub const CONTAINS: EdgeType = EdgeType(4);
    /// A type → the type it inherits from or extends. Code 5.
    pub const EXTENDS: EdgeType = EdgeType(5);
    /// A type → an interface or trait it implements. Code 6.
    pub const IMPLEMENTS: EdgeType = EdgeType(6);
    /// A function or method → a function or method it calls (when the kind of callee is not
    /// known; see `CALLS_METHOD`, `CALLS_FUNCTION`). Code 7.
    pub const CALLS: EdgeType = EdgeType(7);
    /// A package, build target or file → one it depends on. Code 8.
    pub const DEPENDS_ON: EdgeType = EdgeType(8);
    /// A method → the type it belongs to. Code 9.
    pub const METHOD_OF: EdgeType = EdgeType(9);
    /// A function or method → a method it calls through a receiver. Code 10.
    pub const CALLS_METHOD: EdgeType = EdgeType(10);
    /// A function or method → a free function it calls. Code 11.
    pub const CALLS_FUNCTION: EdgeType = EdgeType(11);
    /// Highest built-in code.
    pub const BUILTIN_MAX: u16 = 11;
    /// First code of the host-defined range.
    pub const HOST_MIN: u16 = 0x8000;
    /// Last code of the host-defined range.
    pub const HOST_MAX: u16 = 0xFFFF;

    /// The edge type with this code, or `EdgeTypeUnknown` for 0 and the reserved codes
    /// `12..0x8000`.
    pub const fn from_code(code: u16) -> Result<EdgeType, Error> {
        if (code >= 1 && code <= Self::BUILTIN_MAX) || code >= Self::HOST_MIN {
            Ok(EdgeType(code))
        } else {
            Err(Error::EdgeTypeUnknown { code })
        }
    }

    /// The numeric code.
    pub const fn code(self) -> u16 {
        self.0
    }
}

/// A directed, typed edge between two blocks. Self-edges are allowed.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Edge {
    /// Where the edge starts (for `CALLS`, the caller).
    pub source: BlockId,
    /// Where it points (for `CALLS`, the callee).
    pub target: BlockId,
    /// What the edge means, and so which way it points (see `EdgeType`).
    pub edge_type: EdgeType,
}

impl Edge {
    /// A placeholder for initialising caller buffers.
    pub const EMPTY: Edge =
        Edge { source: BlockId::ZERO, target: BlockId::ZERO, edge_type: EdgeType::IMPORTS };
}

/// Which edges of a block to list.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Direction {
    /// Edges whose source is the block.
    Outgoing,
    /// Edges whose target is the block.
    Incoming,
    /// Both; a self-edge is listed once.
    Both,
}

/// Which edge types a query accepts. The slices are borrowed from the caller.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum EdgeFilter<'a> {
    /// Every edge type.
    All,
    /// One edge type.
    Only(EdgeType),
    /// The listed types (at most `EDGE_TYPES_MAX`).
    Include(&'a [EdgeType]),
    /// Every type except the listed ones (at most `EDGE_TYPES_MAX`).
    Exclude(&'a [EdgeType]),
}

impl EdgeFilter<'_> {
    /// True if an edge of type `edge_type` passes the filter. Inline: every listing asks it
    /// once per record, and the generic listings are compiled in the host's crate.
    #[inline]
    pub fn accepts(&self, edge_type: EdgeType) -> bool {
        match self {
            EdgeFilter::All => true,
            EdgeFilter::Only(only) => *only == edge_type,
            EdgeFilter::Include(types) => types.contains(&edge_type),
            EdgeFilter::Exclude(types) => !types.contains(&edge_type),
        }
    }
}

/// How many edges a listing found and how many fit in the caller's buffer.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct EdgeCount {
    /// Edges written to the front of the caller's buffer.
    pub written: usize,
    /// Edges that matched; `total > written` means the buffer was too small.
    pub total: usize,
}

impl EdgeCount {
    /// True if some matching edges did not fit.
    pub fn truncated(&self) -> bool {
        self.total > self.written
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_outside_the_builtin_and_host_ranges_are_rejected() {
        assert_eq!(EdgeType::from_code(0), Err(Error::EdgeTypeUnknown { code: 0 }));
        assert_eq!(EdgeType::from_code(12), Err(Error::EdgeTypeUnknown { code: 12 }));
        assert_eq!(EdgeType::from_code(0x7FFF), Err(Error::EdgeTypeUnknown { code: 0x7FFF }));
        assert_eq!(EdgeType::from_code(7), Ok(EdgeType::CALLS));
        assert_eq!(EdgeType::from_code(11), Ok(EdgeType::CALLS_FUNCTION));
        assert_eq!(EdgeType::from_code(0x8000).map(EdgeType::code), Ok(0x8000));
        assert_eq!(EdgeType::from_code(0xFFFF).map(EdgeType::code), Ok(0xFFFF));
    }

    #[test]
    fn filters_accept_what_they_name() {
        let calls = [EdgeType::CALLS, EdgeType::CALLS_METHOD];
        assert!(EdgeFilter::All.accepts(EdgeType::IMPORTS));
        assert!(EdgeFilter::Only(EdgeType::CALLS).accepts(EdgeType::CALLS));
        assert!(!EdgeFilter::Only(EdgeType::CALLS).accepts(EdgeType::IMPORTS));
        assert!(EdgeFilter::Include(&calls).accepts(EdgeType::CALLS_METHOD));
        assert!(!EdgeFilter::Include(&calls).accepts(EdgeType::IMPORTS));
        assert!(!EdgeFilter::Exclude(&calls).accepts(EdgeType::CALLS));
        assert!(EdgeFilter::Exclude(&calls).accepts(EdgeType::IMPORTS));
    }
}
