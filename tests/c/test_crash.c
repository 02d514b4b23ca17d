/* A real crash: a child process writes and syncs in a loop and is killed with SIGKILL at a
 * random moment; the parent reopens the store and checks that every write the child
 * reported synced is there, and that the store holds a whole prefix of the writes, none of
 * them half-written. Repeated for many kill points; the seed is printed to replay. */
#define _POSIX_C_SOURCE 200809L
#include "check.h"

#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KILLS 24
#define SYNC_EVERY 3

static kausal_id id_of(uint64_t n) {
    kausal_id id;
    int i;
    memset(&id, 0, sizeof id);
    for (i = 0; i < 8; i++) {
        id.bytes[15 - i] = (uint8_t)(n >> (8 * i));
    }
    return id;
}

static size_t content_of(uint64_t n, char *buffer, size_t len) {
    int written = snprintf(buffer, len, "block %llu:", (unsigned long long)n);
    size_t used = (size_t)written, extra = (size_t)(n % 200);
    memset(buffer + used, (int)('a' + n % 26), extra);
    return used + extra;
}

static kausal_config crash_config(void) {
    kausal_config config;
    REQUIRE_OK(kausal_config_init(&config, sizeof config));
    config.memtable_entries_max = 1 << 16;
    config.memtable_edges_max = 1024;
    config.memtable_arena_bytes_max = 32u << 20;
    return config;
}

/* The child: continues after the blocks already stored, reports each sync on the pipe. */
static void child(const char *directory, int pipe_out) {
    kausal_config config = crash_config();
    kausal_store_stats stats;
    kausal_db *db = NULL;
    size_t bytes = 0;
    void *region;
    uint64_t n;
    char content[300];
    REQUIRE_OK(kausal_memory_required(&config, &bytes));
    region = malloc(bytes);
    REQUIRE_OK(kausal_open_dir(&config, region, bytes, directory, &db, NULL));
    stats.struct_size = sizeof stats;
    REQUIRE_OK(kausal_stats(db, &stats));
    for (n = stats.blocks_live + 1;; n++) {
        kausal_id id = id_of(n);
        size_t len = content_of(n, content, sizeof content);
        if (kausal_put_block(db, &id, "crash.c", 7, "{}", 2, (const uint8_t *)content, len,
                             NULL) != KAUSAL_OK) {
            pause(); /* full: wait for the kill like every other round */
        }
        if (n % SYNC_EVERY == 0) {
            REQUIRE_OK(kausal_sync(db));
            if (write(pipe_out, &n, sizeof n) != (ssize_t)sizeof n) {
                _exit(3);
            }
        }
    }
}

static uint64_t check_store(const char *directory, void *region, size_t bytes, uint64_t synced,
                            uint64_t before) {
    kausal_config config = crash_config();
    kausal_store_stats stats;
    kausal_db *db = NULL;
    kausal_block_view view;
    char content[300];
    uint64_t n, live;
    kausal_id next;
    REQUIRE_OK(kausal_open_dir(&config, region, bytes, directory, &db, NULL));
    stats.struct_size = sizeof stats;
    REQUIRE_OK(kausal_stats(db, &stats));
    live = stats.blocks_live;
    CHECK(live >= synced);
    CHECK(live >= before);
    for (n = 1; n <= live; n++) {
        kausal_id id = id_of(n);
        size_t len = content_of(n, content, sizeof content);
        if (kausal_find_block(db, &id, &view) != KAUSAL_OK || view.content_len != len ||
            memcmp(view.content, content, len) != 0) {
            CHECK(!"a stored block is missing or damaged");
            break;
        }
    }
    next = id_of(live + 1);
    CHECK_STATUS(kausal_find_block(db, &next, &view), KAUSAL_ERROR_NOT_FOUND);
    REQUIRE_OK(kausal_close(db));
    return live;
}

int main(void) {
    char directory[] = "/tmp/kausaldb-c-crash-XXXXXX";
    kausal_config config = crash_config();
    unsigned seed = (unsigned)time(NULL);
    uint64_t stored = 0;
    size_t bytes = 0;
    void *region;
    int kill_index;
    char command[600];
    if (getenv("KAUSAL_SEED") != NULL) {
        seed = (unsigned)strtoul(getenv("KAUSAL_SEED"), NULL, 10);
    }
    printf("test_crash: seed %u (replay: KAUSAL_SEED=%u)\n", seed, seed);
    srand(seed);
    if (mkdtemp(directory) == NULL) {
        return 2;
    }
    REQUIRE_OK(kausal_memory_required(&config, &bytes));
    region = malloc(bytes);
    for (kill_index = 0; kill_index < KILLS; kill_index++) {
        int fds[2];
        pid_t pid;
        uint64_t synced = 0, reported;
        struct timespec delay;
        if (pipe(fds) != 0) {
            return 2;
        }
        pid = fork();
        if (pid == 0) {
            close(fds[0]);
            child(directory, fds[1]);
            _exit(0);
        }
        close(fds[1]);
        /* Odd rounds wait for the child's first sync, so every round makes progress even
         * under valgrind; even rounds may kill it anywhere, recovery at open included. */
        if (kill_index % 2 == 1 &&
            read(fds[0], &reported, sizeof reported) == (ssize_t)sizeof reported) {
            synced = reported;
        }
        delay.tv_sec = 0;
        delay.tv_nsec = (long)(5 + rand() % 80) * 1000000L;
        nanosleep(&delay, NULL);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        while (read(fds[0], &reported, sizeof reported) == (ssize_t)sizeof reported) {
            synced = reported;
        }
        close(fds[0]);
        stored = check_store(directory, region, bytes, synced, stored);
    }
    CHECK(stored > 0);
    printf("test_crash: %d kills, %llu blocks stored, all intact\n", KILLS,
           (unsigned long long)stored);
    free(region);
    snprintf(command, sizeof command, "rm -rf %s", directory);
    if (system(command) != 0) {
        fprintf(stderr, "could not remove %s\n", directory);
    }
    return report("test_crash");
}
