//! CRC32C (Castagnoli) of every frame, page, footer and manifest: the CPU's own `crc32`
//! instruction where it has one (SSE4.2 on x86-64: detected once with `cpuid`, or known at
//! compile time from the target features; ARMv8's CRC32C instructions on aarch64 targets
//! built with the `crc` feature), the `crc` crate's slice-by-16 tables elsewhere
//! (or its one-row table with the `small-crc-table` feature). All compute the same
//! function; the tests check each against a bit-by-bit reference and the standard check
//! value on every length and alignment.
//!
//! Why: the table walk was 21-22% of ingest and of WAL replay. Measured with the `engine`
//! benchmarks on this machine, tables then instruction: a buffered 1 KiB put 1.00 → 0.88 µs
//! (−15%), replay of 60,000 logged 1 KiB blocks at open 46 → 31 ms (−33%).

use core::sync::atomic::{AtomicU8, Ordering};

/// Table rows: 16 (slice-by-16, 16 KiB, the fast default) or, with the `small-crc-table`
/// feature, 1 (a byte per step, 1 KiB: about 4x slower, 15 KiB less flash).
#[cfg(not(feature = "small-crc-table"))]
type Rows = crc::Table<16>;
#[cfg(feature = "small-crc-table")]
type Rows = crc::Table<1>;

/// The table version: everywhere the CPU has no instruction.
static TABLES: crc::Crc<u32, Rows> = crc::Crc::<u32, Rows>::new(&crc::CRC_32_ISCSI);

/// Whether the instruction is used: `UNKNOWN` until the first digest asks.
static PATH: AtomicU8 = AtomicU8::new(UNKNOWN);
const UNKNOWN: u8 = 0;
const INSTRUCTION: u8 = 1;
const TABLE: u8 = 2;

/// The CRC32C of `bytes`.
pub(crate) fn checksum(bytes: &[u8]) -> u32 {
    let mut digest = Digest::new();
    digest.update(bytes);
    digest.finalize()
}

/// A CRC32C over several pieces, fed in order.
pub(crate) struct Digest(State);

enum State {
    /// The running CRC before the final inversion (the instruction's own state).
    Instruction(u32),
    Table(crc::Digest<'static, u32, Rows>),
}

impl Digest {
    pub(crate) fn new() -> Digest {
        if instruction_available() {
            Digest(State::Instruction(!0))
        } else {
            Digest(State::Table(TABLES.digest()))
        }
    }

    pub(crate) fn update(&mut self, bytes: &[u8]) {
        match &mut self.0 {
            State::Instruction(state) => *state = hardware::update(*state, bytes),
            State::Table(digest) => digest.update(bytes),
        }
    }

    pub(crate) fn finalize(self) -> u32 {
        match self.0 {
            State::Instruction(state) => !state,
            State::Table(digest) => digest.finalize(),
        }
    }
}

/// Whether this CPU has the instruction (asked once, then remembered). On a target without
/// one the answer is known when compiling, so the instruction's path is not built at all
/// (138 bytes of firmware code: the remembered answer and every digest's second arm).
fn instruction_available() -> bool {
    if !hardware::ON_TARGET {
        return false;
    }
    match PATH.load(Ordering::Relaxed) {
        INSTRUCTION => true,
        TABLE => false,
        _ => {
            let available = hardware::available();
            PATH.store(if available { INSTRUCTION } else { TABLE }, Ordering::Relaxed);
            available
        }
    }
}

/// The SSE4.2 path: the only `unsafe` here is calling a function compiled for SSE4.2,
/// which is sound once the CPU is known to have it.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)] // Exception 3 of 3 (see lib.rs): the CRC instruction.
mod hardware {
    use core::arch::x86_64::{_mm_crc32_u64, _mm_crc32_u8};

    /// The target may have the instruction (`available` says whether this CPU does).
    pub(super) const ON_TARGET: bool = true;

    /// SSE4.2 known at compile time, or (not under Miri, which cannot run `cpuid`) reported
    /// by `cpuid` leaf 1, ECX bit 20.
    pub(super) fn available() -> bool {
        if cfg!(target_feature = "sse4.2") {
            return true;
        }
        #[cfg(not(miri))]
        {
            core::arch::x86_64::__cpuid(1).ecx & (1 << 20) != 0
        }
        #[cfg(miri)]
        {
            false
        }
    }

    /// `state` advanced over `bytes`. Only called once `available()` said yes.
    pub(super) fn update(state: u32, bytes: &[u8]) -> u32 {
        debug_assert!(available(), "the instruction path runs only where SSE4.2 is");
        // SAFETY: `update_sse42` needs SSE4.2, and this path is taken only after
        // `available()` found it (cpuid, or the target's compile-time features);
        // `Digest::new` chooses the path through `instruction_available`, which caches it.
        unsafe { update_sse42(state, bytes) }
    }

