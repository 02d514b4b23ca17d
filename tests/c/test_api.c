/* Every error path of the C API: NULL for each pointer, a region one byte too small, bad
 * ids, oversize fields, invalid metadata, edges to missing blocks, bad directories, a
 * closed handle, a corrupted log; and outputs that stay untouched on error. */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "configs.h"

#include <dirent.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define HAVE_MEMCHECK_H 1
#endif
#endif
#ifndef HAVE_MEMCHECK_H
#define HAVE_MEMCHECK_H 0
#endif

static kausal_id id_from(uint8_t value) {
    kausal_id id;
    memset(&id, 0, sizeof id);
    id.bytes[15] = value;
    return id;
}

static void test_version_and_status_text(void) {
    char expected[32];
    int code;
    snprintf(expected, sizeof expected, "%d.%d.%d", KAUSAL_VERSION_MAJOR, KAUSAL_VERSION_MINOR,
             KAUSAL_VERSION_PATCH);
    CHECK(strcmp(kausal_version(), expected) == 0);
    for (code = 0; code <= (int)KAUSAL_ERROR_PATH_NOT_FOUND; code++) {
        CHECK(strncmp(kausal_status_name(code), "KAUSAL_", 7) == 0);
        CHECK(strcmp(kausal_status_name(code), "KAUSAL_STATUS_UNKNOWN") != 0);
    }
    CHECK(strcmp(kausal_status_name(0), "KAUSAL_OK") == 0);
    CHECK(strcmp(kausal_status_name(12), "KAUSAL_ERROR_NOT_FOUND") == 0);
    CHECK(strcmp(kausal_status_name(-1), "KAUSAL_STATUS_UNKNOWN") == 0);
    CHECK(strcmp(kausal_status_name(9999), "KAUSAL_STATUS_UNKNOWN") == 0);
    /* Static text, like sqlite3_errstr: no buffer to size. */
    CHECK(strcmp(kausal_status_message(12), "no such block or edge") == 0);
    CHECK(strcmp(kausal_status_message(-1), "unknown status code") == 0);
    CHECK(kausal_status_message(9999) != NULL);
}

static void test_config_and_memory(void) {
    kausal_config config = small_config();
    const char *field = NULL;
    size_t bytes = 0;
    CHECK_STATUS(kausal_config_default(NULL), KAUSAL_ERROR_NULL_ARGUMENT);
    CHECK(config.struct_size == sizeof(kausal_config));
    CHECK_STATUS(kausal_memory_required(NULL, &bytes), KAUSAL_ERROR_NULL_ARGUMENT);
    CHECK_STATUS(kausal_memory_required(&config, NULL), KAUSAL_ERROR_NULL_ARGUMENT);
    CHECK_STATUS(kausal_memory_required(&config, &bytes), KAUSAL_OK);
    CHECK(bytes > 256 * 1024);
    CHECK_STATUS(kausal_config_check(&config, &field), KAUSAL_OK);
    config.wal_buffer_bytes = 16;
    CHECK_STATUS(kausal_config_check(&config, &field), KAUSAL_ERROR_CONFIG_INVALID);
    CHECK(field != NULL && strcmp(field, "wal_buffer_bytes") == 0);
    CHECK_STATUS(kausal_memory_required(&config, &bytes), KAUSAL_ERROR_CONFIG_INVALID);
    config = small_config();
    config.sync_policy = 7;
    CHECK_STATUS(kausal_config_check(&config, &field), KAUSAL_ERROR_CONFIG_INVALID);
    CHECK(strcmp(field, "sync_policy") == 0);
    config = small_config();
    config.struct_size = 4;
    CHECK_STATUS(kausal_config_check(&config, &field), KAUSAL_ERROR_STRUCT_SIZE);
}

/* Config versions: kausal_config_default writes version 1's bytes only (a program built
 * with an older header is never written past its struct), kausal_config_init the newest
 * that fits the size it is given. */

/* A field of a later version of `config` (`*value` one of its fields): set to `invalid`, it
 * is blamed by name; in a struct of the version before (`older_size`), read for its own
 * bytes, the field takes its default and the config is valid. */
static void check_versioned_field(kausal_config *config, uint32_t *value, uint32_t invalid,
                                  const char *name, uint32_t older_size) {
    const char *field = NULL;
    REQUIRE_OK(kausal_config_init(config, sizeof *config));
    *value = invalid;
    CHECK_STATUS(kausal_config_check(config, &field), KAUSAL_ERROR_CONFIG_INVALID);
    CHECK(field != NULL && strcmp(field, name) == 0);
    config->struct_size = older_size;
    CHECK_STATUS(kausal_config_check(config, &field), KAUSAL_OK);
}
static void test_config_versions(void) {
    kausal_config config;
    const char *field = NULL;
    memset(&config, 0xEE, sizeof config);
    REQUIRE_OK(kausal_config_default(&config));
    CHECK(config.struct_size == KAUSAL_CONFIG_SIZE_V1 && config.region_initialized == 0xEEEEEEEEu);
    memset(&config, 0xEE, sizeof config);
    REQUIRE_OK(kausal_config_init(&config, KAUSAL_CONFIG_SIZE_V1));
    CHECK(config.struct_size == KAUSAL_CONFIG_SIZE_V1 && config.region_initialized == 0xEEEEEEEEu);
    /* A version-1 struct is read for its own bytes: what lies after them is not a field. */
    CHECK_STATUS(kausal_config_check(&config, &field), KAUSAL_OK);
    REQUIRE_OK(kausal_config_init(&config, sizeof config));
    CHECK(config.struct_size == sizeof config && config.region_initialized == 0);
    REQUIRE_OK(kausal_config_init(&config, sizeof config + 16));
    CHECK(config.struct_size == KAUSAL_CONFIG_SIZE_V5 && config.flush_in_steps == 0);
    REQUIRE_OK(kausal_config_init(&config, KAUSAL_CONFIG_SIZE_V3 + 2));
    CHECK(config.struct_size == KAUSAL_CONFIG_SIZE_V3);
    CHECK_STATUS(kausal_config_init(&config, KAUSAL_CONFIG_SIZE_V1 - 4), KAUSAL_ERROR_STRUCT_SIZE);
    CHECK_STATUS(kausal_config_init(NULL, sizeof config), KAUSAL_ERROR_NULL_ARGUMENT);
    config.region_initialized = 2;
    CHECK_STATUS(kausal_config_check(&config, &field), KAUSAL_ERROR_CONFIG_INVALID);
    CHECK(field != NULL && strcmp(field, "region_initialized") == 0);
    REQUIRE_OK(kausal_config_init(&config, sizeof config));
    CHECK(config.flush_auto == 1);
    check_versioned_field(&config, &config.flush_auto, 2, "flush_auto", KAUSAL_CONFIG_SIZE_V2);
    check_versioned_field(&config, &config.compaction_step_bytes, 0, "compaction_step_bytes",
                          KAUSAL_CONFIG_SIZE_V3);
    check_versioned_field(&config, &config.flush_in_steps, 2, "flush_in_steps",
                          KAUSAL_CONFIG_SIZE_V4);
}

