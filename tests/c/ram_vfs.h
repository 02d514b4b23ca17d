/* A RAM file system for the C tests, behind the kausal_vfs callbacks: each file keeps what
 * reads see and what survives a simulated power loss (written by sync), and any call can be
 * made to fail, a failing write storing only a prefix of its data (torn). */
#ifndef KAUSALDB_TEST_RAM_VFS_H
#define KAUSALDB_TEST_RAM_VFS_H

#include "kausaldb.h"

#include <stdint.h>
#include <string.h>

#define RAM_FILES_MAX 16
#define RAM_FILE_BYTES (1u << 20)
#define RAM_NAME_BYTES 65

struct ram_file {
    char name[RAM_NAME_BYTES];         /* live name; "" when removed or free */
    char durable_name[RAM_NAME_BYTES]; /* name that survives a crash */
    uint8_t current[RAM_FILE_BYTES];
    uint8_t durable[RAM_FILE_BYTES];
    size_t current_bytes;
    size_t durable_bytes;
};

struct ram_disk {
    struct ram_file files[RAM_FILES_MAX];
    long calls;   /* callbacks made so far (close excluded) */
    long fail_at; /* the callback with this index fails; -1: none */
    long failures;
    int cut_armed; /* a power cut: from callback `cut_at` on, every one fails, storing nothing */
    long cut_at;
    uint32_t lock_holder; /* the handle token holding the store; 0: none */
    uint32_t lock_tokens; /* tokens handed out so far */
};

/* 1: this callback fails (a write stores half its data: torn); 2: the power is cut, this
 * and every later callback fails and stores nothing. */
static int ram_fault(struct ram_disk *disk) {
    long call = disk->calls++;
    if (disk->cut_armed && call >= disk->cut_at) {
        disk->failures++;
        return 2;
    }
    if (call == disk->fail_at) {
        disk->failures++;
        return 1;
    }
    return 0;
}

static int ram_find(struct ram_disk *disk, const char *name) {
    int i;
    for (i = 0; i < RAM_FILES_MAX; i++) {
        if (disk->files[i].name[0] != '\0' && strcmp(disk->files[i].name, name) == 0) {
            return i;
        }
    }
    return -1;
}

static int32_t ram_create(void *context, const char *name, uint64_t *out_file) {
    struct ram_disk *disk = (struct ram_disk *)context;
    int i;
    if (ram_fault(disk)) {
        return KAUSAL_VFS_IO;
    }
    if (ram_find(disk, name) >= 0) {
        return KAUSAL_VFS_EXISTS;
    }
    for (i = 0; i < RAM_FILES_MAX; i++) {
        struct ram_file *file = &disk->files[i];
        if (file->name[0] == '\0' && file->durable_name[0] == '\0') {
            strncpy(file->name, name, RAM_NAME_BYTES - 1);
            file->current_bytes = 0;
            file->durable_bytes = 0;
            *out_file = (uint64_t)i;
            return KAUSAL_VFS_OK;
        }
    }
    return KAUSAL_VFS_NO_SPACE;
}

static int32_t ram_open(void *context, const char *name, uint64_t *out_file) {
    struct ram_disk *disk = (struct ram_disk *)context;
    int i;
    if (ram_fault(disk)) {
        return KAUSAL_VFS_IO;
    }
    i = ram_find(disk, name);
    if (i < 0) {
        return KAUSAL_VFS_NOT_FOUND;
    }
    *out_file = (uint64_t)i;
    return KAUSAL_VFS_OK;
}

static void ram_close(void *context, uint64_t file) {
    (void)context;
    (void)file;
}

static int32_t ram_read(void *context, uint64_t index, uint64_t offset, uint8_t *buffer,
                        size_t len, size_t *out_read) {
    struct ram_disk *disk = (struct ram_disk *)context;
    struct ram_file *file = &disk->files[index % RAM_FILES_MAX];
    size_t available;
    if (ram_fault(disk)) {
        return KAUSAL_VFS_IO;
    }
    available = offset < file->current_bytes ? file->current_bytes - (size_t)offset : 0;
    if (len > available) {
        len = available;
    }
    if (len > 0) {
        memcpy(buffer, file->current + offset, len);
    }
    *out_read = len;
    return KAUSAL_VFS_OK;
}

static int32_t ram_write(void *context, uint64_t index, uint64_t offset, const uint8_t *data,
                         size_t len) {
    struct ram_disk *disk = (struct ram_disk *)context;
    struct ram_file *file = &disk->files[index % RAM_FILES_MAX];
    int failing = ram_fault(disk);
    if (failing == 2) {
        return KAUSAL_VFS_IO;
    }
    if (offset + len > RAM_FILE_BYTES) {
        return KAUSAL_VFS_NO_SPACE;
    }
    if (failing) {
        len /= 2; /* a torn write: half of it lands */
    }
    memcpy(file->current + offset, data, len);
    if (len > 0 && offset + len > file->current_bytes) {
        file->current_bytes = (size_t)offset + len;
    }
    return failing ? KAUSAL_VFS_IO : KAUSAL_VFS_OK;
}

