//! The graph-query part of the C ABI: batch lookups, traversals, named queries, shortest
//! paths and the filtered scan. Same conventions as the rest: checked pointers, outputs
//! written only on success, a size needed reported with `KAUSAL_ERROR_BUFFER_TOO_SMALL`.

use crate::host_vfs::AnyVfs;
use crate::status::kausal_status::{self, *};
use crate::types::{
    self, kausal_block_filter, kausal_block_view, kausal_edge_filter, kausal_hit, kausal_id,
    kausal_scan_cursor, kausal_traversal, KAUSAL_METADATA_ANY, KAUSAL_METADATA_BOOL,
    KAUSAL_METADATA_NUMBER, KAUSAL_METADATA_STRING, KAUSAL_ORDER_BREADTH_FIRST,
    KAUSAL_ORDER_DEPTH_FIRST, KAUSAL_TRAVERSAL_SIZE_V1,
};
use crate::{
    array_bytes, bytes, engine, filter_of, id_of, output, reference, status_at, status_of, Outcome,
};
use crate::{kausal_db, KAUSAL_FILTER_TYPES_MAX};
use core::ffi::c_void;
use kausaldb_core::query::{DEPTH_DEFAULT, RESULTS_DEFAULT, STARTS_MAX};
use kausaldb_core::{
    BlockFilter, BlockId, EdgeType, Engine, MetadataValue, PathOutcome, PathQuery, PathStep,
    ScanCursor, TraversalOrder, TraversalQuery,
};

/// Scan ids converted per round (the core writes `BlockId`s, the C array holds
/// `kausal_id`s): a stack buffer, so nothing is allocated.
const IDS_PER_ROUND: usize = 64;

/// Writes the defaults into `*out`: `struct_size` set, outgoing, breadth first, every edge
/// type, depth 10, 1000 results, no starts.
#[no_mangle]
pub unsafe extern "C" fn kausal_traversal_default(out: *mut kausal_traversal) -> kausal_status {
    let traversal = kausal_traversal {
        struct_size: KAUSAL_TRAVERSAL_SIZE_V1,
        direction: types::KAUSAL_DIRECTION_OUTGOING,
        starts: core::ptr::null(),
        starts_len: 0,
        filter: core::ptr::null(),
        depth_max: DEPTH_DEFAULT,
        results_max: RESULTS_DEFAULT,
        order: KAUSAL_ORDER_BREADTH_FIRST,
    };
    // SAFETY: forwarded from the caller.
    status_of(unsafe { output(out, traversal) })
}

/// Runs `query`, writing hits straight into the C array.
unsafe fn run_traversal(
    db: *mut kausal_db,
    query: &TraversalQuery<'_>,
    out: *mut kausal_hit,
    out_capacity: usize,
    out_count: *mut usize,
    out_truncated: *mut u32,
) -> Outcome {
    // SAFETY: forwarded from the caller.
    let engine = unsafe { engine(db)? };
    if out_count.is_null() || out_truncated.is_null() || (out.is_null() && out_capacity > 0) {
        return Err(KAUSAL_ERROR_NULL_ARGUMENT.into());
    }
    let count = engine.traverse_with(query, out_capacity, |position, hit| {
        let hit = kausal_hit::new(&hit.id, hit.depth, hit.via.as_ref());
        // SAFETY: the core emits positions below `out_capacity`, and `out` holds that many
        // hits (non-null when the capacity is non-zero, checked above).
        unsafe { out.add(position).write(hit) };
    })?;
    // SAFETY: checked non-null above.
    unsafe {
        out_count.write(count.written);
        out_truncated.write(u32::from(count.truncated));
    }
    Ok(())
}

// The starts are read in place as BlockIds: the two types must stay the same bytes.
const _: () = assert!(size_of::<kausal_id>() == size_of::<BlockId>());
const _: () = assert!(core::mem::align_of::<kausal_id>() == core::mem::align_of::<BlockId>());

