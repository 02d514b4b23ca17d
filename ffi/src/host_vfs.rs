//! Storage for the C API: the POSIX backend, or a host's own callbacks (`kausal_vfs`),
//! e.g. a flash file system on a microcontroller.

use core::ffi::{c_char, c_void};
use kausaldb_core::config::FILE_NAME_BYTES_MAX;
#[cfg(feature = "posix")]
use kausaldb_core::vfs::posix::PosixVfs;
use kausaldb_core::{FileHandle, Vfs, VfsError};

/// Callback result: success.
pub const KAUSAL_VFS_OK: i32 = 0;
/// Callback result: no such file.
pub const KAUSAL_VFS_NOT_FOUND: i32 = 1;
/// Callback result: `create` found the name taken.
pub const KAUSAL_VFS_EXISTS: i32 = 2;
/// Callback result: the device is full.
pub const KAUSAL_VFS_NO_SPACE: i32 = 3;
/// Callback result: `list` needs a larger buffer; it wrote the size needed to `out_used`.
pub const KAUSAL_VFS_BUFFER_TOO_SMALL: i32 = 4;
/// Callback result: any other failure.
pub const KAUSAL_VFS_IO: i32 = 5;
/// Callback result: `lock` found the store held by another; it wrote the holder's pid (0 if
/// unknown) to `out_holder`.
pub const KAUSAL_VFS_LOCKED: i32 = 6;

/// Storage callbacks a host supplies to `kausal_open_vfs`. Every callback is required but
/// `lock` and `unlock` (zero-initialise the struct, then set what you have).
/// `context` is passed back unchanged as the first argument. Names are NUL-terminated ASCII
/// file names of at most 64 bytes chosen by the engine; files are numbered by the host
/// (`out_file`). Every callback returns a `KAUSAL_VFS_*` code.
///
/// The crash contract the engine relies on, and no more (the core's `Vfs` contract):
/// - After `sync(file)` returns OK, the file's contents and length as of that call survive
///   power loss. Before it, any write or truncate since the file's previous sync may be lost,
///   in any combination (not only a suffix), and any one may be torn: a prefix of it, ending
///   at any byte, survives, and the byte at the cut may be garbage. Unwritten gaps below the
///   file's length read as zeros (erased flash that reads 0xFF must be mapped to zeros).
/// - After `sync_dir` returns OK, every earlier create, remove and rename survives. Before it,
///   a crash keeps a prefix, in call order, of those changes. `rename` is atomic: after a
///   crash the target names the old file or the new one.
/// - `read` returns fewer bytes than asked only at the end of the file.
/// - A failed call may have taken effect in part (a write may have stored a prefix); the
///   engine treats a failed write or sync as leaving the file's unsynced contents unknown.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
#[allow(non_camel_case_types)]
pub struct kausal_vfs {
    /// `sizeof(kausal_vfs)`.
    pub struct_size: u32,
    /// Passed as the first argument of every callback; the engine never reads it.
    pub context: *mut c_void,
    /// Creates a new empty file; `KAUSAL_VFS_EXISTS` if the name is taken.
    pub create: Option<unsafe extern "C" fn(*mut c_void, *const c_char, *mut u64) -> i32>,
    /// Opens an existing file for reading and writing.
    pub open: Option<unsafe extern "C" fn(*mut c_void, *const c_char, *mut u64) -> i32>,
    /// Releases a file number.
    pub close: Option<unsafe extern "C" fn(*mut c_void, u64)>,
    /// Reads up to `len` bytes at `offset` into `buffer`; fewer only at end of file.
    pub read:
        Option<unsafe extern "C" fn(*mut c_void, u64, u64, *mut u8, usize, *mut usize) -> i32>,
    /// Writes all `len` bytes at `offset`, extending the file as needed.
    pub write: Option<unsafe extern "C" fn(*mut c_void, u64, u64, *const u8, usize) -> i32>,
    /// Makes the file's data and length durable.
    pub sync: Option<unsafe extern "C" fn(*mut c_void, u64) -> i32>,
    /// Writes the file's length to `out_size`.
    pub size: Option<unsafe extern "C" fn(*mut c_void, u64, *mut u64) -> i32>,
    /// Sets the file's length: shorter drops the bytes past it, longer extends the file with
    /// zeros (the log preallocates its segments this way).
    pub truncate: Option<unsafe extern "C" fn(*mut c_void, u64, u64) -> i32>,
    /// Removes a name.
    pub remove: Option<unsafe extern "C" fn(*mut c_void, *const c_char) -> i32>,
    /// Atomically renames, replacing the target if it exists.
    pub rename: Option<unsafe extern "C" fn(*mut c_void, *const c_char, *const c_char) -> i32>,
    /// Makes earlier creates, removes and renames durable.
    pub sync_dir: Option<unsafe extern "C" fn(*mut c_void) -> i32>,
    /// Writes every file name, each followed by a NUL byte, into `buffer`; the bytes used
    /// (or, with `KAUSAL_VFS_BUFFER_TOO_SMALL`, needed) go to `out_used`.
    pub list: Option<unsafe extern "C" fn(*mut c_void, *mut u8, usize, *mut usize) -> i32>,
    /// Optional (NULL: no lock; absent from version-1 structs): takes the store for this
    /// handle, so two writers never share it; `KAUSAL_VFS_LOCKED` (holder's pid in
    /// `out_holder`) if another holds it. Called first by `kausal_open_vfs`.
    pub lock: Option<unsafe extern "C" fn(*mut c_void, *mut u32) -> i32>,
    /// Optional: releases what `lock` took, at `kausal_close` (or a failed open).
    pub unlock: Option<unsafe extern "C" fn(*mut c_void)>,
}