/* Bytes of `region` still holding `pattern`. The library leaves some bytes it wrote
 * undefined to valgrind (padding and unused enum payloads copied from its stack), so they
 * are declared defined first: only their values are compared, whatever they are. */
static size_t bytes_holding(const unsigned char *region, size_t bytes, unsigned char pattern) {
    size_t count = 0, at;
#if HAVE_MEMCHECK_H
    (void)VALGRIND_MAKE_MEM_DEFINED(region, bytes);
#endif
    for (at = 0; at < bytes; at++) {
        count += region[at] == pattern;
    }
    return count;
}

/* Opens a store of one block in a region filled with `pattern`, writes, reads back and
 * closes; returns how many of the region's bytes still hold the pattern. */
static size_t open_in_pattern(uint32_t region_initialized, unsigned char pattern) {
    char directory[] = "/tmp/kausaldb-c-region-XXXXXX";
    char command[600];
    kausal_config config = small_config();
    kausal_id a = id_from(1);
    kausal_block_view view;
    kausal_db *db = NULL;
    size_t bytes = 0, kept;
    unsigned char *region;
    if (mkdtemp(directory) == NULL) {
        exit(2);
    }
    config.region_initialized = region_initialized;
    REQUIRE_OK(kausal_memory_required(&config, &bytes));
    region = malloc(bytes);
    if (region == NULL) {
        exit(2);
    }
    memset(region, pattern, bytes);
    REQUIRE_OK(kausal_open_dir(&config, region, bytes, directory, &db, NULL));
    REQUIRE_OK(kausal_put_block(db, &a, "a.c", 3, "{}", 2, (const uint8_t *)"int a;", 6, NULL));
    REQUIRE_OK(kausal_find_block(db, &a, &view));
    CHECK(view.content_len == 6 && memcmp(view.content, "int a;", 6) == 0);
    REQUIRE_OK(kausal_close(db));
    kept = bytes_holding(region, bytes, pattern);
    free(region);
    snprintf(command, sizeof command, "rm -rf %s", directory);
    CHECK(system(command) == 0);
    return kept;
}

/* With region_initialized the open costs what the store needs: a one-block store leaves
 * most of its region's pages untouched. Without it the whole region is zeroed first. */
static void test_region_initialized(void) {
    kausal_config config = small_config();
    size_t bytes = 0, kept;
    REQUIRE_OK(kausal_memory_required(&config, &bytes));
    kept = open_in_pattern(1, 0xA5);
    CHECK(kept > bytes / 10 * 9);
    kept = open_in_pattern(0, 0xA5);
    CHECK(kept < bytes / 100);
}

static void test_open_errors(const char *directory) {
    kausal_config config = small_config();
    kausal_db *db = (kausal_db *)&config; /* a sentinel that must not be overwritten */
    kausal_db *const sentinel = db;
    size_t bytes = 0;
    void *region;
    REQUIRE_OK(kausal_memory_required(&config, &bytes));
    region = malloc(bytes);
    CHECK_STATUS(kausal_open_dir(NULL, region, bytes, directory, &db, NULL), KAUSAL_ERROR_NULL_ARGUMENT);
    CHECK_STATUS(kausal_open_dir(&config, NULL, bytes, directory, &db, NULL), KAUSAL_ERROR_NULL_ARGUMENT);
    CHECK_STATUS(kausal_open_dir(&config, region, bytes, NULL, &db, NULL), KAUSAL_ERROR_NULL_ARGUMENT);
    CHECK_STATUS(kausal_open_dir(&config, region, bytes, directory, NULL, NULL),
                 KAUSAL_ERROR_NULL_ARGUMENT);
    CHECK_STATUS(kausal_open_dir(&config, region, bytes - 1, directory, &db, NULL),
                 KAUSAL_ERROR_REGION_TOO_SMALL);
    CHECK_STATUS(kausal_open_dir(&config, region, bytes, "/nonexistent-kausal/a/b", &db, NULL),
                 KAUSAL_ERROR_PATH_NOT_FOUND);
    /* A regular file where the directory should be: the store cannot be opened there. */
    CHECK_STATUS(kausal_open_dir(&config, region, bytes, "/proc/self/status", &db, NULL),
                 KAUSAL_ERROR_IO);
    /* Not writable even for root: /proc refuses new directories. */
    CHECK(kausal_open_dir(&config, region, bytes, "/proc/kausaldb-store", &db, NULL) != KAUSAL_OK);
    CHECK(db == sentinel);
    CHECK_STATUS(kausal_open_vfs(&config, region, bytes, NULL, &db, NULL), KAUSAL_ERROR_NULL_ARGUMENT);
    free(region);
}

