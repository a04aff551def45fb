//! Compact JWS splitting and claims parsing (tessera-core jwt.rs).
//! The body lives in `common/core.rs`, shared with the regression test.

#![no_main]

#[path = "common/core.rs"]
mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| bodies::jwt(data));
