//! A deterministic simulated directory over caller memory, for tests.
//!
//! Every file has two images: `current` (what reads see) and `durable` (what survives a
//! crash). Writes and truncates go to `current` and into a pending log; `sync(file)` applies
//! that file's pending entries to `durable`. `crash()` then keeps each pending entry, drops
//! it, or tears it (a prefix survives, the byte at the cut may be garbage), chosen by the
//! seeded generator and independently per entry, so unsynced writes are lost out of order
//! as on a real disk. Namespace changes (create, remove, rename) are logged the same way and
//! a crash keeps a prefix of them; `sync_dir` makes them durable.
//!
//! Faults: an I/O error on a chosen operation (`Faults::fail_at_op`, counted from 0 across
//! every call but `close`) or at random, a disk-full limit, and bit flips in read results.
//! An injected write error stores a random prefix of the write first, as a real failure may.
//! When the pending log is full, everything pending becomes durable at once, as if the
//! kernel had written it back.
//!
//! Same seed, same calls: same results, bit for bit.

use super::{FileHandle, Vfs, VfsError};
use crate::codec::{narrow_u32, narrow_usize};
use crate::limits::FILE_NAME_BYTES_MAX;

/// Files the simulation can hold (live or durable names).
pub const SIM_FILES_MAX: usize = 32;
/// Unsynced namespace changes held before a forced write-back.
pub const SIM_NAMESPACE_OPS_MAX: usize = 64;
/// Bytes of a pending-log entry header: kind, file, two reserved bytes, offset, length.
const PENDING_HEADER_BYTES: usize = 12;
const PENDING_WRITE: u8 = 1;
const PENDING_TRUNCATE: u8 = 2;

const EIO: i32 = 5;

type Name = heapless::Vec<u8, FILE_NAME_BYTES_MAX>;

/// A small, fast, seedable generator (SplitMix64), also handy for tests.
#[derive(Clone, Debug)]
pub struct SimRng {
    state: u64,
}

impl SimRng {
    /// A generator that replays the same sequence for the same seed.
    pub fn new(seed: u64) -> SimRng {
        SimRng { state: seed }
    }

    /// The next 64 random bits (SplitMix64).
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `0..bound` (`0` when `bound` is 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            0
        } else {
            self.next_u64() % bound
        }
    }

    /// A number in `0..bound` (0 if `bound` is 0), for indexes and lengths.
    pub fn below_usize(&mut self, bound: usize) -> usize {
        narrow_usize(self.below(bound as u64))
    }

    /// True with probability `ppm` per million.
    pub fn chance_ppm(&mut self, ppm: u32) -> bool {
        self.below(1_000_000) < u64::from(ppm)
    }
}

/// Sizes of a simulated directory.
#[derive(Clone, Copy, Debug)]
pub struct SimConfig {
    /// Files that can exist at once (at most `SIM_FILES_MAX`).
    pub files_max: usize,
    /// Largest size of one file; a write past it fails with `NoSpace`.
    pub file_bytes_max: usize,
    /// Bytes of the log of unsynced writes and truncates (12 bytes per entry plus the
    /// written data) held before a forced write-back.
    pub pending_bytes_max: usize,
}

impl SimConfig {
    /// Bytes of caller memory `SimVfs::new` needs.
    pub fn memory_bytes_required(&self) -> usize {
        self.files_max * 2 * self.file_bytes_max + self.pending_bytes_max
    }
}

/// Faults to inject; all off by default.
#[derive(Clone, Copy, Debug, Default)]
pub struct Faults {
    /// The operation with this index (see `SimVfs::ops_count`) fails with `Io`, once.
    pub fail_at_op: Option<u64>,
    /// Every operation fails with this probability (per million).
    pub fail_ppm: u32,
    /// Every read flips one bit of what it returns with this probability (per million);
    /// the stored bytes are unchanged.
    pub read_bitflip_ppm: u32,
    /// Total bytes all files may hold; a write past it fails with `NoSpace`.
    pub disk_bytes_max: Option<u64>,
    /// Power is gone from the operation with this index on: it and every later one fail
    /// with `Io` (a test then crashes the disk as it was just before it).
    pub stop_at_op: Option<u64>,
}

/// What a crash does to one unsynced write.
enum Treatment {
    Drop,
    Keep,
    /// The first `keep` bytes land, then `garbage` (a byte the device wrote instead), if any.
    Tear {
        keep: usize,
        garbage: Option<u8>,
    },
}

