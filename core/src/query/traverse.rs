//! Breadth-first and depth-first traversal and shortest paths over the merged store, in
//! region memory: a list of visited nodes (the BFS queue itself), an open-addressing index
//! over it, and a DFS stack.

use super::Via;
use super::{PathOutcome, PathStep, TraversalCount, TraversalHit, TraversalOrder, TraversalQuery};
use crate::codec::narrow_u32;
use crate::edge::{Direction, Edge, EdgeFilter, EdgeType};
use crate::error::{Error, FieldName};
use crate::id::BlockId;
use crate::store::Store;
use crate::vfs::Vfs;

/// `parent` of a start node.
const ROOT: u32 = u32::MAX;

/// One visited block (or, on the DFS stack, one block about to be visited).
#[derive(Clone, Copy, Debug)]
pub(crate) struct QueryNode {
    id: BlockId,
    /// Index of the node it was reached from, or `ROOT`.
    parent: u32,
    /// Index-table slot holding this node, so the next query can clear it.
    slot: u32,
    depth: u16,
    edge_type: EdgeType,
    /// Reached over an incoming edge: non-zero (a byte, so any bytes are a node: the
    /// region's node parts are carved as they are, `region::AnyBits`).
    incoming: u8,
}

// Two records per node (visited list and DFS stack); the config documents 64 bytes.
const _: () = assert!(core::mem::size_of::<QueryNode>() == 32);

impl QueryNode {
    pub(crate) const EMPTY: QueryNode = QueryNode {
        id: BlockId::ZERO,
        parent: ROOT,
        slot: 0,
        depth: 0,
        edge_type: EdgeType::IMPORTS,
        incoming: 0,
    };

    fn root(id: BlockId) -> QueryNode {
        QueryNode { id, ..QueryNode::EMPTY }
    }
}

/// The region parts queries use, all carved as the region's bytes were (no fill at open:
/// a host that allows a million-node traversal pays 69 MiB of region, not 69 MiB of writes
/// at every open).
pub(crate) struct QueryParts<'r> {
    /// Open addressing over `nodes`: 0 is an empty slot; a full one holds node `e - 1` in
    /// its low `node_bits(nodes.len())` bits as `e` and some bits of the node id's hash
    /// above (a tag, so a probe passing another node's slot reads no node). A power of two,
    /// at least twice `nodes.len()`, so a probe always ends. A query uses a prefix of it, at
    /// most half full, grown as its nodes grow (`IndexShape`). Exactly the slots of `nodes[..
    /// used]` are full, except before the first query (`used` is `INDEX_UNCLEARED`): that
    /// one zeroes the region's bytes (open writes none of them), each later one empties only
    /// the slots the last one filled. (It was a sparse set that needed no clearing, but every
    /// probe of an empty slot then read the node the slot's stale value named.)
    pub(crate) index: &'r mut [u32],
    /// Visited nodes `..used`, in visiting order (the BFS queue); later ones are stale.
    pub(crate) nodes: &'r mut [QueryNode],
    pub(crate) pending: &'r mut [QueryNode],
    /// A depth-first path's frames (`frames_count`: one per depth it can reach, at most
    /// one per node); on the stack they were 2 KiB of every traversal, whatever the config.
    pub(crate) frames: &'r mut [Frame],
    /// Nodes the current (or last) query visited; `INDEX_UNCLEARED` until the first query.
    pub(crate) used: usize,
}

/// Frames a depth-first traversal needs for `query_nodes_max`: a path holds each node once
/// and is at most `DEPTH_MAX_LIMIT` edges long.
pub(crate) fn frames_count(query_nodes_max: u32) -> usize {
    query_nodes_max.min(super::DEPTH_MAX_LIMIT) as usize + 1
}

/// `QueryParts::used` before the first query: the index holds the region's bytes.
pub(crate) const INDEX_UNCLEARED: usize = usize::MAX;

/// Bits of an index slot that hold a node number plus one, for `nodes` nodes; the tag has
/// the rest.
fn node_bits(nodes: usize) -> u32 {
    usize::BITS - nodes.leading_zeros()
}

