//! Recovery: replays every WAL segment into the memtable at open, finds where the valid log
//! ends, and decides whether what follows is a torn tail (lost unsynced writes, truncated
//! quietly and counted) or damage to synced data (a later frame's synced position proves
//! the damaged bytes were durable): `Corruption` in strict mode, dropped and counted in
//! tolerant mode. Nothing on disk is changed before that decision, and a decision to
//! truncate is confirmed by reading the damaged frame a second time, so a transient read
//! error cannot destroy data.
//!
//! A segment's bytes after its last frame may be zeros the writer preallocated (see `wal`):
//! when everything from the first rejected frame to the end of the file reads as zeros, on
//! every one of several reads, that is the end of the segment, neither torn nor damaged.
//! This is exactly as safe as cutting a torn tail there: no later frame exists in an
//! all-zero rest that could witness the bytes as synced.
//!
//! Every loop is bounded by the bytes or files it walks, every length read from disk is
//! checked against the config before it is used, so no bytes on disk can make recovery
//! panic, loop or read out of bounds.

use super::format::{
    decode_record, parse_segment_name, segment_name, FrameHeader, Record, SegmentHeader,
    FORMAT_VERSION, FRAME_ALIGN, FRAME_HEADER_BYTES, SEGMENT_HEADER_BYTES, SEGMENT_NAME_BYTES,
};
use super::{LogTail, OpenSegment};
use crate::codec::{narrow_u32, narrow_usize};
use crate::crc32c;
use crate::error::{CorruptionKind, Error, Resource};
use crate::id::BlockId;
use crate::vfs::{read_fully, FileHandle, Vfs, VfsError};

/// Times a rejected frame is read again, each read fresh from storage, before the log is
/// cut there: damage must be seen on every read.
const CONFIRM_READS: usize = 2;

/// Why a replayed record could not be applied.
pub(crate) enum ApplyError {
    /// It contradicts the state so far (e.g. an edge to a missing block): treated as damage.
    Invalid,
    /// It does not fit the memtable of this config.
    Capacity(Resource),
    /// Reading the tables to apply it failed.
    Failed(Error),
}

/// Where a write's first frame lies in the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LogPlace {
    pub(crate) position: u64,
    /// The number of the segment holding it.
    pub(crate) segment: u64,
}

/// Receives replayed records in log order (with the storage, to read tables).
pub(crate) trait ReplayTarget<V: Vfs> {
    /// Applies the record of write `sequence`, whose first frame is at `place`.
    fn apply(
        &mut self,
        vfs: &mut V,
        write: (u64, LogPlace),
        record: Record<'_>,
    ) -> Result<(), ApplyError>;

    /// Before the frames of a delete of `id` that removes `edges` edges are applied: makes
    /// room for all of them at once (a write is never split between two memtables).
    fn reserve_delete(
        &mut self,
        write: (u64, LogPlace),
        id: &BlockId,
        edges: u32,
    ) -> Result<(), ApplyError>;
}

/// What the tables already hold: every frame before `position` (sequences before
/// `sequence`). Zero for a store that never flushed.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Checkpoint {
    pub(crate) position: u64,
    pub(crate) sequence: u64,
    /// A manifest recorded this checkpoint. Without one (a store that never flushed) the log
    /// must begin at position 0: a first segment that starts later proves a checkpoint was
    /// passed and its manifest lost, which is `Corruption` in every mode, decided before
    /// anything is cut.
    pub(crate) recorded: bool,
    /// The log position the last clean close made durable (`Manifest::durable_end`): a log
    /// that ends before it lost synced frames. 0: nothing recorded.
    pub(crate) durable_end: u64,
    /// No manifest, but the first table exists: a first flush began, and it synced the log
    /// before writing the table, and removes no segment until a manifest names the table.
    /// A log that then replays nothing proves the manifest and the log were lost:
    /// `Corruption` in every mode (it opened an empty store, every write silently gone).
    pub(crate) flush_began: bool,
}

/// What recovery did, for `Stats`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RecoveryReport {
    pub(crate) frames_replayed: u64,
    pub(crate) bytes_replayed: u64,
    pub(crate) torn_bytes_truncated: u64,
    pub(crate) corrupt_bytes_dropped: u64,
    /// The sequence the next write gets: one past the last replayed write; 0 if no frame
    /// was replayed.
    pub(crate) sequence_next: u64,
}

/// Parts of the region recovery works in.
pub(crate) struct RecoveryBuffers<'a> {
    pub(crate) list: &'a mut [u8],
    pub(crate) segment_numbers: &'a mut [u64],
    pub(crate) read: &'a mut [u8],
}