/// Which unsynced writes and truncates a planned crash (`SimVfs::crash_as`) lets reach the
/// disk; entries are numbered in call order, as `pending_write_bytes` counts them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrashWrites {
    /// The first `kept` entries land; the next, if `tear` says so and it is a write, lands
    /// torn: its first `.0` bytes, then a garbage byte if `.1`. The rest are lost.
    Prefix {
        /// Entries that land whole.
        kept: usize,
        /// How the next entry tears, if it does.
        tear: Option<(usize, bool)>,
    },
    /// Only this entry lands: the device reordered it before all the others.
    Only(usize),
    /// Every entry but this one lands.
    AllBut(usize),
}

/// A power loss planned by a test: which writes land, and how many of the unsynced
/// creates, removes and renames (a prefix, in call order) do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CrashPlan {
    /// Which unsynced writes land.
    pub writes: CrashWrites,
    /// How many unsynced namespace changes land.
    pub namespace_kept: usize,
}

struct SimFile<'m> {
    current: &'m mut [u8],
    durable: &'m mut [u8],
    current_bytes: usize,
    durable_bytes: usize,
    live_name: Option<Name>,
    durable_name: Option<Name>,
    open_handles: u32,
}

/// One entry of the pending log (kept as bytes in `pending_log`): a write of `len` bytes at
/// `offset` (its data follows the header), or a truncate to `len`.
#[derive(Clone, Copy)]
struct PendingEntry {
    kind: u8,
    file: usize,
    offset: usize,
    len: usize,
}

impl PendingEntry {
    fn data_bytes(&self) -> usize {
        if self.kind == PENDING_WRITE {
            self.len
        } else {
            0
        }
    }
}

#[derive(Clone)]
enum NamespaceOp {
    Create { file: usize, name: Name },
    Remove { file: usize },
    Rename { file: usize, name: Name, replaced: Option<usize> },
}

/// The simulated directory.
pub struct SimVfs<'m> {
    files: heapless::Vec<SimFile<'m>, SIM_FILES_MAX>,
    /// Unsynced writes and truncates, in call order, as bytes (see `PendingEntry`).
    pending_log: &'m mut [u8],
    pending_log_used: usize,
    namespace_log: heapless::Vec<NamespaceOp, SIM_NAMESPACE_OPS_MAX>,
    rng: SimRng,
    /// Handles carry the generation; a crash starts a new one, so stale handles fail.
    generation: u32,
    ops_count: u64,
    /// `write_back` hints received (not operations: they change nothing here).
    write_backs_count: u64,
    /// Fault settings; change them at any time.
    pub faults: Faults,
    /// Whether `view_at` serves bytes in place (like a memory map) or declines (like a
    /// backend without one). Off by default; tests turn it on to cover both read paths.
    pub views: bool,
}

impl core::fmt::Debug for SimVfs<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SimVfs")
            .field("ops_count", &self.ops_count)
            .field("pending_log_used", &self.pending_log_used)
            .field("faults", &self.faults)
            .finish()
    }
}

fn name_of(text: &str) -> Result<Name, VfsError> {
    if text.is_empty() || text.bytes().any(|byte| byte == 0 || byte == b'/') {
        return Err(VfsError::NameInvalid);
    }
    Name::from_slice(text.as_bytes()).map_err(|_| VfsError::NameInvalid)
}

