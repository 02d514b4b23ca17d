/*
 * KausalDB: an embeddable code-graph database. The C API.
 * Generated from ffi/ by cbindgen (cargo xtask header). Do not edit.
 *
 * Conventions
 * - Every fallible function returns kausal_status: KAUSAL_OK (0) or an error code. Codes
 *   are never reused. kausal_status_name() and kausal_status_message() describe them.
 * - Outputs go through out-parameters and are written only on success. The one exception
 *   is KAUSAL_ERROR_BUFFER_TOO_SMALL, which also writes the count needed.
 * - Every pointer argument is checked: NULL gives KAUSAL_ERROR_NULL_ARGUMENT, never a
 *   crash. A buffer pointer may be NULL only when its length is 0.
 * - Nothing is allocated. The caller gives each store one region of memory (size from
 *   kausal_memory_required) that holds the handle and every byte the engine uses. The
 *   region stays the caller's to free, after kausal_close.
 * - Structs that may grow carry struct_size; set it to sizeof(the struct) (the
 *   kausal_config_default output already has it).
 *
 * Threads: a kausal_db handle is single-threaded. The host must serialise every call on
 * one handle (a mutex around the handle is enough); distinct handles are independent.
 *
 * Lifetimes: pointers in a kausal_block_view point into the region or into a memory-mapped
 * table, and stay valid until the next call of any kausal_ function on that handle (a read
 * may reuse the buffer or the mapping they point into). Copy what you keep.
 *
 * Durability: after kausal_sync returns KAUSAL_OK every earlier write survives any crash;
 * a crash otherwise leaves a prefix of the writes. See README.md.
 */


#ifndef KAUSALDB_H
#define KAUSALDB_H

#include <stddef.h>
#include <stdint.h>
#if UINTPTR_MAX > 0xFFFFFFFFu
#define KAUSAL_POINTER_64 1
#else
#define KAUSAL_POINTER_32 1
#endif


/**
 * Library version, major part; `kausal_version()` returns the whole as text.
 */
#define KAUSAL_VERSION_MAJOR 0

/**
 * Library version, minor part.
 */
#define KAUSAL_VERSION_MINOR 2

/**
 * Library version, patch part.
 */
#define KAUSAL_VERSION_PATCH 0

/**
 * Most edge types one filter may list.
 */
#define KAUSAL_FILTER_TYPES_MAX 64

/**
 * Most blocks a traversal may visit (`query_nodes_max`) and results it may return.
 */
#define KAUSAL_RESULTS_MAX_LIMIT (1 << 24)

/**
 * Deepest traversal accepted.
 */
#define KAUSAL_DEPTH_MAX_LIMIT 100

/**
 * Most start ids one traversal accepts.
 */
#define KAUSAL_STARTS_MAX 256

/**
 * No resource (the error is not a capacity error).
 */
#define KAUSAL_RESOURCE_NONE 0

/**
 * `memtable_entries_max` entries are in use (block versions, tombstones, stubs).
 */
#define KAUSAL_RESOURCE_MEMTABLE_ENTRIES 1

/**
 * `memtable_edges_max` edge records are in use.
 */
#define KAUSAL_RESOURCE_MEMTABLE_EDGES 2

/**
 * `memtable_arena_bytes_max` payload bytes are in use.
 */
#define KAUSAL_RESOURCE_MEMTABLE_ARENA_BYTES 3

/**
 * `wal_segments_max` log segments exist.
 */
#define KAUSAL_RESOURCE_WAL_SEGMENTS 4

/**
 * `table_memory_bytes` (blooms and indexes of open tables) is in use.
 */
#define KAUSAL_RESOURCE_TABLE_MEMORY 5

/**
 * Too few of `tables_max` table slots are free for a flush (it writes a table for its blocks
 * and one for its edges); `kausal_compact_step` must merge some first.
 */
#define KAUSAL_RESOURCE_TABLES 6

/**
 * A logged record is longer than this config's limits (the store was written with larger).
 */
#define KAUSAL_RESOURCE_RECORD_BYTES 7

/**
 * No corruption (the error is not `KAUSAL_ERROR_CORRUPTION`).
 */
#define KAUSAL_CORRUPTION_NONE 0

/**
 * A log frame that was provably synced fails its checks.
 */
#define KAUSAL_CORRUPTION_WAL_FRAME 1

/**
 * A log segment header is damaged, yet later segments prove it was synced.
 */
#define KAUSAL_CORRUPTION_WAL_SEGMENT_HEADER 2

/**
 * The log segments do not join up (one is missing).
 */
#define KAUSAL_CORRUPTION_WAL_SEGMENT_GAP 3

/**
 * The log ends before the durable end the last clean close recorded.
 */
#define KAUSAL_CORRUPTION_WAL_TAIL 4

/**
 * A file name in the store directory is not valid UTF-8 or is too long.
 */
#define KAUSAL_CORRUPTION_DIRECTORY_LISTING 5

/**
 * A table's footer, index, bloom filter or a page fails its checks.
 */
#define KAUSAL_CORRUPTION_TABLE 6

/**
 * The manifest fails its checks, names a missing table, or is missing after a flush.
 */
#define KAUSAL_CORRUPTION_MANIFEST 7

/**
 * Bytes of `kausal_error_detail::field`, NUL included.
 */
#define KAUSAL_ERROR_FIELD_BYTES 40

/**
 * Bytes of `kausal_error_detail::file`, NUL included.
 */
#define KAUSAL_ERROR_FILE_BYTES 72

/**
 * Bytes of `kausal_error_detail::message`, NUL included.
 */
#define KAUSAL_ERROR_MESSAGE_BYTES 256

/**
 * `sizeof(kausal_error_detail)` in this version, the smallest `struct_size` accepted.
 */
#define KAUSAL_ERROR_DETAIL_SIZE_V1 416

/**
 * `kausal_event.kind`: the log replay of an open begins (not sent: a C host sets its hook
 * after the open; the replay's counters are in `kausal_stats`).
 */
#define KAUSAL_EVENT_RECOVERY_START 1

/**
 * The log replay of an open ended: `bytes` replayed.
 */
#define KAUSAL_EVENT_RECOVERY_END 2

/**
 * A flush begins: `bytes` of in-memory payload.
 */
#define KAUSAL_EVENT_FLUSH_START 3

/**
 * A flush wrote its tables (blocks and edges apart): `bytes` of table files, `tables` in the
 * store after it.
 */
#define KAUSAL_EVENT_FLUSH_END 4

/**
 * A compaction step begins: `tables` tables of `bytes` bytes are merged.
 */
#define KAUSAL_EVENT_COMPACTION_START 5

/**
 * A compaction step wrote its table: `bytes` of table file, `tables` after it.
 */
#define KAUSAL_EVENT_COMPACTION_END 6

/**
 * A write found the memory or the log full and waits for a flush (and compaction).
 */
#define KAUSAL_EVENT_WRITE_STALL_START 7

/**
 * The stalled write goes on; `duration_ns` is the stall.
 */
#define KAUSAL_EVENT_WRITE_STALL_END 8

/**
 * Callback result: success.
 */
#define KAUSAL_VFS_OK 0

/**
 * Callback result: no such file.
 */
#define KAUSAL_VFS_NOT_FOUND 1

/**
 * Callback result: `create` found the name taken.
 */
#define KAUSAL_VFS_EXISTS 2

/**
 * Callback result: the device is full.
 */