impl QueryParts<'_> {
    /// Empties the index: all of it the first time (the region's bytes may be anything),
    /// else only the slots the last query filled. Then no node is visited.
    fn clear(&mut self) {
        match self.nodes.get(..self.used) {
            Some(visited) => {
                for node in visited {
                    self.index[node.slot as usize] = 0;
                }
            }
            None => self.index.fill(0),
        }
        self.used = 0;
    }
}

enum Insert {
    Added(u32),
    Present,
    Full,
}

/// One query's state over the region parts.
pub(crate) struct Traverser<'q, 'r> {
    parts: &'q mut QueryParts<'r>,
    /// Nodes this query may visit.
    limit: usize,
    truncated: bool,
    /// How an id's hash becomes an index slot and a tag, fixed by the parts' sizes.
    shape: IndexShape,
}

/// The visited index's dimensions, worked out when it grows rather than at every probe (a
/// probe is made for every edge a traversal follows: `cargo xtask listing-cost` counted
/// them at a sixth of a 3-hop traversal). A query starts on the first `INDEX_SLOTS_FIRST`
/// slots and grows them whenever they would be more than half full (`Traverser::grow`): a
/// 3-hop traversal of 150 nodes probes 4 KiB, which stays in the L1 cache, where spreading
/// them over the whole index (128 KiB at the default `query_nodes_max`) cost an L1 miss a
/// probe (`cargo xtask listing-cost`: 1,062 -> 820 L1 misses a 3-hop traversal).
#[derive(Clone, Copy)]
struct IndexShape {
    /// Slots in use: `index[..slots]`.
    slots: usize,
    /// A hash shifted right by this is a slot (the hash's high bits).
    slot_shift: u32,
    /// `slots - 1`: the next slot of a probe wraps with it.
    slot_mask: usize,
    /// `node_bits(nodes.len())`: a slot's node number (plus one) is below it, the tag above.
    node_bits: u32,
    /// The low `node_bits` bits.
    number_mask: u32,
}

/// Slots a query's visited index starts with (4 KiB): room for 512 nodes.
const INDEX_SLOTS_FIRST: usize = 1024;

impl IndexShape {
    /// The shape of `slots` slots (a power of two) of an index over `nodes` nodes.
    fn new(slots: usize, nodes: usize) -> IndexShape {
        debug_assert!(slots.is_power_of_two());
        let node_bits = node_bits(nodes);
        // `query_nodes_max` is a u32: a slot always has room for a node's number.
        debug_assert!(node_bits <= u32::BITS);
        IndexShape {
            slots,
            // At most 64: a one-slot index takes no bits of the hash (`slot`).
            slot_shift: u64::BITS - slots.trailing_zeros(),
            slot_mask: slots - 1,
            node_bits,
            number_mask: u32::MAX.checked_shr(u32::BITS - node_bits).unwrap_or(0),
        }
    }

    /// Whether `nodes` nodes keep it at most half full.
    fn holds(self, nodes: usize) -> bool {
        nodes <= self.slots / 2
    }

    /// Where a probe for a node whose id hashes to `hash` starts.
    #[expect(clippy::cast_possible_truncation, reason = "the shifted hash is below the slots")]
    fn slot(self, hash: u64) -> usize {
        hash.checked_shr(self.slot_shift).unwrap_or(0) as usize
    }

    /// The slot value of node 0 (plus one) for `hash`: its tag from the hash's low bits, the
    /// slot having come from its high ones.
    #[expect(clippy::cast_possible_truncation, reason = "the tag is the hash's low bits")]
    fn tag(self, hash: u64) -> u32 {
        (hash as u32).checked_shl(self.node_bits).unwrap_or(0) | 1
    }
}

/// Where a probe of the visited index for an id ended.
enum Probe {
    Visited,
    /// The empty slot where the id goes, and the slot's value for node 0 (add the node's
    /// number to it).
    Empty {
        slot: usize,
        tag: u32,
    },
}