/// Where the valid log ends.
#[derive(Clone, Copy, Debug)]
struct Stop {
    /// Index into the sorted segment numbers.
    index: usize,
    /// File offset of the first byte not accepted (0: the whole segment is rejected).
    offset: u64,
    /// Log position of that byte.
    position: u64,
    kind: CorruptionKind,
    /// The frame at `damaged_offset` failed its checksums (rather than decoding or
    /// applying): recovery reads it again before cutting.
    unreadable: bool,
    /// File offset of the frame that stopped the log: `offset`, or later when the log stops
    /// inside a delete's group of frames and is cut at the group's start.
    damaged_offset: u64,
}

struct SegmentReader<'b> {
    buffer: &'b mut [u8],
    file: FileHandle,
    file_bytes: u64,
    window_start: u64,
    window_bytes: usize,
}

enum FrameRead<'a> {
    End,
    Invalid,
    /// An authentic header (its CRC holds) announcing a payload larger than this config's
    /// largest: written under larger limits, not damage.
    TooLarge,
    Valid(FrameHeader, &'a [u8]),
}

impl<'b> SegmentReader<'b> {
    fn open<V: Vfs>(
        vfs: &mut V,
        buffer: &'b mut [u8],
        number: u64,
    ) -> Result<SegmentReader<'b>, Error> {
        let mut name = [0u8; SEGMENT_NAME_BYTES];
        let file = vfs.open(segment_name(number, &mut name))?;
        let file_bytes = match vfs.len(file) {
            Ok(len) => len,
            Err(error) => {
                vfs.close(file);
                return Err(Error::Io(error));
            }
        };
        Ok(SegmentReader { buffer, file, file_bytes, window_start: 0, window_bytes: 0 })
    }

    fn close<V: Vfs>(self, vfs: &mut V) -> &'b mut [u8] {
        vfs.close(self.file);
        self.buffer
    }

    /// Bytes `offset..offset + len` of the file, or `None` past its end.
    fn window<V: Vfs>(
        &mut self,
        vfs: &mut V,
        offset: u64,
        len: usize,
    ) -> Result<Option<&[u8]>, VfsError> {
        let end = offset.checked_add(len as u64);
        if end.is_none_or(|end| end > self.file_bytes) || len > self.buffer.len() {
            return Ok(None);
        }
        let window_end = self.window_start + self.window_bytes as u64;
        if offset < self.window_start || offset + len as u64 > window_end {
            let want = narrow_usize((self.file_bytes - offset).min(self.buffer.len() as u64));
            self.window_bytes = 0;
            let got = read_fully(vfs, self.file, offset, &mut self.buffer[..want])?;
            self.window_start = offset;
            self.window_bytes = got;
            if got < len {
                return Ok(None);
            }
        }
        let start = narrow_usize(offset - self.window_start);
        Ok(self.buffer.get(start..start + len))
    }

    fn forget_window(&mut self) {
        self.window_bytes = 0;
    }

    /// True if bytes `offset..` of the file read as zeros, each of `CONFIRM_READS + 1`
    /// times fresh from storage (a transient read of zeros must not end the log early).
    fn rest_is_zeros_on_every_read<V: Vfs>(
        &mut self,
        vfs: &mut V,
        offset: u64,
    ) -> Result<bool, VfsError> {
        let step = self.buffer.len() as u64;
        if step == 0 {
            return Ok(false);
        }
        for _ in 0..=CONFIRM_READS {
            self.forget_window();
            let mut at = offset;
            // Each step reads up to `step` bytes, so this ends at the file's end.
            while at < self.file_bytes {
                let len = narrow_usize((self.file_bytes - at).min(step));
                match self.window(vfs, at, len)? {
                    Some(bytes) if all_zeros(bytes) => at += len as u64,
                    _ => return Ok(false),
                }
            }
        }
        Ok(true)
    }

    fn header<V: Vfs>(&mut self, vfs: &mut V) -> Result<Option<SegmentHeader>, VfsError> {
        let Some(bytes) = self.window(vfs, 0, SEGMENT_HEADER_BYTES)? else {
            return Ok(None);
        };
        let mut header = [0u8; SEGMENT_HEADER_BYTES];
        header.copy_from_slice(bytes);
        Ok(SegmentHeader::decode(&header))
    }

    fn frame<V: Vfs>(
        &mut self,
        vfs: &mut V,
        offset: u64,
        payload_max: usize,
    ) -> Result<FrameRead<'_>, VfsError> {
        if offset == self.file_bytes {
            return Ok(FrameRead::End);
        }
        let header =
            match self.window(vfs, offset, FRAME_HEADER_BYTES)?.and_then(FrameHeader::decode) {
                Some(header) if (header.payload_bytes as usize) <= payload_max => header,
                Some(_) => return Ok(FrameRead::TooLarge),
                None => return Ok(FrameRead::Invalid),
            };
        let Some(frame) = self.window(vfs, offset, header.frame_bytes())? else {
            return Ok(FrameRead::Invalid);
        };
        let padded_payload = &frame[FRAME_HEADER_BYTES..];
        if crc32c::checksum(padded_payload) != header.payload_crc {
            return Ok(FrameRead::Invalid);
        }
        Ok(FrameRead::Valid(header, &padded_payload[..header.payload_bytes as usize]))
    }
}

