/* A firmware that keeps a small code graph in KausalDB on a flash chip, loses power at a
 * random point, reboots and checks that nothing synced was lost (README.md, "Embedded").
 *
 * Run by `cargo xtask firmware` on QEMU's mps2-an386 (Cortex-M4), with the command line
 * "<first seed> <seeds>". It first runs the whole workload once without a power cut and
 * reports the region, the stack each public call used (measured by painting the stack) and
 * the flash bytes programmed per byte stored. Then, for every seed, it formats the chip,
 * cuts the power at a callback chosen by the seed, lands the torn write the seed chooses,
 * reboots, and checks that the store holds exactly the state after some prefix of the
 * workload that includes every synced operation; checks traversals (breadth and depth
 * first), a callers query, a shortest path, a scan, a batch read and the stats against that
 * state; deletes an edge; writes once more, closes, reopens and reads that write back. Any
 * failure prints its seed and fails the run, as does any call that used more than its
 * stack budget. */
#include "board.h"
#include "flash_vfs.h"
#include "kausaldb.h"

#include <string.h>

/* Blocks one traversal may visit: the config's query_nodes_max, and every walk's cap. */
#define QUERY_NODES 16

/* The smallest-region configuration (README.md lists its parts). */
static kausal_config small_config(void) {
    kausal_config config;
    kausal_config_init(&config, sizeof config);
    /* The region is static storage, zeroed by the startup code: the open need not zero it. */
    config.region_initialized = 1;
    config.memtable_entries_max = 24;
    config.memtable_edges_max = 48;
    config.memtable_arena_bytes_max = 2048;
    config.source_uri_bytes_max = 32;
    config.metadata_bytes_max = 64;
    config.content_bytes_max = 256;
    config.wal_segment_bytes_max = 4096;
    config.wal_segments_max = 2;
    config.wal_buffer_bytes = 512;
    config.read_buffer_bytes = 512;
    config.files_max = 8;
    config.tables_max = 4;
    config.table_memory_bytes = 1024;
    config.table_page_bytes = 256;
    config.query_nodes_max = QUERY_NODES;
    return config;
}

#define REGION_BYTES (16u << 10)
#define BLOCKS 24
/* The stack budget of every public call: the firmware fails if any call it makes uses
 * more (measured by painting; README.md, "Embedded"). */
#define STACK_BUDGET_BYTES 4096u

static uint8_t region[REGION_BYTES] __attribute__((aligned(8)));
static struct flash_chip chip;
static kausal_id ids[BLOCKS];

/* ---- The workload: puts, edges (fn_i calls fn_(i-1)/2), syncs, a flush, a compaction
 * and a delete, in one fixed order. */

enum op_kind { PUT_BLOCK, PUT_EDGE, DELETE_BLOCK, SYNC, FLUSH, COMPACT };
struct op {
    uint8_t kind;
    uint8_t block;
};
#define OPS_MAX (BLOCKS * 3 + 4)
static struct op ops[OPS_MAX];
static int ops_len;
#define DELETED_BLOCK 5

static int parent_of(int block) { return (block - 1) / 2; }

static void plan_ops(void) {
    ops_len = 0;
    for (int i = 0; i < BLOCKS; i++) {
        ops[ops_len++] = (struct op){PUT_BLOCK, (uint8_t)i};
        if (i > 0) {
            ops[ops_len++] = (struct op){PUT_EDGE, (uint8_t)i};
        }
        if (i % 3 == 2) {
            ops[ops_len++] = (struct op){SYNC, 0};
        }
        if (i == 10) {
            ops[ops_len++] = (struct op){FLUSH, 0};
        }
        if (i == 16) {
            ops[ops_len++] = (struct op){COMPACT, 0};
        }
        if (i == 19) {
            ops[ops_len++] = (struct op){DELETE_BLOCK, DELETED_BLOCK};
        }
    }
    ops[ops_len++] = (struct op){SYNC, 0};
}