#define KAUSAL_VFS_NO_SPACE 3

/**
 * Callback result: `list` needs a larger buffer; it wrote the size needed to `out_used`.
 */
#define KAUSAL_VFS_BUFFER_TOO_SMALL 4

/**
 * Callback result: any other failure.
 */
#define KAUSAL_VFS_IO 5

/**
 * Callback result: `lock` found the store held by another; it wrote the holder's pid (0 if
 * unknown) to `out_holder`.
 */
#define KAUSAL_VFS_LOCKED 6

#if defined(KAUSAL_POINTER_64)
/**
 * The smallest `struct_size` accepted: version 1, without `lock` and `unlock`.
 */
#define KAUSAL_VFS_SIZE_V1 112
#endif

#if defined(KAUSAL_POINTER_32)
/**
 * The smallest `struct_size` accepted: version 1, without `lock` and `unlock`.
 */
#define KAUSAL_VFS_SIZE_V1 56
#endif

#if defined(KAUSAL_POINTER_64)
/**
 * `sizeof(kausal_vfs)` in this version (with `lock` and `unlock`).
 */
#define KAUSAL_VFS_SIZE_V2 128
#endif

#if defined(KAUSAL_POINTER_32)
/**
 * `sizeof(kausal_vfs)` in this version (with `lock` and `unlock`).
 */
#define KAUSAL_VFS_SIZE_V2 64
#endif

/**
 * `sync_policy`: every write is synced before it returns.
 */
#define KAUSAL_SYNC_EVERY_WRITE 0

/**
 * `sync_policy`: writes are durable after `kausal_sync` (group commit).
 */
#define KAUSAL_SYNC_EXPLICIT 1

/**
 * `recovery_mode`: keep the longest valid log prefix; report dropped bytes in stats.
 */
#define KAUSAL_RECOVERY_TOLERANT 0

/**
 * `recovery_mode`: refuse to open a store whose synced log is damaged.
 */
#define KAUSAL_RECOVERY_STRICT 1

/**
 * `sizeof(kausal_config)` of version 1 (without `region_initialized`), the smallest
 * `struct_size` accepted, and what `kausal_config_default` writes.
 */
#define KAUSAL_CONFIG_SIZE_V1 80

/**
 * `sizeof(kausal_config)` of version 2 (`region_initialized`).
 */
#define KAUSAL_CONFIG_SIZE_V2 84

/**
 * `sizeof(kausal_config)` of version 3 (`flush_auto`, `flush_step_bytes`).
 */
#define KAUSAL_CONFIG_SIZE_V3 92

/**
 * `sizeof(kausal_config)` of version 4 (`compaction_step_bytes`).
 */
#define KAUSAL_CONFIG_SIZE_V4 96

/**
 * `sizeof(kausal_config)` of version 5 (`flush_in_steps`), this version.
 */
#define KAUSAL_CONFIG_SIZE_V5 100

/**
 * `kausal_edges` direction: edges whose source is the block.
 */
#define KAUSAL_DIRECTION_OUTGOING 0

/**
 * `kausal_edges` direction: edges whose target is the block.
 */
#define KAUSAL_DIRECTION_INCOMING 1

/**
 * `kausal_edges` direction: both (a self-edge is listed once).
 */
#define KAUSAL_DIRECTION_BOTH 2

/**
 * Filter mode: every edge type.
 */
#define KAUSAL_FILTER_ALL 0

/**
 * Filter mode: only the types listed.
 */
#define KAUSAL_FILTER_INCLUDE 1

/**
 * Filter mode: every type but those listed.
 */
#define KAUSAL_FILTER_EXCLUDE 2

/**
 * A file or module -> what it imports (a module, a file, a symbol).
 */
#define KAUSAL_EDGE_IMPORTS 1

/**
 * A definition -> the file or module it is defined in (the reverse of CONTAINS).
 */
#define KAUSAL_EDGE_DEFINED_IN 2

/**
 * A definition -> a symbol it names without calling it (a type, a constant, a field).
 */
#define KAUSAL_EDGE_REFERENCES 3

/**
 * A file, module or type -> a definition inside it.
 */
#define KAUSAL_EDGE_CONTAINS 4

/**
 * A type -> the type it inherits from or extends.
 */
#define KAUSAL_EDGE_EXTENDS 5

/**
 * A type -> an interface or trait it implements.
 */
#define KAUSAL_EDGE_IMPLEMENTS 6

/**
 * A function or method -> a function or method it calls (kind of callee unknown).
 */
#define KAUSAL_EDGE_CALLS 7

/**
 * A package, build target or file -> one it depends on.
 */
#define KAUSAL_EDGE_DEPENDS_ON 8

/**
 * A method -> the type it belongs to.
 */
#define KAUSAL_EDGE_METHOD_OF 9

/**
 * A function or method -> a method it calls through a receiver.
 */
#define KAUSAL_EDGE_CALLS_METHOD 10

/**
 * A function or method -> a free function it calls.
 */
#define KAUSAL_EDGE_CALLS_FUNCTION 11

/**
 * First code of the host-defined edge types (their meaning is the host's).
 */
#define KAUSAL_EDGE_HOST_MIN 32768

/**
 * Last code of the host-defined edge types.
 */
#define KAUSAL_EDGE_HOST_MAX 65535

/**
 * `sizeof(kausal_store_stats)` of version 1, the smallest `struct_size` accepted: a caller
 * built against it gets its 152 bytes and no more.
 */
#define KAUSAL_STATS_SIZE_V1 152

/**
 * `sizeof(kausal_store_stats)` of version 2 (the write-stall and I/O counters).
 */
#define KAUSAL_STATS_SIZE_V2 192

/**
 * `sizeof(kausal_store_stats)` of version 3 (`tables_with_edges`).
 */
#define KAUSAL_STATS_SIZE_V3 200

/**
 * `sizeof(kausal_store_stats)` of version 4 (`flush_pending`).
 */
#define KAUSAL_STATS_SIZE_V4 208

/**
 * `sizeof(kausal_store_stats)` in this version (5: `compaction_pending`).
 */
#define KAUSAL_STATS_SIZE_V5 216

/**
 * `kausal_traversal.order`: breadth first (shortest depths, nearer blocks first).
 */
#define KAUSAL_ORDER_BREADTH_FIRST 0

/**
 * `kausal_traversal.order`: depth first, preorder. A block is reported at the depth of the
 * path that first reached it, which may be longer than its shortest, so with `depth_max` a
 * block reachable within the bound only by a shorter path found later can be missed, and
 * that is not `truncated` (no bound stopped the walk). Use breadth first for "everything
 * within N edges".
 */
#define KAUSAL_ORDER_DEPTH_FIRST 1

/**
 * Blocks that call the start (incoming calls, calls_method, calls_function).
 */
#define KAUSAL_QUERY_CALLERS 0

/**
 * Blocks the start calls.
 */
#define KAUSAL_QUERY_CALLEES 1

/**
 * Blocks that reference the start (incoming references).
 */
#define KAUSAL_QUERY_REFERENCES 2

/**
 * Blocks the start imports (outgoing imports).
 */
#define KAUSAL_QUERY_IMPORTS 3

/**
 * Blocks that import the start (incoming imports).
 */
#define KAUSAL_QUERY_IMPORTED_BY 4

/**
 * Everything that depends on the start: incoming edges of every type, transitively.
 */
#define KAUSAL_QUERY_IMPACT 5

