/* A flash chip behind the kausal_vfs callbacks: what a firmware's storage driver gives the
 * engine (see README.md, "Embedded"). Each file is a slot of erase blocks; the chip keeps,
 * per file, what reads see and what survives a power loss (made so by sync), counts the
 * bytes it programs and erases (wear), and can lose power at any callback.
 *
 * What it does for the engine, as the kausal_vfs contract asks:
 * - Erased flash reads 0xFF, but bytes of a file that were never programmed must read as
 *   zeros (the log preallocates segments with truncate and finds its end at zeros). The
 *   chip keeps each file's programmed high-water mark and returns zeros above it, so
 *   preallocating costs no programming and no wear.
 * - A sync makes a file's bytes durable; a directory sync makes creates, removes and
 *   renames durable (a real driver: a metadata journal, or littlefs beneath it).
 * - A power cut loses what was not synced, except that the last write may land torn: a
 *   prefix of it, with a garbage byte where the power failed. */
#ifndef FIRMWARE_FLASH_VFS_H
#define FIRMWARE_FLASH_VFS_H

#include "kausaldb.h"

#include <stdint.h>

#define FLASH_FILES_MAX 10
#define FLASH_FILE_BYTES (24u << 10)
#define FLASH_NAME_BYTES 65

struct flash_file {
    char name[FLASH_NAME_BYTES];         /* live name; "" when removed or free */
    char durable_name[FLASH_NAME_BYTES]; /* the name a power loss keeps */
    uint8_t current[FLASH_FILE_BYTES];
    uint8_t durable[FLASH_FILE_BYTES];
    uint32_t current_bytes;
    uint32_t durable_bytes;
    uint32_t programmed_bytes; /* bytes [0, this) were programmed; above read as zeros */
    uint32_t durable_programmed_bytes;
};

struct flash_chip {
    struct flash_file files[FLASH_FILES_MAX];
    uint32_t calls;       /* callbacks so far */
    uint32_t cut_at;      /* with cut_armed, this callback and every later one fail */
    int cut_armed;
    int last_written;     /* file of the last write, for the torn landing; -1: none */
    uint32_t last_write_end;
    uint64_t bytes_programmed; /* every byte written to the chip (wear) */
    uint64_t bytes_erased;     /* bytes of erase blocks freed by removes and truncates */
    uint64_t bytes_reprogrammed; /* bytes written again below a file's high-water mark */
};

/* The callbacks on `chip`. */
kausal_vfs flash_vfs(struct flash_chip *chip);
/* Erases the whole chip: a new device. */
void flash_format(struct flash_chip *chip);
/* The power fails: every unsynced change is lost, except that, when `tear` is non-zero,
 * the unsynced bytes up to the last write's end land cut short (by `tear` modulo their
 * count) with a garbled byte at the cut, and, when `keep_names` is non-zero, every unsynced
 * create, remove and rename lands. Then the chip powers up again. */
void flash_power_loss(struct flash_chip *chip, uint32_t tear, int keep_names);

#endif