impl<'m> SimVfs<'m> {
    /// A simulated directory in `memory` (at least `config.memory_bytes_required()` bytes).
    pub fn new(memory: &'m mut [u8], config: SimConfig, seed: u64) -> Result<SimVfs<'m>, VfsError> {
        let sizes_ok = config.files_max <= SIM_FILES_MAX
            && config.file_bytes_max <= u32::MAX as usize
            && config.pending_bytes_max >= PENDING_HEADER_BYTES;
        if !sizes_ok || memory.len() < config.memory_bytes_required() {
            return Err(VfsError::NoSpace);
        }
        memory.fill(0);
        let (mut images, pending_log) =
            memory.split_at_mut(config.files_max * 2 * config.file_bytes_max);
        let mut files = heapless::Vec::new();
        for _ in 0..config.files_max {
            let (current, rest) = images.split_at_mut(config.file_bytes_max);
            let (durable, rest) = rest.split_at_mut(config.file_bytes_max);
            images = rest;
            let file = SimFile {
                current,
                durable,
                current_bytes: 0,
                durable_bytes: 0,
                live_name: None,
                durable_name: None,
                open_handles: 0,
            };
            if files.push(file).is_err() {
                return Err(VfsError::NoSpace);
            }
        }
        Ok(SimVfs {
            files,
            pending_log: &mut pending_log[..config.pending_bytes_max],
            pending_log_used: 0,
            namespace_log: heapless::Vec::new(),
            rng: SimRng::new(seed),
            generation: 1,
            ops_count: 0,
            write_backs_count: 0,
            faults: Faults::default(),
            views: false,
        })
    }

    /// Operations performed so far (every call but `close`); the index of the next one.
    pub fn ops_count(&self) -> u64 {
        self.ops_count
    }

    /// `write_back` hints received so far.
    pub fn write_backs_count(&self) -> u64 {
        self.write_backs_count
    }

    /// Counts an operation and decides whether it is the one to fail.
    fn begin_op(&mut self) -> Result<(), VfsError> {
        let index = self.ops_count;
        self.ops_count += 1;
        let chosen = self.faults.fail_at_op == Some(index)
            || self.faults.stop_at_op.is_some_and(|stop| index >= stop);
        if chosen || (self.faults.fail_ppm > 0 && self.rng.chance_ppm(self.faults.fail_ppm)) {
            return Err(VfsError::Io { code: EIO });
        }
        Ok(())
    }

    fn file_index(&self, handle: FileHandle) -> Result<usize, VfsError> {
        let generation = (handle.0 >> 32) as u32;
        let index = (handle.0 & 0xFFFF_FFFF) as usize;
        match self.files.get(index) {
            Some(file) if generation == self.generation && file.open_handles > 0 => Ok(index),
            _ => Err(VfsError::HandleInvalid),
        }
    }

    fn handle_of(&self, index: usize) -> FileHandle {
        FileHandle(u64::from(self.generation) << 32 | index as u64)
    }

    fn find_live(&self, name: &Name) -> Option<usize> {
        self.files.iter().position(|file| file.live_name.as_ref() == Some(name))
    }

    /// Makes all pending writes, truncates and namespace changes durable (kernel write-back).
    fn write_back_everything(&mut self) {
        let mut at = 0;
        while at < self.pending_log_used {
            let (entry, next) = self.pending_entry_at(at);
            self.apply_durable(entry, at + PENDING_HEADER_BYTES, None);
            at = next;
        }
        self.pending_log_used = 0;
        for file in self.files.iter_mut() {
            file.durable_name = file.live_name.clone();
        }
        self.namespace_log.clear();
    }

    /// Empties a slot that no name refers to any more, with its pending entries, for reuse.
    fn reset_slot(&mut self, index: usize) {
        let (mut read, mut kept) = (0, 0);
        while read < self.pending_log_used {
            let (entry, next) = self.pending_entry_at(read);
            if entry.file != index {
                self.pending_log.copy_within(read..next, kept);
                kept += next - read;
            }
            read = next;
        }
        self.pending_log_used = kept;
        let file = &mut self.files[index];
        file.current[..file.current_bytes].fill(0);
        file.durable[..file.durable_bytes].fill(0);
        file.current_bytes = 0;
        file.durable_bytes = 0;
    }

    /// The entry at byte `at` of the pending log and the byte after it.
    fn pending_entry_at(&self, at: usize) -> (PendingEntry, usize) {
        let header = &self.pending_log[at..at + PENDING_HEADER_BYTES];
        let word = |index: usize| {
            let mut bytes = [0u8; 4];
            bytes.copy_from_slice(&header[index..index + 4]);
            u32::from_le_bytes(bytes) as usize
        };
        let entry = PendingEntry {
            kind: header[0],
            file: usize::from(header[1]),
            offset: word(4),
            len: word(8),
        };
        (entry, at + PENDING_HEADER_BYTES + entry.data_bytes())
    }

    fn log_namespace(&mut self, op: NamespaceOp) {
        if self.namespace_log.is_full() {
            self.write_back_everything();
        }
        // Just made room if it was full.
        let _ = self.namespace_log.push(op);
    }

    /// Applies one pending entry (data at `data_at` in the log) to the durable image;
    /// `keep_bytes` tears a write.
    fn apply_durable(&mut self, entry: PendingEntry, data_at: usize, keep_bytes: Option<usize>) {
        let target = &mut self.files[entry.file];
        if entry.kind == PENDING_WRITE {
            let len = keep_bytes.map_or(entry.len, |keep| keep.min(entry.len));
            let data = &self.pending_log[data_at..data_at + len];
            target.durable[entry.offset..entry.offset + len].copy_from_slice(data);
            if len > 0 {
                target.durable_bytes = target.durable_bytes.max(entry.offset + len);
            }
        } else {
            if entry.len < target.durable_bytes {
                target.durable[entry.len..target.durable_bytes].fill(0);
            }
            target.durable_bytes = entry.len;
        }
    }

    /// Logs an unsynced write or truncate. Returns false for a write larger than the whole
    /// pending log, which the caller makes durable at once.
    fn log_pending(&mut self, entry: PendingEntry, data: &[u8]) -> bool {
        let bytes = PENDING_HEADER_BYTES + data.len();
        if bytes > self.pending_log.len() {
            self.write_back_everything();
            return false;
        }
        if self.pending_log.len() - self.pending_log_used < bytes {
            self.write_back_everything();
        }
        let at = self.pending_log_used;
        let header = &mut self.pending_log[at..at + PENDING_HEADER_BYTES];
        header[0] = entry.kind;
        header[1] = u8::try_from(entry.file).unwrap_or(u8::MAX);
        header[4..8].copy_from_slice(&narrow_u32(entry.offset).to_le_bytes());
        header[8..12].copy_from_slice(&narrow_u32(entry.len).to_le_bytes());
        self.pending_log[at + PENDING_HEADER_BYTES..at + bytes].copy_from_slice(data);
        self.pending_log_used += bytes;
        true
    }

    fn total_bytes(&self) -> u64 {
        self.files.iter().map(|file| file.current_bytes as u64).sum()
    }

    /// Simulates a power loss: unsynced writes kept, dropped or torn at random, a random
    /// prefix of unsynced namespace changes kept, every handle invalidated.
    pub fn crash(&mut self) {
        self.apply_pending(|rng, _, entry| match (entry.kind, rng.below(4)) {
            (_, 0) => Treatment::Drop,
            (PENDING_WRITE, 1) => {
                let keep = rng.below_usize(entry.len);
                let garbage = (rng.below(2) == 0 && keep < entry.len)
                    .then(|| rng.next_u64().to_le_bytes()[0]);
                Treatment::Tear { keep, garbage }
            }
            _ => Treatment::Keep,
        });
        let kept = self.rng.below_usize(self.namespace_log.len() + 1);
        self.finish_crash(kept);
    }

    /// A power loss that treats the unsynced writes as `plan` says, for tests that try
    /// every treatment at every operation instead of drawing one.
    pub fn crash_as(&mut self, plan: CrashPlan) {
        self.apply_pending(|_, index, entry| match plan.writes {
            CrashWrites::Prefix { kept, .. } if index < kept => Treatment::Keep,
            CrashWrites::Prefix { kept, tear: Some((keep, garbage)), .. }
                if index == kept && entry.kind == PENDING_WRITE =>
            {
                Treatment::Tear { keep, garbage: garbage.then_some(0xA5) }
            }
            CrashWrites::Only(only) if index == only => Treatment::Keep,
            CrashWrites::AllBut(dropped) if index != dropped => Treatment::Keep,
            _ => Treatment::Drop,
        });
        self.finish_crash(plan.namespace_kept.min(self.namespace_log.len()));
    }

    /// Unsynced writes and truncates waiting in the pending log, in call order.
    pub fn pending_writes_count(&self) -> usize {
        let (mut at, mut count) = (0, 0);
        while at < self.pending_log_used {
            at = self.pending_entry_at(at).1;
            count += 1;
        }
        count
    }

    /// The length of pending entry `index` if it is a write (`None` for a truncate).
    pub fn pending_write_bytes(&self, index: usize) -> Option<usize> {
        let (mut at, mut current) = (0, 0);
        while at < self.pending_log_used {
            let (entry, next) = self.pending_entry_at(at);
            if current == index {
                return (entry.kind == PENDING_WRITE).then_some(entry.len);
            }
            at = next;
            current += 1;
        }
        None
    }

    /// Unsynced creates, removes and renames.
    pub fn pending_namespace_count(&self) -> usize {
        self.namespace_log.len()
    }

    /// Applies each pending entry to the durable images as `decide` says.
    fn apply_pending(
        &mut self,
        mut decide: impl FnMut(&mut SimRng, usize, PendingEntry) -> Treatment,
    ) {
        let (mut at, mut index) = (0, 0);
        while at < self.pending_log_used {
            let (entry, next) = self.pending_entry_at(at);
            let data_at = at + PENDING_HEADER_BYTES;
            match decide(&mut self.rng, index, entry) {
                Treatment::Drop => {}
                Treatment::Keep => self.apply_durable(entry, data_at, None),
                Treatment::Tear { keep, garbage } => {
                    let keep = keep.min(entry.len);
                    self.apply_durable(entry, data_at, Some(keep));
                    if let Some(garbage) = garbage.filter(|_| keep < entry.len) {
                        let target = &mut self.files[entry.file];
                        target.durable[entry.offset + keep] = garbage;
                        target.durable_bytes = target.durable_bytes.max(entry.offset + keep + 1);
                    }
                }
            }
            at = next;
            index += 1;
        }
        self.pending_log_used = 0;
    }

    /// Keeps the first `kept` unsynced namespace changes and restarts.
    fn finish_crash(&mut self, kept: usize) {
        let log = core::mem::take(&mut self.namespace_log);
        for op in log.iter().take(kept) {
            match op {
                NamespaceOp::Create { file, name } => {
                    self.files[*file].durable_name = Some(name.clone())
                }
                NamespaceOp::Remove { file } => self.files[*file].durable_name = None,
                NamespaceOp::Rename { file, name, replaced } => {
                    if let Some(replaced) = replaced {
                        self.files[*replaced].durable_name = None;
                    }
                    self.files[*file].durable_name = Some(name.clone());
                }
            }
        }
        self.restart();
    }

    /// Simulates the process dying while the machine stays up: nothing written is lost,
    /// every handle is invalidated.
    pub fn crash_process(&mut self) {
        self.write_back_everything();
        self.restart();
    }

    fn restart(&mut self) {
        self.generation += 1;
        for file in self.files.iter_mut() {
            file.open_handles = 0;
            file.live_name = file.durable_name.clone();
            if file.durable_name.is_none() {
                file.durable[..file.durable_bytes].fill(0);
                file.durable_bytes = 0;
            }
            file.current[..file.current_bytes].fill(0);
            file.current[..file.durable_bytes].copy_from_slice(&file.durable[..file.durable_bytes]);
            file.current_bytes = file.durable_bytes;
        }
    }

    /// Handles open now, over every file: zero after an engine's `close` and after a failed
    /// open (a leak would be a leaked descriptor with a real backend).
    pub fn open_handles_count(&self) -> u32 {
        self.files.iter().map(|file| file.open_handles).sum()
    }

    /// The current length of the file `name`, if it exists (for tests).
    pub fn file_bytes(&self, name: &str) -> Option<usize> {
        let name = name_of(name).ok()?;
        self.find_live(&name).map(|index| self.files[index].current_bytes)
    }

    /// XORs `mask` into byte `offset` of `name`, durably (simulated media damage). Returns
    /// false if there is no such file or byte.
    pub fn corrupt(&mut self, name: &str, offset: usize, mask: u8) -> bool {
        let Some(index) = name_of(name).ok().and_then(|name| self.find_live(&name)) else {
            return false;
        };
        self.write_back_everything();
        let file = &mut self.files[index];
        if offset >= file.current_bytes {
            return false;
        }
        file.current[offset] ^= mask;
        file.durable[offset] ^= mask;
        true
    }
}

impl Vfs for SimVfs<'_> {
    fn create(&mut self, name: &str) -> Result<FileHandle, VfsError> {
        self.begin_op()?;
        let name = name_of(name)?;
        if self.find_live(&name).is_some() {
            return Err(VfsError::AlreadyExists);
        }
        let free = self.files.iter().position(|file| {
            file.live_name.is_none() && file.durable_name.is_none() && file.open_handles == 0
        });
        let Some(index) = free else {
            return Err(VfsError::NoSpace);
        };
        self.reset_slot(index);
        let file = &mut self.files[index];
        file.live_name = Some(name.clone());
        file.open_handles = 1;
        self.log_namespace(NamespaceOp::Create { file: index, name });
        Ok(self.handle_of(index))
    }

