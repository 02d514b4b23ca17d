//! The C ABI of KausalDB, a thin layer over `kausaldb-core`.
//!
//! Conventions (see `include/kausaldb.h`): every fallible function returns a
//! `kausal_status`; outputs go through out-parameters, written only on success (a
//! `KAUSAL_ERROR_BUFFER_TOO_SMALL` also writes the size needed); every pointer is checked;
//! every buffer comes with its length; nothing is allocated: the handle itself lives at the
//! start of the caller's region. A handle is single-threaded: the host must not call into
//! the same handle from two threads at once. Distinct handles are independent.
//!
//! `unsafe` here is the price of a C ABI: raw pointers from C become references once they
//! are checked non-null, with the lifetimes the header documents.
// Unit tests (compiled only with cfg(test)) read as scenarios and run on 64-bit hosts.
#![cfg_attr(test, allow(clippy::cast_possible_truncation, clippy::too_many_lines))]
#![allow(clippy::missing_safety_doc)]
#![deny(missing_docs)]
// The library itself needs only `core`: on a bare-metal target (no OS) it is `no_std` with no
// allocator and brings its own panic handler; on every hosted target it links `std`, whose
// panic handler (with `panic = "abort"`) a C program gets as before.
#![cfg_attr(not(test), no_std)]
#[cfg(all(not(test), not(target_os = "none")))]
extern crate std;

mod detail;
mod events;
mod host_vfs;
#[cfg(all(target_os = "none", not(test)))]
mod panic;
mod query;
mod status;
mod types;

pub use detail::*;
pub use events::*;
pub use host_vfs::*;
pub use query::*;
pub use status::kausal_status;
pub use types::*;

use core::ffi::{c_char, c_void, CStr};
use core::mem::{align_of, size_of};
use core::ptr;
use detail::Failure;
use host_vfs::{AnyVfs, Backend, HostVfs, NamedFile, StorageFailure};
#[cfg(feature = "posix")]
use kausaldb_core::vfs::posix::PosixVfs;
use kausaldb_core::{memory_bytes_required, BlockId, Config, EdgeFilter, EdgeType, Engine};
use status::kausal_status::*;

/// Library version, major part; `kausal_version()` returns the whole as text.
pub const KAUSAL_VERSION_MAJOR: u32 = 0;
/// Library version, minor part.
pub const KAUSAL_VERSION_MINOR: u32 = 2;
/// Library version, patch part.
pub const KAUSAL_VERSION_PATCH: u32 = 0;

/// An open store. Opaque: it lives at the start of the region given to `kausal_open_*`.
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct kausal_db {
    magic: u64,
    engine: Engine<'static, AnyVfs>,
    /// The event hook's state, in the region after the handle (`kausal_set_event_hook`).
    hook: *mut events::HookSlot,
    /// The failure of the handle's last call (`None`: it succeeded), for `kausal_error`.
    last_error: Option<LastError>,
}

/// A failed call's error and the storage call that failed during it, if any.
#[derive(Debug)]
struct LastError {
    failure: Failure,
    storage: Option<StorageFailure>,
}

/// Marks a live handle; cleared by `kausal_close`, so a closed handle is refused.
const HANDLE_MAGIC: u64 = 0x4B41_5553_414C_4442;
/// Most edge types one filter may list.
pub const KAUSAL_FILTER_TYPES_MAX: usize = 64;
// cbindgen needs the literal; the core's limit is the truth.
const _: () = assert!(KAUSAL_FILTER_TYPES_MAX == kausaldb_core::limits::EDGE_TYPES_MAX);
/// Most blocks a traversal may visit (`query_nodes_max`) and results it may return.
pub const KAUSAL_RESULTS_MAX_LIMIT: u32 = 1 << 24;
const _: () = assert!(KAUSAL_RESULTS_MAX_LIMIT == kausaldb_core::limits::RESULTS_MAX_LIMIT);
/// Deepest traversal accepted.
pub const KAUSAL_DEPTH_MAX_LIMIT: u32 = 100;
const _: () = assert!(KAUSAL_DEPTH_MAX_LIMIT == kausaldb_core::limits::DEPTH_MAX_LIMIT);
/// Most start ids one traversal accepts.
pub const KAUSAL_STARTS_MAX: usize = 256;
const _: () = assert!(KAUSAL_STARTS_MAX == kausaldb_core::limits::STARTS_MAX);

type Outcome<T = ()> = Result<T, Failure>;

fn status_of(result: Outcome) -> kausal_status {
    match result {
        Ok(()) => KAUSAL_OK,
        Err(failure) => failure.status,
    }
}

/// The status of a call on handle `db`, recorded in the handle for `kausal_error` (when
/// `db` is a live handle: a call refused for its handle records nothing).
unsafe fn status_at(db: *mut kausal_db, result: Outcome) -> kausal_status {
    // SAFETY: the caller passes NULL or a handle from kausal_open_* (see the header); the
    // call's borrow of its engine has ended.
    if let Some(handle) = unsafe { db.as_mut() }.filter(|handle| handle.magic == HANDLE_MAGIC) {
        handle.last_error = match result {
            Ok(()) => None,
            Err(failure) => {
                let storage = handle.engine.vfs_mut().failure().cloned();
                Some(LastError { failure, storage })
            }
        };
    }
    status_of(result)
}

/// A reference from a pointer C passed in, or `KAUSAL_ERROR_NULL_ARGUMENT`.
unsafe fn reference<'a, T>(pointer: *const T) -> Outcome<&'a T> {
    // SAFETY: the caller passes a pointer that is NULL or valid for reads of a T.
    unsafe { pointer.as_ref() }.ok_or(KAUSAL_ERROR_NULL_ARGUMENT.into())
}