#if defined(KAUSAL_POINTER_64)
/**
 * `sizeof(kausal_traversal)` in this version, the smallest `struct_size` accepted.
 */
#define KAUSAL_TRAVERSAL_SIZE_V1 48
#endif

#if defined(KAUSAL_POINTER_32)
/**
 * `sizeof(kausal_traversal)` in this version, the smallest `struct_size` accepted.
 */
#define KAUSAL_TRAVERSAL_SIZE_V1 32
#endif

/**
 * `kausal_block_filter.metadata_kind`: no metadata condition.
 */
#define KAUSAL_METADATA_ANY 0

/**
 * The member must be a JSON string equal to `metadata_string` (escapes decoded).
 */
#define KAUSAL_METADATA_STRING 1

/**
 * The member must be a JSON number equal to `metadata_number`.
 */
#define KAUSAL_METADATA_NUMBER 2

/**
 * The member must be `true` (`metadata_bool` 1) or `false` (0).
 */
#define KAUSAL_METADATA_BOOL 3

/**
 * The result of every fallible call. `KAUSAL_OK` is 0; every other value is an error.
 */
typedef enum kausal_status {
  /**
   * Success.
   */
  KAUSAL_OK = 0,
  /**
   * A required pointer argument was NULL (or a buffer pointer was NULL with a non-zero length).
   */
  KAUSAL_ERROR_NULL_ARGUMENT = 1,
  /**
   * A `kausal_config` field is out of range; `kausal_config_check` names it.
   */
  KAUSAL_ERROR_CONFIG_INVALID = 2,
  /**
   * The region is smaller than `kausal_memory_required`.
   */
  KAUSAL_ERROR_REGION_TOO_SMALL = 3,
  /**
   * A block id was all zero bytes.
   */
  KAUSAL_ERROR_ID_ZERO = 4,
  /**
   * Text given as a hex id is not exactly 32 hex digits.
   */
  KAUSAL_ERROR_ID_HEX_INVALID = 5,
  /**
   * The source URI is longer than the config allows.
   */
  KAUSAL_ERROR_SOURCE_URI_TOO_LONG = 6,
  /**
   * The source URI is not valid UTF-8.
   */
  KAUSAL_ERROR_SOURCE_URI_NOT_UTF8 = 7,
  /**
   * The metadata is longer than the config allows.
   */
  KAUSAL_ERROR_METADATA_TOO_LONG = 8,
  /**
   * The metadata is not one JSON object.
   */
  KAUSAL_ERROR_METADATA_INVALID = 9,
  /**
   * The content is longer than the config allows.
   */
  KAUSAL_ERROR_CONTENT_TOO_LONG = 10,
  /**
   * An edge type code is neither built in (1..=11) nor host-defined (0x8000..=0xFFFF).
   */
  KAUSAL_ERROR_EDGE_TYPE_UNKNOWN = 11,
  /**
   * The block or edge does not exist (for put_edge: an endpoint does not).
   */
  KAUSAL_ERROR_NOT_FOUND = 12,
  /**
   * Back-pressure: the in-memory table is full; nothing was written.
   */
  KAUSAL_ERROR_MEMTABLE_FULL = 13,
  /**
   * The write-ahead log has its maximum number of segments. Not returned by this version
   * (a write that finds the log full flushes first); the code stays reserved.
   */
  KAUSAL_ERROR_WAL_FULL = 14,
  /**
   * An output buffer is too small; the count it needs was written to the count output.
   */
  KAUSAL_ERROR_BUFFER_TOO_SMALL = 15,
  /**
   * The storage backend failed.
   */
  KAUSAL_ERROR_IO = 16,
  /**
   * An earlier log write or sync failed; writes are refused until the store is reopened.
   */
  KAUSAL_ERROR_POISONED = 17,
  /**
   * Stored bytes are damaged (strict recovery), or records contradict each other.
   */
  KAUSAL_ERROR_CORRUPTION = 18,
  /**
   * The store was written with larger limits than this config; reopen with larger ones.
   */
  KAUSAL_ERROR_RECOVERY_CAPACITY = 19,
  /**
   * A `struct_size` field is smaller than the first version of that struct.
   */
  KAUSAL_ERROR_STRUCT_SIZE = 20,
  /**
   * The handle is not an open store (never opened, or already closed).
   */
  KAUSAL_ERROR_HANDLE_INVALID = 21,
  /**
   * An enumerated argument (direction, filter mode, policy) has an unknown value.
   */
  KAUSAL_ERROR_ARGUMENT_INVALID = 22,
  /**
   * The storage device is full.
   */
  KAUSAL_ERROR_NO_SPACE = 23,
  /**
   * The store directory (or a file the engine expected) does not exist.
   */
  KAUSAL_ERROR_PATH_NOT_FOUND = 24,
  /**
   * A query argument (depth, result count, start count, filter) is out of range.
   */
  KAUSAL_ERROR_QUERY_INVALID = 25,
  /**
   * Another process has the store open (the store directory's lock is held).
   */
  KAUSAL_ERROR_LOCKED = 26,
  /**
   * The call needs a part this build of the library leaves out: `kausal_open_dir` in a
   * build without the POSIX backend (bare-metal targets; use `kausal_open_vfs`).
   */
  KAUSAL_ERROR_UNSUPPORTED = 27,
} kausal_status;

/**
 * An open store. Opaque: it lives at the start of the region given to `kausal_open_*`.
 */
typedef struct kausal_db kausal_db;

/**
 * The engine's limits. Get one from `kausal_config_default`, change fields, pass it on.
 * `struct_size` lets the struct grow: set it to `sizeof(kausal_config)` (the default does).
 */
