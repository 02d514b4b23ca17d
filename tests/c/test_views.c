/* The lifetime of a block view, one rule stated in the header's preamble, on
 * kausal_block_view and on kausal_find_block: valid until the next call of any kausal_
 * function on the handle. With a host VFS a block that lives in a table is read into the
 * engine's one lookup buffer, which the next lookup reuses. This program shows each view
 * holds its block's bytes until the next call, and that the next lookup does overwrite
 * them (so the rule is needed, not merely cautious: copy what you keep). */
#include "check.h"
#include "ram_vfs.h"

/* Larger than half a page: A and B land in different table pages. */
#define CONTENT_BYTES 700

static struct ram_disk disk;

/* A host VFS with lock callbacks: a second handle on the same storage is refused while the
 * first is open (the POSIX backend does the same with flock). */
static void test_host_lock(const kausal_config *config, size_t bytes, const kausal_vfs *vfs) {
    void *second_region = malloc(bytes);
    kausal_db *second = NULL;
    if (second_region == NULL) {
        CHECK(0);
        return;
    }
    CHECK_STATUS(kausal_open_vfs(config, second_region, bytes, vfs, &second, NULL),
                 KAUSAL_ERROR_LOCKED);
    CHECK(second == NULL);
    free(second_region);
}

int main(void) {
    kausal_config config = ram_config();
    kausal_vfs vfs = ram_vfs(&disk);
    kausal_db *db = NULL;
    kausal_block_view a, b;
    kausal_id id_a = ram_id(1), id_b = ram_id(2);
    uint8_t content_a[CONTENT_BYTES], content_b[CONTENT_BYTES];
    size_t bytes = 0;
    void *region;
    memset(&disk, 0, sizeof disk);
    disk.fail_at = -1;
    memset(content_a, 'A', sizeof content_a);
    memset(content_b, 'B', sizeof content_b);
    REQUIRE_OK(kausal_memory_required(&config, &bytes));
    region = malloc(bytes);
    if (region == NULL) {
        return 2;
    }
    REQUIRE_OK(kausal_open_vfs(&config, region, bytes, &vfs, &db, NULL));
    REQUIRE_OK(kausal_put_block(db, &id_a, "a.c", 3, "{}", 2, content_a, sizeof content_a, NULL));
    REQUIRE_OK(kausal_put_block(db, &id_b, "b.c", 3, "{}", 2, content_b, sizeof content_b, NULL));
    /* Both blocks now live only in a table, read through the host's callbacks. */
    REQUIRE_OK(kausal_flush(db));
    REQUIRE_OK(kausal_find_block(db, &id_a, &a));
    CHECK(a.content_len == CONTENT_BYTES && memcmp(a.content, content_a, CONTENT_BYTES) == 0);
    REQUIRE_OK(kausal_find_block(db, &id_b, &b));
    CHECK(b.content_len == CONTENT_BYTES && memcmp(b.content, content_b, CONTENT_BYTES) == 0);
    /* The call after A's lookup reused the bytes A's view points into. */
    CHECK(memcmp(a.content, content_a, CONTENT_BYTES) != 0);
    REQUIRE_OK(kausal_close(db));
    /* Closed cleanly, then the power goes: both blocks are still there. */
    ram_crash(&disk);
    REQUIRE_OK(kausal_open_vfs(&config, region, bytes, &vfs, &db, NULL));
    REQUIRE_OK(kausal_find_block(db, &id_a, &a));
    CHECK(memcmp(a.content, content_a, CONTENT_BYTES) == 0);
    test_host_lock(&config, bytes, &vfs);
    REQUIRE_OK(kausal_close(db));
    /* Closing released the host's lock: the store opens again. */
    REQUIRE_OK(kausal_open_vfs(&config, region, bytes, &vfs, &db, NULL));
    REQUIRE_OK(kausal_close(db));
    free(region);
    return report("test_views");
}
