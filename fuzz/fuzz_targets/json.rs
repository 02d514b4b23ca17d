//! The metadata validator and member lookup on arbitrary bytes, against serde_json: what
//! the validator accepts must be one JSON object to serde_json too, and a member found by
//! `member_value` must be that object's value for the key.
#![no_main]
libfuzzer_sys::fuzz_target!(|bytes: &[u8]| kausaldb_fuzz_targets::json::run(bytes));
