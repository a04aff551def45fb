//! Authorization, API-key and per-resource credential headers through Guard::authorize.
//! The body lives in `common/guard.rs`, shared with the regression test.

#![no_main]

#[path = "common/guard.rs"]
mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| bodies::guard_headers(data));