static int32_t ram_sync(void *context, uint64_t index) {
    struct ram_disk *disk = (struct ram_disk *)context;
    struct ram_file *file = &disk->files[index % RAM_FILES_MAX];
    if (ram_fault(disk)) {
        return KAUSAL_VFS_IO;
    }
    memcpy(file->durable, file->current, file->current_bytes);
    file->durable_bytes = file->current_bytes;
    return KAUSAL_VFS_OK;
}

static int32_t ram_size(void *context, uint64_t index, uint64_t *out_size) {
    struct ram_disk *disk = (struct ram_disk *)context;
    if (ram_fault(disk)) {
        return KAUSAL_VFS_IO;
    }
    *out_size = disk->files[index % RAM_FILES_MAX].current_bytes;
    return KAUSAL_VFS_OK;
}

static int32_t ram_truncate(void *context, uint64_t index, uint64_t len) {
    struct ram_disk *disk = (struct ram_disk *)context;
    struct ram_file *file = &disk->files[index % RAM_FILES_MAX];
    if (ram_fault(disk)) {
        return KAUSAL_VFS_IO;
    }
    if (len > RAM_FILE_BYTES) {
        return KAUSAL_VFS_NO_SPACE;
    }
    if (len > file->current_bytes) {
        memset(file->current + file->current_bytes, 0, (size_t)len - file->current_bytes);
    }
    file->current_bytes = (size_t)len;
    return KAUSAL_VFS_OK;
}

static int32_t ram_remove(void *context, const char *name) {
    struct ram_disk *disk = (struct ram_disk *)context;
    int i;
    if (ram_fault(disk)) {
        return KAUSAL_VFS_IO;
    }
    i = ram_find(disk, name);
    if (i < 0) {
        return KAUSAL_VFS_NOT_FOUND;
    }
    disk->files[i].name[0] = '\0';
    return KAUSAL_VFS_OK;
}

static int32_t ram_rename(void *context, const char *from, const char *to) {
    struct ram_disk *disk = (struct ram_disk *)context;
    int source, target;
    if (ram_fault(disk)) {
        return KAUSAL_VFS_IO;
    }
    source = ram_find(disk, from);
    if (source < 0) {
        return KAUSAL_VFS_NOT_FOUND;
    }
    target = ram_find(disk, to);
    if (target >= 0 && target != source) {
        disk->files[target].name[0] = '\0';
    }
    strncpy(disk->files[source].name, to, RAM_NAME_BYTES - 1);
    return KAUSAL_VFS_OK;
}

static int32_t ram_sync_dir(void *context) {
    struct ram_disk *disk = (struct ram_disk *)context;
    int i;
    if (ram_fault(disk)) {
        return KAUSAL_VFS_IO;
    }
    for (i = 0; i < RAM_FILES_MAX; i++) {
        memcpy(disk->files[i].durable_name, disk->files[i].name, RAM_NAME_BYTES);
    }
    return KAUSAL_VFS_OK;
}

static int32_t ram_list(void *context, uint8_t *buffer, size_t len, size_t *out_used) {
    struct ram_disk *disk = (struct ram_disk *)context;
    size_t used = 0;
    int i;
    if (ram_fault(disk)) {
        return KAUSAL_VFS_IO;
    }
    for (i = 0; i < RAM_FILES_MAX; i++) {
        size_t name_len = strlen(disk->files[i].name);
        if (name_len == 0) {
            continue;
        }
        if (used + name_len + 1 <= len) {
            memcpy(buffer + used, disk->files[i].name, name_len + 1);
        }
        used += name_len + 1;
    }
    *out_used = used;
    return used <= len ? KAUSAL_VFS_OK : KAUSAL_VFS_BUFFER_TOO_SMALL;
}

/* The store's lock: one holder at a time, like the POSIX backend's flock. */
static int32_t ram_lock(void *context, uint32_t *out_holder) {
    struct ram_disk *disk = context;
    if (disk->lock_holder != 0) {
        *out_holder = disk->lock_holder;
        return KAUSAL_VFS_LOCKED;
    }
    disk->lock_holder = ++disk->lock_tokens;
    return KAUSAL_VFS_OK;
}

static void ram_unlock(void *context) {
    struct ram_disk *disk = context;
    disk->lock_holder = 0;
}

/* Power loss: unsynced data and unsynced names are gone. */
static inline void ram_crash(struct ram_disk *disk) {
    int i;
    for (i = 0; i < RAM_FILES_MAX; i++) {
        struct ram_file *file = &disk->files[i];
        memcpy(file->name, file->durable_name, RAM_NAME_BYTES);
        if (file->name[0] == '\0') {
            file->durable_bytes = 0;
        }
        memcpy(file->current, file->durable, file->durable_bytes);
        file->current_bytes = file->durable_bytes;
    }
}

