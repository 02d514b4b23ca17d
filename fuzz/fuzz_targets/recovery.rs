//! Recovery of a damaged store: start from one of a few valid store images (built once per
//! process from synced, cleanly closed histories), apply input-chosen damage (flipped
//! bytes, cuts, zeroed runs, removed files), open in strict or tolerant mode. Open must
//! give a store or `Corruption`; every answer of the store must be `Corruption` or the
//! answer of one prefix of the history, the same prefix for every id (never other bytes,
//! never a delete undone), and losing synced writes must be reported.
#![no_main]
libfuzzer_sys::fuzz_target!(|bytes: &[u8]| kausaldb_fuzz_targets::recovery::run(bytes));