/* Block i's text: "src/fn_<i>.c", {"kind":"function","line":<i>}, and a body. */
static size_t format_block(int i, char *uri, char *metadata, char *content) {
    char digits[4] = {(char)('0' + i / 10), (char)('0' + i % 10), 0, 0};
    strcpy(uri, "src/fn_");
    strcat(uri, digits);
    strcat(uri, ".c");
    strcpy(metadata, "{\"kind\":\"function\",\"line\":");
    strcat(metadata, i / 10 ? digits : digits + 1);
    strcat(metadata, "}");
    strcpy(content, "int fn_");
    strcat(content, digits);
    strcat(content, "(void) { return helper() + 1; }");
    return strlen(uri) + strlen(metadata) + strlen(content);
}

/* ---- Stack measurement: the stack below the caller is painted before each engine call
 * and scanned after it; the deepest word overwritten is what the call used. */

enum call { OPEN, PUT_BLOCK_CALL, PUT_EDGE_CALL, DELETE_CALL, SYNC_CALL, FLUSH_CALL,
            COMPACT_CALL, FIND_CALL, EDGES_CALL, TRAVERSE_CALL, QUERY_CALL, PATH_CALL,
            SCAN_CALL, DELETE_EDGE_CALL, VISIT_CALL, FIND_BLOCKS_CALL, STATS_CALL,
            LAST_ERROR_CALL, CLOSE_CALL, CALLS };
static const char *const call_names[CALLS] = {
    "kausal_open_vfs", "kausal_put_block", "kausal_put_edge", "kausal_delete_block",
    "kausal_sync", "kausal_flush", "kausal_compact_step", "kausal_find_block",
    "kausal_edges", "kausal_traverse", "kausal_query", "kausal_shortest_path",
    "kausal_scan", "kausal_delete_edge", "kausal_traverse_visit", "kausal_find_blocks",
    "kausal_stats", "kausal_last_error", "kausal_close"};
static uint32_t stack_used[CALLS];
extern uint32_t __stack_limit;
#define PAINT 0x5AFEC0DEu

static uint32_t *stack_pointer(void) {
    uint32_t *sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    return sp;
}

__attribute__((noinline)) static void stack_paint(uint32_t *top) {
    for (uint32_t *word = &__stack_limit; word < top - 16; word++) {
        *word = PAINT;
    }
}

static void stack_record(enum call call, uint32_t *top) {
    uint32_t *word = &__stack_limit;
    while (word < top && *word == PAINT) {
        word++;
    }
    uint32_t used = (uint32_t)(top - word) * 4;
    if (used > stack_used[call]) {
        stack_used[call] = used;
    }
}

#define MEASURED(call, expression)                                                         \
    ({                                                                                     \
        uint32_t *top_ = stack_pointer();                                                  \
        stack_paint(top_);                                                                 \
        kausal_status status_ = (expression);                                              \
        stack_record((call), top_);                                                        \
        status_;                                                                           \
    })

/* ---- Running the workload */

static kausal_db *open_store(kausal_vfs *vfs, kausal_status *out_status) {
    kausal_config config = small_config();
    kausal_db *db = 0;
    *out_status = MEASURED(OPEN, kausal_open_vfs(&config, region, sizeof region, vfs, &db, 0));
    return *out_status == KAUSAL_OK ? db : 0;
}

static kausal_status run_op(kausal_db *db, const struct op *op) {
    char uri[40], metadata[64], content[96];
    uint64_t sequence;
    uint32_t count;
    switch (op->kind) {
    case PUT_BLOCK:
        format_block(op->block, uri, metadata, content);
        return MEASURED(PUT_BLOCK_CALL,
                        kausal_put_block(db, &ids[op->block], uri, strlen(uri), metadata,
                                         strlen(metadata), (const uint8_t *)content,
                                         strlen(content), &sequence));
    case PUT_EDGE: {
        kausal_edge edge = {ids[op->block], ids[parent_of(op->block)], KAUSAL_EDGE_CALLS};
        return MEASURED(PUT_EDGE_CALL, kausal_put_edge(db, &edge, &count));
    }
    case DELETE_BLOCK:
        return MEASURED(DELETE_CALL, kausal_delete_block(db, &ids[op->block], &sequence));
    case SYNC:
        return MEASURED(SYNC_CALL, kausal_sync(db));
    case FLUSH:
        return MEASURED(FLUSH_CALL, kausal_flush(db));
    default:
        return MEASURED(COMPACT_CALL, kausal_compact_step(db, &count));
    }
}