/// The smallest `struct_size` accepted: version 1, without `lock` and `unlock`.
#[cfg(target_pointer_width = "64")]
pub const KAUSAL_VFS_SIZE_V1: u32 = 112;
/// `sizeof(kausal_vfs)` in this version (with `lock` and `unlock`).
#[cfg(target_pointer_width = "64")]
pub const KAUSAL_VFS_SIZE_V2: u32 = 128;
/// The smallest `struct_size` accepted: version 1, without `lock` and `unlock`.
#[cfg(target_pointer_width = "32")]
pub const KAUSAL_VFS_SIZE_V1: u32 = 56;
/// `sizeof(kausal_vfs)` in this version (with `lock` and `unlock`).
#[cfg(target_pointer_width = "32")]
pub const KAUSAL_VFS_SIZE_V2: u32 = 64;
const _: () = assert!(core::mem::size_of::<kausal_vfs>() == KAUSAL_VFS_SIZE_V2 as usize);

impl kausal_vfs {
    /// No callbacks: what a shorter (older) struct leaves unset.
    pub(crate) const EMPTY: kausal_vfs = kausal_vfs {
        struct_size: 0,
        context: core::ptr::null_mut(),
        create: None,
        open: None,
        close: None,
        read: None,
        write: None,
        sync: None,
        size: None,
        truncate: None,
        remove: None,
        rename: None,
        sync_dir: None,
        list: None,
        lock: None,
        unlock: None,
    };
}

/// The callbacks, checked present once at open.
#[derive(Debug)]
pub(crate) struct HostVfs {
    callbacks: kausal_vfs,
    /// `lock` succeeded: `unlock` is called when this backend is dropped.
    locked: bool,
}

impl HostVfs {
    /// `None` if any callback is missing.
    pub(crate) fn new(callbacks: kausal_vfs) -> Option<HostVfs> {
        let c = &callbacks;
        let present = c.create.is_some()
            && c.open.is_some()
            && c.close.is_some()
            && c.read.is_some()
            && c.write.is_some()
            && c.sync.is_some()
            && c.size.is_some()
            && c.truncate.is_some()
            && c.remove.is_some()
            && c.rename.is_some()
            && c.sync_dir.is_some()
            && c.list.is_some();
        present.then_some(HostVfs { callbacks, locked: false })
    }
}