/* A store open in one handle is refused to a second (in this process or another): two
 * writers would lose each other's writes. */
static void test_second_open_is_locked(const kausal_config *config, size_t bytes,
                                       const char *directory) {
    void *second_region = malloc(bytes);
    kausal_db *second = NULL;
    CHECK(second_region != NULL);
    CHECK_STATUS(kausal_open_dir(config, second_region, bytes, directory, &second, NULL),
                 KAUSAL_ERROR_LOCKED);
    CHECK(second == NULL);
    free(second_region);
}

static void test_block_errors(kausal_db *db) {
    kausal_id zero = id_from(0), a = id_from(1), missing = id_from(99);
    const char *meta = "{\"kind\":\"function\"}";
    char long_text[8192];
    kausal_block_view view;
    uint64_t sequence = 77;
    memset(long_text, 'x', sizeof long_text);
    memset(&view, 0xAB, sizeof view);
    CHECK_STATUS(kausal_put_block(NULL, &a, "a.c", 3, meta, strlen(meta), NULL, 0, NULL),
                 KAUSAL_ERROR_NULL_ARGUMENT);
    CHECK_STATUS(kausal_put_block(db, NULL, "a.c", 3, meta, strlen(meta), NULL, 0, NULL),
                 KAUSAL_ERROR_NULL_ARGUMENT);
    CHECK_STATUS(kausal_put_block(db, &a, NULL, 3, meta, strlen(meta), NULL, 0, NULL),
                 KAUSAL_ERROR_NULL_ARGUMENT);
    CHECK_STATUS(kausal_put_block(db, &a, "a.c", 3, NULL, 2, NULL, 0, NULL),
                 KAUSAL_ERROR_NULL_ARGUMENT);
    CHECK_STATUS(kausal_put_block(db, &a, "a.c", 3, meta, strlen(meta), NULL, 5, NULL),
                 KAUSAL_ERROR_NULL_ARGUMENT);
    CHECK_STATUS(kausal_put_block(db, &zero, "a.c", 3, meta, strlen(meta), NULL, 0, &sequence),
                 KAUSAL_ERROR_ID_ZERO);
    CHECK(sequence == 77);
    CHECK_STATUS(kausal_put_block(db, &a, long_text, 2000, meta, strlen(meta), NULL, 0, NULL),
                 KAUSAL_ERROR_SOURCE_URI_TOO_LONG);
    CHECK_STATUS(kausal_put_block(db, &a, "\xff", 1, meta, strlen(meta), NULL, 0, NULL),
                 KAUSAL_ERROR_SOURCE_URI_NOT_UTF8);
    CHECK_STATUS(kausal_put_block(db, &a, "a.c", 3, long_text, 5000, NULL, 0, NULL),
                 KAUSAL_ERROR_METADATA_TOO_LONG);
    CHECK_STATUS(kausal_put_block(db, &a, "a.c", 3, "[1]", 3, NULL, 0, NULL),
                 KAUSAL_ERROR_METADATA_INVALID);
    CHECK_STATUS(kausal_put_block(db, &a, "a.c", 3, "{\"a\":", 5, NULL, 0, NULL),
                 KAUSAL_ERROR_METADATA_INVALID);
    CHECK_STATUS(kausal_put_block(db, &a, "a.c", 3, meta, strlen(meta),
                                  (const uint8_t *)long_text, 4097, NULL),
                 KAUSAL_ERROR_CONTENT_TOO_LONG);
    CHECK_STATUS(kausal_put_block(db, &a, "a.c", 3, meta, strlen(meta), (const uint8_t *)"x", 1,
                                  &sequence),
                 KAUSAL_OK);
    /* No metadata (NULL, 0) is the empty object. */
    {
        kausal_id bare = id_from(3);
        kausal_block_view bare_view;
        CHECK_STATUS(kausal_put_block(db, &bare, "b.c", 3, NULL, 0, NULL, 0, NULL), KAUSAL_OK);
        CHECK_STATUS(kausal_find_block(db, &bare, &bare_view), KAUSAL_OK);
        CHECK(bare_view.metadata_json_len == 2 && memcmp(bare_view.metadata_json, "{}", 2) == 0);
        CHECK_STATUS(kausal_delete_block(db, &bare, NULL), KAUSAL_OK);
    }
    CHECK(sequence == 1);
    CHECK_STATUS(kausal_find_block(db, &missing, &view), KAUSAL_ERROR_NOT_FOUND);
    CHECK(view.sequence == 0xABABABABABABABABull);
    CHECK_STATUS(kausal_find_block(db, &zero, &view), KAUSAL_ERROR_ID_ZERO);
    CHECK_STATUS(kausal_find_block(db, &a, NULL), KAUSAL_ERROR_NULL_ARGUMENT);
    CHECK_STATUS(kausal_find_block(db, &a, &view), KAUSAL_OK);
    CHECK(view.content_len == 1 && view.content[0] == 'x' && view.sequence == 1);
    CHECK_STATUS(kausal_delete_block(db, &missing, NULL), KAUSAL_ERROR_NOT_FOUND);
    CHECK_STATUS(kausal_delete_block(db, NULL, NULL), KAUSAL_ERROR_NULL_ARGUMENT);
}