    fn open(&mut self, name: &str) -> Result<FileHandle, VfsError> {
        self.begin_op()?;
        let index = self.find_live(&name_of(name)?).ok_or(VfsError::NotFound)?;
        self.files[index].open_handles += 1;
        Ok(self.handle_of(index))
    }

    fn close(&mut self, handle: FileHandle) {
        if let Ok(index) = self.file_index(handle) {
            self.files[index].open_handles -= 1;
        }
    }

    fn read_at(
        &mut self,
        handle: FileHandle,
        offset: u64,
        buffer: &mut [u8],
    ) -> Result<usize, VfsError> {
        self.begin_op()?;
        let file = &self.files[self.file_index(handle)?];
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(file.current_bytes);
        let len = buffer.len().min(file.current_bytes - start);
        buffer[..len].copy_from_slice(&file.current[start..start + len]);
        if len > 0
            && self.faults.read_bitflip_ppm > 0
            && self.rng.chance_ppm(self.faults.read_bitflip_ppm)
        {
            let bit = self.rng.below_usize(len * 8);
            buffer[bit / 8] ^= 1 << (bit % 8);
        }
        Ok(len)
    }

    fn view_at(
        &mut self,
        handle: FileHandle,
        offset: u64,
        len: usize,
    ) -> Result<Option<&[u8]>, VfsError> {
        if !self.views {
            return Ok(None);
        }
        self.begin_op()?;
        let file = &self.files[self.file_index(handle)?];
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        // A view is of memory, not a transfer: read bit flips are not injected here.
        let end = start.checked_add(len).filter(|&end| end <= file.current_bytes);
        Ok(end.map(|end| &file.current[start..end]))
    }