/// Lists the directory and returns the WAL segment numbers, sorted.
fn collect_segments<'n, V: Vfs>(
    vfs: &mut V,
    list: &mut [u8],
    numbers: &'n mut [u64],
) -> Result<&'n mut [u64], Error> {
    let listed = vfs.list(list)?;
    let names = list.get(..listed).ok_or(Error::Io(VfsError::Io { code: 5 }))?;
    let mut count = 0;
    for name in names.split(|&byte| byte == 0) {
        let Some(number) = parse_segment_name(name) else {
            continue;
        };
        let slot = numbers
            .get_mut(count)
            .ok_or(Error::RecoveryCapacity { resource: Resource::WalSegments })?;
        *slot = number;
        count += 1;
    }
    let numbers = &mut numbers[..count];
    crate::sort::sort(numbers);
    Ok(numbers)
}

/// Replays every segment; recovery's whole job (see the module documentation).
pub(crate) fn recover<V: Vfs, T: ReplayTarget<V>>(
    vfs: &mut V,
    buffers: RecoveryBuffers<'_>,
    strict: bool,
    payload_max: usize,
    target: &mut T,
    checkpoint: Checkpoint,
) -> Result<(LogTail, RecoveryReport), Error> {
    let all = collect_segments(vfs, buffers.list, buffers.segment_numbers)?;
    let highest = all.iter().copied().max().unwrap_or(0);
    let read = buffers.read;
    let numbers = drop_obsolete(vfs, &mut *read, all, checkpoint)?;
    let mut report =
        RecoveryReport { sequence_next: checkpoint.sequence, ..RecoveryReport::default() };
    let (replayed, read) =
        replay_segments(vfs, read, numbers, payload_max, target, &mut report, checkpoint)?;
    let ReplayedLog { mut position, mut end_offset, previous_end_offset, stop } = replayed;
    if checkpoint.flush_began && position == 0 {
        return Err(Error::Corruption { kind: CorruptionKind::Manifest });
    }
    let mut kept = numbers.len();
    if stop.is_none() && position < checkpoint.durable_end {
        // The log ends cleanly, but before where the last clean close made it durable: its
        // end was cut, zeroed or deleted. Decided before anything is changed.
        if strict {
            return Err(Error::Corruption { kind: CorruptionKind::WalTail });
        }
        report.corrupt_bytes_dropped = checkpoint.durable_end - position;
    }
    if let Some(stop) = stop {
        let scope = StopScope { strict, payload_max, checkpoint };
        kept = settle_stop(vfs, read, numbers, stop, scope, &mut report)?;
        position = stop.position;
        if kept == stop.index {
            // The stop segment was removed whole: the one before it is the last.
            end_offset = previous_end_offset;
        }
    }
    if position < checkpoint.position {
        // The log ends before the checkpoint (its tail was never needed): start afresh at it.
        remove_segments(vfs, &numbers[..kept])?;
        kept = 0;
        position = checkpoint.position;
    }
    let segment = sync_kept_segments(vfs, &numbers[..kept], end_offset)?;
    let tail = LogTail {
        segment,
        segments_count: narrow_u32(kept),
        first_segment_number: numbers.first().copied().unwrap_or(highest + 1),
        next_segment_number: highest + 1,
        position,
    };
    Ok((tail, report))
}

/// Where replaying the segments ended.
struct ReplayedLog {
    /// The log position after the last accepted frame.
    position: u64,
    /// File offset after the last frame of the last segment replayed, and of the one before.
    end_offset: u64,
    previous_end_offset: u64,
    /// Where the valid log stopped short of the last segment's end, if it did.
    stop: Option<Stop>,
}

