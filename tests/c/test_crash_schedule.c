/* Crash schedules through kausal_open_vfs, exhaustively for a small store: for a flush, a
 * compaction, a close, a sync and the writes that take a frozen memtable's flush in steps
 * (flush_in_steps), the power is cut before each host VFS callback in turn,
 * and each cut is crashed every way the RAM disk can treat what was not synced: all lost,
 * all landed, each file's landing alone (reordered before the others) or torn in half, with
 * the unsynced names lost or landed. After each: the store reopens with every synced block,
 * a whole prefix of the later ones (all of them once a flush, close or sync completed), and
 * takes a durable write. */
#include "check.h"
#include "ram_vfs.h"

#define SYNCED 10
#define UNSYNCED 3
#define TABLES 4

static struct ram_disk disk;

enum operation { OP_FLUSH, OP_COMPACT, OP_CLOSE, OP_SYNC, OP_WRITE_STEPS, OP_COUNT };
static const char *const OPERATION_NAMES[] = {"flush",   "compaction",          "close",
                                              "sync",    "writes' flush steps"};

/* With flush_in_steps, the memtable holds the prepared blocks and one more: the write after
 * that freezes it, and the writes after the freeze take its flush's steps. */
#define WRITE_STEPS_ENTRIES (SYNCED + UNSYNCED + 1)

static size_t content_bytes(uint8_t n) {
    return 60 + (size_t)n * 13;
}

static kausal_status put(kausal_db *db, uint8_t n) {
    uint8_t content[400];
    kausal_id id = ram_id(n);
    memset(content, n, sizeof content);
    return kausal_put_block(db, &id, "cut.c", 5, "{}", 2, content, content_bytes(n), NULL);
}

static kausal_config schedule_config(enum operation op) {
    kausal_config config = ram_config();
    config.sync_policy = KAUSAL_SYNC_EXPLICIT;
    config.compaction_auto = op != OP_COMPACT;
    /* The host's compaction in steps of a few records: cuts land between steps too. */
    config.compaction_step_bytes = 200;
    if (op == OP_WRITE_STEPS) {
        config.flush_in_steps = 1;
        config.flush_step_bytes = 200;
        config.memtable_entries_max = WRITE_STEPS_ENTRIES;
    }
    return config;
}

/* The store every run starts from: SYNCED blocks, synced (for a compaction, in TABLES
 * tables of similar size besides), then UNSYNCED more. Returns the last block number. */
static uint8_t prepare(enum operation op, kausal_db *db) {
    uint8_t n = 0;
    int table;
    while (n < SYNCED) {
        REQUIRE_OK(put(db, ++n));
    }
    if (op == OP_COMPACT) {
        REQUIRE_OK(kausal_flush(db));
        for (table = 0; table < TABLES - 1; table++) {
            REQUIRE_OK(put(db, ++n));
            REQUIRE_OK(kausal_flush(db));
        }
    }
    REQUIRE_OK(kausal_sync(db));
    for (table = 0; table < UNSYNCED; table++) {
        REQUIRE_OK(put(db, ++n));
    }
    return n;
}

/* kausal_compact_step until the merge is installed or a step fails (after the cut). */
static void compact_in_steps(kausal_db *db) {
    kausal_store_stats stats;
    int step;
    stats.struct_size = sizeof stats;
    for (step = 0; step < 10000; step++) {
        if (kausal_compact_step(db, NULL) != KAUSAL_OK || kausal_stats(db, &stats) != KAUSAL_OK ||
            !stats.compaction_pending) {
            return;
        }
    }
    CHECK(0 && "compaction steps never ended");
}

/* Writes blocks after `n` until one freezes the memtable and the writes after it have
 * taken its whole flush, or one fails (after the cut). Returns the last block written. */
static uint8_t write_in_steps(kausal_db *db, uint8_t n) {
    kausal_store_stats stats;
    int froze = 0, steps = 0;
    stats.struct_size = sizeof stats;
    while (n < 100) {
        if (put(db, ++n) != KAUSAL_OK || kausal_stats(db, &stats) != KAUSAL_OK) {
            return n;
        }
        steps += froze;
        froze |= stats.flush_pending != 0;
        if (froze && !stats.flush_pending) {
            /* Steps of 200 bytes of records: the flush spanned many writes. */
            CHECK(stats.flush_count == 1 && steps > 5);
            return n;
        }
    }
    CHECK(0 && "the writes never ended the flush");
    return n;
}

/* One run: prepare, cut the power before the operation's callback `cut`, and unless
 * `landing` is negative, crash as it says and check. Returns whether the operation
 * completed before the cut; `*out_unsynced` counts the files left with unsynced data. */