typedef struct kausal_config {
  /**
   * `sizeof(kausal_config)`; `kausal_config_default` sets it.
   */
  uint32_t struct_size;
  /**
   * In-memory block entries (versions, tombstones, stubs), at least 2. Default: 16384.
   */
  uint32_t memtable_entries_max;
  /**
   * In-memory edge records (live and tombstones). Default: 65536.
   */
  uint32_t memtable_edges_max;
  /**
   * Bytes of block payload (uri + metadata + content) held in memory. Default: 8388608.
   */
  uint32_t memtable_arena_bytes_max;
  /**
   * Longest source URI, in bytes. Default: 1024.
   */
  uint32_t source_uri_bytes_max;
  /**
   * Longest metadata JSON, in bytes (at least 2, for `{}`). Default: 4096.
   */
  uint32_t metadata_bytes_max;
  /**
   * Longest content, in bytes. Raising it needs `wal_buffer_bytes` and
   * `read_buffer_bytes` to hold the largest block too. Default: 65536.
   */
  uint32_t content_bytes_max;
  /**
   * Size at which a log segment file is closed and the next begun. Default: 4194304.
   */
  uint32_t wal_segment_bytes_max;
  /**
   * Log segment files that may exist at once. Default: 64.
   */
  uint32_t wal_segments_max;
  /**
   * Bytes of region buffering log frames until they are written (group commit); holds
   * the largest frame. Default: 131072.
   */
  uint32_t wal_buffer_bytes;
  /**
   * Bytes of region for reading log and table pages; holds the largest block record.
   * Default: 131072.
   */
  uint32_t read_buffer_bytes;
  /**
   * Files the store directory may hold. Default: 128.
   */
  uint32_t files_max;
  /**
   * Sorted tables that may exist at once (a flush writes one for its blocks and one for its
   * edges).
   * Default: 16.
   */
  uint32_t tables_max;
  /**
   * Bytes of region for the tables' bloom filters and indexes. Default: 4194304.
   */
  uint32_t table_memory_bytes;
  /**
   * Target size of a table page. Default: 16384.
   */
  uint32_t table_page_bytes;
  /**
   * Bloom filter bits per block in each table. Default: 10.
   */
  uint32_t bloom_bits_per_key;
  /**
   * 1: the writes after a flush each take a compaction step (`kausal_flush` and a flush
   * finding every table slot taken merge at once); 0: the host calls
   * kausal_compact_step.
   * Default: 1.
   */
  uint32_t compaction_auto;
  /**
   * `KAUSAL_SYNC_EVERY_WRITE` or `KAUSAL_SYNC_EXPLICIT`. Default: 1 (explicit).
   */
  uint32_t sync_policy;
  /**
   * `KAUSAL_RECOVERY_TOLERANT` or `KAUSAL_RECOVERY_STRICT`. Default: 0 (tolerant).
   */
  uint32_t recovery_mode;
  /**
   * Blocks one traversal or path query may visit (1..=KAUSAL_RESULTS_MAX_LIMIT); 72 to
   * 80 bytes of region each. Default: 10000.
   */
  uint32_t query_nodes_max;
  /**
   * 0: the open zeroes the whole region first (its bytes may be uninitialised memory),
   * a time proportional to the region. 1: the caller promises every byte of the region
   * was written before (`calloc`, static storage, a `memset`, an earlier store; any
   * values), so the open touches only what the store needs. Version 2 of the struct.
   * Default: 0.
   */
  uint32_t region_initialized;
  /**
   * 1: a write that finds the memtable full flushes it; 0: it freezes it and writes on into
   * a second memtable (the region holds both), and the host writes the frozen one out with
   * kausal_flush_step (a library built with `small-code`, as the firmware's, requires 1).
   * Version 3 of the struct. Default: 1.
   */
  uint32_t flush_auto;
  /**
   * Bytes of table records one kausal_flush_step writes at most (at least 1). Version 3
   * of the struct. Default: 262144.
   */
  uint32_t flush_step_bytes;
  /**
   * Bytes of table records one compaction step merges at most (the host's
   * kausal_compact_step, or with `compaction_auto` a write's; at least 1), its place kept
   * between calls, and the bytes of a merge's old table files a later step removes.
   * Version 4 of the struct.
   * Default: 1048576.
   */
  uint32_t compaction_step_bytes;
  /**
   * With `flush_auto` 1: 1 holds a second memtable in the region (as `flush_auto` 0
   * does); the write that finds the memtable full freezes it, and each later write first
   * writes at most `flush_step_bytes` of it to tables, so none waits for a whole flush
   * (only one that finds both full). 0: that write flushes it whole. Not read with
   * `flush_auto` 0; a `small-code` library requires 0. Version 5 of the struct.
   * Default: 0.
   */
  uint32_t flush_in_steps;
} kausal_config;

/**
 * What a failed call knew about its error (`kausal_error` for a handle's last call, or
 * the `out_error` of `kausal_open_*`). Fields that do not apply to the error are 0, NULL
 * or "". Set `struct_size` to `sizeof(kausal_error_detail)` before passing it.
 */
typedef struct kausal_error_detail {
  /**
   * `sizeof(kausal_error_detail)`, set by the caller.
   */
  uint32_t struct_size;
  /**
   * The status the call returned (`KAUSAL_OK` if it succeeded).
   */
  enum kausal_status status;
  /**
   * The operating system's error (`errno`) or the host backend's status code of the
   * storage call that failed, for `KAUSAL_ERROR_IO` and the other storage errors.
   */
  int32_t os_error;
  /**
   * `KAUSAL_RESOURCE_*`: what ran out, for `KAUSAL_ERROR_MEMTABLE_FULL` and
   * `KAUSAL_ERROR_RECOVERY_CAPACITY`.
   */
  uint32_t resource;
  /**
   * `KAUSAL_CORRUPTION_*`: what was damaged, for `KAUSAL_ERROR_CORRUPTION`.
   */
  uint32_t corruption;
  /**
   * The process that holds the store, for `KAUSAL_ERROR_LOCKED` (0 if unknown).
   */
  uint32_t pid;
  /**
   * The length given, for the `*_TOO_LONG` errors and `KAUSAL_ERROR_REGION_TOO_SMALL`;
   * the count needed, for `KAUSAL_ERROR_BUFFER_TOO_SMALL`; the offset of the first bad
   * byte, for `KAUSAL_ERROR_METADATA_INVALID`; the code, for
   * `KAUSAL_ERROR_EDGE_TYPE_UNKNOWN`.
   */
  uint64_t value;
  /**
   * The limit it broke, for the `*_TOO_LONG` errors (the config field's value) and
   * `KAUSAL_ERROR_REGION_TOO_SMALL` (the bytes required).
   */
  uint64_t limit;
  /**
   * The storage call that failed ("open", "read", "write", "sync", "sync_dir",
   * "rename", ...): static, NUL-terminated; NULL if no storage call failed.
   */
  const char *operation;
  /**
   * The config field (`KAUSAL_ERROR_CONFIG_INVALID`) or query argument
   * (`KAUSAL_ERROR_QUERY_INVALID`) to change, NUL-terminated; "" otherwise.
   */
  char field[KAUSAL_ERROR_FIELD_BYTES];
  /**
   * The store file that call was on, e.g. "wal-0000000000000003.log"; "" if none or
   * unknown. NUL-terminated.
   */
  char file[KAUSAL_ERROR_FILE_BYTES];
  /**
   * The whole error as one sentence, NUL-terminated (cut to fit).
   */
  char message[KAUSAL_ERROR_MESSAGE_BYTES];
} kausal_error_detail;

/**
 * Storage callbacks a host supplies to `kausal_open_vfs`. Every callback is required but
 * `lock` and `unlock` (zero-initialise the struct, then set what you have).
 * `context` is passed back unchanged as the first argument. Names are NUL-terminated ASCII
 * file names of at most 64 bytes chosen by the engine; files are numbered by the host
 * (`out_file`). Every callback returns a `KAUSAL_VFS_*` code.
 *
 * The crash contract the engine relies on, and no more (the core's `Vfs` contract):
 * - After `sync(file)` returns OK, the file's contents and length as of that call survive
 *   power loss. Before it, any write or truncate since the file's previous sync may be lost,
 *   in any combination (not only a suffix), and any one may be torn: a prefix of it, ending
 *   at any byte, survives, and the byte at the cut may be garbage. Unwritten gaps below the
 *   file's length read as zeros (erased flash that reads 0xFF must be mapped to zeros).
 * - After `sync_dir` returns OK, every earlier create, remove and rename survives. Before it,
 *   a crash keeps a prefix, in call order, of those changes. `rename` is atomic: after a
 *   crash the target names the old file or the new one.
 * - `read` returns fewer bytes than asked only at the end of the file.
 * - A failed call may have taken effect in part (a write may have stored a prefix); the
 *   engine treats a failed write or sync as leaving the file's unsynced contents unknown.
 */
