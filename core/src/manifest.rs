//! The manifest: the crash-safe record of which tables are live and how much of the WAL
//! they cover. Replaced atomically: written to `MANIFEST.tmp`, synced, renamed over
//! `MANIFEST`, and the directory synced. A crash leaves the old or the new one, never a mix.
//!
//! Layout (little-endian): magic `KSDBMAN1` (8), version u32, CRC32C u32 of everything
//! after it, checkpoint position u64 (WAL frames before it are in tables), checkpoint
//! sequence u64 (the sequence of the first frame after it), next table number u64, live
//! blocks u64 and live edges u64 as of the checkpoint, table count u32, then each table
//! number (u64), newest first.

use crate::codec::narrow_u32;
use crate::crc32c;
use crate::error::{CorruptionKind, Error};
use crate::table::format::{parse_table_name, table_name, TABLE_NAME_BYTES};
use crate::vfs::{read_fully, Vfs, VfsError};
use crate::wal::recovery::Checkpoint;

pub(crate) const MANIFEST_NAME: &str = "MANIFEST";
pub(crate) const MANIFEST_TEMP_NAME: &str = "MANIFEST.tmp";
const MAGIC: [u8; 8] = *b"KSDBMAN1";
/// 2: the header holds the log's durable end at the last clean close (bytes 60..68).
const VERSION: u32 = 2;
const HEADER_BYTES: usize = 68;
/// Version 1 manifests (no durable end) are still read.
const HEADER_BYTES_V1: usize = 60;
use crate::limits::LIVE_COUNT_MAX;
pub(crate) use crate::limits::TABLES_MAX_LIMIT;
/// Bytes of the largest manifest.
pub(crate) const MANIFEST_BYTES_MAX: usize = HEADER_BYTES + 8 * TABLES_MAX_LIMIT;

const DAMAGED: Error = Error::Corruption { kind: CorruptionKind::Manifest };

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Manifest {
    pub(crate) checkpoint_position: u64,
    pub(crate) checkpoint_sequence: u64,
    pub(crate) next_table_number: u64,
    pub(crate) blocks_live: u64,
    pub(crate) edges_live: u64,
    /// The log position a clean close last made durable (0: none recorded). Positions only
    /// grow, so the log must reach at least this far: a log that ends before it lost synced
    /// frames, which its own bytes can no longer show (a cut tail takes the close marker
    /// with it).
    pub(crate) durable_end: u64,
    /// Live table numbers, newest first.
    pub(crate) tables: heapless::Vec<u64, TABLES_MAX_LIMIT>,
}

impl Manifest {
    pub(crate) fn empty() -> Manifest {
        Manifest {
            checkpoint_position: 0,
            checkpoint_sequence: 0,
            next_table_number: 1,
            blocks_live: 0,
            edges_live: 0,
            durable_end: 0,
            tables: heapless::Vec::new(),
        }
    }

    pub(crate) fn encode(&self, bytes: &mut [u8; MANIFEST_BYTES_MAX]) -> usize {
        let len = HEADER_BYTES + 8 * self.tables.len();
        bytes[..8].copy_from_slice(&MAGIC);
        bytes[8..12].copy_from_slice(&VERSION.to_le_bytes());
        bytes[16..24].copy_from_slice(&self.checkpoint_position.to_le_bytes());
        bytes[24..32].copy_from_slice(&self.checkpoint_sequence.to_le_bytes());
        bytes[32..40].copy_from_slice(&self.next_table_number.to_le_bytes());
        bytes[40..48].copy_from_slice(&self.blocks_live.to_le_bytes());
        bytes[48..56].copy_from_slice(&self.edges_live.to_le_bytes());
        bytes[56..60].copy_from_slice(&narrow_u32(self.tables.len()).to_le_bytes());
        bytes[60..68].copy_from_slice(&self.durable_end.to_le_bytes());
        for (index, number) in self.tables.iter().enumerate() {
            let at = HEADER_BYTES + 8 * index;
            bytes[at..at + 8].copy_from_slice(&number.to_le_bytes());
        }
        let crc = crc32c::checksum(&bytes[16..len]);
        bytes[12..16].copy_from_slice(&crc.to_le_bytes());
        len
    }