impl Drop for HostVfs {
    fn drop(&mut self) {
        if let (true, Some(unlock)) = (self.locked, self.callbacks.unlock) {
            // SAFETY: the host's callback, with its own context (the header's contract).
            unsafe { unlock(self.callbacks.context) };
        }
    }
}

#[cfg_attr(feature = "small-code", inline(never))]
fn result_of(code: i32) -> Result<(), VfsError> {
    match code {
        KAUSAL_VFS_OK => Ok(()),
        KAUSAL_VFS_NOT_FOUND => Err(VfsError::NotFound),
        KAUSAL_VFS_EXISTS => Err(VfsError::AlreadyExists),
        KAUSAL_VFS_NO_SPACE => Err(VfsError::NoSpace),
        code => Err(VfsError::Io { code }),
    }
}

/// A NUL-terminated copy of an engine file name.
fn c_name(name: &str) -> Result<[u8; 65], VfsError> {
    let mut bytes = [0u8; 65];
    if name.len() >= bytes.len() || name.bytes().any(|byte| byte == 0) {
        return Err(VfsError::NameInvalid);
    }
    bytes[..name.len()].copy_from_slice(name.as_bytes());
    Ok(bytes)
}

// Every callback was checked present in `HostVfs::new`; `missing()` covers the impossible
// absent case without a panic.
fn missing() -> VfsError {
    VfsError::Io { code: KAUSAL_VFS_IO }
}

impl Vfs for HostVfs {
    fn lock(&mut self) -> Result<(), VfsError> {
        let Some(lock) = self.callbacks.lock else {
            return Ok(());
        };
        if self.locked {
            return Ok(());
        }
        let mut holder = 0u32;
        // SAFETY: the host's callback, with its context and a valid out-pointer.
        match unsafe { lock(self.callbacks.context, &mut holder) } {
            KAUSAL_VFS_OK => {
                self.locked = true;
                Ok(())
            }
            KAUSAL_VFS_LOCKED => Err(VfsError::Locked { pid: holder }),
            code => result_of(code),
        }
    }

    fn create(&mut self, name: &str) -> Result<FileHandle, VfsError> {
        let (name, mut file) = (c_name(name)?, 0u64);
        let callback = self.callbacks.create.ok_or_else(missing)?;
        // SAFETY: the host promised a valid callback; the name is NUL-terminated and `file`
        // is a valid out-pointer for the call.
        result_of(unsafe { callback(self.callbacks.context, name.as_ptr().cast(), &mut file) })?;
        Ok(FileHandle(file))
    }

    fn open(&mut self, name: &str) -> Result<FileHandle, VfsError> {
        let (name, mut file) = (c_name(name)?, 0u64);
        let callback = self.callbacks.open.ok_or_else(missing)?;
        // SAFETY: as in `create`.
        result_of(unsafe { callback(self.callbacks.context, name.as_ptr().cast(), &mut file) })?;
        Ok(FileHandle(file))
    }

    fn close(&mut self, file: FileHandle) {
        if let Some(callback) = self.callbacks.close {
            // SAFETY: the host promised a valid callback.
            unsafe { callback(self.callbacks.context, file.0) };
        }
    }

    fn read_at(
        &mut self,
        file: FileHandle,
        offset: u64,
        buffer: &mut [u8],
    ) -> Result<usize, VfsError> {
        let callback = self.callbacks.read.ok_or_else(missing)?;
        let mut read = 0usize;
        // SAFETY: `buffer` is valid for writes of its length; `read` is a valid out-pointer.
        let code = unsafe {
            callback(
                self.callbacks.context,
                file.0,
                offset,
                buffer.as_mut_ptr(),
                buffer.len(),
                &mut read,
            )
        };
        result_of(code)?;
        if read > buffer.len() {
            return Err(VfsError::Io { code: KAUSAL_VFS_IO });
        }
        Ok(read)
    }

    fn write_at(&mut self, file: FileHandle, offset: u64, data: &[u8]) -> Result<(), VfsError> {
        let callback = self.callbacks.write.ok_or_else(missing)?;
        // SAFETY: `data` is valid for reads of its length for the call.
        result_of(unsafe {
            callback(self.callbacks.context, file.0, offset, data.as_ptr(), data.len())
        })
    }

