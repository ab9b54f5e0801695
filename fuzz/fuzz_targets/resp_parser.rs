//! cargo-fuzz target for the RESP request parser: arbitrary bytes, limits and chunking
//! (see `ferrodis::protocol::parse::fuzz_one` for what is checked).
//! Run: `cargo +nightly fuzz run resp_parser` from the repository root.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    ferrodis::protocol::parse::fuzz_one(data);
});
