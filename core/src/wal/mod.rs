//! The write-ahead log: every write is framed into the in-region WAL buffer before it is
//! applied to the memtable; `sync` writes the buffer out and makes it durable (group
//! commit). Segments are files of at most `Config::wal_segment_bytes_max` bytes. When a
//! segment fills, it is written out and synced before the next is created, so at most one
//! segment ever holds unsynced data. Any write or sync error poisons the log: from then on
//! nothing more is written and the engine answers writes with `Error::Poisoned`.
//!
//! Segment files are extended ahead of the writes with zeros, a quarter of a segment and at
//! most `WAL_PREALLOCATE_BYTES` at a time (`Vfs::preallocate`: `PosixVfs` writes the
//! zeros), so most syncs write data over allocated blocks of a file whose length is already
//! durable, and commit no metadata. Recovery reads an all-zero rest of a segment as the end
//! of the log (see `recovery`).

pub(crate) mod format;
pub(crate) mod recovery;

use crate::codec::narrow_u32;
use crate::crc32c;
use crate::error::Error;
use crate::vfs::{FileHandle, Vfs, VfsError};
use format::{
    padded_bytes, segment_name, FrameHeader, RecordKind, SegmentHeader, FORMAT_VERSION,
    FRAME_HEADER_BYTES, SEGMENT_HEADER_BYTES, SEGMENT_NAME_BYTES,
};

/// The most bytes a segment file is extended by at a time, ahead of the writes (never past
/// `Config::wal_segment_bytes_max`). One length change per this many bytes of log; and the
/// most zeros recovery reads past the last frame of a segment. A segment grows in at least
/// four steps, so a reopened log usually continues inside a partly written segment.
pub(crate) const WAL_PREALLOCATE_BYTES: u32 = 1 << 20;

/// The segment being appended to.
#[derive(Clone, Copy, Debug)]
pub(crate) struct OpenSegment {
    pub(crate) file: FileHandle,
    /// Its number (not always the last one created: recovery may have removed later ones).
    pub(crate) number: u64,
    /// Bytes of the file already written (the buffer continues from here).
    pub(crate) written_bytes: u64,
    /// The file's length: `written_bytes` plus zeros preallocated after them.
    pub(crate) file_bytes: u64,
}

pub(crate) struct Wal<'r> {
    buffer: &'r mut [u8],
    /// Bytes in `buffer` not yet written to the segment file.
    buffered: usize,
    segment: Option<OpenSegment>,
    segment_bytes_max: u64,
    /// Bytes a segment file is extended by at a time.
    preallocate_bytes: u32,
    segments_max: u32,
    /// Segment files that exist, including the open one.
    segments_count: u32,
    first_segment_number: u64,
    next_segment_number: u64,
    /// Log position after the last appended frame.
    position: u64,
    /// Log position up to which every frame is durable.
    synced_position: u64,
    /// The open segment has bytes written (or a length change) since its last sync.
    segment_dirty: bool,
    /// A segment was created since the last directory sync.
    directory_dirty: bool,
    poisoned: bool,
    /// Log position at open: anything past it was appended by this engine.
    position_at_open: u64,
    /// Segment syncs since open (each an fsync of a segment file).
    syncs: u64,
}

/// Where recovery left the log, for the writer to continue from.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LogTail {
    /// The last segment if it has room to append to (its handle stays open).
    pub(crate) segment: Option<OpenSegment>,
    pub(crate) segments_count: u32,
    /// The oldest segment that may exist (removal at a checkpoint starts here).
    pub(crate) first_segment_number: u64,
    pub(crate) next_segment_number: u64,
    /// Log position after the last recovered frame; durable (recovery synced it).
    pub(crate) position: u64,
}