/// Replays the segments in order until one stops the log. Returns where it ended and the
/// read buffer back.
fn replay_segments<'b, V: Vfs, T: ReplayTarget<V>>(
    vfs: &mut V,
    mut read: &'b mut [u8],
    numbers: &[u64],
    payload_max: usize,
    target: &mut T,
    report: &mut RecoveryReport,
    checkpoint: Checkpoint,
) -> Result<(ReplayedLog, &'b mut [u8]), Error> {
    let mut log = ReplayedLog {
        position: checkpoint.position,
        end_offset: 0,
        previous_end_offset: 0,
        stop: None,
    };
    for index in 0..numbers.len() {
        let replay;
        (replay, read) = replay_segment(
            vfs,
            read,
            numbers,
            index,
            log.position,
            payload_max,
            target,
            report,
            checkpoint,
        )?;
        log.position = replay.position;
        log.previous_end_offset = log.end_offset;
        log.end_offset = replay.end_offset;
        if replay.stop.is_some() {
            log.stop = replay.stop;
            break;
        }
    }
    Ok((log, read))
}

/// What decides the fate of a stop: strict recovery (`RecoveryMode::Strict`), the largest
/// payload, the checkpoint.
#[derive(Clone, Copy)]
struct StopScope {
    strict: bool,
    payload_max: usize,
    checkpoint: Checkpoint,
}

/// Decides what a stop in the log means and cuts the log there: damage that a later synced
/// frame witnesses is `Corruption` in strict mode (unless it lies before the checkpoint, in
/// bytes the tables already hold); otherwise the bytes after it are counted as dropped
/// (witnessed) or torn (not). Returns how many segments are kept.
fn settle_stop<V: Vfs>(
    vfs: &mut V,
    read: &mut [u8],
    numbers: &[u64],
    stop: Stop,
    scope: StopScope,
    report: &mut RecoveryReport,
) -> Result<usize, Error> {
    let StopScope { strict, payload_max, checkpoint } = scope;
    let (mut witnessed, mut bytes_after) =
        find_witness(vfs, &mut *read, numbers, stop, payload_max)?;
    // A stop before the durable end a clean close recorded is damage to synced frames, even
    // with nothing after it left to witness them.
    let short = checkpoint.durable_end.saturating_sub(stop.position);
    if short > 0 {
        witnessed = true;
        bytes_after = bytes_after.max(short);
    }
    // Before the checkpoint the tables hold everything, unless a clean close proved frames
    // durable past it: cutting at this stop would lose those too.
    let obsolete =
        stop.position < checkpoint.position && checkpoint.durable_end <= checkpoint.position;
    if witnessed && strict && !obsolete {
        return Err(Error::Corruption { kind: stop.kind });
    }
    confirm_damage(vfs, &mut *read, numbers[stop.index], stop, payload_max)?;
    if obsolete {
        // Everything before the checkpoint is in the tables: nothing is lost.
    } else if witnessed {
        report.corrupt_bytes_dropped = bytes_after;
    } else {
        report.torn_bytes_truncated = bytes_after;
    }
    cut_log(vfs, numbers, stop)
}

/// Removes the segments that lie wholly before the checkpoint: all those before the last
/// segment that starts at or before it. Returns the rest.
fn drop_obsolete<'n, V: Vfs>(
    vfs: &mut V,
    read: &mut [u8],
    numbers: &'n [u64],
    checkpoint: Checkpoint,
) -> Result<&'n [u64], Error> {
    if checkpoint.position == 0 {
        return Ok(numbers);
    }
    let mut first_needed = None;
    for (index, &number) in numbers.iter().enumerate() {
        let mut reader = SegmentReader::open(vfs, &mut *read, number)?;
        let header = reader.header(vfs);
        reader.close(vfs);
        if header?.is_some_and(|header| header.start_position <= checkpoint.position) {
            first_needed = Some(index);
        }
    }
    let Some(first_needed) = first_needed else {
        return Ok(numbers);
    };
    remove_segments(vfs, &numbers[..first_needed])?;
    Ok(&numbers[first_needed..])
}

fn remove_segments<V: Vfs>(vfs: &mut V, numbers: &[u64]) -> Result<(), Error> {
    let mut name = [0u8; SEGMENT_NAME_BYTES];
    for &number in numbers {
        match vfs.remove(segment_name(number, &mut name)) {
            Ok(()) | Err(VfsError::NotFound) => {}
            Err(error) => return Err(Error::Io(error)),
        }
    }
    if !numbers.is_empty() {
        vfs.sync_dir()?;
    }
    Ok(())
}

/// What replaying one segment found.
struct SegmentReplay {
    /// Where the valid log stops inside the segment, if it does.
    stop: Option<Stop>,
    /// The log position after its last accepted frame.
    position: u64,
    /// The file offset after its last accepted frame (zeros may follow).
    end_offset: u64,
}

