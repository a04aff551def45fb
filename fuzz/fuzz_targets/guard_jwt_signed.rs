//! Structure-aware: header/claims JSON from the input, signed with a fixed test key.
//! The body lives in `common/guard.rs`, shared with the regression test.

#![no_main]

#[path = "common/guard.rs"]
mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| bodies::guard_jwt_signed(data));