/// Writes an output through a pointer C passed in, or `KAUSAL_ERROR_NULL_ARGUMENT`.
unsafe fn output<T>(pointer: *mut T, value: T) -> Outcome {
    if pointer.is_null() {
        return Err(KAUSAL_ERROR_NULL_ARGUMENT.into());
    }
    // SAFETY: non-null, and the caller passes a pointer valid for writes of a T.
    unsafe { pointer.write(value) };
    Ok(())
}

/// A byte slice from (pointer, length); NULL is accepted only with length 0.
unsafe fn bytes<'a>(pointer: *const u8, len: usize) -> Outcome<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    if pointer.is_null() {
        return Err(KAUSAL_ERROR_NULL_ARGUMENT.into());
    }
    // No object is larger than isize::MAX bytes: such a length is a caller's bug.
    if len > isize::MAX as usize {
        return Err(KAUSAL_ERROR_ARGUMENT_INVALID.into());
    }
    // SAFETY: non-null, and the caller passes a buffer valid for `len` bytes.
    Ok(unsafe { core::slice::from_raw_parts(pointer, len) })
}

/// The bytes of a caller's array of `count` elements of `element_bytes` each: NULL is
/// checked first, then a count whose byte length overflows is `KAUSAL_ERROR_ARGUMENT_INVALID`
/// (computing it unchecked aborted the process).
unsafe fn array_bytes<'a>(
    pointer: *const u8,
    count: usize,
    element_bytes: usize,
) -> Outcome<&'a [u8]> {
    if pointer.is_null() && count > 0 {
        return Err(KAUSAL_ERROR_NULL_ARGUMENT.into());
    }
    let len = count.checked_mul(element_bytes).ok_or(KAUSAL_ERROR_ARGUMENT_INVALID)?;
    // SAFETY: forwarded from the caller, with the length checked.
    unsafe { bytes(pointer, len) }
}

/// The engine behind a handle, if the handle is live.
/// `small-code`: one copy, not one in each of the 13 calls that take a handle (230 bytes).
#[cfg_attr(feature = "small-code", inline(never))]
unsafe fn engine<'a>(db: *mut kausal_db) -> Outcome<&'a mut Engine<'static, AnyVfs>> {
    // SAFETY: the caller passes NULL or a handle from kausal_open_* (see the header).
    let db = unsafe { db.as_mut() }.ok_or(KAUSAL_ERROR_NULL_ARGUMENT)?;
    if db.magic != HANDLE_MAGIC {
        return Err(KAUSAL_ERROR_HANDLE_INVALID.into());
    }
    // A storage failure recorded during an earlier call is not this call's.
    db.engine.vfs_mut().forget_failure();
    Ok(&mut db.engine)
}

unsafe fn id_of(id: *const kausal_id) -> Outcome<BlockId> {
    // SAFETY: forwarded from the caller.
    Ok(BlockId(unsafe { reference(id) }?.bytes))
}

/// The library version as NUL-terminated text, e.g. "0.1.0". Never NULL; static.
#[no_mangle]
pub extern "C" fn kausal_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The name of a status code, e.g. "KAUSAL_ERROR_NOT_FOUND"; "KAUSAL_STATUS_UNKNOWN" for a
/// code that does not exist. Never NULL; static.
#[no_mangle]
pub extern "C" fn kausal_status_name(status: i32) -> *const c_char {
    status::status_text(status).0.as_ptr().cast()
}

/// A one-line description of a status code, e.g. "no such block or edge" (as
/// `sqlite3_errstr`); "unknown status code" for one that does not exist. Never NULL; static.
#[no_mangle]
pub extern "C" fn kausal_status_message(status: i32) -> *const c_char {
    status::status_text(status).1.as_ptr().cast()
}

/// Writes the default configuration (a ~17.8 MiB region) into `out`: the fields of
/// version 1 only (`KAUSAL_CONFIG_SIZE_V1` bytes, `struct_size` set to that), so a program
/// built with an older header is never written past its struct. For every field this
/// header knows, use `kausal_config_init(&config, sizeof config)`.
#[no_mangle]
pub unsafe extern "C" fn kausal_config_default(out: *mut kausal_config) -> kausal_status {
    // SAFETY: forwarded from the caller.
    status_of(unsafe { write_config(out, KAUSAL_CONFIG_SIZE_V1) })
}

/// Writes the default configuration into `out`, a struct of `struct_size` bytes (pass
/// `sizeof(kausal_config)`): every field of the newest version that fits, `struct_size`
/// set to that version's size. Below `KAUSAL_CONFIG_SIZE_V1`: `KAUSAL_ERROR_STRUCT_SIZE`.
#[no_mangle]
pub unsafe extern "C" fn kausal_config_init(
    out: *mut kausal_config,
    struct_size: u32,
) -> kausal_status {
    let size = if struct_size >= KAUSAL_CONFIG_SIZE_V5 {
        KAUSAL_CONFIG_SIZE_V5
    } else if struct_size >= KAUSAL_CONFIG_SIZE_V4 {
        KAUSAL_CONFIG_SIZE_V4
    } else if struct_size >= KAUSAL_CONFIG_SIZE_V3 {
        KAUSAL_CONFIG_SIZE_V3
    } else if struct_size >= KAUSAL_CONFIG_SIZE_V2 {
        KAUSAL_CONFIG_SIZE_V2
    } else if struct_size >= KAUSAL_CONFIG_SIZE_V1 {
        KAUSAL_CONFIG_SIZE_V1
    } else {
        return KAUSAL_ERROR_STRUCT_SIZE;
    };
    // SAFETY: forwarded from the caller.
    status_of(unsafe { write_config(out, size) })
}