/// The core query a C traversal describes; `types` holds the filter's edge types.
unsafe fn traversal_of<'a>(
    traversal: *const kausal_traversal,
    types: &'a mut [EdgeType; KAUSAL_FILTER_TYPES_MAX],
) -> Outcome<TraversalQuery<'a>> {
    // SAFETY: forwarded from the caller.
    let traversal = unsafe { reference(traversal)? };
    if traversal.struct_size < KAUSAL_TRAVERSAL_SIZE_V1 {
        return Err(KAUSAL_ERROR_STRUCT_SIZE.into());
    }
    if traversal.starts_len == 0 || traversal.starts_len > STARTS_MAX {
        return Err(KAUSAL_ERROR_QUERY_INVALID.into());
    }
    // SAFETY: `starts` holds `starts_len` ids per the header (checked non-null there).
    let raw = unsafe {
        array_bytes(traversal.starts.cast(), traversal.starts_len, size_of::<kausal_id>())?
    };
    // SAFETY: `raw` is the caller's `starts_len` ids, valid for the call; a kausal_id
    // (repr(C), one [u8; 16]) and a BlockId (repr(transparent) over [u8; 16]) have the same
    // size, alignment (1) and bytes, so the array is one of BlockIds. Read in place: a copy
    // of up to STARTS_MAX ids was 4 KiB of every traversal's stack.
    let starts = unsafe {
        core::slice::from_raw_parts(raw.as_ptr().cast::<BlockId>(), traversal.starts_len)
    };
    let order = match traversal.order {
        KAUSAL_ORDER_BREADTH_FIRST => TraversalOrder::BreadthFirst,
        KAUSAL_ORDER_DEPTH_FIRST => TraversalOrder::DepthFirst,
        _ => return Err(KAUSAL_ERROR_ARGUMENT_INVALID.into()),
    };
    Ok(TraversalQuery {
        starts,
        direction: types::direction_of(traversal.direction)?,
        // SAFETY: forwarded from the caller.
        edge_filter: unsafe { filter_of(traversal.filter, types)? },
        depth_max: traversal.depth_max,
        results_max: traversal.results_max,
        order,
    })
}

/// Traverses the graph from `traversal->starts` and writes each block reached, once, into `out`
/// (capacity `out_capacity` hits): the starts first (depth 0), then, breadth first, in depth order.
/// Each hit names the parent and edge it was first reached by, so paths can be rebuilt.
/// `*out_count` is the number written; `*out_truncated` is 1 if a bound (`results_max`,
/// `out_capacity`, or the config's `query_nodes_max`) stopped the traversal early: the hits are
/// exact but incomplete. `KAUSAL_ERROR_NOT_FOUND` if a start is not live;
/// `KAUSAL_ERROR_QUERY_INVALID` for depth over KAUSAL_DEPTH_MAX_LIMIT, results outside
/// 1..=KAUSAL_RESULTS_MAX_LIMIT, or starts outside 1..=KAUSAL_STARTS_MAX.
#[no_mangle]
pub unsafe extern "C" fn kausal_traverse(
    db: *mut kausal_db,
    traversal: *const kausal_traversal,
    out: *mut kausal_hit,
    out_capacity: usize,
    out_count: *mut usize,
    out_truncated: *mut u32,
) -> kausal_status {
    let run = |query: &TraversalQuery<'_>| {
        // SAFETY: forwarded from the caller.
        unsafe { run_traversal(db, query, out, out_capacity, out_count, out_truncated) }
    };
    // SAFETY: forwarded from the caller.
    unsafe { with_traversal(db, traversal, run) }
}

