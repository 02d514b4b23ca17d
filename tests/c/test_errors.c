/* The detail of an error, as a C host reads it: kausal_open_* fills an optional
 * kausal_error_detail when the open fails, and kausal_last_error reads the last call on a
 * handle. Each error says what the status alone cannot: the config field, the length and
 * its limit, the offset of bad metadata, the resource that ran out (MEMTABLE_FULL), the
 * holder's pid (LOCKED), the kind of damage (CORRUPTION), and for a storage failure the
 * call, the store file and the backend's code. */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "configs.h"
#include "ram_vfs.h"

#include <string.h>
#include <unistd.h>

static kausal_error_detail fresh_detail(void) {
    kausal_error_detail detail;
    memset(&detail, 0xAB, sizeof detail); /* fields the call does not set would show */
    detail.struct_size = sizeof detail;
    return detail;
}

static kausal_error_detail last_error(kausal_db *db) {
    kausal_error_detail detail = fresh_detail();
    REQUIRE_OK(kausal_last_error(db, &detail));
    return detail;
}

/* A refused open names what to change, and touches neither the handle nor the detail of a
 * call that succeeds. */
static void test_open_detail(const char *directory, void *region, size_t bytes) {
    kausal_config config = small_config();
    kausal_error_detail detail = fresh_detail();
    kausal_db *db = NULL;
    CHECK_STATUS(kausal_open_dir(&config, region, bytes - 1, directory, &db, &detail),
                 KAUSAL_ERROR_REGION_TOO_SMALL);
    CHECK(detail.status == KAUSAL_ERROR_REGION_TOO_SMALL);
    CHECK(detail.value == bytes - 1 && detail.limit == bytes);
    CHECK(detail.operation == NULL && detail.file[0] == '\0' && detail.field[0] == '\0');
    CHECK(strstr(detail.message, "region") != NULL);
    detail = fresh_detail();
    config.memtable_edges_max = 0;
    CHECK_STATUS(kausal_open_dir(&config, region, bytes, directory, &db, &detail),
                 KAUSAL_ERROR_CONFIG_INVALID);
    CHECK(strcmp(detail.field, "memtable_edges_max") == 0);
    CHECK(strstr(detail.message, "memtable_edges_max") != NULL);
    config = small_config();
    config.sync_policy = 7;
    CHECK_STATUS(kausal_open_dir(&config, region, bytes, directory, &db, &detail),
                 KAUSAL_ERROR_CONFIG_INVALID);
    CHECK(strcmp(detail.field, "sync_policy") == 0);
    config = small_config();
    detail = fresh_detail();
    detail.struct_size = 8;
    CHECK_STATUS(kausal_open_dir(&config, region, bytes, directory, &db, &detail),
                 KAUSAL_ERROR_STRUCT_SIZE);
    CHECK(db == NULL);
    detail = fresh_detail();
    REQUIRE_OK(kausal_open_dir(&config, region, bytes, directory, &db, &detail));
    CHECK(detail.struct_size == sizeof detail && detail.status != KAUSAL_OK); /* untouched */
    detail = last_error(db);
    CHECK(detail.status == KAUSAL_OK && strcmp(detail.message, "success") == 0);
    REQUIRE_OK(kausal_close(db));
}

/* A write refused for its arguments says which length broke which limit, or where the
 * metadata went wrong; a later success clears it. */
