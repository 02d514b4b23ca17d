//! Table footers, index entries, bloom filters and data pages on arbitrary bytes; a block
//! page's search must agree with a linear scan of its trailer.
#![no_main]
libfuzzer_sys::fuzz_target!(|bytes: &[u8]| kausaldb_fuzz_targets::decode::table(bytes));