/// Decodes `traversal` (its filter's types copied to the stack, its starts read in place)
/// and runs `run`
/// on it; the call's status.
unsafe fn with_traversal(
    db: *mut kausal_db,
    traversal: *const kausal_traversal,
    run: impl FnOnce(&TraversalQuery<'_>) -> Outcome,
) -> kausal_status {
    let mut types = [EdgeType::CALLS; KAUSAL_FILTER_TYPES_MAX];
    let result = (|| {
        // SAFETY: forwarded from the caller.
        let query = unsafe { traversal_of(traversal, &mut types)? };
        run(&query)
    })();
    // SAFETY: forwarded from the caller; the call's borrows have ended.
    unsafe { status_at(db, result) }
}

/// Called by `kausal_traverse_visit` with its `context` and each hit in order; returns 0 to
/// go on, anything else to stop.
#[allow(non_camel_case_types)]
pub type kausal_hit_visit = Option<unsafe extern "C" fn(*mut c_void, *const kausal_hit) -> i32>;

/// `kausal_traverse` without an output array: hands each hit, in the same order, to
/// `visit(context, hit)` until it returns non-zero, so a host streams a traversal of any size
/// the config allows (`query_nodes_max`, up to KAUSAL_RESULTS_MAX_LIMIT: 72 to 80 bytes of
/// region per node) past any buffer of its own. `*out_count` is the number of hits visited;
/// `*out_truncated` is 1 if `results_max` or `query_nodes_max` stopped the traversal (not if
/// `visit` did). The hit pointer is valid during the call only. The callback must not call
/// into this `db`.
#[no_mangle]
pub unsafe extern "C" fn kausal_traverse_visit(
    db: *mut kausal_db,
    traversal: *const kausal_traversal,
    visit: kausal_hit_visit,
    context: *mut c_void,
    out_count: *mut usize,
    out_truncated: *mut u32,
) -> kausal_status {
    let visit_all = |query: &TraversalQuery<'_>| {
        // SAFETY: forwarded from the caller.
        let engine = unsafe { engine(db)? };
        let (Some(visit), false, false) = (visit, out_count.is_null(), out_truncated.is_null())
        else {
            return Err(KAUSAL_ERROR_NULL_ARGUMENT.into());
        };
        let (mut visited, mut stopped) = (0usize, false);
        let count = engine.traverse_with(query, usize::MAX, |_, hit| {
            if stopped {
                return;
            }
            let hit = kausal_hit::new(&hit.id, hit.depth, hit.via.as_ref());
            // SAFETY: the host's callback, given its own context and a hit that lives
            // through the call.
            stopped = unsafe { visit(context, &hit) } != 0;
            visited += 1;
        })?;
        // SAFETY: checked non-null above.
        unsafe {
            out_count.write(visited);
            out_truncated.write(u32::from(count.truncated));
        }
        Ok(())
    };
    // SAFETY: forwarded from the caller.
    unsafe { with_traversal(db, traversal, visit_all) }
}

/// Runs a named query (`KAUSAL_QUERY_CALLERS`, `_CALLEES`, `_REFERENCES`, `_IMPORTS`,
/// `_IMPORTED_BY`, `_IMPACT`) from `id` to `depth_max` edges away (0..=KAUSAL_DEPTH_MAX_LIMIT),
/// breadth first, with up to `out_capacity` results (at most KAUSAL_RESULTS_MAX_LIMIT). Outputs as
/// `kausal_traverse`; the start itself is the first hit.
#[no_mangle]
pub unsafe extern "C" fn kausal_query(
    db: *mut kausal_db,
    query: u32,
    id: *const kausal_id,
    depth_max: u32,
    out: *mut kausal_hit,
    out_capacity: usize,
    out_count: *mut usize,
    out_truncated: *mut u32,
) -> kausal_status {
    let result = (|| {
        // SAFETY: forwarded from the caller.
        let start = [unsafe { id_of(id)? }];
        let named = types::named_query_of(query)?;
        let traversal = named.traversal(&start, depth_max).with_results_for(out_capacity);
        // SAFETY: forwarded from the caller.
        unsafe { run_traversal(db, &traversal, out, out_capacity, out_count, out_truncated) }
    })();
    // SAFETY: forwarded from the caller; the call's borrows have ended.
    unsafe { status_at(db, result) }
}