    fn write_at(&mut self, handle: FileHandle, offset: u64, data: &[u8]) -> Result<(), VfsError> {
        let failed = self.begin_op().is_err();
        let index = self.file_index(handle)?;
        let offset = usize::try_from(offset).map_err(|_| VfsError::NoSpace)?;
        let end = offset.checked_add(data.len()).ok_or(VfsError::NoSpace)?;
        let file_bytes = self.files[index].current_bytes;
        let growth = end.saturating_sub(file_bytes) as u64;
        let over_disk =
            self.faults.disk_bytes_max.is_some_and(|max| self.total_bytes() + growth > max);
        if end > self.files[index].current.len() || over_disk {
            return Err(VfsError::NoSpace);
        }
        // A failed write may still have stored a prefix.
        let stored = if failed { self.rng.below_usize(data.len() + 1) } else { data.len() };
        let data = &data[..stored];
        let entry = PendingEntry { kind: PENDING_WRITE, file: index, offset, len: stored };
        if !self.log_pending(entry, data) {
            self.apply_durable_direct(index, offset, data);
        }
        let file = &mut self.files[index];
        file.current[offset..offset + stored].copy_from_slice(data);
        if stored > 0 {
            file.current_bytes = file.current_bytes.max(offset + stored);
        }
        if failed {
            return Err(VfsError::Io { code: EIO });
        }
        Ok(())
    }