/// Replays one segment. Returns what it found and the read buffer back.
#[allow(clippy::too_many_arguments)]
fn replay_segment<'b, V: Vfs, T: ReplayTarget<V>>(
    vfs: &mut V,
    read: &'b mut [u8],
    numbers: &[u64],
    index: usize,
    position: u64,
    payload_max: usize,
    target: &mut T,
    report: &mut RecoveryReport,
    checkpoint: Checkpoint,
) -> Result<(SegmentReplay, &'b mut [u8]), Error> {
    let mut reader = SegmentReader::open(vfs, read, numbers[index])?;
    let segment = SegmentAt { number: numbers[index], index, position };
    let replay =
        replay_open_segment(vfs, &mut reader, segment, payload_max, target, report, checkpoint);
    // Closed on every path, the error paths included.
    let read = reader.close(vfs);
    Ok((replay?, read))
}

/// Which segment a replay reads: its number, its index among the kept segments, and the log
/// position the previous segment ended at.
#[derive(Clone, Copy)]
struct SegmentAt {
    number: u64,
    index: usize,
    position: u64,
}

/// A delete's deleted-edges frames read so far in a segment: applied only when its
/// delete-block frame is read (a log that ends before then ends at the group's start).
#[derive(Clone, Copy, Debug)]
struct Group {
    id: BlockId,
    sequence: u64,
    /// File offset and log position of its first frame.
    offset: u64,
    position: u64,
    edges: u64,
}

/// Where the frame being replayed is, and how to read it.
#[derive(Clone, Copy)]
struct FrameAt {
    offset: u64,
    position: u64,
    /// The segment's number.
    segment: u64,
    /// The segment's format version.
    version: u32,
    /// Past the checkpoint: applied, not only checked.
    apply: bool,
}

impl FrameAt {
    fn place(&self) -> LogPlace {
        LogPlace { position: self.position, segment: self.segment }
    }
}

/// `replay_segment` on an open reader: checks the header, then replays frames until the
/// log's end, a rejected frame or the segment's end.
fn replay_open_segment<V: Vfs, T: ReplayTarget<V>>(
    vfs: &mut V,
    reader: &mut SegmentReader<'_>,
    segment: SegmentAt,
    payload_max: usize,
    target: &mut T,
    report: &mut RecoveryReport,
    checkpoint: Checkpoint,
) -> Result<SegmentReplay, Error> {
    let SegmentAt { index, mut position, number } = segment;
    let header = reader.header(vfs)?;
    let lost_manifest = !checkpoint.recorded && header.is_some_and(|h| h.start_position > 0);
    if index == 0 && lost_manifest {
        return Err(Error::Corruption { kind: CorruptionKind::Manifest });
    }
    let header = match (header_stop(header, segment, checkpoint), header) {
        (None, Some(header)) => header,
        (kind, _) => {
            let kind = kind.unwrap_or(CorruptionKind::WalSegmentHeader);
            let unreadable = header.is_none();
            let stop = Stop { index, offset: 0, position, kind, unreadable, damaged_offset: 0 };
            return Ok(SegmentReplay { stop: Some(stop), position, end_offset: 0 });
        }
    };
    if index == 0 {
        position = header.start_position;
    }
    let mut offset = SEGMENT_HEADER_BYTES as u64;
    let mut group = None;
    // Every accepted frame advances the offset by at least FRAME_HEADER_BYTES.
    let frames_max = reader.file_bytes / FRAME_HEADER_BYTES as u64 + 1;
    for _ in 0..frames_max {
        let at = FrameAt {
            offset,
            position,
            segment: number,
            version: header.version,
            apply: position >= checkpoint.position,
        };
        let step = replay_frame(vfs, reader, at, payload_max, target, report, &mut group)?;
        let unreadable = match step {
            FrameStep::Accepted { frame_bytes } => {
                offset += frame_bytes;
                position += frame_bytes;
                continue;
            }
            FrameStep::End => None,
            // An unreadable frame in a rest of zeros (confirmed on every re-read) is the
            // preallocated end of the log, not damage.
            FrameStep::Rejected { unreadable: true } => {
                (!reader.rest_is_zeros_on_every_read(vfs, offset)?).then_some(true)
            }
            FrameStep::Rejected { unreadable: false } => Some(false),
        };
        if unreadable.is_none() && group.is_none() {
            return Ok(SegmentReplay { stop: None, position, end_offset: offset });
        }
        // Damage, or a clean end inside a group (a torn delete): the log stops here.
        let unreadable = unreadable.unwrap_or(false);
        let kind = CorruptionKind::WalFrame;
        let stop = Stop { index, offset, position, kind, unreadable, damaged_offset: offset };
        return Ok(stop_in_group(stop, group));
    }
    let kind = CorruptionKind::WalFrame;
    let stop = Stop { index, offset, position, kind, unreadable: false, damaged_offset: offset };
    Ok(stop_in_group(stop, group))
}

