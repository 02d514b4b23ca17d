//! POSIX files in one directory, through the `libc` crate (no `std`): `pread`/`pwrite`,
//! `fdatasync` for file data (`fsync` where there is no `fdatasync`), and `fsync` of the
//! directory for creates, removes and renames. File names are resolved relative to the
//! directory's descriptor (`openat`, `unlinkat`, `renameat`), so the store cannot be
//! redirected by a rename of its directory while open.
//!
//! Besides `region.rs`, this is the only module with `unsafe`: every libc call is foreign
//! code, each with a `// SAFETY:` note on the pointers it is given.

use super::{FileHandle, Vfs, VfsError};
use crate::codec::narrow_usize;
use crate::limits::FILE_NAME_BYTES_MAX;

/// Longest directory path accepted by `PosixVfs::open_dir`, including the NUL.
pub const DIRECTORY_PATH_BYTES_MAX: usize = 4096;

/// Files mapped for `view_at` at once; past this, views decline and reads use `pread`.
pub const MAPS_MAX: usize = 64;
/// Bytes of zeros written per call when preallocating (a static, zeroed array of this size).
const ZERO_CHUNK_BYTES: usize = 64 << 10;

/// A read-only shared mapping of a whole file (as long as it was when mapped).
#[derive(Clone, Copy, Debug)]
struct Mapping {
    fd: libc::c_int,
    /// The mapping's address (kept as an integer so the backend stays `Send`).
    address: usize,
    len: usize,
}

/// A store directory on a POSIX file system.
///
/// `view_at` maps files read-only and shared (the engine asks only for sorted tables, which
/// it never writes again), so table reads cost no system call. A mapping assumes the
/// directory is the engine's alone: a file truncated by someone else while mapped would
/// fault on access.
#[derive(Debug)]
pub struct PosixVfs {
    directory: libc::c_int,
    mappings: heapless::Vec<Mapping, MAPS_MAX>,
    /// The store's lock file, `flock`ed while this backend holds the store (`Vfs::lock`).
    lock: Option<libc::c_int>,
}

/// The lock file in the store directory: `flock`ed by the process that has the store open,
/// holding its pid as text for the error a second opener gets. It is the backend's own file,
/// so `list` leaves it out.
const LOCK_NAME: &str = "LOCK";
/// Bytes of a pid written as decimal text.
const PID_TEXT_BYTES: usize = 10;

fn errno() -> i32 {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    // SAFETY: __errno_location returns a valid pointer to this thread's errno.
    let code = unsafe { *libc::__errno_location() };
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    // SAFETY: __error returns a valid pointer to this thread's errno (BSD, macOS).
    let code = unsafe { *libc::__error() };
    code
}

fn error_of(code: i32) -> VfsError {
    match code {
        libc::ENOENT => VfsError::NotFound,
        libc::EEXIST => VfsError::AlreadyExists,
        libc::ENOSPC | libc::EDQUOT => VfsError::NoSpace,
        libc::ENAMETOOLONG => VfsError::NameInvalid,
        libc::EBADF => VfsError::HandleInvalid,
        code => VfsError::Io { code },
    }
}

/// A NUL-terminated copy of `text` in a stack buffer.
struct CString<const N: usize> {
    bytes: [u8; N],
}

impl<const N: usize> CString<N> {
    fn new(text: &str) -> Result<CString<N>, VfsError> {
        if text.is_empty() || text.len() >= N || text.bytes().any(|byte| byte == 0) {
            return Err(VfsError::NameInvalid);
        }
        let mut bytes = [0u8; N];
        bytes[..text.len()].copy_from_slice(text.as_bytes());
        Ok(CString { bytes })
    }

    fn as_ptr(&self) -> *const libc::c_char {
        self.bytes.as_ptr().cast()
    }
}

type Name = CString<{ FILE_NAME_BYTES_MAX + 1 }>;

fn file_name(name: &str) -> Result<Name, VfsError> {
    if name.contains('/') || name == "." || name == ".." {
        return Err(VfsError::NameInvalid);
    }
    Name::new(name)
}

