/* The small config the directory-backed C tests share: a 64-entry memtable (so flushes
 * come soon), 4 KiB content, 16 KiB buffers. */
#ifndef KAUSALDB_TEST_CONFIGS_H
#define KAUSALDB_TEST_CONFIGS_H

#include "check.h"

static inline kausal_config small_config(void) {
    kausal_config config;
    REQUIRE_OK(kausal_config_init(&config, sizeof config));
    config.memtable_entries_max = 64;
    config.memtable_edges_max = 64;
    config.memtable_arena_bytes_max = 256 * 1024;
    config.content_bytes_max = 4096;
    config.wal_buffer_bytes = 16 * 1024;
    config.read_buffer_bytes = 16 * 1024;
    return config;
}

#endif