typedef struct kausal_vfs {
  /**
   * `sizeof(kausal_vfs)`.
   */
  uint32_t struct_size;
  /**
   * Passed as the first argument of every callback; the engine never reads it.
   */
  void *context;
  /**
   * Creates a new empty file; `KAUSAL_VFS_EXISTS` if the name is taken.
   */
  int32_t (*create)(void*, const char*, uint64_t*);
  /**
   * Opens an existing file for reading and writing.
   */
  int32_t (*open)(void*, const char*, uint64_t*);
  /**
   * Releases a file number.
   */
  void (*close)(void*, uint64_t);
  /**
   * Reads up to `len` bytes at `offset` into `buffer`; fewer only at end of file.
   */
  int32_t (*read)(void*, uint64_t, uint64_t, uint8_t*, size_t, size_t*);
  /**
   * Writes all `len` bytes at `offset`, extending the file as needed.
   */
  int32_t (*write)(void*, uint64_t, uint64_t, const uint8_t*, size_t);
  /**
   * Makes the file's data and length durable.
   */
  int32_t (*sync)(void*, uint64_t);
  /**
   * Writes the file's length to `out_size`.
   */
  int32_t (*size)(void*, uint64_t, uint64_t*);
  /**
   * Sets the file's length: shorter drops the bytes past it, longer extends the file with
   * zeros (the log preallocates its segments this way).
   */
  int32_t (*truncate)(void*, uint64_t, uint64_t);
  /**
   * Removes a name.
   */
  int32_t (*remove)(void*, const char*);
  /**
   * Atomically renames, replacing the target if it exists.
   */
  int32_t (*rename)(void*, const char*, const char*);
  /**
   * Makes earlier creates, removes and renames durable.
   */
  int32_t (*sync_dir)(void*);
  /**
   * Writes every file name, each followed by a NUL byte, into `buffer`; the bytes used
   * (or, with `KAUSAL_VFS_BUFFER_TOO_SMALL`, needed) go to `out_used`.
   */
  int32_t (*list)(void*, uint8_t*, size_t, size_t*);
  /**
   * Optional (NULL: no lock; absent from version-1 structs): takes the store for this
   * handle, so two writers never share it; `KAUSAL_VFS_LOCKED` (holder's pid in
   * `out_holder`) if another holds it. Called first by `kausal_open_vfs`.
   */
  int32_t (*lock)(void*, uint32_t*);
  /**
   * Optional: releases what `lock` took, at `kausal_close` (or a failed open).
   */
  void (*unlock)(void*);
} kausal_vfs;

/**
 * A 128-bit block id: 16 raw bytes. All zero is invalid.
 */
typedef struct kausal_id {
  /**
   * The id's 16 bytes, as stored.
   */
  uint8_t bytes[16];
} kausal_id;

/**
 * A zero-copy view of a stored block. The pointers point into the store's region or a
 * memory-mapped table, and stay valid until the next call of any `kausal_` function on the
 * same handle.
 */
typedef struct kausal_block_view {
  /**
   * The block's id.
   */
  struct kausal_id id;
  /**
   * Engine-assigned; a newer version of the same id has a higher sequence.
   */
  uint64_t sequence;
  /**
   * UTF-8, not NUL-terminated.
   */
  const char *source_uri;
  /**
   * Bytes at `source_uri`.
   */
  size_t source_uri_len;
  /**
   * One JSON object, not NUL-terminated.
   */
  const char *metadata_json;
  /**
   * Bytes at `metadata_json`.
   */
  size_t metadata_json_len;
  /**
   * The content: any bytes.
   */
  const uint8_t *content;
  /**
   * Bytes at `content`.
   */
  size_t content_len;
} kausal_block_view;

/**
 * A directed, typed edge.
 */
typedef struct kausal_edge {
  /**
   * Where the edge starts (for `KAUSAL_EDGE_CALLS`, the caller).
   */
  struct kausal_id source;
  /**
   * Where it points (for `KAUSAL_EDGE_CALLS`, the callee).
   */
  struct kausal_id target;
  /**
   * `KAUSAL_EDGE_*` or a host code in 0x8000..=0xFFFF.
   */
  uint16_t edge_type;
} kausal_edge;

/**
 * Which edge types a listing accepts. A NULL filter pointer means all types.
 */
typedef struct kausal_edge_filter {
  /**
   * `KAUSAL_FILTER_ALL`, `KAUSAL_FILTER_INCLUDE` or `KAUSAL_FILTER_EXCLUDE`.
   */
  uint32_t mode;
  /**
   * The edge type codes (may be NULL when `types_len` is 0).
   */
  const uint16_t *types;
  /**
   * Codes in `types`, at most `KAUSAL_FILTER_TYPES_MAX`.
   */
  size_t types_len;
} kausal_edge_filter;

/**
 * Counters written by `kausal_stats`. Set `struct_size` to `sizeof(kausal_store_stats)`
 * before the call.
 */
typedef struct kausal_store_stats {
  /**
   * `sizeof(kausal_store_stats)`, set by the caller.
   */
  uint32_t struct_size;
  /**
   * 1 if a log write or sync failed and writes are refused until reopen.
   */
  uint32_t poisoned;
  /**
   * Live blocks in the whole store.
   */
  uint64_t blocks_live;
  /**
   * Live edges in the whole store.
   */
  uint64_t edges_live;
  /**
   * In-memory entries in use, of `memtable_entries_max`.
   */
  uint64_t memtable_entries_used;
  /**
   * In-memory edge records in use, of `memtable_edges_max`.
   */
  uint64_t memtable_edges_used;
  /**
   * In-memory payload bytes in use, of `memtable_arena_bytes_max`.
   */
  uint64_t memtable_arena_bytes_used;
  /**
   * Sorted tables, of `tables_max`.
   */
  uint64_t tables_count;
  /**
   * Table memory (blooms and indexes) in use, of `table_memory_bytes`.
   */
  uint64_t table_memory_bytes_used;
  /**
   * Flushes since open.
   */
  uint64_t flush_count;
  /**
   * Compaction steps since open.
   */
  uint64_t compaction_count;
  /**
   * Bytes written to tables by flushes and compactions since open.
   */
  uint64_t table_bytes_written;
  /**
   * The sequence the next write gets.
   */
  uint64_t sequence_next;
  /**
   * Log position after the last write.
   */
  uint64_t wal_position;
  /**
   * Log position up to which writes are durable.
   */
  uint64_t wal_synced_position;
  /**
   * Log segment files, of `wal_segments_max`.
   */
  uint64_t wal_segments_count;
  /**
   * Log frames replayed at open.
   */
  uint64_t recovery_frames_replayed;
  /**
   * Log bytes replayed at open.
   */
  uint64_t recovery_bytes_replayed;
  /**
   * Bytes of never-synced log tail cut at open.
   */
  uint64_t wal_torn_bytes_truncated;
  /**
   * Bytes of damaged, once-synced log dropped at open (tolerant recovery).
   */
  uint64_t wal_corrupt_bytes_dropped;
  /**
   * Version 2 on. Writes since open that waited for a flush (and compaction) because the
   * memory or the log was full.
   */
  uint64_t write_stalls;
  /**
   * Version 2 on. Their total time in nanoseconds of the event hook's clock (0 without).
   */
  uint64_t write_stall_ns_total;
  /**
   * Version 2 on. The longest of them, in nanoseconds of the event hook's clock.
   */
  uint64_t write_stall_ns_max;
  /**
   * Version 2 on. Table data pages read or viewed since open (lookups, listings, scans,
   * compaction).
   */
  uint64_t table_pages_read;
  /**
   * Version 2 on. Log segment syncs since open.
   */
  uint64_t wal_syncs;
  /**
   * Version 3 on. Of `tables_count`, the tables that hold edges: the most an edge listing
   * reads (a flush writes blocks and edges to separate tables).
   */
  uint64_t tables_with_edges;
  /**
   * Version 4 on. 1 if a memtable is frozen, waiting for `kausal_flush_step`
   * (`flush_auto` 0) or the next writes' steps (`flush_in_steps` 1).
   */
  uint64_t flush_pending;
  /**
   * Version 5 on. 1 if a compaction is between steps, waiting for kausal_compact_step
   * (or, with `compaction_auto` 1, for the next writes); a flush finishes it first. Also
   * 1 while the steps are still removing the last merge's old tables.
   */
  uint64_t compaction_pending;
} kausal_store_stats;