/* Runs the workload until it ends or a call fails. `*out_synced` is how many operations the
 * last successful sync made durable; returns how many were attempted. */
static int run_workload(kausal_db *db, int *out_synced) {
    *out_synced = 0;
    for (int i = 0; i < ops_len; i++) {
        if (run_op(db, &ops[i]) != KAUSAL_OK) {
            return i + 1;
        }
        if (ops[i].kind == SYNC) {
            *out_synced = i + 1;
        }
    }
    return ops_len;
}

/* ---- The model: which blocks and edges live after the first k operations. */

struct state {
    uint8_t block[BLOCKS];
    uint8_t edge[BLOCKS]; /* edge[i]: fn_i calls its parent */
};

static void model(int k, struct state *state) {
    memset(state, 0, sizeof *state);
    for (int i = 0; i < k; i++) {
        int b = ops[i].block;
        if (ops[i].kind == PUT_BLOCK) {
            state->block[b] = 1;
        } else if (ops[i].kind == PUT_EDGE) {
            state->edge[b] = 1;
        } else if (ops[i].kind == DELETE_BLOCK) {
            state->block[b] = 0;
            for (int j = 1; j < BLOCKS; j++) {
                if (j == b || parent_of(j) == b) {
                    state->edge[j] = 0;
                }
            }
        }
    }
}

/* What the store holds; a block with other bytes than it was written with is a failure. */
static int observe(kausal_db *db, struct state *state) {
    char uri[40], metadata[64], content[96];
    for (int i = 0; i < BLOCKS; i++) {
        kausal_block_view view;
        kausal_status status = MEASURED(FIND_CALL, kausal_find_block(db, &ids[i], &view));
        state->block[i] = status == KAUSAL_OK;
        if (status != KAUSAL_OK && status != KAUSAL_ERROR_NOT_FOUND) {
            return -1;
        }
        format_block(i, uri, metadata, content);
        if (status == KAUSAL_OK &&
            (view.content_len != strlen(content) ||
             memcmp(view.content, content, view.content_len) != 0 ||
             view.metadata_json_len != strlen(metadata) ||
             memcmp(view.metadata_json, metadata, view.metadata_json_len) != 0 ||
             view.source_uri_len != strlen(uri) ||
             memcmp(view.source_uri, uri, view.source_uri_len) != 0)) {
            return -1;
        }
        state->edge[i] = 0;
    }
    for (int i = 1; i < BLOCKS; i++) {
        kausal_edge edges[4];
        size_t count = 0;
        if (!state->block[i]) {
            continue;
        }
        kausal_status status = MEASURED(
            EDGES_CALL, kausal_edges(db, &ids[i], KAUSAL_DIRECTION_OUTGOING, 0, edges, 4, &count));
        if (status != KAUSAL_OK || count > 1) {
            return -1;
        }
        state->edge[i] = count == 1 && memcmp(&edges[0].target, &ids[parent_of(i)],
                                              sizeof(kausal_id)) == 0;
    }
    return 0;
}

/* The prefix length the observed state equals, at least `synced`; -1 if none does. */
static int matching_prefix(const struct state *seen, int synced, int attempted) {
    struct state expected;
    for (int k = attempted; k >= synced; k--) {
        model(k, &expected);
        if (memcmp(&expected, seen, sizeof expected) == 0) {
            return k;
        }
    }
    return -1;
}

/* ---- The graph queries. An image makes the groups FIRMWARE_GRAPH_CALLS names (every group
 * unless the build says otherwise): `cargo xtask size` links one image per group, and one
 * with none (the storage calls alone), to report the engine's code for each. */