impl<'q, 'r> Traverser<'q, 'r> {
    /// Clears what the previous query left and starts one that may visit `limit` nodes.
    pub(crate) fn begin(parts: &'q mut QueryParts<'r>, limit: usize) -> Traverser<'q, 'r> {
        assert!(parts.index.len().is_power_of_two());
        assert!(parts.index.len() >= 2 * parts.nodes.len());
        parts.clear();
        let limit = limit.min(parts.nodes.len());
        let first = if cfg!(feature = "small-code") { usize::MAX } else { INDEX_SLOTS_FIRST };
        let slots = parts.index.len().min(first);
        let shape = IndexShape::new(slots, parts.nodes.len());
        Traverser { parts, limit, truncated: false, shape }
    }

    /// Quadruples the slots in use (or takes them all) and moves every visited node to its
    /// slot there: the old slots are emptied, each node is entered again (all distinct, so
    /// no id is compared). By fours, a traversal's nodes move a third of a time each on
    /// average; by twos, once.
    fn grow(&mut self) {
        let slots = (self.shape.slots * 4).min(self.parts.index.len());
        let shape = IndexShape::new(slots, self.parts.nodes.len());
        let (index, nodes) = (&mut *self.parts.index, &mut self.parts.nodes[..self.parts.used]);
        for node in nodes.iter() {
            index[node.slot as usize] = 0;
        }
        for (number, node) in nodes.iter_mut().enumerate() {
            let hash = node.id.hash64();
            let mut slot = shape.slot(hash);
            // Half full at most: an empty slot ends the walk.
            for _ in 0..shape.slots {
                if index.get(slot).is_some_and(|value| *value == 0) {
                    break;
                }
                slot = (slot + 1) & shape.slot_mask;
            }
            node.slot = narrow_u32(slot);
            index[slot] = shape.tag(hash) + narrow_u32(number);
        }
        self.shape = shape;
    }

    /// Finds `id` in the visited index.
    #[cfg_attr(not(feature = "small-code"), inline)]
    fn probe(&self, id: &BlockId) -> Probe {
        let (index, shape) = (&*self.parts.index, self.shape);
        let hash = id.hash64();
        let mut slot = shape.slot(hash);
        let tag = shape.tag(hash);
        // The index is at most half full, so an empty slot ends every probe.
        for _ in 0..index.len() {
            let value = index.get(slot).copied().unwrap_or(0);
            if value == 0 {
                return Probe::Empty { slot, tag };
            }
            // A value's tag bits are its tag; node 0's value is the tag itself.
            if value & !shape.number_mask == tag & !shape.number_mask {
                let node = value.wrapping_sub(tag) as usize;
                if self.parts.nodes.get(node).is_some_and(|node| node.id == *id) {
                    return Probe::Visited;
                }
            }
            slot = (slot + 1) & shape.slot_mask;
        }
        // At most half the slots are full (`begin`): not reached.
        debug_assert!(false, "a full query index");
        Probe::Visited
    }

    fn contains(&self, id: &BlockId) -> bool {
        matches!(self.probe(id), Probe::Visited)
    }

    /// Adds the node `id` unless it was visited; `node()` makes it (as it will be stored,
    /// but for its `slot`) only when it is added.
    #[cfg_attr(not(feature = "small-code"), inline)]
    fn insert_with(&mut self, id: &BlockId, node: impl FnOnce() -> QueryNode) -> Insert {
        let Probe::Empty { mut slot, mut tag } = self.probe(id) else {
            return Insert::Present;
        };
        if self.parts.used >= self.limit {
            self.truncated = true;
            return Insert::Full;
        }
        // `small-code`: the index is small and starts whole (`begin`); no growth to compile.
        if cfg!(not(feature = "small-code")) && !self.shape.holds(self.parts.used + 1) {
            self.grow();
            let Probe::Empty { slot: moved, tag: same } = self.probe(id) else {
                debug_assert!(false, "a node appeared in the index as it grew");
                return Insert::Present;
            };
            (slot, tag) = (moved, same);
        }
        let index = self.parts.used;
        let mut node = node();
        debug_assert!(node.id == *id);
        node.slot = narrow_u32(slot);
        self.parts.nodes[index] = node;
        self.parts.index[slot] = tag + narrow_u32(index);
        self.parts.used += 1;
        Insert::Added(narrow_u32(index))
    }

