/* The graph-query surface of the C API on a small call graph, before and after a flush:
 * named queries, traversals, shortest paths, the filtered scan with its cursor, batch
 * lookups; and every error path (NULL pointers, bad enums, bounds, small buffers), with
 * outputs left untouched on error. */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "configs.h"

#include <stdint.h>
#include <string.h>
#include <unistd.h>

/* main -> parse -> tokenize -> log, main -> eval -> log, eval -> eval (recursion). */
static const char *const NAMES[] = {"main", "parse", "tokenize", "eval", "log"};
#define NAME_COUNT 5

static kausal_id id_of(const char *name) {
    kausal_id id;
    REQUIRE_OK(kausal_id_derive("fn", 2, name, strlen(name), &id));
    return id;
}

static int same(kausal_id a, kausal_id b) { return memcmp(&a, &b, sizeof a) == 0; }

static void load(kausal_db *db) {
    static const char *const calls[][2] = {{"main", "parse"},    {"parse", "tokenize"},
                                           {"tokenize", "log"},  {"main", "eval"},
                                           {"eval", "log"},      {"eval", "eval"}};
    size_t i;
    for (i = 0; i < NAME_COUNT; i++) {
        kausal_id id = id_of(NAMES[i]);
        char meta[64], uri[64];
        snprintf(meta, sizeof meta, "{\"kind\":\"function\",\"name\":\"%s\"}", NAMES[i]);
        snprintf(uri, sizeof uri, "src/%s.c", i < 3 ? "parse" : "eval");
        REQUIRE_OK(kausal_put_block(db, &id, uri, strlen(uri), meta, strlen(meta), (const uint8_t *)NAMES[i],
                                    strlen(NAMES[i]), NULL));
    }
    for (i = 0; i < sizeof calls / sizeof calls[0]; i++) {
        kausal_edge edge;
        edge.source = id_of(calls[i][0]);
        edge.target = id_of(calls[i][1]);
        edge.edge_type = KAUSAL_EDGE_CALLS;
        REQUIRE_OK(kausal_put_edge(db, &edge, NULL));
    }
}

/* The depth of `name` among the hits, or -1. */
static int depth_of(const kausal_hit *hits, size_t count, const char *name) {
    size_t i;
    for (i = 0; i < count; i++) {
        if (same(hits[i].id, id_of(name))) {
            return (int)hits[i].depth;
        }
    }
    return -1;
}

static void test_named_queries(kausal_db *db) {
    kausal_hit hits[16];
    size_t count = 0;
    uint32_t truncated = 7;
    kausal_id log = id_of("log"), main_id = id_of("main");
    CHECK_STATUS(kausal_query(db, KAUSAL_QUERY_CALLERS, &log, 3, hits, 16, &count, &truncated),
                 KAUSAL_OK);
    CHECK(count == 5 && truncated == 0);
    CHECK(same(hits[0].id, log) && hits[0].depth == 0 && hits[0].edge_type == 0);
    CHECK(depth_of(hits, count, "tokenize") == 1 && depth_of(hits, count, "eval") == 1);
    CHECK(depth_of(hits, count, "parse") == 2 && depth_of(hits, count, "main") == 2);
    CHECK(hits[1].incoming == 1 && hits[1].edge_type == KAUSAL_EDGE_CALLS);
    CHECK(same(hits[1].parent, log));
    CHECK_STATUS(kausal_query(db, KAUSAL_QUERY_CALLEES, &main_id, 1, hits, 16, &count,
                              &truncated),
                 KAUSAL_OK);
    CHECK(count == 3 && depth_of(hits, count, "log") == -1);
    /* Two slots for five callers: exact hits, truncated. */
    CHECK_STATUS(kausal_query(db, KAUSAL_QUERY_IMPACT, &log, 10, hits, 2, &count, &truncated),
                 KAUSAL_OK);
    CHECK(count == 2 && truncated == 1);
    count = 99;
    CHECK_STATUS(kausal_query(db, 77, &log, 3, hits, 16, &count, &truncated),
                 KAUSAL_ERROR_ARGUMENT_INVALID);
    CHECK(count == 99);
    CHECK_STATUS(kausal_query(db, KAUSAL_QUERY_CALLERS, &log, 101, hits, 16, &count,
                              &truncated),
                 KAUSAL_ERROR_QUERY_INVALID);
    CHECK_STATUS(kausal_query(db, KAUSAL_QUERY_CALLERS, NULL, 3, hits, 16, &count, &truncated),
                 KAUSAL_ERROR_NULL_ARGUMENT);
    CHECK_STATUS(kausal_query(db, KAUSAL_QUERY_CALLERS, &log, 3, NULL, 16, &count, &truncated),
                 KAUSAL_ERROR_NULL_ARGUMENT);
    CHECK_STATUS(kausal_query(db, KAUSAL_QUERY_CALLERS, &log, 3, hits, 16, NULL, &truncated),
                 KAUSAL_ERROR_NULL_ARGUMENT);
    CHECK_STATUS(kausal_query(db, KAUSAL_QUERY_CALLERS, &log, 3, hits, 16, &count, NULL),
                 KAUSAL_ERROR_NULL_ARGUMENT);
    CHECK_STATUS(kausal_query(NULL, KAUSAL_QUERY_CALLERS, &log, 3, hits, 16, &count, &truncated),
                 KAUSAL_ERROR_NULL_ARGUMENT);
}