static void test_argument_detail(kausal_db *db) {
    static uint8_t content[5000];
    kausal_id a = ram_id(1);
    kausal_error_detail detail;
    CHECK_STATUS(kausal_put_block(db, &a, "a.c", 3, NULL, 0, content, 4097, NULL),
                 KAUSAL_ERROR_CONTENT_TOO_LONG);
    detail = last_error(db);
    CHECK(detail.status == KAUSAL_ERROR_CONTENT_TOO_LONG);
    CHECK(detail.value == 4097 && detail.limit == 4096);
    CHECK(detail.resource == KAUSAL_RESOURCE_NONE && detail.corruption == KAUSAL_CORRUPTION_NONE);
    CHECK_STATUS(kausal_put_block(db, &a, "a.c", 3, "{\"a\":}", 6, content, 1, NULL),
                 KAUSAL_ERROR_METADATA_INVALID);
    detail = last_error(db);
    CHECK(detail.status == KAUSAL_ERROR_METADATA_INVALID && detail.value == 5);
    REQUIRE_OK(kausal_put_block(db, &a, "a.c", 3, NULL, 0, content, 1, NULL));
    CHECK(last_error(db).status == KAUSAL_OK);
    CHECK_STATUS(kausal_last_error(db, NULL), KAUSAL_ERROR_NULL_ARGUMENT);
    CHECK_STATUS(kausal_last_error(NULL, &detail), KAUSAL_ERROR_NULL_ARGUMENT);
    detail.struct_size = 8;
    CHECK_STATUS(kausal_last_error(db, &detail), KAUSAL_ERROR_STRUCT_SIZE);
}

/* MEMTABLE_FULL says which resource ran out: a block with more edges than the memtable
 * holds entries cannot be deleted in one write (it tombstones every edge at once). Its
 * edges deleted first, it can. */
static void test_memtable_full_names_the_resource(kausal_db *db) {
    kausal_id hub = ram_id(200);
    kausal_edge edge;
    kausal_error_detail detail;
    uint8_t n;
    REQUIRE_OK(kausal_put_block(db, &hub, "hub.c", 5, NULL, 0, NULL, 0, NULL));
    edge.target = hub;
    edge.edge_type = KAUSAL_EDGE_CALLS;
    for (n = 1; n <= 70; n++) {
        edge.source = ram_id(n);
        REQUIRE_OK(kausal_put_block(db, &edge.source, "caller.c", 8, NULL, 0, NULL, 0, NULL));
        REQUIRE_OK(kausal_put_edge(db, &edge, NULL));
    }
    CHECK_STATUS(kausal_delete_block(db, &hub, NULL), KAUSAL_ERROR_MEMTABLE_FULL);
    detail = last_error(db);
    CHECK(detail.status == KAUSAL_ERROR_MEMTABLE_FULL);
    CHECK(detail.resource == KAUSAL_RESOURCE_MEMTABLE_ENTRIES ||
          detail.resource == KAUSAL_RESOURCE_MEMTABLE_EDGES);
    CHECK(strstr(detail.message, "memtable") != NULL);
    for (n = 1; n <= 70; n++) {
        edge.source = ram_id(n);
        REQUIRE_OK(kausal_delete_edge(db, &edge));
    }
    CHECK_STATUS(kausal_delete_block(db, &hub, NULL), KAUSAL_OK);
}

/* A second opener learns who holds the store. */
static void test_locked_names_the_holder(const char *directory, size_t bytes) {
    kausal_config config = small_config();
    kausal_error_detail detail = fresh_detail();
    void *second_region = malloc(bytes);
    kausal_db *second = NULL;
    CHECK(second_region != NULL);
    CHECK_STATUS(kausal_open_dir(&config, second_region, bytes, directory, &second, &detail),
                 KAUSAL_ERROR_LOCKED);
    CHECK(detail.status == KAUSAL_ERROR_LOCKED && detail.pid == (uint32_t)getpid());
    CHECK(detail.operation != NULL && strcmp(detail.operation, "lock") == 0);
    free(second_region);
}