    fn insert(&mut self, node: QueryNode) -> Insert {
        self.insert_with(&node.id, || node)
    }

    /// Adds each start once (all checked live by `check_starts_live` first).
    fn add_starts(&mut self, starts: &[BlockId]) {
        for start in starts {
            if let Insert::Full = self.insert(QueryNode::root(*start)) {
                break;
            }
        }
    }

    /// Breadth first from the nodes already added: each node's neighbours are added at its
    /// depth + 1, until `depth_max`, the limit, or `stop_at` is reached. Returns the index
    /// of `stop_at` if it was reached.
    fn breadth_first<V: Vfs>(
        &mut self,
        store: &mut Store<'_>,
        vfs: &mut V,
        query: &Expansion<'_>,
        stop_at: Option<&BlockId>,
    ) -> Result<Option<u32>, Error> {
        let mut head = 0;
        if let Some(found) = stop_at.and_then(|target| self.position(target)) {
            return Ok(Some(found));
        }
        let mut batch = EntryBatch { first: 0, len: 0, entries: [None; ENTRY_BATCH] };
        while head < self.parts.used {
            let node = self.parts.nodes[head];
            let parent = narrow_u32(head);
            if u32::from(node.depth) >= query.depth_max {
                head += 1;
                continue;
            }
            let used = &self.parts.nodes[..self.parts.used];
            let entry = batch.entry_of(store, used, head, query.depth_max);
            head += 1;
            let mut found = None;
            let mut full = false;
            query.expand(store, vfs, &node, entry, |neighbour, edge_type, incoming| {
                if full || found.is_some() {
                    return;
                }
                let child = || QueryNode {
                    id: neighbour,
                    parent,
                    slot: 0,
                    depth: node.depth + 1,
                    edge_type,
                    incoming: u8::from(incoming),
                };
                match self.insert_with(&neighbour, child) {
                    Insert::Added(index) if stop_at == Some(&neighbour) => found = Some(index),
                    Insert::Added(_) | Insert::Present => {}
                    Insert::Full => full = true,
                }
            })?;
            if found.is_some() || full {
                return Ok(found);
            }
        }
        Ok(None)
    }

    fn position(&self, id: &BlockId) -> Option<u32> {
        let used = &self.parts.nodes[..self.parts.used];
        used.iter().position(|node| node.id == *id).map(narrow_u32)
    }

    /// Depth first, preorder, exactly as the recursive definition: visit a node, then each
    /// neighbour in listing order that is still unvisited when its turn comes. The path is
    /// a stack of frames (at most `depth_max`, so at most `DEPTH_MAX_LIMIT`); each frame
    /// owns a window of the region's `pending` part holding its next candidates, refilled
    /// by listing the node again from where the last window ended. Memory is bounded by the
    /// region whatever the degrees; a hub costs one listing per window of its children.
    fn depth_first<V: Vfs>(
        &mut self,
        store: &mut Store<'_>,
        vfs: &mut V,
        query: &Expansion<'_>,
        starts: &[BlockId],
    ) -> Result<(), Error> {
        // `traverse` runs a depth-0 query breadth first: the starts alone, either way.
        debug_assert!(query.depth_max >= 1);
        // One window of candidates per depth that can be expanded (depths 0..depth_max).
        let windows = (query.depth_max as usize).min(self.parts.pending.len()).max(1);
        let width = self.parts.pending.len() / windows;
        let storage = core::mem::take(&mut self.parts.frames);
        let mut frames = Frames { frames: &mut *storage, len: 0 };
        let walked =
            self.walk_depth_first(store, vfs, query, starts, (windows, width), &mut frames);
        self.parts.frames = storage;
        walked
    }

