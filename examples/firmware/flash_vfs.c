/* The flash chip of flash_vfs.h. No libc beyond memcpy/memset/memcmp/strcmp (newlib-nano). */
#include "flash_vfs.h"

#include <string.h>

/* Whether the power is off for this callback: from `cut_at` on, every call fails and
 * changes nothing. */
static int powered_off(struct flash_chip *chip) {
    uint32_t call = chip->calls++;
    return chip->cut_armed && call >= chip->cut_at;
}

static int find(const struct flash_chip *chip, const char *name) {
    for (int i = 0; i < FLASH_FILES_MAX; i++) {
        if (chip->files[i].name[0] != '\0' && strcmp(chip->files[i].name, name) == 0) {
            return i;
        }
    }
    return -1;
}

static void copy_name(char *to, const char *from) {
    size_t len = strlen(from);
    if (len >= FLASH_NAME_BYTES) {
        len = FLASH_NAME_BYTES - 1;
    }
    memcpy(to, from, len);
    to[len] = '\0';
}

static int32_t flash_create(void *context, const char *name, uint64_t *out_file) {
    struct flash_chip *chip = context;
    if (powered_off(chip)) {
        return KAUSAL_VFS_IO;
    }
    if (strlen(name) >= FLASH_NAME_BYTES) {
        return KAUSAL_VFS_IO;
    }
    if (find(chip, name) >= 0) {
        return KAUSAL_VFS_EXISTS;
    }
    for (int i = 0; i < FLASH_FILES_MAX; i++) {
        struct flash_file *file = &chip->files[i];
        if (file->name[0] == '\0' && file->durable_name[0] == '\0') {
            copy_name(file->name, name);
            file->current_bytes = 0;
            file->programmed_bytes = 0;
            *out_file = (uint64_t)i;
            return KAUSAL_VFS_OK;
        }
    }
    return KAUSAL_VFS_NO_SPACE;
}

