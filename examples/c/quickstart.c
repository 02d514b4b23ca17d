/* Quickstart: open a store in a directory, put a small code graph with its call edges,
 * sync, close, reopen, and print the callers of one function.
 *
 *   cc -std=c99 -Iinclude examples/c/quickstart.c -Ltarget/release -lkausaldb \
 *      -Wl,-rpath,target/release -o quickstart && ./quickstart /tmp/kausaldb-quickstart
 */
#include "kausaldb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(call)                                                                   \
    do {                                                                              \
        kausal_status status_ = (call);                                               \
        if (status_ != KAUSAL_OK) {                                                   \
            fprintf(stderr, "%s:%d: %s -> %s\n", __FILE__, __LINE__, #call,           \
                    kausal_status_name((int32_t)status_));                            \
            exit(1);                                                                  \
        }                                                                             \
    } while (0)

struct function {
    const char *file;
    const char *name;
    const char *calls[3];
};

static const struct function graph[12] = {
    {"src/main.c", "main", {"load_settings", "run_server", NULL}},
    {"src/settings.c", "load_settings", {"read_file", "parse_config", NULL}},
    {"src/settings.c", "reload_settings", {"read_file", "parse_config", "notify_workers"}},
    {"src/config.c", "parse_config", {"tokenize", "validate_config", NULL}},
    {"src/config.c", "validate_config", {"report_error", NULL, NULL}},
    {"src/config.c", "tokenize", {NULL, NULL, NULL}},
    {"src/fs.c", "read_file", {"report_error", NULL, NULL}},
    {"src/server.c", "run_server", {"accept_loop", "reload_settings", NULL}},
    {"src/server.c", "accept_loop", {"handle_request", NULL, NULL}},
    {"src/server.c", "handle_request", {"parse_config", "report_error", NULL}},
    {"src/workers.c", "notify_workers", {NULL, NULL, NULL}},
    {"src/errors.c", "report_error", {NULL, NULL, NULL}},
};

static kausal_id id_of(const char *name) {
    kausal_id id;
    CHECK(kausal_id_derive("quickstart", 10, name, strlen(name),
                           &id));
    return id;
}

static void ingest(kausal_db *db) {
    size_t i, k;
    for (i = 0; i < 12; i++) {
        char body[128];
        const char *metadata = "{\"kind\":\"function\",\"lang\":\"c\"}";
        kausal_id id = id_of(graph[i].name);
        int body_len = snprintf(body, sizeof body, "void %s(void);", graph[i].name);
        CHECK(kausal_put_block(db, &id, graph[i].file, strlen(graph[i].file), metadata,
                               strlen(metadata), (const uint8_t *)body, (size_t)body_len, NULL));
    }
    for (i = 0; i < 12; i++) {
        for (k = 0; k < 3 && graph[i].calls[k] != NULL; k++) {
            kausal_edge edge;
            edge.source = id_of(graph[i].name);
            edge.target = id_of(graph[i].calls[k]);
            edge.edge_type = KAUSAL_EDGE_CALLS;
            CHECK(kausal_put_edge(db, &edge, NULL));
        }
    }
    CHECK(kausal_sync(db));
}

/* Callers of `name` up to `depth` calls away, nearest first, with where each lives. The
 * hits name the caller of each caller too (`parent`), so the call chains can be printed. */
static void print_callers(kausal_db *db, const char *name, uint32_t depth) {
    kausal_hit hits[32];
    size_t count = 0, i;
    uint32_t truncated = 0;
    kausal_id id = id_of(name);
    CHECK(kausal_query(db, KAUSAL_QUERY_CALLERS, &id, depth, hits, 32, &count, &truncated));
    printf("callers of %s within %u calls (%zu%s):\n", name, (unsigned)depth, count - 1,
           truncated ? ", truncated" : "");
    for (i = 1; i < count; i++) { /* hit 0 is the function itself */
        kausal_block_view caller;
        CHECK(kausal_find_block(db, &hits[i].id, &caller));
        printf("  depth %u  %-16.*s %.*s\n", (unsigned)hits[i].depth,
               (int)caller.source_uri_len, (const char *)caller.source_uri,
               (int)caller.content_len, (const char *)caller.content);
    }
}

int main(int argc, char **argv) {
    const char *directory = argc > 1 ? argv[1] : "kausaldb-quickstart";
    kausal_config config;
    kausal_db *db = NULL;
    kausal_store_stats stats;
    size_t region_len = 0;
    void *region;

    printf("KausalDB %s\n", kausal_version());
    CHECK(kausal_config_init(&config, sizeof config));
    CHECK(kausal_memory_required(&config, &region_len));
    region = malloc(region_len);
    if (region == NULL) {
        return 1;
    }
    CHECK(kausal_open_dir(&config, region, region_len, directory, &db, NULL));
    ingest(db);
    CHECK(kausal_close(db));

    CHECK(kausal_open_dir(&config, region, region_len, directory, &db, NULL));
    stats.struct_size = sizeof stats;
    CHECK(kausal_stats(db, &stats));
    printf("reopened %s: %llu blocks, %llu edges, %llu log frames replayed\n", directory,
           (unsigned long long)stats.blocks_live, (unsigned long long)stats.edges_live,
           (unsigned long long)stats.recovery_frames_replayed);
    print_callers(db, "parse_config", 1);
    print_callers(db, "parse_config", 3);
    CHECK(kausal_close(db));
    free(region);
    return 0;
}