    /// `depth_first` with its frames, `windows` of `width` candidates each.
    fn walk_depth_first<V: Vfs>(
        &mut self,
        store: &mut Store<'_>,
        vfs: &mut V,
        query: &Expansion<'_>,
        starts: &[BlockId],
        (windows, width): (usize, usize),
        frames: &mut Frames<'_>,
    ) -> Result<(), Error> {
        for start in starts {
            match self.insert(QueryNode::root(*start)) {
                Insert::Added(index) => {
                    // depth_max >= 1 here, so a start is always expanded.
                    let _ = frames.push(Frame::new(index));
                }
                Insert::Present => continue,
                Insert::Full => return Ok(()),
            }
            while let Some(&frame) = frames.last() {
                let depth = frames.len() - 1;
                if frame.window_at == frame.window_count {
                    if frame.listed_all {
                        frames.pop();
                        continue;
                    }
                    let refilled = self.refill(store, vfs, query, frame, depth * width, width)?;
                    if let Some(top) = frames.last_mut() {
                        *top = refilled;
                    }
                    continue;
                }
                let candidate = self.parts.pending[depth * width + frame.window_at as usize];
                if let Some(top) = frames.last_mut() {
                    top.window_at += 1;
                }
                match self.insert(candidate) {
                    Insert::Added(index) if u32::from(candidate.depth) < query.depth_max => {
                        if frames.push(Frame::new(index)).is_err() || frames.len() > windows {
                            self.truncated = true;
                            return Ok(());
                        }
                    }
                    Insert::Added(_) | Insert::Present => {}
                    Insert::Full => return Ok(()),
                }
            }
        }
        Ok(())
    }

    /// Lists `frame`'s node from its resume position and collects up to `width` neighbours
    /// not yet visited into `pending[base..]`; returns the frame with its new window.
    fn refill<V: Vfs>(
        &mut self,
        store: &mut Store<'_>,
        vfs: &mut V,
        query: &Expansion<'_>,
        frame: Frame,
        base: usize,
        width: usize,
    ) -> Result<Frame, Error> {
        let node = self.parts.nodes[frame.node as usize];
        let mut position = 0u32;
        let mut collected = 0usize;
        let mut next_resume = frame.resume;
        let mut more = false;
        let entry = store.memtable.entry_of(&node.id);
        query.expand(store, vfs, &node, entry, |neighbour, edge_type, incoming| {
            let at = position;
            position += 1;
            if at < frame.resume {
                return;
            }
            if collected == width {
                more = true;
                return;
            }
            next_resume = at + 1;
            if self.contains(&neighbour) {
                return;
            }
            self.parts.pending[base + collected] = QueryNode {
                id: neighbour,
                parent: frame.node,
                slot: 0,
                depth: node.depth + 1,
                edge_type,
                incoming: u8::from(incoming),
            };
            collected += 1;
        })?;
        Ok(Frame {
            node: frame.node,
            resume: next_resume,
            listed_all: !more,
            window_count: narrow_u32(collected),
            window_at: 0,
        })
    }

    fn via(&self, node: &QueryNode) -> Option<Via> {
        let parent = self.parts.nodes.get(node.parent as usize)?;
        let direction = if node.incoming != 0 { Direction::Incoming } else { Direction::Outgoing };
        Some(Via { parent: parent.id, edge_type: node.edge_type, direction })
    }

    #[cfg_attr(not(feature = "small-code"), inline)]
    fn hit(&self, index: usize) -> TraversalHit {
        let node = &self.parts.nodes[index];
        TraversalHit { id: node.id, depth: u32::from(node.depth), via: self.via(node) }
    }
}

/// One depth of a depth-first path: a visited node and its window of next candidates.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Frame {
    /// The node's index in the visited list.
    node: u32,
    /// Listing position at which the next refill resumes.
    resume: u32,
    /// The last listing reached the end: no candidates beyond the window.
    listed_all: bool,
    window_count: u32,
    window_at: u32,
}

impl Frame {
    pub(crate) const EMPTY: Frame = Frame::new(0);

    const fn new(node: u32) -> Frame {
        Frame { node, resume: 0, listed_all: false, window_count: 0, window_at: 0 }
    }
}

