//! The engine on an operation sequence decoded from the input (writes, syncs, flushes,
//! compaction steps, reads, crashes of three kinds, injected I/O failures), on the
//! simulation backend, checked against the test suite's model: after every reopen the store
//! must equal the model as of the last sync plus a prefix of the later writes.
#![no_main]
libfuzzer_sys::fuzz_target!(|bytes: &[u8]| kausaldb_fuzz_targets::engine_ops::run(bytes));
