//! The storage interface: the only way the engine touches storage.
//!
//! A `Vfs` is one directory of named files. The engine names every file itself (ASCII,
//! at most `FILE_NAME_BYTES_MAX` bytes) and assumes it owns the directory.
//!
//! # Crash contract
//! What a backend must guarantee, and what the engine assumes no more than:
//! - After `sync(file)` returns `Ok`, the file's contents and length as of that call survive
//!   a crash. Before it, any write or truncate since the previous sync of that file may be
//!   lost, in any combination (not only a suffix: writes may be lost out of order), and any
//!   one of them may be torn: a prefix of it, ending at any byte, survives and the byte at the
//!   cut may be garbage. Unwritten gaps below the file length read as zeros.
//! - After `sync_dir()` returns `Ok`, every earlier `create`, `remove` and `rename` survives.
//!   Before it, a crash keeps a prefix (in call order) of those namespace changes.
//!   `rename` is atomic: after a crash the destination name refers to the old or the new file.
//! - An error from any call means the operation may have happened in part (a write may have
//!   stored a prefix); the engine treats every write or sync error as leaving the file's
//!   unsynced contents unknown.
//!
//! Backends: with the `sim` feature, `sim::SimVfs` (deterministic, fault-injecting, over
//! caller memory; the tests' backend), and with the `posix` feature, `posix::PosixVfs`
//! (files in a directory via libc).

#[cfg(feature = "posix")]
#[allow(unsafe_code)] // Exception 2 of 3 (see lib.rs): libc calls and memory maps.
pub mod posix;
#[cfg(any(test, feature = "sim"))]
pub mod sim;

/// An error from a storage backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VfsError {
    /// `open`, `remove` or `rename` named a file that does not exist.
    NotFound,
    /// `create` named a file that already exists.
    AlreadyExists,
    /// The device or the backend's capacity is full.
    NoSpace,
    /// A name is empty, too long, or has a byte the backend refuses.
    NameInvalid,
    /// `list` needs a buffer of `needed` bytes.
    BufferTooSmall {
        /// Bytes the listing needs.
        needed: usize,
    },
    /// A handle that is closed or was invalidated by a (simulated) crash.
    HandleInvalid,
    /// Any other failure; for POSIX the errno, for the simulation `EIO` (5).
    Io {
        /// The backend's code: `errno` for POSIX, the host's status for a host backend.
        code: i32,
    },
    /// `lock` found the store held by another process; `pid` is the holder's where the
    /// backend can tell (0 if not).
    Locked {
        /// The holder's process id; 0 if the backend cannot tell.
        pid: u32,
    },
}

impl VfsError {
    /// Says the error as one phrase into `out` (`Display` writes the same).
    pub fn describe(&self, out: &mut dyn crate::sentence::Sentence) {
        match *self {
            VfsError::NotFound => out.text("no such file or directory"),
            VfsError::AlreadyExists => out.text("the file already exists"),
            VfsError::NoSpace => out.text("the storage is full"),
            VfsError::NameInvalid => out.text("the file name is invalid"),
            VfsError::BufferTooSmall { needed } => {
                out.text("the listing needs a buffer of ");
                out.number(needed as u64);
                out.text(" bytes");
            }
            VfsError::HandleInvalid => out.text("the file handle is closed or stale"),
            VfsError::Io { code } => {
                out.text("I/O error (code ");
                if code < 0 {
                    out.text("-");
                }
                out.number(u64::from(code.unsigned_abs()));
                out.text(")");
            }
            VfsError::Locked { pid: 0 } => out.text("the store is locked by another holder"),
            VfsError::Locked { pid } => {
                out.text("the store is locked by process ");
                out.number(u64::from(pid));
            }
        }
    }
}

impl core::fmt::Display for VfsError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        crate::sentence::display_with(f, |out| self.describe(out))
    }
}

impl core::error::Error for VfsError {}

/// An open file, as the backend numbers it (a file descriptor, a slot, a host pointer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileHandle(pub u64);

/// A directory of named files with explicit durability (see the module documentation).
pub trait Vfs {
    /// Creates a new empty file; `AlreadyExists` if the name is taken.
    fn create(&mut self, name: &str) -> Result<FileHandle, VfsError>;
    /// Opens an existing file for reading and writing; `NotFound` if there is none.
    fn open(&mut self, name: &str) -> Result<FileHandle, VfsError>;
    /// Releases a handle. Unsynced data is not made durable by closing.
    fn close(&mut self, file: FileHandle);
    /// Reads from `offset` into `buffer`; returns the bytes read, fewer only at end of file.
    fn read_at(
        &mut self,
        file: FileHandle,
        offset: u64,
        buffer: &mut [u8],
    ) -> Result<usize, VfsError>;
    /// Writes all of `data` at `offset`, extending the file if needed.
    fn write_at(&mut self, file: FileHandle, offset: u64, data: &[u8]) -> Result<(), VfsError>;
    /// Makes the file's contents and length durable.
    fn sync(&mut self, file: FileHandle) -> Result<(), VfsError>;
    /// The file's length in bytes.
    fn len(&mut self, file: FileHandle) -> Result<u64, VfsError>;
    /// Sets the file's length; bytes past it are gone, a gap up to it reads as zeros.
    fn truncate(&mut self, file: FileHandle, len: u64) -> Result<(), VfsError>;
    /// Removes a name.
    fn remove(&mut self, name: &str) -> Result<(), VfsError>;
    /// Atomically renames `from` to `to`, replacing `to` if it exists.
    fn rename(&mut self, from: &str, to: &str) -> Result<(), VfsError>;
    /// Makes every earlier create, remove and rename durable.
    fn sync_dir(&mut self) -> Result<(), VfsError>;
    /// Writes every file name in the directory into `buffer`, each followed by one NUL byte,
    /// and returns the bytes written; `BufferTooSmall` with the size needed if it does not fit.
    fn list(&mut self, buffer: &mut [u8]) -> Result<usize, VfsError>;