/* Empties the disk for a new run, clearing only the bytes used (a memset of the whole
 * disk, 32 MiB, per run is slow under valgrind). */
static inline void ram_reset(struct ram_disk *disk) {
    int i;
    for (i = 0; i < RAM_FILES_MAX; i++) {
        struct ram_file *file = &disk->files[i];
        memset(file->current, 0, file->current_bytes);
        memset(file->durable, 0, file->durable_bytes);
        file->current_bytes = 0;
        file->durable_bytes = 0;
        file->name[0] = '\0';
        file->durable_name[0] = '\0';
    }
    disk->calls = 0;
    disk->fail_at = -1;
    disk->failures = 0;
    disk->cut_armed = 0;
    disk->lock_holder = 0;
}

/* Whether file i holds data or a length no sync made durable. */
static inline int ram_unsynced(const struct ram_file *file) {
    return file->current_bytes != file->durable_bytes ||
           memcmp(file->current, file->durable, file->current_bytes) != 0;
}

/* How a planned power loss treats the unsynced data (ram_crash_as). */
enum ram_landing {
    RAM_LOSE_ALL,   /* none of it lands (as ram_crash) */
    RAM_LAND_ALL,   /* all of it lands */
    RAM_LAND_ONE,   /* only file `which`'s lands: the device reordered it first */
    RAM_TEAR_ONE    /* only file `which`'s, torn: the first half of what changed */
};

/* A power loss that lands the unsynced data as `landing` says, and the unsynced creates,
 * removes and renames too if `names_land`. */
static inline void ram_crash_as(struct ram_disk *disk, enum ram_landing landing, int which,
                                int names_land) {
    int i;
    for (i = 0; i < RAM_FILES_MAX; i++) {
        struct ram_file *file = &disk->files[i];
        int lands = landing == RAM_LAND_ALL || (landing != RAM_LOSE_ALL && i == which);
        if (lands && landing == RAM_TEAR_ONE && file->current_bytes > file->durable_bytes) {
            size_t from = 0, to;
            while (from < file->durable_bytes && file->current[from] == file->durable[from]) {
                from++;
            }
            to = from + (file->current_bytes - from) / 2;
            memcpy(file->durable + from, file->current + from, to - from);
            file->durable_bytes = to > file->durable_bytes ? to : file->durable_bytes;
        } else if (lands && landing != RAM_TEAR_ONE) {
            if (file->current_bytes < file->durable_bytes) {
                memset(file->durable + file->current_bytes, 0,
                       file->durable_bytes - file->current_bytes);
            }
            memcpy(file->durable, file->current, file->current_bytes);
            file->durable_bytes = file->current_bytes;
        }
        if (names_land) {
            memcpy(file->durable_name, file->name, RAM_NAME_BYTES);
        }
    }
    ram_crash(disk);
}

/* Block id n (1..255): zeros but the last byte. */
static kausal_id ram_id(uint8_t n) {
    kausal_id id;
    memset(&id, 0, sizeof id);
    id.bytes[15] = n;
    return id;
}

/* A small config for stores on a RAM disk: a few KiB segments, 1 KiB table pages. */
static kausal_config ram_config(void) {
    kausal_config config;
    REQUIRE_OK(kausal_config_init(&config, sizeof config));
    config.memtable_entries_max = 256;
    config.memtable_edges_max = 256;
    config.memtable_arena_bytes_max = 1u << 20;
    config.content_bytes_max = 1024;
    config.source_uri_bytes_max = 256;
    config.metadata_bytes_max = 256;
    config.wal_segment_bytes_max = 8192;
    config.wal_segments_max = 10;
    config.files_max = 16;
    config.tables_max = 4;
    config.table_memory_bytes = 64 * 1024;
    config.table_page_bytes = 1024;
    config.wal_buffer_bytes = 4096;
    config.read_buffer_bytes = 4096;
    return config;
}

static kausal_vfs ram_vfs(struct ram_disk *disk) {
    kausal_vfs vfs;
    memset(&vfs, 0, sizeof vfs);
    vfs.struct_size = sizeof vfs;
    vfs.context = disk;
    vfs.create = ram_create;
    vfs.open = ram_open;
    vfs.close = ram_close;
    vfs.read = ram_read;
    vfs.write = ram_write;
    vfs.sync = ram_sync;
    vfs.size = ram_size;
    vfs.truncate = ram_truncate;
    vfs.remove = ram_remove;
    vfs.rename = ram_rename;
    vfs.sync_dir = ram_sync_dir;
    vfs.list = ram_list;
    vfs.lock = ram_lock;
    vfs.unlock = ram_unlock;
    return vfs;
}

#endif