    /// The manifest `bytes` encode (tests and the fuzz entry points; the engine decodes into
    /// the region's manifest with `decode_into`).
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn decode(bytes: &[u8]) -> Result<Manifest, Error> {
        let mut manifest = Manifest::empty();
        manifest.decode_into(bytes)?;
        Ok(manifest)
    }

    /// Becomes the manifest `bytes` encode; on `Corruption` it holds no table.
    pub(crate) fn decode_into(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.tables.clear();
        let version = bytes.get(8..12).ok_or(DAMAGED)?;
        let header_bytes =
            match u32::from_le_bytes([version[0], version[1], version[2], version[3]]) {
                1 => HEADER_BYTES_V1,
                VERSION => HEADER_BYTES,
                _ => return Err(DAMAGED),
            };
        let header = bytes.get(..header_bytes).ok_or(DAMAGED)?;
        let word = |at: usize| {
            let mut value = [0u8; 8];
            value.copy_from_slice(&header[at..at + 8]);
            u64::from_le_bytes(value)
        };
        let count = u32::from_le_bytes([header[56], header[57], header[58], header[59]]) as usize;
        let valid = header[..8] == MAGIC
            && count <= TABLES_MAX_LIMIT
            && word(40) <= LIVE_COUNT_MAX
            && word(48) <= LIVE_COUNT_MAX
            && bytes.len() == header_bytes + 8 * count
            && header[12..16] == crc32c::checksum(&bytes[16..]).to_le_bytes();
        if !valid {
            return Err(DAMAGED);
        }
        self.checkpoint_position = word(16);
        self.checkpoint_sequence = word(24);
        self.next_table_number = word(32);
        self.blocks_live = word(40);
        self.edges_live = word(48);
        self.durable_end = if header_bytes == HEADER_BYTES { word(60) } else { 0 };
        for chunk in bytes[header_bytes..].chunks_exact(8) {
            let mut value = [0u8; 8];
            value.copy_from_slice(chunk);
            let number = u64::from_le_bytes(value);
            if number >= self.next_table_number || self.tables.push(number).is_err() {
                self.tables.clear();
                return Err(DAMAGED);
            }
        }
        Ok(())
    }

    /// The manifest on disk; `None` if there is none (tests: the engine uses `load_into`).
    #[cfg(test)]
    pub(crate) fn load<V: Vfs>(vfs: &mut V) -> Result<Option<Manifest>, Error> {
        let mut manifest = Manifest::empty();
        Ok(manifest.load_into(vfs)?.then_some(manifest))
    }

    /// Becomes the manifest on disk; false (and unchanged) if there is none (a store that
    /// never flushed, or one that lost it: `check_never_flushed` tells them apart).
    pub(crate) fn load_into<V: Vfs>(&mut self, vfs: &mut V) -> Result<bool, Error> {
        let file = match vfs.open(MANIFEST_NAME) {
            Ok(file) => file,
            Err(VfsError::NotFound) => return Ok(false),
            Err(error) => return Err(Error::Io(error)),
        };
        let mut bytes = [0u8; MANIFEST_BYTES_MAX + 1];
        let read = read_fully(vfs, file, 0, &mut bytes);
        vfs.close(file);
        let read = read?;
        self.decode_into(bytes.get(..read).ok_or(DAMAGED)?)?;
        Ok(true)
    }