/// Writes the first `size` bytes of the default config (a version's size) into `out`.
unsafe fn write_config(out: *mut kausal_config, size: u32) -> Outcome {
    if out.is_null() {
        return Err(KAUSAL_ERROR_NULL_ARGUMENT.into());
    }
    let config = kausal_config { struct_size: size, ..kausal_config::from_core(&Config::DEFAULT) };
    debug_assert!(size as usize <= size_of::<kausal_config>());
    // SAFETY: non-null, and the caller's struct holds at least `size` bytes (the version it
    // was built with); the source is a whole struct.
    unsafe {
        ptr::copy_nonoverlapping(
            ptr::addr_of!(config).cast::<u8>(),
            out.cast::<u8>(),
            size as usize,
        );
    };
    Ok(())
}

/// Checks a configuration. On `KAUSAL_ERROR_CONFIG_INVALID`, `*out_field` (if not NULL)
/// points to the static, NUL-terminated name of the first bad field.
#[no_mangle]
pub unsafe extern "C" fn kausal_config_check(
    config: *const kausal_config,
    out_field: *mut *const c_char,
) -> kausal_status {
    // SAFETY: forwarded from the caller.
    let config = match unsafe { kausal_config::read(config) } {
        Ok(config) => config,
        Err(failure) => return failure.status,
    };
    match config.to_core().map_err(|failure: Failure| failure.status) {
        Ok(_) => KAUSAL_OK,
        Err(status) => {
            if status == KAUSAL_ERROR_CONFIG_INVALID && !out_field.is_null() {
                let field = types::invalid_field(&config);
                // SAFETY: non-null out-pointer from the caller.
                unsafe { out_field.write(field.as_ptr().cast()) };
            }
            status
        }
    }
}

/// Bytes of region for the handle, the hook's state, the file names and the engine.
fn handle_bytes_required(config: &Config) -> usize {
    let hook = align_of::<events::HookSlot>() - 1 + size_of::<events::HookSlot>();
    let names = align_of::<NamedFile>() - 1 + config.files_max as usize * size_of::<NamedFile>();
    let handle = align_of::<kausal_db>() - 1 + size_of::<kausal_db>();
    handle + hook + names + memory_bytes_required(config)
}

/// Writes the bytes of region `kausal_open_*` needs for `config` into `*out_bytes`.
#[no_mangle]
pub unsafe extern "C" fn kausal_memory_required(
    config: *const kausal_config,
    out_bytes: *mut usize,
) -> kausal_status {
    status_of((|| {
        // SAFETY: forwarded from the caller.
        let config = unsafe { kausal_config::read(config) }?.to_core()?;
        // SAFETY: forwarded from the caller.
        unsafe { output(out_bytes, handle_bytes_required(&config)) }
    })())
}

/// Checks the optional `out_error` of an open: NULL, or a struct of a size this version
/// knows.
unsafe fn error_output(out_error: *mut kausal_error_detail) -> Outcome {
    // SAFETY: the caller passes NULL or a pointer to a kausal_error_detail (its first field
    // is struct_size in every version).
    match unsafe { out_error.as_ref() } {
        Some(detail) if detail.struct_size < KAUSAL_ERROR_DETAIL_SIZE_V1 => {
            Err(KAUSAL_ERROR_STRUCT_SIZE.into())
        }
        _ => Ok(()),
    }
}

/// Opens a store on `vfs` in `region`; the handle is placed at the region's start. A
/// failure leaves the storage call that failed during the open, if any, in `storage`.
// `small-code` (the firmware: one caller) inlines it: a frame of its own added 220 bytes to
// the open's stack, past the firmware's 4 KiB budget once the engine held a frozen memtable.
#[cfg_attr(feature = "small-code", inline(always))]
unsafe fn open_in(
    config: *const kausal_config,
    region: *mut c_void,
    region_len: usize,
    vfs: impl FnOnce() -> Outcome<Backend>,
    out_db: *mut *mut kausal_db,
    storage: &mut Option<StorageFailure>,
) -> Outcome {
    // SAFETY: forwarded from the caller.
    let caller_config = unsafe { kausal_config::read(config) }?;
    let region_initialized = caller_config.region_initialized == 1;
    let config = caller_config.to_core()?;
    if region.is_null() || out_db.is_null() {
        return Err(KAUSAL_ERROR_NULL_ARGUMENT.into());
    }
    if region_len < handle_bytes_required(&config) {
        let error =
            kausaldb_core::Error::RegionTooSmall { bytes_required: handle_bytes_required(&config) };
        return Err(error.into());
    }
    let backend = vfs()?;
    let base = region.cast::<u8>();
    let handle_offset = base.align_offset(align_of::<kausal_db>());
    let hook_start = handle_offset + size_of::<kausal_db>();
    // SAFETY: within the region (handle_bytes_required counts the handle and alignment).
    let hook_offset = unsafe { aligned_offset::<events::HookSlot>(base, hook_start) };
    let names_start = hook_offset + size_of::<events::HookSlot>();
    // SAFETY: as above, for the hook's state.
    let names_offset = unsafe { aligned_offset::<NamedFile>(base, names_start) };
    // Valid configs have files_max >= 4 (segments + tables + 2).
    let names_count = config.files_max as usize;
    let engine_offset = names_offset + names_count * size_of::<NamedFile>();
    // SAFETY: the caller gives `region_len` writable bytes that stay valid, and untouched by
    // the caller, until kausal_close. Unless the caller set `region_initialized` (its promise
    // that every byte was written before), they may be uninitialised, so they are zeroed
    // before a slice is formed; the engine reads any bytes without trusting them. The
    // engine's part starts after the handle's, so the two never overlap.
    let engine_region = unsafe {
        if !region_initialized {
            ptr::write_bytes(base, 0, region_len);
        }
        core::slice::from_raw_parts_mut(base.add(engine_offset), region_len - engine_offset)
    };
    // SAFETY: `names_offset` aligns the pointer for NamedFile, and the `names_count` slots
    // lie inside the region between the hook's and the engine's; nothing else refers to them.
    let names = unsafe { empty_names(base.add(names_offset).cast(), names_count) };
    let vfs = AnyVfs::new(backend, names);
    let engine =
        Engine::open_or_give_back(config, engine_region, vfs).map_err(|(error, vfs)| {
            *storage = vfs.failure().cloned();
            Failure::from(error)
        })?;
    // SAFETY: `handle_offset` aligns the pointer for kausal_db, and the handle's bytes lie
    // inside the region, before the engine's part.
    let handle = unsafe { base.add(handle_offset).cast::<kausal_db>() };
    // SAFETY: `hook_offset` aligns the pointer for HookSlot, and its bytes lie inside the
    // region between the handle's and the engine's.
    let hook = unsafe { base.add(hook_offset).cast::<events::HookSlot>() };
    // SAFETY: as above; writing does not drop the zeroed bytes it replaces.
    unsafe {
        hook.write(events::HookSlot::EMPTY);
        handle.write(kausal_db { magic: HANDLE_MAGIC, engine, hook, last_error: None });
    }
    // SAFETY: checked non-null above.
    unsafe { out_db.write(handle) };
    Ok(())
}

