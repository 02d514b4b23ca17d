/* A host-supplied storage backend: the whole store lives in a RAM buffer owned by this
 * program, reached only through the kausal_vfs callbacks, as firmware with its own flash
 * file system would do it. Nothing here calls malloc: the engine's region is static too.
 *
 *   cc -std=c99 -Iinclude examples/c/custom_vfs.c target/release/libkausaldb.a \
 *      -lpthread -ldl -lm -o custom_vfs && ./custom_vfs
 */
#include "kausaldb.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FILES 12
#define FILE_BYTES (256u * 1024u)
#define NAME_BYTES 65

/* The "flash": a fixed table of files, each a fixed-size byte array. */
static struct {
    char name[NAME_BYTES];
    uint8_t data[FILE_BYTES];
    size_t len;
} flash[FILES];

static int slot_of(const char *name) {
    int i;
    for (i = 0; i < FILES; i++) {
        if (flash[i].name[0] != '\0' && strcmp(flash[i].name, name) == 0) {
            return i;
        }
    }
    return -1;
}

static int32_t flash_create(void *context, const char *name, uint64_t *out_file) {
    int i;
    (void)context;
    if (slot_of(name) >= 0) {
        return KAUSAL_VFS_EXISTS;
    }
    for (i = 0; i < FILES; i++) {
        if (flash[i].name[0] == '\0') {
            strncpy(flash[i].name, name, NAME_BYTES - 1);
            flash[i].len = 0;
            *out_file = (uint64_t)i;
            return KAUSAL_VFS_OK;
        }
    }
    return KAUSAL_VFS_NO_SPACE;
}

static int32_t flash_open(void *context, const char *name, uint64_t *out_file) {
    int i = slot_of(name);
    (void)context;
    if (i < 0) {
        return KAUSAL_VFS_NOT_FOUND;
    }
    *out_file = (uint64_t)i;
    return KAUSAL_VFS_OK;
}

static void flash_close(void *context, uint64_t file) {
    (void)context;
    (void)file;
}

static int32_t flash_read(void *context, uint64_t file, uint64_t offset, uint8_t *buffer,
                          size_t len, size_t *out_read) {
    size_t available = offset < flash[file].len ? flash[file].len - (size_t)offset : 0;
    (void)context;
    *out_read = len < available ? len : available;
    memcpy(buffer, flash[file].data + offset, *out_read);
    return KAUSAL_VFS_OK;
}

static int32_t flash_write(void *context, uint64_t file, uint64_t offset, const uint8_t *data,
                           size_t len) {
    (void)context;
    if (offset + len > FILE_BYTES) {
        return KAUSAL_VFS_NO_SPACE;
    }
    memcpy(flash[file].data + offset, data, len);
    if (offset + len > flash[file].len) {
        flash[file].len = (size_t)(offset + len);
    }
    return KAUSAL_VFS_OK;
}

/* RAM is "durable" as soon as it is written, so the syncs have nothing to do. */
static int32_t flash_sync(void *context, uint64_t file) {
    (void)context;
    (void)file;
    return KAUSAL_VFS_OK;
}

static int32_t flash_size(void *context, uint64_t file, uint64_t *out_size) {
    (void)context;
    *out_size = flash[file].len;
    return KAUSAL_VFS_OK;
}

static int32_t flash_truncate(void *context, uint64_t file, uint64_t len) {
    (void)context;
    if (len > FILE_BYTES) {
        return KAUSAL_VFS_NO_SPACE;
    }
    if (len > flash[file].len) {
        memset(flash[file].data + flash[file].len, 0, (size_t)len - flash[file].len);
    }
    flash[file].len = (size_t)len;
    return KAUSAL_VFS_OK;
}

static int32_t flash_remove(void *context, const char *name) {
    int i = slot_of(name);
    (void)context;
    if (i < 0) {
        return KAUSAL_VFS_NOT_FOUND;
    }
    flash[i].name[0] = '\0';
    return KAUSAL_VFS_OK;
}