static void test_edge_errors(kausal_db *db) {
    kausal_id a = id_from(1), b = id_from(2), c = id_from(3), missing = id_from(99);
    const char *meta = "{}";
    kausal_edge edge, out[2];
    kausal_edge_filter filter;
    uint16_t types[2] = {KAUSAL_EDGE_CALLS, 12};
    uint32_t inserted = 7;
    size_t count = 0;
    REQUIRE_OK(kausal_put_block(db, &b, "b.c", 3, meta, 2, NULL, 0, NULL));
    REQUIRE_OK(kausal_put_block(db, &c, "c.c", 3, meta, 2, NULL, 0, NULL));
    edge.source = a;
    edge.target = missing;
    edge.edge_type = KAUSAL_EDGE_CALLS;
    CHECK_STATUS(kausal_put_edge(db, &edge, &inserted), KAUSAL_ERROR_NOT_FOUND);
    CHECK(inserted == 7);
    CHECK_STATUS(kausal_put_edge(db, NULL, &inserted), KAUSAL_ERROR_NULL_ARGUMENT);
    edge.target = b;
    edge.edge_type = 12;
    CHECK_STATUS(kausal_put_edge(db, &edge, &inserted), KAUSAL_ERROR_EDGE_TYPE_UNKNOWN);
    edge.edge_type = KAUSAL_EDGE_CALLS;
    CHECK_STATUS(kausal_put_edge(db, &edge, &inserted), KAUSAL_OK);
    CHECK(inserted == 1);
    CHECK_STATUS(kausal_put_edge(db, &edge, &inserted), KAUSAL_OK);
    CHECK(inserted == 0);
    edge.target = c;
    REQUIRE_OK(kausal_put_edge(db, &edge, NULL));
    edge.target = a; /* a self-edge */
    REQUIRE_OK(kausal_put_edge(db, &edge, NULL));
    memset(out, 0xCD, sizeof out);
    CHECK_STATUS(kausal_edges(db, &a, KAUSAL_DIRECTION_OUTGOING, NULL, out, 2, &count),
                 KAUSAL_ERROR_BUFFER_TOO_SMALL);
    CHECK(count == 3);
    CHECK(out[0].edge_type == 0xCDCD);
    CHECK_STATUS(kausal_edges(db, &a, 9, NULL, out, 2, &count), KAUSAL_ERROR_ARGUMENT_INVALID);
    CHECK_STATUS(kausal_edges(db, &a, KAUSAL_DIRECTION_OUTGOING, NULL, NULL, 2, &count),
                 KAUSAL_ERROR_NULL_ARGUMENT);
    CHECK_STATUS(kausal_edges(db, &a, KAUSAL_DIRECTION_OUTGOING, NULL, out, 2, NULL),
                 KAUSAL_ERROR_NULL_ARGUMENT);
    CHECK_STATUS(kausal_edges(db, &missing, KAUSAL_DIRECTION_BOTH, NULL, out, 2, &count),
                 KAUSAL_ERROR_NOT_FOUND);
    filter.mode = KAUSAL_FILTER_INCLUDE;
    filter.types = types;
    filter.types_len = 2;
    CHECK_STATUS(kausal_edges(db, &a, KAUSAL_DIRECTION_OUTGOING, &filter, out, 2, &count),
                 KAUSAL_ERROR_EDGE_TYPE_UNKNOWN);
    filter.types_len = 1;
    filter.mode = 42;
    CHECK_STATUS(kausal_edges(db, &a, KAUSAL_DIRECTION_OUTGOING, &filter, out, 2, &count),
                 KAUSAL_ERROR_ARGUMENT_INVALID);
    filter.mode = KAUSAL_FILTER_EXCLUDE;
    CHECK_STATUS(kausal_edges(db, &a, KAUSAL_DIRECTION_OUTGOING, &filter, out, 2, &count),
                 KAUSAL_OK);
    CHECK(count == 0);
    CHECK_STATUS(kausal_edges(db, &b, KAUSAL_DIRECTION_INCOMING, NULL, out, 2, &count), KAUSAL_OK);
    CHECK(count == 1 && memcmp(&out[0].source, &a, sizeof a) == 0);
    /* Both directions list the self-edge once: a->b, a->c, a->a. */
    CHECK_STATUS(kausal_edges(db, &a, KAUSAL_DIRECTION_BOTH, NULL, NULL, 0, &count),
                 KAUSAL_ERROR_BUFFER_TOO_SMALL);
    CHECK(count == 3);
    edge.target = missing;
    CHECK_STATUS(kausal_delete_edge(db, &edge), KAUSAL_ERROR_NOT_FOUND);
    edge.target = c;
    CHECK_STATUS(kausal_delete_edge(db, &edge), KAUSAL_OK);
    CHECK_STATUS(kausal_delete_edge(db, &edge), KAUSAL_ERROR_NOT_FOUND);
    CHECK_STATUS(kausal_delete_block(db, &b, NULL), KAUSAL_OK);
    CHECK_STATUS(kausal_edges(db, &a, KAUSAL_DIRECTION_OUTGOING, NULL, out, 2, &count), KAUSAL_OK);
    CHECK(count == 1); /* only the self-edge is left */
}

static void test_ids(void) {
    kausal_id id, parsed;
    char hex[33];
    CHECK_STATUS(kausal_id_derive("ns", 2, "main", 4, &id),
                 KAUSAL_OK);
    CHECK_STATUS(kausal_id_derive(NULL, 2, "main", 4, &id),
                 KAUSAL_ERROR_NULL_ARGUMENT);
    CHECK_STATUS(kausal_id_to_hex(&id, hex, 32), KAUSAL_ERROR_BUFFER_TOO_SMALL);
    CHECK_STATUS(kausal_id_to_hex(&id, hex, sizeof hex), KAUSAL_OK);
    CHECK(strlen(hex) == 32);
    CHECK_STATUS(kausal_id_from_hex(hex, 32, &parsed), KAUSAL_OK);
    CHECK(memcmp(&id, &parsed, sizeof id) == 0);
    CHECK_STATUS(kausal_id_from_hex(hex, 31, &parsed), KAUSAL_ERROR_ID_HEX_INVALID);
    hex[3] = 'z';
    CHECK_STATUS(kausal_id_from_hex(hex, 32, &parsed), KAUSAL_ERROR_ID_HEX_INVALID);
    CHECK_STATUS(kausal_id_from_hex(NULL, 32, &parsed), KAUSAL_ERROR_NULL_ARGUMENT);
}