    fn sync(&mut self, file: FileHandle) -> Result<(), VfsError> {
        let callback = self.callbacks.sync.ok_or_else(missing)?;
        // SAFETY: the host promised a valid callback.
        result_of(unsafe { callback(self.callbacks.context, file.0) })
    }

    fn len(&mut self, file: FileHandle) -> Result<u64, VfsError> {
        let callback = self.callbacks.size.ok_or_else(missing)?;
        let mut size = 0u64;
        // SAFETY: `size` is a valid out-pointer for the call.
        result_of(unsafe { callback(self.callbacks.context, file.0, &mut size) })?;
        Ok(size)
    }

    fn truncate(&mut self, file: FileHandle, len: u64) -> Result<(), VfsError> {
        let callback = self.callbacks.truncate.ok_or_else(missing)?;
        // SAFETY: the host promised a valid callback.
        result_of(unsafe { callback(self.callbacks.context, file.0, len) })
    }

    fn remove(&mut self, name: &str) -> Result<(), VfsError> {
        let name = c_name(name)?;
        let callback = self.callbacks.remove.ok_or_else(missing)?;
        // SAFETY: the name is NUL-terminated.
        result_of(unsafe { callback(self.callbacks.context, name.as_ptr().cast()) })
    }

    fn rename(&mut self, from: &str, to: &str) -> Result<(), VfsError> {
        let (from, to) = (c_name(from)?, c_name(to)?);
        let callback = self.callbacks.rename.ok_or_else(missing)?;
        // SAFETY: both names are NUL-terminated.
        result_of(unsafe {
            callback(self.callbacks.context, from.as_ptr().cast(), to.as_ptr().cast())
        })
    }

    fn sync_dir(&mut self) -> Result<(), VfsError> {
        let callback = self.callbacks.sync_dir.ok_or_else(missing)?;
        // SAFETY: the host promised a valid callback.
        result_of(unsafe { callback(self.callbacks.context) })
    }

    fn list(&mut self, buffer: &mut [u8]) -> Result<usize, VfsError> {
        let callback = self.callbacks.list.ok_or_else(missing)?;
        let mut used = 0usize;
        // SAFETY: `buffer` is valid for writes of its length; `used` is a valid out-pointer.
        let code = unsafe {
            callback(self.callbacks.context, buffer.as_mut_ptr(), buffer.len(), &mut used)
        };
        if code == KAUSAL_VFS_BUFFER_TOO_SMALL {
            return Err(VfsError::BufferTooSmall { needed: used });
        }
        result_of(code)?;
        if used > buffer.len() {
            return Err(VfsError::Io { code: KAUSAL_VFS_IO });
        }
        Ok(used)
    }
}

/// The storage behind a handle.
// One per handle, in the caller's region: the POSIX variant's mapping table (1.5 KiB) costs
// nothing worth an indirection, and this crate cannot allocate.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Backend {
    #[cfg(feature = "posix")]
    Posix(PosixVfs),
    Host(HostVfs),
}

/// The last storage call that failed: what `kausal_error_detail` reports beside the
/// engine's error (which carries only the storage error itself).
#[derive(Clone, Debug)]
pub(crate) struct StorageFailure {
    /// The call, NUL-terminated and static: "open\0", "write\0", ...
    pub(crate) operation: &'static str,
    /// The file it was on, when known.
    pub(crate) file: heapless::String<FILE_NAME_BYTES_MAX>,
    pub(crate) error: VfsError,
}

/// The name of one open file, for the detail of a failed call on it.
#[derive(Clone, Debug)]
pub(crate) struct NamedFile {
    file: Option<FileHandle>,
    name: heapless::String<FILE_NAME_BYTES_MAX>,
}

impl NamedFile {
    pub(crate) const EMPTY: NamedFile = NamedFile { file: None, name: heapless::String::new() };
}