#define GRAPH_TRAVERSALS 1 /* kausal_traverse, kausal_traverse_visit */
#define GRAPH_QUERIES 2    /* kausal_query, kausal_shortest_path */
#define GRAPH_SCANS 4      /* kausal_scan, plain and with a metadata filter */
#ifndef FIRMWARE_GRAPH_CALLS
#define FIRMWARE_GRAPH_CALLS (GRAPH_TRAVERSALS | GRAPH_QUERIES | GRAPH_SCANS)
#endif

#if FIRMWARE_GRAPH_CALLS & (GRAPH_TRAVERSALS | GRAPH_QUERIES)
/* The traversal's start: fn_1, whose callers (fn_1's subtree, at most 15 blocks with the
 * start) fit the small config's query_nodes_max of 16. */
#define TRAVERSAL_ROOT 1

/* Callers of the root, transitively: every live block whose chain of live calls reaches
 * it. */
static uint32_t expected_callers(const struct state *state) {
    uint32_t count = 0;
    for (int i = TRAVERSAL_ROOT + 1; i < BLOCKS; i++) {
        int j = i;
        while (j > TRAVERSAL_ROOT && state->block[j] && state->edge[j]) {
            j = parent_of(j);
        }
        count += j == TRAVERSAL_ROOT;
    }
    return count;
}
#endif

#if FIRMWARE_GRAPH_CALLS & GRAPH_TRAVERSALS
static int check_traversal(kausal_db *db, const struct state *state) {
    kausal_traversal traversal;
    kausal_hit hits[BLOCKS];
    size_t count = 0;
    uint32_t truncated = 0;
    if (!state->block[TRAVERSAL_ROOT]) {
        return 0;
    }
    kausal_traversal_default(&traversal);
    traversal.direction = KAUSAL_DIRECTION_INCOMING;
    traversal.starts = &ids[TRAVERSAL_ROOT];
    traversal.starts_len = 1;
    traversal.results_max = QUERY_NODES;
    kausal_status status = MEASURED(
        TRAVERSE_CALL, kausal_traverse(db, &traversal, hits, BLOCKS, &count, &truncated));
    /* The start is a result too. */
    return status == KAUSAL_OK && !truncated && count == expected_callers(state) + 1 ? 0 : -1;
}

static int32_t count_hit(void *context, const kausal_hit *hit) {
    (void)hit;
    (*(uint32_t *)context)++;
    return 0;
}

/* A depth-first walk streamed to a callback agrees with the model. */
static int check_visit(kausal_db *db, const struct state *state) {
    kausal_traversal traversal;
    size_t count = 0;
    uint32_t truncated = 0, visited = 0;
    if (state->block[TRAVERSAL_ROOT]) {
        kausal_traversal_default(&traversal);
        traversal.direction = KAUSAL_DIRECTION_INCOMING;
        traversal.starts = &ids[TRAVERSAL_ROOT];
        traversal.starts_len = 1;
        traversal.results_max = QUERY_NODES;
        traversal.order = KAUSAL_ORDER_DEPTH_FIRST;
        if (MEASURED(VISIT_CALL, kausal_traverse_visit(db, &traversal, count_hit, &visited,
                                                       &count, &truncated)) != KAUSAL_OK ||
            visited != expected_callers(state) + 1 || count != visited) {
            return -1;
        }
    }
    return 0;
}
#endif

#if FIRMWARE_GRAPH_CALLS & GRAPH_QUERIES
/* The named queries agree with the model: the callers query with the traversal, the
 * shortest path from a live leaf to its live ancestor with the chain. */