    /// Counted, and checked to name an open file; nothing is written back (a crash decides
    /// what lands, as for any unsynced write).
    fn write_back(&mut self, handle: FileHandle) -> Result<(), VfsError> {
        self.file_index(handle)?;
        self.write_backs_count += 1;
        Ok(())
    }

    fn sync(&mut self, handle: FileHandle) -> Result<(), VfsError> {
        self.begin_op()?;
        let index = self.file_index(handle)?;
        // Applies this file's entries and compacts the others to the front, in order.
        let (mut read, mut kept) = (0, 0);
        while read < self.pending_log_used {
            let (entry, next) = self.pending_entry_at(read);
            if entry.file == index {
                self.apply_durable(entry, read + PENDING_HEADER_BYTES, None);
            } else {
                self.pending_log.copy_within(read..next, kept);
                kept += next - read;
            }
            read = next;
        }
        self.pending_log_used = kept;
        Ok(())
    }

    fn len(&mut self, handle: FileHandle) -> Result<u64, VfsError> {
        self.begin_op()?;
        Ok(self.files[self.file_index(handle)?].current_bytes as u64)
    }

    fn truncate(&mut self, handle: FileHandle, len: u64) -> Result<(), VfsError> {
        self.begin_op()?;
        let index = self.file_index(handle)?;
        let len = usize::try_from(len).map_err(|_| VfsError::NoSpace)?;
        if len > self.files[index].current.len() {
            return Err(VfsError::NoSpace);
        }
        self.log_pending(PendingEntry { kind: PENDING_TRUNCATE, file: index, offset: 0, len }, &[]);
        let file = &mut self.files[index];
        if len < file.current_bytes {
            file.current[len..file.current_bytes].fill(0);
        }
        file.current_bytes = len;
        Ok(())
    }

    fn remove(&mut self, name: &str) -> Result<(), VfsError> {
        self.begin_op()?;
        let index = self.find_live(&name_of(name)?).ok_or(VfsError::NotFound)?;
        self.files[index].live_name = None;
        self.log_namespace(NamespaceOp::Remove { file: index });
        Ok(())
    }

    fn rename(&mut self, from: &str, to: &str) -> Result<(), VfsError> {
        self.begin_op()?;
        let to = name_of(to)?;
        let index = self.find_live(&name_of(from)?).ok_or(VfsError::NotFound)?;
        let replaced = self.find_live(&to).filter(|&other| other != index);
        if let Some(replaced) = replaced {
            self.files[replaced].live_name = None;
        }
        self.files[index].live_name = Some(to.clone());
        self.log_namespace(NamespaceOp::Rename { file: index, name: to, replaced });
        Ok(())
    }