/// `count` empty name slots at `names`.
///
/// # Safety
/// `names` must be aligned for `NamedFile` and valid for writes of `count` of them for the
/// handle's life, with no other reference to those bytes.
unsafe fn empty_names(names: *mut NamedFile, count: usize) -> &'static mut [NamedFile] {
    // SAFETY: per the contract; each slot is written before the slice is formed, and the
    // bytes it replaces need no drop.
    unsafe {
        for index in 0..count {
            names.add(index).write(NamedFile::EMPTY);
        }
        core::slice::from_raw_parts_mut(names, count)
    }
}

/// The first offset from `start` at which `base + offset` is aligned for `T`.
///
/// # Safety
/// `base + start` must lie within one allocation (the region).
unsafe fn aligned_offset<T>(base: *mut u8, start: usize) -> usize {
    // SAFETY: forwarded from the caller.
    start + unsafe { base.add(start) }.align_offset(align_of::<T>())
}

/// The status of an open; on failure, its detail goes to `out_error` (if not NULL), with
/// `region_len` as the value of `KAUSAL_ERROR_REGION_TOO_SMALL` (the error has only the
/// bytes required).
unsafe fn open_status(
    out_error: *mut kausal_error_detail,
    result: Outcome,
    storage: Option<StorageFailure>,
    region_len: usize,
) -> kausal_status {
    match result {
        Ok(()) => KAUSAL_OK,
        Err(failure) => {
            if !out_error.is_null() {
                let mut detail = detail::detail_of(&failure, storage.as_ref());
                if failure.status == KAUSAL_ERROR_REGION_TOO_SMALL {
                    detail.value = region_len as u64;
                }
                // SAFETY: non-null, checked by error_output to be a struct of this size.
                unsafe { out_error.write(detail) };
            }
            failure.status
        }
    }
}

/// Opens (creating if needed) the store in directory `path` (NUL-terminated), with POSIX
/// files. `region` (at least `kausal_memory_required` bytes, any alignment, contents
/// ignored) holds the handle and every byte the engine uses; it must stay valid and
/// untouched until `kausal_close`. It is zeroed first unless `config->region_initialized`
/// is 1 (then an open costs what the store holds, not the region's size). Replays the
/// log; see `kausal_stats` for what recovery found. If the open fails and `out_error` is
/// not NULL (its `struct_size` set), the detail of the failure is written there: which
/// file, which storage call and `errno`, which config field, which kind of damage.
#[no_mangle]
pub unsafe extern "C" fn kausal_open_dir(
    config: *const kausal_config,
    region: *mut c_void,
    region_len: usize,
    path: *const c_char,
    out_db: *mut *mut kausal_db,
    out_error: *mut kausal_error_detail,
) -> kausal_status {
    // SAFETY: forwarded from the caller.
    if let Err(failure) = unsafe { error_output(out_error) } {
        return failure.status;
    }
    let vfs = || {
        if path.is_null() {
            return Err(KAUSAL_ERROR_NULL_ARGUMENT.into());
        }
        // SAFETY: non-null and, per the header, NUL-terminated.
        let path = unsafe { CStr::from_ptr(path) }
            .to_str()
            .map_err(|_| Failure::from(KAUSAL_ERROR_ARGUMENT_INVALID))?;
        posix_backend(path)
    };
    let mut storage = None;
    // SAFETY: forwarded from the caller.
    let result = unsafe { open_in(config, region, region_len, vfs, out_db, &mut storage) };
    // SAFETY: forwarded from the caller.
    unsafe { open_status(out_error, result, storage, region_len) }
}

/// The POSIX backend on directory `path`.
#[cfg(feature = "posix")]
fn posix_backend(path: &str) -> Result<Backend, Failure> {
    Ok(Backend::Posix(PosixVfs::open_dir(path)?))
}

/// A build without the POSIX backend (bare metal) has no directories to open.
#[cfg(not(feature = "posix"))]
fn posix_backend(_path: &str) -> Result<Backend, Failure> {
    Err(KAUSAL_ERROR_UNSUPPORTED.into())
}

/// The host's callbacks, as many bytes as its `struct_size` says (an older, shorter struct
/// leaves the newer callbacks NULL instead of being read past its end).
unsafe fn host_callbacks(vfs: *const kausal_vfs) -> Outcome<kausal_vfs> {
    // SAFETY: forwarded from the caller; the callbacks are fn pointers, a pointer and a u32,
    // valid for any bits a correct caller wrote.
    unsafe { read_versioned(vfs, KAUSAL_VFS_SIZE_V1, kausal_vfs::EMPTY) }
}