static int run(enum operation op, long cut, int landing, int which, int names_land,
               void *region, size_t bytes, int *out_unsynced) {
    kausal_config config = schedule_config(op);
    kausal_vfs vfs = ram_vfs(&disk);
    kausal_db *db = NULL;
    kausal_store_stats stats;
    kausal_block_view view;
    kausal_id after = ram_id(200);
    uint8_t last, n, synced_last;
    int completed, i;
    ram_reset(&disk);
    REQUIRE_OK(kausal_open_vfs(&config, region, bytes, &vfs, &db, NULL));
    last = prepare(op, db);
    synced_last = (uint8_t)(last - UNSYNCED);
    disk.cut_armed = 1;
    disk.cut_at = disk.calls + cut;
    switch (op) {
    case OP_FLUSH: (void)kausal_flush(db); break;
    case OP_COMPACT: compact_in_steps(db); break;
    case OP_SYNC: (void)kausal_sync(db); break;
    case OP_CLOSE: break;
    case OP_WRITE_STEPS: last = write_in_steps(db, last); break;
    default: break;
    }
    completed = disk.failures == 0;
    (void)kausal_close(db); /* after the cut: its callbacks all fail and store nothing */
    if (op == OP_CLOSE || op == OP_WRITE_STEPS) {
        /* The writes after the freeze are durable once the close has synced them. */
        completed = disk.failures == 0;
    }
    *out_unsynced = 0;
    for (i = 0; i < RAM_FILES_MAX; i++) {
        *out_unsynced += ram_unsynced(&disk.files[i]);
    }
    if (landing < 0) {
        return completed;
    }
    ram_crash_as(&disk, (enum ram_landing)landing, which, names_land);
    disk.cut_armed = 0;
    REQUIRE_OK(kausal_open_vfs(&config, region, bytes, &vfs, &db, NULL));
    stats.struct_size = sizeof stats;
    REQUIRE_OK(kausal_stats(db, &stats));
    CHECK(stats.wal_corrupt_bytes_dropped == 0);
    /* Blocks 1..live, and no other: every synced one, then a prefix of the rest. */
    CHECK(stats.blocks_live >= synced_last && stats.blocks_live <= last);
    if (completed && op != OP_COMPACT) {
        CHECK(stats.blocks_live == last);
    }
    for (n = 1; n <= last; n++) {
        kausal_id id = ram_id(n);
        kausal_status found = kausal_find_block(db, &id, &view);
        if (n <= stats.blocks_live) {
            CHECK(found == KAUSAL_OK && view.content_len == content_bytes(n) &&
                  view.content[view.content_len - 1] == n);
        } else {
            CHECK(found == KAUSAL_ERROR_NOT_FOUND);
        }
    }
    /* It takes a write that survives the next power loss. */
    REQUIRE_OK(kausal_put_block(db, &after, "after.c", 7, "{}", 2, (const uint8_t *)"x", 1, NULL));
    REQUIRE_OK(kausal_sync(db));
    REQUIRE_OK(kausal_close(db));
    ram_crash(&disk);
    REQUIRE_OK(kausal_open_vfs(&config, region, bytes, &vfs, &db, NULL));
    CHECK(kausal_find_block(db, &after, &view) == KAUSAL_OK && view.content_len == 1);
    REQUIRE_OK(kausal_close(db));
    return completed;
}

/* Every landing of a cut: all lost or landed (names lost or landed), and each file with
 * unsynced data landing alone, whole or torn. Returns the crashes checked. */
static long crash_every_way(enum operation op, long cut, void *region, size_t bytes) {
    int unsynced_files[RAM_FILES_MAX];
    int unsynced_count = 0, names, i, scratch, landing;
    long crashes = 0;
    /* The runs are deterministic: the files this cut leaves unsynced are the same in each. */
    run(op, cut, -1, -1, 0, region, bytes, &scratch);
    for (i = 0; i < RAM_FILES_MAX; i++) {
        if (ram_unsynced(&disk.files[i])) {
            unsynced_files[unsynced_count++] = i;
        }
    }
    for (names = 0; names <= 1; names++) {
        run(op, cut, RAM_LOSE_ALL, -1, names, region, bytes, &scratch);
        run(op, cut, RAM_LAND_ALL, -1, names, region, bytes, &scratch);
        crashes += 2;
    }
    for (i = 0; i < unsynced_count; i++) {
        for (landing = RAM_LAND_ONE; landing <= RAM_TEAR_ONE; landing++) {
            run(op, cut, landing, unsynced_files[i], 1, region, bytes, &scratch);
            crashes++;
        }
    }
    return crashes;
}

int main(void) {
    size_t bytes = 0, required = 0;
    void *region;
    int op, unsynced;
    long cut, cuts_total = 0, crashes_total = 0;
    /* One region for every operation's config: the largest (the host's compaction keeps
     * its place in steps in the region). */
    for (op = OP_FLUSH; op < OP_COUNT; op++) {
        kausal_config config = schedule_config((enum operation)op);
        REQUIRE_OK(kausal_memory_required(&config, &required));
        bytes = required > bytes ? required : bytes;
    }
    region = malloc(bytes);
    for (op = OP_FLUSH; op < OP_COUNT; op++) {
        long crashes = 0;
        for (cut = 0; cut < 10000; cut++) {
            int completed = run((enum operation)op, cut, -1, -1, 0, region, bytes, &unsynced);
            crashes += crash_every_way((enum operation)op, cut, region, bytes);
            if (completed) {
                break;
            }
        }
        CHECK(cut > 1 && cut < 10000);
        printf("test_crash_schedule: %s: power cut at each of %ld callbacks, %ld crashes\n",
               OPERATION_NAMES[op], cut + 1, crashes);
        cuts_total += cut + 1;
        crashes_total += crashes;
    }
    printf("test_crash_schedule: %ld cuts, %ld crashes checked\n", cuts_total, crashes_total);
    free(region);
    return report("test_crash_schedule");
}