static void test_stats_and_close(kausal_db *db) {
    kausal_store_stats stats;
    kausal_id a = id_from(1);
    kausal_block_view view;
    stats.struct_size = 8;
    CHECK_STATUS(kausal_stats(db, &stats), KAUSAL_ERROR_STRUCT_SIZE);
    stats.struct_size = sizeof stats;
    CHECK_STATUS(kausal_stats(db, &stats), KAUSAL_OK);
    CHECK(stats.blocks_live == 2 && stats.edges_live == 1 && stats.poisoned == 0);
    CHECK_STATUS(kausal_stats(NULL, &stats), KAUSAL_ERROR_NULL_ARGUMENT);
    CHECK_STATUS(kausal_sync(NULL), KAUSAL_ERROR_NULL_ARGUMENT);
    CHECK_STATUS(kausal_close(NULL), KAUSAL_ERROR_NULL_ARGUMENT);
    CHECK_STATUS(kausal_close(db), KAUSAL_OK);
    CHECK_STATUS(kausal_close(db), KAUSAL_ERROR_HANDLE_INVALID);
    CHECK_STATUS(kausal_find_block(db, &a, &view), KAUSAL_ERROR_HANDLE_INVALID);
}

static void flip_byte_in(const char *directory, const char *name, long offset) {
    char path[512];
    FILE *file;
    int byte;
    snprintf(path, sizeof path, "%s/%s", directory, name);
    file = fopen(path, "r+b");
    if (file == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(2);
    }
    fseek(file, offset, offset < 0 ? SEEK_END : SEEK_SET);
    byte = fgetc(file);
    fseek(file, offset, offset < 0 ? SEEK_END : SEEK_SET);
    fputc(byte ^ 0x10, file);
    fclose(file);
}

static void test_corrupted_log(const char *directory, void *region, size_t bytes) {
    kausal_config config = small_config();
    kausal_db *db = NULL;
    kausal_store_stats stats;
    /* The store written above was closed cleanly; damage its first frame. */
    flip_byte_in(directory, "wal-0000000000000001.log", 40);
    config.recovery_mode = KAUSAL_RECOVERY_STRICT;
    CHECK_STATUS(kausal_open_dir(&config, region, bytes, directory, &db, NULL), KAUSAL_ERROR_CORRUPTION);
    config.recovery_mode = KAUSAL_RECOVERY_TOLERANT;
    CHECK_STATUS(kausal_open_dir(&config, region, bytes, directory, &db, NULL), KAUSAL_OK);
    stats.struct_size = sizeof stats;
    REQUIRE_OK(kausal_stats(db, &stats));
    CHECK(stats.wal_corrupt_bytes_dropped > 0 && stats.blocks_live == 0);
    REQUIRE_OK(kausal_close(db));
}

/* Flush to a table, then damage the table's footer: opening reports corruption. */
static void test_flush_and_corrupted_table(void *region, size_t bytes) {
    char directory[] = "/tmp/kausaldb-c-table-XXXXXX";
    char command[600];
    kausal_config config = small_config();
    kausal_db *db = NULL;
    kausal_store_stats stats;
    kausal_block_view view;
    kausal_id a = id_from(1);
    if (mkdtemp(directory) == NULL) {
        exit(2);
    }
    REQUIRE_OK(kausal_open_dir(&config, region, bytes, directory, &db, NULL));
    REQUIRE_OK(kausal_put_block(db, &a, "a.c", 3, "{}", 2, (const uint8_t *)"x", 1, NULL));
    CHECK_STATUS(kausal_flush(NULL), KAUSAL_ERROR_NULL_ARGUMENT);
    CHECK_STATUS(kausal_flush(db), KAUSAL_OK);
    stats.struct_size = sizeof stats;
    REQUIRE_OK(kausal_stats(db, &stats));
    CHECK(stats.tables_count == 1 && stats.flush_count == 1 && stats.blocks_live == 1);
    CHECK_STATUS(kausal_find_block(db, &a, &view), KAUSAL_OK);
    CHECK(view.content_len == 1 && view.content[0] == 'x');
    {
        uint32_t merged = 7;
        CHECK_STATUS(kausal_compact_step(NULL, &merged), KAUSAL_ERROR_NULL_ARGUMENT);
        CHECK_STATUS(kausal_compact_step(db, &merged), KAUSAL_OK);
        CHECK(merged == 0); /* one table: nothing to merge */
    }
    REQUIRE_OK(kausal_close(db));
    flip_byte_in(directory, "table-0000000000000001.kdb", -3);
    CHECK_STATUS(kausal_open_dir(&config, region, bytes, directory, &db, NULL), KAUSAL_ERROR_CORRUPTION);
    snprintf(command, sizeof command, "rm -rf %s", directory);
    if (system(command) != 0) {
        fprintf(stderr, "could not remove %s\n", directory);
    }
}

/* With flush_auto 0 a full memtable is frozen and the writes go on; kausal_flush_step writes
 * the frozen one out in steps of flush_step_bytes, and every block and edge reads back. */