/// A stop inside an open group moves back to the group's start: none of it applies.
fn stop_in_group(stop: Stop, group: Option<Group>) -> SegmentReplay {
    let stop = match group {
        Some(group) => Stop { offset: group.offset, position: group.position, ..stop },
        None => stop,
    };
    SegmentReplay { stop: Some(stop), position: stop.position, end_offset: stop.offset }
}

/// Why a segment's header stops the log, if it does. Numbers only increase (a removed tail's
/// numbers are not reused); the log positions in the headers are what must join up.
fn header_stop(
    header: Option<SegmentHeader>,
    segment: SegmentAt,
    checkpoint: Checkpoint,
) -> Option<CorruptionKind> {
    let SegmentAt { number, index, position } = segment;
    match header {
        None => Some(CorruptionKind::WalSegmentHeader),
        Some(header) if header.segment_number != number => Some(CorruptionKind::WalSegmentHeader),
        Some(header) if index > 0 && header.start_position != position => {
            Some(CorruptionKind::WalSegmentGap)
        }
        Some(header) if index == 0 && header.start_position > checkpoint.position => {
            Some(CorruptionKind::WalSegmentGap)
        }
        Some(_) => None,
    }
}

enum FrameStep {
    End,
    Accepted {
        frame_bytes: u64,
    },
    /// `unreadable`: the checksums failed (rather than decoding or applying).
    Rejected {
        unreadable: bool,
    },
}

/// Reads, checks and applies the frame at `at`; a deleted-edges frame joins `group`, which
/// is applied with its delete-block frame.
fn replay_frame<V: Vfs, T: ReplayTarget<V>>(
    vfs: &mut V,
    reader: &mut SegmentReader<'_>,
    at: FrameAt,
    payload_max: usize,
    target: &mut T,
    report: &mut RecoveryReport,
    group: &mut Option<Group>,
) -> Result<FrameStep, Error> {
    let (header, payload) = match reader.frame(vfs, at.offset, payload_max)? {
        FrameRead::End => return Ok(FrameStep::End),
        FrameRead::Invalid => return Ok(FrameStep::Rejected { unreadable: true }),
        FrameRead::TooLarge => {
            return Err(Error::RecoveryCapacity { resource: Resource::RecordBytes });
        }
        FrameRead::Valid(header, payload) => (header, payload),
    };
    let accepted = FrameStep::Accepted { frame_bytes: header.frame_bytes() as u64 };
    // Every write's frames have the sequence after the previous write's; a close marker
    // carries the next write's sequence without taking it.
    // Frames before the checkpoint are already in the tables: checked, not applied.
    let in_sequence = header.sequence != 0
        && (!at.apply || report.sequence_next == 0 || header.sequence == report.sequence_next);
    let Some(record) = decode_record(at.version, &header, payload).filter(|_| in_sequence) else {
        return Ok(FrameStep::Rejected { unreadable: false });
    };
    if !at.apply {
        return Ok(accepted);
    }
    let applied = match (record, group.as_mut()) {
        (Record::DeletedEdges(deleted), None) => {
            let (id, sequence, edges) = (deleted.id, header.sequence, deleted.count() as u64);
            *group = Some(Group { id, sequence, offset: at.offset, position: at.position, edges });
            return Ok(accepted);
        }
        (Record::DeletedEdges(deleted), Some(open)) => {
            if open.id != deleted.id || open.sequence != header.sequence {
                return Ok(FrameStep::Rejected { unreadable: false });
            }
            open.edges += deleted.count() as u64;
            return Ok(accepted);
        }
        (Record::DeleteBlock { id, edges_removed: Some(edges) }, _) => {
            let delete = Delete { header, id, edges, at, payload_max };
            let open = group.take();
            match apply_delete(vfs, reader, delete, open, target, report)? {
                Some(applied) => applied,
                None => {
                    *group = open;
                    return Ok(FrameStep::Rejected { unreadable: false });
                }
            }
        }
        // Any other frame inside a group breaks it.
        (_, Some(_)) => return Ok(FrameStep::Rejected { unreadable: false }),
        (Record::CloseMarker, None) => Ok(header.sequence),
        (record, None) => {
            target.apply(vfs, (header.sequence, at.place()), record).map(|()| header.sequence + 1)
        }
    };
    match applied {
        Ok(sequence_next) => {
            report.sequence_next = sequence_next;
            report.frames_replayed += 1;
            report.bytes_replayed += header.frame_bytes() as u64;
            Ok(accepted)
        }
        Err(error) => apply_failed(error),
    }
}