/// The path of a depth-first walk, over the region's frames.
struct Frames<'f> {
    frames: &'f mut [Frame],
    len: usize,
}

impl Frames<'_> {
    fn len(&self) -> usize {
        self.len
    }

    fn last(&self) -> Option<&Frame> {
        self.frames[..self.len].last()
    }

    fn last_mut(&mut self) -> Option<&mut Frame> {
        self.frames[..self.len].last_mut()
    }

    /// Adds a frame; `Err` when the path is as deep as there are frames.
    fn push(&mut self, frame: Frame) -> Result<(), Frame> {
        let slot = self.frames.get_mut(self.len).ok_or(frame)?;
        *slot = frame;
        self.len += 1;
        Ok(())
    }

    fn pop(&mut self) {
        self.len = self.len.saturating_sub(1);
    }
}

/// Nodes whose memtable entries a breadth-first pass looks up together.
const ENTRY_BATCH: usize = 8;

/// The memtable entries of the next nodes a breadth-first pass expands, probed together:
/// the probes are independent, so their cache misses overlap. Probed one at a time between
/// expansions, each node waited for two misses in a large memtable (a fifth of a 5-hop
/// traversal over tables).
struct EntryBatch {
    /// The batch holds the entries of nodes `first..first + len`.
    first: usize,
    len: usize,
    entries: [Option<u32>; ENTRY_BATCH],
}

impl EntryBatch {
    /// The memtable entry of `nodes[head]`; probes it and the nodes after it when it is not
    /// in the batch (nodes at `depth_max` are not expanded, so not probed).
    fn entry_of(
        &mut self,
        store: &Store<'_>,
        nodes: &[QueryNode],
        head: usize,
        depth_max: u32,
    ) -> Option<u32> {
        // A microcontroller has no cache misses to overlap: its build probes one at a time.
        if cfg!(feature = "small-code") {
            return store.memtable.entry_of(&nodes.get(head)?.id);
        }
        if !(self.first..self.first + self.len).contains(&head) {
            let batch = nodes.get(head..)?;
            let batch = batch.get(..ENTRY_BATCH).unwrap_or(batch);
            (self.first, self.len) = (head, batch.len());
            for (entry, node) in self.entries.iter_mut().zip(batch) {
                let expanded = u32::from(node.depth) < depth_max;
                *entry = if expanded { store.memtable.entry_of(&node.id) } else { None };
            }
        }
        self.entries[head - self.first]
    }
}

/// How nodes are expanded: direction, edge filter, depth bound.
struct Expansion<'a> {
    direction: Direction,
    edge_filter: EdgeFilter<'a>,
    depth_max: u32,
}

impl Expansion<'_> {
    /// Calls `visit(neighbour, edge type, incoming)` for each edge of `node` the query
    /// follows. A self-loop's neighbour is the node itself, which is already visited.
    fn expand<V: Vfs>(
        &self,
        store: &mut Store<'_>,
        vfs: &mut V,
        node: &QueryNode,
        entry: Option<u32>,
        mut visit: impl FnMut(BlockId, EdgeType, bool),
    ) -> Result<(), Error> {
        let id = node.id;
        let direction = self.direction;
        // Starts were checked live; every other node is the end of a live edge, so live.
        // The caller probed the memtable for `entry` once (the listing probed again before:
        // a cache miss each in a large memtable).
        debug_assert_eq!(entry, store.memtable.entry_of(&id));
        store.visit_live_block_edges(
            vfs,
            &id,
            entry,
            direction,
            &self.edge_filter,
            |edge: Edge| {
                let incoming = match direction {
                    Direction::Outgoing => false,
                    Direction::Incoming => true,
                    Direction::Both => edge.source != id,
                };
                let neighbour = if incoming { edge.source } else { edge.target };
                visit(neighbour, edge.edge_type, incoming);
            },
        )?;
        Ok(())
    }
}