static void test_flush_step(void *region, size_t bytes) {
    char directory[] = "/tmp/kausaldb-c-flush-step-XXXXXX";
    char command[600];
    kausal_config config = small_config();
    kausal_db *db = NULL;
    kausal_store_stats stats;
    kausal_edge edges[64];
    size_t written = 0;
    uint32_t flushed = 7, n, steps;
    kausal_id hub = id_from(100);
    if (mkdtemp(directory) == NULL) {
        exit(2);
    }
    config.flush_auto = 0;
    config.memtable_entries_max = 16;
    config.memtable_edges_max = 16;
    config.memtable_arena_bytes_max = 64 * 1024; /* two memtables in the region */
    config.flush_step_bytes = 64;
    REQUIRE_OK(kausal_memory_required(&config, &written));
    CHECK(written <= bytes);
    REQUIRE_OK(kausal_open_dir(&config, region, bytes, directory, &db, NULL));
    CHECK_STATUS(kausal_flush_step(NULL, &flushed), KAUSAL_ERROR_NULL_ARGUMENT);
    CHECK_STATUS(kausal_flush_step(db, &flushed), KAUSAL_OK);
    CHECK(flushed == 0); /* nothing frozen */
    REQUIRE_OK(kausal_put_block(db, &hub, "h.c", 3, "{}", 2, (const uint8_t *)"x", 1, NULL));
    stats.struct_size = sizeof stats;
    for (n = 1; n <= 60; n++) {
        kausal_id target = id_from((uint8_t)n);
        kausal_edge edge;
        REQUIRE_OK(kausal_put_block(db, &target, "a.c", 3, "{}", 2, (const uint8_t *)"x", 1, NULL));
        edge.source = hub;
        edge.target = target;
        edge.edge_type = KAUSAL_EDGE_CALLS;
        REQUIRE_OK(kausal_put_edge(db, &edge, NULL));
        REQUIRE_OK(kausal_stats(db, &stats));
        if (stats.flush_pending) {
            break;
        }
    }
    CHECK(stats.flush_pending == 1 && stats.flush_count == 0 && stats.write_stalls == 0);
    REQUIRE_OK(kausal_edges(db, &hub, KAUSAL_DIRECTION_OUTGOING, NULL, edges, 64, &written));
    CHECK(written == n); /* the frozen memtable's edges and the new one's */
    /* Steps of at most 64 bytes of records: one per record or two, until it is written. */
    for (steps = 0; steps < 1000 && stats.flush_pending; steps++) {
        CHECK_STATUS(kausal_flush_step(db, &flushed), KAUSAL_OK);
        CHECK(flushed == 1);
        REQUIRE_OK(kausal_stats(db, &stats));
        CHECK(stats.flush_pending == 0 || stats.tables_count == 0); /* installed at the end */
    }
    CHECK(steps > 10 && stats.flush_pending == 0 && stats.flush_count == 1);
    CHECK(stats.tables_count == 2);
    CHECK_STATUS(kausal_flush_step(db, &flushed), KAUSAL_OK);
    CHECK(flushed == 0);
    CHECK_STATUS(kausal_flush_step(db, NULL), KAUSAL_OK);
    REQUIRE_OK(kausal_edges(db, &hub, KAUSAL_DIRECTION_OUTGOING, NULL, edges, 64, &written));
    CHECK(written == n);
    REQUIRE_OK(kausal_close(db));
    snprintf(command, sizeof command, "rm -rf %s", directory);
    if (system(command) != 0) {
        fprintf(stderr, "could not remove %s\n", directory);
    }
}

/* With flush_in_steps 1 (and flush_auto 1) the write that finds the memtable full freezes it
 * without a stall, and the writes after it each write at most flush_step_bytes of it to
 * tables: a flush spans many writes, each counted as a stall, and every edge reads back. */
static void test_flush_in_steps(void *region, size_t bytes) {
    char directory[] = "/tmp/kausaldb-c-flush-in-steps-XXXXXX";
    char command[600];
    kausal_config config = small_config();
    kausal_db *db = NULL;
    kausal_store_stats stats;
    kausal_edge edges[128];
    size_t written = 0, one_memtable = 0;
    uint32_t n, froze_at = 0, flushed_at = 0;
    kausal_id hub = id_from(200);
    if (mkdtemp(directory) == NULL) {
        exit(2);
    }
    config.memtable_entries_max = 16;
    config.memtable_edges_max = 16;
    config.memtable_arena_bytes_max = 64 * 1024;
    config.flush_step_bytes = 64;
    REQUIRE_OK(kausal_memory_required(&config, &one_memtable));
    config.flush_in_steps = 1;
    REQUIRE_OK(kausal_memory_required(&config, &written));
    CHECK(written > one_memtable && written <= bytes); /* the region holds two memtables */
    REQUIRE_OK(kausal_open_dir(&config, region, bytes, directory, &db, NULL));
    REQUIRE_OK(kausal_put_block(db, &hub, "h.c", 3, "{}", 2, (const uint8_t *)"x", 1, NULL));
    stats.struct_size = sizeof stats;
    /* Odd writes put block n, even ones the edge from the hub to it. */
    for (n = 1; n <= 240 && flushed_at == 0; n++) {
        kausal_id target = id_from((uint8_t)((n + 1) / 2));
        kausal_edge edge;
        uint64_t stalls;
        REQUIRE_OK(kausal_stats(db, &stats));
        stalls = stats.write_stalls;
        edge.source = hub;
        edge.target = target;
        edge.edge_type = KAUSAL_EDGE_CALLS;
        if (n % 2 == 1) {
            REQUIRE_OK(kausal_put_block(db, &target, "a.c", 3, "{}", 2, (const uint8_t *)"x", 1,
                                        NULL));
        } else {
            REQUIRE_OK(kausal_put_edge(db, &edge, NULL));
        }
        REQUIRE_OK(kausal_stats(db, &stats));
        if (froze_at == 0 && stats.flush_pending) {
            froze_at = n;
            CHECK(stats.write_stalls == stalls); /* frozen, not flushed */
        } else if (froze_at != 0) {
            CHECK(stats.write_stalls == stalls + 1); /* one step of the flush */
        }
        if (stats.flush_count == 1) {
            flushed_at = n;
        }
    }
    CHECK(froze_at > 0 && flushed_at > froze_at + 4 && stats.flush_pending == 0);
    REQUIRE_OK(kausal_edges(db, &hub, KAUSAL_DIRECTION_OUTGOING, NULL, edges, 128, &written));
    CHECK(written == flushed_at / 2);
    REQUIRE_OK(kausal_close(db));
    snprintf(command, sizeof command, "rm -rf %s", directory);
    if (system(command) != 0) {
        fprintf(stderr, "could not remove %s\n", directory);
    }
}

