/* Faults through kausal_open_vfs: a host VFS fails (or tears) its n-th call, for every n
 * until a run finishes untouched. The engine reports KAUSAL_ERROR_IO and then refuses
 * writes (KAUSAL_ERROR_POISONED); after a power loss the store reopens with every synced
 * block, and what it holds is a whole prefix of the writes. Also: missing callbacks. */
#include "check.h"
#include "ram_vfs.h"

#define SYNCED_FIRST 10
#define WRITES_UNDER_FAULT 12

static struct ram_disk disk;

static kausal_status put(kausal_db *db, uint8_t n) {
    uint8_t content[700];
    kausal_id id = ram_id(n);
    memset(content, n, sizeof content);
    return kausal_put_block(db, &id, "fault.c", 7, "{}", 2, content, 100 + (size_t)n * 25, NULL);
}

/* One run with the fault at callback `fail_at` (of the writing phase). Returns 1 if the
 * fault was hit. */
static int run(long fail_at, void *region, size_t bytes) {
    kausal_config config = ram_config();
    kausal_vfs vfs = ram_vfs(&disk);
    kausal_db *db = NULL;
    kausal_store_stats stats;
    kausal_block_view view;
    uint8_t n, synced = SYNCED_FIRST, live;
    int failed = 0, hit;
    memset(&disk, 0, sizeof disk);
    disk.fail_at = -1;
    REQUIRE_OK(kausal_open_vfs(&config, region, bytes, &vfs, &db, NULL));
    for (n = 1; n <= SYNCED_FIRST; n++) {
        REQUIRE_OK(put(db, n));
    }
    REQUIRE_OK(kausal_sync(db));
    disk.fail_at = disk.calls + fail_at;
    for (n = SYNCED_FIRST + 1; n <= SYNCED_FIRST + WRITES_UNDER_FAULT; n++) {
        kausal_status status = put(db, n);
        if (status == KAUSAL_OK && n % 2 == 0) {
            status = kausal_sync(db);
            if (status == KAUSAL_OK && !failed) {
                synced = n;
            }
        }
        if (status != KAUSAL_OK) {
            /* The first failure is the I/O error; every later write is refused. */
            CHECK(failed ? status == KAUSAL_ERROR_POISONED : status == KAUSAL_ERROR_IO);
            failed = 1;
        }
    }
    hit = disk.failures > 0;
    CHECK(failed == hit);
    kausal_close(db); /* may fail when poisoned; the handle is closed either way */
    ram_crash(&disk);
    disk.fail_at = -1;
    REQUIRE_OK(kausal_open_vfs(&config, region, bytes, &vfs, &db, NULL));
    stats.struct_size = sizeof stats;
    REQUIRE_OK(kausal_stats(db, &stats));
    live = (uint8_t)stats.blocks_live;
    CHECK(live >= synced);
    for (n = 1; n <= live; n++) {
        kausal_id id = ram_id(n);
        CHECK(kausal_find_block(db, &id, &view) == KAUSAL_OK &&
              view.content_len == 100 + (size_t)n * 25 && view.content[0] == n);
    }
    REQUIRE_OK(kausal_close(db));
    return hit;
}

static void test_missing_callbacks(void *region, size_t bytes) {
    kausal_config config = ram_config();
    kausal_vfs vfs = ram_vfs(&disk);
    kausal_db *db = NULL;
    vfs.sync_dir = NULL;
    CHECK_STATUS(kausal_open_vfs(&config, region, bytes, &vfs, &db, NULL), KAUSAL_ERROR_NULL_ARGUMENT);
    vfs = ram_vfs(&disk);
    vfs.struct_size = 8;
    CHECK_STATUS(kausal_open_vfs(&config, region, bytes, &vfs, &db, NULL), KAUSAL_ERROR_STRUCT_SIZE);
    CHECK(db == NULL);
}

int main(void) {
    kausal_config config = ram_config();
    size_t bytes = 0;
    void *region;
    long fail_at;
    REQUIRE_OK(kausal_memory_required(&config, &bytes));
    region = malloc(bytes);
    test_missing_callbacks(region, bytes);
    for (fail_at = 0; fail_at < 10000; fail_at++) {
        if (!run(fail_at, region, bytes)) {
            break;
        }
    }
    CHECK(fail_at > 5 && fail_at < 10000);
    printf("test_fault_vfs: a fault at each of %ld host VFS calls\n", fail_at);
    free(region);
    return report("test_fault_vfs");
}