static void test_traverse(kausal_db *db) {
    kausal_traversal traversal;
    kausal_hit hits[16];
    kausal_id starts[2];
    uint16_t types[1] = {KAUSAL_EDGE_IMPORTS};
    kausal_edge_filter filter;
    size_t count = 0;
    uint32_t truncated = 0;
    starts[0] = id_of("parse");
    starts[1] = id_of("eval");
    CHECK_STATUS(kausal_traversal_default(&traversal), KAUSAL_OK);
    CHECK(traversal.depth_max == 10 && traversal.results_max == 1000);
    traversal.starts = starts;
    traversal.starts_len = 2;
    CHECK_STATUS(kausal_traverse(db, &traversal, hits, 16, &count, &truncated), KAUSAL_OK);
    CHECK(count == 4 && truncated == 0); /* parse, eval, tokenize, log */
    CHECK(depth_of(hits, count, "log") == 1 && depth_of(hits, count, "tokenize") == 1);
    traversal.order = KAUSAL_ORDER_DEPTH_FIRST;
    CHECK_STATUS(kausal_traverse(db, &traversal, hits, 16, &count, &truncated), KAUSAL_OK);
    /* Preorder from parse reaches log through tokenize, at depth 2. */
    CHECK(count == 4 && depth_of(hits, count, "log") == 2);
    CHECK(same(hits[1].id, id_of("tokenize")) && same(hits[3].id, id_of("eval")));
    filter.mode = KAUSAL_FILTER_INCLUDE;
    filter.types = types;
    filter.types_len = 1;
    traversal.filter = &filter;
    CHECK_STATUS(kausal_traverse(db, &traversal, hits, 16, &count, &truncated), KAUSAL_OK);
    CHECK(count == 2);
    traversal.filter = NULL;
    traversal.order = 5;
    CHECK_STATUS(kausal_traverse(db, &traversal, hits, 16, &count, &truncated),
                 KAUSAL_ERROR_ARGUMENT_INVALID);
    traversal.order = KAUSAL_ORDER_BREADTH_FIRST;
    traversal.results_max = 0;
    CHECK_STATUS(kausal_traverse(db, &traversal, hits, 16, &count, &truncated),
                 KAUSAL_ERROR_QUERY_INVALID);
    traversal.results_max = 1000;
    traversal.starts_len = 0;
    CHECK_STATUS(kausal_traverse(db, &traversal, hits, 16, &count, &truncated),
                 KAUSAL_ERROR_QUERY_INVALID);
    traversal.starts_len = 2;
    traversal.starts = NULL;
    CHECK_STATUS(kausal_traverse(db, &traversal, hits, 16, &count, &truncated),
                 KAUSAL_ERROR_NULL_ARGUMENT);
    traversal.starts = starts;
    traversal.struct_size = 8;
    CHECK_STATUS(kausal_traverse(db, &traversal, hits, 16, &count, &truncated),
                 KAUSAL_ERROR_STRUCT_SIZE);
    CHECK_STATUS(kausal_traverse(db, NULL, hits, 16, &count, &truncated),
                 KAUSAL_ERROR_NULL_ARGUMENT);
    CHECK_STATUS(kausal_traversal_default(NULL), KAUSAL_ERROR_NULL_ARGUMENT);
}

/* What a streaming host collects: every hit, or the first `stop_after`. */
struct stream {
    kausal_hit hits[16];
    size_t seen;
    size_t stop_after;
};

static int32_t collect(void *context, const kausal_hit *hit) {
    struct stream *stream = context;
    if (stream->seen < 16) {
        stream->hits[stream->seen] = *hit;
    }
    stream->seen++;
    return stream->seen == stream->stop_after;
}