/// A caller's versioned struct (its first field is `struct_size`, a u32, in every version):
/// `KAUSAL_ERROR_NULL_ARGUMENT` for NULL, `KAUSAL_ERROR_STRUCT_SIZE` below `size_min`, else
/// its `struct_size` bytes over `base`, which keeps the fields of versions newer than the
/// caller's, so an older, shorter struct is never read past its end.
///
/// # Safety
/// `caller` is NULL or valid for reads of the `struct_size` bytes it states, and every
/// field of `T` is valid for any bits a correct caller wrote there.
pub(crate) unsafe fn read_versioned<T: Copy>(
    caller: *const T,
    size_min: u32,
    base: T,
) -> Outcome<T> {
    if caller.is_null() {
        return Err(KAUSAL_ERROR_NULL_ARGUMENT.into());
    }
    // SAFETY: non-null, and every version of the struct starts with its u32 `struct_size`.
    let size = unsafe { caller.cast::<u32>().read_unaligned() };
    if size < size_min {
        return Err(KAUSAL_ERROR_STRUCT_SIZE.into());
    }
    let mut copy = base;
    let bytes = (size as usize).min(size_of::<T>());
    // SAFETY: the caller's struct holds `size` bytes (the header's contract) and ours at
    // least `bytes`; the fields take any bits (the contract above).
    unsafe {
        ptr::copy_nonoverlapping(caller.cast::<u8>(), ptr::addr_of_mut!(copy).cast::<u8>(), bytes)
    };
    Ok(copy)
}

/// Opens (creating if needed) the store kept by the host's storage callbacks `vfs`
/// (copied; `vfs->context` must stay valid until `kausal_close`). Otherwise as
/// `kausal_open_dir`.
#[no_mangle]
pub unsafe extern "C" fn kausal_open_vfs(
    config: *const kausal_config,
    region: *mut c_void,
    region_len: usize,
    vfs: *const kausal_vfs,
    out_db: *mut *mut kausal_db,
    out_error: *mut kausal_error_detail,
) -> kausal_status {
    // SAFETY: forwarded from the caller.
    if let Err(failure) = unsafe { error_output(out_error) } {
        return failure.status;
    }
    let vfs = || {
        // SAFETY: forwarded from the caller.
        let callbacks = unsafe { host_callbacks(vfs) }?;
        let host = HostVfs::new(callbacks).ok_or(KAUSAL_ERROR_NULL_ARGUMENT)?;
        Ok(Backend::Host(host))
    };
    let mut storage = None;
    // SAFETY: forwarded from the caller.
    let result = unsafe { open_in(config, region, region_len, vfs, out_db, &mut storage) };
    // SAFETY: forwarded from the caller.
    unsafe { open_status(out_error, result, storage, region_len) }
}

/// The detail of the last call on `db`: its status (`KAUSAL_OK` if it succeeded) and what
/// the engine knew of its error, written to `*out` (set `out->struct_size` first). Calls
/// refused for their handle (NULL, closed) record nothing. Does not change what it reads.
#[no_mangle]
pub unsafe extern "C" fn kausal_last_error(
    db: *mut kausal_db,
    out: *mut kausal_error_detail,
) -> kausal_status {
    let result = (|| {
        // SAFETY: forwarded from the caller.
        let (db, size) = unsafe { (db.as_ref(), reference(out)?.struct_size) };
        let db = db.ok_or(KAUSAL_ERROR_NULL_ARGUMENT)?;
        if db.magic != HANDLE_MAGIC {
            return Err(KAUSAL_ERROR_HANDLE_INVALID.into());
        }
        if size < KAUSAL_ERROR_DETAIL_SIZE_V1 {
            return Err(KAUSAL_ERROR_STRUCT_SIZE.into());
        }
        let detail = match &db.last_error {
            Some(last) => {
                let mut detail = detail::detail_of(&last.failure, last.storage.as_ref());
                detail::fill_limit(&mut detail, last.failure.error, db.engine.config());
                detail
            }
            None => detail::detail_of(&Failure::from(KAUSAL_OK), None),
        };
        // SAFETY: forwarded from the caller.
        unsafe { output(out, detail) }
    })();
    // SAFETY: forwarded from the caller; the call's borrows have ended.
    unsafe { status_at(db, result) }
}

/// Syncs and closes the store. The handle is invalid afterwards (calls with it return
/// `KAUSAL_ERROR_HANDLE_INVALID` while the region exists) and the region is the caller's
/// again. A sync failure is returned, but the handle is closed all the same.
#[no_mangle]
pub unsafe extern "C" fn kausal_close(db: *mut kausal_db) -> kausal_status {
    // SAFETY: forwarded from the caller.
    if let Err(failure) = unsafe { engine(db) } {
        return failure.status;
    }
    // SAFETY: the handle is live (checked), so it holds an initialised kausal_db that is
    // moved out exactly once; the magic is cleared so no later call uses the moved value.
    let handle = unsafe {
        let handle = ptr::read(db);
        ptr::addr_of_mut!((*db).magic).write(0);
        handle
    };
    let result = handle.engine.close();
    status_of(result.map_err(Failure::from))
}

/// A block's metadata: NULL with length 0 is the empty object (most blocks have none).
unsafe fn metadata_of<'a>(metadata_json: *const c_char, len: usize) -> Outcome<&'a [u8]> {
    if metadata_json.is_null() && len == 0 {
        return Ok(b"{}");
    }
    // SAFETY: forwarded from the caller.
    unsafe { bytes(metadata_json.cast(), len) }
}

