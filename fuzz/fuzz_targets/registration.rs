//! RFC 7591 registration metadata JSON -> validated client.
//! The body lives in `common/core.rs`, shared with the regression test.

#![no_main]

#[path = "common/core.rs"]
mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| bodies::registration(data));