static void test_traverse_visit(kausal_db *db) {
    kausal_traversal traversal;
    kausal_hit hits[16];
    kausal_id start = id_of("main");
    struct stream stream;
    size_t count = 0, buffered = 0;
    uint32_t truncated = 7, buffered_truncated = 7;
    CHECK_STATUS(kausal_traversal_default(&traversal), KAUSAL_OK);
    traversal.starts = &start;
    traversal.starts_len = 1;
    /* The stream is the array kausal_traverse writes, hit for hit. */
    memset(&stream, 0, sizeof stream);
    CHECK_STATUS(kausal_traverse_visit(db, &traversal, collect, &stream, &count, &truncated),
                 KAUSAL_OK);
    CHECK_STATUS(kausal_traverse(db, &traversal, hits, 16, &buffered, &buffered_truncated),
                 KAUSAL_OK);
    CHECK(count == 5 && stream.seen == 5 && truncated == 0 && buffered == 5);
    CHECK(memcmp(stream.hits, hits, 5 * sizeof hits[0]) == 0);
    /* The callback stops the stream: two hits, and not a truncation. */
    memset(&stream, 0, sizeof stream);
    stream.stop_after = 2;
    CHECK_STATUS(kausal_traverse_visit(db, &traversal, collect, &stream, &count, &truncated),
                 KAUSAL_OK);
    CHECK(count == 2 && stream.seen == 2 && truncated == 0);
    /* results_max bounds it as it bounds an array. */
    traversal.results_max = 3;
    memset(&stream, 0, sizeof stream);
    CHECK_STATUS(kausal_traverse_visit(db, &traversal, collect, &stream, &count, &truncated),
                 KAUSAL_OK);
    CHECK(count == 3 && truncated == 1);
    count = 99;
    CHECK_STATUS(kausal_traverse_visit(db, &traversal, NULL, &stream, &count, &truncated),
                 KAUSAL_ERROR_NULL_ARGUMENT);
    CHECK(count == 99);
    CHECK_STATUS(kausal_traverse_visit(db, &traversal, collect, &stream, NULL, &truncated),
                 KAUSAL_ERROR_NULL_ARGUMENT);
    CHECK_STATUS(kausal_traverse_visit(db, &traversal, collect, &stream, &count, NULL),
                 KAUSAL_ERROR_NULL_ARGUMENT);
    CHECK_STATUS(kausal_traverse_visit(db, NULL, collect, &stream, &count, &truncated),
                 KAUSAL_ERROR_NULL_ARGUMENT);
    CHECK_STATUS(kausal_traverse_visit(NULL, &traversal, collect, &stream, &count, &truncated),
                 KAUSAL_ERROR_NULL_ARGUMENT);
}

static void test_shortest_path(kausal_db *db) {
    kausal_hit steps[8];
    size_t count = 0;
    uint32_t truncated = 0;
    kausal_id main_id = id_of("main"), log = id_of("log");
    CHECK_STATUS(kausal_shortest_path(db, &main_id, &log, KAUSAL_DIRECTION_OUTGOING, NULL, 10,
                                      steps, 8, &count, &truncated),
                 KAUSAL_OK);
    CHECK(count == 3 && truncated == 0);
    CHECK(same(steps[0].id, main_id) && same(steps[1].id, id_of("eval")) && same(steps[2].id, log));
    CHECK(steps[2].depth == 2 && same(steps[2].parent, id_of("eval")));
    CHECK_STATUS(kausal_shortest_path(db, &log, &main_id, KAUSAL_DIRECTION_OUTGOING, NULL, 10,
                                      steps, 8, &count, &truncated),
                 KAUSAL_OK);
    CHECK(count == 0 && truncated == 0);
    memset(steps, 0xAB, sizeof steps);
    CHECK_STATUS(kausal_shortest_path(db, &main_id, &log, KAUSAL_DIRECTION_OUTGOING, NULL, 10,
                                      steps, 2, &count, &truncated),
                 KAUSAL_ERROR_BUFFER_TOO_SMALL);
    CHECK(count == 3 && steps[0].depth == 0xABABABABu);
    CHECK_STATUS(kausal_shortest_path(db, &main_id, NULL, KAUSAL_DIRECTION_OUTGOING, NULL, 10,
                                      steps, 8, &count, &truncated),
                 KAUSAL_ERROR_NULL_ARGUMENT);
    CHECK_STATUS(kausal_shortest_path(db, &main_id, &log, 9, NULL, 10, steps, 8, &count,
                                      &truncated),
                 KAUSAL_ERROR_ARGUMENT_INVALID);
}

static void scan_all(kausal_db *db, const kausal_block_filter *filter, kausal_id *found,
                     size_t *found_count) {
    kausal_scan_cursor cursor;
    kausal_id page[2];
    size_t count = 0, rounds = 0;
    memset(&cursor, 0, sizeof cursor);
    *found_count = 0;
    while (!cursor.done && rounds++ < 16) {
        REQUIRE_OK(kausal_scan(db, filter, &cursor, page, 2, &count));
        memcpy(found + *found_count, page, count * sizeof page[0]);
        *found_count += count;
    }
    CHECK(cursor.done == 1);
}