fn descriptor(file: FileHandle) -> Result<libc::c_int, VfsError> {
    libc::c_int::try_from(file.0).map_err(|_| VfsError::HandleInvalid)
}

/// Retries a call interrupted by a signal (bounded: a signal storm is reported as `EINTR`).
fn retry<T: Copy + PartialOrd + From<i8>>(mut call: impl FnMut() -> T) -> Result<T, VfsError> {
    for _ in 0..64 {
        let result = call();
        if result >= T::from(0) {
            return Ok(result);
        }
        let code = errno();
        if code != libc::EINTR {
            return Err(error_of(code));
        }
    }
    Err(VfsError::Io { code: libc::EINTR })
}

impl PosixVfs {
    /// Opens the store directory `path`, creating it (one level) if it does not exist.
    pub fn open_dir(path: &str) -> Result<PosixVfs, VfsError> {
        let path = CString::<DIRECTORY_PATH_BYTES_MAX>::new(path)?;
        // SAFETY: `path` is NUL-terminated and lives across the calls.
        let made = unsafe { libc::mkdir(path.as_ptr(), 0o755) };
        if made != 0 && errno() != libc::EEXIST {
            return Err(error_of(errno()));
        }
        let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC;
        // SAFETY: as above.
        let directory = retry(|| unsafe { libc::open(path.as_ptr(), flags) })?;
        Ok(PosixVfs { directory, mappings: heapless::Vec::new(), lock: None })
    }

    /// Removes the mapping of `fd`, if any.
    fn unmap(&mut self, fd: libc::c_int) {
        if let Some(index) = self.mappings.iter().position(|mapping| mapping.fd == fd) {
            let mapping = self.mappings.swap_remove(index);
            // SAFETY: `address` and `len` are exactly what mmap returned and was asked for;
            // no view of it outlives a `view_at` call, which holds `&mut self`.
            unsafe { libc::munmap(mapping.address as *mut libc::c_void, mapping.len) };
        }
    }

    /// The mapping of `fd` covering `end` bytes, made (or remade, if the file grew) now;
    /// `None` if the file cannot be mapped, so the caller falls back to `pread`.
    fn mapping_for(&mut self, fd: libc::c_int, end: usize) -> Result<Option<Mapping>, VfsError> {
        if let Some(mapping) = self.mappings.iter().find(|mapping| mapping.fd == fd) {
            if mapping.len >= end {
                return Ok(Some(*mapping));
            }
        }
        self.unmap(fd);
        let len = usize::try_from(self.len(FileHandle(fd as u64))?).unwrap_or(0);
        if len < end || len == 0 || self.mappings.is_full() {
            return Ok(None);
        }
        // SAFETY: a fresh read-only shared mapping of an open descriptor; the kernel picks
        // the address; the result is checked against MAP_FAILED before use.
        let address = unsafe {
            libc::mmap(core::ptr::null_mut(), len, libc::PROT_READ, libc::MAP_SHARED, fd, 0)
        };
        if address == libc::MAP_FAILED {
            return Ok(None);
        }
        let mapping = Mapping { fd, address: address as usize, len };
        // Not full: checked above.
        let _ = self.mappings.push(mapping);
        Ok(Some(mapping))
    }

    fn open_file(&mut self, name: &str, flags: libc::c_int) -> Result<FileHandle, VfsError> {
        let name = file_name(name)?;
        let flags = flags | libc::O_RDWR | libc::O_CLOEXEC;
        let mode: libc::c_uint = 0o644;
        // SAFETY: `name` is NUL-terminated; `directory` is an open descriptor.
        let fd = retry(|| unsafe { libc::openat(self.directory, name.as_ptr(), flags, mode) })?;
        Ok(FileHandle(fd as u64))
    }
}

