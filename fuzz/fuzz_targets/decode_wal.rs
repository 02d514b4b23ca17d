//! WAL segment headers, frame headers and records on arbitrary bytes (checksums made valid
//! so the structure behind them is reached); what decodes must encode back to the input.
#![no_main]
libfuzzer_sys::fuzz_target!(|bytes: &[u8]| kausaldb_fuzz_targets::decode::wal(bytes));