/* The table files in `directory`. */
static int table_files(const char *directory) {
    DIR *listing = opendir(directory);
    struct dirent *entry;
    int count = 0;
    if (listing == NULL) {
        return -1;
    }
    while ((entry = readdir(listing)) != NULL) {
        count += strncmp(entry->d_name, "table-", 6) == 0;
    }
    closedir(listing);
    return count;
}

/* With compaction_auto 0 the host compacts: kausal_compact_step merges at most
 * compaction_step_bytes of records a call, compaction_pending says a merge is between steps,
 * reads between steps see the inputs, the last step installs the merged table, and the next
 * steps remove the old tables' files. */
static void test_compaction_steps(void *region, size_t bytes) {
    char directory[] = "/tmp/kausaldb-c-compact-step-XXXXXX";
    char command[600];
    kausal_config config = small_config();
    kausal_db *db = NULL;
    kausal_store_stats stats;
    kausal_block_view view;
    uint32_t merged = 7, n, steps;
    size_t required = 0;
    if (mkdtemp(directory) == NULL) {
        exit(2);
    }
    config.compaction_auto = 0;
    config.compaction_step_bytes = 64;
    config.memtable_entries_max = 16; /* room in the region for the merge's place */
    REQUIRE_OK(kausal_memory_required(&config, &required));
    CHECK(required <= bytes);
    REQUIRE_OK(kausal_open_dir(&config, region, bytes, directory, &db, NULL));
    /* Four flushes of four blocks: four block tables of a size. */
    for (n = 0; n < 16; n++) {
        kausal_id id = id_from((uint8_t)(n + 1));
        REQUIRE_OK(kausal_put_block(db, &id, "a.c", 3, "{}", 2, (const uint8_t *)"xyz", 3, NULL));
        if (n % 4 == 3) {
            REQUIRE_OK(kausal_flush(db));
        }
    }
    stats.struct_size = sizeof stats;
    REQUIRE_OK(kausal_stats(db, &stats));
    CHECK(stats.tables_count == 4 && stats.compaction_pending == 0);
    for (steps = 0; steps < 1000; steps++) {
        kausal_id first = id_from(1);
        CHECK_STATUS(kausal_compact_step(db, &merged), KAUSAL_OK);
        CHECK(merged == 1);
        REQUIRE_OK(kausal_stats(db, &stats));
        if (stats.compaction_count == 1) {
            break;
        }
        CHECK(stats.compaction_pending == 1);
        CHECK(stats.tables_count == 4); /* installed at the end */
        CHECK_STATUS(kausal_find_block(db, &first, &view), KAUSAL_OK);
    }
    /* 16 records of more than 32 bytes, at most two a step: at least 8 steps. */
    CHECK(steps >= 8 && stats.tables_count == 1);
    /* The old tables' files go in the next steps, 64 bytes of them a step. */
    CHECK(stats.compaction_pending == 1 && table_files(directory) == 5);
    for (steps = 0; steps < 1000 && stats.compaction_pending; steps++) {
        CHECK_STATUS(kausal_compact_step(db, &merged), KAUSAL_OK);
        CHECK(merged == 1);
        REQUIRE_OK(kausal_stats(db, &stats));
    }
    CHECK(steps >= 4 && stats.compaction_pending == 0 && table_files(directory) == 1);
    CHECK_STATUS(kausal_compact_step(db, &merged), KAUSAL_OK);
    CHECK(merged == 0);
    for (n = 0; n < 16; n++) {
        kausal_id id = id_from((uint8_t)(n + 1));
        CHECK_STATUS(kausal_find_block(db, &id, &view), KAUSAL_OK);
        CHECK(view.content_len == 3 && memcmp(view.content, "xyz", 3) == 0);
    }
    REQUIRE_OK(kausal_close(db));
    snprintf(command, sizeof command, "rm -rf %s", directory);
    if (system(command) != 0) {
        fprintf(stderr, "could not remove %s\n", directory);
    }
}

/* What the event hook saw, and a clock that advances 1000 ns per reading. */
struct observed {
    kausal_event events[256];
    size_t count;
    uint64_t clock_ns;
};

static void on_event(void *context, const kausal_event *event) {
    struct observed *observed = context;
    if (observed->count < 256) {
        observed->events[observed->count] = *event;
    }
    observed->count++;
}

static uint64_t now_ns(void *context) {
    struct observed *observed = context;
    observed->clock_ns += 1000;
    return observed->clock_ns;
}

/* Index of the first event of `kind` at or after `from`, or `count`. */
static size_t find_event(const struct observed *observed, size_t from, uint32_t kind) {
    size_t i;
    for (i = from; i < observed->count && i < 256; i++) {
        if (observed->events[i].kind == kind) {
            return i;
        }
    }
    return observed->count;
}

/* Writes past the 64-entry memtable: each time it fills, the write stalls for a flush; the
 * hook sees stall start, flush start and end, stall end, in that order, timed by its clock;
 * the stall counters say the same; a version-1 stats struct gets version 1's bytes only. */