/// Stores a block (replacing any earlier version of the id; its edges stay). `*out_sequence`
/// (may be NULL) receives the write's sequence. `metadata_json` may be NULL with length 0:
/// the empty object `{}`. Invalidates earlier block views.
#[no_mangle]
pub unsafe extern "C" fn kausal_put_block(
    db: *mut kausal_db,
    id: *const kausal_id,
    source_uri: *const c_char,
    source_uri_len: usize,
    metadata_json: *const c_char,
    metadata_json_len: usize,
    content: *const u8,
    content_len: usize,
    out_sequence: *mut u64,
) -> kausal_status {
    let result = (|| {
        // SAFETY: every pointer is forwarded from the caller with its length.
        let (engine, id, uri, metadata, content) = unsafe {
            (
                engine(db)?,
                id_of(id)?,
                bytes(source_uri.cast(), source_uri_len)?,
                metadata_of(metadata_json, metadata_json_len)?,
                bytes(content, content_len)?,
            )
        };
        let sequence = engine.put_block(id, uri, metadata, content)?;
        optional_output(out_sequence, sequence)
    })();
    // SAFETY: forwarded from the caller; the call's borrows have ended.
    unsafe { status_at(db, result) }
}

/// Writes `value` if `pointer` is not NULL.
fn optional_output<T>(pointer: *mut T, value: T) -> Outcome {
    if !pointer.is_null() {
        // SAFETY: non-null out-pointer from the caller.
        unsafe { pointer.write(value) };
    }
    Ok(())
}

/// Finds a live block. On success `*out_view` points into the store's region (the
/// in-memory table, or the buffer a table-resident block was read into): valid until the
/// next call of any `kausal_` function on this handle. Copy what you keep.
/// `KAUSAL_ERROR_NOT_FOUND` if absent.
#[no_mangle]
pub unsafe extern "C" fn kausal_find_block(
    db: *mut kausal_db,
    id: *const kausal_id,
    out_view: *mut kausal_block_view,
) -> kausal_status {
    let result = (|| {
        // SAFETY: forwarded from the caller.
        let (engine, id) = unsafe { (engine(db)?, id_of(id)?) };
        if out_view.is_null() {
            return Err(KAUSAL_ERROR_NULL_ARGUMENT.into());
        }
        let view = engine.find_block(id)?.ok_or(KAUSAL_ERROR_NOT_FOUND)?;
        let view = kausal_block_view {
            id: kausal_id { bytes: view.id.0 },
            sequence: view.sequence,
            source_uri: view.source_uri.as_ptr().cast(),
            source_uri_len: view.source_uri.len(),
            metadata_json: view.metadata_json.as_ptr().cast(),
            metadata_json_len: view.metadata_json.len(),
            content: view.content.as_ptr(),
            content_len: view.content.len(),
        };
        // SAFETY: checked non-null above.
        unsafe { output(out_view, view) }
    })();
    // SAFETY: forwarded from the caller; the call's borrows have ended.
    unsafe { status_at(db, result) }
}

/// Deletes a live block and every edge into or out of it. `KAUSAL_ERROR_NOT_FOUND` if absent.
/// The delete is one write (a crash keeps all of it or none), so its edge tombstones must fit
/// the in-memory table at once: a block with more edges than `memtable_edges_max` or than
/// `memtable_entries_max - 1` gets `KAUSAL_ERROR_MEMTABLE_FULL` every
/// time (`kausal_last_error` names the resource); delete its edges first, then the block.
#[no_mangle]
pub unsafe extern "C" fn kausal_delete_block(
    db: *mut kausal_db,
    id: *const kausal_id,
    out_sequence: *mut u64,
) -> kausal_status {
    let result = (|| {
        // SAFETY: forwarded from the caller.
        let (engine, id) = unsafe { (engine(db)?, id_of(id)?) };
        optional_output(out_sequence, engine.delete_block(id)?)
    })();
    // SAFETY: forwarded from the caller; the call's borrows have ended.
    unsafe { status_at(db, result) }
}

/// Stores an edge between two live blocks. `*out_inserted` (may be NULL) is 1 if stored,
/// 0 if the same edge already existed (a no-op).
#[no_mangle]
pub unsafe extern "C" fn kausal_put_edge(
    db: *mut kausal_db,
    edge: *const kausal_edge,
    out_inserted: *mut u32,
) -> kausal_status {
    let result = (|| {
        // SAFETY: forwarded from the caller.
        let (engine, edge) = unsafe { (engine(db)?, reference(edge)?.to_core()?) };
        let inserted = engine.put_edge(edge)?.is_some();
        optional_output(out_inserted, u32::from(inserted))
    })();
    // SAFETY: forwarded from the caller; the call's borrows have ended.
    unsafe { status_at(db, result) }
}

/// Deletes an edge. `KAUSAL_ERROR_NOT_FOUND` if it does not exist.
#[no_mangle]
pub unsafe extern "C" fn kausal_delete_edge(
    db: *mut kausal_db,
    edge: *const kausal_edge,
) -> kausal_status {
    let result = (|| {
        // SAFETY: forwarded from the caller.
        let (engine, edge) = unsafe { (engine(db)?, reference(edge)?.to_core()?) };
        engine.delete_edge(edge).map(|_| ()).map_err(Failure::from)
    })();
    // SAFETY: forwarded from the caller; the call's borrows have ended.
    unsafe { status_at(db, result) }
}