/**
 * One event, as the hook receives it.
 */
typedef struct kausal_event {
  /**
   * `KAUSAL_EVENT_*`.
   */
  uint32_t kind;
  /**
   * Tables in the store after an end event; tables merged for a compaction's start.
   */
  uint32_t tables;
  /**
   * Bytes the step handled (see each kind; 0 for stalls).
   */
  uint64_t bytes;
  /**
   * For an end event, the clock callback's time since its start (0 without a clock).
   */
  uint64_t duration_ns;
} kausal_event;

/**
 * Called with each event (and the hook's context). It must not call into the store.
 */
typedef void (*kausal_event_fn)(void*, const struct kausal_event*);

/**
 * The host's monotonic clock in nanoseconds (any origin), called with the hook's context.
 */
typedef uint64_t (*kausal_clock_fn)(void*);

/**
 * A traversal. Get one from `kausal_traversal_default` (which sets `struct_size`), then set
 * `starts`.
 */
typedef struct kausal_traversal {
  /**
   * `sizeof(kausal_traversal)`; `kausal_traversal_default` sets it.
   */
  uint32_t struct_size;
  /**
   * `KAUSAL_DIRECTION_*`: follow outgoing edges, incoming ones, or both.
   */
  uint32_t direction;
  /**
   * Live blocks to start from: 1..=KAUSAL_STARTS_MAX ids; duplicates are reported once.
   */
  const struct kausal_id *starts;
  /**
   * Ids at `starts`.
   */
  size_t starts_len;
  /**
   * Edge types to follow; NULL follows every type.
   */
  const struct kausal_edge_filter *filter;
  /**
   * Edges from a start to the farthest result, 0..=KAUSAL_DEPTH_MAX_LIMIT (default 10).
   */
  uint32_t depth_max;
  /**
   * Most results, starts included, 1..=KAUSAL_RESULTS_MAX_LIMIT (default 1000).
   */
  uint32_t results_max;
  /**
   * `KAUSAL_ORDER_BREADTH_FIRST` (default) or `KAUSAL_ORDER_DEPTH_FIRST`.
   */
  uint32_t order;
} kausal_traversal;

/**
 * One block a traversal reached, or one step of a path.
 */
typedef struct kausal_hit {
  /**
   * The block reached.
   */
  struct kausal_id id;
  /**
   * The block it was first reached from (all zero for a start).
   */
  struct kausal_id parent;
  /**
   * Edges from the start (0 for a start; a path step's index).
   */
  uint32_t depth;
  /**
   * Type of the edge from `parent` (0 for a start).
   */
  uint16_t edge_type;
  /**
   * 1 if that edge is id -> parent (followed backwards), 0 if parent -> id.
   */
  uint8_t incoming;
  /**
   * Zero.
   */
  uint8_t reserved;
} kausal_hit;

/**
 * Called by `kausal_traverse_visit` with its `context` and each hit in order; returns 0 to
 * go on, anything else to stop.
 */
typedef int32_t (*kausal_hit_visit)(void*, const struct kausal_hit*);

/**
 * Conditions for `kausal_scan`; every set condition must hold. Zero-initialise it (or pass
 * NULL) to accept every block. Byte strings are not NUL-terminated.
 */
typedef struct kausal_block_filter {
  /**
   * The source URI starts with these bytes (NULL: any URI).
   */
  const char *source_uri_prefix;
  /**
   * Bytes at `source_uri_prefix`.
   */
  size_t source_uri_prefix_len;
  /**
   * `KAUSAL_METADATA_*`: what top-level member `metadata_key` must equal.
   */
  uint32_t metadata_kind;
  /**
   * For `KAUSAL_METADATA_BOOL`: 1 for `true`, 0 for `false`.
   */
  uint32_t metadata_bool;
  /**
   * The top-level member's name (not NUL-terminated).
   */
  const char *metadata_key;
  /**
   * Bytes at `metadata_key`.
   */
  size_t metadata_key_len;
  /**
   * For `KAUSAL_METADATA_STRING`: the string the member must equal.
   */
  const char *metadata_string;
  /**
   * Bytes at `metadata_string`.
   */
  size_t metadata_string_len;
  /**
   * For `KAUSAL_METADATA_NUMBER`: the number the member must equal.
   */
  double metadata_number;
  /**
   * The content contains these bytes (NULL: any content); at most 4096 bytes.
   */
  const uint8_t *content_contains;
  /**
   * Bytes at `content_contains`.
   */
  size_t content_contains_len;
} kausal_block_filter;

/**
 * Where a scan resumes. Zero-initialise it to start; `done` becomes 1 once every block
 * was examined. Do not edit it between calls.
 */
typedef struct kausal_scan_cursor {
  /**
   * The last id examined (all zero: none yet).
   */
  struct kausal_id after;
  /**
   * 1 once every block was examined.
   */
  uint32_t done;
} kausal_scan_cursor;