static int check_queries(kausal_db *db, const struct state *state) {
    kausal_hit hits[BLOCKS];
    size_t count = 0;
    uint32_t truncated = 0;
    if (state->block[TRAVERSAL_ROOT]) {
        kausal_status status = MEASURED(QUERY_CALL, kausal_query(db, KAUSAL_QUERY_CALLERS,
                                                                 &ids[TRAVERSAL_ROOT], 10, hits,
                                                                 QUERY_NODES, &count, &truncated));
        if (status != KAUSAL_OK || count != expected_callers(state) + 1) {
            return -1;
        }
    }
    int leaf = BLOCKS - 1, steps = 0;
    for (int j = leaf; j > 0 && state->block[j] && state->edge[j]; j = parent_of(j)) {
        steps++;
    }
    if (state->block[leaf] && steps > 0) {
        int ancestor = leaf;
        for (int i = 0; i < steps; i++) {
            ancestor = parent_of(ancestor);
        }
        kausal_status status = MEASURED(
            PATH_CALL, kausal_shortest_path(db, &ids[leaf], &ids[ancestor],
                                            KAUSAL_DIRECTION_OUTGOING, 0, 10, hits, BLOCKS,
                                            &count, &truncated));
        if (status != KAUSAL_OK || count != (size_t)steps + 1) {
            return -1;
        }
    }
    return 0;
}
#endif

#if FIRMWARE_GRAPH_CALLS & GRAPH_SCANS
/* A scan finds the live blocks; one with a metadata number filter, the block it names. */
static int check_scans(kausal_db *db, const struct state *state) {
    size_t count = 0;
    kausal_scan_cursor cursor;
    memset(&cursor, 0, sizeof cursor);
    kausal_id scanned[BLOCKS];
    kausal_status status =
        MEASURED(SCAN_CALL, kausal_scan(db, 0, &cursor, scanned, BLOCKS, &count));
    size_t live = 0;
    for (int i = 0; i < BLOCKS; i++) {
        live += state->block[i];
    }
    if (status != KAUSAL_OK || count != live) {
        return -1;
    }
    /* A metadata number filter: "line": 12 (written as 12) matches 12.0, only fn_12. */
    kausal_block_filter filter;
    memset(&filter, 0, sizeof filter);
    filter.metadata_kind = KAUSAL_METADATA_NUMBER;
    filter.metadata_key = "line";
    filter.metadata_key_len = 4;
    filter.metadata_number = 12.0;
    memset(&cursor, 0, sizeof cursor);
    status = MEASURED(SCAN_CALL, kausal_scan(db, &filter, &cursor, scanned, BLOCKS, &count));
    if (status != KAUSAL_OK || count != state->block[12] ||
        (count == 1 && memcmp(&scanned[0], &ids[12], sizeof(kausal_id)) != 0)) {
        return -1;
    }
    return 0;
}
#endif

static int check_graph_queries(kausal_db *db, const struct state *state) {
    int failed = 0;
#if FIRMWARE_GRAPH_CALLS & GRAPH_TRAVERSALS
    failed |= check_traversal(db, state) != 0 || check_visit(db, state) != 0;
#endif
#if FIRMWARE_GRAPH_CALLS & GRAPH_QUERIES
    failed |= check_queries(db, state) != 0;
#endif
#if FIRMWARE_GRAPH_CALLS & GRAPH_SCANS
    failed |= check_scans(db, state) != 0;
#endif
    (void)db;
    (void)state;
    return failed ? -1 : 0;
}

/* ---- The storage reads and an edge delete */

/* One live edge is deleted and is gone. */
static int check_delete_edge(kausal_db *db, const struct state *state) {
    size_t count = 0;
    for (int i = 1; i < BLOCKS; i++) {
        if (state->block[i] && state->edge[i]) {
            kausal_edge edge = {ids[i], ids[parent_of(i)], KAUSAL_EDGE_CALLS};
            kausal_edge listed[2];
            if (MEASURED(DELETE_EDGE_CALL, kausal_delete_edge(db, &edge)) != KAUSAL_OK ||
                kausal_edges(db, &ids[i], KAUSAL_DIRECTION_OUTGOING, 0, listed, 2, &count) !=
                    KAUSAL_OK ||
                count != 0) {
                return -1;
            }
            break;
        }
    }
    return 0;
}

/* A batch read finds every live block, the stats count them, and the last error is the
 * success of the call before it. */