/// Finds a shortest path from `from` to `to` (breadth first over `direction` edges passing
/// `filter`, NULL for all, of at most `depth_max` edges) and writes it into `out_steps`,
/// `from` first: step i has depth i and names the edge from step i-1. `*out_steps_count` is
/// the number of steps, or 0 if no such path exists. `*out_truncated` is 1 (and the count
/// 0) if `query_nodes_max` blocks were visited first, so the answer is unknown. If the path
/// does not fit: `KAUSAL_ERROR_BUFFER_TOO_SMALL` with the steps needed in
/// `*out_steps_count`. `KAUSAL_ERROR_NOT_FOUND` if either end is not live.
#[no_mangle]
pub unsafe extern "C" fn kausal_shortest_path(
    db: *mut kausal_db,
    from: *const kausal_id,
    to: *const kausal_id,
    direction: u32,
    filter: *const kausal_edge_filter,
    depth_max: u32,
    out_steps: *mut kausal_hit,
    out_capacity: usize,
    out_steps_count: *mut usize,
    out_truncated: *mut u32,
) -> kausal_status {
    let mut types = [EdgeType::CALLS; KAUSAL_FILTER_TYPES_MAX];
    let result = (|| {
        // SAFETY: forwarded from the caller.
        let (engine, from, to) = unsafe { (engine(db)?, id_of(from)?, id_of(to)?) };
        // SAFETY: forwarded from the caller.
        let edge_filter = unsafe { filter_of(filter, &mut types)? };
        let null_steps = out_steps.is_null() && out_capacity > 0;
        if out_steps_count.is_null() || out_truncated.is_null() || null_steps {
            return Err(KAUSAL_ERROR_NULL_ARGUMENT.into());
        }
        let direction = types::direction_of(direction)?;
        let query = PathQuery { from, to, direction, edge_filter, depth_max };
        let write = |index: usize, step: PathStep| {
            // A path has at most RESULTS_MAX_LIMIT steps, so its index fits.
            let depth = u32::try_from(index).unwrap_or(u32::MAX);
            let hit = kausal_hit::new(&step.id, depth, step.via.as_ref());
            // SAFETY: the core emits `index < out_capacity` (it refuses longer paths), and
            // `out_steps` holds that many hits (non-null when the capacity is not zero).
            unsafe { out_steps.add(index).write(hit) };
        };
        let found = match engine.shortest_path_with(&query, out_capacity, write) {
            Err(kausaldb_core::Error::BufferTooSmall { needed }) => {
                // SAFETY: checked non-null above.
                unsafe { out_steps_count.write(needed) };
                return Err(KAUSAL_ERROR_BUFFER_TOO_SMALL.into());
            }
            found => found?,
        };
        let (count, truncated) = match found {
            PathOutcome::Found { steps } => (steps, false),
            PathOutcome::NoPath => (0, false),
            PathOutcome::Truncated => (0, true),
        };
        // SAFETY: checked non-null above.
        unsafe {
            out_steps_count.write(count);
            out_truncated.write(u32::from(truncated));
        }
        Ok(())
    })();
    // SAFETY: forwarded from the caller; the call's borrows have ended.
    unsafe { status_at(db, result) }
}

/// The core filter a C block filter describes (NULL: every block).
unsafe fn block_filter_of<'a>(filter: *const kausal_block_filter) -> Outcome<BlockFilter<'a>> {
    // SAFETY: forwarded from the caller.
    let Some(filter) = (unsafe { filter.as_ref() }) else {
        return Ok(BlockFilter::ALL);
    };
    // A NULL pointer with length 0 is "no condition"; with a length it is an error.
    let optional = |pointer: *const u8, len: usize| -> Outcome<Option<&'a [u8]>> {
        if pointer.is_null() && len == 0 {
            return Ok(None);
        }
        // SAFETY: the header says each pointer holds its length in bytes.
        unsafe { bytes(pointer, len) }.map(Some)
    };
    let metadata_equals = match filter.metadata_kind {
        KAUSAL_METADATA_ANY => None,
        kind => {
            // SAFETY: as above.
            let key = unsafe { bytes(filter.metadata_key.cast(), filter.metadata_key_len)? };
            let value = match kind {
                KAUSAL_METADATA_STRING => MetadataValue::String(
                    // SAFETY: as above.
                    unsafe { bytes(filter.metadata_string.cast(), filter.metadata_string_len)? },
                ),
                KAUSAL_METADATA_NUMBER => MetadataValue::Number(filter.metadata_number),
                KAUSAL_METADATA_BOOL => MetadataValue::Bool(filter.metadata_bool != 0),
                _ => return Err(KAUSAL_ERROR_ARGUMENT_INVALID.into()),
            };
            Some((key, value))
        }
    };
    Ok(BlockFilter {
        source_uri_prefix: optional(filter.source_uri_prefix.cast(), filter.source_uri_prefix_len)?,
        metadata_equals,
        content_contains: optional(filter.content_contains, filter.content_contains_len)?,
    })
}