impl PosixVfs {
    /// `Vfs::lock`: an exclusive, non-blocking `flock` on the lock file, which then holds this
    /// process's pid. The kernel releases it when the descriptor closes: at drop, or when
    /// the process dies (SIGKILL included).
    fn take_lock(&mut self) -> Result<(), VfsError> {
        if self.lock.is_some() {
            return Ok(());
        }
        let file = self.open_file(LOCK_NAME, libc::O_CREAT)?;
        let fd = descriptor(file)?;
        // SAFETY: plain syscall on a descriptor we own.
        let locked = unsafe { libc::flock(fd, libc::LOCK_EX | libc::LOCK_NB) } == 0;
        if !locked {
            let code = errno();
            let pid = read_pid(fd);
            // SAFETY: our descriptor, closed once.
            unsafe { libc::close(fd) };
            return Err(match code {
                libc::EWOULDBLOCK => VfsError::Locked { pid },
                other => error_of(other),
            });
        }
        self.lock = Some(fd);
        // The pid is for the error a second opener sees; the lock itself is the flock.
        let mut text = [b' '; PID_TEXT_BYTES];
        // SAFETY: getpid takes no arguments and cannot fail.
        let mut pid = u32::try_from(unsafe { libc::getpid() }).unwrap_or(0);
        for slot in text.iter_mut().rev() {
            *slot = b'0' + (pid % 10) as u8;
            pid /= 10;
        }
        // SAFETY: a descriptor we own, and a buffer of `text.len()` bytes.
        let written = unsafe { libc::pwrite(fd, text.as_ptr().cast(), text.len(), 0) };
        // SAFETY: a descriptor we own.
        let truncated = unsafe { libc::ftruncate(fd, PID_TEXT_BYTES as libc::off_t) };
        if written < 0 || truncated != 0 {
            return Err(error_of(errno()));
        }
        Ok(())
    }
}

/// The pid a lock file holds, 0 if it holds none (a holder between its flock and its write).
fn read_pid(fd: libc::c_int) -> u32 {
    let mut text = [0u8; PID_TEXT_BYTES];
    // SAFETY: a descriptor we own, and a buffer of `text.len()` bytes.
    let read = unsafe { libc::pread(fd, text.as_mut_ptr().cast(), text.len(), 0) };
    let read = usize::try_from(read).unwrap_or(0).min(text.len());
    text[..read]
        .iter()
        .filter(|byte| byte.is_ascii_digit())
        .fold(0u32, |pid, digit| pid.saturating_mul(10).saturating_add(u32::from(digit - b'0')))
}

impl Drop for PosixVfs {
    fn drop(&mut self) {
        while let Some(mapping) = self.mappings.last().copied() {
            self.unmap(mapping.fd);
        }
        if let Some(lock) = self.lock.take() {
            // SAFETY: the descriptor is ours and closed once; closing releases the flock.
            unsafe { libc::close(lock) };
        }
        // SAFETY: the descriptor is ours and closed once.
        unsafe { libc::close(self.directory) };
    }
}

fn sync_descriptor(fd: libc::c_int) -> Result<(), VfsError> {
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
    // SAFETY: plain syscall on a descriptor.
    let result = retry(|| unsafe { libc::fdatasync(fd) });
    #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
    // SAFETY: plain syscall on a descriptor.
    let result = retry(|| unsafe { libc::fsync(fd) });
    result.map(|_| ())
}

impl Vfs for PosixVfs {
    fn lock(&mut self) -> Result<(), VfsError> {
        self.take_lock()
    }

    fn create(&mut self, name: &str) -> Result<FileHandle, VfsError> {
        self.open_file(name, libc::O_CREAT | libc::O_EXCL)
    }

    fn open(&mut self, name: &str) -> Result<FileHandle, VfsError> {
        self.open_file(name, 0)
    }

    fn close(&mut self, file: FileHandle) {
        if let Ok(fd) = descriptor(file) {
            // A reused descriptor number must not find this file's mapping.
            self.unmap(fd);
            // SAFETY: the engine closes each handle it opened once.
            unsafe { libc::close(fd) };
        }
    }