static int check_batch_reads(kausal_db *db, const struct state *state) {
    size_t found = 0, needed = 0;
    uint32_t live = 0;
    for (int i = 0; i < BLOCKS; i++) {
        live += state->block[i];
    }
    static kausal_block_view views[BLOCKS];
    static uint8_t bytes[BLOCKS * 160];
    if (MEASURED(FIND_BLOCKS_CALL, kausal_find_blocks(db, ids, BLOCKS, views, bytes,
                                                      sizeof bytes, &found, &needed)) !=
            KAUSAL_OK ||
        found != live) {
        return -1;
    }
    kausal_store_stats stats;
    memset(&stats, 0, sizeof stats);
    stats.struct_size = sizeof stats;
    if (MEASURED(STATS_CALL, kausal_stats(db, &stats)) != KAUSAL_OK ||
        stats.blocks_live != live) {
        return -1;
    }
    kausal_error_detail detail;
    memset(&detail, 0, sizeof detail);
    detail.struct_size = sizeof detail;
    if (MEASURED(LAST_ERROR_CALL, kausal_last_error(db, &detail)) != KAUSAL_OK ||
        detail.status != KAUSAL_OK) {
        return -1;
    }
    return 0;
}

/* ---- One power cut */

static uint32_t next_random(uint32_t *state) {
    *state ^= *state << 13;
    *state ^= *state >> 17;
    *state ^= *state << 5;
    return *state;
}

static void fail(uint32_t seed, const char *what) {
    board_print("firmware: FAILED at seed ");
    board_print_u32(seed);
    board_print(": ");
    board_print(what);
    board_print("\n");
    board_exit(1);
}

/* After the reboot: a write, a close, a reopen, and that write read back. */
static void check_writes_after_reboot(uint32_t seed, kausal_db *db, kausal_vfs *vfs) {
    kausal_status status;
    kausal_block_view view;
    uint64_t sequence;
    if (kausal_put_block(db, &ids[DELETED_BLOCK], "src/again.c", 11, "{}", 2,
                         (const uint8_t *)"again", 5, &sequence) != KAUSAL_OK ||
        kausal_sync(db) != KAUSAL_OK || MEASURED(CLOSE_CALL, kausal_close(db)) != KAUSAL_OK) {
        fail(seed, "a write after recovery");
    }
    db = open_store(vfs, &status);
    if (db == 0 || kausal_find_block(db, &ids[DELETED_BLOCK], &view) != KAUSAL_OK ||
        view.content_len != 5 || memcmp(view.content, "again", 5) != 0) {
        fail(seed, "the write after recovery did not survive a reopen");
    }
    kausal_close(db);
}

static void run_seed(uint32_t seed, uint32_t calls_total) {
    uint32_t random = seed * 2654435761u + 1;
    kausal_vfs vfs = flash_vfs(&chip);
    kausal_status status;
    int synced = 0;
    flash_format(&chip);
    chip.cut_armed = 1;
    chip.cut_at = next_random(&random) % calls_total;
    kausal_db *db = open_store(&vfs, &status);
    int attempted = db != 0 ? run_workload(db, &synced) : 0;
    /* The power fails: the handle is abandoned, not closed. */
    uint32_t tear = next_random(&random) % 3 == 0 ? 0 : next_random(&random) % 64 + 1;
    flash_power_loss(&chip, tear, (int)(next_random(&random) & 1));

    db = open_store(&vfs, &status);
    if (db == 0) {
        fail(seed, kausal_status_name(status));
    }
    struct state seen;
    if (observe(db, &seen) != 0) {
        fail(seed, "a read failed or returned other bytes than were written");
    }
    if (matching_prefix(&seen, synced, attempted) < 0) {
        fail(seed, "the store is not the state after any prefix that includes every sync");
    }
    if (check_graph_queries(db, &seen) != 0) {
        fail(seed, "a traversal, walk, query, path or scan disagrees with the model");
    }
    if (check_batch_reads(db, &seen) != 0) {
        fail(seed, "a batch read, the stats or the last error disagree");
    }
    if (check_delete_edge(db, &seen) != 0) {
        fail(seed, "an edge delete disagrees with the model");
    }
    check_writes_after_reboot(seed, db, &vfs);
}

/* ---- Reports */

static void print_line(const char *label, uint32_t value, const char *unit) {
    board_print(label);
    board_print_u32(value);
    board_print(unit);
    board_print("\n");
}