fn apply_failed(error: ApplyError) -> Result<FrameStep, Error> {
    match error {
        ApplyError::Invalid => Ok(FrameStep::Rejected { unreadable: false }),
        ApplyError::Capacity(resource) => Err(Error::RecoveryCapacity { resource }),
        ApplyError::Failed(error) => Err(error),
    }
}

/// A format-2 delete-block frame, read at `at`.
#[derive(Clone, Copy)]
struct Delete {
    header: FrameHeader,
    id: BlockId,
    edges: u32,
    at: FrameAt,
    payload_max: usize,
}

/// Applies a delete with the group of deleted-edges frames before it, read again from the
/// segment. `None` if the group does not match the delete (its id, sequence or edge count):
/// the frame is rejected. The group's frames read valid once; if a second read differs,
/// the storage is flaky and open fails with an I/O error rather than cut the log.
fn apply_delete<V: Vfs, T: ReplayTarget<V>>(
    vfs: &mut V,
    reader: &mut SegmentReader<'_>,
    delete: Delete,
    group: Option<Group>,
    target: &mut T,
    report: &mut RecoveryReport,
) -> Result<Option<Result<u64, ApplyError>>, Error> {
    let Delete { header, id, edges, at, payload_max } = delete;
    let matches = match group {
        None => edges == 0,
        Some(group) => {
            group.id == id && group.sequence == header.sequence && group.edges == u64::from(edges)
        }
    };
    if !matches {
        return Ok(None);
    }
    let mut offset = group.map_or(at.offset, |group| group.offset);
    let position = group.map_or(at.position, |group| group.position);
    let place = LogPlace { position, segment: at.segment };
    if let Err(error) = target.reserve_delete((header.sequence, place), &id, edges) {
        return Ok(Some(Err(error)));
    }
    // Each frame advances the offset by at least FRAME_HEADER_BYTES, up to the delete's.
    while offset < at.offset {
        let flaky = Error::Io(VfsError::Io { code: 5 });
        let FrameRead::Valid(frame, payload) = reader.frame(vfs, offset, payload_max)? else {
            return Err(flaky);
        };
        let Some(record @ Record::DeletedEdges(_)) = decode_record(at.version, &frame, payload)
        else {
            return Err(flaky);
        };
        if let Err(error) = target.apply(vfs, (frame.sequence, place), record) {
            return Ok(Some(Err(error)));
        }
        offset += frame.frame_bytes() as u64;
        report.frames_replayed += 1;
        report.bytes_replayed += frame.frame_bytes() as u64;
    }
    let record = Record::DeleteBlock { id, edges_removed: Some(edges) };
    Ok(Some(target.apply(vfs, (header.sequence, place), record).map(|()| header.sequence + 1)))
}

/// Scans everything after `stop` for a valid frame whose synced position lies past the stop:
/// proof that the rejected bytes had been durable. Also returns the bytes after the stop.
fn find_witness<V: Vfs>(
    vfs: &mut V,
    read: &mut [u8],
    numbers: &[u64],
    stop: Stop,
    payload_max: usize,
) -> Result<(bool, u64), Error> {
    let mut witnessed = false;
    let mut bytes_after = 0u64;
    for (index, &number) in numbers.iter().enumerate().skip(stop.index) {
        let mut reader = SegmentReader::open(vfs, &mut *read, number)?;
        let first = if index == stop.index { stop.offset } else { 0 };
        bytes_after += reader.file_bytes.saturating_sub(first);
        let mut offset = if index == stop.index && first >= SEGMENT_HEADER_BYTES as u64 {
            first + FRAME_ALIGN as u64
        } else {
            SEGMENT_HEADER_BYTES as u64
        };
        // Each step advances by at least FRAME_ALIGN bytes, so this ends at the file's end.
        while !witnessed && offset + FRAME_HEADER_BYTES as u64 <= reader.file_bytes {
            let step = match reader.frame(vfs, offset, payload_max) {
                Ok(FrameRead::Valid(header, _)) => {
                    witnessed = header.synced_position > stop.position;
                    header.frame_bytes() as u64
                }
                Ok(_) => FRAME_ALIGN as u64,
                Err(error) => {
                    reader.close(vfs);
                    return Err(Error::Io(error));
                }
            };
            offset += step;
        }
        reader.close(vfs);
    }
    Ok((witnessed, bytes_after))
}