    fn view_at(
        &mut self,
        file: FileHandle,
        offset: u64,
        len: usize,
    ) -> Result<Option<&[u8]>, VfsError> {
        let fd = descriptor(file)?;
        let Some(start) = usize::try_from(offset).ok() else {
            return Ok(None);
        };
        let Some(end) = start.checked_add(len) else {
            return Ok(None);
        };
        let Some(mapping) = self.mapping_for(fd, end)? else {
            return Ok(None);
        };
        debug_assert!(end <= mapping.len);
        // SAFETY: the mapping is `mapping.len >= end` readable bytes at `address`, alive
        // until `unmap`, which needs `&mut self`: the slice borrows `self`, so it cannot
        // outlive the mapping. The file is the engine's and is no longer written, so the
        // bytes do not change under the slice.
        let bytes =
            unsafe { core::slice::from_raw_parts((mapping.address + start) as *const u8, len) };
        Ok(Some(bytes))
    }

    fn read_at(
        &mut self,
        file: FileHandle,
        offset: u64,
        buffer: &mut [u8],
    ) -> Result<usize, VfsError> {
        let fd = descriptor(file)?;
        let offset =
            libc::off_t::try_from(offset).map_err(|_| VfsError::Io { code: libc::EINVAL })?;
        // SAFETY: `buffer` is valid for writes of its length for the call.
        let read =
            retry(|| unsafe { libc::pread(fd, buffer.as_mut_ptr().cast(), buffer.len(), offset) })?;
        Ok(read as usize)
    }

    fn write_at(&mut self, file: FileHandle, offset: u64, data: &[u8]) -> Result<(), VfsError> {
        let fd = descriptor(file)?;
        let mut written = 0usize;
        // Each round writes at least one byte or fails, so this ends within data.len() rounds.
        while written < data.len() {
            let at = offset + written as u64;
            let at = libc::off_t::try_from(at).map_err(|_| VfsError::Io { code: libc::EINVAL })?;
            let rest = &data[written..];
            // SAFETY: `rest` is valid for reads of its length for the call.
            let count =
                retry(|| unsafe { libc::pwrite(fd, rest.as_ptr().cast(), rest.len(), at) })?;
            if count == 0 {
                return Err(VfsError::NoSpace);
            }
            written += count as usize;
        }
        Ok(())
    }

    /// Writes the zeros: on ext4 and most file systems, data later written over allocated,
    /// written blocks changes no metadata, so `fdatasync` need not commit a journal
    /// transaction (a sparse extension or `fallocate` leaves that work to each sync).
    fn preallocate(&mut self, file: FileHandle, offset: u64, len: u64) -> Result<(), VfsError> {
        static ZEROS: [u8; ZERO_CHUNK_BYTES] = [0; ZERO_CHUNK_BYTES];
        let mut at = offset;
        let end = offset.checked_add(len).ok_or(VfsError::NoSpace)?;
        // Each round writes up to ZERO_CHUNK_BYTES, so this ends at `end`.
        while at < end {
            let count = narrow_usize((end - at).min(ZERO_CHUNK_BYTES as u64));
            self.write_at(file, at, &ZEROS[..count])?;
            at += count as u64;
        }
        Ok(())
    }

    fn sync(&mut self, file: FileHandle) -> Result<(), VfsError> {
        sync_descriptor(descriptor(file)?)
    }

    fn write_back(&mut self, file: FileHandle) -> Result<(), VfsError> {
        let fd = descriptor(file)?;
        // Starts the writeback of every dirty page and returns: the compaction steps that
        // synced instead waited up to 10 ms for the disk (the scale run's longest steps).
        #[cfg(any(target_os = "linux", target_os = "android"))]
        // SAFETY: plain syscall on a descriptor; offset 0 and length 0 mean the whole file.
        retry(|| unsafe { libc::sync_file_range(fd, 0, 0, libc::SYNC_FILE_RANGE_WRITE) })?;
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let _ = fd;
        Ok(())
    }

    fn len(&mut self, file: FileHandle) -> Result<u64, VfsError> {
        let fd = descriptor(file)?;
        // SAFETY: `stat` is plain old data; fstat fills it on success.
        let mut stat: libc::stat = unsafe { core::mem::zeroed() };
        // SAFETY: `stat` is a valid out-pointer for the call.
        retry(|| unsafe { libc::fstat(fd, &mut stat) })?;
        u64::try_from(stat.st_size).map_err(|_| VfsError::Io { code: libc::EINVAL })
    }