/// The storage a handle uses: its backend, and a record of the last call that failed
/// (with the name of the file it was on).
pub(crate) struct AnyVfs {
    backend: Backend,
    /// One slot per file the store may hold (`files_max`), in the region beside the handle:
    /// a fixed table of 32 inside the handle was 2.5 KiB moved through every frame of an
    /// open (13.7 KiB of `kausal_open_vfs`'s stack on a Cortex-M4) and too few for stores
    /// with more files. Used as a ring, so a name always goes in (the oldest goes out).
    names: &'static mut [NamedFile],
    names_next: usize,
    failure: Option<StorageFailure>,
}

impl core::fmt::Debug for AnyVfs {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let backend = match self.backend {
            #[cfg(feature = "posix")]
            Backend::Posix(_) => "posix",
            Backend::Host(_) => "host",
        };
        f.debug_struct("AnyVfs").field("backend", &backend).field("failure", &self.failure).finish()
    }
}

impl AnyVfs {
    /// The storage of `backend`, remembering names in `names` (at least one slot; emptied
    /// here).
    pub(crate) fn new(backend: Backend, names: &'static mut [NamedFile]) -> AnyVfs {
        assert!(!names.is_empty(), "a name table has a slot");
        names.fill(NamedFile::EMPTY);
        AnyVfs { backend, names, names_next: 0, failure: None }
    }

    /// The last failed storage call since `forget_failure`, if any.
    pub(crate) fn failure(&self) -> Option<&StorageFailure> {
        self.failure.as_ref()
    }

    pub(crate) fn forget_failure(&mut self) {
        self.failure = None;
    }

    fn name_of(&self, file: FileHandle) -> heapless::String<FILE_NAME_BYTES_MAX> {
        let named = self.names.iter().find(|named| named.file == Some(file));
        named.map(|named| named.name.clone()).unwrap_or_default()
    }

    fn forget(&mut self, file: FileHandle) {
        for named in self.names.iter_mut().filter(|named| named.file == Some(file)) {
            *named = NamedFile::EMPTY;
        }
    }

    /// Records a failure of `operation` on the file `name`.
    fn note<T>(
        &mut self,
        operation: &'static str,
        name: &str,
        result: Result<T, VfsError>,
    ) -> Result<T, VfsError> {
        if let Err(error) = &result {
            self.note_failure(operation, name, *error);
        }
        result
    }

    /// `note`'s work, for any result type: one copy of it (one per type was 114 bytes of
    /// firmware code each).
    fn note_failure(&mut self, operation: &'static str, name: &str, error: VfsError) {
        let mut file = heapless::String::<FILE_NAME_BYTES_MAX>::new();
        // A name longer than the store's limit is refused by the backend; cut here, at a
        // character's start (by bytes: decoding characters was 0.2 KiB of firmware code).
        let mut end = name.len().min(FILE_NAME_BYTES_MAX);
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        let _fits = file.push_str(name.get(..end).unwrap_or(""));
        self.failure = Some(StorageFailure { operation, file, error });
    }

    /// Records a failure of `operation` on an open file.
    fn note_file<T>(
        &mut self,
        operation: &'static str,
        file: FileHandle,
        result: Result<T, VfsError>,
    ) -> Result<T, VfsError> {
        if let Err(error) = &result {
            let name = self.name_of(file);
            self.failure = Some(StorageFailure { operation, file: name, error: *error });
        }
        result
    }

    /// Remembers the name of a newly opened file (the oldest name goes when full).
    fn remember(
        &mut self,
        name: &str,
        result: Result<FileHandle, VfsError>,
    ) -> Result<FileHandle, VfsError> {
        if let (Ok(file), Ok(name)) =
            (&result, heapless::String::<FILE_NAME_BYTES_MAX>::try_from(name))
        {
            self.forget(*file);
            let slot = self.names_next % self.names.len();
            self.names[slot] = NamedFile { file: Some(*file), name };
            self.names_next = slot + 1;
        }
        result
    }
}