/* The whole workload without a power cut: the number of storage calls it makes (the range
 * of cut points), the stack of each call, and the wear. */
static uint32_t run_reference(void) {
    kausal_vfs vfs = flash_vfs(&chip);
    kausal_status status;
    int synced;
    size_t region_needed = 0;
    kausal_config config = small_config();
    kausal_memory_required(&config, &region_needed);
    print_line("region bytes: ", (uint32_t)region_needed, "");
    flash_format(&chip);
    kausal_db *db = open_store(&vfs, &status);
    if (db == 0) {
        fail(0, kausal_status_name(status));
    }
    if (run_workload(db, &synced) != ops_len || synced != ops_len) {
        fail(0, "the workload failed without a power cut");
    }
    struct state seen, expected;
    model(ops_len, &expected);
    if (observe(db, &seen) != 0 || memcmp(&seen, &expected, sizeof seen) != 0 ||
        check_graph_queries(db, &seen) != 0) {
        fail(0, "the store differs from the workload without a power cut");
    }
    if (MEASURED(CLOSE_CALL, kausal_close(db)) != KAUSAL_OK) {
        fail(0, "close");
    }
    uint32_t calls = chip.calls;
    uint32_t stored = 0;
    char uri[40], metadata[64], content[96];
    for (int i = 0; i < BLOCKS; i++) {
        stored += (uint32_t)format_block(i, uri, metadata, content);
    }
    stored += (BLOCKS - 1) * (uint32_t)sizeof(kausal_edge);
    print_line("storage calls: ", calls, "");
    print_line("bytes stored (payload + 34 per edge): ", stored, "");
    print_line("flash bytes programmed: ", (uint32_t)chip.bytes_programmed, "");
    print_line("of which written again in place: ", (uint32_t)chip.bytes_reprogrammed, "");
    /* In 32 bits (the count is printed as one above): a 64-bit division would link the
       library's 64-bit divide into the image. */
    uint32_t programmed = (uint32_t)chip.bytes_programmed;
    print_line("write amplification x100: ",
               programmed / stored * 100 + programmed % stored * 100 / stored, "");
    return calls;
}

static int report_stack(void) {
    int over = 0;
    for (int call = 0; call < CALLS; call++) {
        if (stack_used[call] == 0) {
            continue; /* not made (an image without that call's group) */
        }
        board_print("stack ");
        board_print(call_names[call]);
        print_line(": ", stack_used[call], " bytes");
        over |= stack_used[call] > STACK_BUDGET_BYTES;
    }
    return over;
}

static uint32_t parse_u32(const char **text) {
    uint32_t value = 0;
    while (**text == ' ') {
        (*text)++;
    }
    while (**text >= '0' && **text <= '9') {
        value = value * 10 + (uint32_t)(*(*text)++ - '0');
    }
    return value;
}

int main(void) {
    char line[80] = {0};
    const char *cursor = line;
    uint32_t seed_first = 1, seeds = 20;
    if (board_command_line(line, sizeof line - 1) == 0) {
        while (*cursor != '\0' && *cursor != ' ') {
            cursor++; /* the program name */
        }
        seed_first = parse_u32(&cursor);
        seeds = parse_u32(&cursor);
    }
    for (int i = 0; i < BLOCKS; i++) {
        char name[8] = {'f', 'n', '_', (char)('0' + i / 10), (char)('0' + i % 10), 0};
        kausal_id_derive("fw", 2, name, strlen(name), &ids[i]);
    }
    plan_ops();
    board_print("firmware: KausalDB ");
    board_print(kausal_version());
    board_print(" on a Cortex-M4\n");
    uint32_t calls = run_reference();
    for (uint32_t seed = seed_first; seed < seed_first + seeds; seed++) {
        run_seed(seed, calls);
    }
    int over = report_stack();
    print_line("power cuts survived: ", seeds, "");
    if (over) {
        print_line("firmware: FAILED: a call used more stack than the budget of ",
                   STACK_BUDGET_BYTES, " bytes");
        return 1;
    }
    board_print("firmware: ok\n");
    return 0;
}
