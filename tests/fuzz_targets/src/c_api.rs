//! The C API on call sequences decoded from the input: NULL pointers, lengths that lie,
//! tiny buffers and struct sizes, bad ids and edge types, calls on a closed handle, close
//! and reopen. Every call must return a defined status, write its outputs only on success,
//! and what reads return must match what the successful writes stored (a plain model).
use std::collections::BTreeMap;
use std::ffi::CString;
use std::ptr::{null, null_mut};

use crate::Choices;
use kausaldb::*;

use kausal_status::*;

const IDS: u8 = 8;

struct Run {
    dir: CString,
    config: kausal_config,
    region: Vec<u8>,
    db: *mut kausal_db,
    /// Blocks a successful put stored (and no delete removed): id byte → content.
    blocks: BTreeMap<u8, Vec<u8>>,
}

fn id_of(byte: u8) -> kausal_id {
    let mut bytes = [0u8; 16];
    bytes[15] = byte % (IDS + 1); // 0 is the zero id: refused.
    kausal_id { bytes }
}

fn known(status: kausal_status) -> kausal_status {
    // SAFETY: kausal_status_name returns a static NUL-terminated string for any value.
    let name = unsafe { std::ffi::CStr::from_ptr(kausal_status_name(status as i32)) };
    assert!(name.to_bytes().starts_with(b"KAUSAL_"), "{status:?} has no name");
    status
}

impl Run {
    fn open(&mut self, choices: &mut Choices<'_>) {
        let mut config = self.config;
        if choices.below(8) == 0 {
            config.struct_size = u32::from(choices.byte().unwrap_or(0));
        }
        let region_len =
            if choices.below(8) == 0 { usize::from(choices.u16()) } else { self.region.len() };
        let mut db: *mut kausal_db = null_mut();
        // SAFETY: every pointer is valid for what it claims; the region outlives the handle.
        let status = known(unsafe {
            kausal_open_dir(
                &config,
                self.region.as_mut_ptr().cast(),
                region_len.min(self.region.len()),
                self.dir.as_ptr(),
                &mut db,
                null_mut(),
            )
        });
        assert_eq!(status == KAUSAL_OK, !db.is_null(), "out_db written exactly on success");
        if status == KAUSAL_OK {
            self.db = db;
        }
    }

    fn put(&mut self, choices: &mut Choices<'_>) {
        let key = choices.byte().unwrap_or(0);
        let id = id_of(key);
        let uri_len = usize::from(choices_len(choices));
        let uri = choices.take(uri_len).to_vec();
        let metadata: &[u8] = match choices.below(4) {
            0 => b"",
            1 => b"{\"kind\":\"fn\"}",
            2 => b"[1]",
            _ => b"{\"a\":",
        };
        let content_len = usize::from(choices.byte().unwrap_or(0));
        let content = choices.take(content_len).to_vec();
        let null_uri = choices.below(16) == 0;
        let mut sequence = u64::MAX;
        // SAFETY: lengths match their buffers, or the buffer is NULL (which must be refused
        // when its length is not zero).
        let status = known(unsafe {
            kausal_put_block(
                self.db,
                &id,
                if null_uri { null() } else { uri.as_ptr().cast() },
                uri.len(),
                if metadata.is_empty() { null() } else { metadata.as_ptr().cast() },
                metadata.len(),
                content.as_ptr(),
                content.len(),
                &mut sequence,
            )
        });
        assert_eq!(
            status == KAUSAL_OK,
            sequence != u64::MAX,
            "out_sequence written exactly on success"
        );
        if status == KAUSAL_OK {
            assert!(!null_uri || uri.is_empty(), "a NULL URI with a length was accepted");
            self.blocks.insert(id.bytes[15], content);
        }
    }

    fn find(&mut self, choices: &mut Choices<'_>) {
        let id = id_of(choices.byte().unwrap_or(0));
        // SAFETY: a zeroed view is a valid out-parameter; the handle may be NULL or closed.
        let mut view: kausal_block_view = unsafe { std::mem::zeroed() };
        // SAFETY: `id` and `view` are valid; the handle is open, NULL or closed.
        let status = known(unsafe { kausal_find_block(self.db, &id, &mut view) });
        if self.db.is_null() || id.bytes[15] == 0 {
            assert_ne!(status, KAUSAL_OK);
            return;
        }
        match (status, self.blocks.get(&id.bytes[15])) {
            (KAUSAL_OK, Some(content)) => {
                // SAFETY: on success the view points into the region until the next call.
                let got = unsafe { std::slice::from_raw_parts(view.content, view.content_len) };
                assert_eq!(got, content.as_slice(), "find returned other bytes");
            }
            (KAUSAL_ERROR_NOT_FOUND, None) => {
                assert!(view.content.is_null(), "view written on failure")
            }
            (status, expected) => panic!("find: {status:?}, model {expected:?}"),
        }
    }

    fn edge(&mut self, choices: &mut Choices<'_>) {
        let edge = kausal_edge {
            source: id_of(choices.byte().unwrap_or(0)),
            target: id_of(choices.byte().unwrap_or(0)),
            edge_type: choices.u16() % 4,
        };
        let mut inserted = 7u32;
        // SAFETY: valid pointers or NULL, both of which the API must handle.
        let status = known(unsafe {
            match choices.below(3) {
                0 => kausal_delete_edge(self.db, &edge),
                1 => kausal_put_edge(
                    self.db,
                    if choices.below(8) == 0 { null() } else { &edge },
                    &mut inserted,
                ),
                _ => kausal_put_edge(self.db, &edge, null_mut()),
            }
        });
        assert!(status == KAUSAL_OK || inserted == 7, "out_inserted written on failure");
    }

