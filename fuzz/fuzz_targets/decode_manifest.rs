//! Manifests and numbered file names on arbitrary bytes; what decodes must encode back.
#![no_main]
libfuzzer_sys::fuzz_target!(|bytes: &[u8]| kausaldb_fuzz_targets::decode::manifest(bytes));