static void test_scan_and_find_blocks(kausal_db *db) {
    kausal_block_filter filter;
    kausal_scan_cursor cursor;
    kausal_id found[8], ids[3];
    kausal_block_view views[3];
    unsigned char bytes[512];
    size_t count = 0, needed = 0;
    memset(&filter, 0, sizeof filter);
    scan_all(db, &filter, found, &count);
    CHECK(count == NAME_COUNT);
    scan_all(db, NULL, found, &count);
    CHECK(count == NAME_COUNT);
    filter.source_uri_prefix = "src/parse";
    filter.source_uri_prefix_len = 9;
    scan_all(db, &filter, found, &count);
    CHECK(count == 3);
    filter.metadata_kind = KAUSAL_METADATA_STRING;
    filter.metadata_key = "name";
    filter.metadata_key_len = 4;
    filter.metadata_string = "tokenize";
    filter.metadata_string_len = 8;
    scan_all(db, &filter, found, &count);
    CHECK(count == 1 && same(found[0], id_of("tokenize")));
    filter.metadata_kind = 9;
    memset(&cursor, 0, sizeof cursor);
    CHECK_STATUS(kausal_scan(db, &filter, &cursor, found, 8, &count),
                 KAUSAL_ERROR_ARGUMENT_INVALID);
    count = 77;
    CHECK_STATUS(kausal_scan(db, NULL, &cursor, found, 0, &count),
                 KAUSAL_ERROR_BUFFER_TOO_SMALL);
    CHECK(count == 1); /* the capacity needed (nothing was written before) */
    CHECK_STATUS(kausal_scan(db, NULL, NULL, found, 8, &count), KAUSAL_ERROR_NULL_ARGUMENT);
    CHECK_STATUS(kausal_scan(db, NULL, &cursor, found, 8, NULL), KAUSAL_ERROR_NULL_ARGUMENT);
    CHECK(cursor.done == 0);

    ids[0] = id_of("log");
    ids[1] = id_of("missing");
    ids[2] = id_of("main");
    memset(views, 0, sizeof views);
    CHECK_STATUS(kausal_find_blocks(db, ids, 3, views, bytes, 8, &count, &needed),
                 KAUSAL_ERROR_BUFFER_TOO_SMALL);
    CHECK(needed > 8 && views[0].sequence == 0);
    CHECK_STATUS(kausal_find_blocks(db, ids, 3, views, bytes, sizeof bytes, &count, NULL),
                 KAUSAL_OK);
    CHECK(count == 2);
    CHECK(views[0].content_len == 3 && memcmp(views[0].content, "log", 3) == 0);
    CHECK(views[1].sequence == 0 && views[1].content == NULL && same(views[1].id, ids[1]));
    CHECK(views[2].content_len == 4 && memcmp(views[2].content, "main", 4) == 0);
    CHECK_STATUS(kausal_find_blocks(db, NULL, 3, views, bytes, sizeof bytes, &count, NULL),
                 KAUSAL_ERROR_NULL_ARGUMENT);
    CHECK_STATUS(kausal_find_blocks(db, ids, 3, NULL, bytes, sizeof bytes, &count, NULL),
                 KAUSAL_ERROR_NULL_ARGUMENT);
    /* A length no buffer can have is an error, never an overflow (it aborted before). */
    CHECK_STATUS(kausal_find_blocks(db, NULL, SIZE_MAX, views, bytes, sizeof bytes, &count, NULL),
                 KAUSAL_ERROR_NULL_ARGUMENT);
    CHECK_STATUS(kausal_find_blocks(db, ids, SIZE_MAX / 8, views, bytes, sizeof bytes, &count, NULL),
                 KAUSAL_ERROR_ARGUMENT_INVALID);
}

static void run_all(kausal_db *db) {
    test_named_queries(db);
    test_traverse(db);
    test_traverse_visit(db);
    test_shortest_path(db);
    test_scan_and_find_blocks(db);
}

int main(void) {
    char directory[] = "/tmp/kausaldb-c-query-XXXXXX";
    kausal_config config;
    kausal_db *db = NULL;
    size_t bytes = 0;
    void *region;
    char command[600];
    if (mkdtemp(directory) == NULL) {
        return 2;
    }
    config = small_config();
    config.query_nodes_max = 64;
    REQUIRE_OK(kausal_memory_required(&config, &bytes));
    region = malloc(bytes);
    REQUIRE_OK(kausal_open_dir(&config, region, bytes, directory, &db, NULL));
    load(db);
    run_all(db); /* from the in-memory table */
    REQUIRE_OK(kausal_flush(db));
    run_all(db); /* from a sorted table */
    REQUIRE_OK(kausal_close(db));
    free(region);
    snprintf(command, sizeof command, "rm -rf %s", directory);
    if (system(command) != 0) {
        fprintf(stderr, "could not remove %s\n", directory);
    }
    return report("test_query");
}
