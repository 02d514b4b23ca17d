//! The C API on call sequences decoded from the input: NULL pointers, lengths that lie,
//! tiny buffers and struct sizes, bad ids and edge types, calls on a closed handle, close
//! and reopen. Every call must return a defined status, write its outputs only on success,
//! and what reads return must match what the successful writes stored (a plain model).
#![no_main]
libfuzzer_sys::fuzz_target!(|bytes: &[u8]| kausaldb_fuzz_targets::c_api::run(bytes));