macro_rules! delegate {
    ($self:ident, $vfs:ident => $call:expr) => {
        match &mut $self.backend {
            #[cfg(feature = "posix")]
            Backend::Posix($vfs) => $call,
            Backend::Host($vfs) => $call,
        }
    };
}

impl Vfs for AnyVfs {
    fn create(&mut self, name: &str) -> Result<FileHandle, VfsError> {
        let result = delegate!(self, vfs => vfs.create(name));
        let result = self.note("create\0", name, result);
        self.remember(name, result)
    }
    fn open(&mut self, name: &str) -> Result<FileHandle, VfsError> {
        let result = delegate!(self, vfs => vfs.open(name));
        let result = self.note("open\0", name, result);
        self.remember(name, result)
    }
    fn close(&mut self, file: FileHandle) {
        self.forget(file);
        delegate!(self, vfs => vfs.close(file))
    }
    fn read_at(
        &mut self,
        file: FileHandle,
        offset: u64,
        buffer: &mut [u8],
    ) -> Result<usize, VfsError> {
        let result = delegate!(self, vfs => vfs.read_at(file, offset, buffer));
        self.note_file("read\0", file, result)
    }
    fn write_at(&mut self, file: FileHandle, offset: u64, data: &[u8]) -> Result<(), VfsError> {
        let result = delegate!(self, vfs => vfs.write_at(file, offset, data));
        self.note_file("write\0", file, result)
    }
    fn sync(&mut self, file: FileHandle) -> Result<(), VfsError> {
        let result = delegate!(self, vfs => vfs.sync(file));
        self.note_file("sync\0", file, result)
    }
    fn len(&mut self, file: FileHandle) -> Result<u64, VfsError> {
        let result = delegate!(self, vfs => vfs.len(file));
        self.note_file("len\0", file, result)
    }
    fn truncate(&mut self, file: FileHandle, len: u64) -> Result<(), VfsError> {
        let result = delegate!(self, vfs => vfs.truncate(file, len));
        self.note_file("truncate\0", file, result)
    }
    fn preallocate(&mut self, file: FileHandle, offset: u64, len: u64) -> Result<(), VfsError> {
        let result = delegate!(self, vfs => vfs.preallocate(file, offset, len));
        self.note_file("preallocate\0", file, result)
    }
    fn remove(&mut self, name: &str) -> Result<(), VfsError> {
        let result = delegate!(self, vfs => vfs.remove(name));
        self.note("remove\0", name, result)
    }
    fn rename(&mut self, from: &str, to: &str) -> Result<(), VfsError> {
        let result = delegate!(self, vfs => vfs.rename(from, to));
        self.note("rename\0", from, result)
    }
    fn sync_dir(&mut self) -> Result<(), VfsError> {
        let result = delegate!(self, vfs => vfs.sync_dir());
        self.note("sync_dir\0", "", result)
    }
    fn list(&mut self, buffer: &mut [u8]) -> Result<usize, VfsError> {
        let result = delegate!(self, vfs => vfs.list(buffer));
        self.note("list\0", "", result)
    }
    fn view_at(
        &mut self,
        file: FileHandle,
        offset: u64,
        len: usize,
    ) -> Result<Option<&[u8]>, VfsError> {
        // Host callbacks have no views (the default); POSIX maps tables. The view borrows
        // the backend only, so the failure is recorded through the other fields.
        let result = match &mut self.backend {
            #[cfg(feature = "posix")]
            Backend::Posix(vfs) => vfs.view_at(file, offset, len),
            Backend::Host(vfs) => vfs.view_at(file, offset, len),
        };
        if let Err(error) = &result {
            let named = self.names.iter().find(|named| named.file == Some(file));
            let name = named.map(|named| named.name.clone()).unwrap_or_default();
            self.failure = Some(StorageFailure { operation: "view\0", file: name, error: *error });
        }
        result
    }
    fn lock(&mut self) -> Result<(), VfsError> {
        // POSIX locks the store directory; a host's callbacks take no lock (the default).
        let result = delegate!(self, vfs => vfs.lock());
        self.note("lock\0", "LOCK", result)
    }
}