    fn truncate(&mut self, file: FileHandle, len: u64) -> Result<(), VfsError> {
        let fd = descriptor(file)?;
        // Pages past a shrunk end would fault if a stale mapping were read.
        self.unmap(fd);
        let len = libc::off_t::try_from(len).map_err(|_| VfsError::Io { code: libc::EINVAL })?;
        // SAFETY: plain syscall on a descriptor.
        retry(|| unsafe { libc::ftruncate(fd, len) }).map(|_| ())
    }

    fn remove(&mut self, name: &str) -> Result<(), VfsError> {
        let name = file_name(name)?;
        // SAFETY: `name` is NUL-terminated.
        retry(|| unsafe { libc::unlinkat(self.directory, name.as_ptr(), 0) }).map(|_| ())
    }

    fn rename(&mut self, from: &str, to: &str) -> Result<(), VfsError> {
        let (from, to) = (file_name(from)?, file_name(to)?);
        let directory = self.directory;
        // SAFETY: both names are NUL-terminated.
        retry(|| unsafe { libc::renameat(directory, from.as_ptr(), directory, to.as_ptr()) })
            .map(|_| ())
    }

    fn sync_dir(&mut self) -> Result<(), VfsError> {
        // SAFETY: plain syscall on our directory descriptor.
        retry(|| unsafe { libc::fsync(self.directory) }).map(|_| ())
    }

    fn list(&mut self, buffer: &mut [u8]) -> Result<usize, VfsError> {
        // fdopendir takes ownership of the descriptor it is given, so give it a duplicate.
        // SAFETY: plain syscall on our directory descriptor.
        let duplicate = retry(|| unsafe { libc::fcntl(self.directory, libc::F_DUPFD_CLOEXEC, 0) })?;
        // SAFETY: `duplicate` is an open directory descriptor that the stream now owns.
        let stream = unsafe { libc::fdopendir(duplicate) };
        if stream.is_null() {
            let code = errno();
            // SAFETY: fdopendir failed, so the duplicate is still ours to close.
            unsafe { libc::close(duplicate) };
            return Err(error_of(code));
        }
        // SAFETY: `stream` is a valid directory stream; rewind in case the duplicate shares
        // a position with an earlier listing.
        unsafe { libc::rewinddir(stream) };
        let result = collect_names(stream, buffer);
        // SAFETY: `stream` is valid and closed once, which also closes the duplicate.
        unsafe { libc::closedir(stream) };
        result
    }
}

/// Copies every regular name of `stream` (not `.` or `..`) into `buffer`, NUL after each.
fn collect_names(stream: *mut libc::DIR, buffer: &mut [u8]) -> Result<usize, VfsError> {
    let mut needed = 0usize;
    // A directory that grows without bound while listed would be a bug elsewhere; the
    // bound keeps this loop finite regardless.
    for _ in 0..(1usize << 24) {
        // SAFETY: `stream` is a valid open directory stream.
        let entry = unsafe { libc::readdir(stream) };
        if entry.is_null() {
            return if needed > buffer.len() {
                Err(VfsError::BufferTooSmall { needed })
            } else {
                Ok(needed)
            };
        }
        // SAFETY: readdir returned a valid entry whose d_name is NUL-terminated and stays
        // valid until the next readdir on this stream.
        let name = unsafe { core::ffi::CStr::from_ptr((*entry).d_name.as_ptr()) }.to_bytes();
        if name == b"." || name == b".." || name == LOCK_NAME.as_bytes() {
            continue;
        }
        let end = needed + name.len() + 1;
        if let Some(slot) = buffer.get_mut(needed..end) {
            slot[..name.len()].copy_from_slice(name);
            slot[name.len()] = 0;
        }
        needed = end;
    }
    Err(VfsError::Io { code: libc::EOVERFLOW })
}