    /// With no manifest, the files must show a store that never named a table: no table but
    /// possibly the first flush's (one that crashed before its manifest: a block table and
    /// an edge table, numbered from the first). A later table proves a manifest existed and
    /// was lost: `Corruption`, before anything is changed. Returns whether a first flush's
    /// table exists: then a flush began, and recovery checks that the log it synced is still
    /// there. (The WAL's other half, a log that starts after position 0, is recovery's check
    /// too: it also catches a lost manifest that named only the first flush's tables.)
    pub(crate) fn check_never_flushed<V: Vfs>(vfs: &mut V, list: &mut [u8]) -> Result<bool, Error> {
        let listed = vfs.list(list)?;
        let first = Manifest::empty().next_table_number;
        let first_flush_last = first + crate::limits::FLUSH_TABLES_MAX as u64 - 1;
        let mut first_table = false;
        for name in list.get(..listed).unwrap_or(&[]).split(|&byte| byte == 0) {
            match parse_table_name(name) {
                Some(number) if number > first_flush_last => return Err(DAMAGED),
                Some(_) => first_table = true,
                None => {}
            }
        }
        Ok(first_table)
    }

    /// Replaces `MANIFEST` atomically and durably.
    pub(crate) fn store<V: Vfs>(&self, vfs: &mut V) -> Result<(), Error> {
        let mut bytes = [0u8; MANIFEST_BYTES_MAX];
        let len = self.encode(&mut bytes);
        match vfs.remove(MANIFEST_TEMP_NAME) {
            Ok(()) | Err(VfsError::NotFound) => {}
            Err(error) => return Err(Error::Io(error)),
        }
        let file = vfs.create(MANIFEST_TEMP_NAME)?;
        let written = vfs.write_at(file, 0, &bytes[..len]).and_then(|()| vfs.sync(file));
        vfs.close(file);
        written?;
        vfs.rename(MANIFEST_TEMP_NAME, MANIFEST_NAME)?;
        vfs.sync_dir()?;
        Ok(())
    }
}

impl Manifest {
    /// Becomes the manifest after a flush wrote `numbers` (the first the newest) with
    /// everything logged before `checkpoint`: the tables are the newest, the WAL before the
    /// checkpoint is no longer needed, and the store holds `live` (blocks, edges). The
    /// caller checked there are slots for them below `tables_max` (at most
    /// `TABLES_MAX_LIMIT`). In place: the engine's manifest lives in the region, and copies of
    /// it (64 table numbers) were most of a firmware's stack at open, flush, compaction and
    /// close.
    pub(crate) fn add_flushed_tables(
        &mut self,
        numbers: &[u64],
        checkpoint: Checkpoint,
        live: (u64, u64),
    ) {
        for &number in numbers.iter().rev() {
            let inserted = self.tables.insert(0, number);
            debug_assert!(inserted.is_ok(), "a flush needs free table slots");
            self.next_table_number = self.next_table_number.max(number + 1);
        }
        self.checkpoint_position = checkpoint.position;
        self.checkpoint_sequence = checkpoint.sequence;
        (self.blocks_live, self.edges_live) = live;
    }

    /// Becomes the manifest after compaction merged tables `start..end` (newest first) into
    /// table `number`, which takes their place.
    pub(crate) fn merge_tables(&mut self, start: usize, end: usize, number: u64) {
        debug_assert!(start < end && end <= self.tables.len());
        if let Some(first) = self.tables.get_mut(start) {
            *first = number;
        }
        for _ in start + 1..end.min(self.tables.len()) {
            self.tables.remove(start + 1);
        }
        self.next_table_number = number + 1;
    }