/// Reads the rejected frame again from storage; if it ever reads as valid, the first
/// read was a transient error and nothing may be cut: open fails with an I/O error instead.
fn confirm_damage<V: Vfs>(
    vfs: &mut V,
    read: &mut [u8],
    number: u64,
    stop: Stop,
    payload_max: usize,
) -> Result<(), Error> {
    if !stop.unreadable {
        return Ok(());
    }
    let mut reader = SegmentReader::open(vfs, read, number)?;
    let mut result = Ok(());
    for _ in 0..CONFIRM_READS {
        reader.forget_window();
        let readable_now = if stop.damaged_offset < SEGMENT_HEADER_BYTES as u64 {
            reader.header(vfs).map(|header| header.is_some())
        } else {
            let frame = reader.frame(vfs, stop.damaged_offset, payload_max);
            frame.map(|frame| matches!(frame, FrameRead::Valid(..)))
        };
        result = match readable_now {
            Ok(true) => Err(Error::Io(VfsError::Io { code: 5 })),
            Ok(false) => Ok(()),
            Err(error) => Err(Error::Io(error)),
        };
        if result.is_err() {
            break;
        }
    }
    reader.close(vfs);
    result
}

/// Truncates the stop segment at the stop (or removes it) and removes every later segment.
/// Returns how many segments remain.
fn cut_log<V: Vfs>(vfs: &mut V, numbers: &[u64], stop: Stop) -> Result<usize, Error> {
    let mut name = [0u8; SEGMENT_NAME_BYTES];
    let mut kept = stop.index;
    for &number in numbers[stop.index + 1..].iter().rev() {
        vfs.remove(segment_name(number, &mut name))?;
    }
    let stop_name = segment_name(numbers[stop.index], &mut name);
    if stop.offset >= SEGMENT_HEADER_BYTES as u64 {
        let file = vfs.open(stop_name)?;
        let result = vfs.truncate(file, stop.offset).and_then(|()| vfs.sync(file));
        vfs.close(file);
        result?;
        kept += 1;
    } else {
        vfs.remove(stop_name)?;
    }
    vfs.sync_dir()?;
    Ok(kept)
}

/// Syncs every kept segment, so what was replayed (perhaps from the page cache after a
/// process crash) is durable before new frames are appended after it. Returns the last
/// segment, open, for appending at `end_offset` (its last frame's end; zeros follow).
fn sync_kept_segments<V: Vfs>(
    vfs: &mut V,
    numbers: &[u64],
    end_offset: u64,
) -> Result<Option<OpenSegment>, Error> {
    let mut name = [0u8; SEGMENT_NAME_BYTES];
    let mut last = None;
    for (index, &number) in numbers.iter().enumerate() {
        let file = vfs.open(segment_name(number, &mut name))?;
        let result = vfs.sync(file).and_then(|()| vfs.len(file));
        match result {
            Ok(file_bytes) if index + 1 == numbers.len() && end_offset <= file_bytes => {
                // Frames are appended only to a segment of this engine's format; after an
                // older one the writer starts a new segment.
                let mut header = [0u8; SEGMENT_HEADER_BYTES];
                let read = read_fully(vfs, file, 0, &mut header);
                let current = SegmentHeader::decode(&header)
                    .is_some_and(|header| header.version == FORMAT_VERSION);
                match read {
                    Ok(SEGMENT_HEADER_BYTES) if current => {
                        let written_bytes = end_offset;
                        last = Some(OpenSegment { file, number, written_bytes, file_bytes });
                    }
                    Ok(_) => vfs.close(file),
                    Err(error) => {
                        vfs.close(file);
                        return Err(Error::Io(error));
                    }
                }
            }
            Ok(_) if index + 1 == numbers.len() => {
                // Recovery read frames up to `end_offset`: the file shrank under it.
                vfs.close(file);
                return Err(Error::Io(VfsError::Io { code: 5 }));
            }
            Ok(_) => vfs.close(file),
            Err(error) => {
                vfs.close(file);
                return Err(Error::Io(error));
            }
        }
    }
    if !numbers.is_empty() {
        if let Err(error) = vfs.sync_dir() {
            // The open cannot finish: the segment it would append to is closed, not leaked.
            if let Some(segment) = last {
                vfs.close(segment.file);
            }
            return Err(Error::Io(error));
        }
    }
    Ok(last)
}

/// Whether `bytes` are all zero: ORed a page at a time, which the compiler vectorizes (a
/// byte-by-byte test with an early exit does not), then tested. The zeros preallocated
/// after a segment's last frame (up to 1 MiB, read three times at every open) were most of
/// the time an open took.
fn all_zeros(bytes: &[u8]) -> bool {
    bytes.chunks(4096).all(|page| page.iter().fold(0u8, |any, &byte| any | byte) == 0)
}