/// Converts a C filter (NULL = all types) into `types` storage and the core filter.
unsafe fn filter_of<'t>(
    filter: *const kausal_edge_filter,
    types: &'t mut [EdgeType; KAUSAL_FILTER_TYPES_MAX],
) -> Outcome<EdgeFilter<'t>> {
    // SAFETY: forwarded from the caller.
    let Some(filter) = (unsafe { filter.as_ref() }) else {
        return Ok(EdgeFilter::All);
    };
    if filter.types_len > KAUSAL_FILTER_TYPES_MAX {
        return Err(KAUSAL_ERROR_ARGUMENT_INVALID.into());
    }
    // SAFETY: a u16 array of `types_len` elements, per the header.
    let codes = unsafe { array_bytes(filter.types.cast(), filter.types_len, 2) }?;
    for (slot, code) in types.iter_mut().zip(codes.chunks_exact(2)) {
        *slot = EdgeType::from_code(u16::from_ne_bytes([code[0], code[1]]))?;
    }
    let listed = &types[..filter.types_len];
    match filter.mode {
        KAUSAL_FILTER_ALL => Ok(EdgeFilter::All),
        KAUSAL_FILTER_INCLUDE => Ok(EdgeFilter::Include(listed)),
        KAUSAL_FILTER_EXCLUDE => Ok(EdgeFilter::Exclude(listed)),
        _ => Err(KAUSAL_ERROR_ARGUMENT_INVALID.into()),
    }
}

/// Lists the edges of a live block in `direction` (`KAUSAL_DIRECTION_*`) that pass `filter`
/// (NULL: all), in an order that is deterministic for a given store state,
/// into `out` (capacity `out_capacity` edges). On success
/// `*out_count` is the number written. If they do not fit: `KAUSAL_ERROR_BUFFER_TOO_SMALL`,
/// `*out_count` is the number needed, and `out` is untouched.
#[no_mangle]
pub unsafe extern "C" fn kausal_edges(
    db: *mut kausal_db,
    id: *const kausal_id,
    direction: u32,
    filter: *const kausal_edge_filter,
    out: *mut kausal_edge,
    out_capacity: usize,
    out_count: *mut usize,
) -> kausal_status {
    let mut types = [EdgeType::CALLS; KAUSAL_FILTER_TYPES_MAX];
    let result = (|| {
        // SAFETY: forwarded from the caller.
        let (engine, id, filter) =
            unsafe { (engine(db)?, id_of(id)?, filter_of(filter, &mut types)?) };
        let direction = types::direction_of(direction)?;
        if out_count.is_null() || (out.is_null() && out_capacity > 0) {
            return Err(KAUSAL_ERROR_NULL_ARGUMENT.into());
        }
        let total = engine.visit_edges(id, direction, filter, |_| {})?;
        if total > out_capacity {
            // SAFETY: checked non-null above.
            unsafe { out_count.write(total) };
            return Err(KAUSAL_ERROR_BUFFER_TOO_SMALL.into());
        }
        let mut written = 0;
        engine.visit_edges(id, direction, filter, |edge| {
            if written < out_capacity {
                // SAFETY: `out` holds `out_capacity` edges (non-null when the capacity is
                // non-zero, checked above), and `written < out_capacity`.
                unsafe { out.add(written).write(kausal_edge::from_core(&edge)) };
                written += 1;
            }
        })?;
        // SAFETY: checked non-null above.
        unsafe { out_count.write(written) };
        Ok(())
    })();
    // SAFETY: forwarded from the caller; the call's borrows have ended.
    unsafe { status_at(db, result) }
}

/// Writes the in-memory table to a new sorted table on disk and empties it (done
/// automatically when it fills); a frozen one (`flush_auto` 0) first.
/// `KAUSAL_ERROR_MEMTABLE_FULL` when the maximum number of tables exists. Invalidates
/// earlier block views.
#[no_mangle]
pub unsafe extern "C" fn kausal_flush(db: *mut kausal_db) -> kausal_status {
    // SAFETY: forwarded from the caller.
    // SAFETY: forwarded from the caller.
    let result = unsafe { engine(db) }.and_then(|engine| engine.flush().map_err(Failure::from));
    // SAFETY: forwarded from the caller; the call's borrows have ended.
    unsafe { status_at(db, result) }
}

/// With `flush_auto` 0: one step of writing the frozen memtable, if there is one, to sorted
/// tables while the other keeps taking writes (call it when the host has time, while
/// `kausal_store_stats.flush_pending` is 1): at most `flush_step_bytes` of records, a step
/// that finishes a table ends with its sync, and a last step installs the tables.
/// `*out_flushed` (may be NULL) is 1 if there was one to work on, 0 if none was frozen.
/// Errors as `kausal_flush`. Invalidates earlier block views.
#[no_mangle]
pub unsafe extern "C" fn kausal_flush_step(
    db: *mut kausal_db,
    out_flushed: *mut u32,
) -> kausal_status {
    let result = (|| {
        // SAFETY: forwarded from the caller.
        let flushed = unsafe { engine(db) }?.flush_step()?;
        optional_output(out_flushed, u32::from(flushed))
    })();
    // SAFETY: forwarded from the caller; the call's borrows have ended.
    unsafe { status_at(db, result) }
}

/// One compaction step: merges the newest run of similar-sized tables into one (streaming,
/// crash-safe); with `compaction_auto` 0, at most `compaction_step_bytes` of records a call,
/// the merge's place kept between calls (`kausal_store_stats.compaction_pending` is 1) and
/// the merged table installed by the last; the next steps remove the merge's old tables,
/// `compaction_step_bytes` of their files a step. `*out_merged` (may be NULL) is 1 if it
/// took a step, 0 if there was nothing to merge or remove. `KAUSAL_ERROR_MEMTABLE_FULL` if
/// the merged table's bloom filter and index do not fit in `table_memory_bytes` beside the
/// tables kept (raise it). Invalidates earlier block views.
#[no_mangle]
pub unsafe extern "C" fn kausal_compact_step(
    db: *mut kausal_db,
    out_merged: *mut u32,
) -> kausal_status {
    let result = (|| {
        // SAFETY: forwarded from the caller.
        let merged = unsafe { engine(db) }?.compact_step()?;
        optional_output(out_merged, u32::from(merged))
    })();
    // SAFETY: forwarded from the caller; the call's borrows have ended.
    unsafe { status_at(db, result) }
}