#ifdef __cplusplus
extern "C" {
#endif // __cplusplus

/**
 * The library version as NUL-terminated text, e.g. "0.1.0". Never NULL; static.
 */
const char *kausal_version(void);

/**
 * The name of a status code, e.g. "KAUSAL_ERROR_NOT_FOUND"; "KAUSAL_STATUS_UNKNOWN" for a
 * code that does not exist. Never NULL; static.
 */
const char *kausal_status_name(int32_t status);

/**
 * A one-line description of a status code, e.g. "no such block or edge" (as
 * `sqlite3_errstr`); "unknown status code" for one that does not exist. Never NULL; static.
 */
const char *kausal_status_message(int32_t status);

/**
 * Writes the default configuration (a ~17.8 MiB region) into `out`: the fields of
 * version 1 only (`KAUSAL_CONFIG_SIZE_V1` bytes, `struct_size` set to that), so a program
 * built with an older header is never written past its struct. For every field this
 * header knows, use `kausal_config_init(&config, sizeof config)`.
 */
enum kausal_status kausal_config_default(struct kausal_config *out);

/**
 * Writes the default configuration into `out`, a struct of `struct_size` bytes (pass
 * `sizeof(kausal_config)`): every field of the newest version that fits, `struct_size`
 * set to that version's size. Below `KAUSAL_CONFIG_SIZE_V1`: `KAUSAL_ERROR_STRUCT_SIZE`.
 */
enum kausal_status kausal_config_init(struct kausal_config *out, uint32_t struct_size);

/**
 * Checks a configuration. On `KAUSAL_ERROR_CONFIG_INVALID`, `*out_field` (if not NULL)
 * points to the static, NUL-terminated name of the first bad field.
 */
enum kausal_status kausal_config_check(const struct kausal_config *config, const char **out_field);

/**
 * Writes the bytes of region `kausal_open_*` needs for `config` into `*out_bytes`.
 */
enum kausal_status kausal_memory_required(const struct kausal_config *config, size_t *out_bytes);

/**
 * Opens (creating if needed) the store in directory `path` (NUL-terminated), with POSIX
 * files. `region` (at least `kausal_memory_required` bytes, any alignment, contents
 * ignored) holds the handle and every byte the engine uses; it must stay valid and
 * untouched until `kausal_close`. It is zeroed first unless `config->region_initialized`
 * is 1 (then an open costs what the store holds, not the region's size). Replays the
 * log; see `kausal_stats` for what recovery found. If the open fails and `out_error` is
 * not NULL (its `struct_size` set), the detail of the failure is written there: which
 * file, which storage call and `errno`, which config field, which kind of damage.
 */
enum kausal_status kausal_open_dir(const struct kausal_config *config,
                                   void *region,
                                   size_t region_len,
                                   const char *path,
                                   struct kausal_db **out_db,
                                   struct kausal_error_detail *out_error);

/**
 * Opens (creating if needed) the store kept by the host's storage callbacks `vfs`
 * (copied; `vfs->context` must stay valid until `kausal_close`). Otherwise as
 * `kausal_open_dir`.
 */
enum kausal_status kausal_open_vfs(const struct kausal_config *config,
                                   void *region,
                                   size_t region_len,
                                   const struct kausal_vfs *vfs,
                                   struct kausal_db **out_db,
                                   struct kausal_error_detail *out_error);

/**
 * The detail of the last call on `db`: its status (`KAUSAL_OK` if it succeeded) and what
 * the engine knew of its error, written to `*out` (set `out->struct_size` first). Calls
 * refused for their handle (NULL, closed) record nothing. Does not change what it reads.
 */
enum kausal_status kausal_last_error(struct kausal_db *db, struct kausal_error_detail *out);

/**
 * Syncs and closes the store. The handle is invalid afterwards (calls with it return
 * `KAUSAL_ERROR_HANDLE_INVALID` while the region exists) and the region is the caller's
 * again. A sync failure is returned, but the handle is closed all the same.
 */
enum kausal_status kausal_close(struct kausal_db *db);

/**
 * Stores a block (replacing any earlier version of the id; its edges stay). `*out_sequence`
 * (may be NULL) receives the write's sequence. `metadata_json` may be NULL with length 0:
 * the empty object `{}`. Invalidates earlier block views.
 */
enum kausal_status kausal_put_block(struct kausal_db *db,
                                    const struct kausal_id *id,
                                    const char *source_uri,
                                    size_t source_uri_len,
                                    const char *metadata_json,
                                    size_t metadata_json_len,
                                    const uint8_t *content,
                                    size_t content_len,
                                    uint64_t *out_sequence);

/**
 * Finds a live block. On success `*out_view` points into the store's region (the
 * in-memory table, or the buffer a table-resident block was read into): valid until the
 * next call of any `kausal_` function on this handle. Copy what you keep.
 * `KAUSAL_ERROR_NOT_FOUND` if absent.
 */
enum kausal_status kausal_find_block(struct kausal_db *db,
                                     const struct kausal_id *id,
                                     struct kausal_block_view *out_view);

/**
 * Deletes a live block and every edge into or out of it. `KAUSAL_ERROR_NOT_FOUND` if absent.
 * The delete is one write (a crash keeps all of it or none), so its edge tombstones must fit
 * the in-memory table at once: a block with more edges than `memtable_edges_max` or than
 * `memtable_entries_max - 1` gets `KAUSAL_ERROR_MEMTABLE_FULL` every
 * time (`kausal_last_error` names the resource); delete its edges first, then the block.
 */
enum kausal_status kausal_delete_block(struct kausal_db *db,
                                       const struct kausal_id *id,
                                       uint64_t *out_sequence);

/**
 * Stores an edge between two live blocks. `*out_inserted` (may be NULL) is 1 if stored,
 * 0 if the same edge already existed (a no-op).
 */
enum kausal_status kausal_put_edge(struct kausal_db *db,
                                   const struct kausal_edge *edge,
                                   uint32_t *out_inserted);

/**
 * Deletes an edge. `KAUSAL_ERROR_NOT_FOUND` if it does not exist.
 */
enum kausal_status kausal_delete_edge(struct kausal_db *db, const struct kausal_edge *edge);

/**
 * Lists the edges of a live block in `direction` (`KAUSAL_DIRECTION_*`) that pass `filter`
 * (NULL: all), in an order that is deterministic for a given store state,
 * into `out` (capacity `out_capacity` edges). On success
 * `*out_count` is the number written. If they do not fit: `KAUSAL_ERROR_BUFFER_TOO_SMALL`,
 * `*out_count` is the number needed, and `out` is untouched.
 */
enum kausal_status kausal_edges(struct kausal_db *db,
                                const struct kausal_id *id,
                                uint32_t direction,
                                const struct kausal_edge_filter *filter,
                                struct kausal_edge *out,
                                size_t out_capacity,
                                size_t *out_count);

/**
 * Writes the in-memory table to a new sorted table on disk and empties it (done
 * automatically when it fills); a frozen one (`flush_auto` 0) first.
 * `KAUSAL_ERROR_MEMTABLE_FULL` when the maximum number of tables exists. Invalidates
 * earlier block views.
 */
enum kausal_status kausal_flush(struct kausal_db *db);

/**
 * With `flush_auto` 0: one step of writing the frozen memtable, if there is one, to sorted
 * tables while the other keeps taking writes (call it when the host has time, while
 * `kausal_store_stats.flush_pending` is 1): at most `flush_step_bytes` of records, a step
 * that finishes a table ends with its sync, and a last step installs the tables.
 * `*out_flushed` (may be NULL) is 1 if there was one to work on, 0 if none was frozen.
 * Errors as `kausal_flush`. Invalidates earlier block views.
 */
enum kausal_status kausal_flush_step(struct kausal_db *db, uint32_t *out_flushed);

/**
 * One compaction step: merges the newest run of similar-sized tables into one (streaming,
 * crash-safe); with `compaction_auto` 0, at most `compaction_step_bytes` of records a call,
 * the merge's place kept between calls (`kausal_store_stats.compaction_pending` is 1) and
 * the merged table installed by the last; the next steps remove the merge's old tables,
 * `compaction_step_bytes` of their files a step. `*out_merged` (may be NULL) is 1 if it
 * took a step, 0 if there was nothing to merge or remove. `KAUSAL_ERROR_MEMTABLE_FULL` if
 * the merged table's bloom filter and index do not fit in `table_memory_bytes` beside the
 * tables kept (raise it). Invalidates earlier block views.
 */
enum kausal_status kausal_compact_step(struct kausal_db *db, uint32_t *out_merged);

/**
 * Makes every earlier write durable. Invalidates earlier block views.
 */
enum kausal_status kausal_sync(struct kausal_db *db);

/**
 * Writes the store's counters into `*out`, whose `struct_size` the caller sets to
 * `sizeof(kausal_store_stats)` first (`KAUSAL_ERROR_STRUCT_SIZE` if smaller than version 1's):
 * as many bytes as it says, up to this version's size, with `struct_size` set to the bytes
 * written (a version-1 caller gets version 1's fields).
 */
enum kausal_status kausal_stats(struct kausal_db *db, struct kausal_store_stats *out);

/**
 * Derives the id of `name` in `namespace` (deterministic: the same symbol always gets the
 * same id; see docs/FORMAT.md for the definition).
 */
enum kausal_status kausal_id_derive(const char *namespace_,
                                    size_t namespace_len,
                                    const char *name,
                                    size_t name_len,
                                    struct kausal_id *out_id);

/**
 * Writes the 32 lowercase hex digits of `id` and a NUL into `out` (at least 33 bytes).
 */
enum kausal_status kausal_id_to_hex(const struct kausal_id *id, char *out, size_t out_len);

/**
 * Parses exactly 32 hex digits, upper or lower case (`text_len` must be 32; no NUL needed),
 * into `*out_id`. The all-zero id parses; it is refused (`KAUSAL_ERROR_ID_ZERO`) wherever
 * an id names a block.
 */
enum kausal_status kausal_id_from_hex(const char *text, size_t text_len, struct kausal_id *out_id);

/**
 * Sets (or, with `on_event` NULL, removes) the store's event hook: `on_event(context,
 * event)` receives each flush, compaction and write stall as a start and an end event, in
 * order, on the calling thread; `now_ns(context)` (may be NULL: durations are then 0) is
 * the host's monotonic clock in nanoseconds, which also times `kausal_store_stats`'s
 * `write_stall_ns_*`. Neither may call into `db`. Replaces any earlier hook.
 */
enum kausal_status kausal_set_event_hook(struct kausal_db *db,
                                         kausal_event_fn on_event,
                                         kausal_clock_fn now_ns,
                                         void *context);

/**
 * Writes the defaults into `*out`: `struct_size` set, outgoing, breadth first, every edge
 * type, depth 10, 1000 results, no starts.
 */
enum kausal_status kausal_traversal_default(struct kausal_traversal *out);

/**
 * Traverses the graph from `traversal->starts` and writes each block reached, once, into `out`
 * (capacity `out_capacity` hits): the starts first (depth 0), then, breadth first, in depth order.
 * Each hit names the parent and edge it was first reached by, so paths can be rebuilt.
 * `*out_count` is the number written; `*out_truncated` is 1 if a bound (`results_max`,
 * `out_capacity`, or the config's `query_nodes_max`) stopped the traversal early: the hits are
 * exact but incomplete. `KAUSAL_ERROR_NOT_FOUND` if a start is not live;
 * `KAUSAL_ERROR_QUERY_INVALID` for depth over KAUSAL_DEPTH_MAX_LIMIT, results outside
 * 1..=KAUSAL_RESULTS_MAX_LIMIT, or starts outside 1..=KAUSAL_STARTS_MAX.
 */
enum kausal_status kausal_traverse(struct kausal_db *db,
                                   const struct kausal_traversal *traversal,
                                   struct kausal_hit *out,
                                   size_t out_capacity,
                                   size_t *out_count,
                                   uint32_t *out_truncated);

/**
 * `kausal_traverse` without an output array: hands each hit, in the same order, to
 * `visit(context, hit)` until it returns non-zero, so a host streams a traversal of any size
 * the config allows (`query_nodes_max`, up to KAUSAL_RESULTS_MAX_LIMIT: 72 to 80 bytes of
 * region per node) past any buffer of its own. `*out_count` is the number of hits visited;
 * `*out_truncated` is 1 if `results_max` or `query_nodes_max` stopped the traversal (not if
 * `visit` did). The hit pointer is valid during the call only. The callback must not call
 * into this `db`.
 */
enum kausal_status kausal_traverse_visit(struct kausal_db *db,
                                         const struct kausal_traversal *traversal,
                                         kausal_hit_visit visit,
                                         void *context,
                                         size_t *out_count,
                                         uint32_t *out_truncated);

/**
 * Runs a named query (`KAUSAL_QUERY_CALLERS`, `_CALLEES`, `_REFERENCES`, `_IMPORTS`,
 * `_IMPORTED_BY`, `_IMPACT`) from `id` to `depth_max` edges away (0..=KAUSAL_DEPTH_MAX_LIMIT),
 * breadth first, with up to `out_capacity` results (at most KAUSAL_RESULTS_MAX_LIMIT). Outputs as
 * `kausal_traverse`; the start itself is the first hit.
 */
enum kausal_status kausal_query(struct kausal_db *db,
                                uint32_t query,
                                const struct kausal_id *id,
                                uint32_t depth_max,
                                struct kausal_hit *out,
                                size_t out_capacity,
                                size_t *out_count,
                                uint32_t *out_truncated);

/**
 * Finds a shortest path from `from` to `to` (breadth first over `direction` edges passing
 * `filter`, NULL for all, of at most `depth_max` edges) and writes it into `out_steps`,
 * `from` first: step i has depth i and names the edge from step i-1. `*out_steps_count` is
 * the number of steps, or 0 if no such path exists. `*out_truncated` is 1 (and the count
 * 0) if `query_nodes_max` blocks were visited first, so the answer is unknown. If the path
 * does not fit: `KAUSAL_ERROR_BUFFER_TOO_SMALL` with the steps needed in
 * `*out_steps_count`. `KAUSAL_ERROR_NOT_FOUND` if either end is not live.
 */
enum kausal_status kausal_shortest_path(struct kausal_db *db,
                                        const struct kausal_id *from,
                                        const struct kausal_id *to,
                                        uint32_t direction,
                                        const struct kausal_edge_filter *filter,
                                        uint32_t depth_max,
                                        struct kausal_hit *out_steps,
                                        size_t out_capacity,
                                        size_t *out_steps_count,
                                        uint32_t *out_truncated);

/**
 * Pages through the live blocks that pass `filter` (NULL: all), in id order: writes up to
 * `out_capacity` ids after `*cursor` into `out` and advances `*cursor` (written only on
 * success). Start with a zeroed cursor; repeat until `cursor->done` is 1. A superseded or
 * deleted version is never returned. Each call costs a sort of the in-memory block ids
 * plus the blocks passed over, so use a generous `out_capacity`.
 * A zero capacity is `KAUSAL_ERROR_BUFFER_TOO_SMALL` with `*out_count` set to 1, the
 * capacity needed (or `KAUSAL_OK` with 0 when the cursor is already done).
 */
enum kausal_status kausal_scan(struct kausal_db *db,
                               const struct kausal_block_filter *filter,
                               struct kausal_scan_cursor *cursor,
                               struct kausal_id *out,
                               size_t out_capacity,
                               size_t *out_count);

/**
 * Looks up `ids_len` ids at once and copies each live block's fields into `bytes`
 * (`bytes_len` bytes): `out_views[i]` describes `ids[i]`, its pointers into `bytes` (valid
 * as long as that buffer is); a block that is not live gets sequence 0, NULL pointers and
 * zero lengths. `*out_found` is the number of live blocks. If `bytes` is too small:
 * `KAUSAL_ERROR_BUFFER_TOO_SMALL`, `*out_bytes_needed` is the size needed and nothing else
 * is written (`out_bytes_needed` may be NULL otherwise). To keep that promise each id is
 * looked up twice, once to size the copy and once to make it.
 */
enum kausal_status kausal_find_blocks(struct kausal_db *db,
                                      const struct kausal_id *ids,
                                      size_t ids_len,
                                      struct kausal_block_view *out_views,
                                      uint8_t *bytes_out,
                                      size_t bytes_len,
                                      size_t *out_found,
                                      size_t *out_bytes_needed);

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* KAUSALDB_H */