/// `NotFound` unless every start is live; checked before anything is visited.
fn check_starts_live<V: Vfs>(
    store: &mut Store<'_>,
    vfs: &mut V,
    starts: &[BlockId],
) -> Result<(), Error> {
    for start in starts {
        if !store.block_visible(vfs, start)? {
            return Err(Error::NotFound);
        }
    }
    Ok(())
}

/// Runs `query` and hands its hits, starts first, to `emit(position, hit)`: at most
/// `capacity` of them (the caller's buffer).
pub(crate) fn traverse<V: Vfs>(
    store: &mut Store<'_>,
    vfs: &mut V,
    parts: &mut QueryParts<'_>,
    query: &TraversalQuery<'_>,
    capacity: usize,
    mut emit: impl FnMut(usize, TraversalHit),
) -> Result<TraversalCount, Error> {
    query.validate()?;
    let limit = (query.results_max as usize).min(capacity);
    let mut traverser = Traverser::begin(parts, limit);
    let expansion = Expansion {
        direction: query.direction,
        edge_filter: query.edge_filter,
        depth_max: query.depth_max,
    };
    check_starts_live(store, vfs, query.starts)?;
    if query.order == TraversalOrder::DepthFirst && query.depth_max > 0 {
        traverser.depth_first(store, vfs, &expansion, query.starts)?;
    } else {
        traverser.add_starts(query.starts);
        traverser.breadth_first(store, vfs, &expansion, None)?;
    }
    let written = traverser.parts.used;
    debug_assert!(written <= capacity);
    for index in 0..written {
        emit(index, traverser.hit(index));
    }
    // A buffer smaller than results_max that filled up is a truncation as well.
    Ok(TraversalCount { written, truncated: traverser.truncated })
}

/// A shortest-path query: breadth first from `from` until `to`.
#[derive(Clone, Copy, Debug)]
pub struct PathQuery<'a> {
    /// Where the path starts.
    pub from: BlockId,
    /// Where it must end.
    pub to: BlockId,
    /// Which way edges are followed (`Outgoing`: from source to target).
    pub direction: Direction,
    /// Which edge types a path may use.
    pub edge_filter: EdgeFilter<'a>,
    /// Longest path considered, in edges (at most `DEPTH_MAX_LIMIT`).
    pub depth_max: u32,
}

/// Finds a shortest path and writes it, `from` first, into `out`; `BufferTooSmall` with the
/// steps needed if it does not fit.
pub(crate) fn shortest_path<V: Vfs>(
    store: &mut Store<'_>,
    vfs: &mut V,
    parts: &mut QueryParts<'_>,
    query: &PathQuery<'_>,
    capacity: usize,
    mut emit: impl FnMut(usize, PathStep),
) -> Result<PathOutcome, Error> {
    if query.from.is_zero() || query.to.is_zero() {
        return Err(Error::IdZero);
    }
    if query.depth_max > super::DEPTH_MAX_LIMIT {
        return Err(Error::QueryInvalid { field: FieldName::new(&"depth_max") });
    }
    super::validate_edge_filter(&query.edge_filter)?;
    check_starts_live(store, vfs, &[query.from, query.to])?;
    let mut traverser = Traverser::begin(parts, usize::MAX);
    traverser.add_starts(&[query.from]);
    let expansion = Expansion {
        direction: query.direction,
        edge_filter: query.edge_filter,
        depth_max: query.depth_max,
    };
    let Some(found) = traverser.breadth_first(store, vfs, &expansion, Some(&query.to))? else {
        return Ok(if traverser.truncated { PathOutcome::Truncated } else { PathOutcome::NoPath });
    };
    let steps = usize::from(traverser.parts.nodes[found as usize].depth) + 1;
    if capacity < steps {
        return Err(Error::BufferTooSmall { needed: steps });
    }
    // From the target back to the start, each step at its place.
    let mut index = found as usize;
    for step in (0..steps).rev() {
        let node = traverser.parts.nodes[index];
        debug_assert!(step > 0 || node.id == query.from);
        emit(step, PathStep { id: node.id, via: traverser.via(&node) });
        index = node.parent as usize;
    }
    Ok(PathOutcome::Found { steps })
}