/// Makes every earlier write durable. Invalidates earlier block views.
#[no_mangle]
pub unsafe extern "C" fn kausal_sync(db: *mut kausal_db) -> kausal_status {
    // SAFETY: forwarded from the caller.
    // SAFETY: forwarded from the caller.
    let result = unsafe { engine(db) }.and_then(|engine| engine.sync().map_err(Failure::from));
    // SAFETY: forwarded from the caller; the call's borrows have ended.
    unsafe { status_at(db, result) }
}

/// Writes the store's counters into `*out`, whose `struct_size` the caller sets to
/// `sizeof(kausal_store_stats)` first (`KAUSAL_ERROR_STRUCT_SIZE` if smaller than version 1's):
/// as many bytes as it says, up to this version's size, with `struct_size` set to the bytes
/// written (a version-1 caller gets version 1's fields).
#[no_mangle]
pub unsafe extern "C" fn kausal_stats(
    db: *mut kausal_db,
    out: *mut kausal_store_stats,
) -> kausal_status {
    let result = (|| {
        // SAFETY: forwarded from the caller.
        let engine = unsafe { engine(db)? };
        if out.is_null() {
            return Err(KAUSAL_ERROR_NULL_ARGUMENT.into());
        }
        // SAFETY: non-null; every version of the struct starts with `struct_size` (read
        // alone: a version-1 struct is shorter than this version's).
        let size = unsafe { ptr::addr_of!((*out).struct_size).read() };
        if size < KAUSAL_STATS_SIZE_V1 {
            return Err(KAUSAL_ERROR_STRUCT_SIZE.into());
        }
        let bytes = (size as usize).min(size_of::<kausal_store_stats>());
        let mut stats = kausal_store_stats::from_core(&engine.stats());
        stats.struct_size = u32::try_from(bytes).unwrap_or(KAUSAL_STATS_SIZE_V1);
        // SAFETY: the caller's struct holds `size` bytes (the header's contract) and ours
        // `bytes` or more; both are plain integers.
        unsafe {
            ptr::copy_nonoverlapping(ptr::addr_of!(stats).cast::<u8>(), out.cast::<u8>(), bytes)
        };
        Ok(())
    })();
    // SAFETY: forwarded from the caller; the call's borrows have ended.
    unsafe { status_at(db, result) }
}

/// Derives the id of `name` in `namespace` (deterministic: the same symbol always gets the
/// same id; see docs/FORMAT.md for the definition).
#[no_mangle]
pub unsafe extern "C" fn kausal_id_derive(
    namespace: *const c_char,
    namespace_len: usize,
    name: *const c_char,
    name_len: usize,
    out_id: *mut kausal_id,
) -> kausal_status {
    status_of((|| {
        // SAFETY: forwarded from the caller with the lengths.
        let (namespace, name) =
            unsafe { (bytes(namespace.cast(), namespace_len)?, bytes(name.cast(), name_len)?) };
        let id = BlockId::derive(namespace, name);
        // SAFETY: forwarded from the caller.
        unsafe { output(out_id, kausal_id { bytes: id.0 }) }
    })())
}

/// Writes the 32 lowercase hex digits of `id` and a NUL into `out` (at least 33 bytes).
#[no_mangle]
pub unsafe extern "C" fn kausal_id_to_hex(
    id: *const kausal_id,
    out: *mut c_char,
    out_len: usize,
) -> kausal_status {
    status_of((|| {
        // SAFETY: forwarded from the caller.
        let id = unsafe { id_of(id) }?;
        if out.is_null() {
            return Err(KAUSAL_ERROR_NULL_ARGUMENT.into());
        }
        if out_len < 33 {
            return Err(KAUSAL_ERROR_BUFFER_TOO_SMALL.into());
        }
        let mut text = [0u8; 33];
        id.to_hex(&mut text[..32])?;
        // SAFETY: `out` is valid for `out_len >= 33` bytes.
        unsafe { ptr::copy_nonoverlapping(text.as_ptr(), out.cast(), text.len()) };
        Ok(())
    })())
}

/// Parses exactly 32 hex digits, upper or lower case (`text_len` must be 32; no NUL needed),
/// into `*out_id`. The all-zero id parses; it is refused (`KAUSAL_ERROR_ID_ZERO`) wherever
/// an id names a block.
#[no_mangle]
pub unsafe extern "C" fn kausal_id_from_hex(
    text: *const c_char,
    text_len: usize,
    out_id: *mut kausal_id,
) -> kausal_status {
    status_of((|| {
        // SAFETY: forwarded from the caller with its length.
        let text = unsafe { bytes(text.cast(), text_len) }?;
        let id = BlockId::from_hex(text)?;
        // SAFETY: forwarded from the caller.
        unsafe { output(out_id, kausal_id { bytes: id.0 }) }
    })())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_constants_match_the_package() {
        let expected = [
            env!("CARGO_PKG_VERSION_MAJOR"),
            env!("CARGO_PKG_VERSION_MINOR"),
            env!("CARGO_PKG_VERSION_PATCH"),
        ];
        let got = [KAUSAL_VERSION_MAJOR, KAUSAL_VERSION_MINOR, KAUSAL_VERSION_PATCH]
            .map(|part| part.to_string());
        assert_eq!(got, expected);
        // SAFETY: kausal_version returns a static NUL-terminated string.
        let text = unsafe { CStr::from_ptr(kausal_version()) };
        assert_eq!(text.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    }
}