impl<'r> Wal<'r> {
    pub(crate) fn new(
        buffer: &'r mut [u8],
        segment_bytes_max: u32,
        segments_max: u32,
        tail: LogTail,
    ) -> Wal<'r> {
        assert!(buffer.len() <= segment_bytes_max as usize);
        assert!(tail.segments_count <= segments_max);
        Wal {
            buffer,
            buffered: 0,
            segment: tail.segment,
            segment_bytes_max: u64::from(segment_bytes_max),
            preallocate_bytes: (segment_bytes_max / 4).clamp(1, WAL_PREALLOCATE_BYTES),
            segments_max,
            segments_count: tail.segments_count,
            first_segment_number: tail.first_segment_number,
            next_segment_number: tail.next_segment_number,
            position: tail.position,
            synced_position: tail.position,
            segment_dirty: false,
            directory_dirty: false,
            poisoned: false,
            position_at_open: tail.position,
            syncs: 0,
        }
    }

    pub(crate) fn appended_since_open(&self) -> bool {
        self.position > self.position_at_open
    }

    pub(crate) fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    pub(crate) fn position(&self) -> u64 {
        self.position
    }

    pub(crate) fn synced_position(&self) -> u64 {
        self.synced_position
    }

    pub(crate) fn segments_count(&self) -> u32 {
        self.segments_count
    }

    /// Segment syncs since open.
    pub(crate) fn syncs(&self) -> u64 {
        self.syncs
    }

    /// `Err(WalFull)` if a frame of `frame_bytes` bytes needs a new segment and none may be
    /// created. Checked before any I/O so a full log changes nothing. Any `frame_bytes` is
    /// answered (a delete planned before a flush may ask about more than a segment holds).
    pub(crate) fn check_room(&self, frame_bytes: usize) -> Result<(), Error> {
        if self.poisoned {
            return Err(Error::Poisoned);
        }
        let needs_segment = match self.segment {
            None => true,
            Some(segment) => {
                let end = segment.written_bytes.saturating_add(self.buffered as u64);
                end.saturating_add(frame_bytes as u64) > self.segment_bytes_max
            }
        };
        if needs_segment && self.segments_count >= self.segments_max {
            return Err(Error::WalFull);
        }
        Ok(())
    }

    /// Makes room for a group of frames of `group_bytes` in all (a delete's deleted-edges
    /// frames and its delete-block frame) in one segment, so that no segment ends inside
    /// the group: recovery reads a group cut at a segment's end as torn. Config validation
    /// bounds every group by a segment.
    pub(crate) fn begin_group<V: Vfs>(
        &mut self,
        vfs: &mut V,
        group_bytes: usize,
    ) -> Result<(), Error> {
        self.check_room(group_bytes)?;
        assert!(
            (SEGMENT_HEADER_BYTES + group_bytes) as u64 <= self.segment_bytes_max,
            "config validation bounds every group by a segment"
        );
        let fits_segment = self.segment.is_some_and(|segment| {
            segment.written_bytes + (self.buffered + group_bytes) as u64 <= self.segment_bytes_max
        });
        if fits_segment {
            return Ok(());
        }
        self.guard_io(|wal| wal.roll_segment(vfs))
    }

    /// Appends one frame whose payload is the concatenation of `parts`. The frame is in the
    /// buffer (and maybe partly written out) when this returns; it is durable after `sync`.
    pub(crate) fn append<V: Vfs>(
        &mut self,
        vfs: &mut V,
        frame: (RecordKind, u8),
        sequence: u64,
        parts: &[&[u8]],
    ) -> Result<(), Error> {
        let (kind, flags) = frame;
        let payload_bytes: usize = parts.iter().map(|part| part.len()).sum();
        let frame_bytes = FRAME_HEADER_BYTES + padded_bytes(payload_bytes);
        self.check_room(frame_bytes)?;
        assert!(frame_bytes <= self.buffer.len(), "config validation bounds every frame");
        self.guard_io(|wal| wal.make_room(vfs, frame_bytes))?;
        let mut digest = crc32c::Digest::new();
        let mut at = self.buffered + FRAME_HEADER_BYTES;
        for part in parts {
            self.buffer[at..at + part.len()].copy_from_slice(part);
            digest.update(part);
            at += part.len();
        }
        let padding = padded_bytes(payload_bytes) - payload_bytes;
        self.buffer[at..at + padding].fill(0);
        digest.update(&self.buffer[at..at + padding]);
        let header = FrameHeader {
            payload_crc: digest.finalize(),
            payload_bytes: narrow_u32(payload_bytes),
            kind,
            flags,
            sequence,
            synced_position: self.synced_position,
        };
        debug_assert_eq!(header.frame_bytes(), frame_bytes);
        self.buffer[self.buffered..self.buffered + FRAME_HEADER_BYTES]
            .copy_from_slice(&header.encode());
        self.buffered += frame_bytes;
        self.position += frame_bytes as u64;
        Ok(())
    }

    /// Runs `operation`; if it fails, the log is poisoned.
    fn guard_io<T>(
        &mut self,
        operation: impl FnOnce(&mut Self) -> Result<T, VfsError>,
    ) -> Result<T, Error> {
        let result = operation(self);
        if result.is_err() {
            self.poisoned = true;
        }
        result.map_err(Error::Io)
    }

    /// Ensures an open segment with room for `frame_bytes` more bytes and buffer space for them.
    fn make_room<V: Vfs>(&mut self, vfs: &mut V, frame_bytes: usize) -> Result<(), VfsError> {
        let fits_segment = self.segment.is_some_and(|segment| {
            segment.written_bytes + (self.buffered + frame_bytes) as u64 <= self.segment_bytes_max
        });
        if !fits_segment {
            self.roll_segment(vfs)?;
        }
        if self.buffered + frame_bytes > self.buffer.len() {
            self.write_out(vfs)?;
            // The writeback of what the buffer held starts now, so the segment's next sync
            // (the host's, a flush's first step, a roll's) has about one buffer left to
            // wait for, not everything since the last one.
            if let (Some(segment), false) = (self.segment, cfg!(feature = "small-code")) {
                vfs.write_back(segment.file)?;
            }
        }
        Ok(())
    }

    /// Writes out and syncs the current segment, then creates the next one.
    fn roll_segment<V: Vfs>(&mut self, vfs: &mut V) -> Result<(), VfsError> {
        if let Some(segment) = self.segment {
            self.write_out(vfs)?;
            if self.segment_dirty {
                vfs.sync(segment.file)?;
                self.segment_dirty = false;
                self.syncs += 1;
            }
            vfs.close(segment.file);
            self.segment = None;
            if !self.directory_dirty {
                self.synced_position = self.position;
            }
        }
        debug_assert!(self.buffered == 0);
        let number = self.next_segment_number;
        let mut name = [0u8; SEGMENT_NAME_BYTES];
        let file = vfs.create(segment_name(number, &mut name))?;
        self.next_segment_number += 1;
        self.segments_count += 1;
        self.directory_dirty = true;
        let header = SegmentHeader {
            version: FORMAT_VERSION,
            segment_number: number,
            start_position: self.position,
        };
        self.buffer[..SEGMENT_HEADER_BYTES].copy_from_slice(&header.encode());
        self.buffered = SEGMENT_HEADER_BYTES;
        self.segment = Some(OpenSegment { file, number, written_bytes: 0, file_bytes: 0 });
        Ok(())
    }

    /// Writes the buffer to the open segment, first extending the file if it is too short.
    fn write_out<V: Vfs>(&mut self, vfs: &mut V) -> Result<(), VfsError> {
        let Some(segment) = self.segment.as_mut() else {
            return Ok(());
        };
        if self.buffered == 0 {
            return Ok(());
        }
        let end = segment.written_bytes + self.buffered as u64;
        assert!(end <= self.segment_bytes_max, "make_room bounds every segment");
        if end > segment.file_bytes {
            // In 32 bits: a segment's size is a u32 (a 64-bit division's library routine
            // was 0.9 KiB of a Cortex-M4 image).
            let end_bytes = u32::try_from(end).unwrap_or(u32::MAX);
            let rounded = end_bytes.checked_next_multiple_of(self.preallocate_bytes);
            let file_bytes = u64::from(rounded.unwrap_or(u32::MAX)).min(self.segment_bytes_max);
            vfs.preallocate(segment.file, segment.file_bytes, file_bytes - segment.file_bytes)?;
            segment.file_bytes = file_bytes;
        }
        vfs.write_at(segment.file, segment.written_bytes, &self.buffer[..self.buffered])?;
        segment.written_bytes += self.buffered as u64;
        self.buffered = 0;
        self.segment_dirty = true;
        Ok(())
    }

    /// Makes every appended frame durable: write out, sync the segment, sync the directory
    /// if a segment was created.
    pub(crate) fn sync<V: Vfs>(&mut self, vfs: &mut V) -> Result<(), Error> {
        if self.poisoned {
            return Err(Error::Poisoned);
        }
        self.guard_io(|wal| {
            wal.write_out(vfs)?;
            if let (Some(segment), true) = (wal.segment, wal.segment_dirty) {
                vfs.sync(segment.file)?;
                wal.segment_dirty = false;
                wal.syncs += 1;
            }
            if wal.directory_dirty {
                vfs.sync_dir()?;
                wal.directory_dirty = false;
            }
            Ok(())
        })?;
        self.synced_position = self.position;
        Ok(())
    }

    /// After a flush made every frame so far redundant (the manifest's checkpoint is at
    /// `position()`): closes the open segment and removes every segment. The next frame
    /// starts a new segment at the same log position. Call after `sync`.
    pub(crate) fn checkpoint<V: Vfs>(&mut self, vfs: &mut V) -> Result<(), Error> {
        if self.poisoned {
            return Err(Error::Poisoned);
        }
        debug_assert!(self.buffered == 0 && self.synced_position == self.position);
        self.close(vfs);
        let mut name = [0u8; SEGMENT_NAME_BYTES];
        self.guard_io(|wal| {
            for number in wal.first_segment_number..wal.next_segment_number {
                match vfs.remove(segment_name(number, &mut name)) {
                    Ok(()) | Err(VfsError::NotFound) => {}
                    Err(error) => return Err(error),
                }
            }
            vfs.sync_dir()
        })?;
        self.first_segment_number = self.next_segment_number;
        self.segments_count = 0;
        self.segment_dirty = false;
        self.directory_dirty = false;
        Ok(())
    }

    /// The segment holding the current position (the open one, or the next to be created):
    /// every segment before it lies wholly before the position.
    pub(crate) fn current_segment(&self) -> u64 {
        match self.segment {
            Some(segment) => segment.number,
            None => self.next_segment_number,
        }
    }

    /// After a flush of the frozen memtable: removes the segments before `segment` (the one
    /// that held the log's position at the freeze), whose frames the tables now hold. The
    /// rest of the log stays, open segment and all.
    pub(crate) fn checkpoint_before<V: Vfs>(
        &mut self,
        vfs: &mut V,
        segment: u64,
    ) -> Result<(), Error> {
        if self.poisoned {
            return Err(Error::Poisoned);
        }
        debug_assert!(segment <= self.current_segment());
        let mut name = [0u8; SEGMENT_NAME_BYTES];
        let mut removed = 0u32;
        self.guard_io(|wal| {
            for number in wal.first_segment_number..segment {
                match vfs.remove(segment_name(number, &mut name)) {
                    Ok(()) => removed += 1,
                    Err(VfsError::NotFound) => {}
                    Err(error) => return Err(error),
                }
            }
            if removed == 0 {
                return Ok(());
            }
            vfs.sync_dir()
        })?;
        self.first_segment_number = self.first_segment_number.max(segment);
        self.segments_count = self.segments_count.saturating_sub(removed);
        Ok(())
    }

    /// Poisons the log: nothing more is written (a failure elsewhere left the state unknown).
    pub(crate) fn poison(&mut self) {
        self.poisoned = true;
    }

    /// Closes the open segment without syncing (used by `close`, after a sync).
    pub(crate) fn close<V: Vfs>(&mut self, vfs: &mut V) {
        if let Some(segment) = self.segment.take() {
            vfs.close(segment.file);
        }
    }
}