    /// Removes what a crashed flush or compaction left behind: table files the manifest does
    /// not name, and a half-written manifest.
    pub(crate) fn remove_orphans<V: Vfs>(&self, vfs: &mut V, list: &mut [u8]) -> Result<(), Error> {
        let listed = vfs.list(list)?;
        let mut removed = false;
        let mut name = [0u8; TABLE_NAME_BYTES];
        for entry in list.get(..listed).unwrap_or(&[]).split(|&byte| byte == 0) {
            let orphan = match parse_table_name(entry) {
                Some(number) => !self.tables.contains(&number),
                None => entry == MANIFEST_TEMP_NAME.as_bytes(),
            };
            if !orphan {
                continue;
            }
            let name = match parse_table_name(entry) {
                Some(number) => table_name(number, &mut name),
                None => MANIFEST_TEMP_NAME,
            };
            match vfs.remove(name) {
                Ok(()) | Err(VfsError::NotFound) => removed = true,
                Err(error) => return Err(Error::Io(error)),
            }
        }
        if removed {
            vfs.sync_dir()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vfs::sim::{SimConfig, SimVfs};

    /// A live count past `LIVE_COUNT_MAX` under a valid checksum is damage: replay added to
    /// it and overflowed (a panic; found by the `recovery` fuzz target, which re-seals the
    /// manifests it damages).
    #[test]
    fn live_counts_past_the_limit_are_damage() {
        for (blocks_live, edges_live) in [(LIVE_COUNT_MAX + 1, 0), (0, u64::MAX)] {
            let manifest = Manifest { blocks_live, edges_live, ..Manifest::empty() };
            let mut bytes = [0u8; MANIFEST_BYTES_MAX];
            let len = manifest.encode(&mut bytes);
            assert_eq!(Manifest::decode(&bytes[..len]), Err(DAMAGED));
        }
        let at_limit = Manifest { blocks_live: LIVE_COUNT_MAX, ..Manifest::empty() };
        let mut bytes = [0u8; MANIFEST_BYTES_MAX];
        let len = at_limit.encode(&mut bytes);
        assert_eq!(Manifest::decode(&bytes[..len]), Ok(at_limit));
    }

    #[test]
    fn manifests_round_trip_and_damage_is_detected() {
        let sim = SimConfig { files_max: 4, file_bytes_max: 4096, pending_bytes_max: 4096 };
        let mut disk = std::vec![0u8; sim.memory_bytes_required()];
        let mut vfs = SimVfs::new(&mut disk, sim, 3).unwrap();
        assert_eq!(Manifest::load(&mut vfs).unwrap(), None);
        let mut manifest = Manifest::empty();
        manifest.checkpoint_position = 4096;
        manifest.checkpoint_sequence = 77;
        manifest.next_table_number = 9;
        manifest.tables.extend_from_slice(&[8, 5, 2]).unwrap();
        manifest.store(&mut vfs).unwrap();
        vfs.crash();
        assert_eq!(Manifest::load(&mut vfs).unwrap(), Some(manifest.clone()));
        let len = vfs.file_bytes(MANIFEST_NAME).unwrap();
        for offset in 0..len {
            assert!(vfs.corrupt(MANIFEST_NAME, offset, 0x04));
            assert_eq!(Manifest::load(&mut vfs), Err(DAMAGED), "byte {offset}");
            assert!(vfs.corrupt(MANIFEST_NAME, offset, 0x04));
        }
    }

    #[test]
    fn a_crash_during_replacement_leaves_the_old_or_the_new() {
        for seed in 0..64 {
            let sim = SimConfig { files_max: 4, file_bytes_max: 4096, pending_bytes_max: 4096 };
            let mut disk = std::vec![0u8; sim.memory_bytes_required()];
            let mut vfs = SimVfs::new(&mut disk, sim, seed).unwrap();
            let mut old = Manifest::empty();
            old.next_table_number = 2;
            old.tables.push(1).unwrap();
            old.store(&mut vfs).unwrap();
            let mut new = old.clone();
            new.next_table_number = 3;
            new.tables.insert(0, 2).unwrap();
            // Crash after each operation of the replacement in turn.
            let start = vfs.ops_count();
            vfs.faults.fail_at_op = Some(start + seed % 6);
            let _ = new.store(&mut vfs);
            vfs.faults.fail_at_op = None;
            vfs.crash();
            let loaded = Manifest::load(&mut vfs).unwrap().unwrap();
            assert!(loaded == old || loaded == new, "seed {seed}: {loaded:?}");
        }
    }
}