    /// Extends `file`, whose length is `offset`, with `len` zero bytes that later writes will
    /// overwrite (the WAL preallocates segments this way). A backend should make the zeros
    /// real on disk (write them) so those writes need not change the file's metadata and a
    /// data sync stays cheap. The default sets the length with `truncate`.
    fn preallocate(&mut self, file: FileHandle, offset: u64, len: u64) -> Result<(), VfsError> {
        let end = offset.checked_add(len).ok_or(VfsError::NoSpace)?;
        self.truncate(file, end)
    }

    /// Starts writing `file`'s written data back to storage, without waiting for it: a hint
    /// that a `sync` will follow, which then has less left to write. The engine calls it
    /// between the steps of a table it writes in steps (a compaction's or a frozen
    /// memtable's), whose last step syncs, and on a log segment after each buffer it writes
    /// out. It makes nothing durable. The default does
    /// nothing; the POSIX backend asks Linux to start the writeback (`sync_file_range`).
    fn write_back(&mut self, file: FileHandle) -> Result<(), VfsError> {
        let _ = file;
        Ok(())
    }

    /// Takes the store's lock for this backend, so two processes never write one store (they
    /// would silently lose each other's writes): `VfsError::Locked` if another holder has it.
    /// `Engine::open` calls it first; the lock is held until the backend is dropped (and a
    /// process that dies releases it with its files). Taking a lock already held is `Ok`.
    /// The default takes none: for a host that serialises access to its storage itself.
    fn lock(&mut self) -> Result<(), VfsError> {
        Ok(())
    }

    /// The `len` bytes of `file` at `offset`, in place (a memory map, or the simulation's
    /// memory), borrowed until the next call on the backend; or `None` if the backend
    /// cannot, or the range is not all in the file (the engine then uses `read_at`). The
    /// engine asks this only of files it no longer writes (sorted tables), and may ask for
    /// the same range again right away: a backend that gave a view should give it again.
    /// The default cannot.
    fn view_at(
        &mut self,
        file: FileHandle,
        offset: u64,
        len: usize,
    ) -> Result<Option<&[u8]>, VfsError> {
        let _ = (file, offset, len);
        Ok(None)
    }
}

/// A borrowed backend is a backend, so a host can keep ownership of its `Vfs` (and look at
/// it after the engine is gone, or after `open` failed).
impl<T: Vfs + ?Sized> Vfs for &mut T {
    fn create(&mut self, name: &str) -> Result<FileHandle, VfsError> {
        (**self).create(name)
    }
    fn open(&mut self, name: &str) -> Result<FileHandle, VfsError> {
        (**self).open(name)
    }
    fn close(&mut self, file: FileHandle) {
        (**self).close(file)
    }
    fn read_at(
        &mut self,
        file: FileHandle,
        offset: u64,
        buffer: &mut [u8],
    ) -> Result<usize, VfsError> {
        (**self).read_at(file, offset, buffer)
    }
    fn write_at(&mut self, file: FileHandle, offset: u64, data: &[u8]) -> Result<(), VfsError> {
        (**self).write_at(file, offset, data)
    }
    fn sync(&mut self, file: FileHandle) -> Result<(), VfsError> {
        (**self).sync(file)
    }
    fn len(&mut self, file: FileHandle) -> Result<u64, VfsError> {
        (**self).len(file)
    }
    fn truncate(&mut self, file: FileHandle, len: u64) -> Result<(), VfsError> {
        (**self).truncate(file, len)
    }
    fn preallocate(&mut self, file: FileHandle, offset: u64, len: u64) -> Result<(), VfsError> {
        (**self).preallocate(file, offset, len)
    }
    fn remove(&mut self, name: &str) -> Result<(), VfsError> {
        (**self).remove(name)
    }
    fn rename(&mut self, from: &str, to: &str) -> Result<(), VfsError> {
        (**self).rename(from, to)
    }
    fn sync_dir(&mut self) -> Result<(), VfsError> {
        (**self).sync_dir()
    }
    fn list(&mut self, buffer: &mut [u8]) -> Result<usize, VfsError> {
        (**self).list(buffer)
    }
    fn view_at(
        &mut self,
        file: FileHandle,
        offset: u64,
        len: usize,
    ) -> Result<Option<&[u8]>, VfsError> {
        (**self).view_at(file, offset, len)
    }
    fn lock(&mut self) -> Result<(), VfsError> {
        (**self).lock()
    }
    fn write_back(&mut self, file: FileHandle) -> Result<(), VfsError> {
        (**self).write_back(file)
    }
}

/// Reads until `buffer` is full or the file ends; returns the bytes read.
pub(crate) fn read_fully<V: Vfs>(
    vfs: &mut V,
    file: FileHandle,
    offset: u64,
    buffer: &mut [u8],
) -> Result<usize, VfsError> {
    let mut done = 0;
    // Each round reads at least one byte or stops, so this ends within buffer.len() rounds.
    while done < buffer.len() {
        let read = vfs.read_at(file, offset + done as u64, &mut buffer[done..])?;
        if read == 0 {
            break;
        }
        if read > buffer.len() - done {
            return Err(VfsError::Io { code: 5 });
        }
        done += read;
    }
    Ok(done)
}