/// Pages through the live blocks that pass `filter` (NULL: all), in id order: writes up to
/// `out_capacity` ids after `*cursor` into `out` and advances `*cursor` (written only on
/// success). Start with a zeroed cursor; repeat until `cursor->done` is 1. A superseded or
/// deleted version is never returned. Each call costs a sort of the in-memory block ids
/// plus the blocks passed over, so use a generous `out_capacity`.
/// A zero capacity is `KAUSAL_ERROR_BUFFER_TOO_SMALL` with `*out_count` set to 1, the
/// capacity needed (or `KAUSAL_OK` with 0 when the cursor is already done).
#[no_mangle]
pub unsafe extern "C" fn kausal_scan(
    db: *mut kausal_db,
    filter: *const kausal_block_filter,
    cursor: *mut kausal_scan_cursor,
    out: *mut kausal_id,
    out_capacity: usize,
    out_count: *mut usize,
) -> kausal_status {
    let mut ids = [BlockId::ZERO; IDS_PER_ROUND];
    let result = (|| {
        // SAFETY: forwarded from the caller.
        let (engine, filter) = unsafe { (engine(db)?, block_filter_of(filter)?) };
        // SAFETY: forwarded from the caller.
        let state = unsafe { reference(cursor.cast_const())? };
        if out_count.is_null() || (out.is_null() && out_capacity > 0) {
            return Err(KAUSAL_ERROR_NULL_ARGUMENT.into());
        }
        let mut scan = ScanCursor { after: BlockId(state.after.bytes), done: state.done != 0 };
        // In rounds through a stack buffer of ids: the core writes BlockIds, the C array
        // holds kausal_ids (the same 16 bytes, but distinct types).
        let mut written = 0;
        if out_capacity == 0 {
            if let Err(error) = engine.scan(&filter, &mut scan, &mut []) {
                if let kausaldb_core::Error::BufferTooSmall { needed } = error {
                    // SAFETY: checked non-null above.
                    unsafe { out_count.write(needed) };
                }
                return Err(error.into());
            }
        }
        while written < out_capacity && !scan.done {
            let round = (out_capacity - written).min(IDS_PER_ROUND);
            let got = engine.scan(&filter, &mut scan, &mut ids[..round])?;
            for (index, id) in ids[..got].iter().enumerate() {
                // SAFETY: `written + index < out_capacity`, `out` non-null (checked above).
                unsafe { out.add(written + index).write(kausal_id { bytes: id.0 }) };
            }
            written += got;
        }
        // SAFETY: both checked non-null above.
        unsafe {
            out_count.write(written);
            cursor.write(kausal_scan_cursor {
                after: kausal_id { bytes: scan.after.0 },
                done: u32::from(scan.done),
            });
        }
        Ok(())
    })();
    // SAFETY: forwarded from the caller; the call's borrows have ended.
    unsafe { status_at(db, result) }
}

fn id_at(chunk: &[u8]) -> BlockId {
    let mut id = BlockId::ZERO;
    id.0.copy_from_slice(chunk);
    id
}