    fn sync_dir(&mut self) -> Result<(), VfsError> {
        self.begin_op()?;
        for file in self.files.iter_mut() {
            file.durable_name = file.live_name.clone();
        }
        self.namespace_log.clear();
        Ok(())
    }

    fn list(&mut self, buffer: &mut [u8]) -> Result<usize, VfsError> {
        self.begin_op()?;
        let needed: usize = self
            .files
            .iter()
            .filter_map(|file| file.live_name.as_ref())
            .map(|name| name.len() + 1)
            .sum();
        if needed > buffer.len() {
            return Err(VfsError::BufferTooSmall { needed });
        }
        let mut at = 0;
        for name in self.files.iter().filter_map(|file| file.live_name.as_ref()) {
            buffer[at..at + name.len()].copy_from_slice(name);
            buffer[at + name.len()] = 0;
            at += name.len() + 1;
        }
        Ok(at)
    }
}

impl SimVfs<'_> {
    /// A write larger than the pending log bypasses it and is durable at once.
    fn apply_durable_direct(&mut self, index: usize, offset: usize, data: &[u8]) {
        let file = &mut self.files[index];
        file.durable[offset..offset + data.len()].copy_from_slice(data);
        file.durable_bytes = file.durable_bytes.max(offset + data.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: SimConfig =
        SimConfig { files_max: 4, file_bytes_max: 256, pending_bytes_max: 512 };

    fn read_all(vfs: &mut SimVfs<'_>, name: &str) -> std::vec::Vec<u8> {
        let file = vfs.open(name).unwrap();
        let mut buffer = [0u8; 256];
        let len = vfs.read_at(file, 0, &mut buffer).unwrap();
        vfs.close(file);
        buffer[..len].to_vec()
    }

    /// What the simulation refuses, as a real directory would: bad names, sizes it cannot
    /// hold, stale handles, a name taken twice, a full directory; and what it does at its
    /// own limits: a write larger than its pending log, a full log of unsynced namespace
    /// changes (both made durable at once, as a kernel's write-back would).
    #[test]
    fn refusals_and_limits_behave_like_a_directory() {
        let mut small = [0u8; 16];
        assert_eq!(SimVfs::new(&mut small, CONFIG, 1).err(), Some(VfsError::NoSpace));
        let too_many = SimConfig { files_max: SIM_FILES_MAX + 1, ..CONFIG };
        let mut memory = std::vec![0u8; too_many.memory_bytes_required()];
        assert_eq!(SimVfs::new(&mut memory, too_many, 1).err(), Some(VfsError::NoSpace));
        let mut memory = std::vec![0u8; CONFIG.memory_bytes_required()];
        let mut vfs = SimVfs::new(&mut memory, CONFIG, 1).unwrap();
        for name in ["", "a/b", "a\0b"] {
            assert_eq!(vfs.create(name).err(), Some(VfsError::NameInvalid), "{name:?}");
        }
        let file = vfs.create("a").unwrap();
        assert_eq!(vfs.create("a").err(), Some(VfsError::AlreadyExists));
        assert_eq!(vfs.truncate(file, 257), Err(VfsError::NoSpace));
        // Larger than the 512-byte pending log: written through, durable at once.
        assert_eq!(vfs.write_at(file, 0, &[7u8; 200]), Ok(()));
        assert!(!vfs.corrupt("missing", 0, 1) && !vfs.corrupt("a", 200, 1));
        for name in ["b", "c", "d"] {
            let other = vfs.create(name).unwrap();
            vfs.close(other);
        }
        assert_eq!(vfs.create("e").err(), Some(VfsError::NoSpace), "four files at most");
        vfs.crash();
        assert_eq!(vfs.sync(file), Err(VfsError::HandleInvalid), "a handle from before");
        // More renames than the namespace log holds: the oldest are made durable.
        for round in 0..SIM_NAMESPACE_OPS_MAX + 2 {
            let (from, to) = if round % 2 == 0 { ("a", "z") } else { ("z", "a") };
            vfs.rename(from, to).unwrap();
        }
        vfs.crash();
        // The last two renames were not synced: the file is under either name, its bytes
        // whole (written through).
        let name = if vfs.file_bytes("a").is_some() { "a" } else { "z" };
        assert_eq!(read_all(&mut vfs, name), [7u8; 200]);
    }

    #[test]
    fn synced_data_survives_every_crash() {
        for seed in 0..64 {
            let mut memory = std::vec![0u8; CONFIG.memory_bytes_required()];
            let mut vfs = SimVfs::new(&mut memory, CONFIG, seed).unwrap();
            let file = vfs.create("a").unwrap();
            vfs.write_at(file, 0, b"hello").unwrap();
            vfs.sync(file).unwrap();
            vfs.sync_dir().unwrap();
            vfs.write_at(file, 5, b" world").unwrap();
            vfs.crash();
            let data = read_all(&mut vfs, "a");
            assert!(data.starts_with(b"hello"), "seed {seed}: {data:?}");
            assert!(data.len() <= 11);
            assert_eq!(vfs.read_at(file, 0, &mut [0u8; 4]), Err(VfsError::HandleInvalid));
        }
    }

    #[test]
    fn unsynced_writes_are_lost_out_of_order_and_torn() {
        let mut dropped_first_kept_second = false;
        let mut torn = false;
        for seed in 0..256 {
            let mut memory = std::vec![0u8; CONFIG.memory_bytes_required()];
            let mut vfs = SimVfs::new(&mut memory, CONFIG, seed).unwrap();
            let file = vfs.create("a").unwrap();
            vfs.sync_dir().unwrap();
            vfs.write_at(file, 0, b"AAAA").unwrap();
            vfs.write_at(file, 4, b"BBBB").unwrap();
            vfs.crash();
            let data = read_all(&mut vfs, "a");
            if data.len() == 8 && &data[..4] == b"\0\0\0\0" && &data[4..] == b"BBBB" {
                dropped_first_kept_second = true;
            }
            if !data.len().is_multiple_of(4) {
                torn = true;
            }
        }
        assert!(dropped_first_kept_second && torn);
    }

    #[test]
    fn unsynced_creates_may_vanish_and_synced_ones_stay() {
        let mut vanished = false;
        for seed in 0..32 {
            let mut memory = std::vec![0u8; CONFIG.memory_bytes_required()];
            let mut vfs = SimVfs::new(&mut memory, CONFIG, seed).unwrap();
            let file = vfs.create("kept").unwrap();
            vfs.sync(file).unwrap();
            vfs.sync_dir().unwrap();
            let other = vfs.create("maybe").unwrap();
            vfs.sync(other).unwrap();
            vfs.crash();
            assert!(vfs.file_bytes("kept").is_some());
            vanished |= vfs.file_bytes("maybe").is_none();
        }
        assert!(vanished);
    }

    #[test]
    fn injected_failures_hit_the_chosen_operation_only() {
        let mut memory = std::vec![0u8; CONFIG.memory_bytes_required()];
        let mut vfs = SimVfs::new(&mut memory, CONFIG, 7).unwrap();
        let file = vfs.create("a").unwrap();
        vfs.faults.fail_at_op = Some(vfs.ops_count() + 1);
        vfs.write_at(file, 0, b"x").unwrap();
        assert_eq!(vfs.sync(file), Err(VfsError::Io { code: EIO }));
        vfs.sync(file).unwrap();
    }

    #[test]
    fn rename_replaces_the_target_and_list_reports_names() {
        let mut memory = std::vec![0u8; CONFIG.memory_bytes_required()];
        let mut vfs = SimVfs::new(&mut memory, CONFIG, 1).unwrap();
        let a = vfs.create("a").unwrap();
        vfs.write_at(a, 0, b"new").unwrap();
        let b = vfs.create("b").unwrap();
        vfs.write_at(b, 0, b"old").unwrap();
        vfs.rename("a", "b").unwrap();
        assert_eq!(read_all(&mut vfs, "b"), b"new");
        let mut names = [0u8; 8];
        assert_eq!(vfs.list(&mut names[..1]), Err(VfsError::BufferTooSmall { needed: 2 }));
        assert_eq!(vfs.list(&mut names), Ok(2));
        assert_eq!(&names[..2], b"b\0");
        assert_eq!(vfs.remove("a"), Err(VfsError::NotFound));
    }

    #[test]
    fn disk_full_and_oversized_writes_fail_with_no_space() {
        let mut memory = std::vec![0u8; CONFIG.memory_bytes_required()];
        let mut vfs = SimVfs::new(&mut memory, CONFIG, 1).unwrap();
        let a = vfs.create("a").unwrap();
        assert_eq!(vfs.write_at(a, 250, &[1u8; 8]), Err(VfsError::NoSpace));
        vfs.faults.disk_bytes_max = Some(4);
        assert_eq!(vfs.write_at(a, 0, &[1u8; 5]), Err(VfsError::NoSpace));
        vfs.write_at(a, 0, &[1u8; 4]).unwrap();
    }
}