static int32_t flash_open(void *context, const char *name, uint64_t *out_file) {
    struct flash_chip *chip = context;
    if (powered_off(chip)) {
        return KAUSAL_VFS_IO;
    }
    int i = find(chip, name);
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

/* The file a callback on an open file works on; NULL when the power is off or the number
 * names no file. */
static struct flash_file *powered_file(struct flash_chip *chip, uint64_t index) {
    if (powered_off(chip) || index >= FLASH_FILES_MAX) {
        return 0;
    }
    return &chip->files[index];
}

static int32_t flash_read(void *context, uint64_t index, uint64_t offset, uint8_t *buffer,
                          size_t len, size_t *out_read) {
    struct flash_chip *chip = context;
    struct flash_file *file = powered_file(chip, index);
    if (file == 0) {
        return KAUSAL_VFS_IO;
    }
    if (offset >= file->current_bytes) {
        *out_read = 0;
        return KAUSAL_VFS_OK;
    }
    uint32_t end = file->current_bytes;
    if (len < end - offset) {
        end = (uint32_t)(offset + len);
    }
    for (uint32_t at = (uint32_t)offset; at < end; at++) {
        /* Above the high-water mark the cells are erased (0xFF): they read as zeros. */
        buffer[at - offset] = at < file->programmed_bytes ? file->current[at] : 0;
    }
    *out_read = end - (uint32_t)offset;
    return KAUSAL_VFS_OK;
}

static int32_t flash_write(void *context, uint64_t index, uint64_t offset, const uint8_t *data,
                           size_t len) {
    struct flash_chip *chip = context;
    struct flash_file *file = powered_file(chip, index);
    if (file == 0) {
        return KAUSAL_VFS_IO;
    }
    if (offset > FLASH_FILE_BYTES || len > FLASH_FILE_BYTES - offset) {
        return KAUSAL_VFS_NO_SPACE;
    }
    uint32_t from = (uint32_t)offset;
    /* A gap below the write is programmed as zeros, as a driver that cannot leave erased
     * holes would. */
    if (from > file->programmed_bytes) {
        memset(file->current + file->programmed_bytes, 0, from - file->programmed_bytes);
        chip->bytes_programmed += from - file->programmed_bytes;
    }
    if (from < file->programmed_bytes) {
        uint32_t below = file->programmed_bytes - from;
        chip->bytes_reprogrammed += below < len ? below : len;
    }
    memcpy(file->current + from, data, len);
    chip->bytes_programmed += len;
    if (from + len > file->programmed_bytes) {
        file->programmed_bytes = from + (uint32_t)len;
    }
    if (from + len > file->current_bytes) {
        file->current_bytes = from + (uint32_t)len;
    }
    chip->last_written = (int)index;
    chip->last_write_end = from + (uint32_t)len;
    return KAUSAL_VFS_OK;
}

static int32_t flash_sync(void *context, uint64_t index) {
    struct flash_chip *chip = context;
    struct flash_file *file = powered_file(chip, index);
    if (file == 0) {
        return KAUSAL_VFS_IO;
    }
    memcpy(file->durable, file->current, file->programmed_bytes);
    file->durable_bytes = file->current_bytes;
    file->durable_programmed_bytes = file->programmed_bytes;
    return KAUSAL_VFS_OK;
}

static int32_t flash_size(void *context, uint64_t index, uint64_t *out_size) {
    struct flash_chip *chip = context;
    struct flash_file *file = powered_file(chip, index);
    if (file == 0) {
        return KAUSAL_VFS_IO;
    }
    *out_size = file->current_bytes;
    return KAUSAL_VFS_OK;
}

static int32_t flash_truncate(void *context, uint64_t index, uint64_t len) {
    struct flash_chip *chip = context;
    struct flash_file *file = powered_file(chip, index);
    if (file == 0) {
        return KAUSAL_VFS_IO;
    }
    if (len > FLASH_FILE_BYTES) {
        return KAUSAL_VFS_NO_SPACE;
    }
    /* Shrinking erases what was programmed past the new end; growing programs nothing. */
    if (len < file->programmed_bytes) {
        chip->bytes_erased += file->programmed_bytes - len;
        file->programmed_bytes = (uint32_t)len;
    }
    file->current_bytes = (uint32_t)len;
    return KAUSAL_VFS_OK;
}

static int32_t flash_remove(void *context, const char *name) {
    struct flash_chip *chip = context;
    if (powered_off(chip)) {
        return KAUSAL_VFS_IO;
    }
    int i = find(chip, name);
    if (i < 0) {
        return KAUSAL_VFS_NOT_FOUND;
    }
    chip->files[i].name[0] = '\0';
    return KAUSAL_VFS_OK;
}

static int32_t flash_rename(void *context, const char *from, const char *to) {
    struct flash_chip *chip = context;
    if (powered_off(chip)) {
        return KAUSAL_VFS_IO;
    }
    int source = find(chip, from);
    if (source < 0) {
        return KAUSAL_VFS_NOT_FOUND;
    }
    int target = find(chip, to);
    if (target >= 0 && target != source) {
        chip->files[target].name[0] = '\0';
    }
    copy_name(chip->files[source].name, to);
    return KAUSAL_VFS_OK;
}

/* Frees the slots no name refers to any more: their erase blocks are erased. */
static void release_unnamed(struct flash_chip *chip) {
    for (int i = 0; i < FLASH_FILES_MAX; i++) {
        struct flash_file *file = &chip->files[i];
        if (file->name[0] == '\0' && file->durable_name[0] == '\0' &&
            (file->current_bytes != 0 || file->durable_bytes != 0)) {
            chip->bytes_erased += file->programmed_bytes;
            file->current_bytes = file->durable_bytes = 0;
            file->programmed_bytes = file->durable_programmed_bytes = 0;
        }
    }
}

static int32_t flash_sync_dir(void *context) {
    struct flash_chip *chip = context;
    if (powered_off(chip)) {
        return KAUSAL_VFS_IO;
    }
    for (int i = 0; i < FLASH_FILES_MAX; i++) {
        memcpy(chip->files[i].durable_name, chip->files[i].name, FLASH_NAME_BYTES);
    }
    release_unnamed(chip);
    return KAUSAL_VFS_OK;
}

static int32_t flash_list(void *context, uint8_t *buffer, size_t len, size_t *out_used) {
    struct flash_chip *chip = context;
    if (powered_off(chip)) {
        return KAUSAL_VFS_IO;
    }
    size_t used = 0;
    for (int i = 0; i < FLASH_FILES_MAX; i++) {
        used += chip->files[i].name[0] != '\0' ? strlen(chip->files[i].name) + 1 : 0;
    }
    if (used > len) {
        *out_used = used;
        return KAUSAL_VFS_BUFFER_TOO_SMALL;
    }
    used = 0;
    for (int i = 0; i < FLASH_FILES_MAX; i++) {
        size_t bytes = strlen(chip->files[i].name);
        if (bytes != 0) {
            memcpy(buffer + used, chip->files[i].name, bytes + 1);
            used += bytes + 1;
        }
    }
    *out_used = used;
    return KAUSAL_VFS_OK;
}

kausal_vfs flash_vfs(struct flash_chip *chip) {
    kausal_vfs vfs;
    memset(&vfs, 0, sizeof vfs);
    vfs.struct_size = sizeof vfs;
    vfs.context = chip;
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
    return vfs;
}

void flash_format(struct flash_chip *chip) {
    memset(chip, 0, sizeof *chip);
    chip->last_written = -1;
}

/* The last write's unsynced bytes land up to `tear` bytes before its end, the byte at the
 * cut garbled: the torn write the contract allows (one write, a prefix, one bad byte). */
static void land_torn(struct flash_chip *chip, uint32_t tear) {
    struct flash_file *file = &chip->files[chip->last_written];
    uint32_t end = chip->last_write_end;
    uint32_t from = file->durable_programmed_bytes;
    if (file->durable_name[0] == '\0' || end <= from || end > file->programmed_bytes) {
        return;
    }
    uint32_t cut = end - (tear % (end - from + 1));
    memcpy(file->durable + from, file->current + from, cut - from);
    if (cut < end) {
        file->durable[cut] = (uint8_t)(file->current[cut] ^ 0x5A);
        cut++;
    }
    file->durable_programmed_bytes = cut;
    if (cut > file->durable_bytes) {
        file->durable_bytes = cut;
    }
}

void flash_power_loss(struct flash_chip *chip, uint32_t tear, int keep_names) {
    if (tear != 0 && chip->last_written >= 0) {
        land_torn(chip, tear);
    }
    for (int i = 0; i < FLASH_FILES_MAX; i++) {
        struct flash_file *file = &chip->files[i];
        if (keep_names) {
            memcpy(file->durable_name, file->name, FLASH_NAME_BYTES);
        }
        memcpy(file->name, file->durable_name, FLASH_NAME_BYTES);
        if (file->durable_name[0] == '\0') {
            file->durable_bytes = file->durable_programmed_bytes = 0;
        }
        memcpy(file->current, file->durable, file->durable_programmed_bytes);
        file->current_bytes = file->durable_bytes;
        file->programmed_bytes = file->durable_programmed_bytes;
    }
    release_unnamed(chip);
    chip->cut_armed = 0;
    chip->last_written = -1;
}