/// The first pass of `kausal_find_blocks`: the bytes the live blocks' fields need (lookups
/// only, nothing written).
fn bytes_needed(engine: &mut Engine<'static, AnyVfs>, raw_ids: &[u8]) -> Outcome<usize> {
    let mut needed = 0usize;
    for chunk in raw_ids.chunks_exact(16) {
        engine.find_blocks(&[id_at(chunk)], |_, view| {
            if let Some(view) = view {
                needed += view.source_uri.len() + view.metadata_json.len() + view.content.len();
            }
        })?;
    }
    Ok(needed)
}

/// Looks up `ids_len` ids at once and copies each live block's fields into `bytes`
/// (`bytes_len` bytes): `out_views[i]` describes `ids[i]`, its pointers into `bytes` (valid
/// as long as that buffer is); a block that is not live gets sequence 0, NULL pointers and
/// zero lengths. `*out_found` is the number of live blocks. If `bytes` is too small:
/// `KAUSAL_ERROR_BUFFER_TOO_SMALL`, `*out_bytes_needed` is the size needed and nothing else
/// is written (`out_bytes_needed` may be NULL otherwise). To keep that promise each id is
/// looked up twice, once to size the copy and once to make it.
#[no_mangle]
pub unsafe extern "C" fn kausal_find_blocks(
    db: *mut kausal_db,
    ids: *const kausal_id,
    ids_len: usize,
    out_views: *mut kausal_block_view,
    bytes_out: *mut u8,
    bytes_len: usize,
    out_found: *mut usize,
    out_bytes_needed: *mut usize,
) -> kausal_status {
    let result = (|| {
        // SAFETY: forwarded from the caller.
        let engine = unsafe { engine(db)? };
        // SAFETY: `ids` holds `ids_len` ids per the header.
        let raw_ids = unsafe { array_bytes(ids.cast(), ids_len, size_of::<kausal_id>())? };
        let null_views = out_views.is_null() && ids_len > 0;
        if out_found.is_null() || null_views || (bytes_out.is_null() && bytes_len > 0) {
            return Err(KAUSAL_ERROR_NULL_ARGUMENT.into());
        }
        let needed = bytes_needed(engine, raw_ids)?;
        if needed > bytes_len {
            // SAFETY: forwarded from the caller.
            unsafe { output(out_bytes_needed, needed)? };
            return Err(KAUSAL_ERROR_BUFFER_TOO_SMALL.into());
        }
        let mut used = 0usize;
        let mut found = 0usize;
        for (index, chunk) in raw_ids.chunks_exact(16).enumerate() {
            let id = id_at(chunk);
            let mut view = kausal_block_view::missing(&id);
            engine.find_blocks(&[id], |_, block| {
                let Some(block) = block else { return };
                found += 1;
                let mut copy = |field: &[u8]| -> (*const u8, usize) {
                    // SAFETY: the first pass proved every field fits in `bytes_len`, the
                    // store is unchanged since, and `bytes_out` is non-null when
                    // `bytes_len > 0` (checked above).
                    let at = unsafe { bytes_out.add(used) };
                    // SAFETY: `at..at + field.len()` is inside the caller's buffer (above), and a
                    // caller's buffer cannot overlap the engine's region or a mapped table.
                    unsafe { core::ptr::copy_nonoverlapping(field.as_ptr(), at, field.len()) };
                    used += field.len();
                    (at.cast_const(), field.len())
                };
                view.sequence = block.sequence;
                let (uri, uri_len) = copy(block.source_uri);
                (view.source_uri, view.source_uri_len) = (uri.cast(), uri_len);
                let (metadata, metadata_len) = copy(block.metadata_json);
                (view.metadata_json, view.metadata_json_len) = (metadata.cast(), metadata_len);
                (view.content, view.content_len) = copy(block.content);
            })?;
            // SAFETY: `out_views` holds `ids_len` views (non-null, checked above).
            unsafe { out_views.add(index).write(view) };
        }
        // SAFETY: checked non-null above.
        unsafe { out_found.write(found) };
        Ok(())
    })();
    // SAFETY: forwarded from the caller; the call's borrows have ended.
    unsafe { status_at(db, result) }
}