static void test_event_hook(void *region, size_t bytes) {
    char directory[] = "/tmp/kausaldb-c-events-XXXXXX";
    char command[600];
    kausal_config config = small_config();
    kausal_db *db = NULL;
    kausal_store_stats stats;
    static struct observed observed;
    uint32_t n;
    size_t stall, flush_start, flush_end, stall_end;
    if (mkdtemp(directory) == NULL) {
        exit(2);
    }
    REQUIRE_OK(kausal_open_dir(&config, region, bytes, directory, &db, NULL));
    CHECK_STATUS(kausal_set_event_hook(NULL, on_event, now_ns, &observed),
                 KAUSAL_ERROR_NULL_ARGUMENT);
    REQUIRE_OK(kausal_set_event_hook(db, on_event, now_ns, &observed));
    for (n = 1; n <= 200; n++) {
        kausal_id id = id_from(n);
        REQUIRE_OK(kausal_put_block(db, &id, "a.c", 3, "{}", 2, (const uint8_t *)"x", 1, NULL));
    }
    stall = find_event(&observed, 0, KAUSAL_EVENT_WRITE_STALL_START);
    flush_start = find_event(&observed, stall, KAUSAL_EVENT_FLUSH_START);
    flush_end = find_event(&observed, flush_start, KAUSAL_EVENT_FLUSH_END);
    stall_end = find_event(&observed, flush_end, KAUSAL_EVENT_WRITE_STALL_END);
    CHECK(stall < flush_start && flush_start < flush_end && flush_end < stall_end);
    CHECK(stall_end < observed.count);
    CHECK(observed.events[flush_start].bytes > 0 && observed.events[flush_end].bytes > 0);
    CHECK(observed.events[flush_end].tables >= 1 && observed.events[flush_end].duration_ns > 0);
    CHECK(observed.events[stall_end].duration_ns >= observed.events[flush_end].duration_ns);
    stats.struct_size = sizeof stats;
    REQUIRE_OK(kausal_stats(db, &stats));
    CHECK(stats.struct_size == KAUSAL_STATS_SIZE_V5 && stats.flush_pending == 0);
    CHECK(stats.compaction_pending == 0);
    CHECK(stats.tables_with_edges <= stats.tables_count);
    CHECK(stats.wal_syncs >= stats.flush_count); /* each flush syncs the log first */
    CHECK(stats.table_pages_read == 0);          /* only writes so far */
    CHECK(stats.write_stalls >= 3 && stats.flush_count >= stats.write_stalls);
    {
        /* The counters are the hook's stall ends, summed and maxed. */
        uint64_t total = 0, longest = 0, ends = 0;
        size_t i;
        for (i = 0; i < observed.count && i < 256; i++) {
            if (observed.events[i].kind == KAUSAL_EVENT_WRITE_STALL_END) {
                ends++;
                total += observed.events[i].duration_ns;
                if (observed.events[i].duration_ns > longest) {
                    longest = observed.events[i].duration_ns;
                }
            }
        }
        CHECK(observed.count < 256 && ends == stats.write_stalls);
        CHECK(stats.write_stall_ns_total == total && stats.write_stall_ns_max == longest);
    }
    /* A caller built against version 2: its 192 bytes, nothing after them. */
    memset(&stats, 0xAB, sizeof stats);
    stats.struct_size = KAUSAL_STATS_SIZE_V2;
    REQUIRE_OK(kausal_stats(db, &stats));
    CHECK(stats.struct_size == KAUSAL_STATS_SIZE_V2 && stats.wal_syncs >= stats.flush_count);
    CHECK(stats.tables_with_edges == 0xABABABABABABABABull);
    /* A caller built against version 1: its 152 bytes, nothing after them. */
    memset(&stats, 0xAB, sizeof stats);
    stats.struct_size = KAUSAL_STATS_SIZE_V1;
    REQUIRE_OK(kausal_stats(db, &stats));
    CHECK(stats.struct_size == KAUSAL_STATS_SIZE_V1 && stats.blocks_live == 200);
    CHECK(stats.write_stalls == 0xABABABABABABABABull);
    /* Removed: nothing more is seen. */
    REQUIRE_OK(kausal_set_event_hook(db, NULL, NULL, NULL));
    n = (uint32_t)observed.count;
    REQUIRE_OK(kausal_flush(db));
    CHECK(observed.count == n);
    REQUIRE_OK(kausal_close(db));
    snprintf(command, sizeof command, "rm -rf %s", directory);
    if (system(command) != 0) {
        fprintf(stderr, "could not remove %s\n", directory);
    }
}

int main(void) {
    char directory[] = "/tmp/kausaldb-c-api-XXXXXX";
    kausal_config config = small_config();
    kausal_db *db = NULL;
    size_t bytes = 0;
    void *region;
    char command[600];
    if (mkdtemp(directory) == NULL) {
        return 2;
    }
    test_version_and_status_text();
    test_config_and_memory();
    test_config_versions();
    test_region_initialized();
    test_ids();
    test_open_errors(directory);
    REQUIRE_OK(kausal_memory_required(&config, &bytes));
    region = malloc(bytes);
    REQUIRE_OK(kausal_open_dir(&config, region, bytes, directory, &db, NULL));
    test_second_open_is_locked(&config, bytes, directory);
    test_block_errors(db);
    test_edge_errors(db);
    test_stats_and_close(db);
    test_corrupted_log(directory, region, bytes);
    test_flush_and_corrupted_table(region, bytes);
    test_flush_step(region, bytes);
    test_flush_in_steps(region, bytes);
    test_compaction_steps(region, bytes);
    test_event_hook(region, bytes);
    free(region);
    snprintf(command, sizeof command, "rm -rf %s", directory);
    if (system(command) != 0) {
        fprintf(stderr, "could not remove %s\n", directory);
    }
    return report("test_api");
}
