//! The fuzz targets' bodies, one module each, so that the same code runs under libFuzzer
//! (`fuzz/`, nightly: `cargo xtask fuzz`) and in the normal test suite, which replays every
//! committed seed and every past finding (`fuzz/seeds/`, `fuzz/regressions/`; see
//! `tests/corpora.rs`) on stable. Each `run` takes one input and panics on a finding.
//!
//! Shared: the test suite's model and checks (core/tests/harness), and a reader that turns
//! the fuzzer's bytes into choices.
// Test code: runs on 64-bit hosts only; a target reads top to bottom as one scenario.
#![allow(clippy::cast_possible_truncation, clippy::too_many_lines, clippy::missing_panics_doc)]

pub mod c_api;
pub mod engine_ops;
pub mod json;
pub mod recovery;

/// The decoders (in the core, behind its `fuzzing` feature), by target name.
pub mod decode {
    pub use kausaldb_core::fuzz::{table_parts as table, wal_segment as wal};

    /// Manifests and numbered file names.
    pub fn manifest(bytes: &[u8]) {
        kausaldb_core::fuzz::manifest(bytes);
        kausaldb_core::fuzz::file_name(bytes);
    }
}

/// A target's entry point: one input; panics on a finding.
pub type Target = fn(&[u8]);

/// Every target by its name in fuzz/Cargo.toml, with its entry point.
pub const TARGETS: [(&str, Target); 7] = [
    ("decode_wal", decode::wal),
    ("decode_table", decode::table),
    ("decode_manifest", decode::manifest),
    ("json", json::run),
    ("engine_ops", engine_ops::run),
    ("recovery", recovery::run),
    ("c_api", c_api::run),
];

#[path = "../../../core/tests/harness/mod.rs"]
#[allow(missing_debug_implementations)]
pub mod harness;

/// The fuzzer's input read as a stream of choices; reads past the end give `None`, so a
/// target's loop ends with its input.
#[derive(Debug)]
pub struct Choices<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Choices<'a> {
    pub fn new(bytes: &'a [u8]) -> Choices<'a> {
        Choices { bytes, at: 0 }
    }

    pub fn byte(&mut self) -> Option<u8> {
        let byte = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(byte)
    }

    /// A little-endian u16 (missing bytes read as zero).
    pub fn u16(&mut self) -> u16 {
        u16::from(self.byte().unwrap_or(0)) | u16::from(self.byte().unwrap_or(0)) << 8
    }

    /// A choice in `0..bound` (bound ≤ 256; missing bytes read as zero).
    pub fn below(&mut self, bound: u16) -> u16 {
        u16::from(self.byte().unwrap_or(0)) % bound
    }

    /// The next `len` bytes, fewer at the end of the input.
    pub fn take(&mut self, len: usize) -> &'a [u8] {
        let end = self.bytes.len().min(self.at + len);
        let taken = &self.bytes[self.at..end];
        self.at = end;
        taken
    }
}