    fn list(&mut self, choices: &mut Choices<'_>) {
        let id = id_of(choices.byte().unwrap_or(0));
        let capacity = usize::from(choices.below(6));
        let mut out =
            vec![kausal_edge { source: id_of(0), target: id_of(0), edge_type: 0 }; capacity];
        let mut count = usize::MAX;
        let direction = u32::from(choices.below(4));
        let out_ptr = if choices.below(8) == 0 { null_mut() } else { out.as_mut_ptr() };
        // SAFETY: `out` holds `capacity` edges (or is NULL, which must be refused unless 0).
        let status = known(unsafe {
            kausal_edges(self.db, &id, direction, null(), out_ptr, capacity, &mut count)
        });
        match status {
            KAUSAL_OK => assert!(count <= capacity, "wrote past the buffer"),
            KAUSAL_ERROR_BUFFER_TOO_SMALL => {
                assert!(count > capacity);
                assert!(
                    out.iter().all(|e| e.edge_type == 0 && e.source.bytes == [0; 16]),
                    "out written on failure"
                );
            }
            _ => {}
        }
    }

    fn delete(&mut self, choices: &mut Choices<'_>) {
        let id = id_of(choices.byte().unwrap_or(0));
        // SAFETY: valid pointers; the handle may be NULL or closed.
        let status = known(unsafe { kausal_delete_block(self.db, &id, null_mut()) });
        if status == KAUSAL_OK {
            assert!(self.blocks.remove(&id.bytes[15]).is_some(), "deleted a block never stored");
        }
    }

    fn close(&mut self) {
        // SAFETY: the handle is open, NULL or closed; a closed one must be refused.
        let status = known(unsafe { kausal_close(self.db) });
        if self.db.is_null() {
            assert_eq!(status, KAUSAL_ERROR_NULL_ARGUMENT);
        }
        // SAFETY: the region still exists, so the closed handle's magic can be read.
        let again = known(unsafe { kausal_sync(self.db) });
        assert_ne!(again, KAUSAL_OK, "a closed handle was accepted");
    }
}

fn choices_len(choices: &mut Choices<'_>) -> u8 {
    choices.byte().unwrap_or(0) % 80
}

fn misc(run: &mut Run, choices: &mut Choices<'_>) {
    // SAFETY: every pointer is valid for the length passed, or NULL.
    unsafe {
        match choices.below(6) {
            0 => drop(known(kausal_sync(run.db))),
            1 => drop(known(kausal_flush(run.db))),
            2 => drop(known(kausal_compact_step(run.db, null_mut()))),
            3 => {
                let mut stats: kausal_store_stats = std::mem::zeroed();
                stats.struct_size = u32::from(choices.byte().unwrap_or(0));
                let status = known(kausal_stats(run.db, &mut stats));
                if status != KAUSAL_OK {
                    assert_eq!(stats.blocks_live, 0, "stats written on failure");
                } else if !run.db.is_null() {
                    assert_eq!(stats.blocks_live, run.blocks.len() as u64);
                }
            }
            4 => {
                let mut text = [0u8; 40];
                let len = usize::from(choices.below(40));
                let id = id_of(choices.byte().unwrap_or(0));
                let status = known(kausal_id_to_hex(&id, text.as_mut_ptr().cast(), len));
                assert!(
                    status == KAUSAL_OK || text.iter().all(|b| *b == 0),
                    "hex written on failure"
                );
            }
            _ => {
                let text_len = usize::from(choices.below(40));
                let text = choices.take(text_len);
                let mut id = kausal_id { bytes: [0xAA; 16] };
                let status = known(kausal_id_from_hex(text.as_ptr().cast(), text.len(), &mut id));
                assert!(status == KAUSAL_OK || id.bytes == [0xAA; 16], "id written on failure");
            }
        }
    }
}

/// One input: panics on a finding.
pub fn run(bytes: &[u8]) {
    let mut choices = Choices::new(bytes);
    let dir = std::env::temp_dir().join(format!("kausal-fuzz-c-api-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    // SAFETY: `config` is a valid out-parameter.
    let mut config: kausal_config = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    assert_eq!(unsafe { kausal_config_default(&mut config) }, KAUSAL_OK);
    config.memtable_entries_max = 16;
    config.memtable_edges_max = 32;
    config.memtable_arena_bytes_max = 8 << 10;
    config.content_bytes_max = 300;
    config.sync_policy = KAUSAL_SYNC_EXPLICIT;
    let mut required = 0usize;
    // SAFETY: valid pointers.
    assert_eq!(unsafe { kausal_memory_required(&config, &mut required) }, KAUSAL_OK);
    let dir = CString::new(dir.to_str().expect("UTF-8").as_bytes()).expect("no NUL");
    let mut run =
        Run { dir, config, region: vec![0u8; required], db: null_mut(), blocks: BTreeMap::new() };
    while let Some(kind) = choices.byte() {
        match kind % 10 {
            0 => {
                if run.db.is_null() {
                    run.open(&mut choices);
                }
            }
            1 | 2 => run.put(&mut choices),
            3 => run.find(&mut choices),
            4 => run.edge(&mut choices),
            5 => run.list(&mut choices),
            6 => run.delete(&mut choices),
            7 => {
                if !run.db.is_null() {
                    run.close();
                    run.db = null_mut();
                }
            }
            _ => misc(&mut run, &mut choices),
        }
    }
    if !run.db.is_null() {
        run.close();
    }
    let _ = std::fs::remove_dir_all(std::ffi::OsStr::new(run.dir.to_str().unwrap_or("")));
}