    #[target_feature(enable = "sse4.2")]
    fn update_sse42(state: u32, bytes: &[u8]) -> u32 {
        let mut words = bytes.chunks_exact(8);
        let mut wide = u64::from(state);
        for word in &mut words {
            let mut le = [0u8; 8];
            le.copy_from_slice(word);
            wide = _mm_crc32_u64(wide, u64::from_le_bytes(le));
        }
        // The state stays below 2^32: `_mm_crc32_u64` zero-extends its 32-bit result.
        let mut state = u32::try_from(wide).unwrap_or(u32::MAX);
        for &byte in words.remainder() {
            state = _mm_crc32_u8(state, byte);
        }
        state
    }
}

/// The ARMv8 path: the CRC32C instructions, where the target enables them at compile time
/// (`target_feature = "crc"`: Apple's aarch64 targets by default, Linux with
/// `-C target-feature=+crc`; a `no_std` core cannot ask the OS at run time).
#[cfg(all(target_arch = "aarch64", target_feature = "crc"))]
#[allow(unsafe_code)] // Exception 3 of 3 (see lib.rs): the CRC instruction.
mod hardware {
    use core::arch::aarch64::{__crc32cb, __crc32cd};

    /// The target has the instructions.
    pub(super) const ON_TARGET: bool = true;

    pub(super) fn available() -> bool {
        true
    }

    pub(super) fn update(state: u32, bytes: &[u8]) -> u32 {
        // SAFETY: `update_crc` needs the CRC instructions, and this module is compiled only
        // for targets that enable them (its cfg), so every CPU this build runs on has them.
        unsafe { update_crc(state, bytes) }
    }

    /// `state` advanced over `bytes`, eight bytes per instruction.
    #[target_feature(enable = "crc")]
    fn update_crc(mut state: u32, bytes: &[u8]) -> u32 {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let mut le = [0u8; 8];
            le.copy_from_slice(word);
            state = __crc32cd(state, u64::from_le_bytes(le));
        }
        for &byte in words.remainder() {
            state = __crc32cb(state, byte);
        }
        state
    }
}

/// No instruction on this target: `available` says so, and digests use the tables.
#[cfg(not(any(target_arch = "x86_64", all(target_arch = "aarch64", target_feature = "crc"))))]
mod hardware {
    /// The target has no instruction.
    pub(super) const ON_TARGET: bool = false;

    pub(super) fn available() -> bool {
        false
    }

    /// Never reached (`available` is false); right anyway, bit by bit.
    pub(super) fn update(state: u32, bytes: &[u8]) -> u32 {
        super::update_bitwise(state, bytes)
    }
}

/// `state` advanced over `bytes` one bit at a time (the reflected CRC32C polynomial): the
/// definition, for the targets without the instruction and for the tests.
#[cfg_attr(any(target_arch = "x86_64", target_feature = "crc"), allow(dead_code))]
fn update_bitwise(mut state: u32, bytes: &[u8]) -> u32 {
    for &byte in bytes {
        state ^= u32::from(byte);
        for _ in 0..8 {
            state = (state >> 1) ^ (0x82F6_3B78 & 0u32.wrapping_sub(state & 1));
        }
    }
    state
}

#[cfg(test)]
mod tests {
    use super::*;

    // Both table sizes, whichever the build chose, against the same reference.
    static SMALL: crc::Crc<u32, crc::Table<1>> =
        crc::Crc::<u32, crc::Table<1>>::new(&crc::CRC_32_ISCSI);
    static LARGE: crc::Crc<u32, crc::Table<16>> =
        crc::Crc::<u32, crc::Table<16>>::new(&crc::CRC_32_ISCSI);

    #[test]
    fn the_instruction_and_both_table_sizes_agree_with_the_bitwise_reference() {
        assert_eq!(checksum(b"123456789"), 0xE306_9283, "the CRC32C check value");
        let bytes: [u8; 300] = core::array::from_fn(|i| (i as u8).wrapping_mul(151) ^ 0x5A);
        // Under Miri (which runs the instruction path with SSE4.2 on): lengths to 40.
        let length_max = if cfg!(miri) { 40 } else { bytes.len() };
        for start in 0..8 {
            for end in start..length_max {
                let piece = &bytes[start..end];
                let tables = TABLES.checksum(piece);
                let reference = !update_bitwise(!0, piece);
                assert_eq!(tables, reference, "bytes {start}..{end}");
                assert_eq!(SMALL.checksum(piece), reference, "bytes {start}..{end}");
                assert_eq!(LARGE.checksum(piece), reference, "bytes {start}..{end}");
                assert_eq!(checksum(piece), tables, "bytes {start}..{end}");
                if hardware::available() {
                    assert_eq!(!hardware::update(!0, piece), tables, "bytes {start}..{end}");
                }
            }
        }
    }

    #[test]
    fn a_digest_fed_in_pieces_equals_one_fed_whole() {
        let bytes: [u8; 64] = core::array::from_fn(|i| i as u8);
        for cut in 0..bytes.len() {
            let mut digest = Digest::new();
            digest.update(&bytes[..cut]);
            digest.update(&bytes[cut..]);
            assert_eq!(digest.finalize(), TABLES.checksum(&bytes), "cut at {cut}");
        }
    }
}