/* Damage found at open names its kind. */
static void test_corruption_names_the_kind(void *region, size_t bytes) {
    char directory[] = "/tmp/kausaldb-c-damage-XXXXXX";
    kausal_config config = small_config();
    kausal_error_detail detail = fresh_detail();
    kausal_db *db = NULL;
    kausal_id id = ram_id(1);
    char path[600];
    FILE *file;
    if (mkdtemp(directory) == NULL) {
        exit(2);
    }
    REQUIRE_OK(kausal_open_dir(&config, region, bytes, directory, &db, NULL));
    REQUIRE_OK(kausal_put_block(db, &id, "a.c", 3, NULL, 0, NULL, 0, NULL));
    REQUIRE_OK(kausal_close(db));
    snprintf(path, sizeof path, "%s/wal-0000000000000001.log", directory);
    file = fopen(path, "r+b");
    CHECK(file != NULL);
    if (file == NULL) {
        return;
    }
    fseek(file, 40, SEEK_SET);
    fputc(fgetc(file) ^ 0x10, file);
    fclose(file);
    config.recovery_mode = KAUSAL_RECOVERY_STRICT;
    CHECK_STATUS(kausal_open_dir(&config, region, bytes, directory, &db, &detail),
                 KAUSAL_ERROR_CORRUPTION);
    CHECK(detail.corruption == KAUSAL_CORRUPTION_WAL_FRAME);
    CHECK(strstr(detail.message, "WAL frame") != NULL);
    snprintf(path, sizeof path, "rm -rf %s", directory);
    if (system(path) != 0) {
        fprintf(stderr, "could not remove %s\n", directory);
    }
}

/* A failed storage call names itself, its file and the backend's code. */
static void test_storage_failure_names_call_and_file(void *region, size_t bytes) {
    static struct ram_disk disk;
    kausal_config config = ram_config();
    kausal_vfs vfs = ram_vfs(&disk);
    kausal_db *db = NULL;
    kausal_error_detail detail;
    kausal_id id = ram_id(1);
    memset(&disk, 0, sizeof disk);
    disk.fail_at = -1;
    REQUIRE_OK(kausal_open_vfs(&config, region, bytes, &vfs, &db, NULL));
    REQUIRE_OK(kausal_put_block(db, &id, "a.c", 3, NULL, 0, NULL, 0, NULL));
    disk.fail_at = disk.calls; /* the next callback fails */
    CHECK_STATUS(kausal_sync(db), KAUSAL_ERROR_IO);
    detail = last_error(db);
    CHECK(detail.status == KAUSAL_ERROR_IO && detail.os_error == KAUSAL_VFS_IO);
    CHECK(detail.operation != NULL);
    if (detail.operation != NULL) {
        CHECK(strcmp(detail.operation, "write") == 0 || strcmp(detail.operation, "sync") == 0 ||
              strcmp(detail.operation, "preallocate") == 0);
        CHECK(strncmp(detail.file, "wal-", 4) == 0);
        CHECK(strstr(detail.message, detail.file) != NULL);
    }
    kausal_close(db);
}

int main(void) {
    char directory[] = "/tmp/kausaldb-c-errors-XXXXXX";
    kausal_config config = small_config();
    kausal_config ram = ram_config();
    kausal_db *db = NULL;
    size_t bytes = 0, ram_bytes = 0;
    void *region;
    char command[600];
    if (mkdtemp(directory) == NULL) {
        return 2;
    }
    REQUIRE_OK(kausal_memory_required(&config, &bytes));
    REQUIRE_OK(kausal_memory_required(&ram, &ram_bytes));
    region = malloc(bytes > ram_bytes ? bytes : ram_bytes);
    CHECK(region != NULL);
    test_open_detail(directory, region, bytes);
    REQUIRE_OK(kausal_open_dir(&config, region, bytes, directory, &db, NULL));
    test_argument_detail(db);
    test_memtable_full_names_the_resource(db);
    test_locked_names_the_holder(directory, bytes);
    REQUIRE_OK(kausal_close(db));
    test_corruption_names_the_kind(region, bytes);
    test_storage_failure_names_call_and_file(region, ram_bytes);
    free(region);
    snprintf(command, sizeof command, "rm -rf %s", directory);
    if (system(command) != 0) {
        fprintf(stderr, "could not remove %s\n", directory);
    }
    return report("test_errors");
}