static int32_t flash_rename(void *context, const char *from, const char *to) {
    int source = slot_of(from), target = slot_of(to);
    (void)context;
    if (source < 0) {
        return KAUSAL_VFS_NOT_FOUND;
    }
    if (target >= 0 && target != source) {
        flash[target].name[0] = '\0';
    }
    strncpy(flash[source].name, to, NAME_BYTES - 1);
    return KAUSAL_VFS_OK;
}

static int32_t flash_sync_dir(void *context) {
    (void)context;
    return KAUSAL_VFS_OK;
}

static int32_t flash_list(void *context, uint8_t *buffer, size_t len, size_t *out_used) {
    size_t used = 0;
    int i;
    (void)context;
    for (i = 0; i < FILES; i++) {
        size_t name_len = strlen(flash[i].name);
        if (name_len > 0 && used + name_len + 1 <= len) {
            memcpy(buffer + used, flash[i].name, name_len + 1);
        }
        used += name_len > 0 ? name_len + 1 : 0;
    }
    *out_used = used;
    return used <= len ? KAUSAL_VFS_OK : KAUSAL_VFS_BUFFER_TOO_SMALL;
}

static uint8_t region[2u * 1024u * 1024u]; /* the engine's memory: static, no heap */

static void check(kausal_status status, const char *what) {
    if (status != KAUSAL_OK) {
        fprintf(stderr, "%s: %s\n", what, kausal_status_name((int32_t)status));
        exit(1);
    }
}

int main(void) {
    kausal_vfs vfs;
    kausal_config config;
    kausal_db *db = NULL;
    kausal_block_view view;
    kausal_id id;
    size_t needed = 0;
    const char *code = "int blink(void) { return led_toggle(); }";

    /* Zero first: callbacks this host does not have (lock, unlock) stay NULL. */
    memset(&vfs, 0, sizeof vfs);
    vfs.struct_size = sizeof vfs;
    vfs.context = NULL;
    vfs.create = flash_create;
    vfs.open = flash_open;
    vfs.close = flash_close;
    vfs.read = flash_read;
    vfs.write = flash_write;
    vfs.sync = flash_sync;
    vfs.size = flash_size;
    vfs.truncate = flash_truncate;
    vfs.remove = flash_remove;
    vfs.rename = flash_rename;
    vfs.sync_dir = flash_sync_dir;
    vfs.list = flash_list;

    /* A firmware-sized store: 256 blocks, 1,024 edges, 256 KiB of payload. */
    check(kausal_config_init(&config, sizeof config), "config");
    config.memtable_entries_max = 256;
    config.memtable_edges_max = 1024;
    config.memtable_arena_bytes_max = 256u * 1024u;
    config.content_bytes_max = 4096;
    config.metadata_bytes_max = 512;
    config.source_uri_bytes_max = 256;
    config.wal_segment_bytes_max = FILE_BYTES;
    config.wal_segments_max = 4; /* + 4 tables + 2 manifest files <= FILES */
    config.tables_max = 4;
    config.table_memory_bytes = 64u * 1024u;
    config.table_page_bytes = 4096;
    config.files_max = FILES;
    config.wal_buffer_bytes = 8192;
    config.read_buffer_bytes = 8192;
    check(kausal_memory_required(&config, &needed), "memory_required");
    printf("region needed: %zu bytes of %zu\n", needed, sizeof region);

    check(kausal_id_derive("fw", 2, "blink", 5, &id), "id");
    check(kausal_open_vfs(&config, region, sizeof region, &vfs, &db, NULL), "open");
    check(kausal_put_block(db, &id, "blink.c", 7, "{\"kind\":\"function\"}", 19,
                           (const uint8_t *)code, strlen(code), NULL),
          "put");
    check(kausal_close(db), "close");

    check(kausal_open_vfs(&config, region, sizeof region, &vfs, &db, NULL), "reopen");
    check(kausal_find_block(db, &id, &view), "find");
    printf("from the RAM store: %.*s\n", (int)view.content_len, (const char *)view.content);
    check(kausal_close(db), "close");
    return 0;
}
